from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_example(*args: str) -> str:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quickstart_forecasts_1960_and_beats_seasonal_naive():
    out = run_example("examples/quickstart.py")
    assert "1960-12-01" in out
    mase = {line.split(":")[0].strip(): float(line.rsplit("MASE", 1)[1]) for line in out.splitlines() if "MASE" in line}
    assert mase["RNNForecaster"] < mase["seasonal naive"]


def test_network_level_example_trains():
    out = run_example("examples/train_lstm.py", "--epochs", "3")
    assert "epoch    3" in out and "MAE" in out
