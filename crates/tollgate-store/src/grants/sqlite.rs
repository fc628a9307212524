//! The grant groups on SQLite: every read and write runs on the one group-committing writer
//! thread (`sqlite_writer`), so a file has one writer for grants. Statements come from
//! `rows`; the rules they keep are the PostgreSQL functions' (migration 0008), and the shared
//! behaviour suite holds both stores to them.

use rusqlite::{Connection, OptionalExtension, Params, Row, params};
use tollgate_core::ids::UserSid;
use tollgate_core::model::{
    AuthorizationCode, CodeRedemption, CodeSignIn, DeviceGrant, DeviceStatus,
    PushedAuthorizationRequest, RefreshFamily, RefreshRotation, RefreshToken, SessionClient, User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use super::jobs::{Job, Outcome, Redeem, Rotate};
use super::sqlite_writer::{SqliteWriter, sqlite_err};
use super::traits::{
    CodeStore, DeviceGrants, PushedRequests, RefreshStore, SessionLinks, SpentIds,
};
use crate::rows::{self, Named};
use crate::sql::json_list;
use crate::statements::{
    CONSUME_DEVICE, DECIDE_DEVICE, INSERT_CODE, INSERT_CODE_SIGN_IN, INSERT_DEVICE,
    INSERT_FAMILY_AUTHN, INSERT_PUSHED, INSERT_SESSION_CLIENT, POLL_DEVICE, REVOKE_FAMILY,
    SELECT_CODE, SELECT_CODE_SIGN_IN, SELECT_DEVICE, SELECT_DEVICE_BY_USER_CODE, SELECT_PUSHED,
    SELECT_TOKEN_FAMILY_USER, SELECT_USER, USE_ONCE, USE_PUSHED,
};

pub(crate) struct SqliteGrants {
    writer: SqliteWriter,
}

impl SqliteGrants {
    /// Starts the writer on an already migrated database file.
    pub(crate) fn open(path: &str) -> StoreResult<Self> {
        Ok(SqliteGrants {
            writer: SqliteWriter::open(path)?,
        })
    }

    async fn submit(&self, job: Job) -> StoreResult<Outcome> {
        self.writer.write(move |c| run(c, job)).await
    }

    /// At most one row, the one `sql` finds by `key`, read on the writer's connection.
    async fn read_one<R: Send + 'static>(
        &self,
        sql: &'static str,
        key: String,
        read: impl FnOnce(&Named<'_, '_>) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<Option<R>> {
        let found = self.writer.read(move |c| model(c, sql, [key], read));
        found.await?.transpose()
    }
}

impl CodeStore for SqliteGrants {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        let c = code.clone();
        self.writer
            .write(move |conn| {
                execute(
                    conn,
                    INSERT_CODE,
                    params![
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
                        json_list(&c.resources),
                        c.dpop_jkt
                    ],
                )
                .map(|_| ())
            })
            .await
    }

    async fn code(&self, digest: &SecretDigest) -> StoreResult<Option<AuthorizationCode>> {
        self.read_one(SELECT_CODE, digest.to_hex(), |r: &Named<'_, '_>| {
            rows::code(r)
        })
        .await
    }

    async fn redeem_code(&self, r: Redeem) -> StoreResult<CodeRedemption> {
        let jti = r.jti.clone();
        self.submit(Job::Redeem(r)).await?.redemption(&jti)
    }
}

