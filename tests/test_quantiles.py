"""Quantile forecasts: every strategy, levels that never cross, the median as the point forecast."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

import tsrnn
from tsrnn import RNNForecaster
from tsrnn.network import DirectNetworks, RecurrentNetwork, Seq2SeqNetwork

STRATEGIES = [
    {"strategy": "mimo"},
    {"strategy": "direct"},
    {"strategy": "recursive"},
    {"strategy": "recursive", "sequence_loss": True},
    {"strategy": "seq2seq"},
]


def fit(y, **params):
    options = {"window": 24, "horizon": 12, "max_epochs": 15, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return RNNForecaster(**options).fit(y)


@pytest.mark.parametrize("network", ["recurrent", "direct", "seq2seq"])
def test_a_head_bias_set_before_training_is_where_every_output_starts(network):
    # With a zero head weight the outputs are the bias alone: this shows its layout.
    x = np.random.default_rng(0).standard_normal((5, 6, 2))
    nets = {
        "recurrent": lambda: RecurrentNetwork(2, 4, output_size=6, random_state=0),
        "direct": lambda: DirectNetworks(3, 2, 4, output_size=2, random_state=0),
        "seq2seq": lambda: Seq2SeqNetwork(2, 1, 4, output_size=2, random_state=0),
    }
    net = nets[network]()
    bias = np.arange(6.0) if network != "seq2seq" else np.array([-1.5, 2.5])
    net.set_weights({name: np.zeros_like(w) for name, w in net.get_weights().items() if name.endswith("head.weight")})
    net.set_head_bias(bias)
    if network == "seq2seq":
        y = net.predict(x, np.ones((5, 3, 1)))
        np.testing.assert_array_equal(y, np.broadcast_to(bias, (5, 3, 2)))
    else:
        np.testing.assert_array_equal(net.predict(x), np.broadcast_to(bias, (5, 6)))


@pytest.mark.parametrize("params", STRATEGIES, ids=lambda p: "-".join(map(str, p.values())))
def test_each_quantile_output_starts_at_its_levels_quantile_of_its_targets(passengers, monkeypatch, params):
    started = []
    network = {"direct": DirectNetworks, "seq2seq": Seq2SeqNetwork}.get(params["strategy"], RecurrentNetwork)
    original = network.set_head_bias
    monkeypatch.setattr(network, "set_head_bias", lambda net, bias: (started.append(bias), original(net, bias)))
    model = fit(passengers.iloc[:-12], quantiles=[0.1, 0.9], max_epochs=1, **params)
    w, h = model.window_, model.horizon
    # The network trains on targets in its dtype (float32 by default).
    z = model._target_features(passengers.iloc[:-12].to_numpy()[:, None])[:, 0].astype(model.dtype).astype(float)
    if params["strategy"] == "recursive":
        count = len(z) - w
        # One step ahead; with sequence_loss every step of the window, through one head.
        targets = (
            z[w : w + count, None]
            if not params.get("sequence_loss")
            else np.stack([z[1 + s : 1 + s + count] for s in range(w)], axis=1)
        )
    else:
        count = len(z) - w - h + 1
        targets = np.stack([z[w + s : w + s + count] for s in range(h)], axis=1)  # (windows, step)
    # Every window counts, the last tenth that early stopping (on by default) validates on included.
    levels = [0.1, 0.5, 0.9]
    if params["strategy"] == "seq2seq" or params.get("sequence_loss"):  # one head for every step
        expected = [np.quantile(targets, level) for level in levels]
    else:  # one output per step and level, the level innermost
        expected = [np.quantile(targets[:, s], level) for s in range(targets.shape[1]) for level in levels]
    assert len(started) == 1
    np.testing.assert_allclose(started[0], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("params", STRATEGIES, ids=lambda p: "-".join(map(str, p.values())))
def test_every_strategy_forecasts_its_quantiles_around_the_median(passengers, params):
    model = fit(passengers.iloc[:-12], quantiles=[0.9, 0.1], **params)
    bands = model.predict_quantiles()
    assert list(bands.columns) == [0.1, 0.9]
    assert bands.index.equals(model.predict().index)
    point = model.predict().to_numpy()
    assert np.all(bands[0.1].to_numpy() <= point) and np.all(point <= bands[0.9].to_numpy())
    # The head has one output per level (the median included), target and step.
    assert model.network_.params.size > fit(passengers.iloc[:-12], **params).network_.params.size
    assert np.isfinite(bands.to_numpy()).all()


@given(
    levels=st.lists(st.floats(0.01, 0.99), min_size=1, max_size=4, unique=True),
    strategy=st.sampled_from(["mimo", "recursive", "seq2seq"]),
    seed=st.integers(0, 3),
)
@settings(max_examples=8, deadline=None)
def test_quantiles_never_cross(passengers, levels, strategy, seed):
    model = fit(passengers, quantiles=levels, strategy=strategy, random_state=seed, max_epochs=2, horizon=6)
    bands = model.predict_quantiles(horizon=8)
    assert list(bands.columns) == sorted(levels)
    assert (np.diff(bands.to_numpy(), axis=1) >= 0).all()


def test_the_median_is_the_point_forecast(passengers):
    model = fit(passengers, quantiles=[0.25, 0.5, 0.75])
    np.testing.assert_array_equal(model.predict().to_numpy(), model.predict_quantiles()[0.5].to_numpy())
    # Without 0.5 among the levels the network still forecasts the median, for predict.
    outer = fit(passengers, quantiles=[0.1, 0.9])
    bands = outer.predict_quantiles()
    assert np.all((bands[0.1] <= outer.predict()) & (outer.predict() <= bands[0.9]))


def test_log_transform_and_several_targets(passengers):
    frame = pd.DataFrame({"a": passengers, "b": passengers.to_numpy()[::-1] + 100.0}, index=passengers.index)
    model = fit(frame, quantiles=[0.2, 0.8], transform="log", horizon=4)
    bands = model.predict_quantiles()
    assert list(bands.columns) == [("a", 0.2), ("a", 0.8), ("b", 0.2), ("b", 0.8)]
    assert (bands.to_numpy() > 0).all()
    assert (bands["a"][0.2] <= bands["a"][0.8]).all() and (bands["b"][0.2] <= bands["b"][0.8]).all()


def test_quantile_parameters_are_checked(passengers):
    with pytest.raises(ValueError, match=r"`quantiles` must be a list of distinct floats in \(0, 1\) or None"):
        RNNForecaster(quantiles=[0.5, 0.5]).fit(passengers)
    with pytest.raises(ValueError, match=r"`quantiles` must be a list of distinct floats in \(0, 1\)"):
        RNNForecaster(quantiles=[0.0, 0.5]).fit(passengers)
    with pytest.raises(ValueError, match=r"quantiles train on the pinball loss.*got loss='mae'"):
        RNNForecaster(quantiles=[0.1], loss="mae").fit(passengers)
    with pytest.raises(ValueError, match=r"quantile forecasts need a model trained for them"):
        fit(passengers, max_epochs=1).predict_quantiles()


def test_the_levels_are_those_of_fit(passengers, tmp_path):
    model = fit(passengers, quantiles=[0.1, 0.9], horizon=3, warm_start=True)
    bands = model.predict_quantiles()
    model.set_params(quantiles=[0.3, 0.7])
    # The outputs keep the levels they were trained for, whatever the parameters say since.
    pd.testing.assert_frame_equal(model.predict_quantiles(), bands)
    with pytest.raises(ValueError, match=r"cannot save this RNNForecaster: .*forecasts quantiles \[0.1, 0.9\]"):
        model.save(tmp_path / "q.tsrnn")
    with pytest.raises(ValueError, match=r"warm_start needs the quantile levels the model was fitted with"):
        model.fit(passengers)
    pd.testing.assert_frame_equal(model.predict_quantiles(), bands)  # the refused fit changed nothing
    model.set_params(quantiles=None)
    assert np.isfinite(model.predict().to_numpy()).all()


def test_a_quantile_model_file_forecasts_the_same_quantiles(passengers, tmp_path):
    model = fit(passengers, quantiles=[0.1, 0.9], strategy="direct", horizon=3)
    model.save(tmp_path / "q.tsrnn")
    loaded = tsrnn.load(tmp_path / "q.tsrnn")
    pd.testing.assert_frame_equal(loaded.predict_quantiles(), model.predict_quantiles())
    loaded.set_params(quantiles=None)
    with pytest.raises(ValueError, match=r"cannot save this RNNForecaster"):
        loaded.save(tmp_path / "other.tsrnn")
