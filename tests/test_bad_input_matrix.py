"""Every cell of the bad-input matrix in tests/bad_input_matrix.py, and the table generated from it.

Each cell calls one public entry point with one kind of bad (or valid but unusual) input, and
checks the error class, that its message names the argument and the fix, that nothing reached
the compiled kernels, and that the caller's data is unchanged (see ``bad_input_matrix.check``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tests import bad_input_matrix as matrix

# The kinds of input every entry point is tried with, where they apply.
REQUIRED_CASES = {
    "nan", "inf", "empty", "single_row", "wrong_ndim", "object_dtype", "string_dtype", "complex_dtype", "bool_dtype",
    "datetime_dtype", "non_contiguous", "read_only", "mismatched_lengths", "duplicate_timestamps",
    "unsorted_timestamps", "missing_timestamp", "mixed_time_zones", "naive_and_aware", "window_zero",
    "window_too_long", "horizon_zero", "horizon_too_long", "negative_learning_rate", "hidden_size_zero",
    "batch_size_too_large", "csv_missing_column", "csv_bad_date", "csv_non_numeric", "csv_empty_file",
    "csv_random_bytes", "csv_png", "csv_zip", "not_a_file",
}  # fmt: skip


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> matrix.Context:
    return matrix.Context(tmp_path_factory.mktemp("bad_input_matrix"))


@pytest.mark.parametrize(("case", "entry"), matrix.cells(), ids=[f"{case}-{entry}" for case, entry in matrix.cells()])
def test_cell(ctx: matrix.Context, case: str, entry: str) -> None:
    row = matrix.CASES_BY_NAME[case]
    matrix.check(matrix.observe(ctx, row, entry), row.cells[entry].expect)


def test_the_matrix_covers_every_entry_point_and_kind_of_input() -> None:
    assert REQUIRED_CASES <= set(matrix.CASES_BY_NAME)
    valid = matrix.CASES_BY_NAME["valid"].cells
    assert set(valid) == set(matrix.ENTRIES), "every entry point must be called on its valid baseline"
    public = ["lstm_forward", "gru_backward", "RNNRegressor.score", "RNNForecaster.predict_interval",
              "RNNForecaster.update", "make_windows", "mase", "interval_width", "backtest",
              "tsrnn backtest"]  # fmt: skip
    assert set(public) <= set(matrix.ENTRIES)
    for row in matrix.CASES:
        assert row.cells, f"{row.name} has no cells"
        for entry, cell in row.cells.items():
            assert entry in matrix.ENTRIES, f"{row.name}: unknown entry point {entry}"
            if isinstance(cell.expect, matrix.Raises):
                assert cell.expect.error in (ValueError, TypeError)
                assert cell.expect.match, f"{row.name}/{entry} has no message to match"


def test_fingerprints_see_changes_in_place(tmp_path) -> None:
    array = np.arange(6.0)
    before = matrix.fingerprint(array)
    array[3] = -1.0
    assert matrix.fingerprint(array) != before
    before = matrix.fingerprint(array)
    array.setflags(write=False)
    assert matrix.fingerprint(array) != before
    series = pd.Series([1.0, 2.0, 3.0], index=pd.date_range("2000", periods=3, freq="D"))
    before = matrix.fingerprint(series)
    series.iloc[0] = 5.0
    assert matrix.fingerprint(series) != before
    before = matrix.fingerprint(series)
    series.index = series.index.tz_localize("UTC")
    assert matrix.fingerprint(series) != before
    path = tmp_path / "data.csv"
    path.write_text("a\n1\n")
    before = matrix.fingerprint(path)
    path.write_text("a\n2\n")
    assert matrix.fingerprint(path) != before


def _observed(error: BaseException | None, changed: tuple[str, ...] = (), kernel_calls: int = 0) -> matrix.Observation:
    return matrix.Observation(error, None, [], list(changed), kernel_calls)


class TypingError(ValueError):
    """Stands in for numba.core.errors.TypingError."""


TypingError.__module__ = "numba.core.errors"


@pytest.mark.parametrize(
    "observation",
    [
        _observed(None),  # accepted
        _observed(KeyError("x")),  # another class
        _observed(TypingError("`x` must be a float array")),  # Numba's class
        _observed(ValueError("No implementation of function Function(<built-in function setitem>)")),
        _observed(ValueError("`x` holds text")),  # not the message
        _observed(ValueError("`x` must be a float array"), changed=("x",)),  # changed the caller's data
        _observed(ValueError("`x` must be a float array"), kernel_calls=1),  # after a kernel ran
    ],
)
def test_a_cell_fails_on_what_the_matrix_rules_out(observation: matrix.Observation) -> None:
    with pytest.raises(AssertionError):
        matrix.check(observation, matrix.Raises(ValueError, r"`x` must be a float array"))


def test_the_table_is_up_to_date(ctx: matrix.Context) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generated = matrix.table(ctx)
    path = matrix.REPO / matrix.TABLE
    current = path.read_text() if path.exists() else ""
    assert generated == current, f"{matrix.TABLE} is out of date: run {matrix.COMMAND} to update it"
