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
on prepared tensors. The ratio is PyTorch time / tsrnn time (above 1: tsrnn faster). Its last
row cuts each BasicMotions sequence to its first 40 to 100 steps (seed 0): tsrnn fits the list
of sequences, PyTorch packs each padded batch (``pack_padded_sequence``) and reads the LSTM's
final states; the row above it gives the accuracy of that fit on the test sequences cut alike.

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
    """Print test accuracies and fit times of RNNClassifier and the two baselines.

    The last row cuts BasicMotions' train and test sequences to their first 40 to 100 steps
    (seeds 0 and 1): RNNClassifier fits the lists, the baselines the windows padded with zeros.
    """
    print("| set | RNNClassifier() | fit s | logistic regression | fit s | random forest | fit s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rows = [(name, *loader(), None) for name, loader in SETS.items()]
    X_train, y_train, X_test, y_test = load_basic_motions()
    (train, train_lengths), (test, test_lengths) = cut(X_train, 0), cut(X_test, 1)
    rows.append(("BasicMotions, 40-100 steps", train, y_train, test, y_test, (train_lengths, test_lengths)))
    for name, X_train, y_train, X_test, y_test, several in rows:
        if several is None:
            flat_train, flat_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
        else:
            pairs = zip((X_train, X_test), several, strict=True)
            flat_train, flat_test = (padded(X, lengths, 100).reshape(len(X), -1) for X, lengths in pairs)
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


def tsrnn_fit(X: np.ndarray | list[np.ndarray], y: np.ndarray, epochs: int) -> float:
    """Seconds of a default RNNClassifier fit of exactly ``epochs`` epochs."""
    return timed(RNNClassifier(max_epochs=epochs, n_iter_no_change=epochs + 1, random_state=0).fit, X, y)


def cut(X: np.ndarray, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Each sequence's first 40 % to all of its steps: sequences of several lengths, and their lengths."""
    lengths = np.random.default_rng(seed).integers(X.shape[1] * 2 // 5, X.shape[1] + 1, len(X))
    return [x[:k] for x, k in zip(X, lengths, strict=True)], lengths


def padded(sequences: list[np.ndarray], lengths: np.ndarray, steps: int | None = None) -> np.ndarray:
    """The sequences in one array (n, ``steps`` or the longest, F), zeros after each one's steps."""
    out = np.zeros((len(sequences), steps or int(lengths.max()), sequences[0].shape[1]))
    for row, sequence in zip(out, sequences, strict=True):
        row[: len(sequence)] = sequence
    return out


def standardised(X: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """``X`` (n, T, F) standardised per feature over its real steps; zeros after each sequence's ``lengths``."""
    real = np.ones(X.shape[:2], bool) if lengths is None else np.arange(X.shape[1])[None, :] < lengths[:, None]
    mean, std = X[real].mean(axis=0), X[real].std(axis=0)
    return np.where(real[:, :, None], (X - mean) / std, 0.0)


def torch_fit(X: np.ndarray, codes: np.ndarray, classes: int, epochs: int, lengths: np.ndarray | None = None) -> float:
    """Seconds of the same training loop in PyTorch, on standardised sequences ``X`` and class codes.

    With ``lengths``, ``X`` is padded and each batch is packed, the head reading the final states.
    """
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(X.shape[2], 32, batch_first=True)
            self.head = torch.nn.Linear(32, classes)

        def forward(self, x: torch.Tensor, steps: torch.Tensor | None) -> torch.Tensor:
            if steps is None:
                return self.head(self.lstm(x)[0][:, -1])
            packed = pack_padded_sequence(x, steps, batch_first=True, enforce_sorted=False)
            return self.head(self.lstm(packed)[1][0][-1])

    torch.manual_seed(0)
    x, y = torch.from_numpy(X.astype(np.float32)), torch.from_numpy(codes.astype(np.int64))
    steps = None if lengths is None else torch.from_numpy(lengths.astype(np.int64))
    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(epochs):
        for index in torch.randperm(len(x), generator=generator).split(32):
            optimizer.zero_grad()
            loss(net(x[index], None if steps is None else steps[index]), y[index]).backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
    return time.perf_counter() - start


def speed_table(epochs: int, repeats: int) -> None:
    """Print training times against PyTorch, medians of ``repeats`` alternating fits."""
    print("| set | samples × steps × channels | epochs | tsrnn fit s | PyTorch s | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    rows = []
    for name, loader in SETS.items():
        X_train, y_train, _, _ = loader()
        rows.append((name, X_train, y_train, standardised(X_train), None, " × ".join(map(str, X_train.shape))))
    X_motions, y_motions, _, _ = load_basic_motions()
    sequences, lengths = cut(X_motions, 0)
    shape = f"{len(X_motions)} × 40-100 × {X_motions.shape[2]}"
    rows.append(("BasicMotions, 40-100 steps", sequences, y_motions, standardised(padded(sequences, lengths), lengths),
                 lengths, shape))  # fmt: skip
    for name, X_train, y_train, scaled, steps, shape in rows:
        classes, codes = np.unique(y_train, return_inverse=True)
        # Warm-up: compilation, allocators.
        tsrnn_fit(X_train, y_train, epochs), torch_fit(scaled, codes, len(classes), epochs, steps)
        times: dict[str, list[float]] = {"tsrnn": [], "torch": []}
        for _ in range(repeats):
            times["tsrnn"].append(tsrnn_fit(X_train, y_train, epochs))
            times["torch"].append(torch_fit(scaled, codes, len(classes), epochs, steps))
        mine, reference = statistics.median(times["tsrnn"]), statistics.median(times["torch"])
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
