"""The CUDA backend: the recurrent kernels, the network and its training epoch on an NVIDIA GPU.

Nothing here is imported unless ``device="cuda"`` is asked for (or :mod:`tsrnn.kernels.cuda`
is imported): CPU users never load ``numba.cuda``. :func:`require_cuda` is the one gate that
turns a missing package or a missing GPU into a clear error.
"""

from __future__ import annotations

import functools
import importlib.util
import os

__all__ = ["CudaUnavailableError", "available", "require_cuda", "simulated"]

_INSTALL = 'install the CUDA extra (`pip install "tsrnn[cuda]"`, which brings numba-cuda) or use device="cpu"'


class CudaUnavailableError(RuntimeError):
    """``device="cuda"`` was asked for where numba-cuda or an NVIDIA GPU is missing."""


def simulated() -> bool:
    """Whether Numba's CUDA simulator stands in for a GPU (``NUMBA_ENABLE_CUDASIM=1``)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0").strip() not in {"", "0"}


@functools.cache
def _availability() -> str | None:
    """``None`` when kernels can run, else the reason they cannot."""
    try:
        from numba import cuda
    except ImportError as exc:  # pragma: no cover - numba always ships numba.cuda today
        return f"numba.cuda cannot be imported ({exc}); {_INSTALL}"
    if simulated():
        return None
    # Numba's own CUDA target is deprecated in favour of numba-cuda, which the kernels are written for.
    if importlib.util.find_spec("numba_cuda") is None:
        return f"numba-cuda is not installed; {_INSTALL}"
    if not cuda.is_available():
        return f"no usable NVIDIA GPU or CUDA driver was found; {_INSTALL}, on a machine with an NVIDIA GPU"
    return None


def available() -> bool:
    """Whether CUDA kernels can run here (a GPU with numba-cuda, or the simulator)."""
    return _availability() is None


def require_cuda() -> None:
    """Raise :class:`CudaUnavailableError` saying what to install when CUDA kernels cannot run."""
    reason = _availability()
    if reason is not None:
        raise CudaUnavailableError(f'device="cuda" is not available: {reason}')
