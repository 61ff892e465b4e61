"""Invertible transforms of series: a fixed log transform, differencing and scaling (fitted on training data only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["TRANSFORMS", "Scaler", "TargetTransform", "difference", "fill_gaps", "mean_and_std", "undifference"]

TRANSFORMS = ("log", "log1p")


class TargetTransform:
    """A fixed invertible transform of the target's values: ``"log"``, ``"log1p"`` or None (identity).

    Nothing is learnt from the data. It is applied before differencing and scaling, and
    undone on forecasts and on the bounds of intervals computed in the transformed space,
    which keeps both in the series' domain: positive for ``"log"``, at or above zero for
    ``"log1p"``.

    Parameters
    ----------
    kind : {"log", "log1p"} or None
        ``"log"`` needs every value > 0; ``"log1p"`` every value >= 0.
    """

    def __init__(self, kind: str | None) -> None:
        if kind is not None and kind not in TRANSFORMS:
            raise ValueError(f"`transform` must be one of {', '.join(map(repr, TRANSFORMS))} or None; got {kind!r}")
        self.kind = kind

    def check(
        self,
        values: np.ndarray,
        name: str = "y",
        labels: Sequence[object] | None = None,
        columns: Sequence[str] | None = None,
    ) -> None:
        """Raise ValueError, naming the first offending value and where it is, if ``values`` leave the domain.

        Parameters
        ----------
        values : ndarray of shape (n,) or (n, k)
            Finite values to transform.
        name : str, default="y"
            What the values are called in the message.
        labels : sequence of length n, optional
            Row labels (a pandas index), named beside the row's position.
        columns : sequence of str of length k, optional
            Column names, to name the offending column by.
        """
        if self.kind is None:
            return
        bad = values <= 0 if self.kind == "log" else values < 0
        if not bad.any():
            return
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        row = first[0]
        where = f"position {row}"
        label = None if labels is None else labels[row]
        if isinstance(label, (int, np.integer)):
            where += f" (index label {label})" if label != row else ""
        elif label is not None:
            where += f" ({label})"
        if len(first) > 1 and (columns is not None or values.shape[1] > 1):
            where += f", column {columns[first[1]] if columns is not None else first[1]!r}"
        if self.kind == "log" and not (values < 0).any():
            advice = "Use transform='log1p' for a series with zeros, or transform=None"
        else:
            advice = "Use transform=None for a series with negative values (or shift it to be non-negative)"
        wanted = "> 0" if self.kind == "log" else ">= 0"
        raise ValueError(
            f"transform={self.kind!r} needs every value of {name} {wanted}; the first that is not is "
            f"{values[first]:g} at {where}. {advice}"
        )

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Transform ``values`` (any shape); :meth:`check` them first for a clear error outside the domain."""
        if self.kind == "log":
            return np.log(values)
        if self.kind == "log1p":
            return np.log1p(values)
        return values

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`, mapping any value of the transformed space into the series' domain.

        ``"log1p"`` was only accepted for values >= 0, whose transforms are >= 0: a forecast or
        a bound below 0 in the transformed space maps to 0, the nearest value of the domain,
        rather than into (-1, 0).
        """
        if self.kind == "log":
            return np.exp(values)
        if self.kind == "log1p":
            return np.expm1(np.maximum(values, 0.0))
        return values


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


def mean_and_std(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation of ``values`` (n, k), at any finite scale.

    ``values.std(axis=0)`` squares the deviations, which overflow to inf beyond about 1e154
    and underflow to 0 below about 1e-154: a series of 1e200 would be scaled by inf (every
    scaled value 0, every forecast NaN) and one of 1e-200 taken for a constant. Each column
    is worked on divided by a power of two near its largest magnitude, which is exact, so
    for values of ordinary size the results are those of ``mean``/``std``, bit for bit.

    Parameters
    ----------
    values : ndarray of shape (n, k)
        Finite float64 values.

    Returns
    -------
    mean, std : ndarray of shape (k,)
    """
    _, exponent = np.frexp(np.abs(values).max(axis=0, initial=0.0))
    unit = np.ldexp(values, -exponent)
    return np.ldexp(unit.mean(axis=0), exponent), np.ldexp(unit.std(axis=0), exponent)


def autocorrelated_period(series: list[np.ndarray], max_period: int, threshold: float = 0.3) -> int | None:
    """Return the season of series that carry no calendar: the lag their changes repeat at, or None.

    The autocorrelation of each series' first differences (its trend removed) is averaged over
    the series at every lag from 2 to ``max_period``; the highest of its peaks (a lag where it
    is above both neighbours: persistent changes without a season decay from lag 1 on, with
    no peak) is the period, when that average reaches ``threshold``.

    Parameters
    ----------
    series : list of ndarray of shape (n_i, 1)
    max_period : int
        The longest season looked for.
    threshold : float, default=0.3
        The smallest mean autocorrelation taken for a season.
    """
    lags = np.arange(1, max_period + 2)  # the neighbours of 2 and max_period too
    if max_period < 2:
        return None
    total, count = np.zeros(len(lags)), np.zeros(len(lags))
    for values in series:
        changes = np.diff(values[:, 0])
        changes = changes - changes.mean()
        energy = float(changes @ changes)
        if energy == 0.0:
            continue
        for j, lag in enumerate(lags[lags < len(changes)]):
            total[j] += float(changes[:-lag] @ changes[lag:]) / energy
            count[j] += 1
    mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    inner = mean[1:-1]
    peaks = np.flatnonzero((inner > mean[:-2]) & (inner > mean[2:]) & (count[1:-1] > 0))
    if not len(peaks):
        return None
    best = peaks[np.argmax(inner[peaks])]
    return int(lags[1:-1][best]) if inner[best] >= threshold else None


class Scaler:
    """Per-column affine scaling: ``"standard"`` (zero mean, unit variance), ``"minmax"`` (to [0, 1]) or None.

    Constant columns (zero spread) are centred and left unscaled: a constant series scales to
    zeros, and forecasts of zero map back to the constant.
    """

    def __init__(self, kind: str | None) -> None:
        self.kind = kind

    def fit(self, values: np.ndarray) -> Scaler:
        """Learn the offset and scale of each column of ``values`` (n, k).

        Raises
        ------
        ValueError
            If a column's spread is beyond float64 (values on both sides of zero near 1e308).
        """
        k = values.shape[1]
        if self.kind == "standard":
            self.offset, spread = mean_and_std(values)
        elif self.kind == "minmax":
            self.offset = values.min(axis=0)
            with np.errstate(over="ignore"):  # an overflowing range is reported just below
                spread = values.max(axis=0) - self.offset
        else:
            self.offset, spread = np.zeros(k), np.ones(k)
        if np.isinf(spread).any():
            column = int(np.argmax(np.isinf(spread)))
            raise ValueError(
                f"column {column} spans more than float64 can hold (its values reach "
                f"{np.abs(values[:, column]).max():g}); divide the series by a large constant before fitting"
            )
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
