"""Compiled CPU loops: sequence forward and BPTT backward of the three cells.

Chunks. The batch is split into chunks of ``chunk`` rows, a constant (:data:`CHUNK_ROWS`),
and the last chunk is padded with rows of zeros: every chunk runs the same matrix products
on the same shapes, so a row's result does not depend on its position in the batch, the
batch size or the other rows, bit for bit (BLAS picks its kernels and edge tiles by shape).
Each function takes a range of chunks and runs the whole time loop of each; the caller gives
disjoint ranges to its threads (the functions release the GIL). There is no parallel region
inside the time loop.

Layout. Inside a chunk of ``n`` sequences every per-step quantity is stored feature-major and
batch-minor: the hidden state of step ``t`` is an (H, n) matrix, the gates an (G*H, n) one,
with ``n = chunk`` columns of which the first ``m`` are the chunk's real rows.
So the recurrent product of a step is one matrix product ``W_hh @ h`` straight into the
gates, and the gate loop of a step runs over ``H * n`` contiguous elements, long enough for
LLVM to vectorise whatever H is. The buffers are flat, sized for the padded batch: chunk
``k`` (first row ``b0 = k * chunk``) owns the elements ``S * F * b0 : S * F * (b0 + n)`` of
an array of ``S`` steps of ``F`` features (states keep ``T + 1`` steps, the initial state
first). The padding rows start from zero inputs and states, so they stay finite, and their
gradients are zero: they add nothing to the weight gradients.

Biases. The input weights come augmented with the bias as a last column, ``[W_ih | b]``, and
the inputs with a row of ones, so each step's input product adds the bias and its gradient
accumulates the bias gradient (GRU keeps ``b_hh`` apart, as its reset gate multiplies it).

Gradients. The backward loop accumulates each chunk's weight gradients step by step (gemm
with beta = 1) into that chunk's slot of (K, ...) arrays, which the caller sums in chunk order
(:func:`sum_chunks`): the results do not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np

from tsrnn._config import jit
from tsrnn.kernels._blas import matmul, matmul_strided
from tsrnn.kernels._cells import (
    cut_here,
    gru_unit_backward,
    gru_unit_forward,
    lstm_unit_backward,
    lstm_unit_forward,
    rnn_unit_backward,
    rnn_unit_forward,
)
from tsrnn.kernels._math import prefer_wide_vectors

# --------------------------------------------------------------------------------- helpers


@jit
def _gather(x, b0, m, n, dst, width):
    """Sequences ``b0 : b0 + m`` of batch-first ``x`` (B, S, F) into ``dst`` as (S, width, n).

    Columns ``m <= b < n`` (padding) are zero; rows ``F <= f < width`` of each step are left
    as they are.
    """
    steps, features = x.shape[1], x.shape[2]
    zero = dst.dtype.type(0.0)
    for t in range(steps):
        for f in range(features):
            base = (t * width + f) * n
            for b in range(m):
                dst[base + b] = x[b0 + b, t, f]
            for b in range(m, n):
                dst[base + b] = zero


@jit
def _gather_inputs(x, b0, m, n, dst):
    """Like :func:`_gather` into (S, F + 1, n), with a row of ones after each step's features.

    The ones meet the bias column of the augmented input weights ``[W_ih | b]``, so each
    step's input product adds the bias, and its gradient accumulates the bias gradient.
    """
    steps, features = x.shape[1], x.shape[2]
    one = dst.dtype.type(1.0)
    _gather(x, b0, m, n, dst, features + 1)
    for t in range(steps):
        base = (t * (features + 1) + features) * n
        for b in range(n):
            dst[base + b] = one


@jit
def _scatter_step(plane, t, b0, m, n, dst):
    """Copy the first ``m`` columns of ``plane`` (F, n) into ``dst[b0 : b0 + m, t]`` of ``dst`` (B, S, F)."""
    features = dst.shape[2]
    for b in range(m):
        row = dst[b0 + b, t]
        for f in range(features):
            row[f] = plane[f * n + b]


@jit
def _scatter(src, b0, m, n, dst):
    """Copy the first ``m`` columns of ``src`` as (S, F, n) into rows ``b0 : b0 + m`` of ``dst`` (B, S, F).

    A step at a time, each (F, n) plane staying in the L1 cache while it is transposed.
    """
    steps, features = dst.shape[1], dst.shape[2]
    for t in range(steps):
        _scatter_step(src[t * features * n : (t + 1) * features * n], t, b0, m, n, dst)


@jit
def _gather_state(state, b0, m, n, dst):
    """Rows ``b0 : b0 + m`` of ``state`` (B, H) into ``dst`` as (H, n), padding columns zero."""
    zero = dst.dtype.type(0.0)
    for j in range(state.shape[1]):
        for b in range(m):
            dst[j * n + b] = state[b0 + b, j]
        for b in range(m, n):
            dst[j * n + b] = zero


@jit
def _scatter_state(src, b0, m, n, dst):
    """Copy the first ``m`` columns of ``src`` as (H, n) into rows ``b0 : b0 + m`` of ``dst`` (B, H)."""
    for b in range(m):
        for j in range(dst.shape[1]):
            dst[b0 + b, j] = src[j * n + b]


@jit
def _bias_plane(bias, n, plane):
    """Broadcast ``bias`` (R,) over the batch: ``plane`` as (R, n)."""
    for r in range(bias.shape[0]):
        for b in range(n):
            plane[r * n + b] = bias[r]


@jit
def _fill_zero(a):
    for i in range(a.shape[0]):
        a[i] = 0


# ------------------------------------------------------------------------------ masking
# Variable-length sequences. Row ``b`` runs the steps ``starts[b] <= t < stops[b]`` of its
# (padded) sequence; at the other steps its state stops: it is carried through unchanged, and
# so is the output, which repeats it. ``starts`` and ``stops`` of None mean every row runs
# every step: Numba then drops the branches guarded by ``starts is not None`` before typing
# them, so the loops compile without the masking code (an LSTM backward in 3 s instead of 4),
# which compiles in a second version only for callers that pass lengths. A chunk whose rows
# all run every step takes exactly the unmasked path, so the results of full-length rows do
# not change by a bit; in a chunk with masked rows each row's real steps still compute
# exactly what they would alone (the column products do not mix rows).


@jit
def _runs_every_step(starts, stops, b0, m, steps):
    """Whether every real row of the chunk starting at ``b0`` runs all ``steps`` steps."""
    for b in range(m):
        if starts[b0 + b] != 0 or stops[b0 + b] != steps:
            return False
    return True


@jit
def _is_masked(t, starts, stops, row):
    return t < starts[row] or t >= stops[row]


@jit
def _hold_masked(t, starts, stops, b0, m, n, prev, nxt):
    """After step ``t``: the rows that do not run it keep their state, ``nxt[:, b] = prev[:, b]`` (H, n)."""
    units = prev.shape[0] // n
    for b in range(m):
        if _is_masked(t, starts, stops, b0 + b):
            for j in range(units):
                nxt[j * n + b] = prev[j * n + b]


@jit
def _cut_rows(t, starts, stops, b0, m, n, bptt_steps, d_h, d_c, has_c):
    """Cut the edge out of step ``t`` in the rows whose own window puts a cut there (truncated BPTT).

    The blocks of ``bptt_steps`` are counted back from each row's last real step, as for the
    row alone.
    """
    units = d_h.shape[0] // n
    for b in range(m):
        start, stop = starts[b0 + b], stops[b0 + b]
        if start <= t < stop and cut_here(t - start, stop - start, bptt_steps):
            for j in range(units):
                d_h[j * n + b] = 0
                if has_c:
                    d_c[j * n + b] = 0


@jit
def _stash_masked(t, starts, stops, b0, m, n, d_out_t, d_h, d_c, stash_h, stash_c, has_c):
    """Before step ``t``: the gradients that the rows not running it carry back, ``d_out + d_h`` and ``d_c``.

    Their state at ``t`` is their state before it, and their output repeats it.
    """
    units = d_h.shape[0] // n
    for b in range(m):
        if _is_masked(t, starts, stops, b0 + b):
            for j in range(units):
                u = j * n + b
                stash_h[u] = d_out_t[u] + d_h[u]
                if has_c:
                    stash_c[u] = d_c[u]


@jit
def _enter_backward_step(
    t, steps, every_step, starts, stops, b0, m, n, bptt_steps, d_out_t, d_h, d_c, stash_h, stash_c, has_c
):  # fmt: skip
    """Start the backward step ``t`` of a chunk: truncate BPTT, and stash what rows not running ``t`` carry back.

    A chunk whose rows all run every step cuts all its rows at once; otherwise each row is cut
    by its own window.
    """
    if starts is None or every_step:
        if cut_here(t, steps, bptt_steps):
            _fill_zero(d_h)
            if has_c:
                _fill_zero(d_c)
        return
    _cut_rows(t, starts, stops, b0, m, n, bptt_steps, d_h, d_c, has_c)
    _stash_masked(t, starts, stops, b0, m, n, d_out_t, d_h, d_c, stash_h, stash_c, has_c)


@jit
def _zero_masked(t, starts, stops, b0, m, n, d_pre):
    """Zero the pre-activation gradients (G*H, n) of the rows that do not run step ``t``."""
    planes = d_pre.shape[0] // n
    for b in range(m):
        if _is_masked(t, starts, stops, b0 + b):
            for r in range(planes):
                d_pre[r * n + b] = 0


@jit
def _restore_masked(t, starts, stops, b0, m, n, d_h, d_c, stash_h, stash_c, has_c):
    """After step ``t``'s products: the carried gradients of the rows that do not run it."""
    units = d_h.shape[0] // n
    for b in range(m):
        if _is_masked(t, starts, stops, b0 + b):
            for j in range(units):
                u = j * n + b
                d_h[u] = stash_h[u]
                if has_c:
                    d_c[u] = stash_c[u]


