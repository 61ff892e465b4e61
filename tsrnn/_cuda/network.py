"""The networks of :mod:`tsrnn.network` run on the GPU.

:class:`DeviceNetwork` holds device copies of a :class:`~tsrnn.network.RecurrentNetwork`'s flat
parameter and gradient vectors, with the same named views. The passes are those of
:mod:`tsrnn.network`, one layer loop for both devices (stacked, bidirectional, dropout between
layers, initial states in and their gradients out, the dense head; the composite networks
``DirectNetworks`` and ``Seq2SeqNetwork`` as parts on views of one flat device vector): this
module gives them the device's buffers and launches of the kernels of :mod:`tsrnn._cuda.kernels`,
time-major throughout. Their training epochs run in :mod:`tsrnn._cuda.training`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import cuda

from tsrnn._cuda import kernels as _k
from tsrnn._cuda._compile import kernel
from tsrnn._cuda.kernels import grid_1d, grid_2d
from tsrnn.kernels import _functional as kf
from tsrnn.kernels._cells import CELLS
from tsrnn.network import (
    EMBEDDING,
    PREDICT_BATCH,
    DirectNetworks,
    ForwardCache,
    RecurrentNetwork,
    Seq2SeqNetwork,
    _cell_arrays,
    backprop_direct,
    backprop_seq2seq,
    backprop_stack,
    parameter_views,
    run_direct,
    run_seq2seq,
    run_stack,
)

__all__ = ["DeviceNetwork", "device_model", "is_lengths", "predict", "upload_inputs", "upload_time_major"]


@kernel
def _dropout(values, seed, keep, scale, mask):
    """Zero each element with probability ``1 - keep`` and scale the rest, keeping the mask.

    The uniform draw of element ``i`` is a hash of ``(seed, i)`` (SplitMix64), so masks depend on
    the seed and the shapes only.
    """
    i = cuda.grid(1)
    if i < values.size:
        z = np.uint64(seed) + np.uint64(i + 1) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        u = np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)
        m = scale if u < keep else scale - scale
        mask[i] = m
        values[i] = values[i] * m


@kernel
def _multiply(values, mask):
    i = cuda.grid(1)
    if i < values.size:
        values[i] = values[i] * mask[i]


@kernel
def _final_features(top, hidden, bidirectional, features):
    """Gather the head's input: the forward state after the last step (and the reverse one after the first)."""
    b, j = cuda.grid(2)
    steps = top.shape[0]
    if b < features.shape[0] and j < features.shape[1]:
        if bidirectional and j >= hidden:
            features[b, j] = top[0, b, j]
        else:
            features[b, j] = top[steps - 1, b, j]


@kernel
def _scatter_final(d_features, hidden, bidirectional, d_top):
    """Gradient of :func:`_final_features`: ``d_top`` zero but where the features came from."""
    b, t = cuda.grid(2)
    steps = d_top.shape[0]
    if t < steps and b < d_top.shape[1]:
        for j in range(d_top.shape[2]):
            source = steps - 1 if not (bidirectional and j >= hidden) else 0
            d_top[t, b, j] = d_features[b, j] if t == source else d_features[b, j] - d_features[b, j]


@kernel
def _embed(x, series, table, widened, inverse_rows):
    """Widen time-major ``x`` (T, B, F) by each row's embedding vector (the table's mean for series -1).

    ``inverse_rows`` is 1 / the table's rows, in its dtype, so that float32 stays float32.
    """
    t, b = cuda.grid(2)
    steps, batch, features = x.shape
    if t < steps and b < batch:
        for f in range(features):
            widened[t, b, f] = x[t, b, f]
        row = series[b]
        for j in range(table.shape[1]):
            if row >= 0:
                value = table[row, j]
            else:
                value = table[0, j] - table[0, j]
                for r in range(table.shape[0]):
                    value += table[r, j]
                value *= inverse_rows
            widened[t, b, features + j] = value


@kernel
def _embedding_gradient(d_widened, series, features, grad, zero):
    """Each vector's gradient: its rows' input gradients summed over the steps, rows and steps in order.

    One thread per element of the table, so no two threads add into one place: the sums are
    the same every run, whatever the scheduling.
    """
    r, j = cuda.grid(2)
    steps, batch, _ = d_widened.shape
    if r < grad.shape[0] and j < grad.shape[1]:
        total = zero  # in the dtype: the buffer holds no number to start from
        for b in range(batch):
            if series[b] == r:
                for t in range(steps):
                    total += d_widened[t, b, features + j]
        grad[r, j] = total


