"""RecurrentEstimator, the base class of the estimators: the network and training parameters, fitting, saving."""

from __future__ import annotations

import inspect
import os
import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from tsrnn._modelfile import save as save_model_file
from tsrnn._params import Boolean, FloatDtype, Integer, Options, RandomState, Real, validate_params
from tsrnn._state import StateReader, StateWriter
from tsrnn._validation import one_of
from tsrnn.losses import LOSSES, Loss
from tsrnn.training import History, Model, make_optimizer, optimizer_matches, train

_Estimator = TypeVar("_Estimator", bound="RecurrentEstimator")

# Constraints of the loss parameters of the estimators that regress (the classifier's loss is fixed).
LOSS_CONSTRAINTS: dict[str, list[Any]] = {
    "loss": [Options(*LOSSES)],
    "huber_delta": [Real(0.0, closed="neither")],
    "quantile": [Real(0.0, 1.0, closed="neither")],
}

# Constraints of the parameters that every estimator takes, in the order of their signatures.
NETWORK_CONSTRAINTS: dict[str, list[Any]] = {
    "cell": [Options("lstm", "gru", "rnn")],
    "hidden_size": [Integer(1)],
    "num_layers": [Integer(1)],
    "bidirectional": [Boolean()],
    "activation": [Options("tanh", "relu")],
    "dropout": [Real(0.0, 1.0, closed="left")],
    "optimizer": [Options("adam", "sgd")],
    "learning_rate": [Real(0.0, closed="neither")],
    "momentum": [Real(0.0, 1.0, closed="left")],
    "weight_decay": [Real(0.0)],
    "batch_size": [Integer(1)],
    "max_epochs": [Integer(1)],
    "early_stopping": [Boolean()],
    "validation_fraction": [Real(0.0, 1.0, closed="neither")],
    "n_iter_no_change": [Integer(1)],
    "tol": [Real(0.0)],
    "clip_norm": [Real(0.0, closed="neither"), None],
    "bptt_steps": [Integer(1), None],
    "random_state": [RandomState(), None],
    "verbose": [Integer(0)],
    "warm_start": [Boolean()],
    "device": [Options("cpu", "cuda")],
    "dtype": [FloatDtype()],
}

