"""Worker command line, checked against the GPUs the worker can see."""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerArgs:
    model: str
    tensor_parallel_size: int
    block_size: int
    num_gpu_blocks: int
    enable_prefix_caching: bool


class ArgsError(ValueError):
    pass


class _Parser(argparse.ArgumentParser):
    """Raises instead of printing usage and exiting: a library must not end the process."""

    def error(self, message: str):  # type: ignore[override]
        raise ArgsError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dynamo.vllm", exit_on_error=False)
    p.add_argument("--model", required=True)
    p.add_argument("--tensor-parallel-size", type=int, default=1)
    p.add_argument("--block-size", type=int, default=16)
    p.add_argument("--num-gpu-blocks", type=int, default=1024)
    p.add_argument("--no-enable-prefix-caching", dest="enable_prefix_caching", action="store_false")
    return p


def parse_args(argv: list[str], visible_gpus: int | None = None) -> WorkerArgs:
    """Parses and validates; ``visible_gpus=None`` skips the device check
    (the fake engine can run anywhere)."""
    try:
        ns, unknown = _parser().parse_known_args(argv)
    except argparse.ArgumentError as e:
        raise ArgsError(str(e)) from e
    if unknown:
        raise ArgsError(f"unrecognized arguments: {' '.join(unknown)}")
    if ns.tensor_parallel_size < 1:
        raise ArgsError("--tensor-parallel-size must be >= 1")
    if ns.block_size not in (1, 2, 4, 8, 16, 32, 64, 128):
        raise ArgsError(f"--block-size must be a power of two <= 128, got {ns.block_size}")
    if ns.num_gpu_blocks < 1:
        raise ArgsError("--num-gpu-blocks must be >= 1")
    if visible_gpus is not None and ns.tensor_parallel_size > visible_gpus:
        raise ArgsError(
            f"--tensor-parallel-size {ns.tensor_parallel_size} needs "
            f"{ns.tensor_parallel_size} GPUs, {visible_gpus} visible"
        )
    return WorkerArgs(
        model=ns.model,
        tensor_parallel_size=ns.tensor_parallel_size,
        block_size=ns.block_size,
        num_gpu_blocks=ns.num_gpu_blocks,
        enable_prefix_caching=ns.enable_prefix_caching,
    )
