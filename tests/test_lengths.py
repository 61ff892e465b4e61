"""Sequences of several lengths through the networks: padding never enters the state.

The kernels' own checks are in ``tests/kernels/test_lengths.py``; here the layer loop, the
reverse direction (which starts at each row's last real step) and stacked layers.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import naive
from tsrnn.network import RecurrentNetwork

KERNEL_PROPERTY = settings(max_examples=15, deadline=None)


@st.composite
def padded_batches(draw: st.DrawFn):
    """A network and a padded batch: (network, x, lengths) with padding of arbitrary finite values."""
    cell = draw(st.sampled_from(["lstm", "gru", "rnn"]))
    layers = draw(st.integers(1, 2))
    bidirectional = draw(st.booleans())
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    batch, steps, features = draw(st.integers(1, 40)), draw(st.integers(1, 8)), draw(st.integers(1, 3))
    net = RecurrentNetwork(
        features, 4, 2, cell=cell, num_layers=layers, bidirectional=bidirectional, dtype=dtype, random_state=seed
    )
    x = rng.standard_normal((batch, steps, features))
    lengths = rng.integers(1, steps + 1, batch)
    padding = np.arange(steps)[None, :] >= lengths[:, None]
    x[padding] = rng.choice([0.0, 1e4, -1e4], size=(int(padding.sum()), features))
    return net, x.astype(dtype), lengths


@KERNEL_PROPERTY
@given(padded_batches())
def test_a_padded_row_predicts_what_its_real_steps_predict_alone(case):
    net, x, lengths = case
    y = net.predict(x, lengths=lengths)
    for b, length in enumerate(lengths):
        np.testing.assert_array_equal(y[b], net.predict(x[b : b + 1, :length])[0])
    # And whatever the order of the batch.
    order = np.random.default_rng(0).permutation(len(x))
    np.testing.assert_array_equal(net.predict(x[order], lengths=lengths[order]), y[order])


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_network_gradients_with_lengths_match_finite_differences(cell):
    rng = np.random.default_rng(3)
    net = RecurrentNetwork(2, 3, 2, cell=cell, num_layers=2, bidirectional=True, dtype=np.float64, random_state=1)
    x = rng.standard_normal((6, 5, 2))
    lengths = np.array([5, 1, 3, 2, 5, 4])
    d_y = rng.standard_normal((6, 2))
    _, cache = net.forward(x, lengths=lengths)
    d_x = net.backward(d_y, cache)
    grads = net.grads.copy()

    def loss():
        return float(np.sum(net.predict(x, lengths=lengths) * d_y))

    np.testing.assert_allclose(d_x, naive.numerical_gradient(loss, x), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grads, naive.numerical_gradient(loss, net.params), rtol=1e-6, atol=1e-9)
    padding = np.arange(5)[None, :] >= lengths[:, None]
    assert np.all(d_x[padding] == 0)


def test_sequence_outputs_over_the_padding():
    net = RecurrentNetwork(1, 3, 0, cell="gru", bidirectional=True, dtype=np.float64, random_state=0)
    x = np.random.default_rng(0).standard_normal((2, 4, 1))
    y = net.predict(x, return_sequences=True, lengths=[4, 2])
    alone = net.predict(x[1:, :2], return_sequences=True)[0]
    np.testing.assert_array_equal(y[1, :2], alone)
    # The forward direction repeats its last real output, the reverse one holds its initial state.
    np.testing.assert_array_equal(y[1, 2:, :3], np.broadcast_to(alone[-1, :3], (2, 3)))
    np.testing.assert_array_equal(y[1, 2:, 3:], np.zeros((2, 3)))


def test_network_refuses_lengths_that_do_not_match_x():
    net = RecurrentNetwork(1, 3, 1)
    x = np.zeros((3, 4, 1), np.float32)
    with pytest.raises(ValueError, match=r"one entry per sequence, shape \(3,\)"):
        net.predict(x, lengths=[4, 4])
    with pytest.raises(ValueError, match=r"between 1 and the 4 steps"):
        net.forward(x, lengths=[4, 5, 1])


def test_nan_in_the_padding_reaches_neither_the_outputs_nor_the_gradients():
    rng = np.random.default_rng(4)
    net = RecurrentNetwork(2, 3, 1, cell="gru", bidirectional=True, dtype=np.float64, random_state=0)
    x = rng.standard_normal((3, 5, 2))
    lengths = np.array([5, 2, 3])
    zeros = np.where(np.arange(5)[None, :, None] < lengths[:, None, None], x, 0.0)
    with_nan = np.where(np.arange(5)[None, :, None] < lengths[:, None, None], x, np.nan)
    before = with_nan.copy()
    y, cache = net.forward(with_nan, lengths=lengths)
    net.backward(np.ones_like(y), cache)
    grads = net.grads.copy()
    y_zeros, cache = net.forward(zeros, lengths=lengths)
    net.backward(np.ones_like(y), cache)
    np.testing.assert_array_equal(y, y_zeros)
    np.testing.assert_array_equal(grads, net.grads)
    np.testing.assert_array_equal(with_nan, before)  # the caller's array keeps its NaN
