"""Softmax cross-entropy: proven for every target assignment, refuted when wrong, stable for huge scores.

The RNN's own tests are in test_recurrence.py (the sequence) and test_layer_rules.py (the step)."""

from dataclasses import replace

import numpy as np

from mathnn.rules import rnn as rnn_rules
from mathnn.verify import CENTRAL_TOL, COMPLEX_TOL, check_softmax_ce


def test_softmax_rule_is_proven(proofs):
    assert proofs["softmax_ce"].holds, str(proofs["softmax_ce"])


def test_softmax_gradient_with_the_wrong_sign_is_refuted():
    kernel = rnn_rules.softmax_ce_kernel
    wrong = replace(kernel, statements=tuple(
        replace(s, expr=(rnn_rules.onehot - rnn_rules.exp_shifted / rnn_rules.total) * rnn_rules.weights)
        if s.target == "dscores" else s for s in kernel.statements
    ))
    claims = rnn_rules.softmax_kernel_claims(wrong)
    assert [c.holds for c in claims] == [False, True]


def test_numeric_check_of_softmax_passes():
    for check in check_softmax_ce(points=500):
        assert check.max_complex <= COMPLEX_TOL and check.max_central <= CENTRAL_TOL, check


def test_softmax_kernel_is_stable_for_huge_scores():
    from mathnn.kernels.softmax_ce import softmax_cross_entropy

    scores = np.array([[1000.0, -1000.0, 0.0]])
    loss, dscores = softmax_cross_entropy(scores, np.array([[1.0, 0.0, 0.0]]), np.ones((1, 1)))
    assert loss == 0.0 and np.all(np.isfinite(dscores))
    loss, _ = softmax_cross_entropy(scores, np.array([[0.0, 1.0, 0.0]]), np.ones((1, 1)))
    assert loss == 2000.0
