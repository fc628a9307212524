-- Second factors (RFC 6238 one-time codes with recovery codes) and the per-user sign-in
-- policy; the methods a browser session signed in with, carried into the codes it issues so
-- id tokens can say (amr, acr).
CREATE TABLE user_sign_in (
    user_sid TEXT PRIMARY KEY REFERENCES users (sid) ON DELETE CASCADE,
    -- 'password' (no second factor), 'optional' or 'required'.
    policy TEXT NOT NULL DEFAULT 'optional',
    -- The TOTP secret, sealed with the key-encryption key; NULL when none is set up.
    totp_sealed TEXT,
    totp_created_at INTEGER,
    -- The last time step accepted: a code is good once.
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    -- Failed second-factor attempts since the last success or lock, and the lock's end.
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    user_sid TEXT NOT NULL REFERENCES users (sid) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_sid, digest)
);

ALTER TABLE browser_sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '["pwd"]';

CREATE TABLE code_authn (
    code_digest TEXT PRIMARY KEY,
    amr TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX code_authn_by_expiry ON code_authn (expires_at);
