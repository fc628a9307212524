//! The grant statements SQLite runs on its direct connections. They keep the semantics of the
//! PostgreSQL statements in `refresh.rs` and `codes.rs` (the shared behaviour suite holds both
//! stores to them) and reuse their row types, so stored data is read one way. Placeholders are
//! `?N`: SQLite numbers `$N` by first appearance, not by N.

use rusqlite::{Connection, OptionalExtension, Row, params};
use tollgate_core::model::{
    AuthorizationCode, CodeRedemption, RefreshFamily, RefreshRotation, RefreshToken, User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use super::direct_err;
use crate::codes::CodeRow;
use crate::refresh::{MaybeUser, TokenFamilyRow};
use crate::sql::json_list;
use crate::users::UserRow;

const CODE_COLUMNS: &str = "digest, client_id, user_sid, redirect_uri, scopes, nonce, \
     code_challenge, auth_time, created_at, expires_at, used_at, family_id, access_jti, \
     access_expires_at, resources";

fn code_row(r: &Row<'_>) -> rusqlite::Result<CodeRow> {
    Ok(CodeRow {
        digest: r.get(0)?,
        client_id: r.get(1)?,
        user_sid: r.get(2)?,
        redirect_uri: r.get(3)?,
        scopes: r.get(4)?,
        nonce: r.get(5)?,
        code_challenge: r.get(6)?,
        auth_time: r.get(7)?,
        created_at: r.get(8)?,
        expires_at: r.get(9)?,
        used_at: r.get(10)?,
        family_id: r.get(11)?,
        access_jti: r.get(12)?,
        access_expires_at: r.get(13)?,
        resources: r.get(14)?,
    })
}

fn token_family_row(r: &Row<'_>) -> rusqlite::Result<TokenFamilyRow> {
    Ok(TokenFamilyRow {
        family_id: r.get(0)?,
        t_created: r.get(1)?,
        t_expires: r.get(2)?,
        used_at: r.get(3)?,
        client_id: r.get(4)?,
        user_sid: r.get(5)?,
        scopes: r.get(6)?,
        auth_time: r.get(7)?,
        f_created: r.get(8)?,
        revoked_at: r.get(9)?,
        resources: r.get(10)?,
        dpop_jkt: r.get(11)?,
    })
}

fn maybe_user(r: &Row<'_>, at: usize) -> rusqlite::Result<MaybeUser> {
    Ok(MaybeUser {
        u_sid: r.get(at)?,
        u_account_sid: r.get(at + 1)?,
        u_email: r.get(at + 2)?,
        u_password_hash: r.get(at + 3)?,
        u_first_name: r.get(at + 4)?,
        u_last_name: r.get(at + 5)?,
        u_friendly_name: r.get(at + 6)?,
        u_created_at: r.get(at + 7)?,
        u_updated_at: r.get(at + 8)?,
        u_admin: r.get(at + 9)?,
    })
}

const USER_COLUMNS: &str = "u.sid, u.account_sid, u.email, u.password_hash, u.first_name, \
     u.last_name, u.friendly_name, u.created_at, u.updated_at, u.admin";

pub(crate) fn user(conn: &Connection, sid: &str) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.sid = ?1");
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row([sid], |r| {
                Ok(UserRow {
                    sid: r.get(0)?,
                    account_sid: r.get(1)?,
                    email: r.get(2)?,
                    password_hash: r.get(3)?,
                    first_name: r.get(4)?,
                    last_name: r.get(5)?,
                    friendly_name: r.get(6)?,
                    created_at: r.get(7)?,
                    updated_at: r.get(8)?,
                    admin: r.get(9)?,
                })
            })
            .optional()
        })
        .map_err(direct_err)?;
    row.map(User::try_from).transpose()
}

pub(crate) fn refresh_token_with_user(
    conn: &Connection,
    digest: &SecretDigest,
) -> StoreResult<Option<(RefreshToken, RefreshFamily, Option<User>)>> {
    let sql = format!(
        "SELECT t.family_id, t.created_at, t.expires_at, t.used_at, f.client_id, f.user_sid, \
         f.scopes, f.auth_time, f.created_at, f.revoked_at, f.resources, f.dpop_jkt, \
         {USER_COLUMNS} FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
         LEFT JOIN users u ON u.sid = f.user_sid WHERE t.digest = ?1"
    );
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row([digest.to_hex()], |r| {
                Ok((token_family_row(r)?, maybe_user(r, 12)?))
            })
            .optional()
        })
        .map_err(direct_err)?;
    let Some((token, user)) = row else {
        return Ok(None);
    };
    let (token, family) = token.into_parts(digest)?;
    Ok(Some((token, family, user.into_user()?)))
}

fn insert_token(conn: &Connection, t: &RefreshToken, parent: Option<&str>) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO refresh_tokens (digest, family_id, created_at, expires_at, used_at, parent) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            t.digest.to_hex(),
            t.family_id,
            t.created_at,
            t.expires_at,
            t.used_at,
            parent
        ])
    })
    .map_err(direct_err)?;
    Ok(())
}

