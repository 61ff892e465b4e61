"""RNNClassifier: scikit-learn's contract, the bundled labelled sequences, labels, weights, stopping, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import tsrnn
from tsrnn import RNNClassifier
from tsrnn.datasets import load_basic_motions, load_italy_power_demand


def fit(X, y, lengths=None, **params):
    options = {"hidden_size": 8, "max_epochs": 30, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return RNNClassifier(**options).fit(X, y, lengths=lengths)


def two_shapes(n=60, steps=12, seed=0):
    """Sequences whose class is the sign of their slope, with noise: a known answer."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    slope = np.where(labels == 1, 1.0, -1.0)[:, None]
    X = slope * np.linspace(-1, 1, steps)[None, :] + 0.3 * rng.standard_normal((n, steps))
    return X[:, :, None], labels


@pytest.fixture(scope="module")
def italy():
    return load_italy_power_demand()


@parametrize_with_checks([RNNClassifier()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ------------------------------------------------------------------------------ the bundled sets


def test_default_classifier_is_within_3_points_of_logistic_regression_on_italy_power_demand(italy):
    X_train, y_train, X_test, y_test = italy
    flat = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    baseline = flat.fit(X_train[:, :, 0], y_train).score(X_test[:, :, 0], y_test)
    model = RNNClassifier(random_state=0).fit(X_train, y_train)
    accuracy = model.score(X_test, y_test)
    # Logistic regression reaches 0.963 on the 1029 test days; the network at least that, less 3 points.
    assert accuracy >= baseline - 0.03
    assert accuracy > 0.9


def test_default_classifier_recognises_the_basic_motions():
    X_train, y_train, X_test, y_test = load_basic_motions()
    model = RNNClassifier(random_state=0).fit(X_train, y_train)
    assert list(model.classes_) == ["badminton", "running", "standing", "walking"]
    # A random forest on the flattened windows reaches 0.89, logistic regression 0.72.
    assert model.score(X_test, y_test) >= 0.85
    assert model.score(X_train, y_train) >= 0.95


def test_cross_validation_with_scikit_learn(italy):
    X_train, y_train, _, _ = italy
    scores = cross_val_score(RNNClassifier(hidden_size=8, max_epochs=40, random_state=0), X_train, y_train, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.7)


# ------------------------------------------------------------------------------ labels and output


@pytest.mark.parametrize(
    "names",
    # Floats count as labels where they are whole numbers, as scikit-learn reads them.
    [np.array(["down", "up"]), np.array([3, 7]), np.array([False, True]), np.array([-1.0, 2.0])],
    ids=["strings", "ints", "bools", "whole-floats"],
)
def test_labels_of_any_kind_come_back_as_they_were_given(names):
    X, codes = two_shapes()
    model = fit(X, names[codes], max_epochs=60)
    np.testing.assert_array_equal(model.classes_, names)
    predicted = model.predict(X)
    assert predicted.dtype == names.dtype and set(predicted) <= set(names)
    assert model.score(X, names[codes]) > 0.9


def test_multiclass_probabilities_sum_to_one_and_agree_with_predict():
    X_train, y_train, X_test, _ = load_basic_motions()
    model = fit(X_train, y_train, max_epochs=20)
    probabilities = model.predict_proba(X_test)
    assert probabilities.shape == (40, 4) and probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X_test), model.classes_[np.argmax(probabilities, axis=1)])
    log_probabilities = model.predict_log_proba(X_test)
    assert np.all(np.isfinite(log_probabilities))
    np.testing.assert_allclose(np.exp(log_probabilities), probabilities, rtol=1e-12)


