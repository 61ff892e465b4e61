"""RNNRegressor inside skforecast, sktime and mlforecast on raw lags: MAE next to Ridge and seasonal naive.

Each library's forecaster is written as its users write it (the functions of the examples
``examples/interop_<library>.py``), once with ``RNNRegressor`` and once with ``Ridge``, on
the bundled monthly (air passengers), daily (bike rentals) and hourly (Victoria electricity)
series. A rolling origin, with the origins of ``benchmarks/accuracy.py``: the model is fitted on
what comes before each origin (the last 8 weeks for the hourly series) and forecasts the next
``horizon`` steps; the table gives the MAE averaged over the origins and seeds, against the
seasonal-naive forecast of the same origins. mlforecast is given an irregular lag set and a
date feature, the way its users write it; skforecast and sktime a window of lags.

``--held-out`` runs the same on other real series instead, which played no part in choosing
the defaults: quarterly US real GDP and unemployment, weekly Mauna Loa CO2 (its missing weeks
filled linearly) and yearly sunspot numbers.

    python benchmarks/interop.py [--set input_scaling=standard ...] [--compare input_scaling=window_mean,window_last]
                                 [--held-out] [--series air,bike] [--libraries skforecast,sktime,mlforecast]
                                 [--seeds 0,1,2]

``--series`` takes the first words of the names.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from machine import cpu_model
from sklearn.linear_model import Ridge

from tsrnn import RNNRegressor, datasets
from tsrnn.preprocessing import fill_gaps

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

# name: (series, seasonal period, horizon, lags for skforecast and sktime, number of origins, spacing,
#        mlforecast's lags, its date features, points kept before each origin). The origins and
# windows are those of benchmarks/accuracy.py: daily and hourly origins 8 days apart fall on
# successive weekdays. mlforecast gets a few recent lags and the seasonal ones.
Case = tuple[Callable[[], pd.Series], int, int, int, int, int, list[int], list[str], int | None]
SERIES: dict[str, Case] = {
    "air passengers (monthly)": (
        datasets.load_air_passengers,
        12,
        12,
        24,
        4,
        12,
        [1, 2, 3, 12, 24],
        ["month"],
        None,
    ),
    "bike rentals (daily)": (
        lambda: datasets.load_bike_sharing()["cnt"].astype(float),
        7,
        14,
        28,
        7,
        8,
        [1, 2, 3, 7, 14, 21, 28],
        ["dayofweek"],
        None,
    ),
    "electricity (hourly)": (
        lambda: datasets.load_vic_electricity()["demand_gw"],
        24,
        24,
        168,
        7,
        24 * 8,
        [1, 2, 3, 24, 48, 168],
        ["hour"],
        24 * 56,
    ),
}
HELD_OUT: dict[str, Case] = {
    "US real GDP (quarterly)": (
        lambda: datasets.load_us_macro()["realgdp"],
        4,
        8,
        16,
        4,
        8,
        [1, 2, 3, 4, 8],
        ["quarter"],
        None,
    ),
    "US unemployment (quarterly)": (
        lambda: datasets.load_us_macro()["unemp"],
        4,
        8,
        16,
        4,
        8,
        [1, 2, 3, 4, 8],
        ["quarter"],
        None,
    ),
    "CO2 Mauna Loa (weekly)": (
        lambda: fill_gaps(datasets.load_co2()),
        52,
        26,
        104,
        4,
        26,
        [1, 2, 3, 52, 104],
        ["week"],
        52 * 20,
    ),
    "sunspots (yearly)": (datasets.load_sunspots, 11, 11, 22, 4, 11, [1, 2, 3, 11, 22], [], None),
}


def library_forecasts(library: str) -> Callable[..., np.ndarray]:
    """``forecast(train, estimator, lags, horizon, mlforecast_lags, date_features)`` of one library's example."""
    if library == "skforecast":
        from interop_skforecast import forecast as skforecast_forecast

        return lambda y, est, lags, h, ml_lags, dates: skforecast_forecast(y, est, lags, h)
    if library == "sktime":
        from interop_sktime import forecast as sktime_forecast

        return lambda y, est, lags, h, ml_lags, dates: sktime_forecast(y, est, lags, h)
    from interop_mlforecast import forecast as mlforecast_forecast

    return lambda y, est, lags, h, ml_lags, dates: mlforecast_forecast(y, est, ml_lags, h, dates)


