"""Replica counts from observed load and per-replica throughput.

Pure functions plus a small stateful wrapper that adds hysteresis: scaling up
happens at once (an SLA is at stake), scaling down only after the lower
decision has held for ``cooldown`` intervals (so noise does not thrash pods).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Observation:
    request_rate: float  # requests / s
    mean_isl: float  # input tokens / request
    mean_osl: float  # output tokens / request


@dataclass(frozen=True)
class ReplicaProfile:
    prefill_tokens_per_s: float
    decode_tokens_per_s: float


@dataclass(frozen=True)
class Decision:
    prefill: int
    decode: int


def _replicas(demand: float, capacity: float, lo: int, hi: int) -> int:
    if capacity <= 0:
        raise ValueError("per-replica capacity must be positive")
    need = math.ceil(demand / capacity - 1e-9) if demand > 0 else 0
    return max(lo, min(hi, need))


def plan_replicas(
    obs: Observation, profile: ReplicaProfile, min_replicas: int = 1, max_replicas: int = 8
) -> Decision:
    if min_replicas < 0 or max_replicas < min_replicas:
        raise ValueError(f"bad replica bounds [{min_replicas}, {max_replicas}]")
    if min(obs.request_rate, obs.mean_isl, obs.mean_osl) < 0:
        raise ValueError("observations must be non-negative")
    return Decision(
        prefill=_replicas(obs.request_rate * obs.mean_isl, profile.prefill_tokens_per_s, min_replicas, max_replicas),
        decode=_replicas(obs.request_rate * obs.mean_osl, profile.decode_tokens_per_s, min_replicas, max_replicas),
    )


class ScalingPlanner:
    def __init__(
        self, profile: ReplicaProfile, cooldown: int = 3, min_replicas: int = 1, max_replicas: int = 8
    ) -> None:
        self.profile = profile
        self.cooldown = cooldown
        self.min_replicas = min_replicas
        self.max_replicas = max_replicas
        self.current = Decision(min_replicas, min_replicas)
        self._lower_streak = 0

    def step(self, obs: Observation) -> Decision:
        wanted = plan_replicas(obs, self.profile, self.min_replicas, self.max_replicas)
        up = Decision(max(wanted.prefill, self.current.prefill), max(wanted.decode, self.current.decode))
        if up != self.current:
            self.current = up
            self._lower_streak = 0
        elif wanted != self.current:
            self._lower_streak += 1
            if self._lower_streak >= self.cooldown:
                self.current = wanted
                self._lower_streak = 0
        else:
            self._lower_streak = 0
        return self.current
