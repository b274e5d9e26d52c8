-- tollgate history store, schema version 1 (PostgreSQL).
-- Times are Unix milliseconds; durations are seconds (DOUBLE PRECISION).

CREATE TABLE runs (
    id          BIGSERIAL PRIMARY KEY,
    run_key     TEXT    NOT NULL UNIQUE,      -- caller-supplied identity, e.g. CI_PIPELINE_ID
    commit_sha  TEXT    NOT NULL DEFAULT '',
    branch      TEXT    NOT NULL DEFAULT '',
    pipeline    TEXT    NOT NULL DEFAULT '',
    variables   TEXT    NOT NULL DEFAULT '{}', -- JSON object
    runner      TEXT    NOT NULL DEFAULT '',
    started_at  BIGINT  NOT NULL,
    finished_at BIGINT,
    complete    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX runs_baseline ON runs (pipeline, branch, complete, started_at);
CREATE INDEX runs_started ON runs (started_at);

CREATE TABLE jobs (
    id          BIGSERIAL PRIMARY KEY,
    run_id      BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT '',
    wall_ms     BIGINT,
    cpu_ms      BIGINT,
    peak_rss_kb BIGINT,
    -- Recomputed from test_attempts after every ingest into the job: how
    -- many tests ran and failed on their first attempt. Lets the flaky-rate
    -- query spot infrastructure failures without scanning every attempt.
    first_attempts BIGINT NOT NULL DEFAULT 0,
    first_failures BIGINT NOT NULL DEFAULT 0,
    UNIQUE (run_id, name)
);

-- Test ids are interned: attempts are the big table, and grouping by an
-- integer is what keeps the flaky-rate query fast.
CREATE TABLE tests (
    id   BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE test_attempts (
    id         BIGSERIAL PRIMARY KEY,
    run_id     BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    job_id     BIGINT  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    test_id    BIGINT  NOT NULL REFERENCES tests (id),
    attempt    BIGINT  NOT NULL,
    outcome    TEXT    NOT NULL,
    duration_s DOUBLE PRECISION    NOT NULL,
    message    TEXT,
    UNIQUE (run_id, job_id, test_id, attempt)
);
CREATE INDEX test_attempts_test ON test_attempts (test_id, run_id);
-- Failures are rare: the flaky-rate query starts from them.
CREATE INDEX test_attempts_failures ON test_attempts (run_id, test_id) WHERE outcome IN ('failed', 'error');

CREATE TABLE coverage_files (
    id              BIGSERIAL PRIMARY KEY,
    run_id          BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    path            TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    component       TEXT    NOT NULL DEFAULT '',
    lines_total     BIGINT  NOT NULL,
    lines_covered   BIGINT  NOT NULL,
    covered_lines   TEXT    NOT NULL, -- ranges: "1-4,7"
    uncovered_lines TEXT    NOT NULL,
    UNIQUE (run_id, path)
);

CREATE TABLE bench_samples (
    id     BIGSERIAL PRIMARY KEY,
    run_id BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    job_id BIGINT  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name   TEXT    NOT NULL,
    metric TEXT    NOT NULL,
    value  DOUBLE PRECISION    NOT NULL,
    unit   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX bench_samples_series ON bench_samples (name, metric, run_id);

CREATE TABLE gate_verdicts (
    id          BIGSERIAL PRIMARY KEY,
    run_id      BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    check_name  TEXT    NOT NULL,
    status      TEXT    NOT NULL, -- pass | alert | block
    measured    DOUBLE PRECISION,
    threshold   DOUBLE PRECISION,
    detail      TEXT    NOT NULL DEFAULT '',
    recorded_at BIGINT  NOT NULL
);
CREATE INDEX gate_verdicts_run ON gate_verdicts (run_id);
