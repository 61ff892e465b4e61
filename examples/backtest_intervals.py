"""Backtest RNNForecaster with 90 % prediction intervals on the monthly air-passengers series.

Four yearly origins (1957-1960): at each, the forecaster is fitted on the months before it,
with split-conformal intervals calibrated on the last 30 % of them, and forecasts the next
12 months. Prints the metrics per year and the share of months inside their interval, and
optionally draws the backtest.

    python examples/backtest_intervals.py [--max-epochs 200] [--plot backtest.png]
"""

from __future__ import annotations

import argparse
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import TimeSeriesSplit

from tsrnn import RNNForecaster
from tsrnn.datasets import load_air_passengers
from tsrnn.model_selection import backtest


def main(argv: list[str] | None = None) -> None:
    """Run the backtest, print its metrics and draw it if asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--plot", help="write a PNG of the backtest here (needs matplotlib)")
    args = parser.parse_args(argv)

    y = load_air_passengers()
    model = RNNForecaster(window=24, horizon=12, calibration_size=0.3, max_epochs=args.max_epochs, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = backtest(model, y, cv=TimeSeriesSplit(n_splits=4, test_size=12), coverage=0.9)
    print(result.metrics.to_string(float_format="%.3f"))
    print(f"months inside their 90 % interval: {result.metrics.loc['all', 'coverage_90']:.1%}")
    if args.plot:
        from tsrnn.plotting import plot_backtest

        plot_backtest(result).figure.savefig(args.plot, dpi=100)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
