"""Variable-length sequences: the state of a row stops at its last real step.

Padded rows are checked against finite differences of the padded forward pass, and bit for bit
against the same sequences run alone (whose kernels the other tests check against references).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests import naive
from tests.kernels.problems import CELLS, backward, forward, make_problem

# 40 rows span two chunks (32 + 8): the first mixes lengths, the second holds full rows only,
# which take the unmasked path.
BATCH, STEPS = 40, 7


def _lengths(seed=2):
    lengths = np.random.default_rng(seed).integers(1, STEPS + 1, BATCH)
    lengths[:3] = (1, STEPS, 2)
    lengths[32:] = STEPS
    return lengths


def _alone(p, b, length):
    """Row ``b`` of problem ``p`` cut to its real steps, as a problem of its own."""
    one = {k: v[b : b + 1].copy() for k, v in p.items() if not k.startswith(("w_", "b_"))}
    one["x"], one["d_out"] = one["x"][:, :length].copy(), one["d_out"][:, :length].copy()
    return one | {k: v for k, v in p.items() if k.startswith(("w_", "b_"))}


@pytest.mark.parametrize("cell", list(CELLS))
def test_masked_gradients_match_finite_differences(cell):
    p = make_problem(cell, batch=BATCH, steps=STEPS, features=2, hidden=3, seed=3)
    lengths = _lengths()
    *_, cache = forward(cell, p, lengths=lengths)
    grads = backward(cell, p, cache, None)
    names = ["x", "h0", "c0"] if cell == "lstm" else ["x", "h0"]
    names += ["w_ih", "w_hh", "b_ih", "b_hh"]

    def loss():
        out, h_T, *rest = forward(cell, p, lengths=lengths)
        value = np.sum(p["d_out"] * out) + np.sum(p["d_h_T"] * h_T)
        if cell == "lstm":
            value += np.sum(p["d_c_T"] * rest[0])
        return value

    for name, analytic in zip(names, grads, strict=True):
        numeric = naive.numerical_gradient(loss, p[name])
        scale = max(np.max(np.abs(numeric)), 1e-12)
        assert np.max(np.abs(analytic - numeric)) / scale < 1e-6, name
    padding = np.arange(STEPS)[None, :] >= lengths[:, None]
    assert np.all(grads[0][padding] == 0), "the padding's inputs must get no gradient"


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("bptt_steps", [None, 1, 3])
def test_a_padded_row_computes_what_it_would_alone(cell, bptt_steps):
    p = make_problem(cell, batch=BATCH, steps=STEPS, features=2, hidden=3, seed=4)
    lengths = _lengths()
    padding = np.arange(STEPS)[None, :] >= lengths[:, None]
    # Values the padding must never reach the state with; no gradient arrives over it either.
    p["x"][padding] = 1e6
    p["d_out"][padding] = 0.0
    out, *final, cache = forward(cell, p, lengths=lengths)
    grads = backward(cell, p, cache, bptt_steps)
    n_states = len(final)
    weight_sums = [np.zeros_like(g) for g in grads[1 + n_states :]]
    for b, length in enumerate(lengths):
        one = _alone(p, b, length)
        out_1, *final_1, cache_1 = forward(cell, one)
        grads_1 = backward(cell, one, cache_1, bptt_steps)
        np.testing.assert_array_equal(out[b, :length], out_1[0])
        # Over the padding the output repeats the last real step's state.
        np.testing.assert_array_equal(out[b, length:], np.broadcast_to(out_1[0, -1], out[b, length:].shape))
        for state, state_1 in zip(final, final_1, strict=True):
            np.testing.assert_array_equal(state[b], state_1[0])
        np.testing.assert_array_equal(grads[0][b, :length], grads_1[0][0])
        for d_state, d_state_1 in zip(grads[1 : 1 + n_states], grads_1[1 : 1 + n_states], strict=True):
            np.testing.assert_array_equal(d_state[b], d_state_1[0])
        for total, part in zip(weight_sums, grads_1[1 + n_states :], strict=True):
            total += part
    for analytic, summed in zip(grads[1 + n_states :], weight_sums, strict=True):
        np.testing.assert_allclose(analytic, summed, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", list(CELLS))
def test_full_lengths_change_nothing(cell):
    p = make_problem(cell, batch=BATCH, steps=STEPS, features=2, hidden=3, seed=5)
    *plain, plain_cache = forward(cell, p)
    lengths = np.full(BATCH, STEPS)
    *full, full_cache = forward(cell, p, lengths=lengths)
    for a, b in zip(plain, full, strict=True):
        np.testing.assert_array_equal(a, b)
    # The cache keeps its own copy of the lengths.
    lengths[:] = 1
    for a, b in zip(backward(cell, p, plain_cache, 2), backward(cell, p, full_cache, 2), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("lengths", "error", "match"),
    [
        (np.array([3, 2]), ValueError, r"one entry per sequence, shape \(3,\)"),
        (np.array([[3, 2, 1]]), ValueError, r"shape \(3,\)"),
        (np.array([3, 0, 1]), ValueError, r"`lengths\[1\]` is 0.*at least one real step"),
        (np.array([3, 5, 1]), ValueError, r"`lengths\[1\]` is 5.*between 1 and the 4 steps"),
        (np.array([3.0, 2.5, 1.0]), TypeError, "must hold integers"),
        (np.array([True, True, False]), TypeError, "must hold integers"),
        (["3", "2", "1"], TypeError, "must hold integers"),
    ],
)
def test_bad_lengths_raise_clear_errors(lengths, error, match):
    p = make_problem("gru", batch=3, steps=4, features=2, hidden=3)
    with pytest.raises(error, match=match):
        forward("gru", p, lengths=lengths)


def test_integral_float_lengths_are_accepted():
    p = make_problem("gru", batch=3, steps=4, features=2, hidden=3)
    as_float = forward("gru", p, lengths=np.array([4.0, 2.0, 1.0]))
    as_int = forward("gru", p, lengths=np.array([4, 2, 1]))
    np.testing.assert_array_equal(as_float[1], as_int[1])


@pytest.mark.parametrize("cell", list(CELLS))
def test_without_lengths_the_loops_compile_without_the_masking_code(cell):
    """Full-length calls pass no step window, so Numba types the loops without their masking branches."""
    from numba import types

    from tsrnn.kernels import _cpu

    p = make_problem(cell, batch=3, steps=4, features=2, hidden=3, seed=1)
    *_, cache = forward(cell, p)
    backward(cell, p, cache, None)
    name = cell.split("_")[0]
    for loop in (getattr(_cpu, f"{name}_forward"), getattr(_cpu, f"{name}_backward")):
        # The loops' last two arguments are the window (starts, stops).
        assert any(sig[-2:] == (types.none, types.none) for sig in loop.signatures), loop.signatures
