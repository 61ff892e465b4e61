"""What :func:`tsrnn.training.train` and its training sessions share: batch order, epoch result, divergence.

:func:`~tsrnn.training.train` cuts every epoch into mini-batches with :func:`sorted_batches`
and hands them to a training session, on the host or (:mod:`tsrnn._cuda.training`) on the GPU;
the session answers with an :class:`EpochLoss`, which ``train`` checks with
:func:`check_finite`. Both sessions import from here rather than from :mod:`tsrnn.training`,
which opens them: the two cut the windows into the same batches and fail with the same message.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["EpochLoss", "StepSettings", "TrainingDivergedError", "check_finite", "sorted_batches"]


class TrainingDivergedError(FloatingPointError):
    """The training loss or gradient became NaN or infinite."""


# Raised from here, documented and imported as part of tsrnn.training: tracebacks and pickles
# name it there.
TrainingDivergedError.__module__ = "tsrnn.training"


class StepSettings(NamedTuple):
    """How a training session takes each gradient step, fixed for a run of :func:`~tsrnn.training.train`.

    Attributes
    ----------
    batch_size : int
        Rows per step: an epoch's mini-batches are the consecutive slices of its row order.
    clip_norm : float or None
        Clip the global gradient norm to this value before each step.
    bptt_steps : int or None
        Truncated BPTT (see :mod:`tsrnn.kernels`).
    """

    batch_size: int
    clip_norm: float | None = None
    bptt_steps: int | None = None


class EpochLoss(NamedTuple):
    """What a training session's epoch gives back to :func:`~tsrnn.training.train`.

    Attributes
    ----------
    value : float
        The epoch's mean training loss or, when a step diverged, the first value that was NaN
        or infinite (the session stopped updating the weights there).
    what : str
        What ``value`` is, for the message of :func:`check_finite`: ``"training loss"``, or
        what diverged (``"gradient norm"``, ...).
    """

    value: float
    what: str = "training loss"


def check_finite(value: float, what: str, epoch: int) -> None:
    """Raise :class:`TrainingDivergedError` when ``value`` is NaN or infinite.

    Parameters
    ----------
    value : float
        The loss or gradient norm just computed.
    what : str
        What ``value`` is, for the message ("training loss", "gradient norm", ...).
    epoch : int
        The epoch it was computed in, for the message.

    Raises
    ------
    TrainingDivergedError
        If ``value`` is not finite.
    """
    if not math.isfinite(value):
        raise TrainingDivergedError(
            f"the {what} became {value} in epoch {epoch}: training diverged. "
            "Lower `learning_rate`, or set `clip_norm` (for example 1.0) to clip the gradient norm"
        )


def sorted_batches(order: np.ndarray, batch_size: int) -> np.ndarray:
    """Return ``order`` with each mini-batch's indices sorted: batches read the windows in time order.

    Parameters
    ----------
    order : ndarray of int, shape (n,)
        The epoch's (shuffled) window indices.
    batch_size : int
        Windows per mini-batch; the batches are consecutive slices of ``order``.

    Returns
    -------
    ndarray of int, shape (n,)
        The same batches, each sorted.
    """
    return np.concatenate([np.sort(order[i : i + batch_size]) for i in range(0, order.shape[0], batch_size)])
