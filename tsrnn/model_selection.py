"""Rolling-origin evaluation of a forecaster: backtests with scikit-learn splitters or origins."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from tsrnn import metrics
from tsrnn._params import Integer
from tsrnn._timeindex import time_axis
from tsrnn._validation import as_table, check_covariates_aligned

__all__ = ["BacktestResult", "backtest", "rolling_origins"]


@dataclass
class BacktestResult:
    """What :func:`backtest` returns.

    Attributes
    ----------
    forecasts : DataFrame
        One row per forecast step: ``fold``, ``cutoff`` (the last training label),
        ``timestamp``, ``step`` (1 for the step after the cutoff), ``actual``, ``forecast``,
        and ``lower_<pct>``/``upper_<pct>`` per interval coverage.
    metrics : DataFrame
        Per fold (index 0, 1, ...): MAE, RMSE, MAPE, sMAPE, MASE (scaled by the fold's own
        training data) and, per coverage, the empirical coverage and mean width of the
        intervals; the row "all" averages the folds.
    """

    forecasts: pd.DataFrame
    metrics: pd.DataFrame


class rolling_origins:  # noqa: N801 - named like the scikit-learn splitters it stands in for
    """Forecast origins described by ``(initial, step, horizon)``, as a scikit-learn style splitter.

    The first fold trains on the first ``initial`` observations and tests on the next
    ``horizon``; each further fold moves the origin ``step`` observations on, while a whole
    test block still fits in the series.

    Parameters
    ----------
    initial : int
        Observations of the first training block.
    step : int
        Observations between successive origins.
    horizon : int
        Observations in each test block.
    """

    def __init__(self, initial: int, step: int, horizon: int) -> None:
        for name, value in (("initial", initial), ("step", step), ("horizon", horizon)):
            if not Integer(1).accepts(value):
                raise ValueError(f"`{name}` must be an int >= 1; got {value!r}")
        self.initial, self.step, self.horizon = initial, step, horizon

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Any:
        """Yield ``(train indices, test indices)`` of each fold."""
        n = len(X)
        if self.initial + self.horizon > n:
            raise ValueError(
                f"initial={self.initial} and horizon={self.horizon} need {self.initial + self.horizon} "
                f"observations; got {n}. Use a smaller initial or horizon, or a longer series"
            )
        for end in range(self.initial, n - self.horizon + 1, self.step):
            yield np.arange(end), np.arange(end, end + self.horizon)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Return the number of folds for ``X``."""
        return sum(1 for _ in self.split(X))


def backtest(
    forecaster: Any,
    y: pd.Series,
    X: pd.DataFrame | None = None,
    *,
    cv: Any,
    refit: bool | int = True,
    coverage: float | list[float] | None = None,
    m: int | None = None,
    n_jobs: int | None = None,
) -> BacktestResult:
    """Evaluate ``forecaster`` from rolling origins: fit on the past, forecast the next block.

    Parameters
    ----------
    forecaster : RNNForecaster
        Unfitted template; each refit uses a clone.
    y : Series
        The series, with a regular index.
    X : DataFrame, optional
        Covariates on ``y``'s index.
    cv : splitter or tuple
        A scikit-learn splitter yielding contiguous training blocks that start at the
        beginning (``TimeSeriesSplit``, with ``test_size`` and ``gap``), or
        ``(initial, step, horizon)`` for :class:`rolling_origins`.
    refit : bool or int, default=True
        True: train afresh for every fold. An int k: train on every k-th fold and only
        append the new observations (:meth:`RNNForecaster.update`) in between. False: train
        on the first fold only.
    coverage : float or list of float, optional
        Also forecast intervals of these coverages (the forecaster needs ``calibration_size``).
    m : int, optional
        Seasonal period of MASE; default: the fitted forecaster's ``seasonal_period_``, else 1.
    n_jobs : int, optional
        Folds trained in parallel with joblib (only with ``refit=True``, where folds are
        independent).

    Returns
    -------
    BacktestResult

    Warns
    -----
    TrainingInterruptedWarning
        When Ctrl-C (KeyboardInterrupt) stops the backtest after some folds finished: the
        result holds those folds (the fold column and the metrics' index keep their
        numbers) and the warning says how many. The fold in progress is dropped, as a fold
        trained for fewer epochs would skew the metrics. In order, the finished folds are
        the first ones; with ``n_jobs > 1`` they are those whose results had come back,
        which need not be the first, and the folds still running in the workers are lost.
        Ctrl-C before any fold finished raises KeyboardInterrupt.
    """
    _check_data(y, X)
    if isinstance(cv, tuple):
        cv = rolling_origins(*cv)
    if not (isinstance(refit, bool) or Integer(1).accepts(refit)):
        raise ValueError(f"`refit` must be a bool or an int >= 1; got {refit!r}")
    every = 1 if refit is True else (0 if refit is False else int(refit))
    folds = [(np.asarray(train), np.asarray(test)) for train, test in cv.split(y)]
    if not folds:
        raise ValueError("the splitter yields no folds for this series")
    for train, test in folds:
        if train[0] != 0 or (np.diff(train) != 1).any() or (np.diff(test) != 1).any() or test[0] <= train[-1]:
            raise ValueError(
                "backtest needs folds whose training block starts the series and precedes a contiguous test"
            )
    coverages = None if coverage is None else ([coverage] if np.isscalar(coverage) else list(coverage))
    # Imported here, as they load Numba, to keep model_selection light to import.
    from tsrnn._base import discard_on_interrupt
    from tsrnn.training import TrainingInterruptedWarning

    # Fold number -> (forecast rows, seasonal period), for the folds that finished.
    results: dict[int, tuple[pd.DataFrame, int | None]] = {}
    try:
        if every == 1 and n_jobs not in (None, 1):
            # Unordered, so that every fold that came back before Ctrl-C is kept, not only the first ones.
            for number, result in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(_numbered_fold)(number, discard_on_interrupt(clone(forecaster)), y, X, train, test, coverages)
                for number, (train, test) in enumerate(folds)
            ):
                results[number] = result
        else:
            model = None
            for number, (train, test) in enumerate(folds):
                fresh = model is None or (every and number % every == 0)
                if fresh:
                    model = discard_on_interrupt(clone(forecaster))
                else:
                    start = len(model._y)
                    new = slice(start, train[-1] + 1)
                    model.update(None if X is None else X.iloc[new], y.iloc[new])
                results[number] = _fold(model, y, X, train, test, coverages, fresh)
    except KeyboardInterrupt:
        if not results:
            raise
        finished = sorted(results)
        warnings.warn(
            f"backtest interrupted with {len(finished)} of {len(folds)} folds finished; keeping the results of "
            f"those (fold{'s' if len(finished) > 1 else ''} {', '.join(map(str, finished))})",
            TrainingInterruptedWarning,
            stacklevel=2,
        )
    period = m or results[min(results)][1] or 1
    forecasts = []
    for number in sorted(results):
        frame = results[number][0]
        frame.insert(0, "fold", number)
        forecasts.append(frame)
    table = pd.concat(forecasts, ignore_index=True)
    per_fold = pd.DataFrame.from_dict(
        {number: _metrics(group, y.iloc[: folds[number][0][-1] + 1], period, coverages)
         for number, group in table.groupby("fold")},
        orient="index",
    )  # fmt: skip
    per_fold.loc["all"] = per_fold.mean()
    return BacktestResult(table, per_fold)


