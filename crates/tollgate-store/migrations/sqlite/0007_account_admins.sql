-- Administrators of their account may use the console (/console).
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
