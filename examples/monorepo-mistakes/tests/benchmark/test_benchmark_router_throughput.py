"""How many routing decisions per second the KV router makes. Writes a JSON
result (generic form: name, unit, value, samples) for the perf gate."""

import json
import time

import pytest

from dynamo.common.tokens import block_hashes
from dynamo.router import KvRouter


@pytest.mark.nightly
@pytest.mark.benchmark
@pytest.mark.gpu_0
@pytest.mark.router
def test_router_decisions_per_second(results_dir):
    router = KvRouter(block_size=16)
    for w in range(8):
        router.add_worker(w, capacity=10**9)
        router.indexer.stored(w, block_hashes(list(range(w * 1000, w * 1000 + 512)), 16))
    prompts = [list(range((i % 8) * 1000, (i % 8) * 1000 + 512)) for i in range(200)]

    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for p in prompts:
            router.release(router.select(p))
        samples.append(len(prompts) / (time.perf_counter() - start))

    result = {"name": "router_decisions_per_second", "unit": "1/s", "value": sorted(samples)[2], "samples": samples}
    (results_dir / "router_decisions_per_second.json").write_text(json.dumps(result, indent=2))
    assert result["value"] > 100, result
