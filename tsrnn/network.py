"""Recurrent networks: stacked (optionally bidirectional) cells and a dense head.

A :class:`RecurrentNetwork` owns one flat parameter vector and one flat gradient vector of the
same layout; every weight is a named view into them, named as in PyTorch
(``weight_ih_l0``, ``weight_hh_l1_reverse``, ...; the head is ``head.weight`` and
``head.bias``), so optimisers update a single array and weights move to and from
``torch.nn.LSTM``/``GRU``/``RNN`` plus ``torch.nn.Linear`` by name.

Forward and backward passes call the compiled kernels of :mod:`tsrnn.kernels` directly and do
the remaining small matrix work (the head) with numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from tsrnn.kernels import _cpu
from tsrnn.kernels import _functional as kf
from tsrnn.kernels._cells import CELLS

__all__ = [
    "PREDICT_BATCH",
    "DirectNetworks",
    "ForwardCache",
    "PartsArrays",
    "RecurrentNetwork",
    "Seq2SeqNetwork",
    "StackArrays",
    "backprop_direct",
    "backprop_seq2seq",
    "backprop_stack",
    "parameter_views",
    "run_direct",
    "run_seq2seq",
    "run_stack",
]

_INITS = ("pytorch", "orthogonal")

# Inference runs in batches of this many windows, bounding the memory it needs, per device.
# The CPU's buffers grow with the batch while its threads gain nothing past a few chunks of
# ``CHUNK_ROWS`` each; a GPU needs thousands of sequences at once to fill its multiprocessors
# (see ``launch_shape``), and a batch's device buffers live in its own, larger memory. Results do
# not depend on either value: every row's outputs are independent of the others in its batch.
PREDICT_BATCH = {"cpu": 4096, "cuda": 65536}

# The name of a network's series embedding (see RecurrentNetwork's n_series and embedding_size).
EMBEDDING = "series_embedding.weight"


class _Workspace:
    """Buffers reused from one call to the next, keyed by name; reallocated when shapes change.

    Reusing them spares the page faults of fresh multi-megabyte allocations at every step.
    ``generation`` counts the passes that wrote into them, so that a cache whose buffers a
    later pass overwrote is recognised instead of silently giving wrong gradients.
    """

    def __init__(self) -> None:
        self.arrays: dict[tuple[Any, ...], np.ndarray] = {}
        self.generation = 0

    def allocator(self, *prefix: Any) -> Any:
        def alloc(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
            key = (*prefix, name)
            array = self.arrays.get(key)
            # ``is`` first: the same dtype object, call after call (comparing dtypes costs more).
            if array is None or array.shape != shape or (array.dtype is not dtype and array.dtype != dtype):
                array = self.arrays[key] = np.empty(shape, dtype)
            return array

        return alloc


@dataclass
class ForwardCache:
    """Everything :meth:`RecurrentNetwork.backward` needs from one forward pass.

    Valid until the next :meth:`RecurrentNetwork.forward` of the same network, which reuses
    its buffers. A network on the GPU keeps the same record of its passes, of device arrays.
    """

    x_shape: tuple[int, ...]
    generation: int
    layer_caches: list[list[Any]] = field(default_factory=list)
    dropout_masks: list[np.ndarray | None] = field(default_factory=list)
    features: np.ndarray | None = None
    return_sequences: bool = False
    final_state: list[tuple[np.ndarray, ...]] = field(default_factory=list)
    d_initial_state: list[tuple[np.ndarray, ...]] | None = None
    top_shape: tuple[int, ...] = ()
    series: Any = None  # each row's series, for the embedding's gradient


class RecurrentNetwork:
    """Stacked recurrent layers followed by a linear head, on one flat parameter vector.

    Parameters
    ----------
    input_size : int
        Features per time step (F).
    hidden_size : int
        Hidden units per layer and direction (H).
    output_size : int, default=1
        Outputs of the linear head (O); 0 for no head, so that ``y`` is the top layer's
        features (an encoder whose final state feeds another network).
    cell : {"lstm", "gru", "rnn"}, default="lstm"
        Recurrent cell, with PyTorch's gate order and weight layout.
    num_layers : int, default=1
        Stacked recurrent layers; layer ``k > 0`` reads the outputs of layer ``k - 1``.
    bidirectional : bool, default=False
        Run a second cell over the reversed sequence in every layer and concatenate.
    activation : {"tanh", "relu"}, default="tanh"
        Nonlinearity of the simple RNN cell (ignored by LSTM and GRU).
    dropout : float, default=0.0
        Dropout probability on the outputs of every recurrent layer but the last, applied only
        in training passes (inverted dropout, as ``torch.nn.LSTM(dropout=...)``).
    init : {"pytorch", "orthogonal"}, default="pytorch"
        ``"pytorch"``: every recurrent weight and bias uniform in ``±1/sqrt(H)``, the head
        like ``torch.nn.Linear``. ``"orthogonal"``: each gate's block of ``weight_hh`` is a
        random orthogonal matrix, biases are zero except the LSTM forget gate's (one).
    dtype : {numpy.float32, numpy.float64}, default=numpy.float32
        Precision of parameters and computation.
    random_state : int, numpy.random.Generator or None
        Seed or generator for the initialisation.
    n_series, embedding_size : int, default=0
        A learned embedding of ``n_series`` series (``series_embedding.weight``, shape
        (n_series, embedding_size), initialised N(0, 1) as ``torch.nn.Embedding``): every
        step of a row reads its series' vector after its F features, so the first layer
        has ``F + embedding_size`` inputs, and the passes take each row's series
        (``series=``). Both 0: no embedding.

    Attributes
    ----------
    params : ndarray of shape (n_params,)
        All parameters; the arrays of :meth:`named_parameters` are views into it.
    grads : ndarray of shape (n_params,)
        Gradients of the last :meth:`backward`, in the same layout.
    """

    # Networks pickled before series embeddings have none.
    n_series = 0
    embedding_size = 0

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int = 1,
        *,
        cell: str = "lstm",
        num_layers: int = 1,
        bidirectional: bool = False,
        activation: str = "tanh",
        dropout: float = 0.0,
        init: str = "pytorch",
        dtype: type | np.dtype = np.float32,
        random_state: int | np.random.Generator | None = None,
        n_series: int = 0,
        embedding_size: int = 0,
    ) -> None:
        for name, value, low in (
            ("input_size", input_size, 1),
            ("hidden_size", hidden_size, 1),
            ("output_size", output_size, 0),
            ("num_layers", num_layers, 1),
            ("n_series", n_series, 0),
            ("embedding_size", embedding_size, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"`{name}` must be an int >= {low}; got {value!r}")
        if (n_series == 0) != (embedding_size == 0):
            raise ValueError(
                "an embedding needs both n_series and embedding_size >= 1 (or both 0); "
                f"got {n_series} and {embedding_size}"
            )
        if cell not in CELLS:
            raise ValueError(f"`cell` must be one of {sorted(CELLS)}; got {cell!r}")
        if activation not in ("tanh", "relu"):
            raise ValueError(f"`activation` must be 'tanh' or 'relu'; got {activation!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1); got {dropout!r}")
        if init not in _INITS:
            raise ValueError(f"`init` must be one of {_INITS}; got {init!r}")
        dtype = np.dtype(dtype)
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"`dtype` must be float32 or float64; got {dtype}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.output_size = int(output_size)
        self.cell = cell
        self.num_layers = int(num_layers)
        self.bidirectional = bool(bidirectional)
        self.activation = activation
        self.dropout = float(dropout)
        self.init = init
        self.dtype = dtype
        self.n_series = int(n_series)
        self.embedding_size = int(embedding_size)
        self._layout = self._make_layout()
        size = sum(int(np.prod(shape)) for _, shape in self._layout.values())
        self.params = np.zeros(size, dtype)
        self.grads = np.zeros(size, dtype)
        self._bind_views()
        self._initialise(np.random.default_rng(random_state))

    # ------------------------------------------------------------------------- parameters

    @property
    def _cell(self) -> Any:
        """The registry entry of :attr:`cell` (looked up, not stored: pickles keep only the name)."""
        return CELLS[self.cell]

    @property
    def num_directions(self) -> int:
        """2 for a bidirectional network, else 1."""
        return 2 if self.bidirectional else 1

    def suffixes(self) -> list[str]:
        """Suffixes of the parameter names of each direction: ``[""]``, or ``["", "_reverse"]``.

        Direction ``d`` of layer ``l`` owns ``weight_ih_l{l}{suffixes()[d]}`` and the like, as in
        PyTorch; a device copy of the network walks the directions in this order.
        """
        return ["", "_reverse"][: self.num_directions]

    @property
    def layout(self) -> dict[str, tuple[int, tuple[int, ...]]]:
        """Where each named parameter lies in :attr:`params`: name -> (offset, shape).

        In the order of :meth:`get_weights`. A device copy of the network cuts its own flat
        vector into the same views with it. Read only.
        """
        return self._layout

    def _make_layout(self) -> dict[str, tuple[int, tuple[int, ...]]]:
        rows = self._cell.gates * self.hidden_size
        layout: dict[str, tuple[int, tuple[int, ...]]] = {}
        offset = 0

        def add(name: str, shape: tuple[int, ...]) -> None:
            nonlocal offset
            layout[name] = (offset, shape)
            offset += int(np.prod(shape))

        for layer in range(self.num_layers):
            inputs = self.input_size + self.embedding_size if layer == 0 else self.hidden_size * self.num_directions
            for suffix in self.suffixes():
                add(f"weight_ih_l{layer}{suffix}", (rows, inputs))
                add(f"weight_hh_l{layer}{suffix}", (rows, self.hidden_size))
                add(f"bias_ih_l{layer}{suffix}", (rows,))
                add(f"bias_hh_l{layer}{suffix}", (rows,))
        if self.output_size:
            add("head.weight", (self.output_size, self.hidden_size * self.num_directions))
            add("head.bias", (self.output_size,))
        if self.embedding_size:
            add(EMBEDDING, (self.n_series, self.embedding_size))
        return layout

    def _bind_views(self) -> None:
        self._param_views = parameter_views(self.params, self._layout)
        self._grad_views = parameter_views(self.grads, self._layout)
        self._arrays = _HostArrays(self)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_param_views"], state["_grad_views"], state["_arrays"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._bind_views()

    def named_parameters(self) -> dict[str, np.ndarray]:
        """Return views into :attr:`params` by PyTorch name (writing to them changes the network)."""
        return dict(self._param_views)

    def named_gradients(self) -> dict[str, np.ndarray]:
        """Return views into :attr:`grads` by PyTorch name."""
        return dict(self._grad_views)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Return copies of all parameters, keyed by PyTorch names."""
        return {name: view.copy() for name, view in self._param_views.items()}

    def set_head_bias(self, bias: ArrayLike) -> None:
        """Set the head's bias, shape (O,): where the outputs start before training."""
        self.set_weights({"head.bias": bias})

    def set_weights(self, weights: Mapping[str, ArrayLike]) -> None:
        """Set parameters from a mapping of PyTorch names to arrays.

        Every name must be known and every array must have the parameter's shape; names not
        given keep their values. Arrays are converted to the network's dtype (PyTorch tensors
        convert with ``tensor.detach().numpy()``).
        """
        unknown = sorted(set(weights) - set(self._param_views))
        if unknown:
            raise KeyError(f"unknown parameter names {unknown}; expected names from {list(self._param_views)}")
        for name, value in weights.items():
            array = np.asarray(value)
            target = self._param_views[name]
            if array.shape != target.shape:
                raise ValueError(f"`{name}` must have shape {target.shape}; got {array.shape}")
            if not np.isfinite(array).all():
                raise ValueError(f"`{name}` contains NaN or inf")
            target[...] = array

    def _initialise(self, rng: np.random.Generator) -> None:
        bound = 1.0 / np.sqrt(self.hidden_size)
        gates = self._cell.gates
        one_gate = self._cell.bias_one_gate
        for name, view in self._param_views.items():
            if name == EMBEDDING:
                view[...] = rng.standard_normal(view.shape)
            elif name.startswith("head."):
                fan_in = self.hidden_size * self.num_directions
                view[...] = rng.uniform(-1.0, 1.0, view.shape) / np.sqrt(fan_in)
            elif self.init == "pytorch" or name.startswith("weight_ih"):
                view[...] = rng.uniform(-bound, bound, view.shape)
            elif name.startswith("weight_hh"):
                for g in range(gates):
                    view[g * self.hidden_size : (g + 1) * self.hidden_size] = _orthogonal(rng, self.hidden_size)
            else:
                view[...] = 0.0
                if one_gate is not None and name.startswith("bias_ih"):
                    view[one_gate * self.hidden_size : (one_gate + 1) * self.hidden_size] = 1.0

    # ------------------------------------------------------------------- forward, backward

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.input_size or 0 in x.shape:
            raise ValueError(
                f"`x` must have shape (batch, time, {self.input_size}) with batch, time >= 1; got {x.shape}"
            )
        return kf.writeable(np.ascontiguousarray(x, dtype=self.dtype))

    def forward(
        self,
        x: np.ndarray,
        *,
        return_sequences: bool = False,
        training: bool = False,
        rng: np.random.Generator | None = None,
        initial_state: list[tuple[np.ndarray, ...]] | None = None,
        lengths: ArrayLike | None = None,
        series: ArrayLike | None = None,
    ) -> tuple[np.ndarray, ForwardCache]:
        """Run the network.

        Parameters
        ----------
        x : ndarray of shape (B, T, F)
            Input sequences (converted to the network's dtype).
        return_sequences : bool, default=False
            False: the head reads the top layer's final states (for a bidirectional network,
            the forward direction's state after step T and the reverse direction's state
            after step 1, concatenated) and returns (B, O). True: the head reads every step
            of the top layer's output and returns (B, T, O). Without a head
            (``output_size=0``) these features are ``y``.
        training : bool, default=False
            Apply dropout (needs ``rng`` when ``dropout > 0``).
        rng : numpy.random.Generator, optional
            Source of dropout masks.
        initial_state : list of tuples of ndarray, optional
            Per layer, ``(h0,)`` or for LSTM ``(h0, c0)``, each of shape (B, H); zeros when
            omitted. Only for unidirectional networks.
        lengths : array-like of int, shape (B,), optional
            Real steps of each sequence of ``x``, padded at the end to T. Every layer's state
            stops at a row's last real step (see "Variable lengths" in :mod:`tsrnn.kernels`):
            the final features are those of the real steps (the reverse direction starts at
            the last real one), and a padded row's ``y`` equals, bit for bit, that of its real
            steps alone. With ``return_sequences``, over the padding the forward direction's
            outputs repeat its last real step's, the reverse direction's its initial state.
            None: every sequence has T steps.
        series : array-like of int, shape (B,), optional
            With an embedding (and only then): each row's series, in ``[0, n_series)``, or
            -1 for a series the embedding never saw, which reads the mean of its vectors.

        Returns
        -------
        y : ndarray of shape (B, O) or (B, T, O)
        cache : ForwardCache
            What :meth:`backward` needs; ``cache.final_state`` holds each layer's final
            ``(h_T,)`` or ``(h_T, c_T)`` (forward direction).
        """
        return self._forward(x, return_sequences, training, rng, "forward", initial_state, lengths, series)

    def _state_arrays(self, states: list[tuple[np.ndarray, ...]] | None, batch: int, name: str) -> list[tuple]:
        """Check per-layer states, or make zeros; one tuple of (B, H) arrays per layer."""
        count = len(self._cell.states)
        if states is None:
            zeros = np.zeros((batch, self.hidden_size), self.dtype)
            return [(zeros,) * count] * self.num_layers
        if self.bidirectional:
            raise ValueError(f"`{name}` is supported only by unidirectional networks")
        if len(states) != self.num_layers or any(len(layer) != count for layer in states):
            raise ValueError(f"`{name}` must hold {self.num_layers} tuples of {count} arrays (one per layer)")
        shape = (batch, self.hidden_size)
        checked = []
        for layer in states:
            arrays = tuple(np.ascontiguousarray(a, dtype=self.dtype) for a in layer)
            if any(a.shape != shape for a in arrays):
                raise ValueError(f"every array of `{name}` must have shape {shape}")
            checked.append(arrays)
        return checked

    def _forward(
        self,
        x: np.ndarray,
        return_sequences: bool,
        training: bool,
        rng: np.random.Generator | None,
        workspace_name: str,
        initial_state: list[tuple[np.ndarray, ...]] | None = None,
        lengths: ArrayLike | None = None,
        series: ArrayLike | None = None,
    ) -> tuple[np.ndarray, ForwardCache]:
        """Check a pass's arguments and run it in the ``"forward"`` (keeps a cache) or ``"predict"`` buffers."""
        x = self._check_input(x)
        series = self.check_series(series, x.shape[0])
        lengths = kf.validate_lengths(lengths, *x.shape[:2])
        if lengths is not None:
            # Gate gradients are zero over the padding, but the input weights' are sums of them times
            # the inputs: a NaN there would make them NaN. Zeros in a copy (the caller's x unchanged),
            # made only where the padding holds anything else (the estimators pad with zeros).
            padding = ~kf.real_steps(lengths, x.shape[1])
            if np.any(x[padding]):
                x = x.copy()
                x[padding] = 0
        states = None if initial_state is None else self._state_arrays(initial_state, x.shape[0], "initial_state")
        use_dropout = training and self.dropout > 0.0 and self.num_layers > 1
        if use_dropout and rng is None:
            raise ValueError("`rng` is needed for dropout in a training pass")
        keep = workspace_name != "predict"
        noise = rng if use_dropout else None
        return run_stack(self._arrays, x, return_sequences, keep, noise, states, lengths, series)

    def backward(
        self,
        d_y: np.ndarray,
        cache: ForwardCache,
        *,
        bptt_steps: int | None = None,
        d_final_state: list[tuple[np.ndarray, ...]] | None = None,
    ) -> np.ndarray:
        """Backpropagate ``d_y = dL/dy`` of the forward pass that made ``cache``.

        Parameters
        ----------
        d_y : ndarray of the shape of ``y``
            Gradient of the loss with respect to the network's output.
        cache : ForwardCache
            From :meth:`forward`.
        bptt_steps : int or None
            Truncated BPTT in every recurrent layer (see :mod:`tsrnn.kernels`).
        d_final_state : list of tuples of ndarray, optional
            Gradient with respect to ``cache.final_state``, in its layout (unidirectional
            networks only).

        Returns
        -------
        d_x : ndarray of shape (B, T, F)
            Gradient with respect to the input. The parameter gradients are in :attr:`grads`;
            the gradient with respect to the initial state is left in ``cache.d_initial_state``.
        """
        bptt = kf._validate_bptt(bptt_steps)
        d_y = np.ascontiguousarray(d_y, dtype=self.dtype)
        batch = cache.x_shape[0]
        d_states = None if d_final_state is None else self._state_arrays(d_final_state, batch, "d_final_state")
        return np.ascontiguousarray(backprop_stack(self._arrays, d_y, cache, bptt, d_states))

    def predict(
        self,
        x: np.ndarray,
        *,
        return_sequences: bool = False,
        initial_state: list[tuple[np.ndarray, ...]] | None = None,
        lengths: ArrayLike | None = None,
        series: ArrayLike | None = None,
    ) -> np.ndarray:
        """Forward pass for inference (no dropout); returns only ``y``.

        Uses buffers of its own, so it leaves the cache of the last :meth:`forward` valid.
        ``lengths`` and ``series`` as for :meth:`forward`.
        """
        return self._forward(x, return_sequences, False, None, "predict", initial_state, lengths, series)[0]

    def check_series(self, series: ArrayLike | None, batch: int) -> np.ndarray | None:
        """Return each row's series as int64 (B,), checked against the embedding; None without one."""
        if not self.embedding_size:
            if series is not None:
                raise ValueError("`series` is for a network with a series embedding (embedding_size >= 1)")
            return None
        if series is None:
            raise ValueError("this network embeds series: pass each row's series, `series` of shape (batch,)")
        values = np.asarray(series)
        if values.shape != (batch,) or values.dtype.kind not in "iu":
            raise ValueError(
                f"`series` must be {batch} integers, one per row; got {values.dtype} of shape {values.shape}"
            )
        if values.size and (values.min() < -1 or values.max() >= self.n_series):
            raise ValueError(
                f"`series` must lie in [-1, {self.n_series}); got values from {values.min()} to {values.max()}"
            )
        return np.ascontiguousarray(values, dtype=np.int64)


