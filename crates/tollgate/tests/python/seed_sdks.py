"""Drives a running Tollgate with Twilio's own Python SDK and with Authlib.

Run by the Rust test `python_sdks` (crates/tollgate/tests/it/python_sdks.rs), which starts the
server, creates the apps and passes everything in environment variables. Exits non-zero with a
message on the first failure.
"""

import base64
import hashlib
import html
import os
import re
import secrets
import sys
from urllib.parse import parse_qs, urlparse

import requests
from authlib.integrations.requests_client import OAuth2Session
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

BASE = os.environ["TOLLGATE_BASE"]
ACCOUNT_SID = os.environ["TOLLGATE_ACCOUNT_SID"]
AUTH_TOKEN = os.environ["TOLLGATE_AUTH_TOKEN"]
CC_ID = os.environ["TOLLGATE_CC_CLIENT_ID"]
CC_SECRET = os.environ["TOLLGATE_CC_CLIENT_SECRET"]
CODE_ID = os.environ["TOLLGATE_CODE_CLIENT_ID"]
CODE_SECRET = os.environ["TOLLGATE_CODE_CLIENT_SECRET"]
REDIRECT = os.environ["TOLLGATE_REDIRECT_URI"]
EMAIL = os.environ["TOLLGATE_USER_EMAIL"]
PASSWORD = os.environ["TOLLGATE_USER_PASSWORD"]


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


class LocalTwilio(TwilioHttpClient):
    """Sends the SDK's https://oauth.twilio.com requests to the Tollgate under test."""

    def request(self, method, url, *args, **kwargs):
        url = url.replace("https://oauth.twilio.com", BASE)
        return super().request(method, url, *args, **kwargs)


def twilio_sdk():
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=LocalTwilio())
    # v2 authorize: the 302 carries {"redirect_to": ...} that the SDK reads.
    auth = client.oauth.v2.authorize.fetch(
        response_type="code", client_id=CODE_ID, redirect_uri=REDIRECT, scope="read", state="s"
    )
    check(auth.redirect_to and auth.redirect_to.startswith(BASE + "/login?"),
          f"v2 authorize.fetch returns redirect_to ({auth.redirect_to})")
    auth1 = client.oauth.v1.authorize.fetch(
        response_type="code", client_id=CODE_ID, redirect_uri=REDIRECT, scope="read", state="s"
    )
    check(auth1.redirect_to and "/login?" in auth1.redirect_to,
          "v1 authorize.fetch returns redirect_to")
    # v1 token with AccountSid:AuthToken and no client secret.
    tok = client.oauth.v1.token.create(grant_type="client_credentials", client_id=CC_ID)
    check(tok.access_token and tok.token_type == "Bearer" and tok.expires_in,
          "v1 token.create with account credentials and no secret")
    # v2 token, as the token guide does it.
    tok2 = client.oauth.v2.token.create(
        grant_type="client_credentials", client_id=CC_ID, client_secret=CC_SECRET
    )
    check(tok2.access_token and tok2.token_type == "Bearer", "v2 token.create")


def sign_in_and_consent(session, url):
    """Walks the login and consent pages as a browser would; returns the final redirect."""
    headers = {"Accept": "text/html"}
    for _ in range(6):
        resp = session.get(url, headers=headers, allow_redirects=False)
        if resp.is_redirect:
            url = requests.compat.urljoin(url, resp.headers["Location"])
            if not url.startswith(BASE):
                return url
            continue
        page = resp.text
        csrf = html.unescape(re.search(r'name="csrf" value="([^"]*)"', page).group(1))
        cont = html.unescape(re.search(r'name="continue" value="([^"]*)"', page).group(1))
        if 'name="password"' in page:
            form = {"csrf": csrf, "continue": cont, "email": EMAIL, "password": PASSWORD}
            resp = session.post(BASE + "/login", data=form, allow_redirects=False)
        else:
            form = {"csrf": csrf, "continue": cont, "decision": "approve"}
            resp = session.post(BASE + "/consent", data=form, allow_redirects=False)
        url = requests.compat.urljoin(BASE, resp.headers["Location"])
        if not url.startswith(BASE):
            return url
    raise SystemExit("FAILED: the authorization did not finish")


def authlib_code_flow():
    verifier = secrets.token_urlsafe(48)
    oauth = OAuth2Session(
        CODE_ID, CODE_SECRET, scope="openid read", redirect_uri=REDIRECT,
        code_challenge_method="S256",
    )
    url, state = oauth.create_authorization_url(BASE + "/oauth/authorize", code_verifier=verifier)
    back = sign_in_and_consent(requests.Session(), url)
    check(back.startswith(REDIRECT), f"back at the client ({back[:60]}...)")
    token = oauth.fetch_token(
        BASE + "/oauth/token", authorization_response=back, code_verifier=verifier
    )
    check(token.get("access_token") and token.get("id_token") and token.get("refresh_token"),
          "Authlib redeems the code with PKCE")
    refreshed = oauth.refresh_token(BASE + "/oauth/token", refresh_token=token["refresh_token"])
    check(refreshed["refresh_token"] != token["refresh_token"], "Authlib refreshes (rotated)")
    info = oauth.get(BASE + "/oauth/userinfo").json()
    check(info.get("sub"), "userinfo with the refreshed token")


if __name__ == "__main__":
    twilio_sdk()
    authlib_code_flow()
    print("all SDK checks passed")
