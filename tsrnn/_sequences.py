"""Sequences of several lengths as the estimators read them: a list of arrays, or padded with ``lengths``.

Either form becomes one padded array (n, T, F) of float64, zeros after each sequence's real
steps, and the lengths (n,): what the networks take (``RecurrentNetwork.forward(lengths=...)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tsrnn._validation import check_array_like, check_finite
from tsrnn.kernels._functional import real_steps, validate_lengths

__all__ = ["SEQUENCE_SHAPES", "is_sequence_list", "padded_sequences"]

SEQUENCE_SHAPES = "a list of sequences, each (steps,) or (steps, features)"


def is_sequence_list(X: Any) -> bool:
    """Whether ``X`` is a list of sequences rather than one array.

    A list or tuple of items of different lengths, or of 2-D items (steps, features); a list
    of 1-D rows of one length is an array of rows (read by ``features_per_step`` and the like),
    as scikit-learn reads it.
    """
    if not isinstance(X, (list, tuple)) or not X:
        return False
    sizes = set()
    for item in X:
        if isinstance(item, (str, bytes)) or not hasattr(item, "__len__"):
            return False
        if isinstance(item, pd.DataFrame) or (isinstance(item, np.ndarray) and item.ndim == 2):
            return True
        if isinstance(item, list) and item and all(hasattr(v, "__len__") and not isinstance(v, str) for v in item):
            return True
        sizes.add(len(item))
    return len(sizes) > 1


def padded_sequences(X: Any, lengths: Any, before: str) -> tuple[np.ndarray, np.ndarray]:
    """Return sequences ``X`` as one padded array and their lengths; raise naming the problem and the fix.

    Parameters
    ----------
    X : list of array-like, or array-like of shape (n, T) or (n, T, F)
        A list of sequences of shape (T_i,) or (T_i, F), or padded sequences with ``lengths``
        (a 2-D array holds one feature per step); a plain array with ``lengths`` None is
        sequences of T steps each.
    lengths : array-like of int, shape (n,), or None
        The real steps of each padded sequence; the values after them are ignored (NaN too).
        Must be None for a list, which gives its own.
    before : str
        What the values must be finite before, for messages ("fitting", "predicting").

    Returns
    -------
    padded : ndarray of shape (n, T, F), float64
        A new array (the caller's data is not changed): each sequence's real steps, then zeros.
    lengths : ndarray of shape (n,), int64
    """
    if is_sequence_list(X):
        if lengths is not None:
            raise ValueError(
                "lengths= is for padded arrays: a list of sequences gives its own lengths. Drop lengths=, or pass X "
                "as one array padded at the end"
            )
        return _pad_list(X, before)
    shape = check_array_like(
        X, "X", ndims=(2, 3), shape_text=f"{SEQUENCE_SHAPES}, or 2-D (samples, steps) or 3-D (samples, steps, "
        "features) padded at the end with lengths=", complex_error=ValueError, min_rows=1, rows="sequences",
    )  # fmt: skip
    if 0 in shape[1:]:
        raise ValueError(f"X has sequences of 0 steps or features (shape {shape}): every sequence needs a step")
    values = np.asarray(X, dtype=np.float64)
    padded = values.reshape(*values.shape[:2], -1).copy()
    steps = padded.shape[1]
    checked = validate_lengths(lengths, len(padded), steps)
    if checked is None:
        checked = np.full(len(padded), steps, np.int64)
    # The padding's values never reach the networks: NaN there is as good as a zero.
    padded[~real_steps(checked, steps)] = 0.0
    check_finite(padded, "X (within each sequence's lengths)", before=before)
    return padded, checked


def _pad_list(X: list | tuple, before: str) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for i, item in enumerate(X):
        name = f"X[{i}]"
        shape = check_array_like(
            item, name, ndims=(1, 2), shape_text="(steps,) or (steps, features)", complex_error=ValueError
        )
        if shape[0] == 0 or (len(shape) == 2 and shape[1] == 0):
            raise ValueError(
                f"{name} is an empty sequence (shape {shape}): every sequence needs at least one step. Drop it, "
                "and its label"
            )
        array = np.asarray(item, dtype=np.float64)
        array = array.reshape(len(array), -1)
        if arrays and array.shape[1] != arrays[0].shape[1]:
            raise ValueError(
                f"{name} has {array.shape[1]} features per step but X[0] has {arrays[0].shape[1]}: give every "
                "sequence the same features"
            )
        check_finite(array, name, before=before)
        arrays.append(array)
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    padded = np.zeros((len(arrays), int(lengths.max()), arrays[0].shape[1]))
    for row, array in zip(padded, arrays, strict=True):
        row[: len(array)] = array
    return padded, lengths
