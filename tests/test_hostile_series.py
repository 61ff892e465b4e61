"""Training stays finite on hostile series: huge steps, constants, extreme scales, flat runs, outliers.

Each series is built from the bundled air passengers series (or is a constant on its index).
For each, RNNForecaster (default scaling and differencing, every strategy, a short fit) and
RNNRegressor (on make_windows of the series) either fit and give finite forecasts and
predictions, or refuse the data with a ValueError that says what to do; never NaN or inf.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsrnn import RNNForecaster, RNNRegressor, datasets, make_windows
from tsrnn.preprocessing import Scaler, mean_and_std

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

STRATEGIES = ["mimo", "recursive", "direct", "seq2seq"]


def _air() -> pd.Series:
    return datasets.load_air_passengers()


def _level_shift() -> pd.Series:
    y = _air()
    y.iloc[len(y) // 2 :] += 1e6
    return y


def _constant() -> pd.Series:
    return pd.Series(7.0, index=_air().index, name="constant")


def _flat_runs() -> pd.Series:
    # Five years unchanged in the middle, and the last three years too: forecasts start from a flat window.
    y = _air()
    y.iloc[40:100] = y.iloc[40]
    y.iloc[-36:] = y.iloc[-36]
    return y


def _outlier() -> pd.Series:
    y = _air()
    y.iloc[70] = 1e9
    return y


HOSTILE = {
    "level shift of 1e6": _level_shift,
    "constant": _constant,
    "scale 1e-8": lambda: _air() * 1e-8,
    "scale 1e12": lambda: _air() * 1e12,
    "flat runs": _flat_runs,
    "outlier of 1e9": _outlier,
    # Past 1e154 squares overflow and below 1e-154 they underflow, which the scaler works around.
    "scale 1e300": lambda: _air() * 1e300,
    "scale 1e-300": lambda: _air() * 1e-300,
}


def forecaster(**params: object) -> RNNForecaster:
    return RNNForecaster(**{"horizon": 12, "hidden_size": 8, "max_epochs": 5, "random_state": 0, **params})


def regressor(**params: object) -> RNNRegressor:
    return RNNRegressor(**{"hidden_size": 8, "max_epochs": 5, "random_state": 0, **params})


# ------------------------------------------------------------------------------ forecaster


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_forecaster_fits_and_forecasts_finite_values(name, strategy):
    y = HOSTILE[name]()
    model = forecaster(strategy=strategy, calibration_size=24).fit(y)
    assert np.isfinite(model.loss_curve_).all()
    # Two blocks of the horizon: the second is forecast from the first, fed back.
    assert np.isfinite(model.predict(horizon=24).to_numpy()).all()
    assert np.isfinite(model.predict_interval(coverage=0.8).to_numpy()).all()


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("scale", [2.0**600, 2.0**-600, 1e12, 1e-8, 1e300, 1e-300])
def test_forecasts_scale_with_the_series(strategy, scale):
    """Scaling is done in float64 before the network's float32: the same network, whatever the scale.

    A power of two scales exactly, and so do the forecasts; other factors round each value
    once, which the float32 network inputs absorb.
    """
    base = forecaster(strategy=strategy).fit(_air()).predict(horizon=24).to_numpy()
    scaled = forecaster(strategy=strategy).fit(_air() * scale).predict(horizon=24).to_numpy()
    if np.log2(scale).is_integer():
        assert np.array_equal(scaled, base * scale)
    else:
        np.testing.assert_allclose(scaled / scale, base, rtol=1e-12)


def test_a_constant_series_is_centred_not_scaled_and_forecasts_near_its_level():
    model = forecaster(difference=0).fit(_constant())
    # Zero spread: scaled by 1 (not by 0), so the training targets are all zero.
    assert model._target_scaler.scale.tolist() == [1.0] and model._target_scaler.offset.tolist() == [7.0]
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert np.isfinite(model.predict().to_numpy()).all()


# ------------------------------------------------------------------------------- regressor


@pytest.mark.parametrize("name", [name for name in HOSTILE if "300" not in name])
def test_regressor_fits_and_predicts_finite_values(name):
    X, y = make_windows(HOSTILE[name]().to_numpy(), window=12, horizon=3)
    model = regressor().fit(X, y)
    assert np.isfinite(model.loss_curve_).all()
    assert np.isfinite(model.predict(X)).all()


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        (1e300, r"X reaches 6\.22e\+302 in magnitude, beyond the range of float32 \(3\.4e\+38\)"),
        (1e-300, r"X is at most 6\.22e-298 in magnitude, below the smallest normal float32 \(1\.18e-38\)"),
    ],
)
def test_regressor_refuses_windows_that_float32_cannot_hold(scale, message):
    # With input_scaling=None the regressor reads X as it is; cast to float32 these values
    # would become inf or 0.
    X, y = make_windows((_air() * scale).to_numpy(), window=12, horizon=3)
    fix = r"set input_scaling='standard' \(or scale X first\), or set dtype='float64'"
    with pytest.raises(ValueError, match=message + ".*" + fix):
        regressor(input_scaling=None).fit(X, y)
    model = regressor(dtype="float64", input_scaling=None).fit(X, y)
    assert np.isfinite(model.predict(X)).all()
    # Scaled in float64 before the cast, the same windows train in float32.
    expected = regressor().fit(X / scale, y / scale).predict(X / scale)
    np.testing.assert_allclose(regressor().fit(X, y).predict(X) / scale, expected, rtol=1e-4)


def test_regressor_refuses_unnormalised_targets_that_float32_cannot_hold():
    X, y = make_windows(_air().to_numpy(), window=12)
    with pytest.raises(ValueError, match=r"^y reaches 6\.22e\+302 .*: set normalize_y=True, or set dtype='float64'$"):
        regressor(normalize_y=False, input_scaling="standard").fit(X, y * 1e300)
    # Relative to each window, targets of 1e300 are ordinary numbers.
    huge = regressor(normalize_y=False).fit(X * 1e300, y * 1e300)
    expected = regressor(normalize_y=False).fit(X, y).predict(X)
    np.testing.assert_allclose(huge.predict(X * 1e300) / 1e300, expected, rtol=1e-4)
    assert np.isfinite(regressor().fit(X, y * 1e300).predict(X)).all()


# ---------------------------------------------------------------------------------- scaler


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e12, 1e200, 1e-200, 1e300, 1e-300])
def test_mean_and_std_hold_at_any_scale(scale):
    values = np.random.default_rng(0).normal(3.0, 2.0, (500, 2)) * scale
    mean, std = mean_and_std(values)
    reference = values / scale
    np.testing.assert_allclose(mean / scale, reference.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(std / scale, reference.std(axis=0), rtol=1e-13)
    if scale in (1.0, 1e-3, 1e12):
        # Values of ordinary size: bit for bit numpy's.
        assert np.array_equal(mean, values.mean(axis=0)) and np.array_equal(std, values.std(axis=0))


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_scaler_centres_a_constant_column_and_maps_it_back_exactly(kind):
    values = np.column_stack([np.full(10, 1e12), np.arange(10.0)])
    scaler = Scaler(kind).fit(values)
    assert scaler.scale[0] == 1.0
    scaled = scaler.transform(values)
    assert (scaled[:, 0] == 0).all()
    assert np.array_equal(scaler.inverse_transform(scaled)[:, 0], values[:, 0])


def test_scaler_refuses_a_range_beyond_float64():
    with pytest.raises(ValueError, match=r"^column 1 spans more than float64 can hold \(its values reach 1e\+308\)"):
        Scaler("minmax").fit(np.array([[0.0, -1e308], [1.0, 1e308]]))
