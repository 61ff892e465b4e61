"""The losses layer: each loss's value and gradient, through the network, on both devices, in the estimators."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning

from tests import naive
from tsrnn import RNNForecaster, RNNRegressor, make_windows
from tsrnn.losses import LOSSES, Loss, log_softmax, mse_loss, softmax
from tsrnn.network import RecurrentNetwork, Seq2SeqNetwork

PARAMS = {"mse": [0.0], "mae": [0.0], "huber": [0.4], "pinball": [0.1, 0.5, 0.8]}


def reference(kind: str, d: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-value loss and derivative (with respect to the prediction), from the definitions."""
    sign = np.sign(d)
    if kind == "mse":
        return d * d, 2 * d
    if kind == "mae":
        return np.abs(d), sign
    if kind == "huber":
        inside = np.abs(d) <= p
        return np.where(inside, 0.5 * d * d, p * (np.abs(d) - 0.5 * p)), np.where(inside, d, p * sign)
    return np.where(d > 0, (1 - p) * d, -p * d), np.where(d > 0, 1 - p, np.where(d < 0, -p, 0.0))


def losses() -> list[Loss]:
    return [Loss(kind, PARAMS[kind]) for kind in LOSSES]


@pytest.mark.parametrize("loss", losses(), ids=LOSSES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
@settings(max_examples=25, deadline=None)
def test_value_and_gradient_follow_the_definitions(loss, dtype, data):
    shape = data.draw(st.tuples(st.integers(1, 9), st.just(3)))
    values = hnp.arrays(dtype, shape, elements=st.floats(-5, 5, width=32))
    pred, true = data.draw(values), data.draw(values)
    true[0, 0] = pred[0, 0]  # an error of exactly zero, where the absolute losses have their kink
    value, grad = loss(pred, true)
    p = np.resize(loss.params, 3)[None, :]
    d = pred.astype(np.float64) - true.astype(np.float64)
    expected_value, expected_derivative = reference(loss.kind, d, p)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(value, expected_value.mean(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(grad, expected_derivative / d.size, rtol=rtol, atol=rtol / d.size)
    assert grad.dtype == dtype and grad.shape == pred.shape


def test_mse_gradient_is_exactly_two_over_size_times_the_error():
    rng = np.random.default_rng(0)
    pred, true = rng.standard_normal((7, 5)).astype(np.float32), rng.standard_normal((7, 5)).astype(np.float32)
    value, grad = mse_loss(pred, true)
    diff = pred - true
    assert value == float(np.mean(diff * diff))
    assert np.array_equal(grad, np.float32(2.0 / diff.size) * diff)


def test_the_pinball_loss_is_minimised_by_the_quantile():
    # The constant c that minimises the mean pinball loss over a sample is its p-quantile.
    sample = np.random.default_rng(1).standard_normal(1001)
    for level in (0.1, 0.5, 0.9):
        loss = Loss("pinball", [level])
        grid = np.linspace(-3, 3, 6001)
        values = [loss(np.full_like(sample, c), sample)[0] for c in grid]
        assert abs(grid[int(np.argmin(values))] - np.quantile(sample, level)) < 2e-3


@settings(max_examples=30, deadline=None)
@given(
    targets=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                       elements=st.floats(-1e3, 1e3)),
    levels=st.lists(st.floats(0.01, 0.99), min_size=1, max_size=4),
)  # fmt: skip
def test_pinball_outputs_start_at_their_levels_quantiles_and_other_losses_at_zero(targets, levels):
    columns = targets.reshape(-1, targets.shape[-1])
    start = Loss("pinball", levels).head_start(targets)
    expected = [np.quantile(columns[:, j], levels[j % len(levels)]) for j in range(columns.shape[1])]
    assert start.shape == (targets.shape[-1],)
    np.testing.assert_array_equal(start, expected)
    for kind in ("mse", "mae", "huber"):
        assert Loss(kind, [1.0]).head_start(targets) is None


def test_bad_loss_parameters_are_refused():
    with pytest.raises(ValueError, match=r"`loss` must be one of 'mse', 'mae', 'huber', 'pinball'; got 'l1'"):
        Loss("l1")
    with pytest.raises(ValueError, match=r"`huber_delta` must be a float > 0"):
        RNNRegressor(loss="huber", huber_delta=0.0).fit(np.ones((4, 3)), np.ones(4))
    with pytest.raises(ValueError, match=r"`quantile` must be a float in \(0.0, 1.0\); got 1.0"):
        RNNForecaster(loss="pinball", quantile=1.0).fit(np.arange(40.0))


# ---------------------------------------------------------------------------- through the network


def far_targets(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Targets 0.2 to 1 away from ``y``: finite differences of 1e-6 cross no kink of the absolute losses."""
    return y + rng.choice([-1.0, 1.0], y.shape) * rng.uniform(0.2, 1.0, y.shape)


@pytest.mark.parametrize("loss", losses(), ids=LOSSES)
@pytest.mark.parametrize(
    "config",
    [{"cell": "lstm", "num_layers": 2, "bidirectional": True}, {"cell": "gru"}, {"cell": "rnn", "num_layers": 2}],
    ids=["lstm-2-bi", "gru", "rnn-2"],
)
def test_network_gradients_match_finite_differences_for_every_loss(loss, config):
    net = RecurrentNetwork(2, 3, 3, dtype=np.float64, random_state=0, **config)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 5, 2))
    y, cache = net.forward(x)
    target = far_targets(y, rng)
    net.backward(loss(y, target)[1], cache)
    analytic = net.grads.copy()
    numeric = naive.numerical_gradient(lambda: loss(net.forward(x)[0], target)[0], net.params)
    assert np.max(np.abs(analytic - numeric)) / np.max(np.abs(numeric)) < 1e-6


@pytest.mark.parametrize("loss", losses(), ids=LOSSES)
def test_seq2seq_gradients_match_finite_differences_for_every_loss(loss):
    net = Seq2SeqNetwork(2, 2, 3, 3, cell="gru", num_layers=2, dtype=np.float64, random_state=0)
    rng = np.random.default_rng(3)
    x, x_dec = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 2, 2))
    y, cache = net.forward(x, x_dec)
    target = far_targets(y, rng)
    net.backward(loss(y, target)[1], cache)
    analytic = net.grads.copy()
    numeric = naive.numerical_gradient(lambda: loss(net.forward(x, x_dec)[0], target)[0], net.params)
    assert np.max(np.abs(analytic - numeric)) / np.max(np.abs(numeric)) < 1e-6


# ------------------------------------------------------------------------------------ estimators


@pytest.mark.parametrize("level", [0.1, 0.9])
def test_a_pinball_regressor_predicts_its_quantile(passengers, level):
    X, y = make_windows(np.log(passengers.to_numpy()), window=12)
    model = RNNRegressor(loss="pinball", quantile=level, max_epochs=150, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    below = np.mean(y <= model.predict(X))
    assert abs(below - level) < 0.12


def test_a_pinball_regressor_starts_at_its_quantile_of_the_scaled_targets(passengers, monkeypatch):
    X, y = make_windows(np.log(passengers.to_numpy()), window=12)
    model = RNNRegressor(loss="pinball", quantile=0.9, input_scaling="standard", max_epochs=1, random_state=0)
    started = []
    original = RecurrentNetwork.set_head_bias
    monkeypatch.setattr(
        RecurrentNetwork, "set_head_bias", lambda net, bias: (started.append(bias), original(net, bias))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    np.testing.assert_allclose(started, [[np.quantile((y - y.mean()) / y.std(), 0.9)]], rtol=1e-12)


def test_losses_train_different_models_and_huber_resists_an_outlier(passengers):
    X, y = make_windows(np.log(passengers.to_numpy()), window=12)
    spoiled = y.copy()
    spoiled[60] += 5.0  # one wild value, 50 times the series' monthly change
    fits = {}
    for loss in ("mse", "huber", "mae"):
        model = RNNRegressor(loss=loss, huber_delta=0.5, max_epochs=100, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits[loss] = model.fit(X, spoiled).predict(X)
    clean = np.delete(np.arange(len(y)), 60)
    error = {loss: np.abs(pred[clean] - y[clean]).mean() for loss, pred in fits.items()}
    assert error["huber"] < error["mse"] and error["mae"] < error["mse"]
    assert model.loss_curve_[-1] < model.loss_curve_[0]


# ------------------------------------------------------------------------------- cross-entropy


def log_softmax_reference(z: np.ndarray) -> np.ndarray:
    """log softmax over the last axis in float64, from the definition (shifted by the row's maximum)."""
    z = z.astype(np.float64)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
@settings(max_examples=25, deadline=None)
def test_cross_entropy_follows_its_definition_for_weighted_one_hot_targets(dtype, data):
    rows, classes = data.draw(st.integers(1, 9)), data.draw(st.integers(2, 5))
    logits = data.draw(hnp.arrays(dtype, (rows, classes), elements=st.floats(-30, 30, width=32)))
    labels = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=rows, max_size=rows)))
    weights = np.array(data.draw(st.lists(st.floats(0.1, 4.0), min_size=rows, max_size=rows)))
    targets = (np.eye(classes)[labels] * weights[:, None]).astype(dtype)
    value, grad = Loss("cross_entropy")(logits, targets)
    log_p = log_softmax_reference(logits)
    expected = -(targets * log_p).sum(axis=1).mean()
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12)
    derivative = (targets.sum(axis=1, keepdims=True) * np.exp(log_p) - targets) / rows
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(grad, derivative, rtol=rtol, atol=rtol / rows)
    assert grad.dtype == dtype and grad.shape == logits.shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_and_cross_entropy_stay_finite_for_logits_of_1e4(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4 - 1.0, -1e4]], dtype=dtype)
    probabilities = softmax(logits)
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(probabilities[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(probabilities[1], [1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(probabilities[2, :2], [1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0))])
    targets = np.eye(3, dtype=dtype)[[1, 0, 1]]
    value, grad = Loss("cross_entropy")(logits, targets)
    # Row 0 puts 2e4 of log-odds against its class; row 1 is uniform; row 2 is one nat off.
    np.testing.assert_allclose(value, (2e4 + np.log(3) + (1 + np.log1p(np.exp(-1.0)))) / 3, rtol=1e-7)
    assert np.all(np.isfinite(grad))


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), elements=st.floats(-1e4, 1e4)))
def test_softmax_probabilities_sum_to_one_and_keep_the_order_of_the_logits(logits):
    probabilities = softmax(logits)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    order = np.argsort(logits, axis=-1, kind="stable")
    assert np.all(np.diff(np.take_along_axis(probabilities, order, axis=-1), axis=-1) >= 0)


