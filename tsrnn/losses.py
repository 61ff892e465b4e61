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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tsrnn._config import inline_jit, jit

__all__ = ["LOSSES", "Loss", "mse_loss"]

LOSSES = ("mse", "mae", "huber", "pinball")
MSE, MAE, HUBER, PINBALL = range(len(LOSSES))


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


class Loss:
    """A training loss: its kind and the parameter of each output.

    Parameters
    ----------
    kind : {"mse", "mae", "huber", "pinball"}
        See the module's table.
    params : sequence of float, default=(0.0,)
        The loss's parameter for each output (the last axis of the predictions), repeated
        over them when shorter: Huber's ``delta`` (> 0), the pinball loss's quantile levels
        (in (0, 1)). Ignored by ``"mse"`` and ``"mae"``.
    """

    def __init__(self, kind: str, params: Sequence[float] = (0.0,)) -> None:
        if kind not in LOSSES:
            raise ValueError(f"`loss` must be one of {', '.join(map(repr, LOSSES))}; got {kind!r}")
        self.kind, self.index = kind, LOSSES.index(kind)
        self.params = np.asarray(params, dtype=np.float64).reshape(-1)
        if self.params.size == 0:
            raise ValueError("a loss needs at least one parameter value")

    def __repr__(self) -> str:
        return f"Loss({self.kind!r}, {self.params.tolist()!r})"

    def head_start(self, targets: np.ndarray) -> np.ndarray | None:
        """Return where each output's head bias starts: the pinball level's quantile of its targets.

        A network whose levels all start at zero separates them only as fast as the optimiser
        moves them; on a short series early stopping ends training before the outer levels
        are apart, and the band is too narrow. Started at the unconditional quantiles,
        training only has to make them depend on the input. None for the other losses, whose
        bias starts at zero (the centre of the scaled targets).

        Parameters
        ----------
        targets : ndarray of shape (..., outputs)
            The training targets; the last axis holds the outputs.

        Returns
        -------
        ndarray of shape (outputs,), float64, or None
        """
        if self.kind != "pinball":
            return None
        columns = np.asarray(targets, dtype=np.float64).reshape(-1, targets.shape[-1])
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
            The mean over every predicted value, in the working precision.
        d_y_pred : ndarray of the shape and dtype of ``y_pred``
        """
        if y_pred.shape != y_true.shape:
            raise ValueError(f"predictions of shape {y_pred.shape} against targets of shape {y_true.shape}")
        dtype = y_pred.dtype
        pred = np.ascontiguousarray(y_pred).reshape(-1)
        true = np.ascontiguousarray(y_true, dtype=dtype).reshape(-1)
        values, grad = np.empty_like(pred), np.empty_like(pred)
        inv = dtype.type(1.0 / max(pred.size, 1))
        _loss_terms(self.index, pred, true, self.params.astype(dtype), dtype.type(0.5), inv, values, grad)
        # numpy's mean: a pairwise sum in a fixed order for a given size.
        return float(np.mean(values)), grad.reshape(y_pred.shape)


def mse_loss(y_pred: np.ndarray, y_true: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error and its gradient with respect to ``y_pred`` (see :class:`Loss`)."""
    return MSE_LOSS(y_pred, y_true)


MSE_LOSS = Loss("mse")
