"""Training-step and inference speed of tsrnn's GPU training path against cuDNN through PyTorch, on one GPU.

A training step is: forward through the recurrent layer (LSTM or GRU, float32), a linear head on
the last hidden state, MSE loss, full BPTT and an SGD update of all the weights. Inference is the
forward pass of the layer and the head. tsrnn runs what ``fit(device="cuda")`` runs for each
mini-batch: a :class:`~tsrnn.network.RecurrentNetwork` (one layer, a head of one output) on a
:class:`~tsrnn._cuda.network.DeviceNetwork`, whose training step is ``forward(x, False,
keep=True)``, the MSE of :class:`tsrnn._cuda.losses.DeviceLoss` into a device accumulator, ``backward(d_y, cache,
False, 0)`` and a :class:`~tsrnn._cuda.optim.DeviceOptimizer` step of :class:`tsrnn.optim.SGD`, and
whose inference is ``forward(x, False, keep=False)``, with no PyTorch operation in its steps. As in
training, the network reuses its device workspaces from one call to the next (the first call
allocates them), and the batch is time-major (T, B, F) as the training session gathers it; the
gather itself is left out, since here the batch is uploaded once. PyTorch runs
``torch.nn.LSTM``/``GRU(batch_first=True)`` (cuDNN) + ``torch.nn.Linear`` + ``torch.nn.MSELoss`` +
``torch.optim.SGD`` with its default settings (the TF32 settings are printed: cuDNN may use tensor
cores for float32 RNNs). Both start from the same weights (set in tsrnn by their PyTorch names) and
the same batch, uploaded once; repeats alternate between them, each one timed with CUDA events
from a synchronised device, and the table reports medians after warm-ups and the ratio cuDNN time /
tsrnn time (above 1: tsrnn is faster).

Before timing, a check runs the very calls that are timed and compares tsrnn's predictions (of the
training and of the inference pass), loss, gradients and updated weights with PyTorch's on small
shapes with TF32 off, and stops at a relative error above 1e-3. A shape that does not fit in GPU
memory shows "oom"; when the two libraries fit only one after the other, each is timed alone and
marked so.

    python benchmarks/bench_cuda.py --out cuda-h100.md
    python benchmarks/bench_cuda.py --cells lstm --hidden 64,128 --window 24 --batch 4096
    python benchmarks/bench_cuda.py --check

Needs numba-cuda and a CUDA build of PyTorch. ``--dry-run`` runs every tsrnn code path once at a
tiny shape (checked against the same network's CPU passes where PyTorch is not used), also on
Numba's CUDA simulator, where PyTorch is skipped and times mean nothing:

    NUMBA_ENABLE_CUDASIM=1 python benchmarks/bench_cuda.py --dry-run
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.metadata
import itertools
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import cuda

from tsrnn._cuda import simulated

RESULTS = Path(__file__).resolve().parent / "results"
GATES = {"lstm": 4, "gru": 3}
# The parameters by PyTorch name, as RecurrentNetwork.set_weights takes them (the head's are
# torch.nn.Linear's "weight" and "bias" under "head.").
NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "head.weight", "head.bias")
LEARNING_RATE = 1e-3
TOLERANCE = 1e-3
# Check shapes: 300 sequences leave the last block of every kernel partly empty; at hidden 32
# the recurrent weights fit in a block's shared memory, at 128 they are read through the cache.
CHECK_BATCH, CHECK_WINDOW, CHECK_HIDDEN = 300, 10, (32, 128)
DRY_BATCH, DRY_WINDOW, DRY_HIDDEN = 5, 3, 4


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-memory error of PyTorch or of the CUDA driver under Numba."""
    if type(exc).__name__ == "OutOfMemoryError":  # torch.cuda.OutOfMemoryError
        return True
    code = getattr(exc, "code", None)
    # CUDA_ERROR_OUT_OF_MEMORY, an enum member or a plain int depending on the driver bindings.
    return "OUT_OF_MEMORY" in str(code) or (type(code) is int and code == 2)


def release(torch) -> None:
    """Return freed device memory to the driver, so that the other library can allocate it."""
    gc.collect()
    # Numba frees device arrays in batches; PyTorch keeps freed blocks in its cache.
    deallocations = getattr(cuda.current_context(), "deallocations", None)
    if deallocations is not None:
        deallocations.clear()
    if torch is not None:
        torch.cuda.empty_cache()