# Shared numpydoc text of those parameters; the defaults come from each estimator's signature, and
# an estimator's docstring gets the entries of the parameters it takes and does not describe itself.
_NETWORK_PARAMETERS_TEMPLATE = """\
    cell : {{"lstm", "gru", "rnn"}}, default={cell}
        Recurrent cell (PyTorch's gate order and weight layout).
    hidden_size : int, default={hidden_size}
        Hidden units per layer (and direction).
    num_layers : int, default={num_layers}
        Stacked recurrent layers.
    bidirectional : bool, default={bidirectional}
        Read each window in both directions.
    activation : {{"tanh", "relu"}}, default={activation}
        Nonlinearity of the ``"rnn"`` cell.
    dropout : float in [0, 1), default={dropout}
        Dropout between stacked layers during training.
    loss : {{"mse", "mae", "huber", "pinball"}}, default={loss}
        What training minimises, on the scaled targets (:mod:`tsrnn.losses`): the mean
        squared error, the mean absolute error (forecasts the median), the Huber loss (squared
        within ``huber_delta`` of the target, absolute beyond: robust to outliers) or the
        pinball loss at level ``quantile`` (forecasts that quantile). Early stopping watches
        the same loss on the held-out windows.
    huber_delta : float > 0, default={huber_delta}
        Where the Huber loss turns from squared to absolute, in units of the scaled targets
        (standard deviations with the default scaling).
    quantile : float in (0, 1), default={quantile}
        Level of the pinball loss.
    optimizer : {{"adam", "sgd"}}, default={optimizer}
        Adam, or SGD with ``momentum``.
    learning_rate : float > 0, default={learning_rate}
        Step size.
    momentum : float in [0, 1), default={momentum}
        Momentum of SGD (ignored by Adam).
    weight_decay : float >= 0, default={weight_decay}
        L2 penalty added to the gradient.
    batch_size : int, default={batch_size}
        Windows per gradient step. More than there are training windows is clipped to their
        number (one batch per epoch) with a UserWarning, as ``MLPRegressor`` does; the
        default is clipped silently.
    max_epochs : int, default={max_epochs}
        Most passes over the training windows.
    early_stopping : bool, default={early_stopping}
        Hold out the chronologically last ``validation_fraction`` of the windows (never a
        shuffled split, which would let the model see the future), stop when their loss
        stops improving and restore the weights of the best epoch.
    validation_fraction : float in (0, 1), default={validation_fraction}
        Share of the windows held out by ``early_stopping``.
    n_iter_no_change : int, default={n_iter_no_change}
        Epochs without an improvement larger than ``tol`` before training stops (validation
        loss with early stopping, else training loss), as in ``MLPRegressor``.
    tol : float >= 0, default={tol}
        Smallest improvement of the monitored loss that counts.
    clip_norm : float > 0 or None, default={clip_norm}
        Clip the global gradient norm to this value before each step.
    bptt_steps : int or None, default={bptt_steps}
        Truncated backpropagation through time: gradients flow back at most this many steps
        (see :mod:`tsrnn.kernels`); None is full BPTT.
    random_state : int, RandomState instance or None, default={random_state}
        Seeds the initial weights, the shuffling and dropout. The same value gives the same
        model bit for bit, whatever the number of threads.
    verbose : int, default={verbose}
        0 is silent; 1 shows a progress line per epoch on stderr (training and validation
        loss). Debug records go to the ``"tsrnn"`` logger either way.
    warm_start : bool, default={warm_start}
        Continue training the fitted network (and optimiser state) on the next ``fit``
        instead of starting afresh, when the data has the same shape. The optimiser's
        moments and step count carry on while ``optimizer``, ``weight_decay`` and (for SGD)
        ``momentum`` stay as they were, and a new ``learning_rate`` applies from the next
        step; changing one of the others starts a new optimiser with those settings.
    device : {{"cpu", "cuda"}}, default={device}
        Where the network trains and predicts. ``"cuda"`` runs every training step on an
        NVIDIA GPU (``pip install "tsrnn[cuda]"``): the windows are uploaded once and the host
        reads the loss once per epoch. The fitted weights are numpy arrays either way:
        ``predict`` runs on the GPU where one is available and on the CPU otherwise (a model
        trained on a GPU, unpickled on a machine without one), or on the CPU after
        ``set_params(device="cpu")``.
    dtype : {{"float32", "float64"}}, default={dtype}
        Precision of weights and arithmetic."""


def _template_entries(template: str) -> dict[str, str]:
    """Split the numpydoc text of parameters into one entry per parameter, in order."""
    entries: dict[str, str] = {}
    for block in re.split(r"\n(?=    \w+ : )", template):
        entries[block.split(" : ", 1)[0].strip()] = block
    return entries


_TEMPLATE_ENTRIES = _template_entries(_NETWORK_PARAMETERS_TEMPLATE)


