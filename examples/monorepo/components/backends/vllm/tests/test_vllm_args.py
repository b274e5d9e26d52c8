"""Worker CLI parsing and GPU visibility."""

import pytest

from dynamo.common.gpu import visible_gpu_count
from dynamo.vllm import parse_args
from dynamo.vllm.args import ArgsError

pytestmark = [pytest.mark.pre_merge, pytest.mark.unit, pytest.mark.gpu_0, pytest.mark.vllm]


def test_defaults():
    args = parse_args(["--model", "Qwen/Qwen3-0.6B"])
    assert args.model == "Qwen/Qwen3-0.6B"
    assert (args.tensor_parallel_size, args.block_size, args.enable_prefix_caching) == (1, 16, True)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param([], "--model", id="missing-model"),
        pytest.param(["--model", "m", "--block-size", "3"], "power of two", id="odd-block-size"),
        pytest.param(["--model", "m", "--tensor-parallel-size", "0"], ">= 1", id="zero-tp"),
        pytest.param(["--model", "m", "--frobnicate"], "unrecognized", id="unknown-flag"),
    ],
)
def test_invalid_args_are_rejected(argv, message):
    with pytest.raises(ArgsError, match=message):
        parse_args(argv)


def test_tensor_parallel_is_checked_against_visible_gpus():
    assert parse_args(["--model", "m", "--tensor-parallel-size", "2"], visible_gpus=2).tensor_parallel_size == 2
    with pytest.raises(ArgsError, match="needs 2 GPUs, 1 visible"):
        parse_args(["--model", "m", "--tensor-parallel-size", "2"], visible_gpus=1)


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"CUDA_VISIBLE_DEVICES": "0,1"}, 2), ({"CUDA_VISIBLE_DEVICES": ""}, 0), ({"CUDA_VISIBLE_DEVICES": "-1"}, 0)],
    ids=["two", "empty", "hidden"],
)
def test_visible_gpu_count_from_env(env, expected, tmp_path):
    (tmp_path / "nvidia0").touch()  # must be ignored: the env var wins
    assert visible_gpu_count(env, dev=tmp_path) == expected
