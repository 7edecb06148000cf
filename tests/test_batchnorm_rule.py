"""The batch-norm rule end to end: kernels proven against the closed forms, verified, derived."""

from dataclasses import replace

import numpy as np
import pytest

from mathnn.cli import main
from mathnn.rules import RULES
from mathnn.rules import batchnorm as rule_module
from mathnn.verify import CENTRAL_TOL, COMPLEX_TOL, check_batchnorm

RULE = RULES["batchnorm"]


def test_batchnorm_is_proven_for_symbolic_batch_size_including_its_kernels(proofs):
    proof = proofs["batchnorm"]
    assert proof.holds, str(proof)
    statements = [claim.statement for claim in proof.claims]
    assert any("for every batch size m" in s for s in statements)
    assert sum(s.startswith("kernel batchnorm_") for s in statements) == 9
    assert proof.seconds < 30


def _with(kernel, statements):
    """The rule with one kernel's statements replaced."""
    changed = replace(kernel, statements=statements)
    return replace(RULE, kernels=tuple(changed if k.name == kernel.name else k for k in RULE.kernels))


@pytest.mark.slow
def test_a_kernel_that_forgets_the_mean_path_is_not_proven():
    # Drop "+ (1/m) Σᵢ dyᵢ": the kernel then computes the gradient without the path x → μ → x̂.
    statements = tuple(s for s in rule_module.backward.statements if s.equation != "+ (1/m) Σᵢ dyᵢ, in place")
    assert len(statements) == len(rule_module.backward.statements) - 1
    failing = [claim for claim in _with(rule_module.backward, statements).prove().claims if not claim.holds]
    assert [claim.statement for claim in failing] == ["kernel batchnorm_backward computes ∂L/∂xⱼ"]
    assert "remainder" in failing[0].method and "not 0" in failing[0].method


@pytest.mark.slow
def test_a_kernel_with_the_unbiased_variance_is_not_proven():
    statements = tuple(
        replace(s, expr=s.expr * rule_module.N / (rule_module.N - 1)) if s.target == "var" else s
        for s in rule_module.train_forward.statements
    )
    failing = {claim.statement for claim in _with(rule_module.train_forward, statements).prove().claims if not claim.holds}
    assert "kernel batchnorm_train_forward computes σ²" in failing


def test_numeric_check_passes_on_n_1_and_2_and_catches_a_wrong_kernel(monkeypatch):
    checks = check_batchnorm(points=500, seed=3)
    assert [c.params["N"] for c in checks][:2] == [1, 2]
    for check in checks:
        assert check.max_complex <= COMPLEX_TOL and check.max_central <= CENTRAL_TOL, check

    from mathnn.kernels import batchnorm as kernels

    correct = kernels.batchnorm_backward

    def forgets_mean_path(dout, x_hat, gamma, inv_std, dx=None):
        dx, dgamma, dbeta = correct(dout, x_hat, gamma, inv_std)
        return dx + gamma * inv_std * dbeta / dout.shape[0], dgamma, dbeta

    monkeypatch.setattr(kernels, "batchnorm_backward", forgets_mean_path)
    wrong = check_batchnorm(points=500, seed=3)
    assert all(c.max_complex > 1e-3 for c in wrong if c.params["N"] > 1)


def test_kernel_keeps_a_constant_column_exactly_zero():
    from mathnn.kernels.batchnorm import batchnorm_train_forward

    x = np.full((1000, 2), 1e8 + 0.1)
    x[:, 1] = np.linspace(0, 1, 1000)
    out, x_hat, mean, var, _ = batchnorm_train_forward(x, np.ones(2), np.zeros(2))
    assert np.all(x_hat[:, 0] == 0) and var[0] == 0 and mean[0] == 1e8 + 0.1


def test_derive_batchnorm_prints_every_step(capsys):
    assert main(["derive", "batchnorm"]) == 0
    out = capsys.readouterr().out
    for lhs in ("∂L/∂x̂ᵢ = γ*dyᵢ", "∂L/∂σ² =", "∂L/∂μ =", "∂L/∂xⱼ =", "∂L/∂γ = Σᵢ(dyᵢ*x̂ᵢ)", "∂L/∂β = Σᵢ(dyᵢ)"):
        assert lhs in out
    assert "dx without x->mu->x_hat" in out
    assert "Proof (all claims hold" in out


@pytest.mark.parametrize("name", ["batchnorm"])
def test_verify_includes_batchnorm(name, capsys):
    assert main(["verify", name, "--points", "500"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("batchnorm "))
    assert "proven" in line and line.rstrip().endswith("ok")
