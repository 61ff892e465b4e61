"""RNNClassifier: a recurrent network over labelled sequences, with scikit-learn's classifier contract."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from tsrnn._base import NETWORK_CONSTRAINTS, RecurrentEstimator, make_rng
from tsrnn._lags import INPUT_SCALINGS, STEP_ORDERS
from tsrnn._params import ClassWeight, Integer, Options, StringList
from tsrnn._sequences import is_sequence_list, padded_sequences
from tsrnn._state import StateReader, StateWriter
from tsrnn._windows import WindowReader, check_windows
from tsrnn.losses import Loss, log_softmax, softmax
from tsrnn.network import RecurrentNetwork
from tsrnn.training import History, SequenceModel

__all__ = ["RNNClassifier"]

_CROSS_ENTROPY = Loss("cross_entropy")


def _labels(y: Any, n_samples: int) -> np.ndarray:
    """Return the labels ``y`` as a 1-D array; raise ValueError naming what is wrong and the fix."""
    if y is None:
        # The wording scikit-learn's check_requires_y_none looks for.
        raise ValueError("RNNClassifier requires y to be passed, but the target y is None: give one label per sequence")
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        # A DataConversionWarning, as scikit-learn's classifiers give.
        labels = column_or_1d(labels, warn=True)
    if labels.ndim != 1:
        raise ValueError(
            f"y must be 1-D, one label per sequence; got shape {labels.shape}. RNNClassifier predicts one "
            "class per sequence (multi-label targets are not supported)"
        )
    if len(labels) != n_samples:
        raise ValueError(f"X has {n_samples} sequences but y has {len(labels)} labels; give one label per sequence")
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError("y holds NaN or inf: every sequence needs a label. Drop the unlabelled sequences")
    if labels.dtype.kind == "O" and pd.isna(labels).any():
        raise ValueError("y holds missing labels (None, NaN or NA): every sequence needs one. Drop those sequences")
    try:
        np.unique(labels)
    except TypeError:
        kinds = sorted({type(label).__name__ for label in labels})
        raise ValueError(f"y mixes labels of different types ({', '.join(kinds)}); give labels of one type") from None
    # "Unknown label type" (continuous y) is the wording scikit-learn's checks look for.
    check_classification_targets(labels)
    return labels


def _error_rate_then_loss(logits: np.ndarray, targets: np.ndarray) -> float:
    """Early stopping's score with ``scoring="accuracy"``: the error rate, ties broken by the cross-entropy.

    Lower is better. Accuracy moves in steps of ``1 / n``; the cross-entropy adds less than
    half a step, ``ce / (1 + ce) / (2 n)``, so it orders epochs of the same accuracy (the
    first epochs often all predict the commonest class) and never two different ones.
    """
    n = len(targets)
    errors = np.sum(np.argmax(logits, axis=1) != np.argmax(targets, axis=1))
    loss = _CROSS_ENTROPY(logits, targets)[0]
    return float(errors / n + loss / (1.0 + loss) / (2 * n))


def _errors(score: float, n: int) -> int:
    """Return the number of errors behind a score of :func:`_error_rate_then_loss` over ``n`` sequences."""
    return round(score * n - 0.25)


class RNNClassifier(ClassifierMixin, WindowReader, RecurrentEstimator):
    """Recurrent-network classifier of sequences: one class per sequence, from a softmax output.

    The network reads each sequence's steps in order (many-to-one); a linear head maps its
    final state (both directions' with ``bidirectional``) to one logit per class, and
    training minimises the cross-entropy of their softmax against the labels
    (:mod:`tsrnn.losses`). Each row's probabilities depend only on that row and the model,
    bit for bit, whatever the batch.

    A 2-D ``X`` is read as :class:`RNNRegressor` reads it (``features_per_step``,
    ``step_order``, ``window_features``): rows of ``T`` steps, oldest first, unless the column
    names say otherwise. A 3-D ``X`` is (samples, steps, features).

    Sequences of several lengths come as a list of arrays, each (steps,) or (steps, features),
    or as one array padded at the end with ``lengths=`` (the real steps of each; the values
    after them, NaN included, are ignored). The network's state stops at each sequence's last
    real step, so a sequence gets the probabilities it would get alone, whatever the padding.
    A model fitted on such sequences classifies sequences of any length (``n_features_in_`` is
    then the features per step); one fitted on an array classifies arrays of its shape.

    Parameters
    ----------
    features_per_step : int, default=1
        As for :class:`RNNRegressor`: how many consecutive columns of a 2-D ``X`` make a step.
    step_order : {"auto", "oldest_first", "newest_first"}, default="auto"
        As for :class:`RNNRegressor`, except that the order is not read from the targets:
        "auto" reads it from lag column names, else takes the rows oldest first.
    window_features : int, list of str or None, default=None
        As for :class:`RNNRegressor`: columns of a 2-D ``X`` that describe the whole
        sequence, given to the network at every step.
    input_scaling : {"standard", "window_last", "window_mean"} or None, default="standard"
        How the steps are normalised, learnt on the sequences given to fit: ``"standard"``,
        each feature minus its mean over all training steps, over its standard deviation
        (the level of a sequence often tells its class, so it is kept); the per-window
        choices of :class:`RNNRegressor` remove each sequence's own level and spread; None
        takes the values as given.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss: a dict from labels to weights (1 for labels it
        leaves out), or "balanced", ``n_samples / (n_classes * count of the class)`` over
        the training labels, as in scikit-learn.
    scoring : {"loss", "accuracy"}, default="loss"
        What early stopping watches on the held-out sequences: the cross-entropy, or the
        accuracy (``validation_scores_`` then holds accuracies, higher is better).
    n_iter_no_change : int, default=50
        Epochs without an improvement larger than ``tol`` before training stops (the
        validation score with early stopping, else the training loss). Longer than the
        regressor's: the cross-entropy of long sequences plateaus before it falls again.
    clip_norm : float > 0 or None, default=1.0
        Clip the global gradient norm to this value before each step. On by default: over
        sequences of a hundred steps an LSTM's gradient can jump by orders of magnitude,
        and a step that large undoes what training had learnt. The defaults were chosen on
        the two bundled sets (``benchmarks/classify.py``).
    {network_parameters}
    early_stopping : bool, default=False
        Hold out the last ``validation_fraction`` of each class's sequences, in the order
        given, stop when ``scoring`` stops improving and restore the weights of the best
        epoch. The held-out part is stratified, and within each class a tail: no sequence of
        a class trains that comes after one of that class held out (a shuffled split would
        let the model see later sequences of the class than those it is validated on). With
        ``scoring="accuracy"`` epochs of the same accuracy are told apart by the
        cross-entropy, so a run whose first epochs all predict the commonest class keeps a
        later one.
    validation_fraction : float in (0, 1), default=0.1
        Share of each class's sequences that ``early_stopping`` holds out (at least one of
        a class with two or more, and never all of them).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in fit, sorted; the columns of :meth:`predict_proba`.
    network_ : RecurrentNetwork
        The trained network (one output per class: the logits).
    optimizer_ : tsrnn.optim.Adam or tsrnn.optim.SGD
        The optimiser that trained it, with its state, which a warm start continues.
    loss_curve_ : list of float
        Mean training cross-entropy of each epoch.
    validation_scores_ : list of float or None
        With ``early_stopping``, after each epoch: the validation cross-entropy (lower is
        better), or with ``scoring="accuracy"`` the validation accuracy; else None.
    best_epoch_ : int
        Epoch (from 1) of the best validation score, or of the lowest training loss without
        early stopping. Early stopping restores its weights.
    n_iter_ : int
        Epochs run.
    step_order_, lags_, n_features_in_, feature_names_in_
        As for :class:`RNNRegressor`.

    See Also
    --------
    RNNRegressor : The same networks on windows, with a linear output for numeric targets.

    Examples
    --------
    >>> from tsrnn import RNNClassifier
    >>> from tsrnn.datasets import load_italy_power_demand
    >>> X_train, y_train, X_test, y_test = load_italy_power_demand()
    >>> model = RNNClassifier(hidden_size=8, max_epochs=5, random_state=0).fit(X_train, y_train)
    >>> model.predict_proba(X_test[:2]).shape
    (2, 2)
    """

    _min_features_in = 1
    _accepted_values: ClassVar[dict[str, list[Any]]] = {
        "features_per_step": [Integer(1)],
        "step_order": [Options(*STEP_ORDERS)],
        "window_features": [Integer(0), StringList(), None],
        "input_scaling": [Options(*INPUT_SCALINGS), None],
        "class_weight": [ClassWeight()],
        "scoring": [Options("loss", "accuracy")],
        **NETWORK_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        features_per_step: int = 1,
        step_order: str = "auto",
        window_features: int | list[str] | None = None,
        input_scaling: str | None = "standard",
        class_weight: dict[Any, float] | str | None = None,
        scoring: str = "loss",
        cell: str = "lstm",
        hidden_size: int = 32,
        num_layers: int = 1,
        bidirectional: bool = False,
        activation: str = "tanh",
        dropout: float = 0.0,
        optimizer: str = "adam",
        learning_rate: float = 3e-3,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        batch_size: int = 32,
        max_epochs: int = 200,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 50,
        tol: float = 1e-4,
        clip_norm: float | None = 1.0,
        bptt_steps: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        warm_start: bool = False,
        device: str = "cpu",
        dtype: str = "float32",
    ) -> None:
        self.features_per_step = features_per_step
        self.step_order = step_order
        self.window_features = window_features
        self.input_scaling = input_scaling
        self.class_weight = class_weight
        self.scoring = scoring
        super().__init__(
            cell=cell, hidden_size=hidden_size, num_layers=num_layers, bidirectional=bidirectional,
            activation=activation, dropout=dropout, optimizer=optimizer, learning_rate=learning_rate,
            momentum=momentum, weight_decay=weight_decay, batch_size=batch_size, max_epochs=max_epochs,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, tol=tol, clip_norm=clip_norm, bptt_steps=bptt_steps,
            random_state=random_state, verbose=verbose, warm_start=warm_start, device=device, dtype=dtype,
        )  # fmt: skip

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.classifier_tags.multi_label = False
        return tags

    # ----------------------------------------------------------------------------- data

    def _rows(self, X: ArrayLike, reset: bool, fitting: bool = False) -> np.ndarray:
        """Validate sequences ``X``; return them as validated rows (n, columns) or steps (n, T, F)."""
        dtype = np.dtype(self.dtype)
        X = validate_data(self, X, reset=reset, allow_nd=True, ensure_all_finite=False, dtype=[dtype, np.float64])
        self._check_validated_windows(X, fitting=fitting)
        return X

    def _classes(self, labels: np.ndarray, warm: bool, three_d: bool, variable: bool) -> np.ndarray:
        """Return the sorted classes of the labels of fit; raise ValueError for too few, or a warm start's changes."""
        if len(labels) == 1:
            # "1 sample" is the wording scikit-learn's check_fit2d_1sample looks for.
            raise ValueError("got 1 sample: a classifier needs sequences of at least two classes, and so two samples")
        classes = np.unique(labels)
        if len(classes) < 2:
            # "class" is the word scikit-learn's check_classifiers_one_label looks for.
            raise ValueError(
                f"y has a single class ({classes.tolist()[0]!r}): a classifier needs sequences of at least two classes"
            )
        if warm and variable != self._variable_lengths:
            given, fitted = ("an array", "sequences of several lengths") if self._variable_lengths else (
                "sequences of several lengths", "an array")  # fmt: skip
            raise ValueError(f"warm_start continues a fit on {fitted}, but got {given}; set warm_start=False")
        if warm and (not np.array_equal(classes, self.classes_) or three_d != self._x_3d):
            raise ValueError(
                "warm_start needs sequences of the shape and labels of the classes the model was fitted on "
                f"({self.classes_.tolist()!r}); set warm_start=False"
            )
        if warm and self.scoring != self._fitted_scoring:
            raise ValueError(
                f"warm_start continues the early stopping of the first fit, which watched "
                f"scoring={self._fitted_scoring!r}; set scoring={self._fitted_scoring!r} back, or warm_start=False"
            )
        return classes

    def _class_weights(self, labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Return the weight of each class from ``class_weight`` and the labels of fit."""
        weight = self.class_weight
        if weight is None:
            return np.ones(len(classes))
        if isinstance(weight, dict):
            # A bool names a class only among booleans (True == 1 in Python).
            known = {(type(c) is bool, c) for c in classes.tolist()}
            unknown = [label for label in weight if (isinstance(label, (bool, np.bool_)), label) not in known]
            if unknown:
                raise ValueError(
                    f"class_weight names labels that are not in y: {unknown[:5]!r}; "
                    f"the classes are {classes.tolist()!r}"
                )
        return compute_class_weight(weight, classes=classes, y=labels).astype(np.float64)

    def _stratified_tail(self, encoded: np.ndarray, n_classes: int) -> tuple[np.ndarray, int]:
        """Return the order of the samples for fit (training ones, then each class's tail) and how many train.

        Both parts keep the order the samples came in. Without early stopping, the samples in
        their order, all training.
        """
        n = len(encoded)
        if not self.early_stopping:
            return np.arange(n), n
        held_out = np.zeros(n, dtype=bool)
        for c in range(n_classes):
            rows = np.flatnonzero(encoded == c)
            # At least one sequence of every class trains.
            count = min(int(np.ceil(self.validation_fraction * len(rows))), len(rows) - 1)
            held_out[rows[len(rows) - count :]] = True
        if not held_out.any():
            raise ValueError(
                f"early stopping holds out the last validation_fraction={self.validation_fraction:g} of each class's "
                f"sequences, which leaves none of these {n} to validate on (every class has one sequence). "
                "Pass more sequences, or set early_stopping=False"
            )
        return np.concatenate([np.flatnonzero(~held_out), np.flatnonzero(held_out)]), int(n - held_out.sum())

    def _check_sequence_reading(self) -> None:
        """Raise ValueError where a parameter says how to read 2-D rows, which sequences of several lengths are not."""
        changed = [
            f"{name}={value!r}"
            for name, value, default in (
                ("features_per_step", self.features_per_step, 1),
                ("window_features", self.window_features, None),
                ("step_order", self.step_order, "auto"),
            )
            if value != default and not (name == "step_order" and value == "oldest_first")
        ]
        if changed:
            raise ValueError(
                f"{', '.join(changed)} reads 2-D rows of an array, but these are sequences of several lengths: each "
                "one (steps,) or (steps, features), oldest step first. Leave those parameters at their defaults, or "
                "give X as one array of rows"
            )

    def _training_rows(self, n_samples: int) -> int:
        return self._n_training

    # ------------------------------------------------------------------------------ fit

    def fit(self, X: ArrayLike | list[ArrayLike], y: ArrayLike, lengths: ArrayLike | None = None) -> RNNClassifier:
        """Train the network on sequences ``X`` labelled ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns) or (n_samples, T, F), or list of array-like
            The sequences, in time order (early stopping holds out the last ones of each
            class). For 2-D rows, see ``step_order`` and ``window_features``. A list holds
            sequences of several lengths, each of shape (T_i,) or (T_i, F).
        y : array-like of shape (n_samples,)
            Their labels: strings, integers or booleans, two classes or more.
        lengths : array-like of int, shape (n_samples,), optional
            The real steps of each sequence of an ``X`` padded at the end, (n_samples, T) or
            (n_samples, T, F).

        Returns
        -------
        self : RNNClassifier
        """
        return self._fit(X, y, lengths)

    def _prepare_fit(
        self, X: Any, y: ArrayLike, lengths: ArrayLike | None = None, *, warm: bool
    ) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        # Everything the labels decide is checked before validate_data resets what fit saw of X:
        # a refused fit leaves a fitted model as it was.
        variable = is_sequence_list(X) or lengths is not None
        if variable:
            self._check_sequence_reading()
            padded, seq_lengths = padded_sequences(X, lengths, "fitting")
            shape = padded.shape
        else:
            shape = check_windows(X)
        labels = _labels(y, shape[0])
        classes = self._classes(labels, warm, three_d=len(shape) == 3, variable=variable)
        encoded = np.searchsorted(classes, labels)
        targets = np.eye(len(classes))[encoded] * self._class_weights(labels, classes)[encoded, None]
        order, n_training = self._stratified_tail(encoded, len(classes))
        changed = self._reading_changed() if warm else None
        if changed is not None:
            raise ValueError(f"warm_start reads the data as the first fit did, but {changed}; set warm_start=False")
        if variable and not warm:
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            self.n_features_in_ = shape[2]
        elif not variable:
            X = self._rows(X, reset=not warm, fitting=True)
        if not warm:
            self._learn_reading(padded if variable else X, None, seq_lengths if variable else None)
            self.classes_ = classes
            self._fitted_scoring = self.scoring
            self._variable_lengths = variable
        if variable:
            x = self._padded_network_input(padded, seq_lengths)
        else:
            x, _, _ = self._network_input(X)
        self._n_training, self._n_validation = n_training, len(order) - n_training
        if not warm:
            self._rng = make_rng(self.random_state)
            self.network_ = RecurrentNetwork(
                x.shape[2], output_size=len(self.classes_), bidirectional=self.bidirectional,
                **self._network_options(self._rng),
            )  # fmt: skip
            # From every sequence, as the other estimators do: the held-out tail has the same class shares.
            self._start_head(targets)
        inputs = (np.ascontiguousarray(x[order]),) + ((seq_lengths[order],) if variable else ())
        return inputs, np.ascontiguousarray(targets[order], dtype=self.dtype)

    def _model(self) -> SequenceModel:
        return SequenceModel(self.network_, device=self.device)

    def _loss(self) -> Loss:
        return _CROSS_ENTROPY

    def _validation_score(self) -> Any:
        return _error_rate_then_loss if self.scoring == "accuracy" else None

    def _validation_name(self) -> str:
        return "validation accuracy" if self.scoring == "accuracy" else super()._validation_name()

    def _record_history(self, history: History, validated: bool) -> None:
        super()._record_history(history, validated)
        if validated and self.scoring == "accuracy":
            n = self._n_validation
            self.validation_scores_ = [1.0 - _errors(score, n) / n for score in history.validation_loss]

    # -------------------------------------------------------------------------- predict

    def _inputs(self, X: Any, lengths: ArrayLike | None) -> tuple[np.ndarray, ...]:
        """Return sequences ``X``, checked as fit's were, as the network's inputs: ``(x,)`` or ``(x, lengths)``."""
        check_is_fitted(self, "network_")
        if self._variable_lengths:
            padded, lengths = padded_sequences(X, lengths, "predicting")
            return self._padded_network_input(padded, lengths), lengths
        if is_sequence_list(X) or lengths is not None:
            raise ValueError(
                "RNNClassifier was fitted on an array of sequences of one length and classifies sequences of that "
                "shape. To classify sequences of several lengths, fit it on a list of sequences or with lengths="
            )
        check_windows(X)
        return (self._network_input(self._rows(X, reset=False))[0],)

    def _logits(self, X: Any, lengths: ArrayLike | None) -> np.ndarray:
        """Return the network's logits (n, n_classes) for sequences ``X``."""
        inputs = self._inputs(X, lengths)
        return self._model().predict(inputs).astype(np.float64)

    def predict_proba(self, X: ArrayLike | list[ArrayLike], lengths: ArrayLike | None = None) -> np.ndarray:
        """Return the probability of each class for sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns) or (n_samples, T, F), or list of array-like
            Sequences laid out as those of fit (for a model fitted on sequences of several
            lengths: a list, a padded array with ``lengths``, or an array of full sequences).
        lengths : array-like of int, shape (n_samples,), optional
            The real steps of each sequence of a padded ``X``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            The softmax of the network's logits, in the order of :attr:`classes_`; each row
            sums to one.
        """
        return softmax(self._logits(X, lengths))

    def predict_log_proba(self, X: ArrayLike | list[ArrayLike], lengths: ArrayLike | None = None) -> np.ndarray:
        """Return the log-probability of each class, computed without underflow.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns) or (n_samples, T, F), or list of array-like
        lengths : array-like of int, shape (n_samples,), optional
            As for :meth:`predict_proba`.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, finite where a probability underflows to zero.
        """
        return log_softmax(self._logits(X, lengths))

    def predict(self, X: ArrayLike | list[ArrayLike], lengths: ArrayLike | None = None) -> np.ndarray:
        """Return the most probable class of each sequence of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns) or (n_samples, T, F), or list of array-like
        lengths : array-like of int, shape (n_samples,), optional
            As for :meth:`predict_proba`.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from :attr:`classes_`.
        """
        return self._most_probable(self._logits(X, lengths))

    def _most_probable(self, logits: np.ndarray) -> np.ndarray:
        """Return the class of the largest logit of each row (n, n_classes): labels from :attr:`classes_`."""
        return self.classes_[np.argmax(logits, axis=1)]

    def score(
        self,
        X: ArrayLike | list[ArrayLike],
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        lengths: ArrayLike | None = None,
    ) -> float:
        """Return the accuracy of the predictions for sequences ``X`` against their labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns) or (n_samples, T, F), or list of array-like
        y : array-like of shape (n_samples,)
            Their true labels, among those seen in fit.
        sample_weight : array-like of shape (n_samples,), optional
        lengths : array-like of int, shape (n_samples,), optional
            As for :meth:`predict_proba`.

        Returns
        -------
        float
        """
        from sklearn.metrics import accuracy_score

        inputs = self._inputs(X, lengths)
        labels = _labels(y, len(inputs[0]))
        unseen = np.setdiff1d(np.unique(labels), self.classes_)
        if len(unseen):
            raise ValueError(
                f"y holds labels the classifier was not fitted on: {unseen[:5].tolist()!r}; it knows "
                f"{self.classes_.tolist()!r}. Score on sequences of those classes, or refit with all of them"
            )
        # X is checked once: predicted from what was checked.
        predicted = self._most_probable(self._model().predict(inputs))
        return float(accuracy_score(labels, predicted, sample_weight=sample_weight))

    # ---------------------------------------------------------------------- model files

    def _fitted_state(self) -> StateWriter | None:
        state = super()._fitted_state()
        if state is None:
            return None
        state.put("classes_", self.classes_.tolist())
        # Labels given as Python objects (a pandas Series of str) come back as objects too.
        state.put("classes_.object", self.classes_.dtype == object)
        state.put("variable_lengths", self._variable_lengths)
        self._write_reading(state)
        return state

    def _restore_fitted_state(self, state: StateReader) -> None:
        super()._restore_fitted_state(state)
        network = self.network_
        if type(network) is not RecurrentNetwork:
            raise state.inconsistent(f"'network_' is a {type(network).__name__}; RNNClassifier uses a RecurrentNetwork")
        classes = np.asarray(state.labels("classes_"), dtype=object if state.flag("classes_.object") else None)
        if len(classes) < 2 or not np.array_equal(classes, np.unique(classes)):
            raise state.inconsistent("classes_ must be at least two labels, sorted and distinct")
        self.classes_ = classes
        # save refuses parameters that no longer describe the fit: those of a file are the fit's own.
        self._fitted_scoring = self.scoring
        # Files written before sequences of several lengths were taken hold arrays' models.
        self._variable_lengths = state.flag("variable_lengths", missing=False)
        self._restore_reading(state)
        if network.input_size != self._layout.input_size or network.output_size != len(classes):
            raise state.inconsistent(
                f"a network of {network.input_size} inputs and {network.output_size} outputs does not fit "
                f"{self._layout.input_size} inputs per step and {len(classes)} classes"
            )
        self._check_parameters(state)

    def _parameter_mismatch(self) -> str | None:
        mismatch = super()._parameter_mismatch()
        if mismatch is None and self.scoring != self._fitted_scoring:
            mismatch = (
                f"early stopping watched scoring={self._fitted_scoring!r}, but the parameters say {self.scoring!r}"
            )
        return mismatch if mismatch is not None else self._reading_changed()
