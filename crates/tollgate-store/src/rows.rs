//! Rows read into the engine's model. Columns are read by name, whichever way the row came
//! (sqlx, rusqlite, or the JSON `tollgate_grant_batch` answers with), so a statement's column
//! order is free; the grant statements are in `statements`.

use std::cell::Cell;

use rusqlite::types::FromSql;
use rusqlite::{Row, Statement};
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use tollgate_core::ids::{AccountSid, ClientId, UserSid};
use tollgate_core::model::{
    AuthorizationCode, CodeSignIn, DeviceGrant, DeviceStatus, PushedAuthorizationRequest,
    RefreshFamily, RefreshToken, User,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::StoreResult;

use crate::grants::sqlite_err;
use crate::sql::{backend_err, corrupt, parse_id, parse_list};

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

/// A row whose columns are read by name.
pub(crate) trait Columns: Sized {
    fn text(&self, name: &str) -> StoreResult<Option<String>>;
    fn int(&self, name: &str) -> StoreResult<Option<i64>>;

    fn col<T: Column>(&self, name: &str) -> StoreResult<T> {
        T::read(self, name)
    }

    /// An identifier column, parsed; `what` names it when it does not parse.
    fn id<T, E>(
        &self,
        name: &str,
        what: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> StoreResult<T> {
        parse_id(&self.col::<String>(name)?, what, parse)
    }

    /// A digest column, stored as hex.
    fn digest(&self, name: &str, what: &str) -> StoreResult<SecretDigest> {
        SecretDigest::from_hex(&self.col::<String>(name)?).ok_or_else(|| corrupt(what))
    }
}

/// The types a column is read as; a NULL where a value belongs is corrupt.
pub(crate) trait Column: Sized {
    fn read(r: &impl Columns, name: &str) -> StoreResult<Self>;
}

impl Column for Option<String> {
    fn read(r: &impl Columns, name: &str) -> StoreResult<Self> {
        r.text(name)
    }
}

impl Column for Option<i64> {
    fn read(r: &impl Columns, name: &str) -> StoreResult<Self> {
        r.int(name)
    }
}

impl Column for String {
    fn read(r: &impl Columns, name: &str) -> StoreResult<Self> {
        r.text(name)?.ok_or_else(|| corrupt(name))
    }
}

impl Column for i64 {
    fn read(r: &impl Columns, name: &str) -> StoreResult<Self> {
        r.int(name)?.ok_or_else(|| corrupt(name))
    }
}

/// Flags are stored as 0 or 1.
impl Column for bool {
    fn read(r: &impl Columns, name: &str) -> StoreResult<Self> {
        Ok(i64::read(r, name)? != 0)
    }
}

/// Lists are stored as JSON arrays of strings.
impl Column for Vec<String> {
    fn read(r: &impl Columns, name: &str) -> StoreResult<Self> {
        parse_list(&String::read(r, name)?)
    }
}

impl Columns for Named<'_, '_> {
    fn text(&self, name: &str) -> StoreResult<Option<String>> {
        self.get(name).map_err(sqlite_err)
    }
    fn int(&self, name: &str) -> StoreResult<Option<i64>> {
        self.get(name).map_err(sqlite_err)
    }
}

impl Columns for AnyRow {
    fn text(&self, name: &str) -> StoreResult<Option<String>> {
        sqlx::Row::try_get(self, name).map_err(backend_err)
    }
    fn int(&self, name: &str) -> StoreResult<Option<i64>> {
        sqlx::Row::try_get(self, name).map_err(backend_err)
    }
}

/// A row as `row_to_json` writes it; a column it leaves out is NULL.
impl Columns for Map<String, Value> {
    fn text(&self, name: &str) -> StoreResult<Option<String>> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(corrupt(name)),
        }
    }
    fn int(&self, name: &str) -> StoreResult<Option<i64>> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| corrupt(name)),
        }
    }
}

/// A model struct literal whose shorthand fields are read from the columns of their names.
macro_rules! by_name {
    ($r:ident, $model:ident { $($field:ident $(: $value:expr)?),* $(,)? }) => {
        $model { $($field: by_name!(@value $r, $field $(, $value)?)),* }
    };
    (@value $r:ident, $field:ident, $value:expr) => {
        $value
    };
    (@value $r:ident, $field:ident) => {
        $r.col(stringify!($field))?
    };
}
pub(crate) use by_name;

