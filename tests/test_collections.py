"""Global models over collections of series: the long format, dicts of series, forecasts per series."""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from tsrnn import RNNForecaster, load
from tsrnn._panel import Columns, read_collection
from tsrnn.preprocessing import autocorrelated_period
from tsrnn.windowing import Windows

DATASETS = pathlib.Path(__file__).resolve().parents[1] / "datasets"

FAST = {"horizon": 8, "max_epochs": 3, "hidden_size": 8, "random_state": 0, "time_column": "t"}


@pytest.fixture(scope="module")
def tourism() -> pd.DataFrame:
    """The first 30 series of the tourism collection, each without its last 8 quarters (the test period)."""
    frame = pd.read_csv(DATASETS / "tourism_quarterly.csv")
    frame = frame[frame["unique_id"].isin(frame["unique_id"].unique()[:30])]
    return frame.groupby("unique_id", sort=False).head(-8).reset_index(drop=True)


def fit(frame: pd.DataFrame | dict, static_features: pd.DataFrame | None = None, **options) -> RNNForecaster:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return RNNForecaster(**{**FAST, **options}).fit(frame, static_features=static_features)


def as_dict(frame: pd.DataFrame) -> dict[str, pd.Series]:
    return {
        uid: pd.Series(group["y"].to_numpy(), index=pd.Index(group["t"].to_numpy(), name="t"), name="y")
        for uid, group in frame.groupby("unique_id", sort=False)
    }


def test_a_long_frame_gives_every_series_its_own_future_steps(tourism):
    model = fit(tourism)
    assert model.series_ids_ == list(tourism["unique_id"].unique())
    assert model.seasonal_period_ == 4  # found in the quarters' changes: the file has no dates
    forecast = model.predict()
    assert list(forecast.columns) == ["unique_id", "t", "y"]
    assert len(forecast) == 8 * 30 and np.isfinite(forecast["y"]).all()
    for uid, group in forecast.groupby("unique_id", sort=False):
        last = tourism.loc[tourism["unique_id"] == uid, "t"].max()
        assert group["t"].tolist() == list(range(last + 1, last + 9))
    some = model.predict(ids=["Q3", "Q1"])
    assert some["unique_id"].unique().tolist() == ["Q3", "Q1"]
    for uid in ("Q1", "Q3"):
        assert np.array_equal(some.loc[some.unique_id == uid, "y"], forecast.loc[forecast.unique_id == uid, "y"])
    longer = model.predict(horizon=12)
    assert np.array_equal(longer.groupby("unique_id").head(8)["y"], forecast["y"])


def test_rows_in_any_order_and_a_dict_of_series_fit_the_same_model(tourism):
    forecast = fit(tourism).predict()
    shuffled = tourism.sample(frac=1.0, random_state=1)
    # The series keep the order of their first row, so the same order is kept here.
    shuffled = pd.concat([shuffled[shuffled.unique_id == uid] for uid in tourism.unique_id.unique()])
    assert np.array_equal(fit(shuffled).predict()["y"], forecast["y"])
    from_dict = fit(as_dict(tourism)).predict()
    assert isinstance(from_dict, dict) and list(from_dict) == list(tourism.unique_id.unique())
    assert np.array_equal(np.concatenate([s.to_numpy() for s in from_dict.values()]), forecast["y"].to_numpy())
    assert from_dict["Q1"].index[0] == tourism.loc[tourism.unique_id == "Q1", "t"].max() + 1


@settings(max_examples=6, deadline=None)
@given(exponent=st.integers(-20, 20), which=st.integers(0, 29))
def test_each_series_is_scaled_on_its_own(tourism, exponent, which):
    """A series multiplied by a power of two is forecast multiplied by it, bit for bit; the others unchanged."""
    uid = tourism.unique_id.unique()[which]
    scaled = tourism.copy()
    scaled.loc[scaled.unique_id == uid, "y"] *= 2.0**exponent
    before, after = fit(tourism, max_epochs=1).predict(), fit(scaled, max_epochs=1).predict()
    mine = after.unique_id == uid
    assert np.array_equal(after.loc[mine, "y"], before.loc[mine, "y"] * 2.0**exponent)
    assert np.array_equal(after.loc[~mine, "y"], before.loc[~mine, "y"])


