"""The running averages a layer keeps in its settings dict, and its test mode, checked against mathnn's reference.

CS231n's ``batchnorm_forward(x, gamma, beta, bn_param)`` must, in train mode, also update
``bn_param["running_mean"]`` and ``bn_param["running_var"]``::

    running = momentum * running + (1 - momentum) * batch statistic      (momentum default 0.9)

starting from zeros of shape (D,) when they are absent, with the *biased* batch variance; in test
mode (``bn_param["mode"] == "test"``) it normalizes with those running averages. The check of the
forward output and the gradients sees none of this, so :func:`running_problems` adds, at the first
point of :func:`mathnn.gradcheck.homework.check_pair`, for every layer whose SPEC declares
``running`` averages and a ``param_dict``:

1. a train-mode call with no running averages given (they start at zeros, momentum 0.9) and one
   with random non-zero running averages, momentum :data:`MOMENTUM` and ε = :data:`TEST_EPS`, so
   that the order of the momentum and an ε stored into running_var show; the student's settings dict after each call comes back from the sandbox
   (:meth:`StudentCode.forward_settings`: only float arrays and numbers) and its running averages
   are compared with what mathnn's reference leaves in its own copy of the same dict;
2. a test-mode call with the reference's running averages and ε = :data:`TEST_EPS` (so that an ε
   left out shows in float32 too), whose output is compared with the reference's.

A wrong answer is named when it equals one of the classic mistakes, computed here from the
reference: the momentum the wrong way round, running averages never updated, the unbiased variance,
σ² + ε stored as the running variance, the batch statistics in test mode, ε or gamma/beta left out.
Every finding is one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import tolerances
from .student import Described, StarterCodeError, StudentCode, StudentRaised, WrongOutputError

__all__ = ["DEFAULT_MOMENTUM", "MOMENTUM", "RUNNING_STREAM", "TEST_EPS", "running_problems"]

#: The momentum of the call with given running averages: not CS231n's default, 0.9, so that a code
#: that ignores bn_param["momentum"] shows, and far from 0.5, so that the order of the weights shows.
MOMENTUM = 0.8
#: CS231n's default momentum, used when bn_param has none.
DEFAULT_MOMENTUM = 0.9
#: ε of the test-mode call: large enough that an ε left out shows at float32's pass mark.
TEST_EPS = 1e-2
#: The running averages given come from default_rng([seed, RUNNING_STREAM]): the check's other draws
#: (dout, the next points) stay what they were.
RUNNING_STREAM = 2

Inputs = dict[str, Any]
#: How a statistic of the SPEC's ``running`` is said in a sentence.
_WORDS = {"var": "variance"}


def layer_spec(pair: Any) -> Mapping[str, Any] | None:
    """The SPEC of the layer a pair checks (None for the pairs written by hand: relu, the RNN)."""
    from ..catalogue import layers

    layer = layers().get(pair.layer or pair.name)
    return None if layer is None else layer.spec


def _gap(value: np.ndarray, expected: np.ndarray) -> float:
    scale = max(float(np.max(np.abs(expected), initial=0.0)), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(value.astype(np.float64) - expected), initial=0.0)) / scale


def _reference(pair: Any, values: Mapping[str, Any], name: str) -> tuple[np.ndarray, dict[str, Any]]:
    """mathnn's output and its own copy of the settings dict ``name`` after the call."""
    arguments = pair.call_arguments(values)
    out, _ = pair.reference()(*arguments)
    return out, arguments[pair.arguments.index(name)]


def _named(value: np.ndarray, candidates: list[tuple[str, np.ndarray]], dtype: np.dtype) -> str | None:
    """The sentence of the first candidate ``value`` equals, at the 'mistake' pass mark."""
    mark = tolerances.tolerance("mistake", dtype)
    for sentence, candidate in candidates:
        if candidate.shape == value.shape and _gap(value, candidate) <= mark:
            return sentence
    return None


def _listed(keys: list[str], name: str) -> str:
    quoted = [f"{name}['{key}']" for key in keys]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _form(settled: Mapping[str, Any], keys: Mapping[str, str], expected: Mapping[str, np.ndarray], name: str,
          forward: str, given: bool) -> list[str]:
    """Lines for running averages that are missing, not float arrays, of the wrong shape or not finite."""
    lines = []
    when = "a train-mode call" + (" with running averages given" if given else "")
    missing = [(statistic, key) for statistic, key in keys.items() if settled.get(key) is None]
    if missing:  # one line: the same finding for every key
        statistic, key = missing[0]
        formula = f"{name}['{key}'] = momentum * {key} + (1 - momentum) * batch {_WORDS.get(statistic, statistic)}"
        if len(missing) == 1:
            lines.append(f"{name} has no '{key}' after {when}: {forward} must write the updated running average "
                         f"back, {formula}")
        else:
            said = " and ".join(f"no '{key}'" for _, key in missing)
            lines.append(f"{name} has {said} after {when}: {forward} must write the updated running averages back, "
                         f"{formula} and likewise the others")
    for statistic, key in keys.items():
        shape = expected[key].shape
        value = settled.get(key)
        if value is None:
            continue
        elif isinstance(value, Described):
            lines.append(f"{name}['{key}'] is {value} after {when}; expected a float array of shape {shape}")
        elif not isinstance(value, np.ndarray):
            lines.append(f"{name}['{key}'] is the number {value:.6g} after {when}; expected a float array of shape "
                         f"{shape}, one running average per feature")
        elif value.shape != shape:
            lines.append(f"{name}['{key}'] has shape {value.shape} after {when}; expected {shape}, one running "
                         "average per feature")
        elif not np.all(np.isfinite(value)):
            lines.append(f"{name}['{key}'] has NaN or inf entries after {when} at finite inputs")
    return lines


