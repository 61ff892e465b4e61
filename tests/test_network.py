from __future__ import annotations

import pickle

import numpy as np
import pytest

from tests import naive
from tsrnn.kernels import _cpu
from tsrnn.losses import mse_loss
from tsrnn.network import RecurrentNetwork, Seq2SeqNetwork

CONFIGS = [
    {"cell": "lstm", "num_layers": 1, "bidirectional": False},
    {"cell": "lstm", "num_layers": 2, "bidirectional": True},
    {"cell": "gru", "num_layers": 2, "bidirectional": False},
    {"cell": "gru", "num_layers": 1, "bidirectional": True},
    {"cell": "rnn", "num_layers": 2, "bidirectional": True, "activation": "tanh"},
    {"cell": "rnn", "num_layers": 2, "bidirectional": False, "activation": "relu"},
]


def make_network(config, **kwargs):
    options = {"input_size": 2, "hidden_size": 3, "output_size": 2, "dtype": np.float64, "random_state": 0}
    options.update(config)
    options.update(kwargs)
    return RecurrentNetwork(**options)


def reference_forward(net, x, return_sequences=False):
    """The network composed from the numpy reference cells."""
    w = net.get_weights()
    batch = x.shape[0]
    zeros = np.zeros((batch, net.hidden_size))
    layer_input = x
    for layer in range(net.num_layers):
        outs = []
        for suffix in ["", "_reverse"][: net.num_directions]:
            seq = layer_input[:, ::-1] if suffix else layer_input
            args = [w[f"{kind}_l{layer}{suffix}"] for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            if net.cell == "lstm":
                out = naive.lstm(seq, zeros, zeros, *args)[0]
            elif net.cell == "gru":
                out = naive.gru(seq, zeros, *args)[0]
            else:
                out = naive.rnn(seq, zeros, *args, activation=net.activation)[0]
            outs.append(out[:, ::-1] if suffix else out)
        layer_input = np.concatenate(outs, axis=2)
    if return_sequences:
        features = layer_input
    elif net.bidirectional:
        features = np.concatenate([layer_input[:, -1, : net.hidden_size], layer_input[:, 0, net.hidden_size :]], 1)
    else:
        features = layer_input[:, -1]
    return features @ w["head.weight"].T + w["head.bias"]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_forward_matches_reference_composition(config, return_sequences):
    net = make_network(config)
    x = np.random.default_rng(1).standard_normal((5, 4, 2))
    y = net.predict(x, return_sequences=return_sequences)
    np.testing.assert_allclose(y, reference_forward(net, x, return_sequences), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("bptt_steps", [None, 2])
def test_gradients_match_finite_differences(config, return_sequences, bptt_steps):
    net = make_network(config)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 5, 2))
    shape = (4, 5, 2) if return_sequences else (4, 2)
    target = rng.standard_normal(shape)

    def loss():
        return mse_loss(net.forward(x, return_sequences=return_sequences)[0], target)[0]

    y, cache = net.forward(x, return_sequences=return_sequences)
    d_x = net.backward(mse_loss(y, target)[1], cache, bptt_steps=bptt_steps)
    if bptt_steps is None:
        numeric = naive.numerical_gradient(loss, net.params)
        scale = np.max(np.abs(numeric))
        assert np.max(np.abs(net.grads - numeric)) / scale < 1e-6
        numeric_x = naive.numerical_gradient(loss, x)
        assert np.max(np.abs(d_x - numeric_x)) / np.max(np.abs(numeric_x)) < 1e-6
    else:
        # Truncation changes only the recurrent weights' and inputs' gradients; the head's
        # gradient is exact either way.
        numeric = naive.numerical_gradient(loss, net.named_parameters()["head.weight"])
        np.testing.assert_allclose(net.named_gradients()["head.weight"], numeric, rtol=1e-6, atol=1e-9)


def test_dropout_gradients_with_fixed_masks():
    net = make_network({"cell": "lstm", "num_layers": 3, "bidirectional": True}, dropout=0.4)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5, 2))
    target = rng.standard_normal((4, 2))

    def loss():
        return mse_loss(net.forward(x, training=True, rng=np.random.default_rng(7))[0], target)[0]

    y, cache = net.forward(x, training=True, rng=np.random.default_rng(7))
    assert any(mask is not None and (mask == 0).any() for mask in cache.dropout_masks)
    net.backward(mse_loss(y, target)[1], cache)
    numeric = naive.numerical_gradient(loss, net.params)
    assert np.max(np.abs(net.grads - numeric)) / np.max(np.abs(numeric)) < 1e-6
    # Without training the same network is deterministic and mask-free.
    np.testing.assert_array_equal(net.predict(x), net.predict(x))
    with pytest.raises(ValueError, match="rng"):
        net.forward(x, training=True)


