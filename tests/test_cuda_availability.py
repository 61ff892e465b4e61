"""Asking for device="cuda" where it cannot run gives one clear error saying what to do."""

import pickle

import numpy as np
import pytest

import tsrnn._cuda as backend
from tsrnn import RNNForecaster, RNNRegressor


@pytest.fixture
def no_gpu(monkeypatch):
    from numba import cuda

    monkeypatch.setattr(backend, "simulated", lambda: False)
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    backend._availability.cache_clear()
    yield
    backend._availability.cache_clear()


@pytest.mark.parametrize("estimator", [RNNRegressor, RNNForecaster])
def test_missing_gpu_is_reported_before_training(no_gpu, estimator):
    model = estimator(device="cuda", max_epochs=1)
    X, y = np.zeros((30, 4)), np.arange(30.0)
    with pytest.raises(backend.CudaUnavailableError, match=r'pip install "tsrnn\[cuda\]".*device="cpu"'):
        model.fit(X, y) if estimator is RNNRegressor else model.fit(y)


def test_missing_numba_cuda_is_reported(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(backend, "simulated", lambda: False)

    def find_spec(name):
        return None if name == "numba_cuda" else real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    backend._availability.cache_clear()
    try:
        with pytest.raises(backend.CudaUnavailableError, match=r"numba-cuda is not installed; install the CUDA extra"):
            backend.require_cuda()
    finally:
        backend._availability.cache_clear()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_model_trained_for_the_gpu_predicts_on_a_machine_without_one(monkeypatch):
    # Fitted weights are numpy arrays: prediction falls back to the CPU where CUDA cannot run.
    X, y = np.random.default_rng(0).standard_normal((30, 4)), np.arange(30.0)
    reference = RNNRegressor(max_epochs=1, random_state=0).fit(X, y)
    model = pickle.loads(pickle.dumps(reference)).set_params(device="cuda")
    monkeypatch.setattr(backend, "simulated", lambda: False)
    monkeypatch.setattr(backend, "_availability", lambda: "no GPU")
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
