"""The update rules of CS231n's assignment 2, with its signature: ``rule(w, dw, config=None) -> (next_w, config)``.

The lecture's gradient descent W ← W − η ∂L/∂W takes one step of size η against the gradient. The
rules here keep a little state between steps in ``config`` (a dict of hyperparameters and arrays that
the caller hands back at the next step, as CS231n's ``Solver`` does):

* :func:`sgd` — the plain step, w − η·dw;
* :func:`sgd_momentum` — a velocity v ← μv − η·dw that remembers past gradients, then w + v;
* :func:`rmsprop` — Hinton's RMSProp (Neural Networks for Machine Learning, lecture 6e, 2012):
  divide each entry's step by a running root mean square of its gradients,
  cache ← ρ·cache + (1 − ρ)·dw², w − η·dw / (√cache + ε);
* :func:`adam` — Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015): running
  means of the gradient (m) and of its square (v), each corrected for its start at zero:
  t ← t + 1, m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ), w − η·m̂ / (√v̂ + ε). The step counter t
  is incremented *before* the correction, so the first step divides by 1 − β and never by 0.

Defaults are the course's: learning_rate 1e-2 (1e-3 for Adam), momentum 0.9, decay_rate 0.99,
epsilon 1e-8, beta1 0.9, beta2 0.999; state starts at zero (``velocity``, ``cache``, ``m``, ``v``,
``t``). Unlike the course's starter code, these reference versions never change their arguments:
``next_w`` is a new float64 array and the returned ``config`` a new dict (the given one with the
defaults filled in and the state advanced). Every error is a :class:`mathnn.InputError` naming the
argument.

Examples
--------
>>> import numpy as np
>>> from mathnn.optim_cs231n import adam
>>> w, config = np.array([1.0, -1.0]), None
>>> for _ in range(3):
...     w, config = adam(w, 2 * w, config)
>>> config["t"], np.round(w, 4).tolist()
(3, [0.997, -0.997])
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .errors import InputError
from .validate import as_float_array, describe, positive_real, real_scalar

__all__ = ["DEFAULTS", "RULES", "STATE", "adam", "rmsprop", "sgd", "sgd_momentum"]

Config = dict[str, Any]
Rule = Callable[..., tuple[np.ndarray, Config]]

#: Each rule's hyperparameters and their defaults (CS231n's).
DEFAULTS: dict[str, dict[str, float]] = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
#: The state each rule keeps in config between steps (arrays of w's shape, and Adam's step count t).
STATE: dict[str, tuple[str, ...]] = {
    "sgd": (), "sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v", "t"),
}
#: Hyperparameters that must lie in [0, 1): they weight an old value against a new one.
_FRACTIONS = ("momentum", "decay_rate", "beta1", "beta2")


def _point(w: object, dw: object) -> tuple[np.ndarray, np.ndarray]:
    """w and dw as finite real float64 arrays of the same shape."""
    arrays = []
    for name, value in (("w", w), ("dw", dw)):
        array = as_float_array(value, name)
        if array.dtype.kind == "c":
            raise InputError(f"{name}: expected real values; received {describe(array)}")
        if not np.all(np.isfinite(array)):
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0]) if array.ndim else ()
            raise InputError(f"{name}: expected finite values; received {array[bad]} at index {bad}")
        arrays.append(array.astype(np.float64))
    w_array, dw_array = arrays
    if dw_array.shape != w_array.shape:
        raise InputError(f"dw: expected shape {w_array.shape}, the shape of w; received shape {dw_array.shape}")
    return w_array, dw_array


def _config(rule: str, config: object, shape: tuple[int, ...]) -> Config:
    """A new dict: ``config`` with the defaults filled in, every hyperparameter and state entry checked."""
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise InputError(f"config: expected None or a dict of hyperparameters and state; received {describe(config)}")
    checked: Config = dict(config)
    for key, default in DEFAULTS[rule].items():
        value = checked.setdefault(key, default)
        label = f'config["{key}"]'
        if key in _FRACTIONS:
            number = real_scalar(value, label, "in [0, 1)")
            if not 0 <= number < 1:
                raise InputError(f"{label}: expected a number in [0, 1); received {number!r}")
            checked[key] = number
        else:
            checked[key] = positive_real(value, label, "learning rate" if key == "learning_rate" else "added to √·")
    for key in STATE[rule]:
        label = f'config["{key}"]'
        if key == "t":
            t = checked.setdefault("t", 0)
            if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
                raise InputError(f"{label}: expected an integer ≥ 0 (the steps taken); received {describe(t)}")
            checked["t"] = int(t)
            continue
        if key not in checked:
            checked[key] = np.zeros(shape)
            continue
        state = as_float_array(checked[key], label)
        if state.shape != shape or state.dtype.kind == "c" or not np.all(np.isfinite(state)):
            raise InputError(f"{label}: expected finite real values of shape {shape}, the shape of w; received "
                             f"{describe(state)}")
        checked[key] = state.astype(np.float64)
    return checked


def sgd(w: object, dw: object, config: Mapping[str, Any] | None = None) -> tuple[np.ndarray, Config]:
    """The lecture's step w − η·dw.

    Parameters
    ----------
    w : array_like
        The weights, any shape; finite real numbers. Never changed.
    dw : array_like
        ∂L/∂w, of w's shape, finite.
    config : dict, optional
        ``learning_rate`` η (default 1e-2).

    Returns
    -------
    next_w : ndarray, float64, of w's shape
    config : dict
        A new dict: ``config`` with the defaults filled in.

    Raises
    ------
    InputError
        For non-finite or complex w or dw, shapes that differ, or a hyperparameter that is not a
        finite number > 0; the message names the argument or the config key.
    """
    w_array, dw_array = _point(w, dw)
    checked = _config("sgd", config, w_array.shape)
    return w_array - checked["learning_rate"] * dw_array, checked


def sgd_momentum(w: object, dw: object, config: Mapping[str, Any] | None = None) -> tuple[np.ndarray, Config]:
    """Momentum: the velocity v ← μ·v − η·dw, then the step w + v (with the new velocity).

    ``config``: ``learning_rate`` η (1e-2), ``momentum`` μ in [0, 1) (0.9) and the state ``velocity``
    (zeros of w's shape at the first step). Returns (next_w, a new config holding the new velocity);
    arguments and errors as :func:`sgd`.
    """
    w_array, dw_array = _point(w, dw)
    checked = _config("sgd_momentum", config, w_array.shape)
    velocity = checked["momentum"] * checked["velocity"] - checked["learning_rate"] * dw_array
    checked["velocity"] = velocity
    return w_array + velocity, checked


def rmsprop(w: object, dw: object, config: Mapping[str, Any] | None = None) -> tuple[np.ndarray, Config]:
    """RMSProp (Hinton, lecture 6e): cache ← ρ·cache + (1 − ρ)·dw², then w − η·dw / (√cache + ε).

    ``config``: ``learning_rate`` η (1e-2), ``decay_rate`` ρ in [0, 1) (0.99) — the weight of the
    *old* cache —, ``epsilon`` ε (1e-8), added after the square root, and the state ``cache``
    (zeros at the first step). Returns (next_w, a new config); arguments and errors as :func:`sgd`.
    """
    w_array, dw_array = _point(w, dw)
    checked = _config("rmsprop", config, w_array.shape)
    decay = checked["decay_rate"]
    cache = decay * checked["cache"] + (1 - decay) * dw_array**2
    checked["cache"] = cache
    return w_array - checked["learning_rate"] * dw_array / (np.sqrt(cache) + checked["epsilon"]), checked


def adam(w: object, dw: object, config: Mapping[str, Any] | None = None) -> tuple[np.ndarray, Config]:
    """Adam (Kingma & Ba 2015) with bias correction, as the course states it.

    t ← t + 1; m ← β₁·m + (1 − β₁)·dw; v ← β₂·v + (1 − β₂)·dw²; m̂ = m / (1 − β₁ᵗ);
    v̂ = v / (1 − β₂ᵗ); next_w = w − η·m̂ / (√v̂ + ε).

    ``config``: ``learning_rate`` η (1e-3), ``beta1`` β₁ (0.9) and ``beta2`` β₂ (0.999) in [0, 1),
    ``epsilon`` ε (1e-8), and the state ``m``, ``v`` (zeros) and ``t`` (0: the steps taken). The
    returned config holds the new m and v — not the corrected m̂, v̂ — and t + 1. Arguments and
    errors as :func:`sgd`.
    """
    w_array, dw_array = _point(w, dw)
    checked = _config("adam", config, w_array.shape)
    beta1, beta2 = checked["beta1"], checked["beta2"]
    t = checked["t"] + 1
    m = beta1 * checked["m"] + (1 - beta1) * dw_array
    v = beta2 * checked["v"] + (1 - beta2) * dw_array**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    checked.update(m=m, v=v, t=t)
    return w_array - checked["learning_rate"] * m_hat / (np.sqrt(v_hat) + checked["epsilon"]), checked


#: The rules by name, as the homework checker looks them up.
RULES: dict[str, Rule] = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}