impl RefreshStore for SqliteGrants {
    async fn insert_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshToken,
    ) -> StoreResult<()> {
        self.submit(Job::family(family, first)).await?.inserted()
    }

    async fn start_refresh_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshToken,
        amr: Option<&[String]>,
        session: Option<&SessionClient>,
    ) -> StoreResult<()> {
        let job = Job::family(family, first);
        let authn = amr.map(|a| (family.id.clone(), json_list(a)));
        let session = session.cloned();
        self.writer
            .write(move |c| {
                run(c, job)?.inserted()?;
                if let Some((id, amr)) = authn {
                    execute(c, INSERT_FAMILY_AUTHN, params![id, amr])?;
                }
                session.map_or(Ok(()), |l| insert_link(c, &l))
            })
            .await
    }

    async fn refresh_token_with_user(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<(RefreshToken, RefreshFamily, Option<User>)>> {
        let (hex, digest) = (digest.to_hex(), *digest);
        let read = move |r: &Named<'_, '_>| rows::token_family_user(r, &digest);
        self.read_one(SELECT_TOKEN_FAMILY_USER, hex, read).await
    }

    async fn rotate_refresh_token(
        &self,
        old: &SecretDigest,
        next: &RefreshToken,
        at: i64,
        grace: i64,
    ) -> StoreResult<RefreshRotation> {
        self.submit(Job::rotate(old, next, at, grace))
            .await?
            .rotation()
    }

    async fn revoke_refresh_family(&self, family_id: &str, at: i64) -> StoreResult<bool> {
        let id = family_id.to_owned();
        self.writer
            .write(move |c| execute(c, REVOKE_FAMILY, params![at, id]).map(|n| n > 0))
            .await
    }

    async fn user(&self, sid: &UserSid) -> StoreResult<Option<User>> {
        self.read_one(SELECT_USER, sid.as_str().to_owned(), |r: &Named<'_, '_>| {
            rows::user(r)
        })
        .await
    }
}

impl SpentIds for SqliteGrants {
    async fn use_once(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
        self.submit(Job::once(key, expires_at, now))
            .await?
            .first_use()
    }
}

impl PushedRequests for SqliteGrants {
    async fn insert_pushed_request(&self, r: &PushedAuthorizationRequest) -> StoreResult<()> {
        let r = r.clone();
        self.writer
            .write(move |c| {
                let p = params![
                    r.digest.to_hex(),
                    r.client_id.as_str(),
                    r.params,
                    r.created_at,
                    r.expires_at,
                    r.used_at
                ];
                execute(c, INSERT_PUSHED, p).map(|_| ())
            })
            .await
    }

    async fn pushed_request(
        &self,
        digest: &SecretDigest,
    ) -> StoreResult<Option<PushedAuthorizationRequest>> {
        let (hex, digest) = (digest.to_hex(), *digest);
        let read = move |r: &Named<'_, '_>| rows::pushed(r, &digest);
        self.read_one(SELECT_PUSHED, hex, read).await
    }

    async fn use_pushed_request(&self, digest: &SecretDigest, at: i64) -> StoreResult<bool> {
        let hex = digest.to_hex();
        self.writer
            .write(move |c| execute(c, USE_PUSHED, params![at, hex]).map(|n| n > 0))
            .await
    }
}

impl DeviceGrants for SqliteGrants {
    async fn insert_device_grant(&self, g: &DeviceGrant) -> StoreResult<()> {
        let g = g.clone();
        self.writer
            .write(move |c| {
                let p = params![
                    g.digest.to_hex(),
                    g.user_code,
                    g.client_id.as_str(),
                    json_list(&g.scopes),
                    json_list(&g.audiences),
                    g.created_at,
                    g.expires_at,
                    g.interval,
                    g.last_polled_at,
                    g.status.as_str(),
                    g.user_sid.as_ref().map(UserSid::as_str),
                    g.auth_time,
                    g.device_id
                ];
                execute(c, INSERT_DEVICE, p).map(|_| ())
            })
            .await
    }

    async fn device_grant(&self, digest: &SecretDigest) -> StoreResult<Option<DeviceGrant>> {
        self.read_one(SELECT_DEVICE, digest.to_hex(), |r: &Named<'_, '_>| {
            rows::device(r)
        })
        .await
    }

    async fn device_grant_by_user_code(&self, user_code: &str) -> StoreResult<Option<DeviceGrant>> {
        let (sql, key) = (SELECT_DEVICE_BY_USER_CODE, user_code.to_owned());
        self.read_one(sql, key, |r: &Named<'_, '_>| rows::device(r))
            .await
    }

