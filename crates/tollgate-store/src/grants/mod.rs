//! The grant hot path: one narrow trait per grant group, implemented once per backend and
//! chosen once at connect (`connect.rs`). SQLite runs every grant read and write on one
//! group-committing rusqlite writer thread (`sqlite`); PostgreSQL reads on its own hot
//! connections and sends the writes to `tollgate_grant_batch` (`postgres`). The writes both
//! queue are the same `jobs::Job`s answered with the same `jobs::Outcome`s.

mod jobs;
mod pg_batch;
mod pg_conns;
mod postgres;
mod sqlite;
mod sqlite_writer;
mod traits;

pub(crate) use jobs::Redeem;
pub(crate) use postgres::PgGrants;
pub(crate) use sqlite::SqliteGrants;
pub(crate) use sqlite_writer::sqlite_err;
pub(crate) use traits::Grants;