class _Composite:
    """Several :class:`RecurrentNetwork` parts whose parameters share one flat vector.

    ``self.parts`` maps a name prefix to each part; names of :meth:`get_weights` are
    ``"<prefix>.<PyTorch name>"``.
    """

    parts: dict[str, RecurrentNetwork]

    def _pack(self) -> None:
        sizes = [part.params.size for part in self.parts.values()]
        self.dtype = next(iter(self.parts.values())).dtype
        self.params = np.concatenate([part.params for part in self.parts.values()])
        self.grads = np.zeros_like(self.params)
        self._offsets = np.cumsum([0, *sizes])
        self._bind_views()

    @property
    def offsets(self) -> np.ndarray:
        """Bounds of the parts in :attr:`params`: part ``k`` owns ``params[offsets[k]:offsets[k + 1]]``.

        Of length ``len(parts) + 1``, in the order of :attr:`parts`. Read only.
        """
        return self._offsets

    def _bind_views(self) -> None:
        for part, start, stop in zip(self.parts.values(), self._offsets[:-1], self._offsets[1:], strict=True):
            part.params = self.params[start:stop]
            part.grads = self.grads[start:stop]
            part._bind_views()

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()

    def _part_arrays(self) -> list[_HostArrays]:
        return [part._arrays for part in self.parts.values()]

    def _noise(self, training: bool, rng: np.random.Generator | None) -> np.random.Generator | None:
        """Return the dropout source of a pass (``rng`` or None); the parts share one configuration."""
        first = next(iter(self.parts.values()))
        if training and first.dropout > 0.0 and first.num_layers > 1 and rng is None:
            raise ValueError("`rng` is needed for dropout in a training pass")
        return rng if training else None

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._bind_views()

    def get_weights(self) -> dict[str, np.ndarray]:
        """Return copies of all parameters, keyed ``"<part>.<PyTorch name>"``."""
        weights = {}
        for prefix, part in self.parts.items():
            weights.update({f"{prefix}.{name}": value for name, value in part.get_weights().items()})
        return weights

    def set_weights(self, weights: Mapping[str, ArrayLike]) -> None:
        """Set parameters from a mapping of the names of :meth:`get_weights` to arrays."""
        split: dict[str, dict[str, ArrayLike]] = {prefix: {} for prefix in self.parts}
        for name, value in weights.items():
            prefix, _, rest = name.partition(".")
            if prefix not in split:
                raise KeyError(f"unknown parameter name {name!r}; names start with one of {list(self.parts)}")
            split[prefix][rest] = value
        for prefix, part in self.parts.items():
            part.set_weights(split[prefix])