def _numbered_fold(
    number: int, model: Any, y: pd.Series, X: pd.DataFrame | None, train: np.ndarray, test: np.ndarray, coverages: Any
) -> tuple[int, tuple[pd.DataFrame, int | None]]:
    """Fit ``model`` on fold ``number`` and forecast it (:func:`_fold`); return the number with the result."""
    return number, _fold(model, y, X, train, test, coverages, True)


def _check_data(y: Any, X: Any) -> None:
    """Raise a TypeError or ValueError for a ``y`` or ``X`` that the folds cannot use, before any trains.

    A fold's forecaster would reject most of these itself, but only for the part of the
    series it trains on, after the folds before it trained; and NaN in the last test block
    would only surface in the metrics.
    """
    if isinstance(y, pd.DataFrame):
        raise ValueError(
            f"backtest evaluates one series: y must be a pandas Series; got a DataFrame of {y.shape[1]} column(s). "
            "Pass one of its columns, y[name]"
        )
    if not isinstance(y, pd.Series):
        raise TypeError(
            f"y must be a pandas Series indexed by time; got {type(y).__name__}. Wrap it, for example "
            "pd.Series(values, index=pd.date_range(start, periods=len(values), freq=...))"
        )
    as_table(y, "y")
    time_axis(y.index)
    if X is None:
        return
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame on y's index; got {type(X).__name__}")
    as_table(X, "X", allow_empty_columns=True)
    check_covariates_aligned(X.index, y.index, rows_fix="give the covariates of every step of y")


def _fold(
    model: Any, y: pd.Series, X: pd.DataFrame | None, train: np.ndarray, test: np.ndarray, coverages: Any, fit: bool
) -> tuple[pd.DataFrame, int | None]:
    """Fit (if asked) on ``train`` and forecast ``test``; return the tidy rows and the seasonal period."""
    if fit:
        if X is None:
            model.fit(y.iloc[train])
        else:
            model.fit(X.iloc[train], y.iloc[train])
    future = X.iloc[test] if X is not None else pd.DataFrame(index=y.index[test])
    if coverages is None:
        forecast = model.predict(future)
        frame = pd.DataFrame({"forecast": np.asarray(forecast, dtype=float)}, index=y.index[test])
    else:
        frame = model.predict_interval(future, coverage=coverages)
    frame.insert(0, "actual", y.iloc[test].to_numpy(dtype=float))
    frame.insert(0, "step", test - train[-1])
    frame.insert(0, "timestamp", y.index[test])
    frame.insert(0, "cutoff", y.index[train[-1]])
    return frame.reset_index(drop=True), getattr(model, "seasonal_period_", None)


def _metrics(rows: pd.DataFrame, train: pd.Series, m: int, coverages: Any) -> dict[str, float]:
    actual, forecast = rows["actual"].to_numpy(), rows["forecast"].to_numpy()
    result = {
        "mae": metrics.mae(actual, forecast),
        "rmse": metrics.rmse(actual, forecast),
        "mape": metrics.mape(actual, forecast),
        "smape": metrics.smape(actual, forecast),
        "mase": metrics.mase(actual, forecast, train.to_numpy(dtype=float), m),
    }
    for value in coverages or []:
        label = f"{100 * value:g}"
        lower, upper = rows[f"lower_{label}"], rows[f"upper_{label}"]
        result[f"coverage_{label}"] = metrics.interval_coverage(actual, lower, upper)
        result[f"width_{label}"] = metrics.interval_width(lower, upper)
    return result
