"""Results are identical bit for bit whatever the number of threads, and under concurrent calls.

The kernels split the batch into chunks of a fixed number of rows, and sum the weight gradients
over chunks in chunk order, so neither ``numba.set_num_threads`` nor
``NUMBA_NUM_THREADS`` nor calls from several Python threads at once may change a single bit.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np
import pytest

from tests.kernels.problems import CELLS, backward, forward, make_problem
from tsrnn.kernels._functional import CHUNK_ROWS

ROOT = Path(__file__).resolve().parents[2]

# Two to nine chunks of rows (see CHUNK_ROWS), the last one partial except for 64.
BATCHES = [50, 64, 100, 257]
BPTT = [None, 3]


def run(cell, batch, bptt_steps, dtype=np.float64, seed=0):
    """Forward outputs and all gradients of one problem, in a fixed order."""
    p = make_problem(cell, batch=batch, steps=7, features=3, hidden=6, dtype=dtype, seed=seed)
    result = forward(cell, p)
    return (*result[:-1], *backward(cell, p, result[-1], bptt_steps))


def assert_identical(results, expected):
    assert len(results) == len(expected)
    for a, b in zip(results, expected, strict=True):
        assert a.dtype == b.dtype
        assert np.array_equal(a, b)


@pytest.fixture
def restore_threads():
    saved = numba.get_num_threads()
    yield
    numba.set_num_threads(saved)


def test_batches_span_several_chunks():
    chunks = [-(-batch // CHUNK_ROWS) for batch in BATCHES]
    assert min(chunks) >= 2
    assert max(chunks) >= 4
    assert any(batch % CHUNK_ROWS for batch in BATCHES)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="Numba has one thread here (see the subprocess test)")
@pytest.mark.parametrize("bptt_steps", BPTT)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("cell", list(CELLS))
def test_thread_count_does_not_change_results(cell, batch, bptt_steps, restore_threads):
    numba.set_num_threads(1)
    expected = run(cell, batch, bptt_steps)
    for threads in range(2, numba.config.NUMBA_NUM_THREADS + 1):
        numba.set_num_threads(threads)
        assert_identical(run(cell, batch, bptt_steps), expected)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="Numba has one thread here (see the subprocess test)")
@pytest.mark.parametrize("cell", list(CELLS))
def test_thread_count_does_not_change_float32_results(cell, restore_threads):
    numba.set_num_threads(1)
    expected = run(cell, 257, 3, dtype=np.float32)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert_identical(run(cell, 257, 3, dtype=np.float32), expected)


SCRIPT = """
import numba
from tests.kernels.test_determinism import in_process_digest

print(numba.get_num_threads(), in_process_digest())
"""


def in_process_digest():
    digest = hashlib.sha256()
    for cell in CELLS:
        for batch in BATCHES:
            for bptt_steps in BPTT:
                for array in run(cell, batch, bptt_steps):
                    digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_numba_num_threads_does_not_change_results():
    # NUMBA_NUM_THREADS may exceed the number of cores, so 2 and 3 threads run everywhere.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    digests = {}
    for threads in (1, 2, 3):
        env["NUMBA_NUM_THREADS"] = str(threads)
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
        reported_threads, digest = done.stdout.split()
        assert int(reported_threads) == threads
        digests[threads] = digest
    assert len(set(digests.values())) == 1, digests
    assert digests[1] == in_process_digest()


def test_concurrent_calls_match_sequential_calls():
    jobs = [(cell, batch, bptt_steps) for cell in CELLS for batch in (50, 257) for bptt_steps in BPTT]
    expected = [run(*job) for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        # Every job twice, interleaved, so that calls of one cell also overlap each other.
        futures = [pool.submit(run, *job) for _ in range(2) for job in jobs]
        results = [future.result() for future in futures]
    for k, result in enumerate(results):
        assert_identical(result, expected[k % len(jobs)])
