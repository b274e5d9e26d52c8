"""A fake vLLM backend worker.

No real vLLM: the engine "generates" deterministic text so the rest of the
stack (router, frontend, planner, kvbm) can be tested end to end on a CPU.
The surface mirrors the real worker: CLI args, a request handler, an engine
with prefix caching that publishes KV events.
"""

from dynamo.vllm.args import WorkerArgs, parse_args
from dynamo.vllm.engine import BlockStore, FakeEngine, KvEvent, LruBlockStore, SamplingParams
from dynamo.vllm.handlers import RequestError, handle_completion

__all__ = [
    "BlockStore",
    "FakeEngine",
    "KvEvent",
    "LruBlockStore",
    "RequestError",
    "SamplingParams",
    "WorkerArgs",
    "handle_completion",
    "parse_args",
]
