"""SLA planner: predicts load and decides how many prefill/decode replicas to run."""

from dynamo.planner.load_predictor import LinearTrendPredictor, MovingAveragePredictor
from dynamo.planner.scaling import Decision, Observation, ReplicaProfile, ScalingPlanner, plan_replicas

__all__ = [
    "Decision",
    "LinearTrendPredictor",
    "MovingAveragePredictor",
    "Observation",
    "ReplicaProfile",
    "ScalingPlanner",
    "plan_replicas",
]
