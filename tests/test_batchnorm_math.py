"""Batch normalization, symbolically: derived, proven for any m, refuted when wrong, checked in numbers."""

import time

import numpy as np
import pytest
import sympy as sp

from mathnn.rules import batchnorm_math as bn
from mathnn.rules.batchnorm_math import (
    PATH_EDGES, PATHS, batch_sum, beta, compact_closed_forms, derivation_steps, dx_without, dy, eps,
    expand_nodes, gamma, i, j, m, mu_sym, prove, prove_dx_elementwise, prove_dx_equals,
    prove_sum_identity, std_sym, var_sym, x, x_hat_sym,
)

SUM_DY = batch_sum(dy[i])
SUM_DY_X_HAT = batch_sum(dy[i] * x_hat_sym[i])
FULL_DX = gamma / (m * std_sym) * (m * dy[j] - SUM_DY - x_hat_sym[j] * SUM_DY_X_HAT)


def same(lhs, rhs) -> bool:
    """lhs == rhs for symbolic m, decided by the module's own prover."""
    return prove_sum_identity(lhs, rhs, "test").holds


# -- numbers ---------------------------------------------------------------------------------

RNG = np.random.default_rng(20150211)
X3 = RNG.normal(size=3)
DY3 = RNG.normal(size=3)
GAMMA, BETA, EPS = 1.7, -0.4, 1e-2


def numeric_loss(values: np.ndarray, g: float = GAMMA, b: float = BETA) -> float:
    """The forward pass in numpy: L = Σ dy·(γ x̂ + β)."""
    centred = values - values.mean()
    x_hat = centred / np.sqrt((centred**2).mean() + EPS)
    return float(np.sum(DY3 * (g * x_hat + b)))


