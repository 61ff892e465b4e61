"""RNNRegressor inside sktime: the last year of air passengers, next to Ridge and seasonal naive.

sktime's ``make_reduction`` turns the forecasting task into a tabular regression on windows
of ``window_length`` lags, oldest first, which is the order ``RNNRegressor`` reads by
default; it reads each window relative to its newest value, so the raw levels can be
given as they are.

    python examples/interop_sktime.py [--max-epochs 200] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sktime.forecasting.compose import make_reduction

from tsrnn import RNNRegressor
from tsrnn.datasets import load_air_passengers
from tsrnn.metrics import mae


def forecast(y: pd.Series, estimator: object, lags: int, horizon: int, strategy: str = "recursive") -> np.ndarray:
    """Fit ``make_reduction(estimator, window_length=lags, strategy=strategy)`` on ``y`` and forecast.

    Parameters
    ----------
    y : Series of shape (n,)
        The training part, on a regular DatetimeIndex.
    estimator : regressor
        Cloned before fitting.
    lags : int
        Window length of the reduction.
    horizon : int
        Steps to forecast (``fh=1..horizon``).
    strategy : {"recursive", "direct", "multioutput", "dirrec"}, default="recursive"
        sktime's reduction strategy.

    Returns
    -------
    ndarray of shape (horizon,)
    """
    forecaster = make_reduction(clone(estimator), window_length=lags, strategy=strategy)
    forecaster.fit(y, fh=np.arange(1, horizon + 1))
    return forecaster.predict().to_numpy()


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
