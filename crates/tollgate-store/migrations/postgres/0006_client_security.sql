-- RFC 7523 client assertions, RFC 9449 DPoP, RFC 9126 PAR, RFC 8707 resources, FAPI 2.0.
-- NULL auth method: client_secret_basic with a secret, none without (clients made before this).
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT;
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
ALTER TABLE clients ADD COLUMN sealed_secret TEXT;
ALTER TABLE clients ADD COLUMN require_par BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN require_dpop BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN profile TEXT NOT NULL DEFAULT 'default';

ALTER TABLE authorization_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE refresh_families ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE refresh_families ADD COLUMN dpop_jkt TEXT;
ALTER TABLE access_tokens ADD COLUMN dpop_jkt TEXT;

-- Single-use identifiers (assertion and DPoP proof jtis) until they expire: one insert decides
-- which node saw one first.
CREATE TABLE used_jtis (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_jtis_by_expiry ON used_jtis (expires_at);

-- RFC 9126 pushed authorization requests, by the digest of their request_uri.
CREATE TABLE pushed_authorization_requests (
    digest TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    params TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX pushed_authorization_requests_by_expiry ON pushed_authorization_requests (expires_at);
