"""KV-cache-aware routing: send a request to the worker that already caches
most of its prompt, unless that worker is too busy."""

from dynamo.router.indexer import KvIndexer
from dynamo.router.kv_router import KvRouter, NoWorkerAvailable, WorkerLoad

__all__ = ["KvIndexer", "KvRouter", "NoWorkerAvailable", "WorkerLoad"]
