"""One global model over the tourism quarterly collection, against a model per series and seasonal naive.

The 427 quarterly series of the tourism forecasting competition, each held out on its last 8
quarters (the official test period). MASE scales each series' absolute error by the
in-sample seasonal-naive error (m = 4) of its training part, then is averaged over the series.

- global: one ``RNNForecaster(horizon=8, random_state=seed)`` fitted on the long frame of
  every series' training part (``time_column="t"``: the file numbers the quarters), and
  forecasting all of them;
- local: the same default estimator fitted on each series alone (where the default's early
  stopping needs more windows than a short series gives, it is fitted without it);
- seasonal naive: each quarter of the last year repeated.

``--set seasonal_period=4`` passes more parameters to both models (the file has no dates, so
the defaults do not know the season).

    python benchmarks/global_models.py [--seeds 0,1,2] [--no-local] [--set name=value ...]
"""

from __future__ import annotations

import argparse
import ast
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from machine import cpu_model

import tsrnn
from tsrnn import RNNForecaster
from tsrnn.metrics import mase

HORIZON, PERIOD = 8, 4


def split() -> tuple[pd.DataFrame, dict, dict]:
    frame = pd.read_csv(Path(__file__).resolve().parent.parent / "datasets" / "tourism_quarterly.csv")
    train, test = {}, {}
    parts = []
    for uid, group in frame.groupby("unique_id", sort=False):
        values = group["y"].to_numpy(dtype=float)
        train[uid], test[uid] = values[:-HORIZON], values[-HORIZON:]
        parts.append(group.iloc[:-HORIZON])
    return pd.concat(parts, ignore_index=True), train, test


def score(forecasts: dict, train: dict, test: dict) -> float:
    return float(np.mean([mase(test[uid], forecasts[uid], train[uid], m=PERIOD) for uid in test]))


def global_forecasts(frame: pd.DataFrame, seed: int, options: dict) -> tuple[dict, float]:
    start = time.perf_counter()
    model = RNNForecaster(horizon=HORIZON, random_state=seed, time_column="t", **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecast = model.fit(frame).predict()
    seconds = time.perf_counter() - start
    return {uid: group["y"].to_numpy() for uid, group in forecast.groupby("unique_id", sort=False)}, seconds


def local_forecasts(train: dict, seed: int, options: dict) -> tuple[dict, float, int]:
    start, fallbacks, out = time.perf_counter(), 0, {}
    for uid, values in train.items():
        y = pd.Series(values, index=pd.RangeIndex(1, len(values) + 1))
        model = RNNForecaster(horizon=HORIZON, random_state=seed, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                model.fit(y)
            except ValueError:
                fallbacks += 1
                model.set_params(early_stopping=False).fit(y)
        out[uid] = model.predict().to_numpy()
    return out, time.perf_counter() - start, fallbacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--no-local", action="store_true")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    options = {key: ast.literal_eval(value) for key, value in (item.split("=", 1) for item in args.set)}
    seeds = [int(s) for s in args.seeds.split(",")]
    frame, train, test = split()
    naive = {uid: np.resize(values[-PERIOD:], HORIZON) for uid, values in train.items()}
    print(f"CPU: {cpu_model()}; tsrnn {tsrnn.__version__}; tourism quarterly, {len(train)} series, horizon {HORIZON}")
    print(f"parameters beyond horizon and random_state: {options or 'none'}")
    print("| model | MASE per seed | mean MASE | fit + predict s (mean) |")
    print("| --- | --- | --- | --- |")
    rows = {"global": [], "local": []}
    times = {"global": [], "local": []}
    for seed in seeds:
        forecasts, seconds = global_forecasts(frame, seed, options)
        rows["global"].append(score(forecasts, train, test))
        times["global"].append(seconds)
        if not args.no_local:
            forecasts, seconds, fallbacks = local_forecasts(train, seed, options)
            rows["local"].append(score(forecasts, train, test))
            times["local"].append(seconds)
    for name, scores in rows.items():
        if scores:
            per_seed = ", ".join(f"{value:.3f}" for value in scores)
            print(f"| {name} | {per_seed} | {np.mean(scores):.3f} | {np.mean(times[name]):.1f} |")
    if not args.no_local:
        print(f"(local: {fallbacks} series of the last seed fitted without early stopping, too short for it)")
    print(f"| seasonal naive | - | {score(naive, train, test):.3f} | - |")


if __name__ == "__main__":
    main()
