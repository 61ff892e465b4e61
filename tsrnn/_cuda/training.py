"""Training epochs on the GPU, the device twin of the host epochs of :mod:`tsrnn.training`.

:class:`DeviceSession` trains a network of :mod:`tsrnn._cuda.network`: the windows and targets
are uploaded once, each mini-batch is gathered on the device from an index vector, and the
loss, the gradient clipping and the optimiser step run there too; the host reads the epoch's
loss (and a NaN flag) once per epoch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import cuda

from tsrnn._cuda import kernels as _k
from tsrnn._cuda import optim as _optim
from tsrnn._cuda.losses import DeviceLoss
from tsrnn._cuda.network import device_model, is_lengths, upload_inputs, upload_time_major
from tsrnn._epochs import EpochLoss, StepSettings
from tsrnn.kernels import _functional as kf
from tsrnn.losses import MSE_LOSS

__all__ = ["DeviceSession"]


class DeviceSession:
    """One training run of a network on the GPU, a :class:`tsrnn.training.TrainingSession`.

    Parameters
    ----------
    network : RecurrentNetwork, DirectNetworks or Seq2SeqNetwork
    inputs : tuple of ndarray (N, T, F)
        Training input sequences, batch-first; for sequences of several lengths, followed by
        their lengths, int (N,).
    targets : ndarray (N, O) or (N, S, O)
        Targets, batch-first.
    validation : tuple or None
        ``(inputs, targets)`` held out, in the same layouts.
    optimizer : SGD or Adam
        The host optimiser, whose state moves to the device for the run and back at :meth:`close`.
    settings : StepSettings
        Batch size, gradient clipping and truncated BPTT of every step.
    return_sequences : bool
        For a RecurrentNetwork: train on every step's output rather than the last one.
    loss : tsrnn.losses.Loss, default=MSE
        The training and validation loss.
    """

    def __init__(
        self,
        network: Any,
        inputs: tuple[np.ndarray, ...],
        targets: np.ndarray,
        validation: tuple[tuple[np.ndarray, ...], np.ndarray] | None,
        optimizer: Any,
        settings: StepSettings,
        return_sequences: bool = False,
        loss: Any = MSE_LOSS,
    ) -> None:
        self.model = device_model(network, return_sequences)
        self.settings = settings
        parts = getattr(network, "parts", {"": network}).values()
        self.uses_dropout = any(part.dropout > 0.0 and part.num_layers > 1 for part in parts)
        dtype = np.dtype(network.dtype)
        self.dtype = dtype
        self.inputs = tuple(
            cuda.to_device(np.ascontiguousarray(x, dtype=np.int64 if is_lengths(x) else dtype)) for x in inputs
        )
        self.targets = cuda.to_device(np.ascontiguousarray(targets, dtype=dtype))
        self.validation = None
        if validation is not None:
            x_val, y_val = validation
            y_dev = (
                upload_time_major(y_val, dtype)
                if self.model.time_major_targets
                else cuda.to_device(np.ascontiguousarray(y_val, dtype=dtype))
            )
            self.validation = (upload_inputs(x_val, dtype), y_dev)
        self.optimizer = _optim.DeviceOptimizer(optimizer)
        self.loss = DeviceLoss(loss, dtype)
        self.flag = _optim.new_flag()
        self.workspace = _optim.workspace()
        self.norm = cuda.device_array(1, np.float64)
        self.alloc = _k.Workspace().scope("session")
        self.saved: dict[str, Any] = {}

    def _gather(self, source: Any, name: str, index: Any, time_major: bool) -> Any:
        size = index.shape[0]
        if source.ndim == 1:
            # The sequences' lengths.
            dst = self.alloc(name, (size,), source.dtype)
            _optim.gather_rows(source.reshape(source.shape[0], 1), index, dst.reshape(size, 1))
        elif time_major:
            dst = self.alloc(name, (source.shape[1], size, *source.shape[2:]), self.dtype)
            _optim.gather_rows_time_major(source, index, dst)
        else:
            dst = self.alloc(name, (size, *source.shape[1:]), self.dtype)
            _optim.gather_rows(source, index, dst)
        return dst

    def run_epoch(self, order: np.ndarray, rng: np.random.Generator) -> EpochLoss:
        """One pass over the training windows in ``order``, in its (sorted) mini-batches.

        The host reads the loss once, after the epoch. A NaN or infinite loss or gradient norm
        raises a device flag that makes the later steps skip their update, so the parameters
        stay the last finite ones, and the epoch's result says so (see
        :meth:`tsrnn.training.TrainingSession.run_epoch`).
        """
        batch_size, clip_norm, bptt_steps = self.settings
        bptt = kf._validate_bptt(bptt_steps)
        model = self.model
        total = cuda.to_device(np.zeros(1, np.float64))
        d_order = cuda.to_device(order.astype(np.int64))
        n = order.shape[0]
        for start in range(0, n, batch_size):
            index = d_order[start : start + batch_size]
            x = tuple(self._gather(source, f"x{i}", index, True) for i, source in enumerate(self.inputs))
            y_true = self._gather(self.targets, "y_true", index, model.time_major_targets)
            seed = int(rng.integers(2**62)) if self.uses_dropout else None
            y, cache = model.forward(x, keep=True, seed=seed)
            d_y = self.alloc("d_y", y.shape, self.dtype)
            self.loss(y, y_true, d_y, total, index.shape[0], d_flag=self.flag, d_workspace=self.workspace)
            model.backward(d_y, cache, bptt)
            if clip_norm is not None:
                _optim.clip_grad_norm(
                    model.grads, clip_norm, d_flag=self.flag, d_norm=self.norm, d_workspace=self.workspace
                )
            self.optimizer.step(model.params, model.grads, self.flag)
        if int(self.flag.copy_to_host()[0]):
            return EpochLoss(float("nan"), "training loss or gradient norm")
        return EpochLoss(float(total.copy_to_host()[0]) / n)

    def validation_loss(self) -> float:
        """Mean loss on the validation windows, in float64."""
        x, y_true = self.validation
        total = cuda.to_device(np.zeros(1, np.float64))
        y, _ = self.model.forward(x, keep=False)
        scratch = self.alloc("validation_d_y", y.shape, y.dtype)
        self.loss(y, y_true, scratch, total, 1.0, d_workspace=self.workspace)
        return float(total.copy_to_host()[0])

    def validation_predictions(self) -> np.ndarray:
        """Return the predictions on the validation windows, copied to the host."""
        y, _ = self.model.forward(self.validation[0], keep=False)
        host = y.copy_to_host()
        # In the layout of the targets on the device: sequences of outputs come time-major.
        return np.ascontiguousarray(host.swapaxes(0, 1)) if self.model.time_major_targets else host

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
