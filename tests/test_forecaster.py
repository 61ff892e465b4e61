from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score

from tsrnn import RNNForecaster, datasets
from tsrnn.metrics import mase

STRATEGIES = ["mimo", "direct", "recursive", "seq2seq"]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def bike() -> pd.DataFrame:
    return datasets.load_bike_sharing()


def quick(**params):
    return RNNForecaster(**{"hidden_size": 8, "max_epochs": 3, "random_state": 0, **params})


def silence_network(model: RNNForecaster) -> RNNForecaster:
    """Zero the output heads, so that the network predicts 0 (the mean of the scaled target) everywhere."""
    weights = model.network_.get_weights()
    model.network_.set_weights({name: np.zeros_like(w) for name, w in weights.items() if "head." in name})
    return model


# ------------------------------------------------------------------------- known answers


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_seasonal_differencing_reproduces_a_periodic_series(strategy):
    """Seasonal differences of a periodic series are zero: a network predicting their mean continues it exactly."""
    period = 12
    pattern = np.random.default_rng(0).standard_normal(period) * 10 + 50
    y = pd.Series(np.tile(pattern, 8), index=pd.date_range("2001-01", periods=96, freq="MS"))
    model = silence_network(quick(window=12, horizon=6, strategy=strategy, difference="seasonal").fit(y))
    assert model.seasonal_period_ == 12
    forecast = model.predict(horizon=18)  # three blocks for the block strategies
    np.testing.assert_allclose(forecast.to_numpy(), np.tile(pattern, 2)[:18], atol=1e-9)
    assert forecast.index.equals(pd.date_range("2009-01", periods=18, freq="MS"))


@pytest.mark.parametrize("order", [1, 2])
def test_differencing_continues_polynomial_trends(order):
    t = np.arange(60.0)
    values = 3 * t + 5 if order == 1 else 0.5 * t**2 - t + 2
    y = pd.Series(values, index=pd.RangeIndex(100, 160))
    forecast = silence_network(quick(window=5, horizon=4, difference=order).fit(y)).predict(horizon=7)
    expected = 3 * np.arange(60, 67) + 5.0 if order == 1 else 0.5 * np.arange(60, 67.0) ** 2 - np.arange(60, 67) + 2
    np.testing.assert_allclose(forecast.to_numpy(), expected, rtol=1e-10)
    assert forecast.index.equals(pd.RangeIndex(160, 167))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_known_future_covariates_are_used(strategy):
    """y is a covariate's value at the same step: only a model that reads future covariates can forecast it."""
    rng = np.random.default_rng(1)
    n = 300
    x = rng.standard_normal(n + 24)  # forecast 24 steps: four blocks of the horizon
    index = pd.date_range("2020-01-01", periods=n + 24, freq="D")
    X = pd.DataFrame({"driver": x}, index=index)
    y = pd.Series(2.0 * x + 1.0, index=index, name="load")
    params = {"window": 4, "horizon": 6, "strategy": strategy, "max_epochs": 60, "learning_rate": 1e-2, "difference": 0}
    with_x = quick(**params).fit(X.iloc[:n], y.iloc[:n])
    forecast = with_x.predict(X.iloc[n:])
    assert forecast.name == "load" and forecast.index.equals(index[n:])
    error = np.mean(np.abs(forecast - y.iloc[n:]))
    spread = np.mean(np.abs(y.iloc[n:] - y.iloc[:n].mean()))
    without_x = quick(**params).fit(y.iloc[:n]).predict(horizon=24)
    assert error < 0.3 * spread < np.mean(np.abs(without_x - y.iloc[n:]))


def test_sequence_loss_trains_on_every_step():
    t = np.arange(200)
    y = pd.Series(np.sin(2 * np.pi * t / 12), index=pd.RangeIndex(200))
    model = quick(window=12, horizon=12, strategy="recursive", sequence_loss=True, max_epochs=40,
                  learning_rate=1e-2).fit(y)  # fmt: skip
    forecast = model.predict()
    assert np.mean(np.abs(forecast.to_numpy() - np.sin(2 * np.pi * np.arange(200, 212) / 12))) < 0.2


