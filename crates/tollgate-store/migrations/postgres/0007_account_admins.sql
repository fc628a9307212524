-- Administrators of their account may use the console (/console).
ALTER TABLE users ADD COLUMN admin BIGINT NOT NULL DEFAULT 0;
