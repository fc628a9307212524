CREATE TABLE users (
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL REFERENCES accounts (sid) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    friendly_name TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX users_by_account ON users (account_sid, created_at);

CREATE TABLE browser_sessions (
    digest TEXT PRIMARY KEY,
    user_sid TEXT NOT NULL REFERENCES users (sid) ON DELETE CASCADE,
    auth_time INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX browser_sessions_by_expiry ON browser_sessions (expires_at);

CREATE TABLE consents (
    user_sid TEXT NOT NULL REFERENCES users (sid) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (sid) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_sid, client_id)
);

CREATE TABLE authorization_codes (
    digest TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_sid TEXT NOT NULL,
    redirect_uri TEXT,
    scopes TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    family_id TEXT,
    access_jti TEXT,
    access_expires_at INTEGER
);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);

CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_sid TEXT NOT NULL,
    scopes TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE refresh_tokens (
    digest TEXT PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);

-- JWT access tokens revoked before they expire, by jti.
CREATE TABLE revoked_access_tokens (
    jti TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
