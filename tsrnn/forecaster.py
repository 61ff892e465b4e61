"""RNNForecaster: fit a recurrent network on a pandas series, forecast with future timestamps."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from tsrnn._base import (
    LOSS_CONSTRAINTS,
    NETWORK_CONSTRAINTS,
    RecurrentEstimator,
    discard_on_interrupt,
    largest_validation_fraction,
    make_rng,
    min_samples_for_validation,
    splits_for_validation,
)
from tsrnn._local import fit_each, series_data
from tsrnn._panel import Collection, Columns, is_collection, read_collection, to_long
from tsrnn._params import Boolean, Integer, Levels, Name, Options, Real, StringList
from tsrnn._state import ModelFileError, StateReader, StateWriter
from tsrnn._timeindex import (
    CALENDAR,
    TimeAxis,
    auto_calendar,
    calendar_features,
    check_same_time_zone,
    label,
    time_axis,
)
from tsrnn._validation import Table, as_table, check_covariates_aligned, one_of, some
from tsrnn.losses import Loss
from tsrnn.network import DirectNetworks, RecurrentNetwork, Seq2SeqNetwork, input_part
from tsrnn.preprocessing import (
    TRANSFORMS,
    Scaler,
    TargetTransform,
    autocorrelated_period,
    difference,
    undifference,
)
from tsrnn.training import Seq2SeqModel, SequenceModel, embeds
from tsrnn.windowing import Windows

__all__ = ["RNNForecaster"]

_OWN_CONSTRAINTS: dict[str, list[Any]] = {
    "window": [Integer(1), None],
    "horizon": [Integer(1)],
    "strategy": [Options("recursive", "direct", "mimo", "seq2seq")],
    "sequence_loss": [Boolean()],
    "transform": [Options(*TRANSFORMS), None],
    "scaler": [Options("standard", "minmax"), None],
    "difference": [Integer(0, 2), Options("seasonal", "auto")],
    "seasonal_period": [Integer(2), None],
    "calendar_features": [Boolean(), StringList(*CALENDAR)],
    "calibration_size": [Integer(1), Real(0.0, 1.0, closed="neither"), None],
    "quantiles": [Levels(), None],
    "id_column": [Name()],
    "time_column": [Name()],
    "target_column": [Name()],
    "pooling": [Options("global", "local")],
    "past_covariates": [StringList(), None],
    "series_embedding": [Integer(1), None],
    "n_jobs": [Integer(1), Integer(None, -1), None],
}


def _stored_quantiles(state: StateReader, levels: np.ndarray) -> list[float] | None:
    """Return the ``quantiles_`` of a model file: ascending distinct levels, the network's ``levels`` but the median."""
    stored = state.array("quantiles_", (None,), np.float64, none=True)
    if stored is None:
        if len(levels):
            raise state.inconsistent("quantile levels without the quantiles asked for")
        return None
    values = stored.tolist()
    if not Levels().accepts(values) or values != sorted(values) or not np.isin(values, levels).all():
        raise state.inconsistent(f"quantiles_ {values!r} are not ascending levels among {levels.tolist()}")
    if not np.array_equal(np.unique([*values, 0.5]), levels):
        raise state.inconsistent(f"the quantile levels {levels.tolist()} are not quantiles_ {values!r} and the median")
    return values


def conformal_rank(n_errors: int, coverage: float) -> int:
    """Return the rank (from 1) of the absolute error that bounds an interval of ``coverage``.

    Split conformal prediction takes the ``ceil((n + 1) · coverage)``-th smallest of ``n``
    calibration errors; a rank above ``n`` means too few errors for that coverage.
    """
    return int(np.ceil((n_errors + 1) * coverage))


def _covariate_values(X: Any, target: Table, before: str = "fitting") -> np.ndarray:
    """Check covariates ``X`` (or None) against the target's rows and index; return them as float64 (n, k)."""
    if X is None:
        return np.empty((len(target.values), 0))
    table = as_table(X, "X", allow_empty_columns=True, before=before)
    check_covariates_aligned(table.index, target.index, compare_labels=table.kind != "array" and target.kind != "array")
    return table.values


def _first_difference(index: pd.Index, expected: pd.Index) -> int:
    """Return the position of the first label of ``index`` that differs from ``expected`` (of the same length)."""
    try:
        return int(np.argmax(np.asarray(index != expected)))
    except TypeError:  # labels of another kind (periods against timestamps) do not compare
        return 0


def _rows(data: Any, rows: slice) -> Any:
    """Select rows by position from a pandas object or an array (None stays None)."""
    if data is None:
        return None
    return data.iloc[rows] if isinstance(data, (pd.Series, pd.DataFrame)) else np.asarray(data)[rows]


