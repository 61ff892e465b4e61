"""Launch sizes change no result: tiny inputs on shrunken tiles and blocks match the default launch.

With the default sizes a test's few sequences fit in one block and its small matrices in one
tile, so the paths across block and tile edges would go untested; :func:`shrunk_geometry` makes
the same inputs span several of each.
"""

from __future__ import annotations

import numpy as np
import pytest

from tsrnn import optim
from tsrnn.losses import MSE_LOSS, mse_loss
from tsrnn.network import RecurrentNetwork

pytestmark = pytest.mark.gpu

try:
    from tsrnn._cuda import CudaUnavailableError, require_cuda

    require_cuda()
except CudaUnavailableError as exc:  # only where `-m gpu` asks for a device that is missing
    pytest.skip(str(exc), allow_module_level=True)

from numba import cuda  # noqa: E402

from tsrnn._cuda import kernels as _k  # noqa: E402
from tsrnn._cuda import optim as dev  # noqa: E402
from tsrnn._cuda._compile import DEFAULT_GEOMETRY, geometry, shrunk_geometry  # noqa: E402
from tsrnn._cuda.losses import DeviceLoss  # noqa: E402
from tsrnn._cuda.network import DeviceNetwork, upload_time_major  # noqa: E402

BATCH, STEPS, FEATURES, HIDDEN = 5, 4, 3, 3
# Two sequences of two unit threads per recurrent block (three blocks, the last one half full, each
# thread taking two units), 2x2 tiles, and too little shared memory to stage ``W_hh``.
SMALL = {"tile": 2, "line": 4, "block_threads": 4, "unit_threads": 2, "target_blocks": 2, "shared_bytes": 64}


def _train_step(cell: str) -> tuple[np.ndarray, np.ndarray]:
    """One forward and backward pass of a bidirectional network on the device: (y, grads)."""
    network = RecurrentNetwork(FEATURES, HIDDEN, 2, cell=cell, bidirectional=True, dtype=np.float64, random_state=0)
    x = np.random.default_rng(1).standard_normal((BATCH, STEPS, FEATURES))
    device = DeviceNetwork(network)
    y, cache = device.forward(upload_time_major(x, network.dtype), False, True)
    device.backward(cuda.to_device(np.ones(y.shape, network.dtype)), cache, False, 2)
    return y.copy_to_host(), device.grads.copy_to_host()


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_shrunken_geometry_gives_the_default_results_bit_for_bit(cell):
    y, grads = _train_step(cell)
    with shrunk_geometry(**SMALL):
        unit_threads, rows = _k.launch_shape(BATCH, HIDDEN)
        assert (unit_threads, rows) == (2, 2)
        assert -(-BATCH // rows) == 3
        y_small, grads_small = _train_step(cell)
    assert np.abs(grads).max() > 0
    np.testing.assert_array_equal(y_small, y)
    np.testing.assert_array_equal(grads_small, grads)


def test_a_product_spans_several_tiles_and_matches_numpy():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((3, 7))
    with shrunk_geometry(tile=2):
        assert _k.grid_2d(5, 3) == ((3, 2), (2, 2))
        c = _k.gemm(cuda.to_device(a), cuda.to_device(b), cuda.device_array((5, 3)), trans_b=True).copy_to_host()
    np.testing.assert_allclose(c, a @ b.T, rtol=1e-12)


def test_reductions_with_small_blocks_match_the_cpu():
    # Four-thread blocks and two of them: the vector is walked with a stride, the tree is two levels.
    rng = np.random.default_rng(3)
    x = rng.standard_normal(3 * DEFAULT_GEOMETRY.block + 5).astype(np.float32)
    y = rng.standard_normal(x.size).astype(np.float32)
    with shrunk_geometry(block=4, max_blocks=2):
        d_total = cuda.to_device(np.zeros(1))
        DeviceLoss(MSE_LOSS, np.float32)(cuda.to_device(x), cuda.to_device(y), cuda.device_array_like(x), d_total, 1.0)
        d_norm = dev.clip_grad_norm(cuda.to_device(x), np.inf)
    np.testing.assert_allclose(d_norm.copy_to_host()[0], optim.clip_grad_norm(x.copy(), np.inf), rtol=1e-12)
    np.testing.assert_allclose(d_total.copy_to_host()[0], mse_loss(x, y)[0], rtol=1e-6)


def test_shrunk_geometry_restores_the_default_and_refuses_larger_sizes():
    with shrunk_geometry(tile=1) as inside:
        assert geometry() is inside
        assert inside.tile == 1
    assert geometry() == DEFAULT_GEOMETRY
    with pytest.raises(ValueError, match="`tile` must be between 1 and its default"):
        with shrunk_geometry(tile=DEFAULT_GEOMETRY.tile + 1):
            pass
    with pytest.raises(ValueError, match="power of two"):
        with shrunk_geometry(block=3):
            pass
    assert geometry() == DEFAULT_GEOMETRY
