"""RNNRegressor: a recurrent network on windows, with scikit-learn's regressor contract."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from tsrnn._base import NETWORK_CONSTRAINTS, RecurrentEstimator, make_rng
from tsrnn._params import Boolean, Integer
from tsrnn._state import StateReader, StateWriter
from tsrnn._validation import check_array_like, check_finite
from tsrnn.network import RecurrentNetwork
from tsrnn.preprocessing import Scaler
from tsrnn.training import SequenceModel

__all__ = ["RNNRegressor"]

_X_SHAPES = "2-D (samples, steps·features) or 3-D (samples, steps, features)"
# "Reshape your data" is the wording scikit-learn's check_fit2d_predict1d looks for.
_X_RESHAPE = (
    ". Reshape your data: X.reshape(-1, 1) for windows of one value, X.reshape(1, -1) for a single window, "
    "or cut windows with tsrnn.make_windows"
)


def _check_inputs(X: Any, y: Any = None) -> None:
    """Raise a TypeError or ValueError naming ``X`` or ``y`` and the fix, before scikit-learn converts them.

    ``validate_data`` would read text and timestamps as numbers, and words its errors about
    "array" and "input variables"; the checks here name the argument and what to do.
    """
    # Shapes as check_array_like reads them: np.shape and len() need not work on what np.asarray reads.
    shape = check_array_like(
        X, "X", ndims=(2, 3), shape_text=_X_SHAPES, reshape_hint=_X_RESHAPE, complex_error=ValueError,
        min_rows=1, rows="samples (windows)",
    )  # fmt: skip
    if 0 in shape[1:]:
        # The end of the message is the wording scikit-learn's check_estimators_empty_data_messages looks for.
        raise ValueError(
            f"X has windows of 0 steps or features: found array with 0 feature(s) (shape={shape}) while a minimum "
            "of 1 is required. Cut windows of at least one step (tsrnn.make_windows(y, window=...))"
        )
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


class RNNRegressor(RegressorMixin, RecurrentEstimator):
    """Recurrent-network regressor on windows of a sequence.

    Each sample is a window of ``T`` time steps with ``F`` features per step; the network
    reads the steps in order and a linear head maps its final state to the targets. Targets
    may be one value per window or several (a forecast horizon, multi-output).

    Parameters
    ----------
    features_per_step : int, default=1
        How to read a 2-D ``X`` of shape (n_samples, n_columns): as windows of
        ``n_columns // features_per_step`` steps, each holding ``features_per_step``
        consecutive columns (the layout of :func:`tsrnn.make_windows`). This lets
        transformers such as ``StandardScaler`` sit before the regressor in a Pipeline.
        A 3-D ``X`` (n_samples, T, F) is read as it is.
    normalize_y : bool, default=True
        Standardise the targets (per output) for training and undo it on prediction.
    {network_parameters}

    Attributes
    ----------
    network_ : RecurrentNetwork
        The trained network.
    optimizer_ : tsrnn.optim.Adam or tsrnn.optim.SGD
        The optimiser that trained it, with its state (moments, step count), which a warm
        start continues (see ``warm_start``).
    loss_curve_ : list of float
        Mean training loss (MSE on the standardised targets) of each epoch.
    validation_scores_ : list of float or None
        Validation loss (MSE, lower is better) after each epoch with ``early_stopping``,
        else None.
    best_epoch_ : int
        Epoch (from 1) of the lowest validation loss, or of the lowest training loss without
        early stopping. Early stopping restores its weights.
    n_iter_ : int
        Epochs run.
    n_features_in_ : int
        Columns of ``X`` seen in fit (steps × features for a 3-D ``X``).
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
    _accepted_values: ClassVar[dict[str, list[Any]]] = {
        "features_per_step": [Integer(1)],
        "normalize_y": [Boolean()],
        **NETWORK_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        features_per_step: int = 1,
        normalize_y: bool = True,
        cell: str = "lstm",
        hidden_size: int = 32,
        num_layers: int = 1,
        bidirectional: bool = False,
        activation: str = "tanh",
        dropout: float = 0.0,
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
        self.normalize_y = normalize_y
        super().__init__(
            cell=cell, hidden_size=hidden_size, num_layers=num_layers, bidirectional=bidirectional,
            activation=activation, dropout=dropout, optimizer=optimizer, learning_rate=learning_rate,
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

    def _windows(self, X: ArrayLike, reset: bool, y: Any = "no_validation") -> tuple[np.ndarray, Any]:
        """Validate ``X`` (and ``y``, when given) and return X as (n, T, F) windows in the network's dtype."""
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
        check_finite(X, "X", before="fitting" if fitting else "predicting")
        _check_range(X, "X", dtype, "scale X first (StandardScaler before the regressor in a Pipeline, say)")
        if X.ndim > 3:
            raise ValueError(
                f"X must be 2-D (samples, steps·features) or 3-D (samples, steps, features); got {X.ndim}-D"
            )
        if X.ndim == 2:
            steps, rest = divmod(X.shape[1], self.features_per_step)
            if rest or steps == 0:
                raise ValueError(
                    f"X has {X.shape[1]} columns, which is not a whole number of steps of "
                    f"features_per_step={self.features_per_step} features"
                )
            X = X.reshape(X.shape[0], steps, self.features_per_step)
        if not reset and X.shape[2] != self.n_step_features_:
            raise ValueError(f"X has {X.shape[2]} features per step, but {type(self).__name__} was fitted with "
                             f"{self.n_step_features_}")  # fmt: skip
        return np.ascontiguousarray(X, dtype=dtype), y

    def fit(self, X: ArrayLike, y: ArrayLike) -> RNNRegressor:
        """Train the network on windows ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, T·F) or (n_samples, T, F)
            Windows in time order (early stopping holds out the last ones).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        self : RNNRegressor
        """
        return self._fit(X, y)

    def _prepare_fit(self, X: ArrayLike, y: ArrayLike, *, warm: bool) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        x, y = self._windows(X, reset=not warm, y=y)
        dtype = np.dtype(self.dtype)
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1
        targets = y.reshape(len(y), -1)
        if warm and (targets.shape[1] != self.network_.output_size or x.shape[2] != self.n_step_features_):
            raise ValueError("warm_start needs data of the shape the model was fitted on; set warm_start=False")
        if not warm:
            self.n_step_features_ = x.shape[2]
            scaler = Scaler("standard" if self.normalize_y else None).fit(targets)
            self.y_mean_, self.y_scale_ = scaler.offset, scaler.scale
            self._rng = make_rng(self.random_state)
            self.network_ = RecurrentNetwork(
                x.shape[2], output_size=targets.shape[1], bidirectional=self.bidirectional,
                **self._network_options(self._rng),
            )  # fmt: skip
        scaled = (targets - self.y_mean_) / self.y_scale_
        _check_range(scaled, "y", dtype, "set normalize_y=True" if not self.normalize_y else "refit without warm_start")
        return (x,), scaled.astype(dtype)

    def _model(self) -> SequenceModel:
        return SequenceModel(self.network_, device=self.device)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict the targets of windows ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, T·F) or (n_samples, T, F)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            As ``y`` was in fit; float64.
        """
        check_is_fitted(self, "network_")
        x, _ = self._windows(X, reset=False)
        y = self._model().predict((x,)).astype(np.float64)
        y = y * self.y_scale_ + self.y_mean_
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
        windows, _ = self._windows(X, reset=False)
        if len(actual) != len(windows):
            raise ValueError(
                f"X has {len(windows)} samples (windows) but y has {len(actual)}; give one row of y per window"
            )
        return float(r2_score(actual, self.predict(X), sample_weight=sample_weight))

    def _fitted_state(self) -> StateWriter | None:
        state = super()._fitted_state()
        if state is None:
            return None
        state.put("n_step_features_", self.n_step_features_)
        state.put("y_1d", self._y_1d)
        state.array("y_mean_", self.y_mean_)
        state.array("y_scale_", self.y_scale_)
        return state

    def _restore_fitted_state(self, state: StateReader) -> None:
        super()._restore_fitted_state(state)
        network = self.network_
        if type(network) is not RecurrentNetwork:
            raise state.inconsistent(f"'network_' is a {type(network).__name__}; RNNRegressor uses a RecurrentNetwork")
        self.n_step_features_ = state.integer("n_step_features_", 1)
        self._y_1d = state.flag("y_1d")
        outputs = network.output_size
        if network.input_size != self.n_step_features_ or outputs < 1 or (self._y_1d and outputs != 1):
            raise state.inconsistent(
                f"a network of {network.input_size} inputs and {outputs} outputs does not fit "
                f"n_step_features_={self.n_step_features_} and {'1-D' if self._y_1d else '2-D'} targets"
            )
        self.y_mean_ = state.array("y_mean_", (outputs,), np.float64)
        self.y_scale_ = state.array("y_scale_", (outputs,), np.float64)
        self._check_parameters(state)

    def _parameter_mismatch(self) -> str | None:
        mismatch = super()._parameter_mismatch()
        if mismatch is None and not self.normalize_y and (np.any(self.y_mean_ != 0) or np.any(self.y_scale_ != 1)):
            mismatch = "the targets were standardised, but the parameters say normalize_y=False"
        return mismatch


def _check_range(values: np.ndarray, name: str, dtype: np.dtype, fix: str) -> None:
    """Raise ValueError if casting ``values`` to ``dtype`` would turn them into inf, or all into zeros or subnormals.

    Parameters
    ----------
    values : ndarray
        Finite values about to be cast to ``dtype``.
    name : str
        What they are called in the message.
    dtype : numpy.dtype
        The network's precision.
    fix : str
        What to do about it, besides a wider dtype.
    """
    if dtype != np.float32 or values.dtype == np.float32 or values.size == 0:
        return
    info = np.finfo(np.float32)
    # Python floats: compared with a float32, a larger value would be cast to it (and overflow).
    limit, tiny = float(info.max), float(info.smallest_normal)
    # max and min rather than abs().max(): no temporary copy of a large X.
    largest = max(float(values.max()), -float(values.min()))
    if largest > limit:
        raise ValueError(
            f"{name} reaches {largest:g} in magnitude, beyond the range of float32 ({limit:.3g}) that "
            f"dtype='float32' computes in: {fix}, or set dtype='float64'"
        )
    if 0 < largest < tiny:
        # Cast to float32 such values lose their precision or become 0, and the network would see nothing.
        raise ValueError(
            f"{name} is at most {largest:g} in magnitude, below the smallest normal float32 "
            f"({tiny:.3g}) of dtype='float32': {fix}, or set dtype='float64'"
        )
