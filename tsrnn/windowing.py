"""Series to windows: the samples a recurrent network learns from."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from tsrnn._params import Integer, validate_params
from tsrnn._timeindex import time_axis
from tsrnn._validation import check_array_like, check_covariates_aligned, check_finite

__all__ = ["Windows", "make_windows", "sliding_windows"]


def sliding_windows(values: np.ndarray, window: int, count: int, start: int = 0) -> np.ndarray:
    """Return ``count`` windows of ``window`` consecutive rows of ``values`` (n, F), the first at ``start``.

    The result is a new, writeable, contiguous array of shape (count, window, F).
    """
    view = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)  # (n - window + 1, F, window)
    return view[start : start + count].transpose(0, 2, 1).copy(order="C")


# Windows gathered at a time when all are (np.asarray).
_GATHER_ROWS = 65536


class Windows:
    """Windows of consecutive rows of a stacked array, kept as their first rows and gathered when indexed.

    The samples of a fit are many overlapping windows of few rows: a million windows of 24
    steps would take 24 times the memory of the rows they read. Training indexes a batch at a
    time (``windows[batch]``), so only the batches ever exist as arrays, and one array of rows
    holds the steps of any number of series, each window inside one of them.

    Parameters
    ----------
    rows : ndarray of shape (n_rows, F)
        The stacked steps.
    starts : ndarray of int, shape (n,)
        The row each window starts at.
    length : int
        Steps per window.
    blank_from, blank_columns : int, default=0
        Steps ``blank_from`` and later of each window read zeros in their first
        ``blank_columns`` columns (the target and its flag over a forecast's horizon).
    position : ndarray of shape (length, E), optional
        Columns appended to every window, the same for each (the step's place in a horizon).

    Indexing with an int array gives a new array (len(index), length, F + E); with a slice,
    the windows of the slice, still ungathered. ``np.asarray`` gathers every window.
    """

    def __init__(
        self,
        rows: np.ndarray,
        starts: np.ndarray,
        length: int,
        blank_from: int = 0,
        blank_columns: int = 0,
        position: np.ndarray | None = None,
    ) -> None:
        self.rows, self.starts, self.length = rows, np.asarray(starts, dtype=np.int64), length
        self.blank_from, self.blank_columns, self.position = blank_from, blank_columns, position

    @property
    def shape(self) -> tuple[int, int, int]:
        """(windows, steps, features), as the gathered array's."""
        extra = 0 if self.position is None else self.position.shape[1]
        return (len(self.starts), self.length, self.rows.shape[1] + extra)

    @property
    def dtype(self) -> np.dtype:
        """The rows' dtype."""
        return self.rows.dtype

    ndim = 3

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return self._like(self.starts[key])
        out = self.rows[self.starts[key][:, None] + np.arange(self.length)]
        if self.blank_columns:
            out[:, self.blank_from :, : self.blank_columns] = 0.0
        if self.position is not None:
            position = np.broadcast_to(self.position, (len(out), *self.position.shape))
            out = np.concatenate([out, position.astype(out.dtype)], axis=2)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # In slices: the row index of a whole gather would take the memory of the windows again, in int64.
        out = np.empty(self.shape, self.dtype)
        for start in range(0, len(self.starts), _GATHER_ROWS):
            out[start : start + _GATHER_ROWS] = self[np.arange(start, min(start + _GATHER_ROWS, len(self.starts)))]
        return out if dtype is None else out.astype(dtype, copy=False)

    def select(self, positions: np.ndarray) -> Windows:
        """Return the windows at ``positions``, in that order, still ungathered."""
        return self._like(self.starts[positions])

    def _like(self, starts: np.ndarray) -> Windows:
        return Windows(self.rows, starts, self.length, self.blank_from, self.blank_columns, self.position)

    @staticmethod
    def stack(parts: list[Windows]) -> Windows:
        """Return the windows of ``parts`` (alike but for their rows and starts) in one, in order."""
        offsets = np.cumsum([0] + [len(part.rows) for part in parts[:-1]])
        rows = np.concatenate([part.rows for part in parts])
        starts = np.concatenate([part.starts + offset for part, offset in zip(parts, offsets, strict=True)])
        first = parts[0]
        return Windows(rows, starts, first.length, first.blank_from, first.blank_columns, first.position)


def make_windows(y: ArrayLike, window: int, horizon: int = 1, X: ArrayLike | None = None) -> tuple[Any, Any]:
    """Cut a series into lag windows and the values that follow them, for :class:`RNNRegressor`.

    Window ``i`` holds steps ``i .. i + window - 1``; its targets are the next ``horizon``
    values of ``y``. Each step contributes ``1 + k`` consecutive columns (``y`` then the
    ``k`` columns of ``X`` at that step), oldest step first, which is how
    ``RNNRegressor(features_per_step=1 + k)`` reads a 2-D ``X``.

    Parameters
    ----------
    y : array-like of shape (n,)
        The series, in time order (a pandas Series keeps its index and name).
    window : int
        Steps per window (>= 1).
    horizon : int, default=1
        Values to predict after each window (>= 1).
    X : array-like of shape (n, k), optional
        Covariates observed alongside ``y``; their past values join each window.

    Returns
    -------
    windows : ndarray of shape (n - window - horizon + 1, window * (1 + k)), or DataFrame
        For a pandas ``y``: columns named ``"<name>_lag<j>"`` (``j`` steps before the first
        target), indexed by the time of the first target.
    targets : ndarray of shape (n_windows,) if horizon == 1 else (n_windows, horizon), or pandas
        For a pandas ``y``: a Series (horizon 1) or a DataFrame with columns ``"<name>_h<j>"``.

    Examples
    --------
    >>> import numpy as np
    >>> windows, targets = make_windows(np.arange(6.0), window=3, horizon=2)
    >>> windows
    array([[0., 1., 2.],
           [1., 2., 3.]])
    >>> targets
    array([[3., 4.],
           [4., 5.]])
    """
    validate_params({"window": window, "horizon": horizon}, {"window": [Integer(1)], "horizon": [Integer(1)]})
    is_pandas = isinstance(y, pd.Series)
    values = _numeric_column(y, "y")
    if is_pandas and _is_time_index(y.index) and len(y) >= 3:
        # Windows across a repeated, reordered or missing step would mix steps that do not follow each other.
        time_axis(y.index, "y's index")
    columns = [values[:, None]]
    names = [str(y.name) if is_pandas and y.name is not None else "y"]
    if X is not None:
        check_array_like(X, "X", ndims=(1, 2), shape_text=f"1-D or 2-D, of shape ({len(values)}, k)")
        covariates = _float_values(X)
        if covariates.ndim == 1:
            covariates = covariates[:, None]
        if covariates.shape[0] != len(values):
            raise ValueError(f"X must have shape ({len(values)}, k) to align with y; got {covariates.shape}")
        check_finite(covariates, "X", labels=X.index if isinstance(X, pd.DataFrame) else None, before="cutting windows")
        if is_pandas and isinstance(X, (pd.Series, pd.DataFrame)) and _is_time_index(X.index):
            check_covariates_aligned(X.index, y.index, labels_fix="give the covariates of exactly the steps of y")
        columns.append(covariates)
        if isinstance(X, pd.DataFrame):
            names += [str(c) for c in X.columns]
        else:
            names += [f"x{j}" for j in range(covariates.shape[1])]
    n_windows = len(values) - window - horizon + 1
    if n_windows < 1:
        raise ValueError(
            f"y has {len(values)} values; window={window} and horizon={horizon} need at least {window + horizon}. "
            "Use a shorter window or horizon, or a longer series"
        )
    features = np.concatenate(columns, axis=1)
    windows = sliding_windows(features, window, n_windows).reshape(n_windows, -1)
    targets = sliding_windows(values[:, None], horizon, n_windows, start=window)[:, :, 0]
    if horizon == 1:
        targets = targets[:, 0]
    if not is_pandas:
        return windows, targets
    index = y.index[window : window + n_windows]
    lag_names = [f"{name}_lag{window - step}" for step in range(window) for name in names]
    frame = pd.DataFrame(windows, index=index, columns=lag_names)
    if horizon == 1:
        return frame, pd.Series(targets, index=index, name=names[0])
    return frame, pd.DataFrame(targets, index=index, columns=[f"{names[0]}_h{j + 1}" for j in range(horizon)])


def _is_time_index(index: pd.Index) -> bool:
    """Whether ``index`` labels steps by time (timestamps or periods), whose order and spacing can be checked."""
    return isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)) or index.inferred_type in ("datetime", "datetime64")


def _float_values(data: Any) -> np.ndarray:
    """Return ``data`` as a new float64 array, with pandas' missing values (pd.NA) as NaN."""
    if isinstance(data, (pd.Series, pd.DataFrame)):
        return data.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    return np.array(data, dtype=np.float64)


def _numeric_column(y: ArrayLike, name: str) -> np.ndarray:
    check_array_like(
        y, name, ndims=(1,), shape_text="1-D, one series",
        reshape_hint=f"; pass one column (such as {name}[:, 0]) and the others as covariates X",
    )  # fmt: skip
    values = _float_values(y)
    check_finite(values, name, labels=y.index if isinstance(y, pd.Series) else None, before="cutting windows")
    return values
