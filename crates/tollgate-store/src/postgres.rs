//! The PostgreSQL backend: one store shared by every CI runner of a team.
//!
//! Uses the synchronous `postgres` client: each tollgate process writes its
//! own shard over one connection, so a pool (deadpool) would add build time
//! for nothing. Bulk rows go in as arrays (`unnest`) — one round trip per
//! chunk instead of one per row, and attempts by binary COPY. Concurrent
//! shards of one run serialise on the run row, which every ingest upserts
//! first; new test names are inserted under an advisory lock taken after it
//! (see `intern_tests`), so two transactions never wait on each other in a
//! cycle.
//! Migrations hold a transaction-scoped advisory lock so that eight runners
//! opening a fresh database at once apply them exactly once.

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client, NoTls};

use crate::error::StoreError;
use crate::lines::{clean_text, decode_lines, encode_lines, language_of, merge_coverage};
use crate::migrate::{pending, CREATE_VERSION_TABLE, LATEST_VERSION};
use crate::model::{Batch, IngestSummary, Verdict};
use crate::rollup::{self, Folder};
use crate::sql::{to_postgres, Row, Sql, Value};
use crate::upkeep::{self, MigrationStatus, PruneSummary};
use tollgate_results::TestResult;

/// How long connecting (and migrating) may take without `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// `statement_timeout` (ms) set unless the URL's `options` set one.
pub const DEFAULT_STATEMENT_TIMEOUT_MS: u64 = 300_000;

/// The URL parsed, with tollgate's defaults for what it leaves unset: a
/// malformed URL (a bad port, say) is [`StoreError::BadLocation`].
pub fn connection_config(url: &str) -> Result<postgres::Config, StoreError> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e: postgres::Error| StoreError::BadLocation(format!("{e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    let options = config.get_options().unwrap_or_default().to_string();
    if !options.contains("statement_timeout") {
        let joined = format!("{options} -c statement_timeout={DEFAULT_STATEMENT_TIMEOUT_MS}");
        config.options(joined.trim());
    }
    config.keepalives(true);
    config.keepalives_idle(std::time::Duration::from_secs(30));
    Ok(config)
}

/// The client-side deadline of one store operation (opening the store, an
/// ingest, a report's queries): the server's own `statement_timeout` is no
/// help against a server (or a proxy, or a fake) that accepted the
/// connection, completed the start-up and then never answers. By default the
/// deadline is the connect timeout plus twice the statement timeout, both from
/// the URL (or tollgate's defaults: 10 s + 2 × 300 s); `override_secs` (from
/// [`crate::DEADLINE_ENV`]) replaces it.
pub fn operation_deadline(
    config: &postgres::Config,
    override_secs: Option<u64>,
) -> std::time::Duration {
    if let Some(secs) = override_secs.filter(|s| *s > 0) {
        return std::time::Duration::from_secs(secs);
    }
    let connect = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let statement_ms = statement_timeout_ms(config.get_options().unwrap_or_default())
        .unwrap_or(DEFAULT_STATEMENT_TIMEOUT_MS);
    connect + std::time::Duration::from_millis(statement_ms.saturating_mul(2))
}

/// `statement_timeout` from libpq `options` (`-c statement_timeout=5000`,
/// `-cstatement_timeout=5s`, `--statement-timeout=2min`), in milliseconds;
/// `None` when unset, 0 ("no limit") or not understood.
fn statement_timeout_ms(options: &str) -> Option<u64> {
    let normalized = options.replace('-', "_");
    let (_, rest) = normalized.split_once("statement_timeout=")?;
    let value = rest.split_whitespace().next()?.trim_matches('\'');
    let digits_end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let number: u64 = value[..digits_end].parse().ok()?;
    let unit_ms = match value[digits_end..].trim() {
        "" | "ms" => 1,
        "s" => 1_000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "us" => return Some(number / 1_000).filter(|ms| *ms > 0),
        _ => return None,
    };
    Some(number.saturating_mul(unit_ms)).filter(|ms| *ms > 0)
}

/// Runs `work` (which talks to the PostgreSQL server at `url`) on its own
/// thread and waits for it at most [`operation_deadline`]. On expiry the
/// thread, and the connection it holds, are abandoned: the caller gets
/// [`StoreError::Stalled`] and the server rolls back what was not committed
/// when the process ends. A URL that cannot be parsed runs `work` as is (it
/// reports the error itself).
pub(crate) fn bounded<T, E>(
    url: &str,
    what: &str,
    override_secs: Option<u64>,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let Ok(config) = connection_config(url) else {
        return work();
    };
    let deadline = operation_deadline(&config, override_secs);
    let (send, receive) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("tollgate-store".into())
        .spawn(move || {
            let _ = send.send(work());
        });
    if let Err(e) = spawned {
        return Err(StoreError::Invalid(format!("cannot start a thread: {e}")).into());
    }
    match receive.recv_timeout(deadline) {
        Ok(result) => result,
        Err(_) => Err(StoreError::Stalled {
            server: server_of(&config),
            what: what.to_string(),
            seconds: deadline.as_secs().max(1),
        }
        .into()),
    }
}

/// One connection attempt, bounded by the config's connect timeout.
fn connect_within(config: &postgres::Config) -> Result<Client, StoreError> {
    let attempt = config.clone();
    within(config, move || {
        attempt.connect(NoTls).map_err(StoreError::from)
    })
}

/// Runs `work` (talking to the server) on a thread and waits for it at most
/// the config's connect timeout. postgres' own connect timeout covers the
/// TCP connect only: a server that accepts and never answers would hang the
/// start-up exchange forever. A thread stuck on such a server is abandoned
/// (it ends with the process).
fn within<T: Send + 'static>(
    config: &postgres::Config,
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let timeout = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(work());
    });
    match receive.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(StoreError::Timeout {
            server: server_of(config),
            seconds: timeout.as_secs().max(1),
        }),
    }
}

