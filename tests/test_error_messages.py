"""The errors a first fit on the bundled series runs into: what they say and that their advice works."""

from __future__ import annotations

import functools
import itertools
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import check_fit2d_1sample

from tsrnn import RNNForecaster, RNNRegressor, datasets, make_windows

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def quick(**params) -> RNNForecaster:
    return RNNForecaster(**{"hidden_size": 2, "max_epochs": 1, "random_state": 0, **params})


def fit_error(model, *data) -> str:
    with pytest.raises(ValueError) as info:
        model.fit(*data)
    return str(info.value)


@pytest.fixture(scope="module")
def nile() -> pd.Series:
    return datasets.load_nile()


# ----------------------------------------------------------------------- non-numeric columns


def test_each_non_numeric_column_is_named_with_its_own_dtype():
    frame = pd.DataFrame({"a": ["x"] * 40, "b": pd.date_range("2000", periods=40, freq="MS"), "c": range(40)})
    with pytest.raises(TypeError) as info:
        RNNForecaster(horizon=2).fit(frame)
    a, b = frame.dtypes["a"], frame.dtypes["b"]
    assert str(info.value) == (
        f"y must be numeric (int or float); column(s) 'a' ({a}), 'b' ({b}) are not. Convert them (pd.to_numeric) "
        "or drop them; 'b' holds timestamps: make it the index (y.set_index('b')) to have it read as the time of "
        "each row"
    )


def test_a_date_column_is_pointed_to_set_index_and_that_works():
    table = datasets.load_bike_sharing().reset_index()[["date", "cnt"]]
    with pytest.raises(TypeError, match=r"column\(s\) 'date' \(datetime64\[\w+\]\) are not") as info:
        quick(horizon=2).fit(table)
    assert "make it the index (y.set_index('date'))" in str(info.value)
    model = quick(horizon=2).fit(table.set_index("date"))
    assert model.predict().index[0] == pd.Timestamp("2013-01-01")


def test_no_set_index_hint_without_a_date_column(passengers):
    frame = pd.DataFrame({"passengers": passengers, "label": "x"})
    with pytest.raises(TypeError, match=r"column\(s\) 'label' \((str|object)\) are not") as info:
        quick().fit(frame)
    assert "set_index" not in str(info.value)


# ----------------------------------------------------------------------------------- NaN


def test_nan_message_names_the_first_gap_and_suggests_only_fills_that_keep_the_steps():
    co2 = datasets.load_co2()[:300]
    first = co2.index[co2.isna().argmax()]
    message = fit_error(quick(), co2)
    assert message == (
        f"y contains {co2.isna().sum()} NaN or inf value(s); the first (NaN) is at {first!r}, column 0. Fill them "
        "before fitting, keeping every time step, for example with tsrnn.preprocessing.fill_gaps() or pandas' "
        "interpolate() or ffill()"
    )
    assert "dropna" not in message
    # The advice works; dropping the rows instead would leave the weekly index with holes.
    quick().fit(co2.interpolate())
    quick().fit(co2.ffill())
    with pytest.raises(ValueError, match="not evenly spaced"):
        quick().fit(co2.dropna())


def test_nan_message_for_a_leading_gap_and_for_infinities(nile):
    leading = nile.copy()
    leading.iloc[0] = np.nan
    message = fit_error(quick(), leading)
    assert "the first (NaN) is at Timestamp('1871-01-01 00:00:00')" in message
    assert message.endswith("interpolate() or ffill() (then bfill() for the leading gap)")
    quick().fit(leading.interpolate().bfill())

    infinite = nile.copy()
    infinite.iloc[10] = np.inf
    message = fit_error(quick(), infinite)
    assert "the first (inf) is at Timestamp('1881-01-01 00:00:00')" in message
    assert "replace([np.inf, -np.inf], np.nan), then tsrnn.preprocessing.fill_gaps()" in message
    quick().fit(infinite.replace([np.inf, -np.inf], np.nan).interpolate())


# ---------------------------------------------------------------------------- too short


