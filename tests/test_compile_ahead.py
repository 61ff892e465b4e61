"""A cold first fit compiles the backward loops in a second process (``tsrnn.kernels._ahead``).

Each test runs fresh Python processes on an empty Numba cache folder of its own: what matters
is that the backward loops the training step calls then load from the cache (a cache hit)
instead of compiling in the training process (a cache miss), which holds only if the second
process compiled them for the very argument types of a training step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tsrnn.kernels import _ahead

ROOT = Path(__file__).resolve().parents[1]

FIT = """
import json, sys
import numpy as np
from tsrnn import RNNRegressor
from tsrnn.kernels import _cpu

rng = np.random.default_rng(0)
X, y = rng.standard_normal((40, 6)), rng.standard_normal(40)
report = {}
for cell in sys.argv[1:]:
    RNNRegressor(cell=cell, hidden_size=3, max_epochs=1, random_state=0).fit(X, y)
    stats = getattr(_cpu, f"{cell}_backward").stats
    report[cell] = {"hits": len(stats.cache_hits), "misses": len(stats.cache_misses)}
print(json.dumps(report))
"""


def _fit_cold(tmp_path: Path, ahead: str, cells: list[str]) -> dict[str, dict[str, int]]:
    env = {key: value for key, value in os.environ.items() if key != "TSRNN_CACHE"}
    env.update(NUMBA_CACHE_DIR=str(tmp_path / "cache"), TSRNN_COMPILE_AHEAD=ahead)
    done = subprocess.run(
        [sys.executable, "-c", FIT, *cells], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_first_fit_loads_the_backward_loops_that_a_second_process_compiled(tmp_path):
    report = _fit_cold(tmp_path, "1", ["lstm", "gru", "rnn"])
    assert report == {cell: {"hits": 1, "misses": 0} for cell in ("lstm", "gru", "rnn")}


def test_turned_off_the_first_fit_compiles_its_backward_loop_itself(tmp_path):
    assert _fit_cold(tmp_path, "0", ["rnn"]) == {"rnn": {"hits": 0, "misses": 1}}


def test_nothing_starts_for_loops_already_compiled(monkeypatch):
    from tsrnn.kernels._functional import compile_backward

    monkeypatch.setenv("TSRNN_COMPILE_AHEAD", "1")
    compile_backward("rnn", np.dtype(np.float64))
    assert _ahead.start({"rnn"}, np.dtype(np.float64)) is None


def test_the_switch_turns_it_off(monkeypatch):
    monkeypatch.setenv("TSRNN_COMPILE_AHEAD", "0")
    assert _ahead.start({"lstm", "gru", "rnn"}, np.dtype(np.float32)) is None


def test_a_run_that_ends_before_its_first_backward_pass_stops_the_process_at_once():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    ahead = _ahead.Ahead(sleeper)
    ahead.stop()
    assert sleeper.poll() is not None
