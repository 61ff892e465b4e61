"""How much of a small fit runs in compiled code: a 100-epoch fit of air passengers, timed by where it runs.

Fits ``RNNForecaster`` (LSTM of 32, window 24, horizon 12, 100 epochs without early stopping,
the settings of ``bench_fit.py``) once to compile or load every kernel, then wraps every
Numba-compiled function that Python code calls (each dispatcher in tsrnn's modules, in every
module that holds it) with a timer, and fits again. The share of the second fit's time spent
inside those calls is the time in compiled code (the Numba loops and the BLAS they call); the
rest is the interpreter and NumPy around them. The wrappers' own overhead counts as outside,
so the share is a lower bound. Medians over ``--repeats`` fits.

    python benchmarks/compiled_share.py
    python benchmarks/compiled_share.py --threads 2 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import numba
from machine import cpu_line
from numba.core.registry import CPUDispatcher

import tsrnn
from tsrnn import RNNForecaster
from tsrnn.datasets import load_air_passengers

# The kernels are compiled before the timed fits; a second process compiling them would find nothing to do.
os.environ["TSRNN_COMPILE_AHEAD"] = "0"
SETTINGS = dict(window=24, horizon=12, hidden_size=32, max_epochs=100, n_iter_no_change=101, random_state=0)

inside: Counter[str] = Counter()


def timed(name: str, dispatcher: Any) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return dispatcher(*args, **kwargs)
        finally:
            inside[name] += time.perf_counter() - start

    return call


def wrap_dispatchers() -> int:
    """Replace each compiled function in tsrnn's loaded modules by a timed call; return how many."""
    modules = [module for name, module in sys.modules.items() if name.startswith("tsrnn") and module is not None]
    wrappers: dict[int, Callable[..., Any]] = {}
    for module in modules:
        for attribute, value in list(vars(module).items()):
            if isinstance(value, CPUDispatcher):
                if id(value) not in wrappers:
                    wrappers[id(value)] = timed(f"{value.py_func.__module__}.{value.__name__}", value)
                setattr(module, attribute, wrappers[id(value)])
    return len(wrappers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    numba.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    y = load_air_passengers()
    RNNForecaster(**SETTINGS).fit(y)  # compiles or loads every kernel before anything is wrapped
    wrapped = wrap_dispatchers()
    shares, totals = [], []
    for _ in range(args.repeats):
        inside.clear()
        start = time.perf_counter()
        RNNForecaster(**SETTINGS).fit(y)
        total = time.perf_counter() - start
        shares.append(sum(inside.values()) / total)
        totals.append(total)
    print(cpu_line())
    print(f"tsrnn {tsrnn.__version__}, numba {numba.__version__}, threads {args.threads}, {wrapped} functions wrapped")
    print(f"100-epoch fit of air passengers: {statistics.median(totals):.3f} s (median of {args.repeats})")
    each = ", ".join(f"{share:.1%}" for share in shares)
    print(f"time inside compiled code: {statistics.median(shares):.1%} (each fit: {each})")
    print("\nlast fit, seconds inside each compiled function:")
    for name, seconds in inside.most_common(12):
        print(f"  {seconds:.3f}  {name}")


if __name__ == "__main__":
    main()
