"""Slow, obviously correct numpy references, written straight from the recurrence formulas.

PyTorch's conventions: LSTM gates (i, f, g, o); GRU gates (r, z, n) with the reset gate applied
to ``W_hn h + b_hn``. Everything in float64.
"""

from __future__ import annotations

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def lstm(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """Returns (out, h_T, c_T); x (B, T, F), h and c (B, H)."""
    hidden = w_hh.shape[1]
    outs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i = sigmoid(a[:, :hidden])
        f = sigmoid(a[:, hidden : 2 * hidden])
        g = np.tanh(a[:, 2 * hidden : 3 * hidden])
        o = sigmoid(a[:, 3 * hidden :])
        c = f * c + i * g
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs, axis=1), h, c


def gru(x, h, w_ih, w_hh, b_ih, b_hh):
    """Returns (out, h_T)."""
    hidden = w_hh.shape[1]
    outs = []
    for t in range(x.shape[1]):
        ax = x[:, t] @ w_ih.T + b_ih
        ah = h @ w_hh.T + b_hh
        r = sigmoid(ax[:, :hidden] + ah[:, :hidden])
        z = sigmoid(ax[:, hidden : 2 * hidden] + ah[:, hidden : 2 * hidden])
        n = np.tanh(ax[:, 2 * hidden :] + r * ah[:, 2 * hidden :])
        h = (1.0 - z) * n + z * h
        outs.append(h)
    return np.stack(outs, axis=1), h


def rnn(x, h, w_ih, w_hh, b_ih, b_hh, activation="tanh"):
    """Returns (out, h_T)."""
    act = np.tanh if activation == "tanh" else (lambda a: np.maximum(a, 0.0))
    outs = []
    for t in range(x.shape[1]):
        h = act(x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        outs.append(h)
    return np.stack(outs, axis=1), h


def blocks(steps, bptt_steps):
    """Truncated-BPTT blocks ``[start, stop)`` counted from the end (one block when None)."""
    if bptt_steps is None or bptt_steps >= steps:
        return [(0, steps)]
    stops = list(range(steps, 0, -bptt_steps))
    return [(max(stop - bptt_steps, 0), stop) for stop in reversed(stops)]


def numerical_gradient(f, array, eps=1e-6):
    """Central differences of the scalar ``f()`` with respect to every element of ``array``."""
    grad = np.zeros_like(array)
    flat = array.reshape(-1)
    out = grad.reshape(-1)
    for k in range(flat.size):
        saved = flat[k]
        flat[k] = saved + eps
        up = f()
        flat[k] = saved - eps
        down = f()
        flat[k] = saved
        out[k] = (up - down) / (2 * eps)
    return grad
