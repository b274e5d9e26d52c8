"""The engine on a real device. CI runs these on a 1-GPU runner; on a CPU box
they skip with a clear reason."""

import pytest

from dynamo.common.gpu import visible_gpu_count
from dynamo.common.tokens import encode
from dynamo.vllm import FakeEngine, LruBlockStore, SamplingParams

requires_gpu = pytest.mark.skipif(visible_gpu_count() < 1, reason="needs 1 GPU; none visible")

pytestmark = [pytest.mark.integration, pytest.mark.gpu_1, pytest.mark.vllm, requires_gpu]


@pytest.mark.pre_merge
def test_prefix_cache_hits_on_repeat():
    engine = FakeEngine(1, block_size=4)
    prompt = encode("the quick brown fox jumps")
    assert engine.generate(prompt, SamplingParams(max_tokens=4)).cached_tokens == 0
    assert engine.generate(prompt, SamplingParams(max_tokens=4)).cached_tokens == 24


@pytest.mark.pre_merge
def test_lru_eviction_publishes_removed_events():
    events = []
    engine = FakeEngine(1, block_size=4, blocks=LruBlockStore(2), event_sink=events.append)
    engine.generate(encode("aaaabbbb"), SamplingParams(max_tokens=1))
    engine.generate(encode("ccccdddd"), SamplingParams(max_tokens=1))
    assert [e.kind for e in events] == ["stored", "stored", "removed"]
    assert events[2].hashes == events[0].hashes


@pytest.mark.nightly
def test_long_context_generation():
    engine = FakeEngine(1, block_size=16, blocks=LruBlockStore(4096))
    result = engine.generate(encode("x" * 32_000), SamplingParams(max_tokens=2048))
    assert len(result.tokens) == 2048
    assert engine.stats.prompt_tokens == 32_000
