"""Named shapes of a gradient's error, for the report of a check that failed.

A constant factor (1/N, 2, −1), a transpose, an error that is the same in every row (a missing term
that depends on the batch as a whole), and for a gradient over time ((N, T, …), as an RNN's dx) the
latest step that goes wrong, where backpropagation through time starts to go wrong.
"""

from __future__ import annotations

import numpy as np

__all__ = ["describe_patterns"]


def describe_patterns(name: str, analytic: np.ndarray, numeric: np.ndarray, sizes: set[int],
                      failing: np.ndarray | None = None) -> list[str]:
    """Named shapes of the error: a constant factor, a sign flip, a transpose, a row-constant error, …

    ``failing`` (optional, of the gradient's shape) marks the entries the check failed; an error over
    time (axis 1 of an (N, T, …) gradient) is located by them, so a gradient that failed is always
    located to a step, however small its error.
    """
    found = []
    if analytic.shape != numeric.shape:
        if analytic.T.shape == numeric.shape and np.allclose(analytic.T, numeric, rtol=1e-6, atol=1e-12):
            found.append(f"{name} is transposed: it has shape {analytic.shape}, the input has {numeric.shape}")
        return found
    norm = float(np.vdot(numeric, numeric))
    if norm > 0 and not np.any(analytic):  # the starter code's np.zeros_like, never added to
        found.append(f"{name} is all zeros, where the true gradient is not: is it computed at all?")
        return found
    if norm > 0:
        factor = float(np.vdot(analytic, numeric)) / norm
        residual = np.linalg.norm(analytic - factor * numeric)
        if residual <= 1e-6 * max(float(np.linalg.norm(analytic)), 1e-300) and abs(factor - 1) > 1e-6:
            if abs(factor + 1) < 1e-6:
                found.append(f"{name} has the wrong sign: yours = −1 × the true gradient")
            else:
                # Factors a slip typically leaves: 1/N or N for a size of the inputs, 2 or 1/2.
                candidates = {"2": 2.0, "1/2": 0.5}
                for n in sorted(sizes):
                    candidates |= {f"1/{n}": 1 / n, str(n): float(n)}
                named = [label for label, value in candidates.items() if abs(factor - value) < 1e-6 * value]
                what = f"{named[0]} × the true gradient (a missing or extra factor {named[0]})" if named else (
                    f"{factor:.6g} × the true gradient"
                )
                found.append(f"{name} is off by a constant factor: yours = {what}")
    if analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1]:
        if np.allclose(analytic.T, numeric, rtol=1e-6, atol=1e-12 * max(np.abs(numeric).max(), 1)):
            found.append(f"{name} is transposed: yours equals the true gradient's transpose")
    error = analytic - numeric
    if error.ndim >= 2 and error.shape[0] > 1:
        spread = np.abs(error - error.mean(axis=0, keepdims=True)).max()
        size = np.abs(error).max()
        if size > 0 and spread <= 1e-6 * size:
            found.append(
                f"{name}'s error is the same in every row (constant down each column): a term shared by the "
                "whole batch is missing or extra — in batch norm, the path through the mean (the true dx sums "
                "to zero down each column); in a gradient that accumulates, a starting value that is not zero"
            )
    if error.ndim == 3 and error.shape[1] > 1:
        found += _over_time(name, error, failing)
    return found


def _over_time(name: str, error: np.ndarray, failing: np.ndarray | None) -> list[str]:
    """Where in time an (N, T, …) gradient goes wrong: the latest wrong step, where BPTT's error starts."""
    if failing is not None and failing.shape == error.shape and failing.any():
        steps = np.flatnonzero(failing.any(axis=(0, 2)))
    else:  # no verdict per entry: the steps whose error is not negligible next to the largest
        per_step = np.nan_to_num(np.abs(error), nan=np.inf).max(axis=(0, 2))
        steps = np.flatnonzero(per_step > 1e-3 * per_step.max()) if per_step.max() > 0 else per_step[:0]
    if not steps.size:
        return []
    last, first, final = int(steps.max()), int(steps.min()), error.shape[1] - 1
    span = f"at t = {last}" if first == last else f"from t = {last} back to t = {first}"
    if last < final:
        return [f"{name} over time: right for steps after t = {last}, wrong {span} — backpropagation through time "
                f"goes wrong first at step {last}"]
    where = (f"only at the last step, t = {last}" if first == last
             else f"from the last step, t = {last}, back to t = {first}")
    return [f"{name} over time: wrong {where} — backpropagation through time goes wrong at the step where it "
            "starts, so look at one step's backward before what flows back from later steps"]
