"""Summarise tables printed by ``bench_kernels.py`` against the targets of the kernels work.

Targets (torch time / tsrnn time): training >= 3x at hidden <= 32 with batch <= 64, >= 1.5x at
hidden 64 or batch 256 (hidden < 128), >= 1x at hidden 128-256; inference >= 2x at hidden <= 64
and >= 1x above.

    python benchmarks/summarize.py threads1.md [threads2.md ...]
"""

from __future__ import annotations

import statistics
import sys


def read_rows(path):
    rows = []
    with open(path) as handle:
        for line in handle:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 12 or cells[0] not in ("lstm", "gru", "rnn"):
                continue
            cell, dtype = cells[0], cells[1]
            features, hidden, window, batch = (int(c) for c in cells[2:6])
            rows.append((cell, dtype, features, hidden, window, batch, float(cells[8][:-1]), float(cells[11][:-1])))
    return rows


def train_target(hidden, batch):
    if hidden <= 32 and batch <= 64:
        return 3.0
    if hidden >= 128:
        return 1.0
    return 1.5


def infer_target(hidden):
    return 2.0 if hidden <= 64 else 1.0


def main(paths):
    for path in paths:
        rows = read_rows(path)
        print(f"### {path}: {len(rows)} shapes")
        print()
        print("| cell | dtype | train ratio min / median / max | train below target | "
              "inference ratio min / median / max | inference below target |")  # fmt: skip
        print("| --- | --- | --- | --- | --- | --- |")
        for cell in ("lstm", "gru", "rnn"):
            for dtype in ("float32", "float64"):
                sel = [r for r in rows if r[0] == cell and r[1] == dtype]
                if not sel:
                    continue
                train = [r[6] for r in sel]
                infer = [r[7] for r in sel]
                train_miss = sum(r[6] < train_target(r[3], r[5]) for r in sel)
                infer_miss = sum(r[7] < infer_target(r[3]) for r in sel)
                print(
                    f"| {cell} | {dtype} | {min(train):.2f} / {statistics.median(train):.2f} / {max(train):.2f} "
                    f"| {train_miss} of {len(sel)} | {min(infer):.2f} / {statistics.median(infer):.2f} / "
                    f"{max(infer):.2f} | {infer_miss} of {len(sel)} |"
                )
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
