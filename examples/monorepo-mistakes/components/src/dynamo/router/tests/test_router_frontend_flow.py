"""A full HTTP round trip, written inside the router component's tests."""

import json
import urllib.request

import pytest

from dynamo.frontend import Frontend
from dynamo.vllm import FakeEngine


@pytest.mark.pre_merge
@pytest.mark.e2e
@pytest.mark.gpu_0
@pytest.mark.router
def test_frontend_routes_a_repeated_prefix_to_one_worker():
    fe = Frontend("m")
    for w in (1, 2):
        fe.add_engine(FakeEngine(w, block_size=4))
    url = fe.start()
    try:
        workers = []
        for suffix in ("one", "two"):
            body = json.dumps({"model": "m", "prompt": "shared system prompt " * 3 + suffix}).encode()
            req = urllib.request.Request(url + "/v1/completions", data=body, method="POST")
            with urllib.request.urlopen(req, timeout=5) as resp:
                workers.append(json.loads(resp.read())["worker_id"])
        assert workers[0] == workers[1]
    finally:
        fe.stop()
