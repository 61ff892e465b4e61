"""Rolling-origin evaluation of a forecaster, of one series or of a collection: backtests with splitters or origins."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from tsrnn import metrics
from tsrnn._panel import Collection, Columns, is_collection, read_collection, to_long
from tsrnn._params import Integer
from tsrnn._timeindex import time_axis
from tsrnn._validation import as_table, check_covariates_aligned

__all__ = ["BacktestResult", "backtest", "rolling_origins", "windows_from_end"]

# The row of a collection's metrics that averages the series (and of one series' metrics, the folds).
OVERALL = "all"


@dataclass
class BacktestResult:
    """What :func:`backtest` returns.

    Attributes
    ----------
    forecasts : DataFrame
        One row per forecast step: ``fold``, ``cutoff`` (the last training label),
        ``timestamp``, ``step`` (1 for the step after the cutoff), ``actual``, ``forecast``,
        and ``lower_<pct>``/``upper_<pct>`` per interval coverage. For a collection, one row
        per fold, series and step, with the id column after ``fold``.
    metrics : DataFrame
        Per fold (index 0, 1, ...): MAE, RMSE, MAPE, sMAPE, MASE (scaled by the fold's own
        training data) and, per coverage, the empirical coverage and mean width of the
        intervals; the row "all" averages the folds. For a collection, per series (index:
        the ids), each the mean over the folds, and the row "all" averages the series.
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


