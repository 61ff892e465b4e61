"""End-to-end training time of RNNForecaster.fit against the same training loop in PyTorch (CPU).

Both train the same architecture (LSTM + linear head over the whole horizon, "mimo") on the
same windows of the standardised series, with Adam (lr 1e-3), MSE, the same batch size and
the same number of epochs (no early stopping), with the same thread count, in one process,
alternating, after a warm-up fit of each. The tsrnn time is the whole ``fit`` (checks,
scaling and windowing included); the PyTorch time is its training loop on prepared tensors.
Medians of ``--repeats`` fits; the ratio is PyTorch time / tsrnn time (above 1: tsrnn faster).

A second table gives the first ``fit`` in a fresh Python process (import and compilation
included) with a cold Numba cache (a new, empty NUMBA_CACHE_DIR) and then a warm one.

    python benchmarks/bench_fit.py [--threads 2] [--repeats 3] [--cases air,electricity]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np
import pandas as pd
import torch
from machine import cpu_line

from tsrnn import RNNForecaster, datasets

# name: (loader in tsrnn.datasets, target column or None, window, horizon, hidden, epochs)
CASES = {
    "air": ("load_air_passengers", None, 24, 12, 32, 100),
    "electricity": ("load_vic_electricity", "demand_gw", 168, 24, 64, 5),
}
BATCH = 32


def load(case: str) -> pd.Series:
    loader, column = CASES[case][:2]
    data = getattr(datasets, loader)()
    return data if column is None else data[column]


def forecaster(case: str) -> RNNForecaster:
    window, horizon, hidden, epochs = CASES[case][2:]
    return RNNForecaster(
        window=window, horizon=horizon, hidden_size=hidden, max_epochs=epochs, n_iter_no_change=epochs + 1,
        batch_size=BATCH, strategy="mimo", difference=0, scaler="standard", random_state=0,
    )  # fmt: skip


def torch_windows(y: pd.Series, window: int, horizon: int) -> tuple[torch.Tensor, torch.Tensor]:
    values = y.to_numpy()
    scaled = ((values - values.mean()) / values.std()).astype(np.float32)
    view = np.lib.stride_tricks.sliding_window_view(scaled, window + horizon)
    return torch.from_numpy(view[:, :window, None].copy()), torch.from_numpy(view[:, window:].copy())


class TorchModel(torch.nn.Module):
    def __init__(self, hidden: int, horizon: int) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(1, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def torch_fit(x: torch.Tensor, y: torch.Tensor, hidden: int, horizon: int, epochs: int) -> float:
    torch.manual_seed(0)
    model = TorchModel(hidden, horizon)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x), BATCH):
            index = order[i : i + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def tsrnn_fit(y: pd.Series, case: str) -> float:
    model = forecaster(case)
    start = time.perf_counter()
    model.fit(y)
    return time.perf_counter() - start


# The fresh process imports only what a user's script would (not this module, which imports torch).
FRESH = """
import time
start = time.perf_counter()
from tsrnn import RNNForecaster, datasets
from tsrnn import datasets
data = datasets.{loader}()
RNNForecaster(**{params!r}).fit(data if {column!r} is None else data[{column!r}])
print(time.perf_counter() - start)
"""


def fresh_process(case: str, cache_dir: str, threads: int) -> float:
    loader, column = CASES[case][:2]
    code = FRESH.format(loader=loader, column=column, params=forecaster(case).get_params())
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "NUMBA_NUM_THREADS": str(threads), "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cases", default="air,electricity")
    parser.add_argument("--no-fresh", action="store_true", help="skip the fresh-process table")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    import warnings

    warnings.simplefilter("ignore")
    print(cpu_line())
    print(f"threads {args.threads}, torch {torch.__version__}, numba {numba.__version__}\n")
    print("| series | window | horizon | hidden | epochs | windows | tsrnn fit s | PyTorch s | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    cases = args.cases.split(",")
    for case in cases:
        y = load(case)
        window, horizon, hidden, epochs = CASES[case][2:]
        x_t, y_t = torch_windows(y, window, horizon)
        tsrnn_fit(y, case)  # warm-up: compiles or loads the kernels
        torch_fit(x_t[:64], y_t[:64], hidden, horizon, 1)
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(tsrnn_fit(y, case))
            theirs.append(torch_fit(x_t, y_t, hidden, horizon, epochs))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"| {case} | {window} | {horizon} | {hidden} | {epochs} | {len(x_t)} | {a:.2f} | {b:.2f} | {b / a:.2f} |")
    if args.no_fresh:
        return
    print("\n| series | first fit in a fresh process, cold cache s | warm cache s |")
    print("| --- | --- | --- |")
    for case in cases:
        with tempfile.TemporaryDirectory() as cache_dir:
            cold = fresh_process(case, cache_dir, args.threads)
            warm = fresh_process(case, cache_dir, args.threads)
        print(f"| {case} | {cold:.1f} | {warm:.1f} |")


if __name__ == "__main__":
    main()
