//! Reading an SQLite database whole, in one read transaction (one consistent snapshot even
//! while a server writes), tables ordered so that every table comes after those its foreign
//! keys name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use tollgate_core::store::{StoreError, StoreResult};

use super::Checksum;

/// One table's rows, every value in its canonical text form (`None` for NULL).
pub(crate) struct Table {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    pub checksum: Checksum,
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("reading the SQLite database: {e}"))
}

pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Integers as decimal text, text as itself: the form PostgreSQL's `CAST(… AS text)` gives
/// the same values, so both sides checksum alike.
fn canonical(v: ValueRef<'_>) -> StoreResult<Option<String>> {
    Ok(match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) => Some(
            String::from_utf8(t.to_vec())
                .map_err(|_| StoreError::Corrupt("a text value is not UTF-8".into()))?,
        ),
        ValueRef::Blob(_) => {
            return Err(StoreError::Backend(
                "a binary value: this version has none to copy".into(),
            ));
        }
    })
}

fn names(conn: &Connection, sql: &str, column: usize) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare(sql).map_err(err)?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(column))
        .map_err(err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(err)
}

/// Tables in an order that inserts parents before children.
fn insertion_order(conn: &Connection, tables: Vec<String>) -> StoreResult<Vec<String>> {
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in &tables {
        let sql = format!("PRAGMA foreign_key_list({})", quote(t));
        let named: BTreeSet<String> = names(conn, &sql, 2)?
            .into_iter()
            .filter(|p| p != t && tables.contains(p))
            .collect();
        parents.insert(t.clone(), named);
    }
    let mut ordered: Vec<String> = Vec::with_capacity(tables.len());
    while ordered.len() < tables.len() {
        let ready: Vec<String> = tables
            .iter()
            .filter(|t| !ordered.contains(t))
            .filter(|t| {
                parents
                    .get(*t)
                    .is_none_or(|p| p.iter().all(|p| ordered.contains(p)))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            return Err(StoreError::Backend(
                "the tables' foreign keys form a cycle".into(),
            ));
        }
        ordered.extend(ready);
    }
    Ok(ordered)
}

/// Every Tollgate table of the database at `path`, read in one snapshot.
pub(crate) fn read_all(path: &Path) -> StoreResult<Vec<Table>> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(err)?;
    conn.execute_batch("BEGIN").map_err(err)?;
    let tables = names(
        &conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' \
         ESCAPE '\\' AND name <> '_sqlx_migrations' ORDER BY name",
        0,
    )?;
    let mut out = Vec::with_capacity(tables.len());
    for name in insertion_order(&conn, tables)? {
        let columns = names(&conn, &format!("PRAGMA table_info({})", quote(&name)), 1)?;
        let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let sql = format!("SELECT {} FROM {}", list.join(", "), quote(&name));
        let mut stmt = conn.prepare(&sql).map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        let mut values = Vec::new();
        let mut checksum = Checksum::default();
        while let Some(row) = rows.next().map_err(err)? {
            let mut record = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                record.push(canonical(row.get_ref(i).map_err(err)?)?);
            }
            checksum.add(&record);
            values.push(record);
        }
        out.push(Table {
            name,
            columns,
            rows: values,
            checksum,
        });
    }
    conn.execute_batch("COMMIT").map_err(err)?;
    Ok(out)
}
