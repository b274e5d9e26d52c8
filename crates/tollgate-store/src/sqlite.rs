//! The SQLite backend: one file, zero set-up.
//!
//! WAL mode lets readers run while one writer writes; `busy_timeout` makes a
//! second writer (another CI shard on the same machine, `tollgate gate`
//! reading during a run) wait instead of failing with "database is locked";
//! write transactions start `IMMEDIATE` so they take the write lock up front
//! and never fail on a read-to-write upgrade. `synchronous = NORMAL` in WAL
//! mode survives a killed process (the case that matters for CI) and may
//! lose only the last commits on power loss.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::error::StoreError;
use crate::lines::{clean_text, decode_lines, encode_lines, language_of, merge_coverage};
use crate::migrate::{pending, CREATE_VERSION_TABLE, LATEST_VERSION};
use crate::model::{Batch, IngestSummary, Verdict};
use crate::rollup::{self, Folder};
use crate::sql::{Row, Sql, Value};
use crate::upkeep::{self, MigrationStatus, PruneSummary};

/// How long a writer waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);

pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the store at `path`.
    ///
    /// Opening is serialised across processes by an exclusive lock on a
    /// sidecar file (`PATH.lock`): several CI shards creating one new store
    /// at once would otherwise race to switch it to WAL, and SQLite answers
    /// that race (two connections each holding a read lock and asking for
    /// the exclusive one) with an immediate "database is locked" that no busy
    /// timeout waits out. Once open, writers wait on each other through the
    /// busy timeout; the lock is held only while opening.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let _open_lock = OpenLock::acquire(path)?;
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        // A 64 MB page cache (the default is 2 MB): an ingest of 100,000
        // results updates four B-trees of that size at once.
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;",
        )?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store for reading only: nothing is created at a
    /// mistyped path ([`StoreError::Missing`]), nothing is migrated, and a
    /// file (or directory) without write permission is read all the same.
    pub fn open_read(path: &Path) -> Result<Self, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let usable = |conn: Connection| -> Result<Connection, rusqlite::Error> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))?;
            Ok(conn)
        };
        let conn = match Connection::open_with_flags(path, flags).and_then(usable) {
            Ok(conn) => conn,
            // A WAL database in a directory we cannot write: SQLite cannot
            // create its shared-memory file; read it as an immutable file.
            Err(_) => {
                let uri = format!("file:{}?immutable=1", uri_path(path));
                Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                    .and_then(usable)?
            }
        };
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
        };
        let version = store.schema_version().unwrap_or(0);
        if version > LATEST_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: version,
                supported: LATEST_VERSION,
            });
        }
        if version < LATEST_VERSION {
            return Err(StoreError::Invalid(format!(
                "{} is not a tollgate store at the current schema (version {version}); open it once with a writing command to migrate it",
                path.display()
            )));
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(CREATE_VERSION_TABLE)?;
        let current: u32 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )?;
        if current > LATEST_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: current,
                supported: LATEST_VERSION,
            });
        }
        for migration in pending(current) {
            tx.execute_batch(migration.sqlite)?;
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
                rusqlite::params![migration.version, crate::now_ms()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The schema version without creating or migrating anything.
    pub fn migration_status(path: &Path) -> Result<MigrationStatus, StoreError> {
        if !path.exists() {
            return Ok(upkeep::status(0));
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let has_table: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version')",
            [],
            |r| r.get(0),
        )?;
        if !has_table {
            return Ok(upkeep::status(0));
        }
        let current: u32 = conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )?;
        Ok(upkeep::status(current))
    }

    /// The database file and its write-ahead log.
    pub fn size_bytes(&mut self) -> Result<u64, StoreError> {
        let pages: i64 = self.conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let page_size: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let mut wal = self.path.as_os_str().to_owned();
        wal.push("-wal");
        let wal = std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len());
        Ok(u64::try_from(pages * page_size).unwrap_or(0) + wal)
    }

    pub fn prune(&mut self, before_ms: i64) -> Result<PruneSummary, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let attempts = tx.execute(upkeep::PRUNE_ATTEMPTS, [before_ms])?;
        let coverage_files = tx.execute(upkeep::PRUNE_COVERAGE, [before_ms])?;
        let runs = tx.execute(upkeep::PRUNE_MARK_RUNS, [before_ms])?;
        let tests = tx.execute(upkeep::PRUNE_TESTS, [])?;
        tx.commit()?;
        Ok(PruneSummary {
            runs: runs as u64,
            attempts: attempts as u64,
            coverage_files: coverage_files as u64,
            tests: tests as u64,
        })
    }

    pub fn schema_version(&mut self) -> Result<u32, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )?)
    }

    /// Writes a batch in one transaction.
    pub fn ingest(&mut self, batch: &Batch<'_>) -> Result<IngestSummary, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let run = batch.run;
        let variables = serde_json::to_string(&run.variables)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let run_id: i64 = tx.query_row(
            "INSERT INTO runs (run_key, commit_sha, branch, pipeline, variables, runner, started_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (run_key) DO UPDATE SET \
               commit_sha = CASE WHEN excluded.commit_sha <> '' THEN excluded.commit_sha ELSE runs.commit_sha END, \
               branch = CASE WHEN excluded.branch <> '' THEN excluded.branch ELSE runs.branch END, \
               pipeline = CASE WHEN excluded.pipeline <> '' THEN excluded.pipeline ELSE runs.pipeline END, \
               variables = CASE WHEN excluded.variables <> '{}' THEN excluded.variables ELSE runs.variables END, \
               runner = CASE WHEN excluded.runner <> '' THEN excluded.runner ELSE runs.runner END, \
               started_at = MIN(runs.started_at, excluded.started_at) \
             RETURNING id",
            rusqlite::params![run.run_key, run.commit, run.branch, run.pipeline, variables, run.runner, run.started_at_ms],
            |r| r.get(0),
        )?;
        let job = batch.job;
        let job_id: i64 = tx.query_row(
            crate::UPSERT_JOB,
            rusqlite::params![
                run_id,
                job.name,
                job.status,
                job.wall_ms,
                job.cpu_ms,
                job.peak_rss_kb
            ],
            |r| r.get(0),
        )?;

        let attempts = crate::dedupe_attempts(batch.tests);
        // A job new to the store is rolled up from the batch alone; one
        // with stored attempts from what the store holds after this batch.
        let job_had_attempts: bool = !attempts.is_empty()
            && tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM test_attempts WHERE run_id = ?1 AND job_id = ?2)",
                rusqlite::params![run_id, job_id],
                |r| r.get(0),
            )?;
        let mut written: Vec<(i64, u32, &str, f64)> = Vec::with_capacity(attempts.len());
        {
            // The write lock is held (an IMMEDIATE transaction): a name not
            // found is inserted by this writer alone.
            let mut select_id = tx.prepare_cached("SELECT id FROM tests WHERE name = ?1")?;
            let mut insert_name =
                tx.prepare_cached("INSERT INTO tests (name) VALUES (?1) RETURNING id")?;
            let mut insert_attempt = tx.prepare_cached(
                "INSERT INTO test_attempts (run_id, job_id, test_id, attempt, outcome, duration_s, message) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (run_id, job_id, test_id, attempt) DO UPDATE SET \
                   outcome = excluded.outcome, duration_s = excluded.duration_s, message = excluded.message",
            )?;
            let mut ids: HashMap<&str, i64> = HashMap::new();
            for result in &attempts {
                let test_id = match ids.get(result.id.as_str()) {
                    Some(&id) => id,
                    None => {
                        let id: i64 =
                            match select_id.query_row([&result.id], |r| r.get(0)).optional()? {
                                Some(id) => id,
                                None => insert_name.query_row([&result.id], |r| r.get(0))?,
                            };
                        ids.insert(&result.id, id);
                        id
                    }
                };
                insert_attempt.execute(rusqlite::params![
                    run_id,
                    job_id,
                    test_id,
                    result.attempt,
                    result.outcome.as_str(),
                    result.duration,
                    result.message.as_deref().map(clean_text),
                ])?;
                written.push((
                    test_id,
                    result.attempt,
                    result.outcome.as_str(),
                    result.duration,
                ));
            }
        }

        tx.execute(crate::RECOUNT_JOB, rusqlite::params![job_id, run_id])?;

        if !attempts.is_empty() {
            let folded = if job_had_attempts {
                let mut stmt = tx.prepare_cached(rollup::STORED_ATTEMPTS)?;
                let mut rows = stmt.query(rusqlite::params![run_id, job_id])?;
                let mut folder = Folder::with_capacity(attempts.len());
                while let Some(r) = rows.next()? {
                    let outcome = match r.get_ref(2)? {
                        ValueRef::Text(t) => std::str::from_utf8(t).unwrap_or_default(),
                        _ => "",
                    };
                    folder.push(r.get(0)?, r.get(1)?, outcome, r.get(3)?);
                }
                folder.finish()
            } else {
                written.sort_by_key(|w| (w.0, w.1));
                let mut folder = Folder::with_capacity(written.len());
                for &(test, attempt, outcome, seconds) in &written {
                    folder.push(test, i64::from(attempt), outcome, seconds);
                }
                folder.finish()
            };
            tx.prepare_cached(rollup::UPSERT)?
                .execute(rusqlite::params![
                    job_id,
                    run_id,
                    folded.len() as i64,
                    rollup::encode(&folded),
                ])?;
        }

        {
            let mut existing = tx.prepare_cached(
                "SELECT covered_lines, uncovered_lines FROM coverage_files WHERE run_id = ?1 AND path = ?2",
            )?;
            let mut upsert = tx.prepare_cached(crate::UPSERT_COVERAGE)?;
            for entry in batch.coverage {
                let file = &entry.file;
                let stored: Option<(String, String)> = existing
                    .query_row(rusqlite::params![run_id, file.path], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?;
                let stored = stored.and_then(|(c, u)| Some((decode_lines(&c)?, decode_lines(&u)?)));
                let (covered, uncovered) =
                    merge_coverage(stored, &file.covered_lines, &file.uncovered_lines);
                upsert.execute(rusqlite::params![
                    run_id,
                    clean_text(&file.path),
                    language_of(&file.path),
                    entry.component.as_deref().unwrap_or_default(),
                    (covered.len() + uncovered.len()) as i64,
                    covered.len() as i64,
                    encode_lines(&covered),
                    encode_lines(&uncovered),
                ])?;
            }
        }

        {
            // Re-ingesting a benchmark into the same job of the same run
            // replaces its samples (see `Store::ingest`).
            let mut delete = tx.prepare_cached(crate::DELETE_BENCH_SERIES)?;
            for (name, metric) in crate::bench_series(batch.bench) {
                delete.execute(rusqlite::params![run_id, job_id, name, metric])?;
            }
            let mut insert = tx.prepare_cached(
                "INSERT INTO bench_samples (run_id, job_id, name, metric, value, unit) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for sample in batch.bench {
                insert.execute(rusqlite::params![
                    run_id,
                    job_id,
                    sample.name,
                    sample.metric,
                    sample.value,
                    sample.unit
                ])?;
            }
        }
        tx.commit()?;
        Ok(IngestSummary {
            run_id,
            attempts: attempts.len() as u64,
            coverage_files: batch.coverage.len() as u64,
            bench_samples: batch.bench.len() as u64,
        })
    }

    pub fn finish_run(
        &mut self,
        run_key: &str,
        finished_at_ms: i64,
        complete: bool,
    ) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE runs SET finished_at = ?2, complete = ?3 WHERE run_key = ?1",
            rusqlite::params![run_key, finished_at_ms, complete],
        )?;
        if changed == 0 {
            return Err(StoreError::UnknownRun(run_key.to_string()));
        }
        Ok(())
    }

    pub fn record_verdicts(
        &mut self,
        run_key: &str,
        verdicts: &[Verdict],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let run_id: i64 = tx
            .query_row("SELECT id FROM runs WHERE run_key = ?1", [run_key], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| StoreError::UnknownRun(run_key.to_string()))?;
        {
            let mut insert = tx.prepare_cached(crate::INSERT_VERDICT)?;
            for v in verdicts {
                insert.execute(rusqlite::params![
                    run_id,
                    v.check,
                    v.status,
                    v.measured,
                    v.threshold,
                    v.detail,
                    at_ms
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// The exclusive lock on `PATH.lock` held while a store is opened and
/// migrated; released when dropped (and by the OS if the process dies).
struct OpenLock(std::fs::File);

impl OpenLock {
    fn acquire(db: &Path) -> Result<Self, StoreError> {
        let mut name = db.as_os_str().to_owned();
        name.push(".lock");
        let lock_path = PathBuf::from(name);
        let lock_err = |cause| StoreError::Lock {
            path: lock_path.display().to_string(),
            cause,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(lock_err)?;
        file.lock().map_err(lock_err)?;
        Ok(OpenLock(file))
    }
}

impl Drop for OpenLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

impl Sql for SqliteStore {
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                });
            }
            out.push(values);
        }
        Ok(out)
    }
}

/// `path` percent-encoded for a `file:` URI.
fn uri_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
