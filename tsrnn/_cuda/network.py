"""The networks of :mod:`tsrnn.network` run on the GPU, and their training epochs there.

:class:`DeviceNetwork` holds device copies of a :class:`~tsrnn.network.RecurrentNetwork`'s flat
parameter and gradient vectors, with the same named views, and runs its layers (stacked,
bidirectional, dropout between layers, initial states in and their gradients out) and its dense
head with the kernels of :mod:`tsrnn._cuda.kernels`, time-major throughout. The composite
networks (``DirectNetworks``, ``Seq2SeqNetwork``) run as parts on views of one flat device vector.

:class:`DeviceSession` trains it: the windows and targets are uploaded once, each mini-batch
is gathered on the device from an index vector, and the loss, the gradient clipping and the
optimiser step run there too; the host reads the epoch's loss (and a NaN flag) once per epoch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import cuda

from tsrnn._cuda import kernels as _k
from tsrnn._cuda import optim as _optim
from tsrnn._cuda._compile import kernel
from tsrnn._epochs import check_finite, sorted_batches
from tsrnn.kernels import _functional as kf
from tsrnn.network import DirectNetworks, RecurrentNetwork, Seq2SeqNetwork

__all__ = ["DeviceNetwork", "DeviceSession", "device_model", "predict"]

# Inference runs in batches of this many windows, bounding the device memory it needs.
_PREDICT_BATCH = 65536


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


def _grid_1d(n: int) -> tuple[int, int]:
    return (max(1, -(-n // 256)), 256)


def _grid_2d(rows: int, cols: int) -> tuple[tuple[int, int], tuple[int, int]]:
    return ((-(-rows // 16), -(-cols // 16)), (16, 16))


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
        return [(zeros, zeros) if net.cell == "lstm" else (zeros,)] * net.num_layers

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
                _dropout[_grid_1d(out.size)](flat, dropout_seed + layer, keep_prob, dtype.type(1.0 / keep_prob), mask)
            masks.append(mask)
            layer_input = out
        top = layer_input
        if return_sequences:
            features = top.reshape(steps * batch, top.shape[2])
        else:
            features = alloc("features", (batch, top.shape[2]), dtype)
            _final_features[_grid_2d(batch, top.shape[2])](top, hidden, net.bidirectional, features)
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
            _scatter_final[_grid_2d(batch, steps)](d_features, hidden, net.bidirectional, d_layer)
        zero_states = self._states(None, alloc, batch)
        d_states = d_final_state if d_final_state is not None else zero_states
        d_initial: list[tuple[Any, ...]] = []
        for layer in range(net.num_layers - 1, -1, -1):
            if masks[layer] is not None:
                _multiply[_grid_1d(d_layer.size)](d_layer.reshape(d_layer.size), masks[layer])
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
            _copy_columns[_grid_2d(*y_part.shape)](y_part, y, j * width, True)
            caches.append(cache)
        return y, caches

    def backward(self, d_y: Any, cache: Any, bptt: int) -> None:
        width = self.network.output_size
        d_part = self.workspace("d_part", (d_y.shape[0], width), d_y.dtype)
        for j, (part, part_cache) in enumerate(zip(self.parts, cache, strict=True)):
            _copy_columns[_grid_2d(*d_part.shape)](d_part, d_y, j * width, False)
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


def _upload_time_major(x: np.ndarray, dtype: np.dtype) -> Any:
    return cuda.to_device(np.ascontiguousarray(np.asarray(x, dtype).transpose(1, 0, 2)))


def predict(network: Any, inputs: tuple[np.ndarray, ...], return_sequences: bool = False) -> np.ndarray:
    """Run a host network's inference on the GPU (parameters uploaded for this call).

    ``inputs`` are batch-first host arrays; ``y`` comes back batch-first.
    """
    model = device_model(network, return_sequences)
    dtype = np.dtype(network.dtype)
    parts = []
    for start in range(0, inputs[0].shape[0], _PREDICT_BATCH):
        chunk = tuple(_upload_time_major(x[start : start + _PREDICT_BATCH], dtype) for x in inputs)
        y = model.forward(chunk, keep=False)[0].copy_to_host()
        parts.append(y.transpose(1, 0, 2) if model.time_major_targets else y)
    return np.ascontiguousarray(np.concatenate(parts))


class DeviceSession:
    """One training run of a network on the GPU.

    Parameters
    ----------
    network : RecurrentNetwork, DirectNetworks or Seq2SeqNetwork
    inputs : tuple of ndarray (N, T, F)
        Training input sequences, batch-first.
    targets : ndarray (N, O) or (N, S, O)
        Targets, batch-first.
    validation : tuple or None
        ``(inputs, targets)`` held out, in the same layouts.
    optimizer : SGD or Adam
        The host optimiser, whose state moves to the device for the run and back at :meth:`close`.
    return_sequences : bool
        For a RecurrentNetwork: train on every step's output rather than the last one.
    """

    def __init__(
        self,
        network: Any,
        inputs: tuple[np.ndarray, ...],
        targets: np.ndarray,
        validation: tuple[tuple[np.ndarray, ...], np.ndarray] | None,
        optimizer: Any,
        return_sequences: bool = False,
    ) -> None:
        self.model = device_model(network, return_sequences)
        parts = getattr(network, "parts", {"": network}).values()
        self.uses_dropout = any(part.dropout > 0.0 and part.num_layers > 1 for part in parts)
        dtype = np.dtype(network.dtype)
        self.dtype = dtype
        self.inputs = tuple(cuda.to_device(np.ascontiguousarray(x, dtype=dtype)) for x in inputs)
        self.targets = cuda.to_device(np.ascontiguousarray(targets, dtype=dtype))
        self.validation = None
        if validation is not None:
            x_val, y_val = validation
            y_dev = (
                _upload_time_major(y_val, dtype)
                if self.model.time_major_targets
                else cuda.to_device(np.ascontiguousarray(y_val, dtype=dtype))
            )
            self.validation = (tuple(_upload_time_major(x, dtype) for x in x_val), y_dev)
        self.optimizer = _optim.DeviceOptimizer(optimizer)
        self.flag = _optim.new_flag()
        self.workspace = _optim.workspace()
        self.norm = cuda.device_array(1, np.float64)
        self.alloc = _k.Workspace().scope("session")
        self.saved: dict[str, Any] = {}

    def _gather(self, source: Any, name: str, index: Any, time_major: bool) -> Any:
        size = index.shape[0]
        if time_major:
            dst = self.alloc(name, (source.shape[1], size, *source.shape[2:]), self.dtype)
            _optim.gather_rows_time_major(source, index, dst)
        else:
            dst = self.alloc(name, (size, *source.shape[1:]), self.dtype)
            _optim.gather_rows(source, index, dst)
        return dst

    def run_epoch(
        self,
        order: np.ndarray,
        batch_size: int,
        rng: np.random.Generator,
        clip_norm: float | None,
        bptt_steps: int | None,
        epoch: int,
    ) -> float:
        """One pass over the training windows in ``order``; returns the mean loss.

        Raises TrainingDivergedError after the epoch when a loss or gradient norm was NaN or
        inf (the steps from then on were skipped, so the parameters are the last finite ones).
        """
        bptt = kf._validate_bptt(bptt_steps)
        model = self.model
        total = cuda.to_device(np.zeros(1, np.float64))
        d_order = cuda.to_device(sorted_batches(order, batch_size).astype(np.int64))
        n = order.shape[0]
        for start in range(0, n, batch_size):
            index = d_order[start : start + batch_size]
            x = tuple(self._gather(source, f"x{i}", index, True) for i, source in enumerate(self.inputs))
            y_true = self._gather(self.targets, "y_true", index, model.time_major_targets)
            seed = int(rng.integers(2**62)) if self.uses_dropout else None
            y, cache = model.forward(x, keep=True, seed=seed)
            d_y = self.alloc("d_y", y.shape, self.dtype)
            _optim.mse_loss(y, y_true, d_y, total, index.shape[0], d_flag=self.flag, d_workspace=self.workspace)
            model.backward(d_y, cache, bptt)
            if clip_norm is not None:
                _optim.clip_grad_norm(
                    model.grads, clip_norm, d_flag=self.flag, d_norm=self.norm, d_workspace=self.workspace
                )
            self.optimizer.step(model.params, model.grads, self.flag)
        if int(self.flag.copy_to_host()[0]):
            check_finite(float("nan"), "training loss or gradient norm", epoch)
        return float(total.copy_to_host()[0]) / n

    def validation_loss(self) -> float:
        """Mean squared error on the validation windows, in float64."""
        x, y_true = self.validation
        total = cuda.to_device(np.zeros(1, np.float64))
        y, _ = self.model.forward(x, keep=False)
        scratch = self.alloc("validation_d_y", y.shape, y.dtype)
        _optim.mse_loss(y, y_true, scratch, total, 1.0, d_workspace=self.workspace)
        return float(total.copy_to_host()[0])

    def save(self, slot: str) -> None:
        """Keep a device copy of the parameters under ``slot``."""
        copy = self.saved.get(slot)
        if copy is None:
            copy = self.saved[slot] = cuda.device_array_like(self.model.params)
        copy.copy_to_device(self.model.params)

    def restore(self, slot: str) -> None:
        """Put the parameters saved under ``slot`` back."""
        self.model.params.copy_to_device(self.saved[slot])

    def close(self) -> None:
        """Write the parameters and the optimiser state back to the host."""
        self.model.download()
        self.optimizer.download()


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
