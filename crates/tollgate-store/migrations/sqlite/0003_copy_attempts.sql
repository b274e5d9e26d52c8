-- Schema version 3.
--
-- (On PostgreSQL, attempts also lose their foreign keys and surrogate key
-- for COPY ingest; SQLite checks foreign keys cheaply and cannot drop them
-- without rebuilding the table, so its attempts stay as they are.)

-- Retention: a run whose raw results (attempts, coverage by file) were
-- pruned keeps its row, jobs, benchmark samples and verdicts.
ALTER TABLE runs ADD COLUMN pruned BOOLEAN NOT NULL DEFAULT 0;
