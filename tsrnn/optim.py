"""Optimisers and gradient clipping for one flat parameter vector.

A network keeps all its weights in one flat, C-contiguous float32 or float64 vector, and its
backward pass writes the gradient into a second vector of the same shape and dtype. The
optimisers here update the parameter vector in place from the gradient vector::

    params = np.zeros(n_params)
    optimizer = Adam(params, learning_rate=1e-3)
    for batch in batches:
        grads = gradient(params, batch)
        norm = clip_grad_norm(grads, max_norm=1.0)
        if not math.isfinite(norm):
            raise FloatingPointError(f"the gradient norm is {norm}")
        optimizer.step(grads)

:class:`SGD` follows ``torch.optim.SGD`` (without dampening), :class:`Adam` follows
``torch.optim.Adam`` and, with ``decoupled_weight_decay=True``, ``torch.optim.AdamW``, operation
for operation: the scalar factors (bias corrections, step sizes) are computed in double
precision as PyTorch does and then rounded to the parameters' dtype, and all elementwise
arithmetic runs in that dtype. The elementwise work is done by small compiled loops; the
classes around them validate, keep the state and compute the scalars.

The state of an optimiser (hyperparameters, step counter and moment arrays) comes out of
:meth:`SGD.state_dict` as a plain dict of numpy arrays and Python scalars, which pickles, and
goes back in with :meth:`SGD.load_state_dict`; training resumed that way continues bit for bit
as if it had not been interrupted.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from tsrnn._config import inline_jit, jit

__all__ = ["SGD", "Adam", "clip_grad_norm"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# clip_grad_norm sums squares in chunks of this many elements, chunk after chunk: the result
# depends only on the values, never on threads or on how the caller split the work.
_NORM_CHUNK = 1024

# What torch.nn.utils.clip_grad_norm_ adds to the norm before dividing.
CLIP_EPS = 1e-6


# ---------------------------------------------------------------------------------- kernels


def sgd_update(p, g, b, lr, momentum, weight_decay, use_decay, use_momentum, nesterov, first):
    """SGD for one element: parameter ``p``, gradient ``g``, momentum buffer ``b`` -> (p, b).

    Every float has the dtype of the parameters. ``first`` says that the buffer holds nothing
    yet: it starts as a copy of the gradient. Without momentum ``b`` is returned unchanged.
    """
    if use_decay:
        g = g + weight_decay * p
    if use_momentum:
        if first:
            b = g
        else:
            b = b * momentum + g
        if nesterov:
            g = g + momentum * b
        else:
            g = b
    return p - lr * g, b


def adam_update(
    p, g, m, v, weight_decay, use_decay, decoupled, param_scale, small_weight, avg_weight, rest_weight,
    beta2, sq_weight, step_size, bias_correction2_sqrt, epsilon,
):  # fmt: skip
    """Adam for one element: parameter, gradient and the two moments -> (p, m, v).

    Every float has the dtype of the parameters. ``m`` moves towards the gradient as
    ``torch.lerp`` computes it with weight ``avg_weight`` (``1 - beta1``; ``rest_weight`` is
    ``1 - avg_weight`` and ``small_weight`` says ``|avg_weight| < 0.5``); ``sq_weight`` is
    ``1 - beta2``; ``param_scale`` is ``1 - lr * weight_decay`` (used when ``decoupled``).
    """
    if use_decay:
        if decoupled:
            p = p * param_scale
        else:
            g = g + weight_decay * p
    if small_weight:
        m = m + avg_weight * (g - m)
    else:
        m = g - (g - m) * rest_weight
    v = v * beta2 + sq_weight * g * g
    denom = math.sqrt(v) / bias_correction2_sqrt + epsilon
    return p - step_size * (m / denom), m, v


# The per-element math is written once, as plain Python, so that other backends can compile the
# same source; the CPU loops below inline it.
sgd_update = inline_jit(sgd_update)
adam_update = inline_jit(adam_update)


@jit
def _sgd_step(params, grads, buf, lr, momentum, weight_decay, use_decay, use_momentum, nesterov, first):
    """One SGD step in place; the scalars are those of :func:`sgd_update` (``SGD.step_scalars``)."""
    zero = params.dtype.type(0.0)
    for i in range(params.size):
        b = buf[i] if use_momentum else zero
        p, b = sgd_update(params[i], grads[i], b, lr, momentum, weight_decay, use_decay, use_momentum, nesterov, first)
        if use_momentum:
            buf[i] = b
        params[i] = p


@jit
def _adam_step(
    params, grads, exp_avg, exp_avg_sq, weight_decay, use_decay, decoupled, param_scale, small_weight,
    avg_weight, rest_weight, beta2, sq_weight, step_size, bias_correction2_sqrt, epsilon,
):  # fmt: skip
    """One Adam step in place; the scalars are those of :func:`adam_update` (``Adam.step_scalars``)."""
    for i in range(params.size):
        p, m, v = adam_update(
            params[i], grads[i], exp_avg[i], exp_avg_sq[i], weight_decay, use_decay, decoupled, param_scale,
            small_weight, avg_weight, rest_weight, beta2, sq_weight, step_size, bias_correction2_sqrt, epsilon,
        )  # fmt: skip
        exp_avg[i] = m
        exp_avg_sq[i] = v
        params[i] = p


@jit
def _sum_squares(x, chunk, scale):
    """Sum of ``(x[i] * scale) ** 2`` in float64, chunk by chunk in a fixed order.

    Within a chunk four running sums take every fourth element; the chunk's total is added to
    the grand total. The order of operations depends only on ``x.size``.
    """
    total = 0.0
    n = x.size
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        i = start
        while i + 4 <= stop:
            a0 = np.float64(x[i]) * scale
            a1 = np.float64(x[i + 1]) * scale
            a2 = np.float64(x[i + 2]) * scale
            a3 = np.float64(x[i + 3]) * scale
            s0 += a0 * a0
            s1 += a1 * a1
            s2 += a2 * a2
            s3 += a3 * a3
            i += 4
        while i < stop:
            a0 = np.float64(x[i]) * scale
            s0 += a0 * a0
            i += 1
        total += (s0 + s1) + (s2 + s3)
    return total


@jit
def _max_abs(x):
    """Largest ``abs(x[i])`` as float64; NaN if ``x`` holds a NaN."""
    best = 0.0
    for i in range(x.size):
        a = abs(np.float64(x[i]))
        if a != a:
            return a
        if a > best:
            best = a
    return best


@jit
def _l2_norm(x, chunk):
    """Euclidean norm of ``x`` in float64, deterministic, without overflow in the squares."""
    total = _sum_squares(x, chunk, 1.0)
    if math.isfinite(total):
        return math.sqrt(total)
    # Either a NaN or inf is present, or the squares overflowed (float64 values beyond 1e154).
    largest = _max_abs(x)
    if not math.isfinite(largest) or largest == 0.0:
        return largest
    return largest * math.sqrt(_sum_squares(x, chunk, 1.0 / largest))


@jit
def _scale(x, factor):
    """``x *= factor`` for a float64 ``factor``, each product rounded once to the dtype of ``x``.

    The product is formed in float64 on purpose: a clipping factor can be far below float32's
    normal range (a huge float32 gradient), where rounding the factor first would lose digits.
    """
    cast = x.dtype.type
    for i in range(x.size):
        x[i] = cast(np.float64(x[i]) * factor)


# ------------------------------------------------------------------------------- validation


def _real(name: str, value: object) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number; got {value!r} of type {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"`{name}` must not be NaN")
    return value


def _check_learning_rate(value: object) -> float:
    value = _real("learning_rate", value)
    if not (0.0 < value < math.inf):
        raise ValueError(f"`learning_rate` must be > 0 and finite; got {value!r}")
    return value


def check_range(name: str, value: object, low: float, high: float, *, low_open: bool, high_open: bool) -> float:
    """Return ``value`` as a float after checking that it is a real number in the interval.

    Parameters
    ----------
    name : str
        The parameter's name, for the messages.
    value : object
        The value to check.
    low, high : float
        Bounds of the interval.
    low_open, high_open : bool
        Whether ``low`` (``high``) itself is outside the interval.

    Returns
    -------
    float
        ``value``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it lies outside the interval.
    """
    value = _real(name, value)
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"`{name}` must be in {interval}; got {value!r}")
    return value


def _check_weight_decay(value: object) -> float:
    return check_range("weight_decay", value, 0.0, math.inf, low_open=False, high_open=True)


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool; got {value!r} of type {type(value).__name__}")
    return bool(value)


def _check_params(params: object) -> np.ndarray:
    if not isinstance(params, np.ndarray):
        raise TypeError(f"`params` must be a numpy array; got {type(params).__name__}")
    if params.dtype not in _FLOATS:
        raise TypeError(f"`params` must have dtype float32 or float64; got {params.dtype}")
    if params.ndim != 1:
        raise ValueError(f"`params` must be a flat 1-D vector; got shape {params.shape}")
    if not params.flags.c_contiguous:
        raise ValueError("`params` must be C-contiguous (use np.ascontiguousarray and update that array)")
    if not params.flags.writeable:
        raise ValueError("`params` must be writeable: the optimiser updates it in place")
    return params


def _check_grads(grads: object, params: np.ndarray) -> None:
    """Cheap checks of a gradient against the parameters: type, dtype, shape, layout."""
    if not isinstance(grads, np.ndarray):
        raise TypeError(f"`grads` must be a numpy array; got {type(grads).__name__}")
    if grads.dtype != params.dtype:
        raise TypeError(f"`grads` has dtype {grads.dtype} but `params` has dtype {params.dtype}")
    if grads.shape != params.shape:
        raise ValueError(f"`grads` must have the shape of `params` {params.shape}; got {grads.shape}")
    if not grads.flags.c_contiguous:
        raise ValueError("`grads` must be C-contiguous")


def _check_state(state: object, kind: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(state, dict):
        raise TypeError(f"`state` must be a dict from {kind}.state_dict(); got {type(state).__name__}")
    if state.get("optimizer") != kind:
        raise ValueError(
            f"`state` does not come from {kind}.state_dict(): its 'optimizer' is {state.get('optimizer')!r}"
        )
    missing = [key for key in keys if key not in state]
    if missing:
        raise ValueError(f"`state` lacks the keys {missing}")
    return state


def _check_step_count(value: object) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`state['n_steps']` must be an int >= 0; got {value!r}")
    return int(value)


def _check_moment(name: str, value: object, params: np.ndarray) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"`state[{name!r}]` must be a numpy array; got {type(value).__name__}")
    if value.dtype != params.dtype:
        raise TypeError(f"`state[{name!r}]` has dtype {value.dtype} but `params` has dtype {params.dtype}")
    if value.shape != params.shape:
        raise ValueError(f"`state[{name!r}]` must have the shape of `params` {params.shape}; got {value.shape}")
    return value


# ------------------------------------------------------------------------------- optimisers


class _Optimizer:
    """What SGD and Adam share: the parameters, the learning rate, the checked step."""

    _params: np.ndarray
    _learning_rate: float
    n_steps: int

    @property
    def params(self) -> np.ndarray:
        """The parameter vector updated in place."""
        return self._params

    @property
    def learning_rate(self) -> float:
        """Step size (> 0); may be changed between steps."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = _check_learning_rate(value)

    def step(self, grads: np.ndarray) -> None:
        """Update ``params`` in place from the gradient ``grads``.

        Parameters
        ----------
        grads : ndarray of shape (n,)
            Gradient of the loss with respect to ``params``: same shape and dtype, C-contiguous.
            It is only read. It is not checked for NaN or inf (that is the training loop's job;
            see :func:`clip_grad_norm`).

        Raises
        ------
        TypeError
            If ``grads`` is not a numpy array of the dtype of ``params``.
        ValueError
            If ``grads`` has another shape than ``params`` or is not C-contiguous.
        """
        _check_grads(grads, self._params)
        self._update(grads)
        self.n_steps += 1

    def _update(self, grads: np.ndarray) -> None:
        raise TypeError(f"{type(self).__name__} defines no update")