def test_too_short_with_window_1_names_the_horizon_not_the_window(nile):
    message = fit_error(quick(window=1, horizon=10), nile[:8])
    assert message == (
        "y has 8 observations, too few for window=1, horizon=10: these settings need at least 12 (11 to cut one "
        "training window; early stopping needs 2 training windows, to validate on the last "
        "validation_fraction=0.1 of them). To fit, use a series of at least 12 observations or a shorter horizon "
        "(horizon <= 6)"
    )
    quick(window=1, horizon=10).fit(nile[:12])
    quick(window=1, horizon=6).fit(nile[:8])
    with pytest.raises(ValueError, match="y has 11 observations"):
        quick(window=1, horizon=10).fit(nile[:11])


def test_too_short_with_an_automatic_window_names_the_horizon(passengers):
    message = fit_error(quick(horizon=150), passengers)
    assert message == (
        "y has 144 observations, too few for window=1 (chosen automatically), horizon=150: these settings need at "
        "least 152 (151 to cut one training window; early stopping needs 2 training windows, to validate on the "
        "last validation_fraction=0.1 of them). To fit, use a series of at least 152 observations or a shorter "
        "horizon (horizon <= 142)"
    )
    assert "shorter window" not in message
    assert quick(horizon=142).fit(passengers).window_ == 1
    with pytest.raises(ValueError, match="y has 144 observations"):
        quick(horizon=143).fit(passengers)


def test_too_short_with_a_long_window_suggests_window_and_horizon(passengers):
    message = fit_error(quick(window=24, horizon=12), passengers[:30])
    assert message == (
        "y has 30 observations, too few for window=24, horizon=12: these settings need at least 37 (36 to cut one "
        "training window; early stopping needs 2 training windows, to validate on the last "
        "validation_fraction=0.1 of them). To fit, use a series of at least 37 observations, a shorter window "
        "(window <= 17) or a shorter horizon (horizon <= 5)"
    )
    quick(window=24, horizon=12).fit(passengers[:37])
    quick(window=17, horizon=12).fit(passengers[:30])
    quick(window=24, horizon=5).fit(passengers[:30])
    with pytest.raises(ValueError, match="y has 30 observations"):
        quick(window=18, horizon=12).fit(passengers[:30])
    # Without early stopping one window is enough.
    message = fit_error(quick(window=24, horizon=12, early_stopping=False), passengers[:30])
    assert message == (
        "y has 30 observations, too few for window=24, horizon=12: these settings need at least 36. To fit, use a "
        "series of at least 36 observations, a shorter window (window <= 18) or a shorter horizon (horizon <= 6)"
    )


def test_too_few_windows_for_early_stopping_names_early_stopping_and_validation_fraction(passengers):
    message = fit_error(quick(window=12, horizon=12), passengers[:24])
    assert message == (
        "y has 24 observations, too few for window=12, horizon=12: these settings need at least 25 (early stopping "
        "needs 2 training windows, to validate on the last validation_fraction=0.1 of them; y gives 1). To fit, "
        "use a series of at least 25 observations, a shorter window (window <= 11), a shorter horizon "
        "(horizon <= 11) or early_stopping=False"
    )
    quick(window=12, horizon=12, early_stopping=False).fit(passengers[:24])

    message = fit_error(quick(window=12, horizon=12, validation_fraction=0.7), passengers[:26])
    assert message.startswith(
        "y has 26 observations, too few for window=12, horizon=12: these settings need at least 27 (early stopping "
        "needs 4 training windows, to validate on the last validation_fraction=0.7 of them; y gives 3). To fit,"
    )
    assert message.endswith("early_stopping=False or validation_fraction <= 0.66")
    quick(window=12, horizon=12, validation_fraction=0.66).fit(passengers[:26])


