"""Training speed and memory of one global model over thousands of series, against PyTorch.

Global model: an LSTM (hidden 32) and a linear head over the whole horizon ("mimo"), window
24, horizon 12, float32, Adam (lr 3e-3), MSE, mini-batches of 64 windows, a fixed number of
epochs without early stopping, on ``--series`` synthetic seasonal series of 200 steps (level
+ trend + a 12-step sine with its own amplitude and phase + noise, fixed seed), each scaled
to zero mean and unit variance on its own steps, not differenced. tsrnn fits
``RNNForecaster`` on the long frame (unique_id, ds, y); PyTorch trains ``nn.LSTM`` +
``nn.Linear`` on the same windows (every run of 36 consecutive steps of a series: 165 a
series), shuffled each epoch into batches of the same size.

Both sides run in one process (this script, re-invoked with ``--child`` for each collection
size, so that one size's memory does not carry into the next): tsrnn first, then PyTorch, on
the same machine state. Each side's peak memory is ``ru_maxrss`` at the end of its fit minus
the resident set after the imports, the data and a warm-up fit on a few series (compilation,
or loading the compiled kernels), with the high-water mark reset just before the fit
(``/proc/self/clear_refs``; where Linux does not allow it, the figure is marked), so that
"training adds" is what that fit itself needs; "total peak" is the highest resident set
during that fit, imports and data included. "prepare" is everything the fit does
before its first epoch (for tsrnn: reading the frame, scaling, cutting the windows; for
PyTorch: scaling and materialising the windows); windows per second count training windows
over the epochs' time alone. The ratio is PyTorch's epoch time / tsrnn's (above 1: tsrnn is
faster), the windows per second of tsrnn over those of PyTorch.

PyTorch's windows are, by default (``--torch-windows materialised``), materialised as two
tensors (inputs and targets) before training, the usual way; ``gathered`` instead keeps the
scaled series stacked and gathers each batch's windows by index, as tsrnn does.

The last table is a fan-out of local models (``pooling="local"``: one model per series,
fitted through joblib): ``--local-series`` series of ``--local-length`` steps, hidden 16,
``--local-epochs`` epochs, on 1 and on 2 joblib workers, each worker's fits on
``min(--threads, cores / workers)`` Numba threads.

    python benchmarks/global_speed.py [--series 1000,10000] [--epochs 2] [--threads 1]
        [--torch-windows materialised|gathered] [--local-series 200] [--no-local]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from typing import Any

import numpy as np

WINDOW, HORIZON, HIDDEN, BATCH, LR, LENGTH, PERIOD = 24, 12, 32, 64, 3e-3, 200, 12


def make_series(n_series: int, length: int = LENGTH, seed: int = 0) -> np.ndarray:
    """Return ``n_series`` seasonal series of ``length`` steps, (n_series, length) float64."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    level = rng.uniform(50.0, 500.0, (n_series, 1))
    trend = rng.normal(0.0, 0.002, (n_series, 1)) * level
    amplitude = rng.uniform(0.05, 0.3, (n_series, 1)) * level
    phase = rng.uniform(0.0, 2 * np.pi, (n_series, 1))
    noise = rng.uniform(0.01, 0.05, (n_series, 1)) * level
    season = amplitude * np.sin(2 * np.pi * t / PERIOD + phase)
    return level + trend * t + season + noise * rng.standard_normal((n_series, length))


def long_frame(values: np.ndarray):  # -> pd.DataFrame
    import pandas as pd

    n_series, length = values.shape
    ids = np.array([f"S{i:05d}" for i in range(n_series)], dtype=object)
    return pd.DataFrame(
        {"unique_id": np.repeat(ids, length), "ds": np.tile(np.arange(1, length + 1), n_series), "y": values.ravel()}
    )


def rss_mb() -> float:
    """The resident set now, MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def reset_peak() -> bool:
    """Reset the process' high-water mark of its resident set to the resident set now, where Linux allows."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return max_rss_mb() <= rss_mb() + 1.0