def test_a_pandas_series_of_labels_and_2d_rows_read_like_the_regressor_reads_them():
    X, codes = two_shapes()
    labels = pd.Series(np.array(["down", "up"])[codes])
    three_d = fit(X, labels)
    rows = fit(X[:, :, 0], labels)
    assert rows.step_order_ == "oldest_first"
    # The same steps in the same order: the same network, bit for bit.
    np.testing.assert_array_equal(rows.predict_proba(X[:, :, 0]), three_d.predict_proba(X))
    named = pd.DataFrame(X[:, ::-1, 0], columns=[f"lag_{k}" for k in range(1, 13)])
    by_names = fit(named, labels)
    assert by_names.step_order_ == "lag_names"
    np.testing.assert_array_equal(by_names.predict_proba(named), three_d.predict_proba(X))


@settings(max_examples=15, deadline=None)
@given(rows=st.lists(st.integers(0, 59), min_size=1, max_size=45), seed=st.integers(0, 3))
def test_a_rows_probabilities_do_not_depend_on_the_batch(fitted_for_batches, rows, seed):
    model, X = fitted_for_batches
    alone = model.predict_proba(X)
    batch = np.random.default_rng(seed).permutation(np.asarray(rows))
    np.testing.assert_array_equal(model.predict_proba(X[batch]), alone[batch])


@pytest.fixture(scope="module")
def fitted_for_batches():
    X, codes = two_shapes()
    return fit(X, codes), X


def test_the_same_random_state_gives_the_same_model():
    X, codes = two_shapes()
    first, second = fit(X, codes), fit(X, codes)
    np.testing.assert_array_equal(first.network_.params, second.network_.params)
    assert not np.array_equal(fit(X, codes, random_state=1).network_.params, first.network_.params)


# ------------------------------------------------------------------------------- class weights


def test_balanced_class_weights_recover_a_rare_class():
    X, codes = two_shapes(n=200, seed=1)
    # Keep one sequence of class 1 in ten, and blur the classes so that the prior matters.
    keep = (codes == 0) | (np.arange(len(codes)) % 10 == 0)
    X, codes = X[keep] * 0.4 + 0.5 * np.random.default_rng(2).standard_normal(X[keep].shape), codes[keep]
    plain = fit(X, codes, max_epochs=60)
    balanced = fit(X, codes, max_epochs=60, class_weight="balanced")
    rare = codes == 1
    assert np.mean(balanced.predict(X[rare]) == 1) > np.mean(plain.predict(X[rare]) == 1)
    # The same weights given as a dict train the same model.
    counts = np.bincount(codes)
    weights = {c: len(codes) / (2 * counts[c]) for c in (0, 1)}
    by_dict = fit(X, codes, max_epochs=60, class_weight=weights)
    np.testing.assert_allclose(by_dict.network_.params, balanced.network_.params, rtol=1e-5, atol=1e-6)


def test_class_weight_for_an_unknown_label_is_refused():
    X, codes = two_shapes()
    with pytest.raises(ValueError, match=r"class_weight names labels that are not in y: \[5\]"):
        fit(X, codes, class_weight={0: 1.0, 5: 2.0})
    # True == 1 in Python, but a boolean does not name the class 1.
    with pytest.raises(ValueError, match=r"class_weight names labels that are not in y: \[True\]"):
        fit(X, codes, class_weight={True: 3.0})
    for bad in ("heavy", {0: np.inf}, {0: 0.0}):
        with pytest.raises(ValueError, match='`class_weight` must be None, "balanced" or a dict'):
            fit(X, codes, class_weight=bad)


# ------------------------------------------------------------------------------ early stopping


def test_early_stopping_holds_out_the_last_sequences_of_each_class():
    codes = np.array([0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0])
    model = RNNClassifier(early_stopping=True, validation_fraction=0.2)
    order, n_train = model._stratified_tail(codes, 2)
    # Eleven of class 0, nine of class 1: the last ceil(0.2 * 11) = 3 and ceil(0.2 * 9) = 2 are held out.
    assert n_train == 15
    np.testing.assert_array_equal(order[n_train:], [14, 16, 17, 18, 19])
    np.testing.assert_array_equal(order[:n_train], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15])


