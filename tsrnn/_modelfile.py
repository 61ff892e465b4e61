"""Writing model files, and the layout and limits of the format that :mod:`tsrnn.persistence` reads.

It sits below the estimators, which save through it: it needs only a model's ``get_params``
and ``_fitted_state``. Reading builds the estimators, so :func:`tsrnn.load` lives above them,
in :mod:`tsrnn.persistence`, which describes the format.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import zipfile
from typing import Any

import numpy as np
import pandas as pd

from tsrnn import __version__
from tsrnn._state import StateWriter

__all__ = ["FORMAT_VERSION", "MAX_ARRAYS_SIZE", "MAX_FILE_SIZE", "MAX_JSON_SIZE", "MAX_SUMS_SIZE", "save"]

FORMAT_VERSION = 1
"""The version of the model file format this tsrnn writes, and the newest it reads."""

MAX_JSON_SIZE = 16 * 2**20
"""The most bytes ``model.json`` may hold (16 MiB): its parameters, names and configuration are text."""

MAX_SUMS_SIZE = 4096
"""The most bytes ``SHA256SUMS`` may hold: two lines of a checksum and a name."""

MAX_ARRAYS_SIZE = 4 * 2**30
"""The most bytes ``arrays.npz`` may hold (4 GiB): weights, optimiser moments, the end of the series."""

MAX_FILE_SIZE = MAX_JSON_SIZE + MAX_SUMS_SIZE + MAX_ARRAYS_SIZE + 2**20
"""The most bytes a model file may have: its members at their limits, and room for the zip's headers."""

FORMAT = "tsrnn-model"
JSON, ARRAYS, SUMS = "model.json", "arrays.npz", "SHA256SUMS"
MEMBERS = (JSON, ARRAYS, SUMS)
MEMBER_LIMITS = {JSON: MAX_JSON_SIZE, ARRAYS: MAX_ARRAYS_SIZE, SUMS: MAX_SUMS_SIZE}
TAG = "__tsrnn__"
# The classes a file can hold, by name and the module that defines each.
KINDS = {"RNNForecaster": "tsrnn.forecaster", "RNNRegressor": "tsrnn.regressor", "RNNClassifier": "tsrnn.classifier"}
# A fixed timestamp makes the archive depend on the model only.
_DATE = (1980, 1, 1, 0, 0, 0)


def save(model: Any, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to a model file at ``path`` (what ``model.save(path)`` does).

    Parameters
    ----------
    model : RNNForecaster, RNNRegressor or RNNClassifier
        Fitted or not.
    path : str or path-like
        Where to write; an existing file is replaced once the new one is complete.

    Raises
    ------
    TypeError
        If ``model`` is not one of the estimators (subclasses included, which would load as
        their base class), or a parameter has a type the format cannot store.
    ValueError
        If the fitted state holds something the format cannot store exactly, or is larger
        than a model file may hold (:data:`MAX_JSON_SIZE`, :data:`MAX_ARRAYS_SIZE`), or the
        parameters no longer describe it.
    """
    cls = type(model)
    kind = cls.__qualname__
    if KINDS.get(kind) != cls.__module__:
        *others, last = KINDS
        raise TypeError(f"save writes {', '.join(others)} and {last} models; got a {kind}")
    arrays: dict[str, np.ndarray] = {}
    params = {name: _encode_param(name, value, arrays) for name, value in model.get_params(deep=False).items()}
    state: StateWriter | None = model._fitted_state()
    if state is not None:
        arrays.update({f"fitted.{name}": array for name, array in state.arrays.items()})
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": {"tsrnn": __version__, "numpy": np.__version__, "pandas": pd.__version__},
        "estimator": kind,
        "params": params,
        "fitted": None if state is None else state.meta,
        "arrays": {name: {"shape": list(a.shape), "dtype": a.dtype.str} for name, a in sorted(arrays.items())},
    }
    text = json.dumps(document, indent=1, sort_keys=True, allow_nan=False).encode()
    npz = _npz_bytes(arrays)
    # load refuses larger members: a file it would refuse is not written.
    for name, data in ((JSON, text), (ARRAYS, npz)):
        if len(data) > MEMBER_LIMITS[name]:
            raise ValueError(
                f"cannot save this model: its {name} would hold {len(data)} bytes, more than the "
                f"{MEMBER_LIMITS[name]} a model file's {name} may hold"
            )
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in ((JSON, text), (ARRAYS, npz)))
    path = os.fspath(path)
    temporary = f"{path}.{secrets.token_hex(4)}.tmp"
    try:
        with zipfile.ZipFile(temporary, "x", zipfile.ZIP_DEFLATED) as archive:
            for name, data in ((JSON, text), (ARRAYS, npz), (SUMS, sums.encode())):
                archive.writestr(_member(name, zipfile.ZIP_DEFLATED), data)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _member(name: str, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    return info


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Return the arrays as an ``.npz`` (one uncompressed ``.npy`` member each), with fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, arrays[name], allow_pickle=False)
            archive.writestr(_member(f"{name}.npy", zipfile.ZIP_STORED), member.getvalue())
    return buffer.getvalue()


def _encode_param(name: str, value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Return a parameter as JSON; numpy dtypes, tuples, dicts and RandomState instances as tagged objects."""
    if isinstance(value, np.generic) and not isinstance(value, np.dtype):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not np.isfinite(value):
            raise ValueError(f"cannot save the parameter `{name}`={value!r}: it must be finite")
        return value
    if isinstance(value, list):
        return [_encode_param(name, v, arrays) for v in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [_encode_param(name, v, arrays) for v in value]}
    if isinstance(value, dict):
        # Pairs, since JSON keys are strings only (class_weight maps labels of any type).
        pairs = [[_encode_param(name, k, arrays), _encode_param(name, v, arrays)] for k, v in value.items()]
        return {TAG: "dict", "items": pairs}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {TAG: "dtype", "name": np.dtype(value).name, "form": "dtype" if isinstance(value, np.dtype) else "type"}
    if isinstance(value, np.random.RandomState):
        kind, key, pos, has_gauss, cached_gaussian = value.get_state(legacy=True)
        arrays[f"params.{name}.key"] = np.ascontiguousarray(key, dtype=np.uint32)
        return {TAG: "RandomState", "pos": int(pos), "has_gauss": int(has_gauss),
                "cached_gaussian": float(cached_gaussian)}  # fmt: skip
    raise TypeError(
        f"cannot save the parameter `{name}`: a {type(value).__name__} is not storable; use an int, float, str, "
        "list, tuple, dict, numpy dtype or RandomState"
    )
