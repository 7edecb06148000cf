"""The known mistakes in CS231n's update rules, as runnable rules: :data:`MISTAKES`, by rule.

Each :class:`Mistake` is a wrong (or an accepted alternative) version of one of
:mod:`mathnn.optim_cs231n`'s rules with the same signature, ``(w, dw, config) -> (next_w, config)``.
:func:`mathnn.gradcheck.updates.check_update` replays a failing student's steps with each of them
and names the one that reproduces the student's numbers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import optim_cs231n as reference

__all__ = ["MISTAKES", "Mistake", "Rule"]

Rule = Callable[[np.ndarray, np.ndarray, Any], tuple[np.ndarray, dict]]


def _settings(rule: str, config: Mapping[str, Any] | None, shape: tuple[int, ...]) -> dict[str, Any]:
    """config with the defaults and zero state filled in (a new dict)."""
    filled = dict(config or {})
    for key, default in reference.DEFAULTS[rule].items():
        filled.setdefault(key, default)
    for key in reference.STATE[rule]:
        filled.setdefault(key, 0 if key == "t" else np.zeros(shape))
    return filled


@dataclass(frozen=True)
class Mistake:
    """A known wrong (or accepted alternative) version of an update rule.

    ``message`` is said when it reproduces the student's numbers; ``accepted`` mistakes pass with
    ``message`` as a note.
    """

    name: str
    message: str
    rule: Rule
    accepted: bool = False


def _momentum(sign: float, old_velocity: bool = False) -> Rule:
    """Momentum with v = μv − sign·η·dw and w + sign·v… (sign −1: v = μv + η·dw, w − v)."""

    def rule(w: np.ndarray, dw: np.ndarray, config: Any) -> tuple[np.ndarray, dict]:
        c = _settings("sgd_momentum", config, w.shape)
        v = c["momentum"] * c["velocity"] - sign * c["learning_rate"] * dw
        step = c["velocity"] if old_velocity else v
        c["velocity"] = v
        return w + sign * step, c

    return rule


def _gradient_momentum(w: np.ndarray, dw: np.ndarray, config: Any) -> tuple[np.ndarray, dict]:
    """The lecture's first form of momentum: v = μv + dw, next_w = w − η·v (v in the gradient's units)."""
    c = _settings("sgd_momentum", config, w.shape)
    v = c["momentum"] * c["velocity"] + dw
    c["velocity"] = v
    return w - c["learning_rate"] * v, c


def _ascent_momentum(w: np.ndarray, dw: np.ndarray, config: Any) -> tuple[np.ndarray, dict]:
    c = _settings("sgd_momentum", config, w.shape)
    v = c["momentum"] * c["velocity"] - c["learning_rate"] * dw
    c["velocity"] = v
    return w - v, c


def _plus_velocity_ascent(w: np.ndarray, dw: np.ndarray, config: Any) -> tuple[np.ndarray, dict]:
    c = _settings("sgd_momentum", config, w.shape)
    v = c["momentum"] * c["velocity"] + c["learning_rate"] * dw
    c["velocity"] = v
    return w + v, c


def _nesterov(w: np.ndarray, dw: np.ndarray, config: Any) -> tuple[np.ndarray, dict]:
    c = _settings("sgd_momentum", config, w.shape)
    previous = c["velocity"]
    v = c["momentum"] * previous - c["learning_rate"] * dw
    c["velocity"] = v
    return w - c["momentum"] * previous + (1 + c["momentum"]) * v, c


def _rmsprop(swapped: bool = False, inside: bool = False) -> Rule:
    def rule(w: np.ndarray, dw: np.ndarray, config: Any) -> tuple[np.ndarray, dict]:
        c = _settings("rmsprop", config, w.shape)
        d = 1 - c["decay_rate"] if swapped else c["decay_rate"]
        c["cache"] = d * c["cache"] + (1 - d) * dw**2
        eps = c["epsilon"]
        root = np.sqrt(c["cache"] + eps) if inside else np.sqrt(c["cache"]) + eps
        return w - c["learning_rate"] * dw / root, c

    return rule


def _adam(correct: bool = True, t_after: bool = False, inside: bool = False, store_hat: bool = False,
          efficient: bool = False, first_t: int = 0, counts: bool = True, keeps: bool = True) -> Rule:
    """Adam and its variants; ``first_t`` is t when config has none (the steps taken before the first);
    ``counts=False`` leaves t as it was; ``keeps=False`` leaves m, v and t as they were."""

    def rule(w: np.ndarray, dw: np.ndarray, config: Any) -> tuple[np.ndarray, dict]:
        c = _settings("adam", config, w.shape)
        if "t" not in (config or {}):
            c["t"] = first_t
        b1, b2, eps, lr = c["beta1"], c["beta2"], c["epsilon"], c["learning_rate"]
        t = c["t"] + 1
        used = t - 1 if t_after else t
        m = b1 * c["m"] + (1 - b1) * dw
        v = b2 * c["v"] + (1 - b2) * dw**2
        with np.errstate(divide="ignore", invalid="ignore"):
            m_hat, v_hat = (m / (1 - b1**used), v / (1 - b2**used)) if correct else (m, v)
            if efficient:
                step = lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
            elif inside:
                step = lr * m_hat / np.sqrt(v_hat + eps)
            else:
                step = lr * m_hat / (np.sqrt(v_hat) + eps)
        if keeps:
            c.update(m=m_hat if store_hat else m, v=v_hat if store_hat else v, t=t if counts else c["t"])
        return w - step, c

    return rule


def _stateless(rule_name: str) -> Rule:
    """The right update from the state received, returning that state unchanged: nothing is carried."""
    right = reference.RULES[rule_name]

    def rule(w: np.ndarray, dw: np.ndarray, config: Any) -> tuple[np.ndarray, dict]:
        c = _settings(rule_name, config, w.shape)
        next_w, _ = right(w, dw, c)
        return next_w, c

    return rule


def _defaults(rule_name: str, keys: tuple[str, ...]) -> Rule:
    """The right update with the default value of the hyperparameters ``keys``, whatever config says."""
    right = reference.RULES[rule_name]

    def rule(w: np.ndarray, dw: np.ndarray, config: Any) -> tuple[np.ndarray, dict]:
        given = dict(config or {})
        next_w, c = right(w, dw, {key: value for key, value in given.items() if key not in keys})
        return next_w, {**given, **{key: c[key] for key in reference.STATE[rule_name]}}

    return rule


def _ignored(rule_name: str) -> tuple[Mistake, ...]:
    """A rule that ignores one of its hyperparameters in config (or all of them) and uses the default."""
    every = tuple(reference.DEFAULTS[rule_name])
    mistakes = [Mistake("ignores hyperparameters", f"{rule_name} ignores the hyperparameters in config and always "
                        f"uses the defaults: {_READ}", _defaults(rule_name, every))]
    if len(every) > 1:
        mistakes += [Mistake(f"ignores {key}", f"{rule_name} ignores config['{key}'] and always uses "
                             f"{reference.DEFAULTS[rule_name][key]!r}: {_READ}", _defaults(rule_name, (key,)))
                     for key in every]
    return tuple(mistakes)


def _momentum_and_sgd(w: np.ndarray, dw: np.ndarray, config: Any) -> tuple[np.ndarray, dict]:
    """The velocity's step and a plain gradient step besides: next_w = w − η·dw + v."""
    c = _settings("sgd_momentum", config, w.shape)
    v = c["momentum"] * c["velocity"] - c["learning_rate"] * dw
    c["velocity"] = v
    return w - c["learning_rate"] * dw + v, c


