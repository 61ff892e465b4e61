"""RNNRegressor inside skforecast: the last year of air passengers, next to Ridge and seasonal naive.

skforecast's ``ForecasterRecursive`` cuts the series into rows of lags and hands the
regressor a plain array, newest lag first (``lag_1, lag_2, ...``). ``RNNRegressor`` reads
that order from the rows themselves (``step_order_`` says what it found) and reads each
window relative to its newest value, so the raw levels of the lags can be given as they are.

    python examples/interop_skforecast.py [--max-epochs 200] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from skforecast.recursive import ForecasterRecursive
from sklearn.base import clone
from sklearn.linear_model import Ridge

from tsrnn import RNNRegressor
from tsrnn.datasets import load_air_passengers
from tsrnn.metrics import mae


def forecast(y: pd.Series, estimator: object, lags: int, horizon: int) -> np.ndarray:
    """Fit ``ForecasterRecursive(estimator, lags)`` on ``y`` and forecast ``horizon`` steps.

    Parameters
    ----------
    y : Series of shape (n,)
        The training part, on a regular DatetimeIndex.
    estimator : regressor
        Cloned before fitting.
    lags : int
        Lags per row (``lags=1..lags``).
    horizon : int
        Steps to forecast, each fed back as a lag of the next.

    Returns
    -------
    ndarray of shape (horizon,)
    """
    forecaster = ForecasterRecursive(estimator=clone(estimator), lags=lags)
    forecaster.fit(y=y)
    return forecaster.predict(steps=horizon).to_numpy()


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Print the forecasts of 1960 and each model's MAE; return the MAEs by model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    y = load_air_passengers()
    train, actual = y.iloc[:-12], y.iloc[-12:]
    forecasts = {
        "RNNRegressor": forecast(train, RNNRegressor(max_epochs=args.max_epochs, random_state=args.seed), 24, 12),
        "Ridge": forecast(train, Ridge(), 24, 12),
        "seasonal naive": train.iloc[-12:].to_numpy(),
    }
    print(pd.DataFrame({"actual": actual, **{k: np.round(v, 1) for k, v in forecasts.items()}}).to_string())
    scores = {name: mae(actual, values) for name, values in forecasts.items()}
    for name, score in scores.items():
        print(f"{name:>15}: MAE {score:.2f}")
    return scores


if __name__ == "__main__":
    main()
