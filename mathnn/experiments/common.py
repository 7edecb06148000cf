"""What the experiments share: argument checks, the activations from the generated kernels, JSON helpers,
the settings each result records, the sequence classifier of the long-distance tasks."""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..activations import ACTIVATIONS, generated
from ..kernels.softmax_ce import softmax_cross_entropy
from ..layers import affine_backward, affine_forward
from ..optim import clip_by_global_norm, sgd
from ..validate import describe, real_scalar


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


def plain(value: object) -> Any:
    """``value`` as plain Python for JSON: numpy scalars as int, float or bool, tuples and arrays as lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list, np.ndarray)):
        return [plain(item) for item in value]
    return value


def call_settings(function: Callable[..., Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of one call of an experiment ``function``, as its result records them.

    Every parameter of ``function``'s signature but ``show_progress`` (which changes what is shown,
    never a figure), in the signature's order, as plain Python (:func:`plain`): JSON-able, and such
    that ``function(**settings)`` runs the same experiment again.

    Each experiment calls it with ``locals()`` after its checks, each checked value bound to its
    parameter's name (the activations as their resolved names, a default computed from the other
    arguments as computed). An integer or a name that only a function called later checks
    (:func:`~mathnn.experiments.depth.init_stack` checks ``depth``) is recorded as given, in plain
    Python, which is the value that check returns. So a parameter added to a signature is recorded
    without being named anywhere else.

    Parameters
    ----------
    function : callable
        The experiment function.
    values : mapping of str to object
        The value each parameter took, by name (more names are ignored).

    Returns
    -------
    dict of str to object
    """
    return {
        name: plain(values[name])
        for name in inspect.signature(function).parameters
        if name != "show_progress"
    }


@dataclass(frozen=True)
class ExperimentResult:
    """What the result of every experiment holds besides its figures: the settings it ran with, its wall time.

    Each experiment function returns a subclass, which adds its figures as fields and gives them as
    plain Python in :meth:`figures_to_dict`.

    Attributes
    ----------
    settings : dict of str to object
        Every argument of the experiment function but ``show_progress``, as the call used it
        (:func:`call_settings`): checked, defaults resolved, plain Python. ``function(**settings)``
        runs the same experiment again.
    seconds : float
        Wall time.
    """

    settings: dict[str, Any]
    seconds: float

    def figures_to_dict(self) -> dict[str, Any]:
        """The experiment's figures as plain Python."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Every setting and figure as plain Python, for JSON.

        The settings stand at the top level beside the figures, and all of them again under
        "settings", exactly as called. Where a figure has a setting's name, the figure stands at the
        top level (the remedies' ``seeds``: the list of seeds used, where the setting is how many).
        """
        return {**self.settings, **self.figures_to_dict(), "seconds": self.seconds, "settings": dict(self.settings)}


# -- a sequence classifier read at its last step ------------------------------------------------------

class LastStepClassifier:
    """A recurrence over a batch of sequences read at its last step: scores = h_T Wy + by, softmax cross-entropy.

    A subclass runs the recurrence (:meth:`hidden`); the scores, the loss and their gradients are
    :func:`~mathnn.layers.affine_forward`, :func:`~mathnn.layers.affine_backward` and the generated
    softmax cross-entropy kernel. ``params`` holds the recurrence's parameters and Wy (H, classes), by.
    """

    params: dict[str, np.ndarray]

    def hidden(self, x: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], tuple[np.ndarray, ...]]]:
        """h (N, T, H) for the inputs ``x``, and backpropagation through time: dh (N, T, H) to the
        gradients (dx, dh0, dWx, dWh, db), as the sequence kernels return them."""
        raise NotImplementedError

    def loss_and_gradients(self, x: np.ndarray, targets: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        h, backward = self.hidden(x)
        scores, scores_cache = affine_forward(h[:, -1], self.params["Wy"], self.params["by"])
        count, classes = scores.shape
        loss, dscores = softmax_cross_entropy(scores, np.eye(classes)[targets], np.full((count, 1), 1.0 / count))
        dh = np.zeros_like(h)  # only h_T feeds the scores; backpropagation through time carries its gradient back
        dh[:, -1], dWy, dby = affine_backward(dscores, scores_cache)
        _, _, dWx, dWh, db = backward(dh)
        return float(loss), {"Wy": dWy, "by": dby, "Wx": dWx, "Wh": dWh, "b": db}

    def predict(self, x: np.ndarray) -> np.ndarray:
        h, _ = self.hidden(x)
        scores, _ = affine_forward(h[:, -1], self.params["Wy"], self.params["by"])
        return np.argmax(scores, axis=1)

    def fit_and_test(
        self,
        batch: Callable[[], tuple[np.ndarray, np.ndarray]],
        test: Callable[[], tuple[np.ndarray, np.ndarray]],
        steps: int,
        clip: float,
        learning_rate: float,
    ) -> tuple[float, float]:
        """Train on ``steps`` batches by gradient descent, the gradient clipped to global norm ``clip``.

        Returns the accuracy on the sequences ``test()`` gives and the mean training loss over the
        last tenth of the steps.
        """
        losses = []
        for _ in range(steps):
            x, targets = batch()
            loss, grads = self.loss_and_gradients(x, targets)
            grads, _ = clip_by_global_norm(grads, clip)
            sgd(self.params, grads, learning_rate)
            losses.append(loss)
        x, targets = test()
        return float(np.mean(self.predict(x) == targets)), float(np.mean(losses[-max(1, steps // 10):]))
