"""The errors a first fit on the bundled series runs into: what they say and that their advice works."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsrnn import RNNForecaster, datasets

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def quick(**params) -> RNNForecaster:
    return RNNForecaster(**{"hidden_size": 2, "max_epochs": 1, "random_state": 0, **params})


def fit_error(model, *data) -> str:
    with pytest.raises(ValueError) as info:
        model.fit(*data)
    return str(info.value)


@pytest.fixture(scope="module")
def passengers() -> pd.Series:
    return datasets.load_air_passengers()


@pytest.fixture(scope="module")
def nile() -> pd.Series:
    return datasets.load_nile()


# ----------------------------------------------------------------------- non-numeric columns


def test_each_non_numeric_column_is_named_with_its_own_dtype():
    frame = pd.DataFrame({"a": ["x"] * 40, "b": pd.date_range("2000", periods=40, freq="MS"), "c": range(40)})
    with pytest.raises(TypeError) as info:
        RNNForecaster(horizon=2).fit(frame)
    a, b = frame.dtypes["a"], frame.dtypes["b"]
    assert str(info.value) == (
        f"y must be numeric (int or float); column(s) 'a' ({a}), 'b' ({b}) are not. Convert them (pd.to_numeric) "
        "or drop them; 'b' holds timestamps: make it the index (y.set_index('b')) to have it read as the time of "
        "each row"
    )


def test_a_date_column_is_pointed_to_set_index_and_that_works():
    table = datasets.load_bike_sharing().reset_index()[["date", "cnt"]]
    with pytest.raises(TypeError, match=r"column\(s\) 'date' \(datetime64\[\w+\]\) are not") as info:
        quick(horizon=2).fit(table)
    assert "make it the index (y.set_index('date'))" in str(info.value)
    model = quick(horizon=2).fit(table.set_index("date"))
    assert model.predict().index[0] == pd.Timestamp("2013-01-01")


def test_no_set_index_hint_without_a_date_column(passengers):
    frame = pd.DataFrame({"passengers": passengers, "label": "x"})
    with pytest.raises(TypeError, match=r"column\(s\) 'label' \((str|object)\) are not") as info:
        quick().fit(frame)
    assert "set_index" not in str(info.value)


# ----------------------------------------------------------------------------------- NaN


def test_nan_message_names_the_first_gap_and_suggests_only_fills_that_keep_the_steps():
    co2 = datasets.load_co2()[:300]
    first = co2.index[co2.isna().argmax()]
    message = fit_error(quick(), co2)
    assert message == (
        f"y contains {co2.isna().sum()} NaN or inf value(s); the first (NaN) is at {first!r}, column 0. Fill them "
        "before fitting, keeping every time step, for example with tsrnn.preprocessing.fill_gaps() or pandas' "
        "interpolate() or ffill()"
    )
    assert "dropna" not in message
    # The advice works; dropping the rows instead would leave the weekly index with holes.
    quick().fit(co2.interpolate())
    quick().fit(co2.ffill())
    with pytest.raises(ValueError, match="not evenly spaced"):
        quick().fit(co2.dropna())


def test_nan_message_for_a_leading_gap_and_for_infinities(nile):
    leading = nile.copy()
    leading.iloc[0] = np.nan
    message = fit_error(quick(), leading)
    assert "the first (NaN) is at Timestamp('1871-01-01 00:00:00')" in message
    assert message.endswith("interpolate() or ffill() (then bfill() for the leading gap)")
    quick().fit(leading.interpolate().bfill())

    infinite = nile.copy()
    infinite.iloc[10] = np.inf
    message = fit_error(quick(), infinite)
    assert "the first (inf) is at Timestamp('1881-01-01 00:00:00')" in message
    assert "replace([np.inf, -np.inf], np.nan), then tsrnn.preprocessing.fill_gaps()" in message
    quick().fit(infinite.replace([np.inf, -np.inf], np.nan).interpolate())
