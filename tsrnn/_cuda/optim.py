"""The training arithmetic on the GPU: optimiser steps, gradient clipping, reductions, batches.

These are the device twins of :mod:`tsrnn.optim` and the row selection of the training loop;
the losses (:mod:`tsrnn._cuda.losses`) use its reductions. They take Numba device arrays (float32 or float64), launch
kernels on the default stream and never wait for the GPU: what the host needs (the loss, the
gradient norm, whether anything became NaN or inf) stays in small device arrays that the
caller reads once per epoch.

The per-element optimiser math is the very source the CPU runs (:func:`tsrnn.optim.sgd_update`,
:func:`tsrnn.optim.adam_update`), and the per-step scalars come from the host optimiser
(``step_scalars``), so a device step follows a CPU step operation for operation (on a GPU the
compiler may fuse a multiplication and an addition, which changes the last bit).

Every reduction has one fixed shape: ``block`` threads per block (see
:class:`tsrnn._cuda._compile.Geometry`), a number of blocks that depends only on the length of
the data, each thread summing its elements in index order, a
tree sum in shared memory in a fixed order, one partial sum per block, and one block that sums
the partials the same way. No atomics: the result depends only on the data and its length.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numba import cuda, float64, int32, int64

from tsrnn import optim
from tsrnn._cuda._compile import DEFAULT_GEOMETRY, device, device_function, geometry, kernel

__all__ = [
    "SHARED_BLOCK",
    "FLOAT64_KERNELS",
    "KERNELS",
    "DeviceOptimizer",
    "adam_step",
    "block_sum",
    "clip_grad_norm",
    "flat",
    "gather_rows",
    "gather_rows_time_major",
    "new_flag",
    "ptx_signatures",
    "reduction_grid",
    "sgd_step",
    "sink_flag",
    "sum_partials",
    "workspace",
]

# The most threads per block (the default), which the reductions' shared memory is sized for; a
# launch may use fewer, and the kernels read how many from ``cuda.blockDim``.
SHARED_BLOCK = DEFAULT_GEOMETRY.block

_CLIP_EPS = optim.CLIP_EPS

_sgd_update = device_function(optim.sgd_update)
_adam_update = device_function(optim.adam_update)


# ----------------------------------------------------------------------------- device helpers


@device
def block_sum(shared, t, value):
    """Sum of ``value`` over the block's threads, the same tree every time; all threads get it."""
    # Earlier readers of shared[0] must be done before it is overwritten.
    cuda.syncthreads()
    shared[t] = value
    cuda.syncthreads()
    width = cuda.blockDim.x // 2
    while width > 0:
        if t < width:
            shared[t] += shared[t + width]
        cuda.syncthreads()
        width //= 2
    return shared[0]


@device
def _block_max_abs(shared, t, x):
    """Largest ``abs(x[i])`` in float64 over all of ``x`` by one block; NaN wins."""
    best = 0.0
    for i in range(t, x.size, cuda.blockDim.x):
        a = abs(float64(x[i]))
        if a > best or a != a:
            best = a
    cuda.syncthreads()
    shared[t] = best
    cuda.syncthreads()
    width = cuda.blockDim.x // 2
    while width > 0:
        if t < width:
            other = shared[t + width]
            if other > shared[t] or other != other:
                shared[t] = other
        cuda.syncthreads()
        width //= 2
    return shared[0]


@device
def sum_partials(shared, t, partials, n_blocks):
    """Sum of ``partials[:n_blocks]`` by one block, in a fixed order."""
    s = 0.0
    for j in range(t, n_blocks, cuda.blockDim.x):
        s += partials[j]
    return block_sum(shared, t, s)


# ------------------------------------------------------------------------------------ kernels


def _sgd_kernel(params, grads, buf, lr, momentum, weight_decay, use_decay, use_momentum, nesterov, first, flag):
    i = cuda.grid(1)
    if i >= params.size or flag[0] != 0:
        return
    b = buf[i] if use_momentum else params[i]
    p, b = _sgd_update(params[i], grads[i], b, lr, momentum, weight_decay, use_decay, use_momentum, nesterov, first)
    if use_momentum:
        buf[i] = b
    params[i] = p