def test_pytorch_names_and_shapes():
    net = RecurrentNetwork(3, 8, 2, cell="gru", num_layers=2, bidirectional=True)
    shapes = {name: view.shape for name, view in net.named_parameters().items()}
    assert shapes["weight_ih_l0"] == (24, 3)
    assert shapes["weight_hh_l0_reverse"] == (24, 8)
    assert shapes["weight_ih_l1"] == (24, 16)
    assert shapes["bias_hh_l1_reverse"] == (24,)
    assert shapes["head.weight"] == (2, 16)
    assert sum(int(np.prod(s)) for s in shapes.values()) == net.params.size
    # Views really share the flat vector.
    net.named_parameters()["head.bias"][:] = 5.0
    assert np.count_nonzero(net.params == 5.0) == 2


def test_get_set_weights_round_trip_and_errors():
    a = make_network(CONFIGS[1], random_state=0)
    b = make_network(CONFIGS[1], random_state=1)
    x = np.random.default_rng(0).standard_normal((3, 4, 2))
    assert not np.array_equal(a.predict(x), b.predict(x))
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    with pytest.raises(KeyError, match="unknown parameter names"):
        b.set_weights({"weight_ih_l9": np.zeros((12, 2))})
    with pytest.raises(ValueError, match="weight_ih_l0"):
        b.set_weights({"weight_ih_l0": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="NaN"):
        b.set_weights({"head.bias": np.array([np.nan, 0.0])})


def test_initialisation():
    net = RecurrentNetwork(4, 16, cell="lstm", num_layers=2, random_state=0)
    again = RecurrentNetwork(4, 16, cell="lstm", num_layers=2, random_state=0)
    other = RecurrentNetwork(4, 16, cell="lstm", num_layers=2, random_state=1)
    np.testing.assert_array_equal(net.params, again.params)
    assert not np.array_equal(net.params, other.params)
    for name, view in net.named_parameters().items():
        if not name.startswith("head"):
            assert np.max(np.abs(view)) <= 0.25 and np.std(view) > 0.1
    ortho = RecurrentNetwork(4, 16, cell="lstm", init="orthogonal", random_state=0, dtype=np.float64)
    w_hh = ortho.named_parameters()["weight_hh_l0"]
    for g in range(4):
        block = w_hh[g * 16 : (g + 1) * 16]
        np.testing.assert_allclose(block @ block.T, np.eye(16), atol=1e-12)
    bias = ortho.named_parameters()["bias_ih_l0"]
    np.testing.assert_array_equal(bias[16:32], 1.0)
    assert np.count_nonzero(bias) == 16


def test_pickle_round_trip_keeps_views():
    net = make_network(CONFIGS[2])
    x = np.random.default_rng(0).standard_normal((3, 4, 2))
    clone = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(clone.predict(x), net.predict(x))
    clone.named_parameters()["head.bias"][:] = 1.0
    assert clone.params[-1] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden_size": 0}, "hidden_size"),
        ({"cell": "transformer"}, "cell"),
        ({"dropout": 1.0}, "dropout"),
        ({"init": "xavier"}, "init"),
        ({"dtype": np.int32}, "dtype"),
        ({"activation": "sigmoid"}, "activation"),
    ],
)
def test_bad_arguments(kwargs, message):
    options = {"input_size": 2, "hidden_size": 3}
    options.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        RecurrentNetwork(**options)


def test_bad_input_shape():
    net = make_network(CONFIGS[0])
    with pytest.raises(ValueError, match=r"\(batch, time, 2\)"):
        net.predict(np.zeros((3, 4, 5)))


def test_stale_forward_cache_is_refused_and_predict_keeps_it_valid():
    net = make_network(CONFIGS[0])
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    y1, cache1 = net.forward(x1)
    net.predict(x2)  # buffers of its own
    net.backward(np.ones_like(y1), cache1)
    first = net.grads.copy()
    net.forward(x2)
    with pytest.raises(ValueError, match="stale"):
        net.backward(np.ones_like(y1), cache1)
    y1, cache1 = net.forward(x1)
    net.backward(np.ones_like(y1), cache1)
    np.testing.assert_array_equal(net.grads, first)


@pytest.mark.parametrize("config", CONFIGS)
def test_inference_path_matches_training_forward(config):
    # predict keeps one step of gates and no cache; the numbers must not change.
    net = make_network(config, dtype=np.float32)
    x = np.random.default_rng(4).standard_normal((37, 6, 2)).astype(np.float32)
    for return_sequences in (False, True):
        np.testing.assert_array_equal(
            net.predict(x, return_sequences=return_sequences),
            net.forward(x, return_sequences=return_sequences)[0],
        )


def test_read_only_input_compiles_no_extra_version():
    net = make_network(CONFIGS[0])
    x = np.random.default_rng(5).standard_normal((3, 4, 2))
    expected = net.predict(x)
    signatures = {name: len(f.signatures) for name, f in vars(_cpu).items() if hasattr(f, "signatures")}
    x.flags.writeable = False
    np.testing.assert_array_equal(net.predict(x), expected)
    assert {name: len(f.signatures) for name, f in vars(_cpu).items() if hasattr(f, "signatures")} == signatures


