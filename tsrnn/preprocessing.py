"""Invertible transforms of series: differencing and scaling, fitted on training data only."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["Scaler", "difference", "fill_gaps", "undifference"]


def difference(values: np.ndarray, lags: tuple[int, ...]) -> np.ndarray:
    """Apply ``v[t] - v[t - lag]`` for each lag in turn along axis 0.

    ``lags=(1, 1)`` is second-order differencing, ``(12,)`` a seasonal difference of period 12.
    The result is ``sum(lags)`` rows shorter.
    """
    for lag in lags:
        values = values[lag:] - values[:-lag]
    return values


def undifference(block: np.ndarray, history: np.ndarray, lags: tuple[int, ...]) -> np.ndarray:
    """Invert :func:`difference` for the rows that follow ``history``.

    Parameters
    ----------
    block : ndarray of shape (k, ...)
        Differenced values of the ``k`` rows after ``history``.
    history : ndarray of shape (n, ...)
        Undifferenced values before them; ``n >= sum(lags)``.
    lags : tuple of int
        The lags given to :func:`difference`.

    Returns
    -------
    ndarray of shape (k, ...)
        The undifferenced rows.
    """
    if not lags:
        return block
    levels = [history]
    for lag in lags[:-1]:
        levels.append(levels[-1][lag:] - levels[-1][:-lag])
    out = block
    for lag, level in zip(reversed(lags), reversed(levels), strict=True):
        extended = np.concatenate([level, np.empty_like(out)])
        start = len(level)
        for k in range(len(out)):
            extended[start + k] = out[k] + extended[start + k - lag]
        out = extended[start:]
    return out


class Scaler:
    """Per-column affine scaling: ``"standard"`` (zero mean, unit variance), ``"minmax"`` (to [0, 1]) or None.

    Constant columns are centred and left unscaled.
    """

    def __init__(self, kind: str | None) -> None:
        self.kind = kind

    def fit(self, values: np.ndarray) -> Scaler:
        """Learn the offset and scale of each column of ``values`` (n, k)."""
        k = values.shape[1]
        if self.kind == "standard":
            self.offset, spread = values.mean(axis=0), values.std(axis=0)
        elif self.kind == "minmax":
            self.offset = values.min(axis=0)
            spread = values.max(axis=0) - self.offset
        else:
            self.offset, spread = np.zeros(k), np.ones(k)
        self.scale = np.where(spread > 0, spread, 1.0)
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale ``values`` (n, k)."""
        return (values - self.offset) / self.scale

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`."""
        return values * self.scale + self.offset


def fill_gaps(series: pd.Series | pd.DataFrame, method: str = "linear") -> pd.Series | pd.DataFrame:
    """Fill missing values (NaN) of a regular series, explicitly.

    Parameters
    ----------
    series : Series or DataFrame
        Regular time index; gaps as NaN (as :func:`tsrnn.datasets.load_co2` returns them).
    method : {"linear", "ffill"}, default="linear"
        ``"linear"``: interpolate between the neighbouring observations; ``"ffill"``: carry
        the last observation forward. Leading gaps take the first observation.

    Returns
    -------
    A filled copy.
    """
    if method not in ("linear", "ffill"):
        raise ValueError(f"`method` must be one of 'linear', 'ffill'; got {method!r}")
    if method == "ffill":
        return series.ffill().bfill()
    return series.interpolate(method="linear", limit_direction="both")
