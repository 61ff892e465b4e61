"""Compiled CPU loops: sequence forward and BPTT backward of the three cells.

Layout. The batch is split into fixed-size chunks of rows (``chunk``, decided by the caller
from the batch size only) and each chunk runs its whole time loop on one thread: the functions
take a range of chunks, and the caller gives disjoint ranges to its threads (the functions
release the GIL). There is no parallel region or threaded BLAS call inside the time loop. Inside a
chunk, per-step arrays are stored time-major: row ``t * n + b`` of the chunk's block holds
step ``t`` of the chunk's ``b``-th sequence, so the rows of one step are contiguous (one small
matrix product per step) and the rows of all steps are contiguous too (one large product for
the input projection and for each weight gradient). A T-step array of the whole batch has
shape ``(T * B, ...)`` and chunk ``k`` owns rows ``T * b0 : T * (b0 + n)``; state arrays keep
``T + 1`` steps (the initial state first).

Determinism. Every chunk computes the same thing whatever thread runs it, and weight gradients
are formed per chunk and then summed in chunk order, so results do not depend on the number of
threads.
"""

from __future__ import annotations

import numpy as np

from tsrnn._config import jit
from tsrnn.kernels._cells import (
    gru_unit_backward,
    gru_unit_forward,
    lstm_unit_backward,
    lstm_unit_forward,
    rnn_unit_backward,
    rnn_unit_forward,
)


@jit
def _gather_chunk(x, b0, n, dst):
    """Copy sequences ``b0 : b0 + n`` of batch-first ``x`` (B, T, F) into time-major ``dst``."""
    steps, features = x.shape[1], x.shape[2]
    for t in range(steps):
        for b in range(n):
            row = dst[t * n + b]
            src = x[b0 + b, t]
            for f in range(features):
                row[f] = src[f]


@jit
def _scatter_chunk(src, first_step, b0, n, dst):
    """Copy time-major ``src`` rows from step ``first_step`` on into batch-first ``dst``."""
    steps, features = dst.shape[1], dst.shape[2]
    for t in range(steps):
        for b in range(n):
            row = src[(t + first_step) * n + b]
            target = dst[b0 + b, t]
            for f in range(features):
                target[f] = row[f]


@jit
def _copy_rows(src, b0, n, dst):
    """``dst[:n] = src[b0 : b0 + n]`` for 2-D arrays."""
    for b in range(n):
        for j in range(src.shape[1]):
            dst[b, j] = src[b0 + b, j]


@jit
def _fill_zero(a):
    flat = a.reshape(-1)
    for i in range(flat.size):
        flat[i] = 0


@jit
def _add_into(a, b):
    """Add ``b`` into ``a`` (arrays of one shape)."""
    flat_a = a.reshape(-1)
    flat_b = b.reshape(-1)
    for i in range(flat_a.size):
        flat_a[i] += flat_b[i]


@jit
def _column_sums(a, out):
    """Sum the rows of 2-D ``a`` into ``out``, in row order."""
    for j in range(a.shape[1]):
        out[j] = 0
    for r in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[j] += a[r, j]


@jit
def _weight_grads_chunk(d_pre_x, d_pre_h, xs, h_prev, w_ih, b0, n, d_xs, d_x, d_w_ih, d_w_hh, d_b_ih, d_b_hh):
    """Gradients of one chunk that need no time loop: weights, biases and inputs.

    ``d_pre_x``/``d_pre_h`` (T*n, G*H) are the gradients of the input-side and hidden-side
    pre-activations (the same array for LSTM and RNN; for GRU they differ in the n gate).
    """
    np.dot(d_pre_x.T, xs, d_w_ih)
    np.dot(d_pre_h.T, h_prev, d_w_hh)
    _column_sums(d_pre_x, d_b_ih)
    _column_sums(d_pre_h, d_b_hh)
    np.dot(d_pre_x, w_ih, d_xs)
    _scatter_chunk(d_xs, 0, b0, n, d_x)