def test_several_targets_come_back_as_a_frame():
    index = pd.period_range("2000Q1", periods=40, freq="Q")
    y = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) * -2}, index=index)
    forecast = silence_network(quick(window=4, horizon=2, difference=1).fit(y)).predict()
    assert list(forecast.columns) == ["a", "b"]
    assert forecast.index.equals(pd.period_range("2010Q1", periods=2, freq="Q"))
    np.testing.assert_allclose(forecast.to_numpy(), [[40.0, -80.0], [41.0, -82.0]], rtol=1e-10)


def test_numpy_input_gives_numpy_output():
    y = np.sin(np.arange(80) / 3)
    forecast = quick(window=6, horizon=3).fit(y).predict()
    assert isinstance(forecast, np.ndarray) and forecast.shape == (3,)
    assert quick(window=6, horizon=3).fit(np.stack([y, y], 1)).predict().shape == (3, 2)


# ------------------------------------------------------------------ real data and sklearn


def seasonal_naive_mase(y: pd.Series, window: int, horizon: int, origins: int, m: int, **params) -> tuple:
    model_scores, naive_scores = [], []
    for k in reversed(range(origins)):
        end = len(y) - horizon - k * horizon
        train, actual = y.iloc[:end].to_numpy(), y.iloc[end : end + horizon].to_numpy()
        forecast = RNNForecaster(window=window, horizon=horizon, **params).fit(y.iloc[:end]).predict()
        model_scores.append(mase(actual, forecast, train, m))
        naive_scores.append(mase(actual, np.resize(train[-m:], horizon), train, m))
    return np.mean(model_scores), np.mean(naive_scores)


def test_defaults_beat_seasonal_naive_on_air_passengers(passengers):
    model, naive = seasonal_naive_mase(passengers, window=24, horizon=12, origins=4, m=12, random_state=0)
    assert model < naive


def test_cross_validation_and_grid_search_with_time_series_split(passengers):
    X = pd.DataFrame(index=passengers.index)  # covariates with zero columns
    cv = TimeSeriesSplit(n_splits=4, test_size=12)
    scores = cross_val_score(
        RNNForecaster(window=24, horizon=12, max_epochs=20, random_state=0), X, passengers, cv=cv,
        scoring="neg_mean_absolute_error",
    )  # fmt: skip
    assert scores.shape == (4,) and np.all(np.isfinite(scores))
    search = GridSearchCV(
        RNNForecaster(horizon=12, max_epochs=10, random_state=0),
        {"cell": ["lstm", "gru"], "hidden_size": [16, 32]},
        cv=cv,
    )
    search.fit(X, passengers)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.predict(horizon=3).index[0] == pd.Timestamp("1961-01-01")


def test_a_gap_is_counted_in_steps(passengers):
    model = quick(window=24, horizon=12).fit(passengers.iloc[:120])
    full = model.predict(horizon=12)
    gap = 3
    future = pd.DataFrame(index=passengers.index[120 + gap : 132])
    shifted = model.predict(future)
    pd.testing.assert_series_equal(shifted, full.iloc[gap:])
    cv = TimeSeriesSplit(n_splits=2, test_size=9, gap=gap)
    X = pd.DataFrame(index=passengers.index)
    scores = cross_val_score(quick(window=24, horizon=12), X, passengers, cv=cv, scoring="neg_mean_absolute_error")
    assert np.all(np.isfinite(scores))


