"""Forecast the last year of the monthly air-passengers series with RNNForecaster.

Fits on 1949-1959, forecasts the 12 months of 1960 with their timestamps, and compares the
forecast with what happened and with the seasonal-naive forecast (the same month a year
before), by MAE and MASE.

    python examples/quickstart.py [--cell lstm] [--strategy mimo] [--verbose] [--plot forecast.png]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from tsrnn import RNNForecaster
from tsrnn.datasets import load_air_passengers
from tsrnn.metrics import mae, mase


def main(argv: list[str] | None = None) -> None:
    """Fit, forecast and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    parser.add_argument("--strategy", default="mimo", choices=["mimo", "direct", "recursive", "seq2seq"])
    parser.add_argument("--verbose", action="store_true", help="show training progress")
    parser.add_argument("--plot", help="write a PNG of the forecast with 80 and 90 %% intervals (needs matplotlib)")
    args = parser.parse_args(argv)

    y = load_air_passengers()
    train, actual = y.iloc[:-12], y.iloc[-12:]
    model = RNNForecaster(
        window=24,
        horizon=12,
        cell=args.cell,
        strategy=args.strategy,
        random_state=0,
        verbose=int(args.verbose),
        calibration_size=0.3 if args.plot else None,
    )
    start = time.perf_counter()
    model.fit(train)
    seconds = time.perf_counter() - start
    forecast = model.predict()
    naive = pd.Series(train.iloc[-12:].to_numpy(), index=forecast.index)

    table = pd.DataFrame({"actual": actual, "forecast": forecast.round(1), "seasonal naive": naive})
    print(table.to_string())
    for name, values in (("RNNForecaster", forecast), ("seasonal naive", naive)):
        error, scaled = mae(actual, values), mase(actual, values, train, m=12)
        print(f"{name:>15}: MAE {error:6.1f} thousand passengers, MASE {scaled:.3f}")
    print(f"fit: {model.n_iter_} epochs in {seconds:.1f} s (the first run in a fresh install includes compilation)")

    if args.plot:
        from tsrnn.plotting import plot_forecast

        axes = plot_forecast(load_air_passengers(), model.predict_interval(coverage=[0.8, 0.9]), history=48)
        axes.figure.savefig(args.plot, dpi=100)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