@jit
def sum_chunks(parts, out):
    """Sum ``parts`` (K, ...) over its first axis, in order, into ``out``."""
    flat_out = out.reshape(-1)
    flat_parts = parts.reshape(parts.shape[0], -1)
    for i in range(flat_out.shape[0]):
        flat_out[i] = flat_parts[0, i]
    for k in range(1, flat_parts.shape[0]):
        for i in range(flat_out.shape[0]):
            flat_out[i] += flat_parts[k, i]


# Up to this many input rows (features and the row of ones), ``d_x`` of a step is a loop over
# the batch rather than a BLAS call, which is slow for so few transposed rows: with one feature
# the step's input-side gradients take 2-3x less time in float32 and 1.5x in float64; from four
# features on, BLAS is as fast or faster.
SMALL_INPUT = 4


@jit
def _input_side_grads(d_pre, rows, n, xs_t, w_in, d_xs_t, d_w_in):
    """Per step: ``d_w_in += d_pre @ [x_t; 1]'`` (weights and bias, flat), ``d_x_t = w_ih' @ d_pre``."""
    width = w_in.shape[1]
    features = width - 1
    matmul(rows, width, n, d_pre, False, xs_t, True, d_w_in, 1.0)
    if width > SMALL_INPUT:
        matmul_strided(features, n, rows, w_in.reshape(-1), width, True, d_pre, n, False, d_xs_t, n, 0.0)
        return
    for f in range(features):
        d_x_f = d_xs_t[f * n : (f + 1) * n]
        weight = w_in[0, f]
        d_pre_r = d_pre[:n]
        for b in range(n):
            d_x_f[b] = weight * d_pre_r[b]
        for r in range(1, rows):
            weight = w_in[r, f]
            d_pre_r = d_pre[r * n : (r + 1) * n]
            for b in range(n):
                d_x_f[b] += weight * d_pre_r[b]


