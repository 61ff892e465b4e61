"""The CUDA kernels agree with the CPU kernels (on the simulator in CI, on the GPU with `-m gpu`).

Shapes are tiny, for the simulator, yet span several blocks of every kernel: 5 sequences give
5 recurrent blocks, 20 time-major rows give 2 row tiles of the products, and the reduced axis
of the weight gradients is cut into several slices where a test shrinks ``K_CHUNK``.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsrnn import kernels as cpu

pytestmark = pytest.mark.gpu

try:
    from tsrnn._cuda import CudaUnavailableError, require_cuda

    require_cuda()
    from numba import cuda

    from tsrnn._cuda._compile import shrunk_geometry
    from tsrnn.kernels import cuda as kc
except CudaUnavailableError as exc:  # only where `-m gpu` asks for a device that is missing
    pytest.skip(str(exc), allow_module_level=True)

B, T, F, H = 5, 4, 2, 3
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}


def _relative(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


def _problem(cell, dtype, seed=0):
    rng = np.random.default_rng(seed)
    g = GATES[cell]
    arrays = {
        "x": rng.standard_normal((B, T, F)),
        "h0": rng.standard_normal((B, H)),
        "c0": rng.standard_normal((B, H)),
        "weights": [rng.uniform(-0.6, 0.6, s) for s in ((g * H, F), (g * H, H), (g * H,), (g * H,))],
        "d_out": rng.standard_normal((B, T, H)),
        "d_h": rng.standard_normal((B, H)),
        "d_c": rng.standard_normal((B, H)),
    }
    cast = lambda a: a.astype(dtype)  # noqa: E731
    return {k: [cast(w) for w in v] if isinstance(v, list) else cast(v) for k, v in arrays.items()}


def _run(module, cell, p, bptt, activation="tanh", lengths=None):
    if cell == "lstm":
        *fwd, cache = module.lstm_forward(p["x"], p["h0"], p["c0"], *p["weights"], lengths=lengths)
        bwd = module.lstm_backward(p["d_out"], p["d_h"], p["d_c"], cache, bptt)
    elif cell == "gru":
        *fwd, cache = module.gru_forward(p["x"], p["h0"], *p["weights"], lengths=lengths)
        bwd = module.gru_backward(p["d_out"], p["d_h"], cache, bptt)
    else:
        *fwd, cache = module.rnn_forward(p["x"], p["h0"], *p["weights"], activation=activation, lengths=lengths)
        bwd = module.rnn_backward(p["d_out"], p["d_h"], cache, bptt)
    return [*fwd, *bwd]


def _assert_agree(cell, dtype, bptt, activation="tanh", lengths=None):
    p = _problem(cell, dtype)
    expected = _run(cpu, cell, p, bptt, activation, lengths)
    got = _run(kc, cell, p, bptt, activation, lengths)
    assert len(got) == len(expected)
    for value, reference in zip(got, expected, strict=True):
        assert isinstance(value, np.ndarray) and value.dtype == dtype and value.shape == reference.shape
        assert _relative(value, reference) < TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_forward_and_full_bptt_agree_with_cpu(cell, dtype):
    _assert_agree(cell, dtype, None)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_truncated_bptt_agrees_with_cpu(cell):
    _assert_agree(cell, np.float64, 3)


@pytest.mark.parametrize(("cell", "bptt"), [("lstm", None), ("lstm", 2), ("gru", 2), ("rnn", 2)])
def test_masked_sequences_agree_with_cpu(cell, bptt):
    # Sequences of 4, 1, 3, 2 and 4 real steps: forward states carried over the padding, the
    # gradients carried back through it, and truncation counted from each row's own last step.
    _assert_agree(cell, np.float64, bptt, lengths=np.array([4, 1, 3, 2, 4]))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_masked_sequences_of_one_block_agree_with_cpu(cell):
    # All five sequences in one block, each of two unit threads: rows of the block diverge
    # between its barriers, some carrying their state while others step.
    with shrunk_geometry(target_blocks=1, unit_threads=2):
        _assert_agree(cell, np.float64, 2, lengths=np.array([4, 1, 3, 2, 4]))


def test_masked_gradients_on_the_device_match_finite_differences():
    # Central differences of the device's own forward pass, at inputs inside and after each
    # sequence's real steps and at recurrent weights (the CPU's are checked in tests/kernels).
    p = _problem("lstm", np.float64, seed=3)
    lengths = np.array([4, 1, 3, 2, 4])

    def loss():
        out, h_t, c_t, _ = kc.lstm_forward(p["x"], p["h0"], p["c0"], *p["weights"], lengths=lengths)
        return float(np.sum(out * p["d_out"]) + np.sum(h_t * p["d_h"]) + np.sum(c_t * p["d_c"]))

    *_, cache = kc.lstm_forward(p["x"], p["h0"], p["c0"], *p["weights"], lengths=lengths)
    d_x, _, _, _, d_w_hh, _, _ = kc.lstm_backward(p["d_out"], p["d_h"], p["d_c"], cache)
    eps = 1e-6
    for array, analytic, index in [
        (p["x"], d_x, (1, 0, 0)), (p["x"], d_x, (1, 2, 1)), (p["x"], d_x, (2, 2, 0)), (p["weights"][1], d_w_hh, (5, 2)),
    ]:  # fmt: skip
        saved = array[index]
        array[index] = saved + eps
        up = loss()
        array[index] = saved - eps
        down = loss()
        array[index] = saved
        assert abs((up - down) / (2 * eps) - analytic[index]) < 1e-7 * max(1.0, abs(analytic[index])), index
    # The padding of sequences 1 (one real step) and 3 (two) gets no gradient.
    assert d_x[1, 1:].max() == d_x[1, 1:].min() == 0 and np.all(d_x[3, 2:] == 0)


def test_masked_sequences_take_lengths_on_the_device():
    p = _problem("gru", np.float64)
    lengths = np.array([4, 1, 3, 2, 4])
    on_host = kc.gru_forward(p["x"], p["h0"], *p["weights"], lengths=lengths)[1]
    x, h0, *weights = (cuda.to_device(a) for a in (p["x"], p["h0"], *p["weights"]))
    on_device = kc.gru_forward(x, h0, *weights, lengths=cuda.to_device(lengths))[1].copy_to_host()
    np.testing.assert_array_equal(on_device, on_host)
    with pytest.raises(ValueError, match="int64 of shape"):
        kc.gru_forward(x, h0, *weights, lengths=cuda.to_device(lengths.astype(np.int32)))


def test_relu_rnn_agrees_with_cpu():
    _assert_agree("rnn", np.float64, None, activation="relu")


def test_sliced_reductions_and_weights_outside_shared_memory():
    # Products over several K slices, summed in order, and W_hh read from global memory.
    with shrunk_geometry(k_chunk=8, shared_bytes=1):
        _assert_agree("lstm", np.float64, None)
        _assert_agree("gru", np.float64, 2)


def test_initial_states_default_to_zeros():
    p = _problem("lstm", np.float64)
    zeros = np.zeros((B, H))
    got = kc.lstm_forward(p["x"], None, None, *p["weights"])[:3]
    expected = cpu.lstm_forward(p["x"], zeros, zeros, *p["weights"])[:3]
    for value, reference in zip(got, expected, strict=True):
        assert _relative(value, reference) < 1e-10


def test_device_arrays_in_give_device_arrays_out():
    p = _problem("gru", np.float64)
    on_device = [cuda.to_device(a) for a in (p["x"], p["h0"], *p["weights"])]
    out, h_t, cache = kc.gru_forward(*on_device)
    assert cuda.devicearray.is_cuda_ndarray(out)
    d = kc.gru_backward(cuda.to_device(p["d_out"]), None, cache)
    expected = cpu.gru_backward(p["d_out"], None, cpu.gru_forward(p["x"], p["h0"], *p["weights"])[-1])
    for value, reference in zip(d, expected, strict=True):
        assert _relative(value.copy_to_host(), reference) < 1e-10


def test_repeated_calls_give_identical_bits():
    p = _problem("lstm", np.float32)
    first = _run(kc, "lstm", p, None)
    second = _run(kc, "lstm", p, None)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_inputs_raise_clear_errors():
    p = _problem("lstm", np.float64)
    x = p["x"].copy()
    x[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="`x` contains NaN"):
        kc.lstm_forward(x, None, None, *p["weights"])
    with pytest.raises(ValueError, match="`w_ih` must have shape"):
        kc.lstm_forward(p["x"][:, :, :1], None, None, *p["weights"])
    with pytest.raises(TypeError, match="dtype"):
        kc.lstm_forward(p["x"].astype(np.float32), None, None, *p["weights"])
    *_, cache = kc.gru_forward(p["x"], None, *_problem("gru", np.float64)["weights"])
    with pytest.raises(TypeError, match="CudaCache returned by tsrnn.kernels.cuda.lstm_forward"):
        kc.lstm_backward(p["d_out"], None, None, cache)
    with pytest.raises(ValueError, match="bptt_steps"):
        kc.gru_backward(p["d_out"], None, cache, bptt_steps=0)


def _forward(cell, p, rows):
    states = (p["h0"][rows], p["c0"][rows]) if cell == "lstm" else (p["h0"][rows],)
    forward = {"lstm": kc.lstm_forward, "gru": kc.gru_forward, "rnn": kc.rnn_forward}[cell]
    return forward(p["x"][rows], *states, *p["weights"])[:-1]


@pytest.mark.parametrize(("cell", "dtype"), [("lstm", np.float32), ("gru", np.float64), ("rnn", np.float32)])
@settings(max_examples=3, deadline=None)
@given(rows=st.lists(st.integers(0, B - 1), min_size=1, max_size=2 * B).map(np.array))
def test_a_rows_forward_does_not_depend_on_the_batch(cell, dtype, rows):
    # Each sequence is one row of a block and each unit sums over k in order, whatever the
    # batch and the launch shape it gives: single rows, subsets, repeats and permutations
    # give the full batch's bits.
    p = _problem(cell, dtype)
    full = _forward(cell, p, np.arange(B))
    for got, expected in zip(_forward(cell, p, rows), full, strict=True):
        np.testing.assert_array_equal(got, expected[rows])
