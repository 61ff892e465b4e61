"""The training loop: epochs of shuffled mini-batches, validation in time order, early stopping.

It sits between the estimators and the networks and knows neither pandas nor scikit-learn.
A model is anything with the small interface of :class:`SequenceModel` (``params``,
``grads``, ``forward``, ``backward``, ``predict`` on a tuple of input arrays). :func:`train`
runs its epochs on a :class:`TrainingSession`, on the host or on the GPU, and keeps the loop's
decisions (batches, divergence, stopping) to itself.

Stopping follows scikit-learn's ``MLPRegressor``: training ends when the monitored loss (the
validation loss with a validation set, else the training loss) has not improved by more than
``tol`` for ``n_iter_no_change`` epochs in a row, or after ``max_epochs``. With a validation
set the weights of the best validation epoch are restored at the end.
"""

from __future__ import annotations

import logging
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from tsrnn._epochs import EpochLoss, StepSettings, TrainingDivergedError, check_finite, sorted_batches
from tsrnn.kernels import _ahead as compile_ahead
from tsrnn.losses import MSE_LOSS, Loss
from tsrnn.network import PREDICT_BATCH, DirectNetworks, RecurrentNetwork, Seq2SeqNetwork, input_part
from tsrnn.optim import SGD, Adam, clip_grad_norm

__all__ = [
    "History",
    "Seq2SeqModel",
    "SequenceModel",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
    "TrainingSession",
    "make_optimizer",
    "optimizer_matches",
    "train",
]

logger = logging.getLogger("tsrnn")


class TrainingInterruptedWarning(UserWarning):
    """Training was stopped by KeyboardInterrupt (Ctrl-C).

    From ``fit``: the model keeps the weights of a finished epoch. From
    :func:`tsrnn.model_selection.backtest`: the result keeps the folds that finished.
    """


class Model(Protocol):
    """What :func:`train` needs of a model."""

    params: np.ndarray
    grads: np.ndarray

    def forward(self, inputs: tuple[np.ndarray, ...], training: bool, rng: np.random.Generator) -> tuple: ...

    def backward(self, d_y: np.ndarray, cache: Any, bptt_steps: int | None) -> None: ...

    def predict(self, inputs: tuple[np.ndarray, ...]) -> np.ndarray: ...


class TrainingSession(Protocol):
    """What :func:`train` runs its epochs with: the data and the weights of one run, where they live.

    The host session (on the model's own passes) and :class:`tsrnn._cuda.training.DeviceSession`
    (on device copies) both fit it. :func:`train` owns the loop: it shuffles the rows, cuts
    them into mini-batches each sorted by :func:`~tsrnn._epochs.sorted_batches`, raises on a
    non-finite loss, stops early, and says which weights to keep; a session only runs the
    gradient steps (as its :class:`~tsrnn._epochs.StepSettings` say), evaluates, and keeps
    snapshots of the weights.
    """

    def run_epoch(self, order: np.ndarray, rng: np.random.Generator) -> EpochLoss:
        """One gradient step per mini-batch of training rows; the epoch's mean loss.

        Parameters
        ----------
        order : ndarray of int, shape (n,)
            The training rows in the epoch's order; the mini-batches are its consecutive
            slices of ``batch_size`` rows (of the session's settings), each already sorted.
        rng : numpy.random.Generator
            Source of dropout masks (or of their seeds).

        Returns
        -------
        EpochLoss
            The mean loss over the rows; where a loss or gradient norm became NaN or
            infinite, that value and what it was: the steps from there on left the weights alone.
        """

    def validation_loss(self) -> float:
        """Mean loss of the current weights on the validation rows."""

    def validation_predictions(self) -> np.ndarray:
        """Return the predictions of the current weights on the validation rows, as a host array."""

    def save(self, slot: str) -> None:
        """Keep a copy of the current weights under ``slot`` ("best", "last")."""

    def restore(self, slot: str) -> None:
        """Put the weights saved under ``slot`` back."""

    def close(self) -> None:
        """End the run: the model's host arrays hold the final weights (and optimiser state)."""