# ------------------------------------------------------------------------------- gate steps
# The gate loops of one step, over H * n units. They stay separate functions (not inlined into
# the time loops): LLVM vectorises them on their own, and did not once nested in other loops.
# Each gate plane is sliced into an array of its own before the loop: indexed as offsets into
# one buffer, the planes need more run-time overlap checks than LLVM allows, and the backward
# loops ran scalar (5x slower). The forward loops ask for the machine's full vector width
# (:func:`prefer_wide_vectors`): at 512 bits they ran 1.5-1.9x faster on AVX-512 Xeons, where
# the backward loops, bound by memory rather than arithmetic, ran no faster.


@jit
def _lstm_forward_step(g, c_prev, c_next, tanh_c, h_next):
    """Pre-activations ``g`` (4 planes, overwritten by the gates) -> next states."""
    prefer_wide_vectors()
    p = c_prev.shape[0]
    g_i, g_f, g_g, g_o = g[:p], g[p : 2 * p], g[2 * p : 3 * p], g[3 * p : 4 * p]
    for u in range(p):
        g_i[u], g_f[u], g_g[u], g_o[u], c_next[u], tanh_c[u], h_next[u] = lstm_unit_forward(
            g_i[u], g_f[u], g_g[u], g_o[u], c_prev[u]
        )


@jit
def _lstm_backward_step(d_out, d_h, d_c, g, tanh_c, c_prev, d_pre):
    """Gate gradients of one step; ``d_c`` goes from dL/dc_t to dL/dc_{t-1} in place."""
    p = d_h.shape[0]
    one = g.dtype.type(1.0)
    g_i, g_f, g_g, g_o = g[:p], g[p : 2 * p], g[2 * p : 3 * p], g[3 * p : 4 * p]
    d_i, d_f, d_g, d_o = d_pre[:p], d_pre[p : 2 * p], d_pre[2 * p : 3 * p], d_pre[3 * p : 4 * p]
    for u in range(p):
        d_i[u], d_f[u], d_g[u], d_o[u], d_c[u] = lstm_unit_backward(
            d_out[u] + d_h[u], d_c[u], g_i[u], g_f[u], g_g[u], g_o[u], tanh_c[u], c_prev[u], one
        )


