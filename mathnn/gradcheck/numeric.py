"""The numeric side of a gradient check: derivatives of Σ dout·f by the complex step and by differences.

:func:`mathnn.gradcheck.check.check_vjp` compares a backward pass with what these give:

* along a direction v (:func:`directional_complex`, :func:`directional_central`): Σ dout·∂f/∂v with an
  error estimate, for the random probes;
* entry by entry (:func:`entrywise`): the complex step, central differences at two steps
  extrapolated, or Ridders' tableau (:mod:`mathnn.gradcheck.finite`);
* whether the complex step can be trusted for an input (:func:`complex_safe`: it must keep the
  imaginary part and agree with a real difference along a random direction);
* whether a failing entry sits on a kink (:func:`kink`: the left and right slopes).

Every evaluation of f goes through :class:`Counted`, which counts them and evaluates many points in
one call where it can (one request to a sandbox running a student's forward pass).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .finite import RIDDERS_SETTLED, RIDDERS_STEPS, NotComplexSafeError, ridders_steps, ridders_tableau

#: Ridders' steps evaluated per round, for every entry whose tableau has not settled yet (each step is two
#: evaluations): most entries of a smooth function settle within the first round or two of the 20 steps.
RIDDERS_ROUND = 4
#: A numeric value within this many error estimates of the analytic one passes.
ESTIMATE_FACTOR = 10.0
COMPLEX_STEP = 1e-20

Function = Callable[..., np.ndarray]
#: ``along(inputs, name, values)`` -> f at ``inputs`` with input ``name`` replaced by each of ``values`` in turn
#: (the other inputs cast to that value's dtype): one call for many evaluations, e.g. one request to a sandbox.
Along = Callable[[dict, str, list], list]


class Counted:
    """``f`` with a count of its evaluations; :meth:`along` evaluates many points at once."""

    def __init__(self, f: Function, along: Along | None = None) -> None:
        self.f = f
        self.batch = along
        self.calls = 0

    def __call__(self, **inputs: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.asarray(self.f(**inputs))

    def along(self, inputs: dict[str, np.ndarray], name: str, values: list[np.ndarray]) -> list[np.ndarray]:
        """f with input ``name`` replaced by each of ``values``; the other inputs take the value's dtype."""
        self.calls += len(values)
        if self.batch is not None:
            return self.batch(inputs, name, values)
        return [
            np.asarray(self.f(**{key: (value if key == name else array.astype(value.dtype))
                                 for key, array in inputs.items()}))
            for value in values
        ]


@dataclass
class Setup:
    f: Counted
    inputs: dict[str, np.ndarray]  # float64 (or float32 when f only computes in float32)
    dout: np.ndarray
    tolerance: float
    eps: float  # machine epsilon of the output, for rounding floors


def _call(f: Counted, inputs: dict[str, np.ndarray], name: str, value: np.ndarray) -> np.ndarray:
    """``f`` with input ``name`` replaced by ``value``; the other inputs take its dtype (complex too)."""
    return f.along(inputs, name, [value])[0]


def weighted_sums(setup: Setup, name: str, points: list[np.ndarray]) -> np.ndarray:
    """Σ dout·f at each point (input ``name`` replaced), evaluated in one batch."""
    outputs = setup.f.along(setup.inputs, name, points)
    return np.array([float(np.sum(setup.dout * output)) for output in outputs])


def directional_complex(setup: Setup, name: str, direction: np.ndarray) -> tuple[float, float]:
    """Σ dout·∂f/∂v by the complex step, and its rounding-level error estimate."""
    point = setup.inputs[name].astype(np.complex128) + 1j * COMPLEX_STEP * direction
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            output = _call(setup.f, setup.inputs, name, point)
        except (np.exceptions.ComplexWarning, TypeError, ValueError) as error:
            raise NotComplexSafeError(f"f is not complex-safe in {name!r}: {error}") from error
    if not np.iscomplexobj(output):
        raise NotComplexSafeError(f"f dropped the imaginary part of {name!r} (returned {output.dtype})")
    terms = setup.dout * output.imag / COMPLEX_STEP
    return float(np.sum(terms)), float(np.sum(np.abs(terms))) * 4 * np.finfo(np.float64).eps


def directional_central(setup: Setup, name: str, direction: np.ndarray) -> tuple[float, float]:
    """Σ dout·∂f/∂v by central differences at steps h and h/2, extrapolated, with an error estimate."""
    base = setup.inputs[name]
    step = np.cbrt(setup.eps) * max(1.0, float(np.max(np.abs(base)))) / max(float(np.max(np.abs(direction))), 1e-300)

    plus, minus, half_plus, half_minus = weighted_sums(
        setup, name, [base + t * direction for t in (step, -step, step / 2, -step / 2)]
    )
    coarse = (plus - minus) / (2 * step)
    fine = (half_plus - half_minus) / step
    extrapolated = (4 * fine - coarse) / 3
    rounding = setup.eps * (abs(plus) + abs(minus) + abs(half_plus) + abs(half_minus)) / step
    return extrapolated, abs(extrapolated - fine) + rounding