def test_early_stopping_on_accuracy_records_accuracies_and_keeps_the_best_epoch(italy):
    X_train, y_train, _, _ = italy
    model = fit(X_train, y_train, early_stopping=True, validation_fraction=0.3, scoring="accuracy", max_epochs=40)
    order, n_train = model._stratified_tail(np.searchsorted(model.classes_, y_train), 2)
    held_out = order[n_train:]
    scores = np.asarray(model.validation_scores_)
    # Accuracies over the held-out sequences: whole numbers of them right.
    np.testing.assert_allclose(scores * len(held_out), np.round(scores * len(held_out)), atol=1e-9)
    # The restored weights are the best epoch's: their accuracy there is the best recorded.
    assert model.score(X_train[held_out], y_train[held_out]) == pytest.approx(scores.max())
    assert scores[model.best_epoch_ - 1] == scores.max()
    # Among the epochs of the best accuracy, the one of the lowest cross-entropy is kept, here not the first.
    assert model.best_epoch_ > 1 + int(np.argmax(scores))
    by_loss = fit(X_train, y_train, early_stopping=True, validation_fraction=0.3, max_epochs=40)
    assert by_loss.best_epoch_ == 1 + int(np.argmin(by_loss.validation_scores_))


# ---------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda X, y: (X, np.zeros(len(y), int)), ValueError, r"y has a single class \(0\): a classifier needs"),
        (lambda X, y: (X, y[:-3]), ValueError, "X has 60 sequences but y has 57 labels; give one label per sequence"),
        (lambda X, y: (np.where(np.arange(60)[:, None, None] == 5, np.nan, X), y), ValueError, "X .*NaN"),
        (lambda X, y: (X, np.where(np.arange(60) == 5, np.nan, y.astype(float))), ValueError, "y holds NaN or inf"),
        (
            lambda X, y: (X, pd.Series(np.where(y == 1, "up", "down"), dtype=object).where(np.arange(60) != 5)),
            ValueError,
            r"y holds missing labels \(None, NaN or NA\)",
        ),
        (
            lambda X, y: (X, pd.Series(np.where(y == 1, "up", "down"), dtype="string").where(np.arange(60) != 5)),
            ValueError,
            r"y holds missing labels \(None, NaN or NA\)",
        ),
        (
            lambda X, y: (X, np.array(["up" if c else 0 for c in y], dtype=object)),
            ValueError,
            r"y mixes labels of different types \(int, str\); give labels of one type",
        ),
        (lambda X, y: (X[:, :0], y), ValueError, "X has windows of 0 steps"),
        (lambda X, y: (X, np.linspace(0, 1, 60)), ValueError, "Unknown label type"),
        (lambda X, y: (X, np.stack([y, y], axis=1)), ValueError, "y must be 1-D, one label per sequence"),
    ],
    ids=[
        "single-class",
        "lengths",
        "nan-in-X",
        "nan-in-y",
        "none-in-object-y",
        "na-in-string-y",
        "mixed-types",
        "empty-sequences",
        "continuous-y",
        "2-d-y",
    ],
)
def test_bad_input_gets_a_clear_error(make, error, message):
    X, codes = two_shapes()
    X_bad, y_bad = make(X, codes)
    before = X_bad.copy()
    with pytest.raises(error, match=message):
        RNNClassifier(max_epochs=1).fit(X_bad, y_bad)
    np.testing.assert_array_equal(X_bad, before)


def test_unseen_labels_at_score_and_predict_before_fit_are_refused():
    X, codes = two_shapes()
    with pytest.raises(NotFittedError):
        RNNClassifier().predict(X)
    model = fit(X, codes)
    with pytest.raises(ValueError, match=r"y holds labels the classifier was not fitted on: \[2\]"):
        model.score(X, np.where(codes == 1, 2, 0))


def test_warm_start_on_other_classes_or_another_scoring_is_refused():
    X, codes = two_shapes()
    model = fit(X, codes, warm_start=True)
    with pytest.raises(ValueError, match="warm_start needs sequences of the shape and labels"):
        model.fit(X, codes + 1)
    model.set_params(scoring="accuracy", early_stopping=True)
    with pytest.raises(ValueError, match="continues the early stopping of the first fit, which watched scoring='loss'"):
        model.fit(X, codes)


