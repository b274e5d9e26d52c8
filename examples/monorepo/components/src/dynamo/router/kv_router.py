"""Chooses a worker: lowest (blocks to prefill + load penalty)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from dynamo.common.tokens import block_hashes
from dynamo.router.indexer import KvIndexer


class NoWorkerAvailable(RuntimeError):
    pass


@dataclass
class WorkerLoad:
    active_requests: int = 0
    capacity: int = 8

    @property
    def usage(self) -> float:
        return self.active_requests / self.capacity if self.capacity else 1.0


class KvRouter:
    def __init__(self, block_size: int = 4, load_penalty: float = 4.0) -> None:
        self.block_size = block_size
        self.load_penalty = load_penalty
        self.indexer = KvIndexer()
        self._workers: dict[int, WorkerLoad] = {}
        self._lock = threading.Lock()

    def add_worker(self, worker: int, capacity: int = 8) -> None:
        with self._lock:
            self._workers[worker] = WorkerLoad(capacity=capacity)

    def remove_worker(self, worker: int) -> None:
        with self._lock:
            self._workers.pop(worker, None)
        self.indexer.clear_worker(worker)

    @property
    def workers(self) -> list[int]:
        with self._lock:
            return sorted(self._workers)

    def cost(self, worker: int, request_blocks: int, overlap: int, load: WorkerLoad) -> float:
        return (request_blocks - min(overlap, request_blocks)) + self.load_penalty * load.usage

    def select(self, tokens: Sequence[int]) -> int:
        """The cheapest worker with room; ties go to the lowest id."""
        hashes = block_hashes(tokens, self.block_size)
        overlaps = self.indexer.overlap_scores(hashes)
        with self._lock:
            candidates = [
                (self.cost(w, len(hashes), overlaps.get(w, 0), load), w)
                for w, load in self._workers.items()
                if load.active_requests < load.capacity
            ]
            if not candidates:
                raise NoWorkerAvailable(f"no worker has room ({len(self._workers)} registered)")
            _, chosen = min(candidates)
            self._workers[chosen].active_requests += 1
        return chosen

    def release(self, worker: int) -> None:
        """Called when a request finishes."""
        with self._lock:
            load = self._workers.get(worker)
            if load is not None and load.active_requests > 0:
                load.active_requests -= 1
