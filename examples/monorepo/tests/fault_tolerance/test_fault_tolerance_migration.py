"""Request migration when a worker dies: a nightly e2e check and a
release-only stress run of the same flow."""

import re
import time

import pytest

pytestmark = [pytest.mark.gpu_0, pytest.mark.vllm]

FLOW_LINE = re.compile(r"^frontend - [0-9a-f-]{36} - worker=\d+ generate worker \d+ is down$")


@pytest.mark.nightly
@pytest.mark.e2e
def test_request_migrates_off_a_dead_worker(make_frontend):
    fe, client = make_frontend(workers=2)
    fe.engines[1].alive = False
    out = client.complete("hello", max_tokens=3)
    assert out["worker_id"] == 2
    assert sorted(fe.engines) == [2]
    assert len(fe.failures) == 1 and FLOW_LINE.match(fe.failures[0]), fe.failures


@pytest.mark.release
@pytest.mark.stress
def test_every_worker_dying_in_turn(make_frontend):
    fe, client = make_frontend(workers=8, capacity=64)
    deadline = time.monotonic() + 15
    for victim in range(1, 8):
        fe.engines[victim].alive = False
        for i in range(40):
            assert time.monotonic() < deadline
            assert client.complete(f"round {victim} request {i}", max_tokens=1)["worker_id"] > victim
    assert sorted(fe.engines) == [8]
    assert len(fe.failures) == 7
    status, _ = client.post("/v1/completions", {"model": fe.model, "prompt": "x"})
    assert status == 200
