"""Gradient checks that never lie to a student, numpy only (this package never imports sympy).

* :func:`check_vjp` — check a backward pass against its own forward pass, with a report that says
  where the bug is; :func:`numerical_gradient` — the numeric gradient alone;
* CS231n's helpers under their usual names: :func:`eval_numerical_gradient`,
  :func:`eval_numerical_gradient_array`, :func:`grad_check_sparse`, :func:`rel_error`;
* :func:`check_update` — a student's CS231n update rule (sgd, sgd_momentum, rmsprop, adam) step by
  step against :mod:`mathnn.optim_cs231n`, naming the known mistakes;
* :func:`check_model` — every parameter's gradient of a model with ``params`` and ``loss(X, y)``
  (CS231n's TwoLayerNet, FullyConnectedNet…), each wrong one named;
* the finite-difference core the generated kernels are tested with (:mod:`.finite`).
"""

from mathnn.gradcheck.check import check_vjp, numerical_gradient
from mathnn.gradcheck.cs231n import eval_numerical_gradient, eval_numerical_gradient_array, grad_check_sparse, rel_error
from mathnn.gradcheck.finite import (
    NotComplexSafeError,
    central_step,
    elementwise_central,
    elementwise_complex_step,
    max_relative_error,
    numerical_vjp,
    relative_errors,
    richardson_vjp,
)
from mathnn.gradcheck.model import ModelCheck, check_model
from mathnn.gradcheck.report import Entry, GradientCheck, Report
from mathnn.gradcheck.updates import check_update

__all__ = [
    "Entry",
    "GradientCheck",
    "NotComplexSafeError",
    "ModelCheck",
    "Report",
    "central_step",
    "check_model",
    "check_update",
    "check_vjp",
    "elementwise_central",
    "elementwise_complex_step",
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "grad_check_sparse",
    "max_relative_error",
    "numerical_gradient",
    "numerical_vjp",
    "rel_error",
    "relative_errors",
    "richardson_vjp",
]