@jit
def _gru_forward_step(g, rec, bias_h, h_n, h_prev, h_next):
    """Input parts ``g`` (overwritten by r, z, n) and hidden parts ``rec`` + ``bias_h`` -> next state."""
    prefer_wide_vectors()
    p = h_prev.shape[0]
    one = g.dtype.type(1.0)
    g_r, g_z, g_n = g[:p], g[p : 2 * p], g[2 * p : 3 * p]
    rec_r, rec_z, rec_n = rec[:p], rec[p : 2 * p], rec[2 * p : 3 * p]
    bias_r, bias_z, bias_n = bias_h[:p], bias_h[p : 2 * p], bias_h[2 * p : 3 * p]
    for u in range(p):
        h_n[u] = rec_n[u] + bias_n[u]
        g_r[u], g_z[u], g_n[u], h_next[u] = gru_unit_forward(
            g_r[u], g_z[u], g_n[u], rec_r[u] + bias_r[u], rec_z[u] + bias_z[u], h_n[u], h_prev[u], one
        )


@jit
def _gru_backward_step(d_out, d_h, g, h_n, h_prev, d_pre_x, d_pre_h):
    """Gate gradients of one step; ``d_h`` becomes the part of dL/dh_{t-1} that skips W_hh."""
    p = d_h.shape[0]
    one = g.dtype.type(1.0)
    g_r, g_z, g_n = g[:p], g[p : 2 * p], g[2 * p : 3 * p]
    dx_r, dx_z, dx_n = d_pre_x[:p], d_pre_x[p : 2 * p], d_pre_x[2 * p : 3 * p]
    dh_r, dh_z, dh_n = d_pre_h[:p], d_pre_h[p : 2 * p], d_pre_h[2 * p : 3 * p]
    for u in range(p):
        d_r, d_z, dx_n[u], dh_n[u], d_h[u] = gru_unit_backward(
            d_out[u] + d_h[u], g_r[u], g_z[u], g_n[u], h_n[u], h_prev[u], one
        )
        dx_r[u] = d_r
        dx_z[u] = d_z
        dh_r[u] = d_r
        dh_z[u] = d_z


@jit
def _rnn_forward_step(h_next, activation):
    """``h_next`` holds the pre-activations; activate in place."""
    prefer_wide_vectors()
    zero = h_next.dtype.type(0.0)
    for u in range(h_next.shape[0]):
        h_next[u] = rnn_unit_forward(h_next[u], activation, zero)


@jit
def _rnn_backward_step(d_out, d_h, h, d_pre, activation):
    zero = h.dtype.type(0.0)
    one = h.dtype.type(1.0)
    for u in range(h.shape[0]):
        d_pre[u] = rnn_unit_backward(d_out[u] + d_h[u], h[u], activation, zero, one)


# -------------------------------------------------------------------------------------- LSTM
# ``w_in`` is the augmented input weight matrix [W_ih | bias] (rows, F + 1) and ``xs`` holds
# the inputs of every step with a row of ones, (S, F + 1, n) per chunk (:func:`_gather_inputs`).


