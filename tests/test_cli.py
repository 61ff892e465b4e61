"""The ``tsrnn`` command line, run as a separate process on the bundled CSV files and on broken copies of them.

Training runs are kept to a few epochs: these tests check the plumbing (reading, checks,
outputs, exit statuses), not forecast quality.
"""

from __future__ import annotations

import io
import pathlib
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from tsrnn import cli, training
from tsrnn.cli import main

DATASETS = pathlib.Path(__file__).resolve().parents[1] / "datasets"
AIR = DATASETS / "air_passengers.csv"
BIKE = DATASETS / "bike_sharing_daily.csv"
SUNSPOTS = DATASETS / "sunspots_yearly.csv"
FAST = ["--max-epochs", "3", "--seed", "0"]


def run_cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tsrnn", *map(str, args)], capture_output=True, text=True)


def read_stdout(result: subprocess.CompletedProcess[str]) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(result.stdout))


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------- forecast


def test_forecast_finds_time_column_and_target_and_is_quiet():
    result = run_cli("forecast", AIR, "--horizon", 12, *FAST, "--quiet")
    assert_ok(result)
    assert result.stderr == ""
    forecast = read_stdout(result)
    assert list(forecast.columns) == ["timestamp", "forecast"]
    assert len(forecast) == 12
    assert forecast["timestamp"].iloc[0] == "1961-01-01"
    assert forecast["timestamp"].iloc[-1] == "1961-12-01"
    assert np.isfinite(forecast["forecast"]).all()


def test_forecast_shows_progress_by_default():
    result = run_cli("forecast", AIR, "--horizon", 12, *FAST)
    assert_ok(result)
    lines = result.stderr.splitlines()
    assert sum("epoch" in line for line in lines) >= 3
    assert len(read_stdout(result)) == 12


@pytest.mark.parametrize(("rows", "lag"), [(400, 168), (150, 24)])
def test_hourly_summary_says_the_differencing_lag_used(tmp_path, rows, lag):
    # A week of hourly data can be spared from 400 hours, only a day from 150.
    path = tmp_path / "hourly.csv"
    pd.read_csv(DATASETS / "vic_electricity_hourly.csv", nrows=rows).to_csv(path, index=False)
    result = run_cli("forecast", path, "--target", "demand_gw", "--horizon", 24, "--max-epochs", 1, "--seed", 0)
    assert_ok(result)
    summary = [line for line in result.stderr.splitlines() if line.startswith("tsrnn: trained")]
    assert summary == [
        "tsrnn: trained 1 epoch(s), kept epoch 1 (the lowest validation loss); "
        f"window 48 steps, differenced at lag {lag}, seasonal period 24"
    ]


def test_epoch_cap_warning_names_the_command_option():
    result = run_cli("forecast", AIR, "--horizon", 12, *FAST)
    assert_ok(result)
    warning = [line for line in result.stderr.splitlines() if line.startswith("tsrnn: warning:")]
    assert warning == [
        "tsrnn: warning: the validation loss was still improving when --max-epochs 3 ended training; "
        "raise --max-epochs (early stopping still ends training once it stops improving)"
    ]


def test_forecast_intervals_to_file_and_plot(tmp_path):
    output, plot = tmp_path / "forecast.csv", tmp_path / "forecast.png"
    result = run_cli("forecast", AIR, "--horizon", 12, "--coverage", 0.9, "-o", output, "--plot", plot, *FAST, "-q")
    assert_ok(result)
    assert result.stdout == ""
    forecast = pd.read_csv(output)
    # Named as in the backtest CSV and in predict_interval.
    assert list(forecast.columns) == ["timestamp", "forecast", "lower_90", "upper_90"]
    assert len(forecast) == 12
    values = forecast[["lower_90", "forecast", "upper_90"]].to_numpy()
    assert np.isfinite(values).all()
    assert (values[:, 0] <= values[:, 1]).all() and (values[:, 1] <= values[:, 2]).all()
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_forecast_with_future_covariates(tmp_path):
    frame = pd.read_csv(BIKE)
    frame.loc[frame.index[-7:], "cnt"] = np.nan
    path = tmp_path / "bike.csv"
    frame.to_csv(path, index=False)
    result = run_cli("forecast", path, "--target", "cnt", "--exog", "temp,hum,workingday", "--horizon", 7, *FAST, "-q")
    assert_ok(result)
    forecast = read_stdout(result)
    assert forecast["timestamp"].tolist() == frame["date"].iloc[-7:].tolist()
    assert np.isfinite(forecast["forecast"]).all()