def test_a_refused_fit_leaves_a_fitted_classifier_as_it_was():
    X, codes = two_shapes()
    model = fit(X, codes)
    before = model.predict_proba(X)
    wider = np.concatenate([X, X[:, :2]], axis=1)
    for y_bad in (np.zeros(60, int), np.array(["up" if c else 0 for c in codes], dtype=object)):
        with pytest.raises(ValueError):
            model.fit(wider, y_bad)
    with pytest.raises(ValueError, match="class_weight names labels"):
        model.set_params(class_weight={9: 1.0}).fit(wider, codes)
    assert model.n_features_in_ == 12
    np.testing.assert_array_equal(model.predict_proba(X), before)


def test_fit_and_predict_leave_the_callers_data_unchanged():
    X, codes = two_shapes()
    labels = pd.Series(np.where(codes == 1, "up", "down"))
    X_before, labels_before = X.copy(), labels.copy()
    for scaling in ("standard", "window_mean", None):
        model = fit(X, labels, input_scaling=scaling, class_weight="balanced")
        model.predict_proba(X)
        model.score(X, labels)
    np.testing.assert_array_equal(X, X_before)
    pd.testing.assert_series_equal(labels, labels_before)


# --------------------------------------------------------------------------------- model files


@pytest.mark.parametrize(
    "names",
    [np.array(["down", "up"]), np.array(["down", "up"], dtype=object), np.array([3, 7]), np.array([False, True])],
    ids=["strings", "objects", "ints", "bools"],
)
def test_a_saved_classifier_loads_and_predicts_the_same(tmp_path, names):
    X, codes = two_shapes()
    model = fit(X, names[codes], class_weight={names.tolist()[0]: 2.0})
    model.save(tmp_path / "model.tsrnn")
    loaded = tsrnn.load(tmp_path / "model.tsrnn")
    assert isinstance(loaded, RNNClassifier) and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    assert loaded.classes_.dtype == model.classes_.dtype
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.predict(X).dtype == model.predict(X).dtype
    clone(loaded)


def test_save_refuses_a_scoring_changed_since_fit(tmp_path):
    X, codes = two_shapes()
    model = fit(X, codes).set_params(scoring="accuracy")
    with pytest.raises(ValueError, match="early stopping watched scoring='loss', but the parameters say 'accuracy'"):
        model.save(tmp_path / "model.tsrnn")


# ---------------------------------------------------------------------- sequences of several lengths


def _cut(X, seed, shortest):
    """Each sequence of ``X`` cut to its last 12 to all steps: sequences of several lengths."""
    rng = np.random.default_rng(seed)
    return [x[-int(length) :] for x, length in zip(X, rng.integers(shortest, X.shape[1] + 1, len(X)), strict=True)]


def _padded(sequences, fill):
    padded = np.full((len(sequences), max(map(len, sequences)), sequences[0].shape[1]), fill)
    for row, sequence in zip(padded, sequences, strict=True):
        row[: len(sequence)] = sequence
    return padded, np.array([len(s) for s in sequences])


def test_days_of_several_lengths_are_classified_on_italy_power_demand(italy):
    X_train, y_train, X_test, y_test = italy
    train, test = _cut(X_train, 0, 12), _cut(X_test, 1, 12)
    model = RNNClassifier(random_state=0).fit(train, y_train)
    assert model.n_features_in_ == 1
    # Days of 12 to 24 hours, the missing ones at the start; on whole days 0.965.
    assert model.score(test, y_test) > 0.93
    # The model classifies sequences of any length, whole days included.
    assert model.score(X_test, y_test) > 0.9


