//! A person's passkey (WebAuthn credential) as the store keeps it.

use std::fmt;

use crate::ids::UserSid;

/// One registered passkey. `passkey` is the credential as `webauthn-rs` serialises it (public
/// key, counter, backup flags); the columns beside it are what lists and look-ups need.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// The credential id, base64url without padding; unique across the server.
    pub credential_id: String,
    pub user_sid: UserSid,
    /// The WebAuthn user handle (a UUID) the authenticator keeps with a discoverable
    /// credential; the same for every passkey of one user.
    pub user_handle: String,
    /// The person's name for it.
    pub name: String,
    pub passkey: String,
    /// The authenticator says the key may be synced (backed up) to other devices.
    pub backup_eligible: bool,
    /// The key is backed up now.
    pub backup_state: bool,
    pub sign_count: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl fmt::Debug for StoredPasskey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredPasskey")
            .field("credential_id", &self.credential_id)
            .field("user_sid", &self.user_sid)
            .field("name", &self.name)
            .field("backup_eligible", &self.backup_eligible)
            .field("sign_count", &self.sign_count)
            .finish_non_exhaustive()
    }
}
