"""Check a backward pass against derivatives of its own forward pass, without lying either way.

:func:`check_vjp` takes a forward function ``f(**inputs)`` and a backward function
``f_vjp(dout, **inputs)`` (the shape of ``jax.test_util.check_vjp``, so any hand-written backward can be
checked) and compares each returned gradient with a numeric one:

* **method** — the complex step where ``f`` is complex-safe (it must keep the imaginary part *and*
  agree with a real difference along a random direction, so ``np.var`` or ``np.abs`` inside ``f``
  cannot fake a derivative), otherwise Richardson-extrapolated central differences;
* **pass mark** — from the numeric method's own error estimate plus the rounding the dtype allows
  (1e-9 of the gradient's scale in float64, 1e-4 in float32), never a fixed 1e-7;
* **large inputs** — a few centred Gaussian probe directions (seed printed), each compared with
  the directional derivative at the same pass mark; only an input whose probe fails is then checked
  entry by entry, to say where;
* **kinks** — an entry that fails is re-examined with left and right one-sided differences: if they
  disagree the input sits on a kink, and an analytic value between them passes ("kink at index …");
* **reports** — the worst entries, named patterns (a constant factor, a sign flip, a transpose, an
  error that is the same in every row, the first time step that goes wrong) and an optional
  diagnosis (for the layers mathnn has rules for, see :mod:`mathnn.gradcheck.diagnosis`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TypedDict, Unpack, cast

import numpy as np

from ..errors import InputError
from ..validate import count
from .numeric import (
    ESTIMATE_FACTOR, Along, Counted, Function, Setup, complex_safe, directional_central,
    directional_complex, entrywise, kink,
)
from .patterns import describe_patterns
from .report import Entry, GradientCheck, Report
from .tolerances import tolerance as pass_mark

#: Inputs with more entries than this are probed along random directions in mode 'auto'.
RANDOM_THRESHOLD = 256
METHODS = ("auto", "complex", "central", "richardson")
#: Failing entries examined for a kink before concluding the gradient is simply wrong.
KINK_LOOKUPS = 8
MODES = ("auto", "full", "random")

#: ``diagnose(name, analytic, numeric, inputs, dout)`` → a sentence explaining a failing gradient, or None.
Diagnose = Callable[[str, np.ndarray, np.ndarray, dict, np.ndarray], "str | None"]


class CheckOptions(TypedDict, total=False):
    """The keyword options of :func:`check_vjp` and :func:`check_gradients` (documented with check_vjp)."""

    method: str
    mode: str
    seed: int
    probes: int
    diagnose: Diagnose | None
    names: Mapping[str, str] | None
    rtol: float | Mapping[str, float] | None


#: The value of each option a call leaves out.
DEFAULT_OPTIONS: CheckOptions = {
    "method": "auto", "mode": "auto", "seed": 0, "probes": 4, "diagnose": None, "names": None, "rtol": None,
}


def _options(given: Mapping[str, object], function: str) -> CheckOptions:
    """The call's options over the defaults, each checked: one InputError naming the first bad one."""
    for name in given:
        if name not in DEFAULT_OPTIONS:
            raise InputError(
                f"{name}: not an option of {function}; expected one of {', '.join(DEFAULT_OPTIONS)}"
            )
    options = cast(CheckOptions, {**DEFAULT_OPTIONS, **given})
    if options["method"] not in METHODS:
        raise InputError(f"method: expected one of {', '.join(METHODS)}; received {options['method']!r}")
    if options["mode"] not in MODES:
        raise InputError(f"mode: expected one of {', '.join(MODES)}; received {options['mode']!r}")
    options["probes"] = count(options["probes"], "probes", "random directions per input")
    options["seed"] = count(options["seed"], "seed", "the seed of dout and the probe directions", 0)
    if options["diagnose"] is not None and not callable(options["diagnose"]):
        raise InputError(f"diagnose: expected a callable or None; received {type(options['diagnose']).__name__}")
    return options


def _as_inputs(inputs: object) -> tuple[dict[str, np.ndarray], list[str]]:
    if not isinstance(inputs, Mapping) or not inputs:
        raise InputError(f"inputs: expected a non-empty dict of name -> array; received {type(inputs).__name__}")
    arrays, notes = {}, []
    for name, value in inputs.items():
        array = np.array(value)  # a private copy: the student's arrays are never touched
        if array.dtype.kind in "biu":
            notes.append(f"{name} is {array.dtype}: checked as float64 (x + h would truncate an integer array)")
            array = array.astype(np.float64)
        elif array.dtype.kind != "f":
            raise InputError(f"inputs[{name!r}]: expected an array of real numbers; received dtype {array.dtype}")
        arrays[str(name)] = array
    return arrays, notes


