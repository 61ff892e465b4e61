"""Public functional API of the CPU kernels: validation, allocation, and the compiled loops.

Each public function validates its arguments and then calls a private twin (``_lstm_forward``
and so on) that assumes valid input; the network layer calls the private twins directly.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tsrnn.kernels import _cpu
from tsrnn.kernels._cells import CELLS, RELU, TANH
from tsrnn.kernels._threads import run_chunks

__all__ = [
    "GRUCache",
    "LSTMCache",
    "RNNCache",
    "CHUNK_ROWS",
    "gru_backward",
    "gru_forward",
    "lstm_backward",
    "lstm_forward",
    "rnn_backward",
    "rnn_forward",
]

_ACTIVATIONS = {"tanh": TANH, "relu": RELU}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_MAX_BPTT = int(np.iinfo(np.int64).max)
# The steps each row runs, ``(starts, stops)`` (see ``_cpu``): None, every row runs every step.
EVERY_STEP = (None, None)


def new_array(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Allocate a fresh array; the default allocator of the private kernel drivers.

    The network passes an allocator that hands back the same buffers call after call, which
    spares the page faults of fresh large allocations.
    """
    return np.empty(shape, dtype)


# Rows of the batch that one thread processes together, whatever the batch: a constant, so
# that every row runs through matrix products of the same shapes (see ``_cpu``). Larger chunks
# make the per-step products more efficient, smaller ones waste less on the padding of a short
# last chunk and let more threads share a batch; on one core, chunks of 32 rows trained and
# predicted as fast as 64 at hidden 32-128 (batch 32 and 256) and 1.1-1.25x faster than 16.
CHUNK_ROWS = 32


