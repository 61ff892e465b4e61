"""End-to-end fit time of a global model on 100 000 windows: ``device="cuda"`` against ``device="cpu"``.

A global model is one network trained on the windows of many series at once. ``RNNForecaster``
fits one series, or a DataFrame whose columns it forecasts together as one multi-output model,
which is not a global model; so the global model here is the estimator that takes windows:
``RNNRegressor``, with the same ``RecurrentNetwork``, training loop and ``device`` option that
``RNNForecaster(strategy="mimo")`` fits. Its windows come from real series, each standardised by
its own mean and standard deviation, cut with ``tsrnn.make_windows`` (``--window`` steps, the next
value as the target) and stacked:

- ``--data electricity`` (default): Victoria's hourly electricity demand and Melbourne's hourly
  temperature in 2014 (``load_vic_electricity``, 8 760 hours each), window 48: 17 424 distinct
  windows;
- ``--data tourism``: the 427 quarterly series of ``load_tourism_quarterly``, window 8: 39 128
  distinct windows.

Both hold fewer distinct windows than 100 000, so the stacked set is repeated (whole copies, then
the first part of one more) up to ``--windows``; a step costs the same whether or not its windows
repeat. A smaller ``--windows`` takes windows spread evenly over the stacked set.

Both devices fit ``RNNRegressor(cell="lstm", hidden_size=64, batch_size=256, max_epochs=2,
early_stopping=False, dtype="float32", random_state=0)`` with the default Adam (learning rate
1e-3): the same initial weights, the same shuffles, so the same batches. Measured is the wall time
of ``fit`` (checks, target scaling, training; on the GPU also the upload of the windows and the
download of the parameters). The first fit of each device in the process also compiles the kernels
(or loads them from Numba's on-disk cache); the later ones (median of ``--repeats``) do not. The
CUDA context is created before, and its time is printed apart. The CPU runs tsrnn's kernels on
Numba's thread count (``--threads``; the BLAS their compiled code calls stays on one thread). The
training MSE is the last epoch's mean loss on the standardised targets (``loss_curve_[-1]``): the
two devices sum in different orders in float32, so it agrees to a few digits, not exactly;
"repeatable" says whether the later fits reproduced the first fit's loss curve exactly.

    python benchmarks/bench_cuda_fit.py
    python benchmarks/bench_cuda_fit.py --windows 100000 --epochs 2 --hidden 64 --batch 1024
    python benchmarks/bench_cuda_fit.py --data tourism --window 8 --threads 16
    python benchmarks/bench_cuda_fit.py --device-only --repeats 3

Needs numba-cuda and an NVIDIA GPU (not with ``--cpu-only``). ``--dry-run`` fits a tiny model (40
windows, hidden 3, one epoch) once more than the first time on each device and fails when the
devices' losses disagree or a fit does not repeat; it also runs on Numba's CUDA simulator, where
the times mean nothing:

    NUMBA_ENABLE_CUDASIM=1 python benchmarks/bench_cuda_fit.py --dry-run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

# name: (default window, what the windows are cut from)
DATA = {
    "electricity": (48, "hourly electricity demand and temperature of Victoria, 2014"),
    "tourism": (8, "427 quarterly tourism series"),
}
DRY_WINDOWS, DRY_WINDOW, DRY_HIDDEN, DRY_BATCH = 40, 4, 3, 16
# The dry run's float32 losses differ between the devices by rounding only.
DRY_TOLERANCE = 1e-3


def series(name: str) -> list[np.ndarray]:
    """The series of a data set, each standardised on its own, as a global model sees them."""
    from tsrnn import datasets

    if name == "electricity":
        frame = datasets.load_vic_electricity()
        raw = [frame["demand_gw"].to_numpy(), frame["temperature_c"].to_numpy()]
    else:
        raw = [s.to_numpy() for s in datasets.load_tourism_quarterly().values()]
    out = []
    for values in raw:
        std = values.std()
        out.append((values - values.mean()) / (std if std > 0 else 1.0))
    return out


def global_windows(name: str, window: int, count: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``count`` windows (count, window) and next values of the stacked series; also the distinct windows and series."""
    from tsrnn import make_windows

    parts = [make_windows(values, window) for values in series(name) if len(values) > window]
    x = np.concatenate([p[0] for p in parts]).astype(np.float32)
    y = np.concatenate([p[1] for p in parts]).astype(np.float32)
    distinct = len(y)
    if count <= distinct:
        index = np.arange(count) * distinct // count
    else:
        index = np.arange(count) % distinct
    return np.ascontiguousarray(x[index]), y[index], distinct, len(parts)


def fit(device: str, x: np.ndarray, y: np.ndarray, args) -> tuple[float, list[float]]:
    """Seconds of one ``fit`` and its loss curve."""
    from sklearn.exceptions import ConvergenceWarning

    from tsrnn import RNNRegressor

    model = RNNRegressor(
        cell="lstm", hidden_size=args.hidden, batch_size=args.batch, max_epochs=args.epochs,
        early_stopping=False, dtype="float32", random_state=0, device=device,
    )  # fmt: skip
    with warnings.catch_warnings():
        # A fixed number of epochs is the point here, not convergence.
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(x, y)
        seconds = time.perf_counter() - start
    return seconds, list(model.loss_curve_)


