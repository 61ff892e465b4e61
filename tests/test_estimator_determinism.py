"""The same random_state gives the same model bit for bit, whatever the thread count.

Each fit runs in a fresh process with NUMBA_NUM_THREADS set (it may exceed the number of
cores, so 1 and 3 threads run on any machine); the predictions must agree to the last bit.
Batches of 128 windows span four chunks of rows, so the threads really split the work.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = """
import hashlib, warnings
import numba
import numpy as np
warnings.simplefilter("ignore")
from tsrnn import RNNForecaster, RNNRegressor, make_windows
from tsrnn.datasets import load_air_passengers

y = load_air_passengers()
digest = hashlib.sha256()
for strategy in ("mimo", "seq2seq"):
    model = RNNForecaster(window=24, horizon=12, strategy=strategy, batch_size=128, max_epochs=4, random_state=3)
    digest.update(model.fit(y).predict().to_numpy().tobytes())
X, Y = make_windows(np.log(y), window=12, horizon=3)
regressor = RNNRegressor(cell="gru", batch_size=128, max_epochs=4, random_state=3).fit(X, Y)
digest.update(regressor.predict(X).tobytes())
print(numba.get_num_threads(), digest.hexdigest())
"""


def test_same_random_state_same_predictions_with_1_and_3_threads():
    digests = {}
    for threads in (1, 3):
        env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
        done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=600, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        reported, digest = done.stdout.split()
        assert int(reported) == threads
        digests[threads] = digest
    assert digests[1] == digests[3]
