"""train() owns the epoch loop: it cuts the sorted mini-batches and raises on what a session reports."""

from __future__ import annotations

import numpy as np
import pytest

from tsrnn import training
from tsrnn._epochs import EpochLoss
from tsrnn.network import RecurrentNetwork
from tsrnn.optim import SGD


def _problem(n: int = 20) -> tuple[training.SequenceModel, tuple[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(0)
    network = RecurrentNetwork(1, 3, 1, dtype=np.float64, random_state=0)
    return training.SequenceModel(network), (rng.standard_normal((n, 4, 1)),), rng.standard_normal((n, 1))


def test_a_session_gets_every_row_once_per_epoch_in_sorted_batches(monkeypatch):
    real_epoch = training._HostSession.run_epoch
    orders: list[np.ndarray] = []

    def run_epoch(session: training._HostSession, order: np.ndarray, rng: np.random.Generator) -> EpochLoss:
        orders.append(order.copy())
        return real_epoch(session, order, rng)

    monkeypatch.setattr(training._HostSession, "run_epoch", run_epoch)
    model, inputs, targets = _problem()
    optimizer = SGD(model.params, learning_rate=0.01)
    training.train(
        model, inputs, targets, optimizer=optimizer, batch_size=6, max_epochs=3, rng=np.random.default_rng(1)
    )
    assert len(orders) == 3
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(20))
        for start in range(0, 20, 6):
            batch = order[start : start + 6]
            np.testing.assert_array_equal(batch, np.sort(batch))
    assert not all(np.array_equal(order, np.arange(20)) for order in orders)


def test_train_raises_what_the_session_reports_diverged(monkeypatch):
    real_epoch = training._HostSession.run_epoch
    epochs: list[int] = []

    def run_epoch(session: training._HostSession, order: np.ndarray, rng: np.random.Generator) -> EpochLoss:
        epochs.append(1)
        return real_epoch(session, order, rng) if len(epochs) == 1 else EpochLoss(float("inf"), "gradient norm")

    monkeypatch.setattr(training._HostSession, "run_epoch", run_epoch)
    model, inputs, targets = _problem()
    optimizer = SGD(model.params, learning_rate=0.01)
    with pytest.raises(training.TrainingDivergedError, match=r"^the gradient norm became inf in epoch 2: training"):
        training.train(
            model, inputs, targets, optimizer=optimizer, batch_size=8, max_epochs=5, rng=np.random.default_rng(0)
        )
    assert len(epochs) == 2


def test_a_diverging_host_step_is_reported_not_applied():
    model, inputs, targets = _problem()
    optimizer = SGD(model.params, learning_rate=0.01)
    settings = training.StepSettings(batch_size=5)
    session = training._HostSession(model, inputs, targets, None, optimizer, settings)
    targets[7] = np.inf  # in the second mini-batch of the order below
    before = model.params.copy()
    result = session.run_epoch(np.arange(20), np.random.default_rng(0))
    assert result.what == "training loss" and result.value == np.inf
    after_first_batch = model.params.copy()
    assert not np.array_equal(after_first_batch, before)  # the first batch's step ran
    assert optimizer.n_steps == 1  # and no step after the diverging batch
