//! The inventory learned from real pytest runs (schema version 5): what
//! pytest collected from each test file, keyed by a hash of the file's
//! content, its conftest chain and the ini file. The store keeps the items
//! as opaque JSON text; what they mean is the discovery layer's business.
//! Written once in the shared SQL dialect.

use crate::error::StoreError;
use crate::sql::{Sql, Value};

/// The schema version that added `learned_files`.
pub(crate) const SINCE_VERSION: u32 = 5;

/// One test file as pytest collected it.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnedRow {
    /// The file, relative to pytest's rootdir, `/`-separated.
    pub path: String,
    /// Hash of the path, the file, its conftest chain and the ini file.
    pub key_hash: String,
    /// The learn id or run key that recorded it.
    pub source: String,
    pub recorded_at_ms: i64,
    /// The items (node ids and marks) as JSON.
    pub items: String,
}

/// Rows per statement: 5 parameters each stays far below either backend's limit.
const CHUNK: usize = 200;

/// Upserts the rows, a chunk per statement. Each row is complete in itself,
/// so a write cut short leaves only whole, valid rows.
pub(crate) fn record(sql: &mut dyn Sql, rows: &[LearnedRow]) -> Result<(), StoreError> {
    for chunk in rows.chunks(CHUNK) {
        let mut text = String::from(
            "INSERT INTO learned_files (path, key_hash, source, recorded_at, items) VALUES ",
        );
        let mut params: Vec<Value> = Vec::with_capacity(chunk.len() * 5);
        for (i, row) in chunk.iter().enumerate() {
            let n = i * 5;
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(&format!(
                "(?{}, ?{}, ?{}, ?{}, ?{})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5
            ));
            params.extend([
                row.path.as_str().into(),
                row.key_hash.as_str().into(),
                row.source.as_str().into(),
                row.recorded_at_ms.into(),
                row.items.as_str().into(),
            ]);
        }
        text.push_str(
            " ON CONFLICT (path, key_hash) DO UPDATE SET source = excluded.source, \
             recorded_at = excluded.recorded_at, items = excluded.items",
        );
        sql.query(&text, &params)?;
    }
    Ok(())
}

/// The rows whose key is among `keys`, in path order.
pub(crate) fn by_keys(sql: &mut dyn Sql, keys: &[&str]) -> Result<Vec<LearnedRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(CHUNK * 5) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
        let params: Vec<Value> = chunk.iter().map(|k| (*k).into()).collect();
        let rows = sql.query(
            &format!(
                "SELECT path, key_hash, source, recorded_at, items FROM learned_files \
                 WHERE key_hash IN ({})",
                placeholders.join(", ")
            ),
            &params,
        )?;
        out.extend(rows.iter().map(|row| {
            let text = |i: usize| row.get(i).map(Value::text).unwrap_or_default();
            LearnedRow {
                path: text(0),
                key_hash: text(1),
                source: text(2),
                recorded_at_ms: row.get(3).map(Value::int).unwrap_or(0),
                items: text(4),
            }
        }));
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
