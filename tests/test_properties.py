"""Properties (hypothesis): window alignment, inverses of the preprocessing, and two of the kernels.

The target transforms' own round trips (log, log1p, identity) are in ``test_transform.py``;
here the whole chain RNNForecaster applies to a target (transform, difference, scale) is
inverted instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tsrnn import kernels, make_windows
from tsrnn.preprocessing import Scaler, TargetTransform, difference, undifference
from tsrnn.windowing import sliding_windows

PROPERTY = settings(max_examples=25, deadline=None)
KERNEL_PROPERTY = settings(max_examples=15, deadline=None)
EPS = np.finfo(np.float64).eps


# ------------------------------------------------------------------------------- windowing


@st.composite
def series_shapes(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """(length, window, horizon, covariate columns) with at least one window, or, one in five, too short."""
    n = draw(st.integers(2, 80))
    window = draw(st.integers(1, n - 1))
    horizon = draw(st.integers(1, n - window))
    if draw(st.integers(0, 4)) == 0:
        n = draw(st.integers(1, window + horizon - 1))
    return n, window, horizon, draw(st.integers(0, 2))


@given(series_shapes())
@PROPERTY
def test_make_windows_aligns_each_window_with_the_values_that_follow_it(shape):
    n, window, horizon, k = shape
    # Values that name their position: y[t] = t, X[t, j] = 1000 (j + 1) + t.
    y = np.arange(n, dtype=float)
    X = (1000.0 * (np.arange(k) + 1))[None, :] + y[:, None] if k else None
    if n < window + horizon:
        with pytest.raises(ValueError, match=f"need at least {window + horizon}\\b"):
            make_windows(y, window, horizon, X=X)
        return
    windows, targets = make_windows(y, window, horizon, X=X)
    count = n - window - horizon + 1
    assert windows.shape == (count, window * (1 + k))
    assert targets.shape == ((count,) if horizon == 1 else (count, horizon))
    steps = windows.reshape(count, window, 1 + k)
    first = np.arange(count)[:, None]
    # Window i holds steps i .. i + window - 1, y first, then X of the same step.
    np.testing.assert_array_equal(steps[:, :, 0], first + np.arange(window))
    for j in range(k):
        np.testing.assert_array_equal(steps[:, :, 1 + j], 1000.0 * (j + 1) + first + np.arange(window))
    # Its targets are the horizon values after the window.
    np.testing.assert_array_equal(targets.reshape(count, horizon), first + window + np.arange(horizon))


@given(series_shapes().filter(lambda shape: shape[0] >= shape[1] + shape[2]))
@PROPERTY
def test_pandas_windows_are_indexed_by_their_first_target(shape):
    n, window, horizon, _ = shape
    y = pd.Series(np.arange(n, dtype=float), index=pd.date_range("2000-01", periods=n, freq="MS"), name="v")
    windows, targets = make_windows(y, window, horizon)
    count = n - window - horizon + 1
    assert windows.index.equals(y.index[window : window + count]) and targets.index.equals(windows.index)
    # "v_lag<j>": j steps before the first target.
    assert list(windows.columns) == [f"v_lag{j}" for j in range(window, 0, -1)]
    np.testing.assert_array_equal(windows["v_lag1"].to_numpy(), y.iloc[window - 1 : window - 1 + count].to_numpy())
    first_target = targets if horizon == 1 else targets["v_h1"]
    np.testing.assert_array_equal(first_target.to_numpy(), y.loc[windows.index].to_numpy())


@st.composite
def sliding_cases(draw: st.DrawFn) -> tuple[int, int, int, int, int]:
    n = draw(st.integers(1, 60))
    window = draw(st.integers(1, n))
    start = draw(st.integers(0, n - window))
    count = draw(st.integers(0, n - window + 1 - start))
    return n, draw(st.integers(1, 3)), window, start, count


@given(sliding_cases())
@PROPERTY
def test_sliding_windows_start_and_count(case):
    n, features, window, start, count = case
    values = np.arange(n * features, dtype=float).reshape(n, features)
    result = sliding_windows(values, window, count, start=start)
    assert result.shape == (count, window, features)
    for j in range(count):
        np.testing.assert_array_equal(result[j], values[start + j : start + j + window])
    # A copy of its own, as the callers write into it (the forecaster masks future rows).
    assert result.flags.c_contiguous and result.flags.writeable and not np.shares_memory(result, values)


# ---------------------------------------------------------------------------- preprocessing


def scaled_columns(max_rows: int = 40) -> st.SearchStrategy[np.ndarray]:
    """(n, k) arrays whose columns have their own scale, from 1e-100 to 1e100."""
    shape = hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=max_rows).filter(lambda s: s[1] <= 4)
    base = hnp.arrays(np.float64, shape, elements=st.floats(-1e3, 1e3, allow_subnormal=False))
    exponents = st.lists(st.integers(-100, 100), min_size=4, max_size=4)
    return st.builds(lambda a, e: a * 10.0 ** np.asarray(e[: a.shape[1]], dtype=float), base, exponents)


@pytest.mark.parametrize("kind", ["standard", "minmax", None])
@given(values=scaled_columns())
@PROPERTY
def test_scaler_inverse_undoes_transform(kind, values):
    scaler = Scaler(kind).fit(values)
    back = scaler.inverse_transform(scaler.transform(values))
    if kind is None:
        assert np.array_equal(back, values)
        return
    # Four roundings (subtract, divide, multiply, add) of numbers no larger than twice the
    # column's largest magnitude M: within 8 eps M of each value.
    bound = 8 * EPS * np.abs(values).max(axis=0)
    assert (np.abs(back - values) <= bound).all()


LAGS = st.lists(st.sampled_from([1, 2, 3, 4, 7, 12]), max_size=2).map(tuple)


@given(
    lags=LAGS,
    extra=st.integers(0, 30),
    history_extra=st.integers(0, 10),
    columns=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
@PROPERTY
def test_undifference_of_difference_gives_back_the_series(lags, extra, history_extra, columns, seed):
    total = sum(lags)
    n_history = total + history_extra
    n = n_history + extra
    rng = np.random.default_rng(seed)
    # Integer-valued floats: every difference and sum is exact, so the series comes back bit for bit.
    whole = rng.integers(-(2**40), 2**40, (n, columns)).astype(float)
    differenced = difference(whole, lags)
    assert differenced.shape == (n - total, columns)
    assert np.array_equal(undifference(differenced[n_history - total :], whole[:n_history], lags), whole[n_history:])
    # Any floats: each undifferenced step adds one rounding per lag to those it builds on.
    values = rng.standard_normal((n, columns)) * 10.0 ** rng.integers(-50, 50)
    back = undifference(difference(values, lags)[n_history - total :], values[:n_history], lags)
    bound = 4 * EPS * np.abs(values).max(initial=0.0) * 2 ** len(lags) * max(extra, 1) ** len(lags)
    assert (np.abs(back - values[n_history:]) <= bound).all()


@pytest.mark.parametrize("kind", [None, "log", "log1p"])
@given(
    values=hnp.arrays(np.float64, st.integers(30, 60), elements=st.floats(0.5, 1e6, allow_subnormal=False)),
    lags=LAGS,
)
@PROPERTY
def test_the_forecasters_target_chain_inverts(kind, values, lags):
    """Transform, difference and scale, as RNNForecaster prepares a target; then undo all three.

    Forecasts go back through the same inverses (from predicted scaled differences).
    """
    total = sum(lags)
    n_history = total + 5
    transform = TargetTransform(kind)
    level = transform.transform(values[:, None])
    scaler = Scaler("standard").fit(difference(level, lags))
    features = scaler.transform(difference(level, lags))
    back_level = undifference(scaler.inverse_transform(features[n_history - total :]), level[:n_history], lags)
    back = transform.inverse_transform(back_level)[:, 0]
    # Rounding accumulates in the undifferencing, relative to the largest level, not to each
    # value: a 1 next to a 3.6e5 comes back as 1 + 1.5e-9. Bound it as for undifference alone,
    # with the scaler's round trip adding a few roundings to each difference.
    steps = len(values) - n_history
    bound = 8 * EPS * np.abs(level).max() * 2 ** len(lags) * max(steps, 1) ** len(lags)
    assert (np.abs(back_level - level[n_history:]) <= bound).all()
    if kind is None:
        assert np.array_equal(back, back_level[:, 0])
    else:
        # exp and expm1 turn an error of d in log space into a relative error of about d
        # (of (1 + v) d / v <= 3 d for log1p with v >= 0.5).
        np.testing.assert_allclose(back, values[n_history:], rtol=4 * bound + 4 * EPS)


# ------------------------------------------------------------------------------------ kernels

CELLS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]
GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def _forward(cell: str, x: np.ndarray, h0: np.ndarray, c0: np.ndarray, weights: tuple) -> tuple:
    """(out, h_T, c_T or None, cache) of the public kernel."""
    if cell == "lstm":
        return kernels.lstm_forward(x, h0, c0, *weights)
    if cell == "gru":
        out, h_T, cache = kernels.gru_forward(x, h0, *weights)
    else:
        out, h_T, cache = kernels.rnn_forward(x, h0, *weights, activation=cell[4:])
    return out, h_T, None, cache


def _problem(cell, dtype, batch, steps, features, hidden, seed, x_bound=1.0, w_bound=None, corners=False):
    """Uniform random arrays within the bounds (or, with ``corners``, at the bounds, random signs)."""
    rng = np.random.default_rng(seed)
    w_bound = 1 / np.sqrt(hidden) if w_bound is None else w_bound

    def draw(shape, bound):
        u = rng.uniform(-1, 1, shape)
        return ((np.sign(u) if corners else u) * bound).astype(dtype)

    rows = GATES[cell] * hidden
    weights = (
        draw((rows, features), w_bound),
        draw((rows, hidden), w_bound),
        draw((rows,), w_bound),
        draw((rows,), w_bound),
    )
    return draw((batch, steps, features), x_bound), draw((batch, hidden), 1.0), draw((batch, hidden), 1.0), weights


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", CELLS)
@given(
    batch=st.integers(1, 70),
    steps=st.integers(1, 8),
    features=st.integers(1, 5),
    hidden=st.integers(1, 24),
    seed=st.integers(0, 2**32 - 1),
)
@KERNEL_PROPERTY
def test_a_sequence_forward_is_its_steps_one_at_a_time_bit_for_bit(cell, dtype, batch, steps, features, hidden, seed):
    """Forward over T steps equals T forwards of one step, each started from the state the last one ended in.

    Exactly, not within a tolerance: every step of the sequence forward is the same two
    matrix products (the augmented input weights ``[W_ih | b]`` times ``[x_t; 1]``, then
    ``W_hh`` times ``h_{t-1}`` added in) on chunks of the same 32 padded rows, followed by
    the same gate loop; a one-step call runs exactly that step, from ``h0`` (and ``c0``)
    that are the states the sequence reached, held in the same precision.
    """
    x, h0, c0, weights = _problem(cell, dtype, batch, steps, features, hidden, seed)
    out, h_T, c_T, _ = _forward(cell, x, h0, c0, weights)
    h, c = h0, c0
    for t in range(steps):
        step_out, h, c_next, _ = _forward(cell, np.ascontiguousarray(x[:, t : t + 1]), h, c, weights)
        c = c_next if c_next is not None else c
        assert np.array_equal(step_out[:, 0], out[:, t])
    assert np.array_equal(h, h_T)
    if cell == "lstm":
        assert np.array_equal(c, c_T)


def _backward(cell, cache, d_out, d_h_T, d_c_T, bptt_steps):
    if cell == "lstm":
        return kernels.lstm_backward(d_out, d_h_T, d_c_T, cache, bptt_steps=bptt_steps)
    if cell == "gru":
        return kernels.gru_backward(d_out, d_h_T, cache, bptt_steps=bptt_steps)
    return kernels.rnn_backward(d_out, d_h_T, cache, bptt_steps=bptt_steps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", CELLS)
@given(
    batch=st.integers(1, 40),
    steps=st.integers(1, 6),
    features=st.integers(1, 4),
    hidden=st.integers(1, 12),
    x_bound=st.sampled_from([1.0, 30.0, 1e3]),
    w_bound=st.floats(0.0, 5.0),
    d_bound=st.sampled_from([1.0, 1e3]),
    corners=st.booleans(),
    bptt=st.one_of(st.none(), st.integers(1, 6)),
    seed=st.integers(0, 2**32 - 1),
)
@KERNEL_PROPERTY
def test_gradients_stay_finite_for_bounded_inputs(
    cell, dtype, batch, steps, features, hidden, x_bound, w_bound, d_bound, corners, bptt, seed
):
    """|x| <= 1e3, |weights| and |biases| <= 5, |h0|, |c0| <= 1 and |d_out|, |d_h_T|, |d_c_T| <= 1e3.

    Within these bounds the worst case, not only the draws, is finite in float32 (3.4e38).
    The gates saturate (the activations clamp their arguments) with derivatives of at most
    1, and an LSTM cell state stays within |c0| + T, so one step back multiplies the state
    gradient by at most the column sums of |W_hh| (5 * 4 * 12 = 240) times the 2T + 3 terms
    a gate gradient gathers from the cell gradient, 3600 (the GRU's, through its reset gate
    and ``W_hn h``, about as much): from 2e3, six steps back stay below 5e24, and a weight
    gradient, which sums batch * steps = 240 terms of them times |x| <= 1e3, below 1e31.
    The ReLU cell does not saturate: its states grow by up to 5 * hidden a step, so it is
    drawn on at most four steps of eight units, where states stay below 2e9 and gradients
    below 1e22.
    """
    if cell == "rnn_relu":
        steps, hidden = min(steps, 4), min(hidden, 8)
    x, h0, c0, weights = _problem(cell, dtype, batch, steps, features, hidden, seed, x_bound, w_bound, corners)
    out, h_T, c_T, cache = _forward(cell, x, h0, c0, weights)
    assert np.isfinite(out).all() and np.isfinite(h_T).all()
    rng = np.random.default_rng(seed + 1)
    d_out = (rng.uniform(-d_bound, d_bound, out.shape)).astype(dtype)
    d_h_T = (rng.uniform(-d_bound, d_bound, h_T.shape)).astype(dtype)
    d_c_T = d_h_T.copy()
    gradients = _backward(cell, cache, d_out, d_h_T, d_c_T, bptt)
    names = ["d_x", "d_h0", *(["d_c0"] if cell == "lstm" else []), "d_w_ih", "d_w_hh", "d_b_ih", "d_b_hh"]
    assert len(gradients) == len(names)
    for name, gradient in zip(names, gradients, strict=True):
        assert np.isfinite(gradient).all(), name
