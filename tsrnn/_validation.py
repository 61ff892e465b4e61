"""Input checks with messages that say what is wrong, where, and what to do."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tsrnn._timeindex import check_same_time_zone


def check_finite(array: np.ndarray, name: str, labels: Sequence[object] | None = None, before: str = "fitting") -> None:
    """Raise ValueError if ``array`` holds NaN or inf, naming the first place and the count.

    Parameters
    ----------
    array : ndarray
        Numeric array to check.
    name : str
        What the array is called in the message ("X", "y").
    labels : sequence, optional
        Row labels (a pandas index) to name the first bad row by, instead of its position.
    before : str, default="fitting"
        What the values must be filled before ("predicting", "cutting windows").
    """
    finite = np.isfinite(array)
    if finite.all():
        return
    bad = np.argwhere(~finite)
    first = tuple(int(i) for i in bad[0])
    value = array[first]
    kind = "NaN" if np.isnan(value) else "inf"
    if labels is not None:
        where = f"at {labels[first[0]]!r}" + (f", column {first[1]}" if len(first) > 1 else "")
    elif len(first) == 1:
        where = f"at position {first[0]}"
    else:
        where = f"at index {first}"
    # Dropping the rows is no fix: the time index would then skip steps, which fit rejects next.
    # pandas' interpolate() and ffill() fill NaN only, and neither fills a gap at the start.
    fill = "tsrnn.preprocessing.fill_gaps() or pandas' interpolate() or ffill()"
    if first[0] == 0:
        fill += " (then bfill() for the leading gap)"
    if np.isinf(array).any():
        fill = f"replace([np.inf, -np.inf], np.nan), then {fill}"
    raise ValueError(
        f"{name} contains {len(bad)} NaN or inf value(s); the first ({kind}) is {where}. "
        f"Fill them before {before}, keeping every time step, for example with {fill}"
    )


@dataclass
class Table:
    """A checked target (or covariate) table: values, labels and how it came in."""

    values: np.ndarray
    index: pd.Index
    names: list[str]
    kind: str  # "series", "frame" or "array"
    ndim: int


def as_table(
    data: Any,
    name: str,
    allow_empty_columns: bool = False,
    before: str = "fitting",
    row_names: Sequence[object] | None = None,
) -> Table:
    """Turn a Series, DataFrame or array into a float64 (n, k) table, with clear errors.

    ``before`` says what NaN must be filled before, in their message ("fitting", "predicting");
    ``row_names`` names the rows there, instead of the index' labels.
    """
    if isinstance(data, pd.Series):
        frame, kind, ndim = data.to_frame(name=data.name if data.name is not None else name), "series", 1
    elif isinstance(data, pd.DataFrame):
        frame, kind, ndim = data, "frame", 2
    else:
        array = np.asarray(data)
        if array.ndim not in (1, 2):
            raise ValueError(
                f"{name} must be 1-D or 2-D; got an array of shape {array.shape}. Pass a Series, a DataFrame or an "
                "array of shape (n,) or (n, columns)"
            )
        ndim = array.ndim
        if ndim == 1:
            array = array[:, None]
        frame, kind = pd.DataFrame(array, columns=[f"{name}{j}" for j in range(array.shape[1])]), "array"
    if len(frame) == 0:
        raise ValueError(f"{name} is empty (0 rows); pass at least one row")
    if frame.shape[1] == 0 and not allow_empty_columns:
        raise ValueError(f"{name} has no columns")
    bad = [(c, dtype) for c, dtype in frame.dtypes.items() if not is_real_number(dtype)]
    if bad:
        listed = ", ".join(f"{c!r} ({dtype})" for c, dtype in bad)
        hint = ""
        times = [c for c, dtype in bad if pd.api.types.is_datetime64_any_dtype(dtype)]
        if times and kind == "frame":
            hint = (
                f"; {times[0]!r} holds timestamps: make it the index ({name}.set_index({times[0]!r})) "
                "to have it read as the time of each row"
            )
        # pd.to_numeric leaves booleans and complex numbers as they are; each has its own conversion.
        flags = [c for c, dtype in bad if pd.api.types.is_bool_dtype(dtype)]
        complex_ = [c for c, dtype in bad if pd.api.types.is_complex_dtype(dtype)]
        if flags:
            hint += f"; {', '.join(map(repr, flags))} hold(s) booleans: .astype(float) makes them 0 and 1"
        if complex_:
            hint += f"; {', '.join(map(repr, complex_))} hold(s) complex numbers: keep the real part (.real) or abs()"
        convert = "Convert them (pd.to_numeric)" if len(flags) + len(complex_) < len(bad) else "Convert them"
        raise TypeError(
            f"{name} must be numeric (int or float); column(s) {listed} are not. {convert} or drop them{hint}"
        )
    # pandas' nullable columns hold pd.NA, which only na_value turns into a float (NaN, reported next).
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    check_finite(values, name, labels=frame.index if row_names is None else row_names, before=before)
    return Table(values, frame.index, [str(c) for c in frame.columns], kind, ndim)


def check_covariates_aligned(
    index: pd.Index,
    y_index: pd.Index,
    *,
    compare_labels: bool = True,
    rows_fix: str = "they must align",
    labels_fix: str = "covariates must be given for exactly the steps of y",
) -> None:
    """Raise ValueError unless covariates ``X``, of row labels ``index``, are given for exactly the steps of ``y``.

    Parameters
    ----------
    index, y_index : Index
        The row labels of ``X`` and of ``y``.
    compare_labels : bool, default=True
        Whether the labels must be the same (in the same time zone), not only as many.
    rows_fix, labels_fix : str
        What to do, in the messages for a different number of rows and for different labels.
    """
    if len(index) != len(y_index):
        raise ValueError(f"X has {len(index)} rows but y has {len(y_index)}; {rows_fix}")
    if compare_labels:
        check_same_time_zone(index, y_index, "X", "y's index")
        if not index.equals(y_index):
            raise ValueError(f"X's index differs from y's; {labels_fix}")


def some(values: Sequence[object], limit: int = 5) -> str:
    """Name the first ``limit`` of ``values`` (by repr) and count the others: "'a', 'b' and 3 more"."""
    named = ", ".join(repr(label_of(value)) for value in values[:limit])
    return named + (f" and {len(values) - limit} more" if len(values) > limit else "")


def label_of(value: object) -> object:
    """Return numpy scalars as Python ones, which messages write as users do (45, not np.int64(45))."""
    return value.item() if isinstance(value, np.generic) else value


def one_of(options: Sequence[str]) -> str:
    """Join what the user may do as "a, b or c"."""
    return options[0] if len(options) == 1 else f"{', '.join(options[:-1])} or {options[-1]}"


def is_real_number(dtype: object) -> bool:
    """Whether values of ``dtype`` are real numbers (ints or floats; not bools, complex or objects)."""
    types = pd.api.types
    return types.is_numeric_dtype(dtype) and not types.is_bool_dtype(dtype) and not types.is_complex_dtype(dtype)


def _is_number(value: object) -> bool:
    """Whether an element of an object array reads as a number: a real number, or missing (None, NaN, pd.NA)."""
    return value is None or value is pd.NA or isinstance(value, numbers.Real)


def _not_numbers(dtype: Any, name: str, allow_bool: bool, complex_error: type[Exception]) -> Exception | None:
    """Return the error for values of ``dtype`` that are not real numbers (None for numbers and object columns)."""
    types = pd.api.types
    if types.is_bool_dtype(dtype):
        if allow_bool:
            return None
        return TypeError(f"{name} holds booleans (dtype {dtype}), not numbers; convert them with {name}.astype(float)")
    if types.is_complex_dtype(dtype):
        # "Complex data not supported" is the wording scikit-learn's check_complex_data looks for.
        return complex_error(
            f"Complex data not supported: {name} has dtype {dtype}; pass real numbers, for example {name}.real "
            "where the imaginary parts are 0, or abs() for magnitudes"
        )
    if types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return TypeError(
            f"{name} holds timestamps (dtype {dtype}), not numbers; pass the values to learn from, and keep the "
            "timestamps as the index of a pandas Series or DataFrame"
        )
    if types.is_timedelta64_dtype(dtype):
        return TypeError(
            f"{name} holds time differences (dtype {dtype}), not numbers; convert them to numbers of a unit, "
            f"for example {name} / np.timedelta64(1, 's')"
        )
    if (isinstance(dtype, np.dtype) and dtype.kind in "US") or isinstance(dtype, pd.StringDtype):
        return TypeError(
            f"{name} holds text (dtype {dtype}), not numbers; convert it with {name}.astype(float) or pd.to_numeric"
        )
    if types.is_numeric_dtype(dtype) or types.is_object_dtype(dtype):
        return None  # object columns are looked at value by value
    # Categorical and other extension dtypes.
    return TypeError(
        f"{name} holds values of dtype {dtype}, not numbers; convert them with pd.to_numeric or {name}.astype(float)"
    )


def _first_non_number(values: np.ndarray, name: str, labels: Sequence[object] | None) -> Exception | None:
    """Return the error naming the first element of an object array that is not a number, or None if all are."""
    if values.size == 0:
        return None
    ok = np.frompyfunc(_is_number, 1, 1)(values).astype(bool)
    if ok.all():
        return None
    first = tuple(int(i) for i in np.argwhere(~ok)[0])
    value = values[first]
    if labels is not None:
        where = f"at {labels[first[0]]!r}" + (f", column {first[1]}" if len(first) > 1 else "")
    else:
        where = f"at position {first[0]}" if len(first) == 1 else f"at index {first}"
    try:
        float(value)
        reason = "text, not a number" if isinstance(value, (str, bytes)) else "not a real number"
    except (TypeError, ValueError) as error:
        # The conversion's own words; scikit-learn's check_dtype_object looks for them.
        reason = f"not a number: {error}"
    return TypeError(
        f"{name} holds {value!r} ({type(value).__name__}) {where}, {reason}. Convert {name} to numbers, for example "
        "with pd.to_numeric (errors='coerce' turns what is not a number into NaN, to fill), or drop the value"
    )


def check_array_like(
    data: Any,
    name: str,
    *,
    ndims: tuple[int, ...],
    shape_text: str,
    reshape_hint: str = "",
    allow_bool: bool = True,
    complex_error: type[Exception] = TypeError,
    min_rows: int = 0,
    rows: str = "rows",
) -> tuple[int, ...]:
    """Raise a TypeError or ValueError naming ``name`` and the fix if ``data`` is not an array of real numbers.

    Looks at the input as given, before any conversion: text, timestamps, complex numbers,
    booleans (unless ``allow_bool``) and objects that are not numbers are reported by dtype
    or by the first offending value, and a wrong number of dimensions or too few rows by
    shape. NaN and inf are left to :func:`check_finite`, which runs on the converted values.

    Parameters
    ----------
    data : array-like
        A numpy array, a pandas Series or DataFrame, or anything ``np.asarray`` reads.
    name : str
        What the argument is called in the message ("X", "y_true").
    ndims : tuple of int
        The accepted numbers of dimensions.
    shape_text : str
        The accepted shapes in words, for the message ("2-D (samples, steps)").
    reshape_hint : str, optional
        What to do about a wrong number of dimensions, appended to that message.
    allow_bool : bool, default=True
        Whether booleans count as numbers (0 and 1), as they do for scikit-learn.
    complex_error : {TypeError, ValueError}, default=TypeError
        The class of the error for complex values (scikit-learn estimators raise ValueError).
    min_rows : int, default=0
        The fewest rows (first-axis length) accepted.
    rows : str, default="rows"
        What the rows are called in the message ("samples").

    Returns
    -------
    tuple of int
        The shape of ``data``.
    """
    if type(data).__module__.startswith("scipy.sparse"):
        # np.asarray would wrap the matrix in a 0-D object array.
        raise TypeError(f"{name} is a sparse matrix, which is not supported; pass a dense array ({name}.toarray())")
    if isinstance(data, (pd.Series, pd.DataFrame)):
        frame = data.to_frame() if isinstance(data, pd.Series) else data
        shape, ndim = data.shape, data.ndim
        for column, dtype in frame.dtypes.items():
            label = name if isinstance(data, pd.Series) else f"{name}[{column!r}]"
            error = _not_numbers(dtype, label, allow_bool, complex_error)
            if error is None and pd.api.types.is_object_dtype(dtype):
                error = _first_non_number(frame[column].to_numpy(), label, labels=frame.index)
            if error is not None:
                raise error
    else:
        try:
            array = np.asarray(data)
        except ValueError as error:
            raise ValueError(
                f"{name} cannot be read as an array ({error}); pass a rectangular array of numbers"
            ) from None
        shape, ndim = array.shape, array.ndim
        error = _not_numbers(array.dtype, name, allow_bool, complex_error)
        if error is None and array.dtype == object:
            error = _first_non_number(array, name, None)
        if error is not None:
            raise error
    if ndim not in ndims:
        raise ValueError(f"{name} must be {shape_text}; got {ndim}-D data of shape {shape}{reshape_hint}")
    if ndim and shape[0] < min_rows:
        raise ValueError(
            f"{name} is empty: it has {shape[0]} {rows} (shape {shape}); pass at least {min_rows}"
            if shape[0] == 0
            else f"{name} has {shape[0]} {rows} (shape {shape}); pass at least {min_rows}"
        )
    return tuple(shape)
