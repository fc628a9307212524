//! The grant tables' column lists and statements, written once for both backends:
//! placeholders are `$n` in order of first appearance, which sqlx binds on PostgreSQL and
//! SQLite numbers the same way for rusqlite.

use crate::sql::select;

// Macros so statements built from them stay `&'static str` (sqlx refuses run-time SQL).
macro_rules! code_columns {
    () => {
        "digest, client_id, user_sid, redirect_uri, scopes, nonce, code_challenge, auth_time, \
         created_at, expires_at, used_at, family_id, access_jti, access_expires_at, resources, \
         dpop_jkt"
    };
}
macro_rules! user_columns {
    () => {
        "sid, account_sid, email, password_hash, first_name, last_name, friendly_name, \
         created_at, updated_at, admin, email_verified"
    };
}
pub(crate) use user_columns;
macro_rules! device_columns {
    () => {
        "digest, user_code, client_id, scopes, audiences, created_at, expires_at, poll_interval, \
         last_polled_at, status, user_sid, auth_time, device_id"
    };
}
macro_rules! token_family_select {
    () => {
        "SELECT t.family_id, t.created_at AS t_created, t.expires_at AS t_expires, t.used_at, \
         f.client_id, f.user_sid, f.scopes, f.auth_time, f.created_at AS f_created, \
         f.revoked_at, f.resources, f.dpop_jkt"
    };
}
macro_rules! token_family_from {
    () => {
        " FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id"
    };
}

/// `INSERT INTO <table> (<columns>) VALUES (<values>)`, a literal.
macro_rules! insert {
    ($table:literal, $columns:ident, $values:literal) => {
        concat!(
            "INSERT INTO ",
            $table,
            " (",
            $columns!(),
            ") VALUES (",
            $values,
            ")"
        )
    };
}

pub(crate) const INSERT_CODE: &str = insert!(
    "authorization_codes",
    code_columns,
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16"
);
pub(crate) const SELECT_CODE: &str = select!(code_columns, "authorization_codes WHERE digest = $1");
pub(crate) const SELECT_USER: &str = select!(user_columns, "users WHERE sid = $1");

/// The token, its family and the family's user (LEFT JOIN: every user column may be NULL).
pub(crate) const SELECT_TOKEN_FAMILY_USER: &str = concat!(
    token_family_select!(),
    ", u.sid, u.account_sid, u.email, u.password_hash, u.first_name, u.last_name, \
     u.friendly_name, u.created_at, u.updated_at, u.admin, u.email_verified",
    token_family_from!(),
    " LEFT JOIN users u ON u.sid = f.user_sid WHERE t.digest = $1"
);
pub(crate) const SELECT_TOKEN_FAMILY: &str = concat!(
    token_family_select!(),
    token_family_from!(),
    " WHERE t.digest = $1"
);

pub(crate) const REVOKE_FAMILY: &str =
    "UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";

pub(crate) const INSERT_PUSHED: &str = "INSERT INTO pushed_authorization_requests (digest, \
     client_id, params, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6)";
pub(crate) const SELECT_PUSHED: &str = "SELECT client_id, params, created_at, expires_at, \
     used_at FROM pushed_authorization_requests WHERE digest = $1";
pub(crate) const USE_PUSHED: &str = "UPDATE pushed_authorization_requests SET used_at = $1 \
     WHERE digest = $2 AND used_at IS NULL";

pub(crate) const INSERT_DEVICE: &str = insert!(
    "device_grants",
    device_columns,
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13"
);
pub(crate) const SELECT_DEVICE: &str = select!(device_columns, "device_grants WHERE digest = $1");
pub(crate) const SELECT_DEVICE_BY_USER_CODE: &str =
    select!(device_columns, "device_grants WHERE user_code = $1");
pub(crate) const DECIDE_DEVICE: &str = "UPDATE device_grants SET status = $1, user_sid = $2, \
     auth_time = $3 WHERE user_code = $4 AND status = 'pending'";
pub(crate) const POLL_DEVICE: &str =
    "UPDATE device_grants SET last_polled_at = $1, poll_interval = $2 WHERE digest = $3";
pub(crate) const CONSUME_DEVICE: &str = "UPDATE device_grants SET status = 'consumed', \
     device_id = $1 WHERE digest = $2 AND status = 'approved'";

/// True on first use. A row whose time ran out is taken over: its identifier may come back
/// only after it could no longer be accepted anyway.
pub(crate) const USE_ONCE: &str = "INSERT INTO used_jtis (jti, expires_at) VALUES ($1, $2) \
     ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at \
     WHERE used_jtis.expires_at <= $3";

/// What logout needs, written on the grant path (authorization, redemption), so on SQLite they
/// go through the one grant writer instead of making a second writer beside it.
pub(crate) const INSERT_CODE_SIGN_IN: &str = "INSERT INTO code_authn (code_digest, amr, \
     session_sid, expires_at) VALUES ($1, $2, $3, $4)";
pub(crate) const INSERT_SESSION_CLIENT: &str = "INSERT INTO session_clients (session_sid, \
     client_sid, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const SELECT_CODE_SIGN_IN: &str =
    "SELECT amr, session_sid FROM code_authn WHERE code_digest = $1";
pub(crate) const INSERT_FAMILY_AUTHN: &str = "INSERT INTO refresh_family_authn (family_id, amr) \
     VALUES ($1, $2) ON CONFLICT (family_id) DO NOTHING";
