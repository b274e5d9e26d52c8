"""The prime path on a CPU: HTTP frontend -> KV router -> vLLM worker."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.gpu_0, pytest.mark.vllm]


@pytest.mark.pre_merge
def test_health_and_models(make_frontend):
    fe, client = make_frontend(workers=2)
    assert client.get("/health") == (200, {"status": "ok", "workers": [1, 2]})
    status, models = client.get("/v1/models")
    assert status == 200
    assert [m["id"] for m in models["data"]] == [fe.model]


@pytest.mark.pre_merge
def test_completion_round_trip(make_frontend):
    _, client = make_frontend()
    out = client.complete("Tell me about Dynamo", max_tokens=12)
    assert out["object"] == "text_completion"
    assert out["id"].startswith("cmpl-")
    assert len(out["choices"][0]["text"]) == 12
    assert out["usage"]["prompt_tokens"] == len("Tell me about Dynamo")


@pytest.mark.pre_merge
@pytest.mark.router
def test_repeated_prefix_is_routed_to_the_caching_worker(make_frontend):
    _, client = make_frontend(workers=3)
    system = "System: answer briefly and precisely. " * 3
    first = client.complete(system + "What is KV caching?", max_tokens=4)
    second = client.complete(system + "What is a router?", max_tokens=4)
    assert second["worker_id"] == first["worker_id"]
    assert second["usage"]["cached_tokens"] >= 100


@pytest.mark.pre_merge
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "Expecting property name"),
        (b'{"prompt": ""}', "prompt must be a non-empty string"),
        (b'{"prompt": "hi", "max_tokens": -1}', "max_tokens must be between"),
    ],
    ids=["malformed-json", "empty-prompt", "negative-max-tokens"],
)
def test_bad_requests_get_400(make_frontend, raw, message):
    _, client = make_frontend(workers=1)
    status, body = client.post("/v1/completions", raw=raw)
    assert status == 400
    assert message in body["error"]["message"]


@pytest.mark.premerge
def test_unknown_route_and_model_get_404(make_frontend):
    _, client = make_frontend(workers=1)
    assert client.get("/v2/nothing")[0] == 404
    status, body = client.post("/v1/completions", {"model": "other/model", "prompt": "hi"})
    assert status == 404
    assert "not served here" in body["error"]["message"]


@pytest.mark.parametrize(
    "prompt_chars",
    [
        pytest.param(64, marks=pytest.mark.pre_merge, id="short"),
        pytest.param(60_000, marks=[pytest.mark.nightly, pytest.mark.slow], id="long"),
    ],
)
def test_prompt_lengths(make_frontend, prompt_chars):
    _, client = make_frontend(workers=1)
    out = client.complete("p" * prompt_chars, max_tokens=2)
    assert out["usage"]["prompt_tokens"] == prompt_chars