@jit
def lstm_forward(
    first_chunk, last_chunk, chunk, x, h0, c0, w_in, w_hh, xs, gates, hs, cs, tanh_cs, out, h_last, c_last, keep,
    starts, stops,
):  # fmt: skip
    """LSTM forward of chunks ``first_chunk <= k < last_chunk``; ``w_in = [W_ih | b_ih + b_hh]``.

    With ``keep`` the gates, cell states and ``tanh(c)`` of every step are kept for the
    backward pass; without, ``gates``, ``cs`` and ``tanh_cs`` are per-chunk scratch of one
    step (``4 * H``, ``2 * H`` and ``H`` times ``chunk`` elements a chunk), which stays in cache.
    """
    batch, steps, features = x.shape
    hidden = w_hh.shape[1]
    rows = 4 * hidden
    width = features + 1
    # Flat views for the products, made once rather than at every step.
    w_in_flat, w_hh_flat = w_in.reshape(-1), w_hh.reshape(-1)
    for k in range(first_chunk, last_chunk):
        b0 = k * chunk
        m = min(chunk, batch - b0)
        n = chunk
        p = hidden * n
        xs_b = xs[steps * width * b0 : steps * width * (b0 + n)]
        h_b = hs[(steps + 1) * hidden * b0 : (steps + 1) * hidden * (b0 + n)]
        _gather_inputs(x, b0, m, n, xs_b)
        _gather_state(h0, b0, m, n, h_b)
        if keep:
            g_b = gates[steps * rows * b0 : steps * rows * (b0 + n)]
            c_b = cs[(steps + 1) * hidden * b0 : (steps + 1) * hidden * (b0 + n)]
            tc_b = tanh_cs[steps * hidden * b0 : steps * hidden * (b0 + n)]
        else:
            g_b = gates[rows * chunk * k : rows * chunk * k + rows * n]
            c_b = cs[2 * hidden * chunk * k : 2 * hidden * chunk * k + 2 * p]
            tc_b = tanh_cs[hidden * chunk * k : hidden * chunk * k + p]
        _gather_state(c0, b0, m, n, c_b)
        every_step = starts is None or _runs_every_step(starts, stops, b0, m, steps)
        for t in range(steps):
            h_prev = h_b[t * p : (t + 1) * p]
            h_next = h_b[(t + 1) * p : (t + 2) * p]
            if keep:
                g_t = g_b[t * 4 * p : (t + 1) * 4 * p]
                c_prev = c_b[t * p : (t + 1) * p]
                c_next = c_b[(t + 1) * p : (t + 2) * p]
            else:
                g_t = g_b
                c_prev = c_b[(t % 2) * p : (t % 2 + 1) * p]
                c_next = c_b[((t + 1) % 2) * p : ((t + 1) % 2 + 1) * p]
            matmul(rows, n, width, w_in_flat, False, xs_b[t * width * n :], False, g_t, 0.0)
            matmul(rows, n, hidden, w_hh_flat, False, h_prev, False, g_t, 1.0)
            tc_t = tc_b[t * p : (t + 1) * p] if keep else tc_b
            _lstm_forward_step(g_t, c_prev, c_next, tc_t, h_next)
            if starts is not None and not every_step:
                _hold_masked(t, starts, stops, b0, m, n, h_prev, h_next)
                _hold_masked(t, starts, stops, b0, m, n, c_prev, c_next)
            _scatter_step(h_next, t, b0, m, n, out)
        _scatter_state(h_b[steps * p :], b0, m, n, h_last)
        c_final = steps * p if keep else (steps % 2) * p
        _scatter_state(c_b[c_final : c_final + p], b0, m, n, c_last)


@jit
def lstm_backward(
    first_chunk, last_chunk, chunk, d_out, d_h_last, d_c_last, w_in, w_hh_t, xs, gates, hs, cs, tanh_cs,
    bptt_steps, d_outs, d_pres, d_hs, d_cs, d_xs, d_x, d_h0, d_c0, d_w_in, d_w_hh, starts, stops,
):  # fmt: skip
    """LSTM BPTT of chunks ``first_chunk <= k < last_chunk``; weight gradients per chunk."""
    batch, steps, hidden = d_out.shape
    features = w_in.shape[1] - 1
    width = features + 1
    rows = 4 * hidden
    # Flat views for the products, made once rather than at every step.
    w_hh_t_flat = w_hh_t.reshape(-1)
    for k in range(first_chunk, last_chunk):
        b0 = k * chunk
        m = min(chunk, batch - b0)
        n = chunk
        p = hidden * n
        xs_b = xs[steps * width * b0 : steps * width * (b0 + n)]
        dxs_b = d_xs[steps * features * b0 : steps * features * (b0 + n)]
        g_b = gates[steps * rows * b0 : steps * rows * (b0 + n)]
        h_b = hs[(steps + 1) * hidden * b0 : (steps + 1) * hidden * (b0 + n)]
        c_b = cs[(steps + 1) * hidden * b0 : (steps + 1) * hidden * (b0 + n)]
        tc_b = tanh_cs[steps * hidden * b0 : steps * hidden * (b0 + n)]
        do_b = d_outs[steps * hidden * b0 : steps * hidden * (b0 + n)]
        d_pre = d_pres[k, : rows * n]
        d_h = d_hs[k, :p]
        d_c = d_cs[k, :p]
        _gather(d_out, b0, m, n, do_b, hidden)
        _gather_state(d_h_last, b0, m, n, d_h)
        _gather_state(d_c_last, b0, m, n, d_c)
        d_w_in_k = d_w_in[k].reshape(-1)
        _fill_zero(d_w_in_k)
        d_w_hh_k = d_w_hh[k].reshape(-1)
        _fill_zero(d_w_hh_k)
        every_step = starts is None or _runs_every_step(starts, stops, b0, m, steps)
        # Scratch for the gradients that masked rows carry through a step (none without masking).
        stash_size = 0 if every_step else p
        stash_h, stash_c = np.empty(stash_size, d_out.dtype), np.empty(stash_size, d_out.dtype)
        for t in range(steps - 1, -1, -1):
            do_t = do_b[t * p : (t + 1) * p]
            _enter_backward_step(
                t, steps, every_step, starts, stops, b0, m, n, bptt_steps, do_t, d_h, d_c, stash_h, stash_c, True
            )
            _lstm_backward_step(
                do_t, d_h, d_c, g_b[t * 4 * p : (t + 1) * 4 * p], tc_b[t * p : (t + 1) * p], c_b[t * p : (t + 1) * p],
                d_pre,
            )  # fmt: skip
            if starts is not None and not every_step:
                _zero_masked(t, starts, stops, b0, m, n, d_pre)
            matmul(hidden, n, rows, w_hh_t_flat, False, d_pre, False, d_h, 0.0)
            if starts is not None and not every_step:
                _restore_masked(t, starts, stops, b0, m, n, d_h, d_c, stash_h, stash_c, True)
            matmul(rows, hidden, n, d_pre, False, h_b[t * p :], True, d_w_hh_k, 1.0)
            _input_side_grads(d_pre, rows, n, xs_b[t * width * n :], w_in, dxs_b[t * features * n :], d_w_in_k)
        _scatter_state(d_h, b0, m, n, d_h0)
        _scatter_state(d_c, b0, m, n, d_c0)
        _scatter(dxs_b, b0, m, n, d_x)


