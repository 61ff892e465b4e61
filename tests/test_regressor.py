from __future__ import annotations

import logging
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from tsrnn import RNNRegressor, datasets, make_windows
from tsrnn import training as training_module
from tsrnn.training import TrainingDivergedError


@pytest.fixture(scope="module")
def passengers() -> pd.Series:
    return np.log(datasets.load_air_passengers())


def sine_windows(n=120, window=8, horizon=1, seed=0):
    rng = np.random.default_rng(seed)
    series = np.sin(np.arange(n + window + horizon) / 3) + 0.05 * rng.standard_normal(n + window + horizon)
    return make_windows(series, window, horizon)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([RNNRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"hidden_size": 0}, ValueError, "`hidden_size` must be an int >= 1; got 0"),
        ({"cell": "transformer"}, ValueError, "`cell` must be one of 'lstm', 'gru', 'rnn'; got 'transformer'"),
        ({"learning_rate": "fast"}, TypeError, "`learning_rate` must be a float > 0.0; got 'fast'"),
        ({"dropout": 1.0}, ValueError, r"`dropout` must be a float in \[0.0, 1.0\); got 1.0"),
        ({"clip_norm": -1.0}, ValueError, "`clip_norm` must be a float > 0.0 or None; got -1.0"),
        ({"dtype": "float16"}, ValueError, "`dtype` must be 'float32' or 'float64'; got 'float16'"),
        ({"features_per_step": 3}, ValueError, "not a whole number of steps"),
        ({"device": "gpu"}, ValueError, "`device` must be one of 'cpu', 'cuda'; got 'gpu'"),
    ],
)
def test_bad_parameters_are_named(params, error, message):
    X, y = sine_windows(20)
    with pytest.raises(error, match=message):
        RNNRegressor(**params).fit(X, y)


# Short fits: stopping while the loss still improves is expected here.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_2d_windows_are_read_as_steps_of_features():
    rng = np.random.default_rng(0)
    x3 = rng.standard_normal((40, 6, 2))
    y = x3[:, -1, 0] - x3[:, 0, 1]
    options = {"max_epochs": 3, "random_state": 1, "dtype": "float64"}
    model3 = RNNRegressor(**options).fit(x3, y)
    model2 = RNNRegressor(features_per_step=2, **options).fit(x3.reshape(40, 12), y)
    np.testing.assert_array_equal(model3.predict(x3), model2.predict(x3.reshape(40, 12)))
    assert model2.n_features_in_ == 12
    with pytest.raises(ValueError, match="3 features per step, but RNNRegressor was fitted with 2"):
        model3.predict(rng.standard_normal((5, 6, 3)))


def test_bad_data_gets_clear_errors():
    X, y = sine_windows(30)
    X_nan = X.copy()
    X_nan[4, 2] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 NaN or inf value\(s\); the first \(NaN\) is at index \(4, 2\)"):
        RNNRegressor().fit(X_nan, y)
    y_inf = y.copy()
    y_inf[7] = np.inf
    with pytest.raises(ValueError, match=r"inf"):
        RNNRegressor().fit(X, y_inf)
    with pytest.raises(NotFittedError):
        RNNRegressor().predict(X)
    with pytest.raises(ValueError, match="4-D"):
        RNNRegressor().fit(X.reshape(len(X), 2, 2, 2), y)
    with pytest.raises(ValueError, match="0 sample"):
        RNNRegressor().fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="[Cc]omplex"):
        RNNRegressor().fit(X + 1j, y)


# Short fits: stopping while the loss still improves is expected here.
# The validation loss is on the network's scale: y_scale_ alone maps it back when the targets are
# not made relative to each window.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("input_scaling", ["standard", None])
def test_early_stopping_validates_on_the_last_windows_and_restores_the_best(input_scaling):
    X, y = sine_windows(100)
    model = RNNRegressor(early_stopping=True, validation_fraction=0.2, max_epochs=30, n_iter_no_change=5,
                         random_state=0, dtype="float64", hidden_size=8, input_scaling=input_scaling)  # fmt: skip
    model.fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_ == len(model.loss_curve_)
    best = model.validation_scores_[model.best_epoch_ - 1]
    assert best == min(model.validation_scores_)
    # The restored weights reproduce the best validation loss on the chronologically last 20 %.
    scale = model.y_scale_[0]
    residual = (model.predict(X[80:]) - y[80:]) / scale
    np.testing.assert_allclose(np.mean(residual**2), best, rtol=1e-10)


def test_too_few_windows_for_early_stopping():
    X, y = sine_windows(0)
    assert len(X) == 1
    with pytest.raises(ValueError, match="early stopping needs at least 2 samples"):
        RNNRegressor(early_stopping=True).fit(X, y)


