//! Twilio-style SIDs: two capital letters and 32 lowercase hex digits.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::clock::{Rng, RngError, random_bytes};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind} (expected {prefix} followed by 32 hex digits)")]
pub struct InvalidSid {
    pub kind: &'static str,
    pub prefix: &'static str,
    pub value: String,
}

fn valid(prefix: &str, s: &str) -> bool {
    s.len() == 34
        && s.starts_with(prefix)
        && s.as_bytes()[2..].iter().all(|b| b.is_ascii_hexdigit())
}

macro_rules! sid {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// Accepts upper- or lowercase hex and normalises to lowercase.
            pub fn parse(s: &str) -> Result<Self, InvalidSid> {
                if valid($prefix, s) {
                    Ok(Self(format!("{}{}", $prefix, s[2..].to_ascii_lowercase())))
                } else {
                    Err(InvalidSid { kind: $kind, prefix: $prefix, value: s.chars().take(64).collect() })
                }
            }

            pub fn generate(rng: &dyn Rng) -> Result<Self, RngError> {
                let bytes: [u8; 16] = random_bytes(rng)?;
                let mut s = String::with_capacity(34);
                s.push_str($prefix);
                for b in bytes {
                    s.push_str(&format!("{b:02x}"));
                }
                Ok(Self(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidSid;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

sid!(/// An organization groups accounts.
    OrganizationSid, "OR", "organization SID");
sid!(/// An account owns OAuth apps and users; authenticates with its AuthToken.
    AccountSid, "AC", "account SID");
sid!(/// An end user who logs in to the pages.
    UserSid, "US", "user SID");
sid!(/// An OAuth app; its SID is the `client_id`.
    ClientId, "OQ", "client id");
sid!(/// An API resource (an audience) registered to one account.
    ResourceSid, "RS", "resource SID");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemRng;
    use proptest::prelude::*;

    #[test]
    fn generated_sids_parse_back() {
        let rng = SystemRng::default();
        let id = ClientId::generate(&rng).unwrap();
        assert_eq!(ClientId::parse(id.as_str()), Ok(id.clone()));
        assert!(id.as_str().starts_with("OQ"));
        assert_eq!(id.as_str().len(), 34);
    }

    #[test]
    fn wrong_prefix_and_length_are_refused() {
        assert!(AccountSid::parse("OQ0123456789abcdef0123456789abcdef").is_err());
        assert!(AccountSid::parse("AC0123456789abcdef0123456789abcde").is_err());
        assert!(AccountSid::parse("AC0123456789abcdef0123456789abcdeg").is_err());
        assert_eq!(
            AccountSid::parse("AC0123456789ABCDEF0123456789ABCDEF").map(|a| a.to_string()),
            Ok("AC0123456789abcdef0123456789abcdef".to_string())
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,80}") {
            let _ = ClientId::parse(&s);
        }
    }
}
