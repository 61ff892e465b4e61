"""Forecast accuracy measures, on numpy arrays or pandas objects.

All functions take ``y_true`` and ``y_pred`` (or interval bounds) of one shape: a single value
(0-D), 1-D or 2-D (several targets or horizon steps), and average over every element. Edge cases are defined,
never a silent NaN from a 0/0:

- MAPE: a term whose actual value is 0 counts 0 when the forecast is exact too, else inf
  (the percentage error is unbounded).
- sMAPE: a term whose actual and forecast are both 0 counts 0.
- MASE: a training series with no seasonal variation (scale 0) gives 0 for an exact forecast,
  else inf.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from tsrnn._validation import check_array_like

__all__ = [
    "interval_coverage",
    "interval_width",
    "mae",
    "mape",
    "mase",
    "rmse",
    "smape",
]


def _values(data: ArrayLike, name: str) -> np.ndarray:
    """Check ``data`` holds real numbers, 0-D to 2-D, and return them as float64."""
    check_array_like(data, name, ndims=(0, 1, 2), shape_text="a single value, 1-D (steps) or 2-D (steps, targets)")
    if isinstance(data, (pd.Series, pd.DataFrame)):
        return data.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(data, dtype=np.float64)


def _check_finite(values: np.ndarray, name: str, fix: str) -> None:
    """Raise ValueError naming the first NaN or inf of ``values``, and ``fix``."""
    finite = np.isfinite(values)
    if finite.all():
        return
    if values.ndim == 0:
        raise ValueError(f"{name} must be finite; the value is {'NaN' if np.isnan(values) else 'inf'}. {fix}")
    first = tuple(int(i) for i in np.argwhere(~finite)[0])
    where = f"position {first[0]}" if len(first) == 1 else f"index {first}"
    raise ValueError(
        f"{name} must be finite; it holds {int((~finite).sum())} NaN or inf value(s), the first at {where}. {fix}"
    )


def _pair(
    y_true: ArrayLike, y_pred: ArrayLike, names: tuple[str, str] = ("y_true", "y_pred")
) -> tuple[np.ndarray, ...]:
    first, second = names
    actual, forecast = _values(y_true, first), _values(y_pred, second)
    if actual.shape != forecast.shape:
        raise ValueError(f"{first} and {second} must have one shape; got {actual.shape} and {forecast.shape}")
    if actual.size == 0:
        raise ValueError(f"{first} is empty; pass at least one value")
    fix = f"Leave those steps out of {first} and {second} alike, or fill them"
    _check_finite(actual, first, fix)
    _check_finite(forecast, second, fix)
    return actual, forecast


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ratio with 0/0 = 0 and x/0 = inf for x > 0."""
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, np.where(numerator > 0, np.inf, 0.0))


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error."""
    actual, forecast = _pair(y_true, y_pred)
    return float(np.mean(np.abs(actual - forecast)))


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error."""
    actual, forecast = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((actual - forecast) ** 2)))


def mape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute percentage error, in percent: ``100 · mean(|y - ŷ| / |y|)``."""
    actual, forecast = _pair(y_true, y_pred)
    return float(100.0 * np.mean(_ratio(np.abs(actual - forecast), np.abs(actual))))


def smape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Symmetric MAPE, in percent (0 to 200): ``100 · mean(2 |y - ŷ| / (|y| + |ŷ|))``."""
    actual, forecast = _pair(y_true, y_pred)
    return float(100.0 * np.mean(_ratio(2.0 * np.abs(actual - forecast), np.abs(actual) + np.abs(forecast))))


def mase(y_true: ArrayLike, y_pred: ArrayLike, y_train: ArrayLike, m: int = 1) -> float:
    """Mean absolute scaled error (Hyndman & Koehler, 2006).

    The MAE of the forecast divided by the in-sample MAE of the seasonal-naive forecast
    ``y_train[t] = y_train[t - m]`` on the training series (per column for 2-D data, then
    averaged over the columns' scaled errors).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (h,) or (h, k)
        Actual values and forecasts.
    y_train : array-like of shape (n,) or (n, k)
        The series the forecast was made from, n > m.
    m : int, default=1
        Seasonal period (1: the naive forecast).
    """
    actual, forecast = _pair(y_true, y_pred)
    train = _values(y_train, "y_train")
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"`m` must be an int >= 1; got {m!r}")
    if train.ndim != actual.ndim or train.shape[1:] != actual.shape[1:]:
        raise ValueError(f"y_train must have {actual.shape[1:] or 'no'} columns like y_true; got shape {train.shape}")
    if len(train) <= m:
        raise ValueError(f"y_train needs more than m={m} values to scale the error; got {len(train)}")
    # Dropping a value would pair its neighbours as if m steps apart.
    _check_finite(train, "y_train", "Fill them, keeping every step (tsrnn.preprocessing.fill_gaps)")
    scale = np.mean(np.abs(train[m:] - train[:-m]), axis=0)
    errors = np.mean(np.abs(actual - forecast), axis=0)
    return float(np.mean(_ratio(np.atleast_1d(errors), np.atleast_1d(scale))))


def _interval(y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    actual, low = _pair(y_true, lower, ("y_true", "lower"))
    _, high = _pair(y_true, upper, ("y_true", "upper"))
    interval_width(low, high)  # checks the bounds' order
    return actual, low, high


def interval_coverage(y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of the actual values inside their interval ``[lower, upper]`` (bounds included)."""
    actual, low, high = _interval(y_true, lower, upper)
    return float(np.mean((actual >= low) & (actual <= high)))


def interval_width(lower: ArrayLike, upper: ArrayLike) -> float:
    """Mean width ``upper - lower`` of the intervals."""
    low, high = _pair(lower, upper, ("lower", "upper"))
    if (low > high).any():
        first = int(np.argmax((low > high).ravel()))
        raise ValueError(
            f"every lower bound must be <= its upper bound; the first that is not is at flat position {first} "
            f"({low.ravel()[first]:g} > {high.ravel()[first]:g}): swap lower and upper if they came reversed"
        )
    return float(np.mean(high - low))
