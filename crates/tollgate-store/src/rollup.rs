//! Per-job rollups of a run's test attempts: one `job_rollups` row per job,
//! holding every test of the job with its attempts folded ([`Folded`]) in
//! one compact blob.
//!
//! Why: a report over 30 runs of 100,000 tests grouped 3 million attempt
//! rows per report (about 4 of its 4.4 s of CPU on SQLite, and what
//! `tollgate serve`'s first page cost). The job's attempts are at hand at
//! ingest, so the fold is done there once; a run's summary is then a few
//! blobs of about 10 bytes per test, decoded in milliseconds.
//!
//! Correctness rests on three rules:
//! - a rollup is a function of the job's *stored* attempts, recomputed whole
//!   by every ingest into the job: a job ingested in several batches, or a
//!   batch sent twice, folds what the store holds, not what was sent;
//! - the raw path (jobs without a rollup: written by an older tollgate, or
//!   by other means until `tollgate store migrate` builds them) folds the
//!   same attempts, in the same order, with the same [`Folder`]: both paths
//!   give the same numbers, bit for bit;
//! - `tollgate store prune` keeps rollups (like the jobs' first-attempt
//!   counts): a pruned run's tests keep their per-run state.
//!
//! The blob: a format byte, then one entry per test by ascending test id:
//! the id as a varint delta from the previous one, a tag byte (one passed,
//! failed or skipped attempt — nearly every test — or the general form with
//! four varint counts and the last-failed flag), and the seconds as a
//! little-endian `f64` (exact: reports show the same sums either way).
//!
//! Format 2 (this build writes it) adds, to the general form only, the
//! seconds of the *passing* attempts (a second `f64`, summed in attempt
//! order like the first): what [`crate::queries::test_durations`] averages
//! (issue 17: it read the window's raw attempts, whose index grows with
//! the history). A single-attempt entry needs no more: its passing seconds
//! are all of it (one passed attempt) or none. Format 1 (written by the
//! release that brought the rollups) is still read: a general entry with
//! passing and other attempts has no passing seconds there
//! ([`Folded::passed_s`] is `None`), so the duration lookup reads such a
//! job's attempts (the raw path, the same answer); `tollgate store migrate`
//! rewrites the format-1 rollups of runs not pruned ([`build_missing`]).
//! A pruned run keeps its format-1 rollup: the duration lookup never reads
//! a pruned run's rollups (before the rollups it read the attempts that a
//! prune drops, so a pruned run contributed nothing).

use crate::error::StoreError;
use crate::sql::{Sql, Value};

/// One test of one job, all its attempts folded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Folded {
    pub test: i64,
    pub attempts: u32,
    pub passed: u32,
    /// `failed` and `error` attempts.
    pub failed: u32,
    pub skipped: u32,
    /// Whether the attempt with the highest number failed (or errored).
    pub last_failed: bool,
    /// All attempts together, seconds, summed in attempt order.
    pub duration_s: f64,
    /// The passing attempts together, seconds, summed in attempt order;
    /// `None` where a format-1 rollup did not keep it (see the module doc).
    pub passed_s: Option<f64>,
}

/// The passing seconds that the counts alone determine: none passed, or all
/// did (then they are the same sum as `duration_s`, added in the same
/// order, bit for bit).
fn implied_passed_s(attempts: u32, passed: u32, duration_s: f64) -> Option<f64> {
    if passed == 0 {
        Some(0.0)
    } else if passed == attempts {
        Some(duration_s)
    } else {
        None
    }
}

/// Folds attempts given in `(test, attempt)` order (the order of the
/// `(run_id, job_id, test_id, attempt)` index) into one [`Folded`] per test.
#[derive(Debug, Default)]
pub(crate) struct Folder {
    done: Vec<Folded>,
    current: Option<Folded>,
}

impl Folder {
    pub fn with_capacity(n: usize) -> Self {
        Folder {
            done: Vec::with_capacity(n),
            current: None,
        }
    }

