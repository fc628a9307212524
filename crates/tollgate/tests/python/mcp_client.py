"""The official Python MCP SDK against an MCP server protected by Tollgate.

Configured with nothing but the server's URL: 401 → protected-resource metadata → authorization
server metadata → registration (dynamic, or a client metadata document) → authorization code + PKCE + resource (the user signed
in through Tollgate's real pages) → tool calls, with a step-up for a tool needing more scope.

Usage: python mcp_client.py MCP_URL EMAIL PASSWORD [CLIENT_METADATA_URL]
Prints one JSON line per step; exits non-zero on the first failure.
"""

import asyncio
import base64
import html
import json
import re
import sys
import urllib.parse

import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

MCP_URL, EMAIL, PASSWORD = sys.argv[1:4]
METADATA_URL = sys.argv[4] if len(sys.argv) > 4 else None
REDIRECT = "http://127.0.0.1:53683/callback"


def say(step, **data):
    print(json.dumps({"step": step, **data}), flush=True)


def field(page, name):
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    return html.unescape(m.group(1)) if m else None


async def browse(url):
    """A user agent with a cookie jar, signing in and approving through the HTML forms."""
    async with httpx2.AsyncClient(follow_redirects=False) as ua:
        method, data = "GET", None
        for _ in range(20):
            resp = await ua.request(method, url, data=data)
            if 300 <= resp.status_code < 400:
                url = urllib.parse.urljoin(str(resp.url), resp.headers["location"])
                if url.startswith(REDIRECT):
                    return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
                method, data = "GET", None
                continue
            page = resp.text
            if resp.status_code != 200:
                raise RuntimeError(f"{url} answered {resp.status_code}: {page[:300]}")
            data = {k: v for k in ("csrf", "continue") if (v := field(page, k)) is not None}
            if 'name="password"' in page:
                data.update(email=EMAIL, password=PASSWORD)
            elif 'name="decision"' in page:
                data["decision"] = "approve"
                host = urllib.parse.urlparse(METADATA_URL or "http://none").netloc
                say("consent", client_host_shown=f'id="client-host">{host}<' in page)
            else:
                raise RuntimeError(f"unexpected page at {url}: {page[:300]}")
            action = re.search(r'<form[^>]*action="([^"]*)"', page)
            url = urllib.parse.urljoin(str(resp.url), html.unescape(action.group(1)) if action else "")
            method = "POST"
    raise RuntimeError("too many hops")


class Memory:
    def __init__(self):
        self.tokens = self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, info):
        self.client = info
        say("registered", client_id=info.client_id, dynamic=METADATA_URL is None)


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def main():
    store = Memory()
    callback = {}

    async def redirect_handler(url):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
        say("authorize", resource=q.get("resource", [None])[0], scope=q.get("scope", [None])[0],
            method=q.get("code_challenge_method", [None])[0])
        callback.update(await browse(url))

    async def callback_handler():
        say("callback", iss=callback.get("iss", [None])[0], has_code="code" in callback,
            error=callback.get("error", [None])[0], error_description=callback.get("error_description", [None])[0])
        return AuthorizationCodeResult(code=callback["code"][0], state=callback.get("state", [None])[0],
                                       iss=callback.get("iss", [None])[0])

    auth = OAuthClientProvider(
        server_url=MCP_URL,
        client_metadata=OAuthClientMetadata(
            client_name="MCP interop (Python SDK)", redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"], response_types=["code"],
            token_endpoint_auth_method="none", scope="mcp:tools notes:write"),
        storage=store, redirect_handler=redirect_handler, callback_handler=callback_handler,
        client_metadata_url=METADATA_URL)
    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        async with streamable_http_client(MCP_URL, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                token = claims(store.tokens.access_token)
                say("token", aud=token["aud"], scope=token["scope"], iss=token["iss"])
                tools = await session.list_tools()
                say("tools", names=sorted(t.name for t in tools.tools))
                who = await session.call_tool("whoami", {})
                say("whoami", result=json.loads(who.content[0].text))
                note = await session.call_tool("add_note", {"text": "hello from Python"})
                say("stepped_up", scope=claims(store.tokens.access_token)["scope"])
                say("add_note", result=note.content[0].text, is_error=bool(getattr(note, "is_error", False)))
    say("done")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except BaseException as e:  # noqa: BLE001 - report any failure as one line
        say("error", message=repr(e))
        sys.exit(1)
