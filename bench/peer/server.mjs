// node-oidc-provider configured as the benchmark peer: client_credentials with ES256 JWT access
// tokens (resource indicators), opaque tokens when no resource is named, introspection on.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 18081);
const issuer = `http://127.0.0.1:${port}`;
const resource = 'urn:bench:api';
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

const client = (id, method) => ({
  client_id: id,
  client_secret: 'bench-secret-bench-secret-bench-secret-123',
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  token_endpoint_auth_method: method,
  id_token_signed_response_alg: 'ES256',
  scope: 'read write',
});

const provider = new Provider(issuer, {
  clients: [client('bench-basic', 'client_secret_basic'), client('bench-post', 'client_secret_post')],
  jwks: { keys: [jwk] },
  scopes: ['read', 'write'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'read write',
        audience: resource,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => {
  console.log(`peer listening on ${issuer}`);
});