def test_exogenous_covariates_on_bike_sharing(bike):
    X, y = bike[["temp", "hum", "windspeed", "workingday"]], bike["cnt"].astype(float)
    model = quick(window=14, horizon=7, calendar_features=True).fit(X.iloc[:-7], y.iloc[:-7])
    assert model.calendar_features_ == ("dayofweek", "dayofyear")
    assert list(model.feature_names_in_) == ["temp", "hum", "windspeed", "workingday"]
    forecast = model.predict(X.iloc[-7:])
    assert forecast.index.equals(y.index[-7:]) and np.all(np.isfinite(forecast))
    with pytest.raises(ValueError, match="fitted with 4 covariate column"):
        model.predict(horizon=7)
    with pytest.raises(ValueError, match=r"X's columns \['hum', 'temp'"):
        model.predict(X.iloc[-7:, [1, 0, 2, 3]])
    with pytest.raises(ValueError, match="covariates of those steps are needed"):
        model.predict(X.iloc[-5:])


def test_pickle_clone_and_determinism(passengers):
    model = quick(window=12, horizon=6, strategy="seq2seq").fit(passengers)
    restored = pickle.loads(pickle.dumps(model))
    pd.testing.assert_series_equal(restored.predict(), model.predict())
    again = clone(model).fit(passengers)
    pd.testing.assert_series_equal(again.predict(), model.predict())
    other = clone(model).set_params(random_state=1).fit(passengers)
    assert not np.array_equal(other.predict().to_numpy(), model.predict().to_numpy())


def test_window_defaults_to_two_seasons(passengers):
    assert quick(horizon=12).fit(passengers).window_ == 24
    short = quick(horizon=3).fit(passengers.iloc[:30])
    assert short.differencing_lags_ == (12,) and short.window_ == (30 - 3 - 12) // 2
    shorter = quick(horizon=3).fit(passengers.iloc[:16])
    assert shorter.differencing_lags_ == () and shorter.window_ == (16 - 3) // 2


def test_warm_start_continues(passengers):
    model = quick(window=12, horizon=3, warm_start=True).fit(passengers)
    model.fit(passengers)
    assert model.n_iter_ == 6


# ------------------------------------------------------------------------------ bad input


def monthly(values, start="2000-01"):
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="MS"), name="y")


@pytest.mark.parametrize(
    ("make_y", "error", "message"),
    [
        (lambda: monthly(np.r_[np.ones(30), np.nan, np.ones(9)]), ValueError,
         r"y contains 1 NaN or inf value\(s\); the first \(NaN\) is at Timestamp\('2002-07-01 00:00:00'\)"),
        (lambda: monthly(np.r_[np.ones(39), np.inf]), ValueError, r"\(inf\)"),
        # pandas 3 reads text as str, pandas 2 as object.
        (lambda: pd.DataFrame({"y": np.ones(40), "kind": ["a"] * 40}), TypeError,
         r"column\(s\) 'kind' \((str|object)\)"),
        (lambda: monthly(np.ones(40))[::-1], ValueError, "is not sorted: 2003-03-01 comes after 2003-04-01"),
        (lambda: pd.Series(np.ones(40), index=[0] * 2 + list(range(1, 39))), ValueError, "y's index repeats 0"),
        (lambda: pd.Series(np.ones(40), index=pd.DatetimeIndex(pd.date_range("2000", periods=41, freq="D").delete(5))),
         ValueError, "not evenly spaced at frequency D: 2000-01-05 is followed by 2000-01-07, expected 2000-01-06"),
        (lambda: pd.Series(np.ones(40), index=list(range(20)) + list(range(21, 41))), ValueError, "not evenly spaced"),
        (lambda: monthly(np.ones(20)), ValueError,
         "y has 20 observations, too few for window=12, horizon=12: these settings need at least 25"),
        (lambda: monthly([]), ValueError, "y is empty"),
        (lambda: monthly(np.ones(40, dtype=complex)), TypeError, "must be numeric"),
        (lambda: monthly(np.array(["1"] * 40, dtype=object)), TypeError, "must be numeric"),
        (lambda: pd.Series(np.ones(40), index=pd.Index([f"t{i:02d}" for i in range(40)])), TypeError, "DatetimeIndex"),
    ],
)  # fmt: skip
def test_bad_series_get_clear_errors(make_y, error, message):
    with pytest.raises(error, match=message):
        quick(window=12, horizon=12).fit(make_y())


