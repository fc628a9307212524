//! The store behaviour suite: every test runs once on SQLite and once on a fresh PostgreSQL
//! database, through the `Store` trait the engine uses.
// A test binary: failing loudly is how it reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod console;
mod directory;
mod email;
mod grants;
mod passkeys;
mod refresh_props;
mod sign_in;
