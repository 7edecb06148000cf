"""Dropout's forward pass, checked by the structure of its output: the mask is random, so no reference draw is.

CS231n's ``dropout_forward(x, dropout_param)`` (2017 and later) keeps each entry of x with probability
``p`` and scales it by 1/p in train mode, ``out = x * (np.random.rand(*x.shape) < p) / p``, and returns
x unchanged in test mode. A correct student may draw the mask another way (``np.random.binomial``, a
``RandomState``, a bool or float mask, float32), so the output is never compared with mathnn's own draw.
:func:`check_forward` replaces that comparison in :func:`mathnn.gradcheck.homework.check_pair`:

* at every point, each entry of the train-mode output must be 0 or x/p; kept entries equal to x (no
  1/p scale) or to x/(1 − p) (p taken as the drop probability, CS231n's meaning before 2017) are named.
  A file whose ``dropout_forward`` docstring gives p as the drop probability ("We drop each neuron
  output with probability p", the assignment of 2016 and early 2017, while the lecture's code kept
  units with probability p) may use either meaning: the output at the point says which, and the rest
  is checked with it (entries 0 or x/(1 − p) and a keep fraction near 1 − p for the docstring's);
* at the first point, three more calls:

  1. the same call again: the same seed must give the same mask (the notebook compares outputs drawn
     with a seed, and a gradient check needs the same mask at every call);
  2. a train-mode call on a large x (:data:`KEEP_SHAPE`): the fraction of kept entries must lie within
     :data:`SIGMAS` binomial standard deviations of p, so a correct random mask fails with probability
     below 10⁻⁶ (about 6·10⁻⁷ for 5σ); a fraction near 1 − p is named (``rand > p``); the same call
     with the next seed must keep other entries (a seed fixed in the code gives the same mask);
  3. a test-mode call: the output must be x itself; one scaled by p (or 1 − p) or still dropping
     entries is named.

Every call runs the student's code through :class:`~mathnn.gradcheck.student.StudentCode` (in the
sandbox when grading): only arrays come back, and the verdict is computed here.

A wrong dx is named by :func:`diagnosis` from the student's own derivatives: the finite differences of
their forward pass give the mask they drew (numeric / dout), and the rule's named mistakes are the
generated kernels applied to that mask; a dx with dropout's structure on *other* entries is a mask
drawn again in the backward pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import tolerances
from .check import Diagnose
from .student import StarterCodeError, StudentCode, StudentRaised, WrongOutputError

__all__ = ["DROPOUT_STREAM", "KEEP_SHAPE", "SIGMAS", "check_forward", "diagnosis", "drop_documented", "structure"]

#: The large x of the keep-fraction call: 100 000 entries, so that 5σ is 0.46 % of them at p = 0.3.
KEEP_SHAPE = (500, 200)
#: Binomial standard deviations a keep fraction may be off by: P(|Z| > 5) ≈ 5.7e-7 for a correct mask.
SIGMAS = 5.0
#: The large x is drawn from default_rng([seed, DROPOUT_STREAM]): the check's other draws stay as they were.
DROPOUT_STREAM = 3

Inputs = dict[str, Any]

#: How CS231n's dropout_forward docstring said p was the drop probability (2016, early 2017):
#: "We drop each neuron output with probability p."
_DROP_MEANING = re.compile(r"\bdrop(?:s|ped)?\s+each\b[^.;]*?\bprobability\s+p\b", re.IGNORECASE)
#: ... and how it says p is the keep probability since: "We keep each neuron output with probability p",
#: "p is the probability of **keep** a neuron output".
_KEEP_MEANING = re.compile(r"\bkeeps?\s+each\b[^.;]*?\bprobability\s+p\b|\bprobability\s+of\W+keep",
                           re.IGNORECASE)


def drop_documented(doc: str | None) -> bool:
    """Whether a ``dropout_forward`` docstring gives p as the probability of dropping an entry, not keeping it."""
    return bool(doc) and bool(_DROP_MEANING.search(doc or "")) and not _KEEP_MEANING.search(doc or "")


@dataclass(frozen=True)
class _P:
    """dropout_param['p'] and what it means in the student's file."""

    value: float
    drop: bool  # the file's docstring gives p as the drop probability

    @property
    def keep(self) -> float:
        """The probability of keeping an entry."""
        return 1 - self.value if self.drop else self.value

    @property
    def keep_text(self) -> str:
        """The keep probability in terms of p."""
        return "(1 - p)" if self.drop else "p"

    @property
    def said(self) -> str:
        """p's value, and its meaning when it is the file's old one."""
        return f"p = {self.value:g}" + (", the drop probability, as dropout_forward's docstring says" if self.drop
                                        else "")


