"""The device training arithmetic against the CPU: optimiser steps, clipping, the loss, batches."""

from __future__ import annotations

import numpy as np
import pytest

from tsrnn import optim
from tsrnn._cuda import CudaUnavailableError, require_cuda
from tsrnn.losses import MSE_LOSS, mse_loss

pytestmark = pytest.mark.gpu

try:
    require_cuda()
except CudaUnavailableError as exc:  # only where `-m gpu` asks for a device that is missing
    pytest.skip(str(exc), allow_module_level=True)

from numba import cuda  # noqa: E402

from tsrnn._cuda import optim as dev  # noqa: E402
from tsrnn._cuda._compile import geometry, shrunk_geometry  # noqa: E402
from tsrnn._cuda.losses import DeviceLoss  # noqa: E402

N = 3 * geometry().block + 5  # three full blocks and a partial one
RTOL = {np.float32: 1e-6, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]


def assert_close(actual, expected, dtype):
    """Relative to the largest magnitude: a fused multiply-add on the GPU moves small values by an ulp of the big."""
    expected = np.asarray(expected)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype], atol=RTOL[dtype] * scale)


def problem(dtype, steps, seed=0):
    rng = np.random.default_rng(seed)
    params = rng.standard_normal(N).astype(dtype)
    return params, [rng.standard_normal(N).astype(dtype) for _ in range(steps)]


OPTIMIZERS = [
    (optim.SGD, {"learning_rate": 0.1}),
    (optim.SGD, {"learning_rate": 0.1, "momentum": 0.9}),
    (optim.SGD, {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (optim.Adam, {"learning_rate": 0.05}),
    (optim.Adam, {"learning_rate": 0.05, "weight_decay": 0.1}),
    (optim.Adam, {"learning_rate": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "beta1": 0.3}),
]


def assert_state_close(host, reference, dtype):
    state, expected = host.state_dict(), reference.state_dict()
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, np.ndarray):
            assert_close(state[key], value, dtype)
        else:
            assert state[key] == value, key


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("cls", "kwargs"), OPTIMIZERS)
def test_steps_match_cpu_and_download_round_trips(cls, kwargs, dtype):
    params, grads = problem(dtype, 3)
    reference = cls(params.copy(), **kwargs)
    host = cls(params.copy(), **kwargs)
    device = dev.DeviceOptimizer(host)
    d_params = cuda.to_device(host.params)
    for g in grads[:2]:
        device.step(d_params, cuda.to_device(g))
        reference.step(g)
    assert_close(d_params.copy_to_host(), reference.params, dtype)
    assert host.n_steps == 0  # the host object is untouched until download

    device.download(d_params)
    assert_state_close(host, reference, dtype)
    assert_close(host.params, reference.params, dtype)

    # A changed learning rate reaches both; one more step on the CPU equals one on the device.
    host.learning_rate = reference.learning_rate = 0.02
    device.step(d_params, cuda.to_device(grads[2]))
    host.step(grads[2])
    reference.step(grads[2])
    assert_close(d_params.copy_to_host(), host.params, dtype)
    assert_close(host.params, reference.params, dtype)
    assert device.n_steps == host.n_steps == 3


def test_upload_continues_a_started_optimizer():
    params, grads = problem(np.float64, 2, seed=1)
    reference = optim.SGD(params.copy(), learning_rate=0.1, momentum=0.5)
    host = optim.SGD(params.copy(), learning_rate=0.1, momentum=0.5)
    reference.step(grads[0])
    host.step(grads[0])
    device = dev.DeviceOptimizer(host)  # the buffer is full: no longer the first step
    d_params = cuda.to_device(host.params)
    device.step(d_params, cuda.to_device(grads[1]))
    reference.step(grads[1])
    device.download(d_params)
    assert_state_close(host, reference, np.float64)
    assert_close(host.params, reference.params, np.float64)


