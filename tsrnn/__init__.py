"""tsrnn: recurrent-network forecasting with Numba-compiled kernels."""

__version__ = "0.1.0"
