"""RNNRegressor inside mlforecast: the last year of air passengers, next to Ridge and seasonal naive.

mlforecast builds named feature columns: lags (``lag1``, ``lag12``, ``lag24``: an irregular
set, newest first) and date features (``month``). ``RNNRegressor`` reads the lag names:
it runs over the lags oldest first, with each step's lag distance as an input, and gives
the date features to every step as features of the window rather than as time steps.

    python examples/interop_mlforecast.py [--max-epochs 200] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from mlforecast import MLForecast
from sklearn.base import clone
from sklearn.linear_model import Ridge

from tsrnn import RNNRegressor
from tsrnn.datasets import load_air_passengers
from tsrnn.metrics import mae


def forecast(
    y: pd.Series, estimator: object, lags: list[int], horizon: int, date_features: list[str] | None = None
) -> np.ndarray:
    """Fit ``MLForecast(estimator, lags=lags, date_features=...)`` on the one series ``y`` and forecast.

    Parameters
    ----------
    y : Series of shape (n,)
        The training part, on a regular DatetimeIndex with a frequency.
    estimator : regressor
        Cloned before fitting.
    lags : list of int
        The lags mlforecast computes (``lag<k>`` columns).
    horizon : int
        Steps to forecast, recursively.
    date_features : list of str, optional
        mlforecast's date features (``"month"``, ``"dayofweek"``, ``"hour"``...).

    Returns
    -------
    ndarray of shape (horizon,)
    """
    frame = pd.DataFrame({"unique_id": "series", "ds": y.index, "y": y.to_numpy()})
    model = MLForecast(
        models={"model": clone(estimator)}, freq=y.index.freq, lags=lags, date_features=date_features or []
    )
    model.fit(frame)
    return model.predict(horizon)["model"].to_numpy()


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Print the forecasts of 1960 and each model's MAE; return the MAEs by model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    y = load_air_passengers()
    train, actual = y.iloc[:-12], y.iloc[-12:]
    lags, features = [1, 2, 3, 12, 24], ["month"]
    rnn = RNNRegressor(max_epochs=args.max_epochs, random_state=args.seed)
    forecasts = {
        "RNNRegressor": forecast(train, rnn, lags, 12, features),
        "Ridge": forecast(train, Ridge(), lags, 12, features),
        "seasonal naive": train.iloc[-12:].to_numpy(),
    }
    print(pd.DataFrame({"actual": actual, **{k: np.round(v, 1) for k, v in forecasts.items()}}).to_string())
    scores = {name: mae(actual, values) for name, values in forecasts.items()}
    for name, score in scores.items():
        print(f"{name:>15}: MAE {score:.2f}")
    return scores


if __name__ == "__main__":
    main()