pub(crate) fn insert_refresh_family(
    conn: &Connection,
    f: &RefreshFamily,
    first: &RefreshToken,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO refresh_families (id, client_id, user_sid, scopes, auth_time, created_at, \
         revoked_at, resources, dpop_jkt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            f.id,
            f.client_id.as_str(),
            f.user_sid.as_str(),
            json_list(&f.scopes),
            f.auth_time,
            f.created_at,
            f.revoked_at,
            json_list(&f.resources),
            f.dpop_jkt
        ])
    })
    .map_err(direct_err)?;
    insert_token(conn, first, None)
}

/// The rules are in the `refresh` module's comment; the writer runs jobs one after another,
/// so this reads and writes with nothing interleaved.
pub(crate) fn rotate_refresh_token(
    conn: &Connection,
    old: &SecretDigest,
    next: &RefreshToken,
    at: i64,
    grace: i64,
) -> StoreResult<RefreshRotation> {
    let old_hex = old.to_hex();
    let used: Option<(Option<i64>, Option<i64>)> = conn
        .prepare_cached(
            "UPDATE refresh_tokens SET used_at = COALESCE(used_at, ?2) WHERE digest = ?1 \
             RETURNING used_at, retired_at",
        )
        .and_then(|mut s| {
            s.query_row(params![old_hex, at], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(direct_err)?;
    let (first_use, retired) = used.unwrap_or((None, None));
    let outside_grace = at - first_use.unwrap_or(at) > grace;
    let (used_children, revoked): (i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT (SELECT COUNT(*) FROM refresh_tokens WHERE parent = ?1 AND used_at IS NOT NULL), \
             revoked_at FROM refresh_families WHERE id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![old_hex, next.family_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .map_err(direct_err)?;
    if revoked.is_some() || retired.is_some() || outside_grace || used_children > 0 {
        conn.prepare_cached(
            "UPDATE refresh_families SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        )
        .and_then(|mut s| s.execute(params![next.family_id, at]))
        .map_err(direct_err)?;
        return Ok(RefreshRotation::Reused);
    }
    // A repeat inside the window: the earlier successor is retired, one branch lives on.
    conn.prepare_cached(
        "UPDATE refresh_tokens SET retired_at = ?2 WHERE parent = ?1 AND retired_at IS NULL",
    )
    .and_then(|mut s| s.execute(params![old_hex, at]))
    .map_err(direct_err)?;
    insert_token(conn, next, Some(&old_hex)).map(|()| RefreshRotation::Rotated)
}

pub(crate) fn insert_code(conn: &Connection, c: &AuthorizationCode) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO authorization_codes ({CODE_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut s| {
            s.execute(params![
                c.digest.to_hex(),
                c.client_id.as_str(),
                c.user_sid.as_str(),
                c.redirect_uri,
                json_list(&c.scopes),
                c.nonce,
                c.code_challenge,
                c.auth_time,
                c.created_at,
                c.expires_at,
                c.used_at,
                c.family_id,
                c.access_jti,
                c.access_expires_at,
                json_list(&c.resources)
            ])
        })
        .map_err(direct_err)?;
    Ok(())
}

pub(crate) fn code(
    conn: &Connection,
    digest: &SecretDigest,
) -> StoreResult<Option<AuthorizationCode>> {
    let sql = format!("SELECT {CODE_COLUMNS} FROM authorization_codes WHERE digest = ?1");
    conn.prepare_cached(&sql)
        .and_then(|mut s| s.query_row([digest.to_hex()], code_row).optional())
        .map_err(direct_err)?
        .map(AuthorizationCode::try_from)
        .transpose()
}

pub(crate) fn redeem_code(
    conn: &Connection,
    digest: &SecretDigest,
    at: i64,
    family_id: Option<&str>,
    access_jti: &str,
    access_expires_at: i64,
) -> StoreResult<CodeRedemption> {
    let first = conn
        .prepare_cached(
            "UPDATE authorization_codes SET used_at = ?2, family_id = ?3, access_jti = ?4, \
             access_expires_at = ?5 WHERE digest = ?1 AND used_at IS NULL",
        )
        .and_then(|mut s| {
            s.execute(params![
                digest.to_hex(),
                at,
                family_id,
                access_jti,
                access_expires_at
            ])
        })
        .map_err(direct_err)?
        > 0;
    Ok(match code(conn, digest)? {
        None => CodeRedemption::Unknown,
        Some(c) if first => CodeRedemption::Fresh(c),
        Some(c) => CodeRedemption::Replayed(c),
    })
}

pub(crate) fn use_once(
    conn: &Connection,
    key: &str,
    expires_at: i64,
    now: i64,
) -> StoreResult<bool> {
    let n = conn
        .prepare_cached(
            "INSERT INTO used_jtis (jti, expires_at) VALUES (?1, ?2) \
             ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE used_jtis.expires_at <= ?3",
        )
        .and_then(|mut s| s.execute(params![key, expires_at, now]))
        .map_err(direct_err)?;
    Ok(n > 0)
}
