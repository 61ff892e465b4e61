"""Import time and first-call (compilation) time of the kernels, with a cold and a warm cache.

Every measurement runs in a fresh Python process whose ``NUMBA_CACHE_DIR`` is a new empty
folder (cold), then in a second fresh process on the same folder (warm: the machine code is
loaded from the on-disk cache instead of compiled). Each cell and dtype gets processes and a
cache folder of its own, so its cold time includes the shared helpers, as for a user whose
first call is that one; the last rows run every cell in both dtypes in one process.
Shapes are tiny (batch 2, 3 steps, 2 features, 4 hidden units): the times are compilation and
cache loading, not computation. Prints a markdown table of medians over ``--repeat`` runs.

    python benchmarks/compile_time.py
    python benchmarks/compile_time.py --repeat 3 --cells lstm --dtypes float32
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELLS = ("lstm", "gru", "rnn")
DTYPES = ("float32", "float64")

CHILD = """
import json, sys, time

start = time.perf_counter()
import numba  # noqa: F401
after_numba = time.perf_counter()
import tsrnn.kernels as kernels
after_import = time.perf_counter()
import numpy as np

times = {"import numba": after_numba - start, "import tsrnn.kernels": after_import - start}
for cell, dtype in json.loads(sys.argv[1]):
    rng = np.random.default_rng(0)
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    hidden = 4
    x = rng.standard_normal((2, 3, 2)).astype(dtype)
    weights = [
        rng.standard_normal(shape).astype(dtype) * 0.3
        for shape in ((gates * hidden, 2), (gates * hidden, hidden), (gates * hidden,), (gates * hidden,))
    ]
    d_out = rng.standard_normal((2, 3, hidden)).astype(dtype)
    t0 = time.perf_counter()
    if cell == "lstm":
        *_, cache = kernels.lstm_forward(x, None, None, *weights)
    elif cell == "gru":
        *_, cache = kernels.gru_forward(x, None, *weights)
    else:
        *_, cache = kernels.rnn_forward(x, None, *weights)
    t1 = time.perf_counter()
    if cell == "lstm":
        kernels.lstm_backward(d_out, None, None, cache)
    elif cell == "gru":
        kernels.gru_backward(d_out, None, cache)
    else:
        kernels.rnn_backward(d_out, None, cache)
    t2 = time.perf_counter()
    times[f"{cell} {dtype} forward"] = t1 - t0
    times[f"{cell} {dtype} backward"] = t2 - t1
print(json.dumps(times))
"""


def run_child(cache_dir: str, jobs: list[tuple[str, str]]) -> dict[str, float]:
    env = {key: value for key, value in os.environ.items() if key != "TSRNN_CACHE"}
    env["NUMBA_CACHE_DIR"] = cache_dir
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(jobs)], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"child process failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_and_warm(jobs: list[tuple[str, str]]) -> tuple[dict[str, float], dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="tsrnn-compile-time-") as cache_dir:
        cold = run_child(cache_dir, jobs)
        warm = run_child(cache_dir, jobs)
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (the table shows medians)")
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    args = parser.parse_args()

    rows: dict[str, tuple[list[float], list[float]]] = {}

    def record(label: str, cold: float, warm: float) -> None:
        rows.setdefault(label, ([], []))
        rows[label][0].append(cold)
        rows[label][1].append(warm)

    all_jobs = [(cell, dtype) for cell in args.cells for dtype in args.dtypes]
    for _ in range(args.repeat):
        imports_recorded = False
        for job in all_jobs:
            cold, warm = cold_and_warm([job])
            if not imports_recorded:
                for label in ("import numba", "import tsrnn.kernels"):
                    record(label, cold[label], warm[label])
                imports_recorded = True
            for part in ("forward", "backward"):
                label = f"{job[0]} {job[1]} {part}"
                record(f"first {label}", cold[label], warm[label])
        cold, warm = cold_and_warm(all_jobs)
        compiled = [key for key in cold if not key.startswith("import")]
        record("all first calls above, in one process", sum(cold[k] for k in compiled), sum(warm[k] for k in compiled))
        record(
            "import + all first calls, in one process",
            sum(cold[k] for k in compiled) + cold["import tsrnn.kernels"],
            sum(warm[k] for k in compiled) + warm["import tsrnn.kernels"],
        )

    import numba
    import numpy

    print(
        f"Python {sys.version.split()[0]}, Numba {numba.__version__}, NumPy {numpy.__version__}, "
        f"{os.cpu_count()} CPUs; median of {args.repeat} run(s); seconds.\n"
    )
    print("| measurement | cold cache (s) | warm cache (s) | cold / warm |")
    print("|---|---:|---:|---:|")
    for label, (cold_times, warm_times) in rows.items():
        cold, warm = statistics.median(cold_times), statistics.median(warm_times)
        print(f"| {label} | {cold:.2f} | {warm:.3f} | {cold / warm:.0f}x |")


if __name__ == "__main__":
    main()
