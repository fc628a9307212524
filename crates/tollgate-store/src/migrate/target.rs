//! Writing into PostgreSQL: the empty-target check, the copy inside one transaction, the
//! identity sequences moved past the copied rows, and the read-back checksums.

use std::collections::HashMap;

use sqlx::postgres::PgConnection;
use sqlx::{PgPool, Row};
use tollgate_core::store::{StoreError, StoreResult};

use super::Checksum;
use super::source::{Table, quote};

fn err(e: sqlx::Error) -> StoreError {
    crate::sql::backend_err(e)
}

/// Refuses a target that holds anything but an empty Tollgate schema.
pub(crate) async fn ensure_empty(pool: &PgPool) -> StoreResult<()> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    .fetch_all(pool)
    .await
    .map_err(err)?;
    if tables.is_empty() {
        return Ok(());
    }
    if !tables.iter().any(|t| t == "_sqlx_migrations") {
        return Err(StoreError::Conflict(
            "the target database holds other tables: migrate into an empty database".into(),
        ));
    }
    for t in tables.iter().filter(|t| *t != "_sqlx_migrations") {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quote(t));
        let any: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .map_err(err)?;
        if any {
            return Err(StoreError::Conflict(format!(
                "the target database is not empty ({t} has rows): migrate into an empty database"
            )));
        }
    }
    Ok(())
}

/// Each table's columns and their PostgreSQL types (`udt_name`, e.g. `int8`).
pub(crate) async fn column_types(
    conn: &mut PgConnection,
) -> StoreResult<HashMap<String, HashMap<String, String>>> {
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, udt_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema()",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    for r in rows {
        let (t, c, ty): (String, String, String) = (
            r.try_get(0).map_err(err)?,
            r.try_get(1).map_err(err)?,
            r.try_get(2).map_err(err)?,
        );
        out.entry(t).or_default().insert(c, ty);
    }
    Ok(out)
}

/// Inserts a table's rows, many to a statement, each value cast from text to its column's type.
pub(crate) async fn copy_table(
    conn: &mut PgConnection,
    table: &Table,
    types: &HashMap<String, String>,
) -> StoreResult<()> {
    let mut casts = Vec::with_capacity(table.columns.len());
    for c in &table.columns {
        let ty = types.get(c).ok_or_else(|| {
            StoreError::Backend(format!(
                "the target has no column {}.{c}: both must run the same Tollgate version",
                table.name
            ))
        })?;
        casts.push(quote(ty));
    }
    let columns: Vec<String> = table.columns.iter().map(|c| quote(c)).collect();
    let head = format!(
        "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES ",
        quote(&table.name),
        columns.join(", ")
    );
    let per_statement = (20_000 / table.columns.len().max(1)).max(1);
    for chunk in table.rows.chunks(per_statement) {
        let mut sql = head.clone();
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for (j, ty) in casts.iter().enumerate() {
                if j > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                sql.push_str(&format!("CAST(${n}::text AS {ty})"));
            }
            sql.push(')');
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            for v in row {
                q = q.bind(v.clone());
            }
        }
        q.execute(&mut *conn).await.map_err(err)?;
    }
    Ok(())
}

/// Moves every identity or serial sequence past the largest copied value, so the next change
/// logged on PostgreSQL follows the copied change log.
pub(crate) async fn advance_sequences(conn: &mut PgConnection) -> StoreResult<()> {
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() \
         AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    for r in rows {
        let (t, c): (String, String) = (r.try_get(0).map_err(err)?, r.try_get(1).map_err(err)?);
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), m) FROM \
             (SELECT MAX({}) AS m FROM {}) AS x WHERE m IS NOT NULL",
            quote(&c),
            quote(&t)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(quote(&t))
            .bind(&c)
            .execute(&mut *conn)
            .await
            .map_err(err)?;
    }
    Ok(())
}

/// Reads a copied table back as text and checksums it the way the source was.
pub(crate) async fn checksum(conn: &mut PgConnection, table: &Table) -> StoreResult<Checksum> {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("CAST({} AS text)", quote(c)))
        .collect();
    let sql = format!("SELECT {} FROM {}", columns.join(", "), quote(&table.name));
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .map_err(err)?;
    let mut sum = Checksum::default();
    for r in rows {
        let mut record = Vec::with_capacity(table.columns.len());
        for i in 0..table.columns.len() {
            record.push(r.try_get::<Option<String>, _>(i).map_err(err)?);
        }
        sum.add(&record);
    }
    Ok(sum)
}