class Timer:
    """Milliseconds of one call, from an idle device to the end of the work it queued."""

    def __init__(self) -> None:
        # The simulator's events record no time.
        self.events = None if simulated() else (cuda.event(timing=True), cuda.event(timing=True))

    def __call__(self, fn) -> float:
        cuda.synchronize()
        if self.events is None:
            start = time.perf_counter()
            fn()
            cuda.synchronize()
            return (time.perf_counter() - start) * 1e3
        start, end = self.events
        # Numba records on the legacy default stream, where PyTorch's kernels run too: one pair of
        # events times either library.
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)


class TsrnnStep:
    """What ``fit(device="cuda")`` runs per mini-batch, for one cell and shape, on device arrays only.

    A :class:`~tsrnn.network.RecurrentNetwork` on a :class:`~tsrnn._cuda.network.DeviceNetwork`,
    the device MSE into an accumulator and a :class:`~tsrnn._cuda.optim.DeviceOptimizer` SGD step,
    with the session's flag and reduction scratch: the calls of ``DeviceSession.run_epoch`` but
    the gather of the batch, which is uploaded once here.
    """

    def __init__(self, cell: str, weights: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, lr: float) -> None:
        from tsrnn import optim
        from tsrnn._cuda import optim as device_optim
        from tsrnn._cuda.losses import DeviceLoss
        from tsrnn._cuda.network import DeviceNetwork
        from tsrnn.losses import MSE_LOSS
        from tsrnn.network import RecurrentNetwork

        batch, _, input_size = x.shape
        hidden = weights["weight_hh_l0"].shape[1]
        network = RecurrentNetwork(input_size, hidden, 1, cell=cell, dtype=np.float32)
        network.set_weights(weights)
        self.network = DeviceNetwork(network)
        self.optimizer = device_optim.DeviceOptimizer(optim.SGD(network.params, learning_rate=lr))
        self._mse_loss = DeviceLoss(MSE_LOSS, np.float32)
        # Time-major, as the session gathers each mini-batch.
        self.x = cuda.to_device(np.ascontiguousarray(x.transpose(1, 0, 2)))
        self.y = cuda.to_device(y)
        self.d_y = cuda.device_array(y.shape, np.float32)
        self.total = cuda.to_device(np.zeros(1, np.float64))
        self.flag = device_optim.new_flag()
        self.workspace = device_optim.workspace()
        self.batch = batch

    def forward(self):
        """Training forward pass: the prediction and the cache of the backward pass."""
        return self.network.forward(self.x, False, keep=True)

    def backward(self, pred, cache) -> None:
        """Loss (weighted by the batch size, as the session's epoch total) and gradients into ``grads``."""
        self._mse_loss(pred, self.y, self.d_y, self.total, self.batch, d_flag=self.flag, d_workspace=self.workspace)
        self.network.backward(self.d_y, cache, False, 0)

    def update(self) -> None:
        self.optimizer.step(self.network.params, self.network.grads, self.flag)

    def train(self) -> None:
        pred, cache = self.forward()
        self.backward(pred, cache)
        self.update()

    def infer(self):
        pred, _ = self.network.forward(self.x, False, keep=False)
        return pred

    def weights(self) -> dict[str, np.ndarray]:
        """The device parameters, by PyTorch name (waits for the device)."""
        self.network.download()
        return self.network.network.get_weights()

    def gradients(self) -> dict[str, np.ndarray]:
        """The device gradients of the last backward pass, by PyTorch name (waits for the device)."""
        host = self.network.network
        self.network.grads.copy_to_host(host.grads)
        return {name: g.copy() for name, g in host.named_gradients().items()}


class TorchStep:
    """The same model in PyTorch: cuDNN's recurrent layer, a linear head, MSE and SGD."""

    def __init__(self, torch, cell: str, input_size: int, hidden: int, x, y, lr: float, device: str = "cuda") -> None:
        self.torch = torch
        torch.manual_seed(0)
        layer = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        self.rnn = layer(input_size, hidden, batch_first=True).to(device)
        self.head = torch.nn.Linear(hidden, 1).to(device)
        named = {
            **dict(self.rnn.named_parameters()),
            **{f"head.{name}": p for name, p in self.head.named_parameters()},
        }
        self.params = [named[name] for name in NAMES]
        self.x, self.y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        self.loss_fn = torch.nn.MSELoss()
        self.optimizer = torch.optim.SGD(self.params, lr=lr)

    def weights(self) -> dict[str, np.ndarray]:
        return {name: p.detach().cpu().numpy() for name, p in zip(NAMES, self.params, strict=True)}

    def predict(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])

    def train(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.loss_fn(self.predict(self.x), self.y).backward()
        self.optimizer.step()

    def infer(self) -> None:
        with self.torch.inference_mode():
            self.predict(self.x)


def data(batch: int, window: int, input_size: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, window, input_size), dtype=np.float32)
    return x, rng.standard_normal((batch, 1), dtype=np.float32)