def _adam_kernel(
    params, grads, exp_avg, exp_avg_sq, weight_decay, use_decay, decoupled, param_scale, small_weight,
    avg_weight, rest_weight, beta2, sq_weight, step_size, bias_correction2_sqrt, epsilon, flag,
):  # fmt: skip
    i = cuda.grid(1)
    if i >= params.size or flag[0] != 0:
        return
    p, m, v = _adam_update(
        params[i], grads[i], exp_avg[i], exp_avg_sq[i], weight_decay, use_decay, decoupled, param_scale,
        small_weight, avg_weight, rest_weight, beta2, sq_weight, step_size, bias_correction2_sqrt, epsilon,
    )  # fmt: skip
    exp_avg[i] = m
    exp_avg_sq[i] = v
    params[i] = p


def _sum_squares_kernel(x, partials):
    shared = cuda.shared.array(SHARED_BLOCK, float64)
    t = cuda.threadIdx.x
    s = 0.0
    for i in range(cuda.blockIdx.x * cuda.blockDim.x + t, x.size, cuda.gridDim.x * cuda.blockDim.x):
        a = float64(x[i])
        s += a * a
    total = block_sum(shared, t, s)
    if t == 0:
        partials[cuda.blockIdx.x] = total


def _norm_kernel(x, partials, n_blocks, norm, flag):
    # One block. The sum of squares overflows only for float64 values beyond 1e154; then, as on
    # the CPU, the norm is recomputed from the values divided by the largest one. That rare
    # path walks all of x with this one block.
    shared = cuda.shared.array(SHARED_BLOCK, float64)
    t = cuda.threadIdx.x
    total = sum_partials(shared, t, partials, n_blocks)
    if math.isfinite(total):
        result = math.sqrt(total)
    else:
        result = _block_max_abs(shared, t, x)
        if math.isfinite(result) and result != 0.0:
            scale = 1.0 / result
            s = 0.0
            for i in range(t, x.size, cuda.blockDim.x):
                a = float64(x[i]) * scale
                s += a * a
            result = result * math.sqrt(block_sum(shared, t, s))
    if t == 0:
        norm[0] = result
        if not math.isfinite(result):
            flag[0] = 1


def _clip_kernel(x, norm, max_norm):
    i = cuda.grid(1)
    if i >= x.size:
        return
    value = norm[0]
    if not math.isfinite(value):
        return
    factor = max_norm / (value + _CLIP_EPS)
    if factor < 1.0:
        # The product in float64, rounded once to the dtype of x by the store.
        x[i] = float64(x[i]) * factor


def _gather_kernel(src, index, dst):
    i = cuda.grid(1)
    width = dst.shape[1]
    if i >= dst.shape[0] * width:
        return
    row = i // width
    col = i - row * width
    dst[row, col] = src[index[row], col]


