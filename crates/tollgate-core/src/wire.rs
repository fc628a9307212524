//! Enums that travel as fixed strings (RFC parameter values, stored states): each names its
//! wire strings once, in one table.

/// Writes `as_str`, `parse` (`None` for a name it does not know) and `Display` from one table
/// of `Variant => "name"`; with `unknown: |s| message`, `FromStr` too, failing with that
/// message.
macro_rules! wire_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }

            /// The value a wire name stands for.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($name => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? } unknown: |$s:ident| $err:expr) => {
        wire_names!($ty { $($variant => $name),+ });

        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str($s: &str) -> Result<Self, String> {
                Self::parse($s).ok_or_else(|| $err)
            }
        }
    };
}

/// At most 50 characters of what was given, for an error message.
pub(crate) fn shown(s: &str) -> String {
    s.chars().take(50).collect()
}
