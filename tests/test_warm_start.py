"""Warm starts continue the optimiser while its settings stand, and take up changed ones."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from tsrnn import RNNForecaster, RNNRegressor, datasets, make_windows
from tsrnn.optim import SGD, Adam
from tsrnn.training import make_optimizer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# No stopping on a plateau: every fit runs its max_epochs.
OPTIONS = {"hidden_size": 8, "batch_size": 16, "random_state": 3, "tol": 0.0, "n_iter_no_change": 100}


@pytest.fixture(scope="module")
def windows():
    series = np.sin(np.arange(80) / 3) + 0.1 * np.cos(np.arange(80) / 7)
    return make_windows(series, window=8, horizon=1)


def continued_with_a_new_optimizer(first, data, **settings):
    """Fit a copy of ``first`` on ``data`` from its weights, with an optimiser built afresh for ``settings``."""
    reference = copy.deepcopy(first).set_params(**settings)
    params = reference.get_params()
    reference.optimizer_ = make_optimizer(
        params["optimizer"], reference.network_.params, params["learning_rate"], params["momentum"],
        params["weight_decay"],
    )  # fmt: skip
    return reference.fit(*data)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"optimizer": "adam"}, {"optimizer": "sgd", "learning_rate": 0.01}),
        ({"optimizer": "sgd", "momentum": 0.9}, {"optimizer": "adam"}),
        ({"optimizer": "adam"}, {"weight_decay": 0.5}),
        ({"optimizer": "sgd", "momentum": 0.9}, {"weight_decay": 0.5}),
        ({"optimizer": "sgd", "momentum": 0.9}, {"momentum": 0.5}),
        # The buffer that momentum needs starts as the first gradient, as in a fresh fit.
        ({"optimizer": "sgd", "momentum": 0.0}, {"momentum": 0.9}),
        ({"optimizer": "sgd", "momentum": 0.9}, {"momentum": 0.0}),
    ],
)
def test_a_changed_optimizer_setting_takes_effect(windows, before, after):
    X, y = windows
    first = RNNRegressor(max_epochs=2, warm_start=True, **before, **OPTIONS).fit(X, y)
    as_before = copy.deepcopy(first).fit(X, y)
    warm = copy.deepcopy(first).set_params(**after).fit(X, y)

    params = warm.get_params()
    assert type(warm.optimizer_) is {"adam": Adam, "sgd": SGD}[params["optimizer"]]
    assert warm.optimizer_.weight_decay == params["weight_decay"]
    if params["optimizer"] == "sgd":
        assert warm.optimizer_.momentum == params["momentum"]
    # Two epochs of 72 windows in batches of 16: the new optimiser counts its own steps.
    assert warm.optimizer_.n_steps == 10 and warm.n_iter_ == 4
    reference = continued_with_a_new_optimizer(first, (X, y), **after)
    np.testing.assert_array_equal(warm.network_.params, reference.network_.params)
    # The change matters: continuing the old optimiser would have trained other weights.
    assert not np.array_equal(warm.network_.params, as_before.network_.params)


@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": "adam"},
        {"optimizer": "adam", "weight_decay": 0.01},
        {"optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.01},
        {"optimizer": "sgd", "momentum": 0.0, "learning_rate": 0.01, "weight_decay": 0.01},
    ],
)
def test_unchanged_settings_continue_the_optimiser_as_one_long_fit(windows, settings):
    X, y = windows
    straight = RNNRegressor(max_epochs=4, **settings, **OPTIONS).fit(X, y)
    warm = RNNRegressor(max_epochs=2, warm_start=True, **settings, **OPTIONS).fit(X, y)
    optimizer = warm.optimizer_
    warm.fit(X, y)
    assert warm.optimizer_ is optimizer and warm.optimizer_.n_steps == straight.optimizer_.n_steps == 20
    np.testing.assert_array_equal(warm.network_.params, straight.network_.params)
    for name, moment in straight.optimizer_.state_dict().items():
        if isinstance(moment, np.ndarray):
            np.testing.assert_array_equal(warm.optimizer_.state_dict()[name], moment)


def test_momentum_leaves_adam_alone(windows):
    X, y = windows
    straight = RNNRegressor(max_epochs=4, **OPTIONS).fit(X, y)
    warm = RNNRegressor(max_epochs=2, warm_start=True, **OPTIONS).fit(X, y)
    optimizer = warm.optimizer_
    warm.set_params(momentum=0.3).fit(X, y)
    assert warm.optimizer_ is optimizer
    np.testing.assert_array_equal(warm.network_.params, straight.network_.params)


def test_a_new_learning_rate_keeps_the_optimisers_state(windows):
    X, y = windows
    first = RNNRegressor(max_epochs=2, warm_start=True, **OPTIONS).fit(X, y)
    optimizer = first.optimizer_
    warm = first.set_params(learning_rate=0.01).fit(X, y)
    assert warm.optimizer_ is optimizer
    assert warm.optimizer_.n_steps == 20 and warm.optimizer_.learning_rate == 0.01


def test_the_forecaster_takes_up_a_changed_optimizer():
    y = np.log(datasets.load_air_passengers())
    options = {"window": 12, "horizon": 3, "early_stopping": False, "max_epochs": 2, **OPTIONS}
    first = RNNForecaster(warm_start=True, **options).fit(y)
    warm = copy.deepcopy(first).set_params(optimizer="sgd", learning_rate=0.01).fit(y)
    assert type(warm.optimizer_) is SGD and warm.optimizer_.momentum == 0.9
    reference = continued_with_a_new_optimizer(first, (y,), optimizer="sgd", learning_rate=0.01)
    np.testing.assert_array_equal(warm.network_.params, reference.network_.params)
    np.testing.assert_array_equal(warm.predict(), reference.predict())
