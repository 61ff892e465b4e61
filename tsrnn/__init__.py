"""tsrnn: recurrent-network forecasting with Numba-compiled kernels.

The estimators load on first use, so that ``import tsrnn.datasets`` or the ``tsrnn`` command's
help do not pay for importing Numba and scikit-learn.
"""

import importlib
import logging
from typing import Any

__version__ = "0.1.0"
__all__ = ["RNNForecaster", "RNNRegressor", "make_windows"]

_HOMES = {"RNNForecaster": "tsrnn.forecaster", "RNNRegressor": "tsrnn.regressor", "make_windows": "tsrnn.windowing"}

logging.getLogger("tsrnn").addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'tsrnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