/// `host:port` of the first host, for messages.
fn server_of(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

/// What each session sets, unless the URL's `options` set it already
/// (`options=-c random_page_cost=4` wins). Session settings only: nothing
/// here touches the server's configuration or the durability of a commit.
///
/// - `jit`: JIT compilation costs a second or more per query whose estimate
///   crosses `jit_above_cost` (stale statistics after a bulk ingest are
///   enough) and never pays off for these index-driven queries.
/// - `random_page_cost`: the window queries read the window's runs through
///   the index that leads with `run_id`, and a run's attempts lie together
///   (one COPY each). With the default 4 the planner prices those index
///   scans at several times their cost and reads the whole history instead
///   (measured: a parallel sequential scan of 10,000,000 attempts, 1.4 s,
///   for a window of 480,000; by the index 0.4 s). 1.1 is the usual value
///   for SSDs and a cached working set.
/// - `work_mem`: the duration and flaky queries hash 60,000+ tests; with the
///   default 4 MB the aggregate and the sort spill to disk.
const SESSION_SETTINGS: &[(&str, &str)] = &[
    ("jit", "off"),
    ("random_page_cost", "1.1"),
    ("work_mem", "'64MB'"),
];

/// The `SET` statements of [`SESSION_SETTINGS`] that `options` (libpq's
/// `options` from the URL) does not set itself.
fn session_settings(options: &str) -> String {
    let normalized = options.replace('-', "_");
    SESSION_SETTINGS
        .iter()
        .filter(|(name, _)| !normalized.contains(&format!("{name}=")))
        .map(|(name, value)| format!("SET {name} = {value};"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `pg_advisory_xact_lock` key under which new test names are inserted
/// ("tollgate" + 1).
const TEST_NAMES_LOCK: i64 = MIGRATION_LOCK + 1;

/// The ids of `names` (sorted, distinct), in their order, inserting the
/// names not interned yet.
///
/// Names already interned (every name after a suite's first run) cost one
/// lookup and take no lock. New ones are written under a transaction-scoped
/// advisory lock: whoever holds it sees every name written before it was
/// granted (that writer has committed), so the new names go in by binary
/// COPY, in sorted order, with ids reserved from the sequence up front — no
/// speculative insertion, no read-back. A name committed by another writer
/// between the lookup and the lock has a higher id than any seen before the
/// lookup; only then are the missing names looked up again. The lock comes
/// after the run row, which every ingest locks first, and nothing waits on
/// another row while holding it, so no cycle of waits can form; writers of
/// new names take turns.
fn intern_tests(
    tx: &mut postgres::Transaction<'_>,
    names: &[String],
) -> Result<Vec<i64>, StoreError> {
    /// Fills `ids[p]` for the names at `positions` that are interned.
    fn lookup(
        tx: &mut postgres::Transaction<'_>,
        names: &[String],
        positions: &[usize],
        ids: &mut [Option<i64>],
    ) -> Result<(), StoreError> {
        let wanted: Vec<&str> = positions.iter().map(|&p| names[p].as_str()).collect();
        for row in tx.query(
            "SELECT u.i, t.id FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i) \
             JOIN tests t ON t.name = u.n",
            &[&wanted],
        )? {
            let i: i64 = row.get(0);
            let p = usize::try_from(i - 1)
                .ok()
                .and_then(|i| positions.get(i))
                .copied();
            if let Some(p) = p {
                ids[p] = Some(row.get(1));
            }
        }
        Ok(())
    }
    let missing_of = |ids: &[Option<i64>], among: &[usize]| -> Vec<usize> {
        among
            .iter()
            .copied()
            .filter(|&p| ids[p].is_none())
            .collect()
    };
    let before: i64 = tx
        .query_one("SELECT COALESCE(MAX(id), 0) FROM tests", &[])?
        .get(0);
    let mut ids: Vec<Option<i64>> = vec![None; names.len()];
    let all: Vec<usize> = (0..names.len()).collect();
    lookup(tx, names, &all, &mut ids)?;
    let mut missing = missing_of(&ids, &all);
    if !missing.is_empty() {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&TEST_NAMES_LOCK])?;
        let newer: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM tests WHERE id > $1)",
                &[&before],
            )?
            .get(0);
        if newer {
            lookup(tx, names, &missing, &mut ids)?;
            missing = missing_of(&ids, &missing);
        }
    }
    if !missing.is_empty() {
        let count = i64::try_from(missing.len()).unwrap_or(i64::MAX);
        let first: i64 = tx
            .query_one("SELECT nextval(pg_get_serial_sequence('tests', 'id'))", &[])?
            .get(0);
        if count > 1 {
            tx.execute(
                "SELECT setval(pg_get_serial_sequence('tests', 'id'), $1)",
                &[&(first + count - 1)],
            )?;
        }
        let sink = tx.copy_in("COPY tests (id, name) FROM STDIN (FORMAT binary)")?;
        let mut writer = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::TEXT]);
        for (k, &p) in missing.iter().enumerate() {
            let id = first + k as i64;
            writer.write(&[&id, &names[p].as_str()])?;
            ids[p] = Some(id);
        }
        writer.finish()?;
    }
    names
        .iter()
        .zip(ids)
        .map(|(n, id)| {
            id.ok_or_else(|| StoreError::Invalid(format!("test id {n:?} was not interned")))
        })
        .collect()
}

