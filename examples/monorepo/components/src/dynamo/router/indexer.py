"""Block hash -> workers that cache it, kept current from workers' KV events."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence


class KvIndexer:
    def __init__(self) -> None:
        self._blocks: dict[int, set[int]] = {}
        self._lock = threading.Lock()

    def stored(self, worker: int, hashes: Iterable[int]) -> None:
        with self._lock:
            for h in hashes:
                self._blocks.setdefault(h, set()).add(worker)

    def removed(self, worker: int, hashes: Iterable[int]) -> None:
        with self._lock:
            for h in hashes:
                holders = self._blocks.get(h)
                if holders is None:
                    continue
                holders.discard(worker)
                if not holders:
                    del self._blocks[h]

    def clear_worker(self, worker: int) -> None:
        with self._lock:
            for h in list(self._blocks):
                self._blocks[h].discard(worker)
                if not self._blocks[h]:
                    del self._blocks[h]

    def apply(self, event) -> None:
        """Applies a ``dynamo.vllm.KvEvent``-shaped object (duck-typed so the
        router does not depend on any backend)."""
        if event.kind == "stored":
            self.stored(event.worker_id, event.hashes)
        elif event.kind == "removed":
            self.removed(event.worker_id, event.hashes)
        else:
            raise ValueError(f"unknown KV event kind {event.kind!r}")

    def overlap_scores(self, hashes: Sequence[int]) -> dict[int, int]:
        """Leading blocks of ``hashes`` each worker holds; a gap ends a
        worker's prefix because later blocks are useless without it."""
        scores: dict[int, int] = {}
        with self._lock:
            alive: set[int] | None = None
            for h in hashes:
                holders = self._blocks.get(h, set())
                alive = set(holders) if alive is None else alive & holders
                if not alive:
                    break
                for w in alive:
                    scores[w] = scores.get(w, 0) + 1
        return scores

    def __len__(self) -> int:
        return len(self._blocks)
