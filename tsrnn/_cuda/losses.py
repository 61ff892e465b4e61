"""The training losses on the GPU, the device twin of :mod:`tsrnn.losses`.

The per-value math is the very source the CPU runs (the scalar functions of
:mod:`tsrnn.losses`, compiled here for the GPU), so the gradient of a prediction is the CPU's
operation for operation. The loss itself is summed in float64 whatever the data's dtype, in the
fixed-shape reductions of :mod:`tsrnn._cuda.optim`: one partial sum per block, then one block
that sums the partials, no atomics.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numba import cuda, float64, int32, int64

from tsrnn import losses
from tsrnn._cuda._compile import device_function, geometry, kernel
from tsrnn._cuda.optim import SHARED_BLOCK, block_sum, flat, reduction_grid, sink_flag, sum_partials, workspace

__all__ = ["FLOAT64_KERNELS", "KERNELS", "DeviceLoss", "ptx_signatures"]

_SCALAR = {
    name: device_function(getattr(losses, name))
    for loss in losses.LOSSES
    for name in (f"{loss}_value", f"{loss}_gradient")
}
_value = device_function(losses.loss_value, **{k: v for k, v in _SCALAR.items() if k.endswith("_value")})
_gradient = device_function(losses.loss_gradient, **{k: v for k, v in _SCALAR.items() if k.endswith("_gradient")})


def _loss_kernel(kind, pred, true, params, inv, grad, partials):
    shared = cuda.shared.array(SHARED_BLOCK, float64)
    t = cuda.threadIdx.x
    width = params.size
    s = 0.0
    for i in range(cuda.blockIdx.x * cuda.blockDim.x + t, pred.size, cuda.gridDim.x * cuda.blockDim.x):
        d = pred[i] - true[i]
        p = params[i % width]
        grad[i] = _gradient(kind, d, p, inv)
        s += _value(kind, float64(d), float64(p), 0.5)
    total = block_sum(shared, t, s)
    if t == 0:
        partials[cuda.blockIdx.x] = total


def _loss_total_kernel(partials, n_blocks, size, weight, total, flag):
    shared = cuda.shared.array(SHARED_BLOCK, float64)
    t = cuda.threadIdx.x
    loss = sum_partials(shared, t, partials, n_blocks) / size
    if t == 0:
        total[0] = total[0] + loss * weight
        if not math.isfinite(loss):
            flag[0] = 1


_cross_entropy_row = device_function(
    losses.cross_entropy_row, row_max=device_function(losses.row_max), sum_exp=device_function(losses.sum_exp)
)


def _cross_entropy_kernel(pred, true, width, inv, grad, partials):
    # One thread per row of logits: the classes of a row are few.
    shared = cuda.shared.array(SHARED_BLOCK, float64)
    t = cuda.threadIdx.x
    s = 0.0
    for row in range(cuda.blockIdx.x * cuda.blockDim.x + t, pred.size // width, cuda.gridDim.x * cuda.blockDim.x):
        s += _cross_entropy_row(pred, true, row * width, width, inv, grad)
    total = block_sum(shared, t, s)
    if t == 0:
        partials[cuda.blockIdx.x] = total


_loss_kernel = kernel(_loss_kernel)
_loss_total_kernel = kernel(_loss_total_kernel)
_cross_entropy_kernel = kernel(_cross_entropy_kernel)

KERNELS = (_loss_kernel, _loss_total_kernel, _cross_entropy_kernel)
# The loss sums in float64 on purpose, whatever the data's dtype (cross-entropy computes in it too).
FLOAT64_KERNELS = KERNELS


def ptx_signatures(dtype: Any) -> list[tuple[Any, tuple[Any, ...]]]:
    """Every kernel of this module with the argument types it is launched with for ``dtype``."""
    f = dtype if isinstance(dtype, numba.types.Float) else numba.from_dtype(np.dtype(dtype))
    vec, acc, flag = f[::1], float64[::1], int32[::1]
    return [
        (_loss_kernel, (int64, vec, vec, vec, f, vec, acc)),
        (_loss_total_kernel, (acc, int64, float64, float64, acc, flag)),
        (_cross_entropy_kernel, (vec, vec, int64, float64, vec, acc)),
    ]


class DeviceLoss:
    """A :class:`tsrnn.losses.Loss` on the GPU, its parameters uploaded once.

    Parameters
    ----------
    loss : tsrnn.losses.Loss
    dtype : numpy dtype
        The working precision (float32 or float64).
    """

    def __init__(self, loss: losses.Loss, dtype: Any) -> None:
        self.loss, self.dtype = loss, np.dtype(dtype)
        self.params = cuda.to_device(loss.params.astype(self.dtype))

    def __call__(
        self,
        d_pred: Any,
        d_true: Any,
        d_grad: Any,
        d_total: Any,
        weight: float,
        *,
        d_flag: Any | None = None,
        d_workspace: Any | None = None,
    ) -> None:
        """Gradient of the mean loss into ``d_grad``, and the weighted mean loss added to ``d_total``.

        ``d_grad`` is what :meth:`tsrnn.losses.Loss.__call__` returns, and
        ``d_total[0] += weight * mean(loss values)`` with the mean in float64 (for
        cross-entropy, the mean over the rows of the last axis). With the batch's
        number of rows as ``weight``, the epoch's mean loss is ``d_total[0] / n``. Once a batch
        loss is NaN or inf the total stays so.

        Parameters
        ----------
        d_pred, d_true, d_grad : device arrays of one shape and the loss's dtype
            Predictions, targets (last axis: the outputs), and the gradient (written).
        d_total : device float64 array of shape (1,)
            The accumulator.
        weight : float
            Weight of this batch's mean.
        d_flag : device int32 array of shape (1,), optional
            Set to 1 when this batch's loss is NaN or inf.
        d_workspace : device array, optional
            Scratch from :func:`tsrnn._cuda.optim.workspace`; allocated when not given.
        """
        pred, true, grad = flat(d_pred), flat(d_true), flat(d_grad)
        if not (pred.shape == true.shape == grad.shape and d_pred.dtype == d_true.dtype == d_grad.dtype == self.dtype):
            raise ValueError(f"`d_pred`, `d_true` and `d_grad` must have one shape and the dtype {self.dtype}")
        d_flag = sink_flag() if d_flag is None else d_flag
        d_workspace = workspace() if d_workspace is None else d_workspace
        block = geometry().block
        if self.loss.kind == "cross_entropy":
            width = d_pred.shape[len(d_pred.shape) - 1]  # the simulator's arrays take no negative index
            rows = pred.size // width
            n_blocks = reduction_grid(rows)
            _cross_entropy_kernel[n_blocks, block](pred, true, width, 1.0 / rows, grad, d_workspace)
            _loss_total_kernel[1, block](d_workspace, n_blocks, float(rows), float(weight), d_total, d_flag)
            return
        n_blocks = reduction_grid(pred.size)
        inv = self.dtype.type(1.0 / pred.size)
        _loss_kernel[n_blocks, block](self.loss.index, pred, true, self.params, inv, grad, d_workspace)
        _loss_total_kernel[1, block](d_workspace, n_blocks, float(pred.size), float(weight), d_total, d_flag)