# --------------------------------------------------------------------------------------- GRU


@jit
def gru_forward(
    first_chunk, last_chunk, chunk, x, h0, w_in, w_hh, b_hh, xs, gates, h_ns, hs, bias_planes, recs, out, h_last, keep,
    starts, stops,
):  # fmt: skip
    """GRU forward of chunks ``first_chunk <= k < last_chunk``; ``w_in = [W_ih | b_ih]``.

    With ``keep`` the gates and ``W_hn h + b_hn`` of every step are kept for the backward
    pass; without, ``gates`` and ``h_ns`` are per-chunk scratch of one step.
    """
    batch, steps, features = x.shape
    hidden = w_hh.shape[1]
    rows = 3 * hidden
    width = features + 1
    # Flat views for the products, made once rather than at every step.
    w_in_flat, w_hh_flat = w_in.reshape(-1), w_hh.reshape(-1)
    for k in range(first_chunk, last_chunk):
        b0 = k * chunk
        m = min(chunk, batch - b0)
        n = chunk
        p = hidden * n
        xs_b = xs[steps * width * b0 : steps * width * (b0 + n)]
        if keep:
            g_b = gates[steps * rows * b0 : steps * rows * (b0 + n)]
            hn_b = h_ns[steps * hidden * b0 : steps * hidden * (b0 + n)]
        else:
            g_b = gates[rows * chunk * k : rows * chunk * k + rows * n]
            hn_b = h_ns[hidden * chunk * k : hidden * chunk * k + p]
        h_b = hs[(steps + 1) * hidden * b0 : (steps + 1) * hidden * (b0 + n)]
        plane_h = bias_planes[k, : rows * n]
        rec = recs[k, : rows * n]
        _bias_plane(b_hh, n, plane_h)
        _gather_inputs(x, b0, m, n, xs_b)
        _gather_state(h0, b0, m, n, h_b)
        every_step = starts is None or _runs_every_step(starts, stops, b0, m, steps)
        for t in range(steps):
            g_t = g_b[t * 3 * p : (t + 1) * 3 * p] if keep else g_b
            hn_t = hn_b[t * p : (t + 1) * p] if keep else hn_b
            matmul(rows, n, width, w_in_flat, False, xs_b[t * width * n :], False, g_t, 0.0)
            matmul(rows, n, hidden, w_hh_flat, False, h_b[t * p :], False, rec, 0.0)
            _gru_forward_step(g_t, rec, plane_h, hn_t, h_b[t * p : (t + 1) * p], h_b[(t + 1) * p : (t + 2) * p])
            if starts is not None and not every_step:
                _hold_masked(t, starts, stops, b0, m, n, h_b[t * p : (t + 1) * p], h_b[(t + 1) * p : (t + 2) * p])
            _scatter_step(h_b[(t + 1) * p : (t + 2) * p], t, b0, m, n, out)
        _scatter_state(h_b[steps * p :], b0, m, n, h_last)