def tree_cpu_seconds() -> float:
    """CPU seconds used so far by this process and its live children (the joblib workers), from /proc."""
    total = sum(os.times()[:2])
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # the parent's pid; then utime and stime, in clock ticks
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# --------------------------------------------------------------------------------- the sides


def tsrnn_side(n_series: int, epochs: int, threads: int) -> dict:
    import numba
    from sklearn.exceptions import ConvergenceWarning

    from tsrnn import RNNForecaster

    numba.set_num_threads(threads)
    warnings.simplefilter("ignore", ConvergenceWarning)

    class Timed(RNNForecaster):
        """RNNForecaster that records how long its training loop took (``train_seconds_``)."""

        def _train(self, *args, **kwargs):
            start = time.perf_counter()
            super()._train(*args, **kwargs)
            self.train_seconds_ = time.perf_counter() - start

    def model(max_epochs: int) -> Timed:
        return Timed(
            window=WINDOW, horizon=HORIZON, strategy="mimo", hidden_size=HIDDEN, batch_size=BATCH,
            learning_rate=LR, max_epochs=max_epochs, early_stopping=False, difference=0, scaler="standard",
            seasonal_period=PERIOD, dtype="float32", random_state=0,
        )  # fmt: skip

    frame = long_frame(make_series(n_series))
    model(1).fit(long_frame(make_series(4, seed=1)))  # warm-up: compiles or loads the kernels
    baseline, before = rss_mb(), max_rss_mb()
    reset = reset_peak()
    start = time.perf_counter()
    fitted = model(epochs).fit(frame)
    total = time.perf_counter() - start
    peak = max_rss_mb()
    windows = n_series * (LENGTH - WINDOW - HORIZON + 1)
    assert fitted.n_iter_ == epochs
    return {
        "windows": windows, "prepare_s": total - fitted.train_seconds_, "train_s": fitted.train_seconds_,
        "baseline_mb": baseline, "peak_mb": peak, "total_peak_mb": peak if reset else max(before, peak), "reset": reset,
        "loss": float(fitted.loss_curve_[-1]), "what": "Windows: start rows into the stacked series",
    }  # fmt: skip


