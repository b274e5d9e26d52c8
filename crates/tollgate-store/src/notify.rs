//! Alert de-duplication state (schema version 3) and the failure queries
//! triage needs. Written once in the shared SQL dialect: the same text runs
//! on SQLite and PostgreSQL.

use crate::error::StoreError;
use crate::model::RunInfo;
use crate::sql::{Row, Sql, Value};

/// One failed attempt of a run, with what triage reads.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedAttempt {
    pub job: String,
    pub test_id: String,
    pub attempt: u32,
    /// `failed` or `error`.
    pub outcome: String,
    pub message: String,
    /// A later attempt of the same test in the same job passed.
    pub passed_later: bool,
}

/// What was last sent for an alert on a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub channel: String,
    pub alert: String,
    pub owner: String,
    pub pipeline: String,
    pub branch: String,
    /// `firing` or `resolved`.
    pub status: String,
    pub first_run_key: String,
    pub last_run_key: String,
    pub last_sent_at_ms: i64,
    pub summary: String,
    pub issue_number: Option<i64>,
    pub reopened: bool,
}

fn text(row: &Row, i: usize) -> String {
    row.get(i).map(Value::text).unwrap_or_default()
}

fn int(row: &Row, i: usize) -> i64 {
    row.get(i).map(Value::int).unwrap_or(0)
}

/// The first failed attempt of every test that failed in a run (all jobs
/// and shards), in job and test order.
pub fn failed_attempts(sql: &mut dyn Sql, run_key: &str) -> Result<Vec<FailedAttempt>, StoreError> {
    let rows = sql.query(
        "SELECT j.name, t.name, a.attempt, a.outcome, COALESCE(a.message, ''), \
           EXISTS (SELECT 1 FROM test_attempts b WHERE b.run_id = a.run_id AND b.job_id = a.job_id \
                   AND b.test_id = a.test_id AND b.attempt > a.attempt AND b.outcome = 'passed') \
         FROM test_attempts a \
         JOIN runs r ON r.id = a.run_id \
         JOIN jobs j ON j.id = a.job_id \
         JOIN tests t ON t.id = a.test_id \
         WHERE r.run_key = ?1 AND a.outcome IN ('failed', 'error') \
         ORDER BY j.name, t.name, a.attempt",
        &[run_key.into()],
    )?;
    let mut out: Vec<FailedAttempt> = Vec::new();
    for row in &rows {
        let attempt = FailedAttempt {
            job: text(row, 0),
            test_id: text(row, 1),
            attempt: u32::try_from(int(row, 2)).unwrap_or(0),
            outcome: text(row, 3),
            message: text(row, 4),
            passed_later: row.get(5).is_some_and(Value::bool),
        };
        let same = out
            .last()
            .is_some_and(|l| l.job == attempt.job && l.test_id == attempt.test_id);
        if !same {
            out.push(attempt);
        }
    }
    Ok(out)
}

/// Runs of `pipeline` on `branch` that started before `before_ms` (or at
/// it with a smaller id than `before_id`), newest first.
pub fn runs_before(
    sql: &mut dyn Sql,
    pipeline: &str,
    branch: &str,
    before_ms: i64,
    before_id: i64,
    limit: u32,
) -> Result<Vec<RunInfo>, StoreError> {
    let keys = sql.query(
        "SELECT run_key FROM runs WHERE pipeline = ?1 AND branch = ?2 \
           AND (started_at < ?3 OR (started_at = ?3 AND id < ?4)) \
         ORDER BY started_at DESC, id DESC LIMIT ?5",
        &[
            pipeline.into(),
            branch.into(),
            before_ms.into(),
            before_id.into(),
            i64::from(limit).into(),
        ],
    )?;
    let mut out = Vec::new();
    for k in keys {
        if let Some(run) = crate::queries::run(sql, &text(&k, 0))? {
            out.push(run);
        }
    }
    Ok(out)
}

/// Takes the claim `(channel, run_key, claim)`; `true` for the one caller
/// that inserted it. The primary key decides, so concurrent processes on
/// either backend cannot both win.
pub fn claim(
    sql: &mut dyn Sql,
    channel: &str,
    run_key: &str,
    claim: &str,
    at_ms: i64,
) -> Result<bool, StoreError> {
    let rows = sql.query(
        "INSERT INTO notify_claims (channel, run_key, claim, claimed_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (channel, run_key, claim) DO NOTHING RETURNING claim",
        &[channel.into(), run_key.into(), claim.into(), at_ms.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Gives a claim back (its delivery failed, so a later attempt may send).
pub fn release(
    sql: &mut dyn Sql,
    channel: &str,
    run_key: &str,
    claim: &str,
) -> Result<(), StoreError> {
    sql.query(
        "DELETE FROM notify_claims WHERE channel = ?1 AND run_key = ?2 AND claim = ?3",
        &[channel.into(), run_key.into(), claim.into()],
    )?;
    Ok(())
}

const ALERT_COLUMNS: &str = "channel, alert, owner, pipeline, branch, status, first_run_key, \
     last_run_key, last_sent_at, summary, issue_number, reopened";

fn alert_from_row(row: &Row) -> AlertRow {
    AlertRow {
        channel: text(row, 0),
        alert: text(row, 1),
        owner: text(row, 2),
        pipeline: text(row, 3),
        branch: text(row, 4),
        status: text(row, 5),
        first_run_key: text(row, 6),
        last_run_key: text(row, 7),
        last_sent_at_ms: int(row, 8),
        summary: text(row, 9),
        issue_number: row.get(10).and_then(Value::opt_int),
        reopened: row.get(11).is_some_and(Value::bool),
    }
}

/// Every alert state of a channel.
pub fn alerts(sql: &mut dyn Sql, channel: &str) -> Result<Vec<AlertRow>, StoreError> {
    let rows = sql.query(
        &format!("SELECT {ALERT_COLUMNS} FROM notify_alerts WHERE channel = ?1 ORDER BY alert"),
        &[channel.into()],
    )?;
    Ok(rows.iter().map(alert_from_row).collect())
}

/// Records a delivery: inserts the alert or updates what was last sent
/// (the first run is kept).
pub fn record_alert(sql: &mut dyn Sql, row: &AlertRow) -> Result<(), StoreError> {
    sql.query(
        "INSERT INTO notify_alerts (channel, alert, owner, pipeline, branch, status, first_run_key, \
           last_run_key, last_sent_at, summary, issue_number, reopened) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
         ON CONFLICT (channel, alert) DO UPDATE SET owner = excluded.owner, \
           pipeline = excluded.pipeline, branch = excluded.branch, status = excluded.status, \
           last_run_key = excluded.last_run_key, last_sent_at = excluded.last_sent_at, \
           summary = excluded.summary, \
           issue_number = COALESCE(excluded.issue_number, notify_alerts.issue_number), \
           reopened = excluded.reopened",
        &[
            row.channel.as_str().into(),
            row.alert.as_str().into(),
            row.owner.as_str().into(),
            row.pipeline.as_str().into(),
            row.branch.as_str().into(),
            row.status.as_str().into(),
            row.first_run_key.as_str().into(),
            row.last_run_key.as_str().into(),
            row.last_sent_at_ms.into(),
            row.summary.as_str().into(),
            row.issue_number.into(),
            row.reopened.into(),
        ],
    )?;
    Ok(())
}
