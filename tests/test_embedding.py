"""Series embeddings: a learned vector per series joins every step's input; gradients exact, rows independent."""

from __future__ import annotations

import pathlib
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from tests import naive
from tsrnn import RNNForecaster, load
from tsrnn.losses import mse_loss
from tsrnn.network import EMBEDDING, DirectNetworks, RecurrentNetwork, Seq2SeqNetwork, input_part

DATASETS = pathlib.Path(__file__).resolve().parents[1] / "datasets"
OPTIONS = {"dtype": np.float64, "random_state": 0, "n_series": 3, "embedding_size": 2}


def networks():
    return {
        "lstm-2-layers-bidirectional": RecurrentNetwork(
            2, 3, 2, cell="lstm", num_layers=2, bidirectional=True, **OPTIONS
        ),  # fmt: skip
        "gru": RecurrentNetwork(2, 3, 2, cell="gru", **OPTIONS),
        "rnn": RecurrentNetwork(2, 3, 2, cell="rnn", **OPTIONS),
        "direct": DirectNetworks(2, 2, 3, 1, cell="gru", **OPTIONS),
        "seq2seq": Seq2SeqNetwork(2, 1, 3, 1, cell="lstm", **OPTIONS),
    }


def passes(net, x, decoder, series):
    """The network's training pass and a function of its loss, on the batch."""
    if isinstance(net, Seq2SeqNetwork):
        return (lambda: net.forward(x, decoder, series=series)), (lambda d_y, cache: net.backward(d_y, cache)[0])
    return (lambda: net.forward(x, series=series)), (lambda d_y, cache: net.backward(d_y, cache))


@pytest.mark.parametrize("name", list(networks()))
def test_gradients_of_the_embedding_and_inputs_match_finite_differences(name):
    net = networks()[name]
    rng = np.random.default_rng(4)
    x, decoder = rng.standard_normal((5, 4, 2)), rng.standard_normal((5, 2, 1))
    series = np.array([2, 0, 2, 1, 0])  # series 2 and 0 twice: their vectors' gradients add up
    forward, backward = passes(net, x, decoder, series)
    y, cache = forward()
    target = rng.standard_normal(y.shape)
    d_x = backward(mse_loss(y, target)[1], cache)

    def loss():
        return mse_loss(forward()[0], target)[0]

    numeric = naive.numerical_gradient(loss, net.params)
    assert np.max(np.abs(net.grads - numeric)) / np.max(np.abs(numeric)) < 1e-6
    numeric_x = naive.numerical_gradient(loss, x)
    assert d_x.shape == x.shape
    assert np.max(np.abs(d_x - numeric_x)) / np.max(np.abs(numeric_x)) < 1e-6
    for part in getattr(net, "parts", {"": net}).values():
        if part.embedding_size:  # every series in the batch gets a gradient
            assert np.abs(part.named_gradients()[EMBEDDING]).min() > 0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), batch=st.integers(1, 9))
def test_a_row_reads_only_its_own_series(seed, batch):
    """Predictions of a row depend on its window and its series alone: any batch, bit for bit."""
    net = RecurrentNetwork(2, 4, 1, cell="lstm", dtype=np.float32, random_state=1, n_series=5, embedding_size=3)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 6, 2)).astype(np.float32)
    series = rng.integers(-1, 5, batch)
    together = net.predict(x, series=series)
    for i in range(batch):
        assert np.array_equal(net.predict(x[i : i + 1], series=series[i : i + 1])[0], together[i])


def test_an_unseen_series_reads_the_mean_vector_and_bad_series_are_refused():
    net = RecurrentNetwork(2, 4, 1, dtype=np.float64, random_state=1, n_series=4, embedding_size=2)
    x = np.random.default_rng(0).standard_normal((1, 3, 2))
    table = net.named_parameters()[EMBEDDING]
    mean = table.mean(axis=0)
    plain = RecurrentNetwork(4, 4, 1, dtype=np.float64, random_state=1)
    plain.set_weights({k: v for k, v in net.get_weights().items() if k != EMBEDDING})
    widened = np.concatenate([x, np.broadcast_to(mean, (1, 3, 2))], axis=2)
    np.testing.assert_allclose(net.predict(x, series=np.array([-1])), plain.predict(widened), rtol=1e-12)
    with pytest.raises(ValueError, match=r"`series` must lie in \[-1, 4\)"):
        net.predict(x, series=np.array([4]))
    with pytest.raises(ValueError, match="pass each row's series"):
        net.predict(x)
    with pytest.raises(ValueError, match="`series` is for a network with a series embedding"):
        plain.predict(widened, series=np.array([0]))
    assert pickle.loads(pickle.dumps(net)).predict(x, series=np.array([2])) == net.predict(x, series=np.array([2]))


@pytest.fixture(scope="module")
def tourism() -> pd.DataFrame:
    frame = pd.read_csv(DATASETS / "tourism_quarterly.csv")
    frame = frame[frame["unique_id"].isin(frame["unique_id"].unique()[:12])]
    return frame.groupby("unique_id", sort=False).head(-8).reset_index(drop=True)


@pytest.mark.parametrize("strategy", ["mimo", "direct", "recursive", "seq2seq"])
def test_a_global_model_learns_a_vector_per_series(tourism, strategy, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = RNNForecaster(horizon=4, max_epochs=2, hidden_size=8, random_state=0, time_column="t",
                              series_embedding=3, strategy=strategy).fit(tourism)  # fmt: skip
    table = input_part(model.network_).named_parameters()[EMBEDDING]
    assert table.shape == (12, 3)
    forecast = model.predict()
    assert np.isfinite(forecast["y"]).all()
    # A fitted series given again reads its own vector; under another id, the mean one.
    q5 = tourism[tourism.unique_id == "Q5"]
    assert np.array_equal(model.predict(y=q5)["y"], forecast.loc[forecast.unique_id == "Q5", "y"])
    renamed = model.predict(y=q5.assign(unique_id="unseen"))["y"]
    assert not np.array_equal(renamed, forecast.loc[forecast.unique_id == "Q5", "y"])
    model.save(tmp_path / "embedded.tsrnn")
    pd.testing.assert_frame_equal(load(tmp_path / "embedded.tsrnn").predict(), forecast)


def test_an_embedding_is_for_collections(tourism):
    one = pd.Series(np.arange(40.0))
    with pytest.raises(ValueError, match="series_embedding tells the series of a collection apart"):
        RNNForecaster(series_embedding=2).fit(one)
    with pytest.raises(ValueError, match="series_embedding is for one global model"):
        RNNForecaster(series_embedding=2, pooling="local", time_column="t").fit(tourism)


def test_a_series_too_short_to_train_reads_the_mean_vector(tourism):
    short = pd.DataFrame({"unique_id": "tiny", "t": np.arange(1, 7), "y": np.arange(6.0) + 50.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = RNNForecaster(horizon=4, max_epochs=1, hidden_size=8, random_state=0, time_column="t",
                              series_embedding=2).fit(pd.concat([tourism, short]))  # fmt: skip
    assert input_part(model.network_).n_series == 12  # the series that gave windows
    tiny = model.predict(ids=["tiny"])["y"]
    # The same history under an id the model never saw reads the mean vector too.
    assert np.array_equal(model.predict(y=short.assign(unique_id="other"))["y"], tiny)
