"""The one place that decides how tsrnn compiles with Numba.

Every jitted function in tsrnn is decorated with :func:`jit` or :func:`parallel_jit` from
this module, so the compilation options (on-disk cache, ``nogil``, error model) are set once.

The on-disk cache is on by default, so each user compiles a kernel once. Numba looks for a
writable cache folder beside the sources, then in the user's cache folder; where neither is
writable (a read-only site-packages and HOME), tsrnn falls back to a per-user folder under the
system's temporary directory, and where even that fails it compiles without caching rather
than failing at import. Set ``NUMBA_CACHE_DIR`` to choose the folder, or ``TSRNN_CACHE=0``
to turn the cache off.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from typing import Any

import numba

__all__ = ["CACHE", "jit", "parallel_jit"]

logger = logging.getLogger("tsrnn")
logger.addHandler(logging.NullHandler())


def _probe() -> int:  # pragma: no cover - only compiled lazily, never called
    return 0


def _locator_available() -> bool:
    """Whether Numba finds a writable cache folder for this package's sources."""
    try:
        numba.njit(cache=True)(_probe)
    except RuntimeError:
        return False
    return True


def _decide_cache() -> bool:
    if os.environ.get("TSRNN_CACHE", "1").strip().lower() in {"0", "false", "no", "off"}:
        return False
    if _locator_available():
        return True
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = os.path.join(tempfile.gettempdir(), f"tsrnn-numba-cache-{uid}")
    try:
        os.makedirs(fallback, exist_ok=True)
        tempfile.TemporaryFile(dir=fallback).close()
    except OSError:
        logger.debug("no writable Numba cache folder; compiling without the on-disk cache")
        return False
    numba.config.CACHE_DIR = fallback
    if _locator_available():
        logger.debug("Numba cache falls back to %s", fallback)
        return True
    return False


CACHE: bool = _decide_cache()

# error_model="numpy": float division never raises, so the gate loops vectorise.
_OPTIONS: dict[str, Any] = {"cache": CACHE, "nogil": True, "error_model": "numpy"}


def jit(func: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``func`` for the CPU with tsrnn's options (nopython, cached, nogil)."""
    return numba.njit(**_OPTIONS)(func)


def parallel_jit(func: Callable[..., Any]) -> Callable[..., Any]:
    """Like :func:`jit`, with ``prange`` loops run on Numba's thread pool."""
    return numba.njit(parallel=True, **_OPTIONS)(func)
