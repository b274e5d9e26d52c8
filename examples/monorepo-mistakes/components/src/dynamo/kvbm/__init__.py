"""KV block manager: device blocks that overflow to host memory and then to
disk, and come back on a hit (onboarding)."""

from dynamo.kvbm.offload import TieredBlockStore

__all__ = ["TieredBlockStore"]
