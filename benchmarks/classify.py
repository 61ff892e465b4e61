"""RNNClassifier on the bundled labelled sequences: accuracy and fit time against baselines, speed against PyTorch.

The first table fits a default ``RNNClassifier()`` on the official train split of each set
with ``--seeds`` and reports the test accuracy (mean ± std over the seeds) and the median
fit time, beside logistic regression and a random forest (100 trees, the same seeds) on the
flattened, standardised windows.

The second table times training against a PyTorch LSTM classifier of the same architecture
(one LSTM layer of 32, a linear head on the last state, cross-entropy), the same optimiser
(Adam, lr 3e-3), batch size (32), gradient clipping (norm 1) and number of epochs, on the
same standardised sequences, in one process, alternating, after a warm-up of each, at the
same thread count. The tsrnn time is the whole ``fit``; the PyTorch time is its training loop
on prepared tensors. The ratio is PyTorch time / tsrnn time (above 1: tsrnn faster).

    python benchmarks/classify.py [--seeds 0,1,2] [--epochs 100] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numba
import numpy as np
from machine import cpu_model
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tsrnn import RNNClassifier
from tsrnn.datasets import load_basic_motions, load_italy_power_demand

SETS = {"BasicMotions": load_basic_motions, "ItalyPowerDemand": load_italy_power_demand}


def timed(fit, *args) -> float:
    """Seconds that ``fit(*args)`` takes, warnings silenced."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(*args)
    return time.perf_counter() - start


def summary(values: list[float]) -> str:
    """Mean ± standard deviation."""
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def accuracy_table(seeds: list[int]) -> None:
    """Print test accuracies and fit times of RNNClassifier and the two baselines."""
    print("| set | RNNClassifier() | fit s | logistic regression | fit s | random forest | fit s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, loader in SETS.items():
        X_train, y_train, X_test, y_test = loader()
        flat_train, flat_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
        rnn, rnn_s, forest, forest_s = [], [], [], []
        for seed in seeds:
            model = RNNClassifier(random_state=seed)
            rnn_s.append(timed(model.fit, X_train, y_train))
            rnn.append(model.score(X_test, y_test))
            trees = RandomForestClassifier(random_state=seed)
            forest_s.append(timed(trees.fit, flat_train, y_train))
            forest.append(trees.score(flat_test, y_test))
        logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        logistic_s = timed(logistic.fit, flat_train, y_train)
        print(
            f"| {name} | {summary(rnn)} | {statistics.median(rnn_s):.2f} | {logistic.score(flat_test, y_test):.3f} | "
            f"{logistic_s:.2f} | {summary(forest)} | {statistics.median(forest_s):.2f} |",
            flush=True,
        )


def tsrnn_fit(X: np.ndarray, y: np.ndarray, epochs: int) -> float:
    """Seconds of a default RNNClassifier fit of exactly ``epochs`` epochs."""
    return timed(RNNClassifier(max_epochs=epochs, n_iter_no_change=epochs + 1, random_state=0).fit, X, y)


def torch_fit(X: np.ndarray, codes: np.ndarray, classes: int, epochs: int) -> float:
    """Seconds of the same training loop in PyTorch, on standardised sequences ``X`` and class codes."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(X.shape[2], 32, batch_first=True)
            self.head = torch.nn.Linear(32, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.lstm(x)[0][:, -1])

    torch.manual_seed(0)
    x, y = torch.from_numpy(X.astype(np.float32)), torch.from_numpy(codes.astype(np.int64))
    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(epochs):
        for index in torch.randperm(len(x), generator=generator).split(32):
            optimizer.zero_grad()
            loss(net(x[index]), y[index]).backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
    return time.perf_counter() - start


def speed_table(epochs: int, repeats: int) -> None:
    """Print training times against PyTorch, medians of ``repeats`` alternating fits."""
    print("| set | samples × steps × channels | epochs | tsrnn fit s | PyTorch s | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, loader in SETS.items():
        X_train, y_train, _, _ = loader()
        scaled = (X_train - X_train.mean(axis=(0, 1))) / X_train.std(axis=(0, 1))
        classes, codes = np.unique(y_train, return_inverse=True)
        # Warm-up: compilation, allocators.
        tsrnn_fit(X_train, y_train, epochs), torch_fit(scaled, codes, len(classes), epochs)
        times: dict[str, list[float]] = {"tsrnn": [], "torch": []}
        for _ in range(repeats):
            times["tsrnn"].append(tsrnn_fit(X_train, y_train, epochs))
            times["torch"].append(torch_fit(scaled, codes, len(classes), epochs))
        mine, reference = statistics.median(times["tsrnn"]), statistics.median(times["torch"])
        shape = " × ".join(map(str, X_train.shape))
        print(f"| {name} | {shape} | {epochs} | {mine:.2f} | {reference:.2f} | {reference / mine:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-speed", action="store_true", help="skip the PyTorch comparison")
    args = parser.parse_args()
    numba.set_num_threads(args.threads)
    print(f"CPU: {cpu_model()}, {args.threads} thread(s)\n")
    accuracy_table([int(seed) for seed in args.seeds.split(",")])
    if not args.no_speed:
        import torch

        torch.set_num_threads(args.threads)
        print(f"\ntorch {torch.__version__}, numba {numba.__version__}\n")
        speed_table(args.epochs, args.repeats)


if __name__ == "__main__":
    main()
