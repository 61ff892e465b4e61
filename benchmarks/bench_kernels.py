"""Training-step and inference speed of tsrnn against PyTorch on the CPU, in one process.

A training step is: forward through the recurrent layer and a linear head on the last hidden
state, MSE loss, full BPTT, Adam update. Inference is the forward pass alone. Both libraries
get the same weights (checked to give the same outputs before timing), the same batch, the
same thread count; repeats alternate between them and the table reports medians and the
ratio torch time / tsrnn time (above 1: tsrnn is faster).

The share columns give tsrnn's rate, in floating-point operations of the recurrent layer's
products per second, as a share of the machine's ceiling: the single-thread rate of the same
BLAS (``sgemm``/``dgemm``, as compiled code calls it) on 1024 x 1024 matrices, measured first
and printed in the header. A training step counts the forward products and the backward
ones (``W_hh' @ d``, ``d @ h'`` and the input side); inference the forward ones.

    python benchmarks/bench_kernels.py --threads 1
    python benchmarks/bench_kernels.py --threads 2 --cells lstm --hidden 32 64
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import sys
import time

import numba
import numpy as np
import torch
from machine import cpu_line

from tsrnn.kernels._blas import matmul
from tsrnn.kernels._threads import pin_blas_to_one_thread
from tsrnn.losses import mse_loss
from tsrnn.network import RecurrentNetwork
from tsrnn.optim import Adam

TORCH_CELLS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}


class TorchModel(torch.nn.Module):
    def __init__(self, cell, input_size, hidden):
        super().__init__()
        self.rnn = TORCH_CELLS[cell](input_size, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def build(cell, input_size, hidden, dtype_name, seed=0):
    np_dtype, torch_dtype = DTYPES[dtype_name]
    net = RecurrentNetwork(input_size, hidden, 1, cell=cell, dtype=np_dtype, random_state=seed)
    model = TorchModel(cell, input_size, hidden).to(torch_dtype)
    with torch.no_grad():
        for name, value in net.get_weights().items():
            target = model.head if name.startswith("head.") else model.rnn
            getattr(target, name.split(".")[-1]).copy_(torch.from_numpy(value))
    return net, model


def check_agreement(net, model, x, dtype_name):
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = net.predict(x)
    tol = 1e-4 if dtype_name == "float32" else 1e-10
    if not np.allclose(got, expected, rtol=tol, atol=tol):
        raise AssertionError(f"tsrnn and torch disagree: max diff {np.max(np.abs(got - expected))}")


def median_times(fns, repeats, min_time=0.2):
    """Median seconds per call of each function, alternating between them."""
    for fn in fns:  # warm-up: compilation, allocator, caches
        fn()
    start = time.perf_counter()
    fns[0]()
    inner = max(1, int(min_time / max(time.perf_counter() - start, 1e-6) / repeats))
    samples = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[k].append((time.perf_counter() - start) / inner)
    return [statistics.median(s) for s in samples]


@numba.njit
def _products(repeats, size, a, b, c):
    for _ in range(repeats):
        matmul(size, size, size, a, False, b, False, c, 0.0)


def gemm_ceiling(dtype_name, size=1024, repeats=3):
    """Best single-thread GFLOP/s of the compiled code's BLAS ``gemm`` on ``size`` x ``size`` matrices."""
    pin_blas_to_one_thread()
    dtype = DTYPES[dtype_name][0]
    a, b, c = (np.random.default_rng(0).random(size * size).astype(dtype) for _ in range(3))
    _products(1, size, a, b, c)
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        _products(repeats, size, a, b, c)
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2 * size**3 / best / 1e9


def layer_flops(cell, input_size, hidden, window, batch):
    """Floating-point operations of the layer's products: (forward, backward) of one batch."""
    rows = GATES[cell] * hidden
    per_row_step = 2 * rows * batch * window
    forward = per_row_step * (hidden + input_size + 1)
    backward = per_row_step * (2 * hidden + 2 * input_size + 1)
    return forward, backward


def run_case(cell, input_size, hidden, window, batch, dtype_name, repeats):
    rng = np.random.default_rng(1)
    np_dtype = DTYPES[dtype_name][0]
    x = rng.standard_normal((batch, window, input_size)).astype(np_dtype)
    y = rng.standard_normal((batch, 1)).astype(np_dtype)
    net, model = build(cell, input_size, hidden, dtype_name)
    check_agreement(net, model, x, dtype_name)
    adam = Adam(net.params, learning_rate=1e-4)
    torch_adam = torch.optim.Adam(model.parameters(), lr=1e-4)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.MSELoss()

    def tsrnn_train():
        pred, cache = net.forward(x)
        _, d_pred = mse_loss(pred, y)
        net.backward(d_pred, cache)
        adam.step(net.grads)

    def torch_train():
        torch_adam.zero_grad(set_to_none=True)
        loss = loss_fn(model(tx), ty)
        loss.backward()
        torch_adam.step()

    def tsrnn_infer():
        net.predict(x)

    def torch_infer():
        with torch.inference_mode():
            model(tx)

    t_train, r_train = median_times([tsrnn_train, torch_train], repeats)
    t_infer, r_infer = median_times([tsrnn_infer, torch_infer], repeats)
    return t_train, r_train, t_infer, r_infer


def parse_shapes(description, argv, inputs, hidden, window, batch):
    """Parse the options both kernel benchmarks take, set the thread counts, print the header line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "rnn"])
    parser.add_argument("--inputs", nargs="+", type=int, default=inputs)
    parser.add_argument("--hidden", nargs="+", type=int, default=hidden)
    parser.add_argument("--window", nargs="+", type=int, default=window)
    parser.add_argument("--batch", nargs="+", type=int, default=batch)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    print(cpu_line())
    print(
        f"threads {args.threads}, torch {torch.__version__}, numba {numba.__version__}, "
        f"numpy {np.__version__}, repeats {args.repeats} (medians)"
    )
    return args


def main(argv=None):
    args = parse_shapes(__doc__.splitlines()[0], argv, [1, 8], [16, 32, 64, 128, 256], [24, 96], [32, 256])
    ceilings = {name: gemm_ceiling(name) for name in args.dtypes}
    print("single-thread gemm ceiling: " + ", ".join(f"{name} {rate:.0f} GFLOP/s" for name, rate in ceilings.items()))
    print()
    print("| cell | dtype | input | hidden | window | batch | train tsrnn ms | train torch ms | train ratio "
          "| infer tsrnn ms | infer torch ms | infer ratio | train share | infer share |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for cell, dtype_name, input_size, hidden, window, batch in itertools.product(
        args.cells, args.dtypes, args.inputs, args.hidden, args.window, args.batch
    ):
        t_train, r_train, t_infer, r_infer = run_case(cell, input_size, hidden, window, batch, dtype_name, args.repeats)
        forward, backward = layer_flops(cell, input_size, hidden, window, batch)
        # The ceiling is one thread's: with more threads the share can pass 100 %.
        ceiling = ceilings[dtype_name] * 1e9
        print(
            f"| {cell} | {dtype_name} | {input_size} | {hidden} | {window} | {batch} "
            f"| {t_train * 1e3:.2f} | {r_train * 1e3:.2f} | {r_train / t_train:.2f}x "
            f"| {t_infer * 1e3:.2f} | {r_infer * 1e3:.2f} | {r_infer / t_infer:.2f}x "
            f"| {(forward + backward) / t_train / ceiling:.0%} | {forward / t_infer / ceiling:.0%} |"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