@jit
def gru_backward(
    first_chunk, last_chunk, chunk, d_out, d_h_last, w_in, w_hh_t, xs, gates, h_ns, hs, bptt_steps,
    d_outs, d_pres_x, d_pres_h, d_hs, d_xs, d_x, d_h0, d_w_in, d_w_hh, d_b_hh, starts, stops,
):  # fmt: skip
    """GRU BPTT of chunks ``first_chunk <= k < last_chunk``; weight gradients per chunk."""
    batch, steps, hidden = d_out.shape
    features = w_in.shape[1] - 1
    width = features + 1
    rows = 3 * hidden
    # Flat views for the products, made once rather than at every step.
    w_hh_t_flat = w_hh_t.reshape(-1)
    for k in range(first_chunk, last_chunk):
        b0 = k * chunk
        m = min(chunk, batch - b0)
        n = chunk
        p = hidden * n
        xs_b = xs[steps * width * b0 : steps * width * (b0 + n)]
        dxs_b = d_xs[steps * features * b0 : steps * features * (b0 + n)]
        g_b = gates[steps * rows * b0 : steps * rows * (b0 + n)]
        hn_b = h_ns[steps * hidden * b0 : steps * hidden * (b0 + n)]
        h_b = hs[(steps + 1) * hidden * b0 : (steps + 1) * hidden * (b0 + n)]
        do_b = d_outs[steps * hidden * b0 : steps * hidden * (b0 + n)]
        d_pre_x = d_pres_x[k, : rows * n]
        d_pre_h = d_pres_h[k, : rows * n]
        d_h = d_hs[k, :p]
        ones = np.ones(n, d_out.dtype)
        _gather(d_out, b0, m, n, do_b, hidden)
        _gather_state(d_h_last, b0, m, n, d_h)
        d_w_in_k = d_w_in[k].reshape(-1)
        _fill_zero(d_w_in_k)
        d_w_hh_k = d_w_hh[k].reshape(-1)
        _fill_zero(d_w_hh_k)
        _fill_zero(d_b_hh[k])
        every_step = starts is None or _runs_every_step(starts, stops, b0, m, steps)
        stash_h = np.empty(0 if every_step else p, d_out.dtype)
        for t in range(steps - 1, -1, -1):
            do_t = do_b[t * p : (t + 1) * p]
            _enter_backward_step(
                t, steps, every_step, starts, stops, b0, m, n, bptt_steps, do_t, d_h, d_h, stash_h, stash_h, False
            )
            _gru_backward_step(
                do_t, d_h, g_b[t * 3 * p : (t + 1) * 3 * p], hn_b[t * p : (t + 1) * p], h_b[t * p : (t + 1) * p],
                d_pre_x, d_pre_h,
            )  # fmt: skip
            if starts is not None and not every_step:
                _zero_masked(t, starts, stops, b0, m, n, d_pre_x)
                _zero_masked(t, starts, stops, b0, m, n, d_pre_h)
            # d_h holds the part of dL/dh_{t-1} that skips W_hh; add the part through it.
            matmul(hidden, n, rows, w_hh_t_flat, False, d_pre_h, False, d_h, 1.0)
            if starts is not None and not every_step:
                _restore_masked(t, starts, stops, b0, m, n, d_h, d_h, stash_h, stash_h, False)
            matmul(rows, hidden, n, d_pre_h, False, h_b[t * p :], True, d_w_hh_k, 1.0)
            # Row sums as a product with ones: a plain loop is one serial chain of additions.
            matmul(rows, 1, n, d_pre_h, False, ones, False, d_b_hh[k], 1.0)
            _input_side_grads(d_pre_x, rows, n, xs_b[t * width * n :], w_in, dxs_b[t * features * n :], d_w_in_k)
        _scatter_state(d_h, b0, m, n, d_h0)
        _scatter(dxs_b, b0, m, n, d_x)


# --------------------------------------------------------------------------------------- RNN


@jit
def rnn_forward(first_chunk, last_chunk, chunk, x, h0, w_in, w_hh, activation, xs, hs, out, h_last, starts, stops):
    """Simple-RNN forward of chunks ``first_chunk <= k < last_chunk``; ``w_in = [W_ih | b_ih + b_hh]``."""
    batch, steps, features = x.shape
    hidden = w_hh.shape[1]
    width = features + 1
    # Flat views for the products, made once rather than at every step.
    w_in_flat, w_hh_flat = w_in.reshape(-1), w_hh.reshape(-1)
    for k in range(first_chunk, last_chunk):
        b0 = k * chunk
        m = min(chunk, batch - b0)
        n = chunk
        p = hidden * n
        xs_b = xs[steps * width * b0 : steps * width * (b0 + n)]
        h_b = hs[(steps + 1) * hidden * b0 : (steps + 1) * hidden * (b0 + n)]
        _gather_inputs(x, b0, m, n, xs_b)
        _gather_state(h0, b0, m, n, h_b)
        every_step = starts is None or _runs_every_step(starts, stops, b0, m, steps)
        for t in range(steps):
            h_next = h_b[(t + 1) * p : (t + 2) * p]
            matmul(hidden, n, width, w_in_flat, False, xs_b[t * width * n :], False, h_next, 0.0)
            matmul(hidden, n, hidden, w_hh_flat, False, h_b[t * p :], False, h_next, 1.0)
            _rnn_forward_step(h_next, activation)
            if starts is not None and not every_step:
                _hold_masked(t, starts, stops, b0, m, n, h_b[t * p : (t + 1) * p], h_next)
            _scatter_step(h_next, t, b0, m, n, out)
        _scatter_state(h_b[steps * p :], b0, m, n, h_last)