def _settings(pair: Any, values: Mapping[str, Any]) -> tuple[str, dict[str, Any], float]:
    name = next(argument for argument in pair.arguments if isinstance(values[argument], dict))
    settings = dict(values[name])
    return name, settings, float(settings["p"])


def _meaning(student: StudentCode, pair: Any, values: Inputs, out: np.ndarray) -> _P:
    """What p means for this file: the keep probability, unless its docstring gives the drop probability
    and the output at the point is not inverted dropout with p kept (the lecture's meaning, also right then)."""
    _, _, p = _settings(pair, values)
    if not drop_documented(student.docs.get(pair.forward)):
        return _P(p, False)
    x = np.asarray(values[pair.arguments[0]])
    kept_as_p = out.shape == x.shape and bool(np.all(np.isfinite(out))) and \
        structure(x, out, p, out.dtype)[0] == "inverted"
    return _P(p, not kept_as_p)


def structure(x: np.ndarray, out: np.ndarray, p: float, dtype: np.dtype) -> tuple[str, float, int]:
    """How a train-mode output is made of x: ('inverted' | 'unscaled' | 'drop probability' | 'other', error, kept).

    Each entry of an inverted-dropout output is 0 or x/p; ``error`` is the largest distance of an entry
    from the nearer of the two, relative to max |x|/p; ``kept`` counts the entries that are not 0.
    """
    x = x.astype(np.float64)
    out = out.astype(np.float64)
    mark = tolerances.tolerance("forward", dtype)
    scale = max(float(np.max(np.abs(x), initial=0.0)) / p, np.finfo(np.float64).tiny)
    dropped = np.abs(out)
    kept = int(np.count_nonzero(dropped > mark * scale))

    def gap(kept_value: np.ndarray) -> float:
        return float(np.max(np.minimum(dropped, np.abs(out - kept_value)), initial=0.0)) / scale

    error = gap(x / p)
    if error <= mark:
        return "inverted", error, kept
    if gap(x) <= mark:
        return "unscaled", error, kept
    if p < 1 and gap(x / (1 - p)) <= mark:
        return "drop probability", error, kept
    return "other", error, kept


def _structure_sentence(kind: str, forward: str, name: str, p: _P, error: float) -> str:
    keep = p.keep_text
    if kind == "unscaled":
        mask = "(np.random.rand(*x.shape) >= p) / (1 - p)" if p.drop else "(np.random.rand(*x.shape) < p) / p"
        return (f"{forward} keeps entries without the 1/{keep.replace(' ', '')} scale (kept entries equal x, {p.said}):"
                f" inverted dropout divides the kept entries by {keep} at training time, out = x * {mask}, so that "
                "test mode needs no scaling")
    if kind == "drop probability" and p.drop:
        return (f"{forward}'s kept entries are x / p here (p = {p.value:g}) and x / (1 - p) at the first point: "
                f"use one meaning of {name}['p'] throughout")
    if kind == "drop probability":
        return (f"{forward} uses {name}['p'] as the probability of dropping an entry (kept entries are x / (1 - p), "
                f"p = {p.value:g} here): since 2017 CS231n's p is the probability of keeping one, mask = "
                "(np.random.rand(*x.shape) < p) / p")
    scale = "(1 - p)" if p.drop else "p"
    return (f"{forward}'s train-mode output is not inverted dropout of x: each entry must be 0 or x / {scale} "
            f"({p.said}), and some are neither (max relative distance {error:.2e})")


def _call(student: StudentCode, forward: str, values: Inputs, when: str) -> tuple[np.ndarray | None, str | None]:
    """The student's output for ``values``, or None and one line saying why there is none."""
    from .homework import error_sentence

    try:
        out, _, _ = student.forward(values)
    except StudentRaised as raised:
        return None, error_sentence({**raised.details, "stage": f"{forward} {when}"})
    except StarterCodeError as starter:  # train mode written, test mode not yet
        where = f" at {starter.where}" if starter.where else ""
        return None, f"{str(starter).replace(f'{forward} is', f'{forward} {when} is', 1)}{where}"
    except WrongOutputError as wrong:
        return None, f"{wrong} {when}"
    return out, None


