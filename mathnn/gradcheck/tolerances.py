"""The one table of pass marks: every comparison mathnn's checks make, by purpose and dtype.

Each entry is a relative error, measured against the scale the comparison names (a gradient's
largest entry, the terms a sum adds up). float32 carries about 7 significant digits, so its marks
are wider. A check that takes ``rtol=`` overrides its entry for that call.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)

TOLERANCES: dict[str, dict[np.dtype, float]] = {
    # a hand-written gradient against numeric derivatives of its forward pass (check_vjp, mathnn check)
    "gradient": {F64: 1e-9, F32: 1e-4},
    # a student's forward pass against mathnn's reference at the same point
    "forward": {F64: 1e-6, F32: 1e-4},
    # the same function called twice with the same input (state or randomness otherwise)
    "determinism": {F64: 1e-12, F32: 1e-6},
    # an update rule's step (next_w − w) and state against mathnn.optim_cs231n's, relative to their largest
    # entry: the same formula in another order agrees to ~1e-15; ε in the wrong place differs by > 1e-5
    "update": {F64: 1e-8, F32: 1e-4},
    # a wrong gradient (or update) that equals the gradient of a named mistake
    "mistake": {F64: 1e-6, F32: 1e-3},
    # a generated kernel against the complex step: no cancellation, so rounding alone
    "kernel_complex": {F64: 1e-13},
    # a generated kernel against central differences with h = ∛ε·max(1, |x|): ε^(2/3) ≈ 4e-11 times
    # |f|/|f′| and |f‴|/|f′|
    "kernel_central": {F64: 1e-8},
}


def tolerance(purpose: str, dtype: npt.DTypeLike = F64, rtol: float | None = None) -> float:
    """The pass mark for ``purpose`` at ``dtype`` (float64's for other dtypes), or ``rtol`` when given."""
    if rtol is not None:
        return float(rtol)
    marks = TOLERANCES[purpose]
    return marks.get(np.dtype(dtype), marks[F64])


__all__ = ["F32", "F64", "TOLERANCES", "tolerance"]
