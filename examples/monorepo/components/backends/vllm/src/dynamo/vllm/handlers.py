"""Turns an OpenAI-style completion request into an engine call."""

from __future__ import annotations

from typing import Any

from dynamo.common.tokens import decode, encode
from dynamo.vllm.engine import FakeEngine, SamplingParams

MAX_TOKENS_LIMIT = 4096


class RequestError(ValueError):
    """A client error: becomes HTTP 400."""


def sampling_params(body: dict[str, Any]) -> SamplingParams:
    max_tokens = body.get("max_tokens", 16)
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        raise RequestError("max_tokens must be an integer")
    if not 0 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise RequestError(f"max_tokens must be between 0 and {MAX_TOKENS_LIMIT}")
    temperature = body.get("temperature", 0.0)
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or temperature < 0:
        raise RequestError("temperature must be a non-negative number")
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise RequestError("seed must be an integer")
    return SamplingParams(max_tokens=max_tokens, temperature=float(temperature), seed=seed)


def prompt_tokens(body: dict[str, Any]) -> list[int]:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise RequestError("prompt must be a non-empty string")
    return encode(prompt)


def handle_completion(engine: FakeEngine, body: dict[str, Any]) -> dict[str, Any]:
    tokens = prompt_tokens(body)
    result = engine.generate(tokens, sampling_params(body))
    return {
        "text": decode(result.tokens),
        "finish_reason": result.finish_reason,
        "usage": {
            "prompt_tokens": len(tokens),
            "completion_tokens": len(result.tokens),
            "cached_tokens": result.cached_tokens,
        },
        "worker_id": engine.worker_id,
    }
