"""Training losses, a layer of their own: each loss's value and gradient written once, for every backend.

A loss is a pair of scalar functions of one prediction error ``d = prediction - target`` and
the loss's parameter ``p`` for that predicted value (Huber's ``delta``, the pinball loss's
quantile level; ignored by the others):

* ``value(d, p, half)``, the loss of one predicted value;
* ``gradient(d, p, inv)``, the gradient of the batch's mean loss with respect to that
  prediction, where ``inv = 1 / (number of predicted values)``.

``half`` and ``inv`` are passed in the working precision, so that no float64 literal widens
float32 arithmetic. The functions use only scalar arithmetic: the same source compiles for the
CPU (here) and for the GPU (:mod:`tsrnn._cuda.losses`). The loss of a batch is the mean of the
values of its predicted values, a reduction in a fixed order. Adding a loss means adding its
two functions and a branch of :func:`loss_value` and :func:`loss_gradient` here, and nothing
else on the CPU; the GPU reads the same functions.

======== ============================================ ==========================================
loss     value                                        gradient (times ``inv``)
======== ============================================ ==========================================
mse      ``d ** 2``                                   ``2 d``
mae      ``|d|``                                      ``sign(d)``
huber    ``d ** 2 / 2`` if ``|d| <= p``,              ``d`` if ``|d| <= p``, else ``p sign(d)``
         else ``p (|d| - p / 2)``
pinball  ``(1 - p) d`` if ``d > 0``, else ``-p d``    ``1 - p`` if ``d > 0``, ``-p`` if ``d < 0``
======== ============================================ ==========================================

The pinball loss at level ``p`` is minimised by the ``p``-quantile of the target: trained on
it, a network forecasts that quantile.

Cross-entropy (``"cross_entropy"``) is a loss of a whole row rather than of each value: the
predictions of a row are the logits ``z`` of its classes, its targets ``t`` the (weighted)
one-hot label, and the row's loss is ``-sum_c t_c log softmax(z)_c``, with gradient
``(sum_c t_c) softmax(z) - t``, divided by the number of rows. :func:`cross_entropy_row` holds
its math once, for both devices, with the exponentials taken from the row's largest logit so that
logits of any size stay finite; :func:`softmax` gives the probabilities from the same math.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import float64

from tsrnn._config import inline_jit, jit

__all__ = ["LOSSES", "Loss", "log_softmax", "mse_loss", "softmax"]

# The losses of each predicted value (the estimators' ``loss``), then cross-entropy, a loss of a row.
LOSSES = ("mse", "mae", "huber", "pinball")
MSE, MAE, HUBER, PINBALL, CROSS_ENTROPY = range(len(LOSSES) + 1)


@inline_jit
def mse_value(d, p, half):
    return d * d


@inline_jit
def mse_gradient(d, p, inv):
    # inv + inv is exactly 2 / size in the working precision: the gradient of the mean of d ** 2.
    return (inv + inv) * d


@inline_jit
def mae_value(d, p, half):
    return abs(d)


@inline_jit
def mae_gradient(d, p, inv):
    if d > 0:
        return inv
    if d < 0:
        return -inv
    return d * inv


@inline_jit
def huber_value(d, p, half):
    a = abs(d)
    if a <= p:
        return half * d * d
    return p * (a - half * p)


@inline_jit
def huber_gradient(d, p, inv):
    if d > p:
        return p * inv
    if d < -p:
        return -(p * inv)
    return d * inv


@inline_jit
def pinball_value(d, p, half):
    if d > 0:
        return d - p * d
    return -(p * d)


@inline_jit
def pinball_gradient(d, p, inv):
    if d > 0:
        return inv - p * inv
    if d < 0:
        return -(p * inv)
    return d * inv


@inline_jit
def loss_value(kind, d, p, half):
    """Return the value of loss ``kind`` (an index into :data:`LOSSES`) for one prediction error."""
    if kind == MSE:
        return mse_value(d, p, half)
    if kind == MAE:
        return mae_value(d, p, half)
    if kind == HUBER:
        return huber_value(d, p, half)
    return pinball_value(d, p, half)


@inline_jit
def loss_gradient(kind, d, p, inv):
    """Return the gradient of the mean of loss ``kind`` with respect to one prediction."""
    if kind == MSE:
        return mse_gradient(d, p, inv)
    if kind == MAE:
        return mae_gradient(d, p, inv)
    if kind == HUBER:
        return huber_gradient(d, p, inv)
    return pinball_gradient(d, p, inv)


@jit
def _loss_terms(kind, pred, true, params, half, inv, values, grad):
    """Per predicted value: the loss into ``values`` and the gradient of the mean into ``grad`` (flat arrays)."""
    width = params.size
    for i in range(pred.size):
        d = pred[i] - true[i]
        p = params[i % width]
        values[i] = loss_value(kind, d, p, half)
        grad[i] = loss_gradient(kind, d, p, inv)


@inline_jit
def row_max(z, start, width):
    """Return the largest of ``z[start:start + width]``, in float64."""
    top = float64(z[start])
    for c in range(1, width):
        top = max(top, float64(z[start + c]))
    return top


@inline_jit
def sum_exp(z, start, width, top):
    """Return ``sum(exp(z[start:start + width] - top))`` in float64: at least 1 when ``top`` is the row's largest."""
    total = 0.0
    for c in range(width):
        total += math.exp(float64(z[start + c]) - top)
    return total


