"""The network and its training on the GPU agree with the CPU (simulator in CI, GPU with `-m gpu`).

Training on ``device="cuda"`` uses the same shuffles and mini-batches as on the CPU, so in
float64 the two give the same model up to rounding. Shapes are tiny: the simulator runs every
GPU thread as a Python thread.
"""

import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest

from tsrnn import RNNForecaster, RNNRegressor
from tsrnn.datasets import load_air_passengers
from tsrnn.network import RecurrentNetwork

pytestmark = [
    pytest.mark.gpu,
    # The simulator computes the dropout hash with numpy integers, which warn where GPU integers wrap.
    pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
]

try:
    from tsrnn._cuda import CudaUnavailableError, require_cuda

    require_cuda()
    from numba import cuda

    from tsrnn._cuda.network import DeviceNetwork
except CudaUnavailableError as exc:  # only where `-m gpu` asks for a device that is missing
    pytest.skip(str(exc), allow_module_level=True)


DATASETS = pathlib.Path(__file__).resolve().parents[1] / "datasets"


def _time_major(a):
    return np.ascontiguousarray(a.transpose(1, 0, 2))


@pytest.mark.parametrize(
    ("cell", "layers", "bidirectional", "sequences"),
    [("lstm", 2, True, False), ("gru", 1, False, True), ("rnn", 2, False, False)],
)
def test_device_network_passes_agree_with_cpu(cell, layers, bidirectional, sequences):
    rng = np.random.default_rng(1)
    net = RecurrentNetwork(2, 3, 2, cell=cell, num_layers=layers, bidirectional=bidirectional, dtype=np.float64)
    x = rng.standard_normal((5, 3, 2))
    y, cache = net.forward(x, return_sequences=sequences)
    d_y = rng.standard_normal(y.shape)
    net.backward(d_y, cache, bptt_steps=2)
    device = DeviceNetwork(net)
    y_dev, dev_cache = device.forward(cuda.to_device(_time_major(x)), sequences, keep=True)
    y_dev = y_dev.copy_to_host()
    device.backward(cuda.to_device(_time_major(d_y) if sequences else d_y), dev_cache, sequences, 2)
    np.testing.assert_allclose(_time_major(y_dev) if sequences else y_dev, y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(device.grads.copy_to_host(), net.grads, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("cell", "bidirectional"), [("lstm", True), ("gru", False)])
def test_device_network_with_lengths_agrees_with_cpu(cell, bidirectional):
    rng = np.random.default_rng(2)
    net = RecurrentNetwork(2, 3, 2, cell=cell, num_layers=2, bidirectional=bidirectional, dtype=np.float64)
    x = rng.standard_normal((5, 4, 2))
    lengths = np.array([4, 1, 3, 2, 4])
    y, cache = net.forward(x, lengths=lengths)
    d_y = rng.standard_normal(y.shape)
    net.backward(d_y, cache, bptt_steps=2)
    device = DeviceNetwork(net)
    y_dev, dev_cache = device.forward(cuda.to_device(_time_major(x)), False, keep=True, lengths=cuda.to_device(lengths))
    device.backward(cuda.to_device(d_y), dev_cache, False, 2)
    np.testing.assert_allclose(y_dev.copy_to_host(), y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(device.grads.copy_to_host(), net.grads, rtol=1e-10, atol=1e-12)


def test_dropout_masks_depend_on_the_seed_only():
    net = RecurrentNetwork(1, 4, 1, num_layers=2, dropout=0.5, dtype=np.float64, random_state=0)
    device = DeviceNetwork(net)
    x = cuda.to_device(np.ones((2, 6, 1)))
    first = device.forward(x, False, keep=True, dropout_seed=7)[1].dropout_masks[0].copy_to_host()
    again = device.forward(x, False, keep=True, dropout_seed=7)[1].dropout_masks[0].copy_to_host()
    other = device.forward(x, False, keep=True, dropout_seed=8)[1].dropout_masks[0].copy_to_host()
    np.testing.assert_array_equal(first, again)
    assert set(np.unique(first)) == {0.0, 2.0}
    assert not np.array_equal(first, other)


def test_regressor_trains_on_the_device_like_on_the_cpu():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 4))
    y = 0.5 * X[:, -1] + X[:, -2]
    params = dict(
        hidden_size=3, max_epochs=2, batch_size=16, dtype="float64", random_state=0, validation_fraction=0.25,
        early_stopping=True, clip_norm=1.0, optimizer="adam", weight_decay=1e-3,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_cpu = RNNRegressor(device="cpu", **params).fit(X, y)
        on_gpu = RNNRegressor(device="cuda", **params).fit(X, y)
    np.testing.assert_allclose(on_gpu.loss_curve_, on_cpu.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(on_gpu.validation_scores_, on_cpu.validation_scores_, rtol=1e-10)
    np.testing.assert_allclose(on_gpu.network_.params, on_cpu.network_.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(on_gpu.optimizer_.exp_avg, on_cpu.optimizer_.exp_avg, rtol=1e-8, atol=1e-14)
    assert on_gpu.optimizer_.n_steps == on_cpu.optimizer_.n_steps == 4  # 18 training windows, 2 epochs
    assert isinstance(on_gpu.network_.params, np.ndarray)
    np.testing.assert_allclose(on_gpu.predict(X), on_cpu.predict(X), rtol=1e-9)
    on_gpu.set_params(device="cpu")
    np.testing.assert_allclose(on_gpu.predict(X), on_cpu.predict(X), rtol=1e-9)


def test_forecaster_on_air_passengers_matches_the_cpu():
    y = load_air_passengers().iloc[-48:]  # few windows: the simulator is slow
    params = dict(
        window=12, horizon=6, hidden_size=3, max_epochs=1, batch_size=256, dtype="float64", random_state=0,
        early_stopping=False,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_cpu = RNNForecaster(**params).fit(y)
        on_gpu = RNNForecaster(device="cuda", **params).fit(y)
    forecast = on_gpu.predict()
    np.testing.assert_allclose(forecast.to_numpy(), on_cpu.predict().to_numpy(), rtol=1e-9)
    assert forecast.index.equals(on_cpu.predict().index)


@pytest.mark.parametrize(
    ("strategy", "extra"),
    [
        # Two steps: a network each, of two layers.
        ("direct", {"num_layers": 2, "horizon": 2}),
        ("seq2seq", {"cell": "gru"}),
        ("recursive", {"sequence_loss": True}),
    ],
)
def test_every_strategy_trains_on_the_device_like_on_the_cpu(strategy, extra):
    y = load_air_passengers().iloc[-36:]
    params = {
        "window": 6, "horizon": 3, "hidden_size": 2, "max_epochs": 1, "batch_size": 64, "dtype": "float64",
        "random_state": 0, "early_stopping": True, "validation_fraction": 0.3, "strategy": strategy, **extra,
    }  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_cpu = RNNForecaster(**params).fit(y)
        on_gpu = RNNForecaster(device="cuda", **params).fit(y)
    np.testing.assert_allclose(on_gpu.loss_curve_, on_cpu.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(on_gpu.validation_scores_, on_cpu.validation_scores_, rtol=1e-10)
    np.testing.assert_allclose(on_gpu.network_.params, on_cpu.network_.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(on_gpu.predict().to_numpy(), on_cpu.predict().to_numpy(), rtol=1e-9)


@pytest.mark.parametrize(("cell", "bidirectional"), [("lstm", True), ("gru", False)])
def test_device_network_predicts_a_row_independently_of_the_batch(cell, bidirectional):
    rng = np.random.default_rng(2)
    net = RecurrentNetwork(2, 3, 2, cell=cell, num_layers=2, bidirectional=bidirectional, dtype=np.float32)
    device = DeviceNetwork(net)
    x = rng.standard_normal((6, 3, 2)).astype(np.float32)

    def predict(rows):
        return device.forward(cuda.to_device(_time_major(x[rows])), False, keep=False)[0].copy_to_host()

    full = predict(np.arange(6))
    for rows in (np.array([4]), np.array([5, 0, 3]), np.arange(6)[::-1].copy()):
        np.testing.assert_array_equal(predict(rows), full[rows])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_device_embedding_passes_agree_with_cpu(cell):
    rng = np.random.default_rng(5)
    net = RecurrentNetwork(2, 3, 2, cell=cell, dtype=np.float64, random_state=0, n_series=4, embedding_size=2)
    x = rng.standard_normal((5, 3, 2))
    series = np.array([3, 0, -1, 3, 1])  # series 3 twice, and one the embedding never saw
    y, cache = net.forward(x, series=series)
    d_y = rng.standard_normal(y.shape)
    d_x = net.backward(d_y, cache)
    device = DeviceNetwork(net)
    d_series = cuda.to_device(series)
    y_dev, dev_cache = _device_forward(device, x, d_series)
    d_x_dev = device.backward(cuda.to_device(d_y), dev_cache, False, 0).copy_to_host()
    np.testing.assert_allclose(y_dev.copy_to_host(), y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(device.grads.copy_to_host(), net.grads, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_time_major(d_x_dev), d_x, rtol=1e-10, atol=1e-12)


def _device_forward(device, x, series):
    from tsrnn.network import run_stack

    return run_stack(device, cuda.to_device(_time_major(x)), False, True, None, series=series)


@pytest.mark.parametrize("strategy", ["direct", "seq2seq"])
def test_composite_networks_embed_on_the_device_like_on_the_cpu(strategy):
    from tsrnn._cuda.network import device_model
    from tsrnn.network import DirectNetworks, Seq2SeqNetwork

    rng = np.random.default_rng(6)
    options = {"dtype": np.float64, "random_state": 0, "n_series": 3, "embedding_size": 2, "cell": "gru"}
    x, decoder, series = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 2, 1)), np.array([2, 0, -1, 2])
    if strategy == "direct":
        net = DirectNetworks(2, 2, 3, 1, **options)
        y, cache = net.forward(x, series=series)
        inputs = (cuda.to_device(_time_major(x)), cuda.to_device(series))
    else:
        net = Seq2SeqNetwork(2, 1, 3, 1, **options)
        y, cache = net.forward(x, decoder, series=series)
        inputs = (cuda.to_device(_time_major(x)), cuda.to_device(_time_major(decoder)), cuda.to_device(series))
    d_y = rng.standard_normal(y.shape)
    net.backward(d_y, cache)
    model = device_model(net)
    y_dev, dev_cache = model.forward(inputs, keep=True)
    model.backward(cuda.to_device(_time_major(d_y) if model.time_major_targets else d_y), dev_cache, 0)
    y_dev = y_dev.copy_to_host()
    np.testing.assert_allclose(_time_major(y_dev) if model.time_major_targets else y_dev, y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.grads.copy_to_host(), net.grads, rtol=1e-10, atol=1e-12)


def test_a_global_model_with_an_embedding_trains_on_the_device_like_on_the_cpu():
    frame = pd.read_csv(DATASETS / "tourism_quarterly.csv")
    frame = frame[frame["unique_id"].isin(["Q1", "Q2", "Q3"])].groupby("unique_id", sort=False).head(12)
    params = {
        "window": 3, "horizon": 2, "hidden_size": 2, "max_epochs": 1, "dtype": "float64", "random_state": 0,
        "time_column": "t", "series_embedding": 2, "seasonal_period": 4, "early_stopping": False,
    }  # fmt: skip
    static = pd.DataFrame({"level": [1.0, 2.0, 3.0]}, index=["Q1", "Q2", "Q3"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_cpu = RNNForecaster(**params).fit(frame, static_features=static)
        on_gpu = RNNForecaster(device="cuda", **params).fit(frame, static_features=static)
    np.testing.assert_allclose(on_gpu.loss_curve_, on_cpu.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(on_gpu.network_.params, on_cpu.network_.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(on_gpu.predict()["y"], on_cpu.predict()["y"], rtol=1e-9)