    pub fn push(&mut self, test: i64, attempt: i64, outcome: &str, duration_s: f64) {
        let failed = matches!(outcome, "failed" | "error");
        let passed = outcome == "passed";
        match &mut self.current {
            Some(f) if f.test == test => {
                f.attempts = f.attempts.saturating_add(1);
                f.duration_s += duration_s;
                if passed {
                    f.passed_s = Some(f.passed_s.unwrap_or(0.0) + duration_s);
                }
            }
            current => {
                if let Some(f) = current.take() {
                    self.done.push(f);
                }
                *current = Some(Folded {
                    test,
                    attempts: 1,
                    passed: 0,
                    failed: 0,
                    skipped: 0,
                    last_failed: false,
                    duration_s,
                    passed_s: Some(if passed { duration_s } else { 0.0 }),
                });
            }
        }
        if let Some(f) = &mut self.current {
            match outcome {
                "passed" => f.passed = f.passed.saturating_add(1),
                "skipped" => f.skipped = f.skipped.saturating_add(1),
                _ if failed => f.failed = f.failed.saturating_add(1),
                _ => {}
            }
            // Attempts come in ascending order: the latest pushed is the last.
            f.last_failed = attempt > 0 && failed;
        }
    }

    pub fn finish(mut self) -> Vec<Folded> {
        if let Some(f) = self.current.take() {
            self.done.push(f);
        }
        self.done
    }
}

/// The format [`encode`] writes; [`decode`] reads it and [`FORMAT_1`].
const FORMAT: u8 = 2;
/// Rollups written before the general form kept the passing seconds.
const FORMAT_1: u8 = 1;
const ONE_PASSED: u8 = 0;
const ONE_FAILED: u8 = 1;
const ONE_SKIPPED: u8 = 2;
const GENERAL: u8 = 3;

/// Encodes folded tests, sorted by ascending test id (as [`Folder`] gives
/// them).
pub(crate) fn encode(tests: &[Folded]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + tests.len() * 10);
    out.push(FORMAT);
    let mut previous = 0i64;
    for t in tests {
        put_varint(&mut out, t.test.wrapping_sub(previous) as u64);
        previous = t.test;
        let single = |passed, failed, skipped| {
            t.attempts == 1 && (t.passed, t.failed, t.skipped) == (passed, failed, skipped)
        };
        if single(1, 0, 0) && !t.last_failed {
            out.push(ONE_PASSED);
        } else if single(0, 1, 0) && t.last_failed {
            out.push(ONE_FAILED);
        } else if single(0, 0, 1) && !t.last_failed {
            out.push(ONE_SKIPPED);
        } else {
            out.push(GENERAL);
            for n in [t.attempts, t.passed, t.failed, t.skipped] {
                put_varint(&mut out, u64::from(n));
            }
            out.push(u8::from(t.last_failed));
            out.extend_from_slice(&t.duration_s.to_le_bytes());
            // NaN (never a sum of durations, which are finite) for unknown:
            // only a decoded format-1 entry has none, and none is encoded.
            let passed_s = t.passed_s.unwrap_or(f64::NAN);
            out.extend_from_slice(&passed_s.to_le_bytes());
            continue;
        }
        out.extend_from_slice(&t.duration_s.to_le_bytes());
    }
    out
}

