"""Running chunked kernels on several threads, with BLAS kept single-threaded.

The compiled loops release the GIL and take a range of batch chunks, so plain Python threads
run them in parallel without Numba's parallel compiler (which would add seconds to every cold
start). The thread count is Numba's (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``); the
BLAS library that the compiled code calls stays on one thread (:func:`pin_blas_to_one_thread`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba

__all__ = ["pin_blas_to_one_thread", "run_chunks"]

_lock = threading.Lock()
_state: dict[str, Any] = {"pool": None, "blas_pinned": False}


def _numba_blas_libraries(controller: Any) -> Any:
    """Return the BLAS libraries that compiled ``np.dot`` calls: SciPy's (not NumPy's, where separate)."""
    import scipy

    scipy_dirs = (os.path.dirname(scipy.__file__), os.path.dirname(scipy.__file__) + ".libs")
    selected = [
        lib
        for lib in controller.select(user_api="blas").lib_controllers
        if os.path.dirname(os.path.realpath(lib.filepath)).startswith(scipy_dirs)
    ]
    return selected or controller.select(user_api="blas").lib_controllers


def pin_blas_to_one_thread() -> None:
    """Keep the BLAS library of compiled code on one thread from now on (idempotent).

    A BLAS with threads of its own inside the time loop would meet a barrier at every step,
    and switching its thread count back and forth around each kernel call wakes its worker
    threads, which then spin. So the first kernel call sets the library that Numba calls
    (SciPy's OpenBLAS in the PyPI wheels, separate from NumPy's) to one thread and leaves it
    there. Where NumPy and SciPy share one BLAS library, this applies to NumPy too.
    """
    if _state["blas_pinned"]:
        return
    with _lock:
        if _state["blas_pinned"]:
            return
        import scipy.linalg.cython_blas  # noqa: F401  (Numba's BLAS; load it before looking)
        from threadpoolctl import ThreadpoolController

        for lib in _numba_blas_libraries(ThreadpoolController()):
            lib.set_num_threads(1)
        _state["blas_pinned"] = True


def _pool() -> ThreadPoolExecutor:
    if _state["pool"] is None:
        with _lock:
            if _state["pool"] is None:
                _state["pool"] = ThreadPoolExecutor(
                    max_workers=max(1, numba.config.NUMBA_NUM_THREADS - 1), thread_name_prefix="tsrnn"
                )
    return _state["pool"]


def run_chunks(func: Callable[..., None], n_chunks: int, *args: Any) -> None:
    """Call ``func(first, last, *args)`` over disjoint ranges covering ``range(n_chunks)``.

    The ranges go to ``numba.get_num_threads()`` threads (the calling thread takes the first).
    Which thread runs a chunk does not change what the chunk computes.
    """
    pin_blas_to_one_thread()
    # numba.get_num_threads costs more than a small batch's chunk: not asked for one chunk.
    threads = 1 if n_chunks == 1 else min(numba.get_num_threads(), n_chunks)
    if threads <= 1:
        func(0, n_chunks, *args)
        return
    bounds = [n_chunks * i // threads for i in range(threads + 1)]
    futures = [_pool().submit(func, bounds[i], bounds[i + 1], *args) for i in range(1, threads)]
    try:
        func(bounds[0], bounds[1], *args)
    finally:
        for future in futures:
            future.result()
