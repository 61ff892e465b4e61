"""Running chunked kernels on several threads, with BLAS kept single-threaded.

The compiled loops release the GIL and take a range of batch chunks, so plain Python threads
run them in parallel without Numba's parallel compiler (which would add seconds to every cold
start). The thread count is Numba's (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``).
A BLAS library with threads of its own inside the time loop would meet a barrier at every
step, so BLAS runs on one thread while the kernels run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numba

__all__ = ["run_chunks", "single_threaded_blas"]

_lock = threading.Lock()
_state: dict[str, Any] = {"depth": 0, "limiter": None, "controller": None, "pool": None}


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Keep the BLAS libraries on one thread inside the block (re-entrant, cheap when nested)."""
    with _lock:
        if _state["depth"] == 0:
            if _state["controller"] is None:
                from threadpoolctl import ThreadpoolController

                _state["controller"] = ThreadpoolController()
            _state["limiter"] = _state["controller"].limit(limits=1, user_api="blas")
        _state["depth"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["depth"] -= 1
            if _state["depth"] == 0:
                _state["limiter"].restore_original_limits()
                _state["limiter"] = None


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
    threads = min(numba.get_num_threads(), n_chunks)
    with single_threaded_blas():
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
