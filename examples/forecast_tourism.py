"""Forecast the 427 quarterly series of the tourism competition with one global RNNForecaster.

The last 8 quarters of every series (the competition's test period) are held out; one model
is fitted on the long frame of what comes before them (columns unique_id, t, y: the file
numbers the quarters instead of dating them) and forecasts every series 8 quarters ahead.
Writes the forecasts as a long CSV (unique_id, t, y) and prints the mean MASE (m = 4) over
the series, against the seasonal-naive forecast (each quarter of the last year repeated).

    python examples/forecast_tourism.py [tourism_forecast.csv] [--max-epochs 200]
"""

from __future__ import annotations

import argparse
import pathlib
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from tsrnn import RNNForecaster
from tsrnn.metrics import mase

DATA = pathlib.Path(__file__).resolve().parents[1] / "datasets" / "tourism_quarterly.csv"
HORIZON, PERIOD = 8, 4


def main(argv: list[str] | None = None) -> None:
    """Fit, forecast every series, write the forecasts and print the MASE."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="tourism_forecast.csv", help="where to write the forecasts")
    parser.add_argument("--max-epochs", type=int, default=200)
    args = parser.parse_args(argv)

    frame = pd.read_csv(DATA)
    by_series = frame.groupby("unique_id", sort=False)
    train = by_series.head(-HORIZON).reset_index(drop=True)
    test = by_series.tail(HORIZON).reset_index(drop=True)

    model = RNNForecaster(horizon=HORIZON, time_column="t", max_epochs=args.max_epochs, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train)
    seconds = time.perf_counter() - start
    forecast = model.predict()  # a long frame: unique_id, t, y, 8 quarters of every series
    forecast.to_csv(args.output, index=False)

    # Each forecast row meets the held-out row of its series and quarter.
    scored = test.merge(forecast, on=["unique_id", "t"], suffixes=("", "_forecast"), validate="one_to_one")
    assert len(scored) == len(test), "a forecast is missing"
    history = {uid: group["y"].to_numpy() for uid, group in train.groupby("unique_id", sort=False)}
    scores = {"RNNForecaster": [], "seasonal naive": []}
    for uid, group in scored.groupby("unique_id", sort=False):
        y_train = history[uid]
        naive = np.resize(y_train[-PERIOD:], HORIZON)  # the last year, repeated
        scores["RNNForecaster"].append(mase(group["y"], group["y_forecast"], y_train, m=PERIOD))
        scores["seasonal naive"].append(mase(group["y"], naive, y_train, m=PERIOD))

    print(f"{len(history)} series, {len(train)} training rows; fitted in {seconds:.1f} s ({model.n_iter_} epochs)")
    print(f"wrote {len(forecast)} forecasts to {args.output}")
    for name, values in scores.items():
        print(f"{name:>15}: mean MASE {np.mean(values):.3f}")
    wins = np.mean(np.array(scores["RNNForecaster"]) < np.array(scores["seasonal naive"]))
    print(f"RNNForecaster beats seasonal naive on {wins:.0%} of the series")


if __name__ == "__main__":
    main()
