"""Plots of forecasts, training curves and backtests, drawn with matplotlib.

matplotlib is an optional dependency (``pip install 'tsrnn[plot]'``): it is imported only when
a plot is drawn, so ``import tsrnn.plotting`` works without it.

Prediction intervals are given as pairs of columns ``lower_<pct>`` / ``upper_<pct>``, where
``pct`` is the coverage in percent (``lower_90``, ``upper_90``, ``lower_97.5``, ...).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_backtest", "plot_collection", "plot_forecast", "plot_loss"]

_REQUIRED_BACKTEST_COLUMNS = ("fold", "cutoff", "timestamp", "actual", "forecast")


def _pyplot() -> ModuleType:
    """Import and return ``matplotlib.pyplot``, with an install hint when it is missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("plotting needs matplotlib: pip install 'tsrnn[plot]' (or pip install matplotlib)") from exc
    return plt


def _axes(ax: Axes | None) -> Axes:
    """Return ``ax``, or the Axes of a new figure when it is None."""
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=(10, 4))
    return ax


def _interval_columns(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Find the ``lower_<pct>`` / ``upper_<pct>`` column pairs of ``frame``.

    Parameters
    ----------
    frame : DataFrame
        Columns other than ``lower_*`` and ``upper_*`` are ignored.

    Returns
    -------
    list of (str, str, str)
        ``(pct, lower column, upper column)`` for each interval, widest coverage first.

    Raises
    ------
    ValueError
        If a lower column has no matching upper column (or the reverse), or ``pct`` is not a number.
    """
    lower = {str(c)[len("lower_") :] for c in frame.columns if str(c).startswith("lower_")}
    upper = {str(c)[len("upper_") :] for c in frame.columns if str(c).startswith("upper_")}
    if lower != upper:
        unmatched = sorted([f"lower_{p}" for p in lower - upper] + [f"upper_{p}" for p in upper - lower])
        raise ValueError(f"interval columns must come in lower_<pct>/upper_<pct> pairs; unmatched: {unmatched}")
    for pct in lower:
        try:
            float(pct)
        except ValueError:
            raise ValueError(f"interval column suffix must be a coverage in percent; got {pct!r}") from None
    return [(pct, f"lower_{pct}", f"upper_{pct}") for pct in sorted(lower, key=float, reverse=True)]


def _band_alphas(n: int) -> np.ndarray:
    """Opacities for ``n`` bands ordered widest first: wider coverage is drawn lighter."""
    return np.linspace(0.15, 0.35, n) if n > 1 else np.full(n, 0.25)


def plot_forecast(
    y: pd.Series,
    forecast: pd.Series | pd.DataFrame,
    intervals: pd.DataFrame | None = None,
    ax: Axes | None = None,
    history: int | None = None,
) -> Axes:
    """Plot an observed series with a point forecast and its prediction intervals.

    Parameters
    ----------
    y : Series
        The observed series. Values from the forecast start on (if any) are drawn too, so a
        forecast can be compared with what actually happened.
    forecast : Series or DataFrame
        The point forecasts, indexed by the forecast steps' labels; or a DataFrame with a
        column ``"forecast"`` and optional ``lower_<pct>`` / ``upper_<pct>`` column pairs.
    intervals : DataFrame, optional
        ``lower_<pct>`` / ``upper_<pct>`` column pairs on the index of ``forecast``, when
        ``forecast`` is a Series.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is created when None.
    history : int, optional
        How many of the last observations before the forecast start to draw; all when None.

    Returns
    -------
    matplotlib Axes
        The Axes drawn on.

    Raises
    ------
    ValueError
        If ``forecast`` is empty, a DataFrame ``forecast`` lacks the ``"forecast"`` column,
        ``intervals`` is given with a DataFrame ``forecast`` or on another index, an interval
        column has no matching partner, or ``history`` is negative.
    ImportError
        If matplotlib is not installed.
    """
    if isinstance(forecast, pd.DataFrame):
        if "forecast" not in forecast.columns:
            raise ValueError(f"a forecast DataFrame needs a 'forecast' column; got {list(forecast.columns)}")
        if intervals is not None:
            raise ValueError("pass intervals either as columns of the forecast DataFrame or as intervals, not both")
        point, intervals = forecast["forecast"], forecast
    else:
        point = pd.Series(forecast)
    if point.empty:
        raise ValueError("forecast is empty")
    if intervals is None:
        intervals = pd.DataFrame(index=point.index)
    elif not intervals.index.equals(point.index):
        raise ValueError("intervals must have the same index as forecast")
    bands = _interval_columns(intervals)
    if history is not None and history < 0:
        raise ValueError(f"history must be >= 0 or None; got {history}")

    y = pd.Series(y)
    start = point.index[0]
    past, future = y[y.index < start], y[y.index >= start]
    if history is not None:
        past = past.tail(history)
    observed = pd.concat([past, future])

    ax = _axes(ax)
    for (pct, lower, upper), alpha in zip(bands, _band_alphas(len(bands)), strict=True):
        ax.fill_between(
            point.index,
            intervals[lower],
            intervals[upper],
            color="C1",
            alpha=alpha,
            linewidth=0,
            label=f"{pct}% interval",
        )
    ax.plot(observed.index, observed.to_numpy(), color="C0", label="observed")
    ax.plot(point.index, point.to_numpy(), color="C1", label="forecast")
    ax.set_xlabel(str(y.index.name or "time"))
    ax.set_ylabel(str(y.name or "value"))
    ax.set_title("Forecast")
    ax.legend()
    return ax


def plot_loss(model: Any, ax: Axes | None = None) -> Axes:
    """Plot a fitted network's training and validation loss per epoch.

    Parameters
    ----------
    model : estimator
        A fitted tsrnn estimator (or any object) with ``loss_curve_`` (list of float, one per
        epoch), ``validation_scores_`` (list of float validation losses, or None) and
        ``best_epoch_`` (int, 1-based).
    ax : matplotlib Axes, optional
        Where to draw; a new figure is created when None.

    Returns
    -------
    matplotlib Axes
        The Axes drawn on. The y axis is logarithmic when every loss is positive; the best
        epoch is marked with a dotted vertical line.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``model`` has no ``loss_curve_``.
    ImportError
        If matplotlib is not installed.
    """
    loss = getattr(model, "loss_curve_", None)
    if loss is None:
        raise NotFittedError(f"{type(model).__name__} has no loss_curve_: fit it before plotting its loss")
    validation = getattr(model, "validation_scores_", None)
    best_epoch = getattr(model, "best_epoch_", None)

    ax = _axes(ax)
    ax.plot(np.arange(1, len(loss) + 1), loss, marker=".", label="training loss")
    if validation is not None:
        ax.plot(np.arange(1, len(validation) + 1), validation, marker=".", label="validation loss")
    if best_epoch is not None:
        ax.axvline(best_epoch, color="grey", linestyle=":", label=f"best epoch ({best_epoch})")
    values = np.asarray(list(loss) + list(validation or []), dtype=np.float64)
    if values.size and np.all(values > 0):
        ax.set_yscale("log")
    # The default locator is a MaxNLocator: epochs are whole numbers.
    ax.locator_params(axis="x", integer=True)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Training loss")
    ax.legend()
    return ax


def plot_backtest(result: Any, ax: Axes | None = None) -> Axes:
    """Plot a backtest's actual values with each fold's forecast.

    Parameters
    ----------
    result : object
        A backtest result with an attribute ``forecasts``: a tidy DataFrame with one row per
        fold and forecast step and the columns ``"fold"``, ``"cutoff"`` (the fold's last
        training label), ``"timestamp"`` (the step's label), ``"actual"``, ``"forecast"``, and
        optional ``lower_<pct>`` / ``upper_<pct>`` column pairs.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is created when None.

    Returns
    -------
    matplotlib Axes
        The Axes drawn on: the actual values as one line, each fold's forecast as a line with
        its widest interval as a band, and a dotted vertical line at each fold's cutoff.

    Raises
    ------
    TypeError
        If ``result`` has no ``forecasts`` DataFrame.
    ValueError
        If ``forecasts`` is empty, lacks a required column, or has an unmatched interval column.
    ImportError
        If matplotlib is not installed.
    """
    frame = getattr(result, "forecasts", None)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"result must have a forecasts DataFrame; got {type(frame).__name__}")
    missing = [c for c in _REQUIRED_BACKTEST_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"result.forecasts lacks the columns {missing}; it needs {list(_REQUIRED_BACKTEST_COLUMNS)}")
    if frame.empty:
        raise ValueError("result.forecasts is empty")
    bands = _interval_columns(frame)

    # Folds can overlap, so one timestamp may carry several rows with the same actual value.
    actual = frame[["timestamp", "actual"]].drop_duplicates("timestamp").sort_values("timestamp")

    ax = _axes(ax)
    ax.plot(actual["timestamp"], actual["actual"], color="black", label="actual")
    for i, (fold, rows) in enumerate(frame.groupby("fold", sort=True)):
        rows = rows.sort_values("timestamp")
        color = f"C{i % 10}"
        if bands:
            pct, lower, upper = bands[0]
            ax.fill_between(
                rows["timestamp"],
                rows[lower],
                rows[upper],
                color=color,
                alpha=0.2,
                linewidth=0,
                label=f"{pct}% interval" if i == 0 else None,
            )
        ax.plot(rows["timestamp"], rows["forecast"], color=color, label=f"fold {fold}")
        for cutoff in rows["cutoff"].unique():
            ax.axvline(cutoff, color="grey", linestyle=":", label="cutoff" if i == 0 else None)
    ax.set_xlabel("timestamp")
    ax.set_ylabel("value")
    ax.set_title("Backtest")
    ax.legend()
    return ax


def _series_of(
    data: pd.DataFrame | dict[Any, pd.Series], name: str, id_column: str, time_column: str, target_column: str
) -> dict[Any, pd.Series]:
    """Split a long frame (or take a dict) into one Series per id, indexed by time, in the order of the first rows."""
    if isinstance(data, dict):
        return {uid: pd.Series(series) for uid, series in data.items()}
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{name} must be a long DataFrame or a dict of Series; got {type(data).__name__}")
    needed = [id_column, time_column, target_column]
    missing = [column for column in needed if column not in data.columns]
    if missing:
        raise ValueError(
            f"{name} has no column {' or '.join(map(repr, missing))}; a long frame has the id, time and target "
            f"columns {needed}: name them with id_column=, time_column= and target_column="
        )
    out = {}
    for uid, rows in data.groupby(id_column, sort=False):
        rows = rows.sort_values(time_column, kind="stable")
        out[uid] = pd.Series(
            rows[target_column].to_numpy(dtype=float),
            index=pd.Index(rows[time_column].to_numpy(), name=time_column),
            name=target_column,
        )
    return out


def plot_collection(
    y: pd.DataFrame | dict[Any, pd.Series],
    forecast: pd.DataFrame | dict[Any, pd.Series],
    *,
    ids: list[Any] | None = None,
    max_series: int = 6,
    ncols: int = 2,
    history: int | None = None,
    id_column: str = "unique_id",
    time_column: str = "ds",
    target_column: str = "y",
) -> Figure:
    """Plot some series of a collection with their forecasts, one panel each, in a grid.

    Each panel is :func:`plot_forecast` of one series, titled with its id; only the first
    has a legend.

    Parameters
    ----------
    y : DataFrame or dict of Series
        The observed series: a long frame of shape (n_rows, >= 3) with the id, time and
        target columns (other columns are ignored), or a dict of Series indexed by time.
    forecast : DataFrame or dict of Series
        The forecasts, in the same form (as :meth:`RNNForecaster.predict` returns them for a
        collection).
    ids : list, optional
        The series to draw, in this order; default: the first ``max_series`` of ``forecast``.
    max_series : int, default=6
        Series drawn when ``ids`` is None.
    ncols : int, default=2
        Panels per row (fewer when fewer series are drawn).
    history : int, optional
        How many of each series' last observations before its forecast to draw; all when None.
    id_column, time_column, target_column : str, default="unique_id", "ds", "y"
        The columns of the long frames.

    Returns
    -------
    matplotlib Figure
        With ``ceil(n / ncols)`` rows of ``min(n, ncols)`` panels for n series; panels left
        over in the last row are hidden.

    Raises
    ------
    TypeError
        If ``y`` or ``forecast`` is neither a DataFrame nor a dict.
    ValueError
        If a long frame lacks one of the columns, ``ids`` names a series that ``forecast``
        or ``y`` lacks, ``ids`` is empty, or ``max_series`` or ``ncols`` is below 1.
    ImportError
        If matplotlib is not installed.
    """
    for name, value in (("max_series", max_series), ("ncols", ncols)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an int >= 1; got {value!r}")
    observed = _series_of(y, "y", id_column, time_column, target_column)
    forecasts = _series_of(forecast, "forecast", id_column, time_column, target_column)
    chosen = list(forecasts)[:max_series] if ids is None else list(ids)
    if not chosen:
        raise ValueError("no series to draw: ids is empty" if ids is not None else "forecast holds no series")
    for uid in chosen:
        for what, series in (("forecast", forecasts), ("y", observed)):
            if uid not in series:
                raise ValueError(f"{what} has no series {uid!r}; its series are {list(series)[:5]!r}")
    columns = min(ncols, len(chosen))
    rows = -(-len(chosen) // columns)
    figure, axes = _pyplot().subplots(
        rows, columns, figsize=(6 * columns, 3.2 * rows), squeeze=False, layout="constrained"
    )
    for i, ax in enumerate(axes.flat):
        if i >= len(chosen):
            ax.set_visible(False)
            continue
        uid = chosen[i]
        plot_forecast(observed[uid], forecasts[uid], ax=ax, history=history)
        ax.set_title(str(uid))
        if i:
            ax.get_legend().remove()
    return figure
