"""The ``gradcheck`` fixture: a right gradient passes, a wrong one fails the test with the check's report."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import numpy as np

X = np.linspace(-1.0, 1.0, 12).reshape(3, 4)


def tanh_vjp(dout, x):
    return (dout * (1 - np.tanh(x) ** 2),)


def tanh(x):
    return np.tanh(x)


def test_right_gradient(gradcheck):
    report = gradcheck(tanh, tanh_vjp, {"x": X})
    assert report.passed and report["x"].max_error < 1e-12


def test_wrong_gradient(gradcheck):
    gradcheck(tanh, lambda dout, x: (2 * tanh_vjp(dout, x)[0],), {"x": X}, seed=7)


def test_options_reach_check_vjp(gradcheck):
    report = gradcheck(tanh, tanh_vjp, {"x": X}, method="central", mode="full", seed=3)
    assert report.seed == 3 and report["x"].method == "central differences"
"""


def test_right_gradients_pass_and_a_wrong_one_fails_with_the_report(pytester: pytest.Pytester):
    pytester.makepyfile(test_student=TESTS)
    # a fresh process, as a student's pytest run would be (numpy cannot be imported twice in one)
    outcome = pytester.runpytest_subprocess("-p", "mathnn.gradcheck.pytest_plugin", "-p", "no:cacheprovider")
    outcome.assert_outcomes(passed=2, failed=1)
    outcome.stdout.fnmatch_lines(["FAILED test_student.py::test_wrong_gradient*"])
    output = outcome.stdout.str()
    assert "gradient check FAILED (seed 7, " in output
    assert "[FAIL] x: max error" in output
    assert "pattern: x is off by a constant factor: yours = 2 × the true gradient" in output
    # the report replaces the traceback: the student reads the check, not the plugin's internals
    assert "pytest_plugin.py" not in output
