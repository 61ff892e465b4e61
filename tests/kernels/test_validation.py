"""Bad arguments to the public kernel functions raise a clear error that names the argument.

Every check here fails in the Python validation layer, before any compiled code runs, so these
tests compile nothing except for the few that check what valid but unusual input (views,
Fortran order, None states) gives.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.problems import CELLS, make_problem
from tsrnn import kernels

BATCH, STEPS, FEATURES, HIDDEN = 5, 4, 3, 2

FORWARD = {"lstm": kernels.lstm_forward, "gru": kernels.gru_forward, "rnn": kernels.rnn_forward}
BACKWARD = {"lstm": kernels.lstm_backward, "gru": kernels.gru_backward, "rnn": kernels.rnn_backward}


def kind(cell):
    return cell.split("_")[0]


def forward_names(cell):
    states = ["h0", "c0"] if cell == "lstm" else ["h0"]
    return ["x", *states, "w_ih", "w_hh", "b_ih", "b_hh"]


def backward_names(cell):
    return ["d_out", "d_h_T", "d_c_T"] if cell == "lstm" else ["d_out", "d_h_T"]


def problem(cell, dtype=np.float64, batch=BATCH):
    return make_problem(cell, batch=batch, steps=STEPS, features=FEATURES, hidden=HIDDEN, dtype=dtype)


def call_forward(cell, p, **changes):
    """The public forward function of ``cell`` on problem ``p``, keyword arguments replaced by ``changes``."""
    kwargs = {name: p[name] for name in forward_names(cell)}
    if kind(cell) == "rnn":
        kwargs["activation"] = cell[4:]
    kwargs.update(changes)
    return FORWARD[kind(cell)](**kwargs)


def call_backward(cell, p, cache, **changes):
    kwargs = {name: p[name] for name in backward_names(cell)}
    kwargs["cache"] = cache
    kwargs.update(changes)
    return BACKWARD[kind(cell)](**kwargs)


def forward_and_backward(cell, p, bptt_steps=None, **changes):
    """Forward then backward, ``changes`` going to whichever pass takes the argument."""
    forward_changes = {k: v for k, v in changes.items() if k not in backward_names(cell)}
    backward_changes = {k: v for k, v in changes.items() if k in backward_names(cell)}
    result = call_forward(cell, p, **forward_changes)
    grads = call_backward(cell, p, result[-1], bptt_steps=bptt_steps, **backward_changes)
    return (*result[:-1], *grads)


@pytest.fixture(scope="module")
def caches():
    """A forward cache of every cell (float64), for the backward-pass checks."""
    return {cell: call_forward(cell, problem(cell))[-1] for cell in CELLS}


def forward_cases():
    return [(cell, name) for cell in CELLS for name in forward_names(cell)]


def backward_cases():
    return [(cell, name) for cell in CELLS for name in backward_names(cell)]


STATES = ("h0", "c0", "d_h_T", "d_c_T")


def name_pattern(name):
    return f"`{name}`"


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(("cell", "name"), forward_cases())
def test_forward_rejects_non_finite(cell, name, bad):
    p = problem(cell)
    array = p[name].copy()
    array.reshape(-1)[array.size // 2] = bad
    with pytest.raises(ValueError, match=rf"{name_pattern(name)} contains NaN or inf"):
        call_forward(cell, p, **{name: array})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(("cell", "name"), backward_cases())
def test_backward_rejects_non_finite(cell, name, bad, caches):
    p = problem(cell)
    array = p[name].copy()
    array.reshape(-1)[-1] = bad
    with pytest.raises(ValueError, match=rf"{name_pattern(name)} contains NaN or inf"):
        call_backward(cell, p, caches[cell], **{name: array})


def test_masked_nan_is_still_rejected():
    # np.isfinite on a masked array ignores masked entries; the data still reaches the kernel.
    p = problem("gru")
    x = np.ma.array(p["x"].copy(), mask=np.zeros(p["x"].shape, bool))
    x[0, 0, 0] = np.ma.masked
    x.data[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="`x` contains NaN or inf"):
        call_forward("gru", p, x=x)


# ------------------------------------------------------------------------------ types


@pytest.mark.parametrize(("cell", "name"), forward_cases())
def test_forward_rejects_lists(cell, name):
    p = problem(cell)
    with pytest.raises(TypeError, match=rf"{name_pattern(name)} must be a numpy array; got list"):
        call_forward(cell, p, **{name: p[name].tolist()})


@pytest.mark.parametrize(("cell", "name"), backward_cases())
def test_backward_rejects_lists(cell, name, caches):
    p = problem(cell)
    with pytest.raises(TypeError, match=rf"{name_pattern(name)} must be a numpy array; got list"):
        call_backward(cell, p, caches[cell], **{name: p[name].tolist()})


@pytest.mark.parametrize("cell", list(CELLS))
def test_rejects_scalars(cell):
    p = problem(cell)
    with pytest.raises(TypeError, match="`b_ih` must be a numpy array; got float"):
        call_forward(cell, p, b_ih=0.0)


BAD_DTYPES = [np.int64, np.int32, np.bool_, np.float16, np.complex128, object]


@pytest.mark.parametrize("dtype", BAD_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(("cell", "name"), forward_cases())
def test_forward_rejects_non_float_dtypes(cell, name, dtype):
    p = problem(cell)
    array = p[name].astype(dtype)
    with pytest.raises(TypeError, match=rf"{name_pattern(name)} must have dtype float32 or float64; got"):
        call_forward(cell, p, **{name: array})


@pytest.mark.parametrize("dtype", BAD_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(("cell", "name"), backward_cases())
def test_backward_rejects_non_float_dtypes(cell, name, dtype, caches):
    p = problem(cell)
    with pytest.raises(TypeError, match=rf"{name_pattern(name)} must have dtype float32 or float64; got"):
        call_backward(cell, p, caches[cell], **{name: p[name].astype(dtype)})


def test_rejects_longdouble_and_byte_swapped():
    p = problem("rnn_tanh")
    with pytest.raises(TypeError, match="`w_ih` must have dtype float32 or float64"):
        call_forward("rnn_tanh", p, w_ih=p["w_ih"].astype(np.longdouble))
    with pytest.raises(TypeError, match="`x` must have dtype float32 or float64"):
        call_forward("rnn_tanh", p, x=p["x"].astype(p["x"].dtype.newbyteorder()))


@pytest.mark.parametrize(("cell", "name"), [case for case in forward_cases() if case[1] != "x"])
def test_forward_rejects_dtype_mismatch(cell, name):
    # float32 x with float64 everything else is reported at the first other array checked;
    # a single float32 array among float64 ones is reported by name.
    p = problem(cell)
    with pytest.raises(TypeError, match=rf"{name_pattern(name)} has dtype float32 but `x` has dtype float64"):
        call_forward(cell, p, **{name: p[name].astype(np.float32)})


@pytest.mark.parametrize("cell", list(CELLS))
def test_forward_rejects_float32_x_with_float64_weights(cell):
    p = problem(cell)
    with pytest.raises(TypeError, match=r"`w_hh` has dtype float64 but `x` has dtype float32; use one dtype"):
        call_forward(cell, p, x=p["x"].astype(np.float32))


@pytest.mark.parametrize(("cell", "name"), backward_cases())
def test_backward_rejects_dtype_mismatch(cell, name, caches):
    p = problem(cell)
    with pytest.raises(TypeError, match=rf"{name_pattern(name)} has dtype float32 but the forward pass has dtype"):
        call_backward(cell, p, caches[cell], **{name: p[name].astype(np.float32)})


# ----------------------------------------------------------------------------- shapes


def wrong_ndims(array):
    """Arrays with one dimension more and one fewer (a 0-d array for a 1-D one)."""
    fewer = np.asarray(array.reshape(-1)[0]) if array.ndim == 1 else array.reshape(*array.shape[:-2], -1)
    return [array[None], fewer]


@pytest.mark.parametrize(("cell", "name"), forward_cases())
def test_forward_rejects_wrong_ndim(cell, name):
    p = problem(cell)
    for array in wrong_ndims(p[name]):
        with pytest.raises(ValueError, match=name_pattern(name)):
            call_forward(cell, p, **{name: array})


@pytest.mark.parametrize(("cell", "name"), backward_cases())
def test_backward_rejects_wrong_ndim(cell, name, caches):
    p = problem(cell)
    for array in wrong_ndims(p[name]):
        with pytest.raises(ValueError, match=name_pattern(name)):
            call_backward(cell, p, caches[cell], **{name: array})


def grown(array, axis):
    """``array`` with one more entry along ``axis``."""
    return np.concatenate([array, array.take([0], axis=axis)], axis=axis)


@pytest.mark.parametrize(("cell", "name"), forward_cases())
def test_forward_rejects_wrong_sizes(cell, name):
    p = problem(cell)
    for axis in range(p[name].ndim):
        if name == "x" and axis < 2:
            continue  # batch and time of x set those of everything else
        # A bigger w_hh first dimension or a wider x is checked against w_hh / w_ih.
        blamed = "w_ih" if name == "x" else name
        with pytest.raises(ValueError, match=name_pattern(blamed)):
            call_forward(cell, p, **{name: grown(p[name], axis)})


@pytest.mark.parametrize("cell", list(CELLS))
def test_forward_rejects_states_of_another_batch(cell):
    p = problem(cell)
    short = {name: p[name][:-1] for name in forward_names(cell) if name in ("h0", "c0")}
    for name, array in short.items():
        with pytest.raises(ValueError, match=rf"`{name}` must have shape \(batch, hidden\) = \({BATCH}, {HIDDEN}\)"):
            call_forward(cell, p, **{name: array})
    with pytest.raises(ValueError, match="`h0`"):
        call_forward(cell, p, h0=np.ascontiguousarray(p["h0"].T))


@pytest.mark.parametrize(("cell", "name"), backward_cases())
def test_backward_rejects_wrong_sizes(cell, name, caches):
    p = problem(cell)
    for axis in range(p[name].ndim):
        with pytest.raises(ValueError, match=name_pattern(name)):
            call_backward(cell, p, caches[cell], **{name: grown(p[name], axis)})
        with pytest.raises(ValueError, match=name_pattern(name)):
            call_backward(cell, p, caches[cell], **{name: p[name].take(range(p[name].shape[axis] - 1), axis=axis)})


def test_d_out_message_states_the_expected_shape(caches):
    p = problem("lstm")
    expected = (
        rf"\(batch, time, hidden\) of the forward output = \({BATCH}, {STEPS}, {HIDDEN}\); got \({BATCH}, {STEPS - 1}"
    )
    with pytest.raises(ValueError, match=expected):
        call_backward("lstm", p, caches["lstm"], d_out=p["d_out"][:, 1:])


# ------------------------------------------------------------------------------ empty


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("axis", [0, 1, 2], ids=["batch", "time", "features"])
def test_rejects_empty_x(cell, axis):
    p = problem(cell)
    x = p["x"].take([], axis=axis)
    changes = {"x": x}
    if axis == 0:
        changes.update({name: p[name][:0] for name in ("h0", "c0") if name in forward_names(cell)})
    if axis == 2:
        changes["w_ih"] = p["w_ih"][:, :0]
    with pytest.raises(ValueError, match=r"`x` must be a non-empty array of shape \(batch, time, features\)"):
        call_forward(cell, p, **changes)


@pytest.mark.parametrize("cell", list(CELLS))
def test_rejects_zero_hidden_units(cell):
    p = problem(cell)
    changes = {name: p[name][:0] for name in ("w_ih", "b_ih", "b_hh")}
    changes["w_hh"] = p["w_hh"][:0, :0]
    changes.update({name: p[name][:, :0] for name in ("h0", "c0") if name in forward_names(cell)})
    with pytest.raises(ValueError, match=r"`w_hh` must have shape \(\d \* hidden, hidden\) with hidden >= 1"):
        call_forward(cell, p, **changes)


@pytest.mark.parametrize("cell", list(CELLS))
def test_rejects_zero_dimensional_x(cell):
    p = problem(cell)
    with pytest.raises(ValueError, match=r"`x` must be a non-empty array .*; got shape \(\)"):
        call_forward(cell, p, x=np.array(1.0))


def test_rejects_zero_dimensional_bias_that_would_broadcast():
    # With one gate and one hidden unit a 0-d bias has one element; it must still be rejected.
    p = make_problem("rnn_tanh", batch=2, steps=3, features=2, hidden=1)
    with pytest.raises(ValueError, match=r"`b_ih` must have shape .*; got \(\)"):
        call_forward("rnn_tanh", p, b_ih=np.array(0.5))


# ------------------------------------------------------------------ other arguments


@pytest.mark.parametrize("bptt_steps", [0, -1, 2.5, 3.0, True, False, np.True_, "3", [3]], ids=repr)
@pytest.mark.parametrize("cell", list(CELLS))
def test_rejects_bad_bptt_steps(cell, bptt_steps, caches):
    p = problem(cell)
    with pytest.raises(ValueError, match=r"`bptt_steps` must be None or an int >= 1; got"):
        call_backward(cell, p, caches[cell], bptt_steps=bptt_steps)


@pytest.mark.parametrize("bptt_steps", [10**30, np.uint64(2**63), np.int64(STEPS), STEPS + 1], ids=repr)
def test_bptt_steps_beyond_the_sequence_is_full_bptt(bptt_steps, caches):
    # 10**30 used to reach Numba as an untyped Python object (a TypingError); np.uint64 typed
    # as another specialisation.
    p = problem("rnn_tanh")
    full = call_backward("rnn_tanh", p, caches["rnn_tanh"], bptt_steps=None)
    result = call_backward("rnn_tanh", p, caches["rnn_tanh"], bptt_steps=bptt_steps)
    for a, b in zip(result, full, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("activation", ["sigmoid", "TANH", "", None, 1, ["tanh"]], ids=repr)
def test_rejects_unknown_activation(activation):
    p = problem("rnn_tanh")
    with pytest.raises(ValueError, match=r"`activation` must be 'tanh' or 'relu'; got"):
        call_forward("rnn_tanh", p, activation=activation)


@pytest.mark.parametrize("cell", list(CELLS))
def test_rejects_cache_of_another_cell(cell, caches):
    p = problem(cell)
    for other, cache in caches.items():
        if kind(other) == kind(cell):
            continue
        with pytest.raises(TypeError, match=r"`cache` must be the \w+Cache returned by the forward pass"):
            call_backward(cell, p, cache)
    for not_a_cache in (None, tuple(caches[cell]), list(caches[cell])):
        with pytest.raises(TypeError, match="`cache`"):
            call_backward(cell, p, not_a_cache)


def test_rejects_gradient_of_the_wrong_batch_size(caches):
    # A cache from a batch of 5 and gradients for a batch of 6 (or the other way round).
    p = problem("gru", batch=BATCH + 1)
    with pytest.raises(ValueError, match="`d_out`"):
        call_backward("gru", p, caches["gru"])


# ---------------------------------------------------------- valid but unusual input


def non_contiguous(array):
    """The same values in a non-C-contiguous layout."""
    if array.ndim == 1:
        wide = np.zeros(2 * array.size, array.dtype)
        wide[::2] = array
        return wide[::2]
    return np.asfortranarray(array)


@pytest.mark.parametrize("cell", list(CELLS))
def test_non_contiguous_inputs_match_contiguous_copies(cell):
    p = problem(cell, batch=21)
    reversed_time = p["x"][:, ::-1]
    assert not reversed_time.flags.c_contiguous
    changes = {name: non_contiguous(p[name]) for name in forward_names(cell)[1:] + backward_names(cell)}
    changes["x"] = reversed_time
    result = forward_and_backward(cell, p, bptt_steps=2, **changes)
    p["x"] = np.ascontiguousarray(reversed_time)
    expected = forward_and_backward(cell, p, bptt_steps=2)
    for a, b in zip(result, expected, strict=True):
        assert a.flags.c_contiguous
        assert np.array_equal(a, b)


@pytest.mark.parametrize("cell", list(CELLS))
def test_strided_batch_and_feature_views(cell):
    p = problem(cell, batch=2 * BATCH)
    q = problem(cell)
    wide_x = np.repeat(p["x"], 2, axis=2)  # every feature twice
    view = wide_x[::2, :, ::2]
    assert view.shape == q["x"].shape
    q["x"] = np.ascontiguousarray(view)
    expected = call_forward(cell, q)
    result = call_forward(cell, q, x=view)
    for a, b in zip(result[:-1], expected[:-1], strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("cell", list(CELLS))
def test_none_states_equal_explicit_zeros(cell):
    p = problem(cell, batch=19)
    zeros = np.zeros_like(p["h0"])
    none_changes = {name: None for name in forward_names(cell) + backward_names(cell) if name in STATES}
    zero_changes = {name: zeros for name in none_changes}
    for bptt_steps in (None, 3):
        with_none = forward_and_backward(cell, p, bptt_steps, **none_changes)
        with_zeros = forward_and_backward(cell, p, bptt_steps, **zero_changes)
        for a, b in zip(with_none, with_zeros, strict=True):
            assert np.array_equal(a, b)


def test_read_only_inputs_are_accepted():
    # np.load(mmap_mode="r"), np.broadcast_to and frozen arrays are read-only.
    p = problem("rnn_tanh")
    expected = forward_and_backward("rnn_tanh", p, bptt_steps=2)
    frozen = {k: v.copy() for k, v in p.items()}
    for array in frozen.values():
        array.flags.writeable = False
    result = forward_and_backward("rnn_tanh", frozen, bptt_steps=2)
    for a, b in zip(result, expected, strict=True):
        assert np.array_equal(a, b)


def test_broadcast_inputs_are_accepted():
    # Zero strides: np.broadcast_to gives a read-only view whose elements share memory.
    p = problem("gru")
    p["b_hh"] = np.full(p["b_hh"].shape, 0.25)
    p["h0"] = np.tile(p["h0"][:1], (BATCH, 1))
    expected = forward_and_backward("gru", p)
    result = forward_and_backward(
        "gru", p, b_hh=np.broadcast_to(np.float64(0.25), p["b_hh"].shape), h0=np.broadcast_to(p["h0"][0], p["h0"].shape)
    )
    for a, b in zip(result, expected, strict=True):
        assert np.array_equal(a, b)


def test_inputs_are_not_modified():
    p = problem("lstm", batch=18)
    saved = {k: v.copy() for k, v in p.items()}
    forward_and_backward("lstm", p, bptt_steps=2)
    for name, array in p.items():
        assert np.array_equal(array, saved[name]), name