#: Adam's mistakes that come together in one rule: (name, what the rule does as a verb phrase, the flags of
#: :func:`_adam` that make it). Each alone is a mistake of its own in :data:`MISTAKES`.
_ADAM_FAULTS = (
    ("no bias correction", "has no bias correction (divide m by (1 − beta1**t) and v by (1 − beta2**t) before the step)",
     {"correct": False}),
    ("t not counted", "never counts its steps (config['t'] stays as it was: increment it at each step)", {"counts": False}),
    ("epsilon inside", "puts epsilon inside the square root (divide by np.sqrt(v̂) + epsilon, not np.sqrt(v̂ + epsilon))",
     {"inside": True}),
    ("state lost", "carries neither m nor v nor t from one step to the next (store the updated ones in config, which the "
     "Solver passes back)", {"keeps": False}),
)


def _adam_combinations() -> tuple[Mistake, ...]:
    """Two or more of :data:`_ADAM_FAULTS` at once, each said (losing the state loses t's count too)."""
    found = []
    for size in range(2, len(_ADAM_FAULTS) + 1):
        for faults in itertools.combinations(_ADAM_FAULTS, size):
            flags = {key: value for _, _, fault in faults for key, value in fault.items()}
            if "counts" in flags and ("keeps" in flags or "correct" not in flags):
                continue  # t matters only to the bias correction, and a lost state loses it anyway
            if set(flags) == {"correct", "counts"}:  # said as one mistake already
                continue
            parts = [part for _, part, _ in faults]
            message = f"adam {', '.join(parts[:-1])} and {parts[-1]}"
            found.append(Mistake(" + ".join(name for name, _, _ in faults), message, _adam(**flags)))
    return tuple(found)


_STATE_LOST = ("{function} does not carry its state from one step to the next: config must come back holding the "
               "updated {state}, which the next call starts from (the Solver passes the returned config back)")
_READ = "read every hyperparameter from config (config.setdefault(key, default) sets a default only when it is missing)"