def initial_weights(cell: str, input_size: int, hidden: int) -> dict[str, np.ndarray]:
    """tsrnn's initialisation (PyTorch's distributions), for runs without PyTorch."""
    from tsrnn.network import RecurrentNetwork

    return RecurrentNetwork(input_size, hidden, 1, cell=cell, dtype=np.float32, random_state=0).get_weights()


# --------------------------------------------------------------------------------- agreement


@contextlib.contextmanager
def exact_float32(torch):
    """Float32 without TF32 in PyTorch, so that both libraries round alike; settings restored after."""
    matmul = torch.backends.cuda.matmul.allow_tf32
    if matmul:
        torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
            yield
    finally:
        if matmul:
            torch.backends.cuda.matmul.allow_tf32 = True


def torch_reference(side: TorchStep) -> dict[str, np.ndarray]:
    torch = side.torch
    before = [p.detach().double().cpu().numpy() for p in side.params]
    with exact_float32(torch):
        side.optimizer.zero_grad(set_to_none=True)
        pred = side.predict(side.x)
        loss = side.loss_fn(pred, side.y)
        loss.backward()
        side.optimizer.step()
        torch.cuda.synchronize()

    def host(t):
        return t.detach().double().cpu().numpy()

    ref = {"prediction": host(pred), "inference prediction": host(pred), "loss": host(loss)}
    ref.update({f"d_{name}": host(p.grad) for name, p in zip(NAMES, side.params, strict=True)})
    ref.update({f"step {name}": host(p) - b for name, p, b in zip(NAMES, side.params, before, strict=True)})
    return ref


def cpu_reference(cell: str, weights: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, lr: float):
    """The same step on the host, as ``fit(device="cpu")`` takes it, for runs without PyTorch."""
    from tsrnn import optim
    from tsrnn.losses import mse_loss
    from tsrnn.network import RecurrentNetwork

    network = RecurrentNetwork(x.shape[2], weights["weight_hh_l0"].shape[1], 1, cell=cell, dtype=np.float32)
    network.set_weights(weights)
    before = network.get_weights()
    inferred = network.predict(x)
    pred, cache = network.forward(x, training=True)
    loss, d_pred = mse_loss(pred, y)
    network.backward(d_pred, cache)
    grads = {name: g.copy() for name, g in network.named_gradients().items()}
    optim.SGD(network.params, learning_rate=lr).step(network.grads)
    after = network.get_weights()
    ref = {"prediction": pred, "inference prediction": inferred, "loss": loss}
    ref.update({f"d_{name}": grads[name] for name in NAMES})
    ref.update({f"step {name}": after[name].astype(np.float64) - before[name] for name in NAMES})
    return ref