def gpu_name() -> tuple[str, float]:
    """The GPU's name, and the seconds it took to create the CUDA context."""
    from numba import cuda

    start = time.perf_counter()
    cuda.current_context()
    seconds = time.perf_counter() - start
    name = getattr(cuda.get_current_device(), "name", b"Numba CUDA simulator")
    return (name.decode() if isinstance(name, bytes) else str(name)), seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(DATA), default="electricity", help="default electricity")
    parser.add_argument("--window", type=int, help="steps per window (default 48 for electricity, 8 for tourism)")
    parser.add_argument("--windows", type=int, default=100_000, help="training windows (default 100000)")
    parser.add_argument("--epochs", type=int, default=2, help="default 2")
    parser.add_argument("--hidden", type=int, default=64, help="LSTM units (default 64)")
    parser.add_argument("--batch", type=int, default=256, help="default 256")
    parser.add_argument("--repeats", type=int, default=1, help="fits per device after the first (default 1)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: Numba's, NUMBA_NUM_THREADS)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--device-only", action="store_true", help='fit on the GPU only (device="cuda")')
    only.add_argument("--cpu-only", action="store_true", help='fit on the CPU only (device="cpu")')
    parser.add_argument(
        "--dry-run", action="store_true", help="a tiny model on both devices, checked (also on the simulator)"
    )
    args = parser.parse_args(argv)
    if args.dry_run:
        args.windows, args.window, args.hidden, args.batch = DRY_WINDOWS, DRY_WINDOW, DRY_HIDDEN, DRY_BATCH
        args.epochs, args.repeats, args.device_only, args.cpu_only = 1, 1, False, False
    for name in ("windows", "epochs", "hidden", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.repeats < 0:
        parser.error("--repeats must be at least 0")
    window = args.window if args.window is not None else DATA[args.data][0]
    devices = ["cuda"] if args.device_only else ["cpu"] if args.cpu_only else ["cuda", "cpu"]

    import numba

    import tsrnn

    if args.threads is not None:
        numba.set_num_threads(args.threads)
    lines = [
        f"tsrnn {tsrnn.__version__}, numba {numba.__version__}, numpy {np.__version__}, "
        f"Python {sys.version.split()[0]}; {os.cpu_count()} CPU cores, the CPU fit on {numba.get_num_threads()} "
        "threads"
    ]
    if "cuda" in devices:
        from tsrnn._cuda import CudaUnavailableError, require_cuda, simulated

        try:
            require_cuda()
        except CudaUnavailableError as exc:
            raise SystemExit(str(exc)) from None
        name, context = gpu_name()
        lines.append(f"GPU {name}; CUDA context created in {context:.2f} s (not in the fit times)")
        if simulated():
            lines.append("Numba's CUDA simulator: the GPU times below mean nothing")
    x, y, distinct, n_series = global_windows(args.data, window, args.windows)
    copies = f", {len(y) / distinct:.2f} copies of them" if len(y) > distinct else ""
    lines.append(
        f"data: {DATA[args.data][1]}: {n_series} series, {distinct} distinct windows of {window} steps"
        f"{copies}; {len(y)} training windows"
    )
    lines.append(
        f'model: RNNRegressor(cell="lstm", hidden_size={args.hidden}, batch_size={args.batch}, '
        f'max_epochs={args.epochs}, early_stopping=False, dtype="float32", random_state=0), Adam lr 1e-3'
    )
    print("\n".join(lines) + "\n", flush=True)

    first = {device: fit(device, x, y, args) for device in devices}
    later: dict[str, list[tuple[float, list[float]]]] = {device: [] for device in devices}
    # Alternating, so that a slow spell of the machine does not fall on one device only.
    for _ in range(args.repeats):
        for device in devices:
            later[device].append(fit(device, x, y, args))

    print(
        "| device | first fit s (compilation included) | fit s | windows × epochs / s | training MSE "
        "| repeatable |\n| --- | --- | --- | --- | --- | --- |"
    )
    seconds, ok = {}, True
    for device in devices:
        first_s, curve = first[device]
        times = [s for s, _ in later[device]]
        seconds[device] = statistics.median(times) if times else None
        repeatable = all(c == curve for _, c in later[device])
        ok &= repeatable
        label = "cuda (GPU)" if device == "cuda" else f"cpu ({numba.get_num_threads()} threads)"
        fit_s = f"{seconds[device]:.2f}" if times else "-"
        rate = f"{len(y) * args.epochs / seconds[device]:,.0f}" if times else "-"
        same = ("yes" if repeatable else "NO") if times else "-"
        print(f"| {label} | {first_s:.2f} | {fit_s} | {rate} | {curve[-1]:.6f} | {same} |")
    print()
    if len(devices) == 2:
        gpu_loss, cpu_loss = first["cuda"][1][-1], first["cpu"][1][-1]
        difference = abs(gpu_loss - cpu_loss) / abs(cpu_loss)
        ok &= difference <= DRY_TOLERANCE or not args.dry_run
        if seconds["cuda"] is not None:
            print(f"speed-up (CPU fit s / GPU fit s): {seconds['cpu'] / seconds['cuda']:.2f}x")
        print(
            f"speed-up of the first fits: {first['cpu'][0] / first['cuda'][0]:.2f}x; "
            f"training MSE relative difference GPU / CPU: {difference:.1e}"
        )
    if args.dry_run and not ok:
        raise SystemExit("the devices' losses disagree, or a fit did not repeat its first")


if __name__ == "__main__":
    main()
