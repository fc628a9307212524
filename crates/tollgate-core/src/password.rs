//! Argon2id password hashing for human-chosen passwords. Callers run these off the async
//! runtime (`spawn_blocking`): a verification takes tens of milliseconds by design.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// `salt` comes from the injected generator, so a failing generator refuses instead of hashing.
pub fn hash(password: &str, salt: &[u8; 16]) -> Option<String> {
    let salt = SaltString::encode_b64(salt).ok()?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .ok()
        .map(|h| h.to_string())
}

/// [`hash`] on a blocking thread, so the async runtime keeps serving meanwhile.
pub async fn hash_off_runtime(password: String, salt: [u8; 16]) -> Option<String> {
    tokio::task::spawn_blocking(move || hash(&password, &salt))
        .await
        .ok()
        .flatten()
}

pub fn verify(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Verified when no user matches, so a wrong email costs as much time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    // Its salt guards nothing: the hash only spends the time a real verification would.
    DUMMY.get_or_init(|| hash("tollgate-no-such-user", &[0x5a; 16]).unwrap_or_default())
}

pub fn check_policy(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if !(8..=256).contains(&n) {
        return Err("a password must be 8 to 256 characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let h = hash("correct horse", &[7; 16]).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&h, "correct horse"));
        assert!(!verify(&h, "wrong horse"));
        assert!(!verify("not a hash", "x"));
    }
}