class _Adapter:
    """What both adapters share: the network's flat vectors, its backward pass, where it predicts."""

    network: Any
    return_sequences: bool = False
    device: str = "cpu"

    @property
    def params(self) -> np.ndarray:
        """The network's flat parameter vector."""
        return self.network.params

    @property
    def grads(self) -> np.ndarray:
        """The network's flat gradient vector."""
        return self.network.grads

    def backward(self, d_y: np.ndarray, cache: Any, bptt_steps: int | None) -> None:
        """Backward pass into :attr:`grads`."""
        self.network.backward(d_y, cache, bptt_steps=bptt_steps)

    def reads_lengths(self, inputs: tuple[np.ndarray, ...]) -> bool:
        """Whether these inputs give the rows lengths, so that the loops run their masked version."""
        return False

    def predict(self, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
        """Inference pass, in bounded batches.

        With ``device="cuda"`` it runs on the GPU where one is available, and otherwise on the
        CPU: the weights are numpy arrays, so a model trained on a GPU predicts anywhere.
        """
        if self.device == "cuda":
            from tsrnn import _cuda

            if _cuda.available():
                from tsrnn._cuda.network import predict

                return predict(self.network, inputs, self.return_sequences)
        return _batched(self._predict_on_host, inputs)  # each adapter defines its host pass


def embeds(network: Any) -> bool:
    """Whether ``network`` (any of the three kinds) embeds series: its inputs then end with each row's series."""
    return input_part(network).embedding_size > 0


class SequenceModel(_Adapter):
    """A :class:`RecurrentNetwork` (or :class:`DirectNetworks`) reading one input array; y per window or per step.

    Its inputs are ``(x,)``; for a RecurrentNetwork over sequences of several lengths,
    ``(x, lengths)`` with ``lengths`` an int array (n,) (see :meth:`RecurrentNetwork.forward`);
    for a network with a series embedding, ``(x, series)``.
    """

    def __init__(
        self, network: RecurrentNetwork | DirectNetworks, return_sequences: bool = False, device: str = "cpu"
    ) -> None:
        self.network = network
        self.return_sequences = return_sequences
        self.device = device

    def forward(self, inputs: tuple[np.ndarray, ...], training: bool, rng: np.random.Generator) -> tuple:
        """Training forward pass; returns ``(y, cache)``."""
        x, lengths = self._split(inputs)
        return self.network.forward(x, return_sequences=self.return_sequences, training=training, rng=rng, **lengths)

    def _predict_on_host(self, *inputs: np.ndarray) -> np.ndarray:
        x, lengths = self._split(inputs)
        return self.network.predict(x, return_sequences=self.return_sequences, **lengths)

    def reads_lengths(self, inputs: tuple[np.ndarray, ...]) -> bool:
        """See :meth:`_Adapter.reads_lengths`."""
        return len(inputs) == 2 and not embeds(self.network)

    def _split(self, inputs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Return the windows, and the keyword arguments that give the rows their series or lengths.

        A batch of sequences of several lengths runs only up to its longest: the steps after
        it are padding for every row, which changes nothing but the time (unless every step's
        output is read).
        """
        if not self.reads_lengths(inputs):
            return inputs[0], ({"series": inputs[1]} if len(inputs) > 1 else {})
        x, lengths = inputs
        if not self.return_sequences:
            x = x[:, : int(lengths.max())]
        return x, {"lengths": lengths}


class Seq2SeqModel(_Adapter):
    """A :class:`Seq2SeqNetwork` reading ``(encoder inputs, decoder inputs)``, then the series for an embedding."""

    def __init__(self, network: Seq2SeqNetwork, device: str = "cpu") -> None:
        self.network = network
        self.device = device

    def forward(self, inputs: tuple[np.ndarray, ...], training: bool, rng: np.random.Generator) -> tuple:
        """Training forward pass; returns ``(y, cache)``."""
        return self.network.forward(*inputs[:2], training=training, rng=rng, **self._series(inputs))

    def _predict_on_host(self, *inputs: np.ndarray) -> np.ndarray:
        return self.network.predict(*inputs[:2], **self._series(inputs))

    @staticmethod
    def _series(inputs: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
        """Return the rows' series, a third input for an encoder with an embedding, as keyword arguments."""
        return {"series": inputs[2]} if len(inputs) > 2 else {}


def _batched(predict: Any, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
    """Run ``predict`` on bounded slices of ``inputs``: arrays, or windows gathered slice by slice."""
    n = inputs[0].shape[0]
    size = PREDICT_BATCH["cpu"]
    if n <= size:
        return predict(*(np.asarray(x) for x in inputs))
    parts = [predict(*(np.asarray(x[i : i + size]) for x in inputs)) for i in range(0, n, size)]
    return np.concatenate(parts)


def make_optimizer(
    kind: str, params: np.ndarray, learning_rate: float, momentum: float, weight_decay: float
) -> Adam | SGD:
    """Adam (L2 weight decay, as ``torch.optim.Adam``) or SGD with momentum."""
    if kind == "adam":
        return Adam(params, learning_rate=learning_rate, weight_decay=weight_decay)
    return SGD(params, learning_rate=learning_rate, momentum=momentum, weight_decay=weight_decay)


def optimizer_matches(optimizer: Adam | SGD, kind: str, momentum: float, weight_decay: float) -> bool:
    """Whether ``optimizer`` has the update rule that :func:`make_optimizer` builds from these settings.

    The kind, the weight decay and, for SGD, the momentum (Adam ignores it) decide the rule;
    the learning rate does not: it may change between steps.

    Parameters
    ----------
    optimizer : Adam or SGD
        An optimiser, as :func:`make_optimizer` built it or loaded from a model file.
    kind : {"adam", "sgd"}
        As for :func:`make_optimizer`.
    momentum, weight_decay : float
        As for :func:`make_optimizer`.

    Returns
    -------
    bool
    """
    if kind == "adam":
        return type(optimizer) is Adam and optimizer.weight_decay == weight_decay
    return (
        type(optimizer) is SGD
        and optimizer.momentum == momentum
        and not optimizer.nesterov
        and optimizer.weight_decay == weight_decay
    )


@dataclass
class History:
    """What a training run did.

    Attributes
    ----------
    loss_curve : list of float
        Mean training loss (the training loss, MSE by default) of each finished epoch.
    validation_loss : list of float
        Validation loss (the same loss) after each finished epoch; empty without a validation set.
    best_epoch : int
        1-based epoch of the lowest monitored loss (validation loss if there is a
        validation set, else training loss).
    converged : bool
        Stopped because the monitored loss stopped improving (not by ``max_epochs``).
    interrupted : bool
        Stopped by KeyboardInterrupt; the weights are those of ``best_epoch`` with a
        validation set, else of the last finished epoch.
    """

    loss_curve: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0
    converged: bool = False
    interrupted: bool = False

    @property
    def n_epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.loss_curve)


def evaluate(model: Model, inputs: tuple[np.ndarray, ...], targets: np.ndarray, loss: Loss = MSE_LOSS) -> float:
    """Mean ``loss`` (MSE by default) of the model's predictions on ``inputs``."""
    return loss(model.predict(inputs), targets)[0]


def train(
    model: Model,
    inputs: tuple[np.ndarray, ...],
    targets: np.ndarray,
    *,
    optimizer: Adam | SGD,
    batch_size: int,
    max_epochs: int,
    rng: np.random.Generator,
    validation: tuple[tuple[np.ndarray, ...], np.ndarray] | None = None,
    n_iter_no_change: int = 10,
    tol: float = 1e-4,
    clip_norm: float | None = None,
    bptt_steps: int | None = None,
    verbose: int = 0,
    history: History | None = None,
    device: str = "cpu",
    keep_on_interrupt: bool = True,
    loss: Loss = MSE_LOSS,
    validation_score: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> History:
    """Train ``model`` in place with mini-batch gradient steps on ``loss`` (MSE by default).

    Parameters
    ----------
    model : Model
        Network adapter; its ``params`` are updated in place.
    inputs : tuple of ndarray
        Input arrays whose first axis indexes the training samples.
    targets : ndarray
        Targets, first axis as ``inputs``.
    optimizer : Adam or SGD
        Built on ``model.params``.
    batch_size : int
        Samples per gradient step (the last batch of an epoch may be smaller).
    max_epochs : int
        Upper bound on the epochs of this call.
    rng : numpy.random.Generator
        Shuffles the samples each epoch and draws dropout masks.
    validation : tuple, optional
        ``(inputs, targets)`` monitored after every epoch for early stopping.
    n_iter_no_change, tol : int, float
        Stop after ``n_iter_no_change`` epochs without an improvement larger than ``tol``.
    clip_norm : float, optional
        Clip the global gradient norm to this value before each step.
    bptt_steps : int, optional
        Truncated BPTT (see :mod:`tsrnn.kernels`).
    verbose : int
        0: silent; 1 or more: a progress line per epoch on stderr.
    history : History, optional
        Continue this history (warm start): epochs are counted on from its end.
    device : {"cpu", "cuda"}, default="cpu"
        Where the epochs run. On ``"cuda"`` the samples are uploaded once, every mini-batch
        step runs on the GPU, and the host reads the loss once per epoch; the parameters and
        the optimiser's state come back to the host at the end.
    keep_on_interrupt : bool, default=True
        On KeyboardInterrupt (Ctrl-C) after at least one finished epoch, stop and keep the
        weights of the last finished epoch (of the best one with a validation set), with a
        TrainingInterruptedWarning. False: restore the last finished epoch's weights and let
        the KeyboardInterrupt through, for callers that discard a model trained short (the
        calibration model of intervals, the folds of a backtest).
    loss : tsrnn.losses.Loss, default=MSE
        The training loss, also the validation loss that early stopping watches.
    validation_score : callable, optional
        ``validation_score(y_pred, y_true) -> float``, lower is better: what early stopping
        watches instead of the validation loss (an error rate, say), from the predictions on
        the validation inputs. ``History.validation_loss`` then holds its values.

    Returns
    -------
    History

    Raises
    ------
    TrainingDivergedError
        If the loss or the gradient norm becomes NaN or infinite.
    KeyboardInterrupt
        On Ctrl-C before the first epoch of this history finished (the weights are then those
        it started from), or at any time with ``keep_on_interrupt=False``.
    """
    history = history if history is not None else History()
    n = targets.shape[0]
    first_epoch = history.n_epochs + 1
    monitored = history.validation_loss if validation is not None else history.loss_curve
    best = min(monitored) if monitored else math.inf
    settings = StepSettings(batch_size, clip_norm, bptt_steps)
    session = _open_session(model, inputs, targets, validation, optimizer, settings, device, loss)
    stale = 0
    bar = None
    # With a validation set the best epoch's weights are restored at the end, however training stops.
    keeps_best = validation is not None
    try:
        session.save("best")
        session.save("last")
        bar = _Progress(max_epochs, sys.stderr) if verbose else None
        for epoch in range(first_epoch, first_epoch + max_epochs):
            try:
                order = sorted_batches(rng.permutation(n), batch_size)
                loss, what = session.run_epoch(order, rng)
                check_finite(loss, what, epoch)
                # An epoch counts as finished once validated too: Ctrl-C can land in either pass.
                if validation is None:
                    current = loss
                elif validation_score is None:
                    current = session.validation_loss()
                else:
                    current = float(validation_score(session.validation_predictions(), validation[1]))
            except KeyboardInterrupt:
                # The interrupted epoch left the weights half-updated.
                session.restore("last")
                if history.n_epochs == 0 or not keep_on_interrupt:
                    raise
                history.interrupted = True
                kept = (
                    f"{history.best_epoch}, the lowest validation loss"
                    if keeps_best and history.best_epoch
                    else f"{epoch - 1}, the last finished"
                )
                warnings.warn(
                    f"training interrupted in epoch {epoch}; keeping the weights of epoch {kept}",
                    TrainingInterruptedWarning,
                    stacklevel=3,
                )
                break
            history.loss_curve.append(loss)
            if validation is not None:
                check_finite(current, "validation loss", epoch)
                history.validation_loss.append(current)
            if current < best - tol:
                stale = 0
            else:
                stale += 1
            if current < best:
                best = current
                history.best_epoch = epoch
                session.save("best")
            session.save("last")
            val_text = f", validation loss {current:.6g}" if validation is not None else ""
            logger.debug("epoch %d: training loss %.6g%s", epoch, loss, val_text)
            if bar is not None:
                bar.update(epoch - first_epoch + 1, loss, current if validation is not None else None)
            if stale >= n_iter_no_change:
                history.converged = True
                break
        if keeps_best and history.best_epoch:
            session.restore("best")
    finally:
        session.close()
        if bar is not None:
            bar.close()
    return history


def _open_session(
    model: Model,
    inputs: tuple[np.ndarray, ...],
    targets: np.ndarray,
    validation: tuple[tuple[np.ndarray, ...], np.ndarray] | None,
    optimizer: Adam | SGD,
    settings: StepSettings,
    device: str,
    loss: Loss,
) -> TrainingSession:
    """Where the epochs run: on the host, or on the GPU for a network that runs there."""
    if device == "cpu":
        return _HostSession(model, inputs, targets, validation, optimizer, settings, loss)
    from tsrnn._cuda import require_cuda

    require_cuda()
    from tsrnn._cuda.training import DeviceSession

    return DeviceSession(model.network, inputs, targets, validation, optimizer, settings, model.return_sequences, loss)


def _compile_ahead(model: Model, inputs: tuple[np.ndarray, ...]) -> compile_ahead.Ahead | None:
    """Start compiling the backward loops of ``model``'s network in a second process, where that helps.

    For networks of any of the three kinds; models without a ``network`` start nothing.
    """
    network = getattr(model, "network", None)
    if network is None:
        return None
    parts = getattr(network, "parts", None)
    cells = {part.cell for part in (parts.values() if parts else [network])}
    reads_lengths = getattr(model, "reads_lengths", None)
    masked = bool(reads_lengths(inputs)) if reads_lengths is not None else False
    return compile_ahead.start(cells, network.dtype, masked=masked)


class _HostSession:
    """Epochs on the host: the model's own passes, and parameter snapshots in host memory."""

    def __init__(
        self,
        model: Model,
        inputs: tuple[np.ndarray, ...],
        targets: np.ndarray,
        validation: tuple[tuple[np.ndarray, ...], np.ndarray] | None,
        optimizer: Adam | SGD,
        settings: StepSettings,
        loss: Loss = MSE_LOSS,
    ) -> None:
        self.model, self.inputs, self.targets = model, inputs, targets
        self.validation, self.optimizer, self.settings, self.loss = validation, optimizer, settings, loss
        self.saved: dict[str, np.ndarray] = {}
        # With a cold cache, the backward loops compile elsewhere while the first forward pass compiles.
        self.ahead = _compile_ahead(model, inputs)

    def _backward_compiled(self) -> None:
        if self.ahead is not None:
            self.ahead.wait()
            self.ahead = None

    def run_epoch(self, order: np.ndarray, rng: np.random.Generator) -> EpochLoss:
        """See :meth:`TrainingSession.run_epoch`; it ends at the first non-finite value."""
        model, optimizer = self.model, self.optimizer
        batch_size, clip_norm, bptt_steps = self.settings
        total = 0.0
        for start in range(0, order.shape[0], batch_size):
            index = order[start : start + batch_size]
            y_pred, cache = model.forward(tuple(x[index] for x in self.inputs), True, rng)
            with np.errstate(over="ignore", invalid="ignore"):  # train() reports a diverged loss
                loss, d_y = self.loss(y_pred, self.targets[index])
            if not math.isfinite(loss):
                return EpochLoss(loss)
            self._backward_compiled()
            model.backward(d_y, cache, bptt_steps)
            if clip_norm is not None:
                norm = clip_grad_norm(model.grads, clip_norm)
                if not math.isfinite(norm):
                    return EpochLoss(norm, "gradient norm")
            optimizer.step(model.grads)
            total += loss * len(index)
        return EpochLoss(total / order.shape[0])

    def validation_loss(self) -> float:
        """See :meth:`TrainingSession.validation_loss`."""
        return evaluate(self.model, *self.validation, self.loss)

    def validation_predictions(self) -> np.ndarray:
        """See :meth:`TrainingSession.validation_predictions`."""
        return self.model.predict(self.validation[0])

    def save(self, slot: str) -> None:
        """Copy the parameters into a host snapshot under ``slot``."""
        if slot in self.saved:
            self.saved[slot][:] = self.model.params
        else:
            self.saved[slot] = self.model.params.copy()

    def restore(self, slot: str) -> None:
        """See :meth:`TrainingSession.restore`."""
        self.model.params[:] = self.saved[slot]

    def close(self) -> None:
        """Nothing to write back: the host session trains the model's own arrays."""
        # A run that ended before its first backward pass (an error, Ctrl-C) still lets the compile finish.
        self._backward_compiled()


class _Progress:
    """One line on stderr: epochs done, a bar, the latest losses and the elapsed time.

    On a terminal the line is redrawn in place; elsewhere (logs, notebooks capturing
    stderr) one line per epoch is written.
    """

    def __init__(self, total: int, stream: Any) -> None:
        self.total = total
        self.stream = stream
        self.start = time.perf_counter()
        self.in_place = bool(getattr(stream, "isatty", lambda: False)())
        self.width = len(str(total))

    def update(self, done: int, loss: float, validation: float | None) -> None:
        filled = round(20 * done / self.total)
        bar = "#" * filled + "-" * (20 - filled)
        text = f"epoch {done:{self.width}d}/{self.total} [{bar}] loss {loss:.4g}"
        if validation is not None:
            text += f" - validation loss {validation:.4g}"
        text += f" - {time.perf_counter() - self.start:.1f}s"
        self.stream.write(("\r" + text) if self.in_place else text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.in_place:
            self.stream.write("\n")
            self.stream.flush()
