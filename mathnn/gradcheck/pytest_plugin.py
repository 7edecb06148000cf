"""A pytest plugin with one fixture, ``gradcheck``: a gradient check that fails the test with its report.

Enabled by the ``pytest11`` entry point when mathnn is installed, or with ``-p mathnn.gradcheck.pytest_plugin``.

Examples
--------
In a test file::

    import numpy as np

    def test_my_tanh_backward(gradcheck):
        x = np.random.default_rng(0).standard_normal((3, 4))
        gradcheck(lambda x: np.tanh(x), lambda dout, x: (dout * (1 - np.tanh(x) ** 2),), {"x": x})

A wrong backward pass fails the test with the full report (which gradient, the worst entries, the
pattern of the error) instead of a bare ``assert False``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from .check import check_vjp
from .report import Report

GradCheck = Callable[..., Report]


@pytest.fixture
def gradcheck() -> GradCheck:
    """A gradient check that fails the test, with the full report, when a gradient is wrong.

    Returns
    -------
    callable
        ``gradcheck(f, f_vjp, inputs, **options) -> Report`` runs
        :func:`mathnn.gradcheck.check_vjp` ``(f, f_vjp, inputs, **options)``: ``f(**inputs)`` returns
        the forward output, ``f_vjp(dout, **inputs)`` one gradient per input in the order of
        ``inputs`` (a dict of name -> ndarray); ``options`` are check_vjp's (``dout``, ``method``,
        ``mode``, ``seed``…). It returns the report when every gradient passes and otherwise fails
        the test with ``str(report)`` as the message.
    """

    def run(
        f: Callable[..., np.ndarray], f_vjp: Callable[..., object], inputs: Mapping[str, np.ndarray], **options: Any
    ) -> Report:
        report = check_vjp(f, f_vjp, inputs, **options)
        if not report:
            pytest.fail(str(report), pytrace=False)
        return report

    return run