/// Decodes a blob written by [`encode`] (format 2) or by the release that
/// wrote format 1; `job` names the row in errors.
pub(crate) fn decode(blob: &[u8], job: i64) -> Result<Vec<Folded>, StoreError> {
    let corrupt = |detail: &str| StoreError::CorruptRollup {
        job,
        detail: detail.to_string(),
    };
    let mut r = Reader { blob, at: 0 };
    let format = match r.byte() {
        Some(f @ (FORMAT | FORMAT_1)) => f,
        Some(other) => return Err(corrupt(&format!("unknown format {other}"))),
        None => return Err(corrupt("empty")),
    };
    let mut out = Vec::with_capacity(blob.len() / 10);
    let mut test = 0i64;
    while r.at < blob.len() {
        let delta = r.varint().ok_or_else(|| corrupt("truncated test id"))?;
        test = test.wrapping_add(delta as i64);
        let tag = r.byte().ok_or_else(|| corrupt("truncated entry"))?;
        let (attempts, passed, failed, skipped, last_failed) = match tag {
            ONE_PASSED => (1, 1, 0, 0, false),
            ONE_FAILED => (1, 0, 1, 0, true),
            ONE_SKIPPED => (1, 0, 0, 1, false),
            GENERAL => {
                let mut n = [0u32; 4];
                for slot in &mut n {
                    let v = r.varint().ok_or_else(|| corrupt("truncated counts"))?;
                    *slot = u32::try_from(v).map_err(|_| corrupt("count out of range"))?;
                }
                let last = r.byte().ok_or_else(|| corrupt("truncated entry"))?;
                (n[0], n[1], n[2], n[3], last != 0)
            }
            other => return Err(corrupt(&format!("unknown entry tag {other}"))),
        };
        let seconds = r.f64().ok_or_else(|| corrupt("truncated seconds"))?;
        let passed_s = if tag == GENERAL && format == FORMAT {
            let s = r.f64().ok_or_else(|| corrupt("truncated passed seconds"))?;
            (!s.is_nan()).then_some(s)
        } else {
            implied_passed_s(attempts, passed, seconds)
        };
        out.push(Folded {
            test,
            attempts,
            passed,
            failed,
            skipped,
            last_failed,
            duration_s: seconds,
            passed_s,
        });
    }
    Ok(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a> {
    blob: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.blob.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn f64(&mut self) -> Option<f64> {
        let bytes = self.blob.get(self.at..self.at + 8)?;
        self.at += 8;
        Some(f64::from_le_bytes(bytes.try_into().ok()?))
    }
}

/// Folds several jobs' rollups of one run into one entry per test, jobs in
/// the order given (ascending job id on both paths, so seconds add up in
/// the same order): `(test, passed anywhere, failed anywhere, seconds)`.
pub(crate) fn fold_jobs(jobs: Vec<Vec<Folded>>) -> Vec<(i64, bool, bool, f64)> {
    let mut all: Vec<(i64, bool, bool, f64)> = jobs
        .into_iter()
        .flatten()
        .map(|f| (f.test, f.passed > 0, f.failed > 0, f.duration_s))
        .collect();
    // Stable: a test's jobs stay in job order.
    all.sort_by_key(|t| t.0);
    all.dedup_by(|later, kept| {
        if later.0 != kept.0 {
            return false;
        }
        kept.1 |= later.1;
        kept.2 |= later.2;
        kept.3 += later.3;
        true
    });
    all
}

/// Writes a job's rollup (`?1` job, `?2` run, `?3` entries, `?4` blob),
/// replacing the one an earlier ingest into the job wrote.
pub(crate) const UPSERT: &str = "INSERT INTO job_rollups (job_id, run_id, tests, summary) \
     VALUES (?1, ?2, ?3, ?4) \
     ON CONFLICT (job_id) DO UPDATE SET run_id = excluded.run_id, tests = excluded.tests, \
       summary = excluded.summary";

/// Writes a rollup built for a job that had none, unless an ingest wrote
/// one meanwhile (it folded at least the attempts read here).
const INSERT_MISSING: &str = "INSERT INTO job_rollups (job_id, run_id, tests, summary) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (job_id) DO NOTHING";

/// A job's stored attempts (`?1` run, `?2` job) in [`Folder`] order: the
/// `(run_id, job_id, test_id, attempt)` index's order, on both backends
/// (ingest reads them so; [`fold_stored`] in the same order).
pub(crate) const STORED_ATTEMPTS: &str = "SELECT test_id, attempt, outcome, duration_s \
     FROM test_attempts WHERE run_id = ?1 AND job_id = ?2 ORDER BY test_id, attempt";

/// Folds a job's stored attempts (the raw path).
pub(crate) fn fold_stored(
    sql: &mut dyn Sql,
    run_id: i64,
    job_id: i64,
) -> Result<Vec<Folded>, StoreError> {
    // The outcome comes back as a small number: no string per attempt.
    let rows = sql.query(
        "SELECT test_id, attempt, CASE outcome WHEN 'passed' THEN 0 WHEN 'failed' THEN 1 \
           WHEN 'error' THEN 1 WHEN 'skipped' THEN 2 ELSE 3 END, duration_s \
         FROM test_attempts WHERE run_id = ?1 AND job_id = ?2 ORDER BY test_id, attempt",
        &[run_id.into(), job_id.into()],
    )?;
    let mut folder = Folder::with_capacity(rows.len());
    for r in &rows {
        let get = |i: usize| r.get(i).unwrap_or(&Value::Null);
        let outcome = match get(2).int() {
            0 => "passed",
            1 => "failed",
            2 => "skipped",
            _ => "other",
        };
        folder.push(get(0).int(), get(1).int(), outcome, get(3).real());
    }
    Ok(folder.finish())
}

/// Where [`run_tests`] reads a run's tests from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    /// The jobs' rollups; the attempts of a job without one.
    Rollups,
    /// The jobs' rollups where every test has its passing seconds
    /// ([`Folded::passed_s`]); the attempts of any other job (none, or a
    /// format-1 rollup with a test that both passed and did not).
    PassedSeconds,
    /// The attempts only (what the rollups are checked against).
    Attempts,
}

/// Every job of a run, by ascending id, with its name and its tests folded.
pub(crate) fn run_tests(
    sql: &mut dyn Sql,
    run_id: i64,
    path: Path,
) -> Result<Vec<(String, Vec<Folded>)>, StoreError> {
    let query = match path {
        Path::Rollups | Path::PassedSeconds => {
            "SELECT j.id, j.name, r.summary FROM jobs j \
             LEFT JOIN job_rollups r ON r.job_id = j.id WHERE j.run_id = ?1 ORDER BY j.id"
        }
        Path::Attempts => "SELECT id, name, NULL FROM jobs WHERE run_id = ?1 ORDER BY id",
    };
    let jobs = sql.query(query, &[run_id.into()])?;
    let mut out = Vec::with_capacity(jobs.len());
    for j in &jobs {
        let job_id = j.first().map_or(0, Value::int);
        let rolled = match j.get(2) {
            Some(Value::Blob(blob)) => Some(decode(blob, job_id)?),
            _ => None,
        };
        let tests = match rolled {
            Some(tests)
                if path != Path::PassedSeconds || tests.iter().all(|t| t.passed_s.is_some()) =>
            {
                tests
            }
            _ => fold_stored(sql, run_id, job_id)?,
        };
        out.push((j.get(1).map(Value::text).unwrap_or_default(), tests));
    }
    Ok(out)
}

/// The union of a sorted, deduplicated list and an ascending sequence.
pub(crate) fn merge_union(a: &[i64], b: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut out = Vec::with_capacity(a.len());
    let mut a = a.iter().copied().peekable();
    for x in b {
        while let Some(&y) = a.peek() {
            if y >= x {
                break;
            }
            out.push(y);
            a.next();
        }
        if a.peek() == Some(&x) {
            a.next();
        }
        if out.last() != Some(&x) {
            out.push(x);
        }
    }
    out.extend(a);
    out
}

/// Adds a job's passing attempts (tests by ascending id, as [`run_tests`]
/// gives them) to per-test `(test, seconds, passing attempts)` sums, also
/// by ascending id: a linear merge, and each test's seconds add up in the
/// order the jobs come (what makes the rollup and the raw path agree bit
/// for bit). Tests without a passing attempt are left out.
pub(crate) fn add_passing(sums: Vec<(i64, f64, u64)>, tests: &[Folded]) -> Vec<(i64, f64, u64)> {
    let mut out = Vec::with_capacity(sums.len().max(tests.len()));
    let mut sums = sums.into_iter().peekable();
    for t in tests.iter().filter(|t| t.passed > 0) {
        while let Some(earlier) = sums.next_if(|s| s.0 < t.test) {
            out.push(earlier);
        }
        let seconds = t.passed_s.unwrap_or(0.0);
        match sums.next_if(|s| s.0 == t.test) {
            Some((test, sum, n)) => out.push((test, sum + seconds, n + u64::from(t.passed))),
            None => out.push((t.test, seconds, u64::from(t.passed))),
        }
    }
    out.extend(sums);
    out
}

/// Rewrites a format-1 rollup (`?1` job, `?2` run, `?3` entries, `?4` blob,
/// `?5` the format-1 byte) unless an ingest rewrote it meanwhile (in the
/// current format, from at least the attempts read here).
const UPGRADE_FORMAT_1: &str = "UPDATE job_rollups SET tests = ?3, summary = ?4 \
     WHERE job_id = ?1 AND run_id = ?2 AND substr(summary, 1, 1) = ?5";

/// Builds the rollup of every job that has attempts but no rollup (jobs
/// stored before schema version 6, or written by other means than
/// [`crate::Store::ingest`]), and rebuilds the format-1 rollups of runs not
/// pruned (their attempts are there to fold; a pruned run keeps its
/// format-1 rollup, which every reader still takes); returns how many were
/// built or rebuilt.
pub(crate) fn build_missing(sql: &mut dyn Sql) -> Result<u64, StoreError> {
    let mut built = build_absent(sql)?;
    // The format byte, compared as bytes on both backends (SQLite's and
    // PostgreSQL's `substr` of a blob / bytea is one).
    let format_1 = Value::Blob(vec![FORMAT_1]);
    let old = sql.query(
        "SELECT r.job_id, r.run_id FROM job_rollups r JOIN runs u ON u.id = r.run_id \
         WHERE NOT u.pruned AND substr(r.summary, 1, 1) = ?1 ORDER BY r.job_id",
        std::slice::from_ref(&format_1),
    )?;
    for job in &old {
        let get = |i: usize| job.get(i).map_or(0, Value::int);
        let (job_id, run_id) = (get(0), get(1));
        let folded = fold_stored(sql, run_id, job_id)?;
        if folded.is_empty() {
            // Pruned since the list was read: the old rollup is all there is.
            continue;
        }
        sql.query(
            UPGRADE_FORMAT_1,
            &[
                job_id.into(),
                run_id.into(),
                (folded.len() as i64).into(),
                Value::Blob(encode(&folded)),
                format_1.clone(),
            ],
        )?;
        built += 1;
    }
    Ok(built)
}

/// The first half of [`build_missing`]: jobs with attempts and no rollup.
fn build_absent(sql: &mut dyn Sql) -> Result<u64, StoreError> {
    let jobs = sql.query(
        "SELECT j.id, j.run_id FROM jobs j \
         WHERE NOT EXISTS (SELECT 1 FROM job_rollups r WHERE r.job_id = j.id) \
           AND EXISTS (SELECT 1 FROM test_attempts a WHERE a.run_id = j.run_id AND a.job_id = j.id) \
         ORDER BY j.id",
        &[],
    )?;
    let mut built = 0;
    for job in &jobs {
        let get = |i: usize| job.get(i).map_or(0, Value::int);
        let (job_id, run_id) = (get(0), get(1));
        let folded = fold_stored(sql, run_id, job_id)?;
        sql.query(
            INSERT_MISSING,
            &[
                job_id.into(),
                run_id.into(),
                (folded.len() as i64).into(),
                Value::Blob(encode(&folded)),
            ],
        )?;
        built += 1;
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(rows: &[(i64, i64, &str, f64)]) -> Vec<Folded> {
        let mut f = Folder::default();
        for &(t, a, o, d) in rows {
            f.push(t, a, o, d);
        }
        f.finish()
    }

    #[test]
    fn folds_attempts_like_the_grouping_query() {
        let got = fold(&[
            (3, 1, "passed", 0.5),
            (7, 1, "failed", 0.25),
            (7, 2, "error", 0.25),
            (9, 1, "failed", 1.0),
            (9, 2, "passed", 2.0),
            (12, 1, "skipped", 0.0),
            (300, 1, "xpassed", 0.1),
        ]);
        let short: Vec<_> = got
            .iter()
            .map(|f| {
                (
                    f.test,
                    f.attempts,
                    f.passed,
                    f.failed,
                    f.skipped,
                    f.last_failed,
                    f.duration_s,
                )
            })
            .collect();
        assert_eq!(
            short,
            [
                (3, 1, 1, 0, 0, false, 0.5),
                (7, 2, 0, 2, 0, true, 0.5),
                (9, 2, 1, 1, 0, false, 3.0),
                (12, 1, 0, 0, 1, false, 0.0),
                (300, 1, 0, 0, 0, false, 0.1),
            ]
        );
        // Passing seconds: the passed attempts' only.
        let passed: Vec<_> = got.iter().map(|f| f.passed_s).collect();
        assert_eq!(
            passed,
            [Some(0.5), Some(0.0), Some(2.0), Some(0.0), Some(0.0)]
        );
    }

    #[test]
    fn passing_seconds_add_up_like_all_seconds_when_every_attempt_passed() {
        let got = fold(&[
            (1, 1, "passed", 0.1),
            (1, 2, "passed", 0.2),
            (1, 3, "passed", 0.3),
        ]);
        assert_eq!(got[0].passed_s, Some(got[0].duration_s));
        let got = fold(&[
            (1, 1, "passed", 0.1),
            (1, 2, "failed", 0.2),
            (1, 3, "passed", 0.3),
        ]);
        assert_eq!(got[0].passed_s, Some(0.1 + 0.3));
    }

    #[test]
    fn round_trips_every_shape_bit_for_bit() {
        let tests = fold(&[
            (1, 1, "passed", 0.1 + 0.2),
            (2, 1, "failed", 1e-300),
            (3, 1, "skipped", 0.0),
            (200, 1, "failed", 3.0),
            (200, 2, "passed", 4.5),
            (1 << 40, 1, "error", f64::MAX),
            ((1 << 40) + 1, 1, "other", 0.7),
        ]);
        let blob = encode(&tests);
        assert_eq!(blob[0], 2, "this build writes format 2");
        assert_eq!(decode(&blob, 1).unwrap(), tests);
        assert_eq!(decode(&encode(&[]), 1).unwrap(), []);
        // The common entry costs ten bytes (one-byte delta, tag, seconds).
        assert_eq!(encode(&tests[..1]).len(), 1 + 10);
        // The general form keeps the passing seconds, exactly.
        let general = fold(&[(9, 1, "failed", 0.1 + 0.2), (9, 2, "passed", 1e-300)]);
        assert_eq!(general[0].passed_s, Some(1e-300));
        let decoded = decode(&encode(&general), 1).unwrap();
        assert_eq!(decoded, general);
        assert_eq!(
            decoded[0].passed_s.map(f64::to_bits),
            Some(1e-300f64.to_bits())
        );
        // 1 + delta + tag + 4 counts + flag + 2 x 8 seconds.
        assert_eq!(encode(&general).len(), 1 + 1 + 1 + 4 + 1 + 16);
    }

    /// A blob as the release that brought the rollups wrote it (format 1:
    /// the general form without passing seconds), byte by byte.
    fn format_1_blob() -> Vec<u8> {
        let mut blob = vec![1];
        // Test 5: one passed attempt, 0.5 s.
        blob.extend([5, ONE_PASSED]);
        blob.extend(0.5f64.to_le_bytes());
        // Test 6: failed, then passed: 1.0 s in all.
        blob.extend([1, GENERAL, 2, 1, 1, 0, 0]);
        blob.extend(1.0f64.to_le_bytes());
        // Test 8: passed twice (a rerun): 0.75 s.
        blob.extend([2, GENERAL, 2, 2, 0, 0, 0]);
        blob.extend(0.75f64.to_le_bytes());
        // Test 200: failed twice: 3.0 s.
        blob.extend([192, 1, GENERAL, 2, 0, 2, 0, 1]);
        blob.extend(3.0f64.to_le_bytes());
        // Test 201: one failed attempt, 0.25 s.
        blob.extend([1, ONE_FAILED]);
        blob.extend(0.25f64.to_le_bytes());
        blob
    }

    #[test]
    fn format_1_blobs_decode_with_the_passing_seconds_they_imply() {
        let got = decode(&format_1_blob(), 3).unwrap();
        let short: Vec<_> = got
            .iter()
            .map(|f| {
                (
                    f.test,
                    f.attempts,
                    f.passed,
                    f.failed,
                    f.last_failed,
                    f.duration_s,
                    f.passed_s,
                )
            })
            .collect();
        assert_eq!(
            short,
            [
                (5, 1, 1, 0, false, 0.5, Some(0.5)),
                // Passed and failed: format 1 did not keep the passing part.
                (6, 2, 1, 1, false, 1.0, None),
                (8, 2, 2, 0, false, 0.75, Some(0.75)),
                (200, 2, 0, 2, true, 3.0, Some(0.0)),
                (201, 1, 0, 1, true, 0.25, Some(0.0)),
            ]
        );
        // The same attempts folded now: every count and sum as format 1 has
        // it, and encoded again as format 2.
        let folded = fold(&[
            (5, 1, "passed", 0.5),
            (6, 1, "failed", 0.5),
            (6, 2, "passed", 0.5),
            (8, 1, "passed", 0.25),
            (8, 2, "passed", 0.5),
            (200, 1, "failed", 1.5),
            (200, 2, "error", 1.5),
            (201, 1, "failed", 0.25),
        ]);
        for (old, new) in got.iter().zip(&folded) {
            assert_eq!(
                (old.test, old.attempts, old.passed, old.failed, old.skipped),
                (new.test, new.attempts, new.passed, new.failed, new.skipped)
            );
            assert_eq!(old.duration_s.to_bits(), new.duration_s.to_bits());
            if let Some(p) = old.passed_s {
                assert_eq!(Some(p.to_bits()), new.passed_s.map(f64::to_bits));
            }
        }
        assert_eq!(folded[1].passed_s, Some(0.5));
        let again = encode(&folded);
        assert_eq!(again[0], FORMAT);
        assert_eq!(decode(&again, 3).unwrap(), folded);
        // A damaged format-1 blob is an error too.
        let blob = format_1_blob();
        assert!(decode(&blob[..blob.len() - 1], 3).is_err());
    }

    #[test]
    fn damaged_blobs_are_errors_not_panics() {
        let blob = encode(&fold(&[(5, 1, "failed", 1.0), (5, 2, "failed", 1.0)]));
        // Cut anywhere inside the one entry (after the format byte alone
        // it is a valid empty rollup).
        assert_eq!(decode(&blob[..1], 9).unwrap(), []);
        for cut in (0..blob.len()).filter(|&c| c != 1) {
            assert!(decode(&blob[..cut], 9).is_err(), "cut at {cut}");
        }
        let mut bad = blob.clone();
        bad[0] = 7;
        assert!(matches!(
            decode(&bad, 9),
            Err(StoreError::CorruptRollup { job: 9, .. })
        ));
        let mut bad = blob;
        bad[2] = 99;
        assert!(decode(&bad, 9).is_err());
    }

    #[test]
    fn passing_seconds_add_up_per_test_in_job_order() {
        let unit = fold(&[
            (2, 1, "passed", 0.1),
            (4, 1, "failed", 9.0),
            (4, 2, "passed", 0.2),
            (6, 1, "failed", 9.0),
        ]);
        let e2e = fold(&[
            (1, 1, "passed", 1.0),
            (4, 1, "passed", 0.7),
            (6, 1, "skipped", 0.0),
        ]);
        let sums = add_passing(add_passing(Vec::new(), &unit), &e2e);
        assert_eq!(sums, [(1, 1.0, 1), (2, 0.1, 1), (4, 0.2 + 0.7, 2)]);
        // Another order of jobs, another order of addition.
        let rerun = fold(&[(4, 1, "passed", 0.1)]);
        let sums = add_passing(add_passing(sums, &rerun), &rerun);
        assert_eq!(sums[2], (4, 0.2 + 0.7 + 0.1 + 0.1, 4));
        assert_eq!(add_passing(sums.clone(), &[]), sums);
    }

    #[test]
    fn unions_sorted_lists() {
        assert_eq!(
            merge_union(&[1, 4, 9], [2, 4, 5, 10, 11].into_iter()),
            [1, 2, 4, 5, 9, 10, 11]
        );
        assert_eq!(merge_union(&[], [3, 3, 7].into_iter()), [3, 7]);
        assert_eq!(merge_union(&[3, 8], std::iter::empty()), [3, 8]);
    }

    #[test]
    fn jobs_fold_into_states_in_job_order() {
        let unit = fold(&[(1, 1, "passed", 0.5), (2, 1, "failed", 1.0)]);
        let e2e = fold(&[(1, 1, "failed", 0.25), (3, 1, "skipped", 0.0)]);
        assert_eq!(
            fold_jobs(vec![unit, e2e]),
            [
                (1, true, true, 0.75),
                (2, false, true, 1.0),
                (3, false, false, 0.0)
            ]
        );
    }
}
