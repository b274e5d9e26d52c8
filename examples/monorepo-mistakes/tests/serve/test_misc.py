"""Assorted serving checks (the file name says nothing about what it tests)."""

import pytest


@pytest.mark.pre_merge
@pytest.mark.e2e
@pytest.mark.gpu_0
@pytest.mark.vllm
def test_metrics_endpoint_is_prometheus_text(make_frontend):
    _, client = make_frontend(workers=1)
    client.complete("hello", max_tokens=2)
    status, text = client.get("/metrics")
    assert status == 200
    assert "dynamo_frontend_requests_total 1" in text.splitlines()
