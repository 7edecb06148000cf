"""``mathnn verify``: prove each rule and gradient-check its generated kernels.

The symbolic half is :meth:`mathnn.rules.Rule.prove`. The numeric half evaluates each generated
gradient kernel at random points of the rule's declared domain (and next to its kinks) and compares it
with the complex-step and central-difference derivatives of the generated forward kernel.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np

from .gradcheck import elementwise_central, elementwise_complex_step, rel_errors
from .rules import Proof, Rule

#: Pass marks: the complex step has no cancellation, so it agrees to rounding; central differences
#: with h = ∛ε·max(1, |x|) leave an error of order ε^(2/3) ≈ 4e-11 times |f|/|f′| and |f‴|/|f′|.
COMPLEX_TOL = 1e-13
CENTRAL_TOL = 1e-8

#: Offsets from a kink at which the derivative is checked: larger than the central step there, so no
#: difference straddles the kink.
KINK_OFFSETS = np.logspace(-4, -1, 7)


@dataclass
class KernelCheck:
    """Numeric agreement of one gradient kernel with derivatives of its forward kernel."""

    forward: str
    gradient: str
    params: dict[str, float]
    points: int
    max_complex: float
    max_central: float
    kinks_ok: bool = True
    kink_notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.max_complex <= COMPLEX_TOL and self.max_central <= CENTRAL_TOL and self.kinks_ok


@dataclass
class RuleReport:
    """Proof and numeric checks of one rule."""

    rule: str
    proof: Proof
    checks: list[KernelCheck]

    @property
    def passed(self) -> bool:
        return self.proof.holds and all(check.passed for check in self.checks)

    @property
    def max_complex(self) -> float:
        return max(check.max_complex for check in self.checks)

    @property
    def max_central(self) -> float:
        return max(check.max_central for check in self.checks)

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "passed": self.passed,
            "proven": self.proof.holds,
            "proof_seconds": round(self.proof.seconds, 3),
            "claims": [{"statement": c.statement, "method": c.method, "holds": c.holds} for c in self.proof.claims],
            "kernels": [
                {
                    "forward": c.forward,
                    "gradient": c.gradient,
                    "params": c.params,
                    "points": c.points,
                    "max_rel_error_complex_step": c.max_complex,
                    "max_rel_error_central": c.max_central,
                    "kinks_ok": c.kinks_ok,
                    "kink_notes": c.kink_notes,
                }
                for c in self.checks
            ],
        }


def kernel_pairs(rule: Rule) -> list[tuple[str, str]]:
    """(forward kernel, gradient kernel) names: the kernel computing the output and the one per closed form."""
    forward = next(k.name for k in rule.kernels if k.computes == rule.output)
    return [
        (forward, next(k.name for k in rule.kernels if k.computes == rule.closed_forms[wrt])) for wrt in rule.inputs
    ]


def _param_settings(rule: Rule) -> list[dict[str, float]]:
    if not rule.params:
        return [{}]
    (symbol,) = rule.params  # the activations have at most one parameter
    return [{symbol.name: value} for value in rule.param_checks[symbol]]


def check_kernels(rule: Rule, points: int = 2000, seed: int = 0) -> list[KernelCheck]:
    """Gradient-check every gradient kernel of an element-wise rule at ``points`` random points."""
    module = importlib.import_module(f"mathnn.kernels.{rule.name}")
    (wrt,) = rule.inputs
    low, high = rule.domain[wrt]
    rng = np.random.default_rng(seed)
    kink_points = [float(k.at) + sign * KINK_OFFSETS for k in rule.kinks for sign in (-1, 1)]
    x = np.concatenate([rng.uniform(low, high, points), *kink_points])
    checks = []
    for forward_name, gradient_name in kernel_pairs(rule):
        for params in _param_settings(rule):
            forward = getattr(module, forward_name)
            gradient = getattr(module, gradient_name)

            def f(z: np.ndarray, forward=forward, params=params) -> np.ndarray:
                return forward(z, **params)

            analytic = gradient(x, **params)
            check = KernelCheck(
                forward_name,
                gradient_name,
                params,
                x.size,
                float(rel_errors(analytic, elementwise_complex_step(f, x)).max()),
                float(rel_errors(analytic, elementwise_central(f, x)).max()),
            )
            values = {symbol: params[symbol.name] for symbol in rule.params}
            for kink in rule.kinks:
                _check_kink(check, f, gradient, params, float(kink.at), float(kink.value.subs(values)))
            checks.append(check)
    return checks


def _check_kink(check: KernelCheck, f, gradient, params: dict[str, float], at: float, declared: float) -> None:
    """At the kink itself the kernel must return the declared value, lying between the one-sided slopes."""
    point = np.array([at])
    step = 1e-6
    left = float((f(point) - f(point - step))[0] / step)
    right = float((f(point + step) - f(point))[0] / step)
    used = float(gradient(point, **params)[0])
    low, high = min(left, right), max(left, right)
    ok = used == declared and low - 1e-6 <= used <= high + 1e-6
    check.kinks_ok = check.kinks_ok and ok
    check.kink_notes.append(
        f"kink at x = {at:g}: one-sided slopes {left:.6g} (left), {right:.6g} (right); kernel uses {used:g}"
        + ("" if ok else f", expected the declared {declared:g} between them")
    )


#: Batch shapes the batch-norm kernels are checked at: N = 1 (zero variance) and N = 2 included.
BATCH_SHAPES = ((1, 3), (2, 4), (3, 3), (8, 5), (32, 6))


def _batchnorm_errors(analytic: np.ndarray, numeric: np.ndarray, term_scale: np.ndarray) -> float:
    """Max of |a − n| / max(|a|, |n|, term_scale): relative error, measured against the terms' size.

    Each batch-norm gradient is a sum of terms that can nearly cancel: dγ = Σ dy x̂ for a random dy,
    and dx = γ/(m√(σ²+ε)) (m dy − Σ dy − x̂ Σ dy x̂), which at m = 2 is about ε/σ² times its terms.
    Any evaluation of such a sum, the kernel's or a derivative of the forward pass, is accurate
    relative to the size of its terms, not to the sum, so that is the scale errors are measured on.
    """
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), term_scale)
    with np.errstate(invalid="ignore"):
        errors = np.where(scale > 0, np.abs(analytic - numeric) / np.where(scale > 0, scale, 1), 0.0)
    return float(errors.max())


def check_batchnorm(points: int = 2000, seed: int = 0) -> list[KernelCheck]:
    """Gradient-check the batch-norm backward kernel for x, γ and β on random batches.

    ``points`` bounds the number of random batches per shape (at least one).
    """
    from .gradcheck import numerical_vjp
    from .kernels.batchnorm import batchnorm_backward, batchnorm_train_forward

    rng = np.random.default_rng(seed)
    checks = []
    for shape in BATCH_SHAPES:
        # Central differences extrapolated to step 0: near a degenerate batch (two nearly equal
        # entries at N = 2) the forward pass varies on a length scale of √ε ≈ 0.003, where a
        # single step of ∛ε·max(1, |x|) leaves a truncation error up to ~1e-7.
        worst = {"complex": 0.0, "richardson": 0.0}
        entries = 0
        for _ in range(max(1, min(3, points // 500))):
            x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
            gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
            _, x_hat, _, _, inv_std = batchnorm_train_forward(x, gamma, beta)
            dx, dgamma, dbeta = batchnorm_backward(dout, x_hat, gamma, inv_std)
            n = shape[0]
            terms = np.abs(gamma) * inv_std / n * (
                n * np.abs(dout) + np.abs(dout.sum(axis=0)) + np.abs(x_hat) * np.abs((dout * x_hat).sum(axis=0))
            )
            # The kernel accumulates in place, so x must be complex when γ or β carries a complex step.
            x_like = lambda v: x.astype(v.dtype)  # noqa: E731
            functions = {
                "x": (lambda v: batchnorm_train_forward(v, gamma, beta)[0], x, dx, terms),
                "gamma": (
                    lambda v: batchnorm_train_forward(x_like(v), v, beta)[0], gamma, dgamma,
                    np.abs(dout * x_hat).sum(axis=0),
                ),
                "beta": (lambda v: batchnorm_train_forward(x_like(v), gamma, v)[0], beta, dbeta, np.abs(dout).sum(axis=0)),
            }
            for function, at, analytic, term_scale in functions.values():
                entries += at.size
                for method in worst:
                    numeric = numerical_vjp(function, at, dout, method=method)
                    worst[method] = max(worst[method], _batchnorm_errors(analytic, numeric, term_scale))
        checks.append(
            KernelCheck(
                "batchnorm_train_forward", "batchnorm_backward", {"N": shape[0], "D": shape[1]},
                entries, worst["complex"], worst["richardson"],
            )
        )
    return checks


def verify(rule: Rule, points: int = 2000, seed: int = 0) -> RuleReport:
    """Prove ``rule`` and gradient-check its kernels."""
    numeric = check_batchnorm(points, seed) if rule.name == "batchnorm" else check_kernels(rule, points, seed)
    return RuleReport(rule.name, rule.prove(), numeric)