def _gather_time_major_kernel(src, index, dst):
    i = cuda.grid(1)
    n_steps, batch, width = dst.shape
    if i >= n_steps * batch * width:
        return
    f = i % width
    r = (i // width) % batch
    step = i // (width * batch)
    dst[step, r, f] = src[index[r], step, f]


_sgd_kernel = kernel(_sgd_kernel)
_adam_kernel = kernel(_adam_kernel)
_sum_squares_kernel = kernel(_sum_squares_kernel)
_norm_kernel = kernel(_norm_kernel)
_clip_kernel = kernel(_clip_kernel)
_gather_kernel = kernel(_gather_kernel)
_gather_time_major_kernel = kernel(_gather_time_major_kernel)

KERNELS = (
    _sgd_kernel,
    _adam_kernel,
    _sum_squares_kernel,
    _norm_kernel,
    _clip_kernel,
    _gather_kernel,
    _gather_time_major_kernel,
)

# Kernels that compute in float64 whatever the data's dtype, on purpose: the loss, the gradient
# norm and the clipping product. The other kernels hold no float64 arithmetic for float32 data.
FLOAT64_KERNELS = (_sum_squares_kernel, _norm_kernel, _clip_kernel)


def ptx_signatures(dtype: Any) -> list[tuple[Any, tuple[Any, ...]]]:
    """Every kernel of this module with the argument types it is launched with for ``dtype``.

    Parameters
    ----------
    dtype : numpy dtype or Numba float type
        float32 or float64, the dtype of the parameters and data.

    Returns
    -------
    list of (kernel, tuple of Numba types)
    """
    f = dtype if isinstance(dtype, numba.types.Float) else numba.from_dtype(np.dtype(dtype))
    vec, mat, cube = f[::1], f[:, ::1], f[:, :, ::1]
    acc, flag, index, b = float64[::1], int32[::1], int64[::1], numba.types.boolean
    return [
        (_sgd_kernel, (vec, vec, vec, f, f, f, b, b, b, b, flag)),
        (_adam_kernel, (vec, vec, vec, vec, f, b, b, f, b, f, f, f, f, f, f, f, flag)),
        (_sum_squares_kernel, (vec, acc)),
        (_norm_kernel, (vec, acc, int64, acc, flag)),
        (_clip_kernel, (vec, acc, float64)),
        (_gather_kernel, (mat, index, mat)),
        (_gather_time_major_kernel, (cube, index, cube)),
    ]


# ---------------------------------------------------------------------------------- launching


def _grid(n: int) -> int:
    return max(1, -(-n // geometry().block))


def reduction_grid(n: int) -> int:
    return min(_grid(n), geometry().max_blocks)


def workspace() -> Any:
    """Return the scratch a reduction needs: a float64 device vector of ``max_blocks`` partial sums.

    One can serve every call on the default stream; allocate it once per training run rather
    than letting each call allocate its own.
    """
    # Sized for the default geometry, which no launch exceeds.
    return cuda.device_array(DEFAULT_GEOMETRY.max_blocks, np.float64)


def new_flag() -> Any:
    """Return a device int32 ``[0]``: the flag that the kernels set to 1 on a NaN or inf."""
    return cuda.to_device(np.zeros(1, np.int32))


def sink_flag() -> Any:
    # Written, never read: no need to upload a zero.
    return cuda.device_array(1, np.int32)


def flat(d_array: Any) -> Any:
    return d_array if d_array.ndim == 1 else d_array.reshape(d_array.size)


def _check_like(name: str, d_array: Any, d_params: Any) -> None:
    if d_array.shape != d_params.shape or d_array.dtype != d_params.dtype:
        raise ValueError(
            f"`{name}` must have the shape {d_params.shape} and dtype {d_params.dtype} of the parameters; "
            f"got {d_array.shape} {d_array.dtype}"
        )


def sgd_step(
    d_params: Any,
    d_grads: Any,
    d_buffer: Any | None,
    lr: Any,
    momentum: Any,
    weight_decay: Any,
    use_decay: bool,
    use_momentum: bool,
    nesterov: bool,
    first: bool,
    d_flag: Any,
) -> None:
    """One SGD step in place on the device, as :class:`tsrnn.optim.SGD` takes it.

    Parameters
    ----------
    d_params, d_grads : device array of shape (n,)
        Parameters (updated) and gradient, float32 or float64.
    d_buffer : device array of shape (n,) or None
        Momentum buffer (updated); None without momentum.
    lr, momentum, weight_decay, use_decay, use_momentum, nesterov, first
        The scalars of this step as returned by ``SGD.step_scalars``: floats in the parameters'
        dtype, then whether there is weight decay and momentum, Nesterov momentum, and whether
        this is the first step (the buffer starts as the gradient).
    d_flag : device int32 array of shape (1,)
        When it holds a nonzero value the step is skipped, so that the parameters keep the last
        values computed from finite gradients.
    """
    # Without momentum the buffer is never touched: the parameters stand in for it.
    buffer = d_buffer if use_momentum else d_params
    _sgd_kernel[_grid(d_params.size), geometry().block](
        d_params, d_grads, buffer, lr, momentum, weight_decay, use_decay, use_momentum, nesterov, first, d_flag
    )


def adam_step(
    d_params: Any,
    d_grads: Any,
    d_exp_avg: Any,
    d_exp_avg_sq: Any,
    weight_decay: Any,
    use_decay: bool,
    decoupled: bool,
    param_scale: Any,
    small_weight: bool,
    avg_weight: Any,
    rest_weight: Any,
    beta2: Any,
    sq_weight: Any,
    step_size: Any,
    bias_correction2_sqrt: Any,
    epsilon: Any,
    d_flag: Any,
) -> None:
    """One Adam step in place on the device, as :class:`tsrnn.optim.Adam` takes it.

    Parameters
    ----------
    d_params, d_grads, d_exp_avg, d_exp_avg_sq : device array of shape (n,)
        Parameters and the two moments (updated) and the gradient, float32 or float64.
    weight_decay, use_decay, ..., epsilon
        The twelve scalars of this step as returned by ``Adam.step_scalars`` (floats in the
        parameters' dtype, and flags), in the order of the signature.
    d_flag : device int32 array of shape (1,)
        When it holds a nonzero value the step is skipped.
    """
    _adam_kernel[_grid(d_params.size), geometry().block](
        d_params, d_grads, d_exp_avg, d_exp_avg_sq, weight_decay, use_decay, decoupled, param_scale, small_weight,
        avg_weight, rest_weight, beta2, sq_weight, step_size, bias_correction2_sqrt, epsilon, d_flag,
    )  # fmt: skip


class DeviceOptimizer:
    """The state of a host :class:`~tsrnn.optim.SGD` or :class:`~tsrnn.optim.Adam` on the device.

    The moments are uploaded once; each :meth:`step` computes the step's scalars on the host
    from the host optimiser's hyperparameters (its ``learning_rate`` may change between steps)
    and this object's step count, and launches one kernel. :meth:`download` writes the state
    back, after which the host optimiser continues (or pickles) as if it had taken the steps.

    Parameters
    ----------
    optimizer : SGD or Adam
        The host optimiser. Build a new :class:`DeviceOptimizer` after changing its state
        (``load_state_dict``) on the host.

    Attributes
    ----------
    optimizer : SGD or Adam
        The host optimiser.
    n_steps : int
        Steps taken, counting the host optimiser's steps before the upload.
    """

    def __init__(self, optimizer: optim.SGD | optim.Adam) -> None:
        if isinstance(optimizer, optim.Adam):
            host = (optimizer.exp_avg, optimizer.exp_avg_sq)
        elif isinstance(optimizer, optim.SGD):
            host = () if optimizer.momentum_buffer is None else (optimizer.momentum_buffer,)
        else:
            raise TypeError(f"`optimizer` must be a tsrnn.optim.SGD or Adam; got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.n_steps = optimizer.n_steps
        self._moments = tuple(cuda.to_device(array) for array in host)
        self._no_flag = new_flag()

    def step(self, d_params: Any, d_grads: Any, d_flag: Any | None = None) -> None:
        """Update ``d_params`` in place from ``d_grads``, without waiting for the GPU.

        Parameters
        ----------
        d_params, d_grads : device array of shape (n,)
            Parameters and gradient, of the host optimiser's parameters' shape and dtype.
        d_flag : device int32 array of shape (1,), optional
            When it holds a nonzero value (a NaN or inf was met) the step is skipped on the
            device, so that the parameters and moments keep their last finite values.
        """
        params = self.optimizer.params
        _check_like("d_params", d_params, params)
        _check_like("d_grads", d_grads, params)
        flag = self._no_flag if d_flag is None else d_flag
        scalars = self.optimizer.step_scalars(self.n_steps)
        if isinstance(self.optimizer, optim.Adam):
            adam_step(d_params, d_grads, *self._moments, *scalars, flag)
        else:
            sgd_step(d_params, d_grads, self._moments[0] if self._moments else None, *scalars, flag)
        self.n_steps += 1

    def download(self, d_params: Any | None = None) -> None:
        """Write the moments and the step count (and ``d_params``, if given) into the host optimiser.

        Waits for the GPU.
        """
        optimizer = self.optimizer
        if isinstance(optimizer, optim.Adam):
            host = (optimizer.exp_avg, optimizer.exp_avg_sq)
        else:
            host = () if optimizer.momentum_buffer is None else (optimizer.momentum_buffer,)
        for d_array, array in zip(self._moments, host, strict=True):
            d_array.copy_to_host(array)
        if d_params is not None:
            d_params.copy_to_host(optimizer.params)
        optimizer.n_steps = self.n_steps


def clip_grad_norm(
    d_grads: Any,
    max_norm: float,
    *,
    d_flag: Any | None = None,
    d_norm: Any | None = None,
    d_workspace: Any | None = None,
) -> Any:
    """Scale ``d_grads`` in place so that its Euclidean norm is at most ``max_norm``, on the device.

    As :func:`tsrnn.optim.clip_grad_norm`: the norm in float64, the factor
    ``max_norm / (norm + 1e-6)`` applied where it is below 1, each product formed in float64
    and rounded once, and the gradient left alone when the norm is NaN or inf.

    Parameters
    ----------
    d_grads : device array
        The gradient, float32 or float64, C-contiguous.
    max_norm : float
        Largest norm allowed, > 0.
    d_flag : device int32 array of shape (1,), optional
        Set to 1 when the norm is NaN or inf (never reset here).
    d_norm : device float64 array of shape (1,), optional
        Where the norm goes; allocated when not given.
    d_workspace : device array, optional
        Scratch from :func:`workspace`; allocated when not given.

    Returns
    -------
    device float64 array of shape (1,)
        The norm before clipping (``d_norm``).

    Raises
    ------
    ValueError
        If ``max_norm`` is not > 0.
    """
    max_norm = optim.check_range("max_norm", max_norm, 0.0, math.inf, low_open=True, high_open=False)
    x = flat(d_grads)
    d_norm = cuda.device_array(1, np.float64) if d_norm is None else d_norm
    d_flag = sink_flag() if d_flag is None else d_flag
    d_workspace = workspace() if d_workspace is None else d_workspace
    n_blocks = reduction_grid(x.size)
    _sum_squares_kernel[n_blocks, geometry().block](x, d_workspace)
    _norm_kernel[1, geometry().block](x, d_workspace, n_blocks, d_norm, d_flag)
    _clip_kernel[_grid(x.size), geometry().block](x, d_norm, max_norm)
    return d_norm


def gather_rows(d_src: Any, d_index: Any, d_dst: Any) -> None:
    """``d_dst[i] = d_src[d_index[i]]`` on the device, for batch-first arrays of rank 2 or 3.

    Parameters
    ----------
    d_src : device array of shape (N, ...)
        Rows to pick from, C-contiguous.
    d_index : device int64 array of shape (b,)
        Rows to pick, each in ``[0, N)`` (not checked).
    d_dst : device array of shape (b, ...)
        Written; the dtype and trailing shape of ``d_src``, C-contiguous.
    """
    if d_dst.shape[1:] != d_src.shape[1:] or d_dst.shape[0] != d_index.shape[0] or d_dst.dtype != d_src.dtype:
        raise ValueError(f"cannot gather rows of shape {d_src.shape} into {d_dst.shape} by {d_index.shape[0]} indices")
    width = int(np.prod(d_src.shape[1:]))
    src = d_src.reshape(d_src.shape[0], width)
    dst = d_dst.reshape(d_dst.shape[0], width)
    _gather_kernel[_grid(dst.size), geometry().block](src, d_index, dst)


def gather_rows_time_major(d_src: Any, d_index: Any, d_dst: Any) -> None:
    """``d_dst[t, i] = d_src[d_index[i], t]`` on the device: a batch of windows, time-major.

    Parameters
    ----------
    d_src : device array of shape (N, T, F)
        Windows, batch-first, C-contiguous.
    d_index : device int64 array of shape (b,)
        Windows to pick, each in ``[0, N)`` (not checked).
    d_dst : device array of shape (T, b, F)
        Written, C-contiguous.
    """
    n_rows, n_steps, width = d_src.shape
    if d_dst.shape != (n_steps, d_index.shape[0], width) or d_dst.dtype != d_src.dtype:
        raise ValueError(
            f"cannot gather windows of shape {d_src.shape} by {d_index.shape[0]} indices into {d_dst.shape}"
        )
    _gather_time_major_kernel[_grid(d_dst.size), geometry().block](d_src, d_index, d_dst)
