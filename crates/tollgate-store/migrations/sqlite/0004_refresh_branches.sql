-- Refresh rotation keeps one live branch: each token knows the token it replaced, and a
-- successor replaced by a repeat inside the grace window is retired (its use is reuse).
ALTER TABLE refresh_tokens ADD COLUMN parent TEXT;
ALTER TABLE refresh_tokens ADD COLUMN retired_at INTEGER;
CREATE INDEX refresh_tokens_by_parent ON refresh_tokens (parent);

-- Per client: PKCE required even for confidential clients.
ALTER TABLE clients ADD COLUMN require_pkce INTEGER NOT NULL DEFAULT 0;
