"""Train an LSTM on the monthly air-passengers series and print its loss.

A small end-to-end run of tsrnn's network and optimiser: windows of 24 months predict the
next month (log scale, standardised on the training part), Adam with full BPTT, and the last
12 months held out to report the one-step-ahead error.

    python examples/train_lstm.py [--epochs 200] [--hidden 32] [--cell lstm]
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np
import pandas as pd

from tsrnn.losses import mse_loss
from tsrnn.network import RecurrentNetwork
from tsrnn.optim import Adam

DATA = pathlib.Path(__file__).resolve().parents[1] / "datasets" / "air_passengers.csv"


def make_windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows (n, window, 1) and the value that follows each (n, 1)."""
    n = len(series) - window
    x = np.stack([series[i : i + window] for i in range(n)])[:, :, None]
    return x, series[window:, None]


def main(argv: list[str] | None = None) -> None:
    """Train, print the loss every 20 epochs and the held-out error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--window", type=int, default=24)
    parser.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    passengers = pd.read_csv(DATA, parse_dates=["month"], index_col="month")["passengers"]
    log = np.log(passengers.to_numpy(dtype=np.float64))
    train_end = len(log) - 12
    mean, std = log[:train_end].mean(), log[:train_end].std()
    scaled = ((log - mean) / std).astype(np.float32)
    x, y = make_windows(scaled, args.window)
    n_train = train_end - args.window
    x_train, y_train, x_test = x[:n_train], y[:n_train], x[n_train:]

    net = RecurrentNetwork(1, args.hidden, 1, cell=args.cell, random_state=args.seed)
    adam = Adam(net.params, learning_rate=1e-2)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(n_train)
        losses = []
        for batch in np.array_split(order, max(1, n_train // 32)):
            pred, cache = net.forward(x_train[batch])
            loss, d_pred = mse_loss(pred, y_train[batch])
            net.backward(d_pred, cache)
            adam.step(net.grads)
            losses.append(loss)
        if epoch == 1 or epoch % 20 == 0 or epoch == args.epochs:
            print(f"epoch {epoch:4d}  training loss {np.mean(losses):.5f}")
    elapsed = time.perf_counter() - start

    forecast = np.exp(net.predict(x_test)[:, 0] * std + mean)
    actual = passengers.to_numpy()[train_end:]
    naive = passengers.to_numpy()[train_end - 12 : len(passengers) - 12]
    print(f"trained {args.epochs} epochs in {elapsed:.1f} s (first epoch includes compilation)")
    print(f"last 12 months, one step ahead: MAE {np.mean(np.abs(forecast - actual)):.1f} thousand passengers "
          f"(seasonal naive: {np.mean(np.abs(naive - actual)):.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