@pytest.mark.parametrize(
    "config",
    [{"cell": "lstm", "num_layers": 2, "bidirectional": True}, {"cell": "gru"}, {"cell": "rnn", "num_layers": 2}],
    ids=["lstm-2-bi", "gru", "rnn-2"],
)
def test_network_gradients_of_cross_entropy_match_finite_differences(config):
    net = RecurrentNetwork(2, 3, 4, dtype=np.float64, random_state=0, **config)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 6, 2))
    targets = np.eye(4)[rng.integers(0, 4, 5)] * rng.uniform(0.5, 2.0, (5, 1))
    loss = Loss("cross_entropy")
    y, cache = net.forward(x)
    net.backward(loss(y, targets)[1], cache)
    analytic = net.grads.copy()
    numeric = naive.numerical_gradient(lambda: loss(net.forward(x)[0], targets)[0], net.params)
    assert np.max(np.abs(analytic - numeric)) / np.max(np.abs(numeric)) < 1e-6


def test_cross_entropy_logits_start_at_the_log_class_shares():
    targets = np.eye(3)[[0, 0, 0, 1, 2, 2]] * np.array([[1.0], [1.0], [1.0], [3.0], [1.0], [1.0]])
    np.testing.assert_allclose(Loss("cross_entropy").head_start(targets), np.log([3 / 8, 3 / 8, 2 / 8]))


def test_log_softmax_is_the_log_of_softmax_and_stays_finite_where_it_underflows():
    logits = np.array([[0.5, -1.0, 2.0], [1e4, 0.0, -1e4]])
    np.testing.assert_allclose(log_softmax(logits)[0], np.log(softmax(logits)[0]), rtol=1e-14)
    np.testing.assert_allclose(log_softmax(logits)[1], [0.0, -1e4, -2e4], rtol=1e-14)
