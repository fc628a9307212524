//! RFC 7662 introspection for the validator: opaque tokens, and JWTs when revocation must be
//! seen at once.

use serde_json::Value;

use crate::error::ValidationError;
use crate::validator::Claims;

/// Where and as whom the validator asks.
pub(crate) struct Introspection {
    pub endpoint: String,
    pub client_id: String,
    pub secret: String,
}

impl Introspection {
    /// The token's claims if the issuer says it is active, for this issuer and audience.
    pub async fn ask(
        &self,
        http: &reqwest::Client,
        token: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<Claims, ValidationError> {
        let unavailable = |e: reqwest::Error| ValidationError::Unavailable(e.to_string());
        let resp = http
            .post(&self.endpoint)
            .basic_auth(&self.client_id, Some(&self.secret))
            .form(&[("token", token)])
            .send()
            .await
            .map_err(unavailable)?;
        // A redirect lands here too: it is not followed (it would resend the credentials).
        if !resp.status().is_success() {
            return Err(ValidationError::Unavailable(format!(
                "introspection answered {}",
                resp.status()
            )));
        }
        let body: Value = resp.json().await.map_err(unavailable)?;
        accept(body, issuer, audience)
    }
}

/// An answer counts only when active and naming this issuer and audience: `iss` and `aud` are
/// optional in RFC 7662, but without them an answer about some other issuer's or API's token
/// would pass as ours.
pub(crate) fn accept(body: Value, issuer: &str, audience: &str) -> Result<Claims, ValidationError> {
    let invalid = |m: &str| ValidationError::InvalidToken(m.to_owned());
    if body["active"] != Value::Bool(true) {
        return Err(invalid("the token is not active (expired or revoked)"));
    }
    match body["iss"].as_str() {
        Some(iss) if iss == issuer => {}
        Some(_) => return Err(invalid("the token is from another issuer")),
        None => return Err(invalid("the introspection answer names no issuer")),
    }
    let aud_ok = match &body["aud"] {
        Value::String(a) => a == audience,
        Value::Array(list) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => return Err(invalid("the introspection answer names no audience")),
    };
    if !aud_ok {
        return Err(invalid("the token is for another audience"));
    }
    serde_json::from_value(body).map_err(|_| invalid("unexpected introspection answer"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::accept;

    const ISS: &str = "https://auth.example";
    const AUD: &str = "https://api.example";

    fn answer(extra: serde_json::Value) -> serde_json::Value {
        let mut body = json!({"active": true, "sub": "OQ1", "exp": 4_000_000_000_i64});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    }

    #[test]
    fn iss_and_aud_are_required_and_must_match() {
        assert!(accept(answer(json!({})), ISS, AUD).is_err());
        assert!(accept(answer(json!({"iss": ISS})), ISS, AUD).is_err());
        assert!(accept(answer(json!({"aud": AUD})), ISS, AUD).is_err());
        assert!(accept(answer(json!({"iss": "https://x", "aud": AUD})), ISS, AUD).is_err());
        assert!(accept(answer(json!({"iss": ISS, "aud": "https://x"})), ISS, AUD).is_err());
        assert!(accept(answer(json!({"iss": ISS, "aud": ["https://x"]})), ISS, AUD).is_err());
        assert!(accept(answer(json!({"iss": ISS, "aud": AUD})), ISS, AUD).is_ok());
        assert!(
            accept(
                answer(json!({"iss": ISS, "aud": ["https://x", AUD]})),
                ISS,
                AUD
            )
            .is_ok()
        );
        let inactive = json!({"active": false, "iss": ISS, "aud": AUD, "sub": "s", "exp": 1});
        assert!(accept(inactive, ISS, AUD).is_err());
    }
}
