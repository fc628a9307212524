// openid-client v6 (a strict, certified relying party) against a running Tollgate:
// client_credentials with private_key_jwt + DPoP, then an authorization-code flow with PAR,
// PKCE and DPoP for a FAPI 2.0 client, a refresh and userinfo with DPoP.
//
// The Rust test (tests/it/node_openid_client.rs) starts the server, registers the clients and
// signs the user in: this script prints `AUTHORIZE <url>` and reads the callback URL the
// browser landed on from stdin.
import * as client from 'openid-client';
import { createInterface } from 'node:readline';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const check = (cond, what) => {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
};

const issuer = new URL(env('TOLLGATE_BASE'));
const insecure = { execute: [client.allowInsecureRequests] };

async function clientKey(pkcs8B64, kid) {
  const der = Buffer.from(pkcs8B64, 'base64');
  const key = await crypto.subtle.importKey(
    'pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  return { key, kid };
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function clientCredentials() {
  const key = await clientKey(env('CC_PKCS8'), env('CC_KID'));
  const config = await client.discovery(
    issuer, env('CC_CLIENT_ID'), undefined, client.PrivateKeyJwt(key), insecure);
  const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  const tokens = await client.clientCredentialsGrant(config, { scope: 'read' }, { DPoP: dpop });
  check(tokens.token_type.toLowerCase() === 'dpop', 'client_credentials token is DPoP-bound');
  check(tokens.scope === 'read', 'client_credentials scope');
}

async function codeFlow() {
  const key = await clientKey(env('FAPI_PKCS8'), env('FAPI_KID'));
  const config = await client.discovery(
    issuer,
    env('FAPI_CLIENT_ID'),
    { id_token_signed_response_alg: 'ES256' },
    client.PrivateKeyJwt(key),
    insecure,
  );
  const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: env('REDIRECT_URI'),
    scope: 'openid profile read',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    resource: 'https://api.example',
  }, { DPoP: dpop });
  check(url.searchParams.has('request_uri'), 'PAR gave a request_uri');
  console.log(`AUTHORIZE ${url.href}`);
  const { value: callback } = await lines.next();
  const tokens = await client.authorizationCodeGrant(
    config, new URL(callback.trim()),
    { pkceCodeVerifier: verifier, expectedState: state },
    undefined, { DPoP: dpop });
  check(tokens.token_type.toLowerCase() === 'dpop', 'code flow token is DPoP-bound');
  const claims = tokens.claims();
  check(claims && claims.sub, 'id_token verified');
  check(tokens.refresh_token, 'refresh token issued');

  const refreshed = await client.refreshTokenGrant(
    config, tokens.refresh_token, undefined, { DPoP: dpop });
  check(refreshed.token_type.toLowerCase() === 'dpop', 'refreshed token is DPoP-bound');

  const info = await client.fetchUserInfo(
    config, refreshed.access_token, claims.sub, { DPoP: dpop });
  check(info.sub === claims.sub, 'userinfo with DPoP');
}

try {
  await clientCredentials();
  await codeFlow();
  console.log('all openid-client checks passed');
  process.exit(0);
} catch (e) {
  console.error(e);
  if (e.cause) console.error('cause:', JSON.stringify(e.cause));
  process.exit(1);
}
