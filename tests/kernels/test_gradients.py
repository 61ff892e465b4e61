"""Forward results against the numpy references, gradients against central differences."""

from __future__ import annotations

import numpy as np
import pytest

from tests import naive
from tests.kernels.problems import CELLS, backward, forward, make_problem


def reference(cell, p, x, h, c, start, stop):
    """Reference run of steps [start, stop) from states h (and c)."""
    weights = (p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"])
    xs = x[:, start:stop]
    if cell == "lstm":
        return naive.lstm(xs, h, c, *weights)
    if cell == "gru":
        return (*naive.gru(xs, h, *weights), None)
    return (*naive.rnn(xs, h, *weights, activation=cell[4:]), None)


def truncated_loss_terms(cell, p, bptt_steps):
    """Per-block losses whose gradients, summed, are the truncated-BPTT gradients.

    Each block starts from the state the full forward pass reaches there, frozen (detached),
    except the first block, which starts from the live ``h0``/``c0``.
    """
    steps = p["x"].shape[1]
    hs, cs = states_along(cell, p, p["h0"], p["c0"])
    terms = []
    for start, stop in naive.blocks(steps, bptt_steps):

        def loss(start=start, stop=stop):
            if start == 0:
                h, c = p["h0"], p["c0"]
            else:
                h, c = hs[start].copy(), cs[start].copy()
            out, h_T, c_T = reference(cell, p, p["x"], h, c, start, stop)
            value = np.sum(p["d_out"][:, start:stop] * out)
            if stop == steps:
                value += np.sum(p["d_h_T"] * h_T)
                if cell == "lstm":
                    value += np.sum(p["d_c_T"] * c_T)
            return value

        terms.append(loss)
    return terms


def states_along(cell, p, h0, c0):
    """States before every step (index t holds the state entering step t)."""
    steps = p["x"].shape[1]
    hs, cs = [h0], [c0]
    h, c = h0, c0
    for t in range(steps):
        _, h, c2 = reference(cell, p, p["x"], h, c, t, t + 1)
        c = c2 if c2 is not None else c
        hs.append(h)
        cs.append(c)
    return hs, cs


def relative_error(actual, expected):
    return np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-12)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("with_state", [True, False])
@pytest.mark.parametrize("features", [3, 11], ids=["narrow-input", "wide-input"])
def test_forward_matches_reference(cell, with_state, features):
    p = make_problem(cell, batch=41, steps=6, features=features, hidden=5)
    result = forward(cell, p, with_state)
    zeros = np.zeros_like(p["h0"])
    h0 = p["h0"] if with_state else zeros
    c0 = p["c0"] if with_state else zeros
    expected = reference(cell, p, p["x"], h0, c0, 0, p["x"].shape[1])
    np.testing.assert_allclose(result[0], expected[0], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(result[1], expected[1], rtol=1e-13, atol=1e-13)
    if cell == "lstm":
        np.testing.assert_allclose(result[2], expected[2], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize(
    ("with_state", "bptt_steps", "features"),
    [(w, b, 2) for w in (True, False) for b in (None, 3, 1, 10)] + [(True, None, 10), (False, 3, 10)],
)
def test_gradients_match_finite_differences(cell, with_state, bptt_steps, features):
    # batch 40 spans two chunks of rows (32 + 8); 7 steps with bptt 3 give blocks [0,1), [1,4), [4,7).
    # 10 features take the BLAS path of d_x, 2 the loop.
    p = make_problem(cell, batch=40, steps=7, features=features, hidden=3, seed=1)
    if not with_state:
        # None means zeros; the gradient with respect to those zeros is still returned.
        p["h0"][:] = 0.0
        p["c0"][:] = 0.0
    *_, cache = forward(cell, p, with_state)
    grads = backward(cell, p, cache, bptt_steps)
    names = ["x", "h0", "c0"] if cell == "lstm" else ["x", "h0"]
    names += ["w_ih", "w_hh", "b_ih", "b_hh"]
    terms = truncated_loss_terms(cell, p, bptt_steps)
    for name, analytic in zip(names, grads, strict=True):
        numeric = sum(naive.numerical_gradient(term, p[name]) for term in terms)
        assert analytic.shape == p[name].shape
        assert relative_error(analytic, numeric) < 1e-6, name
