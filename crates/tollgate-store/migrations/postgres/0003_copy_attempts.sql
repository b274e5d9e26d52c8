-- Schema version 3.
--
-- Attempts are written by COPY, and each row pays only for what a query
-- uses. Foreign keys on the biggest table cost three trigger calls per row
-- (more than the insert itself) and its surrogate key a sequence call and an
-- index entry nothing reads. Ingest writes run, job and test ids it has just
-- read or created in the same transaction; `tollgate store prune` deletes
-- attempts itself.
ALTER TABLE test_attempts DROP CONSTRAINT IF EXISTS test_attempts_run_id_fkey;
ALTER TABLE test_attempts DROP CONSTRAINT IF EXISTS test_attempts_job_id_fkey;
ALTER TABLE test_attempts DROP CONSTRAINT IF EXISTS test_attempts_test_id_fkey;
ALTER TABLE test_attempts DROP COLUMN IF EXISTS id;

-- Retention: a run whose raw results (attempts, coverage by file) were
-- pruned keeps its row, jobs, benchmark samples and verdicts.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS pruned BOOLEAN NOT NULL DEFAULT FALSE;
