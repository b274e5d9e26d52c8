//! Clustering benchmark: 1,000 synthetic failures from 12 root causes, with
//! numbers, paths, ids, addresses and timestamps varying per failure, must
//! land in 12 clusters (± 1) in under a second.
//!
//! `cargo run --release -p tollgate-triage --example cluster_bench [-- N]`

use std::time::Instant;

use tollgate_triage::{Failure, Triager};

/// A small deterministic generator (no dependency, same output everywhere).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn uuid(&mut self) -> String {
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            self.next() as u32,
            self.below(0x10000),
            self.below(0x1000),
            self.below(0x1000),
            self.next() * self.next() % 0xffff_ffff_ffff
        )
    }
}

type Template = fn(&mut Lcg) -> (String, String, bool);

fn templates() -> Vec<Template> {
    vec![
        |r| {
            (format!("tests/kvbm/test_k.py:{}: in block_pool\n    return Pool({})\nE   RuntimeError: block pool exhausted: {} of {} blocks in use at 0x7f{:08x}", r.below(400), r.below(99), r.below(9000), r.below(9000), r.next()), "tests/kvbm/test_k.py".into(), false)
        },
        |r| {
            (format!("E   AssertionError: expected 200, got {} from http://127.0.0.1:{}/v1/completions", 500 + r.below(4), 8000 + r.below(999)), "tests/serve/test_serve_completions.py".into(), false)
        },
        |r| {
            (format!("thread 'kv_router::tests::score_{}' panicked at lib/llm/src/kv_router/scoring.rs:{}:{}:\nassertion `left == right` failed\n  left: {}\n right: {}", r.below(50), 100 + r.below(50), r.below(40), r.below(100), r.below(100)), "lib/llm/src/kv_router/scoring.rs".into(), false)
        },
        |r| {
            (format!("E   FileNotFoundError: [Errno 2] No such file or directory: '/tmp/pytest-of-ci/pytest-{}/test_model{}/config.json'", r.below(500), r.below(40)), "tests/serve/test_serve_multi_gpu.py".into(), false)
        },
        |r| {
            (format!("INFO worker {} ready\nplanner - {} - state=draining v{}.{} scale-up rejected: {} replicas over quota", r.below(9), r.uuid(), r.below(3), r.below(20), r.below(16)), "tests/fault_tolerance/test_fault_tolerance_migration.py".into(), false)
        },
        |r| {
            (format!("requests.exceptions.ConnectionError: HTTPConnectionPool(host='10.0.{}.{}', port={}): Max retries exceeded (Caused by NewConnectionError: [Errno 111] Connection refused)", r.below(255), r.below(255), 2000 + r.below(9000)), "tests/serve/test_serve_planner_metrics.py".into(), false)
        },
        |r| {
            (format!("error: could not compile `dynamo-llm` (lib) due to {} previous errors\nerror[E0308]: mismatched types\n --> lib/llm/src/engine.rs:{}:{}", 1 + r.below(9), r.below(900), r.below(80)), "lib/llm/src/engine.rs".into(), false)
        },
        |r| {
            (format!("process aborted with signal 11 (SIGSEGV) after {}.{}s in nixl transfer at 0x{:012x}", r.below(90), r.below(99), r.next()), "lib/nixl/tests/transfer.rs".into(), false)
        },
        |r| {
            (
                format!(
                    "timeout: test ran {}s, longer than its {}s limit",
                    60 + r.below(600),
                    60
                ),
                "tests/benchmark/test_benchmark_router_throughput.py".into(),
                true,
            )
        },
        |r| {
            (format!("OSError: [Errno 28] No space left on device: '/var/lib/docker/overlay2/{:x}/merged/cache'", r.next()), "tests/kvbm/test_kvbm_offload.py".into(), false)
        },
        |r| {
            (
                format!(
                    "E   KeyError: 'model_name' (config loaded {}-{:02}-{:02}T{:02}:{:02}:{:02}Z)",
                    2020 + r.below(6),
                    1 + r.below(12),
                    1 + r.below(28),
                    r.below(24),
                    r.below(60),
                    r.below(60)
                ),
                "components/backends/vllm/tests/test_vllm_args.py".into(),
                false,
            )
        },
        |r| {
            (format!("E   ValueError: tensor_parallel_size={} does not divide {} attention heads (request {})", 1 + r.below(8), 8 + r.below(120), r.uuid()), "components/backends/vllm/tests/test_vllm_tensor_parallel.py".into(), false)
        },
    ]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let config: tollgate_config::Config = toml::from_str(
        r#"
[components.kvbm]
paths = ["tests/kvbm/**"]
[components.router]
paths = ["lib/llm/src/kv_router/**"]
[components.planner]
paths = []
[components.nixl]
paths = ["lib/nixl/**"]
[frameworks.vllm]
paths = ["components/backends/vllm/**"]
"#,
    )
    .expect("bench config");
    let triager = Triager::new(&config).expect("triager");
    let templates = templates();
    let mut rng = Lcg(42);
    let failures: Vec<Failure> = (0..n)
        .map(|i| {
            let cause = i % templates.len();
            let (message, file, timed_out) = templates[cause](&mut rng);
            Failure {
                test_id: format!("{file}::test_{cause}_{i}"),
                file: Some(file),
                message,
                timed_out,
                ..Failure::default()
            }
        })
        .collect();
    let start = Instant::now();
    let clusters = triager.clusters(&failures, &|_, _| None);
    let elapsed = start.elapsed();
    for c in &clusters {
        println!(
            "{:>5}  {:<15} {}",
            c.failures,
            c.class.as_str(),
            c.signature
        );
    }
    // Purity: the root cause of each failure is in its test id
    // (`::test_{cause}_{i}`), written when it was generated.
    let mixed = clusters
        .iter()
        .filter(|c| {
            let causes: std::collections::BTreeSet<&str> = c
                .tests
                .iter()
                .filter_map(|t| t.rsplit("::test_").next()?.split('_').next())
                .collect();
            causes.len() != 1
        })
        .count();
    let ok =
        clusters.len().abs_diff(templates.len()) <= 1 && mixed == 0 && elapsed.as_secs_f64() < 1.0;
    println!(
        "failures {n}, root causes {}, clusters {}, clusters mixing root causes {mixed}, time {:.3} s ({})",
        templates.len(),
        clusters.len(),
        elapsed.as_secs_f64(),
        if ok {
            "within 12 ± 1, each cluster one root cause, < 1 s"
        } else {
            "OUTSIDE the bar"
        }
    );
    if !ok {
        std::process::exit(1);
    }
}