    async fn decide_device_grant(
        &self,
        user_code: &str,
        status: DeviceStatus,
        user: &UserSid,
        auth_time: i64,
    ) -> StoreResult<bool> {
        let (code, user) = (user_code.to_owned(), user.clone());
        self.writer
            .write(move |c| {
                let p = params![status.as_str(), user.as_str(), auth_time, code];
                execute(c, DECIDE_DEVICE, p).map(|n| n > 0)
            })
            .await
    }

    async fn record_device_poll(
        &self,
        digest: &SecretDigest,
        at: i64,
        interval: i64,
    ) -> StoreResult<()> {
        let hex = digest.to_hex();
        self.writer
            .write(move |c| execute(c, POLL_DEVICE, params![at, interval, hex]).map(|_| ()))
            .await
    }

    async fn consume_device_grant(
        &self,
        digest: &SecretDigest,
        device_id: Option<&str>,
    ) -> StoreResult<bool> {
        let (hex, device) = (digest.to_hex(), device_id.map(str::to_owned));
        self.writer
            .write(move |c| execute(c, CONSUME_DEVICE, params![device, hex]).map(|n| n > 0))
            .await
    }
}

impl SessionLinks for SqliteGrants {
    async fn insert_code_sign_in(
        &self,
        code: &SecretDigest,
        sign_in: &CodeSignIn,
        expires_at: i64,
    ) -> StoreResult<()> {
        let p = (
            code.to_hex(),
            json_list(&sign_in.amr),
            sign_in.session_sid.clone(),
        );
        self.writer
            .write(move |c| {
                execute(c, INSERT_CODE_SIGN_IN, params![p.0, p.1, p.2, expires_at]).map(|_| ())
            })
            .await
    }

    async fn code_sign_in(&self, code: &SecretDigest) -> StoreResult<Option<CodeSignIn>> {
        self.read_one(SELECT_CODE_SIGN_IN, code.to_hex(), |r| {
            rows::code_sign_in(r)
        })
        .await
    }

    async fn insert_session_client(&self, l: &SessionClient) -> StoreResult<()> {
        let l = l.clone();
        self.writer.write(move |c| insert_link(c, &l)).await
    }

    async fn insert_family_authn(&self, family_id: &str, amr: &[String]) -> StoreResult<()> {
        let (id, amr) = (family_id.to_owned(), json_list(amr));
        self.writer
            .write(move |c| execute(c, INSERT_FAMILY_AUTHN, params![id, amr]).map(|_| ()))
            .await
    }
}

fn insert_link(c: &Connection, l: &SessionClient) -> StoreResult<()> {
    let p = params![
        l.session_sid,
        l.client_id.as_str(),
        l.family_id,
        l.created_at,
        l.expires_at
    ];
    execute(c, INSERT_SESSION_CLIENT, p).map(|_| ())
}

fn execute(conn: &Connection, sql: &str, p: impl Params) -> StoreResult<usize> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute(p))
        .map_err(sqlite_err)
}

fn row<T>(
    conn: &Connection,
    sql: &str,
    p: impl Params,
    read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Option<T>> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row(p, read).optional())
        .map_err(sqlite_err)
}

/// At most one row, read by name: the statement's error, then the reading's.
fn model<T>(
    conn: &Connection,
    sql: &str,
    p: impl Params,
    read: impl FnOnce(&Named<'_, '_>) -> StoreResult<T>,
) -> StoreResult<Option<StoreResult<T>>> {
    row(conn, sql, p, |r| Ok(read(&Named::new(r))))
}

