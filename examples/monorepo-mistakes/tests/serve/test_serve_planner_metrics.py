"""Frontend metrics drive the planner: the cross-component loop."""

import pytest

from dynamo.planner import ReplicaProfile, ScalingPlanner
from dynamo.planner.metrics_client import fetch_observation


@pytest.mark.post_merge
@pytest.mark.gpu_0
@pytest.mark.planner
def test_planner_reads_frontend_metrics(make_frontend):
    fe, client = make_frontend(workers=2)
    for i in range(5):
        client.complete(f"request number {i}", max_tokens=10)
    obs = fetch_observation(client.base_url + "/metrics", timeout=2)
    assert obs.mean_osl == 10
    assert obs.mean_isl == pytest.approx(len("request number 0"))
    assert obs.request_rate > 0
    decision = ScalingPlanner(ReplicaProfile(1e9, 1e9)).step(obs)
    assert (decision.prefill, decision.decode) == (1, 1)
