"""Inference speed of tsrnn against PyTorch on the CPU, in one process, over batch sizes.

A row's prediction is the same bit for bit whatever the batch it comes in (see
``tsrnn.kernels``): batches are cut into fixed-size chunks and the last one is padded. This
times ``RecurrentNetwork.predict`` (recurrent layer and linear head on the last state) and
PyTorch's forward under ``inference_mode`` on the same weights, over batch sizes that are
and are not multiples of the chunk, and prints medians and the ratio torch time / tsrnn
time (above 1: tsrnn is faster).

    python benchmarks/bench_inference.py --threads 1
    python benchmarks/bench_inference.py --threads 2 --cells lstm --batch 1 32 100
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import torch
from bench_kernels import DTYPES, build, check_agreement, median_times, parse_shapes


def run_case(cell, input_size, hidden, window, batch, dtype_name, repeats):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, window, input_size)).astype(DTYPES[dtype_name][0])
    net, model = build(cell, input_size, hidden, dtype_name)
    check_agreement(net, model, x, dtype_name)
    tx = torch.from_numpy(x)

    def torch_infer():
        with torch.inference_mode():
            model(tx)

    return median_times([lambda: net.predict(x), torch_infer], repeats)


def main(argv=None):
    args = parse_shapes(__doc__.splitlines()[0], argv, [1], [32, 64, 128], [24], [1, 7, 32, 100, 256, 1000])
    print()
    print("| cell | dtype | input | hidden | window | batch | tsrnn ms | torch ms | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for cell, dtype_name, input_size, hidden, window, batch in itertools.product(
        args.cells, args.dtypes, args.inputs, args.hidden, args.window, args.batch
    ):
        ours, theirs = run_case(cell, input_size, hidden, window, batch, dtype_name, args.repeats)
        print(
            f"| {cell} | {dtype_name} | {input_size} | {hidden} | {window} | {batch} "
            f"| {ours * 1e3:.3f} | {theirs * 1e3:.3f} | {theirs / ours:.2f}x |"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
