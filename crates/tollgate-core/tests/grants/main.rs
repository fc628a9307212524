//! Each grant driven through the engine directly, with no HTTP: one file per grant, on SQLite
//! and PostgreSQL, with a clock only the test moves.
// A test binary: failing loudly is how it reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod authorization_code;
mod client_credentials;
mod device_code;
mod harness;
mod policy;
mod refresh_token;
