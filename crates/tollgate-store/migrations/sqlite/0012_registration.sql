-- RFC 7591 / 7592 dynamic client registration: each account's policy, the initial access
-- tokens its administrators issue, and what a registered client keeps beside its row in
-- clients (the registration access token's digest and the metadata the engine does not act on).
CREATE TABLE registration_policies (
    account_sid TEXT PRIMARY KEY REFERENCES accounts (sid) ON DELETE CASCADE,
    policy TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE initial_access_tokens (
    digest TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL REFERENCES accounts (sid) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    remaining INTEGER NOT NULL
);
CREATE INDEX initial_access_tokens_by_expiry ON initial_access_tokens (expires_at);

CREATE TABLE client_registrations (
    client_sid TEXT PRIMARY KEY REFERENCES clients (sid) ON DELETE CASCADE,
    token_digest TEXT NOT NULL,
    registered_via TEXT NOT NULL,
    registered_from TEXT,
    metadata TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
