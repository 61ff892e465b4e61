"""Scalar activation functions that vectorise.

libm's ``tanh``/``exp`` are scalar calls of 20-40 cycles each and keep the gate loops from
vectorising; at hidden sizes up to 64 they, not the matrix products, dominate a training step.
The functions here use only multiplication, addition, division and comparisons, so LLVM turns
a gate loop into SIMD code:

* float32: the rational minimax approximation of ``tanh`` used by Eigen (numerator of degree
  13, denominator of degree 6), within 7 ulp of the correctly rounded value.
* float64: ``tanh(a) = e / (e + 2)`` with ``e = expm1(2a)``, where ``expm1(2a)`` is built from a
  Taylor polynomial of ``expm1(2a / 64)`` and six exact doublings
  ``expm1(2u) = expm1(u) * (expm1(u) + 2)``; no cancellation anywhere, within 6 ulp.

``sigmoid(x) = 0.5 * tanh(0.5 * x) + 0.5`` in both precisions (absolute error within 4 ulp
of 0.5: accurate in absolute terms, not relative ones, for very negative x). :func:`tanh` and
:func:`sigmoid` dispatch on the argument's type when compiled; the precision-specific versions
are importable for the tests.

They are small compiled functions that LLVM inlines into each gate loop before vectorising it
(the same SIMD code as inlining them in Numba's IR, whose extra typing passes cost about half a
second of every cold start per gate loop); the per-unit cell math of ``_cells`` that calls them
is inlined in the IR, as LLVM does not inline bodies that large.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import types
from numba.extending import intrinsic, overload

from tsrnn._config import jit

_F32_CLAMP = np.float32(7.90531110763549805)
_F32_NUM = tuple(
    np.float32(c)
    for c in (
        4.89352455891786e-03,
        6.37261928875436e-04,
        1.48572235717979e-05,
        5.12229709037114e-08,
        -8.60467152213735e-11,
        2.00018790482477e-13,
        -2.76076847742355e-16,
    )
)
_F32_DEN = tuple(
    np.float32(c) for c in (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06)
)
_A1, _A3, _A5, _A7, _A9, _A11, _A13 = _F32_NUM
_B0, _B2, _B4, _B6 = _F32_DEN
_HALF32 = np.float32(0.5)

# tanh(20) rounds to 1.0 in float64; clamping keeps expm1 finite.
_F64_CLAMP = 20.0
_F64_SCALE = 2.0 / 64.0
_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(1, 11))
_T1, _T2, _T3, _T4, _T5, _T6, _T7, _T8, _T9, _T10 = _TAYLOR


def tanh_f32(x: float) -> float:
    """Rational ``tanh`` for float32 arguments."""
    x = min(max(x, -_F32_CLAMP), _F32_CLAMP)
    x2 = x * x
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    # x * (p / q), not (x * p) / q: p is ~5e-3, and x * p would lose bits near underflow.
    return x * (p / q)


def tanh_f64(x: float) -> float:
    """``tanh`` for float64 arguments from an ``expm1`` built by exact doublings."""
    a = min(abs(x), _F64_CLAMP)
    u = a * _F64_SCALE
    e = _T10 * u + _T9
    e = e * u + _T8
    e = e * u + _T7
    e = e * u + _T6
    e = e * u + _T5
    e = e * u + _T4
    e = e * u + _T3
    e = e * u + _T2
    e = e * u + _T1
    e = e * u
    e = e * (e + 2.0)
    e = e * (e + 2.0)
    e = e * (e + 2.0)
    e = e * (e + 2.0)
    e = e * (e + 2.0)
    e = e * (e + 2.0)
    t = e / (e + 2.0)
    # Below 1e-9 tanh(a) rounds to a, while a / 32 near underflow loses bits: take a there.
    # (A blend, not a branch, keeps the gate loops vectorisable; a - t is exact, a ~ t.)
    tiny = 1.0 * (a < 1e-9)
    return math.copysign(t + tiny * (a - t), x)


def sigmoid_f32(x: float) -> float:
    """Logistic function for float32 arguments."""
    return _HALF32 * tanh_f32(_HALF32 * x) + _HALF32


def sigmoid_f64(x: float) -> float:
    """Logistic function for float64 arguments."""
    return 0.5 * tanh_f64(0.5 * x) + 0.5


tanh_f32 = jit(tanh_f32)
tanh_f64 = jit(tanh_f64)
sigmoid_f32 = jit(sigmoid_f32)
sigmoid_f64 = jit(sigmoid_f64)


def tanh(x: float) -> float:
    """Hyperbolic tangent in the argument's precision (compiled code only)."""
    return math.tanh(x)


def sigmoid(x: float) -> float:
    """Logistic function in the argument's precision (compiled code only)."""
    return 1.0 / (1.0 + math.exp(-x))


def by_precision(f32: Any, f64: Any) -> Any:
    """Return the typing function of an overload that calls ``f32`` or ``f64`` by the argument's precision.

    The CPU overloads below and the CUDA ones of :mod:`tsrnn._cuda._compile` are made with it.
    """

    def choose(x):
        if x == types.float32:
            return lambda x: f32(x)
        if isinstance(x, types.Float):
            return lambda x: f64(x)
        return None

    return choose


overload(tanh, target="cpu")(by_precision(tanh_f32, tanh_f64))
overload(sigmoid, target="cpu")(by_precision(sigmoid_f32, sigmoid_f64))


_WIDE_VECTORS = '"prefer-vector-width"="512"'


@intrinsic
def prefer_wide_vectors(typingctx):
    """Let LLVM vectorise the calling function's loops at the machine's full SIMD width (compiled code only).

    On AVX-512 processors LLVM vectorises at 256 bits unless a function asks for more (wider
    vectors once slowed the clock of older Xeons); the forward gate loops, bound by arithmetic,
    run 1.5-1.9x faster at 512 bits. The request is the function attribute that clang's
    ``-mprefer-vector-width=512`` sets, and it changes nothing on processors without AVX-512.
    """

    def codegen(context, builder, signature, args):
        # A string attribute, which llvmlite's checked ``add`` does not know.
        set.add(builder.function.attributes, _WIDE_VECTORS)
        return context.get_dummy_value()

    return types.none(), codegen
