"""Model files: ``model.save(path)`` writes one, :func:`load` reads it back, checked, running no code.

A pickle of a model is a program: unpickling a file runs whatever it says, so a pickle from
elsewhere is as dangerous as a script from elsewhere. A model file holds only numbers and
text: :func:`load` reads arrays with ``allow_pickle=False`` and JSON, checks them all, and
builds the estimator from them.

The format (version 1) is a zip archive of three members:

``model.json``
    ``format`` ("tsrnn-model"), ``format_version``, ``versions`` (tsrnn, numpy, pandas that
    wrote it), ``estimator`` ("RNNForecaster" or "RNNRegressor"), ``params`` (``get_params``;
    a numpy dtype, a tuple or a ``RandomState`` as small tagged objects), ``fitted`` (what
    fit learnt: the time axis, the end of the series, scalers, target and feature names,
    differencing lags, the network's configuration, the optimiser's hyperparameters and
    step count, the random generator's state, the training history; null when not fitted)
    and ``arrays``, the shape and dtype of every array.
``arrays.npz``
    The arrays, in numpy's ``.npz`` format: the weights, the optimiser's moments, the last
    window of the series with its covariates and index, the scalers' offsets and scales, the
    calibration residuals, the loss curves.
``SHA256SUMS``
    The sha256 of the two others, as ``sha256sum`` writes them.

Files are written deterministically: the same model gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import zipfile
import zlib
from typing import Any

import numpy as np
import pandas as pd

from tsrnn import __version__
from tsrnn._params import validate_params
from tsrnn._state import ModelFileError, StateReader, StateWriter
from tsrnn.forecaster import RNNForecaster
from tsrnn.regressor import RNNRegressor

__all__ = ["FORMAT_VERSION", "ModelFileError", "load", "save"]

FORMAT_VERSION = 1
"""The version of the model file format this tsrnn writes, and the newest it reads."""

_FORMAT = "tsrnn-model"
_JSON, _ARRAYS, _SUMS = "model.json", "arrays.npz", "SHA256SUMS"
_MEMBERS = (_JSON, _ARRAYS, _SUMS)
_KINDS: dict[str, type] = {"RNNForecaster": RNNForecaster, "RNNRegressor": RNNRegressor}
# A fixed timestamp makes the archive depend on the model only.
_DATE = (1980, 1, 1, 0, 0, 0)
_SUM_LINE = re.compile(r"([0-9a-f]{64})  (\S+)")
_TAG = "__tsrnn__"
# What zipfile and zlib raise on a damaged archive (RuntimeError: one that asks for a password).
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)


def save(model: RNNForecaster | RNNRegressor, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to a model file at ``path`` (what ``model.save(path)`` does).

    Parameters
    ----------
    model : RNNForecaster or RNNRegressor
        Fitted or not.
    path : str or path-like
        Where to write; an existing file is replaced once the new one is complete.

    Raises
    ------
    TypeError
        If ``model`` is not one of the estimators (subclasses included, which would load as
        their base class), or a parameter has a type the format cannot store.
    ValueError
        If the fitted state holds something the format cannot store exactly.
    """
    kind = type(model).__name__
    if _KINDS.get(kind) is not type(model):
        raise TypeError(f"save writes {' and '.join(_KINDS)} models; got a {type(model).__qualname__}")
    arrays: dict[str, np.ndarray] = {}
    params = {name: _encode_param(name, value, arrays) for name, value in model.get_params(deep=False).items()}
    state: StateWriter | None = model._fitted_state()
    if state is not None:
        arrays.update({f"fitted.{name}": array for name, array in state.arrays.items()})
    document = {
        "format": _FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": {"tsrnn": __version__, "numpy": np.__version__, "pandas": pd.__version__},
        "estimator": kind,
        "params": params,
        "fitted": None if state is None else state.meta,
        "arrays": {name: {"shape": list(a.shape), "dtype": a.dtype.str} for name, a in sorted(arrays.items())},
    }
    text = json.dumps(document, indent=1, sort_keys=True, allow_nan=False).encode()
    npz = _npz_bytes(arrays)
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in ((_JSON, text), (_ARRAYS, npz)))
    path = os.fspath(path)
    temporary = f"{path}.{secrets.token_hex(4)}.tmp"
    try:
        with zipfile.ZipFile(temporary, "x", zipfile.ZIP_DEFLATED) as archive:
            for name, data in ((_JSON, text), (_ARRAYS, npz), (_SUMS, sums.encode())):
                archive.writestr(_member(name, zipfile.ZIP_DEFLATED), data)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def load(path: str | os.PathLike[str]) -> RNNForecaster | RNNRegressor:
    """Read a model written by ``model.save(path)``, checking everything in the file.

    Safe for files from elsewhere, unlike ``pickle.load``: the file holds only arrays, read
    with ``allow_pickle=False``, and JSON, and nothing in it is run. The format version, the
    sha256 checksums, every parameter and every array's shape and dtype are checked, so a
    damaged, truncated or altered file raises :class:`ModelFileError` rather than giving a
    different model. No GPU is needed: a model trained with ``device="cuda"`` predicts on
    the CPU where CUDA cannot run.

    Parameters
    ----------
    path : str or path-like
        A file written by :meth:`RNNForecaster.save` or :meth:`RNNRegressor.save`.

    Returns
    -------
    RNNForecaster or RNNRegressor
        The model, which predicts bit for bit as the saved one and continues training from
        where it was with ``warm_start=True``.

    Raises
    ------
    TypeError
        If ``path`` is not a path (an int would be read as a file descriptor).
    FileNotFoundError
        If ``path`` does not exist (and other OSErrors of reading it).
    ModelFileError
        A ValueError saying what is wrong: ``path`` is a folder, the file is empty, not a
        model file, truncated or damaged, its checksum does not match, its format version is
        newer than this tsrnn reads, or its contents do not make a valid model (a missing
        array, a wrong shape, an invalid parameter, an unknown estimator).

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> import tsrnn
    >>> y = np.sin(np.arange(60) / 4)
    >>> model = tsrnn.RNNForecaster(window=8, horizon=2, hidden_size=4, max_epochs=2, random_state=0).fit(y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.tsrnn")
    >>> model.save(path)
    >>> np.array_equal(tsrnn.load(path).predict(), model.predict())
    True
    """
    # open() would take an int for a file descriptor (0: stdin) and fail on a folder with a bare OSError.
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path must be a str or path-like (the file model.save wrote); got {type(path).__name__}")
    if os.path.isdir(path):
        raise ModelFileError(
            f"cannot load {os.fspath(path)}: it is a folder, not a model file; pass the path of a file model.save wrote"
        )
    with open(path, "rb") as file:
        data = file.read()
    try:
        return _load(data)
    except ModelFileError as error:
        error.args = (f"cannot load {os.fspath(path)}: {error}",)
        raise


