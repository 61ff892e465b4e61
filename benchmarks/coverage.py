"""Empirical coverage of RNNForecaster's conformal prediction intervals in a rolling-origin backtest.

For each bundled series, ``tsrnn.model_selection.backtest`` refits the forecaster (with
``calibration_size`` set, everything else default) at each origin and forecasts the next
``horizon`` steps with intervals; the table reports the share of actual values inside their
interval, the mean interval width and MASE, per series, over all origins and seeds, and the
share of lower bounds below zero (outside the domain of a non-negative series).

    python benchmarks/coverage.py [--series air,bike] [--coverage 0.8,0.9] [--seeds 0,1,2] [--transform log1p]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from accuracy import SERIES, load  # the same series and origins as the accuracy backtest

from tsrnn import RNNForecaster
from tsrnn.model_selection import backtest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="air,bike", help=f"comma-separated, from {', '.join(SERIES)}")
    parser.add_argument("--coverage", default="0.8,0.9")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--calibration-size", type=float, default=0.3)
    parser.add_argument("--transform", choices=["log", "log1p"], help="RNNForecaster's target transform")
    args = parser.parse_args()
    coverages = [float(c) for c in args.coverage.split(",")]
    warnings.simplefilter("ignore")
    print(f"calibration_size={args.calibration_size}, transform={args.transform}, coverages {coverages}\n")
    header = ["series", "horizon", "origins", "seeds", "forecasts"]
    header += [f"{kind} {100 * c:g}%" for c in coverages for kind in ("coverage", "width")] + ["MASE", "lower < 0"]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for name in args.series.split(","):
        y, _, horizon, window, origins, spacing = load(name)
        initial = len(y) - horizon - spacing * (origins - 1)
        tables, mase = [], []
        for seed in (int(s) for s in args.seeds.split(",")):
            model = RNNForecaster(window=window, horizon=horizon, calibration_size=args.calibration_size,
                                  random_state=seed, transform=args.transform)  # fmt: skip
            result = backtest(model, y, cv=(initial, spacing, horizon), coverage=coverages)
            tables.append(result.forecasts)
            mase.append(result.metrics.loc["all", "mase"])
        rows = pd.concat(tables)
        cells = [name, horizon, origins, len(tables), len(rows)]
        for c in coverages:
            label = f"{100 * c:g}"
            inside = (rows["actual"] >= rows[f"lower_{label}"]) & (rows["actual"] <= rows[f"upper_{label}"])
            width = (rows[f"upper_{label}"] - rows[f"lower_{label}"]).mean()
            cells += [f"{100 * inside.mean():.1f}%", f"{width:.3g}"]
        cells.append(f"{np.mean(mase):.3f}")
        cells.append(f"{100 * (rows.filter(like='lower_') < 0).to_numpy().mean():.0f}%")
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