def _compare(settled: Mapping[str, Any], expected: Mapping[str, np.ndarray], keys: Mapping[str, str],
             candidates: Mapping[str, list[tuple[str, np.ndarray]]], out_dtype: np.dtype
             ) -> list[tuple[str, str, float, float]]:
    """(key, what its value is named, error, pass mark) for every running average that differs."""
    wrong = []
    for key in keys.values():
        value = settled[key]
        mark = max(tolerances.tolerance("forward", value.dtype), tolerances.tolerance("forward", out_dtype))
        error = _gap(value, expected[key])
        if not error <= mark:
            named = _named(value, candidates.get(key, []), value.dtype) or ""
            wrong.append((key, named, error, mark))
    return wrong


def _said(wrong: list[tuple[str, str, float, float]], name: str, forward: str, when: str) -> list[str]:
    """One line per distinct mistake: the keys it explains, the largest error, the sentence."""
    lines = []
    for sentence in dict.fromkeys(named for _, named, _, _ in wrong):
        found = [item for item in wrong if item[1] == sentence]
        keys = [key for key, _, _, _ in found]
        error = max(error for _, _, error, _ in found)
        mark = max(mark for _, _, _, mark in found)
        verb = "differs" if len(keys) == 1 else "differ"
        line = (f"{_listed(keys, name)} {verb} from mathnn.layers.{forward}'s after {when}: "
                f"max relative error {error:.2e} (pass mark {mark:.0e})")
        lines.append(f"{line}: {sentence}" if sentence else line)
    return lines


def _train_candidates(keys: Mapping[str, str], start: Mapping[str, np.ndarray], batch: Mapping[str, np.ndarray],
                      momentum: float, averaged: Mapping[str, int], name: str, eps: float | None = None
                      ) -> dict[str, list[tuple[str, np.ndarray]]]:
    """The running averages each classic mistake leaves, per key (``averaged``: the values behind each entry)."""
    candidates: dict[str, list[tuple[str, np.ndarray]]] = {}
    for statistic, key in keys.items():
        r, b, m = start[key], batch[key], momentum
        listed = [
            ("the momentum is applied the wrong way round: running = momentum * running + (1 - momentum) * batch, "
             "momentum weighting the old average", (1 - m) * r + m * b),
            (f"the running averages are not updated, still the ones passed in {name}: a train-mode call stores "
             "momentum * running + (1 - momentum) * batch there", r),
            (f"{name}['momentum'] ({m:g} here) is ignored: the update uses {DEFAULT_MOMENTUM:g}",
             DEFAULT_MOMENTUM * r + (1 - DEFAULT_MOMENTUM) * b),
            (f"the running averages passed in {name} are ignored: the update starts from zeros at every call",
             (1 - m) * b),
            (f"the batch {_WORDS.get(statistic, statistic)} itself is stored, not the running average momentum * running + "
             "(1 - momentum) * batch", b),
        ]
        n = averaged[key]
        if statistic == "var" and n > 1:
            listed.insert(1, (
                "running_var is updated with the unbiased variance (N - 1, as np.var(ddof=1) or torch.var give): "
                "CS231n averages the biased batch variance, the one the batch is normalized with",
                m * r + (1 - m) * b * n / (n - 1)))
        if statistic == "var" and eps:
            listed.append((
                f"running_var is updated with σ² + ε ({name}['eps'] = {eps:g} here): ε belongs only under the square "
                "root of the normalization, the running average is of σ² itself", m * r + (1 - m) * (b + eps)))
        candidates[key] = listed
    return candidates


def _test_candidates(pair: Any, values: Inputs, name: str, default_eps: float | None) -> list[tuple[str, np.ndarray]]:
    """Test-mode outputs of the classic mistakes, from the reference."""
    settings = values[name]
    listed = [(f"test mode normalizes with the batch's own statistics: it must use {name}'s running averages",
               {name: {**settings, "mode": "train"}})]
    if "eps" in settings:
        listed.append((f"test mode leaves out ε: x̂ = (x - running_mean) / sqrt(running_var + eps), with eps = "
                       f"{name}['eps'] ({settings['eps']:g} here)", {name: {**settings, "eps": 0.0}}))
        if default_eps is not None:
            listed.append((f"test mode ignores {name}['eps'] ({settings['eps']:g} here) and uses {default_eps:g}",
                           {name: {**settings, "eps": default_eps}}))
    if "gamma" in values and "beta" in values:
        ones, zeros = np.ones_like(values["gamma"]), np.zeros_like(values["beta"])
        listed += [("test mode leaves out gamma and beta: out = gamma * x̂ + beta", {"gamma": ones, "beta": zeros}),
                   ("test mode leaves out gamma: out = gamma * x̂ + beta", {"gamma": ones}),
                   ("test mode leaves out beta: out = gamma * x̂ + beta", {"beta": zeros})]
    return [(sentence, _reference(pair, {**values, **change}, name)[0]) for sentence, change in listed]