def test_new_series_are_forecast_from_their_history_without_refitting(tourism):
    model = fit(tourism)
    known = model.predict(ids=["Q2", "Q5"])
    part = tourism[tourism.unique_id.isin(["Q5", "Q2"])]
    assert np.array_equal(model.predict(y=part).set_index("unique_id").loc[["Q2", "Q5"], "y"],
                          known.set_index("unique_id")["y"])  # fmt: skip
    renamed = part.assign(unique_id=part.unique_id.map({"Q2": "new-a", "Q5": "new-b"}))
    assert model.predict(y=renamed)["unique_id"].unique().tolist() == ["new-a", "new-b"]
    weights = model.network_.params.copy()
    model.predict(y=renamed)
    assert np.array_equal(model.network_.params, weights)


def test_update_appends_to_the_series_it_names(tourism):
    full = pd.read_csv(DATASETS / "tourism_quarterly.csv")
    model = fit(tourism)
    before = model.predict()
    new = full[full.unique_id == "Q1"].tail(8).head(3)
    model.update(new)
    after = model.predict()
    q1 = after[after.unique_id == "Q1"]
    assert q1["t"].iloc[0] == new["t"].max() + 1
    others = before.unique_id != "Q1"
    assert np.array_equal(after.loc[others.to_numpy(), "y"], before.loc[others, "y"])
    with pytest.raises(ValueError, match=r"series 'Q999', which the model was not fitted on"):
        model.update(new.assign(unique_id="Q999"))
    with pytest.raises(ValueError, match="must directly follow its end"):
        model.update(new)


def test_a_model_file_forecasts_every_series_the_same(tourism, tmp_path):
    model = fit(tourism)
    model.save(tmp_path / "global.tsrnn")
    loaded = load(tmp_path / "global.tsrnn")
    assert loaded.series_ids_ == model.series_ids_
    pd.testing.assert_frame_equal(loaded.predict(), model.predict())
    others = tourism[tourism.unique_id.isin(["Q4", "Q9"])]
    pd.testing.assert_frame_equal(loaded.predict(y=others), model.predict(y=others))


def test_windows_are_start_rows_into_the_stacked_series(tourism):
    """However many windows, the inputs hold each step once: batches are gathered from them."""
    model = RNNForecaster(**FAST)
    model._validate_params()
    inputs, targets = model._prepare_fit(read_collection(tourism, model._columns), warm=False)
    (windows,) = inputs
    assert isinstance(windows, Windows)
    differenced = len(tourism) - 30 * sum(model.differencing_lags_)
    assert windows.rows.shape[0] == differenced and len(windows) == len(targets) > differenced / 2
    # Early stopping validates on the last windows of every series, after every series' training windows.
    counts = tourism.groupby("unique_id", sort=False).size() - sum(model.differencing_lags_) - model.window_ - 8 + 1
    assert len(windows) == counts.sum()
    assert len(windows) - model._training_split == np.ceil(0.1 * counts).sum()


def test_a_series_too_short_for_a_window_is_named_and_still_forecast(tourism):
    short = pd.DataFrame({"unique_id": "tiny", "t": np.arange(1, 9), "y": np.arange(8.0) + 100.0})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fit(pd.concat([tourism, short], ignore_index=True))
    (warning,) = [w for w in caught if issubclass(w.category, UserWarning) and "too short" in str(w.message)]
    message = str(warning.message)
    assert "1 series are too short to give a training window" in message and "'tiny'" in message
    assert warning.filename == __file__
    tiny = model.predict(ids=["tiny"])
    assert tiny["t"].tolist() == list(range(9, 17)) and np.isfinite(tiny["y"]).all()


