"""What the experiments share: argument checks, the activations from the generated kernels, JSON helpers."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..activations import ACTIVATIONS, generated
from ..validate import describe, real_scalar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


LEAKY_ALPHA = 0.01


# -- input checks -----------------------------------------------------------------------------------

def as_integer(value: object, name: str, meaning: str, low: int, high: int | None = None) -> int:
    """``value`` as an int in [low, high]; bools, floats and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name}: expected an integer ({meaning}); received {describe(value)}")
    number = int(value)
    if number < low or (high is not None and number > high):
        bounds = f"≥ {low}" if high is None else f"in [{low}, {high}]"
        raise InputError(f"{name}: expected an integer {bounds} ({meaning}); received {number}")
    return number


def as_seed(value: object) -> int:
    """``value`` as a seed: an int ≥ 0."""
    return as_integer(value, "seed", "the seed of the random numbers", 0)


# -- activations --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Activation:
    """An activation f with its derivative and γ = sup|f′|, all from the generated kernels.

    Attributes
    ----------
    name : str
    forward : callable, ndarray of any shape -> ndarray of the same shape
        f, element-wise.
    grad : callable, ndarray of any shape -> ndarray of the same shape
        f′, element-wise.
    gamma : float
        sup over x of |f′(x)|, as proven by ``mathnn verify <name>``.
    """

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    gamma: float


def activation_kernels(name: object, alpha: float = LEAKY_ALPHA) -> Activation:
    """The generated kernels of one activation.

    Parameters
    ----------
    name : {'sigmoid', 'tanh', 'relu', 'leaky_relu'}
    alpha : float, default 0.01
        Leaky ReLU's slope for x ≤ 0 (ignored by the others).

    Returns
    -------
    Activation
    """
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise InputError(
            f"activation: expected one of {', '.join(map(repr, ACTIVATIONS))}; received {describe(name)}"
        )
    slope = real_scalar(alpha, "alpha", "Leaky ReLU's slope for x ≤ 0")
    return Activation(name, *generated(name, slope))


def activation_names(names: object, name: str = "activations") -> tuple[str, ...]:
    """A non-empty sequence of activation names (None: all four), in the order given, without repeats."""
    if names is None:
        return ACTIVATIONS
    if isinstance(names, str):
        names = (names,)
    if not isinstance(names, Iterable) or not (names := tuple(names)):
        raise InputError(f"{name}: expected a non-empty list of names from {', '.join(ACTIVATIONS)}; received {describe(names)}")
    for item in names:
        if not isinstance(item, str) or item not in ACTIVATIONS:
            raise InputError(
                f"{name}: expected names from {', '.join(map(repr, ACTIVATIONS))}; received {describe(item)}"
            )
    return tuple(dict.fromkeys(names))


def json_floats(values: Iterable[float]) -> list[float | None]:
    """Plain floats for JSON; NaN and ±inf (not JSON) become None."""
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float).ravel()]


class Variants:
    """An experiment made of one run per variant ('sigmoid', 'sigmoid+bn', …)."""

    runs: list

    def run(self, variant: str) -> Any:
        """The run of one variant, e.g. 'sigmoid+bn'."""
        for run in self.runs:
            if run.variant == variant:
                return run
        raise InputError(f"variant: expected one of {', '.join(r.variant for r in self.runs)}; received {variant!r}")


def scalar_settings(experiment: DataclassInstance) -> dict[str, Any]:
    """The experiment's scalar fields (sizes, rates, seed, seconds) as plain Python."""
    return {
        field.name: getattr(experiment, field.name)
        for field in fields(experiment)
        if isinstance(getattr(experiment, field.name), (int, float, str))
    }
