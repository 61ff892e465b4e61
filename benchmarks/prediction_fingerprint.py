"""Fingerprints of fixed-seed predictions, to show that a change leaves behaviour unchanged.

Fits short, fixed-seed models on the bundled air passengers series on the CPU:
``RNNForecaster`` for each strategy (mimo, direct, recursive, recursive with
``sequence_loss=True``, seq2seq) × cell (lstm, gru, rnn) × dtype (float32, float64), and
``RNNRegressor`` for each cell × dtype on ``make_windows`` of the series (with
``input_scaling=None`` and with the default). Prints one line
per model, its name and the first 16 hex digits of the sha256 of its predictions' bytes
(``predict()`` for the forecaster, ``predict(X)`` for the regressor), then an overall digest
of those lines.

The digests depend on the machine's BLAS and processor (their summation order and vector
width change the last bits of a float): compare fingerprints taken on the same machine.

    python benchmarks/prediction_fingerprint.py
    python benchmarks/prediction_fingerprint.py --write benchmarks/results/prediction-fingerprint.txt
    python benchmarks/prediction_fingerprint.py --check benchmarks/results/prediction-fingerprint.txt
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tsrnn import RNNForecaster, RNNRegressor, make_windows
from tsrnn.datasets import load_air_passengers

WINDOW = 12
HORIZON = 3
CELLS = ("lstm", "gru", "rnn")
DTYPES = ("float32", "float64")
# name: extra RNNForecaster parameters
STRATEGIES: dict[str, dict[str, Any]] = {
    "mimo": {"strategy": "mimo"},
    "direct": {"strategy": "direct"},
    "recursive": {"strategy": "recursive"},
    "recursive-seqloss": {"strategy": "recursive", "sequence_loss": True},
    "seq2seq": {"strategy": "seq2seq"},
}
COMMON: dict[str, Any] = {
    "hidden_size": 8,
    "max_epochs": 3,
    "early_stopping": False,
    "random_state": 0,
    "device": "cpu",
}
OVERALL = "overall"


def digest(values: Any) -> str:
    """First 16 hex digits of the sha256 of an array's bytes (C order, its own dtype)."""
    return hashlib.sha256(np.ascontiguousarray(np.asarray(values)).tobytes()).hexdigest()[:16]


def fingerprints() -> Iterator[tuple[str, str]]:
    """Fit every model and yield ``(name, digest of its predictions)``, in a fixed order."""
    y = load_air_passengers()
    for name, params in STRATEGIES.items():
        for cell in CELLS:
            for dtype in DTYPES:
                model = RNNForecaster(window=WINDOW, horizon=HORIZON, cell=cell, dtype=dtype, **params, **COMMON)
                yield f"forecaster-{name}-{cell}-{dtype}", digest(model.fit(y).predict())
    X, Y = make_windows(y.to_numpy(), WINDOW, HORIZON)
    # input_scaling=None reads the windows as they are, as the regressor did before it scaled
    # them; the default scaling has lines of its own.
    for scaling, prefix in ((None, "regressor"), ("window_last", "regressor-window_last")):
        for cell in CELLS:
            for dtype in DTYPES:
                model = RNNRegressor(cell=cell, dtype=dtype, input_scaling=scaling, **COMMON)
                yield f"{prefix}-{cell}-{dtype}", digest(model.fit(X, Y).predict(X))


def overall(lines: dict[str, str]) -> str:
    """Digest of all the per-model lines, so that one value says whether anything changed."""
    text = "".join(f"{name} {value}\n" for name, value in lines.items() if name != OVERALL)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read(path: Path) -> dict[str, str]:
    """Parse a file written by ``--write``: one ``name digest`` a line."""
    lines = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = line.split()
            lines[name] = value
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, metavar="FILE", help="save the fingerprints to FILE")
    group.add_argument("--check", type=Path, metavar="FILE", help="compare with FILE; exit 1 if any changed")
    args = parser.parse_args(argv)
    # Read the reference first, so that a wrong path fails before the fits.
    reference = read(args.check) if args.check else None

    lines: dict[str, str] = {}
    with warnings.catch_warnings():
        # Three epochs do not converge; the warnings are expected and would bury the lines.
        warnings.simplefilter("ignore")
        for name, value in fingerprints():
            lines[name] = value
            print(f"{name} {value}", flush=True)
    lines[OVERALL] = overall(lines)
    print(f"{OVERALL} {lines[OVERALL]}")

    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text("".join(f"{name} {value}\n" for name, value in lines.items()))
    if reference is not None:
        changed = sorted(name for name in reference.keys() | lines.keys() if reference.get(name) != lines.get(name))
        if changed:
            print(f"predictions changed ({len(changed)}): {', '.join(changed)}")
            return 1
        print(f"unchanged: all {len(lines) - 1} models match {args.check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
