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
import pytest

from tsrnn.kernels import _ahead

ROOT = Path(__file__).resolve().parents[1]

FIT = """
import json, sys
import numpy as np
import pytest
from tsrnn import RNNRegressor
from tsrnn.kernels import _cpu
from tsrnn.network import RecurrentNetwork
from tsrnn.optim import Adam
from tsrnn.training import SequenceModel, train

rng = np.random.default_rng(0)
X, y = rng.standard_normal((40, 6)), rng.standard_normal(40)
report = {}
for cell in sys.argv[1:]:
    if cell == "lstm-lengths":
        # Sequences of several lengths: the loops' masked version.
        net = RecurrentNetwork(2, 3, 1, cell="lstm", dtype=np.float64, random_state=0)
        x, lengths = rng.standard_normal((10, 5, 2)), rng.integers(1, 6, 10)
        model = SequenceModel(net)
        train(model, (x, lengths), rng.standard_normal((10, 1)), optimizer=Adam(net.params), batch_size=4,
              max_epochs=1, rng=rng)
        stats = _cpu.lstm_backward.stats
    else:
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


def test_sequences_of_several_lengths_load_the_masked_backward_loop(tmp_path):
    assert _fit_cold(tmp_path, "1", ["lstm-lengths"]) == {"lstm-lengths": {"hits": 1, "misses": 0}}


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


def test_a_run_that_ends_before_its_first_backward_pass_waits_for_the_process_to_finish():
    # Not killed: a cache entry half-written by a killed process could point at stale machine code.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    _ahead.Ahead(child).wait()
    assert child.returncode == 0


def test_a_cold_start_of_a_python_process_runs_this_tsrnn_with_the_window_kind(monkeypatch):
    started = []

    class Recorder:
        def __init__(self, argv, **options):
            started.append((argv, options))

    monkeypatch.setattr(_ahead, "CACHE", True)
    monkeypatch.setattr(_ahead, "_compiled", lambda loop, dtype, masked: False)
    monkeypatch.setattr(_ahead.subprocess, "Popen", Recorder)
    monkeypatch.setenv("TSRNN_COMPILE_AHEAD", "1")
    assert isinstance(_ahead.start(["gru", "lstm", "gru"], np.dtype(np.float32), masked=True), _ahead.Ahead)
    ((argv, options),) = started
    assert argv[-4:] == ["float32", "masked", "gru", "lstm"]
    assert argv[argv.index("-c") + 2] == str(ROOT)
    assert options["env"]["TSRNN_COMPILE_AHEAD"] == "0" and options["start_new_session"]
    monkeypatch.setattr(_ahead.sys, "executable", "/usr/bin/uwsgi")
    assert _ahead.start(["lstm"], np.dtype(np.float32)) is None


LOCKED_CALL = """
import sys
import numpy as np
import pytest
from tsrnn import losses

losses.MSE_LOSS(np.ones((3, 1)), np.zeros((3, 1)))  # compiled and saved before the lock is taken
print(losses._loss_terms._cache._cache_file._cache_path, flush=True)
sys.stdin.readline()
loss, _ = losses.MSE_LOSS(np.ones((3, 1), np.float32), np.zeros((3, 1), np.float32))
print("done", loss, flush=True)
"""


def test_cache_reads_and_writes_wait_for_the_lock_other_processes_hold(tmp_path):
    """Two processes saving two signatures of one function at once could otherwise share a data file."""
    import fcntl

    env = {key: value for key, value in os.environ.items() if key != "TSRNN_CACHE"}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "cache")
    child = subprocess.Popen(
        [sys.executable, "-c", LOCKED_CALL], env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        folder = child.stdout.readline().strip()
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "tsrnn-cache.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            child.stdin.write("go\n")
            child.stdin.flush()
            # Far longer than compiling and saving the loss in float32 takes.
            with pytest.raises(subprocess.TimeoutExpired):
                child.wait(timeout=8)
            fcntl.flock(lock, fcntl.LOCK_UN)
        assert child.stdout.readline().split() == ["done", "1.0"]
        assert child.wait(timeout=120) == 0
    finally:
        child.kill()
