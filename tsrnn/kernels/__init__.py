"""Recurrent cell kernels: forward and backpropagation through time on numpy arrays.

A functional API, batch-first (batch, time, features), float32 or float64, with weights in
PyTorch's layout and gate order (LSTM i, f, g, o; GRU r, z, n; simple RNN with tanh or relu),
so that weights and results compare directly with ``torch.nn.LSTM``/``GRU``/``RNN``::

    out, h_T, c_T, cache = lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    d_x, d_h0, d_c0, d_w_ih, d_w_hh, d_b_ih, d_b_hh = lstm_backward(d_out, d_h_T, d_c_T, cache)

The backward functions return the gradients of a scalar loss ``L`` with respect to the forward
inputs, given ``d_out = dL/d out`` and ``d_h_T = dL/d h_T`` (and ``d_c_T``).

Truncated BPTT (``bptt_steps=k``)
    The sequence is split into blocks of ``k`` steps counted from the end:
    ``[T - k, T)``, ``[T - 2k, T - k)``, ..., the first block being shorter when ``k`` does
    not divide ``T``. Gradients flow through the recurrence within a block but not from one
    block into the one before it: the state handed from block to block is treated as a
    constant, as if detached. The result is the exact gradient of the loss of the network in
    which each block starts from a detached copy of the previous block's final state, except
    that the first block starts from ``h0`` (and ``c0``) itself, so ``d_h0`` is the gradient
    through the first block. Every step still contributes to the weight gradients and to
    ``d_x``. ``bptt_steps >= T`` (or None) is full BPTT.

Variable lengths (``lengths=``)
    Sequences of different lengths come padded at the end to a common T, with ``lengths``
    (B,) giving each one's real steps. A row's state stops at its last real step: at the
    padding steps it is carried through unchanged, so ``h_T`` (and ``c_T``) is the state after
    step ``lengths[b]`` and ``out`` repeats it over the padding. The padding's values never
    enter the state or the gradients (``d_x`` is zero there), and a padded row's results equal,
    bit for bit, those of the same sequence alone. Truncated BPTT counts its blocks back from
    each row's last real step.

On NVIDIA GPUs
    :mod:`tsrnn.kernels.cuda` has the same six functions with the same contracts, compiled
    with numba-cuda (``pip install "tsrnn[cuda]"``); importing it needs a GPU.

Threads, determinism and batch invariance
    The batch is split into chunks of a fixed number of rows (32), the last one padded with
    zero rows; Numba's threads take whole chunks and run their time loops independently, and
    weight gradients are summed over chunks in chunk order. Results are therefore identical
    bit for bit whatever ``NUMBA_NUM_THREADS`` or ``numba.set_num_threads`` says. And since
    every chunk runs the same matrix products on the same shapes, a row's outputs depend only
    on that row and the weights: not on its position in the batch, the batch size or the
    other rows, bit for bit (the CUDA kernels too, where each sequence's units sum in a fixed
    order).
"""

from tsrnn.kernels._functional import (
    GRUCache,
    LSTMCache,
    RNNCache,
    gru_backward,
    gru_forward,
    lstm_backward,
    lstm_forward,
    rnn_backward,
    rnn_forward,
)

__all__ = [
    "GRUCache",
    "LSTMCache",
    "RNNCache",
    "gru_backward",
    "gru_forward",
    "lstm_backward",
    "lstm_forward",
    "rnn_backward",
    "rnn_forward",
]
