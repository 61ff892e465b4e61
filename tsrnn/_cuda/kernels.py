"""CUDA kernels of the three cells: forward and BPTT, time-major, with their launchers.

Layout. Every per-step array is time-major, ``(T, B, ·)``, so that one step's rows are
contiguous and the products over all steps are plain matrix products of ``(T * B, ·)`` views:
the input projection before the time loop and the weight gradients after it are tiled
matrix-product kernels (:func:`gemm`), and only the recurrence runs step by step.

The recurrent kernels are persistent: one launch runs the whole time loop. A block owns a tile
of ``rows`` sequences and keeps their hidden (and cell) states in shared memory from the first
step to the last; ``W_hh`` stays in shared memory too when it fits (otherwise it is read through
the cache, where every block finds it). Threads are laid out as (unit, row): a warp holds
consecutive hidden units of one sequence, so its reads of ``W_hh'`` and of the gates coalesce and
its reads of the state are broadcasts. A step synchronises only inside the block.

Directions. ``reverse`` runs the loop from the last step to the first. The arrays stay indexed
by time: states have ``T + 1`` slots, and the state before step ``t`` is slot ``t`` forward,
``t + 1`` in reverse (the initial state sits in slot 0, or in slot ``T``). So the weight
gradients of both directions are products with the contiguous slots ``[0, T)`` or ``[1, T + 1)``.

Determinism. No atomics: each output of a product is one thread's sum in a fixed order over
fixed-size slices (``Geometry.k_chunk`` rows) of the reduced dimension, and the slices' partial results are
added in slice order. Results depend on the shapes only, never on the device or the launch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import cuda

from tsrnn._cuda._compile import DEFAULT_GEOMETRY, device, device_function, geometry, kernel
from tsrnn.kernels import _cells

# The largest tile (the default), which the product's shared memory is sized for; a launch may use
# a smaller one (see ``Geometry``). Tiles in shared memory get a padding column, so that
# transposed stores avoid bank conflicts.
_TILE = DEFAULT_GEOMETRY.tile
_TILE_PAD = _TILE + 1

_lstm_unit_forward = device_function(_cells.lstm_unit_forward)
_lstm_unit_backward = device_function(_cells.lstm_unit_backward)
_gru_unit_forward = device_function(_cells.gru_unit_forward)
_gru_unit_backward = device_function(_cells.gru_unit_backward)
_rnn_unit_forward = device_function(_cells.rnn_unit_forward)
_rnn_unit_backward = device_function(_cells.rnn_unit_backward)
_cut_here = device_function(_cells.cut_here)


# ------------------------------------------------------------------------- matrix products


@kernel
def _gemm(a, b, out, trans_a, trans_b, k_chunk, beta, bias, use_bias):
    """``out[z] = op(a)[:, Kz] @ op(b)[Kz, :]`` over the ``z``-th slice ``Kz`` of the reduced axis.

    With ``use_bias`` the row vector ``bias`` is added, and with ``beta != 0`` ``beta * out[z]``
    (the caller uses both only with a single slice).
    """
    sa = cuda.shared.array((_TILE, _TILE_PAD), dtype=a.dtype)
    sb = cuda.shared.array((_TILE, _TILE_PAD), dtype=a.dtype)
    tile = cuda.blockDim.x
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    # Rows (up to T * B) go on the grid's x axis, which allows 2**31 - 1 blocks; y allows 65535.
    row0 = cuda.blockIdx.x * tile
    col0 = cuda.blockIdx.y * tile
    m = out.shape[1]
    n = out.shape[2]
    k_total = a.shape[0] if trans_a else a.shape[1]
    k_start = cuda.blockIdx.z * k_chunk
    k_stop = min(k_total, k_start + k_chunk)
    zero = beta - beta
    acc = zero
    for k0 in range(k_start, k_stop, tile):
        # Each load reads consecutive addresses across tx, whichever operand is transposed.
        if trans_a:
            i, k = row0 + tx, k0 + ty
            sa[tx, ty] = a[k, i] if i < m and k < k_stop else zero
        else:
            i, k = row0 + ty, k0 + tx
            sa[ty, tx] = a[i, k] if i < m and k < k_stop else zero
        if trans_b:
            j, k = col0 + ty, k0 + tx
            sb[tx, ty] = b[j, k] if j < n and k < k_stop else zero
        else:
            j, k = col0 + tx, k0 + ty
            sb[ty, tx] = b[k, j] if j < n and k < k_stop else zero
        cuda.syncthreads()
        if tile == _TILE:
            # The default tile: a constant trip count, which the compiler unrolls.
            for q in range(_TILE):
                acc += sa[ty, q] * sb[q, tx]
        else:
            for q in range(tile):
                acc += sa[ty, q] * sb[q, tx]
        cuda.syncthreads()
    i = row0 + ty
    j = col0 + tx
    if i < m and j < n:
        if use_bias:
            acc += bias[j]
        if beta != zero:
            acc += beta * out[cuda.blockIdx.z, i, j]
        out[cuda.blockIdx.z, i, j] = acc


@kernel
def _sum_slices(parts, out, beta, bias, use_bias):
    """``out = sum_z parts[z] (+ bias) (+ beta * out)``, the slices added in order."""
    i, j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        acc = parts[0, i, j]
        for z in range(1, parts.shape[0]):
            acc += parts[z, i, j]
        if use_bias:
            acc += bias[j]
        if beta != beta - beta:
            acc += beta * out[i, j]
        out[i, j] = acc


@kernel
def _column_sum_slices(a, parts, k_chunk):
    """``parts[z, 0, j]``: the sum of column ``j`` of ``a`` over the ``z``-th slice of rows."""
    j = cuda.grid(1)
    if j < a.shape[1]:
        start = cuda.blockIdx.y * k_chunk
        stop = min(a.shape[0], start + k_chunk)
        acc = a[0, 0] - a[0, 0]
        for r in range(start, stop):
            acc += a[r, j]
        parts[cuda.blockIdx.y, 0, j] = acc


@kernel
def _transpose(src, dst):
    """``dst = src.T`` for 2-D arrays."""
    i, j = cuda.grid(2)
    if i < dst.shape[0] and j < dst.shape[1]:
        dst[i, j] = src[j, i]


@kernel
def _swap_leading(src, dst):
    """``dst[j, i, :] = src[i, j, :]``: batch-first to time-major and back."""
    index = cuda.grid(1)
    if index < src.shape[0] * src.shape[1]:
        i = index // src.shape[1]
        j = index - i * src.shape[1]
        for f in range(src.shape[2]):
            dst[j, i, f] = src[i, j, f]


def grid_1d(n: int) -> tuple[int, int]:
    """Blocks and threads per block of a 1-D elementwise kernel over ``n`` elements."""
    line = geometry().line
    return max(1, -(-n // line)), line


def grid_2d(rows: int, cols: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Blocks and threads per block of a 2-D kernel in square tiles over a ``rows`` by ``cols`` array."""
    tile = geometry().tile
    return (-(-rows // tile), -(-cols // tile)), (tile, tile)


def fresh(name: str, shape: tuple[int, ...], dtype: np.dtype, zero: bool = False) -> Any:
    """Allocate a new device array (zeroed on the device with ``zero``): the launchers' default allocator."""
    array = cuda.device_array(shape, dtype)
    if zero:
        _fill_zero[grid_1d(array.size)](array.reshape(array.size))
    return array


class Workspace:
    """Device buffers reused from one call to the next, by name, shape and dtype.

    A training step allocates the same buffers every time; reusing them spares the allocator's
    calls, which can wait for the device. A buffer asked for with ``zero`` is zeroed once, when
    it is made: such buffers (zero states and their gradients) are only ever read.
    ``generation`` counts the passes that wrote into them, as for the host's buffers, so that a
    network's backward pass recognises a cache whose buffers a later pass overwrote.
    """

    def __init__(self) -> None:
        self.arrays: dict[tuple[Any, ...], Any] = {}
        self.generation = 0

    def scope(self, *prefix: Any) -> Any:
        """Return an allocator whose buffers are this workspace's, under names starting with ``prefix``."""

        def alloc(name: str, shape: tuple[int, ...], dtype: np.dtype, zero: bool = False) -> Any:
            key = (*prefix, name, tuple(shape), np.dtype(dtype).str)
            array = self.arrays.get(key)
            if array is None:
                array = self.arrays[key] = fresh(name, shape, dtype, zero)
            return array

        return alloc


@kernel
def _fill_zero(a):
    i = cuda.grid(1)
    if i < a.shape[0]:
        a[i] = 0


def gemm(
    a: Any,
    b: Any,
    c: Any,
    *,
    trans_a: bool = False,
    trans_b: bool = False,
    beta: float = 0.0,
    bias: Any = None,
    alloc: Any = fresh,
) -> Any:
    """``c = op(a) @ op(b) (+ bias) (+ beta * c)`` on device arrays, deterministically.

    ``op`` transposes where asked; ``bias`` is a row vector of ``c``'s width.
    """
    m, n = c.shape
    k = a.shape[0] if trans_a else a.shape[1]
    dtype = c.dtype
    k_chunk = geometry().k_chunk
    slices = max(1, -(-k // k_chunk))
    scalar = dtype.type(beta)
    bias_arg = bias if bias is not None else alloc("no_bias", (1,), dtype)
    grid, threads = grid_2d(m, n)
    if slices == 1:
        out = c.reshape(1, m, n)
        _gemm[(*grid, 1), threads](a, b, out, trans_a, trans_b, k_chunk, scalar, bias_arg, bias is not None)
        return c
    parts = alloc("gemm_slices", (slices, m, n), dtype)
    _gemm[(*grid, slices), threads](a, b, parts, trans_a, trans_b, k_chunk, dtype.type(0.0), bias_arg, False)
    _sum_slices[grid, threads](parts, c, scalar, bias_arg, bias is not None)
    return c


def column_sums(a: Any, out: Any, *, beta: float = 0.0, alloc: Any = fresh) -> Any:
    """``out = a.sum(axis=0) (+ beta * out)`` for a 2-D device array ``a``, deterministically."""
    rows, cols = a.shape
    k_chunk = geometry().k_chunk
    slices = max(1, -(-rows // k_chunk))
    parts = alloc("column_slices", (slices, 1, cols), a.dtype)
    blocks, line = grid_1d(cols)
    _column_sum_slices[(blocks, slices), line](a, parts, k_chunk)
    dst = out.reshape(1, cols)
    no_bias = alloc("no_bias", (1,), a.dtype)
    _sum_slices[grid_2d(1, cols)](parts, dst, a.dtype.type(beta), no_bias, False)
    return out


def transpose(src: Any, alloc: Any = fresh) -> Any:
    """Return a contiguous device copy of ``src.T`` for a 2-D device array."""
    dst = alloc("transposed", (src.shape[1], src.shape[0]), src.dtype)
    _transpose[grid_2d(*dst.shape)](src, dst)
    return dst


def swap_leading(src: Any, alloc: Any = fresh) -> Any:
    """Return a contiguous device copy of a 3-D array with its first two axes swapped."""
    dst = alloc("swapped", (src.shape[1], src.shape[0], src.shape[2]), src.dtype)
    pairs = src.shape[0] * src.shape[1]
    _swap_leading[grid_1d(pairs)](src, dst)
    return dst


# ------------------------------------------------------------------------ recurrent loops
# Arguments shared by the loops: ``w`` is a recurrent weight matrix flattened to 1-D (``W_hh'``,
# (H, G*H), forward; ``W_hh``, (G*H, H), backward); ``stage`` says whether it fits in shared
# memory, where the block then copies it first. ``col`` is the first column of this direction in
# the layer's output (or output gradient) ``out`` (T, B, D*H). With ``masked``, ``lengths`` (B,)
# holds each sequence's real steps, the rest being padding at the end (both directions index by
# time): at a padding step the state is carried through unchanged and the output repeats it, and
# the backward pass carries the gradients through (``d_pre`` is zero there), as the CPU loops do.
# Truncated BPTT counts its blocks from each sequence's own last real step.


@device
def _tile_row(batch):
    """Return the thread's unit lane and row in its block's tile, its sequence, and whether that exists."""
    ty = cuda.threadIdx.y
    row = cuda.blockIdx.x * cuda.blockDim.y + ty
    return cuda.threadIdx.x, ty, row, row < batch


@device
def _row_length(lengths, masked, row, valid, steps):
    """Return the real steps of the thread's sequence: ``lengths[row]`` with ``masked``, else all."""
    return lengths[row] if masked and valid else steps


@device
def _carry_state(h_prev, h_next, hidden, out, hs, t, slot, row, col, keep):
    """Run a padding step of the thread's sequence: its state goes on unchanged, its output repeats it."""
    for j in range(cuda.threadIdx.x, hidden, cuda.blockDim.x):
        h = h_prev[j]
        h_next[j] = h
        out[t, row, col + j] = h
        if keep:
            hs[slot, row, j] = h


@device
def _carry_gradient(d_h, d_out, d_pre, t, row, col, add_output=True):
    """Backpropagate a padding step: no gate gradients, and ``d_h`` carried back, plus the output's gradient.

    The output of a padding step repeats the state, so its gradient joins the state's
    (``add_output``; once, where a cell has two gate-gradient arrays).
    """
    hidden = d_h.shape[0]
    zero = d_pre.dtype.type(0.0)
    for j in range(cuda.threadIdx.x, hidden, cuda.blockDim.x):
        if add_output:
            d_h[j] += d_out[t, row, col + j]
        for r in range(j, d_pre.shape[2], hidden):
            d_pre[t, row, r] = zero


@device
def _through_w_hh(w, d_gates, hidden, k, start):
    """Return ``start + (W_hh' @ d_gates)[k]``: unit ``k``'s gradient through the recurrent product."""
    acc = start
    for r in range(d_gates.shape[0]):
        acc += w[r * hidden + k] * d_gates[r]
    return acc


@device
def _stage_weights(w, stage, shared):
    """When ``stage``, copy ``w`` into the start of ``shared``, all the block's threads together."""
    if stage:
        threads = cuda.blockDim.x * cuda.blockDim.y
        for i in range(cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x, w.shape[0], threads):
            shared[i] = w[i]


@kernel
def _lstm_forward(
    gx, w, stage, h0, c0, reverse, keep, hs, cs, gates, tanh_cs, out, col, h_last, c_last, lengths, masked
):  # fmt: skip
    """LSTM over all steps; ``gx`` (T, B, 4H) holds ``x W_ih' + b_ih + b_hh``."""
    steps, batch = gx.shape[0], gx.shape[1]
    hidden = h0.shape[1]
    rows = cuda.blockDim.y
    tx, ty, row, valid = _tile_row(batch)
    length = _row_length(lengths, masked, row, valid, steps)
    shared = cuda.shared.array(0, dtype=gx.dtype)
    w_size = w.shape[0] if stage else 0
    _stage_weights(w, stage, shared)
    weights = shared[:w_size] if stage else w
    h_buf = shared[w_size : w_size + 2 * rows * hidden]
    c_buf = shared[w_size + 2 * rows * hidden : w_size + 3 * rows * hidden]
    mine = ty * hidden
    first = steps if reverse else 0
    if valid:
        for j in range(tx, hidden, cuda.blockDim.x):
            h_buf[mine + j] = h0[row, j]
            c_buf[mine + j] = c0[row, j]
            if keep:
                hs[first, row, j] = h0[row, j]
                cs[first, row, j] = c0[row, j]
    cuda.syncthreads()
    current = 0
    for s in range(steps):
        t = steps - 1 - s if reverse else s
        slot = t if reverse else t + 1
        h_prev = h_buf[current * rows * hidden + mine :]
        if valid and t >= length:
            _carry_state(
                h_prev, h_buf[(1 - current) * rows * hidden + mine :], hidden, out, hs, t, slot, row, col, keep
            )
            if keep:
                for j in range(tx, hidden, cuda.blockDim.x):
                    cs[slot, row, j] = c_buf[mine + j]
        elif valid:
            for j in range(tx, hidden, cuda.blockDim.x):
                a_i = gx[t, row, j]
                a_f = gx[t, row, hidden + j]
                a_g = gx[t, row, 2 * hidden + j]
                a_o = gx[t, row, 3 * hidden + j]
                for k in range(hidden):
                    h_k = h_prev[k]
                    base = 4 * hidden * k + j
                    a_i += weights[base] * h_k
                    a_f += weights[base + hidden] * h_k
                    a_g += weights[base + 2 * hidden] * h_k
                    a_o += weights[base + 3 * hidden] * h_k
                i, f, g, o, c, tanh_c, h = _lstm_unit_forward(a_i, a_f, a_g, a_o, c_buf[mine + j])
                c_buf[mine + j] = c
                h_buf[(1 - current) * rows * hidden + mine + j] = h
                out[t, row, col + j] = h
                if keep:
                    gates[t, row, j] = i
                    gates[t, row, hidden + j] = f
                    gates[t, row, 2 * hidden + j] = g
                    gates[t, row, 3 * hidden + j] = o
                    tanh_cs[t, row, j] = tanh_c
                    hs[slot, row, j] = h
                    cs[slot, row, j] = c
        cuda.syncthreads()
        current = 1 - current
    if valid:
        for j in range(tx, hidden, cuda.blockDim.x):
            h_last[row, j] = h_buf[current * rows * hidden + mine + j]
            c_last[row, j] = c_buf[mine + j]


@kernel
def _lstm_backward(
    d_out, col, d_h_last, d_c_last, w, stage, gates, tanh_cs, cs, reverse, bptt, d_pre, d_h0, d_c0, lengths, masked
):  # fmt: skip
    """LSTM BPTT; writes the pre-activation gradients ``d_pre`` (T, B, 4H) and the initial states'."""
    steps, batch = d_pre.shape[0], d_pre.shape[1]
    hidden = d_h0.shape[1]
    width = 4 * hidden
    rows = cuda.blockDim.y
    tx, ty, row, valid = _tile_row(batch)
    length = _row_length(lengths, masked, row, valid, steps)
    # Where the sequence's real steps start in this direction's order of steps.
    first_real = steps - length if reverse else 0
    one = d_pre.dtype.type(1.0)
    zero = d_pre.dtype.type(0.0)
    shared = cuda.shared.array(0, dtype=d_pre.dtype)
    w_size = w.shape[0] if stage else 0
    _stage_weights(w, stage, shared)
    weights = shared[:w_size] if stage else w
    d_h = shared[w_size + ty * hidden : w_size + (ty + 1) * hidden]
    d_c = shared[w_size + (rows + ty) * hidden : w_size + (rows + ty + 1) * hidden]
    d_gates = shared[w_size + 2 * rows * hidden + ty * width : w_size + 2 * rows * hidden + (ty + 1) * width]
    if valid:
        for j in range(tx, hidden, cuda.blockDim.x):
            d_h[j] = d_h_last[row, j]
            d_c[j] = d_c_last[row, j]
    cuda.syncthreads()
    for q in range(steps - 1, -1, -1):
        t = steps - 1 - q if reverse else q
        live = t < length
        cut = live and _cut_here(q - first_real, length, bptt)
        if valid and not live:
            _carry_gradient(d_h, d_out, d_pre, t, row, col)
        elif valid:
            for j in range(tx, hidden, cuda.blockDim.x):
                if cut:
                    d_h[j] = zero
                    d_c[j] = zero
                d_i, d_f, d_g, d_o, d_c[j] = _lstm_unit_backward(
                    d_out[t, row, col + j] + d_h[j],
                    d_c[j],
                    gates[t, row, j],
                    gates[t, row, hidden + j],
                    gates[t, row, 2 * hidden + j],
                    gates[t, row, 3 * hidden + j],
                    tanh_cs[t, row, j],
                    cs[t + 1 if reverse else t, row, j],
                    one,
                )
                d_gates[j] = d_i
                d_gates[hidden + j] = d_f
                d_gates[2 * hidden + j] = d_g
                d_gates[3 * hidden + j] = d_o
                d_pre[t, row, j] = d_i
                d_pre[t, row, hidden + j] = d_f
                d_pre[t, row, 2 * hidden + j] = d_g
                d_pre[t, row, 3 * hidden + j] = d_o
        cuda.syncthreads()
        if valid and live:
            for k in range(tx, hidden, cuda.blockDim.x):
                d_h[k] = _through_w_hh(weights, d_gates, hidden, k, zero)
        cuda.syncthreads()
    if valid:
        for j in range(tx, hidden, cuda.blockDim.x):
            d_h0[row, j] = d_h[j]
            d_c0[row, j] = d_c[j]


@kernel
def _gru_forward(gx, w, stage, b_hh, h0, reverse, keep, hs, gates, h_ns, out, col, h_last, lengths, masked):
    """GRU over all steps; ``gx`` (T, B, 3H) holds ``x W_ih' + b_ih``."""
    steps, batch = gx.shape[0], gx.shape[1]
    hidden = h0.shape[1]
    rows = cuda.blockDim.y
    tx, ty, row, valid = _tile_row(batch)
    length = _row_length(lengths, masked, row, valid, steps)
    one = gx.dtype.type(1.0)
    shared = cuda.shared.array(0, dtype=gx.dtype)
    w_size = w.shape[0] if stage else 0
    _stage_weights(w, stage, shared)
    weights = shared[:w_size] if stage else w
    h_buf = shared[w_size : w_size + 2 * rows * hidden]
    mine = ty * hidden
    first = steps if reverse else 0
    if valid:
        for j in range(tx, hidden, cuda.blockDim.x):
            h_buf[mine + j] = h0[row, j]
            if keep:
                hs[first, row, j] = h0[row, j]
    cuda.syncthreads()
    current = 0
    for s in range(steps):
        t = steps - 1 - s if reverse else s
        slot = t if reverse else t + 1
        h_prev = h_buf[current * rows * hidden + mine :]
        if valid and t >= length:
            _carry_state(
                h_prev, h_buf[(1 - current) * rows * hidden + mine :], hidden, out, hs, t, slot, row, col, keep
            )
        elif valid:
            for j in range(tx, hidden, cuda.blockDim.x):
                h_r = b_hh[j]
                h_z = b_hh[hidden + j]
                h_n = b_hh[2 * hidden + j]
                for k in range(hidden):
                    h_k = h_prev[k]
                    base = 3 * hidden * k + j
                    h_r += weights[base] * h_k
                    h_z += weights[base + hidden] * h_k
                    h_n += weights[base + 2 * hidden] * h_k
                r, z, n, h = _gru_unit_forward(
                    gx[t, row, j], gx[t, row, hidden + j], gx[t, row, 2 * hidden + j], h_r, h_z, h_n, h_prev[j], one
                )
                h_buf[(1 - current) * rows * hidden + mine + j] = h
                out[t, row, col + j] = h
                if keep:
                    gates[t, row, j] = r
                    gates[t, row, hidden + j] = z
                    gates[t, row, 2 * hidden + j] = n
                    h_ns[t, row, j] = h_n
                    hs[slot, row, j] = h
        cuda.syncthreads()
        current = 1 - current
    if valid:
        for j in range(tx, hidden, cuda.blockDim.x):
            h_last[row, j] = h_buf[current * rows * hidden + mine + j]


@kernel
def _gru_backward(
    d_out, col, d_h_last, w, stage, gates, h_ns, hs, reverse, bptt, d_pre_x, d_pre_h, d_h0, lengths, masked
):  # fmt: skip
    """GRU BPTT; writes the input-side and hidden-side pre-activation gradients (T, B, 3H)."""
    steps, batch = d_pre_x.shape[0], d_pre_x.shape[1]
    hidden = d_h0.shape[1]
    width = 3 * hidden
    rows = cuda.blockDim.y
    tx, ty, row, valid = _tile_row(batch)
    length = _row_length(lengths, masked, row, valid, steps)
    first_real = steps - length if reverse else 0
    one = d_pre_x.dtype.type(1.0)
    zero = d_pre_x.dtype.type(0.0)
    shared = cuda.shared.array(0, dtype=d_pre_x.dtype)
    w_size = w.shape[0] if stage else 0
    _stage_weights(w, stage, shared)
    weights = shared[:w_size] if stage else w
    d_h = shared[w_size + ty * hidden : w_size + (ty + 1) * hidden]
    # The part of dL/dh_{t-1} that skips W_hh (through z).
    d_skip = shared[w_size + (rows + ty) * hidden : w_size + (rows + ty + 1) * hidden]
    d_gates = shared[w_size + 2 * rows * hidden + ty * width : w_size + 2 * rows * hidden + (ty + 1) * width]
    if valid:
        for j in range(tx, hidden, cuda.blockDim.x):
            d_h[j] = d_h_last[row, j]
    cuda.syncthreads()
    for q in range(steps - 1, -1, -1):
        t = steps - 1 - q if reverse else q
        live = t < length
        cut = live and _cut_here(q - first_real, length, bptt)
        if valid and not live:
            _carry_gradient(d_h, d_out, d_pre_x, t, row, col)
            _carry_gradient(d_h, d_out, d_pre_h, t, row, col, False)
        elif valid:
            for j in range(tx, hidden, cuda.blockDim.x):
                if cut:
                    d_h[j] = zero
                d_r, d_z, d_n, d_hn, d_skip[j] = _gru_unit_backward(
                    d_out[t, row, col + j] + d_h[j],
                    gates[t, row, j],
                    gates[t, row, hidden + j],
                    gates[t, row, 2 * hidden + j],
                    h_ns[t, row, j],
                    hs[t + 1 if reverse else t, row, j],
                    one,
                )
                d_pre_x[t, row, j] = d_r
                d_pre_x[t, row, hidden + j] = d_z
                d_pre_x[t, row, 2 * hidden + j] = d_n
                d_pre_h[t, row, j] = d_r
                d_pre_h[t, row, hidden + j] = d_z
                d_pre_h[t, row, 2 * hidden + j] = d_hn
                d_gates[j] = d_r
                d_gates[hidden + j] = d_z
                d_gates[2 * hidden + j] = d_hn
        cuda.syncthreads()
        if valid and live:
            for k in range(tx, hidden, cuda.blockDim.x):
                d_h[k] = _through_w_hh(weights, d_gates, hidden, k, d_skip[k])
        cuda.syncthreads()
    if valid:
        for j in range(tx, hidden, cuda.blockDim.x):
            d_h0[row, j] = d_h[j]


@kernel
def _rnn_forward(gx, w, stage, h0, activation, reverse, keep, hs, out, col, h_last, lengths, masked):
    """Run a simple RNN over all steps; ``gx`` (T, B, H) holds ``x W_ih' + b_ih + b_hh``."""
    steps, batch = gx.shape[0], gx.shape[1]
    hidden = h0.shape[1]
    rows = cuda.blockDim.y
    tx, ty, row, valid = _tile_row(batch)
    length = _row_length(lengths, masked, row, valid, steps)
    zero = gx.dtype.type(0.0)
    shared = cuda.shared.array(0, dtype=gx.dtype)
    w_size = w.shape[0] if stage else 0
    _stage_weights(w, stage, shared)
    weights = shared[:w_size] if stage else w
    h_buf = shared[w_size : w_size + 2 * rows * hidden]
    mine = ty * hidden
    first = steps if reverse else 0
    if valid:
        for j in range(tx, hidden, cuda.blockDim.x):
            h_buf[mine + j] = h0[row, j]
            if keep:
                hs[first, row, j] = h0[row, j]
    cuda.syncthreads()
    current = 0
    for s in range(steps):
        t = steps - 1 - s if reverse else s
        slot = t if reverse else t + 1
        h_prev = h_buf[current * rows * hidden + mine :]
        if valid and t >= length:
            _carry_state(
                h_prev, h_buf[(1 - current) * rows * hidden + mine :], hidden, out, hs, t, slot, row, col, keep
            )
        elif valid:
            for j in range(tx, hidden, cuda.blockDim.x):
                a = gx[t, row, j]
                for k in range(hidden):
                    a += weights[hidden * k + j] * h_prev[k]
                h = _rnn_unit_forward(a, activation, zero)
                h_buf[(1 - current) * rows * hidden + mine + j] = h
                out[t, row, col + j] = h
                if keep:
                    hs[slot, row, j] = h
        cuda.syncthreads()
        current = 1 - current
    if valid:
        for j in range(tx, hidden, cuda.blockDim.x):
            h_last[row, j] = h_buf[current * rows * hidden + mine + j]


@kernel
def _rnn_backward(d_out, col, d_h_last, w, stage, hs, activation, reverse, bptt, d_pre, d_h0, lengths, masked):
    """Simple-RNN BPTT; writes the pre-activation gradients ``d_pre`` (T, B, H)."""
    steps, batch = d_pre.shape[0], d_pre.shape[1]
    hidden = d_h0.shape[1]
    rows = cuda.blockDim.y
    tx, ty, row, valid = _tile_row(batch)
    length = _row_length(lengths, masked, row, valid, steps)
    first_real = steps - length if reverse else 0
    one = d_pre.dtype.type(1.0)
    zero = d_pre.dtype.type(0.0)
    shared = cuda.shared.array(0, dtype=d_pre.dtype)
    w_size = w.shape[0] if stage else 0
    _stage_weights(w, stage, shared)
    weights = shared[:w_size] if stage else w
    d_h = shared[w_size + ty * hidden : w_size + (ty + 1) * hidden]
    d_gates = shared[w_size + (rows + ty) * hidden : w_size + (rows + ty + 1) * hidden]
    if valid:
        for j in range(tx, hidden, cuda.blockDim.x):
            d_h[j] = d_h_last[row, j]
    cuda.syncthreads()
    for q in range(steps - 1, -1, -1):
        t = steps - 1 - q if reverse else q
        live = t < length
        cut = live and _cut_here(q - first_real, length, bptt)
        if valid and not live:
            _carry_gradient(d_h, d_out, d_pre, t, row, col)
        elif valid:
            for j in range(tx, hidden, cuda.blockDim.x):
                if cut:
                    d_h[j] = zero
                value = _rnn_unit_backward(
                    d_out[t, row, col + j] + d_h[j], hs[t if reverse else t + 1, row, j], activation, zero, one
                )
                d_gates[j] = value
                d_pre[t, row, j] = value
        cuda.syncthreads()
        if valid and live:
            for k in range(tx, hidden, cuda.blockDim.x):
                d_h[k] = _through_w_hh(weights, d_gates, hidden, k, zero)
        cuda.syncthreads()
    if valid:
        for j in range(tx, hidden, cuda.blockDim.x):
            d_h0[row, j] = d_h[j]


# ---------------------------------------------------------------------------- launching


def launch_shape(batch: int, hidden: int) -> tuple[int, int]:
    """Threads per sequence (over its units) and sequences per block of a recurrent kernel.

    A function of the shape (and of :func:`geometry`) only. Up to ``unit_threads`` threads share
    a sequence's units; a block holds up to ``block_threads`` threads, but fewer sequences when
    that leaves the GPU short of blocks.
    """
    sizes = geometry()
    unit_threads = min(hidden, sizes.unit_threads)
    rows = max(1, min(sizes.block_threads // unit_threads, -(-batch // sizes.target_blocks)))
    return unit_threads, rows


def _launch(loop: Any, batch: int, hidden: int, w_size: int, per_row: int, itemsize: int, *args: Any) -> None:
    """Launch a recurrent ``loop`` kernel with ``per_row`` shared elements per sequence."""
    unit_threads, rows = launch_shape(batch, hidden)
    stage = (w_size + rows * per_row) * itemsize <= geometry().shared_bytes
    shared = ((w_size if stage else 0) + rows * per_row) * itemsize
    args = tuple(stage if arg is _STAGE else arg for arg in args)
    loop[(-(-batch // rows),), (unit_threads, rows), 0, shared](*args)


# Placeholder for the ``stage`` argument, decided by :func:`_launch`.
_STAGE = object()


class Cache:
    """What a backward pass needs from the forward pass of one layer and direction (device arrays)."""

    def __init__(self, cell: str, x: Any, w_ih: Any, w_hh: Any, reverse: bool, **arrays: Any) -> None:
        self.cell = cell
        self.x = x
        self.w_ih = w_ih
        self.w_hh = w_hh
        self.reverse = reverse
        self.__dict__.update(arrays)


def cell_forward(
    cell: str,
    x: Any,
    state: tuple[Any, ...],
    w_ih: Any,
    w_hh: Any,
    b_ih: Any,
    b_hh: Any,
    *,
    activation: int = _cells.TANH,
    reverse: bool = False,
    keep: bool = True,
    out: Any = None,
    col: int = 0,
    alloc: Any = fresh,
    lengths: Any = None,
) -> tuple[Any, tuple[Any, ...], Cache | None]:
    """Run one layer and direction over time-major ``x`` (T, B, F) on the device.

    Parameters
    ----------
    cell : {"lstm", "gru", "rnn"}
    x : device array (T, B, F)
    state : tuple of device arrays (B, H)
        ``(h0,)``, or ``(h0, c0)`` for LSTM.
    w_ih, w_hh, b_ih, b_hh : device arrays in PyTorch's layout
    activation : int
        ``_cells.TANH`` or ``_cells.RELU`` (simple RNN only).
    reverse : bool
        Run from the last step to the first.
    keep : bool
        Keep what the backward pass needs (training); without, return no cache.
    out : device array (T, B, W), optional
        Where to write the hidden states, columns ``col : col + H``; allocated when omitted.
    alloc : callable, optional
        ``alloc(name, shape, dtype)`` gives the device buffers (a :meth:`Workspace.scope`).
    lengths : device int64 array (B,), optional
        The real steps of each sequence, padded at the end (see the recurrent loops); None: all.

    Returns
    -------
    out, final_state, cache
    """
    spec = _cells.CELLS[cell]
    steps, batch, _ = x.shape
    hidden = w_hh.shape[1]
    rows = w_hh.shape[0]
    dtype = x.dtype
    if out is None:
        out = alloc("out", (steps, batch, hidden), dtype)
    gx = alloc("gx", (steps, batch, rows), dtype)
    bias = b_ih
    if spec.fold_biases:
        bias = alloc("bias", (rows,), dtype)
        _sum_vectors[grid_1d(rows)](b_ih, b_hh, bias)
    flat_x, flat_gx = x.reshape(steps * batch, x.shape[2]), gx.reshape(steps * batch, rows)
    gemm(flat_x, w_ih, flat_gx, trans_b=True, bias=bias, alloc=alloc)
    w_t = transpose(w_hh, alloc).reshape(-1)
    h_last = alloc("h_last", (batch, hidden), dtype)
    state_shape = (steps + 1, batch, hidden) if keep else (1, 1, 1)
    hs = alloc("hs", state_shape, dtype)
    masked = lengths is not None
    if not masked:
        lengths = alloc("no_lengths", (1,), np.int64)
    step = _Pass(
        hidden, rows * hidden, alloc, keep, gx=gx, w_t=w_t, b_hh=b_hh, activation=activation, reverse=reverse,
        hs=hs, out=out, col=col, h_last=h_last, out_shape=(steps, batch, hidden), lengths=lengths, masked=masked,
    )  # fmt: skip
    final, arrays = spec.driver("cuda_forward")(step, state)
    cache = Cache(cell, x, w_ih, w_hh, reverse, hs=hs, lengths=lengths, masked=masked, **arrays) if keep else None
    return out, final, cache


class _Pass:
    """One layer and direction's launch: its shapes, its buffers so far, and where more come from.

    What :func:`cell_forward` and :func:`cell_backward` share with the per-cell halves below.
    """

    def __init__(self, hidden: int, w_size: int, alloc: Any, keep: bool, **arrays: Any) -> None:
        self.hidden, self.w_size, self.alloc, self.keep = hidden, w_size, alloc, keep
        self.__dict__.update(arrays)

    def kept(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        """Return a buffer the backward pass reads: full size in training, a placeholder in inference."""
        return self.alloc(name, shape if self.keep else (1, 1, 1), dtype)

    def launch(self, loop: Any, batch: int, per_row: int, *args: Any) -> None:
        """Launch ``loop`` with ``per_row`` shared elements per sequence (see :func:`_launch`)."""
        _launch(loop, batch, self.hidden, self.w_size, per_row, args[0].dtype.itemsize, *args)


# The per-cell halves of :func:`cell_forward` and :func:`cell_backward`, named by the registry
# (``tsrnn.kernels._cells.CELLS``): each allocates its cell's buffers and launches its loop.


def _lstm_forward_pass(p: _Pass, state: tuple[Any, ...]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    gx, hs, h_last = p.gx, p.hs, p.h_last
    cs = p.kept("cs", hs.shape, gx.dtype)
    gates = p.kept("gates", gx.shape, gx.dtype)
    tanh_cs = p.kept("tanh_cs", p.out_shape, gx.dtype)
    c_last = p.alloc("c_last", h_last.shape, gx.dtype)
    p.launch(
        _lstm_forward, h_last.shape[0], 3 * p.hidden,
        gx, p.w_t, _STAGE, state[0], state[1], p.reverse, p.keep, hs, cs, gates, tanh_cs, p.out, p.col, h_last, c_last,
        p.lengths, p.masked,
    )  # fmt: skip
    return (h_last, c_last), {"cs": cs, "gates": gates, "tanh_cs": tanh_cs}


def _gru_forward_pass(p: _Pass, state: tuple[Any, ...]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    gx = p.gx
    gates = p.kept("gates", gx.shape, gx.dtype)
    h_ns = p.kept("h_ns", p.out_shape, gx.dtype)
    p.launch(
        _gru_forward, p.h_last.shape[0], 2 * p.hidden,
        gx, p.w_t, _STAGE, p.b_hh, state[0], p.reverse, p.keep, p.hs, gates, h_ns, p.out, p.col, p.h_last,
        p.lengths, p.masked,
    )  # fmt: skip
    return (p.h_last,), {"gates": gates, "h_ns": h_ns}


def _rnn_forward_pass(p: _Pass, state: tuple[Any, ...]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    p.launch(
        _rnn_forward, p.h_last.shape[0], 2 * p.hidden,
        p.gx, p.w_t, _STAGE, state[0], p.activation, p.reverse, p.keep, p.hs, p.out, p.col, p.h_last,
        p.lengths, p.masked,
    )  # fmt: skip
    return (p.h_last,), {"activation": p.activation}


def cell_backward(
    cache: Cache,
    d_out: Any,
    d_state: tuple[Any, ...],
    bptt: int,
    grads: tuple[Any, Any, Any, Any],
    *,
    col: int = 0,
    d_x: Any = None,
    accumulate_d_x: bool = False,
    alloc: Any = fresh,
) -> tuple[Any, tuple[Any, ...]]:
    """Backpropagate one layer and direction; the weight gradients go into ``grads``.

    Parameters
    ----------
    cache : Cache
        From :func:`cell_forward` with ``keep=True``.
    d_out : device array (T, B, W)
        Gradient of the layer output; this direction's columns are ``col : col + H``.
    d_state : tuple of device arrays (B, H)
        Gradients of the final state(s).
    bptt : int
        Truncated BPTT steps; 0 is full BPTT.
    grads : tuple of device arrays
        ``(d_w_ih, d_w_hh, d_b_ih, d_b_hh)`` to overwrite.
    d_x : device array (T, B, F), optional
        Where to write (or, with ``accumulate_d_x``, add) the input gradient.

    Returns
    -------
    d_x, d_initial_state
    """
    spec = _cells.CELLS[cache.cell]
    x = cache.x
    steps, batch, features = x.shape
    hidden = cache.w_hh.shape[1]
    rows = cache.w_hh.shape[0]
    dtype = x.dtype
    d_w_ih, d_w_hh, d_b_ih, d_b_hh = grads
    step = _Pass(
        hidden, rows * hidden, alloc, True, cache=cache, d_out=d_out, col=col, w=cache.w_hh.reshape(-1), bptt=bptt,
        d_pre=alloc("d_pre", (steps, batch, rows), dtype), d_h0=alloc("d_h0", (batch, hidden), dtype),
    )  # fmt: skip
    d_pre = step.d_pre
    d_initial, d_pre_h = spec.driver("cuda_backward")(step, d_state)
    flat_x = d_pre.reshape(steps * batch, rows)
    flat_h = d_pre_h.reshape(steps * batch, rows)
    first = 1 if cache.reverse else 0
    h_prev = cache.hs[first : first + steps].reshape(steps * batch, hidden)
    gemm(flat_h, h_prev, d_w_hh, trans_a=True, alloc=alloc)
    gemm(flat_x, x.reshape(steps * batch, features), d_w_ih, trans_a=True, alloc=alloc)
    column_sums(flat_h, d_b_hh, alloc=alloc)
    if spec.fold_biases:
        d_b_ih.copy_to_device(d_b_hh)
    else:
        column_sums(flat_x, d_b_ih, alloc=alloc)
    if d_x is None:
        d_x = alloc("d_x", (steps, batch, features), dtype)
    gemm(flat_x, cache.w_ih, d_x.reshape(steps * batch, features), beta=1.0 if accumulate_d_x else 0.0, alloc=alloc)
    return d_x, d_initial


def _lstm_backward_pass(p: _Pass, d_state: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    c, d_pre, d_h0 = p.cache, p.d_pre, p.d_h0
    d_c0 = p.alloc("d_c0", d_h0.shape, d_h0.dtype)
    p.launch(
        _lstm_backward, d_h0.shape[0], 2 * p.hidden + d_pre.shape[2],
        p.d_out, p.col, d_state[0], d_state[1], p.w, _STAGE, c.gates, c.tanh_cs, c.cs, c.reverse, p.bptt,
        d_pre, d_h0, d_c0, c.lengths, c.masked,
    )  # fmt: skip
    return (d_h0, d_c0), d_pre


def _gru_backward_pass(p: _Pass, d_state: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    c, d_pre, d_h0 = p.cache, p.d_pre, p.d_h0
    # The input and hidden sides of the n gate get different gradients: r multiplies the hidden side.
    d_pre_h = p.alloc("d_pre_h", d_pre.shape, d_pre.dtype)
    p.launch(
        _gru_backward, d_h0.shape[0], 2 * p.hidden + d_pre.shape[2],
        p.d_out, p.col, d_state[0], p.w, _STAGE, c.gates, c.h_ns, c.hs, c.reverse, p.bptt, d_pre, d_pre_h, d_h0,
        c.lengths, c.masked,
    )  # fmt: skip
    return (d_h0,), d_pre_h


def _rnn_backward_pass(p: _Pass, d_state: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    c, d_pre, d_h0 = p.cache, p.d_pre, p.d_h0
    p.launch(
        _rnn_backward, d_h0.shape[0], 2 * p.hidden,
        p.d_out, p.col, d_state[0], p.w, _STAGE, c.hs, c.activation, c.reverse, p.bptt, d_pre, d_h0,
        c.lengths, c.masked,
    )  # fmt: skip
    return (d_h0,), d_pre


@kernel
def _sum_vectors(a, b, out):
    """``out = a + b`` for 1-D device arrays."""
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = a[i] + b[i]


def ptx_signatures(dtype: np.dtype) -> list[tuple[Any, tuple[Any, ...]]]:
    """Every kernel of this module with the argument types it is launched with for ``dtype``.

    For compiling them all ahead of time (a check that they type for a real GPU).
    """
    from numba import types as nb

    f = nb.float32 if np.dtype(dtype) == np.float32 else nb.float64
    v, m, t3 = f[::1], f[:, ::1], f[:, :, ::1]
    i64, b = nb.int64, nb.boolean
    lengths = nb.int64[::1]
    return [
        (_gemm, (m, m, t3, b, b, i64, f, v, b)),
        (_sum_slices, (t3, m, f, v, b)),
        (_column_sum_slices, (m, t3, i64)),
        (_transpose, (m, m)),
        (_fill_zero, (v,)),
        (_swap_leading, (t3, t3)),
        (_sum_vectors, (v, v, v)),
        (_lstm_forward, (t3, v, b, m, m, b, b, t3, t3, t3, t3, t3, i64, m, m, lengths, b)),
        (_lstm_backward, (t3, i64, m, m, v, b, t3, t3, t3, b, i64, t3, m, m, lengths, b)),
        (_gru_forward, (t3, v, b, v, m, b, b, t3, t3, t3, t3, i64, m, lengths, b)),
        (_gru_backward, (t3, i64, m, v, b, t3, t3, t3, b, i64, t3, t3, m, lengths, b)),
        (_rnn_forward, (t3, v, b, m, i64, b, b, t3, t3, i64, m, lengths, b)),
        (_rnn_backward, (t3, i64, m, v, b, t3, i64, b, i64, t3, m, lengths, b)),
    ]
