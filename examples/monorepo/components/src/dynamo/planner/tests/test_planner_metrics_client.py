"""The planner reading a real HTTP metrics endpoint on 127.0.0.1."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dynamo.planner import Decision, ReplicaProfile, ScalingPlanner
from dynamo.planner.metrics_client import MetricsError, fetch_observation, parse_prometheus_text

pytestmark = [pytest.mark.integration, pytest.mark.gpu_0, pytest.mark.planner]


class MetricsServer:
    """Serves whatever ``self.body`` holds at ``/metrics``."""

    def __init__(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                data = owner.body.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.body = ""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/metrics"

    def set(self, rate, isl, osl):
        self.body = (
            "# HELP dynamo_frontend_request_rate requests per second\n"
            f"dynamo_frontend_request_rate {rate}\n"
            f'dynamo_frontend_latency{{quantile="0.5"}} 0.1\n'
            f"dynamo_frontend_mean_input_tokens {isl}\n"
            f"dynamo_frontend_mean_output_tokens {osl}\n"
        )


@pytest.fixture
def metrics_server():
    s = MetricsServer()
    s.thread.start()
    yield s
    s.server.shutdown()
    s.server.server_close()


@pytest.mark.pre_merge
def test_fetch_observation_from_http_endpoint(metrics_server):
    metrics_server.set(12.5, 800, 120)
    obs = fetch_observation(metrics_server.url, timeout=2)
    assert (obs.request_rate, obs.mean_isl, obs.mean_osl) == (12.5, 800, 120)


@pytest.mark.pre_merge
def test_unreachable_or_malformed_endpoint_is_a_clear_error(metrics_server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with pytest.raises(MetricsError, match="cannot read metrics"):
        fetch_observation(f"http://127.0.0.1:{closed_port}/metrics", timeout=1)
    metrics_server.body = "dynamo_frontend_request_rate fast\n"
    with pytest.raises(MetricsError, match="line 1: bad value"):
        fetch_observation(metrics_server.url, timeout=2)
    assert parse_prometheus_text("# only a comment\n") == {}


@pytest.mark.post_merge
def test_planner_loop_follows_live_metrics(metrics_server):
    planner = ScalingPlanner(ReplicaProfile(10_000, 1_000), cooldown=2)
    decisions = []
    for rate in [1, 25, 25, 1, 1, 1]:
        metrics_server.set(rate, 2000, 150)
        decisions.append(planner.step(fetch_observation(metrics_server.url, timeout=2)))
    assert decisions[1] == Decision(5, 4)
    assert decisions[3] == Decision(5, 4)  # cooling down
    assert decisions[4] == Decision(1, 1)
