"""A ``BlockStore`` for the engine with device -> host -> disk offload.

The disk tier writes one small file per block so a test can see offloaded
blocks on disk; real KVBM moves tensors, this moves their hashes.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path


class TieredBlockStore:
    def __init__(self, device_blocks: int, host_blocks: int, disk_dir: Path | None = None) -> None:
        if device_blocks < 1 or host_blocks < 0:
            raise ValueError("device_blocks must be >= 1 and host_blocks >= 0")
        self.device_capacity = device_blocks
        self.host_capacity = host_blocks
        self.disk_dir = disk_dir
        if disk_dir is not None:
            disk_dir.mkdir(parents=True, exist_ok=True)
        self._device: OrderedDict[int, None] = OrderedDict()
        self._host: OrderedDict[int, None] = OrderedDict()
        self.onboarded = {"host": 0, "disk": 0}
        self.dropped = 0

    def _disk_path(self, block: int) -> Path | None:
        return None if self.disk_dir is None else self.disk_dir / f"{block:016x}.blk"

    def tier_of(self, block: int) -> str | None:
        if block in self._device:
            return "device"
        if block in self._host:
            return "host"
        path = self._disk_path(block)
        if path is not None and path.exists():
            return "disk"
        return None

    def contains(self, block: int) -> bool:
        """Whether the block is cached in any tier. A hit in host or disk
        onboards it to the device: the engine asks because it is about to use it."""
        tier = self.tier_of(block)
        if tier is None:
            return False
        if tier != "device":
            self._onboard(block, tier)
        return True

    def touch(self, block: int) -> None:
        self._device.move_to_end(block)

    def store(self, block: int) -> list[int]:
        self._device[block] = None
        self._device.move_to_end(block)
        evicted = []
        while len(self._device) > self.device_capacity:
            victim, _ = self._device.popitem(last=False)
            evicted.append(victim)
            self._offload_to_host(victim)
        return evicted

    def _onboard(self, block: int, tier: str) -> None:
        if tier == "host":
            del self._host[block]
        else:
            path = self._disk_path(block)
            if path is not None:
                path.unlink(missing_ok=True)
        self.onboarded[tier] += 1
        self.store(block)

    def _offload_to_host(self, block: int) -> None:
        if self.host_capacity == 0:
            self._offload_to_disk(block)
            return
        self._host[block] = None
        while len(self._host) > self.host_capacity:
            victim, _ = self._host.popitem(last=False)
            self._offload_to_disk(victim)

    def _offload_to_disk(self, block: int) -> None:
        path = self._disk_path(block)
        if path is None:
            self.dropped += 1
        else:
            path.write_bytes(block.to_bytes(8, "little"))

    def disk_blocks(self) -> int:
        return 0 if self.disk_dir is None else sum(1 for _ in self.disk_dir.glob("*.blk"))
