"""CUDA twins of :mod:`tsrnn.kernels`: the same functions and contracts, run on an NVIDIA GPU.

The arguments, results, gate orders, PyTorch weight layout and truncated-BPTT semantics are
those of the CPU kernels (see :mod:`tsrnn.kernels`)::

    from tsrnn.kernels import cuda as kc
    out, h_T, c_T, cache = kc.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    d_x, d_h0, d_c0, d_w_ih, d_w_hh, d_b_ih, d_b_hh = kc.lstm_backward(d_out, d_h_T, d_c_T, cache)

Arrays may be numpy arrays or CUDA device arrays (anything with ``__cuda_array_interface__``:
Numba device arrays, CuPy arrays, PyTorch CUDA tensors). With numpy ``x`` the inputs are
checked as on the CPU, finiteness included, copied to the GPU, and the results come back as
numpy arrays; with a device ``x`` every array must be on the device, shapes and dtypes are
checked (values are not scanned, which would cost a copy to the host) and the results are Numba
device arrays. Results are deterministic: the same inputs give the same bits on every run.

Importing this module needs numba-cuda and a GPU (or Numba's CUDA simulator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tsrnn._cuda import require_cuda

require_cuda()

from numba import cuda  # noqa: E402

from tsrnn._cuda import kernels as _k  # noqa: E402
from tsrnn.kernels import _functional as kf  # noqa: E402
from tsrnn.kernels._cells import CELLS  # noqa: E402

__all__ = [
    "CudaCache",
    "gru_backward",
    "gru_forward",
    "lstm_backward",
    "lstm_forward",
    "rnn_backward",
    "rnn_forward",
]


@dataclass
class CudaCache:
    """What a backward function needs from its forward function (device arrays)."""

    cell: str
    layer: _k.Cache
    on_host: bool


def _on_device(value: Any) -> bool:
    if value is None:
        return False
    # The simulator's device arrays carry no __cuda_array_interface__.
    return cuda.devicearray.is_cuda_ndarray(value) or hasattr(value, "__cuda_array_interface__")


def _device_check(name: str, value: Any, shape: tuple[int, ...], dtype: np.dtype | None) -> Any:
    if not _on_device(value):
        raise TypeError(f"`{name}` must be a CUDA device array like `x`; got {type(value).__name__}")
    array = value if cuda.devicearray.is_cuda_ndarray(value) else cuda.as_cuda_array(value)
    if dtype is None and array.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"`{name}` must have dtype float32 or float64; got {array.dtype}")
    if dtype is not None and array.dtype != dtype:
        raise TypeError(f"`{name}` has dtype {array.dtype} but `x` has dtype {dtype}; use one dtype for all arrays")
    if shape and tuple(array.shape) != shape:
        raise ValueError(f"`{name}` must have shape {shape}; got {tuple(array.shape)}")
    if not array.is_c_contiguous():
        raise ValueError(f"`{name}` must be C-contiguous")
    return array


def _prepare_forward(cell: str, x: Any, states: dict[str, Any], weights: tuple[Any, ...]) -> tuple:
    """Return checked device arrays: ``x`` time-major, the states (zeros for None), the weights."""
    gates = CELLS[cell].gates
    if not _on_device(x):
        x, *weights = kf._validate_weights(x, *weights, gates)
        hidden = weights[1].shape[1]
        checked = [kf._validate_state(name, s, x.shape[0], hidden, x.dtype) for name, s in states.items()]
        return cuda.to_device(np.ascontiguousarray(x.transpose(1, 0, 2))), *map(cuda.to_device, checked + weights), True
    x = _device_check("x", x, (), None)
    if len(x.shape) != 3 or 0 in x.shape:
        raise ValueError(f"`x` must be a non-empty array of shape (batch, time, features); got shape {x.shape}")
    batch, _, features = x.shape
    w_hh = _device_check("w_hh", weights[1], (), x.dtype)
    if len(w_hh.shape) != 2 or w_hh.shape[1] == 0 or w_hh.shape[0] != gates * w_hh.shape[1]:
        raise ValueError(f"`w_hh` must have shape ({gates} * hidden, hidden) with hidden >= 1; got {w_hh.shape}")
    hidden = w_hh.shape[1]
    w_ih = _device_check("w_ih", weights[0], (gates * hidden, features), x.dtype)
    b_ih = _device_check("b_ih", weights[2], (gates * hidden,), x.dtype)
    b_hh = _device_check("b_hh", weights[3], (gates * hidden,), x.dtype)
    shape = (batch, hidden)
    checked = [
        _k.fresh(name, shape, x.dtype, zero=True) if s is None else _device_check(name, s, shape, x.dtype)
        for name, s in states.items()
    ]
    return _k.swap_leading(x), *checked, w_ih, w_hh, b_ih, b_hh, False


def _lengths_on_device(lengths: Any, batch: int, steps: int) -> Any:
    """Return the checked ``lengths`` as a device int64 array (B,), or None.

    Lengths given on the device are checked for shape and dtype only, like the other arrays.
    """
    if lengths is None:
        return None
    if _on_device(lengths):
        array = lengths if cuda.devicearray.is_cuda_ndarray(lengths) else cuda.as_cuda_array(lengths)
        if array.dtype != np.int64 or tuple(array.shape) != (batch,):
            raise ValueError(
                f"`lengths` on the device must be int64 of shape ({batch},); got {array.dtype} {array.shape}"
            )
        return array
    return cuda.to_device(kf.validate_lengths(lengths, batch, steps))


def _forward(
    cell: str, x: Any, states: dict[str, Any], weights: tuple[Any, ...], activation: int, lengths: Any
) -> tuple:
    x_tm, *rest, on_host = _prepare_forward(cell, x, states, weights)
    n_states = len(states)
    state, weights = tuple(rest[:n_states]), rest[n_states:]
    lengths = _lengths_on_device(lengths, x_tm.shape[1], x_tm.shape[0])
    out, final, layer = _k.cell_forward(cell, x_tm, state, *weights, activation=activation, lengths=lengths)
    out = _k.swap_leading(out)
    results = (out, *final)
    if on_host:
        results = tuple(a.copy_to_host() for a in results)
    return (*results, CudaCache(cell, layer, on_host))


def _backward(cell: str, d_out: Any, d_states: dict[str, Any], cache: Any, bptt_steps: int | None) -> tuple:
    if not isinstance(cache, CudaCache) or cache.cell != cell:
        raise TypeError(f"`cache` must be the CudaCache returned by tsrnn.kernels.cuda.{cell}_forward")
    bptt = kf._validate_bptt(bptt_steps)
    layer = cache.layer
    steps, batch, _ = layer.x.shape
    hidden = layer.w_hh.shape[1]
    dtype = layer.x.dtype
    shape = (batch, hidden)
    if cache.on_host:
        d_out = kf._as_float_array("d_out", d_out, dtype, "the forward pass")
        kf._check_shape("d_out", d_out, (batch, steps, hidden), "(batch, time, hidden) of the forward output")
        d_out = cuda.to_device(np.ascontiguousarray(d_out.transpose(1, 0, 2)))
        states = [
            cuda.to_device(kf._validate_state(n, s, batch, hidden, dtype, "the forward pass"))
            for n, s in d_states.items()
        ]
    else:
        d_out = _k.swap_leading(_device_check("d_out", d_out, (batch, steps, hidden), dtype))
        states = [
            _k.fresh(n, shape, dtype, zero=True) if s is None else _device_check(n, s, shape, dtype)
            for n, s in d_states.items()
        ]
    grads = tuple(cuda.device_array(a.shape, dtype) for a in (layer.w_ih, layer.w_hh))
    grads += tuple(cuda.device_array(layer.w_hh.shape[0], dtype) for _ in range(2))
    d_x, d_initial = _k.cell_backward(layer, d_out, tuple(states), bptt, grads)
    results = (_k.swap_leading(d_x), *d_initial, *grads)
    if cache.on_host:
        results = tuple(a.copy_to_host() for a in results)
    return results


def lstm_forward(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any, lengths: Any = None) -> tuple:
    """LSTM forward on the GPU; as :func:`tsrnn.kernels.lstm_forward`.

    Returns
    -------
    out : (B, T, H)
    h_T, c_T : (B, H)
    cache : CudaCache
    """
    return _forward("lstm", x, {"h0": h0, "c0": c0}, (w_ih, w_hh, b_ih, b_hh), 0, lengths)


def lstm_backward(d_out: Any, d_h_T: Any, d_c_T: Any, cache: CudaCache, bptt_steps: int | None = None) -> tuple:
    """LSTM BPTT on the GPU; as :func:`tsrnn.kernels.lstm_backward`.

    Returns
    -------
    d_x, d_h0, d_c0, d_w_ih, d_w_hh, d_b_ih, d_b_hh
    """
    return _backward("lstm", d_out, {"d_h_T": d_h_T, "d_c_T": d_c_T}, cache, bptt_steps)


def gru_forward(x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any, lengths: Any = None) -> tuple:
    """GRU forward on the GPU; as :func:`tsrnn.kernels.gru_forward`.

    Returns
    -------
    out : (B, T, H)
    h_T : (B, H)
    cache : CudaCache
    """
    return _forward("gru", x, {"h0": h0}, (w_ih, w_hh, b_ih, b_hh), 0, lengths)


def gru_backward(d_out: Any, d_h_T: Any, cache: CudaCache, bptt_steps: int | None = None) -> tuple:
    """GRU BPTT on the GPU; as :func:`tsrnn.kernels.gru_backward`.

    Returns
    -------
    d_x, d_h0, d_w_ih, d_w_hh, d_b_ih, d_b_hh
    """
    return _backward("gru", d_out, {"d_h_T": d_h_T}, cache, bptt_steps)


def rnn_forward(
    x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any, activation: str = "tanh", lengths: Any = None
) -> tuple:
    """Simple-RNN forward on the GPU; as :func:`tsrnn.kernels.rnn_forward`.

    Returns
    -------
    out : (B, T, H)
    h_T : (B, H)
    cache : CudaCache
    """
    return _forward("rnn", x, {"h0": h0}, (w_ih, w_hh, b_ih, b_hh), kf._activation_code(activation), lengths)


def rnn_backward(d_out: Any, d_h_T: Any, cache: CudaCache, bptt_steps: int | None = None) -> tuple:
    """Simple-RNN BPTT on the GPU; as :func:`tsrnn.kernels.rnn_backward`.

    Returns
    -------
    d_x, d_h0, d_w_ih, d_w_hh, d_b_ih, d_b_hh
    """
    return _backward("rnn", d_out, {"d_h_T": d_h_T}, cache, bptt_steps)