class windows_from_end:  # noqa: N801 - named like the scikit-learn splitters it stands in for
    """The last ``n_windows`` test blocks of a series, counted from its end, as a scikit-learn style splitter.

    The last window tests the last ``horizon`` observations; each window before it ends
    ``step`` observations earlier; each trains on every observation before its test block.
    These are the windows of statsforecast's ``cross_validation(h=horizon, step_size=step,
    n_windows=n_windows)``. As they are counted from the end, series of different lengths
    get the same windows: in a collection (:func:`backtest`), fold k holds out the same last
    steps of every series.

    Parameters
    ----------
    horizon : int
        Observations in each test block.
    n_windows : int, default=1
        Test blocks (folds).
    step : int, optional
        Observations between the ends of successive blocks; default: ``horizon``, blocks side
        by side (statsforecast's ``step_size`` defaults to 1, overlapping blocks).

    Examples
    --------
    >>> [(len(train), int(test[0]), int(test[-1])) for train, test in windows_from_end(8, n_windows=3).split(range(40))]
    [(16, 16, 23), (24, 24, 31), (32, 32, 39)]
    """

    def __init__(self, horizon: int, n_windows: int = 1, step: int | None = None) -> None:
        for name, value in (("horizon", horizon), ("n_windows", n_windows), ("step", step)):
            if not (value is None and name == "step") and not Integer(1).accepts(value):
                raise ValueError(f"`{name}` must be an int >= 1; got {value!r}")
        self.horizon, self.n_windows = horizon, n_windows
        self.step = horizon if step is None else step

    def __repr__(self) -> str:
        return f"windows_from_end(horizon={self.horizon}, n_windows={self.n_windows}, step={self.step})"

    @property
    def held_out(self) -> int:
        """Observations after the first window's cutoff: those that no fold trains on in its first window."""
        return self.horizon + self.step * (self.n_windows - 1)

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Any:
        """Yield ``(train indices, test indices)`` of each fold, the earliest first.

        Parameters
        ----------
        X : array-like or Series of length n
            The series (only its length is used).
        y, groups : ignored
            For scikit-learn's splitter interface.

        Yields
        ------
        train : ndarray of int, of shape (n - held,)
            ``0, 1, ...`` up to the fold's cutoff.
        test : ndarray of int, of shape (horizon,)
            The ``horizon`` positions after the cutoff.
        """
        n = len(X)
        if self.held_out >= n:
            raise ValueError(
                f"n_windows={self.n_windows} window(s) of horizon={self.horizon} every step={self.step} hold out the "
                f"last {self.held_out} observations and train on those before them; got {n}. Use fewer windows, a "
                "smaller step or horizon, or a longer series"
            )
        for end in range(n - self.held_out, n - self.horizon + 1, self.step):
            yield np.arange(end), np.arange(end, end + self.horizon)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Return the number of folds, ``n_windows``."""
        return self.n_windows


def backtest(
    forecaster: Any,
    y: pd.Series | pd.DataFrame | dict[Any, pd.Series],
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
    y : Series, DataFrame or dict of Series
        The series, with a regular index; or a collection of series: a DataFrame in the long
        format, of shape (n_rows, 3 + k), with the forecaster's ``id_column``,
        ``time_column`` and ``target_column`` (other columns are covariates known in
        advance), or a dict mapping ids to Series. A collection is evaluated as one global
        model: each fold fits a clone on the training part of every series and forecasts
        every series (see "Collections" below).
    X : DataFrame, optional
        Covariates on ``y``'s index, of shape (n, k); for one series only.
    cv : splitter or tuple
        A scikit-learn splitter yielding contiguous training blocks that start at the
        beginning (``TimeSeriesSplit``, with ``test_size`` and ``gap``), or
        ``(initial, step, horizon)`` for :class:`rolling_origins`. For a collection,
        typically :class:`windows_from_end`.
    refit : bool or int, default=True
        True: train afresh for every fold. An int k: train on every k-th fold and only
        append the new observations (:meth:`RNNForecaster.update`) in between. False: train
        on the first fold only.
    coverage : float or list of float, optional
        Also forecast intervals of these coverages (the forecaster needs ``calibration_size``;
        for a collection, each series is calibrated on its own tail).
    m : int, optional
        Seasonal period of MASE; default: the fitted forecaster's ``seasonal_period_``, else 1.
    n_jobs : int, optional
        Folds trained in parallel with joblib (only with ``refit=True``, where folds are
        independent). The results are those of ``n_jobs=1``, bit for bit, for a forecaster
        with a fixed ``random_state``.

    Returns
    -------
    BacktestResult

    Raises
    ------
    ValueError
        For a collection whose folds (``cv`` applied to each series) do not hold out the
        same last steps of every series, or that a series is too short for; for ``X`` with
        a collection.

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

    Notes
    -----
    Collections. Series of different lengths are cut at the same distance from their end,
    as statsforecast's ``cross_validation(h=, step_size=, n_windows=)`` does: ``cv`` is
    applied to each series on its own, and fold k must hold out the same last steps of
    every series. ``cv=windows_from_end(horizon=8, n_windows=3)`` tests the last 24 steps
    of each series in three blocks of 8, each forecast from every step before it;
    ``TimeSeriesSplit(n_splits=3, test_size=8)`` gives the same folds, and a splitter whose
    folds depend on the length (``rolling_origins``, ``TimeSeriesSplit`` without
    ``test_size``) is refused unless the series are of one length. The forecasts then have
    a column ``fold``, the id column (named as the forecaster's ``id_column``), ``cutoff``
    (the series' last training label), ``timestamp``, ``step``, ``actual`` and ``forecast``.
    The metrics are per series (index: the ids, in the order of the collection), each the
    mean over the folds of the fold's metrics (MASE scaled by the series' own training
    part), and in the row "all" the mean over the series.

    Examples
    --------
    >>> from tsrnn.model_selection import backtest, windows_from_end
    >>> result = backtest(RNNForecaster(horizon=8, time_column="t"), tourism,
    ...                   cv=windows_from_end(horizon=8, n_windows=3))  # doctest: +SKIP
    >>> result.metrics.loc["all", "mase"]  # doctest: +SKIP
    """
    columns = _columns(forecaster)
    if is_collection(y, columns):
        task: _SeriesFolds | _CollectionFolds = _CollectionFolds.make(y, X, cv, columns)
    else:
        task = _SeriesFolds.make(y, X, cv)
    if not (isinstance(refit, bool) or Integer(1).accepts(refit)):
        raise ValueError(f"`refit` must be a bool or an int >= 1; got {refit!r}")
    every = 1 if refit is True else (0 if refit is False else int(refit))
    task.check(every)
    coverages = None if coverage is None else ([coverage] if np.isscalar(coverage) else list(coverage))
    task.coverages = coverages
    # Imported here, as they load Numba, to keep model_selection light to import.
    from tsrnn._base import discard_on_interrupt
    from tsrnn.training import TrainingInterruptedWarning

    # Fold number -> (forecast rows, seasonal period), for the folds that finished.
    results: dict[int, tuple[pd.DataFrame, int | None]] = {}
    try:
        if every == 1 and n_jobs not in (None, 1):
            # Unordered, so that every fold that came back before Ctrl-C is kept, not only the first ones.
            for number, result in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(_numbered_fold)(number, discard_on_interrupt(clone(forecaster)), task)
                for number in range(len(task))
            ):
                results[number] = result
        else:
            model = None
            for number in range(len(task)):
                fresh = model is None or (every and number % every == 0)
                if fresh:
                    model = discard_on_interrupt(clone(forecaster))
                else:
                    task.update(model, number)
                results[number] = task.run(model, number, fresh)
    except KeyboardInterrupt:
        if not results:
            raise
        finished = sorted(results)
        warnings.warn(
            f"backtest interrupted with {len(finished)} of {len(task)} folds finished; keeping the results of "
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
    return BacktestResult(table, task.metrics(table, period))


def _columns(forecaster: Any) -> Columns:
    """Return the names of the long format's columns that ``forecaster`` reads (the defaults where it has none)."""
    default = Columns()
    return Columns(
        getattr(forecaster, "id_column", default.id),
        getattr(forecaster, "time_column", default.time),
        getattr(forecaster, "target_column", default.target),
    )


def _numbered_fold(number: int, model: Any, task: _SeriesFolds | _CollectionFolds) -> tuple[int, Any]:
    """Fit ``model`` on fold ``number`` of ``task`` and forecast it; return the number with the result."""
    return number, task.run(model, number, True)


def _check_blocks(folds: list[tuple[np.ndarray, np.ndarray]]) -> None:
    for train, test in folds:
        if train[0] != 0 or (np.diff(train) != 1).any() or (np.diff(test) != 1).any() or test[0] <= train[-1]:
            raise ValueError(
                "backtest needs folds whose training block starts the series and precedes a contiguous test"
            )


@dataclass
class _SeriesFolds:
    """The folds of one series: training and test positions into ``y`` (and ``X``)."""

    y: pd.Series
    X: pd.DataFrame | None
    folds: list[tuple[np.ndarray, np.ndarray]]
    coverages: list[float] | None = None

    @classmethod
    def make(cls, y: Any, X: Any, cv: Any) -> _SeriesFolds:
        """Check the series and split it with ``cv``; raise TypeError or ValueError before anything trains."""
        _check_data(y, X)
        if isinstance(cv, tuple):
            cv = rolling_origins(*cv)
        return cls(y, X, [(np.asarray(train), np.asarray(test)) for train, test in cv.split(y)])

    def __len__(self) -> int:
        return len(self.folds)

    def check(self, every: int) -> None:
        """Raise ValueError for folds that the backtest cannot use."""
        if not self.folds:
            raise ValueError("the splitter yields no folds for this series")
        _check_blocks(self.folds)

    def run(self, model: Any, number: int, fit: bool) -> tuple[pd.DataFrame, int | None]:
        """Fit (if asked) and forecast fold ``number`` (:func:`_fold`)."""
        train, test = self.folds[number]
        return _fold(model, self.y, self.X, train, test, self.coverages, fit)

    def update(self, model: Any, number: int) -> None:
        """Append to ``model`` the observations up to fold ``number``'s cutoff."""
        new = slice(len(model._y), self.folds[number][0][-1] + 1)
        model.update(None if self.X is None else self.X.iloc[new], self.y.iloc[new])

    def metrics(self, table: pd.DataFrame, period: int) -> pd.DataFrame:
        """Return the metrics of each fold of ``table`` and, in the row "all", their mean."""
        per_fold = pd.DataFrame.from_dict(
            {number: _metrics(group, self.y.iloc[: self.folds[number][0][-1] + 1], period, self.coverages)
             for number, group in table.groupby("fold")},
            orient="index",
        )  # fmt: skip
        per_fold.loc["all"] = per_fold.mean()
        return per_fold


@dataclass
class _CollectionFolds:
    """The folds of a collection: fold k holds out the same last steps of every series.

    ``folds[k]`` is ``(held, gap, size)``: fold k trains on all but the last ``held`` steps of
    each series and tests the ``size`` steps that start ``gap`` steps after its cutoff.
    """

    collection: Collection
    columns: Columns
    folds: list[tuple[int, int, int]]
    coverages: list[float] | None = None

    @classmethod
    def make(cls, y: Any, X: Any, cv: Any, columns: Columns) -> _CollectionFolds:
        """Read the collection and find its folds, from the end of each series; raise ValueError if they differ."""
        if X is not None:
            raise ValueError(
                "a collection of series carries its covariates as columns of the long frame; pass it alone, "
                "backtest(forecaster, frame, cv=...)"
            )
        collection = read_collection(y, columns, before="backtesting")
        if OVERALL in collection.ids:
            raise ValueError(f"a series is named {OVERALL!r}, the name of the metrics' row of every series; rename it")
        if isinstance(cv, tuple):
            cv = rolling_origins(*cv)
        first: tuple[Any, int, list[tuple[int, int, int]]] | None = None
        for uid, values, index in zip(collection.ids, collection.values, collection.index, strict=True):
            series = pd.Series(values[:, 0], index=index)
            try:
                folds = [(np.asarray(train), np.asarray(test)) for train, test in cv.split(series)]
            except ValueError as error:
                raise ValueError(f"series {uid!r}: {error}") from None
            if not folds:
                raise ValueError(f"the splitter yields no folds for series {uid!r}")
            _check_blocks(folds)
            n = len(values)
            mine = [(n - int(train[-1]) - 1, int(test[0] - train[-1]) - 1, len(test)) for train, test in folds]
            if first is None:
                first = (uid, n, mine)
            elif mine != first[2]:
                raise ValueError(_misaligned(first, (uid, n, mine)))
        assert first is not None
        return cls(collection, columns, first[2])

    def __len__(self) -> int:
        return len(self.folds)

    def check(self, every: int) -> None:
        """Raise ValueError for folds that ``refit`` cannot append from one to the next."""
        if every != 1:
            for number in range(1, len(self.folds)):
                if self.folds[number][0] > self.folds[number - 1][0]:
                    raise ValueError(
                        f"refit={'False' if every == 0 else every} appends each fold's new observations to the "
                        f"model of the fold before, but fold {number} trains on fewer steps than fold "
                        f"{number - 1}; use refit=True, or folds whose training parts grow"
                    )

    def _cuts(self, number: int) -> list[int]:
        """Return each series' number of training steps in fold ``number``."""
        return [len(values) - self.folds[number][0] for values in self.collection.values]

    def _long(
        self, starts: list[int], ends: list[int], target: bool = True, names: list[str] | None = None
    ) -> pd.DataFrame:
        """Return the rows ``starts[i]:ends[i]`` of each series i as a long frame, with the target column or without.

        ``names`` picks covariates (default: all).
        """
        c = self.collection
        chosen = c.covariate_names if names is None else names
        at = [c.covariate_names.index(name) for name in chosen]
        names = [*([self.columns.target] if target else []), *chosen]
        parts = [np.hstack([values, covariates[:, at]]) if target else covariates[:, at]
                 for values, covariates in zip(c.values, c.covariates, strict=True)]  # fmt: skip
        return to_long(
            c.ids,
            [index[start:end] for index, start, end in zip(c.index, starts, ends, strict=True)],
            [part[start:end] for part, start, end in zip(parts, starts, ends, strict=True)],
            self.columns,
            names,
        )

    def run(self, model: Any, number: int, fit: bool) -> tuple[pd.DataFrame, int | None]:
        """Fit (if asked) on every series' training part of fold ``number`` and forecast its test block."""
        c, columns = self.collection, self.columns
        _, gap, size = self.folds[number]
        cuts, steps = self._cuts(number), gap + size
        if fit:
            model.fit(self._long([0] * len(cuts), cuts))
        known = _known_in_advance(model, c.covariate_names)
        future = self._long(cuts, [cut + steps for cut in cuts], target=False, names=known) if known else None
        if self.coverages is None:
            forecast = model.predict(future, horizon=steps)
            fields = {"forecast": columns.target}
        else:
            forecast = model.predict_interval(future, horizon=steps, coverage=self.coverages)
            fields = {name: name for name in forecast.columns if name not in (columns.id, columns.time)}

        def block(name: str) -> np.ndarray:
            # Each series' steps, in the order of the series fitted: the collection's.
            return forecast[name].to_numpy(dtype=float).reshape(len(c.ids), steps)[:, gap:].reshape(-1)

        tests = [index[cut + gap : cut + steps] for index, cut in zip(c.index, cuts, strict=True)]
        counts = [len(test) for test in tests]
        frame = pd.DataFrame({
            columns.id: pd.Index(c.ids, tupleize_cols=False).repeat(counts),
            "cutoff": pd.Index([index[cut - 1] for index, cut in zip(c.index, cuts, strict=True)]).repeat(counts),
            "timestamp": tests[0].append(tests[1:]) if len(tests) > 1 else tests[0],
            "step": np.tile(np.arange(gap + 1, steps + 1), len(c.ids)),
            "actual": np.concatenate([v[cut + gap : cut + steps, 0] for v, cut in zip(c.values, cuts, strict=True)]),
            **{field: block(name) for field, name in fields.items()},
        })  # fmt: skip
        return frame, getattr(model, "seasonal_period_", None)

    def update(self, model: Any, number: int) -> None:
        """Append to ``model`` every series' observations between fold ``number - 1``'s cutoff and fold ``number``'s."""
        before, now = self._cuts(number - 1), self._cuts(number)
        if now != before:
            model.update(self._long(before, now))

    def metrics(self, table: pd.DataFrame, period: int) -> pd.DataFrame:
        """Return each series' metrics, the mean over its folds, and in the row "all" the mean over the series."""
        c = self.collection
        position = {uid: i for i, uid in enumerate(c.ids)}
        ids, rows = [], []
        for (number, uid), group in table.groupby(["fold", self.columns.id], sort=False):
            values = c.values[position[uid]]
            # MASE scaled by the series' own training part of the fold.
            train = pd.Series(values[: len(values) - self.folds[number][0], 0])
            rows.append(_metrics(group, train, period, self.coverages))
            ids.append(uid)
        # The table runs fold by fold, each in the collection's order: so are the series here.
        per_series = pd.DataFrame(rows, index=pd.Index(ids, dtype=object)).groupby(level=0, sort=False).mean()
        per_series.index = pd.Index(list(per_series.index), dtype=object)
        per_series.loc[OVERALL] = per_series.mean()
        return per_series


def _misaligned(first: tuple[Any, int, list[tuple[int, int, int]]],
                other: tuple[Any, int, list[tuple[int, int, int]]]) -> str:  # fmt: skip
    """Say how the folds ``cv`` gives two series differ, and how to count them from the end instead."""
    (a, n_a, folds_a), (b, n_b, folds_b) = first, other
    if len(folds_a) != len(folds_b):
        what = f"gives series {a!r} ({n_a} steps) {len(folds_a)} fold(s) but series {b!r} ({n_b} steps) {len(folds_b)}"
    else:
        k = next(k for k in range(len(folds_a)) if folds_a[k] != folds_b[k])
        (held_a, gap_a, size_a), (held_b, gap_b, size_b) = folds_a[k], folds_b[k]
        if held_a != held_b:
            what = (
                f"holds out the last {held_a} steps of series {a!r} ({n_a} steps) in fold {k}, but the last "
                f"{held_b} of series {b!r} ({n_b} steps)"
            )
        else:
            what = (
                f"tests {size_a} step(s) from {gap_a + 1} after the cutoff of series {a!r} in fold {k}, but "
                f"{size_b} from {gap_b + 1} after that of series {b!r}"
            )
    return (
        f"cv {what}; the folds of a collection must hold out the same last steps of every series. Count them "
        f"from the end of each series: cv=windows_from_end(horizon={folds_a[0][2]}, n_windows={len(folds_a)})"
    )


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


def _known_in_advance(model: Any, columns: Any) -> list[Any]:
    """Return the covariate columns whose future a fitted ``model`` takes: all but its ``past_covariates``."""
    past = set(getattr(model, "past_covariates", None) or ())
    return [column for column in columns if column not in past]


def _fold(
    model: Any, y: pd.Series, X: pd.DataFrame | None, train: np.ndarray, test: np.ndarray, coverages: Any, fit: bool
) -> tuple[pd.DataFrame, int | None]:
    """Fit (if asked) on ``train`` and forecast ``test``; return the tidy rows and the seasonal period."""
    if fit:
        if X is None:
            model.fit(y.iloc[train])
        else:
            model.fit(X.iloc[train], y.iloc[train])
    future = X.iloc[test][_known_in_advance(model, X)] if X is not None else pd.DataFrame(index=y.index[test])
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
