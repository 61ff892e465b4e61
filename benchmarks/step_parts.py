"""Where one time step of the CPU kernels goes: the parts of an LSTM step, timed one by one.

For each hidden size, dtype and chunk of ``n`` sequences, times (medians of repeated calls in
one compiled loop, so without Python overhead) the pieces that a step of ``lstm_forward`` and
``lstm_backward`` runs: the recurrent product ``W_hh @ h`` (BLAS), the forward gate loop, the
backward gate loop, ``W_hh' @ d_pre`` and ``d_pre @ h'`` (BLAS), and the input-side gradients
(one feature). Prints a markdown table of microseconds per step and the gate loops' cost in
cycles per hidden unit at the clock given by ``--ghz``.

    python benchmarks/step_parts.py
    python benchmarks/step_parts.py --hidden 32 64 --n 32 64 --ghz 3.0
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba
import numpy as np
from numba import njit

from tsrnn.kernels import _cpu
from tsrnn.kernels._blas import matmul
from tsrnn.kernels._threads import pin_blas_to_one_thread


@njit
def _forward_gates(repeats, g, c_prev, c_next, tanh_c, h_next):
    for _ in range(repeats):
        _cpu._lstm_forward_step(g, c_prev, c_next, tanh_c, h_next)


@njit
def _backward_gates(repeats, d_out, d_h, d_c, g, tanh_c, c_prev, d_pre):
    for _ in range(repeats):
        _cpu._lstm_backward_step(d_out, d_h, d_c, g, tanh_c, c_prev, d_pre)


@njit
def _recurrent_product(repeats, hidden, n, w_hh, h, g):
    for _ in range(repeats):
        matmul(4 * hidden, n, hidden, w_hh, False, h, False, g, 0.0)


@njit
def _state_gradient(repeats, hidden, n, w_hh_t, d_pre, d_h):
    for _ in range(repeats):
        matmul(hidden, n, 4 * hidden, w_hh_t, False, d_pre, False, d_h, 0.0)


@njit
def _weight_gradient(repeats, hidden, n, d_pre, h, d_w_hh):
    for _ in range(repeats):
        matmul(4 * hidden, hidden, n, d_pre, False, h, True, d_w_hh, 1.0)


@njit
def _input_side(repeats, rows, n, d_pre, xs, w_in, d_xs, d_w_in):
    for _ in range(repeats):
        _cpu._input_side_grads(d_pre, rows, n, xs, w_in, d_xs, d_w_in)


def per_call(func, *args, repeats=200, samples=7):
    """Median seconds per call of ``func(repeats, *args)`` / repeats."""
    func(1, *args)
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        func(repeats, *args)
        times.append((time.perf_counter() - start) / repeats)
    return statistics.median(times)


def measure(hidden, n, dtype):
    rng = np.random.default_rng(0)
    p = hidden * n

    def array(size, scale=1.0):
        return (rng.standard_normal(size) * scale).astype(dtype)

    gates, c_prev, tanh_c = array(4 * p), array(p), np.tanh(array(p))
    c_next, h_next = np.empty(p, dtype), np.empty(p, dtype)
    d_pre, d_h, d_c = np.empty(4 * p, dtype), np.zeros(p, dtype), np.zeros(p, dtype)
    w_hh, w_hh_t, h = array(4 * hidden * hidden, 0.1), array(4 * hidden * hidden, 0.1), array(p)
    d_w_hh = np.zeros(4 * hidden * hidden, dtype)
    w_in, xs = array(8 * hidden).reshape(4 * hidden, 2), array(2 * n)
    d_xs, d_w_in = np.empty(n, dtype), np.zeros((4 * hidden, 2), dtype)
    g = gates.copy()
    return {
        "W_hh @ h": per_call(_recurrent_product, hidden, n, w_hh, h, np.empty(4 * p, dtype)),
        "forward gates": per_call(_forward_gates, g, c_prev, c_next, tanh_c, h_next),
        "backward gates": per_call(_backward_gates, array(p), d_h, d_c, gates, tanh_c, c_prev, d_pre),
        "W_hh' @ d_pre": per_call(_state_gradient, hidden, n, w_hh_t, array(4 * p), d_h),
        "d_pre @ h'": per_call(_weight_gradient, hidden, n, array(4 * p), h, d_w_hh),
        "input side (1 feature)": per_call(_input_side, 4 * hidden, n, array(4 * p), xs, w_in, d_xs, d_w_in),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", nargs="+", type=int, default=[16, 32, 64, 128])
    parser.add_argument("--n", nargs="+", type=int, default=[32])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--ghz", type=float, default=3.0, help="clock for the cycles-per-unit column")
    args = parser.parse_args(argv)
    numba.set_num_threads(1)
    pin_blas_to_one_thread()
    parts = None
    for dtype_name in args.dtypes:
        for hidden in args.hidden:
            for n in args.n:
                times = measure(hidden, n, np.dtype(dtype_name))
                if parts is None:
                    parts = list(times)
                    print("| dtype | hidden | n | " + " | ".join(f"{name} us" for name in parts)
                          + " | forward gates cycles/unit | backward gates cycles/unit |")  # fmt: skip
                    print("| --- " * (len(parts) + 5) + "|")
                cycles = [times[name] * args.ghz * 1e9 / (hidden * n) for name in ("forward gates", "backward gates")]
                print(
                    f"| {dtype_name} | {hidden} | {n} | "
                    + " | ".join(f"{times[name] * 1e6:.2f}" for name in parts)
                    + f" | {cycles[0]:.1f} | {cycles[1]:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