# -- the check --------------------------------------------------------------------------------------


def _normalise_gradients(gradients: object, names: list[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    problems = []
    if isinstance(gradients, Mapping):
        found = {name: gradients[name] for name in names if name in gradients}
        missing = [name for name in names if name not in gradients]
        if missing:
            problems.append(f"f_vjp returned no gradient for {', '.join(missing)}")
    else:
        values = list(gradients) if isinstance(gradients, (tuple, list)) else [gradients]
        if len(values) != len(names):
            problems.append(
                f"f_vjp returned {len(values)} gradient(s); expected {len(names)} ({', '.join(names)})"
            )
        found = dict(zip(names, values))
    arrays = {}
    for name, value in found.items():
        array = np.asarray(value)
        if array.dtype.kind not in "fiu":
            problems.append(f"the gradient for {name} has dtype {array.dtype}; expected real floats")
            continue
        arrays[name] = array.astype(np.float64)
    return arrays, problems


def _precision(f: Counted, inputs: dict[str, np.ndarray], notes: list[str],
               rtol: float | None = None) -> tuple[dict, float, float, str]:
    """Work in float64 when f computes in float64 for float64 input; else in f's own float32."""
    wide = {name: array.astype(np.float64) for name, array in inputs.items()}
    output = f(**wide)
    narrow = any(array.dtype == np.float32 for array in inputs.values())
    if output.dtype == np.float64:
        note = "float32 inputs checked on float64 copies (f computes in float64 when given float64)" if narrow else "float64"
        return wide, pass_mark("gradient", np.float64, rtol), float(np.finfo(np.float64).eps), "; ".join([note, *notes])
    note = (
        f"f returns {output.dtype} even for float64 input: checked in float32, where about 7 digits are "
        "meaningful; differences below 1e-4 of a gradient's scale are float32 rounding"
    )
    return wide, pass_mark("gradient", np.float32, rtol), float(np.finfo(np.float32).eps), "; ".join([note, *notes])


def check_vjp(
    f: Function,
    f_vjp: Callable[..., object],
    inputs: Mapping[str, np.ndarray],
    dout: np.ndarray | None = None,
    **options: Unpack[CheckOptions],
) -> Report:
    """Check that ``f_vjp`` returns the gradients of Σ dout·f(**inputs) with respect to every input.

    Parameters
    ----------
    f : callable, f(**inputs) -> ndarray of shape (out...)
        The forward pass (output only).
    f_vjp : callable, f_vjp(dout, **inputs) -> tuple (or dict) of ndarray
        The backward pass: one gradient per input, in the order of ``inputs``, each of its input's shape.
    inputs : dict of str to ndarray
        The point to check at; never modified (the check works on copies).
    dout : ndarray of shape (out...), optional
        Upstream gradient; a seeded standard normal by default (not all ones: a direction of all ones
        hides errors that sum to zero, such as batch norm's missing x̂·Σ dy x̂ term).
    **options
        Keyword options, all optional (:class:`CheckOptions`); their defaults are
        :data:`DEFAULT_OPTIONS`.

    Other Parameters
    ----------------
    method : {'auto', 'complex', 'central', 'richardson'}
        'auto': the complex step where f proves complex-safe, otherwise Richardson extrapolation.
    mode : {'auto', 'full', 'random'}
        'full': entry by entry; 'random': ``probes`` centred Gaussian directions per input, entry by
        entry only for an input whose probe fails; 'auto': random when the inputs hold more than 256
        entries in all.
    seed : int
        Seeds dout and the probe directions; printed in the report. Default 0.
    probes : int
        Directions per input in random mode. Default 4.
    diagnose : callable, optional
        ``diagnose(name, analytic, numeric, inputs, dout)`` → a sentence explaining a failing gradient.
    names : dict of str to str, optional
        How to call each input's gradient in the report (``{"x": "dx"}``); the input's name otherwise.
    rtol : float or dict of str to float, optional
        The pass mark for this call, instead of the table's entry for the dtype
        (:data:`mathnn.gradcheck.tolerances.TOLERANCES` ``["gradient"]``); a dict gives it per input
        name (a gradient returned in float32 by a float64 layer is judged at float32's mark), the
        others keep the table's entry.

    Returns
    -------
    Report
        Truthy only if every gradient passed.
    """
    settings = _options(options, "check_vjp")
    for label, function in (("f", f), ("f_vjp", f_vjp)):
        if not callable(function):
            raise InputError(f"{label}: expected a callable; received {type(function).__name__}")
    setup, rng, precision, problems, marks = _prepare(f, None, inputs, dout, settings)
    work, dout_array = setup.inputs, setup.dout
    before = {name: array.copy() for name, array in work.items()}
    dout_before = dout_array.copy()
    given = {name: array.copy() for name, array in work.items()}
    analytic, shape_problems = _normalise_gradients(f_vjp(dout_array, **given), list(work))
    problems += shape_problems
    if not np.array_equal(dout_array, dout_before):
        problems.append("f_vjp modified dout in place")
        setup = replace(setup, dout=dout_before)
    changed = [name for name in work if not np.array_equal(given[name], before[name], equal_nan=True)]
    problems += [f"f_vjp modified its input {name!r} in place" for name in changed]
    return _compare(setup, analytic, settings, rng, precision, problems, marks)


def _prepare(f: Function, along: Along | None, inputs: Mapping[str, np.ndarray], dout: np.ndarray | None,
             options: CheckOptions) -> tuple[Setup, np.random.Generator, str, list[str], Mapping[str, float]]:
    """Everything a check starts from: (setup, rng, precision, problems, per-input pass marks)."""
    rtol = options["rtol"]
    marks = rtol if isinstance(rtol, Mapping) else {}
    arrays, notes = _as_inputs(inputs)
    counted = Counted(f, along)
    work, tolerance, eps, precision = _precision(counted, arrays, notes, None if isinstance(rtol, Mapping) else rtol)
    output = counted(**{name: array.copy() for name, array in work.items()})
    rng = np.random.default_rng(options["seed"])
    if dout is None:
        dout_array = rng.standard_normal(output.shape)
    else:
        dout_array = np.array(dout, dtype=np.float64)
        if dout_array.shape != output.shape:
            raise InputError(f"dout: expected shape {output.shape} (the shape of f's output); received {dout_array.shape}")
    problems = []
    if not np.all(np.isfinite(output)):
        problems.append("f's output contains NaN or inf at the check point")
    return Setup(counted, work, dout_array, tolerance, eps), rng, precision, problems, marks


def check_gradients(
    f: Function,
    gradients: Mapping[str, np.ndarray],
    inputs: Mapping[str, np.ndarray],
    dout: np.ndarray,
    *,
    along: Along | None = None,
    **options: Unpack[CheckOptions],
) -> Report:
    """Check gradients already computed (by a backward pass run elsewhere) against derivatives of ``f``.

    As :func:`check_vjp`, with the same keyword options, but the analytic gradients are given instead
    of a backward function, and ``along(inputs, name, values)`` (optional) evaluates f at many points
    in one call, e.g. one request to the sandbox that runs a student's forward pass.

    Parameters
    ----------
    f : callable, f(**inputs) -> ndarray of shape (out...)
    gradients : dict of str to ndarray
        One gradient per input name, each of its input's shape (float64; checked for finiteness).
    inputs : dict of str to ndarray
    dout : ndarray of shape (out...)
        The upstream gradient the gradients were computed with.
    along : callable, optional
        ``along(inputs, name, values)`` → f at each of ``values`` in place of input ``name``.
    **options
        As for :func:`check_vjp`.

    Returns
    -------
    Report
    """
    settings = _options(options, "check_gradients")
    setup, rng, precision, problems, marks = _prepare(f, along, inputs, dout, settings)
    analytic = {name: np.asarray(value, dtype=np.float64) for name, value in gradients.items()}
    return _compare(setup, analytic, settings, rng, precision, problems, marks)


def _compare(setup: Setup, analytic: dict, options: CheckOptions, rng: np.random.Generator, precision: str,
             problems: list[str], marks: Mapping[str, float]) -> Report:
    """Every gradient in ``analytic`` against its numeric counterpart (at ``marks[name]`` if given): the Report."""
    work, counted = setup.inputs, setup.f
    sizes = {int(n) for array in work.values() for n in array.shape if n > 1}
    # Large problems are probed: the decision is for the whole call, so small inputs that come with a
    # large one (γ and β with a 64×32 x) do not cost an evaluation per entry either.
    mode = options["mode"]
    if mode == "auto":
        mode = "random" if sum(array.size for array in work.values()) > RANDOM_THRESHOLD else "full"
    gradients = []
    for name in work:
        if name not in analytic:
            continue
        label = (options["names"] or {}).get(name, name)
        own = replace(setup, tolerance=float(marks[name])) if name in marks else setup
        gradients.append(_check_one(own, name, label, analytic[name], options["method"], mode, options["probes"],
                                    rng, sizes, options["diagnose"]))
    return Report(gradients, options["seed"], counted.calls, precision, problems)


def _check_one(
    setup: Setup, name: str, label: str, analytic: np.ndarray, method: str, mode: str, probes: int,
    rng: np.random.Generator, sizes: set[int], diagnose: Diagnose | None,
) -> GradientCheck:
    """Check the gradient with respect to input ``name``, reported as ``label`` (dx for x)."""
    base = setup.inputs[name]
    if analytic.shape != base.shape:
        numeric = entrywise(setup, name, "richardson")[0]
        patterns = describe_patterns(label, analytic, numeric, sizes)
        # a named mistake can change the shape too (db = dout, not summed over the rows)
        said = None if diagnose is None else diagnose(name, analytic, numeric, setup.inputs, setup.dout)
        return GradientCheck(
            label, False, "—", "shape", float("inf"), setup.tolerance,
            patterns=[f"{label} has shape {analytic.shape}; expected {base.shape} (the shape of {name})", *patterns],
            diagnosis=said,
        )
    non_finite = analytic.size - int(np.isfinite(analytic).sum())
    if non_finite:  # a comparison with NaN is never "greater": refuse it before comparing anything
        at_zero = ""
        if np.all(base[~np.isfinite(analytic)] == 0) and np.any(base != 0):  # ReLU's mask as max(x, 0) / x
            at_zero = f", all where {name} is exactly 0 (a division by {name}?)"
        return GradientCheck(
            label, False, "—", "finiteness", float("inf"), setup.tolerance,
            patterns=[f"{label} contains {non_finite} NaN or inf entr{'y' if non_finite == 1 else 'ies'} "
                      f"of {analytic.size}{at_zero}: a gradient must be finite"],
        )
    notes = []
    chosen = method
    first_probe = None
    if method in ("auto", "complex"):
        safe, why, first_probe = complex_safe(setup, name, rng)
        if not safe:
            if method == "complex":
                notes.append(f"complex step requested but {why}")
            # In float32 the rounding floor ε·|f|/h dominates, which the two-step estimate of plain
            # central differences accounts for and Ridders' tableau does not.
            chosen = "richardson" if setup.eps < 1e-10 else "central"
            notes.append(f"central differences instead of the complex step: {why}")
        else:
            chosen = "complex"
    use_random = mode == "random"
    if use_random:
        failed_probe = _probe(setup, name, analytic, chosen, probes, rng, first_probe)
        if failed_probe is None:
            return GradientCheck(
                label, True, _method_label(chosen), f"random ({probes} centred Gaussian probes)", 0.0,
                setup.tolerance, notes=notes,
            )
        notes.append(
            f"probe {failed_probe} disagreed after {setup.f.calls} evaluations in all; "
            "checked entry by entry to locate the error"
        )
        # Locating the error needs less accuracy than deciding it: plain central differences suffice.
        chosen = "central" if chosen == "richardson" else chosen
    numeric, estimate = entrywise(setup, name, chosen)
    finite = np.isfinite(numeric) & np.isfinite(estimate)
    scale = max(float(np.abs(analytic).max(initial=0)),
                float(np.max(np.abs(numeric), initial=0, where=finite)), 1e-300)
    error = np.abs(analytic - numeric)
    allowed = setup.tolerance * scale + ESTIMATE_FACTOR * estimate
    wrong = ~(error <= allowed)  # NaN-safe: an entry the derivative cannot be computed at fails
    excess = np.where(wrong, np.where(np.isfinite(error - allowed), error - allowed, np.inf), 0.0)
    failing = [tuple(int(i) for i in np.unravel_index(flat, base.shape))
               for flat in np.argsort(excess, axis=None)[::-1][: int(wrong.sum())]]
    kinks, not_kinks = [], 0
    for index in failing:
        if not_kinks >= KINK_LOOKUPS:  # a real error, not a few inputs on kinks: stop looking
            break
        slopes = kink(setup, name, index)
        slack = 1e-6 * scale + ESTIMATE_FACTOR * float(estimate[index])
        if slopes is not None and all(map(np.isfinite, slopes)) and (
            min(slopes) - slack <= analytic[index] <= max(slopes) + slack
        ):
            kinks.append(index)
        else:
            not_kinks += 1
    remaining = [index for index in failing if index not in kinks]
    passed = not remaining
    relative = error / scale
    for index in kinks:
        relative[index] = 0.0
    order = np.argsort(relative, axis=None)[::-1][:5]
    worst = [
        Entry(tuple(int(i) for i in np.unravel_index(flat, base.shape)), float(analytic.flat[flat]),
              float(numeric.flat[flat]), float(relative.flat[flat]))
        for flat in order
    ]
    failed = wrong.copy()
    for index in kinks:
        failed[index] = False
    patterns = [] if passed else describe_patterns(label, analytic, numeric, sizes, failed)
    diagnosis = None if passed or diagnose is None else diagnose(name, analytic, numeric, setup.inputs, setup.dout)
    return GradientCheck(
        label, passed, _method_label(chosen), "random → entry by entry" if use_random else "entry by entry",
        float(relative.max(initial=0)), setup.tolerance, worst, patterns, diagnosis, kinks, notes,
    )


def _method_label(method: str) -> str:
    return {
        "complex": "complex step",
        "richardson": "central differences, Richardson-extrapolated",
        "central": "central differences",
    }[method]


def _probe(setup: Setup, name: str, analytic: np.ndarray, method: str, probes: int,
           rng: np.random.Generator, first_probe: tuple | None) -> int | None:
    """Compare ⟨analytic, v⟩ with the directional derivative along centred Gaussian v; first failure."""
    for number in range(1, probes + 1):
        if number == 1 and first_probe is not None:
            direction, complex_value, real_value, real_estimate = first_probe
            value, estimate = (complex_value, 0.0) if complex_value is not None else (real_value, real_estimate)
        else:
            direction = rng.standard_normal(analytic.shape)
            if method == "complex":
                value, estimate = directional_complex(setup, name, direction)
            else:
                value, estimate = directional_central(setup, name, direction)
        predicted = float(np.sum(analytic * direction))
        scale = float(np.sum(np.abs(analytic * direction)))  # the size of the terms of ⟨analytic, v⟩
        if not abs(predicted - value) <= setup.tolerance * scale + ESTIMATE_FACTOR * estimate:  # NaN fails
            return number
    return None


def numerical_gradient(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray | None = None, method: str = "auto",
    along: Along | None = None,
) -> np.ndarray:
    """Gradient of Σ df·f(x) with respect to x (any shape), numerically; x is never modified.

    Parameters
    ----------
    f : callable, ndarray of shape (...) -> ndarray of shape (out...)
    x : ndarray of shape (...)
    df : ndarray of shape (out...), optional; ones by default
    method : {'auto', 'complex', 'central', 'richardson'}
        'auto' uses the complex step where f is complex-safe (checked), Richardson otherwise.
    along : callable, optional
        ``along({"x": x}, "x", values)``: f at many values in one call (a model in the sandbox).

    Returns
    -------
    ndarray of shape (...), float64
    """
    if method not in METHODS:
        raise InputError(f"method: expected one of {', '.join(METHODS)}; received {method!r}")
    arrays, _ = _as_inputs({"x": x})
    counted = Counted(lambda x: f(x), along)
    output = counted(x=arrays["x"].copy())
    weights = np.ones(output.shape) if df is None else np.array(df, dtype=np.float64)
    if weights.shape != output.shape:
        raise InputError(f"df: expected shape {output.shape} (the shape of f(x)); received {weights.shape}")
    eps = float(np.finfo(output.dtype if output.dtype.kind == "f" else np.float64).eps)
    setup = Setup(counted, arrays, weights, pass_mark("gradient"), eps)
    chosen = method
    if method == "auto":
        safe, _, _ = complex_safe(setup, "x", np.random.default_rng(0))
        chosen = "complex" if safe else "richardson"
    return entrywise(setup, "x", chosen)[0]
