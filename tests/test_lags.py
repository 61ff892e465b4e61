"""RNNRegressor on rows of lags: how the columns are read, normalised, and mapped back.

Forecasting libraries hand the regressor raw lag levels in their own layouts: skforecast a
plain array newest lag first, sktime oldest first, mlforecast named and possibly irregular
lags followed by date features. The same windows in any of these layouts must give the same
network input, hence the same model and predictions, bit for bit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

import tsrnn
from tsrnn import RNNRegressor, make_windows
from tsrnn._lags import read_layout

PROPERTY = settings(max_examples=10, deadline=None)


def lag_rows(series: np.ndarray, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``lags`` values, oldest first, and the value after each: (n, lags), (n,)."""
    windows = np.lib.stride_tricks.sliding_window_view(series[:-1], lags)
    return windows.copy(), series[lags:].copy()


def quick(**options) -> RNNRegressor:
    return RNNRegressor(hidden_size=8, max_epochs=3, random_state=0, **options)


def fit_predict(model: RNNRegressor, X, y, X_new) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y).predict(X_new)


@pytest.fixture(scope="module")
def passenger_rows(passengers):
    return lag_rows(passengers.to_numpy(), 12)


# ------------------------------------------------------------------------------------ the order


@given(length=st.integers(20, 80), lags=st.integers(2, 9), seed=st.integers(0, 2**16), keep=st.floats(0.5, 1.0))
@PROPERTY
def test_newest_first_rows_are_recognised_in_any_row_order(length, lags, seed, keep):
    rng = np.random.default_rng(seed)
    series = rng.standard_normal(length + lags).cumsum()
    oldest, target = lag_rows(series, lags)
    rows = rng.permutation(len(target))[: max(3, int(keep * len(target)))]
    newest = oldest[:, ::-1]
    assert read_layout(newest[rows], target[rows, None], None, 1, "auto", None).order == "newest_first"
    assert read_layout(oldest[rows], target[rows, None], None, 1, "auto", None).order == "oldest_first"
    # Rows with no such continuation are read as given, oldest first.
    noise = rng.standard_normal(newest.shape)
    assert read_layout(noise, target[:, None], None, 1, "auto", None).order == "oldest_first"


# scikit-learn warns when a plain array follows a fit on named columns, as skforecast's predict does.
@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
def test_the_same_windows_in_every_layout_give_the_same_predictions(passenger_rows):
    oldest, y = passenger_rows
    expected = fit_predict(quick(), oldest, y, oldest)
    # skforecast: a plain array, newest lag first; found from the rows, or said.
    newest = oldest[:, ::-1]
    detected = quick()
    assert np.array_equal(fit_predict(detected, newest, y, newest), expected)
    assert detected.step_order_ == "newest_first"
    assert np.array_equal(fit_predict(quick(step_order="newest_first"), newest, y, newest), expected)
    # Named lags in any column order (skforecast's and mlforecast's names).
    for name in ("lag_{}", "lag{}", "passengers_lag{}"):
        frame = pd.DataFrame(newest, columns=[name.format(k) for k in range(1, 13)])
        shuffled = frame[frame.columns[np.random.default_rng(1).permutation(12)]]
        model = quick()
        assert np.array_equal(fit_predict(model, shuffled, y, shuffled), expected)
        assert model.step_order_ == "lag_names"
        assert model.lags_.tolist() == list(range(12, 0, -1))
        # Predicting from a plain array reads the columns by their positions in fit.
        assert np.array_equal(model.predict(shuffled.to_numpy()), expected)


def test_make_windows_names_give_the_features_of_each_step(passengers):
    covariate = pd.Series(np.arange(len(passengers), dtype=float) % 12, index=passengers.index, name="month")
    X, y = make_windows(passengers, window=6, X=covariate.to_frame())
    expected = fit_predict(quick(features_per_step=2), X.to_numpy(), y.to_numpy(), X.to_numpy())
    model = quick()
    assert np.array_equal(fit_predict(model, X, y, X), expected)
    assert model.n_step_features_ == 2 and model.network_.input_size == 2


def test_the_targets_own_lags_come_first_whatever_the_column_order(passengers):
    covariate = pd.Series(np.random.default_rng(0).standard_normal(len(passengers)), index=passengers.index)
    X, y = make_windows(passengers, window=6, X=covariate.rename("temp").to_frame())
    expected = fit_predict(quick(), X, y, X)
    reordered = X[[c for c in X.columns if c.startswith("temp")] + [c for c in X.columns if c.startswith("pass")]]
    model = quick()
    assert np.array_equal(fit_predict(model, reordered, y, reordered), expected)
    assert reordered.columns[model._layout.steps[0, 0]] == "passengers_lag6"


