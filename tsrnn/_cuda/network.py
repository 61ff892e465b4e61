"""The networks of :mod:`tsrnn.network` run on the GPU.

:class:`DeviceNetwork` holds device copies of a :class:`~tsrnn.network.RecurrentNetwork`'s flat
parameter and gradient vectors, with the same named views, and runs its layers (stacked,
bidirectional, dropout between layers, initial states in and their gradients out) and its dense
head with the kernels of :mod:`tsrnn._cuda.kernels`, time-major throughout. The composite
networks (``DirectNetworks``, ``Seq2SeqNetwork``) run as parts on views of one flat device vector.
Their training epochs run in :mod:`tsrnn._cuda.training`.
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
from tsrnn.network import PREDICT_BATCH, DirectNetworks, RecurrentNetwork, Seq2SeqNetwork

__all__ = ["DeviceNetwork", "device_model", "predict", "upload_time_major"]


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
def _copy_columns(block, wide, col, into_wide):
    """``wide[:, col : col + O] = block`` (``into_wide``), or the other way round."""
    b, j = cuda.grid(2)
    if b < block.shape[0] and j < block.shape[1]:
        if into_wide:
            wide[b, col + j] = block[b, j]
        else:
            block[b, j] = wide[b, col + j]


class DeviceNetwork:
    """A :class:`RecurrentNetwork`'s passes on the GPU, on device copies of its parameters.

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
        self.param_views = self._views(self.params)
        self.grad_views = self._views(self.grads)
        # Training passes and inference passes keep their buffers apart, so that evaluating
        # between a forward and a backward pass would not overwrite the cache.
        self.workspaces = {"train": _k.Workspace(), "predict": _k.Workspace()}

    def _views(self, flat: Any) -> dict[str, Any]:
        return {
            name: flat[offset : offset + int(np.prod(shape))].reshape(shape)
            for name, (offset, shape) in self.network.layout.items()
        }

    def download(self) -> None:
        """Copy the device parameters into the host network's :attr:`~RecurrentNetwork.params`."""
        self.params.copy_to_host(self.network.params)

    def _weights(self, views: dict[str, Any], layer: int, suffix: str) -> tuple[Any, ...]:
        return tuple(views[f"{kind}_l{layer}{suffix}"] for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def _states(self, given: list[tuple[Any, ...]] | None, alloc: Any, batch: int) -> list[tuple[Any, ...]]:
        """Per layer, ``given`` or zeros: ``(h,)`` or ``(h, c)`` device arrays of shape (B, H)."""
        if given is not None:
            return given
        net = self.network
        zeros = alloc("zero_state", (batch, net.hidden_size), net.dtype, zero=True)
        return [(zeros,) * len(CELLS[net.cell].states)] * net.num_layers

    def forward(
        self,
        x: Any,
        return_sequences: bool,
        keep: bool,
        dropout_seed: int | None = None,
        initial_state: list[tuple[Any, ...]] | None = None,
    ) -> tuple[Any, Any]:
        """Run on time-major ``x`` (T, B, F); return ``y`` ((B, O) or time-major (T, B, O)) and a cache.

        ``dropout_seed`` switches dropout between layers on (training); ``keep`` keeps what
        :meth:`backward` needs; ``initial_state`` gives each layer's starting state (as
        :meth:`RecurrentNetwork.forward`). Without a head, ``y`` is the top layer's features.
        The cache's last item holds each layer's final state (forward direction).
        """
        net = self.network
        steps, batch, _ = x.shape
        hidden, directions = net.hidden_size, net.num_directions
        dtype = net.dtype
        workspace = self.workspaces["train" if keep else "predict"]
        alloc = workspace.scope("network")
        zero_states = self._states(None, alloc, batch)
        states = zero_states if initial_state is None else initial_state
        activation = kf._activation_code(net.activation)
        layer_input = x
        caches, masks, finals = [], [], []
        for layer in range(net.num_layers):
            out = alloc(f"out_{layer}", (steps, batch, hidden * directions), dtype)
            layer_caches = []
            for direction, suffix in enumerate(net.suffixes()):
                _, final, cache = _k.cell_forward(
                    net.cell, layer_input, states[layer] if direction == 0 else zero_states[layer],
                    *self._weights(self.param_views, layer, suffix),
                    activation=activation, reverse=direction == 1, keep=keep, out=out, col=direction * hidden,
                    alloc=workspace.scope("forward", layer, direction),
                )  # fmt: skip
                layer_caches.append(cache)
                if direction == 0:
                    finals.append(final)
            caches.append(layer_caches)
            mask = None
            if dropout_seed is not None and net.dropout > 0.0 and layer < net.num_layers - 1:
                keep_prob = 1.0 - net.dropout
                mask = alloc(f"mask_{layer}", (out.size,), dtype)
                flat = out.reshape(out.size)
                _dropout[grid_1d(out.size)](flat, dropout_seed + layer, keep_prob, dtype.type(1.0 / keep_prob), mask)
            masks.append(mask)
            layer_input = out
        top = layer_input
        if return_sequences:
            features = top.reshape(steps * batch, top.shape[2])
        else:
            features = alloc("features", (batch, top.shape[2]), dtype)
            _final_features[grid_2d(batch, top.shape[2])](top, hidden, net.bidirectional, features)
        y = features
        if net.output_size:
            weight, bias = self.param_views["head.weight"], self.param_views["head.bias"]
            y = alloc("y", (features.shape[0], net.output_size), dtype)
            _k.gemm(features, weight, y, trans_b=True, bias=bias, alloc=alloc)
        if return_sequences:
            y = y.reshape(steps, batch, y.shape[1])
        return y, (x, caches, masks, features, top.shape, finals)

    def backward(
        self,
        d_y: Any,
        cache: Any,
        return_sequences: bool,
        bptt: int,
        d_final_state: list[tuple[Any, ...]] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Backpropagate ``d_y`` (the shape of ``y``) into :attr:`grads`.

        ``d_final_state`` is the gradient of the cache's final states; returns the gradient of
        each layer's initial state (forward direction).
        """
        net = self.network
        x, caches, masks, features, top_shape, _ = cache
        steps, batch, width = top_shape
        hidden, dtype = net.hidden_size, net.dtype
        workspace = self.workspaces["train"]
        alloc = workspace.scope("network_backward")
        if net.output_size:
            d_flat = d_y.reshape(features.shape[0], net.output_size)
            g = self.grad_views
            _k.gemm(d_flat, features, g["head.weight"], trans_a=True, alloc=alloc)
            _k.column_sums(d_flat, g["head.bias"], alloc=alloc)
            d_features = alloc("d_features", features.shape, dtype)
            _k.gemm(d_flat, self.param_views["head.weight"], d_features, alloc=alloc)
        else:
            d_features = d_y.reshape(*features.shape)
        if return_sequences:
            d_layer = d_features.reshape(steps, batch, width)
        else:
            d_layer = alloc("d_top", top_shape, dtype)
            _scatter_final[grid_2d(batch, steps)](d_features, hidden, net.bidirectional, d_layer)
        zero_states = self._states(None, alloc, batch)
        d_states = d_final_state if d_final_state is not None else zero_states
        d_initial: list[tuple[Any, ...]] = []
        for layer in range(net.num_layers - 1, -1, -1):
            if masks[layer] is not None:
                _multiply[grid_1d(d_layer.size)](d_layer.reshape(d_layer.size), masks[layer])
            d_input = None
            for direction, suffix in enumerate(net.suffixes()):
                d_input, d_state = _k.cell_backward(
                    caches[layer][direction], d_layer, d_states[layer] if direction == 0 else zero_states[layer], bptt,
                    self._weights(self.grad_views, layer, suffix), col=direction * hidden, d_x=d_input,
                    accumulate_d_x=direction == 1, alloc=workspace.scope("backward", layer, direction),
                )  # fmt: skip
                if direction == 0:
                    d_initial.insert(0, d_state)
            d_layer = d_input
        return d_initial


class _DeviceModel:
    """A host network's device twin as training and inference see it.

    ``forward`` takes a tuple of time-major device inputs; ``y`` and the targets are
    time-major (T, B, O) when :attr:`time_major_targets`, else (B, O).
    """

    network: Any
    params: Any
    grads: Any
    time_major_targets: bool

    def download(self) -> None:
        """Copy the device parameters into the host network's flat parameter vector."""
        self.params.copy_to_host(self.network.params)


class _Sequence(_DeviceModel):
    def __init__(self, network: RecurrentNetwork, return_sequences: bool) -> None:
        self.network = network
        self.part = DeviceNetwork(network)
        self.params, self.grads = self.part.params, self.part.grads
        self.time_major_targets = return_sequences

    def forward(self, inputs: tuple[Any, ...], keep: bool, seed: int | None = None) -> tuple[Any, Any]:
        return self.part.forward(inputs[0], self.time_major_targets, keep, seed)

    def backward(self, d_y: Any, cache: Any, bptt: int) -> None:
        self.part.backward(d_y, cache, self.time_major_targets, bptt)


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
        self.workspace = _k.Workspace().scope("parts")


class _Direct(_Parts):
    """:class:`~tsrnn.network.DirectNetworks`: y (B, steps · O), one block of columns per network."""

    time_major_targets = False

    def forward(self, inputs: tuple[Any, ...], keep: bool, seed: int | None = None) -> tuple[Any, Any]:
        width = self.network.output_size
        y = None
        caches = []
        for j, part in enumerate(self.parts):
            y_part, cache = part.forward(inputs[0], False, keep, None if seed is None else seed + 1000 * j)
            if y is None:
                y = self.workspace("y", (y_part.shape[0], width * len(self.parts)), y_part.dtype)
            _copy_columns[grid_2d(*y_part.shape)](y_part, y, j * width, True)
            caches.append(cache)
        return y, caches

    def backward(self, d_y: Any, cache: Any, bptt: int) -> None:
        width = self.network.output_size
        d_part = self.workspace("d_part", (d_y.shape[0], width), d_y.dtype)
        for j, (part, part_cache) in enumerate(zip(self.parts, cache, strict=True)):
            _copy_columns[grid_2d(*d_part.shape)](d_part, d_y, j * width, False)
            part.backward(d_part, part_cache, False, bptt)


class _Seq2Seq(_Parts):
    """:class:`~tsrnn.network.Seq2SeqNetwork`: inputs (encoder, decoder), y time-major (S, B, O)."""

    time_major_targets = True

    def forward(self, inputs: tuple[Any, ...], keep: bool, seed: int | None = None) -> tuple[Any, Any]:
        encoder, decoder = self.parts
        _, enc_cache = encoder.forward(inputs[0], False, keep, seed)
        y, dec_cache = decoder.forward(
            inputs[1], True, keep, None if seed is None else seed + 1000, initial_state=enc_cache[-1]
        )
        return y, (enc_cache, dec_cache)

    def backward(self, d_y: Any, cache: Any, bptt: int) -> None:
        encoder, decoder = self.parts
        enc_cache, dec_cache = cache
        d_initial = decoder.backward(d_y, dec_cache, True, bptt)
        features = enc_cache[3]
        d_features = self.workspace("d_encoder_features", features.shape, features.dtype, zero=True)
        encoder.backward(d_features, enc_cache, False, bptt, d_final_state=d_initial)


def device_model(network: Any, return_sequences: bool = False) -> _DeviceModel:
    """Return the device twin of a host RecurrentNetwork, DirectNetworks or Seq2SeqNetwork."""
    if isinstance(network, RecurrentNetwork):
        return _Sequence(network, return_sequences)
    if isinstance(network, DirectNetworks):
        return _Direct(network)
    if isinstance(network, Seq2SeqNetwork):
        return _Seq2Seq(network)
    raise TypeError(f"no device version of {type(network).__name__}")


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
        chunk = tuple(upload_time_major(x[start : start + size], dtype) for x in inputs)
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
    ]
