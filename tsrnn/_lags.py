"""How RNNRegressor reads a 2-D ``X`` of lags: which columns are time steps, in which order, and their scaling.

Forecasting libraries hand a regressor rows of lagged values. skforecast and mlforecast put
the newest lag first (``lag_1``, ``lag1``), sktime and :func:`tsrnn.make_windows` the oldest,
mlforecast's lags may be irregular (``lag1, lag12, lag24``), and calendar or exogenous
columns come after the lags. A :class:`LagLayout` says, for every column of ``X``, whether it
is a feature of a time step or a feature of the whole window, and orders the steps oldest
first, the way the network reads them. An :class:`InputScaling` then puts the steps and the
window features on the scale the network trains well at, and says how to map the targets
into that scale and back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsrnn.preprocessing import Scaler, mean_and_std

STEP_ORDERS = ("auto", "oldest_first", "newest_first")
INPUT_SCALINGS = ("window_last", "window_mean", "standard")

# "lag_3" (skforecast), "lag3" (mlforecast), "<name>_lag3" (make_windows), "<name>_lag_3".
_LAG_NAME = re.compile(r"^(?:(?P<variable>.*?)_)?lag_?(?P<lag>[0-9]+)$")
# The order the lag names give, beside the two orders of plain columns.
BY_LAG_NAMES = "lag_names"

# A window whose spread is below this share of the feature's spread over all training windows
# is scaled by that floor instead: a flat window maps to zeros rather than to noise divided
# by nearly nothing.
_SPREAD_FLOOR = 0.01


@dataclass(frozen=True)
class LagLayout:
    """Where the steps and the window features of a row of ``X`` are.

    Attributes
    ----------
    steps : ndarray of int64, shape (T, F)
        ``steps[t, f]`` is the column holding feature ``f`` of step ``t``, oldest step first.
    window_columns : ndarray of int64, shape (W,)
        Columns that describe the whole window (calendar, exogenous values), in ``X``'s order.
    lags : ndarray of int64, shape (T,), or None
        How many steps before the target each step lies, oldest first, when the column names
        say so; None for plain columns.
    order : {"oldest_first", "newest_first", "lag_names"}
        How the order of the steps was read.
    """

    steps: np.ndarray
    window_columns: np.ndarray
    lags: np.ndarray | None
    order: str

    @property
    def irregular(self) -> bool:
        """Whether the named lags leave gaps (``1, 12, 24``): the network is then given each step's lag."""
        return self.lags is not None and bool(np.any(np.diff(self.lags) != -1))

    @property
    def input_size(self) -> int:
        """Features per step the network reads: the step's own, its lag when irregular, the window's."""
        return self.steps.shape[1] + int(self.irregular) + len(self.window_columns)

    def split(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the steps (n, T, F), oldest first, and the window features (n, W) of the rows ``X`` (n, columns)."""
        return np.ascontiguousarray(X[:, self.steps]), np.ascontiguousarray(X[:, self.window_columns])

    def network_input(self, steps: np.ndarray, window: np.ndarray) -> np.ndarray:
        """Join scaled steps (n, T, F) and window features (n, W) into the network's input (n, T, input_size).

        The window features are repeated at every step, so the recurrent state sees them
        beside each value rather than as steps of their own.
        """
        n, t = steps.shape[:2]
        parts = [steps]
        if self.irregular:
            distance = self.lags / self.lags.max()
            parts.append(np.broadcast_to(distance[None, :, None], (n, t, 1)))
        if window.shape[1]:
            parts.append(np.broadcast_to(window[:, None, :], (n, t, window.shape[1])))
        return np.concatenate(parts, axis=2) if len(parts) > 1 else steps


def read_layout(
    X: np.ndarray,
    y: np.ndarray | None,
    names: Sequence[str] | None,
    features_per_step: int,
    step_order: str,
    window_features: int | Sequence[str] | None,
) -> LagLayout:
    """Read the layout of the rows of a 2-D ``X`` from its column names, the parameters and the data.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_columns)
        The rows given to fit.
    y : ndarray of shape (n_samples, n_outputs) or None
        Their targets; the first output tells which end of a row is the newest lag, when
        neither the names nor ``step_order`` say.
    names : sequence of str, optional
        The column names of a DataFrame ``X``.
    features_per_step : int
        Consecutive step columns per step, for columns not named as lags.
    step_order : {"auto", "oldest_first", "newest_first"}
        As :class:`tsrnn.RNNRegressor` documents it.
    window_features : int, sequence of str or None
        As :class:`tsrnn.RNNRegressor` documents it.

    Returns
    -------
    LagLayout

    Raises
    ------
    ValueError
        If the parameters do not fit the columns, naming the parameter and the fix.
    """
    n_columns = X.shape[1]
    window = _window_columns(n_columns, names, window_features)
    candidates = [c for c in range(n_columns) if c not in set(window)]
    named = _named_lags(candidates, names, X, y) if names is not None else None
    if named is not None:
        steps, lags, others = named
        if others and window_features is not None:
            listed = ", ".join(repr(names[c]) for c in others[:5])
            raise ValueError(
                f"columns {listed} are neither lags of the others nor listed in window_features; "
                "add them to window_features, or leave window_features=None to take every such column as one"
            )
        if features_per_step not in (1, steps.shape[1]):
            raise ValueError(
                f"features_per_step={features_per_step}, but the lag names give {steps.shape[1]} features per step; "
                "leave features_per_step=1 to read them from the names"
            )
        _check_named_order(steps, step_order, names)
        window = sorted(window + others)
        return LagLayout(steps, np.asarray(window, dtype=np.int64), lags, BY_LAG_NAMES)
    steps_count, rest = divmod(len(candidates), features_per_step)
    if rest or steps_count == 0:
        raise ValueError(
            f"X has {len(candidates)} step columns (besides {len(window)} window features), which is not a "
            f"whole number of steps of features_per_step={features_per_step} features"
        )
    grid = np.asarray(candidates, dtype=np.int64).reshape(steps_count, features_per_step)
    order = step_order
    if order == "auto":
        newest = features_per_step == 1 and y is not None and _continues_newest_first(X[:, grid[:, 0]], y[:, 0])
        order = "newest_first" if newest else "oldest_first"
    if order == "newest_first":
        grid = grid[::-1]
    return LagLayout(np.ascontiguousarray(grid), np.asarray(window, dtype=np.int64), None, order)


def layout_for_3d(n_features: int, n_steps: int) -> LagLayout:
    """Return the layout of a 3-D ``X`` (n, T, F): steps as given, oldest first, no window features."""
    steps = np.arange(n_steps * n_features, dtype=np.int64).reshape(n_steps, n_features)
    return LagLayout(steps, np.zeros(0, dtype=np.int64), None, "oldest_first")


def _window_columns(n_columns: int, names: Sequence[str] | None, window_features: Any) -> list[int]:
    if window_features is None:
        return []
    if isinstance(window_features, (int, np.integer)):
        if not 0 <= window_features < n_columns:
            raise ValueError(
                f"window_features={window_features}, but X has {n_columns} columns: count the last columns "
                "that are not lags, leaving at least one lag column"
            )
        return list(range(n_columns - window_features, n_columns))
    if names is None:
        raise ValueError(
            "window_features names columns, but X has no column names; give X as a DataFrame, "
            "or window_features as the number of last columns that are not lags"
        )
    position = {name: c for c, name in enumerate(names)}
    missing = [name for name in window_features if name not in position]
    if missing:
        raise ValueError(f"window_features names {missing!r}, which are not columns of X (columns: {list(names)})")
    columns = sorted({position[name] for name in window_features})
    if len(columns) == n_columns:
        raise ValueError("window_features names every column of X; leave at least one lag column")
    return columns


def _named_lags(
    candidates: list[int], names: Sequence[str], X: np.ndarray, y: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, list[int]] | None:
    """Return the steps (T, F), lags (T,) and other columns, if the candidates' names follow a lag convention.

    The steps' first feature is the target's own history, which the per-window scalings
    make the targets relative to: the variable whose newest lag holds the targets of other
    rows (the rows continue one another), else the one named without a variable
    (``lag_3``), else the one with the most lags, else the first. The variables with the
    same lags as it are the other features of a step, in the order of the columns; named
    lags of the rest are window features.
    """
    variables: dict[str | None, dict[int, int]] = {}
    for c in candidates:
        match = _LAG_NAME.match(str(names[c]))
        if match is None or int(match["lag"]) < 1:
            continue
        lags = variables.setdefault(match["variable"], {})
        if int(match["lag"]) in lags:
            return None  # the same lag twice: the names do not describe a grid of steps
        lags[int(match["lag"])] = c
    if not variables:
        return None
    target = _target_variable(variables, X, y)
    step_variables = [target] + [v for v in variables.values() if v is not target and v.keys() == target.keys()]
    lags = np.asarray(sorted(target, reverse=True), dtype=np.int64)
    steps = np.asarray([[v[lag] for v in step_variables] for lag in lags], dtype=np.int64)
    taken = set(steps.ravel().tolist())
    return steps, lags, [c for c in candidates if c not in taken]


def _target_variable(variables: dict[str | None, dict[int, int]], X: np.ndarray, y: np.ndarray | None) -> dict:
    """Return the lags (lag -> column) of the variable whose history the targets continue (see :func:`_named_lags`)."""
    groups = list(variables.values())
    if y is not None and len(groups) > 1:
        target = y[:, 0].astype(X.dtype)
        matches = [np.isin(target, X[:, group[min(group)]]).sum() for group in groups]
        best = int(np.argmax(matches))
        if matches[best] >= max(2, len(target) // 4) and matches.count(matches[best]) == 1:
            return groups[best]
    if None in variables:
        return variables[None]
    most = max(len(group) for group in groups)
    return next(group for group in groups if len(group) == most)


def _check_named_order(steps: np.ndarray, step_order: str, names: Sequence[str]) -> None:
    """Refuse a ``step_order`` that the lag names contradict."""
    positions = steps[:, 0]
    if step_order == "auto" or len(positions) < 2:
        return
    increasing = bool(np.all(np.diff(positions) > 0))
    decreasing = bool(np.all(np.diff(positions) < 0))
    if (step_order == "oldest_first" and decreasing) or (step_order == "newest_first" and increasing):
        first, last = names[int(positions[-1])], names[int(positions[0])]
        raise ValueError(
            f"step_order={step_order!r}, but the column names put the newest lag {first!r} "
            f"{'first' if decreasing else 'last'} and the oldest {last!r} {'last' if decreasing else 'first'}; "
            "leave step_order='auto' to read the order from the names"
        )


def _continues_newest_first(values: np.ndarray, target: np.ndarray) -> bool:
    """Whether rows of lags (n, T) put the newest first: each target reappears as a later row's first lag.

    The rows may come in any order (a shuffled or subsampled split). For rows of one series,
    newest first, whose targets lie ``k`` steps ahead (``k`` = 1, or the step of a direct
    forecaster such as skforecast's ``ForecasterDirect``), the row ``k`` steps later is
    ``[target_i, ..., row_i[:-k]]``; oldest first it is ``[row_i[k:], ..., target_i]``. Each
    hypothesis is counted over the rows, for ``k`` = 1, 2, ... until one explains a quarter
    of them, and newest first is read only when it explains clearly more than oldest first:
    unrelated rows stay oldest first.
    """
    n, t = values.shape
    if n < 3 or t < 2:
        return False
    target = target.astype(values.dtype)
    rows = np.ascontiguousarray(values)
    enough = max(2, n // 4)
    for k in range(1, t):
        later_newest = {(row[k:].tobytes(), row[0].tobytes()) for row in rows}
        later_oldest = {(row[:-k].tobytes(), row[-1].tobytes()) for row in rows}
        newest = sum((rows[i, :-k].tobytes(), target[i].tobytes()) in later_newest for i in range(n))
        oldest = sum((rows[i, k:].tobytes(), target[i].tobytes()) in later_oldest for i in range(n))
        if max(newest, oldest) >= enough:
            return newest > 2 * oldest
    return False


class InputScaling:
    """Scaling of the steps and window features, learnt on the windows given to fit.

    Parameters
    ----------
    kind : {"window_last", "window_mean", "standard"} or None
        ``"window_last"``: each window's features minus the window's newest value, divided by
        the window's own standard deviation (at least 1 % of the feature's spread over the
        training windows). ``"window_mean"``: minus the window's own mean, divided by the
        same spread. ``"standard"``: each feature minus its
        mean over the training windows, divided by its standard deviation. None: as given.
        Window features are standardised over the training windows whenever ``kind`` is not
        None. With the per-window kinds the targets are made relative to the first feature of
        the window's steps in the same way, and mapped back at predict.
    """

    def __init__(self, kind: str | None) -> None:
        self.kind = kind

    @property
    def per_window(self) -> bool:
        """Whether the targets are made relative to each window."""
        return self.kind in ("window_mean", "window_last")

    def fit(self, steps: np.ndarray, window: np.ndarray) -> InputScaling:
        """Learn the spreads of the steps (n, T, F) and window features (n, W), float64."""
        features = steps.shape[2]
        flat = steps.reshape(-1, features)
        self.offset, self.scale = np.zeros(features), np.ones(features)
        if self.kind == "standard":
            self.offset, spread = mean_and_std(flat)
            self.scale = _positive(spread)
        elif self.per_window:
            # The floor of each window's spread.
            self.scale = _SPREAD_FLOOR * _positive(mean_and_std(flat)[1])
        self.window_scaler = Scaler("standard" if self.kind is not None else None).fit(window)
        return self

    def transform(self, steps: np.ndarray, window: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Scale the steps (n, T, F) and window features (n, W) of some windows.

        Returns
        -------
        steps : ndarray of shape (n, T, F)
        window : ndarray of shape (n, W)
        level, spread : ndarray of shape (n, 1)
            The targets of each window are ``(y - level) / spread`` on the network's scale
            (0 and 1 unless ``per_window``).
        """
        n = len(steps)
        if self.kind == "window_mean":
            offset, spread = _window_mean_and_std(steps)
            spread = np.maximum(spread, self.scale)
        elif self.kind == "window_last":
            offset, spread = steps[:, -1, :], np.maximum(_window_mean_and_std(steps)[1], self.scale)
        else:
            offset, spread = (
                np.broadcast_to(self.offset, (n, steps.shape[2])),
                np.broadcast_to(self.scale, (n, steps.shape[2])),
            )
        scaled = (steps - offset[:, None, :]) / spread[:, None, :]
        if not self.per_window:
            return scaled, self.window_scaler.transform(window), np.zeros((n, 1)), np.ones((n, 1))
        return scaled, self.window_scaler.transform(window), offset[:, :1].copy(), spread[:, :1].copy()


def _positive(spread: np.ndarray) -> np.ndarray:
    """Spreads with zeros (constant features) replaced by 1, so that they are centred and left unscaled."""
    return np.where(spread > 0, spread, 1.0)


def _window_mean_and_std(steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over the steps of each window and feature (n, T, F) -> (n, F), (n, F).

    Worked on divided by a power of two near each window's largest magnitude, which is exact,
    so that squaring neither overflows nor underflows at any finite scale. The sums run over
    the steps in order, the same for a window whatever the other rows (numpy's reductions
    may pick their order by the shape and memory layout of the whole batch).
    """
    _, exponent = np.frexp(np.abs(steps).max(axis=1))
    unit = np.ldexp(steps, -exponent[:, None, :])
    mean = _sum_over_steps(unit) / steps.shape[1]
    variance = _sum_over_steps(np.square(unit - mean[:, None, :])) / steps.shape[1]
    return np.ldexp(mean, exponent), np.ldexp(np.sqrt(variance), exponent)


def _sum_over_steps(values: np.ndarray) -> np.ndarray:
    """Sum (n, T, F) over T, step after step: (n, F)."""
    total = values[:, 0, :].copy()
    for t in range(1, values.shape[1]):
        total += values[:, t, :]
    return total
