"""tsrnn: recurrent-network forecasting and sequence classification with Numba-compiled kernels.

The estimators and the public submodules (``tsrnn.datasets``, ``tsrnn.metrics``, ...) load on
first use, so that ``import tsrnn`` or the ``tsrnn`` command's help do not pay for importing
Numba and scikit-learn.
"""

import importlib
import logging
from typing import Any

__version__ = "0.1.0"
__all__ = ["RNNForecaster", "RNNRegressor", "RNNClassifier", "load", "ModelFileError", "make_windows"]

_HOMES = {
    "RNNClassifier": "tsrnn.classifier",
    "RNNForecaster": "tsrnn.forecaster",
    "RNNRegressor": "tsrnn.regressor",
    "load": "tsrnn.persistence",
    "ModelFileError": "tsrnn.persistence",
    "make_windows": "tsrnn.windowing",
}
# Left out of __all__, so that ``from tsrnn import *`` does not import all of them.
_SUBMODULES = (
    "classifier",
    "cli",
    "datasets",
    "forecaster",
    "kernels",
    "losses",
    "metrics",
    "model_selection",
    "network",
    "optim",
    "persistence",
    "plotting",
    "preprocessing",
    "regressor",
    "training",
    "windowing",
)

logging.getLogger("tsrnn").addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"tsrnn.{name}")
    raise AttributeError(
        f"module 'tsrnn' has no attribute {name!r}; it has {', '.join(__all__)} and the submodules "
        f"{', '.join(_SUBMODULES)}"
    )


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})
