"""The one place that decides how tsrnn compiles with Numba.

Every jitted function in tsrnn is decorated with :func:`jit` or :func:`inline_jit` from
this module, so the compilation options (on-disk cache, ``nogil``, error model) are set once.

The on-disk cache is on by default, so each user compiles a kernel once. Numba looks for a
writable cache folder beside the sources, then in the user's cache folder; where neither is
writable (a read-only site-packages and HOME), tsrnn falls back to a per-user folder under the
system's temporary directory, and where even that fails it compiles without caching rather
than failing at import. Set ``NUMBA_CACHE_DIR`` to choose the folder, or ``TSRNN_CACHE=0``
to turn the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pathlib
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numba

__all__ = ["CACHE", "inline_jit", "jit"]

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
    if not _private_folder(fallback):
        logger.debug("no private writable Numba cache folder; compiling without the on-disk cache")
        return False
    previous = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = fallback
    if _locator_available():
        logger.debug("Numba cache falls back to %s", fallback)
        return True
    numba.config.CACHE_DIR = previous
    return False


def _private_folder(path: str) -> bool:
    """Whether ``path`` is (or has just been made) a writable folder that only this user controls.

    The fallback folder has a predictable name in a shared temporary directory, and Numba
    loads pickles from its cache: a folder that another user created or can write to could
    feed this process code, so it is not used.
    """
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            return False
        if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
            return False
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


CACHE: bool = _decide_cache()


def _package_fingerprint() -> str:
    """Hash of every tsrnn module that compiles code, and of this one.

    Numba checks a cached function against its own source file only, so a change to the gate
    math in one module would leave stale machine code for the loops of another in the cache.
    Tying every cache entry to this fingerprint recompiles all of them after any change
    (an upgrade, an edit).
    """
    root = pathlib.Path(__file__).parent
    digest = hashlib.sha256(numba.__version__.encode())
    for path in sorted(root.rglob("*.py")):
        source = path.read_bytes()
        if path.name == "_config.py" or b"_config import" in source or b"_compile import" in source:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(source)
    return digest.hexdigest()


_FINGERPRINT = _package_fingerprint() if CACHE else ""


# Folders whose lock this process holds, and how deeply: a load or save inside another one (in
# this process) must not wait for a lock that this process already holds.
_held: dict[str, int] = {}
_held_guard = threading.RLock()


@contextlib.contextmanager
def _cache_lock(folder: str) -> Iterator[None]:
    """Hold an exclusive lock on ``folder``'s lock file, across processes (where the OS has ``fcntl``)."""
    with _held_guard:
        if _held.get(folder):
            _held[folder] += 1
            try:
                yield
            finally:
                _held[folder] -= 1
            return
        try:
            import fcntl

            os.makedirs(folder, exist_ok=True)
            handle = open(os.path.join(folder, "tsrnn-cache.lock"), "a")  # noqa: SIM115 - closed below
        except (ImportError, OSError):  # Windows, or no lock file: Numba's own writes, unlocked
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            _held[folder] = 1
            try:
                yield
            finally:
                _held[folder] = 0
                fcntl.flock(handle, fcntl.LOCK_UN)


def _locked(method: Callable[..., Any], folder: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        with _cache_lock(folder):
            return method(*args, **kwargs)

    return call


def _tie_cache_to_package(dispatcher: Any) -> Any:
    """Tie ``dispatcher``'s cache entries to the package fingerprint, and take a lock around their reads and writes.

    Numba saves an entry by reading the function's index, choosing a data file name, writing
    the index, then the data. Two processes saving two signatures of one function at once (test
    workers, joblib workers, the compile-ahead process of ``kernels._ahead``) can choose the
    same name, and one signature then loads the other's machine code ("can't unbox array").
    A lock file in the cache folder makes each save, and each load, one step.
    """
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if cache_file is not None and hasattr(cache_file, "_source_stamp"):
        cache_file._source_stamp = (cache_file._source_stamp, _FINGERPRINT)
        folder = getattr(cache_file, "_cache_path", None)
        if folder is not None and hasattr(cache_file, "save") and hasattr(cache_file, "load"):
            cache_file.save = _locked(cache_file.save, folder)
            cache_file.load = _locked(cache_file.load, folder)
    return dispatcher


# error_model="numpy": float division never raises, so the gate loops vectorise.
_OPTIONS: dict[str, Any] = {"cache": CACHE, "nogil": True, "error_model": "numpy"}


def _compile(func: Callable[..., Any], **options: Any) -> Any:
    try:
        return _tie_cache_to_package(numba.njit(**_OPTIONS, **options)(func))
    except RuntimeError:
        # No writable cache folder for this module's sources (the probe only tries one):
        # compile it without the cache rather than fail at import.
        return numba.njit(**{**_OPTIONS, "cache": False}, **options)(func)


def jit(func: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``func`` for the CPU with tsrnn's options (nopython, cached, nogil)."""
    return _compile(func)


def inline_jit(func: Callable[..., Any]) -> Callable[..., Any]:
    """Like :func:`jit`, and inlined into its callers before they are compiled.

    For the scalar gate math called in the inner loops: LLVM vectorises a loop only when
    the whole body is inlined, which its own inliner does not do for bodies this large.
    """
    return _compile(func, inline="always")
