"""The gate loops compile to SIMD code.

The kernels' speed at small hidden sizes rests on LLVM vectorising the gate loops (the
activations of ``_math`` are written for it). A change that stops it, such as a libm call or an
access pattern whose overlap LLVM does not check at run time, leaves every result right and a
step several times slower; timing tests cannot tell that on shared machines, the machine code
can. Each loop is compiled afresh (cached code cannot be inspected) and its LLVM IR must
contain vector arithmetic in the loop's precision.
"""

from __future__ import annotations

import re

import numba
import numpy as np
import pytest

from tsrnn.kernels import _cpu
from tsrnn.kernels._cells import TANH

HIDDEN, ROWS = 3, 8
UNITS = HIDDEN * ROWS


def _planes(count, dtype):
    return np.linspace(-2.0, 2.0, count * UNITS).astype(dtype)


GATE_LOOPS = {
    "_lstm_forward_step": lambda dt: (_planes(4, dt), *(_planes(1, dt) for _ in range(4))),
    "_lstm_backward_step": lambda dt: (
        *(_planes(1, dt) for _ in range(3)),
        _planes(4, dt),
        _planes(1, dt),
        _planes(1, dt),
        _planes(4, dt),
    ),  # fmt: skip
    "_gru_forward_step": lambda dt: (*(_planes(3, dt) for _ in range(3)), *(_planes(1, dt) for _ in range(3))),
    "_gru_backward_step": lambda dt: (
        _planes(1, dt),
        _planes(1, dt),
        _planes(3, dt),
        _planes(1, dt),
        _planes(1, dt),
        _planes(3, dt),
        _planes(3, dt),
    ),  # fmt: skip
    "_rnn_forward_step": lambda dt: (_planes(1, dt), TANH),
    "_rnn_backward_step": lambda dt: (*(_planes(1, dt) for _ in range(4)), TANH),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(GATE_LOOPS))
def test_gate_loop_is_vectorised(name, dtype):
    fresh = numba.njit(error_model="numpy")(getattr(_cpu, name).py_func)
    fresh(*GATE_LOOPS[name](dtype))
    (ir,) = fresh.inspect_llvm().values()
    scalar = "float" if dtype == np.float32 else "double"
    vector_ops = re.findall(rf"= f\w+ (?:fast )?<\d+ x {scalar}>", ir)
    assert len(vector_ops) >= 4, f"{name} has no SIMD arithmetic in {scalar} ({len(vector_ops)} vector ops)"


FULL_WIDTH = ("_lstm_forward_step", "_gru_forward_step", "_rnn_forward_step")


def _compiles_for_avx512() -> bool:
    """Whether Numba compiles for this host and the host has AVX-512 (not for a chosen CPU name or features)."""
    import llvmlite.binding as llvm

    if numba.config.CPU_NAME is not None or numba.config.CPU_FEATURES is not None:
        return False
    return "+avx512f" in llvm.get_host_cpu_features().flatten().split(",")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", FULL_WIDTH)
def test_forward_gate_loops_ask_for_full_vector_width(name, dtype):
    fresh = numba.njit(error_model="numpy")(getattr(_cpu, name).py_func)
    fresh(*GATE_LOOPS[name](dtype))
    (ir,) = fresh.inspect_llvm().values()
    assert '"prefer-vector-width"="512"' in ir, f"{name} does not ask for 512-bit vectors"
    if _compiles_for_avx512():
        # LLVM keeps to 256-bit vectors on AVX-512 processors unless asked: the request must reach the code.
        lanes = 16 if dtype == np.float32 else 8
        scalar = "float" if dtype == np.float32 else "double"
        assert re.search(rf"= f\w+ (?:fast )?<{lanes} x {scalar}>", ir), f"{name} has no 512-bit {scalar} arithmetic"
