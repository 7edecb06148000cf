"""The batch-norm rule end to end: derived for a symbolic batch, kernels proven, verified, derived on screen."""

from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

from mathnn.cli import main
from mathnn.rules import RULES
from mathnn.rules import batchnorm as rule_module
from mathnn.rules.core import BatchSum
from mathnn.rules.layer_parts import Identity
from mathnn.verify import CENTRAL_TOL, COMPLEX_TOL, check_layer

RULE = RULES["batchnorm"]
N, x_hat, inv_std, dout, gamma = rule_module.N, rule_module.x_hat, rule_module.inv_std, rule_module.dout, rule_module.gamma


def _failing(rule):
    return [claim for claim in rule.prove().claims if not claim.holds]


def test_batchnorm_is_proven_for_symbolic_batch_size_including_its_kernels(proofs):
    proof = proofs["batchnorm"]
    assert proof.holds, str(proof)
    statements = [claim.statement for claim in proof.claims]
    derived = [s for s in statements if "derived by reverse accumulation" in s]
    assert len(derived) == 3 and all(s.endswith("for symbolic N") for s in derived)
    assert sum(s.startswith("the tuned kernel batchnorm_") for s in statements) == 8
    for fragment in ("Σᵢ x̂ᵢ = 0", "Σᵢ x̂ᵢ² = Nσ²/(σ² + ε)", "Σⱼ dxⱼ = 0", "Σⱼ dxⱼ x̂ⱼ = γ ε"):
        assert any(s.startswith(fragment) for s in statements), fragment
    assert sum("the mistake" in s for s in statements) == 3
    assert proof.seconds < 30


def test_dx_with_n_minus_one_is_refuted():
    wrong = gamma * inv_std * (dout - BatchSum(dout) / (N - 1) - x_hat * BatchSum(dout * x_hat) / (N - 1))
    # the named mistakes are refuted against the derived gradient, whatever the closed form: left out here
    failing = _failing(replace(RULE, closed_forms={**RULE.closed_forms, rule_module.x: wrong}, tuned=None,
                               mistakes=(), forward_mistakes=()))
    assert failing[0].statement.startswith("∂L/∂x derived") and "not 0" in failing[0].method
    # the facts about dx fail with it: Σⱼ dxⱼ is no longer 0
    assert any(c.statement.startswith("Σⱼ dxⱼ = 0") for c in failing[1:])


def test_dx_without_the_variance_term_is_refuted():
    wrong = gamma * inv_std * (dout - BatchSum(dout) / N)
    failing = _failing(replace(RULE, closed_forms={**RULE.closed_forms, rule_module.x: wrong}, tuned=None,
                               mistakes=(), forward_mistakes=()))
    assert failing and failing[0].statement.startswith("∂L/∂x derived")


def test_a_wrong_identity_is_refuted():
    # Σⱼ dxⱼ x̂ⱼ = 0 holds only for ε = 0: claimed for ε > 0 it must fail
    naive = Identity("Σⱼ dxⱼ x̂ⱼ = 0", BatchSum(sp.Symbol("dx") * x_hat), 0)
    failing = _failing(replace(RULE, identities=(naive,), mistakes=(), tuned=None))
    assert [c.statement for c in failing] == ["Σⱼ dxⱼ x̂ⱼ = 0, for symbolic N"]


def _with(kernel, statements):
    """The rule with one tuned kernel's statements replaced."""
    changed = replace(kernel, statements=statements)
    tuned = RULE.tuned
    assert tuned is not None
    which = "forward" if kernel.name == tuned.forward.name else "backward"
    return replace(RULE, tuned=replace(tuned, **{which: changed}), mistakes=(), identities=())


@pytest.mark.slow
def test_a_kernel_that_forgets_the_mean_path_is_not_proven():
    # Drop "+ (1/N) Σᵢ dyᵢ": the kernel then computes the gradient without the path x → μ → x̂.
    statements = tuple(s for s in rule_module.backward.statements if s.equation != "+ (1/N) Σᵢ dyᵢ, in place")
    assert len(statements) == len(rule_module.backward.statements) - 1
    failing = _failing(_with(rule_module.backward, statements))
    assert [claim.statement for claim in failing] == [
        "the tuned kernel batchnorm_backward computes dx as the closed form does, for symbolic N"]
    assert "not 0" in failing[0].method


