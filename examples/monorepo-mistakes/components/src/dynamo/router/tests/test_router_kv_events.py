"""The router fed by real (fake-vLLM) engines' KV events, including from many
threads at once."""

import threading

import pytest

from dynamo.common.tokens import block_hashes, encode
from dynamo.router import KvRouter
from dynamo.vllm import FakeEngine, LruBlockStore, SamplingParams

pytestmark = [pytest.mark.pre_merge, pytest.mark.integration, pytest.mark.gpu_0, pytest.mark.router]


def fleet(n, capacity_blocks=64):
    router = KvRouter(block_size=4)
    engines = {}
    for w in range(1, n + 1):
        engines[w] = FakeEngine(w, block_size=4, blocks=LruBlockStore(capacity_blocks), event_sink=router.indexer.apply)
        router.add_worker(w, capacity=16)
    return router, engines


def serve(router, engines, text):
    tokens = encode(text)
    w = router.select(tokens)
    try:
        return w, engines[w].generate(tokens, SamplingParams(max_tokens=4))
    finally:
        router.release(w)


def test_engine_events_drive_routing():
    router, engines = fleet(3)
    system = "You are a helpful assistant. " * 4
    first, _ = serve(router, engines, system + "hello")
    second, result = serve(router, engines, system + "goodbye")
    assert second == first
    assert result.cached_tokens >= len(encode(system)) // 4 * 4 - 4


@pytest.mark.unit
def test_eviction_is_reflected_in_the_index():
    router, engines = fleet(1, capacity_blocks=4)
    serve(router, engines, "a" * 16)
    old = block_hashes(encode("a" * 16), 4)
    serve(router, engines, "b" * 16)
    assert router.indexer.overlap_scores(old) == {}


def test_concurrent_requests_keep_the_index_consistent():
    router, engines = fleet(4)
    prompts = [f"tenant-{i % 5} shared context " * 3 + f"q{i}" for i in range(200)]
    errors = []

    def worker(chunk):
        try:
            for p in chunk:
                serve(router, engines, p)
        except Exception as e:  # surfaced below; a thread must not swallow it
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(prompts[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not errors
    assert sum(e.stats.requests for e in engines.values()) == 200
    # Every indexed block is really held by the workers the index names.
    for w, engine in engines.items():
        for p in prompts:
            for h in block_hashes(encode(p), 4)[: router.indexer.overlap_scores(block_hashes(encode(p), 4)).get(w, 0)]:
                assert engine.blocks.contains(h)