@jit
def sum_chunks(parts, out):
    """Sum ``parts`` (K, ...) over its first axis in order into ``out``."""
    _fill_zero(out)
    for k in range(parts.shape[0]):
        _add_into(out, parts[k])


@jit
def _cut_here(t, steps, bptt_steps):
    """Whether the recurrent edge from step ``t`` into step ``t + 1`` is cut (truncated BPTT)."""
    return bptt_steps > 0 and t < steps - 1 and (steps - 1 - t) % bptt_steps == 0


# ---------------------------------------------------------------------------------- gate rows
# One row = the hidden units of one sequence at one step. These loops stay separate functions
# (not inlined into the time loops): LLVM vectorises them on their own, and did not once
# nested inside the batch and time loops.


@jit
def _lstm_forward_row(g, rec, b_ih, b_hh, c_prev, c_next, tanh_c, h_next):
    """Pre-activations ``g`` (input part, overwritten by the gates) + ``rec`` + biases -> states."""
    hidden = c_prev.shape[0]
    for j in range(hidden):
        g[j], g[hidden + j], g[2 * hidden + j], g[3 * hidden + j], c_next[j], tanh_c[j], h_next[j] = lstm_unit_forward(
            g[j] + rec[j] + b_ih[j] + b_hh[j],
            g[hidden + j] + rec[hidden + j] + b_ih[hidden + j] + b_hh[hidden + j],
            g[2 * hidden + j] + rec[2 * hidden + j] + b_ih[2 * hidden + j] + b_hh[2 * hidden + j],
            g[3 * hidden + j] + rec[3 * hidden + j] + b_ih[3 * hidden + j] + b_hh[3 * hidden + j],
            c_prev[j],
        )


@jit
def _lstm_backward_row(d_out, d_h, d_c, g, tanh_c, c_prev, d_pre):
    """Gate gradients of one row; ``d_c`` goes from dL/dc_t to dL/dc_{t-1} in place."""
    hidden = d_h.shape[0]
    one = g.dtype.type(1.0)
    for j in range(hidden):
        d_pre[j], d_pre[hidden + j], d_pre[2 * hidden + j], d_pre[3 * hidden + j], d_c[j] = lstm_unit_backward(
            d_out[j] + d_h[j],
            d_c[j],
            g[j],
            g[hidden + j],
            g[2 * hidden + j],
            g[3 * hidden + j],
            tanh_c[j],
            c_prev[j],
            one,
        )


@jit
def _gru_forward_row(g, rec, b_ih, b_hh, h_n, h_prev, h_next):
    """Input pre-activations ``g`` (overwritten by r, z, n) + ``rec`` + biases -> next state."""
    hidden = h_prev.shape[0]
    one = g.dtype.type(1.0)
    for j in range(hidden):
        h_n[j] = rec[2 * hidden + j] + b_hh[2 * hidden + j]
        g[j], g[hidden + j], g[2 * hidden + j], h_next[j] = gru_unit_forward(
            g[j] + b_ih[j],
            g[hidden + j] + b_ih[hidden + j],
            g[2 * hidden + j] + b_ih[2 * hidden + j],
            rec[j] + b_hh[j],
            rec[hidden + j] + b_hh[hidden + j],
            h_n[j],
            h_prev[j],
            one,
        )


@jit
def _gru_backward_row(d_out, d_h, g, h_n, h_prev, d_pre_x, d_pre_h):
    """Gate gradients of one row; ``d_h`` becomes the part of dL/dh_{t-1} that skips W_hh."""
    hidden = d_h.shape[0]
    one = g.dtype.type(1.0)
    for j in range(hidden):
        d_r, d_z, d_pre_x[2 * hidden + j], d_pre_h[2 * hidden + j], d_h[j] = gru_unit_backward(
            d_out[j] + d_h[j], g[j], g[hidden + j], g[2 * hidden + j], h_n[j], h_prev[j], one
        )
        d_pre_x[j] = d_r
        d_pre_x[hidden + j] = d_z
        d_pre_h[j] = d_r
        d_pre_h[hidden + j] = d_z