@inline_jit
def cross_entropy_row(pred, true, start, width, inv, grad):
    """Cross-entropy of the row of logits ``pred[start:start + width]``; its gradient times ``inv`` into ``grad``.

    Computed in float64 whatever the dtype, and stored in ``grad``'s. The exponentials are
    taken from the row's largest logit, so none overflows and their sum is at least 1.
    """
    top = row_max(pred, start, width)
    total = sum_exp(pred, start, width, top)
    log_total = math.log(total)
    mass = 0.0
    value = 0.0
    for c in range(width):
        t = float64(true[start + c])
        mass += t
        value -= t * (float64(pred[start + c]) - top - log_total)
    for c in range(width):
        p = math.exp(float64(pred[start + c]) - top) / total
        grad[start + c] = (mass * p - float64(true[start + c])) * inv
    return value


@jit
def _cross_entropy_terms(pred, true, width, inv, values, grad):
    """Per row of ``width`` logits: its cross-entropy into ``values``, the gradient of the mean into ``grad``."""
    for row in range(values.size):
        values[row] = cross_entropy_row(pred, true, row * width, width, inv, grad)


@jit
def _softmax_rows(z, width, log, out):
    for start in range(0, z.size, width):
        top = row_max(z, start, width)
        total = sum_exp(z, start, width, top)
        log_total = math.log(total)
        for c in range(width):
            shifted = float64(z[start + c]) - top
            out[start + c] = shifted - log_total if log else math.exp(shifted) / total


def _over_rows(logits: np.ndarray, log: bool) -> np.ndarray:
    z = np.ascontiguousarray(logits, dtype=np.float64)
    out = np.empty_like(z)
    _softmax_rows(z.reshape(-1), z.shape[-1], log, out.reshape(-1))
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return the softmax of ``logits`` over their last axis, in float64: probabilities that sum to one.

    Parameters
    ----------
    logits : ndarray of shape (..., n_classes)

    Returns
    -------
    ndarray of float64 of the same shape
    """
    return _over_rows(logits, log=False)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Return the log of the softmax of ``logits`` over their last axis, in float64, finite where it underflows.

    Parameters
    ----------
    logits : ndarray of shape (..., n_classes)

    Returns
    -------
    ndarray of float64 of the same shape
    """
    return _over_rows(logits, log=True)


