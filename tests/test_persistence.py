"""Model files: save and load round trips, bit for bit, and clear errors for every kind of bad file."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import pickle
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import tsrnn
import tsrnn._cuda as backend
from tsrnn import ModelFileError, RNNForecaster, RNNRegressor, _modelfile, datasets, persistence
from tsrnn._state import StateReader, StateWriter, _recurrent_size
from tsrnn.network import RecurrentNetwork
from tsrnn.persistence import FORMAT_VERSION

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def bike() -> pd.DataFrame:
    return datasets.load_bike_sharing().iloc[-150:]


def quick(**params: Any) -> RNNForecaster:
    return RNNForecaster(**{"hidden_size": 8, "max_epochs": 3, "random_state": 0, **params})


def round_trip(model: Any, tmp_path: Path) -> Any:
    path = tmp_path / "model.tsrnn"
    model.save(path)
    return tsrnn.load(path)


def assert_same(a: Any, b: Any) -> None:
    """Equal bit for bit, index and labels included."""
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    else:
        assert type(a) is type(b)
        np.testing.assert_array_equal(a, b, strict=True)


# ------------------------------------------------------------------------------ round trips


FORECASTERS = {
    "mimo": {"strategy": "mimo"},
    "direct": {"strategy": "direct"},
    "recursive": {"strategy": "recursive"},
    "recursive-sequence-loss": {"strategy": "recursive", "sequence_loss": True, "cell": "gru"},
    "seq2seq": {"strategy": "seq2seq", "cell": "rnn"},
    "calibrated-log": {"calibration_size": 30, "transform": "log"},
    "float64-stacked-bidirectional": {"dtype": "float64", "num_layers": 2, "bidirectional": True},
    "minmax-first-difference-calendar": {"scaler": "minmax", "difference": 1, "calendar_features": True},
    "unscaled-second-difference": {"scaler": None, "difference": 2, "early_stopping": False},
    "sgd-dropout": {"optimizer": "sgd", "num_layers": 2, "dropout": 0.2, "learning_rate": 0.01},
}


@pytest.mark.parametrize("options", FORECASTERS.values(), ids=FORECASTERS.keys())
def test_forecaster_round_trip_predicts_and_trains_on_bit_for_bit(options, passengers, tmp_path):
    model = quick(window=12, horizon=6, **options).fit(passengers.iloc[:-12])
    loaded = round_trip(model, tmp_path)
    assert type(loaded) is RNNForecaster
    assert loaded.get_params() == model.get_params()
    assert_same(loaded.predict(), model.predict())
    assert_same(loaded.predict(horizon=15), model.predict(horizon=15))
    if model.calibration_residuals_ is not None:
        assert_same(loaded.predict_interval(coverage=[0.5, 0.9]), model.predict_interval(coverage=[0.5, 0.9]))
    assert loaded.loss_curve_ == model.loss_curve_ and loaded.n_iter_ == model.n_iter_
    assert loaded.validation_scores_ == model.validation_scores_ and loaded.best_epoch_ == model.best_epoch_
    # New observations after the fitted end, then more training from where each was.
    for forecaster in (model, loaded):
        forecaster.update(passengers.iloc[-12:-6])
    assert_same(loaded.predict(), model.predict())
    for forecaster in (model, loaded):
        forecaster.set_params(warm_start=True, max_epochs=2).fit(passengers)
    assert_same(loaded.predict(), model.predict())
    assert loaded.loss_curve_ == model.loss_curve_


def test_covariates_and_several_targets_round_trip(bike, tmp_path):
    y, X = bike[["cnt", "casual"]], bike[["temp", "hum", "workingday"]]
    for strategy in ("mimo", "seq2seq", "recursive"):
        model = quick(window=14, horizon=7, strategy=strategy, calibration_size=30, calendar_features=["dayofweek"])
        model.fit(X.iloc[:-7], y.iloc[:-7])
        loaded = round_trip(model, tmp_path)
        np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
        assert loaded.n_features_in_ == 3 and loaded.target_names_ == ["cnt", "casual"]
        assert_same(loaded.predict(X.iloc[-7:]), model.predict(X.iloc[-7:]))
        assert_same(loaded.predict_interval(X.iloc[-7:]), model.predict_interval(X.iloc[-7:]))
        with pytest.raises(ValueError, match="pass their future values"):
            loaded.predict()


def test_numpy_targets_round_trip_as_arrays(passengers, tmp_path):
    values = passengers.to_numpy()
    for y in (values, np.stack([values, values[::-1]], axis=1)):
        model = quick(window=12, horizon=4).fit(y)
        assert_same(round_trip(model, tmp_path).predict(), model.predict())


INDEXES = {
    "period": lambda y: y.to_period("M"),
    "range": lambda y: pd.Series(y.to_numpy()),
    "integer-steps": lambda y: pd.Series(y.to_numpy(), index=pd.Index(np.arange(5, 5 + 3 * len(y), 3), name="t")),
    "hourly-tz-seconds": lambda y: pd.Series(
        y.to_numpy(), index=pd.date_range("2021-03-25", periods=len(y), freq="h", tz="Europe/Paris", unit="s")
    ),
    "weekly-utc": lambda y: pd.Series(
        y.to_numpy(), index=pd.date_range("2000", periods=len(y), freq="W-SAT", tz="UTC")
    ),
}


@pytest.mark.parametrize("make", INDEXES.values(), ids=INDEXES.keys())
def test_time_axes_round_trip_exactly(make, passengers, tmp_path):
    y = make(passengers)
    calendar = isinstance(y.index, (pd.DatetimeIndex, pd.PeriodIndex))
    model = quick(window=12, horizon=4, calendar_features=calendar).fit(y.iloc[:-10])
    loaded = round_trip(model, tmp_path)
    assert loaded.axis_ == model.axis_
    forecast = loaded.predict()
    assert_same(forecast, model.predict())
    pd.testing.assert_index_equal(forecast.index, model.predict().index, exact=True)
    for forecaster in (model, loaded):
        forecaster.update(y.iloc[-10:])
    assert_same(loaded.predict(), model.predict())


def test_index_codec_is_exact():
    indexes = [
        pd.RangeIndex(3, 30, 3, name="step"),
        pd.Index(np.array([4, 8, 12], dtype=np.int32), name=7),
        pd.date_range("2020-01-01", periods=5, freq="MS", unit="us", name="month"),
        pd.date_range("2020-10-24", periods=50, freq="h", tz="Europe/Berlin", unit="ns"),  # crosses the DST change
        pd.date_range("2020-01-01", periods=4, freq="15min", tz="UTC", unit="ms"),
        pd.DatetimeIndex(["2020-01-01", "2020-01-03"]).as_unit("s"),  # no frequency
        pd.period_range("2001Q1", periods=6, freq="Q-DEC", name=1.5),
        pd.period_range("2001-01-01", periods=6, freq="D"),
    ]
    for index in indexes:
        writer = StateWriter()
        writer.index("index", index)
        writer.label("last", index[-1])
        meta = json.loads(json.dumps(writer.meta))
        reader = StateReader(meta, writer.arrays, "state")
        pd.testing.assert_index_equal(reader.index("index", len(index)), index, exact=True)
        assert getattr(reader.index("index"), "freq", None) == getattr(index, "freq", None)
        last = reader.label("last")
        assert last == index[-1] and (type(last) is type(index[-1]) or isinstance(last, int))
        assert getattr(last, "unit", None) == getattr(index[-1], "unit", None)


def test_regressor_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    series = datasets.load_nile().to_numpy()
    X, y = tsrnn.make_windows((series - series.mean()) / series.std(), window=8, horizon=2)
    frame = pd.DataFrame(X, columns=[f"lag{j}" for j in range(8)])
    cases = [
        (RNNRegressor(hidden_size=8, max_epochs=3, random_state=0), X, y),
        (RNNRegressor(hidden_size=8, max_epochs=3, random_state=0, normalize_y=False, cell="gru"), X, y[:, 0]),
        (RNNRegressor(hidden_size=8, max_epochs=3, random_state=0, bidirectional=True, dtype="float64"), frame, y),
        (RNNRegressor(hidden_size=8, max_epochs=3, random_state=0, num_layers=2, early_stopping=True),
         rng.standard_normal((40, 5, 3)), rng.standard_normal(40)),
    ]  # fmt: skip
    for model, inputs, targets in cases:
        model.fit(inputs, targets)
        loaded = round_trip(model, tmp_path)
        assert_same(loaded.predict(inputs), model.predict(inputs))
        assert loaded.n_features_in_ == model.n_features_in_
        if isinstance(inputs, pd.DataFrame):
            np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
            with pytest.warns(UserWarning, match="feature names"):
                loaded.predict(X)
        for regressor in (model, loaded):
            regressor.set_params(warm_start=True, max_epochs=2).fit(inputs, targets)
        assert_same(loaded.predict(inputs), model.predict(inputs))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    strategy=st.sampled_from(["mimo", "direct", "recursive", "seq2seq"]),
    cell=st.sampled_from(["lstm", "gru", "rnn"]),
    hidden_size=st.integers(1, 6),
    num_layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    dtype=st.sampled_from(["float32", "float64"]),
    scaler=st.sampled_from(["standard", "minmax", None]),
    difference=st.sampled_from([0, 1, "auto"]),
    horizon=st.integers(1, 4),
    window=st.integers(2, 8),
    length=st.integers(40, 70),
    seed=st.integers(0, 2**16),
)
def test_any_small_configuration_round_trips(tmp_path, strategy, cell, hidden_size, num_layers, bidirectional,
                                             dtype, scaler, difference, horizon, window, length, seed):  # fmt: skip
    rng = np.random.default_rng(seed)
    y = pd.Series(
        np.cumsum(rng.standard_normal(length)) + 10 * np.sin(np.arange(length) / 3),
        index=pd.date_range("2010-01-01", periods=length, freq="D"),
    )
    model = RNNForecaster(
        window=window, horizon=horizon, strategy=strategy, cell=cell, hidden_size=hidden_size, num_layers=num_layers,
        bidirectional=bidirectional and strategy != "seq2seq", dtype=dtype, scaler=scaler, difference=difference,
        max_epochs=2, random_state=seed, dropout=0.1 if num_layers > 1 else 0.0,
    ).fit(y)  # fmt: skip
    loaded = round_trip(model, tmp_path)
    assert_same(loaded.predict(horizon=horizon + 2), model.predict(horizon=horizon + 2))
    for forecaster in (model, loaded):
        forecaster.set_params(warm_start=True, max_epochs=1).fit(y)
    assert_same(loaded.predict(), model.predict())


# ---------------------------------------------------------------------- what comes back


def test_warm_start_after_load_continues_the_random_stream(passengers, tmp_path):
    """Dropout and shuffling draw from the saved generator: training on continues the same draws."""
    model = quick(window=12, horizon=3, num_layers=2, dropout=0.3, batch_size=16, max_epochs=2).fit(passengers)
    loaded = round_trip(model, tmp_path)
    assert loaded._rng.bit_generator.state == model._rng.bit_generator.state
    assert loaded.optimizer_.state_dict()["n_steps"] == model.optimizer_.state_dict()["n_steps"] > 0
    for forecaster in (model, loaded):
        forecaster.set_params(warm_start=True, max_epochs=3).fit(passengers)
    np.testing.assert_array_equal(loaded.network_.params, model.network_.params)
    assert loaded._rng.bit_generator.state == model._rng.bit_generator.state
    # Without the generator state, the continued training would differ.
    fresh = round_trip(model, tmp_path)
    fresh._rng = np.random.default_rng(12345)
    fresh.fit(passengers)
    model.fit(passengers)
    assert not np.array_equal(fresh.network_.params, model.network_.params)


def test_parameters_of_every_type_round_trip(passengers, tmp_path):
    state = np.random.RandomState(7)
    model = quick(window=12, horizon=3, random_state=state, dtype=np.float64, calendar_features=("month",))
    model.fit(passengers)
    loaded = round_trip(model, tmp_path)
    params = loaded.get_params()
    assert params["dtype"] is np.float64 and params["calendar_features"] == ("month",)
    assert isinstance(params["random_state"], np.random.RandomState)
    restored, original = params["random_state"].get_state(), state.get_state()
    assert restored[0] == original[0] and restored[2:] == original[2:]
    np.testing.assert_array_equal(restored[1], original[1])
    # The same precision as a numpy dtype rather than a scalar type: stored in that form.
    assert isinstance(loaded.set_params(dtype=np.dtype("float64")).get_params()["dtype"], np.dtype)
    dtype = round_trip(loaded, tmp_path).get_params()["dtype"]
    assert dtype == np.dtype("float64") and isinstance(dtype, np.dtype)


def test_loaded_models_clone_pickle_and_fit_like_any_other(passengers, tmp_path):
    model = quick(window=12, horizon=3).fit(passengers)
    loaded = round_trip(model, tmp_path)
    assert clone(loaded).get_params() == model.get_params()
    assert_same(clone(loaded).fit(passengers).predict(), model.predict())
    assert_same(pickle.loads(pickle.dumps(loaded)).predict(), model.predict())
    assert_same(round_trip(pickle.loads(pickle.dumps(model)), tmp_path).predict(), model.predict())


def test_an_unfitted_model_round_trips_unfitted(tmp_path):
    for model in (RNNForecaster(horizon=5, strategy="direct"), RNNRegressor(hidden_size=3)):
        loaded = round_trip(model, tmp_path)
        assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
        assert not hasattr(loaded, "network_")


def test_files_are_deterministic_and_written_whole(passengers, tmp_path):
    model = quick(window=12, horizon=3).fit(passengers)
    first, second = tmp_path / "a.tsrnn", tmp_path / "b.tsrnn"
    model.save(first)
    model.save(str(second))
    assert first.read_bytes() == second.read_bytes()
    model.save(first)  # replaces the file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tsrnn", "b.tsrnn"]
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist() == ["model.json", "arrays.npz", "SHA256SUMS"]
        document = json.loads(archive.read("model.json"))
        with np.load(io.BytesIO(archive.read("arrays.npz")), allow_pickle=False) as arrays:
            assert sorted(arrays.files) == sorted(document["arrays"])
    assert document["format_version"] == FORMAT_VERSION and document["estimator"] == "RNNForecaster"
    assert document["versions"]["tsrnn"] == tsrnn.__version__ and document["versions"]["numpy"] == np.__version__
    # Only the end of the series that forecasts and updates read is kept.
    window_rows = model.window_ + sum(model.differencing_lags_) + 1
    assert document["arrays"]["fitted.y"]["shape"] == [window_rows, 1]


def test_what_cannot_be_saved_exactly_is_refused(passengers, tmp_path):
    class Custom(RNNForecaster):
        pass

    with pytest.raises(TypeError, match="save writes RNNForecaster, RNNRegressor and RNNClassifier models; got a"):
        Custom().save(tmp_path / "m.tsrnn")
    y = passengers.copy()
    y.index = y.index.rename(("a", "b"))
    with pytest.raises(ValueError, match=r"cannot save an index named \('a', 'b'\)"):
        quick(window=12, horizon=3).fit(y).save(tmp_path / "m.tsrnn")
    assert not any(tmp_path.iterdir())


def test_a_model_for_the_gpu_loads_and_predicts_without_one(passengers, tmp_path, monkeypatch):
    reference = quick(window=12, horizon=3).fit(passengers)
    path = tmp_path / "gpu.tsrnn"
    reference.set_params(device="cuda").save(path)
    reference.set_params(device="cpu")
    monkeypatch.setattr(backend, "simulated", lambda: False)
    monkeypatch.setattr(backend, "_availability", lambda: "no GPU")
    loaded = tsrnn.load(path)
    assert loaded.device == "cuda"
    assert_same(loaded.predict(), reference.predict())


def test_loading_imports_nothing_of_cuda(passengers, tmp_path):
    path = tmp_path / "gpu.tsrnn"
    quick(window=12, horizon=3).fit(passengers).set_params(device="cuda").save(path)
    code = f"""
        import sys
        import tsrnn
        model = tsrnn.load({str(path)!r})
        assert model.device == "cuda"
        cuda = [name for name in sys.modules if name.startswith(("numba.cuda", "numba_cuda", "tsrnn._cuda"))]
        assert not cuda, cuda
    """
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


# -------------------------------------------------------------------------------- bad files


@pytest.fixture(scope="module")
def saved(tmp_path_factory, passengers) -> bytes:
    path = tmp_path_factory.mktemp("saved") / "model.tsrnn"
    quick(window=12, horizon=3, calibration_size=20).fit(passengers).save(path)
    return path.read_bytes()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rebuild(
    data: bytes,
    document: Callable[[dict], None] | None = None,
    arrays: Callable[[dict], None] | None = None,
    resum: bool = True,
    npy: Callable[[dict], None] | None = None,
    npz_compression: int = zipfile.ZIP_STORED,
) -> bytes:
    """Edit a saved file's JSON and/or arrays, rewriting the checksums to match when ``resum``.

    ``npy`` edits the ``.npy`` members of ``arrays.npz`` as bytes, rezipped with ``npz_compression``.
    """
    parts = members(data)
    if document is not None:
        doc = json.loads(parts["model.json"])
        document(doc)
        parts["model.json"] = json.dumps(doc).encode()
    if npy is not None:
        raw = members(parts["arrays.npz"])
        npy(raw)
        parts["arrays.npz"] = _zip(raw, npz_compression)
    if arrays is not None:
        with np.load(io.BytesIO(parts["arrays.npz"])) as npz:
            values = dict(npz)
        arrays(values)
        buffer = io.BytesIO()
        np.savez(buffer, **values)
        parts["arrays.npz"] = buffer.getvalue()
    if resum:
        parts["SHA256SUMS"] = "".join(
            f"{hashlib.sha256(parts[name]).hexdigest()}  {name}\n" for name in ("model.json", "arrays.npz")
        ).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def load_bytes(data: bytes, tmp_path: Path) -> Any:
    path = tmp_path / "bad.tsrnn"
    path.write_bytes(data)
    return tsrnn.load(path)


def flipped(data: bytes, at: int) -> bytes:
    damaged = bytearray(data)
    damaged[at] ^= 0xFF
    return bytes(damaged)


def set_in(path: str, value: Any) -> Callable[[dict], None]:
    """Return an edit of the JSON that sets the field at ``path`` ("params.hidden_size") to ``value``."""

    def edit(doc: dict) -> None:
        # A NUL stands for a dot inside a key ("arrays.fitted\0y.shape").
        *parents, last = (key.replace("\0", ".") for key in path.split("."))
        for key in parents:
            doc = doc[key]
        doc[last] = value

    return edit


BAD_FILES = {
    "empty": (lambda good: b"", r"the file is empty"),
    "text": (lambda good: b"date,value\n2020-01-01,3\n", r"not a tsrnn model file: it is not a zip archive"),
    "other-zip": (
        lambda good: _zip({"notes.txt": b"hello"}),
        r"not a tsrnn model file: its zip archive holds 'notes.txt', not model.json, arrays.npz and SHA256SUMS",
    ),
    "other-json": (
        lambda good: _zip({"model.json": b'{"a": 1}', "arrays.npz": b"", "SHA256SUMS": b""}),
        r"not a tsrnn model file: model.json does not say \"format\": \"tsrnn-model\"",
    ),
    "truncated": (
        lambda good: good[: len(good) // 2],
        r"the file is truncated or damaged: its zip archive cannot be read",
    ),
    "last-byte-cut": (lambda good: good[:-1], r"truncated or damaged"),
    "byte-flipped-in-the-middle": (lambda good: flipped(good, len(good) // 2), r"the file is damaged or truncated"),
    "json-edited": (
        lambda good: rebuild(good, set_in("params.hidden_size", 16), resum=False),
        r"checksum mismatch: the sha256 of model.json is not the one SHA256SUMS records",
    ),
    "arrays-edited": (
        lambda good: rebuild(good, arrays=lambda a: a["fitted.y"].__setitem__((0, 0), 1.0), resum=False),
        r"checksum mismatch: the sha256 of arrays.npz",
    ),
    "sums-removed": (
        lambda good: _zip({k: v for k, v in members(good).items() if k != "SHA256SUMS"}),
        r"damaged or truncated: its zip archive holds 'model.json', 'arrays.npz', not",
    ),
    "newer-format": (
        lambda good: rebuild(good, set_in("format_version", FORMAT_VERSION + 1), resum=False),
        rf"unknown format version {FORMAT_VERSION + 1}: this tsrnn \({tsrnn.__version__}\) reads format versions "
        rf"up to {FORMAT_VERSION}; upgrade tsrnn",
    ),
    "not-json": (
        lambda good: _resummed({**members(good), "model.json": b"{not json"}),
        r"model.json is not valid JSON",
    ),
    "json-list": (lambda good: _resummed({**members(good), "model.json": b"[1, 2]"}), r"must hold a JSON object"),
    "invalid-parameter": (
        lambda good: rebuild(good, set_in("params.hidden_size", -1)),
        r"parameter invalid: `hidden_size` must be an int >= 1; got -1",
    ),
    "parameter-of-wrong-type": (
        lambda good: rebuild(good, set_in("params.strategy", ["mimo"])),
        r"parameter invalid: `strategy` must be one of",
    ),
    "parameters-that-conflict": (
        lambda good: rebuild(good, set_in("params.sequence_loss", True)),
        r"parameter invalid: sequence_loss=True needs strategy='recursive'",
    ),
    "unknown-parameter": (
        lambda good: rebuild(good, set_in("params.colour", "red")),
        r"parameter invalid: RNNForecaster has no parameter `colour`",
    ),
    "unknown-estimator": (
        lambda good: rebuild(good, set_in("estimator", "RNNTransformer")),
        r"estimator kind 'RNNTransformer' unknown: this tsrnn loads RNNForecaster, RNNRegressor and RNNClassifier",
    ),
    "shape-edited": (
        lambda good: rebuild(good, set_in("arrays.fitted\0y.shape", [3, 1])),
        r"array 'fitted.y' has shape \(25, 1\), expected \(3, 1\) \(as model.json records\)",
    ),
    "array-resized-consistently": (
        lambda good: rebuild(
            good,
            set_in("arrays.fitted\0network_\0params.shape", [10]),
            arrays=lambda a: a.__setitem__("fitted.network_.params", a["fitted.network_.params"][:10]),
        ),
        r"array 'fitted.network_.params' has shape \(10,\), expected \(\d+,\)",
    ),
    "network-resized": (
        lambda good: rebuild(good, set_in("fitted.network_.hidden_size", 9)),
        r"array 'fitted.network_.params' has shape \(\d+,\), expected \(\d+,\)",
    ),
    "network-of-10**12-layers": (
        # Counted in closed form: a loop over the layers would not end.
        lambda good: rebuild(good, set_in("fitted.network_.num_layers", 10**12)),
        r"array 'fitted.network_.params' has shape \(\d+,\), expected \(\d{15,},\)",
    ),
    "network-of-10**9-units": (
        lambda good: rebuild(good, set_in("fitted.network_.hidden_size", 10**9)),
        r"array 'fitted.network_.params' has shape \(\d+,\), expected \(\d{18,},\)",
    ),
    "feature-names-miscounted": (
        lambda good: rebuild(good, set_in("fitted.feature_names_in_", ["temp"])),
        r"fitted state is inconsistent: 1 feature names for n_features_in_=0",
    ),
    "array-missing": (
        lambda good: rebuild(good, arrays=lambda a: a.pop("fitted.y")),
        r"missing array 'fitted.y'",
    ),
    "array-added": (
        lambda good: rebuild(good, arrays=lambda a: a.__setitem__("fitted.extra", np.zeros(2))),
        r"array 'fitted.extra' of arrays.npz is not listed in model.json",
    ),
    "dtype-changed": (
        lambda good: rebuild(
            good,
            set_in("arrays.fitted\0y.dtype", "<f4"),
            arrays=lambda a: a.__setitem__("fitted.y", a["fitted.y"].astype(np.float32)),
        ),
        r"array 'fitted.y' has dtype float32, expected float64",
    ),
    "nan-in-the-series": (
        lambda good: rebuild(good, arrays=lambda a: a["fitted.y"].__setitem__((0, 0), np.nan)),
        r"array 'fitted.y' holds NaN or infinite values",
    ),
    "object-array": (
        lambda good: rebuild(good, arrays=lambda a: a.__setitem__("fitted.y", np.array([None], dtype=object))),
        r"array 'fitted.y' is not an array of numbers \(its dtype is object\)",
    ),
    "wrong-json-type": (
        lambda good: rebuild(good, set_in("fitted.window_", "12")),
        r"fitted state 'window_' must be an int >= 1; got '12'",
    ),
    "wrong-json-type-nested": (
        lambda good: rebuild(good, set_in("fitted.optimizer_.n_steps", 2.5)),
        r"fitted state 'optimizer_' is not a valid Adam state: `state\['n_steps'\]` must be an int >= 0",
    ),
    "fitted-not-an-object": (
        lambda good: rebuild(good, set_in("fitted", [1, 2])),
        r"fitted state must be a JSON object; got \[1, 2\]",
    ),
    "field-missing": (
        lambda good: rebuild(good, lambda doc: doc["fitted"].pop("axis_")),
        r"fitted state lacks 'axis_'",
    ),
    "generator-state": (
        lambda good: rebuild(good, set_in("fitted.rng.state.inc", -1)),
        r"fitted state 'rng.state.inc' must be an int in \[0, 2\*\*128\)",
    ),
    "time-zone": (
        lambda good: rebuild(good, set_in("fitted.index.dtype", "datetime64[us, Nowhere/Atlantis]")),
        r"fitted state 'index' is not a valid datetime index",
    ),
    "frequency": (
        lambda good: rebuild(good, set_in("fitted.index.freq", "D")),
        r"fitted state 'index' is not a valid datetime index: .*does not conform to passed frequency D",
    ),
    "series-moved": (
        lambda good: rebuild(good, set_in("fitted.axis_\0last.value", 0)),
        r"fitted state is inconsistent: the series ends at Timestamp\('1960-12-01 00:00:00'\), its time axis at",
    ),
    "strategy-changed": (
        lambda good: rebuild(good, set_in("params.strategy", "direct")),
        r"fitted state is inconsistent: 'network_' is a RecurrentNetwork, but strategy='direct' uses a DirectNetworks",
    ),
    # Sizes: nothing larger than the file is decompressed or allocated.
    "member-declaring-4-GiB": (
        lambda good: declaring(good, "model.json", 2**32 - 16),
        r"model.json declares 4294967280 bytes uncompressed, more than the 16777216 a model file's model.json may "
        r"hold; model.save does not write such files",
    ),
    "bzip2-member": (
        lambda good: _zip(members(good), zipfile.ZIP_BZIP2),
        r"model.json is compressed with zip method 12; model files are stored or deflated \(methods 0 and 8\)",
    ),
    "compressed-array": (
        lambda good: rebuild(good, npy=lambda m: None, npz_compression=zipfile.ZIP_DEFLATED),
        r"array '[\w.]+' is compressed inside arrays.npz; model files store their arrays uncompressed",
    ),
    "huge-declared-shape": (
        lambda good: rebuild(
            good,
            set_in("arrays.fitted\0y.shape", [2**40]),
            npy=lambda m: m.__setitem__("fitted.y.npy", npy_header("<f8", (2**40,)) + bytes(16)),
        ),
        r"array 'fitted.y' declares shape \(1099511627776,\) of float64, 8796093022208 bytes, but arrays.npz holds "
        r"16 bytes of it",
    ),
    "array-longer-than-its-shape": (
        lambda good: rebuild(
            good, npy=lambda m: m.__setitem__("fitted.y.npy", npy_header("<f8", (25, 1)) + bytes(8 * 26))
        ),
        r"array 'fitted.y' declares shape \(25, 1\) of float64, 200 bytes, but arrays.npz holds 208 bytes of it",
    ),
    "not-an-npy": (
        lambda good: rebuild(good, npy=lambda m: m.__setitem__("notes.txt", b"hello")),
        r"arrays.npz holds 'notes.txt', which is not a .npy array",
    ),
}


# Parameters edited (checksums rewritten) to describe another model than the fitted state: each is refused.
# The saved model: strategy="mimo", horizon=3, window=12, one target, no covariates, an LSTM of 8 units.
OTHER_MODELS = {
    "cell": ("cell", "gru", r"the network has cell='lstm', but the parameters say cell='gru'"),
    "hidden_size": ("hidden_size", 16, r"the network has hidden_size=8, but the parameters say hidden_size=16"),
    "num_layers": ("num_layers", 2, r"the network has num_layers=1, but the parameters say num_layers=2"),
    "bidirectional": (
        "bidirectional",
        True,
        r"the network has bidirectional=False, but the parameters say bidirectional=True",
    ),
    "activation": (
        "activation",
        "relu",
        r"the network has activation='tanh', but the parameters say activation='relu'",
    ),
    "dropout": ("dropout", 0.5, r"the network has dropout=0.0, but the parameters say dropout=0.5"),
    "dtype": ("dtype", "float64", r"the network has dtype='float32', but the parameters say dtype='float64'"),
    "transform": (
        "transform",
        "log",
        r"the series was fitted with transform=None, but the parameters say transform='log'",
    ),
    "horizon": (
        "horizon",
        5,
        r"the network has 3 outputs, but strategy='mimo' with horizon=5, 1 target\(s\) and 0 covariate and "
        r"calendar feature\(s\) needs 5",
    ),
    "strategy": ("strategy", "recursive", r"the network has 3 outputs, but strategy='recursive' .* needs 1"),
    "scaler": ("scaler", "minmax", r"the targets were scaled with scaler='standard', but the parameters say "),
    "window": ("window", 13, r"the model reads windows of 12 steps, but the parameters say window=13"),
    "calendar_features": (
        "calendar_features",
        ["month"],
        r"the model reads the calendar features \[\], but the parameters say calendar_features=\['month'\]",
    ),
    "calibration_size": (
        "calibration_size",
        None,
        r"the model holds calibration errors, but the parameters say calibration_size=None",
    ),
}


@pytest.mark.parametrize("name, value, message", OTHER_MODELS.values(), ids=OTHER_MODELS.keys())
def test_parameters_that_describe_another_model_are_refused(name, value, message, saved, tmp_path):
    with pytest.raises(ModelFileError, match=r"fitted state is inconsistent: " + message):
        load_bytes(rebuild(saved, set_in(f"params.{name}", value)), tmp_path)


def test_a_model_whose_parameters_changed_since_fit_is_not_saved(passengers, tmp_path):
    model = quick(window=12, horizon=3, max_epochs=1).fit(passengers)
    model.set_params(hidden_size=16)
    with pytest.raises(
        ValueError,
        match=r"cannot save this RNNForecaster: its parameters no longer describe the fitted model \(the network "
        r"has hidden_size=8, but the parameters say hidden_size=16\); fit it again, or set the parameters back",
    ):
        model.save(tmp_path / "m.tsrnn")
    assert not any(tmp_path.iterdir())
    # Parameters that only steer training or prediction may change.
    loaded = round_trip(model.set_params(hidden_size=8, max_epochs=5, learning_rate=0.01, device="cpu"), tmp_path)
    assert loaded.get_params() == model.get_params()


def _zip(parts: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    """The header of a .npy file of this dtype and shape, with no data after it."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def declaring(data: bytes, name: str, size: int) -> bytes:
    """Make the zip archive's central directory declare ``size`` uncompressed bytes for the member ``name``."""
    edited = bytearray(data)
    at = edited.find(b"PK\x01\x02")
    while at >= 0:
        length = int.from_bytes(edited[at + 28 : at + 30], "little")
        if edited[at + 46 : at + 46 + length] == name.encode():
            edited[at + 24 : at + 28] = size.to_bytes(4, "little")
        at = edited.find(b"PK\x01\x02", at + 1)
    return bytes(edited)


