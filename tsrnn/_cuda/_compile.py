"""How the CUDA backend compiles: the one place that calls ``cuda.jit``.

Kernels are decorated with :func:`kernel`, CUDA-only helpers with :func:`device`, and the
shared per-unit math is retargeted to the GPU with :func:`device_function`, so the compilation
options are set here alone (as :mod:`tsrnn._config` sets the CPU's).

The scalar gate math of :mod:`tsrnn.kernels._cells` and the activations of
:mod:`tsrnn.kernels._math` are written once, as plain Python. :func:`device_function` compiles
such a function for the GPU from its own source; the activations dispatch on the argument's
precision exactly as on the CPU (registered below for the CUDA target), so a float32 kernel
holds no float64 arithmetic.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from numba import cuda
from numba.core.extending import overload

from tsrnn._config import CACHE, _tie_cache_to_package
from tsrnn._cuda import simulated
from tsrnn.kernels import _math

__all__ = ["device", "device_function", "kernel"]


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


_tanh_f32 = device_function(_math.tanh_f32)
_tanh_f64 = device_function(_math.tanh_f64)
_sigmoid_f32 = device_function(_math.sigmoid_f32, tanh_f32=_tanh_f32)
_sigmoid_f64 = device_function(_math.sigmoid_f64, tanh_f64=_tanh_f64)


overload(_math.tanh, target="cuda")(_math.by_precision(_tanh_f32, _tanh_f64))
overload(_math.sigmoid, target="cuda")(_math.by_precision(_sigmoid_f32, _sigmoid_f64))