/// Runs one queued grant write on the writer thread, inside its savepoint.
fn run(conn: &Connection, job: Job) -> StoreResult<Outcome> {
    match job {
        Job::Rotate(j) => rotate(conn, j),
        Job::Redeem(j) => {
            execute(
                conn,
                REDEEM,
                params![j.at, j.family, j.jti, j.expires, j.digest],
            )?;
            // A row that does not read is the redemption's error, not the write's.
            let code = model(conn, SELECT_CODE, [j.digest], |r: &Named<'_, '_>| {
                rows::code(r)
            })?;
            Ok(Outcome::Redeemed(code.transpose()))
        }
        Job::Family(j) => {
            let family = params![
                j.id,
                j.client_id,
                j.user_sid,
                j.scopes,
                j.auth_time,
                j.created_at,
                j.revoked_at,
                j.resources,
                j.dpop_jkt
            ];
            execute(conn, INSERT_FAMILY, family)?;
            let token = params![
                j.digest,
                j.id,
                j.token_created,
                j.token_expires,
                j.token_used,
                None::<&str>
            ];
            execute(conn, INSERT_TOKEN, token)?;
            Ok(Outcome::Inserted)
        }
        Job::Once(j) => {
            let fresh = execute(conn, USE_ONCE, params![j.key, j.expires, j.now])? > 0;
            Ok(if fresh {
                Outcome::Fresh
            } else {
                Outcome::Spent
            })
        }
    }
}

const REDEEM: &str = "UPDATE authorization_codes SET used_at = $1, family_id = $2, \
     access_jti = $3, access_expires_at = $4 WHERE digest = $5 AND used_at IS NULL";
const INSERT_FAMILY: &str = "INSERT INTO refresh_families (id, client_id, user_sid, scopes, \
     auth_time, created_at, revoked_at, resources, dpop_jkt) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const INSERT_TOKEN: &str = "INSERT INTO refresh_tokens (digest, family_id, created_at, \
     expires_at, used_at, parent) VALUES ($1, $2, $3, $4, $5, $6)";
const FIRST_USE: &str = "UPDATE refresh_tokens SET used_at = COALESCE(used_at, $1) \
     WHERE digest = $2 RETURNING used_at, retired_at";
const USED_CHILDREN_AND_REVOKED: &str = "SELECT (SELECT COUNT(*) FROM refresh_tokens \
     WHERE parent = $1 AND used_at IS NOT NULL) AS used_children, revoked_at \
     FROM refresh_families WHERE id = $2";
const RETIRE_SUCCESSOR: &str =
    "UPDATE refresh_tokens SET retired_at = $1 WHERE parent = $2 AND retired_at IS NULL";

/// The rules are in `RefreshStore`'s comment; the writer runs jobs one after another, so this
/// reads and writes with nothing interleaved.
fn rotate(conn: &Connection, j: Rotate) -> StoreResult<Outcome> {
    let first = row(conn, FIRST_USE, params![j.at, j.old], |r| {
        Ok((
            r.get::<_, Option<i64>>("used_at")?,
            r.get::<_, Option<i64>>("retired_at")?,
        ))
    })?;
    let (first_use, retired) = first.unwrap_or((None, None));
    let outside_grace = j.at - first_use.unwrap_or(j.at) > j.grace;
    let state = row(
        conn,
        USED_CHILDREN_AND_REVOKED,
        params![j.old, j.family],
        |r| {
            Ok((
                r.get::<_, i64>("used_children")?,
                r.get::<_, Option<i64>>("revoked_at")?,
            ))
        },
    )?;
    // The family must exist, as the PostgreSQL function's STRICT read demands.
    let (used_children, revoked) =
        state.ok_or_else(|| sqlite_err(rusqlite::Error::QueryReturnedNoRows))?;
    if revoked.is_some() || retired.is_some() || outside_grace || used_children > 0 {
        execute(conn, REVOKE_FAMILY, params![j.at, j.family])?;
        return Ok(Outcome::Reused);
    }
    // A repeat inside the window: the earlier successor is retired, one branch lives on.
    execute(conn, RETIRE_SUCCESSOR, params![j.at, j.old])?;
    let token = params![j.next, j.family, j.created, j.expires, j.used, j.old];
    execute(conn, INSERT_TOKEN, token)?;
    Ok(Outcome::Rotated)
}
