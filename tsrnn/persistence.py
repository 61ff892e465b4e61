"""Model files: ``model.save(path)`` writes one, :func:`load` reads it back, checked, running no code.

A pickle of a model is a program: unpickling a file runs whatever it says, so a pickle from
elsewhere is as dangerous as a script from elsewhere. A model file holds only numbers and
text: :func:`load` reads arrays with ``allow_pickle=False`` and JSON, checks them all, and
builds the estimator from them.

The format (version 1) is a zip archive of three members:

``model.json``
    ``format`` ("tsrnn-model"), ``format_version``, ``versions`` (tsrnn, numpy, pandas that
    wrote it), ``estimator`` ("RNNForecaster", "RNNRegressor" or "RNNClassifier"), ``params`` (``get_params``;
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

The checksums catch accidental damage, a file damaged or truncated on a disk or on its way;
they do not authenticate it. Anyone who edits a file can recompute them, and signing is not
part of the format. What :func:`load` guarantees against a crafted file is that no code runs
and that every value is checked (shapes, dtypes, sizes, types, and the parameters against the
fitted state), so that such a file can only give a model that predicts whatever its checked
weights say; and that its sizes are bounded before anything is decompressed or allocated:
:data:`MAX_FILE_SIZE` for the file, :data:`MAX_JSON_SIZE` (16 MiB) for ``model.json``,
:data:`MAX_SUMS_SIZE` for ``SHA256SUMS`` and :data:`MAX_ARRAYS_SIZE` (4 GiB) for
``arrays.npz``, as the zip archive declares them; members are stored or deflated, the arrays
inside ``arrays.npz`` stored uncompressed, each ``.npy`` header accounting for exactly the
bytes that follow it. ``model.save`` writes such files only, and refuses a model beyond the
limits.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import stat
import zipfile
import zlib
from typing import Any

import numpy as np

from tsrnn import __version__
from tsrnn._modelfile import (
    ARRAYS,
    FORMAT,
    FORMAT_VERSION,
    JSON,
    MAX_ARRAYS_SIZE,
    MAX_FILE_SIZE,
    MAX_JSON_SIZE,
    MAX_SUMS_SIZE,
    MEMBERS,
    SUMS,
    TAG,
    save,
)
from tsrnn._params import validate_params
from tsrnn._state import ModelFileError, StateReader
from tsrnn.classifier import RNNClassifier
from tsrnn.forecaster import RNNForecaster
from tsrnn.regressor import RNNRegressor

__all__ = [
    "FORMAT_VERSION",
    "MAX_ARRAYS_SIZE",
    "MAX_FILE_SIZE",
    "MAX_JSON_SIZE",
    "MAX_SUMS_SIZE",
    "ModelFileError",
    "load",
    "save",
]

_KINDS: dict[str, type] = {"RNNForecaster": RNNForecaster, "RNNRegressor": RNNRegressor, "RNNClassifier": RNNClassifier}
_SUM_LINE = re.compile(r"([0-9a-f]{64})  (\S+)")
# What zipfile and zlib raise on a damaged archive: BadZipFile, zlib.error, EOFError, OSError and
# ValueError for broken bytes, NotImplementedError for a member flagged as strongly encrypted or
# patched (zipfile reads neither), RuntimeError for one that asks for a password.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)
# How the members of a model file may be compressed: as model.save writes them.
_COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}


def load(path: str | os.PathLike[str]) -> RNNForecaster | RNNRegressor | RNNClassifier:
    """Read a model written by ``model.save(path)``, checking everything in the file.

    Unlike ``pickle.load``, it runs nothing from the file: the file holds only arrays, read
    with ``allow_pickle=False``, and JSON. The format version, the sha256 checksums, every
    parameter, every array's shape, dtype and size, and the agreement of the parameters with
    the fitted state are checked, and sizes are bounded before anything is decompressed or
    allocated (:data:`MAX_FILE_SIZE`), so a damaged or truncated file raises
    :class:`ModelFileError` rather than giving a different model.

    The file is not authenticated: the checksums catch accidental damage, but whoever edits
    a file can recompute them, and signing is not part of the format. Against a crafted file,
    ``load`` guarantees that no code runs and that every value is checked (shapes, dtypes,
    sizes, types): such a file can only give a model that predicts whatever its checked
    weights say. Trust a model as far as you trust where it came from.

    No GPU is needed: a model trained with ``device="cuda"`` predicts on the CPU where CUDA
    cannot run.

    Parameters
    ----------
    path : str or path-like
        A file written by the ``save`` method of an estimator (:meth:`RNNForecaster.save`, ...).

    Returns
    -------
    RNNForecaster, RNNRegressor or RNNClassifier
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
        newer than this tsrnn reads, it is larger than the limits, or its contents do not
        make a valid model (a missing array, a wrong shape, an invalid parameter, parameters
        that do not describe the fitted state, an unknown estimator), or the memory that is
        free does not hold its arrays.

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
    try:
        with open(path, "rb") as file:
            data = _read_file(file)
        return _load(data)
    except ModelFileError as error:
        error.args = (f"cannot load {os.fspath(path)}: {error}",)
        raise
    except MemoryError as error:
        # The sizes are checked against the file before anything is allocated: this is a file near the limits.
        raise ModelFileError(
            f"cannot load {os.fspath(path)}: its arrays do not fit in the memory that is free"
        ) from error


