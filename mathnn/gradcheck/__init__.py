"""Numerical derivatives for checking gradients, numpy only (this package never imports sympy)."""

from mathnn.gradcheck.finite import (
    NotComplexSafeError,
    central_step,
    elementwise_central,
    elementwise_complex_step,
    numerical_vjp,
    richardson_vjp,
    rel_error,
    rel_errors,
)

__all__ = [
    "NotComplexSafeError",
    "central_step",
    "elementwise_central",
    "elementwise_complex_step",
    "numerical_vjp",
    "richardson_vjp",
    "rel_error",
    "rel_errors",
]
