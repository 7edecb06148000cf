"""``mathnn verify``: prove each rule and gradient-check its generated kernels.

The symbolic half is each rule's ``prove()``, read from the proof cache when the rule is unchanged
(:func:`mathnn.rules.cache.proven`). The numeric half compares every generated gradient
kernel with complex-step and central-difference derivatives of the generated forward kernel: for the
element-wise layers (the activations) at random points of the rule's declared domain and next to its
kinks; for a loss, its fused kernel as a vector-Jacobian product on random batches drawn as it
declares, with errors measured against the size of the terms each gradient sums; for any other layer
rule, from its generated ``SPEC``; for a recurrence, its BPTT kernel from its generated ``SEQUENCE``,
with every activation if it is proven for any.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .gradcheck.tolerances import tolerance
from .gradcheck import elementwise_central, elementwise_complex_step, relative_errors
from .rules import LayerRule, Proof, Rule
from .rules.cache import proven

#: Pass marks, from the one table (mathnn.gradcheck.tolerances).
COMPLEX_TOL = tolerance("kernel_complex")
CENTRAL_TOL = tolerance("kernel_central")

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


def kernel_pairs(rule: LayerRule) -> list[tuple[str, str]]:
    """(forward kernel, gradient kernel) names of an element-wise layer: the kernel computing the output
    and the one per closed form."""
    forward = next(k.name for k in rule.kernels if k.computes == rule.output)
    return [
        (forward, next(k.name for k in rule.kernels if k.computes == rule.closed_forms[wrt]))
        for wrt in rule.differentiated
    ]


def _param_settings(rule: LayerRule) -> list[dict[str, float]]:
    if not rule.params:
        return [{}]
    (symbol,) = rule.params  # the activations have at most one parameter
    return [{symbol.name: value} for value in rule.param_checks[symbol]]


def check_kernels(rule: LayerRule, points: int = 2000, seed: int = 0) -> list[KernelCheck]:
    """Gradient-check every gradient kernel of an element-wise layer at ``points`` random points."""
    module = importlib.import_module(f"mathnn.kernels.{rule.name}")
    (wrt,) = rule.differentiated
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
                float(relative_errors(analytic, elementwise_complex_step(f, x)).max()),
                float(relative_errors(analytic, elementwise_central(f, x)).max()),
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


def scaled_errors(analytic: np.ndarray, numeric: np.ndarray, term_scale: np.ndarray | float) -> float:
    """Max of |a − n| / max(|a|, |n|, term_scale): relative error, measured against the terms' size.

    A gradient that is a sum of terms (dW = Σ δ xᵀ, or batch norm's dx, which at m = 2 is about ε/σ²
    times its terms) can nearly cancel. Any evaluation of such a sum, the kernel's or a derivative of
    the forward pass, is accurate relative to the size of its terms, not to the sum; ``term_scale`` is
    that size (the same formula evaluated on absolute values), and errors are measured against it.
    """
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), term_scale)
    with np.errstate(invalid="ignore"):
        errors = np.where(scale > 0, np.abs(analytic - numeric) / np.where(scale > 0, scale, 1), 0.0)
    return float(errors.max())


def _vjp_check(forward: str, gradient: str, params: dict, cases: list) -> KernelCheck:
    """Compare analytic gradients with complex-step and Richardson-extrapolated central differences.

    Each case is (function, point, dout, analytic gradient, term scale). Central differences are
    extrapolated to step 0 (Ridders): near a degenerate batch-norm batch (two nearly equal entries at
    N = 2) the forward pass varies on a length scale of √ε ≈ 0.003, where a single step of
    ∛ε·max(1, |x|) leaves a truncation error up to ~1e-7.
    """
    from .gradcheck import numerical_vjp

    worst = {"complex": 0.0, "richardson": 0.0}
    for function, at, dout, analytic, term_scale in cases:
        for method in worst:
            numeric = numerical_vjp(function, at, dout, method=method)
            worst[method] = max(worst[method], scaled_errors(analytic, numeric, term_scale))
    entries = sum(case[1].size for case in cases)
    return KernelCheck(forward, gradient, params, entries, worst["complex"], worst["richardson"])


def check_loss(rule: LayerRule, points: int = 2000, seed: int = 0) -> list[KernelCheck]:
    """Gradient-check a loss's generated fused kernel: its gradient against derivatives of its own loss.

    Everything comes from the rule: the sizes (``check_sizes``), how the inputs are drawn (``draws``;
    a one-hot input gets a random target per row), a weight per row drawn from U(0.1, 1), the inputs
    moved off the kinks (the loss's ``off_kinks``), and the generated magnitude kernel, against whose
    entries the errors are measured.
    """
    from .rules.loss import magnitude_kernel_name
    from .sizes import size_of

    assert rule.loss is not None, f"{rule.name} is not a loss"
    module = importlib.import_module(f"mathnn.kernels.{rule.name}")
    kernel = getattr(module, rule.loss.kernel.name)
    magnitude = getattr(module, magnitude_kernel_name(rule.loss.kernel))
    (wrt,) = (symbol.name for symbol in rule.differentiated)
    one_hot = {symbol.name for symbol in rule.one_hot}
    rng = np.random.default_rng(seed)
    checks = []
    for sizes in rule.check_sizes:
        cases = []
        for _ in range(max(1, min(3, points // 500))):
            inputs = {}
            for name, draw in rule.draws.items():
                shape = tuple(size_of(size, sizes) for size in draw.shape)
                inputs[name] = (np.eye(shape[-1])[rng.integers(shape[-1], size=shape[:-1])] if name in one_hot
                                else draw.loc + draw.scale * rng.standard_normal(shape))
            inputs[rule.dout.name] = rng.uniform(0.1, 1.0, size=(inputs[wrt].shape[0], 1))
            if rule.loss.off_kinks is not None:
                inputs = rule.loss.off_kinks(inputs)
            _, gradient = kernel(**inputs)

            def loss(v: np.ndarray, inputs: dict = inputs) -> np.ndarray:
                # every input in v's dtype: the complex step needs a complex kernel throughout
                return kernel(**{name: value.astype(v.dtype) for name, value in {**inputs, wrt: v}.items()})[0]

            cases.append((loss, inputs[wrt], None, gradient, magnitude(**inputs)))
        checks.append(_vjp_check(rule.loss.kernel.name, rule.loss.kernel.name, dict(sizes), cases))
    return checks


def check_layer(name: str, points: int = 2000, seed: int = 0) -> list[KernelCheck]:
    """Gradient-check a layer rule's generated backward kernel against its forward kernel.

    Everything comes from the layer's generated ``SPEC``: the sizes to check at, how inputs are drawn,
    which inputs are differentiated and what the backward takes from the forward's cache. Errors are
    measured against the size of the terms each gradient sums (the generated magnitude kernel).
    """
    from .catalogue import backward_arguments, draw_inputs, layers

    # by rule: the layers are keyed by their public names (group norm's rule gives spatial_groupnorm)
    layer = next(layer for layer in layers().values() if layer.spec["rule"] == name)
    spec = layer.spec
    forward, backward = layer.kernel(spec["forward_kernel"]), layer.kernel(spec["backward_kernel"])
    magnitude = layer.kernel(spec["magnitude_kernel"])
    rng = np.random.default_rng(seed)
    checks = []
    for sizes in spec["check_sizes"]:
        cases = []
        for _ in range(max(1, min(3, points // 500))):
            inputs = draw_inputs(layer, sizes, rng)
            # settings a check size names (a convolution's stride and pad) are passed with the inputs
            settings = {key: sizes[key] for key in spec["settings"] if key in sizes}
            out, *extra = forward(**inputs, **settings)
            cached = backward_arguments(spec, out, extra)
            dout = rng.standard_normal(out.shape)
            gradients, scales = backward(dout, *cached), magnitude(dout, *cached)
            if len(spec["differentiated"]) == 1:  # a kernel with one gradient (max pooling's dx) returns it alone
                gradients, scales = (gradients,), (scales,)
            for wrt, gradient, scale in zip(spec["differentiated"], gradients, scales):
                def f(v: np.ndarray, wrt: str = wrt, inputs: dict = inputs, settings: dict = settings) -> np.ndarray:
                    # every input in v's dtype: a kernel that updates in place cannot mix real and complex
                    return forward(**{name: value.astype(v.dtype) for name, value in {**inputs, wrt: v}.items()},
                                   **settings)[0]

                cases.append((f, inputs[wrt], dout, gradient, scale))
        checks.append(_vjp_check(spec["forward_kernel"], spec["backward_kernel"], dict(sizes), cases))
    return checks


def _activation_variants(forward: Callable[..., Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(label, forward's keywords, backward's keywords) for each activation a sequence kernel can take.

    A recurrence proven for any element-wise f (the RNN) has kernels that take ``f`` and ``f_grad``:
    they are checked with their default and with every element-wise rule's generated kernels (at the
    first value of a parameter the rule checks). Any other recurrence has one variant, its own.
    """
    if "f" not in inspect.signature(forward).parameters:
        return [("", {}, {})]
    from .rules import RULES

    variants: list[tuple[str, dict[str, Any], dict[str, Any]]] = [(" (f = its default)", {}, {})]
    for rule in RULES.values():
        if isinstance(rule, LayerRule) and rule.elementwise:
            module = importlib.import_module(f"mathnn.kernels.{rule.name}")
            ((forward_name, gradient_name),) = kernel_pairs(rule)
            params = _param_settings(rule)[0]
            f, f_grad = getattr(module, forward_name), getattr(module, gradient_name)
            variants.append((f" (f = {rule.name})", {"f": functools.partial(f, **params)},
                             {"f_grad": functools.partial(f_grad, **params)}))
    return variants


def check_sequence(name: str, points: int = 2000, seed: int = 0) -> list[KernelCheck]:
    """Gradient-check a recurrence's generated BPTT kernel against its forward kernel.

    Everything comes from the generated ``SEQUENCE``: the sizes, how inputs are drawn, what the
    backward takes from the forward; a recurrence proven for any activation is checked with each
    (:func:`_activation_variants`). With no magnitude kernel, an entry's error is measured against
    the largest entry of its gradient.
    """
    from .catalogue import draw_inputs, sequences

    sequence = sequences()[name]
    spec = sequence.spec
    forward, backward = sequence.kernel(spec["forward_kernel"]), sequence.kernel(spec["backward_kernel"])
    rng = np.random.default_rng(seed)
    checks = []
    for label, activation, activation_grad in _activation_variants(forward):
        # small sizes, one case each: every entry of every gradient is checked, and a forward call is a
        # Python loop over T, so larger sizes cost seconds and find nothing more
        for sizes in ({key: 2 for key in spec["sizes"]} | {"T": 3}, {key: 1 for key in spec["sizes"]} | {"T": 2}):
            inputs = draw_inputs(sequence, sizes, rng)
            states = dict(zip(spec["states"], forward(*inputs.values(), **activation)))
            dout = rng.standard_normal(states[spec["states"][0]].shape)
            values = {**inputs, **states}
            gradients = backward(dout, *(values[key] for key in spec["backward_arguments"]), **activation_grad)
            cases = []
            for wrt, gradient in zip(spec["differentiated"], gradients):
                def f(v: np.ndarray, wrt: str = wrt, inputs: dict = inputs) -> np.ndarray:
                    return forward(**{key: value.astype(v.dtype) for key, value in {**inputs, wrt: v}.items()},
                                   **activation)[0]

                cases.append((f, inputs[wrt], dout, gradient, float(np.abs(gradient).max())))
            checks.append(_vjp_check(spec["forward_kernel"] + label, spec["backward_kernel"], dict(sizes), cases))
    return checks


def verify(rule: Rule, points: int = 2000, seed: int = 0, *, cache: bool = True) -> RuleReport:
    """Prove ``rule`` (from the proof cache when it is unchanged) and gradient-check its kernels.

    ``cache=False`` proves it again and refreshes the cache (``mathnn verify --no-cache``).
    """
    if isinstance(rule, LayerRule):  # f′ against f for an element-wise layer, a loss's fused kernel, else the SPEC
        numeric = (check_kernels(rule, points, seed) if rule.elementwise else check_loss(rule, points, seed)
                   if rule.loss is not None else check_layer(rule.name, points, seed))
    else:  # a recurrence: its generated BPTT against its generated forward
        numeric = check_sequence(rule.name, points, seed)
    return RuleReport(rule.name, proven(rule, cache=cache), numeric)
