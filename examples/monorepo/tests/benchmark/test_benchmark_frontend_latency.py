"""Release benchmark: request latency through the HTTP frontend, checked
against the absolute limit (p99 < 200 ms on a CPU with the fake engine)."""

import json
import statistics
import time

import pytest


@pytest.mark.release
@pytest.mark.benchmark
@pytest.mark.gpu_0
@pytest.mark.vllm
def test_completion_latency_percentiles(make_frontend, results_dir):
    _, client = make_frontend(workers=2)
    latencies_ms = []
    for i in range(100):
        start = time.perf_counter()
        client.complete(f"benchmark prompt {i % 10} " * 8, max_tokens=16)
        latencies_ms.append((time.perf_counter() - start) * 1000)
    q = statistics.quantiles(latencies_ms, n=100)
    result = {
        "name": "frontend_completion_latency",
        "unit": "ms",
        "value": statistics.median(latencies_ms),
        "p99": q[98],
        "samples": latencies_ms,
    }
    (results_dir / "frontend_completion_latency.json").write_text(json.dumps(result, indent=2))
    assert result["p99"] < 200, result
