"""The fake engine: deterministic generation plus vLLM-style prefix caching."""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dynamo.common.tokens import block_hashes


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int = 16
    temperature: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_tokens < 0:
            raise ValueError("max_tokens must be >= 0")
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")


@dataclass(frozen=True)
class KvEvent:
    """What a worker publishes when its cache changes (``stored``/``removed``)."""

    worker_id: int
    kind: str
    hashes: tuple[int, ...]


class BlockStore(Protocol):
    def contains(self, block: int) -> bool: ...

    def touch(self, block: int) -> None: ...

    def store(self, block: int) -> list[int]:
        """Stores a block; returns the blocks evicted from the device."""
        ...


class LruBlockStore:
    """Device blocks with least-recently-used eviction."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._blocks: OrderedDict[int, None] = OrderedDict()

    def contains(self, block: int) -> bool:
        return block in self._blocks

    def touch(self, block: int) -> None:
        self._blocks.move_to_end(block)

    def store(self, block: int) -> list[int]:
        self._blocks[block] = None
        self._blocks.move_to_end(block)
        evicted = []
        while len(self._blocks) > self.capacity:
            victim, _ = self._blocks.popitem(last=False)
            evicted.append(victim)
        return evicted

    def __len__(self) -> int:
        return len(self._blocks)


@dataclass
class GenerationResult:
    tokens: list[int]
    cached_tokens: int
    finish_reason: str


@dataclass
class EngineStats:
    requests: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    generated_tokens: int = 0


@dataclass
class FakeEngine:
    worker_id: int
    block_size: int = 4
    blocks: BlockStore = field(default_factory=lambda: LruBlockStore(256))
    event_sink: Callable[[KvEvent], None] | None = None
    stats: EngineStats = field(default_factory=EngineStats)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.alive = True

    def generate(self, prompt: Sequence[int], params: SamplingParams) -> GenerationResult:
        if not self.alive:
            raise RuntimeError(f"worker {self.worker_id} is down")
        with self._lock:
            cached = self._prefill(prompt)
            tokens = list(self._decode(prompt, params))
            self.stats.requests += 1
            self.stats.prompt_tokens += len(prompt)
            self.stats.cached_tokens += cached
            self.stats.generated_tokens += len(tokens)
        return GenerationResult(tokens=tokens, cached_tokens=cached, finish_reason="length")

    def _prefill(self, prompt: Sequence[int]) -> int:
        """Counts the cached prefix, then caches the prompt's blocks."""
        hashes = block_hashes(prompt, self.block_size)
        cached_blocks = 0
        for h in hashes:
            if not self.blocks.contains(h):
                break
            self.blocks.touch(h)
            cached_blocks += 1
        stored, removed = [], []
        for h in hashes[cached_blocks:]:
            stored.append(h)
            removed.extend(self.blocks.store(h))
        self._publish("stored", stored)
        self._publish("removed", removed)
        return cached_blocks * self.block_size

    def _decode(self, prompt: Sequence[int], params: SamplingParams) -> Iterator[int]:
        """Lowercase letters derived from the prompt; seeded sampling when
        ``temperature > 0`` so the output is still reproducible."""
        rng = random.Random(params.seed if params.seed is not None else sum(prompt))
        state = sum(prompt) % 26
        for i in range(params.max_tokens):
            if params.temperature > 0:
                state = rng.randrange(26)
            else:
                state = (state * 7 + i + 3) % 26
            yield ord("a") + state

    def _publish(self, kind: str, hashes: list[int]) -> None:
        if hashes and self.event_sink is not None:
            self.event_sink(KvEvent(self.worker_id, kind, tuple(hashes)))
