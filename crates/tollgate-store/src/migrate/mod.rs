//! `tollgate migrate`: everything in an SQLite database copied into an empty PostgreSQL
//! database (DESIGN section 13). The source is read in one snapshot; the target is written in
//! one transaction that commits only after every table's row count and checksum read back
//! from PostgreSQL match the source's. Sealed signing keys and client secrets are copied as
//! they are: the PostgreSQL nodes need the same key-encryption key.

mod source;
mod target;

use aws_lc_rs::digest::{SHA256, digest};
use sqlx::PgConnection;
use sqlx::postgres::PgPoolOptions;
use tollgate_core::store::{StoreError, StoreResult};

/// A table's row count and an order-independent checksum of its rows: the sum of each row's
/// SHA-256 (its first 128 bits), so the two databases need not agree on an order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checksum {
    pub rows: u64,
    sum: u128,
}

impl Checksum {
    fn add(&mut self, record: &[Option<String>]) {
        let mut bytes = Vec::new();
        for v in record {
            match v {
                None => bytes.push(0u8),
                Some(s) => {
                    bytes.push(1u8);
                    bytes.extend_from_slice(&(s.len() as u64).to_be_bytes());
                    bytes.extend_from_slice(s.as_bytes());
                }
            }
        }
        let hash = digest(&SHA256, &bytes);
        let mut first = [0u8; 16];
        first.copy_from_slice(&hash.as_ref()[..16]);
        self.rows += 1;
        self.sum = self.sum.wrapping_add(u128::from_be_bytes(first));
    }

    pub fn hex(&self) -> String {
        format!("{:032x}", self.sum)
    }
}

/// What was copied, verified.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Migrated {
    pub tables: Vec<TableReport>,
    /// The change log's last sequence number, the same on both sides.
    pub change_log_position: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TableReport {
    pub table: String,
    pub rows: u64,
    pub checksum: String,
}

/// Copies the SQLite database `from` names into the empty PostgreSQL database `to` names.
pub async fn sqlite_to_postgres(from: &str, to: &str) -> StoreResult<Migrated> {
    let path = source_path(from, to)?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(to)
        .await
        .map_err(crate::sql::backend_err)?;
    target::ensure_empty(&pool).await?;
    // The source at this version's schema (what a server start would do), then one snapshot.
    crate::connect::migrate_sqlite(from).await?;
    let tables = tokio::task::spawn_blocking(move || source::read_all(&path))
        .await
        .map_err(|e| StoreError::Backend(format!("reading the source stopped: {e}")))??;
    crate::connect::POSTGRES_MIGRATIONS
        .run(&pool)
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?;

    let mut tx = pool.begin().await.map_err(crate::sql::backend_err)?;
    copy_tables(&mut tx, &tables).await?;
    target::advance_sequences(&mut tx).await?;
    let reports = verify_checksums(&mut tx, &tables).await?;
    let change_log_position = verify_change_log(&mut tx, &tables).await?;
    tx.commit().await.map_err(crate::sql::backend_err)?;
    Ok(Migrated {
        tables: reports,
        change_log_position,
    })
}

/// The SQLite file `from` names, once both URLs are of the right kind and the file exists.
fn source_path(from: &str, to: &str) -> StoreResult<std::path::PathBuf> {
    let path = crate::backup::sqlite_path(from).ok_or_else(|| {
        StoreError::Backend("--from must name an SQLite file (sqlite://PATH)".into())
    })?;
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return Err(StoreError::Backend(
            "--to must be a PostgreSQL URL (postgres://…)".into(),
        ));
    }
    if !path.exists() {
        return Err(StoreError::Backend(format!(
            "no SQLite database at {}",
            path.display()
        )));
    }
    Ok(path)
}

/// Writes every source table into its target table, in the source's insertion order.
async fn copy_tables(tx: &mut PgConnection, tables: &[source::Table]) -> StoreResult<()> {
    let types = target::column_types(tx).await?;
    for table in tables {
        let columns = types.get(&table.name).ok_or_else(|| {
            StoreError::Backend(format!(
                "the target has no table {}: both must run the same Tollgate version",
                table.name
            ))
        })?;
        target::copy_table(tx, table, columns).await?;
    }
    Ok(())
}

/// Each table's row count and checksum read back from the target, which must match the source's.
async fn verify_checksums(
    tx: &mut PgConnection,
    tables: &[source::Table],
) -> StoreResult<Vec<TableReport>> {
    let mut reports = Vec::with_capacity(tables.len());
    for table in tables {
        let copied = target::checksum(tx, table).await?;
        if copied != table.checksum {
            return Err(StoreError::Corrupt(format!(
                "{}: {} rows (checksum {}) in the source, {} rows (checksum {}) read back; \
                 nothing was committed",
                table.name,
                table.checksum.rows,
                table.checksum.hex(),
                copied.rows,
                copied.hex()
            )));
        }
        reports.push(TableReport {
            table: table.name.clone(),
            rows: copied.rows,
            checksum: copied.hex(),
        });
    }
    Ok(reports)
}

/// The change log's last sequence number, which must be the same in the source and the target.
async fn verify_change_log(tx: &mut PgConnection, tables: &[source::Table]) -> StoreResult<i64> {
    let source_position = tables
        .iter()
        .find(|t| t.name == "changes")
        .and_then(|t| {
            let seq = t.columns.iter().position(|c| c == "seq")?;
            t.rows
                .iter()
                .filter_map(|r| r.get(seq)?.as_deref()?.parse::<i64>().ok())
                .max()
        })
        .unwrap_or(0);
    let target_position: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
        .fetch_one(&mut *tx)
        .await
        .map_err(crate::sql::backend_err)?;
    if target_position != source_position {
        return Err(StoreError::Corrupt(format!(
            "the change log ends at {source_position} in the source, {target_position} in the \
             target; nothing was committed"
        )));
    }
    Ok(target_position)
}
