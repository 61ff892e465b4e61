from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tsrnn import metrics


def test_hand_computed_values():
    y, f = [1.0, 2.0, 4.0], [2.0, 2.0, 1.0]
    assert metrics.mae(y, f) == pytest.approx(4 / 3)
    assert metrics.rmse(y, f) == pytest.approx(math.sqrt(10 / 3))
    assert metrics.mape(y, f) == pytest.approx(100 * (1 + 0 + 0.75) / 3)
    assert metrics.smape(y, f) == pytest.approx(100 * (2 / 3 + 0 + 6 / 5) / 3)
    # In-sample naive (m=1) errors of [1, 3, 2, 6]: |2|, |1|, |4| -> scale 7/3.
    assert metrics.mase(y, f, [1.0, 3.0, 2.0, 6.0]) == pytest.approx((4 / 3) / (7 / 3))
    # Seasonal (m=2): |2 - 1|, |6 - 3| -> scale 2.
    assert metrics.mase(y, f, [1.0, 3.0, 2.0, 6.0], m=2) == pytest.approx((4 / 3) / 2)


def test_pandas_and_two_dimensional_input():
    y = pd.DataFrame({"a": [1.0, 2.0], "b": [10.0, 20.0]})
    f = y + np.array([[1.0, 0.0], [1.0, 10.0]])
    assert metrics.mae(y, f) == pytest.approx(3.0)
    train = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [0.0, 10.0, 20.0]})
    # Column a: error 1, scale 1; column b: error 5, scale 10.
    assert metrics.mase(y, f, train) == pytest.approx((1.0 + 0.5) / 2)


def test_zero_denominators_are_defined():
    assert metrics.mape([0.0, 1.0], [0.0, 1.0]) == 0.0
    assert metrics.mape([0.0, 1.0], [1.0, 1.0]) == math.inf
    assert metrics.smape([0.0, 2.0], [0.0, 1.0]) == pytest.approx(100 * (0 + 2 / 3) / 2)
    assert metrics.mase([3.0], [3.0], [3.0, 3.0, 3.0]) == 0.0
    assert metrics.mase([3.0], [4.0], [3.0, 3.0, 3.0]) == math.inf


def test_intervals():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    lower, upper = np.array([0.0, 2.0, 3.5, 3.0]), np.array([2.0, 3.0, 4.0, 4.0])
    assert metrics.interval_coverage(y, lower, upper) == 0.75  # bounds count as inside
    assert metrics.interval_width(lower, upper) == pytest.approx((2 + 1 + 0.5 + 1) / 4)
    with pytest.raises(ValueError, match="lower bound must be <= its upper"):
        metrics.interval_coverage(y, upper, lower)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: metrics.mae([1.0, 2.0], [1.0]), "one shape"),
        (lambda: metrics.mae([], []), "empty"),
        (lambda: metrics.rmse([1.0, np.nan], [1.0, 2.0]), "finite"),
        (lambda: metrics.mase([1.0], [1.0], [1.0, 2.0], m=2), "more than m=2 values"),
        (lambda: metrics.mase([1.0], [1.0], [1.0, 2.0], m=0), "`m` must be an int >= 1"),
        (lambda: metrics.mase([1.0], [1.0], [[1.0, 2.0], [2.0, 3.0]]), "columns"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_single_values_are_accepted_and_their_errors_say_so():
    assert metrics.mae(1.0, 3.0) == 2.0
    fix = "Leave those steps out of y_true and y_pred alike, or fill them"
    with pytest.raises(ValueError) as info:
        metrics.mae(np.float64(np.nan), 1.0)
    assert str(info.value) == f"y_true must be finite; the value is NaN. {fix}"
    with pytest.raises(ValueError) as info:
        metrics.rmse(1.0, np.inf)
    assert str(info.value) == f"y_pred must be finite; the value is inf. {fix}"
    with pytest.raises(ValueError, match=r"^y_true must be a single value, 1-D \(steps\) or 2-D \(steps, targets\); "):
        metrics.mae(np.ones((2, 2, 2)), np.ones((2, 2, 2)))