def complex_safe(setup: Setup, name: str, rng: np.random.Generator) -> tuple[bool, str, tuple]:
    """Is the complex step trustworthy for ``name``? It must run and agree with a real difference.

    Returns (safe, why, first_probe) where first_probe = (direction, complex value or None, real value,
    real estimate) so the probe is not wasted.
    """
    direction = rng.standard_normal(setup.inputs[name].shape)
    real_value, real_estimate = directional_central(setup, name, direction)
    try:
        complex_value, complex_estimate = directional_complex(setup, name, direction)
    except NotComplexSafeError as error:
        return False, str(error), (direction, None, real_value, real_estimate)
    allowed = ESTIMATE_FACTOR * (real_estimate + complex_estimate) + 1e-6 * abs(real_value)
    if not abs(complex_value - real_value) <= allowed:  # NaN at complex points: not complex-safe
        why = (
            f"the complex step along a random direction gave {complex_value:.6g} but real differences "
            f"{real_value:.6g}: f loses part of the imaginary part (np.abs, np.var, .real…)"
        )
        return False, why, (direction, None, real_value, real_estimate)
    return True, "complex step agrees with real differences", (direction, complex_value, real_value, real_estimate)


def entrywise(setup: Setup, name: str, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Numeric gradient of Σ dout·f with respect to every entry of ``name``, and error estimates.

    Every point is built first and evaluated in one batch (:meth:`Counted.along`).
    """
    base = setup.inputs[name]
    indices = list(np.ndindex(base.shape))
    gradient = np.empty(base.shape)
    estimate = np.empty(base.shape)
    if method == "complex":
        points = []
        for index in indices:
            point = base.astype(np.complex128)
            point[index] += 1j * COMPLEX_STEP
            points.append(point)
        for index, output in zip(indices, setup.f.along(setup.inputs, name, points)):
            terms = setup.dout * np.asarray(output).imag / COMPLEX_STEP
            gradient[index] = np.sum(terms)
            estimate[index] = np.sum(np.abs(terms)) * 4 * np.finfo(np.float64).eps
        return gradient, estimate
    if method == "richardson":
        gradient, estimate = _ridders_entrywise(setup, name, indices)
        return gradient, estimate + setup.eps * np.abs(gradient)
    # 'central': steps h and h/2, extrapolated, with the same estimate as a probe
    steps = {index: np.cbrt(setup.eps) * max(1.0, float(np.max(np.abs(base)))) for index in indices}
    points = []
    for index in indices:
        for t in (steps[index], -steps[index], steps[index] / 2, -steps[index] / 2):
            point = base.copy()
            point[index] += t
            points.append(point)
    sums = weighted_sums(setup, name, points).reshape(len(indices), 4)
    for index, (plus, minus, half_plus, half_minus) in zip(indices, sums):
        step = steps[index]
        coarse = (plus - minus) / (2 * step)
        fine = (half_plus - half_minus) / step
        gradient[index] = (4 * fine - coarse) / 3
        rounding = setup.eps * (abs(plus) + abs(minus) + abs(half_plus) + abs(half_minus)) / step
        estimate[index] = abs(gradient[index] - fine) + rounding
    return gradient, estimate


def _ridders_entrywise(setup: Setup, name: str, indices: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Ridders' tableau for every entry, its steps evaluated in rounds of :data:`RIDDERS_ROUND`.

    Each round is one batch over the entries whose tableau has not stopped (:func:`ridders_tableau` with
    :data:`~mathnn.gradcheck.finite.RIDDERS_SETTLED`), so an entry ends where a one-at-a-time reading
    would, and an entry that never settles (a short length scale, rounding noise) reads all the steps.
    """
    base = setup.inputs[name]
    ladders = {index: ridders_steps(float(base[index])) for index in indices}
    differences: dict[tuple[int, ...], list[float]] = {index: [] for index in indices}
    gradient, estimate = np.empty(base.shape), np.empty(base.shape)
    pending = list(indices)
    for start in range(0, RIDDERS_STEPS, RIDDERS_ROUND):
        points = []
        for index in pending:
            for step in ladders[index][start:start + RIDDERS_ROUND]:
                for signed in (step, -step):
                    point = base.copy()
                    point[index] += signed
                    points.append(point)
        pair_sums = weighted_sums(setup, name, points).reshape(len(pending), -1, 2)
        unsettled = []
        for index, pairs in zip(pending, pair_sums):
            steps = ladders[index][start:start + RIDDERS_ROUND]
            differences[index] += [(plus - minus) / (2 * step) for (plus, minus), step in zip(pairs, steps)]
            gradient[index], estimate[index], stopped = ridders_tableau(differences[index], RIDDERS_SETTLED)
            if not stopped:
                unsettled.append(index)
        pending = unsettled
        if not pending:
            break
    return gradient, estimate


def kink(setup: Setup, name: str, index: tuple[int, ...]) -> tuple[float, float] | None:
    """The left and right slopes at an entry if it sits on a kink, else None.

    One-sided differences at a smooth point differ by about h·f″, so their gap halves with the step;
    at a kink the gap is the jump of the derivative and stays. Both steps are compared, so a smooth
    point whose true gradient is tiny is never mistaken for a kink.
    """
    base = setup.inputs[name]
    step = np.cbrt(setup.eps) * max(1.0, abs(float(base[index])))

    deltas = (0.0, -step, step, -step / 2, step / 2)
    points = []
    for delta in deltas:
        moved = base.copy()
        moved[index] += delta
        points.append(moved)
    center, below, above, half_below, half_above = weighted_sums(setup, name, points)
    slopes = [((center - below) / step, (above - center) / step),
              ((center - half_below) / (step / 2), (half_above - center) / (step / 2))]
    (left, right), (half_left, half_right) = slopes
    gap, half_gap = abs(right - left), abs(half_right - half_left)
    rounding = 8 * setup.eps * abs(center) / (step / 2)
    if half_gap <= rounding or half_gap < 0.75 * gap:
        return None
    return half_left, half_right
