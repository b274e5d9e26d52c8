"""Load predictors. Marks are written with ``from pytest import mark``; the
unittest-style class shows marks on a ``unittest.TestCase``."""

import math
import unittest

from pytest import approx, mark

from dynamo.planner import LinearTrendPredictor, MovingAveragePredictor


@mark.pre_merge
@mark.unit
@mark.planner
def test_moving_average_uses_only_the_window():
    p = MovingAveragePredictor(window=3)
    for v in [100, 1, 2, 3]:
        p.observe(v)
    assert p.predict() == approx(2.0)


@mark.pre_merge
@mark.unit
@mark.gpu_0
@mark.planner
def test_linear_trend_extrapolates_one_step():
    p = LinearTrendPredictor(window=4)
    for v in [10, 20, 30, 40]:
        p.observe(v)
    assert p.predict() == approx(50.0)


@mark.pre_merge
@mark.unit
@mark.gpu_0
@mark.planner
def test_linear_trend_never_predicts_negative_load():
    p = LinearTrendPredictor(window=3)
    for v in [20, 10, 0]:
        p.observe(v)
    assert p.predict() == 0.0


@mark.pre_merge
@mark.unit
@mark.gpu_0
@mark.planner
class TestPredictorValidation(unittest.TestCase):
    def test_window_must_be_large_enough(self):
        with self.assertRaises(ValueError):
            MovingAveragePredictor(window=0)
        with self.assertRaises(ValueError):
            LinearTrendPredictor(window=1)

    def test_empty_history_predicts_zero(self):
        self.assertEqual(MovingAveragePredictor().predict(), 0.0)
        self.assertEqual(LinearTrendPredictor().predict(), 0.0)


@mark.nightly
@mark.unit
@mark.gpu_0
@mark.planner
@mark.slow
def test_trend_predictor_tracks_a_daily_cycle():
    """Over a long diurnal pattern the one-step error stays small."""
    p = LinearTrendPredictor(window=6)
    errors = []
    for step in range(20_000):
        actual = 50 + 40 * math.sin(2 * math.pi * step / 1440)
        if step >= 6:
            errors.append(abs(p.predict() - actual))
        p.observe(actual)
    assert max(errors) < 1.0