def _shared_mask(kept: np.ndarray) -> tuple[int, str] | None:
    """(0, 'column') when every row of a 2-D train-mode output keeps the same entries (a mask drawn once
    for all rows), (1, 'row') when every column does; None for a mask drawn per entry, or none to tell."""
    if kept.ndim != 2 or kept.all() or not kept.any():
        return None
    for axis, along in ((0, "column"), (1, "row")):
        if np.array_equal(kept, np.broadcast_to(np.take(kept, [0], axis=axis), kept.shape)):
            return axis, along
    return None


def _keep_fraction(student: StudentCode, pair: Any, values: Inputs, seed: int, known: str, meaning: _P) -> list[str]:
    """A train-mode call on a large x: the kept fraction within SIGMAS binomial deviations of p.

    ``known`` is the structure already found at the point's own x (not said twice).
    """
    name, settings, _ = _settings(pair, values)
    p = meaning.keep
    x = 0.5 + np.random.default_rng([seed, DROPOUT_STREAM]).random(KEEP_SHAPE)  # every entry ≥ 0.5: none is 0
    when = f"on x of shape {KEEP_SHAPE} in train mode"
    out, said = _call(student, pair.forward, {**values, pair.arguments[0]: x, name: settings}, when)
    if out is None:
        return [said] if said else []
    if out.shape != x.shape:
        return [f"{pair.forward} returned out of shape {out.shape} {when}; expected {x.shape}, the shape of x"]
    kind, error, kept = structure(x, out, p, out.dtype)
    lines = [] if kind in ("inverted", known) else [
        f"{_structure_sentence(kind, pair.forward, name, meaning, error)} ({when})"]
    if "seed" in settings and 0 < p < 1:  # another seed, another mask: 100 000 entries never coincide by chance
        other = {**settings, "seed": (int(settings["seed"]) + 1) % 2**32}
        again, _ = _call(student, pair.forward, {**values, pair.arguments[0]: x, name: other}, when)
        if again is not None and again.shape == out.shape and np.array_equal(again != 0, out != 0):
            lines.append(f"{pair.forward} drew the same mask with {name}['seed'] = {settings['seed']} and "
                         f"{other['seed']} ({when}): the mask does not depend on the seed given (a seed fixed in the "
                         f"code, np.random.seed(0)?); seed with {name}['seed'], so that every training step draws "
                         "a new mask")
    n, units = x.size, "entries"
    shared = _shared_mask(out != 0)
    if shared is not None:  # one draw per column (or row): the count of those is what is binomial
        axis, along = shared
        lines.append(f"{pair.forward} drops whole {along}s of x ({when}): every {'row' if axis == 0 else 'column'} "
                     f"gets the same mask (a mask of shape {(1, x.shape[1]) if axis == 0 else (x.shape[0], 1)}?), "
                     f"where dropout keeps or drops each entry on its own, mask = np.random.rand(*x.shape) < p")
        n, units = x.shape[1 - axis], f"{along}s"
        kept = int(np.count_nonzero(np.take(out != 0, 0, axis=axis)))
    sigma = float(np.sqrt(n * p * (1 - p)))
    if abs(kept - n * p) <= SIGMAS * sigma:
        return lines
    said = (f"{pair.forward} kept {kept} of {n} {units} ({kept / n:.3f}) {when} with {meaning.said}: expected "
            f"{meaning.keep_text} · {n} = {n * p:.0f} ± {SIGMAS * sigma:.0f} ({SIGMAS:g} binomial standard deviations)")
    if abs(kept - n * (1 - p)) <= SIGMAS * sigma and meaning.drop:
        said += ("; it keeps each entry with probability p (np.random.rand(*x.shape) < p?) but scales the kept ones "
                 "by 1 / (1 - p): the mask and the scale must take p in the same meaning")
    elif abs(kept - n * (1 - p)) <= SIGMAS * sigma and drop_documented(student.docs.get(pair.forward)):
        said += (f"; it keeps each entry with probability 1 - p, as {pair.forward}'s docstring has p (the drop "
                 "probability), but scales the kept ones by 1 / p: the mask and the scale must take p in the same "
                 "meaning, mask = (np.random.rand(*x.shape) >= p) / (1 - p)")
    elif abs(kept - n * (1 - p)) <= SIGMAS * sigma:
        said += (f"; it keeps each entry with probability 1 - p (np.random.rand(*x.shape) > p?): since 2017 "
                 f"CS231n's {name}['p'] is the probability of keeping an entry, mask = (np.random.rand(*x.shape) < p) / p")
    return [*lines, said]