def relative_error(got, ref) -> float:
    """Largest absolute difference over the largest absolute reference value; inf when not finite."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if got.shape != ref.shape or not np.all(np.isfinite(got)):
        return float("inf")
    scale = float(np.max(np.abs(ref)))
    diff = float(np.max(np.abs(got - ref)))
    return diff / scale if scale > 0 else diff


def check(cells, input_size, torch, dry_run) -> tuple[list[str], list[str], bool]:
    """Compare the timed tsrnn path with the reference; also time its first calls (compilation) per cell."""
    batch, window, hiddens = (
        (DRY_BATCH, DRY_WINDOW, (DRY_HIDDEN,)) if dry_run else (CHECK_BATCH, CHECK_WINDOW, CHECK_HIDDEN)
    )
    reference = "PyTorch (cuDNN, TF32 off)" if torch is not None else 'tsrnn on the CPU (what fit(device="cpu") runs)'
    lines = [
        f"**Agreement** of the timed path with {reference}, batch {batch}, window {window}, input {input_size}: "
        "prediction of the training and of the inference forward pass, loss, gradients, and one SGD step with "
        "learning rate 1 (the step then equals the gradient); relative error = largest difference / largest "
        "reference value",
        "",
        "| cell | hidden | worst quantity | max relative error | within 1e-3 |",
        "| --- | --- | --- | --- | --- |",
    ]
    compile_lines = [
        "**First calls** of tsrnn per cell (compilation, or loading Numba's on-disk cache filled by an earlier "
        f"run), batch {batch}, window {window}, hidden {hiddens[0]}; the first cell's forward also compiles the "
        "shared matrix-product kernels, its backward the loss kernels",
        "",
        "| cell | first forward s | first loss + backward s | first SGD update s |",
        "| --- | --- | --- | --- |",
    ]
    ok = True
    x, y = data(batch, window, input_size)
    for cell, hidden in itertools.product(cells, hiddens):
        if torch is not None:
            side = TorchStep(torch, cell, input_size, hidden, x, y, lr=1.0)
            weights = side.weights()
        else:
            weights = initial_weights(cell, input_size, hidden)
        ts = TsrnnStep(cell, weights, x, y, lr=1.0)
        before = {name: w.astype(np.float64) for name, w in weights.items()}
        seconds = []
        cuda.synchronize()
        start = time.perf_counter()
        pred, cache = ts.forward()
        cuda.synchronize()
        seconds.append(time.perf_counter() - start)
        # Inference between a forward and a backward pass, as validation may run in training: it
        # must leave the training cache alone.
        inferred = ts.infer().copy_to_host()
        cuda.synchronize()
        start = time.perf_counter()
        ts.backward(pred, cache)
        cuda.synchronize()
        seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        ts.update()
        cuda.synchronize()
        seconds.append(time.perf_counter() - start)
        if hidden == hiddens[0]:
            compile_lines.append(f"| {cell} | " + " | ".join(f"{s:.2f}" for s in seconds) + " |")
        grads, after = ts.gradients(), ts.weights()
        got = {
            "prediction": pred.copy_to_host(),
            "inference prediction": inferred,
            "loss": ts.total.copy_to_host()[0] / batch,
        }
        got.update({f"d_{name}": grads[name] for name in NAMES})
        got.update({f"step {name}": after[name] - before[name] for name in NAMES})
        ref = torch_reference(side) if torch is not None else cpu_reference(cell, weights, x, y, lr=1.0)
        errors = {name: relative_error(got[name], ref[name]) for name in ref}
        worst = max(errors, key=errors.get)
        good = errors[worst] <= TOLERANCE
        ok &= good
        lines.append(f"| {cell} | {hidden} | {worst} | {errors[worst]:.1e} | {'yes' if good else 'NO'} |")
        if not good:
            lines.append("")
            lines.append("all quantities: " + ", ".join(f"{name} {err:.1e}" for name, err in errors.items()))
            lines.append("")
    return lines, compile_lines, ok


# ------------------------------------------------------------------------------------ timing


def median_ms(fns, warmup: int, repeats: int, timer: Timer) -> list[float]:
    """Median milliseconds per call of each function, alternating between them."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            samples[k].append(timer(fn))
    return [statistics.median(s) for s in samples]


def attempt(fn) -> str | None:
    """Call ``fn``: None when it ran, else "oom" or the error's message."""
    try:
        fn()
    except Exception as exc:
        return "oom" if is_oom(exc) else f"{type(exc).__name__}: {exc}"[:300]
    return None


def timed(fns: dict, warmup: int, repeats: int, timer: Timer, torch, errors: list[str]) -> tuple[dict, bool]:
    """Milliseconds, "oom" or "error" per side, and whether the sides were timed one after the other.

    Each side first runs once alone (the first warm-up), so that a side that fails is left out and
    the other is still timed; the rest alternates, or, when the sides fit in memory only one at a
    time, runs side by side.
    """
    results, ready = {}, {}
    for name, fn in fns.items():
        # Memory freed by the other side goes back to the driver first.
        release(torch)
        failure = attempt(fn)
        if failure is None:
            ready[name] = fn
        else:
            results[name] = "oom" if failure == "oom" else "error"
            if failure != "oom":
                errors.append(f"{name}: {failure}")
    release(torch)
    if not ready:
        return results, False
    failure = attempt(
        lambda: results.update(zip(ready, median_ms(list(ready.values()), warmup - 1, repeats, timer), strict=True))
    )
    if failure is None:
        return results, False
    if failure != "oom":
        raise RuntimeError(f"a side failed after it ran once: {failure}")
    release(torch)
    for name, fn in ready.items():
        failure = attempt(lambda fn=fn, name=name: results.update({name: median_ms([fn], warmup, repeats, timer)[0]}))
        if failure is not None:
            results[name] = "oom" if failure == "oom" else "error"
            if failure != "oom":
                errors.append(f"{name}: {failure}")
        release(torch)
    return results, len(ready) > 1


