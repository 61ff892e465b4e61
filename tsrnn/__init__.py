"""tsrnn: recurrent-network forecasting with Numba-compiled kernels."""

import logging

from tsrnn.forecaster import RNNForecaster
from tsrnn.regressor import RNNRegressor
from tsrnn.windowing import make_windows

__version__ = "0.1.0"
__all__ = ["RNNForecaster", "RNNRegressor", "make_windows"]

logging.getLogger("tsrnn").addHandler(logging.NullHandler())
