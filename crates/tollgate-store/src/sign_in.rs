//! Sign-in settings: the per-user policy, the sealed RFC 6238 secret, recovery code digests,
//! the failed-attempt lock, and the methods each issued code's sign-in used.

use tollgate_core::ids::UserSid;
use tollgate_core::model::{SignInPolicy, SignInSettings};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::sql::{Db, backend_err, corrupt, json_list, parse_list, read_number, read_row, write};

#[derive(sqlx::FromRow)]
struct SettingsRow {
    policy: String,
    totp_sealed: Option<String>,
    totp_created_at: Option<i64>,
    totp_last_step: i64,
    failures: i64,
    locked_until: i64,
}

pub(crate) async fn sign_in_settings(db: &Db, user: &UserSid) -> StoreResult<SignInSettings> {
    let q = sqlx::query_as::<_, SettingsRow>(
        "SELECT policy, totp_sealed, totp_created_at, totp_last_step, failures, locked_until \
         FROM user_sign_in WHERE user_sid = $1",
    )
    .bind(user.as_str());
    let account = crate::passkeys::user_account_policy(db, user).await?;
    let passkeys = crate::passkeys::passkey_count(db, user).await?;
    let Some(r) = read_row(db, q).await? else {
        return Ok(SignInSettings {
            policy: SignInPolicy::effective(account, SignInPolicy::Optional),
            account_policy: account,
            passkeys,
            ..SignInSettings::default()
        });
    };
    let user_policy = r
        .policy
        .parse::<SignInPolicy>()
        .map_err(|_| corrupt("sign-in policy"))?;
    let left = sqlx::query_as(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_sid = $1 AND used_at IS NULL",
    )
    .bind(user.as_str());
    Ok(SignInSettings {
        policy: SignInPolicy::effective(account, user_policy),
        user_policy,
        account_policy: account,
        passkeys,
        totp_sealed: r.totp_sealed,
        totp_created_at: r.totp_created_at,
        totp_last_step: r.totp_last_step,
        failures: r.failures,
        locked_until: r.locked_until,
        recovery_codes_left: read_number(db, left).await?,
    })
}

/// The user's row, created with the defaults if it is missing.
async fn ensure_row(db: &Db, user: &UserSid, at: i64) -> StoreResult<()> {
    let q = sqlx::query(
        "INSERT INTO user_sign_in (user_sid, updated_at) VALUES ($1, $2) \
         ON CONFLICT (user_sid) DO NOTHING",
    )
    .bind(user.as_str())
    .bind(at);
    write(db, q).await.map(|_| ())
}

pub(crate) async fn set_sign_in_policy(
    db: &Db,
    user: &UserSid,
    policy: SignInPolicy,
    at: i64,
) -> StoreResult<()> {
    ensure_row(db, user, at).await?;
    let q = sqlx::query("UPDATE user_sign_in SET policy = $2, updated_at = $3 WHERE user_sid = $1")
        .bind(user.as_str())
        .bind(policy.as_str())
        .bind(at);
    write(db, q).await.map(|_| ())
}

/// Sets (or with `None` removes) the secret and replaces the recovery codes, in one
/// transaction: codes from an earlier setup never outlive it.
pub(crate) async fn set_totp(
    db: &Db,
    user: &UserSid,
    sealed: Option<&str>,
    last_step: i64,
    recovery_digests: &[String],
    at: i64,
) -> StoreResult<()> {
    ensure_row(db, user, at).await?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE user_sign_in SET totp_sealed = $2, totp_created_at = $3, totp_last_step = $4, \
         failures = 0, updated_at = $3 WHERE user_sid = $1",
    )
    .bind(user.as_str())
    .bind(sealed)
    .bind(at)
    .bind(last_step)
    .execute(&mut *tx)
    .await
    .map_err(backend_err)?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_sid = $1")
        .bind(user.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
    for d in recovery_digests {
        sqlx::query(
            "INSERT INTO recovery_codes (user_sid, digest, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user.as_str())
        .bind(d)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(backend_err)?;
    }
    tx.commit().await.map_err(backend_err)
}

/// Accepts `step` only if it is later than the last accepted one (one statement, so two
/// nodes cannot both accept the same code), and clears the failures.
pub(crate) async fn accept_totp_step(
    db: &Db,
    user: &UserSid,
    step: i64,
    at: i64,
) -> StoreResult<bool> {
    let q = sqlx::query(
        "UPDATE user_sign_in SET totp_last_step = $2, failures = 0, updated_at = $3 \
         WHERE user_sid = $1 AND totp_last_step < $2 AND totp_sealed IS NOT NULL",
    )
    .bind(user.as_str())
    .bind(step)
    .bind(at);
    Ok(write(db, q).await? > 0)
}

/// Spends an unused recovery code (once, whichever node sees it first).
pub(crate) async fn use_recovery_code(
    db: &Db,
    user: &UserSid,
    digest: &str,
    at: i64,
) -> StoreResult<bool> {
    let q = sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 \
         WHERE user_sid = $1 AND digest = $2 AND used_at IS NULL",
    )
    .bind(user.as_str())
    .bind(digest)
    .bind(at);
    let used = write(db, q).await? > 0;
    if used {
        let q = sqlx::query("UPDATE user_sign_in SET failures = 0 WHERE user_sid = $1")
            .bind(user.as_str());
        write(db, q).await?;
    }
    Ok(used)
}

/// Counts a failed attempt; the `limit`th locks the second factor until `lock_until` and
/// starts the count again.
pub(crate) async fn second_factor_failed(
    db: &Db,
    user: &UserSid,
    limit: i64,
    lock_until: i64,
    at: i64,
) -> StoreResult<()> {
    ensure_row(db, user, at).await?;
    let q = sqlx::query(
        "UPDATE user_sign_in SET \
         locked_until = CASE WHEN failures + 1 >= $2 THEN $3 ELSE locked_until END, \
         failures = CASE WHEN failures + 1 >= $2 THEN 0 ELSE failures + 1 END, \
         updated_at = $4 WHERE user_sid = $1",
    )
    .bind(user.as_str())
    .bind(limit)
    .bind(lock_until)
    .bind(at);
    write(db, q).await.map(|_| ())
}

pub(crate) async fn insert_code_authn(
    db: &Db,
    code: &SecretDigest,
    amr: &[String],
    expires_at: i64,
) -> StoreResult<()> {
    let q =
        sqlx::query("INSERT INTO code_authn (code_digest, amr, expires_at) VALUES ($1, $2, $3)")
            .bind(code.to_hex())
            .bind(json_list(amr))
            .bind(expires_at);
    write(db, q).await.map(|_| ())
}

pub(crate) async fn code_authn(db: &Db, code: &SecretDigest) -> StoreResult<Option<Vec<String>>> {
    let q = sqlx::query_as("SELECT amr FROM code_authn WHERE code_digest = $1").bind(code.to_hex());
    let row: Option<(String,)> = read_row(db, q).await?;
    row.map(|(s,)| parse_list(&s)).transpose()
}

pub(crate) async fn family_authn(db: &Db, family_id: &str) -> StoreResult<Option<Vec<String>>> {
    let q =
        sqlx::query_as("SELECT amr FROM refresh_family_authn WHERE family_id = $1").bind(family_id);
    let row: Option<(String,)> = read_row(db, q).await?;
    row.map(|(s,)| parse_list(&s)).transpose()
}
