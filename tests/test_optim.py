"""Optimisers and gradient clipping against numpy references of PyTorch's algorithms."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from tsrnn.optim import SGD, Adam, clip_grad_norm

N = 1000 + 37  # not a multiple of the SIMD width nor of the norm's chunk
STEPS = 6


def problem(dtype=np.float64, n=N, steps=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    params = rng.standard_normal(n).astype(dtype)
    grads = [rng.standard_normal(n).astype(dtype) for _ in range(steps)]
    return params, grads


# ---------------------------------------------------------------- references (float64, as documented)


def reference_sgd(params, grads, lrs, momentum=0.0, nesterov=False, weight_decay=0.0):
    """torch.optim.SGD's documented algorithm with dampening 0."""
    p = params.astype(np.float64)
    buf = None
    for g, lr in zip(grads, lrs, strict=True):
        g = g.astype(np.float64)
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            buf = g.copy() if buf is None else momentum * buf + g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def reference_adam(params, grads, lrs, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False):
    """torch.optim.Adam's (and AdamW's) documented algorithm."""
    p = params.astype(np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, (g, lr) in enumerate(zip(grads, lrs, strict=True), start=1):
        g = g.astype(np.float64)
        if weight_decay != 0:
            if decoupled:
                p = p - lr * weight_decay * p
            else:
                g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p, m, v


def run(optimizer, grads, lrs):
    for g, lr in zip(grads, lrs, strict=True):
        optimizer.learning_rate = lr
        optimizer.step(g)
    return optimizer.params


# A learning-rate schedule changed between steps.
LRS = [0.05, 0.05, 0.02, 0.1, 0.01, 0.03]

SGD_CONFIGS = [
    {},
    {"weight_decay": 0.1},
    {"momentum": 0.9},
    {"momentum": 0.9, "weight_decay": 0.05},
    {"momentum": 0.8, "nesterov": True},
    {"momentum": 0.7, "nesterov": True, "weight_decay": 0.2},
]

ADAM_CONFIGS = [
    {},
    {"beta1": 0.5, "beta2": 0.9, "epsilon": 1e-6},
    {"beta1": 0.7},  # 1 - beta1 >= 0.5: the other branch of torch.lerp
    {"weight_decay": 0.1},
    {"weight_decay": 0.1, "decoupled_weight_decay": True},
    {"beta1": 0.0, "weight_decay": 0.3, "decoupled_weight_decay": True},
]


def adam_reference_kwargs(config):
    return {
        "beta1": config.get("beta1", 0.9),
        "beta2": config.get("beta2", 0.999),
        "eps": config.get("epsilon", 1e-8),
        "weight_decay": config.get("weight_decay", 0.0),
        "decoupled": config.get("decoupled_weight_decay", False),
    }


@pytest.mark.parametrize("config", SGD_CONFIGS, ids=str)
def test_sgd_matches_reference(config):
    params, grads = problem()
    expected = reference_sgd(params, grads, LRS, **config)
    optimizer = SGD(params, **config)
    result = run(optimizer, grads, LRS)
    assert result is params
    assert optimizer.n_steps == STEPS
    np.testing.assert_allclose(params, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("config", ADAM_CONFIGS, ids=str)
def test_adam_matches_reference(config):
    params, grads = problem()
    expected, m, v = reference_adam(params, grads, LRS, **adam_reference_kwargs(config))
    optimizer = Adam(params, **config)
    run(optimizer, grads, LRS)
    assert optimizer.n_steps == STEPS
    np.testing.assert_allclose(params, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(optimizer.exp_avg, m, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(optimizer.exp_avg_sq, v, rtol=1e-12, atol=1e-15)


def test_adam_first_step_is_sign_step():
    # After one step m_hat / sqrt(v_hat) = g / |g|: each parameter moves by lr (up to epsilon).
    params, grads = problem(steps=1)
    start = params.copy()
    Adam(params, learning_rate=0.01, epsilon=1e-12).step(grads[0])
    np.testing.assert_allclose(start - params, 0.01 * np.sign(grads[0]), rtol=1e-6)


def test_sgd_without_momentum_keeps_no_buffer():
    params, _ = problem()
    optimizer = SGD(params)
    assert optimizer.momentum_buffer is None
    assert optimizer.state_dict()["momentum_buffer"] is None
    assert SGD(params, momentum=0.5).momentum_buffer.shape == params.shape


# ------------------------------------------------------------------------------- float32


def float32_sgd(params, grads, lr, momentum, nesterov, weight_decay):
    """SGD in numpy float32 with the kernel's order of operations."""
    f = np.float32
    p, buf = params.copy(), None
    for g in grads:
        if weight_decay:
            g = g + f(weight_decay) * p
        if momentum:
            buf = g.copy() if buf is None else buf * f(momentum) + g
            g = g + f(momentum) * buf if nesterov else buf
        p = p - f(lr) * g
    return p


def float32_adam(params, grads, lr, beta1, beta2, eps, weight_decay, decoupled):
    """Adam in numpy float32 with the kernel's (and torch's) order of operations."""
    f = np.float32
    p = params.copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        if weight_decay:
            if decoupled:
                p = p * f(1 - lr * weight_decay)
            else:
                g = g + f(weight_decay) * p
        w = f(1 - beta1)
        m = m + w * (g - m) if abs(w) < 0.5 else g - (g - m) * (f(1) - w)
        v = v * f(beta2) + f(1 - beta2) * g * g
        denom = np.sqrt(v) / f((1 - beta2**t) ** 0.5) + f(eps)
        p = p - f(lr / (1 - beta1**t)) * (m / denom)
    return p


@pytest.mark.parametrize("config", SGD_CONFIGS, ids=str)
def test_sgd_float32(config):
    params64, grads64 = problem()
    params32, grads32 = params64.astype(np.float32), [g.astype(np.float32) for g in grads64]
    expected = float32_sgd(
        params32,
        grads32,
        0.05,
        config.get("momentum", 0.0),
        config.get("nesterov", False),
        config.get("weight_decay", 0.0),
    )
    optimizer = SGD(params32, learning_rate=0.05, **config)
    run(optimizer, grads32, [0.05] * STEPS)
    assert params32.dtype == np.float32
    if optimizer.momentum_buffer is not None:
        assert optimizer.momentum_buffer.dtype == np.float32
    # Bit for bit: all arithmetic in float32, no float64 constant anywhere.
    np.testing.assert_array_equal(params32, expected)
    run(SGD(params64, learning_rate=0.05, **config), grads64, [0.05] * STEPS)
    np.testing.assert_allclose(params32, params64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("config", ADAM_CONFIGS, ids=str)
def test_adam_float32(config):
    params64, grads64 = problem()
    params32, grads32 = params64.astype(np.float32), [g.astype(np.float32) for g in grads64]
    expected = float32_adam(params32, grads32, 1e-3, **adam_reference_kwargs(config))
    optimizer = Adam(params32, **config)
    run(optimizer, grads32, [1e-3] * STEPS)
    assert params32.dtype == optimizer.exp_avg.dtype == optimizer.exp_avg_sq.dtype == np.float32
    np.testing.assert_array_equal(params32, expected)
    run(Adam(params64, **config), grads64, [1e-3] * STEPS)
    np.testing.assert_allclose(params32, params64, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- state dicts


def make_optimizer(kind, params):
    if kind == "sgd":
        return SGD(params, learning_rate=0.03, momentum=0.9, nesterov=True, weight_decay=0.01)
    if kind == "sgd_plain":
        return SGD(params, learning_rate=0.03)
    return Adam(params, learning_rate=0.01, beta1=0.8, weight_decay=0.05, decoupled_weight_decay=kind == "adamw")


@pytest.mark.parametrize("kind", ["sgd", "sgd_plain", "adam", "adamw"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("split", [0, 1, 3])
def test_state_dict_round_trip_resumes_bit_for_bit(kind, dtype, split):
    params, grads = problem(dtype)
    whole = make_optimizer(kind, params.copy())
    for g in grads:
        whole.step(g)

    first = make_optimizer(kind, params.copy())
    for g in grads[:split]:
        first.step(g)
    saved = pickle.loads(pickle.dumps((first.params.copy(), first.state_dict())))
    # Later steps must not change a state dict already taken.
    snapshot = first.state_dict()
    first.step(grads[split])
    for key, value in snapshot.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, saved[1][key])

    resumed_params, state = saved
    # Built with other hyperparameters: load_state_dict restores them.
    resumed = SGD(resumed_params) if kind.startswith("sgd") else Adam(resumed_params)
    resumed.load_state_dict(state)
    assert resumed.n_steps == split
    for g in grads[split:]:
        resumed.step(g)
    np.testing.assert_array_equal(resumed.params, whole.params)
    final, expected = resumed.state_dict(), whole.state_dict()
    assert final.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, np.ndarray):
            assert final[key].dtype == value.dtype
            np.testing.assert_array_equal(final[key], value)
        else:
            assert final[key] == value


def test_state_dict_is_plain():
    params, grads = problem()
    for optimizer in (SGD(params, momentum=0.9), Adam(params)):
        optimizer.step(grads[0])
        for value in optimizer.state_dict().values():
            assert value is None or isinstance(value, (np.ndarray, bool, int, float, str))


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (
            lambda s: s.update(optimizer="SGD"),
            ValueError,
            r"does not come from Adam.state_dict\(\): its 'optimizer' is 'SGD'",
        ),
        (lambda s: s.pop("exp_avg"), ValueError, "lacks the keys"),
        (lambda s: s.update(exp_avg=s["exp_avg"][:-1]), ValueError, "exp_avg"),
        (lambda s: s.update(exp_avg_sq=s["exp_avg_sq"].astype(np.float32)), TypeError, "exp_avg_sq"),
        (lambda s: s.update(beta2=1.0), ValueError, "beta2"),
        (lambda s: s.update(n_steps=-1), ValueError, "n_steps"),
        (lambda s: s.update(learning_rate=0.0), ValueError, "learning_rate"),
    ],
)
def test_load_state_dict_rejects_bad_state(change, error, match):
    params, grads = problem()
    optimizer = Adam(params)
    optimizer.step(grads[0])
    state = optimizer.state_dict()
    other = Adam(params.copy(), learning_rate=0.5)
    before = other.state_dict()
    change(state)
    with pytest.raises(error, match=match):
        other.load_state_dict(state)
    after = other.state_dict()
    assert after["learning_rate"] == before["learning_rate"] and after["n_steps"] == 0
    with pytest.raises(TypeError, match="dict"):
        other.load_state_dict([1, 2])


def test_sgd_load_state_dict_rejects_missing_buffer():
    params, grads = problem()
    optimizer = SGD(params, momentum=0.9)
    optimizer.step(grads[0])
    state = optimizer.state_dict()
    state["momentum_buffer"] = None
    other = SGD(params.copy())
    with pytest.raises(TypeError, match="momentum_buffer"):
        other.load_state_dict(state)
    assert other.momentum == 0.0 and other.n_steps == 0
    with pytest.raises(ValueError, match="does not come from SGD.state_dict"):
        other.load_state_dict(Adam(params).state_dict())


# ------------------------------------------------------------------------------ clipping


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 3, 1024, 1025, 5000])
def test_clip_grad_norm_norm_and_scaling(dtype, n):
    rng = np.random.default_rng(n)
    grads = rng.standard_normal(n).astype(dtype)
    original = grads.copy()
    exact = np.linalg.norm(original.astype(np.float64))
    # Large max_norm: the norm is returned and nothing changes.
    norm = clip_grad_norm(grads, max_norm=exact + 1.0)
    assert isinstance(norm, float)
    assert norm == pytest.approx(exact, rel=1e-13, abs=0)
    np.testing.assert_array_equal(grads, original)
    if n == 0:
        return
    max_norm = 0.25 * exact
    assert clip_grad_norm(grads, max_norm) == norm
    np.testing.assert_array_equal(grads, (original.astype(np.float64) * (max_norm / (norm + 1e-6))).astype(dtype))
    assert grads.dtype == dtype
    assert np.linalg.norm(grads.astype(np.float64)) == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_sums_in_fixed_chunks():
    # The kernel's order: chunks of 1024 in order; inside a chunk four running sums of every
    # fourth element, the tail into the first one.
    grads = np.random.default_rng(1).standard_normal(2 * 1024 + 517).astype(np.float32)
    total = 0.0
    for start in range(0, grads.size, 1024):
        chunk = grads[start : start + 1024].astype(np.float64)
        body = chunk.size - chunk.size % 4
        sums = [0.0, 0.0, 0.0, 0.0]
        for i in range(body):
            sums[i % 4] += chunk[i] * chunk[i]
        for i in range(body, chunk.size):
            sums[0] += chunk[i] * chunk[i]
        total += (sums[0] + sums[1]) + (sums[2] + sums[3])
    assert clip_grad_norm(grads, math.inf) == math.sqrt(total)


def test_clip_grad_norm_any_shape_and_threshold_rule():
    grads = np.full((3, 4), 0.5)  # norm exactly sqrt(3)
    norm = clip_grad_norm(grads, max_norm=2.0)
    assert norm == pytest.approx(math.sqrt(3), rel=1e-15)
    np.testing.assert_array_equal(grads, 0.5)
    # As torch: the factor max_norm / (norm + 1e-6) is applied whenever it is below 1.
    clip_grad_norm(grads, max_norm=norm)
    np.testing.assert_array_equal(grads, 0.5 * (norm / (norm + 1e-6)))


def test_clip_grad_norm_no_overflow():
    grads = np.full(10, 1e200)
    norm = clip_grad_norm(grads, 1.0)
    assert norm == pytest.approx(1e200 * math.sqrt(10), rel=1e-14)
    np.testing.assert_allclose(grads, 1 / math.sqrt(10), rtol=1e-12)
    big32 = np.full(100, 3e38, np.float32)  # norm beyond float32's range
    norm = clip_grad_norm(big32, 1.0)
    assert norm == pytest.approx(3e39, rel=1e-6)
    np.testing.assert_allclose(big32, 0.1, rtol=1e-6)
    assert clip_grad_norm(np.zeros(7), 1.0) == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("bad", "expected"),
    [([np.nan], "nan"), ([np.inf], "inf"), ([-np.inf], "inf"), ([np.inf, np.nan], "nan"), ([np.nan, -np.inf], "nan")],
)
def test_clip_grad_norm_non_finite(dtype, bad, expected):
    grads = np.random.default_rng(0).standard_normal(3000).astype(dtype) * 100
    grads[[1500 + 700 * i for i in range(len(bad))]] = bad
    original = grads.copy()
    norm = clip_grad_norm(grads, 1.0)
    assert math.isnan(norm) if expected == "nan" else norm == math.inf
    np.testing.assert_array_equal(grads, original)  # untouched


@pytest.mark.parametrize(
    ("grads", "max_norm", "error", "match"),
    [
        ([1.0, 2.0], 1.0, TypeError, "numpy array"),
        (np.ones(3, np.int64), 1.0, TypeError, "float32 or float64"),
        (np.ones(6)[::2], 1.0, ValueError, "C-contiguous"),
        (np.ones(3), 0.0, ValueError, r"`max_norm` must be in \(0, inf\]; got 0.0"),
        (np.ones(3), -1, ValueError, "max_norm"),
        (np.ones(3), float("nan"), ValueError, "max_norm"),
        (np.ones(3), "1", TypeError, "max_norm"),
        (np.ones(3), True, TypeError, "max_norm"),
    ],
)
def test_clip_grad_norm_rejects_bad_arguments(grads, max_norm, error, match):
    with pytest.raises(error, match=match):
        clip_grad_norm(grads, max_norm)


def test_clip_grad_norm_rejects_read_only():
    grads = np.ones(3)
    grads.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        clip_grad_norm(grads, 1.0)


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "match"),
    [
        (SGD, {"learning_rate": -1}, ValueError, r"`learning_rate` must be > 0 and finite; got -1.0"),
        (SGD, {"learning_rate": 0}, ValueError, "learning_rate"),
        (SGD, {"learning_rate": float("inf")}, ValueError, "learning_rate"),
        (SGD, {"learning_rate": float("nan")}, ValueError, "learning_rate"),
        (SGD, {"learning_rate": "0.1"}, TypeError, "learning_rate"),
        (SGD, {"learning_rate": None}, TypeError, "learning_rate"),
        (SGD, {"momentum": -0.1}, ValueError, r"`momentum` must be in \[0, 1\); got -0.1"),
        (SGD, {"momentum": 1.0}, ValueError, "momentum"),
        (SGD, {"nesterov": True}, ValueError, "nesterov"),
        (SGD, {"momentum": 0.9, "nesterov": 1}, TypeError, "nesterov"),
        (SGD, {"weight_decay": -1e-3}, ValueError, "weight_decay"),
        (Adam, {"learning_rate": -1}, ValueError, "learning_rate"),
        (Adam, {"beta1": 1.0}, ValueError, "beta1"),
        (Adam, {"beta1": -0.1}, ValueError, "beta1"),
        (Adam, {"beta2": 1.5}, ValueError, "beta2"),
        (Adam, {"epsilon": 0.0}, ValueError, "epsilon"),
        (Adam, {"weight_decay": float("nan")}, ValueError, "weight_decay"),
        (Adam, {"weight_decay": -1.0}, ValueError, "weight_decay"),
        (Adam, {"decoupled_weight_decay": "yes"}, TypeError, "decoupled_weight_decay"),
    ],
)
def test_bad_hyperparameters(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(np.zeros(3), **kwargs)


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_bad_params(cls):
    with pytest.raises(TypeError, match="`params` must be a numpy array"):
        cls([0.0, 1.0])
    with pytest.raises(TypeError, match="float32 or float64"):
        cls(np.zeros(3, np.float16))
    with pytest.raises(ValueError, match="1-D"):
        cls(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="C-contiguous"):
        cls(np.zeros(6)[::2])
    read_only = np.zeros(3)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        cls(read_only)


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_bad_grads_and_learning_rate(cls):
    params = np.zeros(4)
    optimizer = cls(params)
    with pytest.raises(TypeError, match="`grads` must be a numpy array"):
        optimizer.step([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(TypeError, match="`grads` has dtype float32 but `params` has dtype float64"):
        optimizer.step(np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"shape of `params` \(4,\); got \(5,\)"):
        optimizer.step(np.ones(5))
    with pytest.raises(ValueError, match="C-contiguous"):
        optimizer.step(np.ones(8)[::2])
    with pytest.raises(ValueError, match="learning_rate"):
        optimizer.learning_rate = 0.0
    assert optimizer.n_steps == 0
    np.testing.assert_array_equal(params, 0.0)
    assert "n_steps=0" in repr(optimizer)