@kernel
def _copy_columns(block, wide, col, into_wide):
    """``wide[:, col : col + O] = block`` (``into_wide``), or the other way round."""
    b, j = cuda.grid(2)
    if b < block.shape[0] and j < block.shape[1]:
        if into_wide:
            wide[b, col + j] = block[b, j]
        else:
            block[b, j] = wide[b, col + j]


class _OnDevice:
    """Device copies of a host network's flat parameter and gradient vectors."""

    network: Any
    params: Any
    grads: Any

    def download(self) -> None:
        """Copy the device parameters into the host network's flat parameter vector."""
        self.params.copy_to_host(self.network.params)


class DeviceNetwork(_OnDevice):
    """A :class:`RecurrentNetwork`'s passes on the GPU, on device copies of its parameters.

    The layer loop is the host's (:func:`~tsrnn.network.run_stack`,
    :func:`~tsrnn.network.backprop_stack`); this class gives it the device's arrays, time-major
    throughout, as a :class:`~tsrnn.network.StackArrays`: buffers, kernel launches.

    Parameters
    ----------
    network : RecurrentNetwork
        The host network.
    params, grads : device arrays, optional
        Flat device vectors of the network's layout to use (views into a larger vector, for a
        composite network); uploaded and allocated when omitted.
    """

    def __init__(self, network: RecurrentNetwork, params: Any = None, grads: Any = None) -> None:
        if not isinstance(network, RecurrentNetwork):
            raise TypeError(f"expected a RecurrentNetwork; got {type(network).__name__}")
        self.network = network
        self.params = cuda.to_device(network.params) if params is None else params
        self.grads = cuda.device_array_like(network.params) if grads is None else grads
        self.param_views = parameter_views(self.params, network.layout)
        self.grad_views = parameter_views(self.grads, network.layout)
        # Training passes and inference passes keep their buffers apart, so that evaluating
        # between a forward and a backward pass would not overwrite the cache.
        self.workspaces = {"forward": _k.Workspace(), "predict": _k.Workspace(), "backward": _k.Workspace()}

    def forward(
        self,
        x: Any,
        return_sequences: bool,
        keep: bool,
        dropout_seed: int | None = None,
        initial_state: list[tuple[Any, ...]] | None = None,
        lengths: Any = None,
    ) -> tuple[Any, ForwardCache]:
        """Run on time-major ``x`` (T, B, F); return ``y`` ((B, O) or time-major (T, B, O)) and a cache.

        ``dropout_seed`` switches dropout between layers on (training); ``keep`` keeps what
        :meth:`backward` needs; ``initial_state`` gives each layer's starting state and
        ``lengths`` (a device int64 array (B,)) each sequence's real steps (as
        :meth:`RecurrentNetwork.forward`). Without a head, ``y`` is the top layer's features.
        The cache's ``final_state`` holds each layer's final state (forward direction).
        """
        return run_stack(self, x, return_sequences, keep, dropout_seed, initial_state, lengths)

    def backward(
        self,
        d_y: Any,
        cache: ForwardCache,
        return_sequences: bool,
        bptt: int,
        d_final_state: list[tuple[Any, ...]] | None = None,
    ) -> Any:
        """Backpropagate ``d_y`` (the shape of ``y``) into :attr:`grads`; return the input's gradient.

        ``return_sequences`` is the forward pass's; ``d_final_state`` is the gradient of the
        cache's final states. The gradient of each layer's initial state (forward direction) is
        left in ``cache.d_initial_state``.
        """
        if return_sequences != cache.return_sequences:
            raise ValueError("`return_sequences` must be that of the forward pass that made `cache`")
        return backprop_stack(self, d_y, cache, bptt, d_final_state)

    # The operations of :class:`~tsrnn.network.StackArrays`, on time-major device arrays.

    def batch_of(self, shape: tuple[int, ...]) -> int:
        return shape[1]

    def zero_states(self, batch: int, workspace: Any) -> list[tuple[Any, ...]]:
        net = self.network
        zeros = workspace.scope("network")("zero_state", (batch, net.hidden_size), net.dtype, zero=True)
        return [(zeros,) * len(CELLS[net.cell].states)] * net.num_layers

    def layer_forward(
        self, layer: int, x: Any, state: tuple[Any, ...], keep: bool, workspace: Any, lengths: Any = None
    ) -> tuple[Any, tuple[Any, ...], list[Any]]:
        net = self.network
        steps, batch, _ = x.shape
        hidden = net.hidden_size
        out = workspace.scope("network")(f"out_{layer}", (steps, batch, hidden * net.num_directions), net.dtype)
        caches, final = [], ()
        for direction, suffix in enumerate(net.suffixes()):
            # Both directions write into one output, each in its own columns.
            _, last, cache = _k.cell_forward(
                net.cell, x, state, *_cell_arrays(self.param_views, layer, suffix),
                activation=kf._activation_code(net.activation), reverse=direction == 1, keep=keep, out=out,
                col=direction * hidden, alloc=workspace.scope("cell", layer, direction), lengths=lengths,
            )  # fmt: skip
            caches.append(cache)
            if direction == 0:
                final = last
        return out, final, caches

    def dropout(self, out: Any, layer: int, noise: int, workspace: Any) -> tuple[Any, Any]:
        dtype = self.network.dtype
        keep_prob = 1.0 - self.network.dropout
        mask = workspace.scope("network")(f"mask_{layer}", (out.size,), dtype)
        _dropout[grid_1d(out.size)](out.reshape(out.size), noise + layer, keep_prob, dtype.type(1.0 / keep_prob), mask)
        return out, mask

    def final_features(self, top: Any, workspace: Any) -> Any:
        steps, batch, width = top.shape
        features = workspace.scope("network")("features", (batch, width), self.network.dtype)
        _final_features[grid_2d(batch, width)](top, self.network.hidden_size, self.network.bidirectional, features)
        return features

    def head_forward(self, features: Any, workspace: Any) -> Any:
        net = self.network
        if not net.output_size:
            return features
        alloc = workspace.scope("network")
        *lead, width = features.shape
        flat = features.reshape(features.size // width, width)
        y = alloc("y", (flat.shape[0], net.output_size), net.dtype)
        _k.gemm(flat, self.param_views["head.weight"], y, trans_b=True, bias=self.param_views["head.bias"], alloc=alloc)
        return y.reshape(*lead, net.output_size)

    def head_backward(self, d_y: Any, features: Any, workspace: Any) -> Any:
        net = self.network
        if not net.output_size:
            return d_y.reshape(*features.shape)
        alloc = workspace.scope("network")
        *_, width = features.shape
        flat = features.reshape(features.size // width, width)
        d_flat = d_y.reshape(flat.shape[0], net.output_size)
        g = self.grad_views
        _k.gemm(d_flat, flat, g["head.weight"], trans_a=True, alloc=alloc)
        _k.column_sums(d_flat, g["head.bias"], alloc=alloc)
        d_features = alloc("d_features", flat.shape, net.dtype)
        _k.gemm(d_flat, self.param_views["head.weight"], d_features, alloc=alloc)
        return d_features.reshape(*features.shape)

    def scatter_final(self, d_features: Any, top_shape: tuple[int, ...], workspace: Any) -> Any:
        steps, batch, _ = top_shape
        d_top = workspace.scope("network")("d_top", top_shape, self.network.dtype)
        _scatter_final[grid_2d(batch, steps)](d_features, self.network.hidden_size, self.network.bidirectional, d_top)
        return d_top

    def apply_mask(self, d_out: Any, mask: Any) -> Any:
        _multiply[grid_1d(d_out.size)](d_out.reshape(d_out.size), mask)
        return d_out

    def embed(self, x: Any, series: Any, workspace: Any) -> Any:
        steps, batch, features = x.shape
        table = self.param_views[EMBEDDING]
        widened = workspace.scope("network")("embedded", (steps, batch, features + table.shape[1]), x.dtype)
        _embed[grid_2d(steps, batch)](x, series, table, widened, x.dtype.type(1.0 / table.shape[0]))
        return widened

    def embed_backward(self, d_x: Any, series: Any, workspace: Any) -> Any:
        features = self.network.input_size
        grad = self.grad_views[EMBEDDING]
        _embedding_gradient[grid_2d(*grad.shape)](d_x, series, features, grad, d_x.dtype.type(0.0))
        steps, batch, _ = d_x.shape
        d_own = workspace.scope("network")("d_own", (steps, batch, features), d_x.dtype)
        _copy_columns[grid_2d(steps * batch, features)](
            d_own.reshape(steps * batch, features), d_x.reshape(steps * batch, d_x.shape[2]), 0, False
        )
        return d_own

    def layer_backward(
        self, layer: int, d_out: Any, d_state: tuple[Any, ...], caches: list[Any], bptt: int, workspace: Any
    ) -> tuple[Any, tuple[Any, ...]]:
        net = self.network
        d_input, d_initial = None, ()
        for direction, suffix in enumerate(net.suffixes()):
            # The reverse direction adds its input gradient to the forward one's.
            d_input, d_h = _k.cell_backward(
                caches[direction], d_out, d_state, bptt, _cell_arrays(self.grad_views, layer, suffix),
                col=direction * net.hidden_size, d_x=d_input, accumulate_d_x=direction == 1,
                alloc=workspace.scope("cell", layer, direction),
            )  # fmt: skip
            if direction == 0:
                d_initial = d_h
        return d_input, d_initial


class _DeviceParts:
    """How the parts of a composite network join on the GPU (a :class:`~tsrnn.network.PartsArrays`)."""

    def __init__(self) -> None:
        self.alloc = _k.Workspace().scope("parts")

    def part_noise(self, noise: int | None, index: int) -> int | None:
        # Masks are hashes of the seed: each part draws from seeds of its own.
        return None if noise is None else noise + 1000 * index

    def join_columns(self, blocks: list[Any]) -> Any:
        width = blocks[0].shape[1]
        wide = self.alloc("wide", (blocks[0].shape[0], width * len(blocks)), blocks[0].dtype)
        for j, block in enumerate(blocks):
            _copy_columns[grid_2d(*block.shape)](block, wide, j * width, True)
        return wide

    def columns(self, wide: Any, index: int, width: int) -> Any:
        # One buffer serves every part in turn: each backward pass reads it before the next.
        block = self.alloc("block", (wide.shape[0], width), wide.dtype)
        _copy_columns[grid_2d(*block.shape)](block, wide, index * width, False)
        return block

    def add(self, total: Any, part: Any) -> Any:
        flat = total.reshape(total.size)
        _k._sum_vectors[-(-total.size // 128), 128](flat, part.reshape(part.size), flat)
        return total

    def zeros(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        return self.alloc("zeros", shape, dtype, zero=True)


class _DeviceModel(_OnDevice):
    """A host network's device twin as training and inference see it.

    ``forward`` takes a tuple of time-major device inputs; ``y`` and the targets are
    time-major (T, B, O) when :attr:`time_major_targets`, else (B, O).
    """

    time_major_targets: bool


class _Sequence(_DeviceModel):
    def __init__(self, network: RecurrentNetwork, return_sequences: bool) -> None:
        self.network = network
        self.part = DeviceNetwork(network)
        self.params, self.grads = self.part.params, self.part.grads
        self.time_major_targets = return_sequences

    def forward(self, inputs: tuple[Any, ...], keep: bool, seed: int | None = None) -> tuple[Any, Any]:
        # A second input is each row's series for a network with an embedding, else the sequences' lengths.
        second = inputs[1] if len(inputs) > 1 else None
        if self.network.embedding_size:
            return run_stack(self.part, inputs[0], self.time_major_targets, keep, seed, series=second)
        return run_stack(self.part, inputs[0], self.time_major_targets, keep, seed, None, second)

    def backward(self, d_y: Any, cache: Any, bptt: int) -> None:
        backprop_stack(self.part, d_y, cache, bptt)


class _Parts(_DeviceModel):
    """The parts of a composite network, on views of one flat device vector."""

    def __init__(self, network: Any) -> None:
        self.network = network
        self.params = cuda.to_device(network.params)
        self.grads = cuda.device_array_like(network.params)
        bounds = zip(network.offsets[:-1], network.offsets[1:], strict=True)
        self.parts = [
            DeviceNetwork(part, self.params[start:stop], self.grads[start:stop])
            for part, (start, stop) in zip(network.parts.values(), bounds, strict=True)
        ]
        self.ops = _DeviceParts()


class _Direct(_Parts):
    """:class:`~tsrnn.network.DirectNetworks`: y (B, steps · O), one block of columns per network."""

    time_major_targets = False

    def forward(self, inputs: tuple[Any, ...], keep: bool, seed: int | None = None) -> tuple[Any, Any]:
        return run_direct(self.ops, self.parts, inputs[0], keep, seed, inputs[1] if len(inputs) > 1 else None)

    def backward(self, d_y: Any, cache: Any, bptt: int) -> None:
        backprop_direct(self.ops, self.parts, d_y, cache, bptt)


class _Seq2Seq(_Parts):
    """:class:`~tsrnn.network.Seq2SeqNetwork`: inputs (encoder, decoder), y time-major (S, B, O)."""

    time_major_targets = True

    def forward(self, inputs: tuple[Any, ...], keep: bool, seed: int | None = None) -> tuple[Any, Any]:
        series = inputs[2] if len(inputs) > 2 else None
        return run_seq2seq(self.ops, self.parts, (inputs[0], inputs[1]), keep, seed, series)

    def backward(self, d_y: Any, cache: Any, bptt: int) -> None:
        backprop_seq2seq(self.ops, self.parts, d_y, cache, bptt)


def device_model(network: Any, return_sequences: bool = False) -> _DeviceModel:
    """Return the device twin of a host RecurrentNetwork, DirectNetworks or Seq2SeqNetwork."""
    if isinstance(network, RecurrentNetwork):
        return _Sequence(network, return_sequences)
    if isinstance(network, DirectNetworks):
        return _Direct(network)
    if isinstance(network, Seq2SeqNetwork):
        return _Seq2Seq(network)
    raise TypeError(f"no device version of {type(network).__name__}")


def is_lengths(x: np.ndarray) -> bool:
    """Whether a model input is the lengths of its sequences (1-D integers) rather than windows."""
    return x.ndim == 1 and x.dtype.kind in "iu"


def upload_inputs(inputs: tuple[np.ndarray, ...], dtype: np.dtype) -> tuple[Any, ...]:
    """Copy a model's batch-first host inputs to the device: windows time-major in ``dtype``, lengths as int64."""
    return tuple(
        cuda.to_device(np.ascontiguousarray(x, np.int64)) if is_lengths(x) else upload_time_major(x, dtype)
        for x in inputs
    )


def upload_time_major(x: np.ndarray, dtype: np.dtype) -> Any:
    """Copy batch-first windows ``x`` (N, T, F) to the device time-major, (T, N, F), in ``dtype``.

    Parameters
    ----------
    x : ndarray of shape (N, T, F)
    dtype : dtype
        The network's float dtype.

    Returns
    -------
    device array of shape (T, N, F)
    """
    return cuda.to_device(np.ascontiguousarray(np.asarray(x, dtype).transpose(1, 0, 2)))


def predict(network: Any, inputs: tuple[np.ndarray, ...], return_sequences: bool = False) -> np.ndarray:
    """Run a host network's inference on the GPU (parameters uploaded for this call).

    ``inputs`` are batch-first host arrays; ``y`` comes back batch-first.
    """
    model = device_model(network, return_sequences)
    dtype = np.dtype(network.dtype)
    parts = []
    size = PREDICT_BATCH["cuda"]
    for start in range(0, inputs[0].shape[0], size):
        chunk = upload_inputs(tuple(x[start : start + size] for x in inputs), dtype)
        y = model.forward(chunk, keep=False)[0].copy_to_host()
        parts.append(y.transpose(1, 0, 2) if model.time_major_targets else y)
    return np.ascontiguousarray(np.concatenate(parts))


# The dropout draw is a float64 uniform, whatever the network's dtype.
FLOAT64_KERNELS = (_dropout,)


def ptx_signatures(dtype: np.dtype) -> list[tuple[Any, tuple[Any, ...]]]:
    """Every kernel of this module with the argument types it is launched with for ``dtype``."""
    from numba import types as nb

    f = nb.float32 if np.dtype(dtype) == np.float32 else nb.float64
    v, m, t3 = f[::1], f[:, ::1], f[:, :, ::1]
    return [
        (_dropout, (v, nb.int64, nb.float64, f, v)),
        (_multiply, (v, v)),
        (_final_features, (t3, nb.int64, nb.boolean, m)),
        (_scatter_final, (m, nb.int64, nb.boolean, t3)),
        (_copy_columns, (m, m, nb.int64, nb.boolean)),
        (_embed, (t3, nb.int64[::1], m, t3, f)),
        (_embedding_gradient, (t3, nb.int64[::1], nb.int64, m, f)),
    ]