@jit
def rnn_backward(
    first_chunk, last_chunk, chunk, d_out, d_h_last, w_in, w_hh_t, xs, hs, activation, bptt_steps,
    d_outs, d_pres, d_hs, d_xs, d_x, d_h0, d_w_in, d_w_hh, starts, stops,
):  # fmt: skip
    """Simple-RNN BPTT of chunks ``first_chunk <= k < last_chunk``; weight gradients per chunk."""
    batch, steps, hidden = d_out.shape
    features = w_in.shape[1] - 1
    width = features + 1
    # Flat views for the products, made once rather than at every step.
    w_hh_t_flat = w_hh_t.reshape(-1)
    for k in range(first_chunk, last_chunk):
        b0 = k * chunk
        m = min(chunk, batch - b0)
        n = chunk
        p = hidden * n
        xs_b = xs[steps * width * b0 : steps * width * (b0 + n)]
        dxs_b = d_xs[steps * features * b0 : steps * features * (b0 + n)]
        h_b = hs[(steps + 1) * hidden * b0 : (steps + 1) * hidden * (b0 + n)]
        do_b = d_outs[steps * hidden * b0 : steps * hidden * (b0 + n)]
        d_pre = d_pres[k, :p]
        d_h = d_hs[k, :p]
        _gather(d_out, b0, m, n, do_b, hidden)
        _gather_state(d_h_last, b0, m, n, d_h)
        d_w_in_k = d_w_in[k].reshape(-1)
        _fill_zero(d_w_in_k)
        d_w_hh_k = d_w_hh[k].reshape(-1)
        _fill_zero(d_w_hh_k)
        every_step = starts is None or _runs_every_step(starts, stops, b0, m, steps)
        stash_h = np.empty(0 if every_step else p, d_out.dtype)
        for t in range(steps - 1, -1, -1):
            do_t = do_b[t * p : (t + 1) * p]
            _enter_backward_step(
                t, steps, every_step, starts, stops, b0, m, n, bptt_steps, do_t, d_h, d_h, stash_h, stash_h, False
            )
            _rnn_backward_step(do_t, d_h, h_b[(t + 1) * p : (t + 2) * p], d_pre, activation)
            if starts is not None and not every_step:
                _zero_masked(t, starts, stops, b0, m, n, d_pre)
            matmul(hidden, n, hidden, w_hh_t_flat, False, d_pre, False, d_h, 0.0)
            if starts is not None and not every_step:
                _restore_masked(t, starts, stops, b0, m, n, d_h, d_h, stash_h, stash_h, False)
            matmul(hidden, hidden, n, d_pre, False, h_b[t * p :], True, d_w_hh_k, 1.0)
            _input_side_grads(d_pre, hidden, n, xs_b[t * width * n :], w_in, dxs_b[t * features * n :], d_w_in_k)
        _scatter_state(d_h, b0, m, n, d_h0)
        _scatter(dxs_b, b0, m, n, d_x)


# ------------------------------------------------------------------------------------- dense


@jit
def dense_forward(features, weight, bias, out):
    """``out = features @ weight.T + bias`` for features (N, D), weight (O, D).

    Not a BLAS call: each output is summed over ``d`` in order, then the bias is added, so
    a row's result does not depend on how many rows there are (BLAS picks its kernels by
    shape). The loop over outputs runs over contiguous ``weight.T`` rows and vectorises.
    """
    rows, width = features.shape
    outputs = weight.shape[0]
    weight_t = np.ascontiguousarray(weight.T)
    zero = out.dtype.type(0.0)
    for r in range(rows):
        out_r = out[r]
        for j in range(outputs):
            out_r[j] = zero
        for d in range(width):
            value = features[r, d]
            w_d = weight_t[d]
            for j in range(outputs):
                out_r[j] += value * w_d[j]
        for j in range(outputs):
            out_r[j] += bias[j]


@jit
def dense_backward(d_out, features, weight, d_weight, d_bias, d_features):
    """Gradients of :func:`dense_forward` with respect to weight, bias and features."""
    rows, width = features.shape
    outputs = weight.shape[0]
    matmul(outputs, width, rows, d_out.reshape(-1), True, features.reshape(-1), False, d_weight.reshape(-1), 0.0)
    matmul(rows, width, outputs, d_out.reshape(-1), False, weight.reshape(-1), False, d_features.reshape(-1), 0.0)
    for j in range(outputs):
        d_bias[j] = 0
    for r in range(rows):
        for j in range(outputs):
            d_bias[j] += d_out[r, j]