SEQ2SEQ_CONFIGS = [
    {"cell": "lstm", "num_layers": 2},
    {"cell": "gru", "num_layers": 1},
    {"cell": "rnn", "num_layers": 2, "activation": "relu"},
]


@pytest.mark.parametrize("config", [c for c in CONFIGS if not c["bidirectional"]])
def test_initial_state_and_its_gradient_match_finite_differences(config):
    net = make_network(config)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 5, 2))
    target = rng.standard_normal((4, 5, 2))
    count = 2 if net.cell == "lstm" else 1
    state = [tuple(rng.standard_normal((4, 3)) for _ in range(count)) for _ in range(net.num_layers)]
    d_final = [tuple(rng.standard_normal((4, 3)) for _ in range(count)) for _ in range(net.num_layers)]

    def loss():
        y, cache = net.forward(x, return_sequences=True, initial_state=state)
        # A linear term in the final states makes their gradient `d_final`.
        extra = sum(
            np.sum(a * d)
            for final, d_layer in zip(cache.final_state, d_final, strict=True)
            for a, d in zip(final, d_layer, strict=True)
        )
        return mse_loss(y, target)[0] + extra

    y, cache = net.forward(x, return_sequences=True, initial_state=state)
    net.backward(mse_loss(y, target)[1], cache, d_final_state=d_final)
    numeric = naive.numerical_gradient(loss, net.params)
    assert np.max(np.abs(net.grads - numeric)) / np.max(np.abs(numeric)) < 1e-6
    for layer in range(net.num_layers):
        for analytic, array in zip(cache.d_initial_state[layer], state[layer], strict=True):
            numeric_state = naive.numerical_gradient(loss, array)
            assert np.max(np.abs(analytic - numeric_state)) / np.max(np.abs(numeric_state)) < 1e-6


def test_initial_state_is_checked():
    net = make_network({"cell": "lstm", "num_layers": 1, "bidirectional": False})
    x = np.zeros((4, 5, 2))
    with pytest.raises(ValueError, match="1 tuples of 2 arrays"):
        net.forward(x, initial_state=[(np.zeros((4, 3)),)])
    with pytest.raises(ValueError, match=r"shape \(4, 3\)"):
        net.forward(x, initial_state=[(np.zeros((4, 3)), np.zeros((3, 3)))])
    bidirectional = make_network({"cell": "gru", "num_layers": 1, "bidirectional": True})
    with pytest.raises(ValueError, match="unidirectional"):
        bidirectional.forward(x, initial_state=[(np.zeros((4, 3)),)])


def test_network_without_head_returns_features():
    net = RecurrentNetwork(2, 3, 0, cell="gru", dtype=np.float64, random_state=0)
    assert not any(name.startswith("head") for name in net.get_weights())
    x = np.random.default_rng(0).standard_normal((4, 5, 2))
    y, cache = net.forward(x)
    np.testing.assert_array_equal(y, cache.final_state[0][0])


@pytest.mark.parametrize("config", SEQ2SEQ_CONFIGS)
def test_seq2seq_gradients_match_finite_differences(config):
    net = Seq2SeqNetwork(2, 3, 4, 2, dtype=np.float64, random_state=1, **config)
    rng = np.random.default_rng(5)
    x, x_dec = rng.standard_normal((5, 6, 2)), rng.standard_normal((5, 3, 3))
    target = rng.standard_normal((5, 3, 2))

    def loss():
        return mse_loss(net.forward(x, x_dec)[0], target)[0]

    y, cache = net.forward(x, x_dec)
    np.testing.assert_array_equal(y, net.predict(x, x_dec))
    d_x, d_x_dec = net.backward(mse_loss(y, target)[1], cache)
    numeric = naive.numerical_gradient(loss, net.params)
    assert np.max(np.abs(net.grads - numeric)) / np.max(np.abs(numeric)) < 1e-6
    for analytic, array in ((d_x, x), (d_x_dec, x_dec)):
        numeric_x = naive.numerical_gradient(loss, array)
        assert np.max(np.abs(analytic - numeric_x)) / np.max(np.abs(numeric_x)) < 1e-6


def test_seq2seq_names_weights_and_pickle():
    net = Seq2SeqNetwork(2, 1, 4, 1, cell="lstm", random_state=0)
    weights = net.get_weights()
    assert "encoder.weight_hh_l0" in weights and "decoder.head.weight" in weights
    assert not any(name.startswith("encoder.head") for name in weights)
    assert sum(w.size for w in weights.values()) == net.params.size
    net.set_weights({"decoder.head.bias": np.array([3.0])})
    assert net.params[-1] == 3.0
    clone = pickle.loads(pickle.dumps(net))
    clone.params[-1] = 5.0
    assert clone.decoder.get_weights()["head.bias"][0] == 5.0
    with pytest.raises(KeyError, match="encoder"):
        net.set_weights({"head.bias": np.zeros(1)})