def _test_mode(student: StudentCode, pair: Any, values: Inputs, meaning: _P) -> list[str]:
    """A test-mode call: out must be x itself."""
    name, settings, _ = _settings(pair, values)
    p = meaning.keep
    when = f"in test mode ({name}['mode'] = 'test')"
    x = np.asarray(values[pair.arguments[0]], dtype=np.float64)
    out, said = _call(student, pair.forward, {**values, name: {**settings, "mode": "test"}}, when)
    if out is None:
        return [said] if said else []
    if out.shape != x.shape:
        return [f"{pair.forward} returned out of shape {out.shape} {when}; expected {x.shape}, the shape of x"]
    mark = tolerances.tolerance("forward", out.dtype)
    scale = max(float(np.max(np.abs(x), initial=0.0)), np.finfo(np.float64).tiny)

    def gap(expected: np.ndarray) -> float:
        return float(np.max(np.abs(out.astype(np.float64) - expected), initial=0.0)) / scale

    error = gap(x)
    if error <= mark:
        return []
    line = f"{pair.forward}'s output {when} is not x: max relative error {error:.2e} (pass mark {mark:.0e})"
    keep = meaning.keep_text
    if gap(p * x) <= mark:
        return [f"{line}: it scales x by {keep} ({p:g} here); with inverted dropout the 1/{keep.replace(' ', '')} "
                "scale is applied in train mode, so test mode returns x unchanged"]
    if gap((1 - p) * x) <= mark and not meaning.drop:
        return [f"{line}: it scales x by 1 - p ({1 - p:g} here), old-style dropout with p the drop probability; "
                "since 2017 CS231n's test mode returns x unchanged"]
    if np.any((out == 0) & (x != 0)):
        return [f"{line}: it still drops entries ({int(np.count_nonzero((out == 0) & (x != 0)))} of {x.size} are 0); "
                f"with {name}['mode'] = 'test' dropout_forward must return x unchanged, no mask"]
    return [line]


def check_forward(student: StudentCode, pair: Any, values: Inputs, out: np.ndarray, first_point: bool,
                  seed: int) -> tuple[dict[str, Any], list[str]]:
    """The forward report of :func:`mathnn.gradcheck.homework.check_pair` for dropout, and further problems.

    ``out`` is the student's train-mode output at ``values``. The report's status is 'mismatch' when
    any finding concerns the forward pass; its message is the first finding, the others are returned
    as problems.
    """
    name, _, _ = _settings(pair, values)
    meaning = _meaning(student, pair, values, out)
    p = meaning.keep
    x = np.asarray(values[pair.arguments[0]])
    mark = tolerances.tolerance("forward", out.dtype)
    report: dict[str, Any] = {"status": "ok", "max_error": None, "tolerance": mark,
                              "reference": f"inverted dropout's structure: each entry 0 or x / "
                                           f"{'(1 - p)' if meaning.drop else 'p'} ({meaning.said})",
                              "message": None}
    findings: list[str] = []
    kind = "inverted"
    if out.shape != x.shape:
        findings.append(f"{pair.forward} returned out of shape {out.shape}; expected {x.shape}, the shape of x")
    elif np.all(np.isfinite(out)):  # NaN or inf is reported by the check itself
        kind, error, _ = structure(x, out, p, out.dtype)
        report["max_error"] = error
        if kind != "inverted":
            findings.append(_structure_sentence(kind, pair.forward, name, meaning, error))
    if first_point:
        shape = student.out_shape  # the extra calls must not change what nearby points are compared with
        again, said = _call(student, pair.forward, values, "when called again with the same inputs")
        if said:
            findings.append(said)
        elif again is not None and (again.shape != out.shape or not np.array_equal(again, out, equal_nan=True)):
            findings.append(
                f"{pair.forward} drew a different mask when called again with the same {name}['seed']: the seed is "
                f"ignored. When {name} has a 'seed', call np.random.seed({name}['seed']) before drawing the mask, as "
                "CS231n's code does: the notebook compares outputs drawn with a seed, and a gradient check needs the "
                "same mask at every call")
        findings += _keep_fraction(student, pair, values, seed, kind, meaning)
        findings += _test_mode(student, pair, values, meaning)
        # the point's own call last, as in a notebook (a backward drawing a new mask then gets the next
        # numbers, not the forward's again); a failure here was reported by the same call above
        try:
            student.forward(values)
        except (StudentRaised, WrongOutputError):
            pass
        student.out_shape = shape
    if findings:
        report.update(status="mismatch", message=findings[0])
    return report, findings[1:]