#: The known mistakes of every rule, tried in this order.
MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "sgd": (
        Mistake("ascent", "sgd steps up the gradient: next_w = w − learning_rate·dw, not w + …",
                lambda w, dw, config: (w + _settings("sgd", config, w.shape)["learning_rate"] * dw,
                                       _settings("sgd", config, w.shape))),
        *_ignored("sgd"),
    ),
    "sgd_momentum": (
        Mistake("negated velocity", "sgd_momentum keeps the velocity with the opposite sign (v = μv + η·dw, "
                "w − v): the updates are the course's, but config['velocity'] is the negative of the course's, "
                "which the notebook's comparison of velocities would flag", _momentum(-1.0), accepted=True),
        Mistake("velocity of gradients", "sgd_momentum keeps the velocity in the gradient's units (v = μv + dw, "
                "next_w = w − learning_rate·v, the lecture's first form of momentum): at a fixed learning rate the "
                "updates are the course's, but config['velocity'] is the course's divided by −learning_rate, which "
                "the notebook's comparison of velocities would flag", _gradient_momentum, accepted=True),
        Mistake("velocity sign", "sgd_momentum's velocity has the wrong sign: with v = μv − learning_rate·dw the "
                "step is next_w = w + v (not w − v)", _ascent_momentum),
        Mistake("velocity sign", "sgd_momentum's velocity has the wrong sign: v = μv − learning_rate·dw (not "
                "+ learning_rate·dw), then next_w = w + v", _plus_velocity_ascent),
        Mistake("update order", "sgd_momentum moves w with the previous step's velocity: update the velocity "
                "first, v = μv − learning_rate·dw, then next_w = w + v with the new v", _momentum(1.0, True)),
        Mistake("nesterov", "sgd_momentum takes Nesterov's step, next_w = w − μ·v_prev + (1 + μ)·v (the course "
                "notes' variant): the assignment's sgd_momentum is plain momentum, v = μv − learning_rate·dw, then "
                "next_w = w + v", _nesterov),
        Mistake("plain step too", "sgd_momentum takes a plain gradient step besides the velocity's: the velocity "
                "v = μv − learning_rate·dw holds the gradient's step already, so next_w = w + v (not "
                "w − learning_rate·dw + v)", _momentum_and_sgd),
        Mistake("state lost", _STATE_LOST.format(function="sgd_momentum", state="config['velocity']"),
                _stateless("sgd_momentum")),
        *_ignored("sgd_momentum"),
    ),
    "rmsprop": (
        Mistake("decay swapped", "rmsprop applies the decay the wrong way round: cache = decay_rate·cache + "
                "(1 − decay_rate)·dw² keeps most of the old cache (not (1 − decay_rate)·cache + decay_rate·dw²)",
                _rmsprop(swapped=True)),
        Mistake("epsilon inside", "rmsprop puts epsilon inside the square root: divide by np.sqrt(cache) + "
                "epsilon, not np.sqrt(cache + epsilon)", _rmsprop(inside=True)),
        Mistake("state lost", _STATE_LOST.format(function="rmsprop", state="config['cache']"), _stateless("rmsprop")),
        *_ignored("rmsprop"),
    ),
    "adam": (
        Mistake("efficient form", "adam uses Kingma & Ba's efficient form (learning_rate·√(1 − β₂ᵗ)/(1 − β₁ᵗ) "
                "with ε added to √v): it differs from the course's formula only in where ε acts",
                _adam(efficient=True), accepted=True),
        Mistake("count from 1", "adam counts steps from t = 1 when config has no 't' (config.setdefault('t', 1), "
                "as CS231n's 2017 starter code for optim.py has it), so its first step is corrected as a second "
                "one; the course's updates from any given t, as the notebook checks them", _adam(first_t=1),
                accepted=True),
        Mistake("no bias correction", "adam has no bias correction: divide m by (1 − beta1**t) and v by "
                "(1 − beta2**t) before the step (Kingma & Ba 2015, Algorithm 1)", _adam(correct=False)),
        Mistake("no bias correction, t not counted", "adam has no bias correction and never counts its steps "
                "(config['t'] stays as it was): increment config['t'], then divide m by (1 − beta1**t) and v by "
                "(1 − beta2**t) before the step (Kingma & Ba 2015, Algorithm 1)", _adam(correct=False, counts=False)),
        Mistake("t not incremented first", "adam corrects the bias with t before incrementing it: at the first "
                "step 1 − beta1**0 = 0 divides by zero. Increment config['t'] first, then use it",
                _adam(t_after=True)),
        Mistake("epsilon inside", "adam puts epsilon inside the square root: divide by np.sqrt(v̂) + epsilon, not "
                "np.sqrt(v̂ + epsilon)", _adam(inside=True)),
        Mistake("corrected state", "adam stores the bias-corrected m̂ and v̂ in config: keep the running m and v "
                "there and correct copies of them at each step", _adam(store_hat=True)),
        Mistake("state lost", _STATE_LOST.format(function="adam", state="config['m'], config['v'] and config['t']"),
                _stateless("adam")),
        *_ignored("adam"),
        *_adam_combinations(),
    ),
}
