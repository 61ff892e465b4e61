"""Ctrl-C (KeyboardInterrupt) during fit and backtest keeps what finished, with a warning.

The interrupt is simulated: the host session's epoch (or validation pass) raises
KeyboardInterrupt on a chosen call, as Ctrl-C would inside it.
"""

from __future__ import annotations

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from tsrnn import RNNForecaster, RNNRegressor, datasets, make_windows, training
from tsrnn.model_selection import backtest
from tsrnn.training import TrainingInterruptedWarning

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def air() -> pd.Series:
    return datasets.load_air_passengers()


class Interrupter:
    """Patch the host session so that Ctrl-C lands in epoch ``epoch`` (counted over every fit), in ``where``.

    ``where`` is "epoch" (the training pass) or "validation" (the validation pass after it).
    Records the weights after every finished training pass (``after_epoch``) and, with a
    validation set, after every validation pass (``after_validation``); ``validation`` gives
    the validation losses of the epochs, in order, instead of computing them.
    """

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        epoch: int | None,
        where: str = "epoch",
        validation: list[float] | None = None,
    ) -> None:
        self.epoch, self.where, self.validation = epoch, where, validation
        self.calls = 0
        self.after_epoch: list[np.ndarray] = []
        self.after_validation: list[np.ndarray] = []
        real_epoch = training._HostSession.run_epoch
        real_validation = training._HostSession.validation_loss
        interrupter = self

        def run_epoch(session: training._HostSession, *args: object) -> float:
            interrupter.calls += 1
            if interrupter.calls == interrupter.epoch and interrupter.where == "epoch":
                # Half an epoch's updates, as a real Ctrl-C would leave them, before the interrupt.
                session.model.params[:] += 1.0
                raise KeyboardInterrupt
            loss = real_epoch(session, *args)
            interrupter.after_epoch.append(session.model.params.copy())
            return loss

        def validation_loss(session: training._HostSession) -> float:
            if interrupter.calls == interrupter.epoch and interrupter.where == "validation":
                raise KeyboardInterrupt
            interrupter.after_validation.append(session.model.params.copy())
            if interrupter.validation is not None:
                return interrupter.validation[len(interrupter.after_validation) - 1]
            return real_validation(session)

        monkeypatch.setattr(training._HostSession, "run_epoch", run_epoch)
        monkeypatch.setattr(training._HostSession, "validation_loss", validation_loss)


def quick_forecaster(**params: object) -> RNNForecaster:
    defaults = {"window": 12, "horizon": 6, "hidden_size": 4, "max_epochs": 50, "n_iter_no_change": 50}
    return RNNForecaster(**{**defaults, "random_state": 0, **params})


# ------------------------------------------------------------------------------------- fit


def test_forecaster_keeps_the_best_epoch_with_early_stopping_and_predicts(monkeypatch, air):
    # Validation loss lowest in epoch 3; Ctrl-C in epoch 6.
    ctrl_c = Interrupter(monkeypatch, epoch=6, validation=[3.0, 2.0, 1.0, 1.5, 2.5])
    model = quick_forecaster()
    with pytest.warns(TrainingInterruptedWarning) as caught:
        assert model.fit(air) is model
    assert [str(w.message) for w in caught] == [
        "training interrupted in epoch 6; keeping the weights of epoch 3, the lowest validation loss"
    ]
    assert (model.n_iter_, model.best_epoch_, model.validation_scores_) == (5, 3, [3.0, 2.0, 1.0, 1.5, 2.5])
    assert model.history_.interrupted and len(model.loss_curve_) == 5
    assert np.array_equal(model.network_.params, ctrl_c.after_validation[2])
    forecast = model.predict()
    assert len(forecast) == 6 and np.isfinite(forecast).all()


def test_forecaster_keeps_the_last_finished_epoch_without_early_stopping(monkeypatch, air):
    ctrl_c = Interrupter(monkeypatch, epoch=5)
    model = quick_forecaster(early_stopping=False)
    with pytest.warns(TrainingInterruptedWarning, match=r"^training interrupted in epoch 5; keeping the weights of "
                      r"epoch 4, the last finished$"):  # fmt: skip
        model.fit(air)
    assert model.n_iter_ == 4 and model.validation_scores_ is None
    assert np.array_equal(model.network_.params, ctrl_c.after_epoch[3])
    assert np.isfinite(model.predict(horizon=18)).all()


def test_an_interrupted_validation_pass_does_not_count_its_epoch(monkeypatch, air):
    # Epoch 4 trained, but Ctrl-C came while it was being validated: it is not a finished epoch.
    ctrl_c = Interrupter(monkeypatch, epoch=4, where="validation", validation=[2.0, 1.0, 1.5])
    model = quick_forecaster()
    with pytest.warns(TrainingInterruptedWarning, match="in epoch 4; keeping the weights of epoch 2, the lowest"):
        model.fit(air)
    assert model.n_iter_ == 3 and model.validation_scores_ == [2.0, 1.0, 1.5]
    assert np.array_equal(model.network_.params, ctrl_c.after_validation[1])
    assert np.isfinite(model.predict()).all()