@jit
def _rnn_forward_row(h_next, rec, b_ih, b_hh, activation):
    """``h_next`` holds the input projection; add ``rec`` and biases and activate in place."""
    zero = h_next.dtype.type(0.0)
    for j in range(h_next.shape[0]):
        h_next[j] = rnn_unit_forward(h_next[j] + rec[j] + b_ih[j] + b_hh[j], activation, zero)


@jit
def _rnn_backward_row(d_out, d_h, h, d_pre, activation):
    zero = h.dtype.type(0.0)
    one = h.dtype.type(1.0)
    for j in range(h.shape[0]):
        d_pre[j] = rnn_unit_backward(d_out[j] + d_h[j], h[j], activation, zero, one)


# --------------------------------------------------------------------------------------- LSTM


# --------------------------------------------------------------------------------------- LSTM
# Each function below runs chunks ``first_chunk <= k < last_chunk`` of ``chunk`` rows; the
# caller hands disjoint chunk ranges to different threads. Per-chunk scratch arrays have a
# leading chunk axis.


@jit
def lstm_forward(
    first_chunk, last_chunk, chunk, x, h0, c0, w_ih, w_hh, b_ih, b_hh,
    xs, gates, hs, cs, tanh_cs, rec, out, h_last, c_last,
):  # fmt: skip
    batch, steps = x.shape[0], x.shape[1]
    span = steps + 1
    for k in range(first_chunk, last_chunk):
        b0 = k * chunk
        n = min(chunk, batch - b0)
        scratch = rec[k]
        xs_blk = xs[steps * b0 : steps * (b0 + n)]
        g_blk = gates[steps * b0 : steps * (b0 + n)]
        tc_blk = tanh_cs[steps * b0 : steps * (b0 + n)]
        h_blk = hs[span * b0 : span * (b0 + n)]
        c_blk = cs[span * b0 : span * (b0 + n)]
        _gather_chunk(x, b0, n, xs_blk)
        np.dot(xs_blk, w_ih.T, g_blk)
        _copy_rows(h0, b0, n, h_blk)
        _copy_rows(c0, b0, n, c_blk)
        for t in range(steps):
            np.dot(h_blk[t * n : (t + 1) * n], w_hh.T, scratch[:n])
            for b in range(n):
                row = t * n + b
                _lstm_forward_row(
                    g_blk[row], scratch[b], b_ih, b_hh, c_blk[row], c_blk[row + n], tc_blk[row], h_blk[row + n]
                )
        _scatter_chunk(h_blk, 1, b0, n, out)
        _copy_rows(h_blk[steps * n :], 0, n, h_last[b0:])
        _copy_rows(c_blk[steps * n :], 0, n, c_last[b0:])


@jit
def lstm_backward(
    first_chunk, last_chunk, chunk, d_out, d_h_last, d_c_last, w_ih, w_hh, xs, gates, hs, cs, tanh_cs, bptt_steps,
    d_pre, d_hs, d_cs, d_xs, d_x, d_h0, d_c0, d_w_ih, d_w_hh, d_b_ih, d_b_hh,
):  # fmt: skip
    batch, steps = d_out.shape[0], d_out.shape[1]
    span = steps + 1
    for k in range(first_chunk, last_chunk):
        b0 = k * chunk
        n = min(chunk, batch - b0)
        d_h = d_hs[k, :n]
        d_c = d_cs[k, :n]
        g_blk = gates[steps * b0 : steps * (b0 + n)]
        dp_blk = d_pre[steps * b0 : steps * (b0 + n)]
        tc_blk = tanh_cs[steps * b0 : steps * (b0 + n)]
        c_blk = cs[span * b0 : span * (b0 + n)]
        _copy_rows(d_h_last, b0, n, d_h)
        _copy_rows(d_c_last, b0, n, d_c)
        for t in range(steps - 1, -1, -1):
            if _cut_here(t, steps, bptt_steps):
                _fill_zero(d_h)
                _fill_zero(d_c)
            for b in range(n):
                row = t * n + b
                _lstm_backward_row(d_out[b0 + b, t], d_h[b], d_c[b], g_blk[row], tc_blk[row], c_blk[row], dp_blk[row])
            np.dot(dp_blk[t * n : (t + 1) * n], w_hh, d_h)
        _copy_rows(d_h, 0, n, d_h0[b0:])
        _copy_rows(d_c, 0, n, d_c0[b0:])
        _weight_grads_chunk(
            dp_blk, dp_blk, xs[steps * b0 : steps * (b0 + n)], hs[span * b0 : span * b0 + steps * n], w_ih,
            b0, n, d_xs[steps * b0 : steps * (b0 + n)], d_x, d_w_ih[k], d_w_hh[k], d_b_ih[k], d_b_hh[k],
        )  # fmt: skip