# ------------------------------------------------------------------------------- writing


def _member(name: str, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    return info


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Return the arrays as an ``.npz`` (one ``.npy`` member each), with fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, arrays[name], allow_pickle=False)
            archive.writestr(_member(f"{name}.npy", zipfile.ZIP_STORED), member.getvalue())
    return buffer.getvalue()


def _encode_param(name: str, value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Return a parameter as JSON; numpy dtypes, tuples and RandomState instances as tagged objects."""
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
        return {_TAG: "tuple", "items": [_encode_param(name, v, arrays) for v in value]}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {_TAG: "dtype", "name": np.dtype(value).name, "form": "dtype" if isinstance(value, np.dtype) else "type"}
    if isinstance(value, np.random.RandomState):
        kind, key, pos, has_gauss, cached_gaussian = value.get_state(legacy=True)
        arrays[f"params.{name}.key"] = np.ascontiguousarray(key, dtype=np.uint32)
        return {_TAG: "RandomState", "pos": int(pos), "has_gauss": int(has_gauss),
                "cached_gaussian": float(cached_gaussian)}  # fmt: skip
    raise TypeError(
        f"cannot save the parameter `{name}`: a {type(value).__name__} is not storable; use an int, float, str, "
        "list, tuple, numpy dtype or RandomState"
    )


# ------------------------------------------------------------------------------- reading


def _load(data: bytes) -> RNNForecaster | RNNRegressor:
    members = _members(data)
    try:
        document = _parse_json(members[_JSON])
    except ModelFileError:
        document = None
    # A newer format may check itself differently: say so before checking the sums this version knows.
    if isinstance(document, dict):
        _check_format(document)
    _check_sums(members)
    if document is None:
        document = _parse_json(members[_JSON])
    if not isinstance(document, dict):
        raise ModelFileError(f"{_JSON} must hold a JSON object; got a {type(document).__name__}")
    _check_format(document)
    for key in ("versions", "estimator", "params", "fitted", "arrays"):
        if key not in document:
            raise ModelFileError(f"{_JSON} lacks the field {key!r}")
    versions = document["versions"]
    if not isinstance(versions, dict) or not all(isinstance(versions.get(k), str) for k in ("tsrnn", "numpy")):
        raise ModelFileError(f"{_JSON} field 'versions' must map 'tsrnn' and 'numpy' to version strings")
    kind = document["estimator"]
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ModelFileError(f"estimator kind {kind!r} unknown: this tsrnn loads {' and '.join(_KINDS)}")
    arrays = _arrays(members[_ARRAYS], document["arrays"])
    model = _build(_KINDS[kind], document["params"], arrays)
    fitted = {name.removeprefix("fitted."): a for name, a in arrays.items() if name.startswith("fitted.")}
    unused = sorted(name for name in arrays if not name.startswith("fitted."))
    if document["fitted"] is None:
        unused = sorted(arrays)
    else:
        state = StateReader(document["fitted"], fitted, "fitted state", prefix="fitted.")
        try:
            model._restore_fitted_state(state)
        except ModelFileError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
            raise ModelFileError(f"the fitted state is invalid: {error}") from error
        unused += [f"fitted.{name}" for name in state.unused_arrays()]
    if unused:
        fitted_or_not = "a fitted" if document["fitted"] is not None else "an unfitted"
        raise ModelFileError(f"array {unused[0]!r} is not part of {fitted_or_not} {kind}")
    return model


def _members(data: bytes) -> dict[str, bytes]:
    """Return the three members of the archive, read with their CRC-32 checked."""
    if not data:
        raise ModelFileError("the file is empty")
    if not data.startswith(b"PK"):
        raise ModelFileError("not a tsrnn model file: it is not a zip archive (model.save writes one)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except _READ_ERRORS as error:
        raise ModelFileError(f"the file is truncated or damaged: its zip archive cannot be read ({error})") from error
    if sorted(names) != sorted(_MEMBERS):
        listed = ", ".join(map(repr, names[:5])) + (", ..." if len(names) > 5 else "") if names else "nothing"
        wanted = f"{_JSON}, {_ARRAYS} and {_SUMS}"
        if _JSON not in names:
            raise ModelFileError(f"not a tsrnn model file: its zip archive holds {listed}, not {wanted}")
        raise ModelFileError(f"the file is damaged or was altered: its zip archive holds {listed}, not {wanted}")
    members = {}
    for name in _MEMBERS:
        try:
            members[name] = archive.read(name)
        except _READ_ERRORS as error:
            raise ModelFileError(
                f"the file is damaged or was altered: {name} fails the zip archive's CRC-32 check or cannot be "
                f"decompressed ({error})"
            ) from error
    return members


def _parse_json(text: bytes) -> Any:
    def no_constant(name: str) -> None:
        raise ValueError(f"{name} is not a number a model file holds")

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"a key appears twice among {keys}")
        return dict(pairs)

    try:
        return json.loads(text.decode("utf-8"), parse_constant=no_constant, object_pairs_hook=unique)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ModelFileError(f"{_JSON} is not valid JSON ({error})") from error


def _check_format(document: dict[str, Any]) -> None:
    if document.get("format") != _FORMAT:
        raise ModelFileError(f'not a tsrnn model file: {_JSON} does not say "format": "{_FORMAT}"')
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{_JSON} field 'format_version' must be an int >= 1; got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"unknown format version {version}: this tsrnn ({__version__}) reads format versions up to "
            f"{FORMAT_VERSION}; upgrade tsrnn to load this file"
        )


def _check_sums(members: dict[str, bytes]) -> None:
    try:
        lines = members[_SUMS].decode("ascii").splitlines()
    except UnicodeDecodeError:
        lines = []
    recorded = {match.group(2): match.group(1) for match in map(_SUM_LINE.fullmatch, lines) if match}
    if len(lines) != 2 or sorted(recorded) != sorted((_JSON, _ARRAYS)):
        raise ModelFileError(
            f"the file is damaged or was altered: {_SUMS} does not list the sha256 of {_JSON} and {_ARRAYS}"
        )
    for name in (_JSON, _ARRAYS):
        if hashlib.sha256(members[name]).hexdigest() != recorded[name]:
            raise ModelFileError(
                f"checksum mismatch: the sha256 of {name} is not the one {_SUMS} records; the file is damaged or was "
                "altered"
            )


def _arrays(npz: bytes, manifest: Any) -> dict[str, np.ndarray]:
    """Read every array of the ``.npz``, checking each against the shapes and dtypes ``model.json`` lists."""
    if not isinstance(manifest, dict):
        raise ModelFileError(f"{_JSON} field 'arrays' must be a JSON object; got {type(manifest).__name__}")
    for name, entry in manifest.items():
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not (
            isinstance(shape, list)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
            and isinstance(entry.get("dtype"), str)
        ):
            raise ModelFileError(f"{_JSON} must give array {name!r} a 'shape' (a list of ints) and a 'dtype'")
    try:
        file = np.load(io.BytesIO(npz), allow_pickle=False)
        stored = list(file.files)
    except _READ_ERRORS as error:
        raise ModelFileError(f"{_ARRAYS} is not a readable .npz ({error})") from error
    for name in stored:
        if name not in manifest:
            raise ModelFileError(f"array {name!r} of {_ARRAYS} is not listed in {_JSON}")
    arrays = {}
    for name, entry in manifest.items():
        if name not in stored:
            raise ModelFileError(f"missing array {name!r}")
        try:
            array = file[name]
        except _READ_ERRORS as error:
            raise ModelFileError(f"array {name!r} cannot be read as an array of numbers ({error})") from error
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            raise ModelFileError(f"array {name!r} is not an array of numbers")
        if array.dtype.str != entry["dtype"]:
            raise ModelFileError(
                f"array {name!r} has dtype {array.dtype.str}, expected {entry['dtype']} (as {_JSON} records)"
            )
        if list(array.shape) != entry["shape"]:
            raise ModelFileError(
                f"array {name!r} has shape {array.shape}, expected {tuple(entry['shape'])} (as {_JSON} records)"
            )
        arrays[name] = array
    return arrays


def _build(cls: type, params: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Construct ``cls`` from the stored parameters, checked as ``fit`` would check them."""
    if not isinstance(params, dict):
        raise ModelFileError(f"parameter invalid: {_JSON} field 'params' must be a JSON object")
    expected = cls._get_param_names()
    for name in params:
        if name not in expected:
            raise ModelFileError(f"parameter invalid: {cls.__name__} has no parameter `{name}`")
    for name in expected:
        if name not in params:
            raise ModelFileError(f"parameter invalid: `{name}` is missing")
    values = {name: _decode_param(name, value, arrays) for name, value in params.items()}
    try:
        validate_params(values, cls._parameter_constraints)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"parameter invalid: {error}") from error
    return cls(**values)


