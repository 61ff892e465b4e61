"""Fitted state as plain data: numpy arrays plus JSON-able values, with checked reading back.

An estimator describes what it has learnt by writing into a :class:`StateWriter` (names to
JSON values and names to arrays) and rebuilds itself from a :class:`StateReader`, whose
getters check every value's type, range, shape and dtype and raise :class:`ModelFileError`
naming what is wrong. Pandas indexes, time axes, networks, optimisers and random generators
have codecs here, so that no object needs pickling. :mod:`tsrnn._modelfile` writes the result
to a file, and :mod:`tsrnn.persistence` reads it back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from tsrnn._timeindex import TimeAxis
from tsrnn.kernels._cells import CELLS
from tsrnn.network import DirectNetworks, RecurrentNetwork, Seq2SeqNetwork
from tsrnn.optim import SGD, Adam
from tsrnn.preprocessing import Scaler
from tsrnn.training import History

__all__ = ["ModelFileError", "StateReader", "StateWriter"]

_DATETIME_DTYPE = re.compile(r"datetime64\[(s|ms|us|ns)(, .+)?\]")
_PERIOD_DTYPE = re.compile(r"period\[[^\]]+\]")


class ModelFileError(ValueError):
    """A file that :func:`tsrnn.load` cannot read as a model: its message says what is wrong.

    Raised for a file that is not a tsrnn model file, is truncated or damaged (its checksum
    does not match), comes from a newer file format, is larger than the format's limits, or
    holds values that do not make a valid model. The checksums do not authenticate a file:
    one edited with its checksums recomputed is checked value by value instead.
    """


def _is_json_value(value: Any) -> bool:
    if value is None or isinstance(value, (bool, str)):
        return True
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_is_json_value(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_value(v) for k, v in value.items())
    return False


def _native(array: np.ndarray) -> np.ndarray:
    """Return a C-contiguous copy in native byte order, as the file format stores arrays."""
    array = np.asarray(array)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))


class StateWriter:
    """Collects a fitted object's state: JSON values in :attr:`meta`, arrays in :attr:`arrays`.

    Structured values (an index, a network, ...) put their JSON part under their name and
    their arrays under ``"<name>.<part>"``.
    """

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}
        self.arrays: dict[str, np.ndarray] = {}

    def nest(self, name: str, state: StateWriter) -> None:
        """Store another object's whole state under ``name`` (its arrays under ``"<name>.<array>"``)."""
        self.meta[name] = state.meta
        self.arrays.update({f"{name}.{key}": array for key, array in state.arrays.items()})

    def put(self, name: str, value: Any) -> None:
        """Store a JSON value (None, bool, int, finite float, str, or lists and str-keyed dicts of them)."""
        if isinstance(value, np.generic):
            value = value.item()
        if not _is_json_value(value):
            raise TypeError(f"cannot store {name!r}: {value!r} of type {type(value).__name__} is not a JSON value")
        self.meta[name] = [*value] if isinstance(value, tuple) else value

    def array(self, name: str, value: np.ndarray | None) -> None:
        """Store an array of numbers (None is stored as a JSON null)."""
        if value is None:
            self.meta[name] = None
            return
        value = _native(value)
        if value.dtype.kind not in "biuf":
            raise TypeError(f"cannot store {name!r}: arrays of dtype {value.dtype} are not supported")
        self.arrays[name] = value
        self.meta[name] = "array"

    def index(self, name: str, index: pd.Index) -> None:
        """Store a RangeIndex, integer Index, DatetimeIndex (freq, tz and unit) or PeriodIndex."""
        label = index.name
        if not _is_label_name(label):
            raise ValueError(f"cannot save an index named {label!r}: index names must be str, int, float or None")
        if isinstance(index, pd.RangeIndex):
            self.meta[name] = {"type": "range", "start": index.start, "stop": index.stop, "step": index.step}
        elif isinstance(index, pd.DatetimeIndex):
            self.meta[name] = {"type": "datetime", "dtype": str(index.dtype), "freq": _freq_name(index.freq)}
            self.arrays[f"{name}.values"] = _native(index.asi8)
        elif isinstance(index, pd.PeriodIndex):
            self.meta[name] = {"type": "period", "dtype": str(index.dtype)}
            self.arrays[f"{name}.values"] = _native(index.asi8)
        elif isinstance(index.dtype, np.dtype) and index.dtype.kind in "iu":
            self.meta[name] = {"type": "integer"}
            self.arrays[f"{name}.values"] = _native(index.to_numpy())
        else:
            raise ValueError(f"cannot save an index of type {type(index).__name__} with dtype {index.dtype}")
        self.meta[name]["name"] = label

    def label(self, name: str, value: Any) -> None:
        """Store one time label: an int, a Timestamp or a Period."""
        if isinstance(value, pd.Timestamp):
            # pandas 2 would make a lone Timestamp nanoseconds whatever its resolution.
            stamp = pd.DatetimeIndex([value]).as_unit(value.unit)
            self.meta[name] = {"type": "timestamp", "dtype": str(stamp.dtype), "value": int(stamp.asi8[0])}
        elif isinstance(value, pd.Period):
            self.meta[name] = {"type": "period", "dtype": str(pd.PeriodIndex([value]).dtype), "value": value.ordinal}
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            self.meta[name] = {"type": "int", "value": int(value)}
        else:
            raise ValueError(f"cannot save the time label {value!r} of type {type(value).__name__}")

    def time_axis(self, name: str, axis: TimeAxis) -> None:
        """Store a :class:`TimeAxis`."""
        self.put(name, {"kind": axis.kind, "freq": _freq_name(axis.freq), "step": int(axis.step)})
        self.label(f"{name}.last", axis.last)

    def scaler(self, name: str, scaler: Scaler | None) -> None:
        """Store a fitted :class:`Scaler` (or None)."""
        if scaler is None:
            self.meta[name] = None
            return
        self.put(name, {"kind": scaler.kind})
        self.array(f"{name}.offset", scaler.offset)
        self.array(f"{name}.scale", scaler.scale)

    def network(self, name: str, network: Any) -> None:
        """Store a RecurrentNetwork, DirectNetworks or Seq2SeqNetwork: its configuration and its weights."""
        if isinstance(network, Seq2SeqNetwork):
            encoder, decoder = network.encoder, network.decoder
            config = {"type": "seq2seq", "input_size": encoder.input_size, "decoder_input_size": decoder.input_size,
                      "output_size": decoder.output_size, **_options(encoder)}  # fmt: skip
        elif isinstance(network, DirectNetworks):
            first = next(iter(network.parts.values()))
            config = {"type": "direct", "steps": len(network.parts), "input_size": first.input_size,
                      "output_size": first.output_size, "bidirectional": first.bidirectional,
                      **_options(first)}  # fmt: skip
        elif isinstance(network, RecurrentNetwork):
            config = {"type": "recurrent", "input_size": network.input_size, "output_size": network.output_size,
                      "bidirectional": network.bidirectional, **_options(network)}  # fmt: skip
        else:
            raise TypeError(f"cannot save a network of type {type(network).__name__}")
        self.put(name, config)
        self.array(f"{name}.params", network.params)

    def optimizer(self, name: str, optimizer: Adam | SGD) -> None:
        """Store an optimiser's :meth:`~tsrnn.optim.Adam.state_dict`: hyperparameters, step count and moments."""
        state = optimizer.state_dict()
        moments = {key: state.pop(key) for key in ("exp_avg", "exp_avg_sq", "momentum_buffer") if key in state}
        self.put(name, state)
        for key, value in moments.items():
            self.array(f"{name}.{key}", value)

    def generator(self, name: str, rng: np.random.Generator) -> None:
        """Store a numpy Generator's bit-generator state, so that it continues with the same draws."""
        state = rng.bit_generator.state
        if state.get("bit_generator") != "PCG64":
            raise ValueError(f"cannot save a random generator of type {state.get('bit_generator')!r}; only PCG64")
        self.put(name, state)

    def history(self, name: str, history: History) -> None:
        """Store a training :class:`~tsrnn.training.History`."""
        self.put(name, {"best_epoch": history.best_epoch, "converged": history.converged,
                        "interrupted": history.interrupted})  # fmt: skip
        self.array(f"{name}.loss_curve", np.asarray(history.loss_curve, dtype=np.float64))
        self.array(f"{name}.validation_loss", np.asarray(history.validation_loss, dtype=np.float64))


