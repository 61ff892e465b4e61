"""What the host and the device epoch loops share: mini-batch order and the divergence check.

:mod:`tsrnn.training` runs epochs on the host and hands them to :mod:`tsrnn._cuda` for a
network on the GPU; both loops take their batches and their error from here, so that the two
cut the windows into the same batches and fail with the same message.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TrainingDivergedError", "check_finite", "sorted_batches"]


class TrainingDivergedError(FloatingPointError):
    """The training loss or gradient became NaN or infinite."""


# Raised from here, documented and imported as part of tsrnn.training: tracebacks and pickles
# name it there.
TrainingDivergedError.__module__ = "tsrnn.training"


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
