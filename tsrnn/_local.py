"""Local pooling: one model per series of a collection, fitted in parallel through joblib.

joblib sends the fits wherever its backend says: processes on this machine by default, a
Dask cluster under ``joblib.parallel_config(backend="dask")``. Each fit is a plain function
of picklable arguments, so every backend gets the same work, and the same ``random_state``
gives the same models wherever they ran.
"""

from __future__ import annotations

import os
from typing import Any

import numba
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs

from tsrnn._panel import Collection

__all__ = ["fit_each", "series_data", "threads_per_worker"]


def threads_per_worker(n_jobs: int | None) -> int:
    """Return the Numba threads each of ``n_jobs`` parallel fits may use: the cores shared out, at least one.

    Workers that each took every core would run ``n_jobs`` times as many threads as there
    are cores, and the kernels' chunks would wait on one another.
    """
    workers = effective_n_jobs(n_jobs)
    return max(1, (os.cpu_count() or 1) // workers)


def series_data(collection: Collection, i: int) -> tuple[pd.Series, pd.DataFrame | None]:
    """Return series ``i`` of ``collection`` as ``fit(X, y)`` takes one series: its target and covariates."""
    index = collection.index[i]
    y = pd.Series(collection.values[i][:, 0], index=index, name=collection.target_name)
    covariates = collection.covariates[i]
    X = pd.DataFrame(covariates, index=index, columns=collection.covariate_names) if covariates.shape[1] else None
    return y, X


def _fit_one(template: Any, uid: Any, y: pd.Series, X: pd.DataFrame | None, threads: int) -> Any:
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        return template.fit(y) if X is None else template.fit(X, y)
    except ValueError as error:
        raise ValueError(f"series {uid!r}: {error}") from error
    finally:
        # The caller's count, where the fit ran in the caller's process.
        numba.set_num_threads(before)


def fit_each(template: Any, collection: Collection, n_jobs: int | None) -> list[Any]:
    """Fit a clone of ``template`` on every series of ``collection``, ``n_jobs`` at a time; return them in order."""
    from sklearn.base import clone

    threads = threads_per_worker(n_jobs)
    jobs = (
        delayed(_fit_one)(clone(template), uid, *series_data(collection, i), threads)
        for i, uid in enumerate(collection.ids)
    )
    return list(Parallel(n_jobs=n_jobs)(jobs))
