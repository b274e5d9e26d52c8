"""An OpenAI-style HTTP frontend over the KV router and in-process workers.

Endpoints: ``GET /health``, ``GET /v1/models``, ``GET /metrics`` (Prometheus
text, read by the planner) and ``POST /v1/completions``. A request whose worker
dies is migrated to another worker once; the failure is logged in the
structured ``<component> - <uuid> - <state> <error>`` form.
"""

from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dynamo.common.logging import log_flow_error, new_flow_id
from dynamo.router import KvRouter, NoWorkerAvailable
from dynamo.vllm import FakeEngine, RequestError, handle_completion
from dynamo.vllm.handlers import prompt_tokens

MAX_BODY_BYTES = 1 << 20


class ModelNotFound(LookupError):
    """The request names a model this frontend does not serve (HTTP 404)."""


class Frontend:
    def __init__(self, model: str, router: KvRouter | None = None, max_attempts: int = 2) -> None:
        self.model = model
        self.router = router or KvRouter()
        self.engines: dict[int, FakeEngine] = {}
        self.max_attempts = max_attempts
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()
        self._stats_lock = threading.Lock()
        self.requests = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.failures: list[str] = []

    # -- workers -----------------------------------------------------------
    def add_engine(self, engine: FakeEngine, capacity: int = 8) -> None:
        engine.event_sink = self.router.indexer.apply
        self.engines[engine.worker_id] = engine
        self.router.add_worker(engine.worker_id, capacity)

    def remove_engine(self, worker_id: int) -> None:
        self.router.remove_worker(worker_id)
        self.engines.pop(worker_id, None)

    # -- request path ------------------------------------------------------
    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("model", self.model) != self.model:
            raise ModelNotFound(f"model {body.get('model')!r} is not served here")
        tokens = prompt_tokens(body)
        flow_id = new_flow_id()
        last_error: Exception | None = None
        for _ in range(self.max_attempts):
            worker = self.router.select(tokens)
            try:
                result = handle_completion(self.engines[worker], body)
            except RuntimeError as e:
                # The worker died: forget it and migrate the request.
                last_error = e
                self.failures.append(log_flow_error("frontend", flow_id, f"worker={worker} generate", e))
                self.remove_engine(worker)
                continue
            finally:
                self.router.release(worker)
            with self._stats_lock:
                self.requests += 1
                self.input_tokens += result["usage"]["prompt_tokens"]
                self.output_tokens += result["usage"]["completion_tokens"]
            return {
                "id": f"cmpl-{flow_id}",
                "object": "text_completion",
                "model": self.model,
                "choices": [{"index": 0, "text": result["text"], "finish_reason": result["finish_reason"]}],
                "usage": result["usage"],
                "worker_id": result["worker_id"],
            }
        raise NoWorkerAvailable(f"request failed after {self.max_attempts} attempts: {last_error}")

    def metrics_text(self) -> str:
        with self._stats_lock:
            elapsed = max(time.monotonic() - self._started, 1e-6)
            n = self.requests
            lines = [
                "# TYPE dynamo_frontend_requests_total counter",
                f"dynamo_frontend_requests_total {n}",
                f"dynamo_frontend_request_rate {n / elapsed:.6f}",
                f"dynamo_frontend_mean_input_tokens {self.input_tokens / n if n else 0:.3f}",
                f"dynamo_frontend_mean_output_tokens {self.output_tokens / n if n else 0:.3f}",
                f"dynamo_frontend_workers {len(self.engines)}",
            ]
        return "\n".join(lines) + "\n"

    # -- server lifecycle --------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Starts serving in a background thread; returns the base URL."""
        frontend = self

        class Handler(_Handler):
            pass

        Handler.frontend = frontend
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="frontend", daemon=True
        )
        self._thread.start()
        bound_host, bound_port = self._server.server_address[:2]
        return f"http://{bound_host}:{bound_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Frontend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    frontend: Frontend
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean

    def _send(self, status: HTTPStatus, payload: dict[str, Any] | str, content_type: str = "application/json") -> None:
        body = (payload if isinstance(payload, str) else json.dumps(payload)).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._send(status, {"error": {"message": message, "code": status.value}})

    def do_GET(self) -> None:
        fe = self.frontend
        if self.path == "/health":
            self._send(HTTPStatus.OK, {"status": "ok" if fe.engines else "no_workers", "workers": sorted(fe.engines)})
        elif self.path == "/v1/models":
            self._send(HTTPStatus.OK, {"object": "list", "data": [{"id": fe.model, "object": "model"}]})
        elif self.path == "/metrics":
            self._send(HTTPStatus.OK, fe.metrics_text(), "text/plain; version=0.0.4")
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}")

    def do_POST(self) -> None:
        if self.path != "/v1/completions":
            self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}")
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self._error(HTTPStatus.BAD_REQUEST, "bad Content-Length")
            return
        if not 0 < length <= MAX_BODY_BYTES:
            self._error(HTTPStatus.BAD_REQUEST, "body missing or too large")
            return
        try:
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict):
                raise RequestError("body must be a JSON object")
            self._send(HTTPStatus.OK, self.frontend.complete(body))
        except (json.JSONDecodeError, RequestError) as e:
            self._error(HTTPStatus.BAD_REQUEST, str(e))
        except ModelNotFound as e:
            self._error(HTTPStatus.NOT_FOUND, str(e))
        except NoWorkerAvailable as e:
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, str(e))
