"""Matrix products for compiled code, with the BLAS ``gemm`` that Numba itself uses.

``np.dot`` in Numba computes ``C = A @ B`` only; the BPTT loops also need ``C += A @ B`` (to
accumulate weight gradients step by step) and products of sub-blocks of flat buffers. This
calls Numba's ``numba_xxgemm`` entry point (SciPy's BLAS) directly, with ``beta``.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload
from numba.np.linalg import ensure_blas

ensure_blas()


def _gemm_signature(dtype: types.Type) -> types.Type:
    pointer = types.CPointer(dtype)
    return types.intc(
        types.char,  # kind
        types.char,  # transa
        types.char,  # transb
        types.intp,  # m
        types.intp,  # n
        types.intp,  # k
        pointer,  # alpha
        pointer,  # a
        types.intp,  # lda
        pointer,  # b
        types.intp,  # ldb
        pointer,  # beta
        pointer,  # c
        types.intp,  # ldc
    )


_XXGEMM = {
    types.float32: types.ExternalFunction("numba_xxgemm", _gemm_signature(types.float32)),
    types.float64: types.ExternalFunction("numba_xxgemm", _gemm_signature(types.float64)),
}
_KIND = {types.float32: ord("s"), types.float64: ord("d")}


def _xgemm(m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc, beta):  # pragma: no cover - compiled only
    """Stand-in for the compiled implementation registered below."""


@overload(_xgemm)
def _xgemm_overload(m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc, beta):
    xxgemm = _XXGEMM[c.dtype]
    kind = _KIND[c.dtype]
    trans, no_trans = ord("T"), ord("N")

    def impl(m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc, beta):
        scalars = np.empty(2, c.dtype)
        scalars[0] = 1
        scalars[1] = beta
        # BLAS is column-major: C = A B in row-major terms is C' = B' A' in column-major ones.
        xxgemm(
            kind,
            trans if trans_b else no_trans,
            trans if trans_a else no_trans,
            n,
            m,
            k,
            scalars.ctypes,
            b.ctypes,
            ldb,
            a.ctypes,
            lda,
            scalars[1:].ctypes,
            c.ctypes,
            ldc,
        )

    return impl


def matmul(m, n, k, a, trans_a, b, trans_b, c, beta):  # pragma: no cover - compiled only
    """``c = op(a) @ op(b) + beta * c`` on flat (1-D, C-contiguous) buffers (compiled code only).

    ``op(a)`` is (m, k) and ``op(b)`` is (k, n); ``a`` is stored row-major as (m, k), or as
    (k, m) when ``trans_a``; likewise ``b``; ``c`` is stored row-major as (m, n). Each matrix
    starts at its buffer's first element.
    """


def matmul_strided(m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc, beta):  # pragma: no cover - compiled only
    """:func:`matmul` with explicit row strides (leading dimensions) of the stored matrices."""


# Overloads, not jitted functions: an overload is typed with non-literal arguments first, so the
# constant transposition flags of the call sites share one compiled version per dtype instead of
# one per combination (each a third of a second of a cold start).
@overload(matmul)
def _matmul_overload(m, n, k, a, trans_a, b, trans_b, c, beta):
    def impl(m, n, k, a, trans_a, b, trans_b, c, beta):
        _xgemm(m, n, k, a, m if trans_a else k, trans_a, b, k if trans_b else n, trans_b, c, n, beta)

    return impl


@overload(matmul_strided)
def _matmul_strided_overload(m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc, beta):
    def impl(m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc, beta):
        _xgemm(m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc, beta)

    return impl