def test_windows_of_one_step_are_scaled_globally(passengers):
    # A window of one step has no spread of its own: the per-window scalings would see zeros.
    values = passengers.to_numpy()
    frame = pd.DataFrame({"lag1": values[:-1], "month": np.arange(len(values) - 1) % 12})
    model = quick(input_scaling="window_last")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(frame, values[1:])
    assert model._input_scaling.kind == "standard"
    x, level, spread = model._network_input(frame.to_numpy())
    assert np.all(level == 0) and np.all(spread == 1) and x[:, 0, 0].std() > 0.5


def test_warm_start_and_model_files_keep_the_reading_of_fit(passenger_rows, tmp_path):
    oldest, y = passenger_rows
    model = quick(warm_start=True)
    fit_predict(model, oldest, y, oldest)
    model.set_params(input_scaling="standard")
    with pytest.raises(ValueError, match=r"warm_start reads the data as the first fit did, but the data were read "
                                         r"with input_scaling='window_last'"):  # fmt: skip
        model.fit(oldest, y)
    model.set_params(input_scaling="window_last", window_features=2)
    with pytest.raises(ValueError, match=r"cannot save this RNNRegressor: .*window_features=None"):
        model.save(tmp_path / "model.tsrnn")


def test_step_order_that_the_names_contradict_is_refused(passenger_rows):
    oldest, y = passenger_rows
    frame = pd.DataFrame(oldest[:, ::-1], columns=[f"lag_{k}" for k in range(1, 13)])
    with pytest.raises(ValueError, match=r"step_order='oldest_first', but the column names put the newest lag "
                                         r"'lag_1' first"):  # fmt: skip
        quick(step_order="oldest_first").fit(frame, y)
    with pytest.raises(ValueError, match=r"features_per_step=3, but the lag names give 1 features per step"):
        quick(features_per_step=3).fit(frame, y)


# ------------------------------------------------------------------ irregular lags, window features


def test_irregular_lags_run_oldest_first_with_each_steps_lag(passengers):
    values = passengers.to_numpy()
    lags = [1, 12, 24]
    rows = np.arange(24, len(values))
    frame = pd.DataFrame({f"lag{k}": values[rows - k] for k in lags})
    frame["month"] = rows % 12
    model = quick()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(frame, values[rows])
    layout = model._layout
    assert layout.steps[:, 0].tolist() == [2, 1, 0] and model.lags_.tolist() == [24, 12, 1]
    assert layout.window_columns.tolist() == [3] and model.network_.input_size == 3
    x, _, _ = model._network_input(frame.to_numpy())
    np.testing.assert_array_equal(x[0, :, 1], np.asarray([24, 12, 1], dtype=np.float32) / np.float32(24))
    # The month is the same at every step: a feature of the window, standardised.
    month = (frame["month"] - frame["month"].mean()) / frame["month"].std(ddof=0)
    np.testing.assert_allclose(x[:, :, 2], np.repeat(month.to_numpy()[:, None], 3, axis=1), rtol=1e-6)