# ---------------------------------------------------------------------------------------- GRU


@jit
def gru_forward(
    first_chunk, last_chunk, chunk, x, h0, w_ih, w_hh, b_ih, b_hh, xs, gates, h_ns, hs, rec, out, h_last
):  # fmt: skip
    batch, steps = x.shape[0], x.shape[1]
    span = steps + 1
    for k in range(first_chunk, last_chunk):
        b0 = k * chunk
        n = min(chunk, batch - b0)
        scratch = rec[k]
        xs_blk = xs[steps * b0 : steps * (b0 + n)]
        g_blk = gates[steps * b0 : steps * (b0 + n)]
        hn_blk = h_ns[steps * b0 : steps * (b0 + n)]
        h_blk = hs[span * b0 : span * (b0 + n)]
        _gather_chunk(x, b0, n, xs_blk)
        np.dot(xs_blk, w_ih.T, g_blk)
        _copy_rows(h0, b0, n, h_blk)
        for t in range(steps):
            np.dot(h_blk[t * n : (t + 1) * n], w_hh.T, scratch[:n])
            for b in range(n):
                row = t * n + b
                _gru_forward_row(g_blk[row], scratch[b], b_ih, b_hh, hn_blk[row], h_blk[row], h_blk[row + n])
        _scatter_chunk(h_blk, 1, b0, n, out)
        _copy_rows(h_blk[steps * n :], 0, n, h_last[b0:])


@jit
def gru_backward(
    first_chunk, last_chunk, chunk, d_out, d_h_last, w_ih, w_hh, xs, gates, h_ns, hs, bptt_steps,
    d_pre_x, d_pre_h, d_hs, d_recs, d_xs, d_x, d_h0, d_w_ih, d_w_hh, d_b_ih, d_b_hh,
):  # fmt: skip
    batch, steps = d_out.shape[0], d_out.shape[1]
    span = steps + 1
    for k in range(first_chunk, last_chunk):
        b0 = k * chunk
        n = min(chunk, batch - b0)
        d_h = d_hs[k, :n]
        d_rec = d_recs[k, :n]
        g_blk = gates[steps * b0 : steps * (b0 + n)]
        hn_blk = h_ns[steps * b0 : steps * (b0 + n)]
        h_blk = hs[span * b0 : span * (b0 + n)]
        dx_blk = d_pre_x[steps * b0 : steps * (b0 + n)]
        dh_blk = d_pre_h[steps * b0 : steps * (b0 + n)]
        _copy_rows(d_h_last, b0, n, d_h)
        for t in range(steps - 1, -1, -1):
            if _cut_here(t, steps, bptt_steps):
                _fill_zero(d_h)
            for b in range(n):
                row = t * n + b
                _gru_backward_row(
                    d_out[b0 + b, t], d_h[b], g_blk[row], hn_blk[row], h_blk[row], dx_blk[row], dh_blk[row]
                )
            # d_h now holds the part of dL/dh_{t-1} that skips W_hh; add the part through it.
            np.dot(dh_blk[t * n : (t + 1) * n], w_hh, d_rec)
            _add_into(d_h, d_rec)
        _copy_rows(d_h, 0, n, d_h0[b0:])
        _weight_grads_chunk(
            dx_blk, dh_blk, xs[steps * b0 : steps * (b0 + n)], h_blk[: steps * n], w_ih,
            b0, n, d_xs[steps * b0 : steps * (b0 + n)], d_x, d_w_ih[k], d_w_hh[k], d_b_ih[k], d_b_hh[k],
        )  # fmt: skip


