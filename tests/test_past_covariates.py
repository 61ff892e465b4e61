"""Covariates known only up to the forecast origin: read over the window, never over the horizon."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from tsrnn import RNNForecaster, datasets

FAST = {"window": 14, "horizon": 7, "max_epochs": 3, "hidden_size": 8, "random_state": 0}


@pytest.fixture(scope="module")
def bikes() -> pd.DataFrame:
    """Rentals with the day's weather (measured, so known only once the day is over) and the holidays (known)."""
    return datasets.load_bike_sharing().iloc[:200]


def fit(bikes: pd.DataFrame, **options) -> RNNForecaster:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = RNNForecaster(**{**FAST, "past_covariates": ["temp", "hum"], **options})
        return model.fit(bikes[["temp", "hum", "workingday"]], bikes["cnt"].astype(float))


@pytest.mark.parametrize("strategy", ["mimo", "direct", "seq2seq"])
def test_past_covariates_are_read_over_the_window_only(bikes, strategy):
    model = fit(bikes, strategy=strategy)
    w, h = model.window_, model.horizon
    lag_total = sum(model.differencing_lags_)
    z = model._target_features(model._y).astype(model.dtype)
    c = model._covariate_features(model._covariates, model._index)[lag_total:].astype(model.dtype)
    inputs, _ = model._samples(z, c)
    first = np.asarray(inputs[0][np.arange(3)])
    scaled = model._covariate_scaler.transform(model._covariates)[lag_total:, :2].astype(model.dtype)
    # Every input reads [target, temp, hum, ...] at the window's steps, in that order.
    for i in range(3):
        assert np.array_equal(first[i, :w, 1:3], scaled[i : i + w])
    if strategy == "seq2seq":
        # The decoder reads the horizon's known covariate (working day) and its position, not the weather.
        assert np.asarray(inputs[1][np.arange(1)]).shape[2] == 2
    else:
        # Over the horizon, the target, the weather and the "observed" flag are zeros; the working day is not.
        assert first.shape[1] == w + h and not first[:, w:, :4].any()
        assert np.array_equal(first[0, w:, 4], c[w : w + h, 2])
    future = pd.DataFrame({"workingday": bikes["workingday"].iloc[:7].to_numpy()},
                          index=pd.date_range(bikes.index[-1] + pd.Timedelta(days=1), periods=7, freq="D"))  # fmt: skip
    forecast = model.predict(future)
    assert len(forecast) == 7 and np.isfinite(forecast).all()


def test_forecasts_take_only_the_covariates_known_in_advance(bikes):
    model = fit(bikes)
    index = pd.date_range(bikes.index[-1] + pd.Timedelta(days=1), periods=7, freq="D")
    with pytest.raises(ValueError, match=r"X has 3 column\(s\) but the model was fitted with 1 known in advance"):
        model.predict(pd.DataFrame(np.zeros((7, 3)), index=index, columns=["temp", "hum", "workingday"]))
    with pytest.raises(ValueError, match="reaches at most horizon=7 steps"):
        model.predict(pd.DataFrame({"workingday": np.zeros(8)}, index=pd.date_range(index[0], periods=8, freq="D")))
    with pytest.raises(ValueError, match=r"past_covariates \['rain'\] are not among the covariate columns"):
        fit(bikes, past_covariates=["rain"])
    with pytest.raises(ValueError, match="past_covariates need a strategy that forecasts the horizon at once"):
        fit(bikes, strategy="recursive")
    only_past = RNNForecaster(**{**FAST, "past_covariates": ["temp"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        only_past.fit(bikes[["temp"]], bikes["cnt"].astype(float))
    assert len(only_past.predict()) == 7


def test_a_collection_takes_past_covariates_by_column(bikes):
    rows = []
    for name, part in (("a", bikes.iloc[:120]), ("b", bikes.iloc[60:200])):
        columns = {"y": part["cnt"].to_numpy(float), "temp": part["temp"], "workingday": part["workingday"]}
        rows.append(
            pd.DataFrame({"unique_id": name, "ds": part.index, **{k: np.asarray(v) for k, v in columns.items()}})
        )
    frame = pd.concat(rows, ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = RNNForecaster(**{**FAST, "past_covariates": ["temp"]}).fit(frame)
    future = pd.concat([
        pd.DataFrame({"unique_id": name, "ds": pd.date_range(end + pd.Timedelta(days=1), periods=7, freq="D"),
                      "workingday": 1.0})
        for name, end in (("a", bikes.index[119]), ("b", bikes.index[199]))
    ])  # fmt: skip
    forecast = model.predict(future)
    assert len(forecast) == 14 and np.isfinite(forecast["y"]).all()
    with pytest.raises(ValueError, match="differ from those known in advance in fit"):
        model.predict(future.assign(temp=0.0))


def test_backtests_give_forecasts_only_the_covariates_known_in_advance(bikes):
    from tsrnn.model_selection import backtest, windows_from_end

    X, y = bikes[["temp", "hum", "workingday"]], bikes["cnt"].astype(float)
    template = RNNForecaster(**{**FAST, "past_covariates": ["temp", "hum"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = backtest(template, y, X, cv=(150, 7, 7))
        # The first fold is the fit of the first 150 days, forecasting the next 7 from the working days alone.
        alone = RNNForecaster(**{**FAST, "past_covariates": ["temp", "hum"]}).fit(X.iloc[:150], y.iloc[:150])
    first = result.forecasts[result.forecasts.fold == 0]
    np.testing.assert_array_equal(first["forecast"], alone.predict(X.iloc[150:157][["workingday"]]).to_numpy())
    frame = pd.DataFrame({"unique_id": "a", "ds": bikes.index, "y": y.to_numpy(), "temp": bikes["temp"].to_numpy(),
                          "workingday": bikes["workingday"].to_numpy()})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        panel = backtest(RNNForecaster(**{**FAST, "past_covariates": ["temp"]}), frame, cv=windows_from_end(7, 2))
    assert len(panel.forecasts) == 14 and np.isfinite(panel.forecasts["forecast"]).all()
