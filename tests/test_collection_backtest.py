"""Backtests of one global model on a collection of series: folds counted from the end of each series."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import TimeSeriesSplit

from tsrnn import RNNForecaster, metrics
from tsrnn.model_selection import backtest, rolling_origins, windows_from_end

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DATASETS = pathlib.Path(__file__).resolve().parents[1] / "datasets"
METRICS = ["mae", "rmse", "mape", "smape", "mase"]


@pytest.fixture(scope="module")
def tourism() -> pd.DataFrame:
    """The first 20 series of the tourism collection: 63 to 122 quarters each."""
    frame = pd.read_csv(DATASETS / "tourism_quarterly.csv")
    return frame[frame["unique_id"].isin(frame["unique_id"].unique()[:20])].reset_index(drop=True)


def quick(**params) -> RNNForecaster:
    return RNNForecaster(
        **{"horizon": 8, "max_epochs": 2, "hidden_size": 8, "random_state": 0, "time_column": "t", **params}
    )


def without_last(frame: pd.DataFrame, steps: int) -> pd.DataFrame:
    """Every series of ``frame`` without its last ``steps`` rows."""
    return frame.groupby("unique_id", sort=False).head(-steps).reset_index(drop=True)


@pytest.fixture(scope="module")
def three_windows(tourism):
    return backtest(quick(), tourism, cv=windows_from_end(8, n_windows=3))


def test_windows_from_end_splits_a_series_from_its_end():
    cv = windows_from_end(8, n_windows=3)
    folds = [(len(train), int(test[0]), int(test[-1])) for train, test in cv.split(np.zeros(40))]
    assert folds == [(16, 16, 23), (24, 24, 31), (32, 32, 39)]
    assert cv.get_n_splits() == 3 and repr(cv) == "windows_from_end(horizon=8, n_windows=3, step=8)"
    overlapping = [(len(train), len(test)) for train, test in windows_from_end(4, n_windows=3, step=2).split(range(20))]
    assert overlapping == [(12, 4), (14, 4), (16, 4)]
    with pytest.raises(
        ValueError,
        match=r"^n_windows=3 window\(s\) of horizon=8 every step=8 hold out the last 24 "
        r"observations and train on those before them; got 24\. Use fewer windows",
    ):
        list(cv.split(np.zeros(24)))
    for bad in ({"horizon": 0}, {"horizon": 8, "n_windows": 0}, {"horizon": 8, "step": 1.5}):
        with pytest.raises(ValueError, match=r"must be an int >= 1"):
            windows_from_end(**bad)


def test_folds_hold_out_the_last_steps_of_every_series(tourism, three_windows):
    table = three_windows.forecasts
    ids = tourism["unique_id"].unique().tolist()
    assert list(table.columns) == ["fold", "unique_id", "cutoff", "timestamp", "step", "actual", "forecast"]
    assert len(table) == 3 * 20 * 8 and np.isfinite(table["forecast"]).all()
    assert table["unique_id"].unique().tolist() == ids
    for uid, rows in tourism.groupby("unique_id", sort=False):
        last = rows["t"].max()
        for fold in range(3):
            mine = table[(table["fold"] == fold) & (table["unique_id"] == uid)]
            # Fold 0 holds out the last 24 quarters of the series, fold 2 the last 8.
            assert (mine["cutoff"] == last - 24 + 8 * fold).all()
            assert mine["timestamp"].tolist() == list(range(last - 23 + 8 * fold, last - 15 + 8 * fold))
            assert mine["step"].tolist() == list(range(1, 9))
            expected = rows.set_index("t").loc[mine["timestamp"], "y"].to_numpy()
            assert np.array_equal(mine["actual"].to_numpy(), expected)


def test_each_fold_is_the_global_model_fitted_on_every_series_training_part(tourism, three_windows):
    table = three_windows.forecasts
    for fold, held in ((0, 24), (2, 8)):
        by_hand = quick().fit(without_last(tourism, held)).predict()
        assert np.array_equal(table.loc[table["fold"] == fold, "forecast"].to_numpy(), by_hand["y"].to_numpy())


def test_metrics_per_series_and_over_all(tourism, three_windows):
    result = three_windows
    ids = tourism["unique_id"].unique().tolist()
    assert list(result.metrics.index) == [*ids, "all"] and list(result.metrics.columns) == METRICS
    assert quick().fit(tourism).seasonal_period_ == 4  # the m of MASE, as the fitted model found it
    table = result.forecasts
    for uid in ("Q1", "Q14"):
        history = tourism.loc[tourism["unique_id"] == uid, "y"].to_numpy()
        folds = []
        for fold in range(3):
            rows = table[(table["fold"] == fold) & (table["unique_id"] == uid)]
            train = history[: len(history) - 24 + 8 * fold]
            errors = rows["actual"], rows["forecast"]
            folds.append([metrics.mae(*errors), metrics.mase(*errors, train, 4)])
            scale = np.mean(np.abs(train[4:] - train[:-4]))
            assert folds[-1][1] == pytest.approx(folds[-1][0] / scale)
        assert result.metrics.loc[uid, ["mae", "mase"]].tolist() == pytest.approx(np.mean(folds, axis=0))
    assert result.metrics.loc["all"].tolist() == pytest.approx(result.metrics.loc[ids].mean().tolist())
    unseasonal = backtest(quick(), tourism, cv=windows_from_end(8, n_windows=3), m=1)
    assert (unseasonal.metrics["mase"] != result.metrics["mase"]).all()
    assert unseasonal.metrics["mae"].equals(result.metrics["mae"])


def test_parallel_folds_are_the_sequential_ones_bit_for_bit(tourism, three_windows):
    parallel = backtest(quick(), tourism, cv=windows_from_end(8, n_windows=3), n_jobs=2)
    pd.testing.assert_frame_equal(parallel.forecasts, three_windows.forecasts, check_exact=True)
    pd.testing.assert_frame_equal(parallel.metrics, three_windows.metrics, check_exact=True)


def test_a_splitter_with_a_test_size_and_a_dict_of_series_give_the_same_folds(tourism, three_windows):
    split = backtest(quick(), tourism, cv=TimeSeriesSplit(n_splits=3, test_size=8))
    pd.testing.assert_frame_equal(split.forecasts, three_windows.forecasts, check_exact=True)
    series = {
        uid: pd.Series(rows["y"].to_numpy(), index=pd.Index(rows["t"].to_numpy(), name="t"))
        for uid, rows in tourism.groupby("unique_id", sort=False)
    }
    from_dict = backtest(quick(), series, cv=windows_from_end(8, n_windows=3))
    pd.testing.assert_frame_equal(from_dict.forecasts, three_windows.forecasts, check_exact=True)


def test_a_gap_after_the_cutoff_is_forecast_and_dropped(tourism):
    result = backtest(quick(), tourism, cv=TimeSeriesSplit(n_splits=2, test_size=6, gap=2))
    table = result.forecasts
    assert table["step"].tolist() == list(range(3, 9)) * 40
    # Fold 0 trains on all but the last 14 steps, and skips two before its six.
    by_hand = quick().fit(without_last(tourism, 14)).predict()
    fold0 = table.loc[table["fold"] == 0, "forecast"]
    assert np.array_equal(fold0, by_hand.groupby("unique_id", sort=False).tail(6)["y"])


def test_refit_false_appends_each_folds_new_steps_to_every_series(tourism):
    result = backtest(quick(), tourism, cv=windows_from_end(8, n_windows=2), refit=False)
    model = quick().fit(without_last(tourism, 16))
    # Fold 1 is fold 0's model with the eight quarters after its cutoff appended to each series.
    new = tourism.groupby("unique_id", sort=False).tail(16).groupby("unique_id", sort=False).head(8)
    expected = model.update(new).predict()
    assert np.array_equal(result.forecasts.loc[result.forecasts["fold"] == 1, "forecast"], expected["y"])


def test_covariates_of_the_long_frame_are_known_for_the_test_steps(tourism):
    frame = tourism.assign(summer=(tourism["t"] % 4 == 1).astype(float))
    result = backtest(quick(), frame, cv=windows_from_end(8, n_windows=1))
    model = quick().fit(without_last(frame, 8))
    future = frame.groupby("unique_id", sort=False).tail(8)[["unique_id", "t", "summer"]]
    assert model.feature_names_in_.tolist() == ["summer"]
    assert np.array_equal(result.forecasts["forecast"], model.predict(future)["y"])


def fix(horizon: int, n_windows: int) -> str:
    """The end of the message about folds that differ between series, as a pattern."""
    return (
        re.escape(
            "; the folds of a collection must hold out the same last steps of every series. Count them from the end of "
            f"each series: cv=windows_from_end(horizon={horizon}, n_windows={n_windows})"
        )
        + "$"
    )


def test_folds_that_differ_between_series_are_refused_with_the_fix(tourism):
    lengths = tourism.groupby("unique_id", sort=False).size()
    assert lengths[["Q1", "Q2", "Q3"]].tolist() == [63, 63, 88]
    # Origins from the start: 2 folds of series Q1 (63 quarters), 6 of Q3 (88).
    with pytest.raises(
        ValueError, match=r"^cv gives series 'Q1' \(63 steps\) 2 fold\(s\) but series 'Q3' \(88 steps\) 6" + fix(8, 2)
    ):
        backtest(quick(), tourism, cv=(40, 8, 8))
    # Test blocks of a quarter of each series: 15 quarters of Q1, 22 of Q3.
    with pytest.raises(
        ValueError,
        match=r"^cv holds out the last 45 steps of series 'Q1' \(63 steps\) in fold 0, "
        r"but the last 66 of series 'Q3' \(88 steps\)" + fix(15, 3),
    ):
        backtest(quick(), tourism, cv=TimeSeriesSplit(n_splits=3))
    with pytest.raises(
        ValueError,
        match=r"^series 'Q1': n_windows=8 window\(s\) of horizon=8 every step=8 hold out "
        r"the last 64 observations and train on those before them; got 63\.",
    ):
        backtest(quick(), tourism, cv=windows_from_end(8, n_windows=8))


class Shrinking:
    """Folds whose training part shrinks: the second trains on fewer steps than the first."""

    def split(self, X, y=None, groups=None):
        n = len(X)
        yield np.arange(n - 8), np.arange(n - 8, n)
        yield np.arange(n - 16), np.arange(n - 16, n - 8)


def test_bad_collection_backtests_say_the_fix(tourism):
    with pytest.raises(ValueError, match=r"carries its covariates as columns of the long frame; pass it alone"):
        backtest(quick(), tourism, tourism[["y"]], cv=windows_from_end(8))
    named_all = tourism.assign(unique_id=tourism["unique_id"].replace({"Q2": "all"}))
    with pytest.raises(ValueError, match=r"^a series is named 'all', the name of the metrics' row"):
        backtest(quick(), named_all, cv=windows_from_end(8))
    with pytest.raises(ValueError, match=r"no column 'unique_id'.*id_column="):
        backtest(quick(), tourism.rename(columns={"unique_id": "series"}), cv=windows_from_end(8))
    with pytest.raises(
        ValueError,
        match=r"^refit=False appends each fold's new observations to the model of the fold "
        r"before, but fold 1 trains on fewer steps than fold 0; use refit=True",
    ):
        backtest(quick(), tourism, cv=Shrinking(), refit=False)
    with pytest.raises(ValueError, match=r"the first \(NaN\) is at series 'Q1', t 6.*before backtesting"):
        backtest(quick(), tourism.assign(y=tourism["y"].where(tourism.index != 5)), cv=windows_from_end(8))


def test_one_series_takes_windows_from_end_like_origins_from_its_start(passengers):
    model = RNNForecaster(window=12, horizon=12, hidden_size=8, max_epochs=2, random_state=0)
    from_end = backtest(model, passengers, cv=windows_from_end(12, n_windows=2))
    from_start = backtest(model, passengers, cv=rolling_origins(120, 12, 12))
    pd.testing.assert_frame_equal(from_end.forecasts, from_start.forecasts, check_exact=True)
    assert list(from_end.metrics.index) == [0, 1, "all"]


def test_a_collection_backtest_reports_each_series_coverage(tourism):
    result = backtest(quick(calibration_size=24), tourism, cv=windows_from_end(8, n_windows=2), coverage=[0.8])
    table = result.forecasts
    assert {"forecast", "lower_80", "upper_80"} <= set(table.columns)
    assert (table["lower_80"] <= table["forecast"]).all() and (table["forecast"] <= table["upper_80"]).all()
    q1 = table[table.unique_id == "Q1"]
    inside = ((q1["actual"] >= q1["lower_80"]) & (q1["actual"] <= q1["upper_80"])).mean()
    assert result.metrics.loc["Q1", "coverage_80"] == pytest.approx(inside)
    assert result.metrics.loc["all", "coverage_80"] == pytest.approx(
        result.metrics.drop(index="all")["coverage_80"].mean()
    )