def test_known_future_covariates_come_as_a_long_frame(tourism):
    with_covariate = tourism.assign(promo=(tourism["t"] % 4 == 0).astype(float))
    model = fit(with_covariate)
    assert model.feature_names_in_.tolist() == ["promo"]
    ends = with_covariate.groupby("unique_id", sort=False)["t"].max()
    future = pd.DataFrame([(uid, end + s, float((end + s) % 4 == 0)) for uid, end in ends.items() for s in range(1, 9)],
                          columns=["unique_id", "t", "promo"])  # fmt: skip
    forecast = model.predict(future)
    assert len(forecast) == 240 and np.isfinite(forecast["y"]).all()
    with pytest.raises(ValueError, match="pass their future values as predict"):
        model.predict()
    with pytest.raises(ValueError, match=r"X has rows of series 'Q999', which"):
        model.predict(pd.concat([future, future.head(8).assign(unique_id="Q999")]))
    with pytest.raises(ValueError, match="X must give series 'Q1' the 8 steps after its end"):
        model.predict(future.assign(t=future["t"] + 1))


def test_bad_collections_are_named_with_the_fix(tourism):
    columns = Columns(time="t")
    with pytest.raises(ValueError, match=r"repeated \(unique_id, t\) pair\(s\); the first is \('Q1', 3\)"):
        read_collection(pd.concat([tourism, tourism[(tourism.unique_id == "Q1") & (tourism.t == 3)]]), columns)
    gap = tourism.drop(index=tourism.index[(tourism.unique_id == "Q7") & (tourism.t == 5)])
    with pytest.raises(ValueError, match=r"series 'Q7'.* is not evenly spaced: 4 is followed by 6"):
        read_collection(gap, columns)
    with pytest.raises(ValueError, match=r"no column 'unique_id'.*id_column="):
        RNNForecaster(**FAST).fit(tourism.rename(columns={"unique_id": "series"}))
    daily = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2020-01-01", periods=40, freq="D"), "y": 1.0})
    monthly = pd.DataFrame({"unique_id": "b", "ds": pd.date_range("2020-01-01", periods=40, freq="MS"), "y": 1.0})
    with pytest.raises(ValueError, match=r"mixed frequencies: series 'a' is datetime at D, series 'b'"):
        read_collection(pd.concat([daily, monthly]), Columns())
    model = fit(tourism)
    unknown = r"ids 'nope' are not series of the fit; its series are 'Q1', 'Q2', 'Q3', 'Q4', 'Q5' and 25 more"
    with pytest.raises(ValueError, match=unknown):
        model.predict(ids=["nope"])
    nan = tourism.copy()
    nan.loc[5, "y"] = np.nan
    with pytest.raises(ValueError, match=r"the first \(NaN\) is at series 'Q1', t 6, column 0"):
        fit(nan)
    text = tourism.assign(note="x")
    with pytest.raises(TypeError, match="'note'"):
        fit(text)
    with pytest.raises(ValueError, match="ids=, y= and static_features= are for a model fitted on several series"):
        fit(as_dict(tourism)["Q1"]).predict(ids=["Q1"])


def test_the_season_of_steps_without_a_calendar_is_found_in_their_changes():
    rng = np.random.default_rng(0)
    steps = np.arange(120)
    seasonal = [(np.sin(2 * np.pi * steps / 7) * 5 + 0.1 * steps + rng.normal(size=120))[:, None] for _ in range(5)]
    assert autocorrelated_period(seasonal, 30) == 7
    noise = [rng.normal(size=(120, 1)).cumsum(axis=0) for _ in range(5)]
    assert autocorrelated_period(noise, 30) is None


def test_local_pooling_fits_each_series_as_it_would_alone(tourism):
    few = tourism[tourism.unique_id.isin(["Q1", "Q2", "Q3", "Q4"])]
    local = fit(few, pooling="local").predict()
    assert list(local.columns) == ["unique_id", "t", "y"]
    for uid, group in few.groupby("unique_id", sort=False):
        alone = fit(pd.Series(group["y"].to_numpy(), index=pd.Index(group["t"].to_numpy())))
        assert np.array_equal(local.loc[local.unique_id == uid, "y"], alone.predict().to_numpy())
        assert local.loc[local.unique_id == uid, "t"].tolist() == alone.predict().index.tolist()
    assert np.array_equal(fit(few, pooling="local", n_jobs=2).predict()["y"], local["y"])
    model = fit(few, pooling="local")
    assert list(model.estimators_) == ["Q1", "Q2", "Q3", "Q4"] and not hasattr(model, "network_")
    assert np.array_equal(model.predict(ids=["Q3"])["y"], local.loc[local.unique_id == "Q3", "y"])
    with pytest.raises(ValueError, match="local models .* forecast the series they were fitted on"):
        model.predict(y=few)


