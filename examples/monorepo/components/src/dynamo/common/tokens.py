"""Token blocks with chained hashes.

A block's hash covers its tokens and its parent's hash, so two prompts share a
block hash exactly when they share the whole prefix up to that block. The
router and the engines must agree on this function, which is why it lives here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def encode(text: str) -> list[int]:
    """A byte-level tokenizer: good enough for an example, and reversible."""
    return list(text.encode("utf-8"))


def decode(tokens: Sequence[int]) -> str:
    return bytes(t % 256 for t in tokens).decode("utf-8", errors="replace")


def block_hash(parent: int | None, tokens: Sequence[int]) -> int:
    h = hashlib.blake2b(digest_size=8)
    h.update((parent or 0).to_bytes(8, "little"))
    for t in tokens:
        h.update(int(t).to_bytes(4, "little", signed=False))
    return int.from_bytes(h.digest(), "little")


def block_hashes(tokens: Sequence[int], block_size: int) -> list[int]:
    """Hashes of every complete block; a trailing partial block is not cached."""
    if block_size <= 0:
        raise ValueError(f"block_size must be positive, got {block_size}")
    hashes: list[int] = []
    parent: int | None = None
    for start in range(0, len(tokens) - block_size + 1, block_size):
        parent = block_hash(parent, tokens[start : start + block_size])
        hashes.append(parent)
    return hashes
