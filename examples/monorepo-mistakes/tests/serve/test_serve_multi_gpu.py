"""Serving on GPU runners. Skipped (with the reason) where the GPUs are missing."""

import pytest

from dynamo.common.gpu import visible_gpu_count

pytestmark = [pytest.mark.post_merge, pytest.mark.e2e, pytest.mark.vllm]


@pytest.mark.gpu_0
@pytest.mark.gpu_1
@pytest.mark.skipif(visible_gpu_count() < 1, reason="needs 1 GPU; none visible")
def test_single_gpu_worker_serves(make_frontend):
    _, client = make_frontend(workers=1)
    assert client.complete("hello", max_tokens=3)["worker_id"] == 1


@pytest.mark.gpu_2
@pytest.mark.skipif(visible_gpu_count() < 2, reason="needs 2 GPUs")
def test_two_workers_share_the_load(make_frontend):
    fe, client = make_frontend(workers=2, capacity=1)
    # Occupy both workers' only slot, as two in-flight requests would.
    busy = {fe.router.select([1, 2, 3, 4]), fe.router.select([1, 2, 3, 4])}
    assert busy == {1, 2}
    status, body = client.post("/v1/completions", {"model": fe.model, "prompt": "hi"})
    assert status == 503, body
    fe.router.release(2)
    assert client.complete("hi", max_tokens=1)["worker_id"] == 2
