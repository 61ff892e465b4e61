"""How the CUDA backend compiles: the one place that calls ``cuda.jit``.

Kernels are decorated with :func:`kernel`, CUDA-only helpers with :func:`device`, and the
shared per-unit math is retargeted to the GPU with :func:`device_function`, so the compilation
options are set here alone (as :mod:`tsrnn._config` sets the CPU's).

:data:`DEFAULT_GEOMETRY` is the one table of launch sizes (tiles, threads per block, block
counts); launchers read :func:`geometry` at each launch, and :func:`shrunk_geometry` lowers the
sizes for a while, so that tests see tiny inputs span several blocks.

The scalar gate math of :mod:`tsrnn.kernels._cells` and the activations of
:mod:`tsrnn.kernels._math` are written once, as plain Python. :func:`device_function` compiles
such a function for the GPU from its own source; the activations dispatch on the argument's
precision exactly as on the CPU (registered below for the CUDA target), so a float32 kernel
holds no float64 arithmetic.
"""

from __future__ import annotations

import contextlib
import dataclasses
import types
from collections.abc import Callable, Iterator
from typing import Any

from numba import cuda
from numba.core.extending import overload

from tsrnn._config import CACHE, _tie_cache_to_package
from tsrnn._cuda import simulated
from tsrnn.kernels import _math

__all__ = ["DEFAULT_GEOMETRY", "Geometry", "device", "device_function", "geometry", "kernel", "shrunk_geometry"]


def device(func: Callable[..., Any]) -> Any:
    """Compile ``func``, written for the GPU alone, as a CUDA device function (called from kernels)."""
    return cuda.jit(device=True)(func)


def device_function(func: Callable[..., Any], **replace: Any) -> Any:
    """Compile the Python source of ``func`` (a plain or jitted function) as a CUDA device function.

    ``replace`` names globals of ``func`` to read as other objects: CPU-compiled helpers it
    calls, given as their CUDA twins.
    """
    source = getattr(func, "py_func", func)
    namespace = source.__globals__ if not replace else {**source.__globals__, **replace}
    clone = types.FunctionType(source.__code__, namespace, source.__name__, source.__defaults__, source.__closure__)
    clone.__doc__ = source.__doc__
    return device(clone)


def kernel(func: Callable[..., Any]) -> Any:
    """Compile ``func`` as a CUDA kernel, with tsrnn's on-disk cache (see :mod:`tsrnn._config`).

    Cache entries are tied to the package's fingerprint, as for the CPU: a kernel's machine code
    also depends on the shared gate math in other modules.
    """
    if simulated() or not CACHE:
        return cuda.jit(func)
    try:
        return _tie_cache_to_package(cuda.jit(cache=True)(func))
    except RuntimeError:
        # No writable cache folder for this module's sources: compile without the cache.
        return cuda.jit(func)


@dataclasses.dataclass(frozen=True)
class Geometry:
    """The launch sizes of every CUDA kernel of tsrnn.

    Kernels whose shared memory has a fixed shape allocate it for :data:`DEFAULT_GEOMETRY` and
    read the size of the launch from ``cuda.blockDim``, so that any smaller size runs correctly,
    on a GPU as on the simulator. Three sizes set an order of additions, and so the last bits
    of results: ``block`` and ``max_blocks`` that of the float64 sums of the reductions in
    :mod:`tsrnn._cuda.optim`, ``k_chunk`` that of the matrix products. Their defaults are the same
    on every device, so that results depend on the shapes only; no other size changes a result.

    Attributes
    ----------
    tile : int
        Side of the square thread blocks of the matrix products, transposes and 2-D copies.
    line : int
        Threads per block of the 1-D elementwise kernels.
    block : int
        Threads per block of the reductions and optimiser steps; a power of two (the tree sums
        halve it).
    max_blocks : int
        Most blocks a reduction uses; longer vectors are walked with a grid-sized stride.
    block_threads : int
        Most threads of a recurrent block.
    unit_threads : int
        Most threads one sequence's hidden units get in a recurrent block.
    target_blocks : int
        Recurrent blocks below which a launch puts fewer sequences in each: an H100's 132
        multiprocessors idle with fewer.
    shared_bytes : int
        Shared memory a recurrent block may use without opting in to more; ``W_hh`` is staged
        there when it fits.
    k_chunk : int
        Rows of the reduced dimension one block sums in a product; the slices' sums are then
        added in order.
    """

    tile: int
    line: int
    block: int
    max_blocks: int
    block_threads: int
    unit_threads: int
    target_blocks: int
    shared_bytes: int
    k_chunk: int


# The simulator runs one Python thread per GPU thread: small tiles keep it quick.
DEFAULT_GEOMETRY = Geometry(
    tile=4 if simulated() else 16,
    line=128,
    block=64,
    max_blocks=32 * 64,
    block_threads=256,
    unit_threads=128,
    target_blocks=264,
    shared_bytes=48 * 1024,
    k_chunk=8192,
)

_current = DEFAULT_GEOMETRY


def geometry() -> Geometry:
    """Return the launch sizes in force (:data:`DEFAULT_GEOMETRY` but inside :func:`shrunk_geometry`)."""
    return _current


@contextlib.contextmanager
def shrunk_geometry(**sizes: int) -> Iterator[Geometry]:
    """Launch every kernel with the given smaller sizes (fields of :class:`Geometry`) inside the block.

    For tests: tiny inputs then span several tiles and blocks. No size may exceed its default,
    which the kernels' shared memory is sized for; ``block`` stays a power of two.

    Yields
    ------
    Geometry
        The sizes in force inside the block.
    """
    global _current
    shrunk = dataclasses.replace(_current, **sizes)
    for field in dataclasses.fields(Geometry):
        value, default = getattr(shrunk, field.name), getattr(DEFAULT_GEOMETRY, field.name)
        if not 1 <= value <= default:
            raise ValueError(f"`{field.name}` must be between 1 and its default {default}; got {value}")
    if shrunk.block & (shrunk.block - 1):
        raise ValueError(f"`block` must be a power of two; got {shrunk.block}")
    previous, _current = _current, shrunk
    try:
        yield shrunk
    finally:
        _current = previous


_tanh_f32 = device_function(_math.tanh_f32)
_tanh_f64 = device_function(_math.tanh_f64)
_sigmoid_f32 = device_function(_math.sigmoid_f32, tanh_f32=_tanh_f32)
_sigmoid_f64 = device_function(_math.sigmoid_f64, tanh_f64=_tanh_f64)


overload(_math.tanh, target="cuda")(_math.by_precision(_tanh_f32, _tanh_f64))
overload(_math.sigmoid, target="cuda")(_math.by_precision(_sigmoid_f32, _sigmoid_f64))
