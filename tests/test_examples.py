from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_example(*args: str) -> str:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quickstart_forecasts_1960_and_beats_seasonal_naive(tmp_path):
    png = tmp_path / "forecast.png"
    out = run_example("examples/quickstart.py", "--plot", str(png))
    assert "1960-12-01" in out
    mase = {line.split(":")[0].strip(): float(line.rsplit("MASE", 1)[1]) for line in out.splitlines() if "MASE" in line}
    assert mase["RNNForecaster"] < mase["seasonal naive"]
    assert png.read_bytes().startswith(b"\x89PNG")


def test_pipeline_comparison_ranks_all_candidates():
    out = run_example("examples/pipeline_comparison.py", "--max-epochs", "5")
    assert all(name in out for name in ("Ridge", "rnn", "lstm", "gru")) and "best:" in out


def test_covariates_example_backtests_both_variants():
    out = run_example("examples/covariates_bike.py", "--max-epochs", "5", "--weeks", "2")
    assert "no covariates" in out and "weather + calendar" in out


def test_backtest_with_intervals_example(tmp_path):
    png = tmp_path / "backtest.png"
    out = run_example("examples/backtest_intervals.py", "--max-epochs", "5", "--plot", str(png))
    assert "months inside their 90 % interval" in out and png.read_bytes().startswith(b"\x89PNG")


def test_tourism_example_forecasts_every_series(tmp_path):
    csv = tmp_path / "forecast.csv"
    out = run_example("examples/forecast_tourism.py", str(csv), "--max-epochs", "3")
    mase = {line.split(":")[0].strip(): float(line.rsplit("MASE", 1)[1]) for line in out.splitlines() if "MASE" in line}
    assert set(mase) == {"RNNForecaster", "seasonal naive"} and all(value > 0 for value in mase.values())
    forecast = csv.read_text().splitlines()
    assert forecast[0] == "unique_id,t,y" and len(forecast) == 1 + 427 * 8


def test_network_level_example_trains():
    out = run_example("examples/train_lstm.py", "--epochs", "3")
    assert "epoch    3" in out and "MAE" in out


def test_classification_example_reports_every_model_on_both_sets():
    out = run_example("examples/classify_motions.py", "--max-epochs", "40")
    accuracies = {}
    for line in out.splitlines():
        if "test accuracy" in line:
            name, value = line.split("test accuracy")
            accuracies.setdefault(name.strip(), []).append(float(value.split()[0]))
    assert set(accuracies) == {"RNNClassifier", "logistic regression", "random forest"}
    assert all(len(values) == 2 and all(0.0 <= v <= 1.0 for v in values) for values in accuracies.values())
    # Forty epochs already separate winter days from summer ones (BasicMotions needs more).
    assert accuracies["RNNClassifier"][1] > 0.85
    assert "confusion matrix" in out and "BasicMotions" in out and "ItalyPowerDemand" in out
