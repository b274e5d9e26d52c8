"""Replica planning from observed load (pure functions and hysteresis)."""

import pytest

from dynamo.planner import Decision, Observation, ReplicaProfile, ScalingPlanner, plan_replicas

pytestmark = [pytest.mark.pre_merge, pytest.mark.unit, pytest.mark.gpu_0, pytest.mark.planner]

PROFILE = ReplicaProfile(prefill_tokens_per_s=10_000, decode_tokens_per_s=1_000)


@pytest.mark.parametrize(
    ("rate", "isl", "osl", "expected"),
    [
        (1.0, 1000, 100, Decision(prefill=1, decode=1)),
        (25.0, 2000, 150, Decision(prefill=5, decode=4)),
        (100.0, 4000, 500, Decision(prefill=8, decode=8)),
    ],
    ids=["light", "medium", "saturated"],
)
def test_plan_replicas_matches_demand(rate, isl, osl, expected):
    assert plan_replicas(Observation(rate, isl, osl), PROFILE) == expected


def test_zero_load_keeps_minimum():
    assert plan_replicas(Observation(0, 0, 0), PROFILE, min_replicas=2) == Decision(2, 2)


def test_exact_capacity_does_not_round_up():
    # 10 req/s * 1000 tokens == exactly one prefill replica's capacity.
    assert plan_replicas(Observation(10, 1000, 100), PROFILE).prefill == 1


def test_invalid_input_is_rejected():
    with pytest.raises(ValueError, match="bad replica bounds"):
        plan_replicas(Observation(1, 1, 1), PROFILE, min_replicas=3, max_replicas=2)
    with pytest.raises(ValueError, match="non-negative"):
        plan_replicas(Observation(-1, 1, 1), PROFILE)


class TestHysteresis:
    def planner(self):
        return ScalingPlanner(PROFILE, cooldown=3)

    def test_scales_up_immediately(self):
        p = self.planner()
        assert p.step(Observation(25, 2000, 150)) == Decision(5, 4)

    def test_scales_down_only_after_cooldown(self):
        p = self.planner()
        p.step(Observation(25, 2000, 150))
        low = Observation(1, 1000, 100)
        assert p.step(low) == Decision(5, 4)
        assert p.step(low) == Decision(5, 4)
        assert p.step(low) == Decision(1, 1)

    def test_a_spike_resets_the_cooldown(self):
        p = self.planner()
        high, low = Observation(25, 2000, 150), Observation(1, 1000, 100)
        p.step(high)
        p.step(low)
        p.step(low)
        p.step(high)
        p.step(low)
        p.step(low)
        assert p.current == Decision(5, 4)
