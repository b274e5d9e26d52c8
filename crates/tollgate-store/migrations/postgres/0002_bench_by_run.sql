-- Schema version 2: benchmark samples by run (the gate's history window
-- asks "did this run record benchmarks?", and `run_counts` counts them).
CREATE INDEX bench_samples_run ON bench_samples (run_id, job_id);