def torch_side(n_series: int, epochs: int, threads: int, how: str) -> dict:
    import torch

    torch.set_num_threads(threads)

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(1, HIDDEN, batch_first=True)
            self.head = torch.nn.Linear(HIDDEN, HORIZON)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    def prepare(values: np.ndarray):
        """Scale each series on its own steps; return a function giving the windows and targets of an index."""
        mean = values.mean(axis=1, keepdims=True)
        std = values.std(axis=1, keepdims=True)
        scaled = ((values - mean) / std).astype(np.float32)
        if how == "materialised":
            view = np.lib.stride_tricks.sliding_window_view(scaled, WINDOW + HORIZON, axis=1)  # (n, 165, 36)
            x = torch.from_numpy(view[:, :, :WINDOW].reshape(-1, WINDOW, 1))  # reshape copies: (N, 24, 1)
            y = torch.from_numpy(view[:, :, WINDOW:].reshape(-1, HORIZON))
            return len(x), lambda index: (x[index], y[index])
        rows = torch.from_numpy(scaled.reshape(-1))
        per_series = LENGTH - WINDOW - HORIZON + 1
        starts = (torch.arange(len(values))[:, None] * LENGTH + torch.arange(per_series)).reshape(-1)
        steps_x, steps_y = torch.arange(WINDOW), torch.arange(WINDOW, WINDOW + HORIZON)

        def gather(index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            first = starts[index][:, None]
            return rows[first + steps_x].unsqueeze(-1), rows[first + steps_y]

        return len(starts), gather

    def train(values: np.ndarray, epochs: int) -> tuple[float, float, float, int]:
        start = time.perf_counter()
        n, batch_of = prepare(values)
        torch.manual_seed(0)
        model = Model()
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        loss_fn = torch.nn.MSELoss()
        prepared = time.perf_counter()
        for _ in range(epochs):
            order = torch.randperm(n)
            total = 0.0
            for i in range(0, n, BATCH):
                x, y = batch_of(order[i : i + BATCH])
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(x)
        return prepared - start, time.perf_counter() - prepared, total / n, n

    values = make_series(n_series)
    train(make_series(4, seed=1), 1)  # warm-up
    baseline, before = rss_mb(), max_rss_mb()
    reset = reset_peak()
    prepare_s, train_s, loss, windows = train(values, epochs)
    peak = max_rss_mb()
    what = (
        "materialised as two tensors before training"
        if how == "materialised"
        else "gathered batch by batch by index from the stacked series"
    )
    return {
        "windows": windows, "prepare_s": prepare_s, "train_s": train_s, "baseline_mb": baseline,
        "peak_mb": peak, "total_peak_mb": peak if reset else max(before, peak), "reset": reset, "loss": loss,
        "what": what,
    }  # fmt: skip


def local_side(n_series: int, length: int, epochs: int, workers: list[int]) -> list[dict]:
    from sklearn.exceptions import ConvergenceWarning

    from tsrnn import RNNForecaster
    from tsrnn._local import threads_per_worker

    warnings.simplefilter("ignore", ConvergenceWarning)
    import numba

    def model(n_jobs: int) -> RNNForecaster:
        return RNNForecaster(
            window=WINDOW, horizon=HORIZON, hidden_size=16, max_epochs=epochs, early_stopping=False,
            seasonal_period=PERIOD, pooling="local", n_jobs=n_jobs, random_state=0,
        )  # fmt: skip

    frame = long_frame(make_series(n_series, length))
    small = long_frame(make_series(4, length, seed=1))
    rows, reference = [], None
    for n_jobs in workers:
        start = time.perf_counter()
        model(n_jobs).fit(small)  # warm-up: starts the workers, each compiling or loading the kernels
        first = time.perf_counter() - start
        cpu, start = tree_cpu_seconds(), time.perf_counter()
        fitted = model(n_jobs).fit(frame)
        seconds = time.perf_counter() - start
        cores = (tree_cpu_seconds() - cpu) / seconds
        forecast = fitted.predict()["y"].to_numpy()
        same = None if reference is None else bool(np.array_equal(forecast, reference))
        reference = forecast if reference is None else reference
        threads = min(threads_per_worker(n_jobs), numba.config.NUMBA_NUM_THREADS)
        rows.append({"workers": n_jobs, "threads": threads, "warmup_s": first, "seconds": seconds, "cores": cores,
                     "same": same})  # fmt: skip
    return rows


# ----------------------------------------------------------------------------------- the parent


def child(args: argparse.Namespace, side: str, *extra: str) -> Any:
    command = [sys.executable, os.path.abspath(__file__), "--child", side, "--epochs", str(args.epochs),
               "--threads", str(args.threads), "--torch-windows", args.torch_windows, *extra]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "NUMBA_NUM_THREADS": str(args.threads)}
    if side == "local":
        env["NUMBA_NUM_THREADS"] = str(min(args.threads, os.cpu_count() or 1))
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{side} {' '.join(extra)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def header(args: argparse.Namespace, what: str) -> None:
    from machine import cpu_model

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{what}: {cpu_model()}, {os.cpu_count()} cores, {args.threads} thread(s) each (load average {load})\n")


def versions() -> str:
    out = subprocess.run(
        [sys.executable, "-c", "import torch, numba, numpy, tsrnn; print(torch.__version__, numba.__version__, "
         "numpy.__version__, tsrnn.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return f"torch {out[0]}, numba {out[1]}, numpy {out[2]}, tsrnn {out[3]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="1000,10000", help="collection sizes, comma-separated")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads and numba.set_num_threads")
    parser.add_argument("--torch-windows", default="materialised", choices=["materialised", "gathered"])
    parser.add_argument("--local-series", type=int, default=200)
    parser.add_argument("--local-length", type=int, default=120)
    parser.add_argument("--local-epochs", type=int, default=20)
    parser.add_argument("--no-local", action="store_true", help="skip the table of local models")
    parser.add_argument("--no-global", action="store_true", help="skip the tables of the global model")
    parser.add_argument("--child", choices=["pair", "local"], help=argparse.SUPPRESS)
    parser.add_argument("--n-series", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "pair":
        import gc

        ours = tsrnn_side(args.n_series, args.epochs, args.threads)
        gc.collect()
        theirs = torch_side(args.n_series, args.epochs, args.threads, args.torch_windows)
        print(json.dumps([ours, theirs]))
        return
    if args.child == "local":
        print(json.dumps(local_side(args.local_series, args.local_length, args.local_epochs, [1, 2])))
        return

    print(f"{time.strftime('%Y-%m-%d')}, {versions()}")
    if not args.no_global:
        header(args, "Global model")
        print(
            f"LSTM hidden {HIDDEN}, window {WINDOW}, horizon {HORIZON} (mimo), batch {BATCH}, float32, Adam lr {LR:g}, "
            f"MSE, {args.epochs} epoch(s), series of {LENGTH} steps"
        )
        results = []
        for n in [int(s) for s in args.series.split(",")]:
            ours, theirs = child(args, "pair", "--n-series", str(n))
            assert ours["windows"] == theirs["windows"]
            results.append((n, ours, theirs))
        print(f"tsrnn windows: {ours['what']}; PyTorch windows: {theirs['what']}\n")
        print("| series | windows | side | prepare s | train s | windows/s | training adds MB | total peak MB "
              "| last epoch loss |")  # fmt: skip
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for n, ours, theirs in results:
            for name, r in (("tsrnn", ours), ("PyTorch", theirs)):
                rate = r["windows"] * args.epochs / r["train_s"]
                adds = r["peak_mb"] - r["baseline_mb"]
                mark = "" if r["reset"] else " (peak not reset)"
                print(
                    f"| {n:,} | {r['windows']:,} | {name} | {r['prepare_s']:.2f} | {r['train_s']:.1f} | {rate:,.0f} "
                    f"| {adds:.0f}{mark} | {r['total_peak_mb']:.0f} | {r['loss']:.4f} |"
                )
        header(args, "Ratio")
        print("| series | tsrnn windows/s | PyTorch windows/s | ratio (PyTorch s / tsrnn s) |")
        print("| --- | --- | --- | --- |")
        for n, ours, theirs in results:
            a, b = (r["windows"] * args.epochs / r["train_s"] for r in (ours, theirs))
            print(f"| {n:,} | {a:,.0f} | {b:,.0f} | {a / b:.2f} |")
    if not args.no_local:
        threads = min(args.threads, os.cpu_count() or 1)
        from machine import cpu_model

        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"\nLocal models: {cpu_model()}, {os.cpu_count()} cores, at most {threads} Numba thread(s) a fit "
            f"(load average {load})\n"
        )
        print(
            f"pooling='local': {args.local_series} series of {args.local_length} steps, LSTM hidden 16, window "
            f"{WINDOW}, horizon {HORIZON}, {args.local_epochs} epochs (no early stopping), one model per series\n"
        )
        rows = child(args, "local")
        print(
            "| joblib workers | Numba threads a fit | warm-up s (workers start) | wall s | speed-up "
            "| cores busy (CPU s / wall s) | same forecasts |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for row in rows:
            same = "-" if row["same"] is None else "yes" if row["same"] else "no"
            speedup = rows[0]["seconds"] / row["seconds"]
            print(
                f"| {row['workers']} | {row['threads']} | {row['warmup_s']:.1f} | {row['seconds']:.1f} "
                f"| {speedup:.2f} | {row['cores']:.2f} | {same} |"
            )


if __name__ == "__main__":
    main()