def test_a_list_and_padded_arrays_give_the_same_model_whatever_the_padding():
    X, labels = two_shapes(n=40)
    sequences = _cut(X, 2, 3)
    listed = fit(sequences, labels, bidirectional=True, max_epochs=5)
    zeros, lengths = _padded(sequences, 0.0)
    for fill in (0.0, np.nan, 1e6):
        padded, _ = _padded(sequences, fill)
        model = fit(padded, labels, lengths=lengths, bidirectional=True, max_epochs=5)
        np.testing.assert_array_equal(model.network_.params, listed.network_.params)
        np.testing.assert_array_equal(model.predict_proba(zeros, lengths=lengths), listed.predict_proba(sequences))
    probabilities = listed.predict_proba(sequences)
    for k in range(0, 40, 7):
        np.testing.assert_array_equal(listed.predict_proba([sequences[k]])[0], probabilities[k])
    # Sequences of one length, as an array: all of their steps.
    np.testing.assert_array_equal(listed.predict_proba(X[:5]), listed.predict_proba(list(X[:5])))


def test_sequences_of_several_features_and_one_dimensional_sequences():
    rng = np.random.default_rng(0)
    labels = np.arange(30) % 3
    two_d = [rng.standard_normal((4 + k % 5, 2)) + labels[k] for k in range(30)]
    model = fit(two_d, labels)
    assert model.n_features_in_ == 2 and model.predict(two_d[:3]).shape == (3,)
    one_d = [s[:, 0] for s in two_d]
    np.testing.assert_array_equal(
        fit(one_d, labels).network_.params, fit([s[:, :1] for s in two_d], labels).network_.params
    )


def fit_sequences():
    X, labels = two_shapes(n=20)
    return _cut(X, 3, 2), labels


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda s, y: ([s[0][:0], *s[1:]], y, {}), ValueError, r"^X\[0\] is an empty sequence \(shape \(0, 1\)\)"),
        (lambda s, y: ([*s[:3], np.zeros((4, 2)), *s[4:]], y, {}), ValueError,
         r"^X\[3\] has 2 features per step but X\[0\] has 1: give every sequence the same features"),
        (lambda s, y: ([*s[:2], np.zeros((2, 2, 2)), *s[3:]], y, {}), ValueError, r"^X\[2\] must be"),
        (lambda s, y: (s, y, {"lengths": [3] * 20}), ValueError, r"^lengths= is for padded arrays"),
        (lambda s, y: (_padded(s, 0.0)[0], y, {"lengths": _padded(s, 0.0)[1][:-1]}), ValueError,
         r"^`lengths` must have one entry per sequence, shape \(20,\); got shape \(19,\)"),
        (lambda s, y: (_padded(s, 0.0)[0], y, {"lengths": np.r_[0, _padded(s, 0.0)[1][1:]]}), ValueError,
         r"^`lengths\[0\]` is 0, but every length must be between 1 and the \d+ steps"),
        (lambda s, y: (_padded(s, 0.0)[0], y, {"lengths": np.full(20, 2.5)}), TypeError, "must hold integers"),
        (lambda s, y: ([*s[:4], np.r_[s[4][:-1, 0], np.nan], *s[5:]], y, {}), ValueError,
         r"^X\[4\] contains 1 NaN or inf value\(s\).*Fill them before fitting"),
        (lambda s, y: (s[:-1], y, {}), ValueError, r"X has 19 sequences but y has 20 labels"),
    ],
    ids=["empty", "features", "3-D item", "lengths with a list", "lengths too few", "length 0", "float lengths", "nan",
         "labels"],
)  # fmt: skip
def test_bad_sequences_get_a_clear_error(make, error, message):
    X, y, extra = make(*fit_sequences())
    with pytest.raises(error, match=message):
        RNNClassifier(max_epochs=1).fit(X, y, **extra)


