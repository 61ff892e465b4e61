"""Quantile forecasts of RNNForecaster in a rolling-origin backtest: coverage of the band, accuracy of the median.

For each bundled series and origin of ``accuracy.py`` (same seasonal periods, horizons, windows,
origins and spacing), two models are fitted on everything before the origin with the same seed:
``RNNForecaster(quantiles=[0.1, 0.5, 0.9])`` (pinball loss) and the default ``RNNForecaster()``
(MSE). The table gives the share of the actual values inside the 10-90 % band (the target is
80 %), how many fell below the 10 % and above the 90 % forecasts, and the mean MASE of the
median forecast against the MSE model's. A second table gives, for reference, the same counts
for the 80 % intervals of statsforecast's AutoARIMA and AutoETS at the same origins (models
whose intervals come from a fitted error distribution), when statsforecast is installed
(``pip install -e ".[bench]"``).

    python benchmarks/quantiles.py [--series air,bike] [--seeds 0,1,2] [--origins 36 --spacing 1]
                                   [--set strategy=recursive ...]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from accuracy import load, print_table
from interop import parse_options
from machine import cpu_model

from tsrnn import RNNForecaster
from tsrnn.metrics import mase

LEVELS = [0.1, 0.5, 0.9]


def origin_ends(name: str, origins: int | None, spacing: int | None) -> tuple[pd.Series, int, int, int, list[int]]:
    """Return the series, its period, horizon, window and the ends of the training parts.

    ``origins`` and ``spacing`` default to those of ``accuracy.py``.
    """
    y, m, horizon, window, default_origins, default_spacing = load(name)
    origins, spacing = origins or default_origins, spacing or default_spacing
    return y, m, horizon, window, [len(y) - horizon - spacing * k for k in reversed(range(origins))]


def backtest(name: str, options: dict, seeds: list[int], origins: int | None, spacing: int | None) -> dict:
    y, m, horizon, window, ends = origin_ends(name, origins, spacing)
    inside, below, above, median_scores, mse_scores, seconds = [], [], [], [], [], []
    for seed, end in ((seed, end) for seed in seeds for end in ends):
        train, actual = y.iloc[:end], y.iloc[end : end + horizon].to_numpy()
        common = dict(window=window, horizon=horizon, random_state=seed, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            quantile_model = RNNForecaster(quantiles=LEVELS, **common).fit(train)
            seconds.append(time.perf_counter() - start)
            point_model = RNNForecaster(**common).fit(train)
        bands = quantile_model.predict_quantiles()
        low, high = bands[0.1].to_numpy(), bands[0.9].to_numpy()
        inside.append(np.mean((actual >= low) & (actual <= high)))
        below.append(np.mean(actual < low))
        above.append(np.mean(actual > high))
        history = train.to_numpy()
        median_scores.append(mase(actual, bands[0.5].to_numpy(), history, m))
        mse_scores.append(mase(actual, point_model.predict().to_numpy(), history, m))
    return {
        "series": name,
        "origins": len(ends),
        "spacing": ends[1] - ends[0] if len(ends) > 1 else "-",
        "seeds": len(seeds),
        "inside 10-90 %": f"{100 * np.mean(inside):.1f} %",
        "below 10 %": f"{100 * np.mean(below):.1f} %",
        "above 90 %": f"{100 * np.mean(above):.1f} %",
        "MASE median": np.mean(median_scores),
        "MASE MSE model": np.mean(mse_scores),
        "ratio": np.mean(median_scores) / np.mean(mse_scores),
        "fit s (median)": np.median(seconds),
    }


def statistical_reference(name: str, origins: int | None, spacing: int | None) -> list[dict]:
    """Coverage of the 80 % intervals of AutoARIMA and AutoETS at the origins of ``backtest``."""
    from statsforecast.models import AutoARIMA, AutoETS

    y, m, horizon, _, ends = origin_ends(name, origins, spacing)
    rows = []
    for model in (AutoARIMA, AutoETS):
        inside, below, above = [], [], []
        for end in ends:
            actual = y.iloc[end : end + horizon].to_numpy()
            forecast = model(season_length=m).forecast(y=y.iloc[:end].to_numpy(), h=horizon, level=[80])
            inside.append(np.mean((actual >= forecast["lo-80"]) & (actual <= forecast["hi-80"])))
            below.append(np.mean(actual < forecast["lo-80"]))
            above.append(np.mean(actual > forecast["hi-80"]))
        rows.append(
            {
                "series": name,
                "model": model.__name__,
                "origins": len(ends),
                "inside 80 % interval": f"{100 * np.mean(inside):.1f} %",
                "below": f"{100 * np.mean(below):.1f} %",
                "above": f"{100 * np.mean(above):.1f} %",
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="air,bike")
    parser.add_argument("--seeds", default="0,1,2", help="random_state values, comma-separated")
    parser.add_argument("--origins", type=int, help="number of origins (default: accuracy.py's)")
    parser.add_argument("--spacing", type=int, help="steps between origins (default: accuracy.py's)")
    parser.add_argument("--set", action="append", default=[], help="extra parameter, key=value (Python literal)")
    args = parser.parse_args()
    options = parse_options(args.set)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    print(f"CPU: {cpu_model()}")
    print(f"options: {options}, levels {LEVELS}, seeds {seeds}\n", flush=True)
    names = args.series.split(",")
    print_table([backtest(name, options, seeds, args.origins, args.spacing) for name in names])
    try:
        import statsforecast  # noqa: F401
    except ImportError:
        print("\n(statsforecast is not installed: no statistical reference)")
        return
    print()
    print_table([row for name in names for row in statistical_reference(name, args.origins, args.spacing)])


if __name__ == "__main__":
    main()
