"""The bad-input matrix: every public entry point of tsrnn against every kind of bad input.

The matrix is data. ``ENTRY_POINTS`` are its columns: each has valid baseline inputs, built
from the bundled datasets, and a way to call it. ``CASES`` are its rows: each cell of a row
says how to turn the entry point's baseline into the bad input (a NaN inserted, a timestamp
repeated, a CSV written with a bad date ...) and what must come of it:

- ``Raises``: a ValueError or TypeError (or a subclass tsrnn defines) whose message matches a
  regex that names the argument and says what to do, raised before any kernel runs;
- ``Exits``: for the ``tsrnn`` command, status 2 and one ``tsrnn: error:`` line on stderr;
- ``Accepts``: the input is valid and accepted, optionally with a warning; for non-contiguous
  and read-only input, with the same result as for a contiguous, writable copy.

Every call, accepted or not, must leave the caller's data as it was: ``observe`` fingerprints
the inputs (and the fitted models the call uses) before and after. Entry points for which a
case has no cell do not take that kind of input ("—" in the table).

``tests/test_bad_input_matrix.py`` runs every cell. The table of outcomes in
``docs/bad_input_matrix.md`` is generated from these definitions and the observed outcomes::

    python -m tests.bad_input_matrix --write docs/bad_input_matrix.md
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import io
import pickle
import re
import stat
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning, UndefinedMetricWarning

import tsrnn
from tsrnn import RNNClassifier, RNNForecaster, RNNRegressor, datasets, kernels, make_windows, metrics
from tsrnn.cli import main as cli_main
from tsrnn.kernels import _functional
from tsrnn.model_selection import BacktestResult, backtest

REPO = Path(__file__).resolve().parents[1]
AIR_CSV = REPO / "datasets" / "air_passengers.csv"
TABLE = Path("docs") / "bad_input_matrix.md"
COMMAND = f"python -m tests.bad_input_matrix --write {TABLE.as_posix()}"

# Tiny models: the checks under test run before training, and accepted input needs one epoch.
REGRESSOR = {"hidden_size": 4, "max_epochs": 1, "random_state": 0}
CLASSIFIER = REGRESSOR
FORECASTER = {"window": 7, "horizon": 3, "hidden_size": 4, "max_epochs": 1, "random_state": 0}
BACKTESTER = {"window": 12, "horizon": 6, "hidden_size": 4, "max_epochs": 1, "random_state": 0, "early_stopping": False}
CLI_OPTIONS = ("--horizon", "3", "--window", "4", "--max-epochs", "1", "--seed", "0", "-q")
HIDDEN = 3  # kernel hidden units
FIT_ROWS = 120  # days of the bike-sharing series the forecaster is fitted on
# What Numba's typing errors say; none may reach the user.
NUMBA_WORDS = re.compile(r"No implementation of function|TypingError|numba", re.IGNORECASE)


# ------------------------------------------------------------------------------- context


class Context:
    """The bundled data the baselines are built from, the fitted models, and a folder for files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files = 0
        self.air = datasets.load_air_passengers().astype(float)
        bike = datasets.load_bike_sharing()
        self.bike_y = bike["cnt"].astype(float)
        self.bike_X = bike[["temp"]]
        self.air_frame = pd.read_csv(AIR_CSV)
        self.air_csv = self.write("air.csv", self.air_frame)
        # Kernel inputs: the first windows of the standardised log passenger numbers.
        windows, _ = make_windows(np.log(self.air.to_numpy()), window=6)
        x = ((windows[:8] - windows.mean()) / windows.std())[:, :, None]
        rng = np.random.default_rng(0)
        self.kernel: dict[str, dict[str, np.ndarray]] = {}
        for cell, gates in (("lstm", 4), ("gru", 3), ("rnn", 1)):
            scale = 1 / np.sqrt(HIDDEN)
            self.kernel[cell] = {
                "x": x.copy(),
                "h0": rng.uniform(-0.5, 0.5, (8, HIDDEN)),
                "c0": rng.uniform(-0.5, 0.5, (8, HIDDEN)),
                "w_ih": rng.uniform(-scale, scale, (gates * HIDDEN, 1)),
                "w_hh": rng.uniform(-scale, scale, (gates * HIDDEN, HIDDEN)),
                "b_ih": rng.uniform(-scale, scale, gates * HIDDEN),
                "b_hh": rng.uniform(-scale, scale, gates * HIDDEN),
                "d_out": rng.standard_normal((8, 6, HIDDEN)),
                "d_h_T": rng.standard_normal((8, HIDDEN)),
                "d_c_T": rng.standard_normal((8, HIDDEN)),
            }
        self.windows, self.targets = make_windows(np.log(self.air.to_numpy()), window=6)
        # Labels of the same windows: whether the next month is above the window's last.
        self.labels = np.where(self.targets > self.windows[:, -1], "up", "down")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.regressor = RNNRegressor(**REGRESSOR).fit(self.windows, self.targets)
            self.classifier = RNNClassifier(**CLASSIFIER).fit(self.windows, self.labels)
            # The same windows as sequences of several lengths: 1 to 6 of their last steps.
            self.sequences = [w[-(1 + i % 6) :] for i, w in enumerate(self.windows)]
            self.sequence_classifier = RNNClassifier(**CLASSIFIER).fit(self.sequences, self.labels)
            self.forecaster = RNNForecaster(**FORECASTER, calibration_size=30).fit(
                self.bike_X.iloc[:FIT_ROWS], self.bike_y.iloc[:FIT_ROWS]
            )
        if hasattr(self.forecaster, "save"):
            self.model_file = self.folder / "forecaster.tsrnn"
            self.forecaster.save(self.model_file)
        self.observations: dict[tuple[str, str], Observation] = {}

    def write(self, name: str, content: bytes | str | pd.DataFrame) -> Path:
        """Write a file of its own into the folder and return its path."""
        self._files += 1
        path = self.folder / f"{self._files:03d}_{name}"
        if isinstance(content, pd.DataFrame):
            content.to_csv(path, index=False)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
        return path

    def models(self) -> dict[str, Any]:
        """The fitted models the predict-side calls use, which no call may change."""
        return {
            "regressor": self.regressor, "classifier": self.classifier,
            "sequence_classifier": self.sequence_classifier, "forecaster": self.forecaster,
        }  # fmt: skip


# --------------------------------------------------------------------------- entry points


@dataclass(frozen=True)
class EntryPoint:
    """A public function or method, with valid baseline inputs and a way to call it on inputs."""

    name: str
    baseline: Callable[[Context], dict[str, Any]]
    call: Callable[[Context, dict[str, Any]], Any]
    primary: str  # the argument the generic cases (NaN, dtypes, ...) change
    aligned: tuple[str, ...] = ()  # the arguments whose rows line up with the primary one


def _forward_baseline(cell: str) -> Callable[[Context], dict[str, Any]]:
    names = ["x", "h0", "c0"] if cell == "lstm" else ["x", "h0"]

    def baseline(ctx: Context) -> dict[str, Any]:
        inputs = {name: ctx.kernel[cell][name].copy() for name in [*names, "w_ih", "w_hh", "b_ih", "b_hh"]}
        if cell == "rnn":
            inputs["activation"] = "tanh"
        return inputs

    return baseline


def _forward_call(cell: str) -> Callable[[Context, dict[str, Any]], Any]:
    function = getattr(kernels, f"{cell}_forward")

    def call(ctx: Context, inputs: dict[str, Any]) -> Any:
        *outputs, _ = function(**inputs)
        return tuple(outputs)

    return call


def _backward_baseline(cell: str, rows: slice = slice(None)) -> Callable[[Context], dict[str, Any]]:
    def baseline(ctx: Context) -> dict[str, Any]:
        forward = {k: v[rows] if k in ("x", "h0", "c0") else v for k, v in _forward_baseline(cell)(ctx).items()}
        *_, cache = getattr(kernels, f"{cell}_forward")(**forward)
        names = ["d_out", "d_h_T", "d_c_T"] if cell == "lstm" else ["d_out", "d_h_T"]
        return {**{name: ctx.kernel[cell][name][rows].copy() for name in names}, "cache": cache, "bptt_steps": None}

    return baseline


def _backward_call(cell: str) -> Callable[[Context, dict[str, Any]], Any]:
    function = getattr(kernels, f"{cell}_backward")
    return lambda ctx, inputs: function(**inputs)


def _fit_regressor(ctx: Context, inputs: dict[str, Any]) -> Any:
    model = RNNRegressor(**inputs["params"]).fit(inputs["X"], inputs["y"])
    return model.predict(ctx.windows)


def _fit_classifier(ctx: Context, inputs: dict[str, Any]) -> Any:
    model = RNNClassifier(**inputs["params"]).fit(inputs["X"], inputs["y"], **_lengths(inputs))
    return model.predict_proba(inputs["X"], **_lengths(inputs))