def test_flag_skips_the_step():
    params, grads = problem(np.float32, 1)
    host = optim.Adam(params.copy())
    device = dev.DeviceOptimizer(host)
    d_params = cuda.to_device(params)
    flag = cuda.to_device(np.ones(1, np.int32))
    device.step(d_params, cuda.to_device(grads[0]), flag)
    device.download()
    np.testing.assert_array_equal(d_params.copy_to_host(), params)
    np.testing.assert_array_equal(host.exp_avg, 0.0)


def test_device_optimizer_rejects_mismatches():
    params, _ = problem(np.float64, 0)
    device = dev.DeviceOptimizer(optim.SGD(params))
    with pytest.raises(ValueError, match="dtype"):
        device.step(cuda.to_device(params), cuda.to_device(params.astype(np.float32)))
    with pytest.raises(TypeError, match="SGD or Adam"):
        dev.DeviceOptimizer(params)


# ---------------------------------------------------------------------------------- clipping


@pytest.mark.parametrize(("dtype", "ratio"), [(np.float32, 0.3), (np.float64, 0.3), (np.float64, 2.0)])
def test_clip_grad_norm_matches_cpu(dtype, ratio):
    _, (g,) = problem(dtype, 1, seed=2)
    g = g.reshape(N, 1)  # any shape is flattened
    expected = g.copy()
    max_norm = ratio * float(np.linalg.norm(g.astype(np.float64)))
    norm = optim.clip_grad_norm(expected, max_norm)
    d_g, flag = cuda.to_device(g), dev.new_flag()
    d_norm = dev.clip_grad_norm(d_g, max_norm, d_flag=flag, d_workspace=dev.workspace())
    np.testing.assert_allclose(d_norm.copy_to_host()[0], norm, rtol=1e-12)
    assert_close(d_g.copy_to_host(), expected, dtype)
    if ratio > 1:
        np.testing.assert_array_equal(d_g.copy_to_host(), g)
    assert flag.copy_to_host()[0] == 0


@pytest.mark.parametrize(("dtype", "bad"), [(np.float32, np.inf), (np.float64, np.nan)])
def test_clip_grad_norm_flags_non_finite(dtype, bad):
    _, (g,) = problem(dtype, 1, seed=3)
    g[N - 2] = bad
    d_g, flag = cuda.to_device(g), dev.new_flag()
    d_norm = dev.clip_grad_norm(d_g, 1e-3, d_flag=flag)
    expected = optim.clip_grad_norm(g.copy(), 1e-3)
    np.testing.assert_equal(d_norm.copy_to_host()[0], expected)
    assert flag.copy_to_host()[0] == 1
    np.testing.assert_array_equal(d_g.copy_to_host(), g)
    with pytest.raises(ValueError, match="max_norm"):
        dev.clip_grad_norm(d_g, 0.0)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the simulator's float64 squares
def test_clip_grad_norm_survives_overflowing_squares():
    _, (g,) = problem(np.float64, 1, seed=4)
    g *= 1e200
    expected = g.copy()
    norm = optim.clip_grad_norm(expected, 1.0)
    d_g = cuda.to_device(g)
    d_norm = dev.clip_grad_norm(d_g, 1.0)
    np.testing.assert_allclose(d_norm.copy_to_host()[0], norm, rtol=1e-12)
    assert_close(d_g.copy_to_host(), expected, np.float64)


# ------------------------------------------------------------------------------------- loss


@pytest.mark.parametrize(("dtype", "shape"), [(np.float32, (N, 1)), (np.float64, (3, 5, 13))])
def test_mse_loss_matches_cpu_and_accumulates(dtype, shape):
    rng = np.random.default_rng(5)
    batches = [(rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)) for _ in range(2)]
    d_total = cuda.to_device(np.zeros(1))
    flag, workspace = dev.new_flag(), dev.workspace()
    expected = 0.0
    for weight, (pred, true) in zip((shape[0], 3), batches, strict=True):
        loss, grad = mse_loss(pred, true)
        d_grad = cuda.device_array_like(pred)
        DeviceLoss(MSE_LOSS, dtype)(
            cuda.to_device(pred), cuda.to_device(true), d_grad, d_total, weight, d_flag=flag, d_workspace=workspace
        )
        np.testing.assert_array_equal(d_grad.copy_to_host(), grad)
        expected += loss * weight
    np.testing.assert_allclose(d_total.copy_to_host()[0], expected, rtol=RTOL[dtype])
    assert flag.copy_to_host()[0] == 0