def chunks_of(batch: int) -> tuple[int, int]:
    """Return how many chunks of :data:`CHUNK_ROWS` rows cover ``batch``, and their rows with padding."""
    n_chunks = -(-batch // CHUNK_ROWS)
    return n_chunks, n_chunks * CHUNK_ROWS


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward` needs from :func:`lstm_forward` (flat buffers, internal layout).

    It holds the recurrent weights by reference (and the input weights augmented with the
    bias, a copy): change ``w_hh`` in place between the forward and the backward pass and the
    gradients are those of the changed weights.
    """

    batch: int
    steps: int
    w_in: np.ndarray
    w_hh: np.ndarray
    xs: np.ndarray
    gates: np.ndarray
    hs: np.ndarray
    cs: np.ndarray
    tanh_cs: np.ndarray
    chunk: int
    window: tuple[np.ndarray | None, np.ndarray | None] = EVERY_STEP


class GRUCache(NamedTuple):
    """What :func:`gru_backward` needs from :func:`gru_forward` (internal layout)."""

    batch: int
    steps: int
    w_in: np.ndarray
    w_hh: np.ndarray
    xs: np.ndarray
    gates: np.ndarray
    h_ns: np.ndarray
    hs: np.ndarray
    chunk: int
    window: tuple[np.ndarray | None, np.ndarray | None] = EVERY_STEP


class RNNCache(NamedTuple):
    """What :func:`rnn_backward` needs from :func:`rnn_forward` (internal layout)."""

    batch: int
    steps: int
    w_in: np.ndarray
    w_hh: np.ndarray
    xs: np.ndarray
    hs: np.ndarray
    activation: int
    chunk: int
    window: tuple[np.ndarray | None, np.ndarray | None] = EVERY_STEP


# ------------------------------------------------------------------------------- validation


def _as_float_array(name: str, value: object, dtype: np.dtype | None = None, source: str = "`x`") -> np.ndarray:
    """``value`` as a C-contiguous base-class float array, or a TypeError/ValueError naming ``name``.

    ``dtype`` is the dtype ``value`` must share with ``source`` (the forward input).
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy array; got {type(value).__name__}")
    if value.dtype not in _FLOATS:
        raise TypeError(
            f"`{name}` must have dtype float32 or float64; got {value.dtype}. Convert it, for example with "
            f"{name}.astype(np.float32)"
        )
    if dtype is not None and value.dtype != dtype:
        raise TypeError(
            f"`{name}` has dtype {value.dtype} but {source} has dtype {dtype}; use one dtype for all arrays"
        )
    # asarray, not ascontiguousarray: that one turns a 0-d array into shape (1,). Converting before
    # the finiteness check also drops subclasses whose masks would hide NaN from ``isfinite``.
    array = np.asarray(value, order="C")
    if not np.isfinite(array).all():
        where = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(
            f"`{name}` contains NaN or inf (first at index {tuple(int(i) for i in where)}); replace them with "
            "finite values"
        )
    return writeable(array)


def writeable(array: np.ndarray) -> np.ndarray:
    """``array``, or a copy where it is read-only (memmaps, broadcasts, frozen arrays).

    Numba compiles a separate version of a kernel for every combination of read-only
    arguments (seconds each); a copy of the input costs microseconds.
    """
    return array if array.flags.writeable else array.copy()


def _check_shape(name: str, array: np.ndarray, shape: tuple[int, ...], meaning: str) -> None:
    if array.shape != shape:
        raise ValueError(f"`{name}` must have shape {meaning} = {shape}; got {array.shape}")


def _validate_weights(
    x: object, w_ih: object, w_hh: object, b_ih: object, b_hh: object, gates: int
) -> tuple[np.ndarray, ...]:
    x = _as_float_array("x", x)
    if x.ndim != 3 or 0 in x.shape:
        raise ValueError(f"`x` must be a non-empty array of shape (batch, time, features); got shape {x.shape}")
    dtype = x.dtype
    w_hh = _as_float_array("w_hh", w_hh, dtype)
    if w_hh.ndim != 2 or w_hh.shape[1] == 0 or w_hh.shape[0] != gates * w_hh.shape[1]:
        raise ValueError(f"`w_hh` must have shape ({gates} * hidden, hidden) with hidden >= 1; got {w_hh.shape}")
    hidden = w_hh.shape[1]
    w_ih = _as_float_array("w_ih", w_ih, dtype)
    _check_shape("w_ih", w_ih, (gates * hidden, x.shape[2]), f"({gates} * hidden, features)")
    b_ih = _as_float_array("b_ih", b_ih, dtype)
    _check_shape("b_ih", b_ih, (gates * hidden,), f"({gates} * hidden,)")
    b_hh = _as_float_array("b_hh", b_hh, dtype)
    _check_shape("b_hh", b_hh, (gates * hidden,), f"({gates} * hidden,)")
    return x, w_ih, w_hh, b_ih, b_hh


def _validate_state(
    name: str, state: object, batch: int, hidden: int, dtype: np.dtype, source: str = "`x`"
) -> np.ndarray:
    if state is None:
        return np.zeros((batch, hidden), dtype)
    state = _as_float_array(name, state, dtype, source)
    _check_shape(name, state, (batch, hidden), "(batch, hidden)")
    return state


def _validate_bptt(bptt_steps: object) -> int:
    if bptt_steps is None:
        return 0
    if isinstance(bptt_steps, bool) or not isinstance(bptt_steps, (int, np.integer)) or bptt_steps < 1:
        raise ValueError(f"`bptt_steps` must be None or an int >= 1; got {bptt_steps!r}")
    # Any value >= T is full BPTT; clamping keeps the compiled argument an int64 (a larger Python
    # int would not type, an np.uint64 would compile another specialisation).
    return min(int(bptt_steps), _MAX_BPTT)


def validate_lengths(lengths: object, batch: int, steps: int) -> np.ndarray | None:
    """Check the real lengths of padded sequences: None, or an int64 array (B,) of values in [1, T].

    Raises a TypeError or ValueError that names ``lengths`` and says what to give instead.
    """
    if lengths is None:
        return None
    array = np.asarray(lengths)
    if array.dtype == bool or array.dtype.kind not in "iu":
        if array.dtype.kind == "f" and array.size and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            array = array.astype(np.int64)
        else:
            raise TypeError(
                f"`lengths` must hold integers, the number of real steps of each sequence; got dtype {array.dtype}"
            )
    if array.shape != (batch,):
        raise ValueError(
            f"`lengths` must have one entry per sequence, shape ({batch},); got shape {array.shape}. Give each "
            "sequence's number of real steps, in the order of the sequences"
        )
    bad = np.flatnonzero((array < 1) | (array > steps))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"`lengths[{i}]` is {int(array[i])}, but every length must be between 1 and the {steps} steps of the "
            "padded sequences: a sequence has at least one real step, and no more steps than the padding holds"
        )
    # A copy: the caches keep it, and the caller's array may change before the backward pass.
    return np.array(array, dtype=np.int64)


def real_steps(lengths: np.ndarray, steps: int) -> np.ndarray:
    """Return the mask (n, steps) of the real steps of sequences of ``lengths`` padded at the end to ``steps``."""
    return np.arange(steps)[None, :] < lengths[:, None]


def step_window(
    lengths: np.ndarray | None, steps: int, reverse: bool = False
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Return the steps each row runs, ``(starts, stops)``, for sequences padded at the end to ``steps``.

    ``reverse`` is for the same sequences reversed in time, whose padding then comes first.
    Without ``lengths``, :data:`EVERY_STEP`.
    """
    if lengths is None:
        return EVERY_STEP
    if reverse:
        return steps - lengths, np.full_like(lengths, steps)
    return np.zeros_like(lengths), lengths


def _validate_grads(d_out: object, d_states: dict[str, object], cache: NamedTuple, cache_type: type) -> tuple:
    if not isinstance(cache, cache_type):
        raise TypeError(f"`cache` must be the {cache_type.__name__} returned by the forward pass")
    dtype = cache.xs.dtype
    d_out = _as_float_array("d_out", d_out, dtype, "the forward pass")
    batch = cache.batch
    expected = (batch, cache.steps, cache.w_hh.shape[1])
    _check_shape("d_out", d_out, expected, "(batch, time, hidden) of the forward output")
    hidden = expected[2]
    states = tuple(
        _validate_state(name, value, batch, hidden, dtype, "the forward pass") for name, value in d_states.items()
    )
    return (d_out, *states)


# ------------------------------------------------------------------------------------ LSTM


def lstm_forward(
    x: np.ndarray,
    h0: np.ndarray | None,
    c0: np.ndarray | None,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, LSTMCache]:
    """Run an LSTM layer over a batch of sequences.

    Gates in PyTorch's order (i, f, g, o): ``c_t = f * c_{t-1} + i * g``,
    ``h_t = o * tanh(c_t)``.

    Parameters
    ----------
    x : ndarray of shape (B, T, F)
        Input sequences, float32 or float64; every other array must have the same dtype.
    h0, c0 : ndarray of shape (B, H) or None
        Initial hidden and cell states; None means zeros.
    w_ih : ndarray of shape (4 * H, F)
        Input weights (``weight_ih_l0`` of ``torch.nn.LSTM``).
    w_hh : ndarray of shape (4 * H, H)
        Recurrent weights (``weight_hh_l0``).
    b_ih, b_hh : ndarray of shape (4 * H,)
        Input and recurrent biases.
    lengths : ndarray of int, shape (B,), optional
        Real steps of each sequence, padded at the end to T (see "Variable lengths" in
        :mod:`tsrnn.kernels`); None: every sequence has T steps.

    Returns
    -------
    out : ndarray of shape (B, T, H)
        The hidden state at every step.
    h_T, c_T : ndarray of shape (B, H)
        The final hidden and cell states (with ``lengths``, after each row's last real step).
    cache : LSTMCache
        What :func:`lstm_backward` needs.
    """
    x, w_ih, w_hh, b_ih, b_hh = _validate_weights(x, w_ih, w_hh, b_ih, b_hh, 4)
    hidden = w_hh.shape[1]
    h0 = _validate_state("h0", h0, x.shape[0], hidden, x.dtype)
    c0 = _validate_state("c0", c0, x.shape[0], hidden, x.dtype)
    window = step_window(validate_lengths(lengths, *x.shape[:2]), x.shape[1])
    return _lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, window=window)


def _lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, alloc=new_array, keep=True, window=EVERY_STEP):
    """Allocate and run; ``keep=False`` (inference) keeps one step of gates and no cache.

    ``window`` is ``(starts, stops)``, the steps each row runs (:func:`step_window`).
    """
    batch, steps, features = x.shape
    hidden = w_hh.shape[1]
    chunk = CHUNK_ROWS
    n_chunks, padded = chunks_of(batch)
    dtype = x.dtype
    w_in = _augmented(w_ih, b_ih + b_hh)
    xs = alloc("xs", (steps * (features + 1) * padded,), dtype)
    hs = alloc("hs", ((steps + 1) * hidden * padded,), dtype)
    if keep:
        gates = alloc("gates", (steps * 4 * hidden * padded,), dtype)
        cs = alloc("cs", ((steps + 1) * hidden * padded,), dtype)
        tanh_cs = alloc("tanh_cs", (steps * hidden * padded,), dtype)
    else:
        gates = alloc("gates_step", (n_chunks * 4 * hidden * chunk,), dtype)
        cs = alloc("cs_step", (n_chunks * 2 * hidden * chunk,), dtype)
        tanh_cs = alloc("tanh_cs_step", (n_chunks * hidden * chunk,), dtype)
    out = alloc("out", (batch, steps, hidden), dtype)
    h_last = alloc("h_last", (batch, hidden), dtype)
    c_last = alloc("c_last", (batch, hidden), dtype)
    run_chunks(
        _cpu.lstm_forward, n_chunks, chunk, x, h0, c0, w_in, w_hh, xs, gates, hs, cs, tanh_cs, out, h_last, c_last,
        keep, *window,
    )  # fmt: skip
    cache = LSTMCache(batch, steps, w_in, w_hh, xs, gates, hs, cs, tanh_cs, chunk, window) if keep else None
    return out, h_last, c_last, cache


def lstm_backward(
    d_out: np.ndarray,
    d_h_T: np.ndarray | None,
    d_c_T: np.ndarray | None,
    cache: LSTMCache,
    bptt_steps: int | None = None,
) -> tuple[np.ndarray, ...]:
    """Backpropagate through an LSTM layer (BPTT).

    Parameters
    ----------
    d_out : ndarray of shape (B, T, H)
        Gradient of the loss with respect to ``out``.
    d_h_T, d_c_T : ndarray of shape (B, H) or None
        Gradients with respect to the final states; None means zeros.
    cache : LSTMCache
        The cache returned by :func:`lstm_forward`.
    bptt_steps : int or None
        Truncated BPTT; see :mod:`tsrnn.kernels` for the exact semantics. None is full BPTT.

    Returns
    -------
    d_x : ndarray of shape (B, T, F)
    d_h0, d_c0 : ndarray of shape (B, H)
    d_w_ih : ndarray of shape (4 * H, F)
    d_w_hh : ndarray of shape (4 * H, H)
    d_b_ih, d_b_hh : ndarray of shape (4 * H,)
    """
    bptt = _validate_bptt(bptt_steps)
    d_out, d_h_T, d_c_T = _validate_grads(d_out, {"d_h_T": d_h_T, "d_c_T": d_c_T}, cache, LSTMCache)
    return _lstm_backward(d_out, d_h_T, d_c_T, cache, bptt)


def _augmented(w_ih: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``[W_ih | bias]``: the input weights with the bias as a last column (see ``_cpu``)."""
    return np.ascontiguousarray(np.concatenate([w_ih, bias[:, None]], axis=1))


def _transposed(w_hh: np.ndarray) -> np.ndarray:
    """``W_hh'`` as a contiguous array: BLAS packs it for ``W_hh' @ d_pre`` faster than a transpose."""
    return np.ascontiguousarray(w_hh.T)


def _weight_grad_parts(n_chunks: int, w_in: np.ndarray, w_hh: np.ndarray, alloc=new_array) -> tuple[np.ndarray, ...]:
    dtype = w_hh.dtype
    return (
        alloc("d_w_in_parts", (n_chunks, *w_in.shape), dtype),
        alloc("d_w_hh_parts", (n_chunks, *w_hh.shape), dtype),
    )


def _reduce_weight_grads(
    d_w_in_parts: np.ndarray,
    d_w_hh_parts: np.ndarray,
    d_b_hh_parts: np.ndarray | None,
    out: tuple[np.ndarray, ...] | None,
) -> tuple[np.ndarray, ...]:
    """Sum the per-chunk gradients in chunk order into (d_w_ih, d_w_hh, d_b_ih, d_b_hh).

    Without ``d_b_hh_parts`` the two biases are one (they enter the sum once), so their
    gradients are equal.
    """
    rows, width = d_w_in_parts.shape[1:]
    dtype = d_w_in_parts.dtype
    if out is None:
        out = (
            np.empty((rows, width - 1), dtype),
            np.empty(d_w_hh_parts.shape[1:], dtype),
            np.empty(rows, dtype),
            np.empty(rows, dtype),
        )
    d_w_ih, d_w_hh, d_b_ih, d_b_hh = out
    d_w_in = np.empty((rows, width), dtype)
    _cpu.sum_chunks(d_w_in_parts, d_w_in)
    _cpu.sum_chunks(d_w_hh_parts, d_w_hh)
    d_w_ih[...] = d_w_in[:, :-1]
    d_b_ih[...] = d_w_in[:, -1]
    if d_b_hh_parts is None:
        d_b_hh[...] = d_b_ih
    else:
        _cpu.sum_chunks(d_b_hh_parts, d_b_hh)
    return out


def _lstm_backward(d_out, d_h_T, d_c_T, cache, bptt_steps, weight_grads=None, alloc=new_array):
    batch, steps, hidden = d_out.shape
    chunk = cache.chunk
    n_chunks, padded = chunks_of(batch)
    dtype = d_out.dtype
    features = cache.w_in.shape[1] - 1
    d_outs = alloc("d_outs", (steps * hidden * padded,), dtype)
    d_pres = alloc("d_pres", (n_chunks, 4 * hidden * chunk), dtype)
    d_hs = alloc("d_hs", (n_chunks, hidden * chunk), dtype)
    d_cs = alloc("d_cs", (n_chunks, hidden * chunk), dtype)
    d_xs = alloc("d_xs", (steps * features * padded,), dtype)
    d_x = alloc("d_x", (batch, steps, features), dtype)
    d_h0 = alloc("d_h0", (batch, hidden), dtype)
    d_c0 = alloc("d_c0", (batch, hidden), dtype)
    parts = _weight_grad_parts(n_chunks, cache.w_in, cache.w_hh, alloc)
    run_chunks(
        _cpu.lstm_backward, n_chunks, chunk,
        d_out, d_h_T, d_c_T, cache.w_in, _transposed(cache.w_hh), cache.xs, cache.gates, cache.hs, cache.cs,
        cache.tanh_cs, bptt_steps, d_outs, d_pres, d_hs, d_cs, d_xs, d_x, d_h0, d_c0, *parts, *cache.window,
    )  # fmt: skip
    return (d_x, d_h0, d_c0, *_reduce_weight_grads(*parts, None, weight_grads))


# ------------------------------------------------------------------------------------- GRU


def gru_forward(
    x: np.ndarray,
    h0: np.ndarray | None,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, GRUCache]:
    """Run a GRU layer over a batch of sequences.

    Gates in PyTorch's order (r, z, n): ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h_t = (1 - z) * n + z * h_{t-1}``.

    Parameters
    ----------
    x : ndarray of shape (B, T, F)
        Input sequences, float32 or float64; every other array must have the same dtype.
    h0 : ndarray of shape (B, H) or None
        Initial hidden state; None means zeros.
    w_ih : ndarray of shape (3 * H, F)
    w_hh : ndarray of shape (3 * H, H)
    b_ih, b_hh : ndarray of shape (3 * H,)
    lengths : ndarray of int, shape (B,), optional
        Real steps of each sequence, as for :func:`lstm_forward`.

    Returns
    -------
    out : ndarray of shape (B, T, H)
    h_T : ndarray of shape (B, H)
    cache : GRUCache
    """
    x, w_ih, w_hh, b_ih, b_hh = _validate_weights(x, w_ih, w_hh, b_ih, b_hh, 3)
    h0 = _validate_state("h0", h0, x.shape[0], w_hh.shape[1], x.dtype)
    window = step_window(validate_lengths(lengths, *x.shape[:2]), x.shape[1])
    return _gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, window=window)


def _gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, alloc=new_array, keep=True, window=EVERY_STEP):
    """Allocate and run; ``keep=False`` (inference) keeps one step of gates and no cache."""
    batch, steps, features = x.shape
    hidden = w_hh.shape[1]
    chunk = CHUNK_ROWS
    n_chunks, padded = chunks_of(batch)
    dtype = x.dtype
    w_in = _augmented(w_ih, b_ih)
    xs = alloc("xs", (steps * (features + 1) * padded,), dtype)
    if keep:
        gates = alloc("gates", (steps * 3 * hidden * padded,), dtype)
        h_ns = alloc("h_ns", (steps * hidden * padded,), dtype)
    else:
        gates = alloc("gates_step", (n_chunks * 3 * hidden * chunk,), dtype)
        h_ns = alloc("h_ns_step", (n_chunks * hidden * chunk,), dtype)
    hs = alloc("hs", ((steps + 1) * hidden * padded,), dtype)
    bias_planes = alloc("bias_planes", (n_chunks, 3 * hidden * chunk), dtype)
    recs = alloc("recs", (n_chunks, 3 * hidden * chunk), dtype)
    out = alloc("out", (batch, steps, hidden), dtype)
    h_last = alloc("h_last", (batch, hidden), dtype)
    run_chunks(
        _cpu.gru_forward, n_chunks, chunk, x, h0, w_in, w_hh, b_hh,
        xs, gates, h_ns, hs, bias_planes, recs, out, h_last, keep, *window,
    )  # fmt: skip
    return out, h_last, GRUCache(batch, steps, w_in, w_hh, xs, gates, h_ns, hs, chunk, window) if keep else None


def gru_backward(
    d_out: np.ndarray,
    d_h_T: np.ndarray | None,
    cache: GRUCache,
    bptt_steps: int | None = None,
) -> tuple[np.ndarray, ...]:
    """Backpropagate through a GRU layer (BPTT).

    Parameters
    ----------
    d_out : ndarray of shape (B, T, H)
    d_h_T : ndarray of shape (B, H) or None
    cache : GRUCache
    bptt_steps : int or None

    Returns
    -------
    d_x : ndarray of shape (B, T, F)
    d_h0 : ndarray of shape (B, H)
    d_w_ih : ndarray of shape (3 * H, F)
    d_w_hh : ndarray of shape (3 * H, H)
    d_b_ih, d_b_hh : ndarray of shape (3 * H,)
    """
    bptt = _validate_bptt(bptt_steps)
    d_out, d_h_T = _validate_grads(d_out, {"d_h_T": d_h_T}, cache, GRUCache)
    return _gru_backward(d_out, d_h_T, cache, bptt)


def _gru_backward(d_out, d_h_T, cache, bptt_steps, weight_grads=None, alloc=new_array):
    batch, steps, hidden = d_out.shape
    chunk = cache.chunk
    n_chunks, padded = chunks_of(batch)
    dtype = d_out.dtype
    features = cache.w_in.shape[1] - 1
    d_outs = alloc("d_outs", (steps * hidden * padded,), dtype)
    d_pres_x = alloc("d_pres_x", (n_chunks, 3 * hidden * chunk), dtype)
    d_pres_h = alloc("d_pres_h", (n_chunks, 3 * hidden * chunk), dtype)
    d_hs = alloc("d_hs", (n_chunks, hidden * chunk), dtype)
    d_xs = alloc("d_xs", (steps * features * padded,), dtype)
    d_x = alloc("d_x", (batch, steps, features), dtype)
    d_h0 = alloc("d_h0", (batch, hidden), dtype)
    parts = _weight_grad_parts(n_chunks, cache.w_in, cache.w_hh, alloc)
    d_b_hh_parts = alloc("d_b_hh_parts", (n_chunks, 3 * hidden), dtype)
    run_chunks(
        _cpu.gru_backward, n_chunks, chunk,
        d_out, d_h_T, cache.w_in, _transposed(cache.w_hh), cache.xs, cache.gates, cache.h_ns, cache.hs, bptt_steps,
        d_outs, d_pres_x, d_pres_h, d_hs, d_xs, d_x, d_h0, *parts, d_b_hh_parts, *cache.window,
    )  # fmt: skip
    return (d_x, d_h0, *_reduce_weight_grads(*parts, d_b_hh_parts, weight_grads))


# ------------------------------------------------------------------------------------- RNN


def _activation_code(activation: object) -> int:
    if not isinstance(activation, str) or activation not in _ACTIVATIONS:
        raise ValueError(f"`activation` must be 'tanh' or 'relu'; got {activation!r}")
    return _ACTIVATIONS[activation]


def rnn_forward(
    x: np.ndarray,
    h0: np.ndarray | None,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    activation: str = "tanh",
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, RNNCache]:
    """Run a simple (Elman) RNN layer: ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.

    Parameters
    ----------
    x : ndarray of shape (B, T, F)
    h0 : ndarray of shape (B, H) or None
    w_ih : ndarray of shape (H, F)
    w_hh : ndarray of shape (H, H)
    b_ih, b_hh : ndarray of shape (H,)
    activation : {"tanh", "relu"}
    lengths : ndarray of int, shape (B,), optional
        Real steps of each sequence, as for :func:`lstm_forward`.

    Returns
    -------
    out : ndarray of shape (B, T, H)
    h_T : ndarray of shape (B, H)
    cache : RNNCache
    """
    code = _activation_code(activation)
    x, w_ih, w_hh, b_ih, b_hh = _validate_weights(x, w_ih, w_hh, b_ih, b_hh, 1)
    h0 = _validate_state("h0", h0, x.shape[0], w_hh.shape[1], x.dtype)
    window = step_window(validate_lengths(lengths, *x.shape[:2]), x.shape[1])
    return _rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, code, window=window)


def _rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, activation, alloc=new_array, keep=True, window=EVERY_STEP):
    """Allocate and run; ``keep=False`` (inference) returns no cache, the buffers being the same."""
    batch, steps, features = x.shape
    hidden = w_hh.shape[1]
    chunk = CHUNK_ROWS
    n_chunks, padded = chunks_of(batch)
    dtype = x.dtype
    w_in = _augmented(w_ih, b_ih + b_hh)
    xs = alloc("xs", (steps * (features + 1) * padded,), dtype)
    hs = alloc("hs", ((steps + 1) * hidden * padded,), dtype)
    out = alloc("out", (batch, steps, hidden), dtype)
    h_last = alloc("h_last", (batch, hidden), dtype)
    run_chunks(_cpu.rnn_forward, n_chunks, chunk, x, h0, w_in, w_hh, activation, xs, hs, out, h_last, *window)
    return out, h_last, RNNCache(batch, steps, w_in, w_hh, xs, hs, activation, chunk, window) if keep else None


def rnn_backward(
    d_out: np.ndarray,
    d_h_T: np.ndarray | None,
    cache: RNNCache,
    bptt_steps: int | None = None,
) -> tuple[np.ndarray, ...]:
    """Backpropagate through a simple RNN layer (BPTT).

    Parameters
    ----------
    d_out : ndarray of shape (B, T, H)
    d_h_T : ndarray of shape (B, H) or None
    cache : RNNCache
    bptt_steps : int or None

    Returns
    -------
    d_x : ndarray of shape (B, T, F)
    d_h0 : ndarray of shape (B, H)
    d_w_ih : ndarray of shape (H, F)
    d_w_hh : ndarray of shape (H, H)
    d_b_ih, d_b_hh : ndarray of shape (H,)
    """
    bptt = _validate_bptt(bptt_steps)
    d_out, d_h_T = _validate_grads(d_out, {"d_h_T": d_h_T}, cache, RNNCache)
    return _rnn_backward(d_out, d_h_T, cache, bptt)


def _rnn_backward(d_out, d_h_T, cache, bptt_steps, weight_grads=None, alloc=new_array):
    batch, steps, hidden = d_out.shape
    chunk = cache.chunk
    n_chunks, padded = chunks_of(batch)
    dtype = d_out.dtype
    features = cache.w_in.shape[1] - 1
    d_outs = alloc("d_outs", (steps * hidden * padded,), dtype)
    d_pres = alloc("d_pres", (n_chunks, hidden * chunk), dtype)
    d_hs = alloc("d_hs", (n_chunks, hidden * chunk), dtype)
    d_xs = alloc("d_xs", (steps * features * padded,), dtype)
    d_x = alloc("d_x", (batch, steps, features), dtype)
    d_h0 = alloc("d_h0", (batch, hidden), dtype)
    parts = _weight_grad_parts(n_chunks, cache.w_in, cache.w_hh, alloc)
    run_chunks(
        _cpu.rnn_backward, n_chunks, chunk,
        d_out, d_h_T, cache.w_in, _transposed(cache.w_hh), cache.xs, cache.hs, cache.activation, bptt_steps,
        d_outs, d_pres, d_hs, d_xs, d_x, d_h0, *parts, *cache.window,
    )  # fmt: skip
    return (d_x, d_h0, *_reduce_weight_grads(*parts, None, weight_grads))


# ------------------------------------------------------------------------- compiling ahead


def compile_backward(cell: str, dtype: np.dtype, masked: bool = False) -> None:
    """Compile the backward loop of ``cell`` in ``dtype`` (and the dense head's backward), without a forward pass.

    Runs the backward driver once on a one-row, one-step, one-unit cache of zeros: the types of
    its arguments are those of a training step's, so the machine code lands in the on-disk
    cache under the signature that training looks up (:mod:`tsrnn.kernels._ahead`); with
    ``masked``, those of a step whose rows have lengths. The buffers are larger than such a
    cache needs, which the loops do not mind.
    """
    dtype = np.dtype(dtype)
    gates = CELLS[cell].gates
    flat = np.zeros(16 * gates * CHUNK_ROWS, dtype)
    w_in, w_hh = np.zeros((gates, 2), dtype), np.zeros((gates, 1), dtype)
    d_out, d_state = np.zeros((1, 1, 1), dtype), np.zeros((1, 1), dtype)
    window = step_window(np.ones(1, np.int64), 1) if masked else EVERY_STEP
    if cell == "lstm":
        cache = LSTMCache(1, 1, w_in, w_hh, flat, flat, flat, flat, flat, CHUNK_ROWS, window)
        _lstm_backward(d_out, d_state, d_state, cache, 0)
    elif cell == "gru":
        _gru_backward(d_out, d_state, GRUCache(1, 1, w_in, w_hh, flat, flat, flat, flat, CHUNK_ROWS, window), 0)
    else:
        _rnn_backward(d_out, d_state, RNNCache(1, 1, w_in, w_hh, flat, flat, TANH, CHUNK_ROWS, window), 0)
    features = np.zeros((1, 1), dtype)
    _cpu.dense_backward(features, features, features, features.copy(), np.zeros(1, dtype), features.copy())