def test_a_horizon_far_beyond_the_series_is_refused_without_trying_every_value(passengers, monkeypatch):
    # The shortest series and the longest horizon that would fit are bisected for, run by run,
    # instead of trying every length and horizon and cloning the model for each.
    from tsrnn import forecaster

    calls = {"windows": 0, "clone": 0}
    count_windows = forecaster._Layout.windows

    def windows(self, n):
        calls["windows"] += 1
        return count_windows(self, n)

    def clone(*args, **kwargs):
        calls["clone"] += 1
        raise AssertionError("the length check cloned the model")

    monkeypatch.setattr(forecaster._Layout, "windows", windows)
    monkeypatch.setattr(forecaster, "clone", clone)
    for horizon in (100_000, 10**9):
        calls["windows"] = 0
        assert fit_error(quick(horizon=horizon), passengers) == (
            f"y has 144 observations, too few for window=1 (chosen automatically), horizon={horizon}: these "
            f"settings need at least {horizon + 2} ({horizon + 1} to cut one training window; early stopping needs "
            "2 training windows, to validate on the last validation_fraction=0.1 of them). To fit, use a series "
            f"of at least {horizon + 2} observations or a shorter horizon (horizon <= 142)"
        )
        assert calls["windows"] < 20 * np.log2(horizon)
    assert calls["clone"] == 0


def probe_with(model, axis, period, n, name, value):
    """Whether ``n`` steps fit ``model`` with parameter ``name`` set to ``value``, and the regime."""
    return model._layout(axis, period, **{name: value}).probe(n)


@pytest.mark.parametrize("freq", ["MS", "h", "D", None])
def test_length_searches_agree_with_trying_every_value(freq):
    # With difference="auto" a longer series (or a shorter window or horizon) can bring in a
    # seasonal lag and cut fewer windows: what fits is not one run of values, and the
    # bisecting searches must find the same values as trying each.
    from tsrnn import forecaster
    from tsrnn._timeindex import time_axis

    axis = time_axis(pd.RangeIndex(5) if freq is None else pd.date_range("2000-01-01", periods=5, freq=freq))
    rng = np.random.default_rng(0)
    pick = lambda options: options[rng.integers(len(options))]  # noqa: E731
    for _ in range(200):
        model = RNNForecaster(
            window=pick([None, None, 1, 3, 12, 30, 60]),
            horizon=pick([1, 2, 5, 12, 40]),
            strategy=pick(["recursive", "mimo"]),
            difference=pick(["auto", "auto", 0, 1, 2, "seasonal"]),
            seasonal_period=pick([None, None, 4, 12]),
            early_stopping=pick([True, False]),
            validation_fraction=pick([0.1, 0.5, 0.9]),
        )
        period = model.seasonal_period or axis.seasonal_period
        if model.difference == "seasonal" and period is None:
            continue
        layout, n = model._layout(axis, period), int(rng.integers(1, pick([80, 260])))
        assert forecaster._shortest(layout, n) == next(m for m in itertools.count(n) if layout.fits(m))
        for name in ("window", "horizon"):
            values = range(1, getattr(model, name) or 1)
            probe = functools.partial(probe_with, model, axis, period, n, name)
            runs = forecaster._runs_that_fit(probe, values.start, values.stop - 1)
            assert [v for first, last in runs for v in range(first, last + 1)] == [v for v in values if probe(v)[0]]


# ---------------------------------------------------------------- one sample, early stopping


def test_one_sample_with_early_stopping_passes_sklearns_check():
    check_fit2d_1sample("RNNRegressor", RNNRegressor(early_stopping=True))


def test_one_sample_with_early_stopping_says_what_to_do(nile):
    X, y = make_windows(nile, window=10, horizon=1)
    message = fit_error(RNNRegressor(early_stopping=True, max_epochs=1), X[:1], y[:1])
    assert message == (
        "early stopping needs at least 2 samples (windows), to train on the first and validate on the last "
        "validation_fraction=0.1 of them; got 1 sample. To fit, pass at least 2 samples or set "
        "early_stopping=False"
    )
    RNNRegressor(early_stopping=True, max_epochs=1).fit(X[:2], y[:2])
    message = fit_error(RNNRegressor(early_stopping=True, validation_fraction=0.7), X[:3], y[:3])
    assert re.search(r"got 3 samples\. To fit, pass at least 4 samples, .* validation_fraction=0\.66 or less$", message)
    RNNRegressor(early_stopping=True, validation_fraction=0.66, max_epochs=1).fit(X[:3], y[:3])
