// The official TypeScript MCP SDK against an MCP server protected by Tollgate, configured with
// nothing but the server's URL: 401 → protected-resource metadata → authorization server
// metadata → registration (dynamic, or a client metadata document) → authorization code + PKCE
// + resource, the user signed in through Tollgate's real pages → a tool call; then a tool that
// needs more scope → 403 insufficient_scope → the SDK asks for it → the call succeeds.
//
// Usage: node mcp_client.mjs MCP_URL EMAIL PASSWORD [CLIENT_METADATA_URL]
// Prints one JSON line per step; exits non-zero on the first failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const [mcpUrl, email, password, metadataUrl] = process.argv.slice(2);
const REDIRECT = 'http://127.0.0.1:53682/callback';
const say = (step, data) => console.log(JSON.stringify({ step, ...data }));

// A user agent with a cookie jar, signing in and approving through the HTML forms.
const jar = new Map();
function remember(res) {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    jar.set(pair.slice(0, i), pair.slice(i + 1));
  }
}
const cookies = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
const field = (html, name) => {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  return m ? unescape(m[1]) : undefined;
};
// HTML character references, as a browser decodes attribute values.
const unescape = (v) => v
  .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
  .replace(/&#([0-9]+);/g, (_, d) => String.fromCodePoint(parseInt(d, 10)))
  .replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
const formAction = (html) => (html.match(/<form[^>]*method="post"[^>]*action="([^"]*)"/i) || html.match(/<form[^>]*action="([^"]*)"[^>]*method="post"/i) || [])[1];

async function browse(start) {
  let url = new URL(start);
  let method = 'GET';
  let body;
  for (let hop = 0; hop < 20; hop++) {
    const res = await fetch(url, {
      method, body, redirect: 'manual',
      headers: { cookie: cookies(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    });
    remember(res);
    if (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location'), url);
      if (next.href.startsWith(REDIRECT)) return next;
      url = next; method = 'GET'; body = undefined;
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${html.slice(0, 300)}`);
    const form = new URLSearchParams();
    for (const name of ['csrf', 'continue']) {
      const v = field(html, name);
      if (v !== undefined) form.set(name, v);
    }
    if (html.includes('name="password"')) {
      form.set('email', email);
      form.set('password', password);
    } else if (html.includes('name="decision"')) {
      form.set('decision', 'approve');
      say('consent', { client_host_shown: html.includes(`id="client-host">${new URL(metadataUrl || 'http://none').host}<`) });
    } else {
      throw new Error(`unexpected page at ${url}: ${html.slice(0, 300)}`);
    }
    url = new URL(unescape(formAction(html) || url.pathname), url);
    method = 'POST'; body = form.toString();
  }
  throw new Error('too many hops');
}

let lastCallback;
const store = {};
const provider = {
  get redirectUrl() { return REDIRECT; },
  get clientMetadata() {
    return {
      client_name: 'MCP interop (TypeScript SDK)',
      redirect_uris: [REDIRECT],
      // Without refresh tokens: this SDK answers a step-up challenge by refreshing when it
      // holds a refresh token, and a refresh may never widen the scope (RFC 6749 section 6),
      // so the step-up would fail against any standard server.
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'mcp:tools notes:write',
    };
  },
  ...(metadataUrl ? { clientMetadataUrl: metadataUrl } : {}),
  clientInformation() { return store.client; },
  saveClientInformation(info) { store.client = info; say('registered', { client_id: info.client_id, dynamic: !metadataUrl }); },
  tokens() { return store.tokens; },
  saveTokens(t) { store.tokens = t; },
  async redirectToAuthorization(authUrl) {
    say('authorize', {
      resource: authUrl.searchParams.get('resource'),
      scope: authUrl.searchParams.get('scope'),
      method: authUrl.searchParams.get('code_challenge_method'),
    });
    lastCallback = await browse(authUrl);
  },
  saveCodeVerifier(v) { store.verifier = v; },
  codeVerifier() { return store.verifier; },
};

function claims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

async function connect() {
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  const client = new Client({ name: 'tollgate-interop', version: '1.0.0' });
  try {
    await client.connect(transport);
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
    const code = lastCallback.searchParams.get('code');
    say('callback', { iss: lastCallback.searchParams.get('iss'), has_code: Boolean(code), error: lastCallback.searchParams.get('error'), error_description: lastCallback.searchParams.get('error_description') });
    await transport.finishAuth(code);
    return connect();
  }
  return { client, transport };
}

// Calls a tool; after an interactive step-up (UnauthorizedError), finishes it and calls again.
async function call(client, transport, name, args) {
  try {
    return await client.callTool({ name, arguments: args });
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
    await transport.finishAuth(lastCallback.searchParams.get('code'));
    say('stepped_up', { scope: claims(store.tokens.access_token).scope });
    return client.callTool({ name, arguments: args });
  }
}

try {
  const { client, transport } = await connect();
  const token = claims(store.tokens.access_token);
  say('token', { aud: token.aud, scope: token.scope, iss: token.iss });
  const tools = await client.listTools();
  say('tools', { names: tools.tools.map((t) => t.name).sort() });
  const who = await call(client, transport, 'whoami', {});
  say('whoami', { result: JSON.parse(who.content[0].text) });
  const note = await call(client, transport, 'add_note', { text: 'hello from TypeScript' });
  say('add_note', { result: note.content[0].text, is_error: Boolean(note.isError) });
  await client.close();
  say('done', {});
} catch (e) {
  say('error', { message: String(e && e.stack || e) });
  process.exit(1);
}
