//! The grant tables' row types, converted into the engine's model. Rows are read by column
//! name (sqlx derives it; `from_sqlite` does it for rusqlite), so a statement's column order
//! is free; the statements are in `statements`.

use std::cell::Cell;

use rusqlite::types::FromSql;
use rusqlite::{Row, Statement};
use tollgate_core::ids::{AccountSid, ClientId, UserSid};
use tollgate_core::model::{
    AuthorizationCode, DeviceGrant, DeviceStatus, PushedAuthorizationRequest, RefreshFamily,
    RefreshToken, User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::{StoreError, StoreResult};

use crate::sql::{corrupt, parse_id, parse_list};

/// Reads a rusqlite row by column name. Readers ask for the columns in the statement's order,
/// so the next column is tried first: one name comparison per column, not a scan of them all.
pub(crate) struct Named<'a, 'r> {
    row: &'a Row<'r>,
    next: Cell<usize>,
}

impl<'a, 'r> Named<'a, 'r> {
    pub(crate) fn new(row: &'a Row<'r>) -> Self {
        Named {
            row,
            next: Cell::new(0),
        }
    }

    pub(crate) fn get<T: FromSql>(&self, name: &str) -> rusqlite::Result<T> {
        let stmt: &Statement<'_> = self.row.as_ref();
        let next = self.next.get();
        let at = match stmt.column_name(next) {
            Ok(n) if n.eq_ignore_ascii_case(name) => next,
            _ => stmt.column_index(name)?,
        };
        self.next.set(at + 1);
        self.row.get(at)
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct CodeRow {
    pub(crate) digest: String,
    pub(crate) client_id: String,
    pub(crate) user_sid: String,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) scopes: String,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: Option<String>,
    pub(crate) auth_time: i64,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) used_at: Option<i64>,
    pub(crate) family_id: Option<String>,
    pub(crate) access_jti: Option<String>,
    pub(crate) access_expires_at: Option<i64>,
    pub(crate) resources: String,
    #[serde(default)]
    pub(crate) dpop_jkt: Option<String>,
}

impl CodeRow {
    pub(crate) fn from_sqlite(r: &Row<'_>) -> rusqlite::Result<Self> {
        let r = Named::new(r);
        Ok(CodeRow {
            digest: r.get("digest")?,
            client_id: r.get("client_id")?,
            user_sid: r.get("user_sid")?,
            redirect_uri: r.get("redirect_uri")?,
            scopes: r.get("scopes")?,
            nonce: r.get("nonce")?,
            code_challenge: r.get("code_challenge")?,
            auth_time: r.get("auth_time")?,
            created_at: r.get("created_at")?,
            expires_at: r.get("expires_at")?,
            used_at: r.get("used_at")?,
            family_id: r.get("family_id")?,
            access_jti: r.get("access_jti")?,
            access_expires_at: r.get("access_expires_at")?,
            resources: r.get("resources")?,
            dpop_jkt: r.get("dpop_jkt")?,
        })
    }
}

impl TryFrom<CodeRow> for AuthorizationCode {
    type Error = StoreError;

    fn try_from(r: CodeRow) -> StoreResult<Self> {
        Ok(AuthorizationCode {
            digest: SecretDigest::from_hex(&r.digest).ok_or_else(|| corrupt("code digest"))?,
            client_id: parse_id(&r.client_id, "client id", ClientId::parse)?,
            user_sid: parse_id(&r.user_sid, "user sid", UserSid::parse)?,
            redirect_uri: r.redirect_uri,
            scopes: parse_list(&r.scopes)?,
            nonce: r.nonce,
            code_challenge: r.code_challenge,
            auth_time: r.auth_time,
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
            family_id: r.family_id,
            access_jti: r.access_jti,
            access_expires_at: r.access_expires_at,
            resources: parse_list(&r.resources)?,
            dpop_jkt: r.dpop_jkt,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenFamilyRow {
    pub(crate) family_id: String,
    pub(crate) t_created: i64,
    pub(crate) t_expires: i64,
    pub(crate) used_at: Option<i64>,
    pub(crate) client_id: String,
    pub(crate) user_sid: String,
    pub(crate) scopes: String,
    pub(crate) auth_time: i64,
    pub(crate) f_created: i64,
    pub(crate) revoked_at: Option<i64>,
    pub(crate) resources: String,
    pub(crate) dpop_jkt: Option<String>,
}

impl TokenFamilyRow {
    pub(crate) fn read(r: &Named<'_, '_>) -> rusqlite::Result<Self> {
        Ok(TokenFamilyRow {
            family_id: r.get("family_id")?,
            t_created: r.get("t_created")?,
            t_expires: r.get("t_expires")?,
            used_at: r.get("used_at")?,
            client_id: r.get("client_id")?,
            user_sid: r.get("user_sid")?,
            scopes: r.get("scopes")?,
            auth_time: r.get("auth_time")?,
            f_created: r.get("f_created")?,
            revoked_at: r.get("revoked_at")?,
            resources: r.get("resources")?,
            dpop_jkt: r.get("dpop_jkt")?,
        })
    }

    pub(crate) fn into_parts(
        self,
        digest: &SecretDigest,
    ) -> StoreResult<(RefreshToken, RefreshFamily)> {
        let token = RefreshToken {
            digest: *digest,
            family_id: self.family_id.clone(),
            created_at: self.t_created,
            expires_at: self.t_expires,
            used_at: self.used_at,
        };
        let family = FamilyRow {
            id: self.family_id,
            client_id: self.client_id,
            user_sid: self.user_sid,
            scopes: self.scopes,
            auth_time: self.auth_time,
            created_at: self.f_created,
            revoked_at: self.revoked_at,
            resources: self.resources,
            dpop_jkt: self.dpop_jkt,
        }
        .try_into()?;
        Ok((token, family))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct FamilyRow {
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) user_sid: String,
    pub(crate) scopes: String,
    pub(crate) auth_time: i64,
    pub(crate) created_at: i64,
    pub(crate) revoked_at: Option<i64>,
    pub(crate) resources: String,
    pub(crate) dpop_jkt: Option<String>,
}

impl TryFrom<FamilyRow> for RefreshFamily {
    type Error = StoreError;

    fn try_from(r: FamilyRow) -> StoreResult<Self> {
        Ok(RefreshFamily {
            id: r.id,
            client_id: parse_id(&r.client_id, "client id", ClientId::parse)?,
            user_sid: parse_id(&r.user_sid, "user sid", UserSid::parse)?,
            scopes: parse_list(&r.scopes)?,
            auth_time: r.auth_time,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            resources: parse_list(&r.resources)?,
            dpop_jkt: r.dpop_jkt,
        })
    }
}

/// The family's user, when it still exists (LEFT JOIN: every column may be NULL).
#[derive(sqlx::FromRow)]
pub(crate) struct MaybeUser {
    pub(crate) u_sid: Option<String>,
    pub(crate) u_account_sid: Option<String>,
    pub(crate) u_email: Option<String>,
    pub(crate) u_password_hash: Option<String>,
    pub(crate) u_first_name: Option<String>,
    pub(crate) u_last_name: Option<String>,
    pub(crate) u_friendly_name: Option<String>,
    pub(crate) u_created_at: Option<i64>,
    pub(crate) u_updated_at: Option<i64>,
    pub(crate) u_admin: Option<i64>,
    pub(crate) u_email_verified: Option<i64>,
}

impl MaybeUser {
    pub(crate) fn read(r: &Named<'_, '_>) -> rusqlite::Result<Self> {
        Ok(MaybeUser {
            u_sid: r.get("u_sid")?,
            u_account_sid: r.get("u_account_sid")?,
            u_email: r.get("u_email")?,
            u_password_hash: r.get("u_password_hash")?,
            u_first_name: r.get("u_first_name")?,
            u_last_name: r.get("u_last_name")?,
            u_friendly_name: r.get("u_friendly_name")?,
            u_created_at: r.get("u_created_at")?,
            u_updated_at: r.get("u_updated_at")?,
            u_admin: r.get("u_admin")?,
            u_email_verified: r.get("u_email_verified")?,
        })
    }

    pub(crate) fn into_user(self) -> StoreResult<Option<User>> {
        let (Some(sid), Some(account_sid), Some(email), Some(password_hash)) = (
            self.u_sid,
            self.u_account_sid,
            self.u_email,
            self.u_password_hash,
        ) else {
            return Ok(None);
        };
        UserRow {
            sid,
            account_sid,
            email,
            password_hash,
            first_name: self.u_first_name,
            last_name: self.u_last_name,
            friendly_name: self.u_friendly_name,
            created_at: self.u_created_at.unwrap_or_default(),
            updated_at: self.u_updated_at.unwrap_or_default(),
            admin: self.u_admin.unwrap_or_default(),
            email_verified: self.u_email_verified.unwrap_or_default(),
        }
        .try_into()
        .map(Some)
    }
}

/// The token, its family and the family's user in one read (the rotation hot path).
#[derive(sqlx::FromRow)]
pub(crate) struct TokenFamilyUserRow {
    #[sqlx(flatten)]
    pub(crate) token: TokenFamilyRow,
    #[sqlx(flatten)]
    pub(crate) user: MaybeUser,
}

impl TokenFamilyUserRow {
    pub(crate) fn from_sqlite(r: &Row<'_>) -> rusqlite::Result<Self> {
        let r = Named::new(r);
        Ok(TokenFamilyUserRow {
            token: TokenFamilyRow::read(&r)?,
            user: MaybeUser::read(&r)?,
        })
    }

    pub(crate) fn into_parts(
        self,
        digest: &SecretDigest,
    ) -> StoreResult<(RefreshToken, RefreshFamily, Option<User>)> {
        let (token, family) = self.token.into_parts(digest)?;
        Ok((token, family, self.user.into_user()?))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) sid: String,
    pub(crate) account_sid: String,
    pub(crate) email: String,
    pub(crate) password_hash: String,
    pub(crate) first_name: Option<String>,
    pub(crate) last_name: Option<String>,
    pub(crate) friendly_name: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) admin: i64,
    pub(crate) email_verified: i64,
}

impl UserRow {
    pub(crate) fn from_sqlite(r: &Row<'_>) -> rusqlite::Result<Self> {
        let r = Named::new(r);
        Ok(UserRow {
            sid: r.get("sid")?,
            account_sid: r.get("account_sid")?,
            email: r.get("email")?,
            password_hash: r.get("password_hash")?,
            first_name: r.get("first_name")?,
            last_name: r.get("last_name")?,
            friendly_name: r.get("friendly_name")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
            admin: r.get("admin")?,
            email_verified: r.get("email_verified")?,
        })
    }
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(r: UserRow) -> StoreResult<Self> {
        Ok(User {
            sid: parse_id(&r.sid, "user sid", UserSid::parse)?,
            account_sid: parse_id(&r.account_sid, "account sid", AccountSid::parse)?,
            email: r.email,
            password_hash: r.password_hash,
            first_name: r.first_name,
            last_name: r.last_name,
            friendly_name: r.friendly_name,
            admin: r.admin != 0,
            email_verified: r.email_verified != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PushedRow {
    pub(crate) client_id: String,
    pub(crate) params: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) used_at: Option<i64>,
}

impl PushedRow {
    pub(crate) fn from_sqlite(r: &Row<'_>) -> rusqlite::Result<Self> {
        let r = Named::new(r);
        Ok(PushedRow {
            client_id: r.get("client_id")?,
            params: r.get("params")?,
            created_at: r.get("created_at")?,
            expires_at: r.get("expires_at")?,
            used_at: r.get("used_at")?,
        })
    }

    pub(crate) fn into_request(
        self,
        digest: &SecretDigest,
    ) -> StoreResult<PushedAuthorizationRequest> {
        if serde_json::from_str::<serde::de::IgnoredAny>(&self.params).is_err() {
            return Err(corrupt("pushed request"));
        }
        Ok(PushedAuthorizationRequest {
            digest: *digest,
            client_id: parse_id(&self.client_id, "client id", ClientId::parse)?,
            params: self.params,
            created_at: self.created_at,
            expires_at: self.expires_at,
            used_at: self.used_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeviceRow {
    pub(crate) digest: String,
    pub(crate) user_code: String,
    pub(crate) client_id: String,
    pub(crate) scopes: String,
    pub(crate) audiences: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) poll_interval: i64,
    pub(crate) last_polled_at: Option<i64>,
    pub(crate) status: String,
    pub(crate) user_sid: Option<String>,
    pub(crate) auth_time: Option<i64>,
    pub(crate) device_id: Option<String>,
}

impl DeviceRow {
    pub(crate) fn from_sqlite(r: &Row<'_>) -> rusqlite::Result<Self> {
        let r = Named::new(r);
        Ok(DeviceRow {
            digest: r.get("digest")?,
            user_code: r.get("user_code")?,
            client_id: r.get("client_id")?,
            scopes: r.get("scopes")?,
            audiences: r.get("audiences")?,
            created_at: r.get("created_at")?,
            expires_at: r.get("expires_at")?,
            poll_interval: r.get("poll_interval")?,
            last_polled_at: r.get("last_polled_at")?,
            status: r.get("status")?,
            user_sid: r.get("user_sid")?,
            auth_time: r.get("auth_time")?,
            device_id: r.get("device_id")?,
        })
    }
}

impl TryFrom<DeviceRow> for DeviceGrant {
    type Error = StoreError;

    fn try_from(r: DeviceRow) -> StoreResult<Self> {
        Ok(DeviceGrant {
            digest: SecretDigest::from_hex(&r.digest).ok_or_else(|| corrupt("device digest"))?,
            user_code: r.user_code,
            client_id: parse_id(&r.client_id, "client id", ClientId::parse)?,
            scopes: parse_list(&r.scopes)?,
            audiences: parse_list(&r.audiences)?,
            created_at: r.created_at,
            expires_at: r.expires_at,
            interval: r.poll_interval,
            last_polled_at: r.last_polled_at,
            status: DeviceStatus::parse(&r.status).ok_or_else(|| corrupt("device status"))?,
            user_sid: r
                .user_sid
                .map(|u| parse_id(&u, "user sid", UserSid::parse))
                .transpose()?,
            auth_time: r.auth_time,
            device_id: r.device_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Named;

    #[test]
    fn columns_are_read_by_name_in_any_order() {
        let conn = rusqlite::Connection::open_in_memory().expect("open");
        let read = |r: &rusqlite::Row<'_>| {
            let r = Named::new(r);
            let in_order: (i64, i64, i64) = (r.get("a")?, r.get("b")?, r.get("c")?);
            let shuffled: (i64, i64, i64) = (r.get("C")?, r.get("a")?, r.get("b")?);
            let missing = r.get::<i64>("d").is_err();
            Ok((in_order, shuffled, missing))
        };
        let got = conn
            .query_row("SELECT 1 AS a, 2 AS b, 3 AS c", [], read)
            .expect("row");
        assert_eq!(got, ((1, 2, 3), (3, 1, 2), true));
    }
}