def _resummed(parts: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    sums = "".join(f"{hashlib.sha256(parts[n]).hexdigest()}  {n}\n" for n in ("model.json", "arrays.npz"))
    return _zip({**parts, "SHA256SUMS": sums.encode()}, compression)


@pytest.mark.parametrize("make, message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_files_raise_a_clear_model_file_error(make, message, saved, tmp_path):
    data = make(saved)
    with pytest.raises(ModelFileError, match=message) as info:
        load_bytes(data, tmp_path)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(f"cannot load {tmp_path / 'bad.tsrnn'}: ")


def test_a_flipped_byte_anywhere_is_caught_or_changes_nothing(saved, tmp_path):
    expected = load_bytes(saved, tmp_path).predict_interval()
    caught = 0
    for at in range(0, len(saved), max(1, len(saved) // 150)):
        try:
            model = load_bytes(flipped(saved, at), tmp_path)
        except ModelFileError:
            caught += 1
        else:
            # Zip headers hold a few fields no reader checks (timestamps, the writer's version): the model is intact.
            assert_same(model.predict_interval(), expected)
    assert caught > 130


def padded(good: bytes, spaces: int) -> bytes:
    """The file with ``spaces`` spaces after model.json's object (valid JSON), the checksums rewritten."""
    parts = members(good)
    return _resummed({**parts, "model.json": parts["model.json"] + b" " * spaces}, zipfile.ZIP_DEFLATED)


def test_a_zip_bomb_is_refused_before_it_is_decompressed(saved, tmp_path):
    # 64 MiB of spaces deflate to 64 KiB; JSON allows them, and the checksums match.
    bomb = padded(saved, 64 * 2**20)
    assert len(bomb) < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"model.json declares 67\d{6} bytes uncompressed, more than the"):
            load_bytes(bomb, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20
    # Under the limit, the same padding loads.
    assert load_bytes(padded(saved, 2**20), tmp_path).n_iter_ >= 1


@pytest.mark.parametrize(
    "limit, message",
    [
        (
            "MAX_ARRAYS_SIZE",
            r"arrays.npz declares \d+ bytes uncompressed, more than the 1000 a model file's arrays.npz",
        ),
        ("MAX_SUMS_SIZE", r"SHA256SUMS declares \d+ bytes uncompressed, more than the 100 a model file's SHA256SUMS"),
        ("MAX_FILE_SIZE", r"the file is larger than the 1000 bytes a model file may have"),
    ],
)
def test_every_member_and_the_file_have_a_size_limit(limit, message, saved, tmp_path, monkeypatch):
    monkeypatch.setattr(persistence, limit, 100 if limit == "MAX_SUMS_SIZE" else 1000)
    with pytest.raises(ModelFileError, match=message):
        load_bytes(saved, tmp_path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_read_no_further_than_the_limit(monkeypatch):
    monkeypatch.setattr(persistence, "MAX_FILE_SIZE", 2**16)
    with pytest.raises(ModelFileError, match=r"^cannot load /dev/zero: the file is larger than the 65536 bytes"):
        tsrnn.load("/dev/zero")


def test_running_out_of_memory_is_a_model_file_error(saved, tmp_path, monkeypatch):
    def out_of_memory(*args: Any, **kwargs: Any) -> None:
        raise MemoryError

    monkeypatch.setattr(np.lib.format, "read_array", out_of_memory)
    with pytest.raises(ModelFileError, match=r"^cannot load .*: its arrays do not fit in the memory that is free"):
        load_bytes(saved, tmp_path)


def test_save_refuses_what_load_would(passengers, tmp_path, monkeypatch):
    monkeypatch.setitem(_modelfile.MEMBER_LIMITS, "arrays.npz", 1000)
    with pytest.raises(ValueError, match=r"cannot save this model: its arrays.npz would hold \d+ bytes, more than "):
        quick(window=12, horizon=3, max_epochs=1).fit(passengers).save(tmp_path / "m.tsrnn")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_the_parameter_count_of_a_network_is_its_layout(cell):
    for input_size, hidden, layers, bidirectional, outputs in itertools.product(
        (1, 3), (1, 5), (1, 2, 3), (False, True), (0, 2)
    ):
        config = {"hidden_size": hidden, "cell": cell, "num_layers": layers}
        network = RecurrentNetwork(
            input_size, hidden, outputs, cell=cell, num_layers=layers, bidirectional=bidirectional
        )
        assert _recurrent_size(config, input_size, outputs, bidirectional) == network.params.size


def test_a_path_that_does_not_exist(tmp_path):
    with pytest.raises(FileNotFoundError):
        tsrnn.load(tmp_path / "missing.tsrnn")


def test_a_regressor_file_is_checked_too(tmp_path):
    X, y = np.random.default_rng(0).standard_normal((30, 6)), np.arange(30.0)
    path = tmp_path / "regressor.tsrnn"
    RNNRegressor(hidden_size=4, max_epochs=2, random_state=0, features_per_step=2).fit(X, y).save(path)
    good = path.read_bytes()
    # The layout of the columns holds n_step_features_ features per step.
    with pytest.raises(ModelFileError, match=r"'fitted.layout.steps' has shape \(3, 2\), expected \(any, 3\)"):
        load_bytes(rebuild(good, set_in("fitted.n_step_features_", 3)), tmp_path)
    with pytest.raises(
        ModelFileError, match=r"inconsistent: the inputs were scaled with 'window_last', but the parameters say input_"
    ):
        load_bytes(rebuild(good, set_in("params.input_scaling", "standard")), tmp_path)
    with pytest.raises(ModelFileError, match=r"inconsistent: the network has cell='lstm', but the parameters say "):
        load_bytes(rebuild(good, set_in("params.cell", "rnn")), tmp_path)
    with pytest.raises(ModelFileError, match=r"inconsistent: the targets were standardised, but the parameters say "):
        load_bytes(rebuild(good, set_in("params.normalize_y", False)), tmp_path)
    with pytest.raises(ModelFileError, match=r"fitted state 'n_features_in_' must be an int >= 1; got 0"):
        load_bytes(rebuild(good, set_in("fitted.n_features_in_", 0)), tmp_path)
    with pytest.raises(ModelFileError, match=r"inconsistent: 2 feature names for n_features_in_=6"):
        load_bytes(rebuild(good, set_in("fitted.feature_names_in_", ["a", "b"])), tmp_path)
    with pytest.raises(ModelFileError, match=r"array 'fitted.y_mean_' has shape \(2,\), expected \(1,\)"):
        load_bytes(
            rebuild(
                good,
                lambda doc: (
                    set_in("arrays.fitted\0y_mean_.shape", [2])(doc),
                    set_in("arrays.fitted\0y_scale_.shape", [2])(doc),
                ),
                arrays=lambda a: a.update({"fitted.y_mean_": np.zeros(2), "fitted.y_scale_": np.ones(2)}),
            ),
            tmp_path,
        )
