"""Compare simple RNN, LSTM and GRU regressors with a linear baseline in one scikit-learn grid search.

Lag windows of the monthly air-passengers series feed a Pipeline of StandardScaler and
ridge regression, or an RNNRegressor (which normalises its windows itself); GridSearchCV
over TimeSeriesSplit picks among ridge regression and the three recurrent cells, and the
table shows each candidate's cross-validated MAE on the next 12 months.
The series is taken in logs and differenced at 12 months first (each value is the
year-on-year growth), as RNNForecaster does by default: windows of the raw, trending series
would ask the recurrent networks, whose states are bounded, to extrapolate levels they have
never seen.

    python examples/pipeline_comparison.py [--max-epochs 200]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from tsrnn import RNNRegressor, make_windows
from tsrnn.datasets import load_air_passengers


def main(argv: list[str] | None = None) -> None:
    """Run the grid search and print the ranking."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=200)
    args = parser.parse_args(argv)

    growth = np.log(load_air_passengers()).diff(12).dropna()
    X, Y = make_windows(growth, window=24, horizon=12)  # 12 months ahead from each 24-month window
    pipeline = Pipeline([("scale", StandardScaler()), ("model", Ridge())])
    rnn = RNNRegressor(max_epochs=args.max_epochs, early_stopping=True, random_state=0)
    grid = [
        {"model": [Ridge()], "model__alpha": [0.1, 1.0, 10.0]},
        # RNNRegressor normalises each window itself (input_scaling): no scaler before it.
        {"scale": ["passthrough"], "model": [rnn], "model__cell": ["rnn", "lstm", "gru"]},
    ]
    search = GridSearchCV(
        pipeline, grid, cv=TimeSeriesSplit(n_splits=3, test_size=12), scoring="neg_mean_absolute_error"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, Y)
    results = pd.DataFrame(search.cv_results_)
    table = pd.DataFrame(
        {
            "model": [type(p["model"]).__name__ for p in results["params"]],
            "setting": [p.get("model__cell", f"alpha={p.get('model__alpha')}") for p in results["params"]],
            "MAE (yearly log growth)": -results["mean_test_score"],
        }
    ).sort_values("MAE (yearly log growth)")
    print(table.to_string(index=False, float_format="%.4f"))
    print(f"best: {search.best_params_['model'].__class__.__name__} {search.best_params_.get('model__cell', '')}")


if __name__ == "__main__":
    main()