def _is_label_name(label: Any) -> bool:
    """Whether an index name can be stored as a JSON value that reads back equal."""
    if isinstance(label, float):
        return math.isfinite(label)
    return label is None or isinstance(label, (str, bool, int))


def _freq_name(freq: Any) -> str | None:
    """Name a pandas offset by a string that parses back to an equal offset."""
    if freq is None:
        return None
    name = freq.freqstr
    if to_offset(name) != freq:
        raise ValueError(f"cannot save the frequency {freq!r}: its name {name!r} does not describe it exactly")
    return name


def _options(network: RecurrentNetwork) -> dict[str, Any]:
    return {"hidden_size": network.hidden_size, "cell": network.cell, "num_layers": network.num_layers,
            "activation": network.activation, "dropout": network.dropout, "init": network.init,
            "dtype": network.dtype.name, "n_series": network.n_series,
            "embedding_size": network.embedding_size}  # fmt: skip


def _recurrent_size(config: Mapping[str, Any], input_size: int, output_size: int, bidirectional: bool) -> int:
    """Count the parameters of a RecurrentNetwork without building it (the layout of its ``_make_layout``).

    In closed form, in Python ints: the configuration comes from a file, and a loop over its
    ``num_layers`` (or a product in fixed-width ints) would let a small file ask for anything.
    """
    hidden, layers, directions = config["hidden_size"], config["num_layers"], 2 if bidirectional else 1
    rows = CELLS[config["cell"]].gates * hidden
    series, embedding = config.get("n_series", 0), config.get("embedding_size", 0)
    # Each layer and direction: weight_ih (rows, inputs), weight_hh (rows, hidden) and two biases (rows,);
    # the first layer reads the input and the series' embedding, the others the layer below (hidden per direction).
    size = series * embedding + directions * rows * (input_size + embedding + hidden + 2)
    size += (layers - 1) * directions * rows * (hidden * directions + hidden + 2)
    if output_size:
        size += output_size * (hidden * directions + 1)
    return size


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class StateReader:
    """Reads what a :class:`StateWriter` stored, checking each value.

    Parameters
    ----------
    meta : dict
        The JSON values by name.
    arrays : mapping of str to ndarray
        The arrays by name.
    where : str
        How messages name the state (``"fitted state"``); a value is named ``"<where> '<name>'"``.
    prefix : str, default=""
        What messages put before the name of an array (where the file keeps it).
    """

    def __init__(self, meta: Any, arrays: Mapping[str, np.ndarray], where: str, prefix: str = "") -> None:
        if not isinstance(meta, dict):
            raise ModelFileError(f"{where} must be a JSON object; got {_describe(meta)}")
        self.meta, self.arrays, self.where, self.prefix = meta, arrays, where, prefix
        self.used: set[str] = set()
        self._nested: dict[str, StateReader] = {}

    def nested(self, name: str) -> StateReader:
        """Return a reader of the state :meth:`StateWriter.nest` stored under ``name``."""
        lead = f"{name}."
        arrays = {key.removeprefix(lead): array for key, array in self.arrays.items() if key.startswith(lead)}
        reader = StateReader(self._get(name), arrays, f"{self.where} {name!r}", prefix=f"{self.prefix}{lead}")
        self._nested[lead] = reader
        return reader

    def inconsistent(self, message: str) -> ModelFileError:
        """Return the error for values that are each valid but do not fit together."""
        return ModelFileError(f"{self.where} is inconsistent: {message}")

    def _error(self, name: str, wanted: str, value: Any) -> ModelFileError:
        return ModelFileError(f"{self.where} {name.replace(':', '.')!r} must be {wanted}; got {_describe(value)}")

    def _get(self, name: str) -> Any:
        key, _, field = name.partition(":")
        if key not in self.meta:
            raise ModelFileError(f"{self.where} lacks {key!r}")
        value = self.meta[key]
        if field:
            if not isinstance(value, dict):
                raise self._error(key, "a JSON object", value)
            if field not in value:
                raise ModelFileError(f"{self.where} {key!r} lacks {field!r}")
            value = value[field]
        return value

    # ------------------------------------------------------------------------ scalars

    def integer(self, name: str, low: int | None = 0, high: int | None = None, none: bool = False) -> int | None:
        """Return an int in ``[low, high]`` (or None when ``none``); ``"key:field"`` reads a field of an object."""
        value = self._get(name)
        if value is None and none:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            bounds = f" >= {low}" if low is not None else ""
            bounds += f" and <= {high}" if high is not None else ""
            raise self._error(name, f"an int{bounds}" + (" or null" if none else ""), value)
        return value

    def real(self, name: str) -> float:
        """Return a finite float (an int is accepted too)."""
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self._error(name, "a finite number", value)
        return float(value)

    def flag(self, name: str, missing: bool | None = None) -> bool:
        """Return True or False; ``missing`` (if not None) where a file from before the flag lacks it."""
        if missing is not None and name not in self.meta:
            return missing
        value = self._get(name)
        if not isinstance(value, bool):
            raise self._error(name, "true or false", value)
        return value

    def text(self, name: str, options: tuple[Any, ...] | None = None, none: bool = False) -> str | None:
        """Return a string, one of ``options`` when given (or None when ``none``)."""
        value = self._get(name)
        if value is None and none:
            return None
        if not isinstance(value, str) or (options is not None and value not in options):
            wanted = "one of " + ", ".join(map(repr, options)) if options is not None else "a string"
            raise self._error(name, wanted + (" or null" if none else ""), value)
        return value

    def strings(self, name: str, options: tuple[str, ...] | None = None, none: bool = False) -> list[str] | None:
        """Return a list of strings (each one of ``options`` when given), or None when ``none``."""
        value = self._get(name)
        if value is None and none:
            return None
        if not isinstance(value, list) or not all(
            isinstance(v, str) and (options is None or v in options) for v in value
        ):
            wanted = "a list of strings" + (f" from {', '.join(map(repr, options))}" if options else "")
            raise self._error(name, wanted + (" or null" if none else ""), value)
        return value

    def integers(self, name: str, low: int = 0) -> list[int]:
        """Return a list of ints >= ``low``."""
        value = self._get(name)
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= low for v in value
        ):
            raise self._error(name, f"a list of ints >= {low}", value)
        return value

    def labels(self, name: str) -> list[Any]:
        """Return a list of class labels of one JSON type: all bools, all ints, all finite floats or all strings."""
        value = self._get(name)
        kinds = {type(v) for v in value} if isinstance(value, list) else set()
        if (
            len(kinds) != 1
            or not kinds <= {bool, int, float, str}
            or (float in kinds and not all(math.isfinite(v) for v in value))
        ):
            raise self._error(name, "a list of labels of one type (booleans, ints, finite floats or strings)", value)
        return value

    def is_null(self, name: str) -> bool:
        """Whether ``name`` holds null (an absent optional value)."""
        return self._get(name) is None

    # ------------------------------------------------------------------------- arrays

    def array(self, name: str, shape: tuple[int | None, ...], dtype: Any, none: bool = False) -> np.ndarray | None:
        """Return the array stored as ``name``, of this shape (None: any length on that axis) and dtype."""
        marker = self._get(name)
        if marker is None and none:
            return None
        if marker != "array":
            raise self._error(name, "an array" + (" or null" if none else ""), marker)
        return self._array(name, shape, dtype)

    def _array(self, name: str, shape: tuple[int | None, ...], dtype: Any) -> np.ndarray:
        if name not in self.arrays:
            raise ModelFileError(f"missing array {self.prefix + name!r}")
        array = self.arrays[name]
        self.used.add(name)
        expected = np.dtype(dtype)
        if array.dtype != expected:
            raise ModelFileError(f"array {self.prefix + name!r} has dtype {array.dtype}, expected {expected}")
        if array.ndim != len(shape) or any(e is not None and s != e for s, e in zip(array.shape, shape, strict=True)):
            wanted = "(" + ", ".join("any" if e is None else str(e) for e in shape) + ("," if len(shape) == 1 else "")
            raise ModelFileError(f"array {self.prefix + name!r} has shape {array.shape}, expected {wanted})")
        # A fitted model holds no NaN or inf anywhere (training stops on them).
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ModelFileError(f"array {self.prefix + name!r} holds NaN or infinite values")
        return array.copy()

    def _integer_array(self, name: str, length: int | None) -> np.ndarray:
        if name not in self.arrays:
            raise ModelFileError(f"missing array {self.prefix + name!r}")
        dtype = self.arrays[name].dtype
        return self._array(name, (length,), dtype if dtype.kind in "iu" else np.int64)

    # ------------------------------------------------------------------------- codecs

    def index(self, name: str, length: int | None = None) -> pd.Index:
        """Return the index stored as ``name``, of ``length`` labels when given."""
        kind = self.text(f"{name}:type", ("range", "integer", "datetime", "period"))
        label = self._get(f"{name}:name")
        if not _is_label_name(label):
            raise self._error(f"{name}:name", "a string, number or null", label)
        try:
            if kind == "range":
                bounds = (self.integer(f"{name}:{key}", None) for key in ("start", "stop", "step"))
                index = pd.RangeIndex(*bounds, name=label)
            elif kind == "integer":
                index = pd.Index(self._integer_array(f"{name}.values", length), name=label)
            elif kind == "datetime":
                dtype = self.text(f"{name}:dtype")
                freq = self.text(f"{name}:freq", none=True)
                index = pd.DatetimeIndex(
                    _datetimes(dtype, self._array(f"{name}.values", (length,), np.int64)), freq=freq, name=label
                )
            else:
                freq = _period_dtype(self.text(f"{name}:dtype")).freq
                ordinals = self._array(f"{name}.values", (length,), np.int64)
                index = pd.PeriodIndex.from_ordinals(ordinals, freq=freq, name=label)
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            if isinstance(error, ModelFileError):
                raise
            raise ModelFileError(f"{self.where} {name!r} is not a valid {kind} index: {error}") from error
        if length is not None and len(index) != length:
            raise ModelFileError(f"{self.where} {name!r} has {len(index)} labels, expected {length}")
        return index

    def label(self, name: str) -> Any:
        """One time label stored by :meth:`StateWriter.label`."""
        kind = self.text(f"{name}:type", ("int", "timestamp", "period"))
        value = self.integer(f"{name}:value", None)
        if kind == "int":
            return value
        try:
            if kind == "timestamp":
                return pd.DatetimeIndex(_datetimes(self.text(f"{name}:dtype"), np.array([value], np.int64)))[0]
            return pd.Period(ordinal=value, freq=_period_dtype(self.text(f"{name}:dtype")).freq)
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            if isinstance(error, ModelFileError):
                raise
            raise ModelFileError(f"{self.where} {name!r} is not a valid {kind}: {error}") from error

    def time_axis(self, name: str) -> TimeAxis:
        """Return the :class:`TimeAxis` stored as ``name``."""
        kind = self.text(f"{name}:kind", ("integer", "datetime", "period"))
        freq_name = self.text(f"{name}:freq", none=kind == "integer")
        step = self.integer(f"{name}:step", 1)
        last = self.label(f"{name}.last")
        wanted = {"integer": int, "datetime": pd.Timestamp, "period": pd.Period}[kind]
        if not isinstance(last, wanted) or isinstance(last, bool):
            raise ModelFileError(f"{self.where} {name!r} is a {kind} axis but its last label is {last!r}")
        try:
            freq = None if freq_name is None else to_offset(freq_name)
        except (TypeError, ValueError) as error:
            raise self._error(f"{name}:freq", "a pandas frequency", freq_name) from error
        return TimeAxis(kind, last, freq=freq, step=step)

    def scaler(self, name: str, columns: int, none: bool = False) -> Scaler | None:
        """Return a fitted :class:`Scaler` of ``columns`` columns (or None when ``none``)."""
        if none and self.is_null(name):
            return None
        scaler = Scaler(self.text(f"{name}:kind", ("standard", "minmax"), none=True))
        scaler.offset = self.array(f"{name}.offset", (columns,), np.float64)
        scaler.scale = self.array(f"{name}.scale", (columns,), np.float64)
        return scaler

    def network(self, name: str) -> Any:
        """Return the network stored as ``name``, with its weights."""
        kind = self.text(f"{name}:type", ("recurrent", "direct", "seq2seq"))
        config = {
            "hidden_size": self.integer(f"{name}:hidden_size", 1),
            "cell": self.text(f"{name}:cell", tuple(CELLS)),
            "num_layers": self.integer(f"{name}:num_layers", 1),
            "activation": self.text(f"{name}:activation", ("tanh", "relu")),
            "dropout": self.real(f"{name}:dropout"),
            "init": self.text(f"{name}:init", ("pytorch", "orthogonal")),
            "dtype": self.text(f"{name}:dtype", ("float32", "float64")),
        }
        stored = self.meta.get(name)
        # Files from before series embeddings have none.
        embedding = {
            key: self.integer(f"{name}:{key}", 0) if isinstance(stored, dict) and key in stored else 0
            for key in ("n_series", "embedding_size")
        }
        input_size = self.integer(f"{name}:input_size", 1)
        if kind == "seq2seq":
            decoder_inputs = self.integer(f"{name}:decoder_input_size", 1)
            outputs = self.integer(f"{name}:output_size", 1)
            size = _recurrent_size({**config, **embedding}, input_size, 0, False)
            size += _recurrent_size(config, decoder_inputs, outputs, False)
            config = {**config, **embedding}
        elif kind == "direct":
            steps, outputs = self.integer(f"{name}:steps", 1), self.integer(f"{name}:output_size", 1)
            bidirectional = self.flag(f"{name}:bidirectional")
            config = {**config, **embedding}
            size = steps * _recurrent_size(config, input_size, outputs, bidirectional)
        else:
            outputs, bidirectional = self.integer(f"{name}:output_size", 0), self.flag(f"{name}:bidirectional")
            config = {**config, **embedding}
            size = _recurrent_size(config, input_size, outputs, bidirectional)
        # Checked before building, so that a wrong size is reported instead of allocated.
        params = self.array(f"{name}.params", (size,), config["dtype"])
        try:
            # The initial weights are overwritten: any seed does.
            if kind == "seq2seq":
                network = Seq2SeqNetwork(input_size, decoder_inputs, output_size=outputs, random_state=0, **config)
            elif kind == "direct":
                network = DirectNetworks(steps, input_size, output_size=outputs, bidirectional=bidirectional,
                                         random_state=0, **config)  # fmt: skip
            else:
                network = RecurrentNetwork(input_size, output_size=outputs, bidirectional=bidirectional,
                                           random_state=0, **config)  # fmt: skip
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{self.where} {name!r} does not describe a valid network: {error}") from error
        if network.params.shape != params.shape:  # pragma: no cover - _recurrent_size mirrors the layout
            raise ModelFileError(
                f"array '{self.prefix}{name}.params' has shape {params.shape}, expected {network.params.shape}"
            )
        # In place: the named views (and a composite's parts) point into this vector.
        network.params[...] = params
        return network

    def optimizer(self, name: str, params: np.ndarray) -> Adam | SGD:
        """Return the optimiser stored as ``name``, rebuilt on the parameter vector ``params``."""
        kind = self.text(f"{name}:optimizer", ("Adam", "SGD"))
        state = dict(self._get(name))
        keys = ("exp_avg", "exp_avg_sq") if kind == "Adam" else ("momentum_buffer",)
        for key in keys:
            state[key] = self.array(f"{name}.{key}", params.shape, params.dtype, none=key == "momentum_buffer")
        optimizer = Adam(params) if kind == "Adam" else SGD(params)
        try:
            optimizer.load_state_dict(state)
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{self.where} {name!r} is not a valid {kind} state: {error}") from error
        return optimizer

    def generator(self, name: str) -> np.random.Generator:
        """Return the numpy Generator stored as ``name``, in the state it was saved in."""
        self.text(f"{name}:bit_generator", ("PCG64",))
        for field in ("state:state", "state:inc"):
            key, _, sub = field.partition(":")
            inner = self._get(f"{name}:{key}")
            if not isinstance(inner, dict) or not isinstance(inner.get(sub), int) or isinstance(inner.get(sub), bool):
                raise self._error(f"{name}:{key}", "an object of the ints 'state' and 'inc'", inner)
            if not 0 <= inner[sub] < 2**128:
                raise self._error(f"{name}:{field}", "an int in [0, 2**128)", inner[sub])
        self.integer(f"{name}:has_uint32", 0, 1)
        self.integer(f"{name}:uinteger", 0, 2**32 - 1)
        bit_generator = np.random.PCG64()
        try:
            bit_generator.state = self._get(name)
        except (TypeError, ValueError, KeyError) as error:
            raise ModelFileError(f"{self.where} {name!r} is not a valid PCG64 state: {error}") from error
        return np.random.Generator(bit_generator)

    def history(self, name: str) -> History:
        """Return the training :class:`~tsrnn.training.History` stored as ``name``."""
        return History(
            loss_curve=self.array(f"{name}.loss_curve", (None,), np.float64).tolist(),
            validation_loss=self.array(f"{name}.validation_loss", (None,), np.float64).tolist(),
            best_epoch=self.integer(f"{name}:best_epoch", 0),
            converged=self.flag(f"{name}:converged"),
            interrupted=self.flag(f"{name}:interrupted"),
        )

    def unused_arrays(self) -> list[str]:
        """Names of the arrays no getter has read (nested states' included)."""
        used = set(self.used)
        for lead, reader in self._nested.items():
            used |= {f"{lead}{key}" for key in set(reader.arrays) - set(reader.unused_arrays())}
        return sorted(set(self.arrays) - used)


def _datetimes(dtype_name: str, values: np.ndarray) -> pd.DatetimeIndex:
    """Return timestamps of ``dtype_name`` (``"datetime64[us]"``, ``"datetime64[ns, UTC]"``) from int64 values."""
    match = _DATETIME_DTYPE.fullmatch(dtype_name)
    if match is None:
        raise ValueError(f"{dtype_name!r} is not a datetime64 dtype")
    naive = pd.DatetimeIndex(values.view(f"M8[{match.group(1)}]"))
    if match.group(2) is None:
        return naive
    # Timestamps with a time zone are held as UTC instants.
    return naive.tz_localize("UTC").tz_convert(pd.api.types.pandas_dtype(dtype_name).tz)


def _period_dtype(dtype_name: str) -> pd.PeriodDtype:
    if _PERIOD_DTYPE.fullmatch(dtype_name) is None:
        raise ValueError(f"{dtype_name!r} is not a period dtype")
    return pd.api.types.pandas_dtype(dtype_name)
