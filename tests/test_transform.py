"""The fixed target transform of RNNForecaster (``transform="log"`` or ``"log1p"``)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone

from tsrnn import RNNForecaster, datasets
from tsrnn.preprocessing import TargetTransform

STRATEGIES = ["mimo", "direct", "recursive", "seq2seq"]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SHAPES = hnp.array_shapes(min_dims=1, max_dims=2, max_side=16)


@pytest.fixture(scope="module")
def sunspots() -> pd.Series:
    return datasets.load_sunspots()


@pytest.fixture(scope="module")
def passengers() -> pd.Series:
    return datasets.load_air_passengers()


def quick(**params):
    return RNNForecaster(**{"window": 22, "horizon": 5, "hidden_size": 8, "max_epochs": 3, "random_state": 0, **params})


# --------------------------------------------------------------------------- round trips


@given(hnp.arrays(np.float64, SHAPES, elements=st.floats(1e-300, 1e300, allow_subnormal=False)))
def test_log_then_its_inverse_gives_back_positive_values(values):
    transform = TargetTransform("log")
    transform.check(values)
    np.testing.assert_allclose(transform.inverse_transform(transform.transform(values)), values, rtol=1e-12)


@given(hnp.arrays(np.float64, SHAPES, elements=st.floats(0.0, 1e300, allow_subnormal=False)))
def test_log1p_then_its_inverse_gives_back_non_negative_values(values):
    transform = TargetTransform("log1p")
    transform.check(values)
    np.testing.assert_allclose(transform.inverse_transform(transform.transform(values)), values, rtol=1e-12)


@given(hnp.arrays(np.float64, SHAPES, elements=st.floats(-700.0, 700.0)))
def test_the_inverse_of_any_transformed_value_is_in_the_series_domain(values):
    assert (TargetTransform("log").inverse_transform(values) > 0).all()
    assert (TargetTransform("log1p").inverse_transform(values) >= 0).all()
    identity = TargetTransform(None)
    assert identity.transform(values) is values and identity.inverse_transform(values) is values


# ------------------------------------------------------------------ forecasts, intervals


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_log1p_keeps_every_sunspot_forecast_and_bound_non_negative(sunspots, strategy):
    model = quick(strategy=strategy, transform="log1p", calibration_size=60).fit(sunspots)
    assert (model.predict(horizon=12).to_numpy() >= 0).all()  # three blocks, fed back
    intervals = model.predict_interval(coverage=[0.8, 0.95])
    assert (intervals.to_numpy() >= 0).all()
    for pct in ("80", "95"):
        assert (intervals[f"lower_{pct}"] <= intervals["forecast"]).all()
        assert (intervals["forecast"] <= intervals[f"upper_{pct}"]).all()


def test_without_a_transform_sunspot_intervals_go_below_zero(sunspots):
    """What the transform is for: the symmetric intervals of the raw series leave its domain."""
    intervals = quick(calibration_size=60).fit(sunspots).predict_interval(coverage=0.95)
    assert intervals["lower_95"].min() < 0


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_transform_is_fitting_on_the_transformed_series_and_mapping_back(sunspots, strategy):
    """With covariates and two targets: same network, same forecasts and bounds, once mapped back."""
    targets = pd.DataFrame({"sunspots": sunspots, "lagged": sunspots.shift(1, fill_value=0.0)})
    cycle = np.sin(2 * np.pi * np.arange(len(sunspots) + 5) / 11)
    covariates = pd.DataFrame({"cycle": cycle}, index=pd.date_range("1700", periods=len(cycle), freq="YS"))
    past, future = covariates.iloc[: len(sunspots)], covariates.iloc[len(sunspots) :]
    params = {"strategy": strategy, "calibration_size": 60}
    transformed = quick(transform="log1p", **params).fit(past, targets)
    plain = quick(**params).fit(past, np.log1p(targets))
    np.testing.assert_allclose(transformed.calibration_residuals_, plain.calibration_residuals_, rtol=1e-12)
    inverse = TargetTransform("log1p").inverse_transform
    np.testing.assert_allclose(transformed.predict(future), inverse(plain.predict(future)), rtol=1e-12)
    intervals = transformed.predict_interval(future, coverage=0.9)
    assert list(intervals.columns.get_level_values(0).unique()) == ["sunspots", "lagged"]
    np.testing.assert_allclose(intervals, inverse(plain.predict_interval(future, coverage=0.9)), rtol=1e-12)
    assert (intervals.to_numpy() >= 0).all()


def test_update_appends_observations_through_the_transform(passengers):
    transformed = quick(transform="log", window=24, horizon=12).fit(passengers.iloc[:-12])
    plain = quick(window=24, horizon=12).fit(np.log(passengers.iloc[:-12]))
    transformed.update(passengers.iloc[-12:])
    plain.update(np.log(passengers.iloc[-12:]))
    np.testing.assert_allclose(transformed.predict(), np.exp(plain.predict()), rtol=1e-12)
    assert (transformed.predict() > 0).all()


# ------------------------------------------------------------------------------ checks


def test_log_refuses_a_zero_naming_its_position_and_suggests_log1p(sunspots):
    message = (
        r"transform='log' needs every value of y > 0; the first that is not is 0 at position 11 \(1711-01-01 "
        r"00:00:00\), column 'sunspots'. Use transform='log1p' for a series with zeros, or transform=None"
    )
    with pytest.raises(ValueError, match=message):
        quick(transform="log").fit(sunspots)


def test_negative_values_are_refused_naming_the_column_and_suggesting_no_transform():
    frame = pd.DataFrame({"a": np.arange(1.0, 41.0), "b": np.arange(40.0) - 3.0})
    with pytest.raises(ValueError, match=r"log1p.* >= 0; the first that is not is -3 at position 0, column 'b'\. "):
        quick(transform="log1p").fit(frame)
    with pytest.raises(ValueError, match=r"-3 at position 0, column 'b'\. Use transform=None for a series with neg"):
        quick(transform="log").fit(frame)
    values = np.arange(40.0) + 1
    values[7] = -0.5
    with pytest.raises(ValueError, match=r"the first that is not is -0.5 at position 7\. Use transform=None"):
        quick(transform="log").fit(values)  # a 1-D array has no column to name


def test_update_refuses_values_outside_the_domain_and_keeps_the_model(passengers):
    model = quick(transform="log", window=24, horizon=12).fit(passengers.iloc[:-12])
    before = model.predict()
    bad = passengers.iloc[-12:].copy()
    bad.iloc[3] = 0.0
    with pytest.raises(ValueError, match=r"0 at position 3 \(1960-04-01 00:00:00\), column 'passengers'"):
        model.update(bad)
    pd.testing.assert_series_equal(model.predict(), before)


@pytest.mark.parametrize("value", ["sqrt", "LOG", True, 1])
def test_a_bad_transform_is_refused_at_fit(passengers, value):
    model = RNNForecaster(transform=value)
    assert model.transform is value  # stored as given, checked in fit
    with pytest.raises(ValueError, match=rf"`transform` must be one of 'log', 'log1p' or None; got {value!r}"):
        model.fit(passengers)


def test_warm_start_needs_the_same_transform(passengers):
    model = quick(transform="log", window=24, horizon=12, warm_start=True).fit(passengers)
    with pytest.raises(ValueError, match=r"warm_start needs the transform the model was fitted with \('log'\)"):
        model.set_params(transform="log1p").fit(passengers)


# --------------------------------------------------------------------- sklearn, pickle


def test_transform_is_a_plain_parameter_for_clone_and_get_params(passengers):
    assert RNNForecaster().get_params()["transform"] is None
    model = quick(transform="log")
    copy = clone(model)
    assert copy.get_params()["transform"] == "log" and copy.get_params() == model.get_params()
    assert clone(model.set_params(transform="log1p")).transform == "log1p"


def test_a_pickled_model_forecasts_the_same(passengers):
    model = quick(transform="log", window=24, horizon=12, calibration_size=36).fit(passengers)
    restored = pickle.loads(pickle.dumps(model))
    pd.testing.assert_series_equal(restored.predict(), model.predict())
    pd.testing.assert_frame_equal(restored.predict_interval(), model.predict_interval())