class Seq2SeqNetwork(_Composite):
    """An encoder over the input window whose final states start a decoder over the horizon.

    Both are unidirectional :class:`RecurrentNetwork` stacks of the same cell, size and depth;
    the decoder starts from the encoder's final state in every layer, reads one input vector
    per output step (what is known of that step in advance) and its head maps each step's
    state to that step's outputs. Parameters and gradients live in one flat vector each;
    names carry the prefixes ``encoder.`` and ``decoder.``.

    Parameters
    ----------
    input_size : int
        Features per encoder step.
    decoder_input_size : int
        Features per decoder step.
    hidden_size, output_size, cell, num_layers, activation, dropout, init, dtype, random_state
        As for :class:`RecurrentNetwork` (``output_size`` per decoder step).
    n_series, embedding_size : int, default=0
        The encoder's series embedding (see :class:`RecurrentNetwork`).
    """

    def __init__(
        self,
        input_size: int,
        decoder_input_size: int,
        hidden_size: int,
        output_size: int = 1,
        *,
        cell: str = "lstm",
        num_layers: int = 1,
        activation: str = "tanh",
        dropout: float = 0.0,
        init: str = "pytorch",
        dtype: type | np.dtype = np.float32,
        random_state: int | np.random.Generator | None = None,
        n_series: int = 0,
        embedding_size: int = 0,
    ) -> None:
        rng = np.random.default_rng(random_state)
        shared = {
            "hidden_size": hidden_size, "cell": cell, "num_layers": num_layers, "activation": activation,
            "dropout": dropout, "init": init, "dtype": dtype, "random_state": rng,
        }  # fmt: skip
        if isinstance(output_size, (int, np.integer)) and not isinstance(output_size, bool) and output_size < 1:
            raise ValueError(f"`output_size` must be an int >= 1; got {output_size!r}")
        embedding = {"n_series": n_series, "embedding_size": embedding_size}
        self.encoder = RecurrentNetwork(input_size, output_size=0, **shared, **embedding)
        self.decoder = RecurrentNetwork(decoder_input_size, output_size=output_size, **shared)
        self.parts = {"encoder": self.encoder, "decoder": self.decoder}
        self._pack()

    def set_head_bias(self, bias: ArrayLike) -> None:
        """Set the decoder head's bias, shape (O,): the outputs of every forecast step start there."""
        self.decoder.set_head_bias(bias)

    def forward(
        self,
        x: np.ndarray,
        x_decoder: np.ndarray,
        *,
        training: bool = False,
        rng: np.random.Generator | None = None,
        series: ArrayLike | None = None,
    ) -> tuple[np.ndarray, tuple[ForwardCache, ForwardCache]]:
        """Encode ``x`` (B, T, F), decode over ``x_decoder`` (B, S, F_dec); return y (B, S, O) and the caches.

        ``series`` (B,): each row's series, for an encoder with an embedding.
        """
        inputs = self.encoder._check_input(x), self.decoder._check_input(x_decoder)
        series = self.encoder.check_series(series, inputs[0].shape[0])
        return run_seq2seq(_HOST_PARTS, self._part_arrays(), inputs, True, self._noise(training, rng), series)

    def backward(
        self, d_y: np.ndarray, cache: tuple[ForwardCache, ForwardCache], *, bptt_steps: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Backpropagate ``d_y``; return the gradients of both inputs, parameters' in :attr:`grads`.

        ``bptt_steps`` truncates the encoder's and the decoder's recurrences separately.
        """
        d_y = np.ascontiguousarray(d_y, dtype=self.dtype)
        d_x, d_x_decoder = backprop_seq2seq(_HOST_PARTS, self._part_arrays(), d_y, cache, kf._validate_bptt(bptt_steps))
        return np.ascontiguousarray(d_x), np.ascontiguousarray(d_x_decoder)

    def predict(self, x: np.ndarray, x_decoder: np.ndarray, *, series: ArrayLike | None = None) -> np.ndarray:
        """Inference forward pass; returns y of shape (B, S, O)."""
        inputs = self.encoder._check_input(x), self.decoder._check_input(x_decoder)
        series = self.encoder.check_series(series, inputs[0].shape[0])
        return run_seq2seq(_HOST_PARTS, self._part_arrays(), inputs, False, None, series)[0]


class DirectNetworks(_Composite):
    """One independent :class:`RecurrentNetwork` per forecast step, all reading the same input.

    Network ``j`` predicts the ``output_size`` values of step ``j``; outputs are concatenated
    in step order, shape (B, steps · output_size), the layout of a single multi-output head.
    Names carry the prefixes ``step0.``, ``step1.``, ...

    Parameters
    ----------
    steps : int
        Number of networks (forecast steps).
    input_size, hidden_size, output_size, **options
        As for :class:`RecurrentNetwork`; ``random_state`` seeds all of them in turn.
    """

    def __init__(self, steps: int, input_size: int, hidden_size: int, output_size: int = 1, **options: Any) -> None:
        rng = np.random.default_rng(options.pop("random_state", None))
        self.output_size = output_size
        self.parts = {
            f"step{j}": RecurrentNetwork(input_size, hidden_size, output_size, random_state=rng, **options)
            for j in range(steps)
        }
        self._pack()

    def forward(
        self,
        x: np.ndarray,
        *,
        return_sequences: bool = False,
        training: bool = False,
        rng: np.random.Generator | None = None,
        series: ArrayLike | None = None,
    ) -> tuple[np.ndarray, list[ForwardCache]]:
        """Run every network on ``x``; return y (B, steps · O) and their caches.

        ``return_sequences`` must be False: each network outputs one step, after the window.
        ``series`` (B,): each row's series, for networks with an embedding (each its own).
        """
        _no_sequences(return_sequences)
        first = next(iter(self.parts.values()))
        x, series = first._check_input(x), first.check_series(series, np.shape(x)[0])
        return run_direct(_HOST_PARTS, self._part_arrays(), x, True, self._noise(training, rng), series)

    def backward(self, d_y: np.ndarray, cache: list[ForwardCache], *, bptt_steps: int | None = None) -> np.ndarray:
        """Backpropagate ``d_y`` (B, steps · O); return the gradient of the input."""
        d_y = np.ascontiguousarray(d_y, dtype=self.dtype)
        return backprop_direct(_HOST_PARTS, self._part_arrays(), d_y, cache, kf._validate_bptt(bptt_steps))

    def set_head_bias(self, bias: ArrayLike) -> None:
        """Set the heads' biases, shape (steps · O,) in step order, the layout of the outputs."""
        for part, part_bias in zip(self.parts.values(), np.split(np.asarray(bias), len(self.parts)), strict=True):
            part.set_head_bias(part_bias)

    def predict(self, x: np.ndarray, *, return_sequences: bool = False, series: ArrayLike | None = None) -> np.ndarray:
        """Inference forward pass; returns y of shape (B, steps · O)."""
        _no_sequences(return_sequences)
        first = next(iter(self.parts.values()))
        x, series = first._check_input(x), first.check_series(series, np.shape(x)[0])
        return run_direct(_HOST_PARTS, self._part_arrays(), x, False, None, series)[0]


def input_part(network: RecurrentNetwork | DirectNetworks | Seq2SeqNetwork) -> RecurrentNetwork:
    """Return the network that reads a network's input windows: itself, its first step's, or its encoder."""
    if isinstance(network, Seq2SeqNetwork):
        return network.encoder
    if isinstance(network, DirectNetworks):
        return next(iter(network.parts.values()))
    return network


# --------------------------------------------------------------------- the shared layer loop


class StackArrays(Protocol):
    """The buffers and array operations one :class:`RecurrentNetwork` runs on: host or device arrays.

    :func:`run_stack` and :func:`backprop_stack` are the layer loop of every network, written
    once over these operations; the host's (:class:`_HostArrays`, numpy batch-first arrays and
    the kernels of :mod:`tsrnn.kernels`) and the GPU's (``tsrnn._cuda.network.DeviceNetwork``,
    time-major device arrays and the kernels of :mod:`tsrnn._cuda.kernels`) supply them. Arrays
    are in the implementation's own layout; ``workspace`` is one of :attr:`workspaces`.
    """

    network: RecurrentNetwork
    # "forward" (passes that keep a cache), "predict" and "backward": each has a ``generation``.
    workspaces: dict[str, Any]

    def batch_of(self, shape: tuple[int, ...]) -> int:
        """Return the batch size of an array of this shape (inputs, layer outputs)."""

    def zero_states(self, batch: int, workspace: Any) -> list[tuple[Any, ...]]:
        """Per layer, ``(h,)`` or ``(h, c)`` of zeros, shape (B, H)."""

    def layer_forward(
        self, layer: int, x: Any, state: tuple[Any, ...], keep: bool, workspace: Any, lengths: Any = None
    ) -> tuple:
        """Every direction of ``layer`` over ``x``; ``(output, final state of the forward direction, caches)``.

        ``lengths`` (B,), int64 in the arrays' memory, or None: the real steps of each sequence.
        The caches keep what the backward pass needs of them.
        """

    def dropout(self, out: Any, layer: int, noise: Any, workspace: Any) -> tuple[Any, Any]:
        """Inverted dropout on a layer's output from ``noise`` (a generator, a seed); ``(output, mask)``."""

    def final_features(self, top: Any, workspace: Any) -> Any:
        """Return the head's input without ``return_sequences``: each direction's state after its last step."""

    def head_forward(self, features: Any, workspace: Any) -> Any:
        """``y`` from the features (the features themselves without a head)."""

    def head_backward(self, d_y: Any, features: Any, workspace: Any) -> Any:
        """Head gradients into the network's gradients; return the gradient of ``features``."""

    def scatter_final(self, d_features: Any, top_shape: tuple[int, ...], workspace: Any) -> Any:
        """Gradient of :meth:`final_features`: a top-layer gradient, zero but where features came from."""

    def apply_mask(self, d_out: Any, mask: Any) -> Any:
        """Return the gradient through a dropout mask."""

    def layer_backward(
        self, layer: int, d_out: Any, d_state: tuple[Any, ...], caches: list[Any], bptt: int, workspace: Any
    ) -> tuple[Any, tuple[Any, ...]]:
        """Backpropagate every direction of ``layer``; ``(d_x, d_initial_state of the forward direction)``."""

    def embed(self, x: Any, series: Any, workspace: Any) -> Any:
        """Return ``x`` with each row's embedding vector after its features, at every step.

        A row of series -1 reads the mean of the embedding's vectors.
        """

    def embed_backward(self, d_x: Any, series: Any, workspace: Any) -> Any:
        """Write the embedding's gradient from that of the widened input; return the gradient of ``x``.

        Each vector's gradient sums its rows' over the steps, rows in order: the same every run.
        """


class PartsArrays(Protocol):
    """The array operations that join the parts of a composite network, on one device."""

    def part_noise(self, noise: Any, index: int) -> Any:
        """Return the dropout noise of part ``index`` from the composite's."""

    def join_columns(self, blocks: list[Any]) -> Any:
        """Concatenate (B, O) blocks along the columns."""

    def columns(self, wide: Any, index: int, width: int) -> Any:
        """Block ``index`` of ``width`` columns of ``wide``, contiguous."""

    def add(self, total: Any, part: Any) -> Any:
        """``total + part`` (may add into ``total``)."""

    def zeros(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        """Return an array of zeros, only ever read."""


def run_stack(
    arrays: StackArrays,
    x: Any,
    return_sequences: bool,
    keep: bool,
    noise: Any = None,
    initial_state: list[tuple[Any, ...]] | None = None,
    lengths: Any = None,
    series: Any = None,
) -> tuple[Any, ForwardCache]:
    """Run a stack of recurrent layers and its head forward, as :meth:`RecurrentNetwork.forward`.

    Parameters
    ----------
    arrays : StackArrays
        The network's arrays, on the host or the device; ``x`` in their layout, checked.
    return_sequences : bool
        The head reads every step rather than the final states.
    keep : bool
        Keep what :func:`backprop_stack` needs, in the ``"forward"`` buffers (else ``"predict"``).
    noise : optional
        Dropout between layers from this source; None for no dropout.
    initial_state : list of tuples, optional
        Each layer's starting state; zeros when omitted.
    lengths : optional
        The real steps of each sequence (checked, int64, in the arrays' memory); None: all.
    series : optional
        Each row's series (checked, int64, in the arrays' memory), for a network with an
        embedding, whose vectors join every step's input.

    Returns
    -------
    y, cache
    """
    net = arrays.network
    workspace = arrays.workspaces["forward" if keep else "predict"]
    workspace.generation += 1
    cache = ForwardCache(tuple(x.shape), workspace.generation, return_sequences=return_sequences, series=series)
    states = arrays.zero_states(arrays.batch_of(x.shape), workspace) if initial_state is None else initial_state
    if net.embedding_size:
        x = arrays.embed(x, series, workspace)
    dropout = noise is not None and net.dropout > 0.0
    layer_input = x
    for layer in range(net.num_layers):
        out, final, caches = arrays.layer_forward(layer, layer_input, states[layer], keep, workspace, lengths)
        cache.layer_caches.append(caches)
        cache.final_state.append(final)
        mask = None
        if dropout and layer < net.num_layers - 1:
            out, mask = arrays.dropout(out, layer, noise, workspace)
        cache.dropout_masks.append(mask)
        layer_input = out
    cache.top_shape = tuple(layer_input.shape)
    cache.features = layer_input if return_sequences else arrays.final_features(layer_input, workspace)
    return arrays.head_forward(cache.features, workspace), cache


def backprop_stack(
    arrays: StackArrays, d_y: Any, cache: ForwardCache, bptt: int, d_final_state: list[tuple[Any, ...]] | None = None
) -> Any:
    """Backpropagate through :func:`run_stack`, as :meth:`RecurrentNetwork.backward`.

    ``d_y`` is checked and in the arrays' layout; ``bptt`` is validated (0: full BPTT). Returns
    the gradient of the input; the parameter gradients go into the network's gradient vector,
    the initial states' into ``cache.d_initial_state``.
    """
    net = arrays.network
    if cache.generation != arrays.workspaces["forward"].generation:
        raise ValueError(
            "this forward cache is stale: a later forward pass of the network reused its buffers; "
            "call backward before the next forward"
        )
    workspace = arrays.workspaces["backward"]
    if d_final_state is None:
        d_final_state = arrays.zero_states(arrays.batch_of(cache.top_shape), workspace)
    d_features = arrays.head_backward(d_y, cache.features, workspace)
    if cache.return_sequences:
        d_layer = d_features
    else:
        d_layer = arrays.scatter_final(d_features, cache.top_shape, workspace)
    d_initial: list[tuple[Any, ...]] = []
    for layer in range(net.num_layers - 1, -1, -1):
        mask = cache.dropout_masks[layer]
        if mask is not None:
            d_layer = arrays.apply_mask(d_layer, mask)
        d_layer, d_state = arrays.layer_backward(
            layer, d_layer, d_final_state[layer], cache.layer_caches[layer], bptt, workspace
        )
        d_initial.insert(0, d_state)
    cache.d_initial_state = d_initial
    if net.embedding_size:
        d_layer = arrays.embed_backward(d_layer, cache.series, workspace)
    return d_layer


def run_direct(
    ops: PartsArrays, parts: list[StackArrays], x: Any, keep: bool, noise: Any = None, series: Any = None
) -> tuple[Any, list[ForwardCache]]:
    """Run :class:`DirectNetworks` forward: every part on ``x`` (and its own embedding of ``series``), side by side."""
    results = [run_stack(part, x, False, keep, ops.part_noise(noise, j), series=series) for j, part in enumerate(parts)]
    return ops.join_columns([y for y, _ in results]), [cache for _, cache in results]


def backprop_direct(ops: PartsArrays, parts: list[StackArrays], d_y: Any, caches: list[ForwardCache], bptt: int) -> Any:
    """Backpropagate through :func:`run_direct`; return the gradient of the shared input."""
    d_x = None
    for j, (part, cache) in enumerate(zip(parts, caches, strict=True)):
        d_part = backprop_stack(part, ops.columns(d_y, j, part.network.output_size), cache, bptt)
        d_x = d_part if d_x is None else ops.add(d_x, d_part)
    return d_x


def run_seq2seq(
    ops: PartsArrays, parts: list[StackArrays], inputs: tuple[Any, Any], keep: bool, noise: Any = None,
    series: Any = None,
) -> tuple[Any, tuple[ForwardCache, ForwardCache]]:  # fmt: skip
    """Run :class:`Seq2SeqNetwork` forward: the decoder starts from the encoder's final states.

    ``series`` feeds the encoder's embedding: the decoder learns of the series from its state.
    """
    encoder, decoder = parts
    _, enc_cache = run_stack(encoder, inputs[0], False, keep, ops.part_noise(noise, 0), series=series)
    y, dec_cache = run_stack(decoder, inputs[1], True, keep, ops.part_noise(noise, 1), enc_cache.final_state)
    return y, (enc_cache, dec_cache)


def backprop_seq2seq(
    ops: PartsArrays, parts: list[StackArrays], d_y: Any, cache: tuple[ForwardCache, ForwardCache], bptt: int
) -> tuple[Any, Any]:
    """Backpropagate through :func:`run_seq2seq`; return the gradients of both inputs."""
    encoder, decoder = parts
    enc_cache, dec_cache = cache
    d_x_decoder = backprop_stack(decoder, d_y, dec_cache, bptt)
    # The encoder's output is only its final states: its features get no gradient of their own.
    d_features = ops.zeros(enc_cache.features.shape, encoder.network.dtype)
    d_x = backprop_stack(encoder, d_features, enc_cache, bptt, dec_cache.d_initial_state)
    return d_x, d_x_decoder


class _HostArrays:
    """The layer operations of a :class:`RecurrentNetwork` on the host: batch-first numpy arrays.

    Reversed directions run on reversed copies of their input; buffers come from the network's
    workspaces, which the arrays the caller gets back (``y``, ``d_x``) never alias.
    """

    def __init__(self, network: RecurrentNetwork) -> None:
        self.network = network
        self.workspaces = {"forward": _Workspace(), "predict": _Workspace(), "backward": _Workspace()}

    def batch_of(self, shape: tuple[int, ...]) -> int:
        return shape[0]

    def zero_states(self, batch: int, workspace: _Workspace) -> list[tuple[np.ndarray, ...]]:
        net = self.network
        zeros = np.zeros((batch, net.hidden_size), net.dtype)
        return [(zeros,) * len(net._cell.states)] * net.num_layers

    def layer_forward(
        self,
        layer: int,
        x: np.ndarray,
        state: tuple[np.ndarray, ...],
        keep: bool,
        workspace: _Workspace,
        lengths: np.ndarray | None = None,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...], list[Any]]:
        outputs, caches, final = [], [], ()
        for suffix in self.network.suffixes():
            reverse = suffix == "_reverse"
            seq = np.ascontiguousarray(x[:, ::-1]) if reverse else x
            # Reversed in time, the padding comes first: the row runs the last of its steps.
            window = kf.step_window(lengths, x.shape[1], reverse)
            out, last, cell_cache = self._cell_forward(
                seq, state, layer, suffix, workspace.allocator(layer, suffix), keep, window
            )
            outputs.append(out[:, ::-1] if reverse else out)
            caches.append(cell_cache)
            if not reverse:
                final = last
        out = outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=2)
        return np.ascontiguousarray(out), final, caches

    def _cell_forward(
        self,
        x: np.ndarray,
        state: tuple[np.ndarray, ...],
        layer: int,
        suffix: str,
        alloc: Any,
        keep: bool,
        window: tuple[np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...], Any]:
        net = self.network
        weights = _cell_arrays(net._param_views, layer, suffix)
        extra = {"activation": kf._activation_code(net.activation)} if net._cell.has_activation else {}
        driver = net._cell.driver("forward")
        out, *final, cache = driver(x, *state, *weights, alloc=alloc, keep=keep, window=window, **extra)
        return out, tuple(final), cache

    def dropout(
        self, out: np.ndarray, layer: int, noise: np.random.Generator, workspace: _Workspace
    ) -> tuple[np.ndarray, np.ndarray]:
        dtype = self.network.dtype
        keep = 1.0 - self.network.dropout
        mask = (noise.random(out.shape) < keep).astype(dtype) / dtype.type(keep)
        return np.ascontiguousarray(out * mask), mask

    def final_features(self, top: np.ndarray, workspace: _Workspace) -> np.ndarray:
        hidden = self.network.hidden_size
        if not self.network.bidirectional:
            return np.ascontiguousarray(top[:, -1])
        return np.concatenate([top[:, -1, :hidden], top[:, 0, hidden:]], axis=1)

    def head_forward(self, features: np.ndarray, workspace: _Workspace) -> np.ndarray:
        net = self.network
        if not net.output_size:
            return features.copy()
        flat = features.reshape(-1, features.shape[-1])
        y = np.empty((flat.shape[0], net.output_size), net.dtype)
        _cpu.dense_forward(flat, net._param_views["head.weight"], net._param_views["head.bias"], y)
        return y.reshape(*features.shape[:-1], net.output_size)

    def head_backward(self, d_y: np.ndarray, features: np.ndarray, workspace: _Workspace) -> np.ndarray:
        net = self.network
        flat = features.reshape(-1, features.shape[-1])
        if not net.output_size:
            return d_y.reshape(features.shape)
        d_flat = np.empty_like(flat)
        g = net._grad_views
        _cpu.dense_backward(
            d_y.reshape(-1, net.output_size), flat, net._param_views["head.weight"], g["head.weight"], g["head.bias"],
            d_flat,
        )  # fmt: skip
        return d_flat.reshape(features.shape)

    def scatter_final(self, d_features: np.ndarray, top_shape: tuple[int, ...], workspace: _Workspace) -> np.ndarray:
        hidden = self.network.hidden_size
        d_top = workspace.allocator()("d_top", top_shape, self.network.dtype)
        d_top.fill(0)
        d_top[:, -1, :hidden] = d_features[:, :hidden]
        if self.network.bidirectional:
            d_top[:, 0, hidden:] = d_features[:, hidden:]
        return d_top

    def apply_mask(self, d_out: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return d_out * mask

    def embed(self, x: np.ndarray, series: np.ndarray, workspace: _Workspace) -> np.ndarray:
        table = self.network._param_views[EMBEDDING]
        vectors = table[np.maximum(series, 0)]
        if (series < 0).any():
            vectors[series < 0] = table.mean(axis=0)
        widened = workspace.allocator()("embedded", (*x.shape[:2], x.shape[2] + table.shape[1]), x.dtype)
        widened[:, :, : x.shape[2]] = x
        widened[:, :, x.shape[2] :] = vectors[:, None, :]
        return widened

    def embed_backward(self, d_x: np.ndarray, series: np.ndarray, workspace: _Workspace) -> np.ndarray:
        features = self.network.input_size
        grad = self.network._grad_views[EMBEDDING]
        grad[...] = 0.0
        seen = series >= 0
        np.add.at(grad, series[seen], d_x[seen, :, features:].sum(axis=1))
        return d_x[:, :, :features]

    def layer_backward(
        self,
        layer: int,
        d_out: np.ndarray,
        d_state: tuple[np.ndarray, ...],
        caches: list[Any],
        bptt: int,
        workspace: _Workspace,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        hidden = self.network.hidden_size
        d_input, d_initial = None, ()
        for direction, suffix in enumerate(self.network.suffixes()):
            reverse = suffix == "_reverse"
            d_dir = d_out[:, :, direction * hidden : (direction + 1) * hidden]
            d_dir = np.ascontiguousarray(d_dir[:, ::-1] if reverse else d_dir)
            alloc = workspace.allocator(layer, suffix)
            d_x, *d_h = self._cell_backward(d_dir, d_state, caches[direction], layer, suffix, bptt, alloc)
            if reverse:
                d_x = d_x[:, ::-1]
            else:
                d_initial = tuple(d_h)
            d_input = d_x if d_input is None else d_input + d_x
        return d_input, d_initial

    def _cell_backward(
        self,
        d_out: np.ndarray,
        d_state: tuple[np.ndarray, ...],
        cell_cache: Any,
        layer: int,
        suffix: str,
        bptt: int,
        alloc: Any,
    ) -> tuple[np.ndarray, ...]:
        """Return ``(d_x, d_h0)`` or, for LSTM, ``(d_x, d_h0, d_c0)``."""
        weight_grads = _cell_arrays(self.network._grad_views, layer, suffix)
        cell = self.network._cell
        grads = cell.driver("backward")(d_out, *d_state, cell_cache, bptt, weight_grads, alloc=alloc)
        return grads[: 1 + len(cell.states)]


class _HostParts:
    """How the parts of a composite network join on the host."""

    def part_noise(self, noise: Any, index: int) -> Any:
        # One generator draws every part's masks in turn.
        return noise

    def join_columns(self, blocks: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(blocks, axis=1)

    def columns(self, wide: np.ndarray, index: int, width: int) -> np.ndarray:
        return np.ascontiguousarray(wide[:, index * width : (index + 1) * width])

    def add(self, total: np.ndarray, part: np.ndarray) -> np.ndarray:
        return total + part

    def zeros(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return np.zeros(shape, dtype)


_HOST_PARTS = _HostParts()


def _no_sequences(return_sequences: bool) -> None:
    if return_sequences:
        raise ValueError("DirectNetworks predict one step per network: return_sequences must be False")


def _cell_arrays(views: dict[str, Any], layer: int, suffix: str) -> tuple[Any, ...]:
    """Return the (w_ih, w_hh, b_ih, b_hh) views of one layer and direction, in the kernels' order."""
    return tuple(views[f"{kind}_l{layer}{suffix}"] for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def parameter_views(flat: Any, layout: dict[str, tuple[int, tuple[int, ...]]]) -> dict[str, Any]:
    """Cut a flat vector (host or device) into named views by a network's :attr:`~RecurrentNetwork.layout`."""
    return {
        name: flat[offset : offset + int(np.prod(shape))].reshape(shape) for name, (offset, shape) in layout.items()
    }


def _orthogonal(rng: np.random.Generator, size: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((size, size)))
    return q * np.sign(np.diag(r))