# ----------------------------------------------------------------------------------------- RNN


@jit
def rnn_forward(
    first_chunk, last_chunk, chunk, x, h0, w_ih, w_hh, b_ih, b_hh, activation, xs, hs, rec, out, h_last
):  # fmt: skip
    batch, steps = x.shape[0], x.shape[1]
    span = steps + 1
    for k in range(first_chunk, last_chunk):
        b0 = k * chunk
        n = min(chunk, batch - b0)
        scratch = rec[k]
        xs_blk = xs[steps * b0 : steps * (b0 + n)]
        h_blk = hs[span * b0 : span * (b0 + n)]
        _gather_chunk(x, b0, n, xs_blk)
        # The input projection goes straight into the state rows of steps 1..T.
        np.dot(xs_blk, w_ih.T, h_blk[n:])
        _copy_rows(h0, b0, n, h_blk)
        for t in range(steps):
            np.dot(h_blk[t * n : (t + 1) * n], w_hh.T, scratch[:n])
            for b in range(n):
                _rnn_forward_row(h_blk[(t + 1) * n + b], scratch[b], b_ih, b_hh, activation)
        _scatter_chunk(h_blk, 1, b0, n, out)
        _copy_rows(h_blk[steps * n :], 0, n, h_last[b0:])


@jit
def rnn_backward(
    first_chunk, last_chunk, chunk, d_out, d_h_last, w_ih, w_hh, xs, hs, activation, bptt_steps,
    d_pre, d_hs, d_xs, d_x, d_h0, d_w_ih, d_w_hh, d_b_ih, d_b_hh,
):  # fmt: skip
    batch, steps = d_out.shape[0], d_out.shape[1]
    span = steps + 1
    for k in range(first_chunk, last_chunk):
        b0 = k * chunk
        n = min(chunk, batch - b0)
        d_h = d_hs[k, :n]
        h_blk = hs[span * b0 : span * (b0 + n)]
        dp_blk = d_pre[steps * b0 : steps * (b0 + n)]
        _copy_rows(d_h_last, b0, n, d_h)
        for t in range(steps - 1, -1, -1):
            if _cut_here(t, steps, bptt_steps):
                _fill_zero(d_h)
            for b in range(n):
                row = t * n + b
                _rnn_backward_row(d_out[b0 + b, t], d_h[b], h_blk[row + n], dp_blk[row], activation)
            np.dot(dp_blk[t * n : (t + 1) * n], w_hh, d_h)
        _copy_rows(d_h, 0, n, d_h0[b0:])
        _weight_grads_chunk(
            dp_blk, dp_blk, xs[steps * b0 : steps * (b0 + n)], h_blk[: steps * n], w_ih,
            b0, n, d_xs[steps * b0 : steps * (b0 + n)], d_x, d_w_ih[k], d_w_hh[k], d_b_ih[k], d_b_hh[k],
        )  # fmt: skip


# --------------------------------------------------------------------------------------- dense


@jit
def dense_forward(features, weight, bias, out):
    """``out = features @ weight.T + bias`` for features (N, D), weight (O, D)."""
    np.dot(features, weight.T, out)
    for r in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[r, j] += bias[j]


@jit
def dense_backward(d_out, features, weight, d_weight, d_bias, d_features):
    """Gradients of :func:`dense_forward` with respect to weight, bias and features."""
    np.dot(d_out.T, features, d_weight)
    _column_sums(d_out, d_bias)
    np.dot(d_out, weight, d_features)
