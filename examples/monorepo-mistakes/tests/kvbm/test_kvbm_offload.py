"""KVBM end to end: a prefix pushed off the device by other traffic comes back
from host memory or disk instead of being recomputed."""

import pytest

from dynamo.kvbm import TieredBlockStore

pytestmark = [pytest.mark.nightly, pytest.mark.e2e, pytest.mark.gpu_0, pytest.mark.kvbm]

SYSTEM = "You are Dynamo's KV block manager test prompt. " * 2


def test_offloaded_prefix_is_onboarded_from_disk(make_frontend, tmp_path):
    stores = {}

    def store(worker):
        stores[worker] = TieredBlockStore(device_blocks=8, host_blocks=8, disk_dir=tmp_path / f"worker{worker}")
        return stores[worker]

    _, client = make_frontend(workers=1, block_store_factory=store)
    client.complete(SYSTEM + "first", max_tokens=2)
    for i in range(6):  # enough distinct traffic to push SYSTEM through host to disk
        client.complete(f"unrelated traffic number {i} " * 4, max_tokens=2)
    assert stores[1].disk_blocks() > 0
    again = client.complete(SYSTEM + "second", max_tokens=2)
    assert again["usage"]["cached_tokens"] >= len(SYSTEM) // 4 * 4 - 4
    assert stores[1].onboarded["disk"] > 0


def test_host_tier_hit_without_disk(make_frontend):
    stores = {}

    def store(worker):
        stores[worker] = TieredBlockStore(device_blocks=4, host_blocks=64)
        return stores[worker]

    _, client = make_frontend(workers=1, block_store_factory=store)
    client.complete("A" * 32, max_tokens=1)
    client.complete("B" * 32, max_tokens=1)
    again = client.complete("A" * 32, max_tokens=1)
    assert again["usage"]["cached_tokens"] == 32
    assert stores[1].onboarded == {"host": 8, "disk": 0}
    assert stores[1].dropped == 0
