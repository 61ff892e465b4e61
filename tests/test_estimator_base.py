"""What the estimators take from their base class: the parameters, their check, the documentation."""

from __future__ import annotations

import pytest
from sklearn.base import clone

from tsrnn import RNNClassifier, RNNForecaster, RNNRegressor

ESTIMATORS = [RNNRegressor, RNNForecaster, RNNClassifier]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_validate_params_accepts_the_defaults(cls):
    # scikit-learn's _validate_params read the constraints under _parameter_constraints, which
    # are tsrnn's own objects, and raised "Unknown constraint type" for every estimator.
    cls()._validate_params()
    assert not hasattr(cls, "_parameter_constraints")


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"hidden_size": 0}, ValueError, "`hidden_size` must be an int >= 1; got 0"),
        ({"learning_rate": "fast"}, TypeError, "`learning_rate` must be a float > 0.0; got 'fast'"),
        ({"device": "gpu"}, ValueError, "`device` must be one of 'cpu', 'cuda'; got 'gpu'"),
    ],
)
def test_validate_params_names_a_bad_value(cls, params, error, message):
    with pytest.raises(error, match=message):
        cls(**params)._validate_params()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"window": 0}, "`window` must be an int >= 1 or None; got 0"),
        ({"strategy": "seq2seq", "bidirectional": True}, "strategy='seq2seq' needs bidirectional=False"),
        ({"sequence_loss": True}, "sequence_loss=True needs strategy='recursive'"),
    ],
)
def test_validate_params_checks_the_forecasters_own_rules(params, message):
    with pytest.raises(ValueError, match=message):
        RNNForecaster(**params)._validate_params()


def test_validate_params_checks_the_regressors_own_parameters():
    with pytest.raises(ValueError, match="`features_per_step` must be an int >= 1; got 0"):
        RNNRegressor(features_per_step=0)._validate_params()


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_every_parameter_has_constraints_and_survives_get_params_and_clone(cls):
    names = cls._get_param_names()
    assert sorted(cls._accepted_values) == names
    model = cls(hidden_size=5, learning_rate=0.5, warm_start=True)
    params = model.get_params()
    assert sorted(params) == names
    assert (params["hidden_size"], params["learning_rate"], params["warm_start"]) == (5, 0.5, True)
    assert clone(model).get_params() == params


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_docstrings_describe_the_shared_parameters_with_their_own_defaults(cls):
    doc = cls.__doc__
    assert "{network_parameters}" not in doc
    learning_rate = cls().learning_rate
    assert f"learning_rate : float > 0, default={learning_rate!r}" in doc
    assert "optimizer_ : tsrnn.optim.Adam or tsrnn.optim.SGD" in doc