def make_rng(random_state: Any) -> np.random.Generator:
    """Return a numpy Generator from what :func:`sklearn.utils.check_random_state` accepts."""
    return np.random.default_rng(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def splits_for_validation(n_samples: int, fraction: float) -> bool:
    """Whether early stopping at ``fraction`` leaves at least one of ``n_samples`` to train and one to validate."""
    n_val = int(np.ceil(fraction * n_samples))
    return n_val >= 1 and n_samples - n_val >= 1


def min_samples_for_validation(fraction: float) -> int:
    """Return the fewest samples that early stopping at ``fraction`` can split into training and validation."""
    # About 1 / (1 - fraction); the loops settle where rounding of ceil(fraction * n) puts the boundary.
    n = max(2, int(np.ceil(1 / (1 - fraction))))
    while not splits_for_validation(n, fraction):
        n += 1
    while n > 2 and splits_for_validation(n - 1, fraction):
        n -= 1
    return n


def largest_validation_fraction(n_samples: int) -> float | None:
    """Return the largest fraction, in hundredths, that early stopping can split ``n_samples`` at; None below 2."""
    if n_samples < 2:
        return None
    hundredths = 100 * (n_samples - 1) // n_samples
    while hundredths > 0 and not splits_for_validation(n_samples, hundredths / 100):
        hundredths -= 1
    return hundredths / 100 if hundredths else None


class ModelFileMixin:
    """Saving to a model file (:func:`tsrnn.load` reads it back), for both estimators.

    Each estimator says what it has learnt through :meth:`_fitted_state` and rebuilds it in
    :meth:`_restore_fitted_state`, extending what this class stores: the network, the
    optimiser, the training history, the random generator that warm starts continue, and
    the columns of ``X`` seen in fit (``n_features_in_``, ``feature_names_in_``).
    """

    # The fewest columns of X a fitted estimator has seen (a forecaster may have no covariates).
    _min_features_in = 0

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the model, fitted or not, to a file that :func:`tsrnn.load` reads back.

        The file is a zip archive holding the parameters (``get_params``), the versions and
        the fitted state as JSON, the arrays (weights, optimiser moments, the end of the
        series) as a ``.npz``, and their sha256 checksums. Unlike a pickle it holds no code:
        :func:`tsrnn.load` reads only arrays and JSON and checks them, so loading a file from
        elsewhere runs nothing of it, where unpickling could run anything (the checksums
        catch damage; they do not authenticate the file, see :func:`tsrnn.load`). The loaded
        model predicts bit for bit as this one, and continues training (``warm_start=True``)
        as this one would. An existing file at ``path`` is replaced only once the new one is
        complete.

        Parameters
        ----------
        path : str or path-like
            Where to write; ``.tsrnn`` is the usual extension.

        Raises
        ------
        ValueError
            If the model holds something the format cannot store exactly (an index named by
            a tuple, a frequency without an exact name), is larger than a model file may
            hold, or its parameters were changed since fit in a way that no longer
            describes the fitted network (``hidden_size``, ``horizon``, ...).
        """
        save_model_file(self, path)

    def _fitted_state(self) -> StateWriter | None:
        """Return what fit learnt as arrays and JSON values, or None when not fitted."""
        if not hasattr(self, "network_"):
            return None
        if not hasattr(self, "n_iter_"):
            raise ValueError(f"this {type(self).__name__} did not finish fitting; fit it again before saving")
        # load refuses such a file: get_params and clone would describe another model than the one fitted.
        mismatch = self._parameter_mismatch()
        if mismatch is not None:
            raise ValueError(
                f"cannot save this {type(self).__name__}: its parameters no longer describe the fitted model "
                f"({mismatch}); fit it again, or set the parameters back"
            )
        state = StateWriter()
        state.network("network_", self.network_)
        state.optimizer("optimizer_", self.optimizer_)
        state.history("history_", self.history_)
        # Warm starts draw their shuffles and dropout masks from it: saved, they continue the same.
        state.generator("rng", self._rng)
        state.array("loss_curve_", np.asarray(self.loss_curve_, dtype=np.float64))
        scores = self.validation_scores_
        state.array("validation_scores_", None if scores is None else np.asarray(scores, dtype=np.float64))
        state.put("best_epoch_", self.best_epoch_)
        state.put("n_iter_", self.n_iter_)
        state.put("n_features_in_", self.n_features_in_)
        names = getattr(self, "feature_names_in_", None)
        state.put("feature_names_in_", None if names is None else list(names))
        return state

    def _restore_fitted_state(self, state: StateReader) -> None:
        """Set the fitted attributes from ``state``; raise ModelFileError naming what does not fit."""
        self.network_ = state.network("network_")
        self.optimizer_ = state.optimizer("optimizer_", self.network_.params)
        self.history_ = state.history("history_")
        self._rng = state.generator("rng")
        self.loss_curve_ = state.array("loss_curve_", (None,), np.float64).tolist()
        scores = state.array("validation_scores_", (None,), np.float64, none=True)
        self.validation_scores_ = None if scores is None else scores.tolist()
        self.best_epoch_ = state.integer("best_epoch_")
        self.n_iter_ = state.integer("n_iter_")
        self.n_features_in_ = state.integer("n_features_in_", self._min_features_in)
        names = state.strings("feature_names_in_", none=True)
        if names is not None:
            if len(names) != self.n_features_in_:
                raise state.inconsistent(f"{len(names)} feature names for n_features_in_={self.n_features_in_}")
            self.feature_names_in_ = np.asarray(names, dtype=object)

    def _parameter_mismatch(self) -> str | None:
        """Say how the parameters differ from the fitted network's configuration; None when they agree.

        Estimators extend it with what else their parameters imply of the fitted state. Their
        :meth:`_restore_fitted_state` ends with :meth:`_check_parameters`, so that a file whose
        parameters describe another model than its fitted state is refused.
        """
        network = self.network_
        part = next(iter(network.parts.values())) if hasattr(network, "parts") else network
        for name in ("cell", "hidden_size", "num_layers", "bidirectional", "activation", "dropout", "dtype"):
            built, given = getattr(part, name), getattr(self, name)
            if name == "dtype":
                built, given = built.name, _dtype_name(given)
            if built != given:
                return f"the network has {name}={built!r}, but the parameters say {name}={given!r}"
        return None

    def _check_parameters(self, state: StateReader) -> None:
        """Raise ModelFileError if the parameters read do not describe the fitted state read."""
        mismatch = self._parameter_mismatch()
        if mismatch is not None:
            raise state.inconsistent(mismatch)


class RecurrentEstimator(ModelFileMixin, BaseEstimator, ABC):
    """What :class:`~tsrnn.RNNRegressor` and :class:`~tsrnn.RNNForecaster` share.

    The network and training parameters (each subclass's ``__init__`` lists them after its own,
    as scikit-learn needs explicit keyword parameters), their check, where training runs, the
    optimiser, the training run and the fitted attributes it sets, and the model file.

    A subclass's ``fit`` hands its arguments to :meth:`_fit`, which checks every parameter
    before :meth:`_prepare_fit` reads any data, then trains the model of :meth:`_model`. Its
    docstring says ``{network_parameters}`` where the shared parameters' text goes, with its
    own defaults.
    """

    # Per parameter, the constraints its value may meet (any one suffices), in the order of the
    # signature. tsrnn's own (tsrnn._params), so not under scikit-learn's _parameter_constraints,
    # whose validation knows only its own constraint objects.
    _accepted_values: ClassVar[dict[str, list[Any]]] = NETWORK_CONSTRAINTS

    def __init__(
        self, *, cell: str, hidden_size: int, num_layers: int, bidirectional: bool, activation: str, dropout: float,
        optimizer: str, learning_rate: float, momentum: float, weight_decay: float, batch_size: int,
        max_epochs: int, early_stopping: bool, validation_fraction: float, n_iter_no_change: int, tol: float,
        clip_norm: float | None, bptt_steps: int | None, random_state: int | np.random.RandomState | None,
        verbose: int, warm_start: bool, device: str, dtype: str,
    ) -> None:  # fmt: skip
        # Stored unchanged, as scikit-learn's __init__ contract asks: fit checks them.
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.activation = activation
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.clip_norm = clip_norm
        self.bptt_steps = bptt_steps
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.device = device
        self.dtype = dtype

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        placeholder = "    {network_parameters}"
        if cls.__doc__ and placeholder in cls.__doc__:
            parameters = inspect.signature(cls.__init__).parameters
            defaults = {name: repr(p.default) for name, p in parameters.items()}
            entries = [
                entry.format(**defaults)
                for name, entry in _TEMPLATE_ENTRIES.items()
                if name in parameters and f"\n    {name} :" not in cls.__doc__
            ]
            cls.__doc__ = cls.__doc__.replace(placeholder, "\n".join(entries))

    def _validate_params(self) -> None:
        """Raise a ValueError (TypeError for a wrong type) naming the first parameter that is not accepted.

        Every parameter is checked against :attr:`_accepted_values`; subclasses add the rules
        that join several parameters. Whether ``device`` can train on this machine is not a
        property of the parameters: :meth:`_training_device` checks it.
        """
        validate_params(self.get_params(deep=False), self._accepted_values)

    def _training_device(self) -> str:
        """Return where fit trains: ``device``, after checking that this machine can train there.

        The one place that resolves ``device`` for training. ``"cuda"`` needs a usable GPU
        (CudaUnavailableError, a RuntimeError, says what is missing). Predicting needs no
        such check: a network trained on a GPU predicts on the CPU where there is none, so
        loading a model file does not call it.
        """
        if self.device == "cuda":
            from tsrnn._cuda import require_cuda

            require_cuda()
        return self.device

    def _fit(self: _Estimator, *data: Any) -> _Estimator:
        """Fit on the arguments of ``fit``: check the parameters, prepare the data, train; return self.

        Every parameter, and the device, is checked before any data is read, and the data
        before any fitted attribute is set: a fit that is refused leaves the model as it was.
        """
        self._validate_params()
        device = self._training_device()
        warm = self.warm_start and hasattr(self, "network_")
        inputs, targets = self._prepare_fit(*data, warm=warm)
        self._train(self._model(), inputs, targets, warm, device)
        return self

    @abstractmethod
    def _prepare_fit(self, *data: Any, warm: bool) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """Check the data of ``fit`` and set what it determines; return the network's inputs and targets.

        A fresh fit (``warm`` False) also sets ``_rng`` and builds ``network_`` from it; a
        warm start continues both. The samples are returned in time order, the last ones
        being those early stopping validates on.
        """

    @abstractmethod
    def _model(self) -> Model:
        """Return ``network_`` wrapped for :func:`~tsrnn.training.train` and for predicting."""

    def _loss(self) -> Loss:
        """Return the training loss the parameters ask for."""
        params = {"huber": [self.huber_delta], "pinball": [self.quantile]}.get(self.loss, [0.0])
        return Loss(self.loss, params)

    def _validation_score(self) -> Callable[[np.ndarray, np.ndarray], float] | None:
        """Return what early stopping watches instead of the validation loss (see :func:`train`), or None."""
        return None

    def _validation_name(self) -> str:
        """Name what early stopping watches, for messages."""
        return "validation loss"

    def _start_head(self, targets: np.ndarray) -> None:
        """Start the head of the new ``network_`` where the loss says (:meth:`Loss.head_start`)."""
        start = self._loss().head_start(targets)
        if start is not None:
            self.network_.set_head_bias(start)

    def _network_options(self, rng: np.random.Generator) -> dict[str, Any]:
        """Keyword arguments of the network constructors from the parameters."""
        return {
            "hidden_size": self.hidden_size,
            "cell": self.cell,
            "num_layers": self.num_layers,
            "activation": self.activation,
            "dropout": self.dropout,
            "dtype": np.dtype(self.dtype),
            "random_state": rng,
        }

    def _training_rows(self, n_samples: int) -> int:
        """Return how many samples train: all, or all but the last ``validation_fraction`` with early stopping."""
        if not self.early_stopping:
            return n_samples
        fraction = self.validation_fraction
        if not splits_for_validation(n_samples, fraction):
            fewest = min_samples_for_validation(fraction)
            fixes = [f"pass at least {fewest} samples", "set early_stopping=False"]
            largest = largest_validation_fraction(n_samples)
            if largest:
                fixes.append(f"set validation_fraction={largest:g} or less")
            # "got 1 sample" is the wording scikit-learn's check_fit2d_1sample looks for.
            raise ValueError(
                f"early stopping needs at least {fewest} samples (windows), to train on the first and validate on "
                f"the last validation_fraction={fraction:g} of them; got {n_samples} "
                f"sample{'' if n_samples == 1 else 's'}. To fit, {one_of(fixes)}"
            )
        return n_samples - int(np.ceil(fraction * n_samples))

    def _warn_if_batch_clipped(self, n_train: int) -> None:
        """Warn when ``batch_size``, set above the default, exceeds the ``n_train`` training windows.

        Training then takes all of them in one batch: the size is clipped, as ``MLPRegressor``
        clips its ``batch_size`` with a warning. The default stays silent, as MLPRegressor's
        "auto" does, since short series are common and the default was not a choice.
        """
        default = inspect.signature(type(self).__init__).parameters["batch_size"].default
        if self.batch_size > n_train and self.batch_size != default:
            # The user's call of fit: through _train, _fit and fit.
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the {n_train} training windows; it is clipped to "
                f"{n_train}, one batch per epoch. Set batch_size <= {n_train} to silence this warning",
                UserWarning,
                stacklevel=5,
            )

    def _set_optimizer(self, params: np.ndarray, warm: bool) -> None:
        """Set ``optimizer_`` for this fit, over the parameter vector ``params``.

        A warm start continues the last fit's optimiser, its moments and step count, while
        ``optimizer``, ``weight_decay`` and (for SGD) ``momentum`` are those it was built
        with; a new ``learning_rate`` applies from the next step. Once one of them changed,
        the moments describe another update rule than the one asked for, so a new optimiser
        starts from scratch, as in a fresh fit (SGD's momentum buffer then starts as the
        first gradient).
        """
        kind, momentum, weight_decay = self.optimizer, self.momentum, self.weight_decay
        if warm and optimizer_matches(self.optimizer_, kind, momentum, weight_decay):
            self.optimizer_.learning_rate = self.learning_rate
        else:
            self.optimizer_ = make_optimizer(kind, params, self.learning_rate, momentum, weight_decay)

    def _train(
        self, model: Model, inputs: tuple[np.ndarray, ...], targets: np.ndarray, warm: bool, device: str
    ) -> None:
        """Train ``model`` on the samples in time order and set the fitted attributes.

        The last samples are held out for validation when ``early_stopping`` is set. Sets
        ``optimizer_``, ``history_``, ``loss_curve_``, ``validation_scores_``, ``best_epoch_``
        and ``n_iter_``; warns with ConvergenceWarning when ``max_epochs`` ends a run that still
        improved.

        Ctrl-C after a finished epoch ends training with a usable model (see :func:`train`),
        unless the estimator was marked with :func:`discard_on_interrupt`. A KeyboardInterrupt
        that gets through leaves a fresh fit unfitted (no ``network_``), so that its initial or
        half-trained weights cannot pass for a fitted model.
        """
        n_train = self._training_rows(targets.shape[0])
        self._warn_if_batch_clipped(n_train)
        validation = None
        if n_train < targets.shape[0]:
            validation = (tuple(x[n_train:] for x in inputs), targets[n_train:])
            inputs, targets = tuple(x[:n_train] for x in inputs), targets[:n_train]
        self._set_optimizer(model.params, warm)
        if not warm:
            self.history_ = History()
        try:
            history = train(
                model,
                inputs,
                targets,
                optimizer=self.optimizer_,
                batch_size=self.batch_size,
                max_epochs=self.max_epochs,
                rng=self._rng,
                validation=validation,
                n_iter_no_change=self.n_iter_no_change,
                tol=self.tol,
                clip_norm=self.clip_norm,
                bptt_steps=self.bptt_steps,
                verbose=self.verbose,
                history=self.history_,
                device=device,
                keep_on_interrupt=getattr(self, "_keep_on_interrupt", True),
                loss=self._loss(),
                validation_score=self._validation_score(),
            )
        except KeyboardInterrupt:
            if warm:
                # The network went back to its last finished epoch; the attributes follow its history.
                self._record_history(self.history_, validation is not None)
            else:
                del self.network_
            raise
        self._record_history(history, validation is not None)
        if not history.converged and not history.interrupted:
            # Early stopping is only worth suggesting where it is off.
            monitored, advice = (
                (self._validation_name(), "") if validation is not None else ("loss", ", or set `early_stopping=True`")
            )
            # The user's call of fit: through _fit and fit.
            warnings.warn(
                f"{type(self).__name__} stopped after max_epochs={self.max_epochs} epochs while the "
                f"{monitored} was still improving; raise `max_epochs` or `learning_rate`{advice}",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _record_history(self, history: History, validated: bool) -> None:
        """Set ``loss_curve_``, ``validation_scores_``, ``best_epoch_`` and ``n_iter_`` from ``history``."""
        self.loss_curve_ = list(history.loss_curve)
        self.validation_scores_ = list(history.validation_loss) if validated else None
        self.best_epoch_ = history.best_epoch
        self.n_iter_ = history.n_epochs


def _dtype_name(dtype: Any) -> Any:
    """Return the name of a numpy dtype (``np.float32`` and ``"float32"`` alike), or the value if it names none."""
    try:
        return np.dtype(dtype).name
    except TypeError:
        return dtype


def discard_on_interrupt(estimator: Any) -> Any:
    """Mark ``estimator`` (a clone) so that Ctrl-C during its ``fit`` raises KeyboardInterrupt, and return it.

    For models that are thrown away when training is cut short: the calibration model of
    prediction intervals and the folds of a backtest. Their fit then warns of no weights it
    would keep, and the caller decides what to keep (see :meth:`RecurrentEstimator._train`).
    """
    estimator._keep_on_interrupt = False
    return estimator
