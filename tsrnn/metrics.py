"""Forecast accuracy measures, on numpy arrays or pandas objects.

All functions take ``y_true`` and ``y_pred`` (or interval bounds) of one shape, 1-D or 2-D
(several targets or horizon steps), and average over every element. Edge cases are defined,
never a silent NaN from a 0/0:

- MAPE: a term whose actual value is 0 counts 0 when the forecast is exact too, else inf
  (the percentage error is unbounded).
- sMAPE: a term whose actual and forecast are both 0 counts 0.
- MASE: a training series with no seasonal variation (scale 0) gives 0 for an exact forecast,
  else inf.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "interval_coverage",
    "interval_width",
    "mae",
    "mape",
    "mase",
    "rmse",
    "smape",
]


def _pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    actual = np.asarray(y_true, dtype=np.float64)
    forecast = np.asarray(y_pred, dtype=np.float64)
    if actual.shape != forecast.shape:
        raise ValueError(f"y_true and y_pred must have one shape; got {actual.shape} and {forecast.shape}")
    if actual.size == 0:
        raise ValueError("y_true is empty")
    if not (np.isfinite(actual).all() and np.isfinite(forecast).all()):
        raise ValueError("y_true and y_pred must be finite (no NaN or inf)")
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
    train = np.asarray(y_train, dtype=np.float64)
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"`m` must be an int >= 1; got {m!r}")
    if train.ndim != actual.ndim or train.shape[1:] != actual.shape[1:]:
        raise ValueError(f"y_train must have {actual.shape[1:] or 'no'} columns like y_true; got shape {train.shape}")
    if len(train) <= m:
        raise ValueError(f"y_train needs more than m={m} values to scale the error; got {len(train)}")
    if not np.isfinite(train).all():
        raise ValueError("y_train must be finite (no NaN or inf)")
    scale = np.mean(np.abs(train[m:] - train[:-m]), axis=0)
    errors = np.mean(np.abs(actual - forecast), axis=0)
    return float(np.mean(_ratio(np.atleast_1d(errors), np.atleast_1d(scale))))


def _interval(y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    actual, low = _pair(y_true, lower)
    _, high = _pair(y_true, upper)
    interval_width(low, high)  # checks the bounds' order
    return actual, low, high


def interval_coverage(y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of the actual values inside their interval ``[lower, upper]`` (bounds included)."""
    actual, low, high = _interval(y_true, lower, upper)
    return float(np.mean((actual >= low) & (actual <= high)))


def interval_width(lower: ArrayLike, upper: ArrayLike) -> float:
    """Mean width ``upper - lower`` of the intervals."""
    low, high = _pair(lower, upper)
    if (low > high).any():
        raise ValueError("every lower bound must be <= its upper bound")
    return float(np.mean(high - low))
