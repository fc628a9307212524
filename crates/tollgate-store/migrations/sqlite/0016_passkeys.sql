-- Passkeys (WebAuthn credentials) per user; the per-account sign-in policy; how the sign-in
-- behind a refresh family was made, so id tokens from refreshes carry amr and acr.
CREATE TABLE passkeys (
    -- base64url, unique across the server.
    credential_id TEXT PRIMARY KEY,
    user_sid TEXT NOT NULL REFERENCES users (sid) ON DELETE CASCADE,
    -- The WebAuthn user handle (a UUID), the same for all of one user's passkeys.
    user_handle TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The credential as webauthn-rs serialises it (public key, counter, flags).
    passkey TEXT NOT NULL,
    backup_eligible INTEGER NOT NULL DEFAULT 0,
    backup_state INTEGER NOT NULL DEFAULT 0,
    sign_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX passkeys_by_user ON passkeys (user_sid, created_at);

-- 'password', 'optional' or 'required'; a user's own 'required' is stricter still.
ALTER TABLE accounts ADD COLUMN sign_in_policy TEXT NOT NULL DEFAULT 'optional';

CREATE TABLE refresh_family_authn (
    family_id TEXT PRIMARY KEY,
    amr TEXT NOT NULL
);
