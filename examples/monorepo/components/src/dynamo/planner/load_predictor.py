"""Predicting the next interval's load from recent samples."""

from __future__ import annotations

from collections import deque


class MovingAveragePredictor:
    def __init__(self, window: int = 5) -> None:
        if window < 1:
            raise ValueError("window must be >= 1")
        self._samples: deque[float] = deque(maxlen=window)

    def observe(self, value: float) -> None:
        self._samples.append(float(value))

    def predict(self) -> float:
        if not self._samples:
            return 0.0
        return sum(self._samples) / len(self._samples)


class LinearTrendPredictor:
    """Least-squares line through the window, extrapolated one step; never
    negative (a falling trend must not predict negative traffic)."""

    def __init__(self, window: int = 8) -> None:
        if window < 2:
            raise ValueError("window must be >= 2")
        self._samples: deque[float] = deque(maxlen=window)

    def observe(self, value: float) -> None:
        self._samples.append(float(value))

    def predict(self) -> float:
        n = len(self._samples)
        if n == 0:
            return 0.0
        if n == 1:
            return self._samples[0]
        xs = range(n)
        mean_x = (n - 1) / 2
        mean_y = sum(self._samples) / n
        sxx = sum((x - mean_x) ** 2 for x in xs)
        sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, self._samples))
        slope = sxy / sxx
        return max(0.0, mean_y + slope * (n - mean_x))
