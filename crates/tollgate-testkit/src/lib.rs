//! What every test suite of the workspace shares: `on_both_backends!` and the fresh database
//! behind it, the store fixtures and the shared test values. Only dev-dependencies use this
//! crate; a fixture that cannot be built fails the test that asked for it, hence the panics.
#![allow(clippy::expect_used, clippy::panic)]

pub mod apps;
pub mod fixtures;

pub use apps::{PASSWORD, REDIRECT, VERIFIER, bootstrap_app, password_user};

use sqlx::Connection;
use tempfile::TempDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for each `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::Backend::Postgres).await } )*
        }
    };
}

fn postgres_admin_url() -> String {
    std::env::var("TOLLGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database no other test uses. `None` when PostgreSQL is unreachable outside CI (CI fails
/// instead, so the PostgreSQL half of the suite can never silently vanish there).
pub async fn fresh_database(backend: Backend, dir: &TempDir) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!("sqlite://{}", dir.path().join("test.db").display())),
        Backend::Postgres => {
            let admin = postgres_admin_url();
            let mut conn = match sqlx::PgConnection::connect(&admin).await {
                Ok(c) => c,
                Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                    eprintln!("skipping PostgreSQL test: {admin} unreachable ({e})");
                    return None;
                }
                Err(e) => panic!("PostgreSQL at {admin} is required in CI: {e}"),
            };
            let name = format!("tollgate_test_{}", random_hex());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let mut url = url::Url::parse(&admin).expect("postgres url");
            url.set_path(&name);
            Some(url.to_string())
        }
    }
}

/// Sixteen random hex digits, for names no other test picks.
fn random_hex() -> String {
    let rng = tollgate_core::SystemRng::default();
    let b: [u8; 8] = tollgate_core::clock::random_bytes(&rng).expect("rng");
    b.iter().map(|x| format!("{x:02x}")).collect()
}
