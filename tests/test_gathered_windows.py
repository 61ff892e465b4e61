"""Windows kept as start rows: gathered batches equal the windows cut out one by one."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tsrnn.windowing import Windows, sliding_windows


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(4, 12), min_size=1, max_size=4),
    length=st.integers(1, 4),
    features=st.integers(1, 3),
    blank=st.integers(0, 2),
    seed=st.integers(0, 2**16),
)
def test_stacked_windows_gather_what_each_series_cuts(lengths, length, features, blank, seed):
    rng = np.random.default_rng(seed)
    series = [rng.normal(size=(n, features)) for n in lengths]
    blank_columns = min(blank, features)
    parts = [
        Windows(rows, np.arange(len(rows) - length + 1), length, blank_from=length // 2, blank_columns=blank_columns)
        for rows in series
    ]
    stacked = Windows.stack(parts)
    expected = []
    for rows in series:
        cut = sliding_windows(rows, length, len(rows) - length + 1)
        cut[:, length // 2 :, :blank_columns] = 0.0
        expected.append(cut)
    expected = np.concatenate(expected)
    assert stacked.shape == expected.shape and len(stacked) == len(expected)
    assert np.array_equal(np.asarray(stacked), expected)
    order = rng.permutation(len(expected))
    assert np.array_equal(stacked[order], expected[order])
    # A slice stays ungathered, and gathers the same windows.
    assert isinstance(stacked[1:], Windows)
    assert np.array_equal(np.asarray(stacked[1:]), expected[1:])
    # The rows are read, never written: blanking works on the gathered copy.
    assert np.array_equal(np.concatenate(series), stacked.rows)


def test_position_columns_follow_every_window():
    rows = np.arange(10.0, dtype=np.float32)[:, None]
    position = np.array([[0.5], [1.0]])
    windows = Windows(rows, np.array([0, 3, 7]), 2, position=position)
    gathered = windows[np.array([2, 0])]
    assert gathered.dtype == np.float32 and gathered.shape == (2, 2, 2)
    assert gathered[:, :, 0].tolist() == [[7.0, 8.0], [0.0, 1.0]]
    assert gathered[:, :, 1].tolist() == [[0.5, 1.0], [0.5, 1.0]]
    assert windows.shape == (3, 2, 2)


def test_gathering_every_window_in_slices_gives_the_same_array(monkeypatch):
    import tsrnn.windowing

    rows = np.random.default_rng(0).normal(size=(50, 2))
    windows = Windows(rows, np.arange(45), 6, blank_from=3, blank_columns=1)
    whole = windows[np.arange(45)]
    monkeypatch.setattr(tsrnn.windowing, "_GATHER_ROWS", 7)
    assert np.array_equal(np.asarray(windows), whole)
    assert np.asarray(windows, dtype=np.float32).dtype == np.float32