def _matches(candidate: np.ndarray, gradient: np.ndarray, mark: float) -> bool:
    scale = max(float(np.abs(candidate).max(initial=0)), float(np.abs(gradient).max(initial=0)), 1e-300)
    return candidate.shape == gradient.shape and float(np.abs(candidate - gradient).max(initial=0)) <= mark * scale


def diagnosis(name: str) -> Diagnose:
    """A ``diagnose`` callback for a wrong dx of a layer with a random mask (dropout).

    The student's mask is read from their own derivatives, mask = numeric / dout (dout is drawn from a
    normal distribution: no entry is 0); the rule's named mistakes are its generated kernels at that mask.
    """
    from ..catalogue import layers

    layer = layers()[name]
    spec = layer.spec
    # float32's mark: the mask read from a float32 forward's finite differences carries its rounding, and the
    # candidates differ from each other by whole entries or a factor p, never by a rounding error
    mark = tolerances.tolerance("mistake", np.float32)

    def diagnose(wrt: str, analytic: np.ndarray, numeric: np.ndarray, inputs: dict, dout: np.ndarray) -> str | None:
        if analytic.shape != numeric.shape or dout.shape != numeric.shape or not np.all(dout != 0):
            return None
        mask = numeric / dout
        arrays = {key: (mask if key == "mask" else np.asarray(inputs[key])) for key in spec["shapes"]}
        for mistake in spec["mistakes"]:
            if mistake["wrt"] == wrt and _matches(layer.kernel(mistake["kernel"])(dout, **arrays), analytic, mark):
                return str(mistake["sentence"])
        # dout / p on the entries of another mask: a mask drawn again in the backward pass
        p = float(np.max(1 / np.abs(mask[np.abs(mask) > mark])) if np.any(np.abs(mask) > mark) else 0)
        kept = np.abs(analytic) > mark * float(np.abs(analytic).max(initial=0))
        if p > 0 and np.any(kept != (np.abs(mask) > mark)) and _matches(np.where(kept, dout / p, 0.0), analytic, mark):
            return (f"your {spec['backward']} multiplies dout by a mask other than the one {spec['forward']} used "
                    f"(dx is dout / p on other entries): keep the forward's mask in the cache and use it, "
                    f"dx = dout * mask; a mask drawn again in the backward pass drops other entries")
        return None

    return diagnose


def against_output(student: StudentCode, pair: Any, values: Inputs, out: np.ndarray, gradients: list[np.ndarray],
                   dout: np.ndarray, marks: Mapping[str, float] | None = None) -> list[str]:
    """dx against the derivative of the output the forward returned at the point, computed here.

    The train-mode output passed :func:`structure`: each entry is 0 or x scaled by 1/p, so the
    forward at the point is x times that mask, and dx must be dout times it. The finite differences
    of the student's forward (the gradient check) cannot stand in for this: a forward that answers
    differently near the point it was called at (the identity, whose derivative is dout) would make a
    backward that ignores the mask agree with them. Like :func:`mathnn.gradcheck.probes.against_reference`
    for the layers with a reference forward.
    """
    name, settings, _ = _settings(pair, values)
    wrt = pair.differentiated[0]
    x = np.asarray(values[pair.arguments[0]])
    if settings.get("mode") != "train" or out.shape != x.shape or not gradients or gradients[0].shape != x.shape:
        return []
    keep = _meaning(student, pair, values, out).keep
    scale = max(float(np.max(np.abs(x), initial=0.0)) / keep, np.finfo(np.float64).tiny)
    kept = np.abs(out.astype(np.float64)) > tolerances.tolerance("forward", out.dtype) * scale
    expected = np.where(kept, dout.astype(np.float64) / keep, 0.0)
    gradient = gradients[0].astype(np.float64)
    mark = (marks or {}).get(wrt, tolerances.tolerance("gradient", out.dtype))
    size = max(float(np.max(np.abs(expected), initial=0.0)), np.finfo(np.float64).tiny)
    error = float(np.max(np.abs(gradient - expected), initial=0.0)) / size
    if error <= mark:
        return []
    dx = pair.gradients[0]
    return [f"{dx} disagrees with the derivative of the output {pair.forward} returned at this point (dout times "
            f"its mask / {'(1 - p)' if keep != settings['p'] else 'p'}, {name}['p'] = {settings['p']:g}; max relative "
            f"error {error:.1e}), although it agrees with finite differences of your forward pass: {pair.forward} "
            "answers differently near the point it was called at"]