class Loss:
    """A training loss: its kind and the parameter of each output.

    Parameters
    ----------
    kind : {"mse", "mae", "huber", "pinball", "cross_entropy"}
        See the module's table, and its text for cross-entropy.
    params : sequence of float, default=(0.0,)
        The loss's parameter for each output (the last axis of the predictions), repeated
        over them when shorter: Huber's ``delta`` (> 0), the pinball loss's quantile levels
        (in (0, 1)). Ignored by ``"mse"``, ``"mae"`` and ``"cross_entropy"``.
    """

    def __init__(self, kind: str, params: Sequence[float] = (0.0,)) -> None:
        if kind not in (*LOSSES, "cross_entropy"):
            raise ValueError(f"`loss` must be one of {', '.join(map(repr, LOSSES))}; got {kind!r}")
        self.kind, self.index = kind, (*LOSSES, "cross_entropy").index(kind)
        self.params = np.asarray(params, dtype=np.float64).reshape(-1)
        if self.params.size == 0:
            raise ValueError("a loss needs at least one parameter value")

    def __repr__(self) -> str:
        return f"Loss({self.kind!r}, {self.params.tolist()!r})"

    def head_start(self, targets: np.ndarray) -> np.ndarray | None:
        """Return where each output's head bias starts, or None to leave it at zero.

        A pinball output starts at its level's quantile of its targets: from a zero bias the
        levels start together and separate only as fast as the optimiser moves them, and on
        a short series early stopping ends training before the outer levels are apart (a band
        too narrow). Cross-entropy logits start at the log of each class's share of the
        (weighted) targets, the prior a constant model would predict. Trained from there, the
        network only has to make them depend on the input. The other losses start at zero, the
        centre of the scaled targets.

        Parameters
        ----------
        targets : ndarray of shape (..., outputs)
            The targets fit was given (the estimators pass every window, the early-stopping
            tail included); the last axis holds the outputs.

        Returns
        -------
        ndarray of shape (outputs,), float64, or None
        """
        columns = np.asarray(targets, dtype=np.float64).reshape(-1, targets.shape[-1])
        if self.kind == "cross_entropy":
            mass = columns.sum(axis=0)
            # A class without a sample in training gets a small share, not log(0).
            mass = np.maximum(mass, 1e-3 * mass.sum() / len(mass))
            return np.log(mass / mass.sum())
        if self.kind != "pinball":
            return None
        levels = np.resize(self.params, columns.shape[1])
        return np.array([np.quantile(columns[:, j], level) for j, level in enumerate(levels)])

    def __call__(self, y_pred: np.ndarray, y_true: np.ndarray) -> tuple[float, np.ndarray]:
        """Return the mean loss of ``y_pred`` against ``y_true`` and its gradient with respect to ``y_pred``.

        Parameters
        ----------
        y_pred, y_true : ndarray of one shape and dtype (float32 or float64)
            Predictions and targets; the last axis holds the outputs.

        Returns
        -------
        loss : float
            The mean over every predicted value, in the working precision (for
            cross-entropy: the mean over the rows, in float64).
        d_y_pred : ndarray of the shape and dtype of ``y_pred``
        """
        if y_pred.shape != y_true.shape:
            raise ValueError(f"predictions of shape {y_pred.shape} against targets of shape {y_true.shape}")
        dtype = y_pred.dtype
        pred = np.ascontiguousarray(y_pred).reshape(-1)
        true = np.ascontiguousarray(y_true, dtype=dtype).reshape(-1)
        grad = np.empty_like(pred)
        if self.kind == "cross_entropy":
            width = y_pred.shape[-1] if y_pred.ndim else 1
            values = np.empty(pred.size // max(width, 1), dtype=np.float64)
            _cross_entropy_terms(pred, true, width, 1.0 / max(values.size, 1), values, grad)
        else:
            values = np.empty_like(pred)
            inv = dtype.type(1.0 / max(pred.size, 1))
            _loss_terms(self.index, pred, true, self.params.astype(dtype), dtype.type(0.5), inv, values, grad)
        # np.mean's own steps (a pairwise sum in a fixed order for a given size, divided by the
        # count as an intp, rounded to the values' dtype), without its Python overhead: a tenth
        # of a small fit's time outside the kernels.
        mean = values.dtype.type(np.add.reduce(values) / np.intp(values.size))
        return float(mean), grad.reshape(y_pred.shape)


def mse_loss(y_pred: np.ndarray, y_true: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error and its gradient with respect to ``y_pred`` (see :class:`Loss`)."""
    return MSE_LOSS(y_pred, y_true)


MSE_LOSS = Loss("mse")