def test_threads_are_shared_out_among_the_workers():
    import os

    from tsrnn._local import threads_per_worker

    cores = os.cpu_count()
    assert threads_per_worker(1) == cores and threads_per_worker(None) == cores
    assert threads_per_worker(cores) == 1 and threads_per_worker(4 * cores) == 1
    assert threads_per_worker(-1) == 1


def test_a_dask_cluster_fits_the_same_local_models_and_backtest(tourism):
    """joblib sends the same fits to two Dask worker processes; the forecasts are those made here, bit for bit."""
    import joblib
    from distributed import Client, LocalCluster

    from tsrnn.model_selection import backtest

    few = tourism[tourism.unique_id.isin(["Q1", "Q2", "Q3"])]
    series = pd.Series(few.loc[few.unique_id == "Q1", "y"].to_numpy())
    template = RNNForecaster(**{**FAST, "time_column": "ds"})
    here = fit(few, pooling="local", n_jobs=2).predict()
    folds_here = backtest(template, series, cv=(40, 8, 8), n_jobs=2).forecasts
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster), joblib.parallel_config(backend="dask"):
            there = fit(few, pooling="local", n_jobs=2).predict()
            folds_there = backtest(template, series, cv=(40, 8, 8), n_jobs=2).forecasts
    pd.testing.assert_frame_equal(there, here)
    order = ["fold", "step"]  # folds come back from the workers in any order
    pd.testing.assert_frame_equal(
        folds_there.sort_values(order).reset_index(drop=True), folds_here.sort_values(order).reset_index(drop=True)
    )


def test_static_features_reach_every_step_and_travel_with_the_model(tourism, tmp_path):
    ids = tourism.unique_id.unique()
    sizes = pd.DataFrame({"size": np.log(tourism.groupby("unique_id")["y"].mean()), "odd": [i % 2 for i in range(30)]},
                         index=ids)  # fmt: skip
    model = fit(tourism, static_features=sizes)
    assert model.static_features_ == ["size", "odd"]
    # The target, then (as for covariates over a mimo horizon) the "observed" flag and the two features.
    assert fit(tourism).network_.input_size == 1 and model.network_.input_size == 1 + 1 + 2
    forecast = model.predict()
    # The static features change what the network reads: other values, other forecasts.
    other = fit(tourism, static_features=sizes.assign(size=sizes["size"][::-1].to_numpy())).predict()
    assert not np.array_equal(other["y"], forecast["y"])
    part = tourism[tourism.unique_id.isin(["Q3", "Q8"])]
    again = model.predict(y=part, static_features=sizes.loc[["Q8", "Q3"]])
    assert np.array_equal(again["y"], model.predict(ids=["Q3", "Q8"])["y"])
    model.save(tmp_path / "static.tsrnn")
    pd.testing.assert_frame_equal(load(tmp_path / "static.tsrnn").predict(), forecast)
    with pytest.raises(ValueError, match=r"static_features has no row for series 'Q30'; give every"):
        fit(tourism, static_features=sizes.drop(index="Q30"))
    with pytest.raises(ValueError, match="pass those of the series of y"):
        model.predict(y=part)
    with pytest.raises(TypeError, match="static_features must be numeric"):
        fit(tourism, static_features=sizes.assign(kind="big"))
    with pytest.raises(ValueError, match="a local model sees one series"):
        fit(tourism, static_features=sizes, pooling="local")