def _read_file(file: Any) -> bytes:
    """Return the bytes of an open file, refusing one larger than a model file may be."""
    too_large = f"the file is larger than the {MAX_FILE_SIZE} bytes a model file may have"
    status = os.fstat(file.fileno())
    if status.st_size > MAX_FILE_SIZE:
        raise ModelFileError(too_large)
    if stat.S_ISREG(status.st_mode):
        # One byte more than its size: a file that grew meanwhile is not cut short unnoticed.
        data = file.read(status.st_size + 1)
    else:
        # A device or a pipe has no size to check first: read in chunks, no further than the limit
        # (read(n) sets aside n bytes at once).
        chunks, total = [], 0
        while total <= MAX_FILE_SIZE and (chunk := file.read(min(2**20, MAX_FILE_SIZE + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
        data = b"".join(chunks)
    if len(data) > MAX_FILE_SIZE:
        raise ModelFileError(too_large)
    return data


def _load(data: bytes) -> RNNForecaster | RNNRegressor | RNNClassifier:
    members = _members(data)
    try:
        document = _parse_json(members[JSON])
    except ModelFileError:
        document = None
    # A newer format may check itself differently: say so before checking the sums this version knows.
    if isinstance(document, dict):
        _check_format(document)
    _check_sums(members)
    if document is None:
        document = _parse_json(members[JSON])
    if not isinstance(document, dict):
        raise ModelFileError(f"{JSON} must hold a JSON object; got a {type(document).__name__}")
    _check_format(document)
    for key in ("versions", "estimator", "params", "fitted", "arrays"):
        if key not in document:
            raise ModelFileError(f"{JSON} lacks the field {key!r}")
    versions = document["versions"]
    if not isinstance(versions, dict) or not all(isinstance(versions.get(k), str) for k in ("tsrnn", "numpy")):
        raise ModelFileError(f"{JSON} field 'versions' must map 'tsrnn' and 'numpy' to version strings")
    kind = document["estimator"]
    if not isinstance(kind, str) or kind not in _KINDS:
        *others, last = _KINDS
        raise ModelFileError(f"estimator kind {kind!r} unknown: this tsrnn loads {', '.join(others)} and {last}")
    arrays = _arrays(members[ARRAYS], document["arrays"])
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
    """Return the three members of the archive, read with their CRC-32 checked and their sizes bounded."""
    if not data:
        raise ModelFileError("the file is empty")
    if not data.startswith(b"PK"):
        raise ModelFileError("not a tsrnn model file: it is not a zip archive (model.save writes one)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except _READ_ERRORS as error:
        raise ModelFileError(f"the file is truncated or damaged: its zip archive cannot be read ({error})") from error
    if sorted(names) != sorted(MEMBERS):
        listed = ", ".join(map(repr, names[:5])) + (", ..." if len(names) > 5 else "") if names else "nothing"
        wanted = f"{JSON}, {ARRAYS} and {SUMS}"
        if JSON not in names:
            raise ModelFileError(f"not a tsrnn model file: its zip archive holds {listed}, not {wanted}")
        raise ModelFileError(f"the file is damaged or truncated: its zip archive holds {listed}, not {wanted}")
    limits = {JSON: MAX_JSON_SIZE, ARRAYS: MAX_ARRAYS_SIZE, SUMS: MAX_SUMS_SIZE}
    members = {}
    for name in MEMBERS:
        info = archive.getinfo(name)
        # zipfile ends a member's output at the size the archive declares: bounding that bounds decompression.
        if info.file_size > limits[name]:
            raise ModelFileError(
                f"{name} declares {info.file_size} bytes uncompressed, more than the {limits[name]} a model file's "
                f"{name} may hold; model.save does not write such files"
            )
        if info.compress_type not in _COMPRESSIONS:
            raise ModelFileError(
                f"{name} is compressed with zip method {info.compress_type}; model files are stored or deflated "
                "(methods 0 and 8), as model.save writes them"
            )
        members[name] = _read_member(archive, info, f"the file is damaged or truncated: {name}")
    return members


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> bytes:
    """Read a member of ``archive``: at most its declared size, which it must have, with its CRC-32 checked.

    ``what`` starts the message of a failure ("the file is damaged: model.json").
    """
    if info.file_size == 0:
        return b""
    try:
        with archive.open(info) as member:
            # A bounded read: read() would decompress up to 2 GiB at a time before cutting to the declared size.
            data = member.read(info.file_size)
    except _READ_ERRORS as error:
        raise ModelFileError(
            f"{what} fails the zip archive's CRC-32 check or cannot be decompressed ({error})"
        ) from error
    if len(data) != info.file_size:
        raise ModelFileError(f"{what} holds {len(data)} bytes, not the {info.file_size} its zip archive declares")
    return data


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
        raise ModelFileError(f"{JSON} is not valid JSON ({error})") from error


def _check_format(document: dict[str, Any]) -> None:
    if document.get("format") != FORMAT:
        raise ModelFileError(f'not a tsrnn model file: {JSON} does not say "format": "{FORMAT}"')
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{JSON} field 'format_version' must be an int >= 1; got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"unknown format version {version}: this tsrnn ({__version__}) reads format versions up to "
            f"{FORMAT_VERSION}; upgrade tsrnn to load this file"
        )


def _check_sums(members: dict[str, bytes]) -> None:
    try:
        lines = members[SUMS].decode("ascii").splitlines()
    except UnicodeDecodeError:
        lines = []
    recorded = {match.group(2): match.group(1) for match in map(_SUM_LINE.fullmatch, lines) if match}
    if len(lines) != 2 or sorted(recorded) != sorted((JSON, ARRAYS)):
        raise ModelFileError(
            f"the file is damaged or truncated: {SUMS} does not list the sha256 of {JSON} and {ARRAYS}"
        )
    for name in (JSON, ARRAYS):
        if hashlib.sha256(members[name]).hexdigest() != recorded[name]:
            raise ModelFileError(
                f"checksum mismatch: the sha256 of {name} is not the one {SUMS} records; the file is damaged or "
                "truncated"
            )


def _arrays(npz: bytes, manifest: Any) -> dict[str, np.ndarray]:
    """Read every array of the ``.npz``, checking each against the shapes and dtypes ``model.json`` lists."""
    if not isinstance(manifest, dict):
        raise ModelFileError(f"{JSON} field 'arrays' must be a JSON object; got {type(manifest).__name__}")
    for name, entry in manifest.items():
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not (
            isinstance(shape, list)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
            and isinstance(entry.get("dtype"), str)
        ):
            raise ModelFileError(f"{JSON} must give array {name!r} a 'shape' (a list of ints) and a 'dtype'")
    try:
        archive = zipfile.ZipFile(io.BytesIO(npz))
        infos = archive.infolist()
    except _READ_ERRORS as error:
        raise ModelFileError(f"{ARRAYS} is not a readable .npz ({error})") from error
    stored: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename.removesuffix(".npy")
        if name == info.filename:
            raise ModelFileError(f"{ARRAYS} holds {info.filename!r}, which is not a .npy array")
        if name in stored:
            raise ModelFileError(f"{ARRAYS} holds {info.filename!r} twice")
        if name not in manifest:
            raise ModelFileError(f"array {name!r} of {ARRAYS} is not listed in {JSON}")
        stored[name] = info
    arrays = {}
    for name, entry in manifest.items():
        if name not in stored:
            raise ModelFileError(f"missing array {name!r}")
        array = _array(archive, stored[name], name, len(npz))
        if array.dtype.str != entry["dtype"]:
            raise ModelFileError(
                f"array {name!r} has dtype {array.dtype.str}, expected {entry['dtype']} (as {JSON} records)"
            )
        if list(array.shape) != entry["shape"]:
            raise ModelFileError(
                f"array {name!r} has shape {array.shape}, expected {tuple(entry['shape'])} (as {JSON} records)"
            )
        arrays[name] = array
    return arrays


def _array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, npz_size: int) -> np.ndarray:
    """Read one ``.npy`` member of the ``.npz``, after checking that its header describes what it holds.

    The member must be stored uncompressed (as model.save writes it), so that its declared size
    is bounded by the ``.npz``; and the shape and dtype of its header must account for exactly
    that size, so that no array larger than the file is allocated.
    """
    if info.compress_type != zipfile.ZIP_STORED:
        raise ModelFileError(
            f"array {name!r} is compressed inside {ARRAYS}; model files store their arrays uncompressed, as "
            "model.save writes them"
        )
    if info.compress_size != info.file_size or info.file_size > npz_size:
        raise ModelFileError(
            f"array {name!r} declares {info.file_size} bytes, stored in {info.compress_size}, in an {ARRAYS} of "
            f"{npz_size}; the file is damaged or truncated"
        )
    data = _read_member(archive, info, f"array {name!r} of {ARRAYS}")
    header = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(header)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(header)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(header)
        else:
            raise ValueError(f"the .npy format version {version[0]}.{version[1]} is not one model.save writes")
    except ValueError as error:
        raise ModelFileError(f"array {name!r} cannot be read as an array of numbers ({error})") from error
    if dtype.kind not in "biuf" or dtype.hasobject or dtype.subdtype is not None:
        raise ModelFileError(f"array {name!r} is not an array of numbers (its dtype is {dtype})")
    # Python ints: a product of huge dimensions does not wrap around.
    declared, held = math.prod(shape) * dtype.itemsize, len(data) - header.tell()
    if declared != held:
        raise ModelFileError(
            f"array {name!r} declares shape {shape} of {dtype}, {declared} bytes, but {ARRAYS} holds {held} bytes "
            "of it; the file is damaged or truncated"
        )
    try:
        return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except _READ_ERRORS as error:
        raise ModelFileError(f"array {name!r} cannot be read as an array of numbers ({error})") from error


def _build(cls: type, params: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Construct ``cls`` from the stored parameters, checked as ``fit`` would check them."""
    if not isinstance(params, dict):
        raise ModelFileError(f"parameter invalid: {JSON} field 'params' must be a JSON object")
    expected = cls._get_param_names()
    for name in params:
        if name not in expected:
            raise ModelFileError(f"parameter invalid: {cls.__name__} has no parameter `{name}`")
    for name in expected:
        if name not in params:
            raise ModelFileError(f"parameter invalid: `{name}` is missing")
    values = {name: _decode_param(name, value, arrays) for name, value in params.items()}
    try:
        validate_params(values, cls._accepted_values)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"parameter invalid: {error}") from error
    return cls(**values)


def _decode_param(name: str, value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, list):
        return [_decode_param(name, v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag == "tuple" and isinstance(value.get("items"), list):
        return tuple(_decode_param(name, v, arrays) for v in value["items"])
    if tag == "dict" and isinstance(value.get("items"), list):
        pairs = [_decode_param(name, pair, arrays) for pair in value["items"]]
        if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], (bool, int, float, str)) for p in pairs):
            raise ModelFileError(f"parameter invalid: `{name}` holds a dict whose items are not [key, value] pairs")
        return dict(pairs)
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
