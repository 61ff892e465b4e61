"""Stress: fit and predict on a series of 1,000,000 points; time, peak memory, and memory against epochs.

The series is the bundled hourly electricity demand of Victoria
(``tsrnn.datasets.load_vic_electricity()["demand_gw"]``, 8,760 hours) tiled to ``--points``
hours, plus Gaussian noise of 1 % of its standard deviation so that no two tiles are alike, on
an hourly index.

Every run (model, epochs) is a fresh Python process, so that ``ru_maxrss`` is that run's. It
builds the series (and, for the regressor, its windows), warms the compiled kernels up on a
short fit that is not measured, then fits and predicts:

- ``forecaster``: ``RNNForecaster(window=24, horizon=24, hidden_size=8, batch_size=256,
  max_epochs=E, n_iter_no_change=E + 1, random_state=0)``, otherwise the defaults (LSTM,
  float32, "mimo", standard scaling, ``difference="auto"``, here the week of 168 hours, and
  early stopping, which validates on the last 10 % of the windows after every epoch; the
  patience of E + 1 epochs makes every run train all E). Then ``predict(horizon=168)``.
- ``regressor``: ``RNNRegressor(hidden_size=8, batch_size=256, max_epochs=E,
  n_iter_no_change=E + 1, random_state=0)`` on ``make_windows(series, window=24,
  horizon=24)`` (999,953 windows for 1,000,000 points). Then ``predict`` on every window.

Reported per run: fit and predict seconds, the peak of the allocations traced by
``tracemalloc`` during fit and during predict (numpy reports its arrays to it), and the
process' peak resident set (``resource.getrusage(...).ru_maxrss``) before fitting and at the
end. The series and the regressor's windows are built before tracing starts; the copies the
estimators make of them are traced. Tracing every allocation can slow the training loop, so
the default runs include one without tracemalloc, for the time.

    python benchmarks/stress.py [--points 1000000] [--runs forecaster:2,forecaster:20,regressor:2,...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings

from machine import cpu_model

WINDOW, HORIZON, HIDDEN, BATCH = 24, 24, 8, 256
FORECAST_STEPS = 168


def build_series(points: int):  # -> pd.Series
    """The electricity demand tiled to ``points`` hours, with 1 % noise."""
    import numpy as np
    import pandas as pd

    from tsrnn import datasets

    demand = datasets.load_vic_electricity()["demand_gw"]
    values = np.resize(demand.to_numpy(), points)
    values = values + np.random.default_rng(0).normal(0.0, 0.01 * demand.std(), points)
    return pd.Series(values, index=pd.date_range(demand.index[0], periods=points, freq="h"), name="demand_gw")


def megabytes(n_bytes: float) -> float:
    return n_bytes / 2**20


def max_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return megabytes(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)


def run(model: str, epochs: int, points: int, traced: bool) -> dict[str, float | int | str | None]:
    """One measured fit and predict, in this process; ``traced``: under tracemalloc."""
    import numba
    from sklearn.exceptions import ConvergenceWarning

    from tsrnn import RNNForecaster, RNNRegressor, make_windows

    warnings.simplefilter("ignore", ConvergenceWarning)
    series = build_series(points)
    common = {"hidden_size": HIDDEN, "batch_size": BATCH, "n_iter_no_change": epochs + 1, "random_state": 0}
    if model == "forecaster":

        def estimator(max_epochs: int) -> RNNForecaster:
            return RNNForecaster(window=WINDOW, horizon=HORIZON, max_epochs=max_epochs, **common)

        def fit(est: RNNForecaster, data) -> None:
            est.fit(data)

        def predict(est: RNNForecaster, data) -> object:
            return est.predict(horizon=FORECAST_STEPS)

        data, warm_data = series, series.iloc[:5000]
    else:

        def estimator(max_epochs: int) -> RNNRegressor:
            return RNNRegressor(max_epochs=max_epochs, **common)

        def fit(est: RNNRegressor, data) -> None:
            est.fit(*data)

        def predict(est: RNNRegressor, data) -> object:
            return est.predict(data[0])

        data = make_windows(series.to_numpy(), window=WINDOW, horizon=HORIZON)
        warm_data = (data[0][:5000], data[1][:5000])
    # Compilation (or loading the cache) is not what is measured.
    warm = estimator(1)
    fit(warm, warm_data)
    predict(warm, warm_data)
    del warm
    rss_before = max_rss_mb()
    if traced:
        tracemalloc.start()
    est = estimator(epochs)
    start = time.perf_counter()
    fit(est, data)
    fit_s = time.perf_counter() - start
    fit_peak = tracemalloc.get_traced_memory()[1] if traced else None
    tracemalloc.reset_peak()
    start = time.perf_counter()
    predicted = predict(est, data)
    predict_s = time.perf_counter() - start
    predict_peak = tracemalloc.get_traced_memory()[1] if traced else None
    tracemalloc.stop()
    return {
        "model": model,
        "epochs": epochs,
        "traced": traced,
        "epochs_run": est.n_iter_,
        "points": points,
        "predicted": len(predicted),
        "threads": numba.get_num_threads(),
        "fit_s": fit_s,
        "predict_s": predict_s,
        "fit_peak_mb": None if fit_peak is None else megabytes(fit_peak),
        "predict_peak_mb": None if predict_peak is None else megabytes(predict_peak),
        "rss_before_mb": rss_before,
        "rss_peak_mb": max_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        default="forecaster:2,forecaster:20,regressor:2,forecaster:2:untraced",
        help="comma-separated MODEL:EPOCHS[:untraced], one fresh process each (untraced: without tracemalloc)",
    )
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        model, epochs, *untraced = args.run.split(":")
        print(json.dumps(run(model, int(epochs), args.points, traced=not untraced)))
        return
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs)")
    print(
        f"{args.points:,} points; window {WINDOW}, horizon {HORIZON}, hidden {HIDDEN}, batch {BATCH}, LSTM float32",
        flush=True,
    )
    rows = []
    for spec in args.runs.split(","):
        child = subprocess.run(
            [sys.executable, __file__, "--points", str(args.points), "--run", spec],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if child.returncode != 0:
            sys.exit(f"{spec} failed:\n{child.stderr}")
        row = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{spec}: done in {row['fit_s'] + row['predict_s']:.0f} s", flush=True)
    print(f"\nthreads: {rows[0]['threads']}\n")
    print(
        "| model | epochs | tracemalloc | fit s | s/epoch | predict s (what) | tracemalloc peak, fit MB | "
        "tracemalloc peak, predict MB | max RSS before fit MB | max RSS at end MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        what = f"{FORECAST_STEPS} steps" if row["model"] == "forecaster" else f"{row['predicted']:,} windows"
        peaks = [("-" if v is None else f"{v:.0f}") for v in (row["fit_peak_mb"], row["predict_peak_mb"])]
        print(
            f"| {row['model']} | {row['epochs_run']} | {'on' if row['traced'] else 'off'} | {row['fit_s']:.1f} | "
            f"{row['fit_s'] / row['epochs_run']:.2f} | {row['predict_s']:.2f} ({what}) | {peaks[0]} | {peaks[1]} | "
            f"{row['rss_before_mb']:.0f} | {row['rss_peak_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
