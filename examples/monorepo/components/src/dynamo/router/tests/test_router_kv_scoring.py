"""Overlap scoring and worker selection. Marks come from a class decorator
(``TestOverlapScores``) and a class-level ``pytestmark`` (``TestWorkerSelection``)."""

import pytest

from dynamo.common.tokens import block_hashes
from dynamo.router import KvIndexer, KvRouter, NoWorkerAvailable


@pytest.mark.pre_merge
@pytest.mark.unit
@pytest.mark.gpu_0
@pytest.mark.router
class TestOverlapScores:
    def test_counts_leading_blocks_per_worker(self):
        idx = KvIndexer()
        idx.stored(1, [10, 11, 12])
        idx.stored(2, [10, 99])
        assert idx.overlap_scores([10, 11, 12, 13]) == {1: 3, 2: 1}

    def test_gap_ends_the_prefix(self):
        idx = KvIndexer()
        idx.stored(1, [10, 12])
        assert idx.overlap_scores([10, 11, 12]) == {1: 1}

    def test_removed_blocks_stop_counting(self):
        idx = KvIndexer()
        idx.stored(1, [1, 2, 3])
        idx.removed(1, [2])
        assert idx.overlap_scores([1, 2, 3]) == {1: 1}
        idx.removed(1, [42])  # unknown blocks are ignored
        assert len(idx) == 2

    def test_clearing_a_worker_forgets_only_its_blocks(self):
        idx = KvIndexer()
        idx.stored(1, [1, 2])
        idx.stored(2, [1])
        idx.clear_worker(1)
        assert idx.overlap_scores([1, 2]) == {2: 1}
        assert len(idx) == 1


class TestWorkerSelection:
    pytestmark = [pytest.mark.pre_merge, pytest.mark.unit, pytest.mark.gpu_0, pytest.mark.router]

    def router(self, workers=(1, 2, 3), capacity=8):
        r = KvRouter(block_size=4)
        for w in workers:
            r.add_worker(w, capacity)
        return r

    def test_prefers_the_worker_holding_the_prefix(self):
        r = self.router()
        tokens = list(range(32))
        r.indexer.stored(2, block_hashes(tokens, 4))
        assert r.select(tokens) == 2

    def test_ties_go_to_the_lowest_id(self):
        assert self.router(workers=(3, 1, 2)).select([1, 2, 3, 4]) == 1

    def test_busy_workers_lose_to_idle_ones(self):
        r = self.router(workers=(1, 2), capacity=2)
        tokens = list(range(8))
        r.indexer.stored(1, block_hashes(tokens, 4)[:1])
        assert r.select(tokens) == 1
        assert r.select(tokens) == 2  # worker 1 is half full now: one cached block is not worth it

    def test_no_room_anywhere_raises(self):
        r = self.router(workers=(1,), capacity=1)
        r.select([1, 2, 3, 4])
        with pytest.raises(NoWorkerAvailable, match="no worker has room"):
            r.select([1, 2, 3, 4])
        r.release(1)
        assert r.select([1, 2, 3, 4]) == 1