class SGD(_Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD`` (no dampening).

    Each :meth:`step`, with ``g`` the gradient, ``p`` the parameters, ``b`` the momentum buffer,
    ``lr`` the learning rate, ``mu`` the momentum and ``wd`` the weight decay::

        g = g + wd * p                  (if wd != 0)
        b = g at the first step, else b = mu * b + g     (if mu != 0)
        g = g + mu * b if nesterov else b                (if mu != 0)
        p = p - lr * g

    Parameters
    ----------
    params : ndarray of shape (n,)
        The parameters, a flat C-contiguous float32 or float64 vector. The optimiser keeps a
        reference and updates this array in place.
    learning_rate : float, default=0.01
        Step size, > 0. The attribute of that name may be changed between steps.
    momentum : float, default=0.0
        Momentum factor in [0, 1); 0 turns momentum off.
    nesterov : bool, default=False
        Use Nesterov momentum (needs ``momentum > 0``).
    weight_decay : float, default=0.0
        L2 penalty >= 0, added to the gradient as ``weight_decay * params``.

    Attributes
    ----------
    params : ndarray of shape (n,)
        The parameter vector updated in place.
    momentum_buffer : ndarray of shape (n,) or None
        The momentum buffer, in the dtype of ``params`` (None without momentum).
    n_steps : int
        Number of steps taken.

    Raises
    ------
    TypeError
        If ``params`` is not a float32/float64 numpy array, or an argument has the wrong type.
    ValueError
        If ``params`` is not a writeable contiguous 1-D vector, or an argument is out of range.
    """

    _KEYS = ("learning_rate", "momentum", "nesterov", "weight_decay", "n_steps", "momentum_buffer")

    def __init__(
        self,
        params: np.ndarray,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        self._params = _check_params(params)
        self.learning_rate = learning_rate
        self._set_hyperparameters(*self._check_hyperparameters(momentum, nesterov, weight_decay))
        self.n_steps = 0

    @staticmethod
    def _check_hyperparameters(momentum: object, nesterov: object, weight_decay: object) -> tuple[float, bool, float]:
        momentum = check_range("momentum", momentum, 0.0, 1.0, low_open=False, high_open=True)
        nesterov = _check_bool("nesterov", nesterov)
        if nesterov and momentum == 0.0:
            raise ValueError("`nesterov=True` needs `momentum` > 0; got momentum=0.0")
        return momentum, nesterov, _check_weight_decay(weight_decay)

    def _set_hyperparameters(self, momentum: float, nesterov: bool, weight_decay: float) -> None:
        dtype = self._params.dtype
        self._momentum, self._nesterov, self._weight_decay = momentum, nesterov, weight_decay
        # Without momentum the kernel gets an empty buffer that it never touches.
        self._buffer = np.zeros(self._params.size if momentum != 0.0 else 0, dtype)
        # Scalars handed to the kernel, already of the parameters' dtype.
        self._momentum_t = dtype.type(momentum)
        self._weight_decay_t = dtype.type(weight_decay)

    @property
    def momentum(self) -> float:
        """Momentum factor (fixed at construction or by :meth:`load_state_dict`)."""
        return self._momentum

    @property
    def nesterov(self) -> bool:
        """Whether the momentum is Nesterov's."""
        return self._nesterov

    @property
    def weight_decay(self) -> float:
        """L2 penalty added to the gradient."""
        return self._weight_decay

    @property
    def momentum_buffer(self) -> np.ndarray | None:
        """The momentum buffer (None without momentum)."""
        return self._buffer if self._momentum != 0.0 else None

    def step_scalars(self, n_steps: int) -> tuple[Any, ...]:
        """Return the scalars of the step after ``n_steps`` steps, as :func:`sgd_update` takes them.

        ``(lr, momentum, weight_decay, use_decay, use_momentum, nesterov, first)``, floats in the
        dtype of the parameters. The CPU loop and the CUDA kernel both take them from here.
        """
        return (
            self._params.dtype.type(self._learning_rate),
            self._momentum_t,
            self._weight_decay_t,
            bool(self._weight_decay_t != 0),
            bool(self._momentum_t != 0),
            self._nesterov,
            n_steps == 0,
        )

    def _update(self, grads: np.ndarray) -> None:
        _sgd_step(self._params, grads, self._buffer, *self.step_scalars(self.n_steps))

    def state_dict(self) -> dict[str, Any]:
        """Return the optimiser's state as a plain dict (copies of the arrays).

        Returns
        -------
        dict
            ``optimizer`` ("SGD"), ``learning_rate``, ``momentum``, ``nesterov``,
            ``weight_decay``, ``n_steps`` and ``momentum_buffer`` (an array, or None without
            momentum).
        """
        return {
            "optimizer": "SGD",
            "learning_rate": self._learning_rate,
            "momentum": self._momentum,
            "nesterov": self._nesterov,
            "weight_decay": self._weight_decay,
            "n_steps": self.n_steps,
            "momentum_buffer": None if self._momentum == 0.0 else self._buffer.copy(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state returned by :meth:`state_dict`, hyperparameters included.

        Parameters
        ----------
        state : dict
            The state of an :class:`SGD` over parameters of the same shape and dtype. Its
            arrays are copied, not referenced.

        Raises
        ------
        TypeError, ValueError
            If ``state`` is not such a dict; the optimiser is then left unchanged.
        """
        state = _check_state(state, "SGD", self._KEYS)
        learning_rate = _check_learning_rate(state["learning_rate"])
        n_steps = _check_step_count(state["n_steps"])
        hyperparameters = self._check_hyperparameters(state["momentum"], state["nesterov"], state["weight_decay"])
        buffer = None
        if hyperparameters[0] != 0.0 and n_steps > 0:
            buffer = _check_moment("momentum_buffer", state["momentum_buffer"], self._params)
        self._set_hyperparameters(*hyperparameters)
        if buffer is not None:
            np.copyto(self._buffer, buffer)
        self._learning_rate = learning_rate
        self.n_steps = n_steps

    def __repr__(self) -> str:
        return (
            f"SGD(learning_rate={self._learning_rate!r}, momentum={self._momentum!r}, "
            f"nesterov={self._nesterov!r}, weight_decay={self._weight_decay!r}, n_steps={self.n_steps})"
        )


class Adam(_Optimizer):
    """Adam, as ``torch.optim.Adam``, or AdamW with ``decoupled_weight_decay=True``.

    Each :meth:`step`, with ``g`` the gradient, ``p`` the parameters, ``t`` the step number
    (from 1), ``lr`` the learning rate and ``wd`` the weight decay::

        p = p * (1 - lr * wd)           (if wd != 0 and decoupled: AdamW)
        g = g + wd * p                  (if wd != 0 and not decoupled: L2 penalty)
        m = m + (1 - beta1) * (g - m)   (torch.lerp)
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr / (1 - beta1 ** t) * m / (sqrt(v) / sqrt(1 - beta2 ** t) + epsilon)

    Parameters
    ----------
    params : ndarray of shape (n,)
        The parameters, a flat C-contiguous float32 or float64 vector. The optimiser keeps a
        reference and updates this array in place.
    learning_rate : float, default=1e-3
        Step size, > 0. The attribute of that name may be changed between steps.
    beta1, beta2 : float, default=0.9, 0.999
        Decay rates of the first and second moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Added to the denominator, > 0.
    weight_decay : float, default=0.0
        Weight decay >= 0: an L2 penalty added to the gradient, or with
        ``decoupled_weight_decay`` a shrinking of the parameters by ``1 - lr * weight_decay``.
    decoupled_weight_decay : bool, default=False
        Decay the weights directly (AdamW) instead of through the gradient.

    Attributes
    ----------
    params : ndarray of shape (n,)
        The parameter vector updated in place.
    exp_avg, exp_avg_sq : ndarray of shape (n,)
        First and (uncentred) second moment estimates, in the dtype of ``params``.
    n_steps : int
        Number of steps taken (the ``t`` of the bias corrections, before the next step).

    Raises
    ------
    TypeError
        If ``params`` is not a float32/float64 numpy array, or an argument has the wrong type.
    ValueError
        If ``params`` is not a writeable contiguous 1-D vector, or an argument is out of range.
    """

    _KEYS = (
        "learning_rate",
        "beta1",
        "beta2",
        "epsilon",
        "weight_decay",
        "decoupled_weight_decay",
        "n_steps",
        "exp_avg",
        "exp_avg_sq",
    )

    def __init__(
        self,
        params: np.ndarray,
        learning_rate: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
    ) -> None:
        self._params = _check_params(params)
        self.learning_rate = learning_rate
        self._set_hyperparameters(beta1, beta2, epsilon, weight_decay, decoupled_weight_decay)
        self._exp_avg = np.zeros_like(self._params)
        self._exp_avg_sq = np.zeros_like(self._params)
        self.n_steps = 0

    def _set_hyperparameters(
        self, beta1: object, beta2: object, epsilon: object, weight_decay: object, decoupled: object
    ) -> None:
        beta1 = check_range("beta1", beta1, 0.0, 1.0, low_open=False, high_open=True)
        beta2 = check_range("beta2", beta2, 0.0, 1.0, low_open=False, high_open=True)
        epsilon = check_range("epsilon", epsilon, 0.0, math.inf, low_open=True, high_open=True)
        weight_decay = _check_weight_decay(weight_decay)
        decoupled = _check_bool("decoupled_weight_decay", decoupled)
        self._beta1, self._beta2, self._epsilon = beta1, beta2, epsilon
        self._weight_decay, self._decoupled = weight_decay, decoupled

    @property
    def exp_avg(self) -> np.ndarray:
        """First moment estimate (updated in place by :meth:`step`)."""
        return self._exp_avg

    @property
    def exp_avg_sq(self) -> np.ndarray:
        """Second moment estimate (updated in place by :meth:`step`)."""
        return self._exp_avg_sq

    @property
    def beta1(self) -> float:
        """Decay rate of the first moment estimate."""
        return self._beta1

    @property
    def beta2(self) -> float:
        """Decay rate of the second moment estimate."""
        return self._beta2

    @property
    def epsilon(self) -> float:
        """Term added to the denominator."""
        return self._epsilon

    @property
    def weight_decay(self) -> float:
        """Weight decay factor."""
        return self._weight_decay

    @property
    def decoupled_weight_decay(self) -> bool:
        """Whether the weight decay is decoupled (AdamW)."""
        return self._decoupled

    def step_scalars(self, n_steps: int) -> tuple[Any, ...]:
        """Return the scalars of the step after ``n_steps`` steps, as :func:`adam_update` takes them.

        ``(weight_decay, use_decay, decoupled, param_scale, small_weight, avg_weight, rest_weight,
        beta2, sq_weight, step_size, bias_correction2_sqrt, epsilon)``, floats in the dtype of the
        parameters. The CPU loop and the CUDA kernel both take them from here.
        """
        t = n_steps + 1
        lr, beta1, beta2 = self._learning_rate, self._beta1, self._beta2
        # The scalars in double precision as torch.optim.Adam computes them, then rounded.
        step_size = lr / (1.0 - beta1**t)
        bias_correction2_sqrt = (1.0 - beta2**t) ** 0.5
        cast = self._params.dtype.type
        avg_weight = cast(1.0 - beta1)
        return (
            cast(self._weight_decay),
            bool(self._weight_decay != 0),
            self._decoupled,
            cast(1.0 - lr * self._weight_decay),
            bool(abs(avg_weight) < 0.5),
            avg_weight,
            cast(1.0) - avg_weight,
            cast(beta2),
            cast(1.0 - beta2),
            cast(step_size),
            cast(bias_correction2_sqrt),
            cast(self._epsilon),
        )

    def _update(self, grads: np.ndarray) -> None:
        _adam_step(self._params, grads, self._exp_avg, self._exp_avg_sq, *self.step_scalars(self.n_steps))

    def state_dict(self) -> dict[str, Any]:
        """Return the optimiser's state as a plain dict (copies of the arrays).

        Returns
        -------
        dict
            ``optimizer`` ("Adam"), ``learning_rate``, ``beta1``, ``beta2``, ``epsilon``,
            ``weight_decay``, ``decoupled_weight_decay``, ``n_steps``, ``exp_avg`` and
            ``exp_avg_sq``.
        """
        return {
            "optimizer": "Adam",
            "learning_rate": self._learning_rate,
            "beta1": self._beta1,
            "beta2": self._beta2,
            "epsilon": self._epsilon,
            "weight_decay": self._weight_decay,
            "decoupled_weight_decay": self._decoupled,
            "n_steps": self.n_steps,
            "exp_avg": self._exp_avg.copy(),
            "exp_avg_sq": self._exp_avg_sq.copy(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state returned by :meth:`state_dict`, hyperparameters included.

        Parameters
        ----------
        state : dict
            The state of an :class:`Adam` over parameters of the same shape and dtype. Its
            arrays are copied, not referenced.

        Raises
        ------
        TypeError, ValueError
            If ``state`` is not such a dict; the optimiser is then left unchanged.
        """
        state = _check_state(state, "Adam", self._KEYS)
        learning_rate = _check_learning_rate(state["learning_rate"])
        n_steps = _check_step_count(state["n_steps"])
        exp_avg = _check_moment("exp_avg", state["exp_avg"], self._params)
        exp_avg_sq = _check_moment("exp_avg_sq", state["exp_avg_sq"], self._params)
        self._set_hyperparameters(
            state["beta1"], state["beta2"], state["epsilon"], state["weight_decay"], state["decoupled_weight_decay"]
        )
        self._learning_rate = learning_rate
        np.copyto(self._exp_avg, exp_avg)
        np.copyto(self._exp_avg_sq, exp_avg_sq)
        self.n_steps = n_steps

    def __repr__(self) -> str:
        return (
            f"Adam(learning_rate={self._learning_rate!r}, beta1={self._beta1!r}, beta2={self._beta2!r}, "
            f"epsilon={self._epsilon!r}, weight_decay={self._weight_decay!r}, "
            f"decoupled_weight_decay={self._decoupled!r}, n_steps={self.n_steps})"
        )


# ---------------------------------------------------------------------------------- clipping


def clip_grad_norm(grads: np.ndarray, max_norm: float) -> float:
    """Scale ``grads`` in place so that its Euclidean norm is at most ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_`` with one gradient vector: ``grads`` is multiplied by
    ``max_norm / (norm + 1e-6)`` where that factor is below 1 (so when ``norm > max_norm``, and
    also in the sliver ``max_norm - 1e-6 < norm <= max_norm``, where the factor is within 1e-6
    of 1), and left alone otherwise. The factor and each product are computed in float64 and
    the products rounded to the dtype of ``grads``.

    The norm is computed in float64 whatever the dtype, summing squares in chunks of 1024
    elements taken in order, so it depends only on the values (never on the number of
    threads); squares that overflow float64 are handled by rescaling.

    Parameters
    ----------
    grads : ndarray
        The gradient, float32 or float64, C-contiguous and writeable, of any shape (normally
        the flat gradient vector).
    max_norm : float
        Largest norm allowed, > 0 (``inf`` never clips).

    Returns
    -------
    float
        The norm of ``grads`` before clipping. If it is NaN or inf, ``grads`` is left
        untouched and that value is returned, so that the caller can stop with a clear error::

            norm = clip_grad_norm(grads, 1.0)
            if not math.isfinite(norm):
                raise FloatingPointError(f"the gradient norm is {norm}")

    Raises
    ------
    TypeError
        If ``grads`` is not a float32/float64 numpy array or ``max_norm`` is not a number.
    ValueError
        If ``grads`` is not C-contiguous and writeable, or ``max_norm`` is not > 0.
    """
    if not isinstance(grads, np.ndarray):
        raise TypeError(f"`grads` must be a numpy array; got {type(grads).__name__}")
    if grads.dtype not in _FLOATS:
        raise TypeError(f"`grads` must have dtype float32 or float64; got {grads.dtype}")
    if not grads.flags.c_contiguous:
        raise ValueError("`grads` must be C-contiguous")
    if not grads.flags.writeable:
        raise ValueError("`grads` must be writeable: it is scaled in place")
    max_norm = check_range("max_norm", max_norm, 0.0, math.inf, low_open=True, high_open=False)
    flat = grads.reshape(-1)
    norm = float(_l2_norm(flat, _NORM_CHUNK))
    if not math.isfinite(norm):
        return norm
    factor = max_norm / (norm + CLIP_EPS)
    if factor < 1.0:
        _scale(flat, factor)
    return norm
