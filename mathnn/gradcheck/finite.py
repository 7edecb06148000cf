"""Numerical derivatives by central differences and the complex step, numpy only.

These are the reference derivatives that the generated gradient kernels are
checked against.  The module imports numpy and nothing else, so a check never
depends on the symbolic machinery that produced the gradient under test.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

from mathnn.errors import InputError

__all__ = [
    "NotComplexSafeError",
    "central_step",
    "elementwise_central",
    "elementwise_complex_step",
    "numerical_vjp",
    "richardson_vjp",
    "ridders_extrapolate",
    "ridders_steps",
    "ridders_tableau",
    "max_relative_error",
    "relative_errors",
]

ArrayFunction = Callable[[np.ndarray], npt.ArrayLike]

METHODS = ("central", "complex", "richardson")
#: Richardson extrapolation starts at this step (times max(1, |x|)) and shrinks it by RIDDERS_SHRINK
#: up to RIDDERS_STEPS times, so it reaches functions whose length scale is far below 1.
RIDDERS_FIRST_STEP = 0.1
RIDDERS_SHRINK = 1.4
RIDDERS_STEPS = 20
#: Evaluated one difference at a time, the tableau stops once its error estimate is below this
#: (relative to max(1, |estimate|)) and growing: far below every pass mark that compares with it.
RIDDERS_SETTLED = 1e-12
COMPLEX_STEP = 1e-20
SMALLEST_NORMAL = np.finfo(np.float64).tiny


class NotComplexSafeError(ValueError):
    """A function cannot be evaluated at complex points without losing the imaginary part."""


def _real_array(value: npt.ArrayLike, name: str, *, floating_only: bool = False) -> np.ndarray:
    """Return a new real floating array holding `value`; bools and integers become float64."""
    expected = "a real floating array" if floating_only else "a real floating or integer array"
    try:
        array = np.array(value)
    except ValueError as error:  # ragged nested sequences
        raise InputError(f"{name}: expected {expected}; received a ragged sequence ({error})") from error
    if array.dtype.kind in "biu" and not floating_only:
        array = array.astype(np.float64)
    elif array.dtype.kind != "f":
        raise InputError(f"{name}: expected {expected}; received array of dtype {array.dtype}")
    non_finite = array.size - np.count_nonzero(np.isfinite(array))
    if non_finite:
        raise InputError(f"{name}: expected finite values; received {non_finite} non-finite entries")
    return array


def _check_callable(f: object) -> None:
    if not callable(f):
        raise InputError(f"f: expected a callable; received {type(f).__name__}")


def _with_shape(result: np.ndarray, expected_shape: tuple[int, ...]) -> np.ndarray:
    if result.shape != expected_shape:
        raise InputError(f"f: expected output of shape {expected_shape}; received shape {result.shape}")
    return result


def _output(f: ArrayFunction, argument: np.ndarray, expected_shape: tuple[int, ...]) -> np.ndarray:
    """Evaluate f and copy the result: f may return a view of `argument`, which the caller perturbs next."""
    return _with_shape(np.array(f(argument)), expected_shape)


def _complex_output(f: ArrayFunction, argument: np.ndarray, expected_shape: tuple[int, ...]) -> np.ndarray:
    """Evaluate f at complex points, raising NotComplexSafeError if the imaginary part does not survive."""
    with warnings.catch_warnings():
        # A ComplexWarning means f cast to real and dropped the derivative; make it catchable.
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            result = np.array(f(argument))
        except np.exceptions.ComplexWarning as warning:
            raise NotComplexSafeError(f"f is not complex-safe: it cast complex values to real ({warning})") from warning
        except TypeError as error:
            raise NotComplexSafeError(f"f is not complex-safe: it raised TypeError on complex input ({error})") from error
    if not np.iscomplexobj(result):
        raise NotComplexSafeError(
            f"f is not complex-safe: it returned a real array of dtype {result.dtype} for complex input, "
            "so the imaginary part carrying the derivative was dropped"
        )
    return _with_shape(result, expected_shape)


def central_step(x: npt.ArrayLike) -> np.ndarray:
    """Step sizes for central differences, one per entry of `x`.

    h = cbrt(eps) * max(1, |x|), with eps the machine epsilon of x's dtype.  The
    central difference has truncation error ~ h**2 and rounding error ~ eps / h;
    h ~ cbrt(eps) balances the two, leaving an error ~ eps**(2/3).  The step is
    then rounded to h = (|x| + h) - |x|, so |x| + h is exactly representable and
    the distance between the two evaluation points is exactly 2h (up to a few
    eps relative when |x| < cbrt(eps), far below the method's own error).

    Parameters
    ----------
    x : array_like of float32 or float64, shape (...)
        Points at which a derivative will be taken.  Must be finite.

    Returns
    -------
    numpy.ndarray, shape (...), same dtype as `x`
        Positive steps h with (x + h) - x == h.
    """
    point = _real_array(x, "x", floating_only=True)
    magnitude = np.abs(point)
    with np.errstate(over="ignore"):
        rounded_step = (magnitude + np.cbrt(np.finfo(point.dtype).eps) * np.maximum(1, magnitude)) - magnitude
    if not np.isfinite(rounded_step).all():
        raise InputError(f"x: expected entries small enough that x + h stays finite; received max |x| = {magnitude.max()}")
    return rounded_step


def elementwise_central(f: ArrayFunction, x: npt.ArrayLike) -> np.ndarray:
    """Derivative of an elementwise function at every entry of `x`, by central differences.

    Computes (f(x + h) - f(x - h)) / (2h) with h from `central_step`, perturbing
    all entries at once.  This is correct only if f is elementwise (its Jacobian
    is diagonal); for any other function use `numerical_vjp`.

    Parameters
    ----------
    f : callable, array of shape (...) -> array of shape (...)
        Elementwise function.
    x : array_like of real floats or integers, shape (...)
        Points; integers are converted to float64.  float32 stays float32.

    Returns
    -------
    numpy.ndarray, shape (...)
        f'(x) entry by entry, relative error ~ eps**(2/3) where f / f' is moderate.
    """
    _check_callable(f)
    point = _real_array(x, "x")
    step = central_step(point)
    return (_output(f, point + step, point.shape) - _output(f, point - step, point.shape)) / (2 * step)


def elementwise_complex_step(f: ArrayFunction, x: npt.ArrayLike, h: float = COMPLEX_STEP) -> np.ndarray:
    """Derivative of an elementwise function at every entry of `x`, by the complex step.

    Computes Im f(x + i h) / h on complex128.  No difference of nearby values is
    taken, so there is no cancellation and h can be tiny: the result is accurate
    to rounding.  f must be complex-safe (holomorphic, built from operations that
    keep the imaginary part) and elementwise.

    Parameters
    ----------
    f : callable, complex array of shape (...) -> complex array of shape (...)
        Elementwise, complex-safe function.
    x : array_like of real floats or integers, shape (...)
        Points.
    h : float, optional
        Imaginary step, positive and finite.

    Returns
    -------
    numpy.ndarray of float64, shape (...)
        f'(x) entry by entry.

    Raises
    ------
    NotComplexSafeError
        If f returns a real array, raises TypeError or emits ComplexWarning on complex input.
    """
    _check_callable(f)
    is_real_number = isinstance(h, (int, float, np.integer, np.floating)) and not isinstance(h, bool)
    if not (is_real_number and np.isfinite(h) and h > 0):
        raise InputError(f"h: expected a positive finite real number; received {h!r}")
    point = _real_array(x, "x").astype(np.complex128)
    return _complex_output(f, point + 1j * h, point.shape).imag / h


def numerical_vjp(
    f: ArrayFunction, x: npt.ArrayLike, dout: npt.ArrayLike | None = None, method: str = "central"
) -> np.ndarray:
    """Gradient of L = sum(dout * f(x)) with respect to x, one entry of x at a time.

    Works for any f, elementwise or not, at the cost of two evaluations of f
    ('central') or one ('complex') per entry of x.  `x` is never modified: f is
    evaluated on a private copy, and integer or bool x is converted to float64
    first (perturbing an integer array would truncate the step away).

    Parameters
    ----------
    f : callable, array of shape (...) -> array of shape (m...) or scalar
        The function to differentiate.
    x : array_like of real floats or integers, shape (...)
        The point.
    dout : array_like of real numbers, shape (m...), optional
        Upstream gradient, same shape as f(x); defaults to ones.
    method : {'central', 'complex', 'richardson'}
        'central': central differences with steps from `central_step`, in x's
        float dtype (float32 x is perturbed and differentiated in float32, so the
        error is ~ float32 eps**(2/3) ~ 1e-5).  'complex': the complex step on
        complex128; f must be complex-safe.  'richardson': central differences at
        shrinking steps extrapolated to step 0 (Ridders' scheme), keeping the
        estimate whose error estimate is smallest; see `richardson_vjp`.

    Returns
    -------
    numpy.ndarray, shape (...)
        dL/dx; float32 for float32 x with 'central', float64 otherwise.

    Raises
    ------
    InputError
        For a bad `f`, `x`, `dout` or `method`, or an f whose output changes shape.
    NotComplexSafeError
        With method='complex', if f does not keep the imaginary part.
    """
    if method not in METHODS:
        raise InputError(f"method: expected one of {', '.join(map(repr, METHODS))}; received {method!r}")
    _check_callable(f)
    point = _real_array(x, "x")
    output_shape = np.shape(f(point))
    if dout is None:
        weights = np.ones(output_shape)
    else:
        weights = _real_array(dout, "dout")
        if weights.shape != output_shape:
            raise InputError(f"dout: expected shape {output_shape} (the shape of f(x)); received shape {weights.shape}")

    if method == "richardson":
        return _richardson(f, point, weights, output_shape)[0]
    if method == "central":
        gradient = np.empty(point.shape, dtype=point.dtype)
        steps = central_step(point)
        for index in np.ndindex(point.shape):
            original = point[index]
            point[index] = original + steps[index]
            forward = _output(f, point, output_shape)
            point[index] = original - steps[index]
            backward = _output(f, point, output_shape)
            point[index] = original
            gradient[index] = np.sum(weights * (forward - backward)) / (2 * steps[index])
        return gradient

    gradient = np.empty(point.shape, dtype=np.float64)
    complex_point = point.astype(np.complex128)
    for index in np.ndindex(point.shape):
        original = complex_point[index]
        complex_point[index] = original + 1j * COMPLEX_STEP
        gradient[index] = np.sum(weights * _complex_output(f, complex_point, output_shape).imag) / COMPLEX_STEP
        complex_point[index] = original
    return gradient


def _richardson(
    f: ArrayFunction, point: np.ndarray, weights: np.ndarray, output_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Ridders' extrapolation of central differences, entry by entry, with an error estimate.

    A central difference D(h) = g′ + c₂h² + c₄h⁴ + …; combining differences at steps h, h/s, h/s², …
    in a Neville tableau cancels the h², h⁴, … terms. The tableau entry that changes least from its
    neighbours is kept, and that change is its error estimate. Starting from a large step and
    shrinking, the scheme adapts to the function's own length scale instead of assuming it is 1.
    """
    gradient = np.empty(point.shape, dtype=np.float64)
    error = np.empty(point.shape, dtype=np.float64)
    work = point.astype(np.float64)

    def difference(index: tuple[int, ...], step: float) -> float:
        original = work[index]
        work[index] = original + step
        forward = _output(f, work, output_shape)
        work[index] = original - step
        backward = _output(f, work, output_shape)
        work[index] = original
        return float(np.sum(weights * (forward - backward))) / (2 * step)

    for index in np.ndindex(point.shape):
        steps = ridders_steps(float(work[index]))
        gradient[index], error[index] = ridders_extrapolate(
            (difference(index, step) for step in steps), settled=RIDDERS_SETTLED)
    return gradient, error


def ridders_steps(value: float) -> list[float]:
    """The steps of Ridders' tableau for an entry of size ``value``: from RIDDERS_FIRST_STEP·max(1, |value|) down."""
    first = RIDDERS_FIRST_STEP * max(1.0, abs(value))
    return [first / RIDDERS_SHRINK**k for k in range(RIDDERS_STEPS)]


def ridders_extrapolate(differences: Iterable[float], settled: float = 0.0) -> tuple[float, float]:
    """Ridders' Neville tableau over central differences at :func:`ridders_steps`: (best value, its error estimate).

    All steps are known in advance, so a caller may evaluate every difference in one batch. A caller
    that evaluates them one at a time may pass ``settled`` > 0 and a lazy iterable: the tableau then
    stops reading once its best error estimate is at most ``settled``·max(1, |best|) and a new row
    has made the estimate at least twice as bad (the steps have reached rounding noise, Ridders'
    stopping rule), so an easy entry costs a few differences instead of all of them. Until the
    estimate is that small it reads on, so a function with a short length scale still gets the small
    steps it needs.
    """
    best, error, _ = ridders_tableau(differences, settled)
    return best, error


def ridders_tableau(differences: Iterable[float], settled: float = 0.0) -> tuple[float, float, bool]:
    """:func:`ridders_extrapolate`, and whether the stopping rule ended it before the differences ran out.

    A caller that evaluates the differences in rounds (a round of steps for every entry at once) asks
    for the next round only for the entries that did not stop: each then ends on the same difference,
    with the same value, as if its differences had been read one at a time.
    """
    rows = iter(differences)
    previous_row = [next(rows)]
    best, best_error = previous_row[0], np.inf
    for difference in rows:
        row = [difference]
        factor = RIDDERS_SHRINK**2
        for order in range(1, len(previous_row) + 1):
            row.append((row[order - 1] * factor - previous_row[order - 1]) / (factor - 1))
            factor *= RIDDERS_SHRINK**2
            change = max(abs(row[order] - row[order - 1]), abs(row[order] - previous_row[order - 1]))
            if change <= best_error:
                best, best_error = row[order], change
        if settled > 0 and best_error <= settled * max(1.0, abs(best)) \
                and abs(row[-1] - previous_row[-1]) >= 2 * best_error:
            return best, best_error, True
        previous_row = row
    return best, best_error, False


def richardson_vjp(
    f: ArrayFunction, x: npt.ArrayLike, dout: npt.ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of L = Σ dout·f(x) by Richardson-extrapolated central differences, and its error estimate.

    Parameters
    ----------
    f : callable, ndarray of shape (...) -> array_like of shape (m...)
    x : array_like of real numbers, shape (...); never modified
    dout : array_like of shape (m...), optional; defaults to ones

    Returns
    -------
    gradient, error_estimate : numpy.ndarray of float64, shape (...)
    """
    _check_callable(f)
    point = _real_array(x, "x")
    output_shape = np.shape(f(point))
    weights = np.ones(output_shape) if dout is None else _real_array(dout, "dout")
    if weights.shape != output_shape:
        raise InputError(f"dout: expected shape {output_shape} (the shape of f(x)); received shape {weights.shape}")
    return _richardson(f, point, weights, output_shape)


def relative_errors(a: npt.ArrayLike, b: npt.ArrayLike) -> np.ndarray:
    """Entry-by-entry relative error |a - b| / max(|a|, |b|, tiny).

    tiny is the smallest normal float64, so two zeros give 0 rather than NaN.

    Parameters
    ----------
    a, b : array_like of real floats or integers, shape (...)
        Arrays to compare; shapes must be equal.

    Returns
    -------
    numpy.ndarray of float64, shape (...)
        Relative errors, each in [0, 2].
    """
    first = _real_array(a, "a").astype(np.float64)
    second = _real_array(b, "b").astype(np.float64)
    if first.shape != second.shape:
        raise InputError(f"a, b: expected equal shapes; received a.shape={first.shape} and b.shape={second.shape}")
    scale = np.maximum(np.maximum(np.abs(first), np.abs(second)), SMALLEST_NORMAL)
    # Scale before subtracting: a - b itself could overflow for entries near the float64 maximum.
    return np.abs(first / scale - second / scale)


def max_relative_error(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Largest entry-by-entry relative error between `a` and `b`; see `relative_errors`.

    Parameters
    ----------
    a, b : array_like of shape (...)
        As for :func:`relative_errors`.

    Returns
    -------
    float
        max |a - b| / max(|a|, |b|, tiny); 0.0 for empty arrays.
    """
    return float(relative_errors(a, b).max(initial=0.0))
