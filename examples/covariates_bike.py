"""Forecast a week of daily bike rentals from the weather, with and without covariates.

The bike-sharing series comes with the day's temperature, humidity, wind and working-day
flag. Weather is only known in advance as a forecast; here the recorded values stand in for
a perfect weather forecast, to show how much the covariates can carry. The last four weeks
are forecast one week at a time (rolling origin, refitting each week).

    python examples/covariates_bike.py [--max-epochs 200]
"""

from __future__ import annotations

import argparse
import warnings

import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from tsrnn import RNNForecaster
from tsrnn.datasets import load_bike_sharing
from tsrnn.model_selection import backtest


def main(argv: list[str] | None = None) -> None:
    """Backtest both variants and print their errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=4)
    args = parser.parse_args(argv)

    bike = load_bike_sharing()
    y = bike["cnt"].astype(float)
    X = bike[["temp", "hum", "windspeed", "workingday", "holiday"]]
    cv = (len(y) - 7 * args.weeks, 7, 7)
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, covariates, calendar in (("no covariates", None, False), ("weather + calendar", X, True)):
            model = RNNForecaster(window=28, horizon=7, calendar_features=calendar, max_epochs=args.max_epochs,
                                  random_state=0)  # fmt: skip
            rows[name] = backtest(model, y, covariates, cv=cv).metrics.loc["all", ["mae", "rmse", "mase"]]
    print(f"last {args.weeks} weeks, one week ahead, refitted weekly")
    print(pd.DataFrame(rows).T.to_string(float_format="%.2f"))


if __name__ == "__main__":
    main()
