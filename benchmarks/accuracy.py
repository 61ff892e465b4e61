"""Out-of-the-box accuracy of RNNForecaster against the seasonal-naive forecast, on the bundled series.

A rolling-origin backtest: for each origin the forecaster is fitted on everything before it
and forecasts the next ``horizon`` steps; MASE scales the absolute error by the in-sample
seasonal-naive error of the same training part. The table reports the mean MASE over the
origins (and seeds) of RNNForecaster (only ``window``, ``horizon`` and ``random_state`` set,
unless ``--set`` changes more) and of the seasonal-naive forecast, and how many of the
forecasts beat the seasonal-naive one.

``--transform none,log`` backtests each series once per target transform (``transform=None``,
``"log"`` or ``"log1p"``); "wins vs none" then counts the forecasts (same origin and seed)
whose MASE the transform lowered.

    python benchmarks/accuracy.py [--series air,bike,electricity,nile,sunspots] [--seeds 0,1,2]
                                  [--transform none,log] [--set strategy=recursive ...]
"""

from __future__ import annotations

import argparse
import ast
import time
import warnings

import numpy as np
import pandas as pd
from machine import cpu_model

from tsrnn import RNNForecaster, datasets
from tsrnn.metrics import mase

# name: (target, seasonal period, horizon, window, number of origins, spacing).
# Daily and hourly origins are 8 days apart, so that successive origins fall on successive
# weekdays and the backtest covers every day of the week. The yearly series have no season
# (m = 1: MASE against the naive forecast); sunspots are forecast a cycle (~11 years) ahead.
SERIES = {
    "air": (lambda: datasets.load_air_passengers(), 12, 12, 24, 4, 12),
    "bike": (lambda: datasets.load_bike_sharing()["cnt"].astype(float), 7, 14, 28, 7, 8),
    "electricity": (lambda: datasets.load_vic_electricity()["demand_gw"], 24, 24, 168, 7, 24 * 8),
    "nile": (lambda: datasets.load_nile(), 1, 10, 20, 5, 10),
    "sunspots": (lambda: datasets.load_sunspots(), 1, 11, 22, 5, 11),
}


def load(name: str) -> tuple[pd.Series, int, int, int, int, int]:
    target, m, horizon, window, origins, spacing = SERIES[name]
    return target(), m, horizon, window, origins, spacing


def backtest(name: str, options: dict, seeds: list[int], transform: str | None = None) -> tuple[dict, list[float]]:
    y, m, horizon, window, origins, spacing = load(name)
    ends = [len(y) - horizon - spacing * k for k in reversed(range(origins))]
    scores, naive_scores, seconds = [], [], []
    for seed, end in ((seed, end) for seed in seeds for end in ends):
        train, actual = y.iloc[:end], y.iloc[end : end + horizon].to_numpy()
        model = RNNForecaster(window=window, horizon=horizon, random_state=seed, transform=transform, **options)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(train)
        seconds.append(time.perf_counter() - start)
        forecast = model.predict().to_numpy()
        history = train.to_numpy()
        naive = np.resize(history[-m:], horizon)
        scores.append(mase(actual, forecast, history, m))
        naive_scores.append(mase(actual, naive, history, m))
    row = {
        "series": name,
        "transform": str(transform).lower(),
        "m": m,
        "horizon": horizon,
        "window": window,
        "origins": origins,
        "seeds": len(seeds),
        "MASE RNNForecaster": np.mean(scores),
        "MASE seasonal naive": np.mean(naive_scores),
        "ratio": np.mean(scores) / np.mean(naive_scores),
        "wins": f"{sum(s < n for s, n in zip(scores, naive_scores, strict=True))}/{len(scores)}",
        "fit s (median)": np.median(seconds),
    }
    return row, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="air,bike,electricity")
    parser.add_argument("--seeds", default="0", help="random_state values, comma-separated")
    parser.add_argument(
        "--transform", default="none", help="target transforms to compare, comma-separated: none, log, log1p"
    )
    parser.add_argument("--set", action="append", default=[], help="extra parameter, key=value (Python literal)")
    args = parser.parse_args()
    transforms = [None if t == "none" else t for t in args.transform.split(",")]
    options = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            options[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[key] = value
    seeds = [int(seed) for seed in args.seeds.split(",")]
    print(f"CPU: {cpu_model()}")
    print(f"options: {options}\n", flush=True)
    rows = []
    for name in args.series.split(","):
        baseline = None
        for transform in transforms:
            row, scores = backtest(name, options, seeds, transform)
            if transform is None:
                baseline = scores
            if len(transforms) > 1:
                # Paired: the same origins and seeds, with and without the transform.
                wins = sum(s < b for s, b in zip(scores, baseline, strict=True)) if baseline and transform else None
                row["wins vs none"] = f"{wins}/{len(scores)}" if wins is not None else "-"
            rows.append(row)
    print_table(rows)


def print_table(rows: list[dict]) -> None:
    """Print rows of the same keys as a markdown table, floats to three decimals."""
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + " --- |" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()) + " |")


if __name__ == "__main__":
    main()