@pytest.mark.parametrize("strategy", ["mimo", "direct", "recursive", "seq2seq"])
def test_every_strategy_forecasts_a_collection_with_static_features(tourism, strategy):
    few = tourism[tourism.unique_id.isin(tourism.unique_id.unique()[:6])]
    static = pd.DataFrame({"level": np.log(few.groupby("unique_id", sort=False)["y"].mean())})
    model = fit(few, static_features=static, strategy=strategy, max_epochs=1, horizon=3)
    forecast = model.predict()
    assert len(forecast) == 18 and np.isfinite(forecast["y"]).all()
    again = model.predict(y=few[few.unique_id == "Q4"], static_features=static)
    assert np.array_equal(again["y"], forecast.loc[forecast.unique_id == "Q4", "y"])


def test_each_series_gets_intervals_from_its_own_calibration_errors(tourism, tmp_path):
    model = fit(tourism, calibration_size=16)
    assert len(model.calibration_residuals_) == 30
    assert all(errors.shape == (16 - 8 + 1, 8, 1) for errors in model.calibration_residuals_)
    intervals = model.predict_interval(coverage=[0.8])
    assert list(intervals.columns) == ["unique_id", "t", "forecast", "lower_80", "upper_80"]
    assert (intervals["lower_80"] <= intervals["forecast"]).all() and (
        intervals["forecast"] <= intervals["upper_80"]
    ).all()
    pd.testing.assert_series_equal(intervals["forecast"], model.predict()["y"], check_names=False)
    # Series Q2's widths are the 8th of its 9 absolute errors at each step (ceil(10 · 0.8) = 8).
    errors = np.sort(np.abs(model.calibration_residuals_[1][:, :, 0]), axis=0)[7]
    q2 = intervals[intervals.unique_id == "Q2"]
    np.testing.assert_allclose(q2["upper_80"] - q2["forecast"], errors, rtol=1e-9)
    assert np.array_equal(model.predict_interval(coverage=0.8, ids=["Q2"])["upper_80"], q2["upper_80"])
    with pytest.raises(ValueError, match="coverage 0.95 needs at least 19 calibration origins"):
        model.predict_interval(coverage=0.95)
    model.save(tmp_path / "calibrated.tsrnn")
    pd.testing.assert_frame_equal(load(tmp_path / "calibrated.tsrnn").predict_interval(coverage=[0.8]), intervals)
    with pytest.raises(ValueError, match=r"series 'Q\d+': calibration_size=200 holds out 200"):
        fit(tourism, calibration_size=200)


def test_quantiles_of_every_series(tourism):
    model = fit(tourism, quantiles=[0.1, 0.9])
    levels = model.predict_quantiles()
    assert list(levels.columns) == ["unique_id", "t", "0.1", "0.9"]
    median = model.predict()["y"].to_numpy()
    assert (levels["0.1"].to_numpy() <= median).all() and (median <= levels["0.9"].to_numpy()).all()
    local = fit(tourism[tourism.unique_id.isin(["Q1", "Q2"])], quantiles=[0.1, 0.9], pooling="local")
    assert list(local.predict_quantiles().columns) == ["unique_id", "t", "0.1", "0.9"]


def test_local_models_travel_in_one_model_file(tourism, tmp_path):
    few = tourism[tourism.unique_id.isin(["Q1", "Q2", "Q3"])]
    model = fit(few, pooling="local")
    model.save(tmp_path / "local.tsrnn")
    loaded = load(tmp_path / "local.tsrnn")
    assert list(loaded.estimators_) == ["Q1", "Q2", "Q3"] and not hasattr(loaded, "network_")
    pd.testing.assert_frame_equal(loaded.predict(), model.predict())
    with pytest.raises(ValueError, match="it holds local models, but the parameters say pooling='global'"):
        model.set_params(pooling="global").save(tmp_path / "other.tsrnn")


