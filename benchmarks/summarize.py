"""Summarise tables printed by ``bench_kernels.py`` against the CPU speed targets.

Targets (torch time / tsrnn time):

* LSTM, both dtypes: training >= 1x at every shape, >= 2x at hidden <= 32, >= 1.3x at
  hidden 64; inference >= 1x at every shape.
* GRU and simple RNN: training >= 3x at hidden <= 64, >= 1.5x above; inference >= 2x at
  hidden <= 64.
* Share of the single-thread gemm ceiling >= 60 % at hidden >= 128 (training and inference).

Prints, per cell and dtype, the ratios' min / median / max, the shapes below target, and the
median share of the ceiling at hidden >= 128; then every shape below a target.

    python benchmarks/summarize.py threads1.md [threads2.md ...]
"""

from __future__ import annotations

import statistics
import sys
from typing import NamedTuple


class Row(NamedTuple):
    cell: str
    dtype: str
    features: int
    hidden: int
    window: int
    batch: int
    train: float
    infer: float
    train_share: float
    infer_share: float


def read_rows(path: str) -> list[Row]:
    rows = []
    with open(path) as handle:
        for line in handle:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 14 or cells[0] not in ("lstm", "gru", "rnn"):
                continue
            numbers = (int(c) for c in cells[2:6])
            ratios = float(cells[8][:-1]), float(cells[11][:-1])
            shares = float(cells[12][:-1]) / 100, float(cells[13][:-1]) / 100
            rows.append(Row(cells[0], cells[1], *numbers, *ratios, *shares))
    return rows


def train_target(cell: str, hidden: int) -> float:
    if cell == "lstm":
        return 2.0 if hidden <= 32 else 1.3 if hidden == 64 else 1.0
    return 3.0 if hidden <= 64 else 1.5


def infer_target(cell: str, hidden: int) -> float:
    if cell == "lstm":
        return 1.0
    return 2.0 if hidden <= 64 else 0.0


SHARE_TARGET = 0.6


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def main(paths: list[str]) -> None:
    for path in paths:
        rows = read_rows(path)
        print(f"### {path}: {len(rows)} shapes")
        print()
        print(
            "| cell | dtype | train ratio min / median / max | train below target | "
            "inference ratio min / median / max | inference below target | median share at hidden >= 128 "
            "(train / inference) |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        misses = []
        for cell in ("lstm", "gru", "rnn"):
            for dtype in ("float32", "float64"):
                sel = [r for r in rows if r.cell == cell and r.dtype == dtype]
                if not sel:
                    continue
                train_miss = [r for r in sel if r.train < train_target(r.cell, r.hidden)]
                infer_miss = [r for r in sel if r.infer < infer_target(r.cell, r.hidden)]
                misses += [(r, "train", r.train, train_target(r.cell, r.hidden)) for r in train_miss]
                misses += [(r, "inference", r.infer, infer_target(r.cell, r.hidden)) for r in infer_miss]
                large = [r for r in sel if r.hidden >= 128]
                shares = (
                    f"{statistics.median(r.train_share for r in large):.0%} / "
                    f"{statistics.median(r.infer_share for r in large):.0%}"
                    if large
                    else "-"
                )
                print(
                    f"| {cell} | {dtype} | {_spread([r.train for r in sel])} | {len(train_miss)} of {len(sel)} "
                    f"| {_spread([r.infer for r in sel])} | {len(infer_miss)} of {len(sel)} | {shares} |"
                )
        print()
        print("Below target (cell, dtype, input, hidden, window, batch: what, ratio against target):")
        for r, what, ratio, target in misses:
            print(f"- {r.cell} {r.dtype} {r.features} {r.hidden} {r.window} {r.batch}: {what} {ratio:.2f} < {target}")
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
