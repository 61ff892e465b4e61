import os

import pytest
from hypothesis import settings

# scikit-learn's estimator checks include an array-API check that is skipped unless SciPy's
# array API support is switched on before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# The property tests draw the same examples on every run, so the suite cannot turn red (or
# green) by the luck of a draw, and a failure reproduces as it is. `--hypothesis-profile=explore`
# draws new examples each run, to look for counterexamples.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, database=None, max_examples=200)
settings.load_profile("repeatable")


def pytest_configure(config):
    # The CUDA tests (marked `gpu`) run on Numba's CUDA simulator unless they were selected with
    # `-m gpu`, which runs them on the real device. Numba reads the switch when it is imported.
    if "gpu" not in (config.option.markexpr or ""):
        os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")


@pytest.fixture(scope="module")
def passengers():
    """The monthly air passengers series (1949-1960), loaded once per test module."""
    # Imported here, so that the environment above is set before anything of tsrnn loads.
    from tsrnn import datasets

    return datasets.load_air_passengers()