def central_difference(f, at: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.empty_like(at)
    for t in range(at.size):
        step = np.zeros_like(at)
        step[t] = h
        grad[t] = (f(at + step) - f(at - step)) / (2 * h)
    return grad


def evaluate(expr: sp.Expr, element: int | None = None) -> float:
    """``expr`` (node symbols, symbolic m) at m = 3 with the random numbers above substituted."""
    concrete = expand_nodes(expr).subs(m, 3)
    if element is not None:
        concrete = concrete.subs(j, element)
    values = {x[t]: X3[t] for t in range(3)} | {dy[t]: DY3[t] for t in range(3)}
    values |= {gamma: GAMMA, beta: BETA, eps: EPS}
    return float(concrete.doit().xreplace({k: sp.Float(v, 30) for k, v in values.items()}).evalf(30))


def evaluate_dx(expr: sp.Expr) -> np.ndarray:
    return np.array([evaluate(expr, t) for t in range(3)])


# -- proofs ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_claim_holds_quickly():
    start = time.perf_counter()
    claims = prove()
    seconds = time.perf_counter() - start
    assert len(claims) == 8
    failed = [f"{c.statement}: {c.method}" for c in claims if not c.holds]
    assert not failed, failed
    assert all(c.method.endswith(" s]") for c in claims)  # every method says how long it took
    assert seconds < 30, seconds


def test_claims_cover_the_brief(proofs):
    # The batch-norm rule's proof makes every claim of prove() (then its kernels'): read them from the session.
    statements = " | ".join(c.statement for c in proofs["batchnorm"].claims)
    for fragment in ("Σᵢ x̂ᵢ = 0", "Σᵢ x̂ᵢ² = mσ²/(σ² + ε)", "∂L/∂xⱼ derived", "∂L/∂γ", "∂L/∂β",
                     "m = 1, 2, 3, 4, 5, 6", "Σⱼ dxⱼ = 0", "Σⱼ dxⱼ x̂ⱼ = γ ε"):
        assert fragment in statements


def test_declared_dx_is_proven_for_symbolic_m():
    claim = prove_dx_equals(compact_closed_forms()["dx"])
    assert claim.holds, claim.method
    assert "remainder 0" in claim.method


def test_dx_without_the_mean_term_is_refuted():
    wrong = gamma / (m * std_sym) * (m * dy[j] - SUM_DY)  # drops x̂ⱼ Σ dyᵢ x̂ᵢ
    claim = prove_dx_equals(wrong)
    assert not claim.holds
    assert "not 0" in claim.method
    assert not prove_dx_elementwise(wrong, sizes=(2, 3)).holds


def test_dx_with_m_minus_one_is_refuted():
    wrong = gamma / ((m - 1) * std_sym) * ((m - 1) * dy[j] - SUM_DY - x_hat_sym[j] * SUM_DY_X_HAT)
    assert not prove_dx_equals(wrong).holds
    assert not prove_dx_elementwise(wrong, sizes=(2, 3)).holds


def test_dx_with_unbiased_variance_is_refuted():
    # x̂ computed with the (m − 1) variance but the gradient of the paper's (1/m) batch norm.
    unbiased_std = sp.sqrt(var_sym * m / (m - 1) + eps)
    wrong = gamma / (m * unbiased_std) * (m * dy[j] - SUM_DY - x_hat_sym[j] * SUM_DY_X_HAT)
    assert not prove_dx_equals(wrong).holds


def test_elementwise_includes_batch_of_one():
    # m = 1: σ² = 0, x̂ = 0 and dx = 0; ε > 0 keeps √(σ² + ε) = √ε finite.
    assert prove_dx_elementwise(sizes=(1,)).holds


def test_dx_times_x_hat_sums_to_zero_only_without_eps():
    dx = compact_closed_forms()["dx"]
    naive = prove_sum_identity(batch_sum(dx * x_hat_sym[j], j), 0, "Σ dx x̂ = 0")
    assert not naive.holds
    exact = gamma * eps / (var_sym + eps) ** sp.Rational(3, 2) * SUM_DY_X_HAT
    assert same(batch_sum(dx * x_hat_sym[j], j), exact)
    assert exact.subs(eps, 0) == 0


# -- numbers: derived against numpy finite differences ----------------------------------------


def test_derived_dx_matches_finite_differences_at_m_3():
    derived = bn.backprop().x(j)  # straight from the graph, before any rewriting
    numeric = central_difference(numeric_loss, X3)
    np.testing.assert_allclose(evaluate_dx(derived), numeric, atol=1e-6, rtol=0)
    np.testing.assert_allclose(evaluate_dx(compact_closed_forms()["dx"]), numeric, atol=1e-6, rtol=0)
    np.testing.assert_allclose(evaluate_dx(dx_without(None)), numeric, atol=1e-6, rtol=0)
    assert abs(numeric.sum()) < 1e-6


def test_derived_dgamma_and_dbeta_match_finite_differences():
    adjoints = bn.backprop()
    h = 1e-6
    dgamma = (numeric_loss(X3, g=GAMMA + h) - numeric_loss(X3, g=GAMMA - h)) / (2 * h)
    dbeta = (numeric_loss(X3, b=BETA + h) - numeric_loss(X3, b=BETA - h)) / (2 * h)
    assert evaluate(adjoints.gamma) == pytest.approx(dgamma, abs=1e-6)
    assert evaluate(adjoints.beta) == pytest.approx(dbeta, abs=1e-6)


# -- homework diagnosis ----------------------------------------------------------------------


def test_forgetting_the_mean_path_breaks_the_column_sum():
    full, without = dx_without(None), dx_without("x->mu->x_hat")
    assert not same(without, full)
    assert same(full, FULL_DX)
    assert same(batch_sum(full, j), 0)
    assert not same(batch_sum(without, j), 0)
    assert same(batch_sum(without, j), gamma * SUM_DY / std_sym)
    # and in numbers, at m = 3
    assert abs(evaluate_dx(full).sum()) < 1e-9
    assert abs(evaluate_dx(without).sum()) > 1e-3
    assert np.max(np.abs(evaluate_dx(without) - evaluate_dx(full))) > 1e-3


def test_each_forgotten_path_gives_its_compact_form():
    assert same(dx_without("x->mu->x_hat"), gamma / (m * std_sym) * (m * dy[j] - x_hat_sym[j] * SUM_DY_X_HAT))
    assert same(dx_without("x->var"), gamma / (m * std_sym) * (m * dy[j] - SUM_DY))
    # μ → σ² carries ∂L/∂σ² · (−2/m) Σ (xᵢ − μ) = 0: forgetting it changes nothing.
    assert same(dx_without("x->mu->var"), FULL_DX)
    # the compact forms use x̂ and sums, not x or μ
    for path in (None, *PATH_EDGES):
        form = dx_without(path)
        assert not form.has(x) and not form.has(mu_sym) and not form.has(sp.KroneckerDelta)


def test_paths_are_named_with_a_sentence():
    assert set(PATHS) == {None, *PATH_EDGES}
    assert "x → μ → x̂" in PATHS["x->mu->x_hat"]
    assert all(sentence.startswith("your dx matches") for sentence in PATHS.values())
    with pytest.raises(ValueError, match="x->mu"):
        dx_without("x->nowhere")


# -- derivation steps and closed forms -------------------------------------------------------


def test_derivation_steps_are_derived_and_readable():
    steps = {step.name: step for step in derivation_steps()}
    assert list(steps) == ["dL_dxhat", "dL_dvar", "dL_dmu", "dL_dx", "dL_dgamma", "dL_dbeta"]
    assert steps["dL_dxhat"].expr == gamma * dy[i]
    assert same(steps["dL_dvar"].expr, -gamma / (2 * (var_sym + eps)) * SUM_DY_X_HAT)
    assert same(steps["dL_dmu"].expr, -gamma / std_sym * SUM_DY)
    assert same(steps["dL_dx"].expr, FULL_DX)
    assert steps["dL_dgamma"].expr == SUM_DY_X_HAT
    assert steps["dL_dbeta"].expr == SUM_DY
    for step in steps.values():
        assert not step.expr.has(sp.KroneckerDelta, sp.Piecewise, x)
        assert step.latex.startswith(step.latex_lhs + " = ")
    assert r"\sum_{i=0}^{m - 1}" in steps["dL_dx"].latex
    assert r"\hat{x}" in steps["dL_dvar"].latex


def test_paper_form_of_dvar_before_rewriting():
    # Algorithm 1: ∂L/∂σ² = Σᵢ ∂L/∂x̂ᵢ (xᵢ − μ) · (−1/2)(σ² + ε)^{−3/2}
    half_cubed = sp.Rational(-1, 2) * (var_sym + eps) ** sp.Rational(-3, 2)
    paper = batch_sum(gamma * dy[i] * (x[i] - mu_sym)) * half_cubed
    assert same(bn.backprop().var, paper)


def test_compact_closed_forms_are_the_textbook_ones():
    forms = compact_closed_forms()
    assert list(forms) == ["mu", "var", "x_hat", "y", "dgamma", "dbeta", "dx"]
    assert forms["dx"] == FULL_DX
    assert forms["dgamma"] == SUM_DY_X_HAT and forms["dbeta"] == SUM_DY
    # the forward entries agree with the module's definitions of μ, σ², x̂
    assert same(forms["mu"], bn.mu) and same(forms["var"].subs(mu_sym, bn.mu), bn.var)
    assert same(forms["x_hat"], bn.x_hat(j))