@pytest.mark.slow
def test_a_kernel_with_the_unbiased_variance_is_not_proven():
    statements = tuple(
        replace(s, expr=s.expr * N / (N - 1)) if s.target == "var" else s
        for s in rule_module.train_forward.statements
    )
    failing = {claim.statement for claim in _failing(_with(rule_module.train_forward, statements))}
    assert "the tuned kernel batchnorm_train_forward computes var as the graph does, for symbolic N" in failing


def test_numeric_check_passes_on_n_1_and_2_and_catches_a_wrong_kernel(monkeypatch):
    checks = check_layer("batchnorm", points=500, seed=3)
    assert {1, 2} <= {c.params["N"] for c in checks}
    for check in checks:
        assert check.max_complex <= COMPLEX_TOL and check.max_central <= CENTRAL_TOL, check

    from mathnn.kernels import batchnorm as kernels

    correct = kernels.batchnorm_backward

    def forgets_mean_path(dout, x_hat, gamma, inv_std, dx=None):
        dx, dgamma, dbeta = correct(dout, x_hat, gamma, inv_std)
        return dx + gamma * inv_std * dbeta / dout.shape[0], dgamma, dbeta

    monkeypatch.setattr(kernels, "batchnorm_backward", forgets_mean_path)
    wrong = check_layer("batchnorm", points=500, seed=3)
    assert all(c.max_complex > 1e-3 for c in wrong if c.params["N"] > 1)


def test_kernel_keeps_a_constant_column_exactly_zero():
    from mathnn.kernels.batchnorm import batchnorm_train_forward

    x = np.full((1000, 2), 1e8 + 0.1)
    x[:, 1] = np.linspace(0, 1, 1000)
    out, x_hat, _, _, mean, var = batchnorm_train_forward(x, np.ones(2), np.zeros(2))
    assert np.all(x_hat[:, 0] == 0) and var[0] == 0 and mean[0] == 1e8 + 0.1


def test_forgetting_the_mean_path_breaks_the_column_sum():
    """Σⱼ dxⱼ = 0 (proven) holds for the true gradient, not for the one without the mean path."""
    from mathnn.kernels import batchnorm as kernels

    rng = np.random.default_rng(0)
    x, dout_ = rng.standard_normal((6, 3)) + 1, rng.standard_normal((6, 3))
    gamma_, beta_ = rng.standard_normal(3), rng.standard_normal(3)
    _, xh, g, s, _, _ = kernels.batchnorm_train_forward(x, gamma_, beta_)
    dx = kernels.batchnorm_backward(dout_, xh, g, s)[0]
    without = kernels.batchnorm_mistake_no_mean_path(dout_, x, gamma_, beta_)
    np.testing.assert_allclose(dx.sum(axis=0), 0, atol=1e-12)
    assert np.abs(without.sum(axis=0)).min() > 1e-3


def test_test_mode_kernel_is_the_graph_with_running_averages():
    from mathnn.kernels.batchnorm import batchnorm_inference_kernel

    rng = np.random.default_rng(1)
    x, gamma_, beta_ = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(3)
    mu, var = rng.standard_normal(3), rng.random(3) + 0.5
    np.testing.assert_allclose(batchnorm_inference_kernel(x, gamma_, beta_, mu, var, 1e-5),
                               gamma_ * (x - mu) / np.sqrt(var + 1e-5) + beta_, rtol=1e-14)


def test_derive_batchnorm_prints_every_step(capsys):
    assert main(["derive", "batchnorm"]) == 0
    out = capsys.readouterr().out
    for fragment in ("one column over a batch of N", "∂L/∂x̂ (from y)", "∂L/∂σ² (from 1/√(σ²+ε))", "∂L/∂μ (from x̃)",
                     "∂L/∂x (from x̃)", "∂L/∂γ", "∂L/∂β", "no mean path", "no variance path", "Facts, proven for symbolic N",
                     "Σᵢ(x̂) = 0"):
        assert fragment in out, fragment
    assert "Proof (all claims hold" in out


@pytest.mark.parametrize("name", ["batchnorm"])
def test_verify_includes_batchnorm(name, capsys):
    assert main(["verify", name, "--points", "500"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("batchnorm "))
    assert "proven" in line and line.rstrip().endswith("ok")