@pytest.mark.parametrize("window_features", [2, ["temp", "workday"]])
def test_window_features_are_given_at_every_step_not_as_steps(passenger_rows, window_features):
    oldest, y = passenger_rows
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(oldest, columns=[f"v{k}" for k in range(12)])
    frame["temp"], frame["workday"] = rng.standard_normal(len(y)), rng.integers(0, 2, len(y)).astype(float)
    X = frame if isinstance(window_features, list) else frame.to_numpy()
    model = quick(window_features=window_features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model._layout.steps.shape == (12, 1) and model.network_.input_size == 3
    x, _, _ = model._network_input(frame.to_numpy())
    assert np.all(x[:, :, 1:] == x[:, :1, 1:])
    expected = (frame[["temp", "workday"]] - frame[["temp", "workday"]].mean()) / frame[["temp", "workday"]].std(ddof=0)
    np.testing.assert_allclose(x[:, 0, 1:], expected.to_numpy(), rtol=1e-5, atol=1e-6)


def test_layout_parameters_that_do_not_fit_the_columns_are_refused(passenger_rows):
    oldest, y = passenger_rows
    with pytest.raises(ValueError, match=r"window_features=12, but X has 12 columns"):
        quick(window_features=12).fit(oldest, y)
    with pytest.raises(ValueError, match=r"window_features names columns, but X has no column names"):
        quick(window_features=["temp"]).fit(oldest, y)
    with pytest.raises(ValueError, match=r"window_features names \['temp'\], which are not columns of X"):
        quick(window_features=["temp"]).fit(pd.DataFrame(oldest, columns=[f"v{k}" for k in range(12)]), y)
    with pytest.raises(ValueError, match=r"X has 11 step columns \(besides 1 window features\), which is not a "
                                         r"whole number of steps of features_per_step=2"):  # fmt: skip
        quick(window_features=1, features_per_step=2).fit(oldest, y)
    with pytest.raises(ValueError, match=r"a 3-D X \(samples, steps, features\) has only steps"):
        quick(window_features=1).fit(oldest[:, :, None], y)
    with pytest.raises(ValueError, match=r"`step_order` must be one of"):
        quick(step_order="backwards").fit(oldest, y)


# ------------------------------------------------------------------------------------- scaling


@given(scale=st.floats(1e-3, 1e3), shift=st.floats(-1e4, 1e4))
@settings(max_examples=8, deadline=None)
def test_per_window_scaling_makes_the_model_affine_equivariant(passenger_rows, scale, shift):
    # Each window, and its target, are read relative to the window's own level and spread:
    # the network sees the same numbers whatever the unit and origin of the series.
    oldest, y = passenger_rows
    for scaling in ("window_mean", "window_last"):
        model = quick(dtype="float64", input_scaling=scaling)
        expected = fit_predict(model, oldest, y, oldest)
        moved = fit_predict(
            quick(dtype="float64", input_scaling=scaling), oldest * scale + shift, y * scale + shift,
            oldest * scale + shift,
        )  # fmt: skip
        np.testing.assert_allclose((moved - shift) / scale, expected, rtol=1e-6, atol=1e-6 * np.abs(y).max())


def test_per_window_scaling_extrapolates_a_trend_that_global_scaling_cannot():
    # A trend with a season: trained on levels 0-100, asked about levels 200-225. Relative to
    # each window the test windows look like the training ones.
    t = np.arange(460.0)
    series = 0.5 * t + 10 * np.sin(2 * np.pi * t / 12)
    X, y = lag_rows(series, 24)
    train, test = slice(0, 176), slice(376, 436)
    errors = {}
    for scaling in ("window_mean", "window_last", "standard"):
        model = RNNRegressor(input_scaling=scaling, max_epochs=100, random_state=0)
        errors[scaling] = np.abs(fit_predict(model, X[train], y[train], X[test]) - y[test]).mean()
    assert errors["window_mean"] < 1.5 and errors["window_last"] < 1.5
    assert errors["standard"] > 20


def test_input_scaling_none_gives_the_network_the_values_as_they_are(passenger_rows):
    oldest, y = passenger_rows
    model = quick(input_scaling=None, normalize_y=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(oldest / 100, y / 100)
    x, level, spread = model._network_input(oldest / 100)
    assert np.array_equal(x[:, :, 0], (oldest / 100).astype(np.float32))
    assert np.all(level == 0) and np.all(spread == 1)


def test_a_flat_window_is_scaled_by_the_floor_not_by_zero(passenger_rows):
    oldest, y = passenger_rows
    model = quick(dtype="float64", input_scaling="window_mean")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(oldest, y)
    flat = np.full((1, 12), 300.0)
    x, level, spread = model._network_input(flat)
    assert np.all(x == 0) and level[0, 0] == 300.0
    assert spread[0, 0] == pytest.approx(0.01 * oldest.std())
    assert np.isfinite(model.predict(flat)).all()


# --------------------------------------------------------------------------------- model files


def test_a_model_file_keeps_the_layout_and_the_scaling(passengers, tmp_path):
    values = passengers.to_numpy()
    rows = np.arange(24, len(values))
    frame = pd.DataFrame({f"lag{k}": values[rows - k] for k in (1, 2, 12, 24)})
    frame["month"] = rows % 12
    model = quick()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(frame, values[rows])
    model.save(tmp_path / "model.tsrnn")
    loaded = tsrnn.load(tmp_path / "model.tsrnn")
    assert np.array_equal(loaded.predict(frame), model.predict(frame))
    assert loaded.step_order_ == "lag_names" and loaded.lags_.tolist() == [24, 12, 2, 1]
