-- RFC 8628 device authorization grants.
CREATE TABLE device_grants (
    digest TEXT PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    audiences TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    poll_interval INTEGER NOT NULL,
    last_polled_at INTEGER,
    status TEXT NOT NULL,
    user_sid TEXT,
    auth_time INTEGER,
    device_id TEXT
);
CREATE INDEX device_grants_by_expiry ON device_grants (expires_at);

-- Opaque access tokens, by digest.
CREATE TABLE access_tokens (
    digest TEXT PRIMARY KEY,
    jti TEXT NOT NULL,
    client_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    scope TEXT NOT NULL,
    audiences TEXT NOT NULL,
    account_sid TEXT,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);