def parse_options(pairs: list[str]) -> dict:
    options = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            options[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[key] = value
    return options


def run(series: dict[str, Case], libraries: list[str], configs: dict[str, dict], seeds: list[int]) -> pd.DataFrame:
    rows = []
    for name, (load, m, horizon, lags, origins, spacing, ml_lags, dates, keep) in series.items():
        y = load()
        ends = [len(y) - horizon - spacing * k for k in reversed(range(origins))]
        for library in libraries:
            forecast = library_forecasts(library)
            errors: dict[str, list[float]] = {label: [] for label in (*configs, "Ridge", "seasonal naive")}
            seconds: dict[str, list[float]] = {label: [] for label in configs}
            for end in ends:
                start = 0 if keep is None else max(0, end - keep)
                train, actual = y.iloc[start:end], y.iloc[end : end + horizon].to_numpy()
                runs = [(label, RNNRegressor(random_state=seed, **options)) for label, options in configs.items()
                        for seed in seeds]  # fmt: skip
                for label, estimator in [*runs, ("Ridge", Ridge())]:
                    began = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        predicted = forecast(train, estimator, lags, horizon, ml_lags, dates)
                    if label in seconds:
                        seconds[label].append(time.perf_counter() - began)
                    errors[label].append(float(np.mean(np.abs(predicted - actual))))
                naive = np.resize(train.iloc[-m:].to_numpy(), horizon)
                errors["seasonal naive"].append(float(np.mean(np.abs(naive - actual))))
            row = {"series": name, "library": library, "origins": origins}
            row.update({f"MAE {label}": float(np.mean(values)) for label, values in errors.items()})
            row.update({f"fit s {label}": float(np.median(values)) for label, values in seconds.items()})
            rows.append(row)
            print(" | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()), flush=True)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(table.columns) + " |", "|" + " --- |" * len(table.columns)]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def summary(table: pd.DataFrame, configs: dict[str, dict]) -> list[str]:
    lines = []
    for label in configs:
        ratio = table[f"MAE {label}"] / table["MAE Ridge"]
        wins = int((table[f"MAE {label}"] < table["MAE seasonal naive"]).sum())
        lines.append(
            f"- {label}: mean MAE ratio to Ridge {ratio.mean():.2f} (median {ratio.median():.2f}); "
            f"beats seasonal naive in {wins} of {len(table)} cases"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs="*", default=[], help="RNNRegressor parameters, key=value")
    parser.add_argument("--compare", help="one parameter and its values, key=v1,v2: a column per value")
    parser.add_argument("--held-out", action="store_true", help="the held-out series instead of the bundled three")
    parser.add_argument("--series", help="names of the series to run, comma-separated (default: all)")
    parser.add_argument("--libraries", default="skforecast,sktime,mlforecast")
    parser.add_argument("--seeds", default="0", help="random_state values, comma-separated (MAE averaged)")
    args = parser.parse_args()

    base = parse_options(args.set)
    configs = {"RNN": base}
    if args.compare:
        key, _, values = args.compare.partition("=")
        configs = {f"{key}={value}": {**base, **parse_options([f"{key}={value}"])} for value in values.split(",")}
    series = HELD_OUT if args.held_out else SERIES
    if args.series:
        series = {name: case for name, case in series.items() if name.split()[0] in args.series.split(",")}
    seeds = [int(seed) for seed in args.seeds.split(",")]
    print(f"CPU: {cpu_model()}")
    print(f"RNNRegressor({', '.join(f'{k}={v!r}' for k, v in base.items())}), seeds {seeds}\n", flush=True)
    table = run(series, args.libraries.split(","), configs, seeds)
    print()
    print(markdown(table))
    print()
    print("\n".join(summary(table, configs)))


if __name__ == "__main__":
    main()
