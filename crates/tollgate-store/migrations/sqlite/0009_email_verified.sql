-- OpenID Connect email_verified: false until the address is shown to belong to the user (an
-- administrator or, later, a verification link says so).
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
