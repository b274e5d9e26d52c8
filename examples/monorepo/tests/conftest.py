"""Fixtures for the end-to-end, benchmark and stress tests: a frontend on an
ephemeral 127.0.0.1 port with fake vLLM workers, and a tiny JSON HTTP client.
Only fixtures live here: no hook adds or changes marks."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dynamo.frontend import Frontend
from dynamo.vllm import FakeEngine

MODEL = "Qwen/Qwen3-0.6B"


class Client:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url
        self.timeout = timeout

    def request(self, method: str, path: str, body: object | None = None, raw: bytes | None = None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, _decode(resp.read(), resp.headers.get_content_type())
        except urllib.error.HTTPError as e:
            with e:
                return e.code, _decode(e.read(), e.headers.get_content_type())

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, body: object | None = None, raw: bytes | None = None):
        return self.request("POST", path, body, raw)

    def complete(self, prompt: str, **params):
        status, body = self.post("/v1/completions", {"model": MODEL, "prompt": prompt, **params})
        assert status == 200, body
        return body


def _decode(data: bytes, content_type: str):
    return json.loads(data) if content_type == "application/json" else data.decode()


@pytest.fixture
def make_frontend():
    """Factory: ``make_frontend(workers=2, blocks=...)`` -> (frontend, client)."""
    started = []

    def make(workers: int = 2, block_store_factory=None, capacity: int = 8):
        fe = Frontend(MODEL)
        for w in range(1, workers + 1):
            kwargs = {"blocks": block_store_factory(w)} if block_store_factory else {}
            fe.add_engine(FakeEngine(w, block_size=4, **kwargs), capacity=capacity)
        url = fe.start("127.0.0.1", 0)
        started.append(fe)
        return fe, Client(url)

    yield make
    for fe in started:
        fe.stop()


@pytest.fixture
def results_dir(tmp_path) -> Path:
    """Where benchmarks write their JSON: ``$BENCHMARK_RESULTS_DIR`` if set
    (CI uploads it), else the test's temporary directory."""
    target = Path(os.environ.get("BENCHMARK_RESULTS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target
