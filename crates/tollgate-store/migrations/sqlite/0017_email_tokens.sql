-- Single-use links sent by email (address verification, password reset). Only the SHA-256
-- digest of a link's secret is kept; a link is spent by setting used_at, in one statement, so
-- two nodes cannot both accept it.
CREATE TABLE email_tokens (
    digest TEXT PRIMARY KEY,
    -- 'verify_email' or 'reset_password'.
    purpose TEXT NOT NULL,
    user_sid TEXT NOT NULL REFERENCES users (sid) ON DELETE CASCADE,
    -- The address the link was sent to: a verification link proves only that address.
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX email_tokens_by_expiry ON email_tokens (expires_at);
