"""Softmax cross-entropy: proven for a symbolic number of classes, refuted when wrong, stable for huge scores.

The RNN's own tests are in test_recurrence.py (the sequence) and test_layer_rules.py (the step)."""

from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

from mathnn.rules import rnn as rnn_rules
from mathnn.rules.core import RowSum, TotalSum
from mathnn.verify import CENTRAL_TOL, COMPLEX_TOL, check_loss


def test_softmax_rule_is_proven(proofs):
    assert proofs["softmax_ce"].holds, str(proofs["softmax_ce"])


def _with_kernel_statement(target, expr):
    """softmax_ce with one statement of its fused kernel replaced."""
    rule = rnn_rules.softmax_ce
    kernel = rule.loss.kernel
    wrong = replace(kernel, statements=tuple(replace(s, expr=expr) if s.target == target else s
                                             for s in kernel.statements))
    return replace(rule, loss=replace(rule.loss, kernel=wrong))


def _failing(proof):
    return [claim for claim in proof.claims if not claim.holds]


def test_softmax_gradient_with_the_wrong_sign_is_refuted():
    wrong = _with_kernel_statement("dscores", (rnn_rules.onehot - rnn_rules.probs) * rnn_rules.weights)
    (failing,) = _failing(wrong.prove())
    assert failing.statement.startswith("softmax_cross_entropy computes")
    loss, gradient = failing.method.split("; gradient: ")
    assert "≠ 0" not in loss and "≠ 0" in gradient


def test_a_loss_that_forgets_the_shift_is_refuted():
    """log Σ e^{o − c} − o_y, without the − c: right at c = 0 only, and the kernel subtracts the maximum."""
    s = rnn_rules
    wrong = _with_kernel_statement("loss", TotalSum(s.weights * (sp.log(s.total) - RowSum(s.onehot * s.scores))))
    failing = _failing(wrong.prove())  # the fused kernel and its slip kernel, which shares the loss
    assert [claim.statement.split(" computes")[0] for claim in failing] == [
        "softmax_cross_entropy", "softmax_cross_entropy_slip_no_1_at_the_correct_class"]
    for claim in failing:
        loss, gradient = claim.method.split("; gradient: ")
        assert "∂/∂c" in loss and "≠ 0" in loss and "≠ 0" not in gradient


def test_the_derivation_needs_the_targets_to_be_one_hot():
    """Reverse accumulation gives w(p Σₖ yₖ − y), and the kernel's log Σ e^o − o_y is −Σₖ yₖ log pₖ: both
    only where the targets sum to 1."""
    proof = replace(rnn_rules.softmax_ce, one_hot=()).prove()
    assert [claim.statement.split(" ")[0] for claim in _failing(proof)] == [
        "∂L/∂o", "softmax_cross_entropy", "softmax_cross_entropy_slip_no_1_at_the_correct_class"]
    assert rnn_rules.softmax_ce.prove().holds


def test_numeric_check_of_softmax_passes():
    for check in check_loss(rnn_rules.softmax_ce, points=500):
        assert check.max_complex <= COMPLEX_TOL and check.max_central <= CENTRAL_TOL, check


def test_softmax_kernel_is_stable_for_huge_scores():
    from mathnn.kernels.softmax_ce import softmax_cross_entropy

    scores = np.array([[1000.0, -1000.0, 0.0]])
    loss, dscores = softmax_cross_entropy(scores, np.array([[1.0, 0.0, 0.0]]), np.ones((1, 1)))
    assert loss == 0.0 and np.all(np.isfinite(dscores))
    loss, _ = softmax_cross_entropy(scores, np.array([[0.0, 1.0, 0.0]]), np.ones((1, 1)))
    assert loss == 2000.0


def test_a_mistake_of_a_node_the_fused_kernel_does_not_compute_is_refused_by_name():
    from mathnn.rules.layer import ForwardMistake

    rule = replace(rnn_rules.softmax_ce, forward_mistakes=(
        ForwardMistake("no sum", "nothing", {rnn_rules.sum_exp: sp.Integer(1)}),))
    with pytest.raises(ValueError, match=r"mistake 'no sum': expected a statement of softmax_cross_entropy named "
                                         r"\['sum_exp'\] to replace; received one of \['dscores', "):
        rule.kernels


def test_the_derivation_shows_no_edge_into_the_targets():
    """Reverse accumulation is shown only along edges that reach a differentiated input."""
    from mathnn.codegen.render import derivation_text

    shown = derivation_text(rnn_rules.softmax_ce)
    assert "∂L/∂p (from ℓ)" in shown and "∂L/∂o (from eᵒ)" in shown
    assert "∂L/∂y" not in shown  # the one-hot targets are an input, but not differentiated