fn client_id(r: &impl Columns) -> StoreResult<ClientId> {
    r.id("client_id", "client id", ClientId::parse)
}

/// Columns in `code_columns` order.
pub(crate) fn code(r: &impl Columns) -> StoreResult<AuthorizationCode> {
    Ok(by_name!(
        r,
        AuthorizationCode {
            digest: r.digest("digest", "code digest")?,
            client_id: client_id(r)?,
            user_sid: r.id("user_sid", "user sid", UserSid::parse)?,
            redirect_uri,
            scopes,
            nonce,
            code_challenge,
            auth_time,
            created_at,
            expires_at,
            used_at,
            family_id,
            access_jti,
            access_expires_at,
            resources,
            dpop_jkt,
        }
    ))
}

/// A family whose id and creation time are read from the columns named.
fn family_as(r: &impl Columns, id: &str, created_at: &str) -> StoreResult<RefreshFamily> {
    Ok(by_name!(
        r,
        RefreshFamily {
            id: r.col(id)?,
            client_id: client_id(r)?,
            user_sid: r.id("user_sid", "user sid", UserSid::parse)?,
            scopes,
            auth_time,
            created_at: r.col(created_at)?,
            revoked_at,
            resources,
            dpop_jkt,
        }
    ))
}

/// A row of `refresh_families`.
pub(crate) fn family(r: &impl Columns) -> StoreResult<RefreshFamily> {
    family_as(r, "id", "created_at")
}

/// A token and its family, as `token_family_select` names them.
pub(crate) fn token_family(
    r: &impl Columns,
    digest: &SecretDigest,
) -> StoreResult<(RefreshToken, RefreshFamily)> {
    let token = by_name!(
        r,
        RefreshToken {
            digest: *digest,
            family_id,
            created_at: r.col("t_created")?,
            expires_at: r.col("t_expires")?,
            used_at,
        }
    );
    Ok((token, family_as(r, "family_id", "f_created")?))
}

/// The token, its family and the family's user, when it still exists (a LEFT JOIN: the
/// user's columns are NULL when it does not).
pub(crate) fn token_family_user(
    r: &impl Columns,
    digest: &SecretDigest,
) -> StoreResult<(RefreshToken, RefreshFamily, Option<User>)> {
    let (token, family) = token_family(r, digest)?;
    let user = match r.col::<Option<String>>("sid")? {
        Some(_) => Some(user(r)?),
        None => None,
    };
    Ok((token, family, user))
}

/// Columns in `user_columns` order.
pub(crate) fn user(r: &impl Columns) -> StoreResult<User> {
    Ok(by_name!(
        r,
        User {
            sid: r.id("sid", "user sid", UserSid::parse)?,
            account_sid: r.id("account_sid", "account sid", AccountSid::parse)?,
            email,
            password_hash,
            first_name,
            last_name,
            friendly_name,
            created_at,
            updated_at,
            admin,
            email_verified,
        }
    ))
}

pub(crate) fn code_sign_in(r: &impl Columns) -> StoreResult<CodeSignIn> {
    Ok(by_name!(r, CodeSignIn { amr, session_sid }))
}

pub(crate) fn pushed(
    r: &impl Columns,
    digest: &SecretDigest,
) -> StoreResult<PushedAuthorizationRequest> {
    let request = by_name!(
        r,
        PushedAuthorizationRequest {
            digest: *digest,
            client_id: client_id(r)?,
            params,
            created_at,
            expires_at,
            used_at,
        }
    );
    if serde_json::from_str::<serde::de::IgnoredAny>(&request.params).is_err() {
        return Err(corrupt("pushed request"));
    }
    Ok(request)
}

/// Columns in `device_columns` order.
pub(crate) fn device(r: &impl Columns) -> StoreResult<DeviceGrant> {
    Ok(by_name!(
        r,
        DeviceGrant {
            digest: r.digest("digest", "device digest")?,
            user_code,
            client_id: client_id(r)?,
            scopes,
            audiences,
            created_at,
            expires_at,
            interval: r.col("poll_interval")?,
            last_polled_at,
            status: DeviceStatus::parse(&r.col::<String>("status")?)
                .ok_or_else(|| corrupt("device status"))?,
            user_sid: r
                .col::<Option<String>>("user_sid")?
                .map(|u| parse_id(&u, "user sid", UserSid::parse))
                .transpose()?,
            auth_time,
            device_id,
        }
    ))
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
