"""The losses on the GPU agree with the CPU, and train the same models (simulator in CI, GPU with `-m gpu`)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tsrnn import RNNClassifier, RNNForecaster, RNNRegressor
from tsrnn._cuda import CudaUnavailableError, require_cuda
from tsrnn.datasets import load_air_passengers
from tsrnn.losses import LOSSES, Loss

pytestmark = pytest.mark.gpu

try:
    require_cuda()
except CudaUnavailableError as exc:  # only where `-m gpu` asks for a device that is missing
    pytest.skip(str(exc), allow_module_level=True)

from numba import cuda  # noqa: E402

from tsrnn._cuda import optim as dev  # noqa: E402
from tsrnn._cuda._compile import geometry  # noqa: E402
from tsrnn._cuda.losses import DeviceLoss  # noqa: E402

PARAMS = {"mse": [0.0], "mae": [0.0], "huber": [0.4], "pinball": [0.1, 0.5, 0.8]}


@pytest.mark.parametrize("kind", LOSSES)
@pytest.mark.parametrize(("dtype", "shape"), [(np.float32, (geometry().block + 5, 3)), (np.float64, (3, 4, 3))])
def test_device_loss_matches_the_cpu(kind, dtype, shape):
    loss = Loss(kind, PARAMS[kind])
    rng = np.random.default_rng(4)
    pred, true = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    true.reshape(-1)[:3] = pred.reshape(-1)[:3]  # errors of exactly zero
    value, grad = loss(pred, true)
    d_grad, d_total = cuda.device_array_like(pred), cuda.to_device(np.zeros(1))
    flag = dev.new_flag()
    DeviceLoss(loss, dtype)(cuda.to_device(pred), cuda.to_device(true), d_grad, d_total, 2.0, d_flag=flag)
    # The same scalar functions in the same precision: the same gradient bits.
    np.testing.assert_array_equal(d_grad.copy_to_host(), grad)
    # The device sums in float64, the CPU in the working precision.
    np.testing.assert_allclose(d_total.copy_to_host()[0], 2.0 * value, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert flag.copy_to_host()[0] == 0


@pytest.mark.parametrize(("loss", "extra"), [("huber", {"huber_delta": 0.3}), ("pinball", {"quantile": 0.8}),
                                             ("mae", {})])  # fmt: skip
def test_every_loss_trains_on_the_device_like_on_the_cpu(loss, extra):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 4))
    y = 0.5 * X[:, -1] + X[:, -2]
    # One epoch of two steps and a validation: the simulator is slow.
    params = dict(
        hidden_size=3, max_epochs=1, batch_size=16, dtype="float64", random_state=0, validation_fraction=0.25,
        early_stopping=True, loss=loss, **extra,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_cpu = RNNRegressor(device="cpu", **params).fit(X, y)
        on_gpu = RNNRegressor(device="cuda", **params).fit(X, y)
    np.testing.assert_allclose(on_gpu.loss_curve_, on_cpu.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(on_gpu.validation_scores_, on_cpu.validation_scores_, rtol=1e-10)
    np.testing.assert_allclose(on_gpu.network_.params, on_cpu.network_.params, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("strategy", ["mimo", "direct", "seq2seq", "recursive"])
def test_quantile_forecasts_train_on_the_device_like_on_the_cpu(strategy):
    y = load_air_passengers().iloc[-36:]
    # The direct strategy trains a network per step: two steps are enough, the simulator being slow.
    params = dict(
        window=6, horizon=2 if strategy == "direct" else 3, hidden_size=2, max_epochs=1, batch_size=64,
        dtype="float64", random_state=0, early_stopping=True, validation_fraction=0.3, strategy=strategy,
        quantiles=[0.2, 0.9],
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_cpu = RNNForecaster(**params).fit(y)
        on_gpu = RNNForecaster(device="cuda", **params).fit(y)
    np.testing.assert_allclose(on_gpu.loss_curve_, on_cpu.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(on_gpu.network_.params, on_cpu.network_.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(on_gpu.predict_quantiles().to_numpy(), on_cpu.predict_quantiles().to_numpy(), rtol=1e-9)


@pytest.mark.parametrize(("dtype", "rows"), [(np.float32, geometry().block + 5), (np.float64, 7)])
def test_device_cross_entropy_matches_the_cpu(dtype, rows):
    rng = np.random.default_rng(5)
    logits = (rng.standard_normal((rows, 4)) * 3).astype(dtype)
    logits[0] = [1e4, -1e4, 0.0, 1.0]  # the shift by the row's largest logit keeps this finite
    targets = (np.eye(4)[rng.integers(0, 4, rows)] * rng.uniform(0.5, 2.0, (rows, 1))).astype(dtype)
    loss = Loss("cross_entropy")
    value, grad = loss(logits, targets)
    d_grad, d_total = cuda.device_array_like(logits), cuda.to_device(np.zeros(1))
    flag = dev.new_flag()
    DeviceLoss(loss, dtype)(cuda.to_device(logits), cuda.to_device(targets), d_grad, d_total, 3.0, d_flag=flag)
    # The same float64 source; the GPU's exp and log may differ from the CPU's in the last bit.
    np.testing.assert_allclose(d_grad.copy_to_host(), grad, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-12)
    np.testing.assert_allclose(d_total.copy_to_host()[0], 3.0 * value, rtol=1e-12)
    assert flag.copy_to_host()[0] == 0


def test_the_classifier_trains_on_the_device_like_on_the_cpu():
    # Early stopping on accuracy reads the device's validation predictions; the loss is cross-entropy.
    # Sequences of several lengths go to the device with their lengths, gathered per mini-batch.
    rng = np.random.default_rng(1)
    X = rng.standard_normal((20, 4, 2))
    y = np.array(["a", "b", "c"])[(X[:, -1, 0] > 0).astype(int) + (X[:, -1, 1] > 1).astype(int)]
    X = [sequence[:length] for sequence, length in zip(X, rng.integers(1, 5, len(X)), strict=True)]
    params = dict(
        hidden_size=3, max_epochs=2, batch_size=16, dtype="float64", random_state=0, validation_fraction=0.3,
        early_stopping=True, scoring="accuracy", class_weight="balanced",
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_cpu = RNNClassifier(device="cpu", **params).fit(X, y)
        on_gpu = RNNClassifier(device="cuda", **params).fit(X, y)
    np.testing.assert_allclose(on_gpu.loss_curve_, on_cpu.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(on_gpu.validation_scores_, on_cpu.validation_scores_, rtol=1e-10)
    np.testing.assert_allclose(on_gpu.network_.params, on_cpu.network_.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(on_gpu.predict_proba(X), on_cpu.predict_proba(X), rtol=1e-9, atol=1e-12)
