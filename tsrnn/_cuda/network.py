"""A :class:`~tsrnn.network.RecurrentNetwork` run on the GPU, and its training epochs there.

:class:`DeviceNetwork` holds device copies of a network's flat parameter and gradient vectors,
with the same named views, and runs its layers (stacked, bidirectional, dropout between layers)
and its dense head with the kernels of :mod:`tsrnn._cuda.kernels`, time-major throughout.

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
from tsrnn.kernels import _functional as kf
from tsrnn.network import RecurrentNetwork

__all__ = ["DeviceNetwork", "DeviceSession", "predict"]

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


class DeviceNetwork:
    """Device copies of a :class:`RecurrentNetwork`'s parameters, and its passes on the GPU.

    Parameters
    ----------
    network : RecurrentNetwork
        The host network; :meth:`download` writes the device parameters back into it.
    """

    def __init__(self, network: RecurrentNetwork) -> None:
        if not isinstance(network, RecurrentNetwork):
            raise TypeError(f"only a RecurrentNetwork runs on the GPU; got {type(network).__name__}")
        self.network = network
        self.params = cuda.to_device(network.params)
        self.grads = cuda.device_array_like(network.params)
        self.param_views = self._views(self.params)
        self.grad_views = self._views(self.grads)
        # Training passes and inference passes keep their buffers apart, so that evaluating
        # between a forward and a backward pass would not overwrite the cache.
        self.workspaces = {"train": _k.Workspace(), "predict": _k.Workspace()}

    def _views(self, flat: Any) -> dict[str, Any]:
        return {
            name: flat[offset : offset + int(np.prod(shape))].reshape(shape)
            for name, (offset, shape) in self.network._layout.items()
        }

    def download(self) -> None:
        """Copy the device parameters into the host network's :attr:`~RecurrentNetwork.params`."""
        self.params.copy_to_host(self.network.params)

    def _weights(self, views: dict[str, Any], layer: int, suffix: str) -> tuple[Any, ...]:
        return tuple(views[f"{kind}_l{layer}{suffix}"] for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def forward(self, x: Any, return_sequences: bool, keep: bool, dropout_seed: int | None = None) -> tuple[Any, Any]:
        """Run on time-major ``x`` (T, B, F); return ``y`` ((B, O) or time-major (T, B, O)) and a cache.

        ``dropout_seed`` switches dropout between layers on (training); ``keep`` keeps what
        :meth:`backward` needs.
        """
        net = self.network
        steps, batch, _ = x.shape
        hidden, directions = net.hidden_size, net.num_directions
        dtype = net.dtype
        workspace = self.workspaces["train" if keep else "predict"]
        alloc = workspace.scope("network")
        zeros = _k.zeros(alloc, "zero_state", (batch, hidden), dtype)
        state = (zeros, zeros) if net.cell == "lstm" else (zeros,)
        activation = kf._activation_code(net.activation)
        layer_input = x
        caches, masks = [], []
        for layer in range(net.num_layers):
            out = alloc(f"out_{layer}", (steps, batch, hidden * directions), dtype)
            layer_caches = []
            for direction, suffix in enumerate(net._suffixes()):
                _, _, cache = _k.cell_forward(
                    net.cell, layer_input, state, *self._weights(self.param_views, layer, suffix),
                    activation=activation, reverse=direction == 1, keep=keep, out=out, col=direction * hidden,
                    alloc=workspace.scope("forward", layer, direction),
                )  # fmt: skip
                layer_caches.append(cache)
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
        weight, bias = self.param_views["head.weight"], self.param_views["head.bias"]
        y = alloc("y", (features.shape[0], net.output_size), dtype)
        _k.gemm(features, weight, y, trans_b=True, bias=bias, alloc=alloc)
        if return_sequences:
            y = y.reshape(steps, batch, net.output_size)
        return y, (x, caches, masks, features, top.shape)

    def backward(self, d_y: Any, cache: Any, return_sequences: bool, bptt: int) -> None:
        """Backpropagate ``d_y`` (the shape of ``y``) into :attr:`grads`."""
        net = self.network
        x, caches, masks, features, top_shape = cache
        steps, batch, width = top_shape
        hidden, dtype = net.hidden_size, net.dtype
        d_flat = d_y.reshape(features.shape[0], net.output_size)
        g = self.grad_views
        workspace = self.workspaces["train"]
        alloc = workspace.scope("network_backward")
        _k.gemm(d_flat, features, g["head.weight"], trans_a=True, alloc=alloc)
        _k.column_sums(d_flat, g["head.bias"], alloc=alloc)
        d_features = alloc("d_features", features.shape, dtype)
        _k.gemm(d_flat, self.param_views["head.weight"], d_features, alloc=alloc)
        if return_sequences:
            d_layer = d_features.reshape(steps, batch, width)
        else:
            d_layer = alloc("d_top", top_shape, dtype)
            _scatter_final[_grid_2d(batch, steps)](d_features, hidden, net.bidirectional, d_layer)
        zeros = _k.zeros(alloc, "zero_state", (batch, hidden), dtype)
        d_state = (zeros, zeros) if net.cell == "lstm" else (zeros,)
        for layer in range(net.num_layers - 1, -1, -1):
            if masks[layer] is not None:
                _multiply[_grid_1d(d_layer.size)](d_layer.reshape(d_layer.size), masks[layer])
            d_input = None
            for direction, suffix in enumerate(net._suffixes()):
                d_input, _ = _k.cell_backward(
                    caches[layer][direction], d_layer, d_state, bptt, self._weights(self.grad_views, layer, suffix),
                    col=direction * hidden, d_x=d_input, accumulate_d_x=direction == 1,
                    alloc=workspace.scope("backward", layer, direction),
                )  # fmt: skip
            d_layer = d_input

    def predict(self, x: np.ndarray, return_sequences: bool) -> np.ndarray:
        """Inference on batch-first host windows ``x`` (N, T, F); returns host ``y``, batch-first."""
        parts = []
        for start in range(0, x.shape[0], _PREDICT_BATCH):
            chunk = np.ascontiguousarray(x[start : start + _PREDICT_BATCH].transpose(1, 0, 2), dtype=self.network.dtype)
            y, _ = self.forward(cuda.to_device(chunk), return_sequences, keep=False)
            y = y.copy_to_host()
            parts.append(y.transpose(1, 0, 2) if return_sequences else y)
        return np.ascontiguousarray(np.concatenate(parts))


def predict(network: RecurrentNetwork, x: np.ndarray, return_sequences: bool) -> np.ndarray:
    """Run a host network's inference on the GPU (its parameters uploaded for this call)."""
    return DeviceNetwork(network).predict(x, return_sequences)


class DeviceSession:
    """One training run of a :class:`RecurrentNetwork` on the GPU.

    Parameters
    ----------
    network : RecurrentNetwork
    inputs : ndarray (N, T, F)
        Training windows, batch-first.
    targets : ndarray (N, O) or (N, T, O)
        Targets; (N, T, O) with ``return_sequences``.
    validation : tuple or None
        ``(inputs, targets)`` held out, in the same layouts.
    optimizer : SGD or Adam
        The host optimiser, whose state moves to the device for the run and back at :meth:`close`.
    return_sequences : bool
        Train on every step's output rather than the last one.
    """

    def __init__(
        self,
        network: RecurrentNetwork,
        inputs: np.ndarray,
        targets: np.ndarray,
        validation: tuple[np.ndarray, np.ndarray] | None,
        optimizer: Any,
        return_sequences: bool,
    ) -> None:
        self.device = DeviceNetwork(network)
        self.return_sequences = return_sequences
        dtype = network.dtype
        self.inputs = cuda.to_device(np.ascontiguousarray(inputs, dtype=dtype))
        self.targets = cuda.to_device(np.ascontiguousarray(targets, dtype=dtype))
        self.validation = None
        if validation is not None:
            x_val, y_val = validation
            x_tm = cuda.to_device(np.ascontiguousarray(np.asarray(x_val, dtype).transpose(1, 0, 2)))
            y_tm = y_val.transpose(1, 0, 2) if return_sequences else y_val
            self.validation = (x_tm, cuda.to_device(np.ascontiguousarray(y_tm, dtype=dtype)), y_val.shape[0])
        self.optimizer = _optim.DeviceOptimizer(optimizer)
        self.flag = _optim.new_flag()
        self.workspace = _optim.workspace()
        self.norm = cuda.device_array(1, np.float64)
        self.alloc = _k.Workspace().scope("session")
        self.saved: dict[str, Any] = {}

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
        from tsrnn.training import _check_finite, _sorted_batches

        bptt = kf._validate_bptt(bptt_steps)
        total = cuda.to_device(np.zeros(1, np.float64))
        d_order = cuda.to_device(_sorted_batches(order, batch_size).astype(np.int64))
        n = order.shape[0]
        _, steps, features = self.inputs.shape
        dtype = self.device.network.dtype
        uses_dropout = self.device.network.dropout > 0.0 and self.device.network.num_layers > 1
        for start in range(0, n, batch_size):
            index = d_order[start : start + batch_size]
            size = index.shape[0]
            x = self.alloc("x", (steps, size, features), dtype)
            _optim.gather_rows_time_major(self.inputs, index, x)
            if self.return_sequences:
                y_true = self.alloc("y_true", (steps, size, self.targets.shape[2]), dtype)
                _optim.gather_rows_time_major(self.targets, index, y_true)
            else:
                y_true = self.alloc("y_true", (size, self.targets.shape[1]), dtype)
                _optim.gather_rows(self.targets, index, y_true)
            seed = int(rng.integers(2**62)) if uses_dropout else None
            y, cache = self.device.forward(x, self.return_sequences, keep=True, dropout_seed=seed)
            d_y = self.alloc("d_y", y.shape, dtype)
            _optim.mse_loss(y, y_true, d_y, total, size, d_flag=self.flag, d_workspace=self.workspace)
            self.device.backward(d_y, cache, self.return_sequences, bptt)
            if clip_norm is not None:
                _optim.clip_grad_norm(
                    self.device.grads, clip_norm, d_flag=self.flag, d_norm=self.norm, d_workspace=self.workspace
                )
            self.optimizer.step(self.device.params, self.device.grads, self.flag)
        if int(self.flag.copy_to_host()[0]):
            _check_finite(float("nan"), "training loss or gradient norm", epoch)
        return float(total.copy_to_host()[0]) / n

    def validation_loss(self) -> float:
        """Mean squared error on the validation windows, in float64."""
        x, y_true, count = self.validation
        total = cuda.to_device(np.zeros(1, np.float64))
        y, _ = self.device.forward(x, self.return_sequences, keep=False)
        scratch = cuda.device_array(y.shape, y.dtype)
        _optim.mse_loss(y, y_true, scratch, total, 1.0, d_workspace=self.workspace)
        return float(total.copy_to_host()[0])

    def save(self, slot: str) -> None:
        """Keep a device copy of the parameters under ``slot``."""
        copy = self.saved.get(slot)
        if copy is None:
            copy = self.saved[slot] = cuda.device_array_like(self.device.params)
        copy.copy_to_device(self.device.params)

    def restore(self, slot: str) -> None:
        """Put the parameters saved under ``slot`` back."""
        self.device.params.copy_to_device(self.saved[slot])

    def close(self) -> None:
        """Write the parameters and the optimiser state back to the host."""
        self.device.download()
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
    ]