def _test_mode(student: StudentCode, pair: Any, values: Inputs, name: str, default_eps: float | None) -> list[str]:
    """The student's test-mode output against the reference's, with the running averages the reference left."""
    from .homework import error_sentence

    when = f"in test mode ({name}['mode'] = 'test')"
    try:
        out, _, _ = student.forward(values)
    except StudentRaised as raised:
        return [error_sentence({**raised.details, "stage": f"{pair.forward} {when}"})]
    except StarterCodeError as starter:  # train mode written, test mode not yet
        where = f" at {starter.where}" if starter.where else ""
        return [f"{str(starter).replace(f'{pair.forward} is', f'{pair.forward} {when} is', 1)}{where}"]
    except WrongOutputError as wrong:
        return [f"{wrong} {when}"]
    expected, _ = _reference(pair, values, name)
    if out.shape != expected.shape:
        return [f"{pair.forward} returned out of shape {out.shape} {when}; expected {expected.shape}"]
    mark = tolerances.tolerance("forward", out.dtype)
    error = _gap(out, expected)
    if error <= mark:
        return []
    line = (f"{pair.forward}'s output {when} differs from mathnn.layers.{pair.forward}'s: max relative error "
            f"{error:.2e} (pass mark {mark:.0e})")
    named = _named(out, _test_candidates(pair, values, name, default_eps), out.dtype) if np.all(np.isfinite(out)) \
        else None
    return [f"{line}: {named}" if named else line]


def running_problems(student: StudentCode, pair: Any, values: Inputs, seed: int, out_dtype: np.dtype) -> list[str]:
    """Lines for a layer's running averages after train-mode calls and for its test mode; [] when right or none kept.

    ``values`` are the first point's inputs (train mode); ``out_dtype`` the dtype of the student's
    output there, whose pass mark a running average also gets.
    """
    spec = layer_spec(pair)
    if not spec or not spec.get("running") or not spec.get("param_dict"):
        return []
    name, keys = spec["param_dict"], dict(spec["running"])
    base = {key: value for key, value in values[name].items() if key not in keys.values()}
    rng = np.random.default_rng([seed, RUNNING_STREAM])
    _, expected_default = _reference(pair, {**values, name: base}, name)
    start = {key: rng.normal(0.0, 1.0, expected_default[key].shape) for key in keys.values()}
    if "var" in keys:  # variances are ≥ 0
        start[keys["var"]] = rng.uniform(0.05, 0.5, expected_default[keys["var"]].shape)
    given = {**base, "momentum": MOMENTUM, **start}
    if "eps" in spec.get("settings", {}):  # ε large enough that one stored into running_var shows
        given["eps"] = TEST_EPS
    _, expected_given = _reference(pair, {**values, name: given}, name)
    _, batch = _reference(pair, {**values, name: {**given, "momentum": 0.0}}, name)
    x = values[spec["arguments"][0]]
    averaged = {key: max(int(np.size(x)) // max(expected_given[key].size, 1), 1) for key in keys.values()}

    _, settled_default = student.forward_settings({**values, name: base}, name)
    lines = _form(settled_default, keys, expected_default, name, pair.forward, False)
    _, settled_given = student.forward_settings({**values, name: given}, name)
    lines = lines or _form(settled_given, keys, expected_given, name, pair.forward, True)
    if not lines:
        candidates = _train_candidates(keys, start, batch, MOMENTUM, averaged, name, given.get("eps"))
        wrong = _compare(settled_given, expected_given, keys, candidates, out_dtype)
        when = f"a train-mode call (running averages given, momentum {MOMENTUM:g})"
        lines = _said(wrong, name, pair.forward, when)
        if not wrong:  # right when given: then only the defaults can be wrong
            wrong = _compare(settled_default, expected_default, keys, {}, out_dtype)
            lines = [f"{line}: with none given they start at zeros of shape (D,), and momentum defaults to "
                     f"{DEFAULT_MOMENTUM:g}" for line in _said(wrong, name, pair.forward,
                                                                "a train-mode call (no running averages given)")]
    default_eps = spec.get("settings", {}).get("eps")
    test = {**given, **{key: expected_given[key] for key in keys.values()}, "mode": "test"}
    if "eps" in spec.get("settings", {}):
        test["eps"] = TEST_EPS
    return lines + _test_mode(student, pair, {**values, name: test}, name, default_eps)
