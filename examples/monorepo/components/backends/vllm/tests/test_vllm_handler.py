"""Request validation and the completion handler. ``CompletionChecks`` carries
the marks and the shared tests; each ``Test*`` subclass inherits both."""

import pytest

from dynamo.vllm import FakeEngine, RequestError, handle_completion
from dynamo.vllm.handlers import sampling_params


@pytest.mark.pre_merge
@pytest.mark.unit
@pytest.mark.gpu_0
@pytest.mark.vllm
class TestSamplingParams:
    def test_defaults(self):
        p = sampling_params({})
        assert (p.max_tokens, p.temperature, p.seed) == (16, 0.0, None)

    def test_booleans_are_not_numbers(self):
        with pytest.raises(RequestError, match="max_tokens"):
            sampling_params({"max_tokens": True})
        with pytest.raises(RequestError, match="temperature"):
            sampling_params({"temperature": False})

    def test_limits(self):
        with pytest.raises(RequestError, match="between 0 and 4096"):
            sampling_params({"max_tokens": 5000})
        with pytest.raises(RequestError, match="non-negative"):
            sampling_params({"temperature": -0.5})


@pytest.mark.pre_merge
@pytest.mark.unit
@pytest.mark.gpu_0
@pytest.mark.vllm
class CompletionChecks:
    body: dict = {}

    def test_output_is_deterministic(self):
        body = {"prompt": "Hello", "max_tokens": 8, **self.body}
        a = handle_completion(FakeEngine(1), body)
        b = handle_completion(FakeEngine(2), body)
        assert a["text"] == b["text"]
        assert len(a["text"]) == 8 and a["text"].isalpha()

    def test_usage_is_reported(self):
        out = handle_completion(FakeEngine(7), {"prompt": "abcdefgh", "max_tokens": 3, **self.body})
        assert out["usage"] == {"prompt_tokens": 8, "completion_tokens": 3, "cached_tokens": 0}
        assert out["worker_id"] == 7


class TestGreedyCompletion(CompletionChecks):
    body = {"temperature": 0}


class TestSeededSampling(CompletionChecks):
    body = {"temperature": 0.8, "seed": 1234}
