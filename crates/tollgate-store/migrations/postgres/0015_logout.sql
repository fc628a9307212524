-- OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0: a client's
-- post-logout redirect URIs and back-channel logout URI; the browser session an authorization
-- code came from; and which clients (and refresh families) each browser session signed in to,
-- so a logout on any node reaches them.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;

ALTER TABLE code_authn ADD COLUMN session_sid TEXT;

CREATE TABLE session_clients (
    session_sid TEXT NOT NULL,
    client_sid TEXT NOT NULL,
    family_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX session_clients_by_session ON session_clients (session_sid);
CREATE INDEX session_clients_by_family ON session_clients (family_id);
CREATE INDEX session_clients_by_expiry ON session_clients (expires_at);