def run_case(cell, input_size, hidden, window, batch, args, torch, timer, errors: list[str]) -> dict:
    """Timings of one shape: ``{"train": (results, alone), "infer": (results, alone)}``."""
    x, y = data(batch, window, input_size)
    built: dict = {}
    if torch is not None:
        failure = attempt(
            lambda: built.update(torch=TorchStep(torch, cell, input_size, hidden, x, y, lr=LEARNING_RATE))
        )
        if failure is not None and failure != "oom":
            raise RuntimeError(failure)
    weights = built["torch"].weights() if "torch" in built else initial_weights(cell, input_size, hidden)
    failure = attempt(lambda: built.update(tsrnn=TsrnnStep(cell, weights, x, y, lr=LEARNING_RATE)))
    if failure is not None and failure != "oom":
        raise RuntimeError(failure)
    sides = ["tsrnn", "torch"] if torch is not None else ["tsrnn"]
    row = {}
    for kind in ("train", "infer"):
        fns = {name: getattr(built[name], kind) for name in sides if name in built}
        before = len(errors)
        results, alone = timed(fns, args.warmup, args.repeats, timer, torch, errors)
        errors[before:] = [
            f"{cell}, hidden {hidden}, window {window}, batch {batch}, {kind}, {e}" for e in errors[before:]
        ]
        row[kind] = ({name: results.get(name, "oom") for name in sides}, alone)
    built.clear()
    release(torch)
    return row


def cells_of(results: dict, alone: bool) -> list[str]:
    mark = " †" if alone else ""
    ours, theirs = results.get("tsrnn", "-"), results.get("torch", "-")

    def fmt(value):
        return value if isinstance(value, str) else f"{value:.2f}{mark}"

    ratio = f"{theirs / ours:.2f}x" if not isinstance(ours, str) and not isinstance(theirs, str) else "-"
    return [fmt(ours), fmt(theirs), ratio]


# ------------------------------------------------------------------------------------- setup


def load_torch(dry_run: bool):
    """PyTorch with a GPU, or None for a dry run without it (always on the simulator)."""
    if simulated():
        return None
    try:
        import torch
    except ImportError:
        if dry_run:
            return None
        raise SystemExit("PyTorch is needed for the comparison: pip install torch (a CUDA build)") from None
    if not torch.cuda.is_available():
        if dry_run:
            return None
        raise SystemExit(f"PyTorch {torch.__version__} sees no GPU: install a CUDA build of PyTorch")
    torch.backends.cudnn.enabled = True
    return torch


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment(torch) -> list[str]:
    device = cuda.get_current_device()
    name = getattr(device, "name", b"Numba CUDA simulator")
    name = name.decode() if isinstance(name, bytes) else str(name)
    major, minor = device.compute_capability
    _, total = cuda.current_context().get_memory_info()
    memory = f", {total / 2**30:.0f} GiB" if np.isfinite(total) else ""
    lines = [
        f"device {name}, compute capability {major}.{minor}{memory}; numba {numba.__version__}, "
        f"numba-cuda {version('numba-cuda')}, numpy {np.__version__}, Python {sys.version.split()[0]}"
    ]
    if simulated():
        lines.append("Numba's CUDA simulator: no PyTorch, and the times below mean nothing")
    if torch is None:
        return lines
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    rnn_precision = getattr(getattr(cudnn, "rnn", None), "fp32_precision", None)
    matmul_precision = getattr(matmul, "fp32_precision", None)
    tensor_cores = "on tensor cores" if major >= 8 else "but no tensor cores below compute capability 8.0"
    lines.append(
        f"torch {torch.__version__} (CUDA {torch.version.cuda}), cuDNN {cudnn.version()}, "
        f"cudnn.enabled {cudnn.enabled}, cudnn.benchmark {cudnn.benchmark}"
    )
    lines.append(
        f"TF32 (PyTorch defaults, kept for the timing): cuDNN allow_tf32 {cudnn.allow_tf32}"
        + (f" (RNN fp32_precision {rnn_precision!r})" if rnn_precision is not None else "")
        + f", so float32 LSTM/GRU on cuDNN: {f'TF32 allowed, {tensor_cores}' if cudnn.allow_tf32 else 'full float32'}"
        + f"; matmul allow_tf32 {matmul.allow_tf32}"
        + (f" (fp32_precision {matmul_precision!r})" if matmul_precision is not None else "")
    )
    return lines


