"""Workers with tensor parallelism; each case carries its own hardware marker
through ``pytest.param(..., marks=...)``."""

import pytest

from dynamo.common.gpu import visible_gpu_count
from dynamo.vllm import FakeEngine, SamplingParams, parse_args

gpu1 = [pytest.mark.gpus_needed_1, pytest.mark.skipif(visible_gpu_count() < 1, reason="needs 1 GPU; none visible")]
gpu2 = [pytest.mark.gpu_2, pytest.mark.skipif(visible_gpu_count() < 2, reason="needs 2 GPUs")]


@pytest.mark.post_merge
@pytest.mark.integration
@pytest.mark.vllm
@pytest.mark.parametrize(
    "tp",
    [pytest.param(1, marks=gpu1, id="tp1"), pytest.param(2, marks=gpu2, id="tp2")],
)
def test_worker_starts_with_tensor_parallelism(tp):
    args = parse_args(["--model", "m", "--tensor-parallel-size", str(tp)], visible_gpus=visible_gpu_count())
    engine = FakeEngine(1, block_size=args.block_size)
    assert len(engine.generate([1] * 64, SamplingParams(max_tokens=4)).tokens) == 4
