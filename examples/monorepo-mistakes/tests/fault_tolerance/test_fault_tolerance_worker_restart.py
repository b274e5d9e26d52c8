"""Stress: workers die and come back while requests keep flowing. Bounded to
a few hundred iterations and a wall-clock budget, so it always ends."""

import random
import time

import pytest

from dynamo.common.gpu import visible_gpu_count
from dynamo.vllm import FakeEngine

ITERATIONS = 300
BUDGET_S = 20.0


@pytest.mark.weekly
@pytest.mark.stress
@pytest.mark.gpu_0
@pytest.mark.router
def test_requests_survive_worker_churn(make_frontend):
    fe, client = make_frontend(workers=3)
    rng = random.Random(42)
    deadline = time.monotonic() + BUDGET_S
    served = 0
    for i in range(ITERATIONS):
        assert time.monotonic() < deadline, f"budget exceeded after {i} iterations"
        # One failure at a time: the frontend migrates a request once.
        if i % 10 == 5 and len(fe.engines) > 1 and all(e.alive for e in fe.engines.values()):
            victim = rng.choice(sorted(fe.engines))
            fe.engines[victim].alive = False  # dies; the frontend migrates and drops it
        if i % 10 == 9 and len(fe.engines) < 3:
            new_id = max(fe.engines) + 1
            fe.add_engine(FakeEngine(new_id, block_size=4))
        out = client.complete(f"tenant {i % 7} says hello " * 2 + str(i), max_tokens=2)
        served += out["worker_id"] in fe.engines
    assert served == ITERATIONS
    assert all(line.startswith("frontend - ") for line in fe.failures)


@pytest.mark.nightly
@pytest.mark.e2e
@pytest.mark.gpu_4
@pytest.mark.vllm
@pytest.mark.skipif(visible_gpu_count() < 4, reason="needs 4 GPUs")
def test_failover_across_four_gpu_workers(make_frontend):
    fe, client = make_frontend(workers=4)
    for victim in (1, 2, 3):
        fe.engines[victim].alive = False
        assert client.complete(f"after losing {victim}", max_tokens=1)["worker_id"] > victim
