"""Collections of series: the long format (a row per series and step) and dicts of series, read and written back."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tsrnn._timeindex import TimeAxis, label, time_axis
from tsrnn._validation import as_table, some

# The long format's columns, as the forecasting libraries of the ecosystem name them.
ID_COLUMN, TIME_COLUMN, TARGET_COLUMN = "unique_id", "ds", "y"


@dataclass(frozen=True)
class Columns:
    """The names of a long frame's id, time and target columns."""

    id: str = ID_COLUMN
    time: str = TIME_COLUMN
    target: str = TARGET_COLUMN


@dataclass
class Collection:
    """Checked series of one frequency, in the order of their first row.

    ``values[i]`` (n_i, 1) and ``covariates[i]`` (n_i, k) are float64; ``index[i]`` labels
    the steps of series ``ids[i]``, and ``axes[i]`` says what its next labels are.
    """

    ids: list[Any]
    values: list[np.ndarray]
    covariates: list[np.ndarray]
    index: list[pd.Index]
    axes: list[TimeAxis]
    covariate_names: list[str]
    target_name: str
    kind: str  # "long" or "dict"
    static: np.ndarray | None = None  # (n_series, k_static), see with_static
    static_names: tuple[str, ...] = ()

    def with_static(self, frame: Any, name: str = "static_features") -> Collection:
        """Return the collection with the rows of ``frame`` (indexed by series id) as each series' static features.

        Raises ValueError for a series without a row, TypeError for values that are not numbers.
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"{name} must be a DataFrame indexed by the series ids, one numeric column per feature; got a "
                f"{type(frame).__name__}"
            )
        if frame.index.has_duplicates:
            raise ValueError(f"{name} has several rows for series {frame.index[frame.index.duplicated()][0]!r}")
        missing = [uid for uid in self.ids if uid not in frame.index]
        if missing:
            raise ValueError(
                f"{name} has no row for series {some(missing)}; give every "
                "series its static features (its index holds the series ids)"
            )
        table = as_table(frame.loc[list(self.ids)], name, allow_empty_columns=True)
        return dataclasses.replace(self, static=table.values, static_names=tuple(table.names))


def is_collection(data: Any, columns: Columns) -> bool:
    """Whether ``data`` holds many series: a dict of them, or a frame in the long format (an id column).

    A frame with the time column but no id column is refused here, by :func:`read_collection`,
    rather than read as one series of several targets.
    """
    if isinstance(data, dict):
        return True
    return isinstance(data, pd.DataFrame) and (columns.id in data.columns or columns.time in data.columns)


def read_collection(
    data: Any, columns: Columns, before: str = "fitting", ids_name: str = "y", with_target: bool = True
) -> Collection:
    """Check ``data`` (a long frame or a dict of Series) and split it into its series.

    Raises ValueError naming the series and the fix for a missing column, repeated
    ``(id, time)`` pairs, an irregular series, mixed frequencies and NaN; TypeError for values
    that are not numbers.
    """
    if isinstance(data, dict):
        collection = _read_dict(data, before, ids_name)
    else:
        collection = _read_long(data, columns, before, ids_name, with_target)
    _check_one_frequency(collection)
    return collection


def _read_long(frame: pd.DataFrame, columns: Columns, before: str, name: str, with_target: bool) -> Collection:
    needed = (columns.id, columns.time, columns.target) if with_target else (columns.id, columns.time)
    missing = [column for column in needed if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} is read as series in the long format (a row per series and step), but it has no column "
            f"{' or '.join(map(repr, missing))}; its columns are {list(map(str, frame.columns))}. Name its id, time "
            f"and target columns with id_column=, time_column= and target_column= (now {columns.id!r}, "
            f"{columns.time!r} and {columns.target!r})"
            + (", or pass one series indexed by time (set_index)" if with_target else "")
        )
    if len(frame) == 0:
        raise ValueError(f"{name} is empty (0 rows); pass at least one row per series")
    ids = frame[columns.id]
    if ids.isna().any():
        raise ValueError(f"{name}'s id column {columns.id!r} has missing values; give every row its series' id")
    repeated = frame.duplicated([columns.id, columns.time])
    if repeated.any():
        first = frame[repeated].iloc[0]
        raise ValueError(
            f"{name} has {int(repeated.sum())} repeated ({columns.id}, {columns.time}) pair(s); the first is "
            f"({first[columns.id]!r}, {label(first[columns.time])}). Each series may have one row per step: "
            f"aggregate them (groupby([{columns.id!r}, {columns.time!r}]).mean()) or drop the duplicates"
        )
    codes, uniques = pd.factorize(ids, sort=False)
    times = frame[columns.time]
    if not (pd.api.types.is_datetime64_any_dtype(times) or isinstance(times.dtype, pd.PeriodDtype)
            or pd.api.types.is_integer_dtype(times)):  # fmt: skip
        raise TypeError(
            f"{name}'s time column {columns.time!r} holds {times.dtype} values; it must hold timestamps, periods or "
            f"integer steps: convert it, for example with pd.to_datetime({name}[{columns.time!r}])"
        )
    if times.isna().any():
        raise ValueError(
            f"{name}'s time column {columns.time!r} has {int(times.isna().sum())} missing value(s); give every row "
            "its step, or drop the rows without one"
        )
    if pd.api.types.is_integer_dtype(times):
        # Nullable and unsigned integers as plain ones, so that the steps compare with those forecast.
        times = times.astype(np.int64)
    # Rows of a series in time order, the series in the order they first appear.
    order = np.lexsort((pd.factorize(times, sort=True)[0], codes))
    covariate_names = [str(c) for c in frame.columns if c not in (columns.id, columns.time, columns.target)]
    targets = [columns.target] if with_target else []
    values_frame = frame[[*targets, *[c for c in frame.columns if str(c) in covariate_names]]].iloc[order]
    names = _RowNames(ids.to_numpy()[order], times.to_numpy()[order], columns.time)
    table = as_table(values_frame, name, allow_empty_columns=not with_target, before=before, row_names=names)
    first_covariate = len(targets)
    counts = np.bincount(codes, minlength=len(uniques))
    bounds = np.concatenate([[0], np.cumsum(counts)])
    sorted_times = pd.Index(times.iloc[order])
    out = Collection([], [], [], [], [], covariate_names, str(columns.target), "long")
    for i, uid in enumerate(uniques):
        rows = slice(bounds[i], bounds[i + 1])
        index = sorted_times[rows].rename(columns.time)
        out.ids.append(uid)
        out.values.append(table.values[rows, :first_covariate])
        out.covariates.append(table.values[rows, first_covariate:])
        out.index.append(index)
        out.axes.append(time_axis(index, f"series {uid!r}'s time column {columns.time!r}"))
    return out


class _RowNames:
    """The names of a long frame's rows, "series 'Q1', t 6", made only for the row an error names."""

    def __init__(self, ids: np.ndarray, times: np.ndarray, time_column: str) -> None:
        self.ids, self.times, self.time_column = ids, times, time_column

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, row: int) -> _RowName:
        time = self.times[row]
        time = pd.Timestamp(time) if isinstance(time, np.datetime64) else time
        return _RowName(f"series {self.ids[row]!r}, {self.time_column} {label(time)}")


