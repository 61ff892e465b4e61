"""What the estimators say when training ends early: by the epoch cap, or by Ctrl-C."""

from __future__ import annotations

import warnings

from sklearn.exceptions import ConvergenceWarning

from tsrnn import RNNForecaster
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