def _lengths(inputs: dict[str, Any]) -> dict[str, Any]:
    """The ``lengths=`` of a call on padded sequences, where a case gives them."""
    return {"lengths": inputs["lengths"]} if "lengths" in inputs else {}


def _classifier(ctx: Context, inputs: dict[str, Any]) -> RNNClassifier:
    """The fitted classifier for the input: the one fitted on sequences of several lengths for such sequences."""
    if "lengths" in inputs or isinstance(inputs["X"], list):
        return ctx.sequence_classifier
    return ctx.classifier


def _fit_forecaster(ctx: Context, inputs: dict[str, Any]) -> Any:
    model = RNNForecaster(**inputs["params"]).fit(inputs["X"], inputs["y"])
    n = len(inputs["y"])
    return model.predict(ctx.bike_X.iloc[n : n + 3])


def _update_forecaster(ctx: Context, inputs: dict[str, Any]) -> Any:
    model = copy.deepcopy(ctx.forecaster)  # update changes the model it is called on, as it should
    model.update(inputs["X"], inputs["y"])
    n = FIT_ROWS + len(inputs["y"])
    return model.predict(ctx.bike_X.iloc[n : n + 3])


def _future(ctx: Context, steps: int = 3) -> pd.DataFrame:
    return ctx.bike_X.iloc[FIT_ROWS : FIT_ROWS + steps].copy()


def _actual(ctx: Context, steps: int = 3) -> pd.Series:
    return ctx.bike_y.iloc[FIT_ROWS : FIT_ROWS + steps].copy()


def _metric_baseline(kind: str) -> Callable[[Context], dict[str, Any]]:
    def baseline(ctx: Context) -> dict[str, Any]:
        values = ctx.air.to_numpy()
        actual, naive = values[-12:].copy(), values[-24:-12].copy()  # the last year and the one before
        if kind == "pair":
            return {"y_true": actual, "y_pred": naive}
        if kind == "mase":
            return {"y_true": actual, "y_pred": naive, "y_train": values[:-12].copy(), "m": 12}
        if kind == "coverage":
            return {"y_true": actual, "lower": naive * 0.9, "upper": naive * 1.1}
        return {"lower": naive * 0.9, "upper": naive * 1.1}

    return baseline


@dataclass(frozen=True)
class CommandResult:
    """What a run of the ``tsrnn`` command gave: its status and what it wrote."""

    status: int
    stdout: str
    stderr: str


def _command(name: str, options: tuple[str, ...]) -> EntryPoint:
    def call(ctx: Context, inputs: dict[str, Any]) -> CommandResult:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli_main([name, str(inputs["path"]), *inputs["options"]])
        return CommandResult(status, out.getvalue(), err.getvalue())

    return EntryPoint(
        f"tsrnn {name}", lambda ctx: {"path": ctx.air_csv, "options": list(options)}, call, primary="path"
    )


def _entry_points() -> list[EntryPoint]:
    points = []
    for cell in ("lstm", "gru", "rnn"):
        states = ("x", "h0", "c0") if cell == "lstm" else ("x", "h0")
        points.append(EntryPoint(f"{cell}_forward", _forward_baseline(cell), _forward_call(cell), "x", states))
    for cell in ("lstm", "gru", "rnn"):
        grads = ("d_out", "d_h_T", "d_c_T") if cell == "lstm" else ("d_out", "d_h_T")
        points.append(EntryPoint(f"{cell}_backward", _backward_baseline(cell), _backward_call(cell), "d_out", grads))
    points += [
        EntryPoint(
            "RNNRegressor.fit",
            lambda ctx: {"X": ctx.windows.copy(), "y": ctx.targets.copy(), "params": dict(REGRESSOR)},
            _fit_regressor, "X", ("X", "y"),
        ),
        EntryPoint(
            "RNNRegressor.predict", lambda ctx: {"X": ctx.windows.copy()},
            lambda ctx, inputs: ctx.regressor.predict(inputs["X"]), "X", ("X",),
        ),
        EntryPoint(
            "RNNRegressor.score", lambda ctx: {"X": ctx.windows.copy(), "y": ctx.targets.copy()},
            lambda ctx, inputs: ctx.regressor.score(inputs["X"], inputs["y"]), "y", ("X", "y"),
        ),
        EntryPoint(
            "RNNClassifier.fit",
            lambda ctx: {"X": ctx.windows.copy(), "y": ctx.labels.copy(), "params": dict(CLASSIFIER)},
            _fit_classifier, "X", ("X", "y"),
        ),
        EntryPoint(
            "RNNClassifier.predict_proba", lambda ctx: {"X": ctx.windows.copy()},
            lambda ctx, inputs: _classifier(ctx, inputs).predict_proba(inputs["X"], **_lengths(inputs)), "X", ("X",),
        ),
        EntryPoint(
            "RNNClassifier.score", lambda ctx: {"X": ctx.windows.copy(), "y": ctx.labels.copy()},
            lambda ctx, inputs: _classifier(ctx, inputs).score(inputs["X"], inputs["y"], **_lengths(inputs)), "X",
            ("X", "y"),
        ),
        EntryPoint(
            "RNNForecaster.fit",
            lambda ctx: {
                "X": ctx.bike_X.iloc[:FIT_ROWS].copy(), "y": ctx.bike_y.iloc[:FIT_ROWS].copy(),
                "params": dict(FORECASTER),
            },
            _fit_forecaster, "y", ("y", "X"),
        ),
        EntryPoint(
            "RNNForecaster.predict", lambda ctx: {"X": _future(ctx), "horizon": None},
            lambda ctx, inputs: ctx.forecaster.predict(inputs["X"], horizon=inputs["horizon"]), "X", ("X",),
        ),
        EntryPoint(
            "RNNForecaster.predict_interval", lambda ctx: {"X": _future(ctx), "horizon": None, "coverage": 0.9},
            lambda ctx, inputs: ctx.forecaster.predict_interval(**inputs), "X", ("X",),
        ),
        EntryPoint(
            "RNNForecaster.update", lambda ctx: {"X": _future(ctx), "y": _actual(ctx)},
            _update_forecaster, "y", ("y", "X"),
        ),
        EntryPoint(
            "RNNForecaster.score", lambda ctx: {"X": _future(ctx), "y": _actual(ctx)},
            lambda ctx, inputs: ctx.forecaster.score(inputs["X"], inputs["y"]), "y", ("X", "y"),
        ),
        EntryPoint(
            "make_windows", lambda ctx: {"y": ctx.air.copy(), "window": 12, "horizon": 3, "X": None},
            lambda ctx, inputs: make_windows(**inputs), "y", ("y", "X"),
        ),
    ]  # fmt: skip
    for name in ("mae", "rmse", "mape", "smape"):
        points.append(_metric(name, "pair", "y_true", ("y_true", "y_pred")))
    points += [
        _metric("mase", "mase", "y_true", ("y_true", "y_pred")),
        _metric("interval_coverage", "coverage", "y_true", ("y_true", "lower", "upper")),
        _metric("interval_width", "width", "lower", ("lower", "upper")),
        EntryPoint(
            "backtest",
            lambda ctx: {"forecaster": RNNForecaster(**BACKTESTER), "y": ctx.air.copy(), "X": None, "cv": (132, 6, 6)},
            lambda ctx, inputs: backtest(**inputs), "y", ("y", "X"),
        ),
        _command("forecast", CLI_OPTIONS),
        _command("backtest", (*CLI_OPTIONS, "--folds", "2")),
    ]  # fmt: skip
    if hasattr(tsrnn, "load"):
        points.append(EntryPoint("tsrnn.load", lambda ctx: {"path": ctx.model_file}, _load, "path"))
    return points


def _metric(name: str, kind: str, primary: str, aligned: tuple[str, ...]) -> EntryPoint:
    function = getattr(metrics, name)
    return EntryPoint(name, _metric_baseline(kind), lambda ctx, inputs: function(**inputs), primary, aligned)


def _load(ctx: Context, inputs: dict[str, Any]) -> Any:
    return tsrnn.load(inputs["path"]).predict(_future(ctx))


ENTRY_POINTS = _entry_points()
ENTRIES = {point.name: point for point in ENTRY_POINTS}
FORWARD = ["lstm_forward", "gru_forward", "rnn_forward"]
BACKWARD = ["lstm_backward", "gru_backward", "rnn_backward"]
KERNELS = FORWARD + BACKWARD
PAIR_METRICS = ["mae", "rmse", "mape", "smape", "mase"]
METRICS = [*PAIR_METRICS, "interval_coverage", "interval_width"]
COMMANDS = ["tsrnn forecast", "tsrnn backtest"]
# The entry points that read the data as time series with a time index.
CLASSIFIER_ENTRIES = ["RNNClassifier.fit", "RNNClassifier.predict_proba", "RNNClassifier.score"]
FORECASTER_Y = ["RNNForecaster.fit", "RNNForecaster.update", "RNNForecaster.score"]
FORECASTER_X = ["RNNForecaster.predict", "RNNForecaster.predict_interval"]
LOAD = ["tsrnn.load"] if "tsrnn.load" in ENTRIES else []