class _RowName(str):
    """A row's name, written as it is in messages."""

    def __repr__(self) -> str:
        return str(self)


def _read_dict(data: dict[Any, Any], before: str, name: str) -> Collection:
    if not data:
        raise ValueError(f"{name} is an empty dict; pass at least one series")
    out = Collection([], [], [], [], [], [], "", "dict")
    for uid, series in data.items():
        if not isinstance(series, pd.Series):
            raise TypeError(
                f"{name}[{uid!r}] is a {type(series).__name__}; a dict of series maps each id to a pandas Series "
                "indexed by time"
            )
        table = as_table(series, f"{name}[{uid!r}]", before=before)
        out.ids.append(uid)
        out.values.append(table.values)
        out.covariates.append(np.empty((len(table.values), 0)))
        out.index.append(series.index)
        out.axes.append(time_axis(series.index, f"series {uid!r}'s index"))
    names = {str(series.name) if series.name is not None else "y" for series in data.values()}
    out.target_name = names.pop() if len(names) == 1 else "y"
    return out


def _describe(axis: TimeAxis) -> tuple[str, Any]:
    return (axis.kind, axis.freq.freqstr if axis.freq is not None else axis.step)


def _check_one_frequency(collection: Collection) -> None:
    first = _describe(collection.axes[0])
    for uid, axis in zip(collection.ids, collection.axes, strict=True):
        if _describe(axis) != first:
            kind, unit = _describe(axis)
            raise ValueError(
                f"the series are of mixed frequencies: series {collection.ids[0]!r} is {first[0]} at {first[1]}, "
                f"series {uid!r} {kind} at {unit}. One model forecasts series of one frequency: resample them to one "
                "(resample(...).mean()) or fit a model per frequency"
            )


def to_long(collection_ids: list[Any], index: list[pd.Index], values: list[np.ndarray], columns: Columns,
            value_names: list[str]) -> pd.DataFrame:  # fmt: skip
    """Return a long frame: the id and time columns, then one column per name of ``value_names``.

    ``values[i]`` (n_i, len(value_names)) holds series ``collection_ids[i]``'s rows at ``index[i]``.
    """
    counts = [len(labels) for labels in index]
    frame = pd.DataFrame({
        # The ids' own dtype: integers stay integers.
        columns.id: pd.Index(collection_ids, tupleize_cols=False).repeat(counts),
        columns.time: index[0].append(index[1:]) if len(index) > 1 else index[0],
    })  # fmt: skip
    stacked = np.concatenate(values) if values else np.empty((0, len(value_names)))
    for j, value_name in enumerate(value_names):
        frame[value_name] = stacked[:, j]
    return frame