def test_sequences_are_refused_where_the_model_reads_one_shape():
    X, labels = two_shapes(n=20)
    fixed = fit(X, labels, max_epochs=1)
    with pytest.raises(ValueError, match="fitted on an array of sequences of one length .* fit it on a list"):
        fixed.predict(_cut(X, 0, 3))
    with pytest.raises(ValueError, match="fitted on an array of sequences of one length"):
        fixed.predict_proba(X, lengths=np.full(20, 12))
    several = fit(_cut(X, 0, 3), labels, max_epochs=1)
    with pytest.raises(ValueError, match="X has 2 features per step, but RNNClassifier was fitted with 1"):
        several.predict([np.zeros((3, 2))])
    with pytest.raises(ValueError, match="warm_start continues a fit on sequences of several lengths, but got an"):
        several.set_params(warm_start=True).fit(X, labels)


def test_sequences_of_several_lengths_train_on_and_leave_the_callers_data():
    sequences, labels = fit_sequences()
    padded, lengths = _padded(sequences, np.nan)
    before = [s.copy() for s in sequences], padded.copy(), lengths.copy()
    model = fit(padded, labels, lengths=lengths, early_stopping=True, validation_fraction=0.3)
    model.predict(sequences)
    model.score(padded, labels, lengths=lengths)
    for s, b in zip(sequences, before[0], strict=True):
        np.testing.assert_array_equal(s, b)
    np.testing.assert_array_equal(padded, before[1])
    np.testing.assert_array_equal(lengths, before[2])


def test_a_saved_classifier_of_several_lengths_loads_and_predicts_the_same(tmp_path):
    sequences, labels = fit_sequences()
    model = fit(sequences, labels, input_scaling="window_last")
    model.save(tmp_path / "model.tsrnn")
    loaded = tsrnn.load(tmp_path / "model.tsrnn")
    np.testing.assert_array_equal(loaded.predict_proba(sequences), model.predict_proba(sequences))
    with pytest.raises(ValueError, match="fitted with 1"):
        loaded.predict([np.zeros((2, 3))])


def test_lists_of_sequences_cross_validate_with_scikit_learn():
    sequences, labels = fit_sequences()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(RNNClassifier(hidden_size=4, max_epochs=3, random_state=0), sequences, labels, cv=2)
    # The same as fitting and scoring each fold's sequences by hand.
    for score, (train, test) in zip(scores, StratifiedKFold(2).split(sequences, labels), strict=True):
        model = fit([sequences[i] for i in train], labels[train], hidden_size=4, max_epochs=3)
        assert score == model.score([sequences[i] for i in test], labels[test])


def test_a_list_of_rows_of_one_length_is_an_array_of_rows():
    X, labels = two_shapes(n=20, steps=12)
    rows = list(X[:, :, 0])  # 1-D rows of 12 values: 6 steps of 2 features with features_per_step=2
    model = fit(rows, labels, features_per_step=2, max_epochs=1)
    assert model.n_step_features_ == 2 and model.n_features_in_ == 12 and model.predict(rows[:3]).shape == (3,)
    # Sequences of several lengths are steps of one feature, oldest first: such reading parameters are refused.
    with pytest.raises(ValueError, match=r"^features_per_step=2 reads 2-D rows of an array, but these are sequences"):
        RNNClassifier(features_per_step=2).fit(_cut(X, 0, 3), labels)
    with pytest.raises(ValueError, match=r"^step_order='newest_first' reads 2-D rows"):
        RNNClassifier(step_order="newest_first").fit(X[:, :, 0], labels, lengths=np.full(20, 12))


def test_a_model_file_from_before_sequences_of_several_lengths_loads_as_an_arrays_model(tmp_path):
    from tests.test_persistence import rebuild

    X, labels = two_shapes(n=20)
    model = fit(X, labels, max_epochs=1)
    model.save(tmp_path / "model.tsrnn")
    older = rebuild((tmp_path / "model.tsrnn").read_bytes(), document=lambda doc: doc["fitted"].pop("variable_lengths"))
    (tmp_path / "older.tsrnn").write_bytes(older)
    loaded = tsrnn.load(tmp_path / "older.tsrnn")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    with pytest.raises(ValueError, match="fitted on an array of sequences of one length"):
        loaded.predict(_cut(X, 0, 3))