# ---------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Raises:
    """The call raises ``error`` (exactly, or a subclass tsrnn defines) with a message matching ``match``."""

    error: type[Exception]
    match: str


@dataclass(frozen=True)
class Exits:
    """The command ends with ``status`` and one stderr line ``tsrnn: error: ...`` matching ``match``."""

    status: int
    match: str


@dataclass(frozen=True)
class Accepts:
    """The call succeeds; with ``same``, as on a contiguous writable copy; with ``warns``, warning so."""

    same: bool = False
    warns: type[Warning] | None = None
    match: str = ""


Expectation = Raises | Exits | Accepts


@dataclass(frozen=True)
class Cell:
    """One cell: how the case's input is made from the baseline inputs, and what must come of the call."""

    make: Callable[[Context, dict[str, Any], EntryPoint], dict[str, Any]]
    expect: Expectation


@dataclass(frozen=True)
class Case:
    """One row: a kind of bad (or valid but unusual) input, and its cells by entry point."""

    name: str
    description: str
    cells: dict[str, Cell]


# ------------------------------------------------------------------------ input changes


def _middle(value: Any) -> int:
    return len(value) // 2


def _with(value: Any, fill: Any) -> Any:
    """A copy of ``value`` with its middle element (row, first column) replaced by ``fill``."""
    if isinstance(value, pd.Series):
        out = value.astype(float if isinstance(fill, float) else object)
        out.iloc[_middle(value)] = fill
        return out
    if isinstance(value, pd.DataFrame):
        out = value.astype(float if isinstance(fill, float) else object)
        out.iloc[_middle(value), 0] = fill
        return out
    out = value.astype(np.float64 if isinstance(fill, float) else object)
    out.flat[out.size // 2] = fill
    return out


def _retype(value: Any, convert: Callable[[np.ndarray], np.ndarray]) -> Any:
    """``value`` with its values (a DataFrame's first column) converted by ``convert``, index kept."""
    if isinstance(value, pd.Series):
        return pd.Series(convert(value.to_numpy()), index=value.index, name=value.name)
    if isinstance(value, pd.DataFrame):
        out = value.copy()
        column = out.columns[0]
        out[column] = convert(out[column].to_numpy())
        return out
    return convert(np.asarray(value))


def _as_datetimes(values: np.ndarray) -> np.ndarray:
    return np.datetime64("2000-01-01") + values.astype(np.int64).astype("timedelta64[D]")


def _strided(values: np.ndarray) -> np.ndarray:
    """Equal values in a non-contiguous view: every other element of a doubled array."""
    view = np.repeat(values, 2, axis=-1)[..., ::2]
    assert not view.flags.c_contiguous
    return view


def _read_only(values: np.ndarray) -> np.ndarray:
    frozen = values.copy()
    frozen.setflags(write=False)
    return frozen


def _rewrap(value: Any, convert: Callable[[np.ndarray], np.ndarray]) -> Any:
    """``value`` with its data replaced by ``convert`` of it, without pandas copying it."""
    if isinstance(value, pd.Series):
        return pd.Series(convert(value.to_numpy()), index=value.index, name=value.name, copy=False)
    if isinstance(value, pd.DataFrame):
        return pd.DataFrame(convert(value.to_numpy()), index=value.index, columns=value.columns, copy=False)
    return convert(value)


def _rows(value: Any, rows: Any) -> Any:
    if value is None:
        return None
    return value.iloc[rows] if isinstance(value, (pd.Series, pd.DataFrame)) else value[rows]


def _reindex(value: Any, change: Callable[[pd.Index], pd.Index]) -> Any:
    if not isinstance(value, (pd.Series, pd.DataFrame)):
        return value
    return value.set_axis(change(value.index))


def _repeat_label(index: pd.Index) -> pd.Index:
    labels = list(index)
    labels[_middle(index)] = labels[_middle(index) - 1]
    return pd.Index(labels, name=index.name)


def _skip_step(index: pd.Index) -> pd.Index:
    """The labels from the middle on, one step later: a step missing, the length kept."""
    middle = _middle(index)
    return index[:middle].append(index[middle:].shift(1))


def _mix_zones(index: pd.Index) -> pd.Index:
    """The timestamps in UTC, the middle one in New York's zone: an object index of two zones."""
    labels = list(index.tz_localize("UTC"))
    labels[_middle(index)] = labels[_middle(index)].tz_convert("America/New_York")
    return pd.Index(labels, dtype=object, name=index.name)


def _swap(value: Any) -> Any:
    """``value`` with its two middle rows swapped, labels and all."""
    order = list(range(len(value)))
    i = _middle(value)
    order[i - 1], order[i] = order[i], order[i - 1]
    return value.iloc[order]


def on(arguments: str | Iterable[str] | None, change: Callable[[Any], Any]) -> Callable[..., dict[str, Any]]:
    """Make a case's input by applying ``change`` to the named arguments; None: the primary one.

    A tuple of names applies it to each of them that is given (not None).
    """

    def make(ctx: Context, inputs: dict[str, Any], entry: EntryPoint) -> dict[str, Any]:
        names = [entry.primary] if arguments is None else [arguments] if isinstance(arguments, str) else arguments
        return {**inputs, **{name: change(inputs[name]) for name in names if inputs.get(name) is not None}}

    return make


def on_aligned(change: Callable[[Any], Any]) -> Callable[..., dict[str, Any]]:
    """Apply ``change`` to every argument whose rows line up with the primary one."""

    def make(ctx: Context, inputs: dict[str, Any], entry: EntryPoint) -> dict[str, Any]:
        return on(entry.aligned or entry.primary, change)(ctx, inputs, entry)

    return make


def setting(**values: Any) -> Callable[..., dict[str, Any]]:
    """Set arguments to ``values``."""
    return lambda ctx, inputs, entry: {**inputs, **values}


def params(**changes: Any) -> Callable[..., dict[str, Any]]:
    """Change the estimator's parameters (``params``), or those of a backtest's forecaster."""

    def make(ctx: Context, inputs: dict[str, Any], entry: EntryPoint) -> dict[str, Any]:
        if "forecaster" in inputs:
            return {**inputs, "forecaster": RNNForecaster(**{**BACKTESTER, **changes})}
        return {**inputs, "params": {**inputs["params"], **changes}}

    return make


def custom(make: Callable[[Context, dict[str, Any]], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    return lambda ctx, inputs, entry: make(ctx, inputs)


def csv(edit: Callable[[pd.DataFrame], pd.DataFrame] | None = None, raw: bytes | None = None) -> Callable[..., Any]:
    """Write the passengers CSV, edited, or ``raw`` bytes, and point the command at it."""

    def make(ctx: Context, inputs: dict[str, Any], entry: EntryPoint) -> dict[str, Any]:
        content = raw if raw is not None else edit(ctx.air_frame.copy())
        return {**inputs, "path": ctx.write("air.csv", content)}

    return make


def options(*extra: str, replace: dict[str, str] | None = None) -> Callable[..., dict[str, Any]]:
    """Change the command's options: ``replace`` option values, add ``extra`` ones."""

    def make(ctx: Context, inputs: dict[str, Any], entry: EntryPoint) -> dict[str, Any]:
        argv = list(inputs["options"])
        for option, value in (replace or {}).items():
            argv[argv.index(option) + 1] = value
        return {**inputs, "options": [*argv, *extra]}

    return make


def _read_only_file(ctx: Context, inputs: dict[str, Any], entry: EntryPoint) -> dict[str, Any]:
    """A read-only copy of the file the baseline names."""
    path = ctx.write(inputs["path"].name, inputs["path"].read_bytes())
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return {**inputs, "path": path}


def _extra_field() -> bytes:
    """The passengers CSV with one more field on the line of 1955-01-01 than the header names."""
    lines = AIR_CSV.read_text().splitlines()
    lines[73] += ",7"
    return ("\n".join(lines) + "\n").encode()


def _random_bytes() -> bytes:
    return np.random.default_rng(0).bytes(512)


def _png() -> bytes:
    # A real PNG signature and header chunk, then zeros.
    return (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"
        + bytes(64)
    )


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("air_passengers.csv", AIR_CSV.read_text())
    return buffer.getvalue()


def _naive_companion(ctx: Context, inputs: dict[str, Any], entry: EntryPoint) -> dict[str, Any]:
    """The primary argument indexed by aware (UTC) timestamps, its companion left naive."""
    aware = _reindex(inputs[entry.primary], lambda index: index.tz_localize("UTC"))
    changed = {**inputs, entry.primary: aware}
    if entry.name in ("make_windows", "backtest"):
        y = inputs["y"]
        changed["X"] = pd.DataFrame({"x": np.arange(len(y), dtype=float)}, index=y.index)
    return changed


def _each(names: Iterable[str], make: Callable[..., dict[str, Any]], expect: Expectation) -> dict[str, Cell]:
    return {name: Cell(make, expect) for name in names if name in ENTRIES}


def _kernel_arg(name: str) -> str:
    return "`x`" if name in FORWARD else "`d_out`"


def case(name: str, description: str, *groups: dict[str, Cell]) -> Case:
    cells: dict[str, Cell] = {}
    for group in groups:
        overlap = cells.keys() & group.keys()
        assert not overlap, f"{name}: {overlap} given twice"
        cells.update(group)
    return Case(name, description, cells)


# ---------------------------------------------------------------------------------- cases

# What tsrnn.load says of a file that is not a zip archive.
HORIZON_ZERO = r"^`horizon` must be an int >= 1; got 0"
NOT_A_ZIP = r"^cannot load .*: not a tsrnn model file: it is not a zip archive \(model\.save writes one\)"
# Regex fragments: the argument each entry point's generic cases change, at the start of the message.
ARG = {
    **{name: "`x`" for name in FORWARD},
    **{name: "`d_out`" for name in BACKWARD},
    "RNNRegressor.fit": "X", "RNNRegressor.predict": "X", "RNNRegressor.score": "y",
    **dict.fromkeys(CLASSIFIER_ENTRIES, "X"),
    **{name: "y" for name in FORECASTER_Y}, **{name: "X" for name in FORECASTER_X},
    "make_windows": "y", **{name: "y_true" for name in METRICS[:-1]}, "interval_width": "lower", "backtest": "y",
}  # fmt: skip
ESTIMATORS = [
    "RNNRegressor.fit",
    "RNNRegressor.predict",
    "RNNRegressor.score",
    *CLASSIFIER_ENTRIES,
    *FORECASTER_Y,
    *FORECASTER_X,
]
# Entry points that read windows X the way RNNRegressor does (tsrnn._windows).
WINDOWS = ["RNNRegressor.fit", "RNNRegressor.predict", *CLASSIFIER_ENTRIES]
SERIES = [*FORECASTER_Y, *FORECASTER_X, "make_windows", "backtest"]  # time-indexed data
FITS = ["RNNRegressor.fit", "RNNClassifier.fit", "RNNForecaster.fit", "backtest"]  # where estimator parameters apply
ARRAYS = [*KERNELS, *ESTIMATORS, "make_windows", *METRICS, "backtest"]  # array or pandas data


def _per_entry(expect: Callable[[str], Expectation], names: Iterable[str], make: Callable[..., Any]) -> dict[str, Cell]:
    return {name: Cell(make, expect(name)) for name in names if name in ENTRIES}


def _nan_case(name: str, value: float, description: str, command: Expectation) -> Case:
    kind = "NaN" if np.isnan(value) else "inf"
    before = {"RNNRegressor.predict": "predicting", "RNNRegressor.score": "scoring", "RNNForecaster.update": "updating",
              "RNNClassifier.predict_proba": "predicting", "RNNClassifier.score": "predicting",
              "RNNForecaster.score": "scoring", "make_windows": "cutting windows",
              **{name: "predicting" for name in FORECASTER_X}}  # fmt: skip
    return case(
        name, description,
        _per_entry(lambda e: Raises(ValueError, rf"{ARG[e]} contains NaN or inf .*replace them"), KERNELS,
                   on(None, lambda v: _with(v, value))),
        _per_entry(
            lambda e: Raises(ValueError, rf"^{ARG[e]} contains 1 NaN or inf value\(s\); the first \({kind}\) is at .*"
                                         rf"Fill them before {before.get(e, 'fitting')}"),
            [*ESTIMATORS, "make_windows", "backtest"], on(None, lambda v: _with(v, value)),
        ),
        _per_entry(lambda e: Raises(ValueError, rf"^{ARG[e]} must be finite; it holds 1 NaN or inf value\(s\).*Leave"),
                   METRICS, on(None, lambda v: _with(v, value))),
        _each(COMMANDS, csv(lambda f: f.astype({"passengers": float}).assign(
            passengers=lambda g: g.passengers.where(g.index != 72, value))), command),
    )  # fmt: skip


def _dtype_case(
    name: str,
    description: str,
    change: Callable[[Any], Any],
    kernel: str,
    array: Callable[[str], Expectation],
    forecaster: Callable[[str], Expectation],
) -> Case:
    return case(
        name, description,
        _per_entry(lambda e: Raises(TypeError, rf"^{_kernel_arg(e)} must have dtype float32 or float64; got {kernel}"
                                    r"\. Convert it"), KERNELS, on(None, change)),
        _per_entry(array, ["RNNRegressor.fit", "RNNRegressor.predict", "RNNRegressor.score", *CLASSIFIER_ENTRIES,
                           "make_windows", *METRICS], on(None, change)),
        _per_entry(forecaster, [*FORECASTER_Y, *FORECASTER_X, "backtest"], on(None, change)),
    )  # fmt: skip


def _forecaster_dtype(dtype: str, fix: str) -> Callable[[str], Expectation]:
    def expect(entry: str) -> Expectation:
        column = "temp" if entry in FORECASTER_X else ("passengers" if entry == "backtest" else "cnt")
        return Raises(TypeError, rf"^{ARG[entry]} must be numeric \(int or float\); column\(s\) '{column}' "
                                 rf"\({dtype}\) are not\. {fix}")  # fmt: skip

    return expect


def _cases() -> list[Case]:
    kernel_rows = on_aligned(lambda v: v[:0])
    return [
        case(
            "valid", "the baseline itself: valid input built from the bundled datasets",
            _each(ENTRIES, setting(), Accepts()),
        ),
        _nan_case("nan", np.nan, "a NaN in the data (an empty cell in the CSV)",
                  Exits(2, r"the series has a gap at 1955-01-01, where 'passengers' is empty; fill "
                           r"(them|gaps) with --fill linear or --fill ffill")),
        _nan_case("inf", np.inf, "an inf in the data ('inf' in the CSV)",
                  Exits(2, r"the target column 'passengers' holds inf in row 73 after the header; write a number "
                           r"there, or empty the cell and pass --fill linear or --fill ffill")),
        case(
            "empty", "no rows (a CSV with a header only)",
            _per_entry(lambda e: Raises(ValueError, r"^`x` must be a non-empty array of shape"), FORWARD, kernel_rows),
            _per_entry(lambda e: Raises(ValueError, r"^`d_out` must have shape \(batch, time, hidden\) of the forward "
                                                    r"output = \(8, 6, 3\); got \(0, 6, 3\)"), BACKWARD, kernel_rows),
            _per_entry(lambda e: Raises(ValueError, rf"^{ARG[e]} is empty: it has 0 samples"),
                       ["RNNRegressor.fit", "RNNRegressor.predict", "RNNRegressor.score", *CLASSIFIER_ENTRIES],
                       on_aligned(lambda v: v[:0])),
            _per_entry(lambda e: Raises(ValueError, rf"^{ARG[e]} is empty \(0 rows\); pass at least one row"),
                       [*FORECASTER_Y, *FORECASTER_X, "backtest"], on_aligned(lambda v: _rows(v, slice(0, 0)))),
            _each(["make_windows"], on(None, lambda v: v.iloc[:0]),
                  Raises(ValueError, r"^y has 0 values; window=12 and horizon=3 need at least 15\. Use a shorter")),
            _per_entry(lambda e: Raises(ValueError, rf"^{ARG[e]} is empty; pass at least one value"), METRICS,
                       on_aligned(lambda v: v[:0])),
            _each(COMMANDS, csv(raw=b"month,passengers\n"), Exits(2, r"\.csv has a header but no rows$")),
        ),
        case(
            "single_row", "one row (one sample, one step, one observation)",
            _each(FORWARD, on_aligned(lambda v: v[:1]), Accepts()),
            {name: Cell(custom(lambda ctx, inputs, cell=name[:-9]: _backward_baseline(cell, slice(0, 1))(ctx)),
                        Accepts()) for name in BACKWARD},
            _each(["RNNRegressor.fit", "RNNRegressor.predict", "RNNClassifier.predict_proba", *FORECASTER_X,
                   "RNNForecaster.update", *METRICS], on_aligned(lambda v: _rows(v, slice(0, 1))), Accepts()),
            _each(["RNNClassifier.fit"], on_aligned(lambda v: _rows(v, slice(0, 1))),
                  Raises(ValueError, r"^got 1 sample: a classifier needs sequences of at least two classes")),
            _each(["RNNClassifier.score"], on_aligned(lambda v: _rows(v, slice(0, 1))), Accepts()),
            # R² of one sample is undefined: scikit-learn warns and returns NaN.
            _each(["RNNRegressor.score", "RNNForecaster.score"], on_aligned(lambda v: _rows(v, slice(0, 1))),
                  Accepts(warns=UndefinedMetricWarning, match="R\\^2 score is not well-defined")),
            _each(["RNNForecaster.fit"], on_aligned(lambda v: v.iloc[:1]),
                  Raises(ValueError, r"^y has 1 observation, too few for window=7, horizon=3: these settings need at "
                                     r"least \d+.*\. To fit, use a series of at least")),
            _each(["make_windows"], on(None, lambda v: v.iloc[:1]),
                  Raises(ValueError, r"^y has 1 values; window=12 and horizon=3 need at least 15")),
            _each(["backtest"], on(None, lambda v: v.iloc[:1]),
                  Raises(ValueError, r"^initial=132 and horizon=6 need 138 observations; got 1\. Use a smaller")),
            _each(COMMANDS, csv(lambda f: f.iloc[:1]),
                  Exits(2, r"the time column 'month' has too few timestamps \(1\) to infer a frequency")),
        ),
        case(
            "wrong_ndim", "a dimension too few or too many",
            _each(FORWARD, on(None, lambda v: v[:, :, 0]),
                  Raises(ValueError, r"^`x` must be a non-empty array of shape \(batch, time, features\); got shape "
                                     r"\(8, 6\)")),
            _each(BACKWARD, on(None, lambda v: v[:, :, 0]), Raises(ValueError, r"^`d_out` must have shape")),
            _each(WINDOWS, on(None, lambda v: v[:, 0]),
                  Raises(ValueError, r"^X must be 2-D \(samples, steps·features\) or 3-D \(samples, steps, features\); "
                                     r"got 1-D data of shape \(138,\)\. Reshape your data")),
            _each(["RNNRegressor.score"], on(None, lambda v: v[:, None, None]),
                  Raises(ValueError, r"^y must be 1-D \(samples,\) or 2-D \(samples, outputs\); got 3-D")),
            _per_entry(lambda e: Raises(ValueError, rf"^{ARG[e]} must be 1-D or 2-D; got an array of shape "
                                                    r"\(\d+, 1, 1\)\. Pass a Series, a DataFrame or an array"),
                       [*FORECASTER_Y, *FORECASTER_X], on(None, lambda v: np.asarray(v).reshape(len(v), 1, 1))),
            _each(["make_windows"], on(None, lambda v: np.stack([v.to_numpy(), v.to_numpy()], axis=1)),
                  Raises(ValueError, r"^y must be 1-D, one series; got 2-D data of shape \(144, 2\); pass one column")),
            _per_entry(lambda e: Raises(ValueError, rf"^{ARG[e]} must be a single value, 1-D \(steps\) or 2-D "
                                                    r"\(steps, targets\); got 3-D"),
                       METRICS, on(None, lambda v: v[:, None, None])),
            _each(["backtest"], on(None, lambda v: v.to_numpy()[:, None, None]),
                  Raises(TypeError, r"^y must be a pandas Series indexed by time; got ndarray\. Wrap it")),
        ),
        _dtype_case(
            "object_dtype", "object dtype with a value that is not a number ('n/a')",
            lambda v: _with(v, "n/a"), "object",
            lambda e: Raises(TypeError, rf"^{ARG[e]} holds 'n/a' \(str\) at .*, not a number: "
                                        r"could not convert string to float: 'n/a'\. Convert"),
            _forecaster_dtype("object", r"Convert them \(pd\.to_numeric\)"),
        ),
        _dtype_case(
            "string_dtype", "numbers as text (a numpy or pandas string dtype)",
            lambda v: _retype(v, lambda a: a.astype(str)), "<U32",
            # pandas 2 keeps text in object columns, which are read value by value and named by the first.
            lambda e: Raises(TypeError, rf"^{ARG[e]} holds (text \(dtype (<U32|str)\), not numbers; convert it with "
                                        rf"{ARG[e]}\.astype\(float\)|'[0-9.]+' \(str\) at .*, text, not a number\. "
                                        rf"Convert {ARG[e]} to numbers)"),
            _forecaster_dtype("(str|object)", r"Convert them \(pd\.to_numeric\)"),
        ),
        _dtype_case(
            "complex_dtype", "complex numbers",
            lambda v: _retype(v, lambda a: a.astype(complex)), "complex128",
            lambda e: Raises(ValueError if e in WINDOWS or e == "RNNRegressor.score" else TypeError,
                             rf"^Complex data not supported: {ARG[e]} has dtype complex128; pass real numbers"),
            _forecaster_dtype("complex128", r"Convert them or drop them; '\w+' hold\(s\) complex numbers"),
        ),
        _dtype_case(
            "bool_dtype", "booleans (accepted as 0 and 1 where scikit-learn accepts them)",
            lambda v: _retype(v, lambda a: a > np.median(a)), "bool",
            lambda e: Accepts(),
            _forecaster_dtype("bool", r"Convert them or drop them; '\w+' hold\(s\) booleans: \.astype\(float\)"),
        ),
        _dtype_case(
            "datetime_dtype", "timestamps as values",
            lambda v: _retype(v, _as_datetimes), r"datetime64\[D\]",
            lambda e: Raises(TypeError, rf"^{ARG[e]} holds timestamps \(dtype datetime64\[\w+\]\), not numbers; "
                                        "pass the values"),
            _forecaster_dtype(r"datetime64\[\w+\]", r"Convert them \(pd\.to_numeric\)"),
        ),
        case(
            "non_contiguous", "valid data in a non-contiguous view: accepted, same result as a contiguous copy",
            _each(ARRAYS, on_aligned(lambda v: _rewrap(v, _strided)), Accepts(same=True)),
        ),
        case(
            "read_only", "valid data that is read-only (a read-only CSV file): accepted, same result",
            _each(ARRAYS, on_aligned(lambda v: _rewrap(v, _read_only)), Accepts(same=True)),
            _each([*COMMANDS, *LOAD], _read_only_file, Accepts(same=True)),
        ),
        case(
            "mismatched_lengths", "arguments whose lengths disagree (a CSV row with an extra field)",
            _each(FORWARD, on("h0", lambda v: v[:-1]),
                  Raises(ValueError, r"^`h0` must have shape \(batch, hidden\) = \(8, 3\); got \(7, 3\)")),
            _each(BACKWARD, on("d_h_T", lambda v: v[:-1]),
                  Raises(ValueError, r"^`d_h_T` must have shape \(batch, hidden\) = \(8, 3\); got \(7, 3\)")),
            _each(["RNNRegressor.fit", "RNNRegressor.score"], on("y", lambda v: v[:-1]),
                  Raises(ValueError, r"^X has 138 samples \(windows\) but y has 137; give one row of y per window")),
            _each(["RNNRegressor.predict"], on("X", lambda v: v[:, :5]),
                  Raises(ValueError, r"^X has 5 features, but RNNRegressor is expecting 6 features")),
            _each(["RNNClassifier.fit", "RNNClassifier.score"], on("y", lambda v: v[:-1]),
                  Raises(ValueError, r"^X has 138 sequences but y has 137 labels; give one label per sequence")),
            _each(["RNNClassifier.predict_proba"], on("X", lambda v: v[:, :5]),
                  Raises(ValueError, r"^X has 5 features, but RNNClassifier is expecting 6 features")),
            _each(["RNNForecaster.fit"], on("X", lambda v: v.iloc[:-1]),
                  Raises(ValueError, r"^X has 119 rows but y has 120; they must align")),
            _each(FORECASTER_X, setting(horizon=2),
                  Raises(ValueError, r"^horizon=2 but X has 3 rows; give one of them, or make them agree")),
            _each(["RNNForecaster.update"], on("y", lambda v: v.iloc[:-1]),
                  Raises(ValueError, r"^X has 3 rows but y has 2; they must align")),
            _each(["RNNForecaster.score"], on("y", lambda v: v.iloc[:-1]),
                  Raises(ValueError, r"^y has 2 row\(s\) of 1 column\(s\), but the forecast of X has 3 step\(s\) of 1 "
                                     r"target\(s\); pass the actual values of exactly the steps forecast")),
            _each(["make_windows"], custom(lambda ctx, i: {**i, "X": np.ones(len(i["y"]) - 1)}),
                  Raises(ValueError, r"^X must have shape \(144, k\) to align with y; got \(143, 1\)")),
            _each(PAIR_METRICS, on("y_pred", lambda v: v[:-1]),
                  Raises(ValueError, r"^y_true and y_pred must have one shape; got \(12,\) and \(11,\)")),
            _each(["interval_coverage"], on("lower", lambda v: v[:-1]),
                  Raises(ValueError, r"^y_true and lower must have one shape; got \(12,\) and \(11,\)")),
            _each(["interval_width"], on("upper", lambda v: v[:-1]),
                  Raises(ValueError, r"^lower and upper must have one shape; got \(12,\) and \(11,\)")),
            _each(["backtest"], custom(lambda ctx, i: {**i, "X": pd.DataFrame({"x": 0.0}, index=i["y"].index[:-5])}),
                  Raises(ValueError, r"^X has 139 rows but y has 144; give the covariates of every step of y")),
            _each(COMMANDS, csv(raw=_extra_field()), Exits(2, r"cannot read .*\.csv as CSV: Error tokenizing data")),
        ),
        case(
            "duplicate_timestamps", "a timestamp repeated",
            _each(["RNNForecaster.fit", "make_windows", "backtest"], on_aligned(lambda v: _reindex(v, _repeat_label)),
                  Raises(ValueError, r"^y's index repeats \d{4}-\d\d-\d\d; aggregate or drop the duplicates")),
            _each(FORECASTER_X, on_aligned(lambda v: _reindex(v, _repeat_label)),
                  Raises(ValueError, r"^X's index must be consecutive steps \(frequency D\) after the series")),
            _each(["RNNForecaster.update"], on_aligned(lambda v: _reindex(v, _repeat_label)),
                  Raises(ValueError, r"^the new observations must directly follow the fitted series, .*: y's index "
                                     r"has Timestamp\('2011-05-01 00:00:00'\) where Timestamp\('2011-05-02")),
            _each(["RNNForecaster.score"], on("y", lambda v: _reindex(v, _repeat_label)),
                  Raises(ValueError, r"^y's index must be the forecast steps, .*; it has Timestamp\('2011-05-01")),
            _each(COMMANDS, csv(lambda f: f.assign(month=lambda g: g.month.where(g.index != 72, g.month[71]))),
                  Exits(2, r"the time column 'month' repeats 1954-12-01; aggregate or drop the duplicates")),
        ),
        case(
            "unsorted_timestamps", "two rows out of time order",
            _each(["RNNForecaster.fit", "make_windows", "backtest"], on_aligned(_swap),
                  Raises(ValueError, r"^y's index is not sorted: .* comes after .*; sort by time first")),
            _each(FORECASTER_X, on_aligned(_swap),
                  Raises(ValueError, r"^X's index must be consecutive steps \(frequency D\) after the series")),
            _each(["RNNForecaster.update"], on_aligned(_swap),
                  Raises(ValueError, r"^the new observations must directly follow the fitted series, .*: y's index "
                                     r"has Timestamp\('2011-05-02 00:00:00'\) where Timestamp\('2011-05-01")),
            _each(["RNNForecaster.score"], on("y", _swap),
                  Raises(ValueError, r"^y's index must be the forecast steps, .*; it has Timestamp\('2011-05-02")),
            _each(COMMANDS, csv(_swap),
                  Exits(2, r"the time column 'month' is not sorted: 1954-12-01 comes after 1955-01-01; sort by time")),
        ),
        case(
            "missing_timestamp", "a step missing from a regular series",
            _each(["RNNForecaster.fit", "make_windows", "backtest"], on_aligned(lambda v: v.drop(v.index[_middle(v)])),
                  Raises(ValueError, r"^y's index is not evenly spaced at frequency (D|MS): .* is followed by .*, "
                                     r"expected .*\. Add the missing steps")),
            _each(FORECASTER_X, on_aligned(lambda v: _reindex(v, _skip_step)),
                  Raises(ValueError, r"^X's index must be consecutive steps \(frequency D\) after the series")),
            _each(["RNNForecaster.update"], on_aligned(lambda v: _reindex(v, _skip_step)),
                  Raises(ValueError, r"^the new observations must directly follow the fitted series, .*: y's index "
                                     r"has Timestamp\('2011-05-03 00:00:00'\) where Timestamp\('2011-05-02")),
            _each(["RNNForecaster.score"], on("y", lambda v: _reindex(v, _skip_step)),
                  Raises(ValueError, r"^y's index must be the forecast steps, .*; it has Timestamp\('2011-05-03")),
            _each(COMMANDS, csv(lambda f: f.drop(index=72)),
                  Exits(2, r"the series has a gap at 1955-01-01, a timestamp missing from the file; fill (them|gaps) "
                           r"with --fill linear or --fill ffill")),
        ),
        case(
            "mixed_time_zones", "timestamps in two time zones (CSV: two UTC offsets)",
            _per_entry(lambda e: Raises(ValueError, rf"^{ARG[e]}'s index mixes time zones \(America/New_York, UTC\); "
                                                    r"put every timestamp in one zone"),
                       [name for name in SERIES if name != "RNNForecaster.score"],
                       on_aligned(lambda v: _reindex(v, _mix_zones))),
            _each(["RNNForecaster.score"], on("y", lambda v: _reindex(v, _mix_zones)),
                  Raises(ValueError, r"^y's index mixes time zones \(America/New_York, UTC\)")),
            _each(COMMANDS, csv(lambda f: f.assign(month=[m + ("T00:00+01:00" if i % 2 else "T00:00+02:00")
                                                          for i, m in enumerate(f.month)])),
                  Exits(2, r"tried 'month' \(its timestamps mix UTC offsets \(\+01:00, \+02:00\); write them all "
                           r"with one offset, or all without\)")),
        ),
        case(
            "naive_and_aware", "aware (UTC) timestamps where naive ones are expected (CSV: some with an offset)",
            _each(["RNNForecaster.fit", "make_windows", "backtest"], _naive_companion,
                  Raises(ValueError, r"^X's index is naive \(no time zone\), but y's index is in time zone UTC; "
                                     r"X\.tz_localize\('UTC'\)")),
            _each(FORECASTER_X, on_aligned(lambda v: _reindex(v, lambda i: i.tz_localize("UTC"))),
                  Raises(ValueError, r"^X's index is in time zone UTC, but the fitted series' index is naive \(no time "
                                     r"zone\); X\.tz_localize\(None\)")),
            _each(["RNNForecaster.update"], on_aligned(lambda v: _reindex(v, lambda i: i.tz_localize("UTC"))),
                  Raises(ValueError, r"^y's index is in time zone UTC, but the fitted series' index is naive")),
            _each(["RNNForecaster.score"], on("y", lambda v: _reindex(v, lambda i: i.tz_localize("UTC"))),
                  Raises(ValueError, r"^y's index is in time zone UTC, but the forecast's index is naive")),
            _each(COMMANDS, csv(lambda f: f.assign(month=[m + ("T00:00+00:00" if i % 2 else "")
                                                          for i, m in enumerate(f.month)])),
                  Exits(2, r"tried 'month' \(its timestamps mix UTC offsets \(\+00:00, none\); write them all "
                           r"with one offset, or all without\)")),
        ),
        case(
            "window_zero", "a window of 0 steps",
            _each(FORWARD, on("x", lambda v: v[:, :0]), Raises(ValueError, r"^`x` must be a non-empty array")),
            _each(WINDOWS, on("X", lambda v: v[:, :0]),
                  Raises(ValueError, r"^X has windows of 0 steps or features: .*Cut windows of at least one step")),
            _each(["RNNForecaster.fit", "backtest"], params(window=0),
                  Raises(ValueError, r"^`window` must be an int >= 1 or None; got 0")),
            _each(["make_windows"], setting(window=0), Raises(ValueError, r"^`window` must be an int >= 1; got 0")),
            _each(COMMANDS, options(replace={"--window": "0"}),
                  Exits(2, r"argument --window: expected a whole number >= 1; got '0'")),
        ),
        case(
            "window_too_long", "a window longer than the data",
            _each(["RNNForecaster.fit"], params(window=500),
                  Raises(ValueError, r"^y has 120 observations, too few for window=500, horizon=3: .*shorter window")),
            _each(["backtest"], params(window=500),
                  Raises(ValueError, r"^y has 132 observations, too few for window=500, horizon=6: .*shorter window")),
            _each(["make_windows"], setting(window=500),
                  Raises(ValueError, r"^y has 144 values; window=500 and horizon=3 need at least 503\. Use a shorter")),
            _each(COMMANDS, options(replace={"--window": "1000"}),
                  Exits(2, r"y has \d+ observations, too few for window=1000, horizon=3: .*a shorter window")),
        ),
        case(
            "horizon_zero", "a horizon of 0 steps",
            _each(["RNNRegressor.fit"], on("y", lambda v: v[:, None][:, :0]),
                  Raises(ValueError, r"^y has 0 outputs \(shape \(138, 0\)\); give at least one target")),
            _each(["RNNForecaster.fit"], params(horizon=0), Raises(ValueError, HORIZON_ZERO)),
            _each([*FORECASTER_X, "make_windows"], setting(horizon=0), Raises(ValueError, HORIZON_ZERO)),
            _each(["backtest"], setting(cv=(132, 6, 0)), Raises(ValueError, HORIZON_ZERO)),
            _each(COMMANDS, options(replace={"--horizon": "0"}),
                  Exits(2, r"argument --horizon: expected a whole number >= 1; got '0'")),
        ),
        case(
            "horizon_too_long", "a horizon longer than the data (predict: as long as the covariates given, accepted)",
            _each(["RNNForecaster.fit"], params(horizon=500),
                  Raises(ValueError, r"^y has 120 observations, too few for window=7, horizon=500: .*shorter horizon")),
            _each(["RNNForecaster.predict"], custom(lambda ctx, i: {**i, "X": _future(ctx, 500)}), Accepts()),
            _each(["RNNForecaster.predict_interval"], custom(lambda ctx, i: {**i, "X": _future(ctx, 10)}),
                  Raises(ValueError, r"^intervals are calibrated for the 3 steps after the series \(the `horizon` "
                                     r"parameter\); asked for 10\. Ask for at most 3, or fit with horizon=10")),
            _each(["make_windows"], setting(horizon=500),
                  Raises(ValueError, r"^y has 144 values; window=12 and horizon=500 need at least 512\. Use a")),
            _each(["backtest"], setting(cv=(132, 6, 500)),
                  Raises(ValueError, r"^initial=132 and horizon=500 need 632 observations; got 144\. Use a smaller")),
            _each(["tsrnn forecast"], options(replace={"--horizon": "1000"}),
                  Exits(2, r"too few for window=4, horizon=1000: .*a shorter horizon")),
            _each(["tsrnn backtest"], options(replace={"--horizon": "1000"}),
                  Exits(2, r"2 fold\(s\) of 1000 step\(s\) need more than 2000 observations .*a shorter --horizon")),
        ),
        case(
            "negative_learning_rate", "learning_rate=-0.1",
            _each(FITS, params(learning_rate=-0.1),
                  Raises(ValueError, r"^`learning_rate` must be a float > 0\.0; got -0\.1")),
        ),
        case(
            "hidden_size_zero", "hidden_size=0 (kernels: weights for 0 hidden units)",
            _each(FORWARD, custom(lambda ctx, i: {**i, **{k: i[k][:0] for k in ("w_ih", "b_ih", "b_hh")},
                                                  "w_hh": i["w_hh"][:0, :0]}),
                  Raises(ValueError, r"^`w_hh` must have shape \(\d \* hidden, hidden\) with hidden >= 1; got "
                                     r"\(0, 0\)")),
            _each(FITS, params(hidden_size=0), Raises(ValueError, r"^`hidden_size` must be an int >= 1; got 0")),
        ),
        case(
            "batch_size_too_large", "batch_size=10000, above the number of windows: clipped, with a UserWarning",
            _each(FITS, params(batch_size=10000),
                  Accepts(warns=UserWarning, match=r"^batch_size=10000 is larger than the \d+ training windows; it is "
                                                   r"clipped to \d+, one batch per epoch\. Set batch_size <= \d+")),
        ),
        case(
            "bptt_steps_zero", "bptt_steps=0 (truncated backpropagation through no step)",
            _each(BACKWARD, setting(bptt_steps=0),
                  Raises(ValueError, r"^`bptt_steps` must be None or an int >= 1; got 0")),
            _each(FITS, params(bptt_steps=0), Raises(ValueError, r"^`bptt_steps` must be an int >= 1 or None; got 0")),
        ),
        case(
            "csv_missing_column", "a column named that the CSV does not have",
            _each(COMMANDS, options("--target", "visitors"),
                  Exits(2, r"no column 'visitors' for --target; the columns are \['month', 'passengers'\]")),
        ),
        case(
            "csv_bad_date", "a date that does not parse (1954-13-45)",
            _each(COMMANDS, csv(lambda f: f.assign(month=lambda g: g.month.where(g.index != 72, "1954-13-45"))),
                  Exits(2, r"found no column of dates or years; tried 'month' \(time data \"1954-13-45\" doesn't match "
                           r"format .*\)\. Name the time column with --time-col")),
        ),
        case(
            "csv_non_numeric", "a value that is not a number ('abc')",
            _each(COMMANDS, csv(lambda f: f.astype({"passengers": object}).assign(
                passengers=lambda g: g.passengers.where(g.index != 72, "abc"))),
                  Exits(2, r"no numeric column to forecast \(the target column 'passengers' is not numeric: 'abc' is "
                           r"not a number\); name the target with --target")),
        ),
        case(
            "lengths_mismatch", "lengths= that do not match the padded sequences (one entry too few)",
            _each(FORWARD, custom(lambda ctx, i: {**i, "lengths": np.full(len(i["x"]) - 1, 6)}),
                  Raises(ValueError, r"^`lengths` must have one entry per sequence, shape \(8,\); got shape \(7,\)\. "
                                     r"Give each sequence's number of real steps")),
            _each(CLASSIFIER_ENTRIES, custom(lambda ctx, i: {**i, "lengths": np.full(len(i["X"]) - 1, 6)}),
                  Raises(ValueError, r"^`lengths` must have one entry per sequence, shape \(138,\); got shape "
                                     r"\(137,\)\. Give each sequence's number of real steps")),
        ),
        case(
            "lengths_beyond_padding", "a length longer than the padded sequences (7 of 6 steps)",
            _each(FORWARD, custom(lambda ctx, i: {**i, "lengths": np.full(len(i["x"]), 7)}),
                  Raises(ValueError, r"^`lengths\[0\]` is 7, but every length must be between 1 and the 6 steps")),
            _each(CLASSIFIER_ENTRIES, custom(lambda ctx, i: {**i, "lengths": np.full(len(i["X"]), 7)}),
                  Raises(ValueError, r"^`lengths\[0\]` is 7, but every length must be between 1 and the 6 steps")),
        ),
        case(
            "empty_sequence", "a list of sequences, the first of them empty",
            _each(CLASSIFIER_ENTRIES, custom(lambda ctx, i: {**i, "X": [w[:0] if k == 0 else w for k, w in
                                                                       enumerate(ctx.sequences)]}),
                  Raises(ValueError, r"^X\[0\] is an empty sequence \(shape \(0,\)\): every sequence needs at least "
                                     r"one step\. Drop it, and its label")),
        ),
        case(
            "csv_empty_file", "an empty file",
            _each(COMMANDS, csv(raw=b""), Exits(2, r"\.csv is empty$")),
            _each(LOAD, csv(raw=b""), Raises(ValueError, r"^cannot load .*\.csv: the file is empty")),
        ),
        case(
            "csv_random_bytes", "random bytes",
            _each(COMMANDS, csv(raw=_random_bytes()), Exits(2, r"cannot read .*\.csv as CSV: it is not UTF-8 text")),
            _each(LOAD, csv(raw=_random_bytes()), Raises(ValueError, NOT_A_ZIP)),
        ),
        case(
            "csv_png", "a PNG image",
            _each(COMMANDS, csv(raw=_png()), Exits(2, r"cannot read .*\.csv as CSV: it is not UTF-8 text")),
            _each(LOAD, csv(raw=_png()), Raises(ValueError, NOT_A_ZIP)),
        ),
        case(
            "csv_zip", "a zip archive (of the CSV)",
            _each(COMMANDS, csv(raw=_zip()), Exits(2, r"cannot read .*\.csv as CSV: it is not UTF-8 text")),
            _each(LOAD, csv(raw=_zip()),
                  Raises(ValueError, r"^cannot load .*: not a tsrnn model file: its zip archive holds "
                                     r"'air_passengers\.csv', not model\.json")),
        ),
        case(
            "csv_for_model", "a CSV where a model file is expected",
            _each(LOAD, custom(lambda ctx, i: {**i, "path": ctx.air_csv}), Raises(ValueError, NOT_A_ZIP)),
        ),
        case(
            "not_a_file", "a folder where a file is expected",
            _each(COMMANDS, custom(lambda ctx, i: {**i, "path": ctx.folder}), Exits(2, r" is not a file$")),
            _each(LOAD, custom(lambda ctx, i: {**i, "path": ctx.folder}),
                  Raises(ValueError, r"^cannot load .*: it is a folder, not a model file; pass the path of a file")),
        ),
        case(
            "not_a_path", "a number where a path is expected",
            _each(LOAD, setting(path=3), Raises(TypeError, r"^path must be a str or path-like .*; got int")),
        ),
    ]  # fmt: skip


CASES = _cases()


# ----------------------------------------------------------------------------- observing


def fingerprint(value: Any) -> Any:
    """A summary of ``value`` that changes whenever its contents, dtype, shape, index or flags do."""
    if isinstance(value, np.ndarray):
        flags = (value.flags.writeable, value.flags.c_contiguous, value.flags.f_contiguous)
        data = repr(value.tolist()).encode() if value.dtype == object else np.ascontiguousarray(value).tobytes()
        return ("ndarray", value.dtype.str, value.shape, value.strides, flags, hashlib.sha256(data).hexdigest())
    if isinstance(value, (pd.Series, pd.DataFrame)):
        hashed = pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes()
        dtypes = (str(value.dtype),) if isinstance(value, pd.Series) else tuple(map(str, value.dtypes))
        names = (value.name,) if isinstance(value, pd.Series) else tuple(value.columns)
        index = (repr(value.index), str(value.index.dtype), getattr(value.index, "freq", None))
        return ("pandas", hashlib.sha256(hashed).hexdigest(), dtypes, names, index, value.flags.allows_duplicate_labels)
    if isinstance(value, Path):
        if not value.is_file():
            return ("path", str(value), value.exists())
        return ("file", str(value), value.stat().st_mode, hashlib.sha256(value.read_bytes()).hexdigest())
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (type(value).__name__, *(fingerprint(v) for v in value))
    if isinstance(value, (list, tuple)):
        return tuple(fingerprint(v) for v in value)
    if isinstance(value, dict):
        return {k: fingerprint(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    # Estimators: their whole state.
    return ("object", type(value).__name__, hashlib.sha256(pickle.dumps(value)).hexdigest())


def _fingerprints(inputs: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return {**{name: fingerprint(value) for name, value in inputs.items()}, **fingerprint(ctx.models())}


def normalized(value: Any, ctx: Context) -> Any:
    """A contiguous, writable copy of ``value`` (a writable copy of a file), for the reference result."""
    if isinstance(value, np.ndarray):
        return np.array(value, order="C", copy=True)
    if isinstance(value, (pd.Series, pd.DataFrame)):
        return value.copy(deep=True)
    if isinstance(value, Path) and value.is_file():
        return ctx.write(value.name, value.read_bytes())
    if isinstance(value, dict):
        return {k: normalized(v, ctx) for k, v in value.items()}
    return value


@dataclass
class Observation:
    """What one call did."""

    error: BaseException | None
    result: Any
    caught: list[warnings.WarningMessage]
    changed: list[str]  # the inputs (and models) whose fingerprint changed
    kernel_calls: int
    reference: Any = None
    inputs: dict[str, Any] = field(default_factory=dict)

    def label(self, expect: Expectation) -> str:
        """The outcome as the table shows it."""
        if self.error is not None:
            return type(self.error).__name__
        if isinstance(self.result, CommandResult):
            return "ok" if self.result.status == 0 else f"exit {self.result.status}"
        if isinstance(expect, Accepts) and expect.warns is not None and self.warned(expect):
            return f"ok, {expect.warns.__name__}"
        return "ok"

    def warned(self, expect: Accepts) -> bool:
        return any(
            issubclass(w.category, expect.warns) and re.search(expect.match, str(w.message)) for w in self.caught
        )


def _call(ctx: Context, entry: EntryPoint, inputs: dict[str, Any]) -> tuple[Any, BaseException | None, list, int]:
    with (
        mock.patch.object(_functional, "run_chunks", wraps=_functional.run_chunks) as kernel,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        try:
            return entry.call(ctx, inputs), None, caught, kernel.call_count
        except Exception as error:  # noqa: BLE001 - every exception is an outcome to judge
            return None, error, caught, kernel.call_count


def observe(ctx: Context, case_: Case, entry_name: str) -> Observation:
    """Run one cell (once per context) and record what happened."""
    key = (case_.name, entry_name)
    if key in ctx.observations:
        return ctx.observations[key]
    entry, cell = ENTRIES[entry_name], case_.cells[entry_name]
    inputs = cell.make(ctx, entry.baseline(ctx), entry)
    before = _fingerprints(inputs, ctx)
    result, error, caught, calls = _call(ctx, entry, inputs)
    after = _fingerprints(inputs, ctx)
    changed = [name for name in before if before[name] != after.get(name)]
    reference = None
    if isinstance(cell.expect, Accepts) and cell.expect.same and error is None:
        reference, reference_error, _, _ = _call(ctx, entry, normalized(inputs, ctx))
        if reference_error is not None:
            raise AssertionError(f"the contiguous writable copy failed: {reference_error!r}")
    observation = Observation(error, result, caught, changed, calls, reference, inputs)
    ctx.observations[key] = observation
    return observation


def assert_same(actual: Any, expected: Any) -> None:
    """Assert two results are equal, bit for bit."""
    if isinstance(expected, np.ndarray):
        np.testing.assert_array_equal(actual, expected)
    elif isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(actual, expected, check_exact=True)
    elif isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(actual, expected, check_exact=True)
    elif isinstance(expected, BacktestResult):
        assert_same(actual.forecasts, expected.forecasts)
        assert_same(actual.metrics, expected.metrics)
    elif isinstance(expected, CommandResult):
        assert (actual.status, actual.stdout) == (expected.status, expected.stdout)
    elif isinstance(expected, tuple):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            assert_same(a, e)
    else:
        assert actual == expected or (np.isnan(actual) and np.isnan(expected))


def check(observation: Observation, expect: Expectation) -> None:
    """Assert that an observation is what the cell expects (see the module docstring)."""
    assert not observation.changed, f"the call changed the caller's data in place: {observation.changed}"
    error = observation.error
    if isinstance(expect, Raises):
        assert error is not None, f"accepted; expected {expect.error.__name__} matching {expect.match!r}"
        kind = type(error)
        assert kind is expect.error or (issubclass(kind, expect.error) and kind.__module__.startswith("tsrnn")), (
            f"raised {kind.__module__}.{kind.__name__}, expected {expect.error.__name__}: {error}"
        )
        message = str(error)
        assert not NUMBA_WORDS.search(message), f"a Numba error reached the user: {message}"
        assert re.search(expect.match, message), f"message {message!r} does not match {expect.match!r}"
        assert observation.kernel_calls == 0, "the error came after a kernel ran"
        return
    assert error is None, f"raised {type(error).__name__}: {error}"
    result = observation.result
    if isinstance(expect, Exits):
        assert isinstance(result, CommandResult)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.status == expect.status, f"status {result.status}, stderr {result.stderr!r}"
        assert len(lines) == 1 and lines[0].startswith("tsrnn: error: "), f"stderr: {result.stderr!r}"
        assert "Traceback" not in result.stderr and not NUMBA_WORDS.search(lines[0]), lines[0]
        assert re.search(expect.match, lines[0]), f"{lines[0]!r} does not match {expect.match!r}"
        assert observation.kernel_calls == 0, "the error came after a kernel ran"
        return
    if isinstance(result, CommandResult):
        assert result.status == 0 and result.stderr == "", f"status {result.status}, stderr {result.stderr!r}"
    if expect.warns is not None:
        shown = [f"{w.category.__name__}: {w.message}" for w in observation.caught]
        assert observation.warned(expect), f"no {expect.warns.__name__} matching {expect.match!r}; got {shown}"
    if expect.same:
        assert_same(result, observation.reference)


# --------------------------------------------------------------------------------- table

NOTES = """\
Decisions the table records:

- **Booleans** count as numbers (0 and 1) where scikit-learn counts them: the regressor's `X`
  and `y`, `make_windows` and the metrics. The forecaster's series and covariates must be int
  or float, and its error says to convert them with `.astype(float)`.
- **Complex numbers** raise ValueError in `RNNRegressor`, as scikit-learn's estimator checks
  require ("Complex data not supported"), and TypeError everywhere else.
- **A `batch_size` above the number of training windows** is clipped to it (one batch per
  epoch), with a UserWarning when it was set rather than left at its default, as
  `MLPRegressor` clips its `batch_size` with a warning.
- **R² of a single sample** (`score` with one row) is scikit-learn's: an
  UndefinedMetricWarning, and NaN.
- **Non-contiguous and read-only arrays** are accepted and give the result of a contiguous,
  writable copy, bit for bit; no call changes its inputs (checked by hashing them before and
  after every call, the accepted ones included).
- **The `tsrnn` command** ends with status 2 and one line `tsrnn: error: ...` on stderr for
  every bad input ("exit 2").
"""


def table(ctx: Context) -> str:
    """Render the matrix, each cell the observed outcome, as the Markdown of ``docs/bad_input_matrix.md``."""
    names = [entry.name for entry in ENTRY_POINTS]
    lines = [
        "# Bad-input matrix",
        "",
        f"Generated by `{COMMAND}` from the matrix in `tests/bad_input_matrix.py`,",
        "whose test (`tests/test_bad_input_matrix.py`) fails when this file is out of date.",
        "",
        "Rows are kinds of input, columns the public entry points. A cell is the exception class",
        "raised (its message names the argument and the fix), `ok` where the input is valid and",
        "accepted, `exit 2` where the command line reports it on one line of stderr, and `—` where",
        "the entry point takes no such input.",
        "",
        "| input | " + " | ".join(f"`{name}`" for name in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for case_ in CASES:
        cells = []
        for name in names:
            cell = case_.cells.get(name)
            cells.append("—" if cell is None else observe(ctx, case_, name).label(cell.expect))
        lines.append(f"| `{case_.name}`: {case_.description} | " + " | ".join(cells) + " |")
    counts = sum(len(case_.cells) for case_ in CASES)
    lines += ["", f"{len(CASES)} inputs × {len(names)} entry points; {counts} cells tested.", "", NOTES]
    return "\n".join(lines)


def cells() -> list[tuple[str, str]]:
    """Every (case, entry point) pair of the matrix, in table order."""
    return [(case_.name, name) for case_ in CASES for name in ENTRIES if name in case_.cells]


CASES_BY_NAME = {case_.name: case_ for case_ in CASES}


def main(argv: list[str] | None = None) -> int:
    """Print the table, or write it to a file (``--write docs/bad_input_matrix.md``)."""
    parser = argparse.ArgumentParser(description="Generate the bad-input matrix table.")
    parser.add_argument("--write", metavar="FILE", help="write the table here instead of printing it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        text = table(Context(Path(folder)))
    if args.write:
        Path(args.write).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