def test_regressor_keeps_the_last_finished_epoch_and_predicts(monkeypatch, air):
    X, y = make_windows(air.to_numpy(), window=12, horizon=3)
    ctrl_c = Interrupter(monkeypatch, epoch=3)
    model = RNNRegressor(hidden_size=4, max_epochs=20, random_state=0)
    with pytest.warns(TrainingInterruptedWarning, match="in epoch 3; keeping the weights of epoch 2, the last"):
        model.fit(X, y)
    assert np.array_equal(model.network_.params, ctrl_c.after_epoch[1])
    predictions = model.predict(X)
    assert predictions.shape == y.shape and np.isfinite(predictions).all()


@pytest.mark.parametrize("estimator", ["forecaster", "regressor"])
def test_ctrl_c_in_the_first_epoch_raises_and_leaves_the_model_unfitted(monkeypatch, air, estimator):
    Interrupter(monkeypatch, epoch=1)
    if estimator == "forecaster":
        model, data, future = quick_forecaster(), (air,), ()
    else:
        X, y = make_windows(air.to_numpy(), window=12)
        model, data, future = RNNRegressor(hidden_size=4, max_epochs=5), (X, y), (X,)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingInterruptedWarning)
        with pytest.raises(KeyboardInterrupt):
            model.fit(*data)
    # Its weights are the initial ones: they must not pass for a fitted model.
    with pytest.raises(NotFittedError):
        model.predict(*future)


def test_a_warm_start_interrupted_at_once_keeps_the_previous_fit(monkeypatch, air):
    model = quick_forecaster(early_stopping=False, max_epochs=3, warm_start=True).fit(air)
    before, forecast = model.network_.params.copy(), model.predict()
    Interrupter(monkeypatch, epoch=1)
    with pytest.warns(TrainingInterruptedWarning, match="in epoch 4; keeping the weights of epoch 3, the last"):
        model.fit(air)
    assert model.n_iter_ == 3 and np.array_equal(model.network_.params, before)
    pd.testing.assert_series_equal(model.predict(), forecast)


def test_an_interrupted_calibration_stops_fit_without_a_model(monkeypatch, air):
    # The calibration model trains first; Ctrl-C in its third epoch. Intervals from a model
    # trained short would not have the coverage asked for, so nothing is kept, and no
    # warning claims that weights were.
    Interrupter(monkeypatch, epoch=3)
    model = quick_forecaster(calibration_size=24)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingInterruptedWarning)
        with pytest.raises(KeyboardInterrupt):
            model.fit(air)
    with pytest.raises(NotFittedError):
        model.predict()


# -------------------------------------------------------------------------------- backtest


def quick_backtest(air: pd.Series, **kwargs: object):
    template = quick_forecaster(early_stopping=False, max_epochs=3)
    return backtest(template, air, cv=(96, 12, 12), **kwargs)  # 4 folds


def expected_folds(air: pd.Series, numbers: list[int], **kwargs: object):
    """The uninterrupted backtest's rows and metrics of these folds."""
    full = quick_backtest(air, **kwargs)
    rows = full.forecasts[full.forecasts["fold"].isin(numbers)].reset_index(drop=True)
    return rows, full.metrics.loc[numbers]


def test_an_interrupted_backtest_keeps_the_finished_folds(monkeypatch, air):
    rows, metrics = expected_folds(air, [0, 1])
    Interrupter(monkeypatch, epoch=8)  # 3 epochs a fold: in the second epoch of fold 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = quick_backtest(air)
    interrupted = [str(w.message) for w in caught if issubclass(w.category, TrainingInterruptedWarning)]
    # One warning, the backtest's: the fold in progress is dropped, not kept from its epoch 1.
    assert interrupted == ["backtest interrupted with 2 of 4 folds finished; keeping the results of those (folds 0, 1)"]
    pd.testing.assert_frame_equal(result.forecasts, rows)
    assert list(result.metrics.index) == [0, 1, "all"]
    pd.testing.assert_frame_equal(result.metrics.loc[[0, 1]], metrics)
    pd.testing.assert_series_equal(result.metrics.loc["all"], metrics.mean(), check_names=False)


def test_an_interrupted_backtest_with_updates_between_refits_keeps_its_folds(monkeypatch, air):
    # refit=2: folds 0 and 2 train, fold 1 appends observations to fold 0's model.
    rows, _ = expected_folds(air, [0, 1], refit=2)
    Interrupter(monkeypatch, epoch=5)
    with pytest.warns(TrainingInterruptedWarning, match=r"with 2 of 4 folds finished; .* \(folds 0, 1\)$"):
        result = quick_backtest(air, refit=2)
    pd.testing.assert_frame_equal(result.forecasts, rows)


def test_a_backtest_interrupted_in_its_first_fold_raises(monkeypatch, air):
    Interrupter(monkeypatch, epoch=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingInterruptedWarning)
        with pytest.raises(KeyboardInterrupt):
            quick_backtest(air)


def test_a_parallel_backtest_keeps_the_folds_that_came_back(monkeypatch, air):
    # The n_jobs > 1 path, run in this process (joblib's sequential backend) so that the patched
    # session reaches the folds: results are collected as they come back, and kept on Ctrl-C.
    rows, _ = expected_folds(air, [0, 1, 2])
    Interrupter(monkeypatch, epoch=11)
    with joblib.parallel_config(backend="sequential"):
        with pytest.warns(TrainingInterruptedWarning, match=r"with 3 of 4 folds finished; .* \(folds 0, 1, 2\)$"):
            result = quick_backtest(air, n_jobs=2)
    pd.testing.assert_frame_equal(result.forecasts, rows)