def csv_list(kind):
    def parse(text: str) -> list:
        return [kind(v) for v in text.split(",") if v.strip()]

    return parse


def flatten(lists) -> list:
    return [v for values in lists for v in values]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Lists take commas or spaces: --hidden 32,64 or --hidden 32 64.
    parser.add_argument("--cells", nargs="+", type=csv_list(str), default=[["lstm", "gru"]], help="default lstm,gru")
    parser.add_argument(
        "--hidden", nargs="+", type=csv_list(int), default=[[32, 64, 128, 256]], help="default 32,64,128,256"
    )
    parser.add_argument("--window", nargs="+", type=csv_list(int), default=[[24, 96]], help="default 24,96")
    parser.add_argument(
        "--batch", nargs="+", type=csv_list(int), default=[[256, 4096, 65536]], help="default 256,4096,65536"
    )
    parser.add_argument("--input", type=int, default=1, help="features per step (default 1)")
    parser.add_argument("--repeats", type=int, default=20, help="timed repeats per side (medians; default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per side first (default 3)")
    parser.add_argument("--out", help="also write the report to this markdown file (a bare name: benchmarks/results/)")
    parser.add_argument("--check", action="store_true", help="only compare the outputs and gradients, then exit")
    parser.add_argument(
        "--dry-run", action="store_true", help="every tsrnn code path once at a tiny shape (also on the simulator)"
    )
    args = parser.parse_args(argv)
    cells, hiddens = flatten(args.cells), flatten(args.hidden)
    windows, batches = flatten(args.window), flatten(args.batch)
    unknown = sorted(set(cells) - set(GATES))
    if unknown:
        parser.error(f"unknown cells {unknown}; choose from {sorted(GATES)}")
    if args.dry_run:
        hiddens, windows, batches = [DRY_HIDDEN], [DRY_WINDOW], [DRY_BATCH]
        args.repeats, args.warmup = 1, 1
    out = None
    if args.out:
        out = Path(args.out)
        out = RESULTS / out if out.parent == Path() else out
        out.parent.mkdir(parents=True, exist_ok=True)

    from tsrnn._cuda import CudaUnavailableError, require_cuda

    try:
        require_cuda()
    except CudaUnavailableError as exc:
        raise SystemExit(str(exc)) from None
    torch = load_torch(args.dry_run)
    report: list[str] = []

    def emit(*lines: str) -> None:
        for line in lines:
            print(line)
            report.append(line)
        sys.stdout.flush()
        if out is not None:
            out.write_text("\n".join(report) + "\n")

    emit(*environment(torch), "")
    agreement, first_calls, ok = check(cells, args.input, torch, args.dry_run)
    emit(*agreement, "")
    if not ok:
        raise SystemExit(
            f"tsrnn disagrees with the reference by more than {TOLERANCE:g}" + ("" if args.check else ": not timing")
        )
    emit(*first_calls, "")
    if args.check:
        return
    timer = Timer()
    emit(
        f"**Speed**: float32, input {args.input}, CUDA events, medians of {args.repeats} after {args.warmup} "
        "warm-ups, repeats alternating; ratio = cuDNN time / tsrnn time (above 1: tsrnn is faster)",
        "",
        "| cell | hidden | window | batch | train tsrnn ms | train cuDNN ms | ratio "
        "| infer tsrnn ms | infer cuDNN ms | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    )
    any_alone, errors = False, []
    for cell, hidden, window, batch in itertools.product(cells, hiddens, windows, batches):
        row = run_case(cell, args.input, hidden, window, batch, args, torch, timer, errors)
        values = []
        for kind in ("train", "infer"):
            results, alone = row[kind]
            any_alone |= alone
            values += cells_of(results, alone)
        emit(f"| {cell} | {hidden} | {window} | {batch} | " + " | ".join(values) + " |")
    if any_alone:
        emit("", "† did not fit in GPU memory together with the other library: timed alone, not interleaved")
    if errors:
        emit("", "Errors (other than out of memory):", "", *(f"- {e}" for e in errors))


if __name__ == "__main__":
    main()
