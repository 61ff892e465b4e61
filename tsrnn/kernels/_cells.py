"""Per-unit gate math of the three cells, written once for every backend.

Each function takes and returns scalars of one precision: the pre-activations of one hidden
unit at one step, and what the backward pass needs. They use only scalar arithmetic and the
activations of :mod:`tsrnn.kernels._math`, so the same source compiles for the CPU (here) and
for other targets. ``zero`` and ``one`` are passed in the working precision so that no float64 literal
widens float32 arithmetic.

:func:`cut_here`, the rule of truncated backpropagation through time, is shared the same way.

Conventions (PyTorch's): LSTM gates (i, f, g, o); GRU gates (r, z, n) with
``n = tanh(x_n + r * (W_hn h + b_hn))`` and ``h' = (1 - z) * n + z * h``.
"""

from __future__ import annotations

from tsrnn._config import inline_jit, jit
from tsrnn.kernels._math import sigmoid, tanh

RELU = 1
TANH = 0


def lstm_unit_forward(a_i, a_f, a_g, a_o, c_prev):
    """One LSTM unit: pre-activations and previous cell -> (i, f, g, o, c, tanh(c), h)."""
    i = sigmoid(a_i)
    f = sigmoid(a_f)
    g = tanh(a_g)
    o = sigmoid(a_o)
    c = f * c_prev + i * g
    tanh_c = tanh(c)
    return i, f, g, o, c, tanh_c, o * tanh_c


def lstm_unit_backward(d_h, d_c_next, i, f, g, o, tanh_c, c_prev, one):
    """Gradients of one LSTM unit: -> (d_a_i, d_a_f, d_a_g, d_a_o, d_c_prev)."""
    d_c = d_c_next + d_h * o * (one - tanh_c * tanh_c)
    d_a_i = d_c * g * i * (one - i)
    d_a_f = d_c * c_prev * f * (one - f)
    d_a_g = d_c * i * (one - g * g)
    d_a_o = d_h * tanh_c * o * (one - o)
    return d_a_i, d_a_f, d_a_g, d_a_o, d_c * f


def gru_unit_forward(x_r, x_z, x_n, h_r, h_z, h_n, h_prev, one):
    """One GRU unit from input parts ``x_*`` and hidden parts ``h_*`` (biases included).

    Returns (r, z, n, h).
    """
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    n = tanh(x_n + r * h_n)
    return r, z, n, (one - z) * n + z * h_prev


def gru_unit_backward(d_h, r, z, n, h_n, h_prev, one):
    """Gradients of one GRU unit.

    Returns (d_a_r, d_a_z, d_a_n, d_h_n, d_h_prev_direct): the gradients of the r and z
    pre-activations (shared by the input and hidden sides), of the input-side n pre-activation,
    of the hidden-side ``W_hn h + b_hn``, and the part of d_h_prev that skips the matrix product.
    """
    d_n = d_h * (one - z)
    d_z = d_h * (h_prev - n)
    d_a_n = d_n * (one - n * n)
    d_a_r = d_a_n * h_n * r * (one - r)
    d_a_z = d_z * z * (one - z)
    return d_a_r, d_a_z, d_a_n, d_a_n * r, d_h * z


def rnn_unit_forward(a, activation, zero):
    """One simple-RNN unit: ``tanh(a)`` or ``relu(a)``."""
    if activation == RELU:
        return a if a > zero else zero
    return tanh(a)


def rnn_unit_backward(d_h, h, activation, zero, one):
    """Gradient of the pre-activation of one simple-RNN unit, from its output ``h``."""
    if activation == RELU:
        return d_h if h > zero else zero
    return d_h * (one - h * h)


@jit
def cut_here(t, steps, bptt_steps):
    """Whether the recurrent edge from step ``t`` into step ``t + 1`` is cut (truncated BPTT).

    Parameters
    ----------
    t : int
        The step the edge leaves.
    steps : int
        Steps in the sequence.
    bptt_steps : int
        Steps between cuts, counted back from the last step; 0 for no truncation.

    Returns
    -------
    bool
    """
    return bptt_steps > 0 and t < steps - 1 and (steps - 1 - t) % bptt_steps == 0


lstm_unit_forward = inline_jit(lstm_unit_forward)
lstm_unit_backward = inline_jit(lstm_unit_backward)
gru_unit_forward = inline_jit(gru_unit_forward)
gru_unit_backward = inline_jit(gru_unit_backward)
rnn_unit_forward = inline_jit(rnn_unit_forward)
rnn_unit_backward = inline_jit(rnn_unit_backward)