def test_mse_loss_flags_non_finite():
    pred = np.zeros(geometry().block + 1, np.float32)
    pred[-1] = np.inf
    d_total, flag = cuda.to_device(np.ones(1)), dev.new_flag()
    DeviceLoss(MSE_LOSS, np.float32)(
        cuda.to_device(pred),
        cuda.to_device(np.zeros_like(pred)),
        cuda.device_array_like(pred),
        d_total,
        1.0,
        d_flag=flag,
    )
    assert flag.copy_to_host()[0] == 1
    assert d_total.copy_to_host()[0] == np.inf


# ----------------------------------------------------------------------------------- determinism


def test_reductions_are_deterministic_with_a_strided_grid():
    # Two blocks walk the vector with a stride: the other shape of the reductions.
    rng = np.random.default_rng(6)
    x = (rng.standard_normal(N) * 10.0 ** rng.integers(-8, 8, N)).astype(np.float32)
    y = rng.standard_normal(N).astype(np.float32)
    results = []
    for _ in range(2):
        with shrunk_geometry(max_blocks=2):
            d_total = cuda.to_device(np.zeros(1))
            DeviceLoss(MSE_LOSS, np.float32)(
                cuda.to_device(x), cuda.to_device(y), cuda.device_array_like(x), d_total, 1.0
            )
            d_norm = dev.clip_grad_norm(cuda.to_device(x), np.inf)
        results.append((d_total.copy_to_host()[0], d_norm.copy_to_host()[0]))
    assert results[0] == results[1]
    np.testing.assert_allclose(results[0][1], optim.clip_grad_norm(x.copy(), np.inf), rtol=1e-12)
    np.testing.assert_allclose(results[0][0], mse_loss(x, y)[0], rtol=1e-6)


# ---------------------------------------------------------------------------------- batches


@pytest.mark.parametrize("shape", [(40, 23), (40, 9, 3)])
def test_gather_rows(shape):
    rng = np.random.default_rng(7)
    src = rng.standard_normal(shape).astype(np.float32)
    index = np.array([39, 0, 5, 5, 17, 2, 38, 11, 20, 7, 1], np.int64)
    d_dst = cuda.device_array((index.size, *shape[1:]), np.float32)
    dev.gather_rows(cuda.to_device(src), cuda.to_device(index), d_dst)
    np.testing.assert_array_equal(d_dst.copy_to_host(), src[index])


def test_gather_rows_time_major():
    rng = np.random.default_rng(8)
    src = rng.standard_normal((40, 9, 3))
    index = np.array([39, 0, 5, 5, 17, 2, 38, 11], np.int64)
    d_dst = cuda.device_array((9, index.size, 3))
    dev.gather_rows_time_major(cuda.to_device(src), cuda.to_device(index), d_dst)
    np.testing.assert_array_equal(d_dst.copy_to_host(), src[index].transpose(1, 0, 2))


def test_gather_rejects_mismatched_shapes():
    d_src = cuda.to_device(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="cannot gather"):
        dev.gather_rows(d_src, cuda.to_device(np.zeros(2, np.int64)), cuda.device_array((3, 3)))
    with pytest.raises(ValueError, match="cannot gather"):
        dev.gather_rows_time_major(
            cuda.to_device(np.zeros((4, 3, 2))), cuda.to_device(np.zeros(2, np.int64)), cuda.device_array((3, 3, 2))
        )
