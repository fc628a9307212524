//! The grant writes both backends queue, and what they come to.

use tollgate_core::model::{
    AuthorizationCode, CodeRedemption, RefreshFamily, RefreshRotation, RefreshToken,
};
use tollgate_core::secret::SecretDigest;
use tollgate_core::store::{StoreError, StoreResult};

use crate::rows;
use crate::sql::{corrupt, json_list};

/// A grant write as both backends queue it. Serialized, it is the job object
/// `tollgate_grant_batch` (migration 0008) reads: the tag is its `kind`, the fields its keys.
/// Digests are hex and lists the JSON text they are stored as.
#[derive(serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum Job {
    Rotate(Rotate),
    Redeem(Redeem),
    Family(NewFamily),
    Once(Once),
}

#[derive(serde::Serialize)]
pub(crate) struct Rotate {
    pub(super) old: String,
    pub(super) next: String,
    pub(super) family: String,
    pub(super) created: i64,
    pub(super) expires: i64,
    pub(super) used: Option<i64>,
    pub(super) at: i64,
    pub(super) grace: i64,
}

#[derive(serde::Serialize)]
pub(crate) struct Redeem {
    pub(super) digest: String,
    pub(super) at: i64,
    pub(super) family: Option<String>,
    pub(super) jti: String,
    pub(super) expires: i64,
}

#[derive(serde::Serialize)]
pub(crate) struct NewFamily {
    pub(super) id: String,
    pub(super) client_id: String,
    pub(super) user_sid: String,
    pub(super) scopes: String,
    pub(super) auth_time: i64,
    pub(super) created_at: i64,
    pub(super) revoked_at: Option<i64>,
    pub(super) resources: String,
    pub(super) dpop_jkt: Option<String>,
    pub(super) digest: String,
    pub(super) token_created: i64,
    pub(super) token_expires: i64,
    pub(super) token_used: Option<i64>,
}

#[derive(serde::Serialize)]
pub(crate) struct Once {
    pub(super) key: String,
    pub(super) expires: i64,
    pub(super) now: i64,
}

impl Redeem {
    pub(crate) fn new(
        digest: &SecretDigest,
        at: i64,
        family: Option<&str>,
        jti: &str,
        expires: i64,
    ) -> Self {
        Redeem {
            digest: digest.to_hex(),
            at,
            family: family.map(str::to_owned),
            jti: jti.to_owned(),
            expires,
        }
    }
}

impl Job {
    pub(super) fn rotate(old: &SecretDigest, next: &RefreshToken, at: i64, grace: i64) -> Self {
        Job::Rotate(Rotate {
            old: old.to_hex(),
            next: next.digest.to_hex(),
            family: next.family_id.clone(),
            created: next.created_at,
            expires: next.expires_at,
            used: next.used_at,
            at,
            grace,
        })
    }

    pub(super) fn family(f: &RefreshFamily, first: &RefreshToken) -> Self {
        Job::Family(NewFamily {
            id: f.id.clone(),
            client_id: f.client_id.as_str().to_owned(),
            user_sid: f.user_sid.as_str().to_owned(),
            scopes: json_list(&f.scopes),
            auth_time: f.auth_time,
            created_at: f.created_at,
            revoked_at: f.revoked_at,
            resources: json_list(&f.resources),
            dpop_jkt: f.dpop_jkt.clone(),
            digest: first.digest.to_hex(),
            token_created: first.created_at,
            token_expires: first.expires_at,
            token_used: first.used_at,
        })
    }

    pub(super) fn once(key: &str, expires: i64, now: i64) -> Self {
        Job::Once(Once {
            key: key.to_owned(),
            expires,
            now,
        })
    }
}

/// What a [`Job`] came to.
// Moved once per job, where a boxed row would cost every redemption an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Outcome {
    /// A rotation stored the successor.
    Rotated,
    /// A rotation found a reuse and revoked the family.
    Reused,
    /// A redemption: the code after it, if the code exists (or why its row does not read).
    Redeemed(StoreResult<Option<AuthorizationCode>>),
    /// A new family is stored.
    Inserted,
    /// A one-time identifier, spent now for the first time.
    Fresh,
    /// A one-time identifier spent before.
    Spent,
}

impl Outcome {
    /// Reads one row of `tollgate_grant_batch`: the one place its outcome words are known.
    pub(super) fn from_batch_row(outcome: &str, detail: Option<&str>) -> StoreResult<Self> {
        Ok(match (outcome, detail) {
            ("rotated", _) => Outcome::Rotated,
            ("reused", _) => Outcome::Reused,
            ("found", Some(row)) => {
                let row: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(row).map_err(|_| corrupt("redeemed code row"))?;
                Outcome::Redeemed(rows::code(&row).map(Some))
            }
            ("unknown", _) => Outcome::Redeemed(Ok(None)),
            ("done", _) => Outcome::Inserted,
            ("fresh", _) => Outcome::Fresh,
            ("spent", _) => Outcome::Spent,
            (other, _) => return Err(corrupt(&format!("grant job outcome {other:?}"))),
        })
    }

    pub(super) fn rotation(self) -> StoreResult<RefreshRotation> {
        match self {
            Outcome::Rotated => Ok(RefreshRotation::Rotated),
            Outcome::Reused => Ok(RefreshRotation::Reused),
            _ => Err(mismatch()),
        }
    }

    /// The jti is fresh randomness: the row carries it only if this call spent the code.
    pub(super) fn redemption(self, access_jti: &str) -> StoreResult<CodeRedemption> {
        let Outcome::Redeemed(code) = self else {
            return Err(mismatch());
        };
        let Some(code) = code? else {
            return Ok(CodeRedemption::Unknown);
        };
        Ok(if code.access_jti.as_deref() == Some(access_jti) {
            CodeRedemption::Fresh(code)
        } else {
            CodeRedemption::Replayed(code)
        })
    }

    pub(super) fn inserted(self) -> StoreResult<()> {
        match self {
            Outcome::Inserted => Ok(()),
            _ => Err(mismatch()),
        }
    }

    pub(super) fn first_use(self) -> StoreResult<bool> {
        match self {
            Outcome::Fresh => Ok(true),
            Outcome::Spent => Ok(false),
            _ => Err(mismatch()),
        }
    }
}

fn mismatch() -> StoreError {
    corrupt("a grant job was answered for another kind")
}

#[cfg(test)]
mod tests {
    use super::{Job, Outcome};

    /// The keys `tollgate_grant_batch` reads (migration 0008) and the words it answers with.
    #[test]
    fn jobs_and_outcomes_match_the_batch_function() {
        let once = serde_json::to_value(Job::once("jti", 5, 1)).expect("json");
        assert_eq!(
            once,
            serde_json::json!({"kind": "once", "key": "jti", "expires": 5, "now": 1})
        );
        let redeem = Job::Redeem(super::Redeem {
            digest: "ab".into(),
            at: 2,
            family: None,
            jti: "j".into(),
            expires: 9,
        });
        assert_eq!(
            serde_json::to_value(redeem).expect("json"),
            serde_json::json!({"kind": "redeem", "digest": "ab", "at": 2, "family": null,
                               "jti": "j", "expires": 9})
        );
        for word in ["rotated", "reused", "unknown", "done", "fresh", "spent"] {
            assert!(Outcome::from_batch_row(word, None).is_ok(), "{word}");
        }
        assert!(Outcome::from_batch_row("found", Some("{")).is_err());
        assert!(Outcome::from_batch_row("other", None).is_err());
    }
}