def test_bad_parameters_and_arguments(passengers):
    with pytest.raises(ValueError, match="`horizon` must be an int >= 1; got 0"):
        quick(horizon=0).fit(passengers)
    with pytest.raises(ValueError, match="`window` must be an int >= 1 or None; got 0"):
        quick(window=0).fit(passengers)
    with pytest.raises(ValueError, match="`strategy` must be one of"):
        quick(strategy="multi").fit(passengers)
    with pytest.raises(ValueError, match="bidirectional=False"):
        quick(strategy="seq2seq", bidirectional=True).fit(passengers)
    with pytest.raises(ValueError, match="sequence_loss=True needs strategy='recursive'"):
        quick(sequence_loss=True).fit(passengers)
    with pytest.raises(ValueError, match="needs a seasonal period"):
        quick(difference="seasonal", window=4).fit(passengers.reset_index(drop=True))
    with pytest.raises(ValueError, match="calendar_features need y indexed by timestamps"):
        quick(calendar_features=["month"], window=4).fit(passengers.reset_index(drop=True))
    with pytest.raises(NotFittedError):
        quick().predict()
    model = quick(window=12, horizon=3).fit(passengers)
    with pytest.raises(ValueError, match="`horizon` must be an int >= 1; got -1"):
        model.predict(horizon=-1)
    with pytest.raises(ValueError, match="horizon=4 but X has 3 rows"):
        model.predict(pd.DataFrame(index=model.axis_.future(3)), horizon=4)
    with pytest.raises(ValueError, match="X has 1 column"):
        model.predict(pd.DataFrame({"a": [1.0, 2.0]}, index=model.axis_.future(2)))
    with pytest.raises(ValueError, match="must cover steps after the end"):
        model.predict(pd.DataFrame(index=passengers.index[-3:]))
    with pytest.raises(ValueError, match="X has 143 rows but y has 144"):
        quick(window=12).fit(np.ones((143, 1)), passengers)
    with pytest.raises(ValueError, match="X's index differs from y's"):
        quick(window=12).fit(pd.DataFrame(index=passengers.index + pd.DateOffset(months=1)), passengers)
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        X = pd.DataFrame({"a": np.ones(len(passengers))}, index=passengers.index)
        X.iloc[3, 0] = np.nan
        quick(window=12).fit(X, passengers)


@pytest.mark.parametrize(
    ("changes", "data", "message"),
    [
        ({"transform": "log"}, lambda y: (y - y.min(),), "transform='log' needs every value of y > 0"),
        ({"difference": 1}, lambda y: (y[:11],), "y has 11 observations, too few"),
        ({"window": 100}, lambda y: (y[:60],), "y has 60 observations, too few for window=100"),
        ({"difference": "seasonal"}, lambda y: (y.reset_index(drop=True),), "needs a seasonal period"),
        ({"calendar_features": ["month"]}, lambda y: (y.reset_index(drop=True),), "calendar_features need y indexed"),
        ({"calibration_size": 200}, lambda y: (y,), "calibration_size=200 holds out 200 of 144 steps"),
        ({"calibration_size": 0.9}, lambda y: (y,), "the calibration model, trained on the first 14 steps, failed"),
        ({}, lambda y: (pd.DataFrame({"a": np.ones(5)}, index=y.index[:5]), y[:5]), "y has 5 observations"),
        ({"warm_start": True}, lambda y: (pd.DataFrame({"a": np.ones(144)}, index=y.index), y), "warm_start needs"),
    ],
    ids=["transform", "difference", "window", "seasonal", "calendar", "held-out", "calibration-fit", "covariates",
         "warm-start"],
)  # fmt: skip
def test_a_refused_refit_leaves_the_fitted_model_as_it_was(passengers, changes, data, message):
    model = quick(window=12, horizon=3, calibration_size=24).fit(passengers)
    forecast, intervals = model.predict(), model.predict_interval()
    fitted = {name: getattr(model, name) for name in ("window_", "seasonal_period_", "differencing_lags_",
                                                      "calendar_features_", "n_features_in_", "network_")}  # fmt: skip
    with pytest.raises(ValueError, match=message):
        model.set_params(**changes).fit(*data(passengers))
    pd.testing.assert_series_equal(model.predict(), forecast, check_exact=True)
    pd.testing.assert_frame_equal(model.predict_interval(), intervals, check_exact=True)
    assert {name: getattr(model, name) for name in fitted} == fitted


