from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import TimeSeriesSplit

from tsrnn import RNNForecaster
from tsrnn.model_selection import backtest, rolling_origins

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def quick(**params):
    return RNNForecaster(**{"window": 12, "horizon": 12, "hidden_size": 8, "max_epochs": 5, "random_state": 0,
                            **params})  # fmt: skip


def test_rolling_origins_folds():
    folds = list(rolling_origins(100, 12, 12).split(np.zeros(130)))
    assert [(len(train), test[0], test[-1]) for train, test in folds] == [(100, 100, 111), (112, 112, 123)]
    assert rolling_origins(100, 12, 12).get_n_splits(np.zeros(130)) == 2
    with pytest.raises(ValueError, match="need 112 observations"):
        list(rolling_origins(100, 12, 12).split(np.zeros(50)))
    with pytest.raises(ValueError, match="`step` must be an int >= 1"):
        rolling_origins(100, 0, 12)


def test_backtest_with_time_series_split_and_intervals(passengers):
    cv = TimeSeriesSplit(n_splits=3, test_size=12)
    result = backtest(quick(calibration_size=30), passengers, cv=cv, coverage=[0.8, 0.9])
    table = result.forecasts
    assert len(table) == 36 and list(table["fold"].unique()) == [0, 1, 2]
    assert list(table.columns) == ["fold", "cutoff", "timestamp", "step", "actual", "forecast",
                                   "lower_80", "upper_80", "lower_90", "upper_90"]  # fmt: skip
    first = table[table["fold"] == 0]
    assert first["cutoff"].iloc[0] == passengers.index[107] and first["timestamp"].iloc[0] == passengers.index[108]
    assert (first["step"] == np.arange(1, 13)).all()
    np.testing.assert_array_equal(first["actual"], passengers.iloc[108:120])
    # Fold 0 is the forecaster fitted on the first 108 months.
    model = quick(calibration_size=30).fit(passengers.iloc[:108])
    np.testing.assert_allclose(first["forecast"], model.predict())
    metrics = result.metrics
    assert list(metrics.index) == [0, 1, 2, "all"]
    inside = (first["actual"] >= first["lower_90"]) & (first["actual"] <= first["upper_90"])
    assert metrics.loc[0, "coverage_90"] == inside.mean()
    assert metrics.loc["all", "mae"] == pytest.approx(metrics.loc[[0, 1, 2], "mae"].mean())
    naive_scale = np.mean(np.abs(passengers.iloc[12:108].to_numpy() - passengers.iloc[:96].to_numpy()))
    assert metrics.loc[0, "mase"] == pytest.approx(metrics.loc[0, "mae"] / naive_scale)


def test_refit_never_updates_with_new_observations(passengers):
    result = backtest(quick(), passengers, cv=(96, 12, 12), refit=False)
    assert result.forecasts["fold"].nunique() == 4
    # Without refitting, fold 1 is fold 0's model with twelve more months appended.
    model = quick().fit(passengers.iloc[:96]).update(passengers.iloc[96:108])
    np.testing.assert_allclose(result.forecasts.loc[result.forecasts["fold"] == 1, "forecast"], model.predict())


def test_refit_every_k_folds_and_gaps(passengers):
    cv = TimeSeriesSplit(n_splits=3, test_size=9, gap=3)
    result = backtest(quick(), passengers, cv=cv, refit=2)
    table = result.forecasts
    assert (table.groupby("fold")["step"].min() == 4).all()  # the gap's three steps are forecast and dropped
    fold0 = quick().fit(passengers.iloc[: len(passengers) - 3 * 9 - 3])
    np.testing.assert_allclose(table.loc[table["fold"] == 0, "forecast"], fold0.predict(horizon=12)[3:])


def test_parallel_folds_match_sequential(passengers):
    cv = TimeSeriesSplit(n_splits=2, test_size=12)
    sequential = backtest(quick(), passengers, cv=cv)
    parallel = backtest(quick(), passengers, cv=cv, n_jobs=2)
    pd.testing.assert_frame_equal(sequential.forecasts, parallel.forecasts)


def test_backtest_errors(passengers):
    with pytest.raises(ValueError, match="`refit` must be a bool or an int >= 1"):
        backtest(quick(), passengers, cv=(96, 12, 12), refit=0)
    with pytest.raises(ValueError, match="need calibration"):
        backtest(quick(), passengers, cv=(120, 12, 12), coverage=0.9)


def test_covariates_off_the_steps_of_y_are_refused_alike_by_fit_backtest_and_make_windows(passengers):
    from tsrnn import make_windows

    X = pd.DataFrame({"a": np.ones(len(passengers))}, index=passengers.index)
    shifted, zoned = X.shift(1, freq="MS"), X.tz_localize("UTC")
    fits = {
        "fit": lambda X, y: quick().fit(X, y),
        "backtest": lambda X, y: backtest(quick(), y, X, cv=(96, 12, 12)),
        "make_windows": lambda X, y: make_windows(y, window=3, X=X),
    }
    for name, fit in fits.items():
        fix = "give the covariates of exactly" if name == "make_windows" else "covariates must be given for exactly"
        with pytest.raises(ValueError, match=rf"^X's index differs from y's; {fix} the steps of y$"):
            fit(shifted, passengers)
        with pytest.raises(ValueError, match=r"^X's index is in time zone UTC, but y's index is naive"):
            fit(zoned, passengers)
    with pytest.raises(ValueError, match=r"^X has 143 rows but y has 144; they must align$"):
        quick().fit(X.iloc[1:], passengers)
    with pytest.raises(ValueError, match=r"^X has 143 rows but y has 144; give the covariates of every step of y$"):
        backtest(quick(), passengers, X.iloc[1:], cv=(96, 12, 12))


def test_backtest_checks_its_data_without_loading_numba():
    import subprocess
    import sys

    code = """
import sys
import numpy as np, pandas as pd
from tsrnn import model_selection
y = pd.Series(np.ones(30), index=pd.date_range("2000-01", periods=30, freq="MS"))
try:
    model_selection._check_data(y, pd.DataFrame({"a": np.ones(30)}))
except ValueError as error:
    print(error)
print(sorted(name for name in ("numba", "tsrnn.forecaster") if name in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "X's index differs from y's; covariates must be given for exactly the steps of y",
        "[]",
    ]
