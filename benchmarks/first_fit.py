"""The first fit a new user meets: the README's first command in a fresh process with an empty Numba cache.

Each repeat runs the command ``tsrnn forecast datasets/air_passengers.csv --horizon 12
--coverage 0.9 -o ... --plot ...`` in a fresh Python process whose ``NUMBA_CACHE_DIR`` is a new
empty folder (cold), and once more on the filled folder (warm). The process times its own
imports, the first ``fit`` of the command (compilation included) and the whole command; the
parent times the process from start to exit. Cold runs alternate between the backward loops
compiled in a second process (``TSRNN_COMPILE_AHEAD=1``, what happens by default on machines
with two CPUs or more) and in the fitting process itself (``TSRNN_COMPILE_AHEAD=0``). Prints
medians over ``--repeats`` and the machine.

    python benchmarks/first_fit.py
    python benchmarks/first_fit.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_line

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
start = time.perf_counter()
import tsrnn.cli as cli
imported = time.perf_counter()
fits = []
fit = cli._fit
def timed_fit(*args):
    begin = time.perf_counter()
    fit(*args)
    fits.append(time.perf_counter() - begin)
cli._fit = timed_fit
cli.main(sys.argv[1:])
done = time.perf_counter()
print(json.dumps({"imports": imported - start, "first fit": fits[0], "command": done - start}))
"""


def run(cache_dir: str, ahead: str, out: str) -> dict[str, float]:
    env = {key: value for key, value in os.environ.items() if key != "TSRNN_CACHE"}
    env.update(NUMBA_CACHE_DIR=cache_dir, TSRNN_COMPILE_AHEAD=ahead, PYTHONWARNINGS="ignore")
    argv = ["forecast", "datasets/air_passengers.csv", "--horizon", "12", "--coverage", "0.9"]
    argv += ["-o", f"{out}/forecast.csv", "--plot", f"{out}/forecast.png"]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *argv], env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "process": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"cold, ahead": [], "cold, one process": [], "warm": []}
    with tempfile.TemporaryDirectory(prefix="tsrnn-first-fit-") as scratch:
        for repeat in range(args.repeats):
            for label, ahead in (("cold, ahead", "1"), ("cold, one process", "0")):
                cache = os.path.join(scratch, f"cache-{repeat}-{ahead}")
                runs[label].append(run(cache, ahead, scratch))
                if ahead == "1":
                    runs["warm"].append(run(cache, ahead, scratch))
    print(cpu_line())
    print(f"README's first command, medians of {args.repeats} fresh processes; seconds\n")
    parts = ("imports", "first fit", "command", "process")
    print("| cache | " + " | ".join(parts) + " |")
    print("| --- |" + " ---: |" * len(parts))
    for label, samples in runs.items():
        print(f"| {label} | " + " | ".join(f"{statistics.median(s[p] for s in samples):.2f}" for p in parts) + " |")
    for label, samples in runs.items():
        print(f"\n{label}, first fit per run: " + ", ".join(f"{s['first fit']:.2f}" for s in samples))


if __name__ == "__main__":
    main()
