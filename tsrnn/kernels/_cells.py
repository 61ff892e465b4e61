"""The three cells: their per-unit gate math, written once for every backend, and their registry.

Each function takes and returns scalars of one precision: the pre-activations of one hidden
unit at one step, and what the backward pass needs. They use only scalar arithmetic and the
activations of :mod:`tsrnn.kernels._math`, so the same source compiles for the CPU (here) and
for other targets. ``zero`` and ``one`` are passed in the working precision so that no float64 literal
widens float32 arithmetic.

:func:`cut_here`, the rule of truncated backpropagation through time, is shared the same way.

:data:`CELLS` describes each cell once for every layer above: its gates, its states, how its
biases enter, and the names of its CPU drivers and CUDA launchers, so that no other module
branches on the cell's name.

Conventions (PyTorch's): LSTM gates (i, f, g, o); GRU gates (r, z, n) with
``n = tanh(x_n + r * (W_hn h + b_hn))`` and ``h' = (1 - z) * n + z * h``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Cell:
    """What every backend and the network need to know of one cell.

    Attributes
    ----------
    name : str
        ``"lstm"``, ``"gru"`` or ``"rnn"``, as ``RecurrentNetwork(cell=...)`` spells it.
    gates : int
        Gate blocks of ``H`` rows in ``w_ih``, ``w_hh`` and the biases (PyTorch's layout).
    states : tuple of str
        The recurrent states, in the order the drivers take and return them.
    fold_biases : bool
        Whether ``b_ih + b_hh`` enters as one input bias. The GRU keeps ``b_hh`` apart, since
        ``r`` multiplies ``W_hn h + b_hn``; with folded biases both get the same gradient.
    has_activation : bool
        Whether the cell's nonlinearity is chosen (``activation=``); the others fix theirs.
    bias_one_gate : int or None
        The gate whose ``bias_ih`` block starts at one under ``init="orthogonal"`` (the LSTM
        forget gate), or None.
    drivers : dict of str to str
        ``role -> "module:attribute"``; resolved by :meth:`driver`. ``forward`` and
        ``backward`` are the CPU drivers of :mod:`tsrnn.kernels._functional` (inference is
        ``forward`` with ``keep=False``); ``cuda_forward`` and ``cuda_backward`` launch the
        CUDA kernels of :mod:`tsrnn._cuda.kernels`.
    """

    name: str
    gates: int
    states: tuple[str, ...]
    fold_biases: bool
    has_activation: bool
    bias_one_gate: int | None
    drivers: dict[str, str]

    def driver(self, role: str) -> Callable[..., Any]:
        """Return the function that plays ``role`` for this cell, importing its module on first use.

        By name, because the drivers' modules import this one (a cycle otherwise), and because
        importing the CUDA launchers loads ``numba.cuda``, which CPU users never need.
        """
        return _resolve(self.drivers[role])


@functools.cache
def _resolve(target: str) -> Callable[..., Any]:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _drivers(name: str) -> dict[str, str]:
    return {
        "forward": f"tsrnn.kernels._functional:_{name}_forward",
        "backward": f"tsrnn.kernels._functional:_{name}_backward",
        "cuda_forward": f"tsrnn._cuda.kernels:_{name}_forward_pass",
        "cuda_backward": f"tsrnn._cuda.kernels:_{name}_backward_pass",
    }


CELLS: dict[str, Cell] = {
    cell.name: cell
    for cell in (
        Cell("lstm", 4, ("h", "c"), True, False, 1, _drivers("lstm")),
        Cell("gru", 3, ("h",), False, False, None, _drivers("gru")),
        Cell("rnn", 1, ("h",), True, True, None, _drivers("rnn")),
    )
}
