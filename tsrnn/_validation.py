"""Input checks with messages that say what is wrong, where, and what to do."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def check_finite(array: np.ndarray, name: str, labels: Sequence[object] | None = None) -> None:
    """Raise ValueError if ``array`` holds NaN or inf, naming the first place and the count.

    Parameters
    ----------
    array : ndarray
        Numeric array to check.
    name : str
        What the array is called in the message ("X", "y").
    labels : sequence, optional
        Row labels (a pandas index) to name the first bad row by, instead of its position.
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
        f"Fill them before fitting, keeping every time step, for example with {fill}"
    )


def one_of(options: Sequence[str]) -> str:
    """Join what the user may do as "a, b or c"."""
    return options[0] if len(options) == 1 else f"{', '.join(options[:-1])} or {options[-1]}"


def is_real_number(dtype: object) -> bool:
    """Whether values of ``dtype`` are real numbers (ints or floats; not bools, complex or objects)."""
    types = pd.api.types
    return types.is_numeric_dtype(dtype) and not types.is_bool_dtype(dtype) and not types.is_complex_dtype(dtype)
