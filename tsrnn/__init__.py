"""tsrnn: recurrent-network forecasting with Numba-compiled kernels."""

import logging

from tsrnn.regressor import RNNRegressor

__version__ = "0.1.0"
__all__ = ["RNNRegressor"]

logging.getLogger("tsrnn").addHandler(logging.NullHandler())
