//! Access-token claims (RFC 9068) and what a grant hands back to the dialect.

use serde::{Deserialize, Serialize};

/// `aud` is a single string when there is one audience, an array otherwise (RFC 7519 4.1.3).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Audience<'a> {
    One(&'a str),
    Many(&'a [String]),
}

impl<'a> Audience<'a> {
    pub fn of(list: &'a [String]) -> Self {
        match list {
            [one] => Audience::One(one),
            many => Audience::Many(many),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AccessTokenClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: Audience<'a>,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_sid: Option<&'a str>,
    /// RFC 9449 section 6: the DPoP key the token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation<'a>>,
}

#[derive(Debug, Serialize)]
pub struct Confirmation<'a> {
    pub jkt: &'a str,
}

/// A successful grant, before a dialect renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub access_token: String,
    /// Seconds.
    pub expires_in: i64,
    /// Unix time the token was issued (the Optoro `created_at`).
    pub issued_at: i64,
    /// Space-delimited granted scopes.
    pub scope: String,
    pub refresh_token: Option<String>,
    pub refresh_token_expires_at: Option<i64>,
    pub id_token: Option<String>,
    /// Bound to a DPoP key (`token_type: DPoP`).
    pub dpop_bound: bool,
}

impl Issued {
    /// RFC 9449 section 5: `DPoP` for bound tokens.
    pub fn token_type(&self) -> &'static str {
        if self.dpop_bound { "DPoP" } else { "Bearer" }
    }

    /// Saturating: out-of-range times render as no date (null) rather than overflow.
    pub fn access_token_expires_at(&self) -> i64 {
        self.issued_at.saturating_add(self.expires_in)
    }
}

/// An access token that is ours, unexpired and unrevoked.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AccessTokenInfo {
    pub iss: String,
    pub sub: String,
    #[serde(default)]
    pub aud: serde_json::Value,
    pub client_id: String,
    #[serde(default)]
    pub scope: String,
    pub iat: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    pub exp: i64,
    pub jti: String,
    #[serde(default)]
    pub account_sid: Option<String>,
    #[serde(default)]
    pub cnf: Option<TokenConfirmation>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TokenConfirmation {
    pub jkt: String,
}

impl AccessTokenInfo {
    pub fn jkt(&self) -> Option<&str> {
        self.cnf.as_ref().map(|c| c.jkt.as_str())
    }

    pub fn scopes(&self) -> Vec<String> {
        crate::scope::tokens(&self.scope)
    }
}

#[cfg(test)]
mod tests {
    use super::Issued;

    /// Found by the `dialect_render` fuzz target: the Twilio v1 token body computes this.
    #[test]
    fn access_token_expiry_saturates_instead_of_overflowing() {
        let issued = Issued {
            access_token: String::new(),
            expires_in: i64::MAX,
            issued_at: 10,
            scope: String::new(),
            refresh_token: None,
            refresh_token_expires_at: None,
            id_token: None,
            dpop_bound: false,
        };
        assert_eq!(issued.access_token_expires_at(), i64::MAX);
        let normal = Issued {
            expires_in: 3600,
            issued_at: 1_700_000_000,
            ..issued
        };
        assert_eq!(normal.access_token_expires_at(), 1_700_003_600);
    }
}
