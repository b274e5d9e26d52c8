-- Schema version 6: per-job rollups of a run's test attempts (see
-- src/rollup.rs). One row per job that has attempts: every test of the job
-- with its attempts folded (counts, whether the last attempt failed,
-- seconds), in one compact blob written at ingest. Reports read a run's
-- history from these rows instead of grouping its attempts; `tollgate
-- store prune` keeps them. Jobs stored before this version have none until
-- `tollgate store migrate` builds them (reports read their attempts
-- meanwhile: the same answers, slower).
CREATE TABLE job_rollups (
    job_id  INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    tests   INTEGER NOT NULL,  -- entries in `summary`
    summary BLOB    NOT NULL
);
CREATE INDEX job_rollups_run ON job_rollups (run_id);