/// Rows per array round trip.
const CHUNK: usize = 20_000;
/// `pg_advisory_xact_lock` key for migrations ("tollgate" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x746f_6c6c_6761_7465;

/// How long a connection refused for being one too many is retried.
const CONNECT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// "too many clients" and "the database system is starting up".
fn is_transient_connect_error(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == postgres::error::SqlState::TOO_MANY_CONNECTIONS
            || *c == postgres::error::SqlState::CANNOT_CONNECT_NOW
    })
}

pub struct PgStore {
    client: Client,
}

impl PgStore {
    /// Connects to a `postgres://` URL and migrates. A schema can be chosen
    /// with libpq's `options`, e.g. `?options=-csearch_path%3Dci`.
    ///
    /// Nothing waits forever: each connection attempt (the TCP connect, the
    /// start-up exchange and the migration) must finish within
    /// `connect_timeout` from the URL (default [`DEFAULT_CONNECT_TIMEOUT`]);
    /// every statement is bounded by the server's `statement_timeout` (from
    /// `options=-c statement_timeout=...` in the URL, default
    /// [`DEFAULT_STATEMENT_TIMEOUT_MS`]); TCP keepalives notice a peer that
    /// vanished. A server that is full ("too many clients", every CI runner
    /// connecting at once) or starting up is retried for
    /// [`CONNECT_PATIENCE`] before the error is returned.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let config = connection_config(url)?;
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(50);
        let client = loop {
            match connect_within(&config) {
                Ok(client) => break client,
                Err(StoreError::Postgres(e))
                    if is_transient_connect_error(&e) && started.elapsed() < CONNECT_PATIENCE =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_secs(1));
                }
                Err(e) => return Err(e),
            }
        };
        let settings = session_settings(config.get_options().unwrap_or_default());
        let mut store = PgStore { client };
        within(&config, move || {
            store.client.batch_execute(&settings)?;
            store.migrate()?;
            Ok(store)
        })
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(CREATE_VERSION_TABLE)?;
        let current: i64 = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
            .get(0);
        let current = u32::try_from(current).unwrap_or(u32::MAX);
        if current > LATEST_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: current,
                supported: LATEST_VERSION,
            });
        }
        for migration in pending(current) {
            tx.batch_execute(migration.postgres)?;
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                &[&i64::from(migration.version), &crate::now_ms()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The schema version without migrating anything.
    pub fn migration_status(url: &str) -> Result<MigrationStatus, StoreError> {
        let config = connection_config(url)?;
        let mut client = connect_within(&config)?;
        let has_table: bool = client
            .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])?
            .get(0);
        if !has_table {
            return Ok(upkeep::status(0));
        }
        let current: i64 = client
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
            .get(0);
        Ok(upkeep::status(u32::try_from(current).unwrap_or(u32::MAX)))
    }

    /// The tables of the store's schema with their indexes and TOAST.
    pub fn size_bytes(&mut self) -> Result<u64, StoreError> {
        let bytes: i64 = self
            .client
            .query_one(
                "SELECT CAST(COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS BIGINT) \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relkind = 'r'",
                &[],
            )?
            .get(0);
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    pub fn prune(&mut self, before_ms: i64) -> Result<PruneSummary, StoreError> {
        let mut tx = self.client.transaction()?;
        let attempts = tx.execute(&to_postgres(upkeep::PRUNE_ATTEMPTS), &[&before_ms])?;
        let coverage_files = tx.execute(&to_postgres(upkeep::PRUNE_COVERAGE), &[&before_ms])?;
        let runs = tx.execute(&to_postgres(upkeep::PRUNE_MARK_RUNS), &[&before_ms])?;
        let tests = tx.execute(upkeep::PRUNE_TESTS, &[])?;
        tx.commit()?;
        Ok(PruneSummary {
            runs,
            attempts,
            coverage_files,
            tests,
        })
    }

    pub fn schema_version(&mut self) -> Result<u32, StoreError> {
        let v: i64 = self
            .client
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
            .get(0);
        Ok(u32::try_from(v).unwrap_or(u32::MAX))
    }

    pub fn ingest(&mut self, batch: &Batch<'_>) -> Result<IngestSummary, StoreError> {
        let mut tx = self.client.transaction()?;
        let run = batch.run;
        let variables = serde_json::to_string(&run.variables)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let run_id: i64 = tx
            .query_one(
                "INSERT INTO runs (run_key, commit_sha, branch, pipeline, variables, runner, started_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (run_key) DO UPDATE SET \
                   commit_sha = CASE WHEN excluded.commit_sha <> '' THEN excluded.commit_sha ELSE runs.commit_sha END, \
                   branch = CASE WHEN excluded.branch <> '' THEN excluded.branch ELSE runs.branch END, \
                   pipeline = CASE WHEN excluded.pipeline <> '' THEN excluded.pipeline ELSE runs.pipeline END, \
                   variables = CASE WHEN excluded.variables <> '{}' THEN excluded.variables ELSE runs.variables END, \
                   runner = CASE WHEN excluded.runner <> '' THEN excluded.runner ELSE runs.runner END, \
                   started_at = LEAST(runs.started_at, excluded.started_at) \
                 RETURNING id",
                &[
                    &clean_text(&run.run_key).as_ref(),
                    &clean_text(&run.commit).as_ref(),
                    &clean_text(&run.branch).as_ref(),
                    &clean_text(&run.pipeline).as_ref(),
                    &clean_text(&variables).as_ref(),
                    &clean_text(&run.runner).as_ref(),
                    &run.started_at_ms,
                ],
            )?
            .get(0);
        let job = batch.job;
        let job_id: i64 = tx
            .query_one(
                &to_postgres(crate::UPSERT_JOB),
                &[
                    &run_id,
                    &clean_text(&job.name).as_ref(),
                    &job.status,
                    &job.wall_ms,
                    &job.cpu_ms,
                    &job.peak_rss_kb,
                ],
            )?
            .get(0);

        // Test names are interned first (see `intern_tests`); the attempts
        // then go straight into their table by binary COPY. COPY cannot
        // upsert, so a job that already has attempts (a re-ingest) first
        // loses the ones this batch replaces; shards of one run are
        // serialised on the run row, so nothing can slip in between.
        let attempts = crate::dedupe_attempts(batch.tests);
        if !attempts.is_empty() {
            let mut names: Vec<String> = attempts
                .iter()
                .map(|r| clean_text(&r.id).into_owned())
                .collect();
            names.sort_unstable();
            names.dedup();
            let ids = intern_tests(&mut tx, &names)?;
            let id_of = |r: &TestResult| -> i64 {
                let name = clean_text(&r.id);
                // Every name is in `names` (built from these attempts).
                names
                    .binary_search_by(|n| n.as_str().cmp(name.as_ref()))
                    .map_or(0, |i| ids[i])
            };
            let test_ids: Vec<i64> = attempts.iter().map(|r| id_of(r)).collect();

            let job_has_attempts: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM test_attempts WHERE run_id = $1 AND job_id = $2)",
                    &[&run_id, &job_id],
                )?
                .get(0);
            if job_has_attempts {
                let attempt_nos: Vec<i64> = attempts.iter().map(|r| i64::from(r.attempt)).collect();
                tx.execute(
                    "DELETE FROM test_attempts a USING unnest($3::bigint[], $4::bigint[]) AS u(t, n) \
                     WHERE a.run_id = $1 AND a.job_id = $2 AND a.test_id = u.t AND a.attempt = u.n",
                    &[&run_id, &job_id, &test_ids, &attempt_nos],
                )?;
            }
            let sink = tx.copy_in(
                "COPY test_attempts (run_id, job_id, test_id, attempt, outcome, duration_s, message) \
                 FROM STDIN (FORMAT binary)",
            )?;
            let mut writer = BinaryCopyInWriter::new(
                sink,
                &[
                    Type::INT8,
                    Type::INT8,
                    Type::INT8,
                    Type::INT8,
                    Type::TEXT,
                    Type::FLOAT8,
                    Type::TEXT,
                ],
            );
            // Written in the order of the `(run_id, job_id, test_id, attempt)`
            // index: a job's rows then lie in the heap as the index lists them,
            // so the window queries' index scans read the heap in order (not
            // hopping across a run's pages: 135 ms per run of 60,000 in place
            // of 27 ms by a bitmap scan, measured at load 15), and the index
            // grows at its right edge.
            let mut order: Vec<usize> = (0..attempts.len()).collect();
            order.sort_unstable_by_key(|&i| (test_ids[i], attempts[i].attempt));
            // A job new to the store is rolled up from the batch, in the
            // order written; one with stored attempts below, from the store.
            let mut folder = Folder::with_capacity(if job_has_attempts { 0 } else { order.len() });
            for i in order {
                let (r, test_id) = (attempts[i], &test_ids[i]);
                if !job_has_attempts {
                    folder.push(
                        *test_id,
                        i64::from(r.attempt),
                        r.outcome.as_str(),
                        r.duration,
                    );
                }
                let message = r.message.as_deref().map(clean_text);
                writer.write(&[
                    &run_id,
                    &job_id,
                    test_id,
                    &i64::from(r.attempt),
                    &r.outcome.as_str(),
                    &r.duration,
                    &message.as_deref(),
                ])?;
            }
            writer.finish()?;
            let folded = if job_has_attempts {
                let mut folder = Folder::with_capacity(attempts.len());
                for r in tx.query(&to_postgres(rollup::STORED_ATTEMPTS), &[&run_id, &job_id])? {
                    folder.push(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
                }
                folder.finish()
            } else {
                folder.finish()
            };
            tx.execute(
                &to_postgres(rollup::UPSERT),
                &[
                    &job_id,
                    &run_id,
                    &(folded.len() as i64),
                    &rollup::encode(&folded),
                ],
            )?;
            if job_has_attempts {
                tx.execute(&to_postgres(crate::RECOUNT_JOB), &[&job_id, &run_id])?;
            } else {
                let first: Vec<_> = attempts.iter().filter(|r| r.attempt == 1).collect();
                let failures = first.iter().filter(|r| r.outcome.is_failure()).count();
                tx.execute(
                    "UPDATE jobs SET first_attempts = $2, first_failures = $3 WHERE id = $1",
                    &[&job_id, &(first.len() as i64), &(failures as i64)],
                )?;
            }
        }

        let existing_stmt = tx.prepare(
            "SELECT covered_lines, uncovered_lines FROM coverage_files WHERE run_id = $1 AND path = $2",
        )?;
        let upsert_stmt = tx.prepare(&to_postgres(crate::UPSERT_COVERAGE))?;
        for entry in batch.coverage {
            let file = &entry.file;
            let path = clean_text(&file.path);
            let stored = tx
                .query_opt(&existing_stmt, &[&run_id, &path.as_ref()])?
                .and_then(|row| {
                    let covered: String = row.get(0);
                    let uncovered: String = row.get(1);
                    Some((decode_lines(&covered)?, decode_lines(&uncovered)?))
                });
            let (covered, uncovered) =
                merge_coverage(stored, &file.covered_lines, &file.uncovered_lines);
            let component = clean_text(entry.component.as_deref().unwrap_or_default()).into_owned();
            tx.execute(
                &upsert_stmt,
                &[
                    &run_id,
                    &path.as_ref(),
                    &language_of(&file.path),
                    &component,
                    &((covered.len() + uncovered.len()) as i64),
                    &(covered.len() as i64),
                    &encode_lines(&covered),
                    &encode_lines(&uncovered),
                ],
            )?;
        }

        // Re-ingesting a benchmark into the same job of the same run replaces
        // its samples (see `Store::ingest`).
        let series = crate::bench_series(batch.bench);
        for chunk in series.chunks(CHUNK) {
            let names: Vec<String> = chunk
                .iter()
                .map(|(n, _)| clean_text(n).into_owned())
                .collect();
            let metrics: Vec<String> = chunk
                .iter()
                .map(|(_, m)| clean_text(m).into_owned())
                .collect();
            tx.execute(
                "DELETE FROM bench_samples b USING unnest($3::text[], $4::text[]) AS u(n, m) \
                 WHERE b.run_id = $1 AND b.job_id = $2 AND b.name = u.n AND b.metric = u.m",
                &[&run_id, &job_id, &names, &metrics],
            )?;
        }
        for chunk in batch.bench.chunks(CHUNK) {
            let names: Vec<String> = chunk
                .iter()
                .map(|s| clean_text(&s.name).into_owned())
                .collect();
            let metrics: Vec<String> = chunk
                .iter()
                .map(|s| clean_text(&s.metric).into_owned())
                .collect();
            let values: Vec<f64> = chunk.iter().map(|s| s.value).collect();
            let units: Vec<String> = chunk
                .iter()
                .map(|s| clean_text(&s.unit).into_owned())
                .collect();
            tx.execute(
                "INSERT INTO bench_samples (run_id, job_id, name, metric, value, unit) \
                 SELECT $1, $2, u.n, u.m, u.v, u.u FROM unnest($3::text[], $4::text[], $5::float8[], $6::text[]) AS u(n, m, v, u)",
                &[&run_id, &job_id, &names, &metrics, &values, &units],
            )?;
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
        let changed = self.client.execute(
            "UPDATE runs SET finished_at = $2, complete = $3 WHERE run_key = $1",
            &[&run_key, &finished_at_ms, &complete],
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
        let mut tx = self.client.transaction()?;
        let run_id: i64 = tx
            .query_opt("SELECT id FROM runs WHERE run_key = $1", &[&run_key])?
            .map(|r| r.get(0))
            .ok_or_else(|| StoreError::UnknownRun(run_key.to_string()))?;
        let insert = tx.prepare(&to_postgres(crate::INSERT_VERDICT))?;
        for v in verdicts {
            tx.execute(
                &insert,
                &[
                    &run_id,
                    &v.check,
                    &v.status,
                    &v.measured,
                    &v.threshold,
                    &clean_text(&v.detail).as_ref(),
                    &at_ms,
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Value::Int(v) => v.to_sql(ty, out),
            Value::Real(v) => v.to_sql(ty, out),
            Value::Text(t) => t.as_str().to_sql(ty, out),
            Value::Bool(b) => b.to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl Sql for PgStore {
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.client.query(&to_postgres(sql), &params)?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        let ty = row.columns()[i].type_();
                        Ok(if *ty == Type::INT8 {
                            row.try_get::<_, Option<i64>>(i)?
                                .map_or(Value::Null, Value::Int)
                        } else if *ty == Type::INT4 {
                            row.try_get::<_, Option<i32>>(i)?
                                .map_or(Value::Null, |v| Value::Int(v.into()))
                        } else if *ty == Type::INT2 {
                            row.try_get::<_, Option<i16>>(i)?
                                .map_or(Value::Null, |v| Value::Int(v.into()))
                        } else if *ty == Type::FLOAT8 {
                            row.try_get::<_, Option<f64>>(i)?
                                .map_or(Value::Null, Value::Real)
                        } else if *ty == Type::FLOAT4 {
                            row.try_get::<_, Option<f32>>(i)?
                                .map_or(Value::Null, |v| Value::Real(v.into()))
                        } else if *ty == Type::BOOL {
                            row.try_get::<_, Option<bool>>(i)?
                                .map_or(Value::Null, Value::Bool)
                        } else if *ty == Type::BYTEA {
                            row.try_get::<_, Option<Vec<u8>>>(i)?
                                .map_or(Value::Null, Value::Blob)
                        } else {
                            row.try_get::<_, Option<String>>(i)?
                                .map_or(Value::Null, Value::Text)
                        })
                    })
                    .collect::<Result<Row, StoreError>>()
            })
            .collect()
    }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;
    use std::time::Duration;

    fn deadline(url: &str, override_secs: Option<u64>) -> Duration {
        operation_deadline(&connection_config(url).unwrap(), override_secs)
    }

    #[test]
    fn the_deadline_follows_the_url() {
        // Defaults: 10 s to connect + 2 × 300 s of statements.
        assert_eq!(
            deadline("postgres://u@h/db", None),
            Duration::from_secs(610)
        );
        assert_eq!(
            deadline(
                "postgres://u@h/db?connect_timeout=3&options=-c%20statement_timeout%3D1500",
                None
            ),
            Duration::from_secs(6)
        );
        assert_eq!(
            deadline(
                "postgres://u@h/db?connect_timeout=1&options=-cstatement_timeout%3D2min",
                None
            ),
            Duration::from_secs(241)
        );
        // The environment's override wins; 0 does not disable it.
        assert_eq!(
            deadline("postgres://u@h/db?connect_timeout=1", Some(7)),
            Duration::from_secs(7)
        );
        assert_eq!(
            deadline("postgres://u@h/db?connect_timeout=1", Some(0)),
            Duration::from_secs(601)
        );
    }

    #[test]
    fn session_settings_leave_what_the_url_sets() {
        assert_eq!(
            session_settings(""),
            "SET jit = off; SET random_page_cost = 1.1; SET work_mem = '64MB';"
        );
        assert_eq!(
            session_settings("-c random_page_cost=4 -c search_path=ci"),
            "SET jit = off; SET work_mem = '64MB';"
        );
        assert_eq!(
            session_settings("--work-mem=1GB"),
            "SET jit = off; SET random_page_cost = 1.1;"
        );
    }

    #[test]
    fn statement_timeouts_in_options() {
        assert_eq!(
            statement_timeout_ms("-c statement_timeout=5000"),
            Some(5000)
        );
        assert_eq!(statement_timeout_ms("-c statement_timeout=5s"), Some(5000));
        assert_eq!(
            statement_timeout_ms("--statement-timeout=1h"),
            Some(3_600_000)
        );
        assert_eq!(statement_timeout_ms("-c search_path=ci"), None);
        // 0 is "no limit" on the server: tollgate's default applies.
        assert_eq!(statement_timeout_ms("-c statement_timeout=0"), None);
        assert_eq!(statement_timeout_ms("-c statement_timeout=soon"), None);
        assert_eq!(
            statement_timeout_ms("-c statement_timeout=99999999999999999999"),
            None
        );
    }
}
