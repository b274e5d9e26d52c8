"""Reads the frontend's Prometheus text endpoint into an ``Observation``."""

from __future__ import annotations

import urllib.request

from dynamo.planner.scaling import Observation

RATE = "dynamo_frontend_request_rate"
ISL = "dynamo_frontend_mean_input_tokens"
OSL = "dynamo_frontend_mean_output_tokens"


class MetricsError(RuntimeError):
    pass


def parse_prometheus_text(text: str) -> dict[str, float]:
    """Unlabelled samples only (``name value``); comments and labelled series
    are skipped, a malformed value is an error with its line number."""
    samples: dict[str, float] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or "{" in line:
            continue
        parts = line.split()
        if len(parts) < 2:
            raise MetricsError(f"line {lineno}: expected `name value`, got {raw!r}")
        try:
            samples[parts[0]] = float(parts[1])
        except ValueError as e:
            raise MetricsError(f"line {lineno}: bad value {parts[1]!r}") from e
    return samples


def observation_from(samples: dict[str, float]) -> Observation:
    missing = [m for m in (RATE, ISL, OSL) if m not in samples]
    if missing:
        raise MetricsError(f"missing metrics: {', '.join(missing)}")
    return Observation(samples[RATE], samples[ISL], samples[OSL])


def fetch_observation(url: str, timeout: float = 2.0) -> Observation:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            text = resp.read().decode("utf-8")
    except OSError as e:
        raise MetricsError(f"cannot read metrics from {url}: {e}") from e
    return observation_from(parse_prometheus_text(text))
