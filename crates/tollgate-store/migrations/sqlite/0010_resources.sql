-- API resources (audiences): the first account to register an identifier owns it; other
-- accounts' clients may name it only once the owner grants it to their account.
CREATE TABLE resources (
    sid TEXT PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    account_sid TEXT NOT NULL REFERENCES accounts (sid) ON DELETE CASCADE,
    friendly_name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX resources_by_account ON resources (account_sid, created_at);

CREATE TABLE resource_grants (
    resource_sid TEXT NOT NULL REFERENCES resources (sid) ON DELETE CASCADE,
    account_sid TEXT NOT NULL REFERENCES accounts (sid) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (resource_sid, account_sid)
);
CREATE INDEX resource_grants_by_account ON resource_grants (account_sid);
