"""RNNRegressor inside skforecast, sktime and mlforecast: the examples run, and forecast well.

Each example fits its library's forecaster on the bundled air passengers series, once with
RNNRegressor's defaults and once with Ridge, and prints each model's MAE on 1960, held out.
The libraries come with the ``interop`` extra (``pip install -e ".[dev,interop]"``); a test
is skipped, saying so, only where its library is not installed.
"""

from __future__ import annotations

import pytest

from tests.test_examples import run_example

# (library, example, what the RNN's MAE must stay within, as a multiple of Ridge's).
EXAMPLES = [
    ("skforecast", "examples/interop_skforecast.py", 1.5),
    ("sktime", "examples/interop_sktime.py", 1.5),
    ("mlforecast", "examples/interop_mlforecast.py", 1.5),
]


def scores(output: str) -> dict[str, float]:
    return {
        line.split(":")[0].strip(): float(line.rsplit("MAE", 1)[1]) for line in output.splitlines() if "MAE" in line
    }


@pytest.mark.parametrize(("library", "script", "bound"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_the_example_beats_seasonal_naive_and_stays_near_ridge(library, script, bound):
    pytest.importorskip(library, reason=f"{library} is not installed: pip install -e '.[interop]'")
    mae = scores(run_example(script))
    assert set(mae) == {"RNNRegressor", "Ridge", "seasonal naive"}
    assert mae["RNNRegressor"] < mae["seasonal naive"]
    assert mae["RNNRegressor"] < bound * mae["Ridge"]


def test_skforecast_rows_are_read_newest_first(passengers):
    pytest.importorskip("skforecast", reason="skforecast is not installed: pip install -e '.[interop]'")
    from skforecast.recursive import ForecasterRecursive

    from tsrnn import RNNRegressor

    forecaster = ForecasterRecursive(estimator=RNNRegressor(max_epochs=2, random_state=0), lags=12)
    forecaster.fit(y=passengers)
    assert forecaster.estimator.step_order_ == "newest_first"
    assert forecaster.predict(steps=3).notna().all()


def test_skforecast_direct_rows_are_read_newest_first_at_every_step(passengers):
    pytest.importorskip("skforecast", reason="skforecast is not installed: pip install -e '.[interop]'")
    from skforecast.direct import ForecasterDirect

    from tsrnn import RNNRegressor

    forecaster = ForecasterDirect(estimator=RNNRegressor(max_epochs=1, random_state=0), lags=12, steps=3)
    forecaster.fit(y=passengers)
    # The target of step k reappears as the first lag of the row k steps later.
    assert [forecaster.estimators_[k].step_order_ for k in (1, 2, 3)] == ["newest_first"] * 3


def test_mlforecast_lag_names_and_date_features_are_read(passengers):
    pytest.importorskip("mlforecast", reason="mlforecast is not installed: pip install -e '.[interop]'")
    import pandas as pd
    from mlforecast import MLForecast

    from tsrnn import RNNRegressor

    frame = pd.DataFrame({"unique_id": "air", "ds": passengers.index, "y": passengers.to_numpy()})
    model = MLForecast(models={"rnn": RNNRegressor(max_epochs=2, random_state=0)}, freq="MS", lags=[1, 12, 24],
                       date_features=["month"])  # fmt: skip
    model.fit(frame)
    fitted = model.models_["rnn"]
    assert fitted.step_order_ == "lag_names" and fitted.lags_.tolist() == [24, 12, 1]
    assert fitted._layout.window_columns.tolist() == [3] and fitted.network_.input_size == 3
    assert model.predict(3)["rnn"].notna().all()