def _decode_param(name: str, value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, list):
        return [_decode_param(name, v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag == "tuple" and isinstance(value.get("items"), list):
        return tuple(_decode_param(name, v, arrays) for v in value["items"])
    if tag == "dtype" and value.get("name") in ("float32", "float64") and value.get("form") in ("dtype", "type"):
        dtype = np.dtype(value["name"])
        return dtype if value["form"] == "dtype" else dtype.type
    if tag == "RandomState":
        key = arrays.pop(f"params.{name}.key", None)
        if key is None:
            raise ModelFileError(f"missing array 'params.{name}.key'")
        state = np.random.RandomState()
        try:
            if key.dtype != np.uint32 or key.shape != (624,):
                raise ValueError(f"its key has dtype {key.dtype} and shape {key.shape}, not uint32 (624,)")
            pos, has_gauss, cached = value["pos"], value["has_gauss"], value["cached_gaussian"]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (pos, has_gauss)):
                raise TypeError("'pos' and 'has_gauss' must be ints")
            if not isinstance(cached, (int, float)) or isinstance(cached, bool):
                raise TypeError("'cached_gaussian' must be a number")
            state.set_state(("MT19937", key, pos, has_gauss, float(cached)))
        except (KeyError, TypeError, ValueError, OverflowError) as error:
            raise ModelFileError(f"parameter invalid: `{name}` is not a valid RandomState ({error})") from error
        return state
    raise ModelFileError(f"parameter invalid: `{name}` holds an object the format does not know: {value!r}"[:300])