def run_main(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run ``tsrnn`` in this process; return the exit status, stdout and stderr."""
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_transform_keeps_sunspot_forecasts_and_intervals_non_negative(tmp_path, capsys):
    # FAST seeds training (--seed 0), so the untransformed run's negative lower bound is the same on every run.
    data = (SUNSPOTS, "--time-col", "year", "--horizon", 5, *FAST, "-q")
    args = ("forecast", *data, "--window", 22, "--coverage", 0.9)
    status, out, err = run_main(capsys, *args)
    assert status == 0, err
    assert pd.read_csv(io.StringIO(out)).filter(regex="^lower").min().min() < 0  # what --transform is for
    status, out, err = run_main(capsys, *args, "--transform", "log1p")
    assert status == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert len(table) == 5 and table["timestamp"].tolist() == [2009, 2010, 2011, 2012, 2013]
    values = table[["forecast", *table.filter(regex="^(lower|upper)").columns]]
    assert values.shape[1] == 3 and (values >= 0).all().all()

    tidy = tmp_path / "backtest.csv"
    status, _, err = run_main(capsys, "backtest", *data, "--folds", 2, "--transform", "log1p", "-o", tidy)
    assert status == 0, err
    assert (pd.read_csv(tidy)["forecast"] >= 0).all()

    status, _, err = run_main(capsys, "forecast", *data, "--transform", "log")
    assert status == 2 and len(err.splitlines()) == 1
    assert "transform='log' needs every value of y > 0; the first that is not is 0 at position 11" in err
    assert "log1p" in err


def _interrupt_training(monkeypatch: pytest.MonkeyPatch, after: int, validation: list[float] | None = None) -> None:
    """Make Ctrl-C arrive in epoch ``after + 1``, with these validation losses for the epochs before it."""
    real_epoch = training._HostSession.run_epoch
    real_validation = training._HostSession.validation_loss
    epochs: list[int] = []

    def run_epoch(*args: object, **kwargs: object) -> float:
        if len(epochs) == after:
            raise KeyboardInterrupt
        epochs.append(1)
        return real_epoch(*args, **kwargs)

    def validation_loss(self: object) -> float:
        return validation[len(epochs) - 1] if validation else real_validation(self)

    monkeypatch.setattr(training._HostSession, "run_epoch", run_epoch)
    monkeypatch.setattr(training._HostSession, "validation_loss", validation_loss)


def test_interrupted_forecast_keeps_the_best_epoch_writes_its_outputs_and_exits_130(tmp_path, monkeypatch, capsys):
    # The validation loss is lowest in epoch 3; Ctrl-C comes in epoch 6.
    _interrupt_training(monkeypatch, after=5, validation=[3.0, 2.0, 1.0, 1.5, 2.5])
    output, plot = tmp_path / "forecast.csv", tmp_path / "forecast.png"
    status = main(
        ["forecast", str(AIR), "--horizon", "12", "--max-epochs", "50", "-o", str(output), "--plot", str(plot)]
    )
    assert status == 130
    lines = capsys.readouterr().err.splitlines()
    assert (
        "tsrnn: warning: training interrupted in epoch 6; keeping the weights of epoch 3, the lowest validation loss"
        in lines
    )
    assert any(
        line.startswith("tsrnn: trained 5 epoch(s), kept epoch 3 (the lowest validation loss)") for line in lines
    )
    assert lines[-1] == f"tsrnn: interrupted; wrote the forecast to {output} and the plot to {plot}"
    assert len(pd.read_csv(output)) == 12
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_interrupted_forecast_to_stdout_under_quiet(monkeypatch, capsys):
    _interrupt_training(monkeypatch, after=2)
    assert main(["forecast", str(AIR), "--horizon", "12", "--max-epochs", "50", "-q"]) == 130
    captured = capsys.readouterr()
    assert captured.err == "tsrnn: interrupted; wrote the forecast to stdout\n"
    assert len(pd.read_csv(io.StringIO(captured.out))) == 12


def test_interrupted_calibration_writes_nothing(tmp_path, monkeypatch, capsys):
    # Intervals calibrated on a model trained short would not be those asked for: Ctrl-C there stops all.
    _interrupt_training(monkeypatch, after=2)
    output = tmp_path / "forecast.csv"
    assert main(["forecast", str(AIR), "--horizon", "12", "--coverage", "0.9", "-o", str(output), "-q"]) == 130
    assert capsys.readouterr().err == "tsrnn: interrupted; no output was written\n"
    assert not output.exists()


def test_interrupted_in_the_first_epoch_writes_nothing(tmp_path, monkeypatch, capsys):
    _interrupt_training(monkeypatch, after=0)
    output = tmp_path / "forecast.csv"
    assert main(["forecast", str(AIR), "--horizon", "12", "-o", str(output)]) == 130
    assert capsys.readouterr().err.splitlines()[-1] == "tsrnn: interrupted; no output was written"
    assert not output.exists()


# ------------------------------------------------------------------------ the CSVs people have

TINY = ["--horizon", "3", "--window", "12", "--max-epochs", "1", "--seed", "0", "-q"]
CO2 = DATASETS / "co2_mauna_loa_weekly.csv"
NILE = DATASETS / "nile.csv"


def _bike_rewritten(tmp_path: pathlib.Path, name: str, date_format: str = "%d/%m/%Y", **to_csv: object) -> pathlib.Path:
    """The bike-sharing counts and temperatures with day-first dates, written as ``to_csv`` says."""
    frame = pd.read_csv(BIKE, usecols=["date", "cnt", "temp"])
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime(date_format)
    path = tmp_path / name
    frame.to_csv(path, index=False, **to_csv)
    return path


def _forecast_in_process(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, pd.DataFrame | None, str]:
    status = main(["forecast", *map(str, args)])
    captured = capsys.readouterr()
    # Exactly the numbers written: pandas 2's default parser can be one unit in the last place off.
    table = pd.read_csv(io.StringIO(captured.out), float_precision="round_trip") if status == 0 else None
    return status, table, captured.err


@pytest.mark.parametrize(
    ("name", "to_csv"),
    [("semicolon.csv", {"sep": ";", "decimal": ","}), ("tab.tsv", {"sep": "\t"})],
)
def test_separators_decimal_commas_and_day_first_dates_are_detected(tmp_path, capsys, name, to_csv):
    path = _bike_rewritten(tmp_path, name, **to_csv)
    original = cli.read_series(str(BIKE), target="cnt", exog=["temp"])
    data = cli.read_series(str(path), target="cnt", exog=["temp"])
    # 13/01/2011 can only be day first, so all of them are.
    pd.testing.assert_series_equal(data.y, original.y, check_freq=False)
    pd.testing.assert_frame_equal(data.X, original.X, check_freq=False)
    status, forecast, err = _forecast_in_process(capsys, path, "--target", "cnt", *TINY)
    assert status == 0, err
    assert forecast["timestamp"].tolist() == ["2013-01-01", "2013-01-02", "2013-01-03"]


def test_separator_and_decimal_mark_can_be_named(tmp_path, capsys):
    path = _bike_rewritten(tmp_path, "pipes.csv", sep="|", decimal=",")
    status, _, err = _forecast_in_process(capsys, path, "--target", "cnt", *TINY)
    assert status == 2
    assert err == (
        f"tsrnn: error: {path} reads as a single column, 'date|cnt|temp', with the separator ','; "
        "name the right one with --sep\n"
    )
    status, forecast, err = _forecast_in_process(
        capsys, path, "--target", "temp", "--sep", "|", "--decimal", ",", *TINY
    )
    assert status == 0, err
    assert len(forecast) == 3 and np.isfinite(forecast["forecast"]).all()


def test_ambiguous_day_first_dates_need_dayfirst(tmp_path, capsys):
    # Monthly dates 01.02.1949, ...: every number is 12 or less, so only --dayfirst says which comes first.
    frame = pd.read_csv(AIR)
    frame["month"] = pd.to_datetime(frame["month"]).dt.strftime("%d.%m.%Y")
    path = tmp_path / "air.csv"
    frame.to_csv(path, index=False, sep=";")
    status, _, err = _forecast_in_process(capsys, path, *TINY)
    assert status == 2
    assert len(err.splitlines()) == 1 and err.startswith("tsrnn: error: the time column 'month'")
    assert "dates such as '01.01.1949' were read month first; pass --dayfirst if the day comes first" in err
    status, forecast, err = _forecast_in_process(capsys, path, "--dayfirst", *TINY)
    assert status == 0, err
    assert forecast["timestamp"].tolist() == ["1961-01-01", "1961-02-01", "1961-03-01"]


def test_dayfirst_leaves_year_first_dates_alone(capsys):
    status, forecast, err = _forecast_in_process(capsys, AIR, "--dayfirst", *TINY)
    assert status == 0, err
    assert forecast["timestamp"].tolist() == ["1961-01-01", "1961-02-01", "1961-03-01"]


def test_a_column_of_years_is_the_time_axis(capsys):
    status, forecast, err = _forecast_in_process(capsys, NILE, *TINY)
    assert status == 0, err
    assert forecast["timestamp"].tolist() == [1971, 1972, 1973]


def test_missing_timestamps_are_an_error_unless_filled(tmp_path, capsys):
    path = _edit_air(tmp_path, lambda f: f.drop(index=[77, 80]))
    status, _, err = _forecast_in_process(capsys, path, *TINY)
    assert status == 2
    assert err == (
        "tsrnn: error: the series has gaps at 2 steps, the first at 1955-06-01, a timestamp missing from the file; "
        "fill gaps with --fill linear or --fill ffill\n"
    )
    # Without -q, to see the report of the filling.
    status = main(["forecast", str(path), *TINY[:-1], "--fill", "linear"])
    err = capsys.readouterr().err
    assert status == 0, err
    assert (
        "tsrnn: --fill linear filled 2 missing value(s) (2 of 'passengers') by linear interpolation; "
        "2 timestamp(s) missing from the file were added"
    ) in err.splitlines()
    data = cli.read_series(str(path), fill="linear")
    passengers = pd.read_csv(AIR)["passengers"]
    assert len(data.y) == 144
    assert data.y.iloc[77] == (passengers[76] + passengers[78]) / 2


def test_empty_cells_are_an_error_unless_filled(capsys):
    status, _, err = _forecast_in_process(capsys, CO2, *TINY)
    assert status == 2
    assert "tsrnn: error: the series has gaps at 59 steps, the first at 1958-05-10, where 'co2_ppm' is empty" in err
    assert "--fill linear or --fill ffill" in err
    data = cli.read_series(str(CO2), fill="ffill")
    assert data.notes == ["--fill ffill filled 59 missing value(s) (59 of 'co2_ppm') by the last value carried forward"]
    raw = pd.read_csv(CO2)["co2_ppm"]
    first = int(np.flatnonzero(raw.isna())[0])
    assert data.y.iloc[first] == raw[first - 1]
    assert not data.y.isna().any()


def test_several_targets_are_forecast_together(tmp_path, capsys):
    path = _bike_rewritten(tmp_path, "bike.csv", sep=";", decimal=",")
    output, plot = tmp_path / "forecast.csv", tmp_path / "forecast.png"
    status = main(
        ["forecast", str(path), "--target", "cnt,temp", "--coverage", "0.8", "-o", str(output), "--plot", str(plot)]
        + TINY
    )
    assert status == 0, capsys.readouterr().err
    forecast = pd.read_csv(output)
    assert list(forecast.columns) == ["timestamp", "target", "forecast", "lower_80", "upper_80"]
    assert forecast["target"].tolist() == ["cnt"] * 3 + ["temp"] * 3
    assert forecast["timestamp"].tolist() == ["2013-01-01", "2013-01-02", "2013-01-03"] * 2
    values = forecast[["lower_80", "forecast", "upper_80"]].to_numpy()
    assert np.isfinite(values).all() and (values[:, 0] <= values[:, 1]).all() and (values[:, 1] <= values[:, 2]).all()
    # Each target on its own scale: counts in the thousands, temperatures normalised to [0, 1].
    assert forecast.loc[forecast["target"] == "cnt", "forecast"].abs().max() > 10
    assert forecast.loc[forecast["target"] == "temp", "forecast"].abs().max() < 10
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_backtest_takes_one_target(capsys):
    assert main(["backtest", str(BIKE), "--target", "cnt,temp", "--horizon", "7"]) == 2
    assert capsys.readouterr().err == (
        "tsrnn: error: backtest evaluates one --target at a time; got 2: ['cnt', 'temp']\n"
    )


# ---------------------------------------------------------------------------------- backtest


def test_backtest_prints_metrics_and_writes_forecasts(tmp_path):
    tidy = tmp_path / "tidy.csv"
    result = run_cli("backtest", AIR, "--horizon", 12, "--folds", 4, "-o", tidy, *FAST, "-q")
    assert_ok(result)
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["mae", "rmse"]
    assert [line.split()[0] for line in lines[1:]] == ["0", "1", "2", "3", "all"]
    forecasts = pd.read_csv(tidy)
    assert len(forecasts) == 4 * 12
    assert sorted(forecasts["fold"].unique()) == [0, 1, 2, 3]
    assert {"cutoff", "timestamp", "step", "actual", "forecast"} <= set(forecasts.columns)
    # The folds are the last four years, each forecast from the years before it.
    assert forecasts["timestamp"].iloc[0] == "1957-01-01"
    assert forecasts["timestamp"].iloc[-1] == "1960-12-01"


def test_interrupted_backtest_in_its_first_fold_writes_nothing(tmp_path, monkeypatch, capsys):
    _interrupt_training(monkeypatch, after=2)
    tidy = tmp_path / "tidy.csv"
    assert main(["backtest", str(AIR), "--horizon", "12", "--folds", "2", "-o", str(tidy), "-q"]) == 130
    captured = capsys.readouterr()
    assert captured.err == "tsrnn: interrupted; no output was written\n"
    assert captured.out == "" and not tidy.exists()


def test_interrupted_backtest_keeps_the_folds_that_finished(tmp_path, monkeypatch, capsys):
    # Two epochs a fold: Ctrl-C comes in the first epoch of the second fold.
    _interrupt_training(monkeypatch, after=2)
    tidy = tmp_path / "tidy.csv"
    status = main(["backtest", str(AIR), "--horizon", "12", "--folds", "2", "--max-epochs", "2", "-o", str(tidy)])
    assert status == 130
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert (
        "tsrnn: warning: backtest interrupted with 1 of 2 folds finished; keeping the results of those (fold 0)"
        in lines
    )
    assert lines[-1] == f"tsrnn: interrupted; wrote the metrics to stdout and the forecasts to {tidy}"
    assert [line.split()[0] for line in captured.out.splitlines()[1:]] == ["0", "all"]
    assert pd.read_csv(tidy)["fold"].unique().tolist() == [0]


def test_forecast_and_backtest_name_interval_columns_alike(tmp_path):
    forecast, tidy = tmp_path / "forecast.csv", tmp_path / "tidy.csv"
    assert_ok(run_cli("forecast", AIR, "--horizon", 12, "--coverage", 0.8, "-o", forecast, *FAST, "-q"))
    assert_ok(run_cli("backtest", AIR, "--horizon", 12, "--folds", 2, "--coverage", 0.8, "-o", tidy, *FAST, "-q"))
    intervals = {"lower_80", "upper_80"}
    assert intervals <= set(pd.read_csv(forecast).columns)
    assert intervals <= set(pd.read_csv(tidy).columns)


# ---------------------------------------------------------------------------------- datasets


def test_datasets_lists_the_bundled_data():
    result = run_cli("datasets")
    assert_ok(result)
    header, *rows = result.stdout.splitlines()
    assert header.split()[:2] == ["name", "frequency"]
    assert "description" in header
    names = [row.split()[0] for row in rows]
    assert {"air_passengers", "bike_sharing", "tourism_quarterly"} <= set(names)


def test_datasets_export(tmp_path):
    output = tmp_path / "air.csv"
    assert_ok(run_cli("datasets", "air_passengers", "-o", output))
    exported, original = pd.read_csv(output), pd.read_csv(AIR)
    assert list(exported.columns) == ["month", "passengers"]
    assert exported["month"].tolist() == original["month"].tolist()
    np.testing.assert_allclose(exported["passengers"], original["passengers"])

    result = run_cli("datasets", "tourism_quarterly")
    assert_ok(result)
    long = read_stdout(result)
    assert list(long.columns) == ["unique_id", "t", "y"]
    assert long["unique_id"].nunique() == 427
    assert long.groupby("unique_id")["t"].min().eq(1).all()


# ------------------------------------------------------------------------------- bad input


def _edit_air(tmp_path: pathlib.Path, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> pathlib.Path:
    path = tmp_path / "edited.csv"
    edit(pd.read_csv(AIR)).to_csv(path, index=False)
    return path


def _bad_date(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[5, "month"] = "not a date"
    return frame


def _words(frame: pd.DataFrame) -> pd.DataFrame:
    frame["passengers"] = "many"
    return frame


def _swap_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[[0, 1, 3, 2, *range(4, len(frame))]]


def _trailing_blank(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[frame.index[-3:], "passengers"] = np.nan
    return frame


BAD_INPUTS = {
    # name: (make the CSV, extra options, a fragment of the message)
    "missing target column": (lambda f: f, ["--target", "sales"], "'sales'"),
    "unparsable dates": (_bad_date, [], "not a date"),
    "unparsable dates, named column": (_bad_date, ["--time-col", "month"], "not a date"),
    "gap": (lambda f: f.drop(index=77), [], "1955-06-01"),
    "timestamp off the frequency": (lambda f: f.replace({"month": {"1953-03-01": "1953-03-15"}}), [], "1953-03-15"),
    "unsorted": (_swap_rows, [], "not sorted"),
    "duplicate timestamp": (lambda f: pd.concat([f.iloc[:10], f.iloc[9:]]), [], "1949-10-01"),
    "non-numeric target": (_words, ["--target", "passengers"], "not numeric"),
    "non-numeric target, found automatically": (_words, [], "not numeric"),
    "too short for the horizon": (lambda f: f.head(10), [], "10 observations"),
    "empty target rows without --exog": (_trailing_blank, [], "--exog"),
    "bad coverage": (lambda f: f, ["--coverage", "1.5"], "--coverage"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_status_2(tmp_path, case):
    edit, options, fragment = BAD_INPUTS[case]
    path = _edit_air(tmp_path, edit)
    result = run_cli("forecast", path, "--horizon", 12, *options, *FAST)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tsrnn: error: ")
    assert fragment in lines[0]
    assert result.stdout == ""


def test_missing_file_is_one_line_and_status_2(tmp_path):
    result = run_cli("forecast", tmp_path / "missing.csv", "--horizon", 3)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"tsrnn: error: no such file: {tmp_path / 'missing.csv'}"]


def test_covariates_of_the_forecast_steps_are_required(tmp_path):
    result = run_cli("forecast", BIKE, "--target", "cnt", "--exog", "temp", "--horizon", 7, *FAST)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tsrnn: error: --exog needs the covariates of the 7 step(s)")


def test_backtest_too_short_for_its_folds(tmp_path):
    path = _edit_air(tmp_path, lambda f: f.head(30))
    result = run_cli("backtest", path, "--horizon", 12, "--folds", 4)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "--folds" in result.stderr


# ----------------------------------------------------------------------- entry points


def test_help():
    result = run_cli("--help")
    assert_ok(result)
    for command in ("forecast", "backtest", "datasets"):
        assert command in result.stdout


def test_console_script():
    script = pathlib.Path(sys.executable).parent / "tsrnn"
    assert script.exists(), "the tsrnn console script is not installed next to this Python"
    result = subprocess.run([str(script), "datasets"], capture_output=True, text=True)
    assert_ok(result)
    assert "air_passengers" in result.stdout


def test_main_returns_the_exit_status(tmp_path, capsys):
    assert main(["datasets"]) == 0
    assert "air_passengers" in capsys.readouterr().out
    assert main(["forecast", str(tmp_path / "missing.csv"), "--horizon", "3"]) == 2
    assert main(["forecast", str(AIR), "--horizon", "0"]) == 2
    assert main(["--help"]) == 0
    err = capsys.readouterr().err
    assert err.count("tsrnn: error: ") == 2


# --------------------------------------------------------------------- saved models (--save, --load)


def _saved_run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, pd.DataFrame | None, str]:
    """Run ``tsrnn forecast`` in this process; return the status, the forecast read from stdout, and stderr."""
    status = main(["forecast", *map(str, args)])
    captured = capsys.readouterr()
    # Exactly the numbers written: pandas 2's default parser can be one unit in the last place off.
    table = pd.read_csv(io.StringIO(captured.out), float_precision="round_trip") if status == 0 else None
    return status, table, captured.err


def _air_rows(tmp_path: pathlib.Path, name: str, rows: slice) -> pathlib.Path:
    path = tmp_path / name
    pd.read_csv(AIR).iloc[rows].to_csv(path, index=False)
    return path


def test_a_saved_model_forecasts_new_data_without_retraining(tmp_path, capsys):
    import tsrnn.datasets

    model = tmp_path / "air.tsrnn"
    status, trained, _ = _saved_run(
        capsys, _air_rows(tmp_path, "old.csv", slice(0, 100)), "--horizon", 6, "--coverage", 0.8, *FAST,
        "--save", model,
    )  # fmt: skip
    assert status == 0 and model.is_file()
    new = _air_rows(tmp_path, "new.csv", slice(0, 110))
    status, forecast, err = _saved_run(capsys, "--load", model, new, "--coverage", 0.8)
    assert status == 0, err
    assert "trained on a series ending at 1957-04-01; updated with 10 new observation(s) to 1958-02-01" in err
    assert "epoch" not in err
    # As in Python: the loaded model, updated with the ten new months.
    expected = tsrnn.load(model).update(tsrnn.datasets.load_air_passengers().iloc[100:110])
    expected = expected.predict_interval(coverage=0.8)
    assert list(forecast.columns) == ["timestamp", "forecast", "lower_80", "upper_80"]
    assert forecast["timestamp"].tolist() == [str(t.date()) for t in expected.index]
    np.testing.assert_array_equal(forecast[["forecast", "lower_80", "upper_80"]].to_numpy(), expected.to_numpy())
    # The same end as the saved model: nothing to update; --horizon shortens the forecast.
    status, same, err = _saved_run(
        capsys, "--load", model, _air_rows(tmp_path, "old.csv", slice(0, 100)), "--horizon", 2
    )
    assert status == 0 and "no new observations" in err
    np.testing.assert_array_equal(same["forecast"].to_numpy(), trained["forecast"].to_numpy()[:2])


def test_a_saved_model_with_covariates_reads_them_again(tmp_path, capsys):
    frame = pd.read_csv(BIKE, usecols=["date", "cnt", "temp"]).iloc[:320]
    old, new = frame.iloc[:307].copy(), frame.copy()
    old.loc[300:, "cnt"] = np.nan  # the covariates of the 7 steps to forecast, target left empty
    new.loc[313:, "cnt"] = np.nan
    old.to_csv(tmp_path / "old.csv", index=False)
    new.to_csv(tmp_path / "new.csv", index=False)
    model = tmp_path / "bike.tsrnn"
    args = ("--target", "cnt", "--exog", "temp", "--horizon", 7, *FAST, "-q", "--save", model)
    assert _saved_run(capsys, tmp_path / "old.csv", *args)[0] == 0
    status, forecast, err = _saved_run(capsys, tmp_path / "new.csv", "--load", model)
    assert status == 0, err
    assert forecast["timestamp"].tolist() == frame["date"].iloc[313:].tolist()


def test_covariates_other_than_the_saved_models_are_one_line_and_status_2(tmp_path, capsys):
    import re

    frame = pd.read_csv(BIKE, usecols=["date", "cnt", "temp", "hum"]).iloc[:307]
    frame.iloc[:300].to_csv(tmp_path / "plain.csv", index=False)
    frame.loc[300:, "cnt"] = np.nan  # the covariates of the 7 steps to forecast, target left empty
    frame.to_csv(tmp_path / "future.csv", index=False)
    plain, temp = tmp_path / "plain.tsrnn", tmp_path / "temp.tsrnn"
    trained = ("--target", "cnt", "--horizon", 7, *FAST, "-q")
    assert _saved_run(capsys, tmp_path / "plain.csv", *trained, "--save", plain)[0] == 0
    assert _saved_run(capsys, tmp_path / "future.csv", *trained, "--exog", "temp", "--save", temp)[0] == 0
    cases = [
        (plain, "temp", r"the model of .*plain.tsrnn was trained without covariates; --exog names \['temp'\]: leave "
                        r"--exog out$"),
        (temp, "hum", r"the model of .*temp.tsrnn takes the covariates \['temp'\]; --exog names \['hum'\]: name them "
                      r"with --exog temp or leave --exog out$"),
        (temp, "temp,hum", r"takes the covariates \['temp'\]; --exog names \['temp', 'hum'\]: name them with"),
    ]  # fmt: skip
    for model, exog, message in cases:
        status, _, err = _saved_run(capsys, tmp_path / "future.csv", "--load", model, "--exog", exog)
        assert status == 2
        assert len(err.splitlines()) == 1 and err.startswith("tsrnn: error: ") and re.search(message, err), err
    # Naming the covariates the model was trained with is what --load reads by default.
    status, forecast, err = _saved_run(capsys, tmp_path / "future.csv", "--load", temp, "--exog", "temp")
    assert status == 0, err
    assert forecast["timestamp"].tolist() == frame["date"].iloc[300:].tolist()


def _air_at(tmp_path: pathlib.Path, freq: str) -> pathlib.Path:
    frame = pd.read_csv(AIR)
    frame["month"] = pd.date_range("1949-01-01", periods=len(frame), freq=freq).strftime("%Y-%m-%d")
    path = tmp_path / f"air_{freq}.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("data", "extra", "message"),
    [
        (
            lambda tmp: _air_rows(tmp, "gap.csv", slice(105, 120)),
            (),
            r"gap.csv starts at 1957-10-01, 5 step\(s\) after the end of the series the model of .* was trained on "
            r"\(1957-04-01\); it must continue that series: include the steps from 1957-05-01",
        ),
        (
            lambda tmp: _air_rows(tmp, "short.csv", slice(0, 90)),
            (),
            r"short.csv ends at 1956-06-01, but the series the model of .* was trained on ends at 1957-04-01: give "
            r"the series up to that end or later",
        ),
        (
            lambda tmp: _air_at(tmp, "D"),
            (),
            r"is a series at frequency D, but the series the model of .* was trained on ends at 1957-04-01, at "
            r"frequency MS",
        ),
        (lambda tmp: BIKE, ("--target", "cnt"), r"the model of .* forecasts \['passengers'\]; the targets read are"),
    ],
    ids=["gap", "ends-before", "other-frequency", "other-target"],
)
def test_data_that_does_not_continue_the_saved_series_is_one_line_and_status_2(tmp_path, capsys, data, extra, message):
    import re

    model = tmp_path / "air.tsrnn"
    assert _saved_run(capsys, _air_rows(tmp_path, "old.csv", slice(0, 100)), "--horizon", 3, *FAST, "-q",
                      "--save", model)[0] == 0  # fmt: skip
    status, _, err = _saved_run(capsys, data(tmp_path), "--load", model, *extra)
    assert status == 2
    assert len(err.splitlines()) == 1 and err.startswith("tsrnn: error: ")
    assert re.search(message, err), err


def test_bad_model_files_are_one_line_and_status_2(tmp_path, capsys):
    import re

    text = tmp_path / "notes.tsrnn"
    text.write_text("not a model\n")
    model = tmp_path / "air.tsrnn"
    assert _saved_run(capsys, AIR, "--horizon", 3, *FAST, "-q", "--save", model)[0] == 0
    cases = [
        (("--load", tmp_path / "missing.tsrnn"), r"--load .*missing.tsrnn: no such file"),
        (("--load", text), r"cannot load .*notes.tsrnn: not a tsrnn model file: it is not a zip archive"),
        (("--load", model, "--coverage", 0.9), r"--coverage needs a model trained with --coverage"),
        ((), r"the following arguments are required: --horizon \(or --load, a model saved by --save\)"),
    ]
    for args, message in cases:
        status, _, err = _saved_run(capsys, AIR, *args)
        assert status == 2
        assert len(err.splitlines()) == 1 and re.search(message, err), err


def test_the_loss_and_quantile_options_train_on_the_pinball_loss(capsys):
    forecasts = {}
    for level in (0.1, 0.9):
        status, table, err = _saved_run(
            capsys, AIR, "--horizon", 6, "--loss", "pinball", "--quantile", level, "--max-epochs", 60, "--seed", 0
        )
        assert status == 0, err
        forecasts[level] = table["forecast"].to_numpy()
    assert np.all(forecasts[0.9] > forecasts[0.1])
    assert main(["forecast", str(AIR), "--loss", "l2"]) == 2
    assert "invalid choice: 'l2'" in capsys.readouterr().err


# ------------------------------------------------------------------------ many series (--id-col)

TOURISM = DATASETS / "tourism_quarterly.csv"
PANEL_OPTIONS = ["--id-col", "unique_id", "--time-col", "t"]


@pytest.fixture(scope="module")
def tourism() -> pd.DataFrame:
    """The first 20 series of the tourism collection (63 to 122 quarters each), as the long file has them."""
    frame = pd.read_csv(TOURISM)
    return frame[frame["unique_id"].isin(frame["unique_id"].unique()[:20])].reset_index(drop=True)


def _panel(tmp_path: pathlib.Path, frame: pd.DataFrame, name: str = "panel.csv") -> pathlib.Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _global_model(**params: object):
    from tsrnn import RNNForecaster

    return RNNForecaster(
        **{"horizon": 8, "time_column": "t", "max_epochs": 2, "random_state": 0, "verbose": 0, **params}
    )


def test_a_long_file_is_forecast_by_one_model_as_a_long_csv(tmp_path, tourism, capsys):
    import warnings

    output, plot = tmp_path / "forecast.csv", tmp_path / "grid.png"
    args = ["forecast", _panel(tmp_path, tourism), *PANEL_OPTIONS, "--horizon", 8, "--max-epochs", 2, "--seed", 0]
    status, _, err = run_main(capsys, *args, "-o", output, "--plot", plot)
    assert status == 0, err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _global_model().fit(tourism)
    summary = [line for line in err.splitlines() if line.startswith("tsrnn: trained")]
    assert summary == [
        f"tsrnn: trained 2 epoch(s) on 20 series, kept epoch {model.best_epoch_} (the lowest validation loss); "
        "window 8 steps, differenced at lag 4, seasonal period 4"
    ]
    forecast = pd.read_csv(output, float_precision="round_trip")
    assert list(forecast.columns) == ["unique_id", "t", "y"] and len(forecast) == 20 * 8
    for uid, rows in forecast.groupby("unique_id", sort=False):
        last = tourism.loc[tourism["unique_id"] == uid, "t"].max()
        assert rows["t"].tolist() == list(range(last + 1, last + 9))
    # The model of Python's RNNForecaster, fitted on the long frame.
    pd.testing.assert_frame_equal(forecast, model.predict(), check_exact=True)
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_a_unique_id_column_reads_the_file_as_many_series(tmp_path, tourism, capsys):
    output = tmp_path / "forecast.csv"
    args = ["forecast", _panel(tmp_path, tourism), "--time-col", "t", "--horizon", 8, "--max-epochs", 2, "--seed", 0]
    status, _, err = run_main(capsys, *args, "-o", output)
    assert status == 0, err
    assert "tsrnn: read as many series: one per 'unique_id' (--id-col unique_id)" in err.splitlines()
    explicit = tmp_path / "explicit.csv"
    status, _, err = run_main(capsys, *args, "--id-col", "unique_id", "-o", explicit)
    assert status == 0, err
    assert output.read_text() == explicit.read_text()


def test_a_long_file_with_dates_and_future_covariates(tmp_path, tourism, capsys):
    frame = tourism.copy()
    # Every series starts in the first quarter of 1990.
    frame["quarter"] = pd.date_range("1990-01-01", periods=200, freq="QS")[frame["t"] - 1].strftime("%Y-%m-%d")
    frame["summer"] = (frame["t"] % 4 == 1).astype(float)
    frame.loc[frame.groupby("unique_id").tail(4).index, "y"] = np.nan  # the four quarters to forecast
    path = _panel(tmp_path, frame.drop(columns="t"))
    status, out, err = run_main(capsys, "forecast", path, "--id-col", "unique_id", "--exog", "summer", "--horizon", 4,
                                *FAST, "-q")  # fmt: skip
    assert status == 0, err
    forecast = pd.read_csv(io.StringIO(out))
    assert list(forecast.columns) == ["unique_id", "quarter", "y"]
    expected = frame[frame["y"].isna()]
    assert forecast["unique_id"].tolist() == expected["unique_id"].tolist()
    assert forecast["quarter"].tolist() == expected["quarter"].tolist()
    assert np.isfinite(forecast["y"]).all()
    # One series without the covariates of its last step to forecast.
    short = frame.drop(index=frame.index[frame["unique_id"] == "Q3"][-1:])
    status, _, err = run_main(capsys, "forecast", _panel(tmp_path, short.drop(columns="t"), "short.csv"),
                              "--id-col", "unique_id", "--exog", "summer", "--horizon", 4, *FAST, "-q")  # fmt: skip
    assert status == 2
    assert err.startswith("tsrnn: error: series 'Q3': --exog needs the covariates of the 4 step(s) to forecast: ")
    assert err.endswith("the file has 3\n") and len(err.splitlines()) == 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_backtest_of_a_long_file_reports_every_series_and_all(tmp_path, tourism, capsys):
    from tsrnn.model_selection import backtest, windows_from_end

    tidy = tmp_path / "tidy.csv"
    args = ["backtest", _panel(tmp_path, tourism), *PANEL_OPTIONS, "--horizon", 8, "--folds", 2, *FAST, "-q"]
    status, out, err = run_main(capsys, *args, "-o", tidy)
    assert status == 0, err
    header, *rows = out.splitlines()
    assert header.split() == ["mae", "rmse", "mape", "smape", "mase"]
    assert [row.split()[0] for row in rows] == [f"Q{i}" for i in range(1, 21)] + ["all"]
    forecasts = pd.read_csv(tidy)
    assert list(forecasts.columns) == ["fold", "unique_id", "cutoff", "timestamp", "step", "actual", "forecast"]
    assert len(forecasts) == 2 * 20 * 8
    # Q1 has 63 quarters: the folds hold out its last 16, then its last 8.
    assert forecasts.loc[forecasts["unique_id"] == "Q1"].groupby("fold")["cutoff"].first().tolist() == [47, 55]
    result = backtest(_global_model(max_epochs=3), tourism, cv=windows_from_end(8, n_windows=2))
    assert out == result.metrics.to_string(float_format=lambda value: f"{value:.3f}") + "\n"


def test_a_saved_model_of_many_series_forecasts_a_long_file_without_training(tmp_path, tourism, capsys):
    import tsrnn

    model = tmp_path / "global.tsrnn"
    older = _panel(tmp_path, tourism.groupby("unique_id", sort=False).head(-4), "older.csv")
    status, _, err = run_main(capsys, "forecast", older, *PANEL_OPTIONS, "--horizon", 8, *FAST, "-q", "--save", model)
    assert status == 0, err
    newer = _panel(tmp_path, tourism.rename(columns={"unique_id": "series", "t": "quarter"}), "newer.csv")
    status, out, err = run_main(capsys, "forecast", newer, "--id-col", "series", "--time-col", "quarter",
                                "--load", model)  # fmt: skip
    assert status == 0, err
    assert err == (
        f"tsrnn: loaded {model}, trained on 20 series; forecast the 20 series of {newer} from their history, "
        "without training\n"
    )
    forecast = pd.read_csv(io.StringIO(out), float_precision="round_trip")
    assert list(forecast.columns) == ["series", "quarter", "y"]
    expected = tsrnn.load(model).predict(y=tourism)
    np.testing.assert_array_equal(forecast["y"].to_numpy(), expected["y"].to_numpy())
    assert forecast["quarter"].tolist() == expected["t"].tolist()
    status, _, err = run_main(capsys, "forecast", newer, "--load", model)
    assert status == 2 and err == (
        f"tsrnn: error: --load {model} holds a model of 20 series; read {newer} as many series in the long format: "
        "name its id column with --id-col (the model's is 'unique_id')\n"
    )
    single = tmp_path / "air.tsrnn"
    assert run_main(capsys, "forecast", AIR, "--horizon", 3, *FAST, "-q", "--save", single)[0] == 0
    status, _, err = run_main(capsys, "forecast", newer, "--id-col", "series", "--load", single)
    assert status == 2 and err == (
        f"tsrnn: error: the model of {single} forecasts one series; --id-col reads {newer} as many: leave --id-col "
        "out, or train a model of many series with tsrnn forecast --id-col\n"
    )


def test_rows_of_a_long_file_in_any_order_and_gaps_filled(tmp_path, tourism, capsys):
    original = cli.read_collection_csv(str(_panel(tmp_path, tourism)), id_col="unique_id", time_col="t")
    shuffled = tourism.sample(frac=1.0, random_state=0)
    shuffled = pd.concat([shuffled[shuffled["unique_id"] == uid] for uid in tourism["unique_id"].unique()])
    data = cli.read_collection_csv(str(_panel(tmp_path, shuffled, "shuffled.csv")), id_col="unique_id", time_col="t")
    pd.testing.assert_frame_equal(data.long(), original.long())
    assert list(data.lengths.items())[:3] == [("Q1", 63), ("Q2", 63), ("Q3", 88)]
    gaps = tourism.drop(index=tourism.index[(tourism["unique_id"] == "Q7") & tourism["t"].isin([5, 9])])
    gaps.loc[(gaps["unique_id"] == "Q2") & (gaps["t"] == 3), "y"] = np.nan
    path = _panel(tmp_path, gaps, "gaps.csv")
    filled = cli.read_collection_csv(str(path), id_col="unique_id", time_col="t", fill="linear")
    assert filled.notes == [
        "--fill linear filled 3 missing value(s) in 2 series ('Q2', 'Q7') by linear interpolation; "
        "2 timestamp(s) missing from the file were added"
    ]
    q7 = tourism[tourism["unique_id"] == "Q7"]["y"].to_numpy()
    assert filled.series["Q7"].y.iloc[4] == (q7[3] + q7[5]) / 2 and filled.lengths["Q7"] == len(q7)
    status, _, err = run_main(capsys, "forecast", path, *PANEL_OPTIONS, "--horizon", 8)
    assert status == 2 and err == (
        "tsrnn: error: series 'Q2' has a gap at 3, where 'y' is empty; fill gaps with --fill linear or --fill ffill\n"
    )


PANEL_BAD_INPUTS = {
    # name: (edit the long frame, options instead of PANEL_OPTIONS, the whole message)
    "missing id column": (
        lambda f: f, ["--id-col", "series", "--time-col", "t"],
        "no column 'series' for --id-col; the columns are ['unique_id', 't', 'y']. Name the column of series ids, "
        "or leave --id-col out for a file of one series",
    ),
    "empty id": (
        lambda f: f.assign(unique_id=f["unique_id"].where(f.index != 70)), PANEL_OPTIONS,
        "the --id-col column 'unique_id' is empty in row 71 after the header; give every row its series' id",
    ),
    "time column not found": (
        lambda f: f, ["--id-col", "unique_id"],
        "found no column of dates or years. Name the time column with --time-col (whole-number steps work too)",
    ),
    "time column is the id column": (
        lambda f: f, ["--id-col", "unique_id", "--time-col", "unique_id"],
        "--time-col and --id-col both name 'unique_id'; the time column is another",
    ),
    "target is the id column": (
        lambda f: f, [*PANEL_OPTIONS, "--target", "unique_id"], "--target 'unique_id' is the --id-col column",
    ),
    "several targets": (
        lambda f: f.assign(z=1.0), [*PANEL_OPTIONS, "--target", "y,z"],
        "a file of many series (--id-col) is read with one --target column; got 2: ['y', 'z']. Forecast them one "
        "at a time",
    ),
    "repeated step": (
        lambda f: pd.concat([f, f[(f["unique_id"] == "Q4") & (f["t"] == 10)]]), PANEL_OPTIONS,
        "series 'Q4''s time column 't' repeats 10; aggregate or drop the duplicates first",
    ),
    "steps missing": (
        lambda f: f.drop(index=f.index[(f["unique_id"] == "Q5") & (f["t"] == 20)]), PANEL_OPTIONS,
        "series 'Q5' has a gap at 20, a timestamp missing from the file; fill gaps with --fill linear or --fill ffill",
    ),
    "rows after the last target": (
        lambda f: f.assign(y=f["y"].where((f["unique_id"] != "Q6") | (f["t"] < 80))), PANEL_OPTIONS,
        "the last 9 row(s) of series 'Q6', from 80, have no target value; rows after the last observation are read "
        "only as the future covariates of --exog. Remove them, or name the covariates with --exog",
    ),
    "intervals": (
        lambda f: f, [*PANEL_OPTIONS, "--coverage", "0.9"],
        "--coverage gives prediction intervals of one series; with --id-col the command forecasts points "
        "(in Python, RNNForecaster(calibration_size=...).predict_interval covers a collection): leave --coverage "
        "out, or forecast the series one file at a time",
    ),
}  # fmt: skip


@pytest.mark.parametrize("command", ["forecast", "backtest"])
@pytest.mark.parametrize("case", list(PANEL_BAD_INPUTS))
def test_bad_long_files_are_one_line_naming_the_fix(tmp_path, tourism, capsys, case, command):
    edit, options, message = PANEL_BAD_INPUTS[case]
    path = _panel(tmp_path, edit(tourism.copy()))
    status, out, err = run_main(capsys, command, path, *options, "--horizon", 8, *FAST)
    assert status == 2 and out == ""
    assert err == f"tsrnn: error: {message}\n"


def test_backtest_of_a_long_file_too_short_for_its_folds(tmp_path, tourism, capsys):
    status, _, err = run_main(capsys, "backtest", _panel(tmp_path, tourism), *PANEL_OPTIONS, "--horizon", 8,
                              "--folds", 8)  # fmt: skip
    assert status == 2 and err == (
        "tsrnn: error: 8 fold(s) of 8 step(s) need more than 64 observations of every series to train on; series "
        "'Q1', the shortest, has 63. Use fewer --folds or a shorter --horizon, or drop the series\n"
    )
