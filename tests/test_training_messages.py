"""What the estimators say when training ends early: by the epoch cap, or by Ctrl-C."""

from __future__ import annotations

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning

from tsrnn import RNNForecaster, training
from tsrnn.datasets import load_air_passengers


def _cap_warnings(**params: object) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        RNNForecaster(horizon=12, window=24, max_epochs=2, random_state=0, **params).fit(load_air_passengers())
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_epoch_cap_warning_suggests_early_stopping_only_when_it_is_off():
    (on,) = _cap_warnings()
    assert on.startswith("RNNForecaster stopped after max_epochs=2 epochs")
    assert "validation loss was still improving" in on
    assert "early_stopping" not in on
    (off,) = _cap_warnings(early_stopping=False)
    assert off.endswith("raise `max_epochs` or `learning_rate`, or set `early_stopping=True`")


def test_interrupt_warning_names_the_epoch_whose_weights_are_kept(monkeypatch):
    real_epoch = training._HostSession.run_epoch
    losses = iter([3.0, 2.0, 1.0, 1.5, 2.5])
    epochs: list[int] = []

    def run_epoch(*args: object, **kwargs: object) -> float:
        if len(epochs) == 5:
            raise KeyboardInterrupt
        epochs.append(1)
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(training._HostSession, "run_epoch", run_epoch)
    monkeypatch.setattr(training._HostSession, "validation_loss", lambda self: next(losses))
    with pytest.warns(training.TrainingInterruptedWarning) as caught:
        model = RNNForecaster(horizon=12, window=24, max_epochs=50, random_state=0).fit(load_air_passengers())
    assert [str(w.message) for w in caught] == [
        "training interrupted in epoch 6; keeping the weights of epoch 3, the lowest validation loss"
    ]
    assert (model.n_iter_, model.best_epoch_) == (5, 3)