def test_the_callers_frames_are_left_as_they_were(tourism):
    frame = tourism.assign(promo=(tourism["t"] % 4 == 0).astype(float)).sample(frac=1.0, random_state=0)
    static = pd.DataFrame({"level": np.arange(30.0)}, index=tourism.unique_id.unique())
    before, static_before = frame.copy(), static.copy()
    model = fit(frame, static_features=static, calibration_size=12)
    ends = frame.groupby("unique_id", sort=False)["t"].max()
    future = pd.DataFrame([(uid, end + s, 0.0) for uid, end in ends.items() for s in range(1, 9)],
                          columns=["unique_id", "t", "promo"])  # fmt: skip
    future_before = future.copy()
    model.predict(future)
    model.predict_interval(future, coverage=0.8)
    model.update(future.assign(y=1.0).groupby("unique_id").head(2))
    pd.testing.assert_frame_equal(frame, before)
    pd.testing.assert_frame_equal(static, static_before)
    pd.testing.assert_frame_equal(future, future_before)


def test_a_refused_or_interrupted_fit_leaves_nothing_half_done(tourism, monkeypatch):
    # Two series of one window each: too few for early stopping, whatever was fitted before.
    tiny = pd.DataFrame({"unique_id": np.repeat(["a", "b"], 8), "t": np.tile(np.arange(8), 2), "y": np.arange(16.0)})
    options = {"window": 5, "horizon": 3, "difference": 0}
    with pytest.raises(ValueError, match="early stopping needs at least"):
        RNNForecaster(**{**FAST, **options}).fit(tiny)
    model = fit(tourism)
    before = model.predict()
    with pytest.raises(ValueError, match="early stopping needs at least"):
        model.set_params(**options).fit(tiny)
    pd.testing.assert_frame_equal(model.set_params(window=None, horizon=8, difference="auto").predict(), before)
    import tsrnn._base

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tsrnn._base, "train", interrupted)
    fresh = RNNForecaster(**FAST)
    with pytest.raises(KeyboardInterrupt):
        fresh.fit(tourism)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        fresh.predict()


def test_a_refused_update_of_local_models_changes_none_of_them(tourism):
    few = tourism[tourism.unique_id.isin(["Q1", "Q2"])]
    model = fit(few, pooling="local")
    before = model.predict()
    ends = few.groupby("unique_id", sort=False)["t"].max()
    rows = pd.DataFrame({"unique_id": ["Q1", "Q2"], "t": [ends["Q1"] + 1, ends["Q2"] + 2], "y": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"the new rows of series 'Q2' must directly follow its end \(\d+\)"):
        model.update(rows)
    pd.testing.assert_frame_equal(model.predict(), before)


def test_local_fits_name_the_series_and_keep_the_callers_thread_count(tourism):
    import numba

    few = tourism[tourism.unique_id.isin(["Q1", "Q2"])]
    short = pd.DataFrame({"unique_id": "tiny", "t": [1, 2, 3], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"^series 'tiny': y has 3 observations"):
        fit(pd.concat([few, short]), pooling="local")
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        fit(few, pooling="local")
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(before)
    with pytest.raises(ValueError, match="n_jobs"):
        fit(few, pooling="local", n_jobs=0)


def test_integer_ids_and_nullable_integer_steps_come_back_as_they_went_in(tourism):
    numbered = tourism.assign(unique_id=tourism.unique_id.str[1:].astype(int), t=tourism["t"].astype("Int64"))
    model = fit(numbered)
    forecast = model.predict()
    assert forecast["unique_id"].dtype == np.int64 and model.series_ids_[:2] == [1, 2]
    first = numbered[numbered.unique_id == 1]
    model.update(first.tail(1).assign(t=first["t"].max() + 1))
    assert model.predict(ids=[1])["t"].iloc[0] == first["t"].max() + 2
    missing = numbered.astype({"t": "Int64"})
    missing.loc[3, "t"] = pd.NA
    with pytest.raises(ValueError, match="time column 't' has 1 missing value"):
        fit(missing)
    with pytest.raises(ValueError, match="score forecasts one series"):
        model.score(None, None)


def test_persistent_changes_without_a_season_are_not_taken_for_one():
    rng = np.random.default_rng(1)
    series = []
    for _ in range(5):
        changes = np.zeros(150)
        for t in range(1, 150):
            changes[t] = 0.8 * changes[t - 1] + rng.normal()
        series.append(changes.cumsum()[:, None])
    assert autocorrelated_period(series, 40) is None
