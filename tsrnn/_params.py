"""Declarative checks of estimator parameters, with messages that name the parameter and value.

Each estimator lists, per parameter, the constraints a value may meet (any one suffices)::

    _accepted_values = {"window": [Integer(1)], "clip_norm": [Real(0, closed="neither"), None]}

and :func:`validate_params` raises ``"`window` must be an int >= 1; got 0"`` for a bad value.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np


class Integer:
    """An int (not a bool) in ``[low, high]``; ``None`` bounds are open-ended."""

    def __init__(self, low: int | None = None, high: int | None = None) -> None:
        self.low, self.high = low, high

    def accepts(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"an int in [{self.low}, {self.high}]"
        if self.low is not None:
            return f"an int >= {self.low}"
        return "an int" if self.high is None else f"an int <= {self.high}"


class Real:
    """A finite real number (not a bool) between ``low`` and ``high``.

    ``closed`` says which bounds belong to the range: "both", "left", "right" or "neither".
    """

    def __init__(self, low: float | None = None, high: float | None = None, closed: str = "both") -> None:
        self.low, self.high, self.closed = low, high, closed

    def accepts(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            return False
        left_ok = self.low is None or (value >= self.low if self.closed in ("both", "left") else value > self.low)
        right_ok = self.high is None or (value <= self.high if self.closed in ("both", "right") else value < self.high)
        return left_ok and right_ok

    def describe(self) -> str:
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        if self.low is not None and self.high is not None:
            return f"a float in {left}{self.low}, {self.high}{right}"
        if self.low is not None:
            return f"a float {'>=' if left == '[' else '>'} {self.low}"
        if self.high is not None:
            return f"a float {'<=' if right == ']' else '<'} {self.high}"
        return "a finite float"


class Options:
    """One of a fixed set of values (strings, mostly)."""

    def __init__(self, *values: Any) -> None:
        self.values = values

    def accepts(self, value: Any) -> bool:
        return any(type(value) is type(option) and value == option for option in self.values)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


class Name:
    """A non-empty string: the name of a column."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and bool(value)

    def describe(self) -> str:
        return "a non-empty str"


class Boolean:
    """``True`` or ``False`` (numpy's too)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def describe(self) -> str:
        return "a bool"


class FloatDtype:
    """float32 or float64, as a string, a numpy type or a dtype."""

    def accepts(self, value: Any) -> bool:
        try:
            return np.dtype(value) in (np.dtype(np.float32), np.dtype(np.float64))
        except TypeError:
            return False

    def describe(self) -> str:
        return "'float32' or 'float64'"


class RandomState:
    """What :func:`sklearn.utils.check_random_state` takes: None, an int or a RandomState."""

    def accepts(self, value: Any) -> bool:
        return Integer(0, 2**32 - 1).accepts(value) or isinstance(value, np.random.RandomState)

    def describe(self) -> str:
        return "an int in [0, 2**32 - 1], a numpy RandomState or None"


class StringList:
    """A list or tuple of strings, each from ``allowed`` (any string when none is given)."""

    def __init__(self, *allowed: str) -> None:
        self.allowed = allowed

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (list, tuple)) and all(
            isinstance(v, str) and (not self.allowed or v in self.allowed) for v in value
        )

    def describe(self) -> str:
        if not self.allowed:
            return "a list of strings"
        return "a list of names from " + ", ".join(repr(v) for v in self.allowed)


class ClassWeight:
    """None, "balanced", or a dict mapping labels to weights > 0 (``class_weight``)."""

    def accepts(self, value: Any) -> bool:
        if value is None or (isinstance(value, str) and value == "balanced"):
            return True
        return isinstance(value, dict) and all(
            isinstance(w, (int, float, np.integer, np.floating)) and not isinstance(w, bool) and 0 < w < np.inf
            for w in value.values()
        )

    def describe(self) -> str:
        return 'None, "balanced" or a dict mapping labels to finite weights > 0'


class Levels:
    """A non-empty list or tuple of distinct probabilities, each in (0, 1) (quantile levels)."""

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, (list, tuple)) or not value:
            return False
        unit = Real(0.0, 1.0, closed="neither")
        return all(unit.accepts(v) for v in value) and len(set(value)) == len(value)

    def describe(self) -> str:
        return "a list of distinct floats in (0, 1)"


def _describe(constraint: Any) -> str:
    return "None" if constraint is None else constraint.describe()


def _accepts(constraint: Any, value: Any) -> bool:
    return value is None if constraint is None else constraint.accepts(value)


def validate_params(params: Mapping[str, Any], constraints: Mapping[str, list[Any]]) -> None:
    """Raise a ValueError (TypeError for a wrong type) naming the first parameter that breaks its constraints.

    Parameters
    ----------
    params : mapping
        Parameter names to values (``estimator.get_params(deep=False)``).
    constraints : mapping
        Parameter names to lists of constraints; ``None`` in a list admits ``None``.
    """
    for name, allowed in constraints.items():
        value = params[name]
        if any(_accepts(constraint, value) for constraint in allowed):
            continue
        wanted = " or ".join(_describe(c) for c in allowed)
        message = f"`{name}` must be {wanted}; got {value!r}"
        numeric = isinstance(value, numbers.Number) and not isinstance(value, bool)
        expects_numbers = any(isinstance(c, (Integer, Real)) for c in allowed)
        if expects_numbers and not numeric and not any(isinstance(c, Options) for c in allowed):
            raise TypeError(message)
        raise ValueError(message)