def test_hourly_series_are_differenced_by_the_week_when_long_enough():
    index = pd.date_range("2024-01-01", periods=24 * 30, freq="h")
    y = pd.Series(np.sin(np.arange(len(index)) * 2 * np.pi / 24), index=index)
    assert quick(window=48, horizon=24).fit(y).differencing_lags_ == (168,)
    assert quick(window=48, horizon=24).fit(y.iloc[:150]).differencing_lags_ == (24,)
    assert quick(window=48, horizon=24, seasonal_period=24).fit(y).differencing_lags_ == (24,)


# ------------------------------------------------------------------ update and intervals


def test_update_appends_observations_without_retraining(passengers):
    full = quick(window=12, horizon=6).fit(passengers.iloc[:120])
    weights = full.network_.params.copy()
    before = full.predict()
    full.update(passengers.iloc[120:132])
    np.testing.assert_array_equal(full.network_.params, weights)
    after = full.predict()
    assert before.index[0] == passengers.index[120] and after.index[0] == passengers.index[132]
    # The same network, forecasting from the later origin, reads the appended months.
    assert not np.allclose(after.to_numpy(), before.to_numpy())
    with pytest.raises(ValueError, match="directly follow the fitted series"):
        full.update(passengers.iloc[140:])
    with pytest.raises(ValueError, match=r"y has 2 column\(s\); the model forecasts 1"):
        full.update(pd.DataFrame({"a": passengers.iloc[132:], "b": passengers.iloc[132:]}))


def test_conformal_intervals_are_calibrated_per_step(passengers):
    model = quick(window=12, horizon=6, calibration_size=40, max_epochs=20).fit(passengers)
    residuals = model.calibration_residuals_
    assert residuals.shape == (40 - 6 + 1, 6, 1)
    frame = model.predict_interval(coverage=[0.5, 0.9])
    assert list(frame.columns) == ["forecast", "lower_50", "upper_50", "lower_90", "upper_90"]
    pd.testing.assert_series_equal(frame["forecast"], model.predict(), check_names=False)
    # The 90 % half-width of each step is the ceil(0.9 (n + 1))-th smallest absolute residual.
    n = len(residuals)
    expected = np.sort(np.abs(residuals[:, :, 0]), axis=0)[int(np.ceil(0.9 * (n + 1))) - 1]
    np.testing.assert_allclose(frame["upper_90"] - frame["forecast"], expected)
    assert (frame["upper_90"] - frame["lower_90"] >= frame["upper_50"] - frame["lower_50"]).all()
    with pytest.raises(ValueError, match="calibrated for the 6 steps"):
        model.predict_interval(horizon=7)
    with pytest.raises(ValueError, match="coverage 0.99 needs at least 99 calibration origins"):
        model.predict_interval(coverage=0.99)
    with pytest.raises(ValueError, match="`coverage` must be a float in"):
        model.predict_interval(coverage=1.5)
    with pytest.raises(ValueError, match="fit with calibration_size"):
        quick(window=12, horizon=6).fit(passengers).predict_interval()
    with pytest.raises(ValueError, match="must hold out at least horizon=6 steps"):
        quick(window=12, horizon=6, calibration_size=3).fit(passengers)
