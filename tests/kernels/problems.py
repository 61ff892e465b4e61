"""Small random problems for the kernel tests, and calls of the public kernels on them."""

from __future__ import annotations

import numpy as np

from tsrnn import kernels

CELLS = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def make_problem(cell, batch, steps, features, hidden, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    gates = CELLS[cell]
    scale = 1.0 / np.sqrt(hidden)
    p = {
        "x": rng.standard_normal((batch, steps, features)),
        "h0": rng.standard_normal((batch, hidden)) * 0.5,
        "c0": rng.standard_normal((batch, hidden)) * 0.5,
        "w_ih": rng.uniform(-scale, scale, (gates * hidden, features)) * 2,
        "w_hh": rng.uniform(-scale, scale, (gates * hidden, hidden)) * 2,
        "b_ih": rng.uniform(-scale, scale, gates * hidden),
        "b_hh": rng.uniform(-scale, scale, gates * hidden),
        "d_out": rng.standard_normal((batch, steps, hidden)),
        "d_h_T": rng.standard_normal((batch, hidden)),
        "d_c_T": rng.standard_normal((batch, hidden)),
    }
    return {k: v.astype(dtype) for k, v in p.items()}


def forward(cell, p, with_state=True, lengths=None):
    h0 = p["h0"] if with_state else None
    c0 = p["c0"] if with_state else None
    weights = (p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"])
    if cell == "lstm":
        return kernels.lstm_forward(p["x"], h0, c0, *weights, lengths=lengths)
    if cell == "gru":
        return kernels.gru_forward(p["x"], h0, *weights, lengths=lengths)
    return kernels.rnn_forward(p["x"], h0, *weights, activation=cell[4:], lengths=lengths)


def backward(cell, p, cache, bptt_steps):
    if cell == "lstm":
        return kernels.lstm_backward(p["d_out"], p["d_h_T"], p["d_c_T"], cache, bptt_steps=bptt_steps)
    if cell == "gru":
        return kernels.gru_backward(p["d_out"], p["d_h_T"], cache, bptt_steps=bptt_steps)
    return kernels.rnn_backward(p["d_out"], p["d_h_T"], cache, bptt_steps=bptt_steps)