@dataclass(frozen=True)
class _Layout:
    """The parameters that decide how many training windows ``fit`` cuts from a series.

    A plain record, so that the length checks can try other values (a shorter window, no
    early stopping) without cloning the estimator.
    """

    window: int | None
    horizon: int
    difference: int | str
    early_stopping: bool
    validation_fraction: float
    recursive: bool
    seasonal_period: int | None  # the parameter
    period: int | None  # the seasonal period used: the parameter, or the frequency's
    seasonal_lags: tuple[int, ...]  # the frequency's seasonal lags, longest first

    def auto_window(self, n: int, lag_total: int) -> int:
        """Return the window of ``window=None``: two seasonal periods (or horizons), at most half what ``n`` leaves."""
        return max(1, min(2 * (self.period or self.horizon), (n - self.horizon - lag_total) // 2))

    def lags(self, n: int) -> tuple[int, ...]:
        """Choose the differencing lags for a series of ``n`` steps."""
        if self.difference == "auto":
            # The longest seasonal lag the series can spare (a week for hourly data: on the
            # hourly electricity benchmark it cut MASE from 0.84 to 0.67 against the day).
            candidates = (self.seasonal_period,) if self.seasonal_period else self.seasonal_lags
            for lag in candidates:
                if n >= (self.window or self.auto_window(n, lag)) + self.horizon + lag + 1:
                    return (lag,)
            return ()  # too short to give up a season
        if self.difference == "seasonal":
            if self.period is None:
                raise ValueError(
                    "difference='seasonal' needs a seasonal period: set `seasonal_period`, or index y by timestamps "
                    "of a frequency with a usual season (monthly, quarterly, weekly, daily, hourly)"
                )
            return (self.period,)
        return (1,) * int(self.difference)

    def windows(self, n: int) -> tuple[int, tuple[Any, ...]]:
        """Return how many training windows ``fit`` would cut from ``n`` steps (0: none), and their regime.

        The regime is the lags, which bound of the automatic window applies, and whether any
        window is cut. Over consecutive values of ``n``, of the window or of the horizon, each
        regime holds for one run of values, in which the count is monotonic: the searches
        bisect within each run instead of trying every value.
        """
        lags = self.lags(n)
        lag_total = sum(lags)
        if self.window is not None:
            window, bound = self.window, "fixed"
        else:
            window, half = self.auto_window(n, lag_total), (n - self.horizon - lag_total) // 2
            bound = "one" if half <= 1 else "half" if half < 2 * (self.period or self.horizon) else "periods"
        if n < window + self.horizon + lag_total:
            return 0, (lags, bound, False)
        # A recursive window is followed by one target step, the others by a block of `horizon` steps.
        return n - lag_total - window - (0 if self.recursive else self.horizon - 1), (lags, bound, True)

    def enough(self, windows: int) -> bool:
        """Whether ``windows`` training windows suffice, early stopping's validation windows included."""
        return windows >= 1 and (not self.early_stopping or splits_for_validation(windows, self.validation_fraction))

    def probe(self, n: int) -> tuple[bool, tuple[Any, ...]]:
        """Whether ``n`` steps suffice, and the regime of their window count (see :meth:`windows`)."""
        windows, regime = self.windows(n)
        return self.enough(windows), regime

    def fits(self, n: int) -> bool:
        """Whether ``n`` steps suffice."""
        return self.probe(n)[0]


def _last(predicate: Callable[[int], bool], lo: int, hi: int) -> int:
    """Return the last value in [lo, hi] where ``predicate`` holds; it holds at ``lo`` and turns false once at most."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if predicate(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _runs_that_fit(probe: Callable[[int], tuple[bool, Any]], lo: int, hi: int) -> list[tuple[int, int]]:
    """Return the runs (first, last) of consecutive values in [lo, hi] that fit, in order.

    ``probe(value)`` says whether the value fits and its regime; within the run of one regime
    fitting is monotonic, so each run is split by bisection, in O(log(hi - lo)) probes.
    """
    runs: list[tuple[int, int]] = []

    def add(first: int, last: int) -> None:
        if runs and runs[-1][1] == first - 1:
            first = runs.pop()[0]
        runs.append((first, last))

    start = lo
    while start <= hi:
        fits_start, regime = probe(start)
        end = _last(lambda value, regime=regime: probe(value)[1] == regime, start, hi)
        fits_end = probe(end)[0]
        if fits_start and fits_end:
            add(start, end)
        elif fits_start:
            add(start, _last(lambda value: probe(value)[0], start, end))
        elif fits_end:
            add(_last(lambda value: not probe(value)[0], start, end) + 1, end)
        start = end + 1
    return runs


def _shortest(layout: _Layout, start: int) -> int:
    """Return the fewest steps, ``start`` or more, that suffice for ``layout``."""
    if layout.difference == "auto":
        lag = max((layout.seasonal_period,) if layout.seasonal_period else layout.seasonal_lags, default=0)
    else:
        lag = sum(layout.lags(start))
    need = min_samples_for_validation(layout.validation_fraction) if layout.early_stopping else 1
    # Enough for the longest lag, the longest window and the windows early stopping needs.
    window = layout.window or 2 * (layout.period or layout.horizon)
    end = max(start, window + layout.horizon + lag + need + 1)
    while not layout.fits(end):  # not reached: the bound above suffices
        end *= 2
    return _runs_that_fit(layout.probe, start, end)[0][0]


# The fitted attributes of one series, which a fit on a collection replaces.
_ONE_SERIES = ("_y", "_covariates", "_index", "_target_scaler")


@dataclass(frozen=True)
class _History:
    """What forecasts of one series start from: its values (transformed), covariates, labels, axis and scaling."""

    y: np.ndarray  # (n, n_targets)
    covariates: np.ndarray  # (n, k)
    index: pd.Index
    axis: TimeAxis
    scaler: Scaler
    static: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))  # (k_static,), in every row
    position: int = -1  # the series' row of an embedding; -1 for one the model never saw

    def upto(self, end: int) -> _History:
        """Return the history of the first ``end`` steps."""
        axis = dataclasses.replace(self.axis, last=self.index[end - 1])
        return dataclasses.replace(self, y=self.y[:end], covariates=self.covariates[:end], index=self.index[:end],
                                   axis=axis)  # fmt: skip

    def with_static(self, rows: np.ndarray) -> np.ndarray:
        """Return covariate rows (n, k) followed by the series' static features in each, (n, k + k_static)."""
        return np.concatenate([rows, np.broadcast_to(self.static, (len(rows), len(self.static)))], axis=1)


def _check_horizon(horizon: int | None) -> None:
    """Raise ValueError unless predict's ``horizon`` is None or an int >= 1."""
    if horizon is not None and not Integer(1).accepts(horizon):
        raise ValueError(f"`horizon` must be an int >= 1; got {horizon!r}")


def _front_padded(rows: np.ndarray, count: int) -> np.ndarray:
    """Return the last ``count`` rows of ``rows`` (n, F), zeros before them where there are fewer."""
    if len(rows) >= count:
        return rows[len(rows) - count :]
    return np.concatenate([np.zeros((count - len(rows), rows.shape[1]), rows.dtype), rows])


class RNNForecaster(RegressorMixin, RecurrentEstimator):
    """Recurrent-network forecaster of pandas series, with covariates and several multi-step strategies.

    ``fit(y)`` or ``fit(X, y)`` learns from a series ``y`` (a Series, or a DataFrame of several
    targets) indexed by regular timestamps or integer steps, with optional covariates ``X``
    on the same index. ``predict(horizon=h)`` or ``predict(X_future)`` forecasts the steps
    after the end of ``y``, indexed by their timestamps.

    The target is transformed (``transform``, fixed), differenced (``difference``), then scaled
    (``scaler``), the last two learnt from the data given to ``fit`` only; covariates are
    scaled the same way. Windows of ``window`` steps are cut from the result, in time order.

    Strategies (``strategy``), and their trade-offs:

    - ``"recursive"``: one step ahead; longer forecasts feed predictions back as inputs. One
      small output, the most training windows, but errors compound over the horizon and the
      loss only sees one step. Each step's input carries the covariates of the step that
      follows it. ``sequence_loss=True`` also trains on the one-step predictions made at every
      step of the window (many-to-many), which gives more signal per window.
    - ``"mimo"``: one network reads the window and its head outputs all ``horizon`` steps at
      once (multi-input multi-output). No compounding errors and one pass per forecast; it
      needs ``horizon`` more observations to cut each training window. With covariates the
      input runs on over the horizon steps, with their covariates and the target masked.
    - ``"direct"``: like ``"mimo"`` but with an independent network per horizon step: the
      most flexible, ``horizon`` times the cost.
    - ``"seq2seq"``: an encoder reads the window; a decoder, started from its state, is
      unrolled over the horizon reading what is known of each future step in advance (its
      covariates and its position in the horizon). Outputs share one decoder, so the forecast
      is smooth across steps; no compounding errors. Not with ``bidirectional``.

    Forecasts longer than ``horizon`` are made block by block, each block fed back.

    Many series: ``fit`` also takes a collection, as a DataFrame in the long format (columns
    ``unique_id``, ``ds``, ``y``, see ``id_column``, ``time_column``, ``target_column``; any
    other columns are covariates known in advance) or as a dict of Series. One global model
    then learns from the windows of every series, pooled and shuffled together; series may
    have different lengths, starts and ends, but one frequency. Each series is differenced
    and scaled on its own steps; the window and the differencing are those of the median
    length. A series too short to give a training window is named in a warning and still
    forecast: its window reads zeros (its scaled mean) before its first step. ``predict``
    then returns every series (or those of ``ids``) in the form they came in: a long frame
    with the id, time and target columns, each series with its own future timestamps, or a
    dict of Series. ``predict(y=other_collection)`` forecasts series the model never saw from
    their history, scaled on their own steps, without refitting; ``update`` appends new
    observations to the series.

    Parameters
    ----------
    window : int or None, default=None
        Steps per input window. None: two seasonal periods of the frequency (or two
        horizons without one), shortened for short series so that half the series still
        yields windows.
    horizon : int, default=1
        Steps forecast by ``predict()`` without arguments, and trained for jointly by
        ``"mimo"``, ``"direct"`` and ``"seq2seq"``.
    strategy : {"mimo", "direct", "recursive", "seq2seq"}, default="mimo"
        Multi-step strategy (see above).
    sequence_loss : bool, default=False
        With ``"recursive"``: train on the prediction at every step of the window.
    transform : {"log", "log1p"} or None, default=None
        Fixed transform of the target, before differencing and scaling; undone on the
        forecasts and on the interval bounds, which are computed in the transformed space
        (so are the calibration errors, ``calibration_residuals_``) and so stay in the
        series' domain. ``"log"`` needs every value > 0 and keeps forecasts and bounds
        positive; ``"log1p"``, ``log(1 + y)``, needs every value >= 0 and keeps them >= 0:
        for counts and other non-negative series with zeros. Back-transformed forecasts
        estimate the median rather than the mean. Covariates are not transformed.
    scaler : {"standard", "minmax"} or None, default="standard"
        Scaling of the (differenced) target and of the covariates, per column.
    difference : {"auto", 0, 1, 2, "seasonal"}, default="auto"
        Differencing of the target before scaling: an order, or one seasonal difference at
        the seasonal period. Forecasts are integrated back. "auto": seasonal when the
        seasonal period is known and the series is long enough to lose one season, else
        none; for hourly data (period 24, inferred) the week, 168 hours, when long enough.
        The network then learns how this season departs from the last, which beat
        the undifferenced and first-differenced variants on all three bundled benchmark
        series (see ``benchmarks/README.md``).
    seasonal_period : int or None, default=None
        Season length; None infers it from the index' frequency (12 monthly, 4 quarterly, 52
        weekly, 7 daily, 24 hourly).
    calendar_features : bool or list of str, default=False
        Add the sine and cosine of calendar positions of each step as covariates: True picks
        them from the frequency, or name them from "hour", "dayofweek", "dayofyear", "month".
    calibration_size : int, float in (0, 1) or None, default=None
        Calibrate prediction intervals (:meth:`predict_interval`) in ``fit``: a copy of the
        model is trained on all but the last ``calibration_size`` steps (a number, or a
        share of the series), then forecasts ``horizon`` steps from every origin in that
        held-out tail without retraining; the absolute errors of each horizon step give
        split-conformal intervals, whose coverage holds when future errors behave like
        these (exchangeability). Costs one more fit. None: no intervals.
    quantiles : list of float in (0, 1) or None, default=None
        Train for these quantile levels (and the median) on the pinball loss: the head has
        one output per level, target and step, and :meth:`predict_quantiles` forecasts them,
        never crossing; :meth:`predict` forecasts the median. ``loss`` must then be left at
        its default or be ``"pinball"``. Quantiles and ``calibration_size`` answer different
        needs: the conformal intervals of :meth:`predict_interval` have the coverage asked
        for on average over the horizon whatever the model, at the price of a second fit and
        of widths that depend only on the step, not on the window; quantile forecasts come
        from the one fit, widen and narrow with the window (a spike, a quiet spell) and the
        season, but their coverage is only as good as the model (check it with a backtest,
        ``benchmarks/quantiles.py``). Use the intervals for a guaranteed average coverage,
        the quantiles for a forecast distribution that follows the data. With differencing,
        each level's differences are integrated on that level's own values within a block
        of steps (a comonotone band: wide) and on the median from block to block: with
        ``"recursive"`` every step is one block, and the band of a later step is that of a
        one-step forecast around the median path, which does not widen with the horizon.
    id_column, time_column, target_column : str, default="unique_id", "ds", "y"
        The columns of a collection of series in the long format (see "Many series" above).
    past_covariates : list of str or None, default=None
        Covariate columns known only up to the forecast origin (the weather measured so far,
        yesterday's sales of another product), by name: the input windows read them over the
        window's steps, never over the horizon, so ``predict(X)`` takes only the other
        covariates (those known in advance), and a forecast reaches at most ``horizon`` steps.
        Not with ``strategy="recursive"``, which would need them beyond the origin.
    series_embedding : int or None, default=None
        For a global model: learn a vector of this size per series of the fit, which every
        step of its windows reads after its features (``series_embedding.weight`` in
        ``network_``), so that the model tells the series apart. Series it did not see
        (``predict(y=...)``) read the mean vector.
    pooling : {"global", "local"}, default="global"
        For a collection: one model learnt from every series (``"global"``), or one model
        per series (``"local"``, ``estimators_``), each fitted on its series alone as
        ``fit(series)`` would, in parallel through joblib (see ``n_jobs``).
    n_jobs : int or None, default=None
        Local models fitted at once, through joblib (-1: one per core; None: one at a time,
        unless a ``joblib.parallel_config`` says otherwise). Under
        ``joblib.parallel_config(backend="dask")`` the fits run on a Dask cluster. Each fit
        uses the machine's cores divided by the number of jobs as Numba threads, so that
        the workers do not oversubscribe the cores; the models are the same whatever the
        backend, the number of jobs or of threads.
    {network_parameters}

    Attributes
    ----------
    network_ : RecurrentNetwork, DirectNetworks or Seq2SeqNetwork
        The trained network.
    optimizer_ : tsrnn.optim.Adam or tsrnn.optim.SGD
        The optimiser that trained it, with its state (moments, step count), which a warm
        start continues (see ``warm_start``).
    window_ : int
        The window used.
    seasonal_period_ : int or None
        The seasonal period used or inferred.
    differencing_lags_ : tuple of int
        The lags the target was differenced at, in order: ``(12,)`` for a seasonal difference
        of monthly data, ``(1, 1)`` for second-order differencing, ``()`` for none.
    calendar_features_ : tuple of str
        The calendar features used.
    loss_curve_, validation_scores_, best_epoch_, n_iter_
        As for :class:`RNNRegressor` (losses on the scaled, differenced target).
    n_features_in_ : int
        Number of covariate columns seen in fit (0 without covariates).
    feature_names_in_ : ndarray of str
        Covariate names, when ``X`` was a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from tsrnn import RNNForecaster
    >>> index = pd.date_range("2000-01", periods=120, freq="MS")
    >>> y = pd.Series(np.sin(np.arange(120) * np.pi / 6), index=index, name="demand")
    >>> model = RNNForecaster(window=24, horizon=12, max_epochs=5, random_state=0).fit(y)
    >>> forecast = model.predict()
    >>> str(forecast.index[0].date()), len(forecast)
    ('2010-01-01', 12)
    """

    _accepted_values: ClassVar[dict[str, list[Any]]] = {**_OWN_CONSTRAINTS, **NETWORK_CONSTRAINTS, **LOSS_CONSTRAINTS}

    def __init__(
        self,
        *,
        window: int | None = None,
        horizon: int = 1,
        strategy: str = "mimo",
        sequence_loss: bool = False,
        transform: str | None = None,
        scaler: str | None = "standard",
        difference: int | str = "auto",
        seasonal_period: int | None = None,
        calendar_features: bool | list[str] = False,
        calibration_size: int | float | None = None,
        quantiles: list[float] | None = None,
        id_column: str = "unique_id",
        time_column: str = "ds",
        target_column: str = "y",
        past_covariates: list[str] | None = None,
        series_embedding: int | None = None,
        pooling: str = "global",
        n_jobs: int | None = None,
        cell: str = "lstm",
        hidden_size: int = 32,
        num_layers: int = 1,
        bidirectional: bool = False,
        activation: str = "tanh",
        dropout: float = 0.0,
        loss: str = "mse",
        huber_delta: float = 1.0,
        quantile: float = 0.5,
        optimizer: str = "adam",
        learning_rate: float = 3e-3,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        batch_size: int = 64,
        max_epochs: int = 200,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 20,
        tol: float = 1e-4,
        clip_norm: float | None = None,
        bptt_steps: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        warm_start: bool = False,
        device: str = "cpu",
        dtype: str = "float32",
    ) -> None:
        self.window = window
        self.horizon = horizon
        self.strategy = strategy
        self.sequence_loss = sequence_loss
        self.transform = transform
        self.scaler = scaler
        self.difference = difference
        self.seasonal_period = seasonal_period
        self.calendar_features = calendar_features
        self.calibration_size = calibration_size
        self.quantiles = quantiles
        self.id_column = id_column
        self.time_column = time_column
        self.target_column = target_column
        self.past_covariates = past_covariates
        self.series_embedding = series_embedding
        self.pooling = pooling
        self.n_jobs = n_jobs
        self.loss = loss
        self.huber_delta = huber_delta
        self.quantile = quantile
        super().__init__(
            cell=cell, hidden_size=hidden_size, num_layers=num_layers, bidirectional=bidirectional,
            activation=activation, dropout=dropout,
            optimizer=optimizer, learning_rate=learning_rate,
            momentum=momentum, weight_decay=weight_decay, batch_size=batch_size, max_epochs=max_epochs,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, tol=tol, clip_norm=clip_norm, bptt_steps=bptt_steps,
            random_state=random_state, verbose=verbose, warm_start=warm_start, device=device, dtype=dtype,
        )  # fmt: skip

    # ----------------------------------------------------------------------------- checks

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.strategy == "seq2seq" and self.bidirectional:
            raise ValueError("strategy='seq2seq' needs bidirectional=False: the decoder continues one direction")
        if self.sequence_loss and self.strategy != "recursive":
            raise ValueError(f"sequence_loss=True needs strategy='recursive'; got strategy={self.strategy!r}")
        if self.sequence_loss and self.bidirectional:
            raise ValueError("sequence_loss=True needs bidirectional=False: each step may only see its past")
        if self.past_covariates and self.strategy == "recursive":
            raise ValueError(
                "past_covariates need a strategy that forecasts the horizon at once (mimo, direct or seq2seq): "
                "a recursive forecast would read them beyond the origin, where they are not known"
            )
        if self.quantiles is not None and self.loss not in ("mse", "pinball"):
            raise ValueError(
                f"quantiles train on the pinball loss, one output per level; got loss={self.loss!r}. "
                "Leave loss at its default, or set loss='pinball'"
            )

    def _levels_asked(self) -> np.ndarray:
        """Return the levels the network outputs for the parameters: ``quantiles`` and the median, or none."""
        if self.quantiles is None:
            return np.zeros(0)
        # The median too, whether asked for or not: it is the point forecast of predict.
        return np.unique(np.asarray([*self.quantiles, 0.5], dtype=np.float64))

    @property
    def _levels(self) -> np.ndarray:
        """The quantile levels of the fitted network (``quantile_levels_``), or of the parameters before fit."""
        return self.quantile_levels_ if hasattr(self, "quantile_levels_") else self._levels_asked()

    @property
    def _outputs_per_value(self) -> int:
        """Network outputs per target value: one per quantile level, or one."""
        return max(1, len(self._levels))

    def _loss(self) -> Loss:
        if not len(self._levels):
            return super()._loss()
        # The quantile is the innermost axis of every output: output j holds level j mod Q.
        return Loss("pinball", self._levels)

    # -------------------------------------------------------------------------- features

    def _target_features(self, y: np.ndarray, scaler: Scaler | None = None) -> np.ndarray:
        """Differenced, scaled target rows: ``sum(lags)`` fewer than ``y`` (scaled by the series' ``scaler``)."""
        return (scaler or self._target_scaler).transform(difference(y, self.differencing_lags_))

    def _covariate_features(self, covariates: np.ndarray, index: pd.Index) -> np.ndarray:
        """Scaled covariates and calendar features, one row per step."""
        scaled = self._covariate_scaler.transform(covariates) if covariates.shape[1] else covariates
        return np.concatenate([scaled, calendar_features(index, self.calendar_features_)], axis=1)

    def _samples(self, z: np.ndarray, c: np.ndarray) -> tuple[tuple[Windows, ...], Windows]:
        """Network inputs and targets of every window of targets ``z`` (n, kt) and covariates ``c`` (n, kc).

        The same function cuts the training windows and, with the unknown future target rows
        filled with zeros, the input of one forecast. Inputs and targets are :class:`Windows`
        over the rows of ``z`` and ``c``, gathered batch by batch; :meth:`_target_array`
        gathers the targets in the network's output layout.
        """
        w, h = self.window_, self._block_size
        own = np.ascontiguousarray(z)
        past = self._past_positions
        if past:
            # Past covariates travel with the target: read over the window, blanked over the horizon.
            future = np.setdiff1d(np.arange(c.shape[1]), past)
            z, c = np.concatenate([z, c[:, past]], axis=1), c[:, future]
        if self.strategy == "recursive":
            # Step s reads [z_s, c_{s+1}]: the covariates of the step it helps predict.
            steps = np.concatenate([z[:-1], c[1:]], axis=1)
            count = len(steps) - w + 1
            inputs = Windows(steps, np.arange(count), w)
            if self.sequence_loss:
                return (inputs,), Windows(own, np.arange(count) + 1, w)
            return (inputs,), Windows(own, np.arange(count) + w, 1)
        count = len(z) - w - h + 1
        targets = Windows(own, np.arange(count) + w, h)
        if self.strategy == "seq2seq":
            encoder = Windows(np.concatenate([z, c], axis=1), np.arange(count), w)
            position = ((np.arange(h) + 1.0) / h)[:, None]
            decoder = Windows(np.ascontiguousarray(c), np.arange(count) + w, h, position=position)
            return (encoder, decoder), targets
        if c.shape[1] == 0:
            inputs = Windows(z, np.arange(count), w)
        else:
            # The input runs on over the horizon with each step's covariates; the target and
            # the "observed" flag are zero there.
            observed = np.ones((len(z), 1), dtype=z.dtype)
            inputs = Windows(np.concatenate([z, observed, c], axis=1), np.arange(count), w + h, w, z.shape[1] + 1)
        return (inputs,), targets

    def _target_array(self, targets: Windows) -> np.ndarray:
        """Gather training targets in the network's output layout, one copy per quantile level.

        (n, kt) for one recursive step, (n, steps, kt) for a sequence (seq2seq, ``sequence_loss``),
        else (n, horizon · kt); the quantile is the innermost axis.
        """
        gathered = np.asarray(targets)
        n, steps, kt = gathered.shape
        if self.strategy == "recursive" and not self.sequence_loss:
            gathered = gathered.reshape(n, kt)
        elif self.strategy in ("mimo", "direct"):
            gathered = gathered.reshape(n, steps * kt)
        # One copy of each target value per quantile level, next to each other as the outputs are.
        return np.repeat(gathered, self._outputs_per_value, axis=-1) if len(self._levels) else gathered

    def _make_network(
        self, n_inputs: int, n_decoder_inputs: int, kt: int, rng: np.random.Generator, **embedding: int
    ) -> Any:
        options = {**self._network_options(rng), **embedding}
        kt *= self._outputs_per_value
        if self.strategy == "seq2seq":
            return Seq2SeqNetwork(n_inputs, n_decoder_inputs, output_size=kt, **options)
        if self.strategy == "direct":
            return DirectNetworks(self.horizon, n_inputs, output_size=kt, bidirectional=self.bidirectional, **options)
        outputs = kt * (1 if self.strategy == "recursive" else self.horizon)
        return RecurrentNetwork(n_inputs, output_size=outputs, bidirectional=self.bidirectional, **options)

    @property
    def _block_size(self) -> int:
        """Steps one network pass forecasts: 1 for "recursive", else the horizon."""
        return 1 if self.strategy == "recursive" else self.horizon

    def _model(self) -> SequenceModel | Seq2SeqModel:
        if self.strategy == "seq2seq":
            return Seq2SeqModel(self.network_, device=self.device)
        return SequenceModel(self.network_, return_sequences=self.sequence_loss, device=self.device)

    # ------------------------------------------------------------------------------- fit

    def fit(self, X: Any, y: Any = None, *, static_features: pd.DataFrame | None = None) -> RNNForecaster:
        """Learn to forecast ``y``, optionally from covariates ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n, k), or the target when ``y`` is omitted
            Covariates on ``y``'s index (known in advance for the forecast steps too); may
            have zero columns. ``fit(y)`` fits without covariates.
        y : Series, DataFrame or array-like of shape (n,) or (n, n_targets)
            The series, indexed by regular timestamps (DatetimeIndex with a frequency pandas
            can infer, or PeriodIndex) or by evenly spaced integers. Or a collection of
            series: a long frame or a dict of Series (see "Many series" above), passed alone.
        static_features : DataFrame of shape (n_series, k_static), optional
            For a global model of a collection: what describes each series and does not
            change (a shop's size, a product's category as numbers), indexed by the series
            ids. Every step of a series reads them, scaled like the covariates.

        Returns
        -------
        self : RNNForecaster
        """
        if y is None:
            X, y = None, X
        if y is None:
            raise ValueError("RNNForecaster.fit needs the target series y")
        if is_collection(y, self._columns):
            if X is not None:
                raise ValueError(
                    "a collection of series carries its covariates as columns of the long frame; pass it alone, "
                    "fit(frame)"
                )
            collection = read_collection(y, self._columns)
            if static_features is not None:
                if self.pooling == "local":
                    raise ValueError(
                        "static features tell the series apart to one global model; a local model sees one series, "
                        "for which they are constants: use pooling='global', or leave static_features out"
                    )
                collection = collection.with_static(static_features)
            if self.pooling == "local":
                if self.series_embedding:
                    raise ValueError("series_embedding is for one global model; local models see one series each")
                return self._fit_local(collection)
            return self._fit(collection)
        if static_features is not None:
            raise ValueError("static_features describe the series of a collection; one series takes covariates X")
        if self.series_embedding:
            raise ValueError(
                "series_embedding tells the series of a collection apart; one series needs none: "
                "series_embedding=None, or fit on a collection"
            )
        return self._fit(X, y)

    def _forget(self, *names: str) -> None:
        """Delete the fitted attributes ``names`` that a fit of another kind left behind."""
        for name in names:
            if hasattr(self, name):
                delattr(self, name)

    def _fit_local(self, collection: Collection) -> RNNForecaster:
        """Fit one model per series (``pooling="local"``): ``estimators_``, in the collection's order."""
        self._validate_params()
        if self.warm_start and hasattr(self, "estimators_"):
            raise ValueError("warm_start continues the fit of one series; local models fit afresh: warm_start=False")
        self._training_device()
        template = clone(self).set_params(pooling="global", n_jobs=None)
        fitted = fit_each(template, collection, self.n_jobs)
        # What a fit of one network left: the local models have their own.
        self._forget("network_", "optimizer_", "_histories", "history_", "loss_curve_", "validation_scores_",
                     "best_epoch_", "n_iter_", "window_", "calibration_residuals_", *_ONE_SERIES)  # fmt: skip
        self.estimators_ = dict(zip(collection.ids, fitted, strict=True))
        self._set_collection(collection)
        return self

    def _set_collection(self, collection: Collection) -> None:
        """Set what describes the collection a model was fitted on: ids, form, target, covariates, frequency."""
        self.series_ids_ = list(collection.ids)
        self._collection_format = (collection.kind, self._columns)
        self.target_names_ = [collection.target_name]
        self.static_features_ = list(collection.static_names)
        self.axis_ = collection.axes[0]
        self.n_features_in_ = collection.covariates[0].shape[1]
        self._forget("feature_names_in_")
        if self.n_features_in_:
            self.feature_names_in_ = np.asarray(collection.covariate_names, dtype=object)

    @property
    def _columns(self) -> Columns:
        return Columns(self.id_column, self.time_column, self.target_column)

    def _prepare_fit(self, *data: Any, warm: bool) -> tuple[tuple[Any, ...], np.ndarray]:
        # A refused fit leaves the model as it was: the attributes set before the check that failed are put back.
        before = dict(self.__dict__)
        try:
            if warm and len(data) == 2 and hasattr(self, "series_ids_"):
                raise ValueError("warm_start needs data of the kind the model was fitted on; set warm_start=False")
            self._forget("estimators_", "series_ids_", "_histories")
            if len(data) == 1:
                self._forget(*_ONE_SERIES)
                return self._prepare_collection_fit(data[0], warm=warm)
            self._training_split = None
            return self._prepare_series_fit(*data, warm=warm)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _prepare_series_fit(self, X: Any, y: Any, *, warm: bool) -> tuple[tuple[Any, ...], np.ndarray]:
        # Every check comes before the first fitted attribute is set: a fit that is refused leaves the
        # model as it was, still forecasting what it did.
        target = as_table(y, "y")
        axis = time_axis(target.index)
        covariates = _covariate_values(X, target)
        named = isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns)
        self._past_columns(list(X.columns) if named else None)
        if warm and (target.values.shape[1] != len(self.target_names_) or covariates.shape[1] != self.n_features_in_):
            raise ValueError("warm_start needs data of the shape the model was fitted on; set warm_start=False")
        if warm and not np.array_equal(self._levels_asked(), self.quantile_levels_):
            raise ValueError(
                f"warm_start needs the quantile levels the model was fitted with ({self.quantiles_!r}); "
                "set warm_start=False"
            )
        if warm and self.transform != self._target_transform.kind:
            raise ValueError(
                f"warm_start needs the transform the model was fitted with ({self._target_transform.kind!r}); "
                "set warm_start=False"
            )
        transform = TargetTransform(self.transform)
        transform.check(target.values, "y", target.index, target.names if target.kind != "array" else None)
        # From here on the target is in the transformed space; predict and predict_interval undo it.
        target = dataclasses.replace(target, values=transform.transform(target.values))

        n, period = len(target.values), self.seasonal_period or axis.seasonal_period
        layout = self._layout(axis, period)
        lags = layout.lags(n)
        calendar = self._calendar(axis)
        lag_total = sum(lags)
        window = self.window if self.window is not None else layout.auto_window(n, lag_total)
        self._check_length(n, axis, period, lags, window)
        held_out = self._held_out(n) if self.calibration_size is not None else None
        rng = self._rng if warm else make_rng(self.random_state)
        # Calibrating first (on an independent copy) makes a bad calibration_size fail before the long fit.
        # Ctrl-C there leaves the model as it was too: a fresh one has nothing usable to keep.
        residuals = None if held_out is None else self._calibrate(X, y, target.values, covariates, held_out)

        self._set_reading(transform, period, lags, calendar, window)
        self._set_covariate_names(X, covariates)
        if not warm:
            self._target_scaler = Scaler(self.scaler).fit(difference(target.values, lags))
            self._covariate_scaler = Scaler(self.scaler).fit(covariates) if covariates.shape[1] else None
        self.axis_: TimeAxis = axis
        self.target_names_ = target.names
        self._target_kind = (target.kind, target.ndim)
        self._y = target.values
        self._covariates = covariates
        self._index = target.index
        self.calibration_residuals_ = residuals

        z = self._target_features(target.values).astype(self.dtype)
        c = self._covariate_features(covariates, target.index)[lag_total:].astype(self.dtype)
        inputs, windows = self._samples(z, c)
        targets = self._target_array(windows)
        if not warm:
            self._rng = rng
            n_decoder = inputs[1].shape[2] if len(inputs) > 1 else 0
            self.network_ = self._make_network(inputs[0].shape[2], n_decoder, z.shape[1], self._rng)
        if not warm:
            # From every window, the early-stopping tail included: the most recent ones say most
            # about the spread to come (from the training part only, the backtest's band covered
            # 54.9 % rather than 64.6 % on air passengers, 71.4 % rather than 74.5 % on bike rentals).
            self._start_head(targets)
        return inputs, np.ascontiguousarray(targets)

    def _prepare_collection_fit(self, collection: Collection, *, warm: bool) -> tuple[tuple[Any, ...], np.ndarray]:
        """Pool the windows of every series of ``collection`` for one global model (see :meth:`fit`)."""
        if warm:
            raise ValueError("warm_start continues the fit of one series; a collection fits afresh: warm_start=False")
        self._training_split = None
        # Calibrating first (on an independent copy) makes a bad calibration_size fail before the long fit.
        residuals = None if self.calibration_size is None else self._calibrate_collection(collection)
        transform = TargetTransform(self.transform)
        lengths = np.array([len(v) for v in collection.values])
        axis = collection.axes[0]
        # The windows and differencing of the typical series; shorter ones are padded when they forecast.
        typical = int(np.median(lengths))
        period = self.seasonal_period or axis.seasonal_period
        if period is None and axis.kind == "integer":
            # Steps without a calendar: the season the series share, if they share one (the tourism
            # collection's quarters: MASE 1.53 with it, 3.51 without, benchmarks/README.md).
            period = autocorrelated_period(collection.values, min(52, typical // 3))
        layout = dataclasses.replace(self._layout(axis, period), seasonal_period=period)
        lags = layout.lags(typical)
        if self.difference == "auto" and lengths.min() < sum(lags) + 2:
            lags = ()  # the shortest series could not spare a season (others are refused, naming it)
        lag_total = sum(lags)
        window = self.window if self.window is not None else layout.auto_window(typical, lag_total)
        calendar = self._calendar(axis)
        self._past_columns(collection.covariate_names)
        self._set_reading(transform, period, lags, calendar, window)
        self.calibration_residuals_ = residuals
        self._set_collection(collection)
        self._target_kind = ("collection", 1)
        histories = self._collection_histories(collection, transform)
        pooled = np.concatenate([history.covariates for history in histories])
        self._covariate_scaler = Scaler(self.scaler).fit(pooled) if pooled.shape[1] else None
        samples, too_short, trained = [], [], []
        for i, (uid, history) in enumerate(zip(collection.ids, histories, strict=True)):
            z = self._target_features(history.y, history.scaler).astype(self.dtype)
            count = len(z) - window - (0 if self.strategy == "recursive" else self._block_size - 1)
            if count < 1:
                # No window to learn its vector from: it reads the mean one, as a series never seen.
                histories[i] = dataclasses.replace(history, position=-1)
                too_short.append(uid)
                continue
            histories[i] = history = dataclasses.replace(history, position=len(trained))
            trained.append(history)
            c = self._covariate_features(history.covariates, history.index)[lag_total:].astype(self.dtype)
            samples.append(self._samples(z, c))
        self._histories = histories
        if not samples:
            self._check_length(int(lengths.max()), axis, period, lags, window)
        if too_short:
            named = some(too_short)
            warnings.warn(
                f"{len(too_short)} series are too short to give a training window of window={window} steps, "
                f"horizon={self.horizon} and differencing by {lag_total}: {named}. They are forecast all the same, "
                "from what history they have (zeros, their scaled mean, before it)",
                UserWarning,
                stacklevel=5,  # the user's call of fit: through _prepare_fit, _fit and fit
            )
        counts = np.array([len(part[1]) for part in samples])
        validation = np.zeros_like(counts)
        if self.early_stopping:
            validation = np.where(counts > 1, np.ceil(self.validation_fraction * counts).astype(int), 0)
            if validation.sum() == 0:
                self._training_rows(1)  # says what early stopping needs
        # Training windows of every series first, then the last windows of each, which early stopping validates on.
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        kept = [np.arange(f, f + n - v) for f, n, v in zip(first, counts, validation, strict=True)]
        held = [np.arange(f + n - v, f + n) for f, n, v in zip(first, counts, validation, strict=True)]
        order = np.concatenate(kept + held)
        self._training_split = int(sum(len(k) for k in kept))
        inputs = tuple(Windows.stack([part[0][j] for part in samples]).select(order) for j in range(len(samples[0][0])))
        # Gathered in the order of the windows, in one copy: at a million windows most of the memory.
        targets = self._target_array(Windows.stack([part[1] for part in samples]).select(order))
        del samples
        self._rng = make_rng(self.random_state)
        n_decoder = inputs[1].shape[2] if len(inputs) > 1 else 0
        embedding = {}
        if self.series_embedding:
            embedding = {"n_series": len(trained), "embedding_size": self.series_embedding}
            rows = [np.full(n, history.position) for n, history in zip(counts, trained, strict=True)]
            inputs = (*inputs, np.concatenate(rows)[order])
        self.network_ = self._make_network(inputs[0].shape[2], n_decoder, 1, self._rng, **embedding)
        self._start_head(targets)
        return inputs, np.ascontiguousarray(targets)

    def _calibrate_collection(self, collection: Collection) -> list[np.ndarray]:
        """Return each series' errors (origins, horizon, 1) of forecasts from every origin of its held-out tail.

        As :meth:`_calibrate` for one series: a copy of the model is trained on every series but
        its last ``calibration_size`` steps, then forecasts ``horizon`` steps from each origin of
        those tails, all series and origins in one batch, without retraining.
        """
        h = self.horizon
        held = []
        for uid, values in zip(collection.ids, collection.values, strict=True):
            try:
                held.append(self._held_out(len(values)))
            except ValueError as error:
                raise ValueError(f"series {uid!r}: {error}") from error
        cut = dataclasses.replace(
            collection,
            values=[v[: len(v) - k] for v, k in zip(collection.values, held, strict=True)],
            covariates=[c[: len(c) - k] for c, k in zip(collection.covariates, held, strict=True)],
            index=[i[: len(i) - k] for i, k in zip(collection.index, held, strict=True)],
            axes=[dataclasses.replace(a, last=i[len(i) - k - 1]) for a, i, k in
                  zip(collection.axes, collection.index, held, strict=True)],
        )  # fmt: skip
        calibrator = clone(self).set_params(calibration_size=None, warm_start=False, verbose=0)
        # Intervals calibrated on a model trained short would not be those asked for.
        discard_on_interrupt(calibrator)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # the fit's own warnings come with the model's
                calibrator._fit(cut)
        except ValueError as error:
            raise ValueError(
                f"the calibration model, trained on all but the held-out tails, failed: {error}"
            ) from error
        transform = calibrator._target_transform
        slices, futures, actual = [], [], []
        for i, (history, values) in enumerate(zip(calibrator._histories, collection.values, strict=True)):
            whole = dataclasses.replace(
                history,
                y=transform.transform(values),
                covariates=history.with_static(collection.covariates[i]),
                index=collection.index[i],
                axis=collection.axes[i],
            )
            n = len(values)
            for end in range(n - held[i], n - h + 1):
                slices.append(whole.upto(end))
                futures.append(whole.covariates[end : end + h])
                actual.append(whole.y[end : end + h])
        forecasts = calibrator._forecast_many(slices, h, futures)
        errors = np.stack([a - f for a, f in zip(actual, forecasts, strict=True)])
        counts = [k - h + 1 for k in held]
        return np.split(errors, np.cumsum(counts)[:-1])

    def _collection_histories(self, collection: Collection, transform: TargetTransform) -> list[_History]:
        """Return each series of ``collection`` in the transformed space, with the scaling of its own steps."""
        lags = self.differencing_lags_
        histories = []
        statics = collection.static if collection.static is not None else np.zeros((len(collection.ids), 0))
        # A series of the fit reads its own vector of an embedding (found by its id), others the mean one.
        fitted = getattr(self, "_histories", None) if hasattr(self, "network_") else None
        positions = {} if fitted is None else {uid: h.position for uid, h in zip(self.series_ids_, fitted, strict=True)}
        for uid, values, covariates, index, axis, static in zip(
            collection.ids, collection.values, collection.covariates, collection.index, collection.axes, statics,
            strict=True,
        ):  # fmt: skip
            transform.check(values, f"series {uid!r}", index, None)
            if len(values) < sum(lags) + 2:
                raise ValueError(
                    f"series {uid!r} has {len(values)} observations, too few to difference by {sum(lags)} step(s) "
                    f"and learn its scale (at least {sum(lags) + 2}); drop it, or set difference='auto' or 0"
                )
            y = transform.transform(values)
            # Scaled on its own steps: a global model sees every series at one scale.
            scaler = Scaler(self.scaler).fit(difference(y, lags))
            history = _History(y, covariates, index, axis, scaler, static, positions.get(uid, -1))
            histories.append(dataclasses.replace(history, covariates=history.with_static(covariates)))
        return histories

    def _predict_collection(
        self, X: Any, horizon: int | None, ids: Any, y: Any, static_features: Any, what: str = "point",
        coverages: list[float] | None = None,
    ) -> Any:  # fmt: skip
        """Forecast series of the collection (or the new ones of ``y``) for :meth:`predict`.

        ``what``: "point" forecasts, "interval" (of ``coverages``) or "quantiles".
        """
        _check_horizon(horizon)
        kind, columns = self._collection_format
        local = hasattr(self, "estimators_")
        if not local:
            check_is_fitted(self, "network_")
        if y is not None:
            if local:
                raise ValueError(
                    "local models (pooling='local') forecast the series they were fitted on; fit them on the new "
                    "series, or fit a global model (pooling='global'), which forecasts new series from their history"
                )
            new = read_collection(y, columns, before="predicting")
            if self.static_features_:
                if static_features is None:
                    raise ValueError(
                        f"this model reads the static features {self.static_features_}; pass those of the series "
                        "of y as predict(y=..., static_features=frame indexed by their ids)"
                    )
                new = new.with_static(static_features)
            elif static_features is not None:
                raise ValueError("this model was fitted without static features; leave static_features out")
            self._check_like_fitted(new)
            known = dict(zip(new.ids, self._collection_histories(new, self._target_transform), strict=True))
        else:
            if static_features is not None:
                raise ValueError(
                    "the static features of the fitted series are those given to fit; pass only those of y="
                )
            known = self.estimators_ if local else dict(zip(self.series_ids_, self._histories, strict=True))
        chosen = self._chosen(ids, known, "y given" if y is not None else "fit")
        axes = [known[uid].axis_ if local else known[uid].axis for uid in chosen]
        k = len(self._future_names)
        if X is None:
            if k:
                raise ValueError(
                    f"this model was fitted with {k} covariate column(s) known in advance; pass their future values "
                    f"as predict(X), a long frame with the {columns.id!r} and {columns.time!r} columns"
                )
            steps = horizon or self.horizon
            futures = [np.empty((steps, 0)) for _ in chosen]
        else:
            steps, futures = self._future_covariates(X, chosen, axes, horizon)
        self._check_reach(steps)
        if what == "interval" and steps > self.horizon:
            raise ValueError(
                f"intervals are calibrated for the {self.horizon} steps after the series (the `horizon` parameter); "
                f"asked for {steps}. Ask for at most {self.horizon}, or fit with horizon={steps}"
            )
        index = [axis.future(steps).rename(columns.time if kind == "long" else None) for axis in axes]
        if local:
            frames = []
            for uid, rows, labels in zip(chosen, futures, index, strict=True):
                future = pd.DataFrame(rows, index=labels, columns=self._future_names) if k else None
                model = known[uid]
                if what == "point":
                    frames.append(model.predict(future, horizon=steps).to_frame())
                elif what == "interval":
                    frames.append(model.predict_interval(future, horizon=steps, coverage=coverages))
                else:
                    frames.append(model.predict_quantiles(future, horizon=steps))
            names = [str(c) for c in frames[0].columns]
            values = [frame.to_numpy(dtype=np.float64) for frame in frames]
        else:
            histories = [known[uid] for uid in chosen]
            pairs = zip(histories, futures, strict=True)
            futures = [history.with_static(self._widened(rows)) for history, rows in pairs]
            names, values = self._collection_values(histories, steps, futures, what, coverages)
        if kind == "dict":
            pairs = zip(chosen, values, index, strict=True)
            if what == "point":
                return {uid: pd.Series(v[:, 0], index=i, name=names[0]) for uid, v, i in pairs}
            return {uid: pd.DataFrame(v, index=i, columns=names) for uid, v, i in pairs}
        return to_long(chosen, index, values, columns, names)

    def _collection_values(
        self, histories: list[_History], steps: int, futures: list[np.ndarray], what: str, coverages: Any
    ) -> tuple[list[str], list[np.ndarray]]:
        """Forecast the series of a global model: the output's column names and each series' values (steps, columns)."""
        inverse = self._target_transform.inverse_transform
        if what == "quantiles":
            _, levels = self._forecast_many(histories, steps, futures, quantiles=True)
            at = [int(np.searchsorted(self._levels, level)) for level in self.quantiles_]
            return [str(level) for level in self.quantiles_], [inverse(block[:, at, 0]) for block in levels]
        forecasts = self._forecast_many(histories, steps, futures)
        if what == "point":
            return [self.target_names_[0]], [inverse(forecast) for forecast in forecasts]
        values = []
        for history, forecast in zip(histories, forecasts, strict=True):
            errors = np.abs(self.calibration_residuals_[history.position][:, :steps, 0])
            bounds = self._bounds(forecast[:, 0], errors, coverages)
            values.append(np.stack(list(bounds.values()), axis=1))
        return list(bounds), values

    @staticmethod
    def _chosen(ids: Any, known: dict[Any, Any], source: str) -> list[Any]:
        """Return the series ``ids`` asks for (default: all of ``known``); raise ValueError for unknown ones."""
        if ids is None:
            return list(known)
        chosen = list(ids) if isinstance(ids, (list, tuple, np.ndarray, pd.Index, pd.Series)) else [ids]
        unknown = [uid for uid in chosen if uid not in known]
        if unknown:
            raise ValueError(f"ids {some(unknown)} are not series of the {source}; its series are {some(list(known))}")
        return chosen

    def _future_covariates(
        self, X: Any, chosen: list[Any], axes: list[TimeAxis], horizon: int | None
    ) -> tuple[int, list[np.ndarray]]:
        """Check the long frame of future covariates ``X`` for the ``chosen`` series; return (steps, their rows)."""
        columns = self._collection_format[1]
        future = read_collection(X, columns, before="predicting", ids_name="X", with_target=False)
        names = self._future_names
        if future.covariate_names != names:
            raise ValueError(
                f"X's covariate columns {future.covariate_names} differ from those known in advance in fit {names}"
            )
        given = dict(zip(future.ids, zip(future.covariates, future.index, strict=True), strict=True))
        unknown = [uid for uid in given if uid not in chosen]
        if unknown:
            raise ValueError(
                f"X has rows of series {some(unknown)}, which are not among those forecast (the series of the fit, "
                "or of y=); drop their rows, or pass their history as predict(X, y=...)"
            )
        missing = [uid for uid in chosen if uid not in given]
        if missing:
            raise ValueError(f"X has no rows for series {some(missing)}; give the future covariates of every series")
        steps = horizon or len(given[chosen[0]][0])
        futures = []
        for uid, axis in zip(chosen, axes, strict=True):
            rows, index = given[uid]
            expected = axis.future(steps)
            if len(index) != steps or not index.equals(expected.rename(index.name)):
                raise ValueError(
                    f"X must give series {uid!r} the {steps} steps after its end ({label(axis.last)}), "
                    f"{label(expected[0])} to {label(expected[-1])}; it gives {len(index)} row(s) from "
                    f"{label(index[0])}"
                )
            futures.append(rows)
        return steps, futures

    def _check_like_fitted(self, collection: Collection, static: bool = True) -> None:
        """Raise ValueError unless new series are of the fitted collection's frequency and covariates."""
        fitted, new = self.axis_, collection.axes[0]
        if (fitted.kind, fitted.freq, fitted.step) != (new.kind, new.freq, new.step):
            raise ValueError(
                f"the series of y are {new.describe()}, those the model was fitted on {fitted.describe()}; "
                "forecast series of the frequency it learnt"
            )
        names = list(getattr(self, "feature_names_in_", []))
        if collection.covariate_names != names:
            raise ValueError(
                f"y's covariate columns {collection.covariate_names} differ from those seen in fit {names}"
            )
        if static and list(collection.static_names) != self.static_features_:
            raise ValueError(
                f"the static features {list(collection.static_names)} differ from those seen in fit "
                f"{self.static_features_}"
            )

    def _set_reading(
        self, transform: TargetTransform, period: int | None, lags: tuple[int, ...], calendar: tuple[str, ...],
        window: int,
    ) -> None:  # fmt: skip
        """Set what fit chose for reading the series: transform, season, differencing, calendar, window, levels."""
        self._target_transform = transform
        self.seasonal_period_ = period
        self.differencing_lags_ = lags
        self.calendar_features_ = calendar
        self.window_ = window
        self.quantile_levels_ = self._levels_asked()
        self.quantiles_ = None if self.quantiles is None else sorted(float(q) for q in self.quantiles)

    def _training_rows(self, n_samples: int) -> int:
        split = getattr(self, "_training_split", None)
        return super()._training_rows(n_samples) if split is None else split

    def _calendar(self, axis: TimeAxis) -> tuple[str, ...]:
        """Return the calendar features that ``calendar_features`` asks for on ``axis``."""
        if self.calendar_features is True:
            return auto_calendar(axis)
        if self.calendar_features:
            if axis.kind == "integer":
                raise ValueError("calendar_features need y indexed by timestamps; y has integer steps")
            return tuple(self.calendar_features)
        return ()

    def _held_out(self, n: int) -> int:
        """Return how many of ``n`` steps ``calibration_size`` holds out; raise ValueError if too few or too many."""
        size, h = self.calibration_size, self.horizon
        held_out = int(np.ceil(size * n)) if isinstance(size, float) else int(size)
        if held_out < h or n - held_out < 1:
            raise ValueError(
                f"calibration_size={size!r} holds out {held_out} of {n} steps; it must hold out at least "
                f"horizon={h} steps and leave the rest for training"
            )
        return held_out

    def _calibrate(self, X: Any, y: Any, values: np.ndarray, covariates: np.ndarray, held_out: int) -> np.ndarray:
        """Return the errors (origins, horizon, targets) of forecasts from every origin of the held-out tail.

        ``values`` are the rows of ``y`` in the transformed space, where the errors are measured
        and the intervals built; ``covariates`` those of ``X``.
        """
        n, h = len(values), self.horizon
        calibrator = clone(self).set_params(calibration_size=None, warm_start=False, verbose=0)
        # Intervals calibrated on a model trained short would not be those asked for.
        discard_on_interrupt(calibrator)
        try:
            calibrator.fit(_rows(X, slice(0, n - held_out)), _rows(y, slice(0, n - held_out)))
        except ValueError as error:
            raise ValueError(
                f"the calibration model, trained on the first {n - held_out} steps, failed: {error}"
            ) from error
        calibrator.update(_rows(X, slice(n - held_out, n)), _rows(y, slice(n - held_out, n)))
        errors = [
            values[end : end + h] - calibrator._forecast(h, covariates[end : end + h], end=end)
            for end in range(n - held_out, n - h + 1)
        ]
        return np.stack(errors)

    def update(self, X: Any, y: Any = None) -> RNNForecaster:
        """Append new observations to the fitted series without retraining.

        Later forecasts start after them. Takes the same forms as :meth:`fit`:
        ``update(y_new)`` or ``update(X_new, y_new)``, where the new rows directly follow the
        fitted series. A model of several series takes a long frame (or a dict of Series) of
        new rows for any of its series, each directly following its series.

        Returns
        -------
        self : RNNForecaster
        """
        if not hasattr(self, "estimators_"):
            check_is_fitted(self, "network_")
        if y is None:
            X, y = None, X
        if hasattr(self, "series_ids_"):
            if X is not None:
                raise ValueError("a model of several series updates from one long frame: update(frame)")
            return self._update_collection(y)
        target = as_table(y, "y", before="updating")
        if target.values.shape[1] != len(self.target_names_):
            raise ValueError(f"y has {target.values.shape[1]} column(s); the model forecasts {len(self.target_names_)}")
        if target.kind != "array":
            check_same_time_zone(target.index, self.axis_.last, "y", "the fitted series' index")
            expected = self.axis_.future(len(target.index))
            if not target.index.equals(expected):
                at = _first_difference(target.index, expected)
                raise ValueError(
                    f"the new observations must directly follow the fitted series, which ends at "
                    f"{self.axis_.last!r}, step by step ({self.axis_.describe()}): y's index has {target.index[at]!r} "
                    f"where {expected[at]!r} is expected. Index y by the steps after the series"
                )
        covariates = _covariate_values(X, target, before="updating")
        k = self.n_features_in_
        if X is None and k:
            raise ValueError(f"this model uses {k} covariate column(s); pass their new values as update(X, y)")
        if covariates.shape[1] != k:
            raise ValueError(f"X has {covariates.shape[1]} column(s) but the model was fitted with {k}")
        self._target_transform.check(target.values, "y", target.index, target.names if target.kind != "array" else None)
        self._y = np.concatenate([self._y, self._target_transform.transform(target.values)])
        self._covariates = np.concatenate([self._covariates, covariates])
        self._index = self._index.append(self.axis_.future(len(target.values)))
        self.axis_ = dataclasses.replace(self.axis_, last=self._index[-1])
        return self

    def _update_collection(self, y: Any) -> RNNForecaster:
        """Append the rows of ``y`` to the series they continue (see :meth:`update`)."""
        new = read_collection(y, self._collection_format[1], before="updating")
        self._check_like_fitted(new, static=False)
        positions = {uid: i for i, uid in enumerate(self.series_ids_)}
        unknown = [uid for uid in new.ids if uid not in positions]
        if unknown:
            raise ValueError(
                f"y has rows of series {some(unknown)}, which the model was not fitted on; update the series it "
                "knows, and forecast others with predict(y=their_history)"
            )
        local = hasattr(self, "estimators_")
        # Every series is checked before any is changed: a refused update leaves the model as it was.
        for uid, values, index in zip(new.ids, new.values, new.index, strict=True):
            axis = self.estimators_[uid].axis_ if local else self._histories[positions[uid]].axis
            expected = axis.future(len(index))
            if not index.equals(expected.rename(index.name)):
                raise ValueError(
                    f"the new rows of series {uid!r} must directly follow its end ({label(axis.last)}), step by "
                    f"step: they start at {label(index[0])}, where {label(expected[0])} is expected"
                )
            transform = self.estimators_[uid]._target_transform if local else self._target_transform
            transform.check(values, f"series {uid!r}", index, None)
        if local:
            for i, uid in enumerate(new.ids):
                y_new, X_new = series_data(new, i)
                self.estimators_[uid].update(y_new) if X_new is None else self.estimators_[uid].update(X_new, y_new)
            return self
        updated = list(self._histories)
        for uid, values, covariates, index in zip(new.ids, new.values, new.covariates, new.index, strict=True):
            history = updated[positions[uid]]
            updated[positions[uid]] = dataclasses.replace(
                history,
                y=np.concatenate([history.y, self._target_transform.transform(values)]),
                covariates=np.concatenate([history.covariates, history.with_static(covariates)]),
                index=history.index.append(index.rename(history.index.name)),
                axis=dataclasses.replace(history.axis, last=index[-1]),
            )
        self._histories = updated
        return self

    def _layout(self, axis: TimeAxis, period: int | None, **changes: Any) -> _Layout:
        """Return the parameters that decide the training windows (with ``changes``), for the seasonal period used."""
        params = {name: getattr(self, name) for name in ("window", "horizon", "difference")}
        params.update(early_stopping=self.early_stopping, validation_fraction=self.validation_fraction)
        return _Layout(
            **{**params, **changes},
            recursive=self.strategy == "recursive",
            seasonal_period=self.seasonal_period,
            period=period,
            seasonal_lags=axis.seasonal_lags,
        )

    def _shorter(self, n: int, axis: TimeAxis, period: int | None, name: str) -> str | None:
        """Say which smaller ``name`` (window or horizon) would fit ``n`` steps: "name <= K", "name=K", or None."""

        def probe(value: int) -> tuple[bool, Any]:
            return self._layout(axis, period, **{name: value}).probe(n)

        runs = _runs_that_fit(probe, 1, getattr(self, name) - 1)
        if not runs:
            return None
        largest = runs[-1][1]
        # With difference="auto" a smaller value can bring in a seasonal lag, so not every value below K need fit.
        every = runs[0] == (1, largest) and largest > 1
        return f"a shorter {name} ({name} <= {largest})" if every else f"a shorter {name} ({name}={largest})"

    def _check_length(self, n: int, axis: TimeAxis, period: int | None, lags: tuple[int, ...], window: int) -> None:
        """Raise ValueError if ``n`` steps are too few for the parameters: how many they need, and what to change.

        ``period``, ``lags`` and ``window`` are the seasonal period, differencing lags and window
        that fit chose for ``n`` steps.
        """
        layout = self._layout(axis, period)
        if layout.fits(n):
            return
        # The automatic window and differencing grow with the series, so the shortest series is searched for.
        shortest = _shortest(layout, n + 1)
        lag_total = sum(lags)
        settings = f"window={window}{' (chosen automatically)' if self.window is None else ''}"
        settings += f", horizon={self.horizon}" + (f", differencing by {lag_total} step(s)" if lag_total else "")
        detail = ""
        if self.early_stopping:
            fraction, windows = self.validation_fraction, layout.windows(n)[0]
            validating = (
                f"early stopping needs {min_samples_for_validation(fraction)} training windows, to validate on "
                f"the last validation_fraction={fraction:g} of them"
            )
            plain = _shortest(dataclasses.replace(layout, early_stopping=False), n)
            if plain == n:
                detail = f" ({validating}; y gives {windows})"
            elif plain < shortest:
                detail = f" ({plain} to cut one training window; {validating})"
        fixes = [f"a series of at least {shortest} observations"]
        # A shorter window is only worth suggesting where the user chose it and it can shrink.
        if self.window is not None and self.window > 1:
            fixes.append(self._shorter(n, axis, period, "window"))
        if self.horizon > 1:
            fixes.append(self._shorter(n, axis, period, "horizon"))
        fixes = [fix for fix in fixes if fix]
        if lag_total and self.difference != "auto" and self._layout(axis, period, difference=0).fits(n):
            fixes.append("no differencing (difference=0)")
        if self.early_stopping:
            if self._layout(axis, period, early_stopping=False).fits(n):
                fixes.append("early_stopping=False")
            fraction = largest_validation_fraction(layout.windows(n)[0])
            if fraction and self._layout(axis, period, validation_fraction=fraction).fits(n):
                fixes.append(f"validation_fraction <= {fraction:g}")
        raise ValueError(
            f"y has {n} observation{'' if n == 1 else 's'}, too few for {settings}: these settings need at least "
            f"{shortest}{detail}. "
            f"To fit, use {one_of(fixes)}"
        )

    def _set_covariate_names(self, X: Any, covariates: np.ndarray) -> None:
        """Remember the covariates' count and, for a DataFrame with string column names, their names."""
        self.n_features_in_ = covariates.shape[1]
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns) and X.shape[1]:
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _past_columns(self, names: list[str] | None) -> tuple[int, ...]:
        """Return the positions among the covariate columns ``names`` of those ``past_covariates`` names."""
        if not self.past_covariates:
            return ()
        if names is None:
            raise ValueError("past_covariates name columns of X: pass X as a DataFrame whose column names are strings")
        missing = [name for name in self.past_covariates if name not in names]
        if missing:
            raise ValueError(f"past_covariates {missing} are not among the covariate columns {list(names)}")
        return tuple(sorted(names.index(name) for name in self.past_covariates))

    @property
    def _past_positions(self) -> list[int]:
        """The covariate columns known only up to the origin (``past_covariates``), by position."""
        if not self.past_covariates or not hasattr(self, "feature_names_in_"):
            return []
        return list(self._past_columns(list(self.feature_names_in_)))

    @property
    def _future_names(self) -> list[str]:
        """The covariates that forecasts take (known in advance): all but the past ones."""
        names = list(getattr(self, "feature_names_in_", []))
        return [name for name in names if name not in (self.past_covariates or [])]

    def _widened(self, rows: np.ndarray) -> np.ndarray:
        """Return known-future covariate rows (n, k_future) with zeros in the past covariates' columns, (n, k)."""
        past = self._past_positions
        if not past:
            return rows
        full = np.zeros((len(rows), self.n_features_in_))
        full[:, np.setdiff1d(np.arange(self.n_features_in_), past)] = rows
        return full

    def _check_reach(self, steps: int) -> None:
        """Raise ValueError where a forecast with past covariates would go beyond ``horizon`` steps."""
        if self.past_covariates and steps > self.horizon:
            raise ValueError(
                f"with past_covariates a forecast reaches at most horizon={self.horizon} steps (later ones would read "
                f"them where they are not known); asked for {steps}. Ask for fewer, or fit with a longer horizon"
            )

    # ----------------------------------------------------------------------- persistence

    def _fitted_state(self) -> StateWriter | None:
        if hasattr(self, "estimators_"):
            return self._local_state()
        state = super()._fitted_state()
        if state is None:
            return None
        # Forecasts read only the last window and the steps its differencing needs; update appends to them.
        keep = self.window_ + sum(self.differencing_lags_) + 1
        state.put("window_", self.window_)
        state.put("seasonal_period_", self.seasonal_period_)
        state.put("differencing_lags_", list(self.differencing_lags_))
        state.put("calendar_features_", list(self.calendar_features_))
        state.put("transform", self._target_transform.kind)
        state.put("target_names_", list(self.target_names_))
        state.put("target_kind", self._target_kind[0])
        state.put("target_ndim", self._target_kind[1])
        state.scaler("covariate_scaler", self._covariate_scaler)
        state.time_axis("axis_", self.axis_)
        collection = hasattr(self, "series_ids_")
        state.put("collection", collection)
        if collection:
            self._write_collection(state, keep)
        else:
            state.scaler("target_scaler", self._target_scaler)
            state.array("y", self._y[-keep:])
            state.array("covariates", self._covariates[-keep:])
            state.index("index", self._index[-keep:])
        residuals = self.calibration_residuals_
        if collection and residuals is not None:
            state.put("calibration_origins", [len(errors) for errors in residuals])
            residuals = np.concatenate(residuals)
        state.array("calibration_residuals_", residuals)
        state.array("quantile_levels_", self.quantile_levels_)
        state.array("quantiles_", None if self.quantiles_ is None else np.asarray(self.quantiles_, dtype=np.float64))
        return state

    def _local_state(self) -> StateWriter:
        """Return the state of local models (``pooling="local"``): the collection's description, each model's own."""
        if self.pooling != "local":
            raise ValueError(
                f"cannot save this RNNForecaster: it holds local models, but the parameters say "
                f"pooling={self.pooling!r}; fit it again, or set the parameters back"
            )
        state = StateWriter()
        self._write_ids(state)
        state.put("target_names_", list(self.target_names_))
        state.put("n_features_in_", self.n_features_in_)
        names = getattr(self, "feature_names_in_", None)
        state.put("feature_names_in_", None if names is None else list(names))
        state.time_axis("axis_", self.axis_)
        for i, model in enumerate(self.estimators_.values()):
            state.nest(f"series{i}", model._fitted_state())
        return state

    def _restore_local(self, state: StateReader) -> None:
        """Restore what :meth:`_local_state` stored."""
        ids = self._read_ids(state)
        self.target_names_ = state.strings("target_names_")
        self.n_features_in_ = state.integer("n_features_in_", 0)
        names = state.strings("feature_names_in_", none=True)
        self._forget("feature_names_in_", "network_", "_histories")
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.axis_ = state.time_axis("axis_")
        self.static_features_ = []
        template = clone(self).set_params(pooling="global", n_jobs=None)
        models = {}
        for i, uid in enumerate(ids):
            model = clone(template)
            model._restore_fitted_state(state.nested(f"series{i}"))
            models[uid] = model
        self.estimators_ = models
        self.series_ids_ = ids

    def _write_ids(self, state: StateWriter) -> None:
        """Store the collection's series ids and how it came in."""
        ids = [int(uid) if isinstance(uid, np.integer) else uid for uid in self.series_ids_]
        if not all(isinstance(uid, (str, int)) and not isinstance(uid, bool) for uid in ids):
            raise ValueError("a model file keeps series ids that are strings or integers; rename the series to save it")
        kind, columns = self._collection_format
        state.put("collection_kind", kind)
        state.put("collection_columns", [columns.id, columns.time, columns.target])
        state.put("series_ids_", ids)

    def _read_ids(self, state: StateReader) -> list[Any]:
        """Restore what :meth:`_write_ids` stored; return the ids."""
        kind = state.text("collection_kind", ("long", "dict"))
        id_column, time_column, target_column = state.strings("collection_columns")
        self._collection_format = (kind, Columns(id_column, time_column, target_column))
        ids = state.labels("series_ids_")
        if not ids or len(set(ids)) != len(ids):
            raise state.inconsistent("the series ids must be distinct, and at least one")
        return ids

    def _write_collection(self, state: StateWriter, keep: int) -> None:
        """Store the series of a global model: ids, the tails forecasts start from, each one's scaling."""
        self._write_ids(state)
        tails = [history.y[-keep:] for history in self._histories]
        state.put("series_rows", [len(tail) for tail in tails])
        state.array("y", np.concatenate(tails))
        state.array("covariates", np.concatenate([history.covariates[-keep:] for history in self._histories]))
        labels = [history.index[-keep:] for history in self._histories]
        state.index("index", labels[0].append(labels[1:]) if len(labels) > 1 else labels[0])
        state.put("series_positions", [history.position for history in self._histories])
        state.put("static_features_", self.static_features_)
        state.array("series_static", np.stack([history.static for history in self._histories]))
        state.put("target_scaler_kind", self._histories[0].scaler.kind)
        state.array("target_offsets", np.stack([history.scaler.offset for history in self._histories]))
        state.array("target_scales", np.stack([history.scaler.scale for history in self._histories]))

    def _read_collection(self, state: StateReader, keep: int) -> None:
        """Restore what :meth:`_write_collection` stored; raise ModelFileError where it does not fit together."""
        ids = self._read_ids(state)
        rows = state.integers("series_rows", 1)
        if len(rows) != len(ids) or max(rows) > keep:
            raise state.inconsistent(f"{len(rows)} series row counts for {len(ids)} series, each at most {keep}")
        positions = state.integers("series_positions", -1)
        if len(positions) != len(ids):
            raise state.inconsistent(f"{len(positions)} embedding positions for {len(ids)} series")
        self.static_features_ = state.strings("static_features_")
        static = state.array("series_static", (len(ids), len(self.static_features_)), np.float64)
        total, k = sum(rows), self.n_features_in_ + len(self.static_features_)
        y = state.array("y", (total, 1), np.float64)
        covariates = state.array("covariates", (total, k), np.float64)
        index = state.index("index", total)
        scaler_kind = state.text("target_scaler_kind", ("standard", "minmax"), none=True)
        offsets = state.array("target_offsets", (len(ids), 1), np.float64)
        scales = state.array("target_scales", (len(ids), 1), np.float64)
        bounds = np.concatenate([[0], np.cumsum(rows)])
        histories = []
        for i in range(len(ids)):
            part = slice(bounds[i], bounds[i + 1])
            scaler = Scaler(scaler_kind)
            scaler.offset, scaler.scale = offsets[i], scales[i]
            labels = index[part]
            axis = dataclasses.replace(self.axis_, last=labels[-1])
            histories.append(_History(y[part], covariates[part], labels, axis, scaler, static[i], positions[i]))
        self.series_ids_ = ids
        self._histories = histories

    def _restore_fitted_state(self, state: StateReader) -> None:
        try:
            self._validate_params()
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"parameter invalid: {error}") from error
        if "series0" in state.meta and "network_" not in state.meta:
            if self.pooling != "local":
                raise state.inconsistent(f"local models are stored, but the parameters say pooling={self.pooling!r}")
            self._restore_local(state)
            return
        super()._restore_fitted_state(state)
        self.window_ = state.integer("window_", 1)
        self.seasonal_period_ = state.integer("seasonal_period_", 1, none=True)
        self.differencing_lags_ = tuple(state.integers("differencing_lags_", 1))
        self.calendar_features_ = tuple(state.strings("calendar_features_", tuple(CALENDAR)))
        self._target_transform = TargetTransform(state.text("transform", TRANSFORMS, none=True))
        self.target_names_ = state.strings("target_names_")
        kind = state.text("target_kind", ("series", "frame", "array", "collection"))
        ndim = state.integer("target_ndim", 1, 2)
        kt = len(self.target_names_)
        if kt == 0 or (kind == "series" and kt != 1) or (ndim == 1 and kt != 1):
            raise state.inconsistent(f"a {ndim}-D {kind} target cannot have the {kt} columns {self.target_names_}")
        self._target_kind = (kind, ndim)
        k = self.n_features_in_
        collection = state.flag("collection", missing=False)
        # A global model scales its static features with the covariates.
        scaled = k + (len(state.strings("static_features_")) if collection else 0)
        self._covariate_scaler = state.scaler("covariate_scaler", scaled, none=True)
        if (self._covariate_scaler is None) != (scaled == 0):
            raise state.inconsistent(f"a covariate scaler must be stored exactly when there are covariates ({scaled})")
        self.axis_ = state.time_axis("axis_")
        keep = self.window_ + sum(self.differencing_lags_) + 1
        if hasattr(self, "series_ids_"):
            del self.series_ids_
        if collection:
            if kind != "collection" or kt != 1:
                raise state.inconsistent("a model of several series forecasts one target column of a collection")
            self._read_collection(state, keep)
            residuals = state.array("calibration_residuals_", (None, None, 1), np.float64, none=True)
            if residuals is not None:
                origins = state.integers("calibration_origins", 1)
                if len(origins) != len(self.series_ids_) or sum(origins) != len(residuals):
                    raise state.inconsistent(f"{len(residuals)} calibration errors do not split as {origins}")
                residuals = np.split(residuals, np.cumsum(origins)[:-1])
            self.calibration_residuals_ = residuals
            self.quantile_levels_ = state.array("quantile_levels_", (None,), np.float64)
            self.quantiles_ = _stored_quantiles(state, self.quantile_levels_)
            self._check_parameters(state)
            return
        if kind == "collection":
            raise state.inconsistent("a collection's target is stored without its series")
        self._target_scaler = state.scaler("target_scaler", kt)
        self._y = state.array("y", (keep, kt), np.float64)
        self._covariates = state.array("covariates", (keep, k), np.float64)
        self._index = state.index("index", keep)
        if self._index[-1] != self.axis_.last:
            raise state.inconsistent(f"the series ends at {self._index[-1]!r}, its time axis at {self.axis_.last!r}")
        self.calibration_residuals_ = state.array("calibration_residuals_", (None, None, kt), np.float64, none=True)
        self.quantile_levels_ = state.array("quantile_levels_", (None,), np.float64)
        self.quantiles_ = _stored_quantiles(state, self.quantile_levels_)
        self._check_parameters(state)

    def _parameter_mismatch(self) -> str | None:
        mismatch = super()._parameter_mismatch()
        if mismatch is not None:
            return mismatch
        if self.quantiles_ != (None if self.quantiles is None else sorted(float(q) for q in self.quantiles)):
            return (
                f"the network forecasts quantiles {self.quantiles_!r}, but the parameters say "
                f"quantiles={self.quantiles!r}"
            )
        network = {"seq2seq": Seq2SeqNetwork, "direct": DirectNetworks}.get(self.strategy, RecurrentNetwork)
        if type(self.network_) is not network:
            return (
                f"'network_' is a {type(self.network_).__name__}, but strategy={self.strategy!r} uses a "
                f"{network.__name__}"
            )
        mismatch = self._network_size_mismatch()
        if mismatch is not None:
            return mismatch
        first = input_part(self.network_)
        # The series that gave training windows have a vector each: positions 0, 1, ...
        trained = 1 + max((h.position for h in getattr(self, "_histories", [])), default=-1)
        series = trained if self.series_embedding else 0
        if (first.n_series, first.embedding_size) != (series, self.series_embedding or 0):
            return (
                f"the network embeds {first.n_series} series in {first.embedding_size} dimensions, but the model "
                f"has {trained} trained series and series_embedding={self.series_embedding!r}"
            )
        fitted = self._target_transform.kind
        if self.transform != fitted:
            return (
                f"the series was fitted with transform={fitted!r}, but the parameters say transform={self.transform!r}"
            )
        target_scaler = self._histories[0].scaler if hasattr(self, "series_ids_") else self._target_scaler
        for name, scaler in (("targets", target_scaler), ("covariates", self._covariate_scaler)):
            if scaler is not None and scaler.kind != self.scaler:
                return (
                    f"the {name} were scaled with scaler={scaler.kind!r}, but the parameters say scaler={self.scaler!r}"
                )
        if self.window is not None and self.window != self.window_:
            return f"the model reads windows of {self.window_} steps, but the parameters say window={self.window}"
        if self.calendar_features is True:
            calendar = auto_calendar(self.axis_)
        else:
            calendar = tuple(self.calendar_features or ())
        if self.calendar_features_ != calendar:
            return (
                f"the model reads the calendar features {list(self.calendar_features_)}, but the parameters say "
                f"calendar_features={self.calendar_features!r}"
            )
        residuals = self.calibration_residuals_
        if (residuals is None) != (self.calibration_size is None):
            held = "no calibration errors" if residuals is None else "calibration errors"
            return f"the model holds {held}, but the parameters say calibration_size={self.calibration_size!r}"
        # One array of errors, or one per series of a collection.
        steps = {errors.shape[1] for errors in (residuals if isinstance(residuals, list) else [residuals])} if (
            residuals is not None) else {self.horizon}  # fmt: skip
        if steps != {self.horizon}:
            return f"the calibration errors cover {sorted(steps)} steps, but the parameters say horizon={self.horizon}"
        return None

    def _network_size_mismatch(self) -> str | None:
        """Say how the network's sizes differ from those the strategy, horizon and data give it (see _samples)."""
        kt, h = len(self.target_names_), self.horizon
        per_step = kt * self._outputs_per_value  # outputs a step: one per target and quantile level
        first = self._histories[0] if hasattr(self, "series_ids_") else self._history()
        nc = self._covariate_features(first.covariates[:1], first.index[:1]).shape[1]
        # Recursive and seq2seq encoders read [target, covariates]; direct and mimo ones add an "observed"
        # flag when there are covariates, and seq2seq decoders read the covariates and the position.
        nf = nc - len(self._past_positions)  # the features known in advance: the others are past covariates
        reads = kt + nc if nf == 0 or self.strategy in ("recursive", "seq2seq") else kt + 1 + nc
        network = self.network_
        if isinstance(network, Seq2SeqNetwork):
            sizes = [("inputs a step", network.encoder.input_size, reads),
                     ("decoder inputs a step", network.decoder.input_size, nf + 1),
                     ("outputs a step", network.decoder.output_size, per_step)]  # fmt: skip
        elif isinstance(network, DirectNetworks):
            first = next(iter(network.parts.values()))
            sizes = [("networks (one a step)", len(network.parts), h), ("inputs a step", first.input_size, reads),
                     ("outputs each", first.output_size, per_step)]  # fmt: skip
        else:
            outputs = per_step if self.strategy == "recursive" else per_step * h
            sizes = [("inputs a step", network.input_size, reads), ("outputs", network.output_size, outputs)]
        for what, built, needed in sizes:
            if built != needed:
                return (
                    f"the network has {built} {what}, but strategy={self.strategy!r} with horizon={h}, {kt} "
                    f"target(s) and {nc} covariate and calendar feature(s) needs {needed}"
                )
        return None

    # --------------------------------------------------------------------------- predict

    def predict(
        self,
        X: Any = None,
        horizon: int | None = None,
        *,
        ids: Any = None,
        y: Any = None,
        static_features: pd.DataFrame | None = None,
    ) -> Any:
        """Forecast the steps after the end of the fitted series.

        Parameters
        ----------
        X : DataFrame or array-like of shape (h, k), optional
            Covariates of the steps to forecast (zero columns when the model has none). A
            DataFrame's index says which steps: it may start some steps after the end of
            the series (a gap), which are forecast and dropped. For a model of several
            series, a long frame with the id and time columns and the covariates of the
            ``horizon`` steps after each series' end.
        horizon : int, optional
            Steps to forecast without ``X``; default: the ``horizon`` parameter.
        ids : list, optional
            For a model of several series: the series to forecast (default: all).
        y : DataFrame or dict of Series, optional
            For a model of several series: other series to forecast from their history, in
            the long format or as a dict, without refitting (each scaled on its own steps).
        static_features : DataFrame, optional
            The static features of the series of ``y``, for a model fitted with them.

        Returns
        -------
        Series, DataFrame, ndarray or dict of Series
            Forecasts in the form of ``y``, indexed by the forecast steps' timestamps (or
            integers continuing the series' index). For several series, a long frame (id,
            time and target columns) or a dict of Series, as the series came in.
        """
        if hasattr(self, "series_ids_"):
            return self._predict_collection(X, horizon, ids, y, static_features)
        check_is_fitted(self, "network_")
        if ids is not None or y is not None or static_features is not None:
            raise ValueError(
                "ids=, y= and static_features= are for a model fitted on several series; this one forecasts one series"
            )
        forecast, _, index = self._point_forecast(X, horizon)
        forecast = self._target_transform.inverse_transform(forecast)
        kind, ndim = self._target_kind
        if kind == "array":
            return forecast[:, 0] if ndim == 1 else forecast
        if kind == "series":
            return pd.Series(forecast[:, 0], index=index, name=self.target_names_[0])
        return pd.DataFrame(forecast, index=index, columns=self.target_names_)

    def predict_interval(
        self, X: Any = None, horizon: int | None = None, coverage: float | list[float] = 0.9, *, ids: Any = None
    ) -> Any:
        """Forecast with split-conformal prediction intervals (needs ``calibration_size`` at fit).

        Parameters
        ----------
        X, horizon
            As for :meth:`predict`; at most ``horizon`` (the parameter) steps after the end of
            the series, the steps the intervals were calibrated for.
        coverage : float or list of float, default=0.9
            Wanted probability that the actual value falls in its interval, in (0, 1).
        ids : list, optional
            For a model of several series: the series to forecast (default: all). Each
            series' intervals come from its own calibration errors.

        Returns
        -------
        DataFrame
            Indexed like :meth:`predict`'s forecast, with columns ``forecast``, then
            ``lower_<pct>`` and ``upper_<pct>`` per coverage (``lower_90``, ``upper_90``); for
            several targets the columns are ``(target, field)`` pairs. For several series, a
            long frame with the id and time columns, then those columns (or a dict of frames).
        """
        coverages = [coverage] if not isinstance(coverage, (list, tuple, np.ndarray)) else list(coverage)
        for value in coverages:
            if not Real(0.0, 1.0, closed="neither").accepts(value):
                raise ValueError(f"`coverage` must be a float in (0, 1) or a list of them; got {value!r}")
        if hasattr(self, "series_ids_"):
            if not hasattr(self, "estimators_") and self.calibration_residuals_ is None:
                raise ValueError(
                    "prediction intervals need calibration: fit with calibration_size set (for example 0.2)"
                )
            return self._predict_collection(X, horizon, ids, None, None, "interval", coverages)
        check_is_fitted(self, "network_")
        if ids is not None:
            raise ValueError("ids= is for a model fitted on several series; this one forecasts one series")
        if self.calibration_residuals_ is None:
            raise ValueError("prediction intervals need calibration: fit with calibration_size set (for example 0.2)")
        forecast, gap, index = self._point_forecast(X, horizon, limit=self.horizon)
        errors = np.abs(self.calibration_residuals_[:, gap : gap + len(index)])  # (origins, steps, targets)
        columns: dict[tuple[str, str], np.ndarray] = {}
        for j, name in enumerate(self.target_names_):
            bounds = self._bounds(forecast[:, j], errors[:, :, j], coverages)
            columns.update({(name, field): values for field, values in bounds.items()})
        frame = pd.DataFrame(columns, index=index)
        if len(self.target_names_) == 1:
            frame.columns = frame.columns.droplevel(0)
        return frame

    def _bounds(self, forecast: np.ndarray, errors: np.ndarray, coverages: list[float]) -> dict[str, np.ndarray]:
        """Return ``forecast`` (steps,) and its conformal bounds from absolute ``errors`` (origins, steps), mapped back.

        Keys ``forecast``, then ``lower_<pct>`` and ``upper_<pct>`` per coverage.
        """
        origins, inverse = len(errors), self._target_transform.inverse_transform
        columns = {"forecast": inverse(forecast)}
        for value in coverages:
            rank = conformal_rank(origins, value)
            if rank > origins:
                raise ValueError(
                    f"coverage {value:g} needs at least {int(np.ceil(value / (1 - value)))} calibration origins; "
                    f"there are {origins}. Raise calibration_size"
                )
            width = np.sort(errors, axis=0)[rank - 1]
            label = f"{100 * value:g}"
            # Bounds are built where the errors were measured, then mapped back: in the series' domain.
            columns[f"lower_{label}"] = inverse(forecast - width)
            columns[f"upper_{label}"] = inverse(forecast + width)
        return columns

    def predict_quantiles(self, X: Any = None, horizon: int | None = None, *, ids: Any = None) -> Any:
        """Forecast the quantile levels the model was trained for (``quantiles``).

        Parameters
        ----------
        X, horizon
            As for :meth:`predict`.
        ids : list, optional
            For a model of several series: the series to forecast (default: all); the result
            is then a long frame with the id and time columns, then one column per level.

        Returns
        -------
        DataFrame
            Indexed like :meth:`predict`'s forecast, one column per level (the levels as
            floats, ascending); for several targets the columns are ``(target, level)`` pairs.
            The levels never cross: at every step a higher level's forecast is at least a
            lower one's.
        """
        if hasattr(self, "series_ids_"):
            if self.quantiles is None or (not hasattr(self, "estimators_") and self.quantiles_ is None):
                raise ValueError(
                    "quantile forecasts need a model trained for them: fit RNNForecaster(quantiles=[0.1, 0.5, 0.9])"
                )
            return self._predict_collection(X, horizon, ids, None, None, "quantiles")
        if ids is not None:
            raise ValueError("ids= is for a model fitted on several series; this one forecasts one series")
        check_is_fitted(self, "network_")
        if self.quantiles_ is None:
            raise ValueError(
                "quantile forecasts need a model trained for them: fit RNNForecaster(quantiles=[0.1, 0.5, 0.9]); "
                "predict_interval gives conformal intervals instead"
            )
        steps, gap, index, future_covariates = self._forecast_steps(X, horizon)
        _, levels = self._forecast(gap + steps, future_covariates, quantiles=True)
        levels = self._target_transform.inverse_transform(levels[gap:])  # (steps, Q, targets)
        asked = self.quantiles_
        columns = {
            (name, level): levels[:, int(np.searchsorted(self._levels, level)), j]
            for j, name in enumerate(self.target_names_)
            for level in asked
        }
        frame = pd.DataFrame(columns, index=index)
        if len(self.target_names_) == 1:
            frame.columns = frame.columns.droplevel(0)
        return frame

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Return the R² of the forecast of the steps of ``X`` against their actual values ``y``.

        Parameters
        ----------
        X : DataFrame, array-like or None
            As for :meth:`predict`: the covariates of the steps to forecast, or a DataFrame
            with no columns indexed by those steps (None forecasts ``horizon`` steps).
        y : Series, DataFrame or array-like of shape (h,) or (h, n_targets)
            The actual values of those steps; a pandas ``y`` must be indexed by them.
        sample_weight : array-like of shape (h,), optional
            Weights of the steps.

        Returns
        -------
        float
            :func:`sklearn.metrics.r2_score` of ``y`` and the forecast.
        """
        from sklearn.metrics import r2_score

        if hasattr(self, "series_ids_"):
            raise ValueError(
                "score forecasts one series; for a model of several series, backtest it "
                "(tsrnn.model_selection.backtest) or score each series' forecast from predict"
            )
        check_is_fitted(self, "network_")
        actual = as_table(y, "y", before="scoring")
        # The steps X asks for are known before forecasting them: y is checked against them first.
        steps, _, index, _ = self._forecast_steps(X, None)
        shape = (steps, len(self.target_names_))
        if actual.values.shape != shape:
            raise ValueError(
                f"y has {actual.values.shape[0]} row(s) of {actual.values.shape[1]} column(s), but the forecast of X "
                f"has {shape[0]} step(s) of {shape[1]} target(s); pass the actual values of exactly the steps forecast"
            )
        if actual.kind != "array" and self._target_kind[0] != "array":
            check_same_time_zone(actual.index, index, "y", "the forecast's index")
            if not actual.index.equals(index):
                at = _first_difference(actual.index, index)
                raise ValueError(
                    f"y's index must be the forecast steps, {index[0]!r} to {index[-1]!r} ({self.axis_.describe()}); "
                    f"it has {actual.index[at]!r} where {index[at]!r} is expected"
                )
        forecast = np.asarray(self.predict(X), dtype=np.float64).reshape(shape)
        return float(r2_score(actual.values, forecast, sample_weight=sample_weight))

    def _point_forecast(
        self, X: Any, horizon: int | None, limit: int | None = None
    ) -> tuple[np.ndarray, int, pd.Index]:
        """Forecast what predict's arguments ask for; return (values, gap, index of the values).

        The values are in the transformed space; the callers undo the transform.

        ``limit`` bounds gap + steps (the steps intervals were calibrated for).
        """
        steps, gap, index, future_covariates = self._forecast_steps(X, horizon)
        if limit is not None and gap + steps > limit:
            raise ValueError(
                f"intervals are calibrated for the {limit} steps after the series (the `horizon` parameter); "
                f"asked for {gap + steps}. Ask for at most {limit}, or fit with horizon={gap + steps}"
            )
        return self._forecast(gap + steps, future_covariates)[gap:], gap, index

    def _forecast_steps(self, X: Any, horizon: int | None) -> tuple[int, int, pd.Index, np.ndarray]:
        """Work out (steps, gap, their index, covariates of gap + steps rows) from predict's arguments."""
        _check_horizon(horizon)
        k = self.n_features_in_ - len(self._past_positions)
        if X is None:
            if k:
                raise ValueError(
                    f"this model was fitted with {k} covariate column(s) known in advance; pass their future values "
                    "as predict(X)"
                )
            steps = horizon or self.horizon
            self._check_reach(steps)
            return steps, 0, self.axis_.future(steps), self._widened(np.empty((steps, 0)))
        table = as_table(X, "X", allow_empty_columns=True, before="predicting")
        steps = len(table.values)
        if horizon is not None and horizon != steps:
            raise ValueError(f"horizon={horizon} but X has {steps} rows; give one of them, or make them agree")
        if table.values.shape[1] != k:
            known = " known in advance (past_covariates are not given for the future)" if self.past_covariates else ""
            raise ValueError(f"X has {table.values.shape[1]} column(s) but the model was fitted with {k}{known}")
        names = self._future_names if hasattr(self, "feature_names_in_") else None
        if names is not None and isinstance(X, pd.DataFrame) and list(X.columns) != list(names):
            raise ValueError(f"X's columns {list(X.columns)} differ from those seen in fit {list(names)}")
        gap = 0
        if table.kind != "array":
            check_same_time_zone(table.index, self.axis_.last, "X", "the fitted series' index")
            gap = self.axis_.steps_after_end(table.index[0]) - 1
            if gap < 0:
                raise ValueError(
                    f"X must cover steps after the end of the fitted series ({self.axis_.last!r}); "
                    f"it starts at {table.index[0]!r}"
                )
            expected = self.axis_.future(steps, start=gap + 1)
            if not table.index.equals(expected):
                raise ValueError(f"X's index must be consecutive steps ({self.axis_.describe()}) after the series")
            if gap and k:
                raise ValueError(
                    f"X starts {gap} step(s) after the end of the series, but the covariates of those steps are "
                    "needed too: include them in X"
                )
        self._check_reach(gap + steps)
        future = self._widened(np.concatenate([np.zeros((gap, k)), table.values]))
        return steps, gap, self.axis_.future(steps, start=gap + 1), future

    def _history(self, end: int | None = None) -> _History:
        """Return the fitted series as forecasts start from it: its first ``end`` rows (default: all)."""
        history = _History(self._y, self._covariates, self._index, self.axis_, self._target_scaler)
        return history if end is None or end == len(self._y) else history.upto(end)

    def _forecast(
        self, total: int, future_covariates: np.ndarray, end: int | None = None, quantiles: bool = False
    ) -> Any:
        """Forecast ``total`` steps after the first ``end`` rows of the series (default: all), block by block.

        Values are in the transformed space of ``transform``, like the stored series: an array
        (total, n_targets), and with ``quantiles`` also the quantile forecasts (total, Q,
        n_targets) of the levels :attr:`_levels`. A model with ``quantiles`` forecasts the
        median as the point forecast, and feeds that back from block to block.
        """
        forecasts = self._forecast_many([self._history(end)], total, [future_covariates], quantiles)
        return (forecasts[0][0], forecasts[1][0]) if quantiles else forecasts[0]

    def _forecast_many(
        self, histories: list[_History], total: int, future_covariates: list[np.ndarray], quantiles: bool = False
    ) -> Any:
        """Forecast ``total`` steps after each history, one network pass per block for all of them.

        Returns a list of arrays (total, n_targets), one per history, in the transformed space
        (see :meth:`_forecast`), and with ``quantiles`` also a list of (total, Q, n_targets).
        A history shorter than the window reads zeros (its scaled mean) before its first step.
        """
        block, lag_total, w = self._block_size, sum(self.differencing_lags_), self.window_
        keep = w + lag_total + 1
        # Covariate rows beyond those given (a last block that ends past X) repeat the last row.
        pad = max(0, -(-total // block) * block - total)
        ys, covariates, labels = [], [], []
        for history, future in zip(histories, future_covariates, strict=True):
            ys.append(history.y[-keep:])
            covariates.append(np.concatenate([history.covariates[-keep:], future, future[-1:].repeat(pad, 0)]))
            labels.append(history.index[-keep:].append(history.axis.future(total + pad)))
        model = self._model()
        starts, paths = [len(y) for y in ys], [[] for _ in histories]
        for _ in range(0, total, block):
            samples = []
            for y, c, index, history in zip(ys, covariates, labels, histories, strict=True):
                now = len(y)
                z_hist = _front_padded(self._target_features(y[max(0, now - w - lag_total) :], history.scaler), w)
                first = max(0, now - w)
                c_all = _front_padded(self._covariate_features(c[first : now + block], index[first : now + block]),
                                      w + block)  # fmt: skip
                z = np.concatenate([z_hist, np.zeros((block, z_hist.shape[1]))])
                inputs, _ = self._samples(z.astype(self.dtype), c_all.astype(self.dtype))
                samples.append([np.asarray(part) for part in inputs])
            inputs = tuple(np.concatenate(parts) for parts in zip(*samples, strict=True))
            if embeds(self.network_):
                inputs = (*inputs, np.array([history.position for history in histories], dtype=np.int64))
            predicted = model.predict(inputs).astype(np.float64)
            for i, history in enumerate(histories):
                # A model trained on every step's prediction forecasts with its last step's.
                rows = predicted[i][-1:] if self.sequence_loss else predicted[i].reshape(block, -1)
                if not len(self._levels):
                    lags = self.differencing_lags_
                    values = undifference(history.scaler.inverse_transform(rows), ys[i], lags)
                else:
                    values, levels = self._quantile_block(rows, ys[i], history.scaler)
                    paths[i].append(levels)
                ys[i] = np.concatenate([ys[i], values])
        forecasts = [y[start : start + total] for y, start in zip(ys, starts, strict=True)]
        if quantiles:
            return forecasts, [np.concatenate(path)[:total] for path in paths]
        return forecasts

    def _quantile_block(
        self, predicted: np.ndarray, history: np.ndarray, scaler: Scaler
    ) -> tuple[np.ndarray, np.ndarray]:
        """Map one block of quantile outputs (k, n_targets·Q) to values; return the median (k, n_targets) and all.

        The levels are sorted at every step, so that they never cross (the monotone
        rearrangement of the outputs); the scaling and the transform are increasing, and the
        differences of each level are integrated on that level's own values within the
        block, so the order holds through to the forecasts.
        """
        q = self._outputs_per_value
        levels = np.sort(predicted.reshape(len(predicted), -1, q), axis=2).transpose(0, 2, 1)  # (k, Q, targets)
        on_each = np.repeat(history[:, None, :], q, axis=1)
        levels = undifference(scaler.inverse_transform(levels), on_each, self.differencing_lags_)
        return levels[:, int(np.searchsorted(self._levels, 0.5)), :], levels
