"""Windows as the estimators read them: rows of lags or 3-D steps, their layout and their scaling.

:class:`WindowReader` is what :class:`~tsrnn.RNNRegressor` and :class:`~tsrnn.RNNClassifier`
share: how a 2-D ``X`` of lag columns or a 3-D ``X`` (samples, steps, features) becomes the
network's input, with the parameters ``features_per_step``, ``step_order``, ``window_features``
and ``input_scaling`` (documented on the estimators), and how that reading is kept in a model file.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from tsrnn._lags import BY_LAG_NAMES, INPUT_SCALINGS, InputScaling, LagLayout, layout_for_3d, read_layout
from tsrnn._state import StateReader, StateWriter
from tsrnn._validation import check_array_like, check_finite
from tsrnn.kernels._functional import real_steps

__all__ = ["X_RESHAPE", "X_SHAPES", "WindowReader", "check_range", "check_windows", "effective_scaling"]

X_SHAPES = "2-D (samples, steps·features) or 3-D (samples, steps, features)"
# "Reshape your data" is the wording scikit-learn's check_fit2d_predict1d looks for.
X_RESHAPE = (
    ". Reshape your data: X.reshape(-1, 1) for windows of one value, X.reshape(1, -1) for a single window, "
    "or cut windows with tsrnn.make_windows"
)


def check_windows(X: Any) -> tuple[int, ...]:
    """Return the shape of windows ``X``; raise a TypeError or ValueError naming ``X`` and the fix.

    Run before scikit-learn converts ``X``: ``validate_data`` would read text and timestamps
    as numbers, and words its errors about "array" and "input variables".
    """
    # Shapes as check_array_like reads them: np.shape and len() need not work on what np.asarray reads.
    shape = check_array_like(
        X, "X", ndims=(2, 3), shape_text=X_SHAPES, reshape_hint=X_RESHAPE, complex_error=ValueError,
        min_rows=1, rows="samples (windows)",
    )  # fmt: skip
    if 0 in shape[1:]:
        # The end of the message is the wording scikit-learn's check_estimators_empty_data_messages looks for.
        raise ValueError(
            f"X has windows of 0 steps or features: found array with 0 feature(s) (shape={shape}) while a minimum "
            "of 1 is required. Cut windows of at least one step (tsrnn.make_windows(y, window=...))"
        )
    return shape


def check_range(values: np.ndarray, name: str, dtype: np.dtype, fix: str) -> None:
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


def effective_scaling(input_scaling: str | None, layout: LagLayout) -> str | None:
    """Return the scaling a fit uses: per-window scaling is global for windows of one step, which have no spread."""
    if input_scaling in ("window_last", "window_mean") and layout.steps.shape[0] == 1:
        return "standard"
    return input_scaling


class WindowReader:
    """How an estimator reads windows: the layout of the columns, the steps' scaling, and their model file.

    A mixin for estimators with the parameters ``features_per_step``, ``step_order``,
    ``window_features`` and ``input_scaling``; :attr:`_reading_names` lists those (and any of
    the estimator's own) that fit reads the data with, which a warm start and a model file
    must keep.
    """

    _reading_names: ClassVar[tuple[str, ...]] = ("features_per_step", "step_order", "window_features", "input_scaling")

    def _check_validated_windows(self, X: np.ndarray, fitting: bool) -> None:
        """Raise ValueError for what ``validate_data`` lets through: NaN or inf, values float32 cannot hold, 4-D."""
        check_finite(X, "X", before="fitting" if fitting else "predicting")
        if self.input_scaling is None:
            # Otherwise the inputs are scaled in float64 first, and checked once scaled.
            check_range(X, "X", np.dtype(self.dtype), "set input_scaling='standard' (or scale X first)")
        if X.ndim > 3:
            raise ValueError(
                f"X must be 2-D (samples, steps·features) or 3-D (samples, steps, features); got {X.ndim}-D"
            )

    def _learn_reading(self, X: np.ndarray, targets: np.ndarray | None, lengths: np.ndarray | None = None) -> None:
        """Learn how fit reads validated windows ``X``: the layout (with ``targets`` (n, outputs) if any) and scaling.

        With ``lengths``, ``X`` is padded sequences (n, T, F) (:func:`~tsrnn._sequences.padded_sequences`)
        and the scaling is learnt on their real steps only. Sets the reading parameters kept for
        warm starts, ``step_order_``, ``lags_`` and ``n_step_features_``.
        """
        self._reading = self._reading_params()
        self._x_3d = X.ndim == 3
        self._layout = self._read_layout(X, targets)
        self.step_order_, self.lags_ = self._layout.order, self._layout.lags
        self.n_step_features_ = self._layout.steps.shape[1]
        scaling = InputScaling(effective_scaling(self.input_scaling, self._layout))
        if lengths is not None:
            real = X[real_steps(lengths, X.shape[1])]
            self._input_scaling = scaling.fit(real[None], np.zeros((1, 0)))
            return
        rows = X.reshape(len(X), -1) if X.ndim == 3 else X
        self._input_scaling = scaling.fit(*self._layout.split(np.asarray(rows, dtype=np.float64)))

    def _read_layout(self, X: np.ndarray, targets: np.ndarray | None) -> LagLayout:
        """Learn how the columns of ``X`` are steps and window features (see ``step_order``)."""
        if X.ndim == 3:
            if self.window_features is not None:
                raise ValueError(
                    "window_features picks columns of a 2-D X; a 3-D X (samples, steps, features) has only steps. "
                    "Set window_features=None, or give X as 2-D rows"
                )
            return layout_for_3d(X.shape[2], X.shape[1])
        names = getattr(self, "feature_names_in_", None)
        return read_layout(X, targets, names, self.features_per_step, self.step_order, self.window_features)

    def _network_input(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cut validated rows ``X`` into the network's input (n, T, input_size); with each window's level and spread.

        The targets of window ``i`` are ``(y_i - level_i) / spread_i`` on the network's scale.
        """
        layout = self._layout
        if X.ndim == 3:
            if layout.window_columns.size or layout.order != "oldest_first" or layout.lags is not None:
                raise ValueError(
                    f"X is 3-D, but {type(self).__name__} was fitted on 2-D rows read by their "
                    f"{'column names' if layout.lags is not None else 'columns'}; give X as 2-D rows like those of fit"
                )
            if X.shape[2] != self.n_step_features_:
                raise ValueError(f"X has {X.shape[2]} features per step, but {type(self).__name__} was fitted with "
                                 f"{self.n_step_features_}")  # fmt: skip
            layout = layout_for_3d(X.shape[2], X.shape[1])
            X = X.reshape(len(X), -1)
        steps, window = layout.split(np.asarray(X, dtype=np.float64))
        steps, window, level, spread = self._input_scaling.transform(steps, window)
        x = layout.network_input(steps, window)
        # The ValueError names X: a window scaled by a spread near its values' own can leave float32's range.
        check_range(x, "X after input_scaling", np.dtype(self.dtype), "set input_scaling='standard'")
        return np.ascontiguousarray(x, dtype=self.dtype), level, spread

    def _padded_network_input(self, padded: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Return the network's input (n, T, input_size) for padded sequences (n, T, F) of ``lengths``.

        Each sequence is scaled from its real steps alone (the per-window scalings read its own
        last step and spread), so it gets the input it would get alone; the padding stays zero.
        """
        if padded.shape[2] != self.n_step_features_:
            raise ValueError(
                f"X has {padded.shape[2]} features per step, but {type(self).__name__} was fitted with "
                f"{self.n_step_features_}"
            )
        if self.input_scaling is None:
            check_range(padded, "X", np.dtype(self.dtype), "set input_scaling='standard' (or scale X first)")
        x = np.zeros((*padded.shape[:2], self._layout.input_size), dtype=self.dtype)
        for length in np.unique(lengths):
            rows = np.flatnonzero(lengths == length)
            x[rows, :length] = self._network_input(padded[rows, :length])[0]
        return x

    def _write_reading(self, state: StateWriter) -> None:
        """Put the reading of the windows (layout and scaling) into a model file's ``state``."""
        state.put("n_step_features_", self.n_step_features_)
        state.put("x_3d", self._x_3d)
        layout = self._layout
        state.array("layout.steps", layout.steps)
        state.array("layout.window_columns", layout.window_columns)
        state.array("layout.lags", layout.lags)
        state.put("layout.order", layout.order)
        scaling = self._input_scaling
        state.put("input_scaling.kind", scaling.kind)
        state.array("input_scaling.offset", scaling.offset)
        state.array("input_scaling.scale", scaling.scale)
        state.scaler("input_scaling.window", scaling.window_scaler)

    def _restore_reading(self, state: StateReader) -> None:
        """Read back what :meth:`_write_reading` stored, checked against the columns and the parameters."""
        self.n_step_features_ = state.integer("n_step_features_", 1)
        self._x_3d = state.flag("x_3d")
        self._layout = self._read_stored_layout(state)
        self.step_order_, self.lags_ = self._layout.order, self._layout.lags
        # save refuses parameters that no longer describe the fit: those of a file are the fit's own.
        self._reading = self._reading_params()
        scaling = InputScaling(state.text("input_scaling.kind", INPUT_SCALINGS, none=True))
        if scaling.kind != effective_scaling(self.input_scaling, self._layout):
            raise state.inconsistent(
                f"the inputs were scaled with {scaling.kind!r}, but the parameters say "
                f"input_scaling={self.input_scaling!r}"
            )
        scaling.offset = state.array("input_scaling.offset", (self.n_step_features_,), np.float64)
        scaling.scale = state.array("input_scaling.scale", (self.n_step_features_,), np.float64)
        scaling.window_scaler = state.scaler("input_scaling.window", len(self._layout.window_columns))
        if np.any(scaling.scale <= 0):
            raise state.inconsistent("the input scales must be positive")
        self._input_scaling = scaling

    def _read_stored_layout(self, state: StateReader) -> LagLayout:
        """Return the layout stored in a model file, checked against the columns fit saw."""
        steps = state.array("layout.steps", (None, self.n_step_features_), np.int64)
        window = state.array("layout.window_columns", (None,), np.int64)
        lags = state.array("layout.lags", (len(steps),), np.int64, none=True)
        order = state.text("layout.order", ("oldest_first", "newest_first", BY_LAG_NAMES))
        columns = np.concatenate([steps.ravel(), window])
        width = None if self._x_3d else self.n_features_in_
        if len(steps) == 0 or (width is not None and (np.any(columns < 0) or np.any(columns >= width))):
            raise state.inconsistent(f"the step and window columns must be columns of the {width} seen in fit")
        if len(np.unique(columns)) != len(columns) or (lags is not None and np.any(lags < 1)):
            raise state.inconsistent("each column must be read once, and every lag be at least 1")
        if (lags is not None) != (order == BY_LAG_NAMES):
            raise state.inconsistent("the lags are stored exactly when the steps were read by their names")
        return LagLayout(steps, window, lags, order)

    def _reading_params(self) -> dict[str, Any]:
        """Return the parameters that say how fit reads and scales the data (lists as lists)."""
        values = {name: getattr(self, name) for name in self._reading_names}
        if isinstance(values["window_features"], tuple):
            values["window_features"] = list(values["window_features"])
        return values

    def _reading_changed(self) -> str | None:
        """Say which parameter of :attr:`_reading_names` differs from its value at fit; None when none does."""
        for name, value in self._reading_params().items():
            if value != self._reading[name]:
                return f"the data were read with {name}={self._reading[name]!r} and the parameters say {name}={value!r}"
        return None
