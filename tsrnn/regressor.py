"""RNNRegressor: a recurrent network on windows, with scikit-learn's regressor contract."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from tsrnn._base import LOSS_CONSTRAINTS, NETWORK_CONSTRAINTS, RecurrentEstimator, make_rng
from tsrnn._lags import INPUT_SCALINGS, STEP_ORDERS
from tsrnn._params import Boolean, Integer, Options, StringList
from tsrnn._state import StateReader, StateWriter
from tsrnn._validation import check_array_like, check_finite
from tsrnn._windows import WindowReader, check_range, check_windows
from tsrnn.network import RecurrentNetwork
from tsrnn.preprocessing import Scaler
from tsrnn.training import SequenceModel

__all__ = ["RNNRegressor"]


def _check_inputs(X: Any, y: Any = None) -> None:
    """Raise a TypeError or ValueError naming ``X`` or ``y`` and the fix, before scikit-learn converts them.

    ``validate_data`` would read text and timestamps as numbers, and words its errors about
    "array" and "input variables"; the checks here name the argument and what to do.
    """
    shape = check_windows(X)
    if y is None:
        return
    y_shape = check_array_like(
        y, "y", ndims=(1, 2), shape_text="1-D (samples,) or 2-D (samples, outputs)", complex_error=ValueError,
        min_rows=1, rows="samples",
    )  # fmt: skip
    if y_shape[0] != shape[0]:
        raise ValueError(
            f"X has {shape[0]} samples (windows) but y has {y_shape[0]}; give one row of y per window of X"
        )
    if len(y_shape) == 2 and y_shape[1] == 0:
        raise ValueError(f"y has 0 outputs (shape {y_shape}); give at least one target per window")


class RNNRegressor(RegressorMixin, WindowReader, RecurrentEstimator):
    """Recurrent-network regressor on windows of a sequence.

    Each sample is a window of ``T`` time steps with ``F`` features per step; the network
    reads the steps in order and a linear head maps its final state to the targets. Targets
    may be one value per window or several (a forecast horizon, multi-output).

    A 2-D ``X`` is read as rows of lags, the way forecasting libraries (skforecast,
    sktime, mlforecast) and :func:`tsrnn.make_windows` cut a series: which columns are the
    steps, in which order, and which describe the whole window, is read from the column
    names when they follow a lag convention, else from ``features_per_step``,
    ``step_order`` and ``window_features``. The inputs are normalised by default
    (``input_scaling``), so raw levels of a series can be given as they are.

    Parameters
    ----------
    features_per_step : int, default=1
        How to read the step columns of a 2-D ``X`` whose names are not lags: as
        ``n_step_columns // features_per_step`` steps, each holding ``features_per_step``
        consecutive columns (the layout of :func:`tsrnn.make_windows`). This lets
        transformers such as ``StandardScaler`` sit before the regressor in a Pipeline.
        A 3-D ``X`` (n_samples, T, F) is read as it is.
    step_order : {"auto", "oldest_first", "newest_first"}, default="auto"
        Which end of a row of a 2-D ``X`` holds the oldest step; the network reads the steps
        oldest first. ``"auto"`` reads it, in this order:

        - from the column names of a DataFrame ``X`` that follow a lag convention:
          ``lag_<k>`` (skforecast), ``lag<k>`` (mlforecast), ``<name>_lag<k>`` (
          :func:`tsrnn.make_windows`, one ``<name>`` per feature of a step) or
          ``<name>_lag_<k>``, where ``k`` counts the steps back from the target. The steps
          are then sorted by ``k``, largest first, whatever the order of the columns.
          Irregular lag sets (``lag1, lag12, lag24``) become a short sequence of those steps,
          and each step is given its lag (divided by the largest) as one more input feature.
          The first feature of a step is the target's own history: the variable whose newest
          lag holds the targets of other rows, else the one named without a variable, else
          the one with the most lags. Named lags of variables with other lags than it are
          window features;
        - else, with one feature per step, from the data: the rows are taken for newest
          first when each row's target reappears as the first lag of a later row, the way
          skforecast's ``ForecasterRecursive`` and ``ForecasterDirect`` cut a series (they
          pass plain arrays, ``lag_1`` first), whatever the order of the rows;
        - else oldest first (sktime's ``make_reduction``, :func:`tsrnn.make_windows`).

        ``step_order_`` says what was read. A ``step_order`` the lag names contradict is
        refused.
    window_features : int, list of str or None, default=None
        Columns of a 2-D ``X`` that describe the whole window rather than a step (calendar
        features, exogenous values of the target's time): the last ``k`` columns, or the
        named ones. They are given to the network at every step, beside the step's own
        features. None: with lag-named columns, every column not named as a lag of the
        steps; otherwise none.
    input_scaling : {"window_last", "window_mean", "standard"} or None, default="window_last"
        How the steps are normalised, learnt on the windows given to fit:

        - ``"window_last"``: each window minus its newest value, divided by the window's
          own standard deviation (per feature of a step; at least 1 % of the feature's
          standard deviation over all training windows, so that a flat window maps to
          zeros);
        - ``"window_mean"``: each window minus its own mean, divided by the same spread;
        - ``"standard"``: each feature minus its mean over the training windows, divided by
          its standard deviation;
        - None: as given.

        With the two per-window choices the targets are made relative to the window in the
        same way (by its first feature of a step, the target's own history in the layout of
        the forecasting libraries and of :func:`tsrnn.make_windows`) and mapped back at
        predict. Windows of one step have no spread of their own: they are scaled as with
        ``"standard"``. That lets the network forecast levels it has never seen (a trend), where a
        global scaling saturates its gates. The default was chosen on the bundled monthly,
        daily and hourly series inside skforecast, sktime and mlforecast
        (``benchmarks/interop.py``, table in ``benchmarks/README.md``): it beat the
        seasonal-naive forecast in more cases than ``"window_mean"``, and came closer to
        ridge regression on the same lags. They suit targets that continue the windows'
        first feature; for other targets use ``"standard"``. Window features are
        standardised over the training windows whenever ``input_scaling`` is not None.
    normalize_y : bool, default=True
        Standardise the targets (per output, after ``input_scaling``) for training and undo
        it on prediction.
    {network_parameters}

    Attributes
    ----------
    network_ : RecurrentNetwork
        The trained network.
    optimizer_ : tsrnn.optim.Adam or tsrnn.optim.SGD
        The optimiser that trained it, with its state (moments, step count), which a warm
        start continues (see ``warm_start``).
    loss_curve_ : list of float
        Mean training loss (``loss``, on the scaled targets) of each epoch.
    validation_scores_ : list of float or None
        Validation loss (``loss``, lower is better) after each epoch with ``early_stopping``,
        else None.
    best_epoch_ : int
        Epoch (from 1) of the lowest validation loss, or of the lowest training loss without
        early stopping. Early stopping restores its weights.
    n_iter_ : int
        Epochs run.
    step_order_ : {"oldest_first", "newest_first", "lag_names"}
        How the order of the steps of a 2-D ``X`` was read (``"lag_names"``: from the
        column names); ``"oldest_first"`` for a 3-D ``X``.
    lags_ : ndarray of shape (n_steps,) or None
        The lag of each step the network reads, oldest first, when the column names gave
        them; else None.
    n_features_in_ : int
        Columns of ``X`` seen in fit (steps for a 3-D ``X``).
    feature_names_in_ : ndarray of str
        Column names of a DataFrame ``X``.

    See Also
    --------
    RNNForecaster : Forecasts a pandas series directly, building the windows itself.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import RNNRegressor, make_windows
    >>> series = np.sin(np.arange(200) / 5)
    >>> X, y = make_windows(series, window=12, horizon=3)
    >>> model = RNNRegressor(hidden_size=8, max_epochs=5, random_state=0).fit(X, y)
    >>> model.predict(X[-1:]).shape
    (1, 3)
    """

    _min_features_in = 1
    # How fit reads and scales the data: the windows, and the targets.
    _reading_names: ClassVar[tuple[str, ...]] = (*WindowReader._reading_names, "normalize_y")
    _accepted_values: ClassVar[dict[str, list[Any]]] = {
        "features_per_step": [Integer(1)],
        "step_order": [Options(*STEP_ORDERS)],
        "window_features": [Integer(0), StringList(), None],
        "input_scaling": [Options(*INPUT_SCALINGS), None],
        "normalize_y": [Boolean()],
        **NETWORK_CONSTRAINTS,
        **LOSS_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        features_per_step: int = 1,
        step_order: str = "auto",
        window_features: int | list[str] | None = None,
        input_scaling: str | None = "window_last",
        normalize_y: bool = True,
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
        learning_rate: float = 1e-3,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        batch_size: int = 32,
        max_epochs: int = 200,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        clip_norm: float | None = None,
        bptt_steps: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        warm_start: bool = False,
        device: str = "cpu",
        dtype: str = "float32",
    ) -> None:
        self.features_per_step = features_per_step
        self.step_order = step_order
        self.window_features = window_features
        self.input_scaling = input_scaling
        self.normalize_y = normalize_y
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

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        # A few epochs on the checks' small datasets do not reach their R² bar reliably.
        tags.regressor_tags.poor_score = True
        return tags

    def _rows(self, X: ArrayLike, reset: bool, y: Any = "no_validation") -> tuple[np.ndarray, Any]:
        """Validate ``X`` (and ``y``, when given); return X as rows (n, columns) and y."""
        dtype = np.dtype(self.dtype)
        fitting = not (isinstance(y, str) and y == "no_validation")
        _check_inputs(X, y if fitting else None)
        if not fitting:
            X = validate_data(self, X, reset=reset, allow_nd=True, ensure_all_finite=False, dtype=[dtype, np.float64])
        else:
            X, y = validate_data(
                self, X, y, reset=reset, allow_nd=True, ensure_all_finite=False, multi_output=True, y_numeric=True,
                dtype=[dtype, np.float64],
            )  # fmt: skip
            check_finite(np.asarray(y, dtype=np.float64), "y")
        self._check_validated_windows(X, fitting)
        return X, y

    def fit(self, X: ArrayLike, y: ArrayLike) -> RNNRegressor:
        """Train the network on windows ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns) or (n_samples, T, F)
            Windows in time order (early stopping holds out the last ones). For 2-D rows,
            see ``step_order`` and ``window_features`` for how the columns are read.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        self : RNNRegressor
        """
        return self._fit(X, y)

    def _prepare_fit(self, X: ArrayLike, y: ArrayLike, *, warm: bool) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        X, y = self._rows(X, reset=not warm, y=y)
        dtype = np.dtype(self.dtype)
        y = np.asarray(y, dtype=np.float64)
        targets = y.reshape(len(y), -1)
        if warm and (targets.shape[1] != self.network_.output_size or (X.ndim == 3) != self._x_3d):
            raise ValueError("warm_start needs data of the shape the model was fitted on; set warm_start=False")
        changed = self._reading_changed() if warm else None
        if changed is not None:
            raise ValueError(f"warm_start reads the data as the first fit did, but {changed}; set warm_start=False")
        if not warm:
            self._y_1d = y.ndim == 1
            self._learn_reading(X, targets)
        x, level, spread = self._network_input(X)
        relative = (targets - level) / spread
        if not warm and self._input_scaling.per_window:
            _warn_unless_targets_continue_the_windows(relative, self.input_scaling)
        if not warm:
            scaler = Scaler("standard" if self.normalize_y else None).fit(relative)
            self.y_mean_, self.y_scale_ = scaler.offset, scaler.scale
            self._rng = make_rng(self.random_state)
            self.network_ = RecurrentNetwork(
                x.shape[2], output_size=targets.shape[1], bidirectional=self.bidirectional,
                **self._network_options(self._rng),
            )  # fmt: skip
        scaled = (relative - self.y_mean_) / self.y_scale_
        if not warm:
            # From every window, the early-stopping tail included, as RNNForecaster does.
            self._start_head(scaled)
        name = "y, relative to each window," if self._input_scaling.per_window else "y"
        check_range(scaled, name, dtype, "set normalize_y=True" if not self.normalize_y else "refit without warm_start")
        return (x,), scaled.astype(dtype)

    def _model(self) -> SequenceModel:
        return SequenceModel(self.network_, device=self.device)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict the targets of windows ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns) or (n_samples, T, F)
            Rows laid out as those of fit (a plain array is read by the positions of fit's
            columns).

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            As ``y`` was in fit; float64.
        """
        check_is_fitted(self, "network_")
        X, _ = self._rows(X, reset=False)
        x, level, spread = self._network_input(X)
        y = self._model().predict((x,)).astype(np.float64)
        y = (y * self.y_scale_ + self.y_mean_) * spread + level
        return y[:, 0] if self._y_1d else y

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Return the R² of the predictions for windows ``X`` against their targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, T·F) or (n_samples, T, F)
            Windows, as for :meth:`predict`.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Their true targets.
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the samples.

        Returns
        -------
        float
            :func:`sklearn.metrics.r2_score` of ``y`` and ``predict(X)``.
        """
        from sklearn.metrics import r2_score

        check_array_like(
            y, "y", ndims=(1, 2), shape_text="1-D (samples,) or 2-D (samples, outputs)", complex_error=ValueError,
            min_rows=1, rows="samples",
        )  # fmt: skip
        actual = np.asarray(y, dtype=np.float64)
        check_finite(actual, "y", before="scoring")
        check_is_fitted(self, "network_")
        # X is checked, and its windows counted, before any prediction runs.
        rows, _ = self._rows(X, reset=False)
        if len(actual) != len(rows):
            raise ValueError(
                f"X has {len(rows)} samples (windows) but y has {len(actual)}; give one row of y per window"
            )
        return float(r2_score(actual, self.predict(X), sample_weight=sample_weight))

    def _fitted_state(self) -> StateWriter | None:
        state = super()._fitted_state()
        if state is None:
            return None
        state.put("y_1d", self._y_1d)
        self._write_reading(state)
        state.array("y_mean_", self.y_mean_)
        state.array("y_scale_", self.y_scale_)
        return state

    def _restore_fitted_state(self, state: StateReader) -> None:
        super()._restore_fitted_state(state)
        network = self.network_
        if type(network) is not RecurrentNetwork:
            raise state.inconsistent(f"'network_' is a {type(network).__name__}; RNNRegressor uses a RecurrentNetwork")
        self._y_1d = state.flag("y_1d")
        self._restore_reading(state)
        outputs = network.output_size
        if network.input_size != self._layout.input_size or outputs < 1 or (self._y_1d and outputs != 1):
            raise state.inconsistent(
                f"a network of {network.input_size} inputs and {outputs} outputs does not fit "
                f"{self._layout.input_size} inputs per step and {'1-D' if self._y_1d else '2-D'} targets"
            )
        self.y_mean_ = state.array("y_mean_", (outputs,), np.float64)
        self.y_scale_ = state.array("y_scale_", (outputs,), np.float64)
        self._check_parameters(state)

    def _parameter_mismatch(self) -> str | None:
        mismatch = super()._parameter_mismatch()
        if mismatch is None:
            mismatch = self._reading_changed()
        # What a model file holds of the fit itself, where its parameters could say otherwise.
        if mismatch is None and not self.normalize_y and (np.any(self.y_mean_ != 0) or np.any(self.y_scale_ != 1)):
            mismatch = "the targets were standardised, but the parameters say normalize_y=False"
        return mismatch


# Targets that continue their windows lie within a few of the windows' spreads of them; a median
# distance beyond this says they are on another scale (a scaler before the regressor).
_FAR_FROM_THE_WINDOWS = 10.0


def _warn_unless_targets_continue_the_windows(relative: np.ndarray, input_scaling: str) -> None:
    """Warn if the targets, relative to their windows (n, outputs), are too far from them to continue them."""
    distance = float(np.median(np.abs(relative)))
    if distance > _FAR_FROM_THE_WINDOWS:
        warnings.warn(
            f"the targets lie far from the values of their windows (a median of {distance:.3g} window spreads "
            f"away), so they do not look like later values of the windows' first feature, which "
            f"input_scaling={input_scaling!r} takes them for. A scaler before RNNRegressor in a pipeline does this: "
            "drop it (RNNRegressor normalises its inputs), or set input_scaling='standard'",
            UserWarning,
            # Past _prepare_fit, _fit and fit: the caller's line.
            stacklevel=5,
        )