def test_convergence_warning_when_max_epochs_cuts_training():
    X, y = sine_windows(60)
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        RNNRegressor(max_epochs=2, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = RNNRegressor(max_epochs=50, tol=10.0, n_iter_no_change=2, random_state=0).fit(X, y)
    # Epoch 1 improves on nothing; epochs 2 and 3 fail to improve by tol: stop after 3, as MLPRegressor.
    assert model.n_iter_ == 3


def test_divergence_stops_with_advice():
    X, y = sine_windows(60)
    with pytest.raises(TrainingDivergedError, match="Lower `learning_rate`, or set `clip_norm`"):
        RNNRegressor(optimizer="sgd", learning_rate=1e30, max_epochs=20, random_state=0).fit(X, y)


def test_keyboard_interrupt_keeps_the_last_finished_epoch(monkeypatch):
    X, y = sine_windows(60)
    options = {"max_epochs": 2, "random_state": 3, "tol": 0.0, "n_iter_no_change": 100}
    with pytest.warns(ConvergenceWarning):
        reference = RNNRegressor(**options).fit(X, y)
    real_epoch = training_module._HostSession.run_epoch
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(training_module._HostSession, "run_epoch", interrupted)
    with pytest.warns(UserWarning, match="training interrupted in epoch 3; keeping the weights of epoch 2"):
        model = RNNRegressor(**{**options, "max_epochs": 10}).fit(X, y)
    assert model.n_iter_ == 2
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))


def test_keyboard_interrupt_in_the_first_epoch_propagates(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training_module._HostSession, "run_epoch", interrupted)
    X, y = sine_windows(20)
    with pytest.raises(KeyboardInterrupt):
        RNNRegressor().fit(X, y)


def test_verbose_progress_on_stderr_and_silence_by_default(capsys, caplog):
    X, y = sine_windows(40)
    with caplog.at_level(logging.DEBUG, logger="tsrnn"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        RNNRegressor(max_epochs=3, random_state=0).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["epoch 1", "epoch 2", "epoch 3"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        RNNRegressor(max_epochs=3, verbose=1, early_stopping=True, random_state=0).fit(X, y)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 3
    assert lines[-1].startswith("epoch 3/3 [") and "validation loss" in lines[-1]


def test_pickle_and_clone_round_trip():
    X, y = sine_windows(50, horizon=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = RNNRegressor(max_epochs=3, random_state=0, cell="gru").fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    fresh = clone(model)
    assert fresh.get_params() == model.get_params() and not hasattr(fresh, "network_")


def test_warm_start_continues_training_exactly():
    X, y = sine_windows(60)
    options = {"random_state": 2, "tol": 0.0, "n_iter_no_change": 100}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        straight = RNNRegressor(max_epochs=6, **options).fit(X, y)
        warm = RNNRegressor(max_epochs=3, warm_start=True, **options).fit(X, y)
        warm.fit(X, y)
    assert warm.n_iter_ == 6
    np.testing.assert_array_equal(warm.predict(X), straight.predict(X))
    with pytest.raises(ValueError, match="warm_start"):
        warm.fit(X, np.stack([y, y], axis=1))


# With a scaler before it, the targets are not on the windows' scale: the regressor is told to
# scale globally (it warns otherwise, see test_a_scaler_before_per_window_scaling_is_pointed_out).
@pytest.mark.parametrize(
    ("cell", "scaler", "input_scaling"),
    [("lstm", StandardScaler(), "standard"), ("gru", StandardScaler(), "standard"),
     ("rnn", StandardScaler(), "standard"), ("lstm", "passthrough", "window_mean"),
     ("gru", "passthrough", "window_last")],
)  # fmt: skip
def test_learns_a_seasonal_series_in_a_pipeline(passengers, cell, scaler, input_scaling):
    """On real data the pipeline beats predicting the training mean by a wide margin."""
    X, y = make_windows(passengers, window=12, horizon=1)
    regressor = RNNRegressor(cell=cell, max_epochs=150, random_state=0, input_scaling=input_scaling)
    model = make_pipeline(scaler, regressor)
    cv = TimeSeriesSplit(n_splits=3, test_size=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(model, X, y, cv=cv, scoring="neg_mean_absolute_error")
    baseline = [np.mean(np.abs(y.iloc[test] - y.iloc[train].mean())) for train, test in cv.split(X)]
    assert np.all(-scores < 0.5 * np.array(baseline))


def test_a_scaler_before_per_window_scaling_is_pointed_out(passengers):
    X, y = make_windows(passengers, window=12, horizon=1)
    with pytest.warns(UserWarning, match=r"do not look like later values of the windows' first feature.*"
                                         r"set input_scaling='standard'"):  # fmt: skip
        make_pipeline(StandardScaler(), RNNRegressor(max_epochs=1, random_state=0)).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        RNNRegressor(max_epochs=1, random_state=0).fit(X, y)


def test_grid_search_over_cells_and_sizes(passengers):
    X, y = make_windows(passengers, window=12, horizon=3)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), RNNRegressor(max_epochs=20, random_state=0, input_scaling="standard")),
        {"rnnregressor__cell": ["lstm", "gru"], "rnnregressor__hidden_size": [8, 16]},
        cv=TimeSeriesSplit(n_splits=2, test_size=12),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.predict(X.iloc[-2:]).shape == (2, 3)
