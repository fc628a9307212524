CREATE TABLE organizations (
    sid TEXT PRIMARY KEY,
    friendly_name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE accounts (
    sid TEXT PRIMARY KEY,
    organization_sid TEXT NOT NULL REFERENCES organizations (sid),
    friendly_name TEXT NOT NULL,
    auth_token_digest TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE clients (
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL REFERENCES accounts (sid) ON DELETE CASCADE,
    friendly_name TEXT NOT NULL,
    secret_digest TEXT,
    grant_types TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    scopes TEXT NOT NULL,
    audiences TEXT NOT NULL,
    token_format TEXT NOT NULL,
    access_token_ttl INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX clients_by_account ON clients (account_sid, created_at);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    sealed_private_key TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    activates_at INTEGER NOT NULL,
    retires_at INTEGER,
    expires_at INTEGER
);

-- Every change other nodes must see; they poll it to refresh their caches.
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    at INTEGER NOT NULL
);
