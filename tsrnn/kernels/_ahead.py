"""Compiling the backward loops in a second process while this one compiles the forward pass.

A first fit with an empty Numba cache compiles the forward loop of its cell, then the backward
one, one after the other, on one core. Where a second core is free, :func:`start` runs a Python
process that compiles the backward loops of the cells and dtype into the on-disk cache while
this process compiles the forward pass; :meth:`Ahead.wait`, before the first backward pass,
waits for it, and the backward loops then load from the cache instead of compiling.

It starts only where it can help: with the on-disk cache on, at least two CPUs for this
process, a Python interpreter to run, and neither the forward nor the backward loop compiled
for this dtype and kind of step window (in this process or in the cache). Set
``TSRNN_COMPILE_AHEAD=0`` to turn it off (``1`` starts it whatever the CPU count). Should the
process fail, this one compiles what it needs, as it would have without it.

Numba updates a function's cache index by reading, changing and writing it back, so two
processes saving different signatures of one function at once could lose an entry. The
helpers that both passes call get the same signatures in both processes, and each loop is
compiled by one of them only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from typing import Any

import numba
import numpy as np
from numba import types

from tsrnn._config import CACHE
from tsrnn.kernels import _cpu

__all__ = ["Ahead", "start"]

_SWITCH = "TSRNN_COMPILE_AHEAD"
# Longer than any compile: past it, this process compiles the loops itself.
_PATIENCE_S = 120.0
# The folder holding this tsrnn package, as imported (not resolved: Numba names cache folders
# after the source path as it was imported, symbolic links included).
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The second process imports this tsrnn, not one that its working directory would shadow it with.
_CHILD = (
    "import sys; root = sys.argv.pop(1); sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "root in sys.path or sys.path.insert(0, root); "
    "from tsrnn.kernels._ahead import _main; _main(sys.argv[1:])"
)


class Ahead:
    """The process that compiles the backward loops; :meth:`wait` before the first backward pass."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process

    def wait(self) -> None:
        """Wait for the process to end (this process then finds the loops in the cache).

        Also when a run ends before its first backward pass: not killed, since Numba writes a
        cache entry's index before its machine code, and an index left pointing at a stale file
        of an older version would load that file. The process runs in a session of its own, so
        the terminal's Ctrl-C does not reach it either; it ends within its compile time.
        """
        try:
            self.process.wait(timeout=_PATIENCE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _is_python(executable: str) -> bool:
    """Whether ``executable`` looks like a Python interpreter (not the binary of an application that embeds one)."""
    return os.path.basename(executable).lower().startswith(("python", "pypy"))


def _compiled(loop: Any, dtype: np.dtype, masked: bool) -> bool:
    """Whether ``loop`` is compiled for ``dtype`` and this kind of window, in this process or in the on-disk cache.

    Only cache entries of this tsrnn's sources count: the index of a cache written by another
    version reads as empty (see ``tsrnn._config``). A cache whose index cannot be read counts
    as compiled: nothing is started on a guess.
    """
    wanted = numba.from_dtype(dtype)

    def matches(signatures: Iterable[Any]) -> bool:
        # The loops' fourth argument is an array in the working precision; their last two, the window.
        return any(getattr(sig[3], "dtype", None) == wanted and (sig[-1] != types.none) == masked for sig in signatures)

    if matches(loop.signatures):  # compiled in this process: no need to read the index from disk
        return True
    try:
        index = loop._cache._cache_file._load_index()
    except Exception:  # noqa: BLE001 - Numba's cache internals changed or the index is unreadable
        return True
    return matches(key[0] for key in index)


def start(cells: Iterable[str], dtype: np.dtype, masked: bool = False) -> Ahead | None:
    """Start compiling the backward loops of ``cells`` in ``dtype`` in a second process, where that helps.

    Parameters
    ----------
    cells : iterable of str
        Cell names (``"lstm"``, ``"gru"``, ``"rnn"``) of the network about to train.
    dtype : numpy dtype
        float32 or float64.
    masked : bool
        Whether the training steps give the rows lengths (the loops' masked version).

    Returns
    -------
    Ahead or None
        None where nothing was started.
    """
    switch = os.environ.get(_SWITCH, "").strip()
    if switch == "0" or not CACHE or (switch != "1" and _cpus() < 2):
        return None
    if getattr(sys, "frozen", False) or not _is_python(sys.executable or ""):
        return None
    dtype = np.dtype(dtype)
    missing = sorted(
        cell
        for cell in set(cells)
        if not _compiled(getattr(_cpu, f"{cell}_forward"), dtype, masked)
        and not _compiled(getattr(_cpu, f"{cell}_backward"), dtype, masked)
    )
    if not missing:
        return None
    env = dict(os.environ, **{_SWITCH: "0"})
    if numba.config.CACHE_DIR:
        # The folder this process chose (NUMBA_CACHE_DIR, or tsrnn's fallback folder).
        env["NUMBA_CACHE_DIR"] = numba.config.CACHE_DIR
    else:
        env.pop("NUMBA_CACHE_DIR", None)
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, _ROOT, dtype.name, "masked" if masked else "full", *missing],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return None
    return Ahead(process)


def _main(argv: list[str]) -> None:
    from tsrnn.kernels._functional import compile_backward

    dtype, window, *cells = argv
    for cell in cells:
        compile_backward(cell, np.dtype(dtype), masked=window == "masked")
