import os

# scikit-learn's estimator checks include an array-API check that is skipped unless SciPy's
# array API support is switched on before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")


def pytest_configure(config):
    # The CUDA tests (marked `gpu`) run on Numba's CUDA simulator unless they were selected with
    # `-m gpu`, which runs them on the real device. Numba reads the switch when it is imported.
    if "gpu" not in (config.option.markexpr or ""):
        os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
