"""The top-level package: its submodules load on first use, and importing it stays light."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap

import pytest

import tsrnn


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter, where nothing has been imported yet."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)


def test_submodules_are_attributes_loaded_lazily_in_a_fresh_process():
    result = run_python("""
        import sys
        import tsrnn

        heavy = ("numba", "sklearn", "tsrnn.datasets")
        assert not [name for name in heavy if name in sys.modules], [name for name in heavy if name in sys.modules]
        nile = tsrnn.datasets.load_nile()
        assert len(nile) == 100
        assert "numba" not in sys.modules and "sklearn" not in sys.modules
        assert tsrnn.metrics.mase.__module__ == "tsrnn.metrics"
        print(" ".join(name for name in dir(tsrnn) if not name.startswith("_")))
    """)
    assert result.returncode == 0, result.stderr
    listed = result.stdout.split()
    for name in ("datasets", "metrics", "model_selection", "plotting", "preprocessing", "kernels", "network",
                 "optim", "training", "windowing", "RNNForecaster", "RNNRegressor", "make_windows"):  # fmt: skip
        assert name in listed


def test_every_public_submodule_is_reachable_and_listed():
    public = {info.name for info in pkgutil.iter_modules(tsrnn.__path__) if not info.name.startswith("_")}
    assert public == set(tsrnn._SUBMODULES)
    for name in public:
        module = getattr(tsrnn, name)
        assert module.__name__ == f"tsrnn.{name}"
        assert name in dir(tsrnn)


def test_unknown_attribute_raises_attribute_error_naming_what_there_is():
    with pytest.raises(AttributeError, match="module 'tsrnn' has no attribute 'dataset'; it has RNNForecaster") as info:
        tsrnn.dataset  # noqa: B018
    assert "the submodules classifier, cli, datasets, forecaster, kernels" in str(info.value)
    assert not hasattr(tsrnn, "load_nile")
