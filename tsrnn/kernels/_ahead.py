"""Compiling the backward loops in a second process while this one compiles the forward pass.

A first fit with an empty Numba cache compiles the forward loop of its cell, then the backward
one, one after the other, on one core. Where a second core is free, :func:`start` runs a Python
process that compiles the backward loops of the cells and dtype into the on-disk cache while
this process compiles the forward pass; :meth:`Ahead.wait`, before the first backward pass,
waits for it, and the backward loops then load from the cache instead of compiling.

It starts only where it can help: with the on-disk cache on, at least two CPUs for this
process, and a backward loop that is neither compiled in this process nor in the cache. Set
``TSRNN_COMPILE_AHEAD=0`` to turn it off (``1`` starts it whatever the CPU count). Should the
process fail, this one compiles what it needs, as it would have without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numba
import numpy as np

from tsrnn._config import CACHE
from tsrnn.kernels import _cpu

__all__ = ["Ahead", "start"]

_SWITCH = "TSRNN_COMPILE_AHEAD"
# Longer than any compile: past it, this process compiles the loops itself.
_PATIENCE_S = 120.0


class Ahead:
    """The process that compiles the backward loops; :meth:`wait` before the first backward pass."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process

    def wait(self) -> None:
        """Wait for the process to end (this process then finds the loops in the cache)."""
        try:
            self.process.wait(timeout=_PATIENCE_S)
        except subprocess.TimeoutExpired:
            self.stop()

    def stop(self) -> None:
        """End the process now, if it still runs: for a training run that ends before its first backward pass.

        Numba writes each cache file whole under a temporary name first, so nothing half-written
        is left behind.
        """
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _compiled(loop: Any, dtype: np.dtype) -> bool:
    """Whether the backward loop ``loop`` is compiled for ``dtype`` in this process or in the on-disk cache.

    Only cache entries of this tsrnn's sources count: the index of a cache written by another
    version reads as empty (see ``tsrnn._config``).
    """
    signatures = list(loop.signatures)
    cache_file = getattr(getattr(loop, "_cache", None), "_cache_file", None)
    try:
        signatures += [key[0] for key in cache_file._load_index()]
    except Exception:  # noqa: BLE001 - a cache Numba cannot read counts as empty
        pass
    # The loops' fourth argument is d_out, in the working precision.
    return any(getattr(sig[3], "dtype", None) == numba.from_dtype(dtype) for sig in signatures)


def start(cells: Iterable[str], dtype: np.dtype) -> Ahead | None:
    """Start compiling the backward loops of ``cells`` in ``dtype`` in a second process, where that helps.

    Parameters
    ----------
    cells : iterable of str
        Cell names (``"lstm"``, ``"gru"``, ``"rnn"``) of the network about to train.
    dtype : numpy dtype
        float32 or float64.

    Returns
    -------
    Ahead or None
        None where nothing was started.
    """
    switch = os.environ.get(_SWITCH, "").strip()
    if switch == "0" or not CACHE or (switch != "1" and _cpus() < 2):
        return None
    if not sys.executable or getattr(sys, "frozen", False):
        # An embedded or frozen interpreter: sys.executable may not be a Python that takes -m.
        return None
    missing = sorted({cell for cell in cells if not _compiled(getattr(_cpu, f"{cell}_backward"), np.dtype(dtype))})
    if not missing:
        return None
    env = dict(os.environ, **{_SWITCH: "0"})
    # This tsrnn, wherever it was imported from, and not another installed copy (whose cache is another's).
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    if numba.config.CACHE_DIR:
        # The folder this process chose (NUMBA_CACHE_DIR, or tsrnn's fallback folder).
        env["NUMBA_CACHE_DIR"] = numba.config.CACHE_DIR
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "tsrnn.kernels._ahead", np.dtype(dtype).name, *missing],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    return Ahead(process)


def _main(argv: list[str]) -> None:
    from tsrnn.kernels._functional import compile_backward

    dtype, *cells = argv
    for cell in cells:
        compile_backward(cell, np.dtype(dtype))


if __name__ == "__main__":
    _main(sys.argv[1:])
