"""Hostile homework, continued: a wrong dropout passed by answering differently near the point, and a student
reaching a classmate's check while the class is graded side by side (``mathnn grade --jobs 2``).

As in tests/test_grading_hostile.py, each test is a file a student could hand in, and what must hold: the
wrong file is not passed, and no classmate's file or process can be read or signalled.
"""

from __future__ import annotations

import os
import secrets
import textwrap
from pathlib import Path

import pytest

from mathnn.gradcheck.runner import check_file
from mathnn.gradcheck.sandbox import Sandbox

ROOT = os.geteuid() == 0


def write(directory: Path, name: str, *sources: str) -> Path:
    path = directory / name
    path.write_text("import numpy as np\n" + "".join(textwrap.dedent(source) for source in sources))
    return path


def test_a_dropout_forward_that_answers_differently_near_its_point_cannot_pass_a_backward_that_ignores_the_mask(
        tmp_path):
    # the finite differences evaluate the forward near the point (a complex step, or x + h): there this one
    # is the identity, whose derivative is what the wrong backward returns; at the point its output is
    # inverted dropout, as the structure check asks
    path = write(tmp_path, "two_faced_dropout.py", """
        SEEN = []

        def dropout_forward(x, dropout_param):
            p, mode = dropout_param["p"], dropout_param["mode"]
            if "seed" in dropout_param:
                np.random.seed(dropout_param["seed"])
            if mode == "test":
                return x, None
            mask = (np.random.rand(*x.shape) < p) / p
            for old in SEEN:
                if old.shape == x.shape and 0 < np.max(np.abs(x - old)) < 1e-2:
                    return x.copy(), None
            SEEN.append(np.array(x, dtype=float))
            return x * mask, None

        def dropout_backward(dout, cache):
            return dout.copy()
        """)
    for seed in (1, 2):
        (dropout,) = check_file(path, ["dropout"], timeout=10, seed=seed)["functions"]
        assert dropout["passed"] is False
        assert dropout["forward"]["status"] == "ok" and dropout["gradients"][0]["passed"] is True  # it fools that much
        assert "dx disagrees with the derivative of the output dropout_forward returned at this point" in \
            dropout["diagnosis"]


def test_an_honest_dropout_still_passes_with_the_output_compared(tmp_path):
    path = write(tmp_path, "honest_dropout.py", """
        def dropout_forward(x, dropout_param):
            p, mode = dropout_param["p"], dropout_param["mode"]
            if "seed" in dropout_param:
                np.random.seed(dropout_param["seed"])
            mask = None
            if mode == "train":
                mask = (np.random.rand(*x.shape) < p) / p
                out = x * mask
            else:
                out = x
            return out, (dropout_param, mask)

        def dropout_backward(dout, cache):
            dropout_param, mask = cache
            if dropout_param["mode"] == "train":
                return dout * mask
            return dout
        """)
    (dropout,) = check_file(path, ["dropout"], timeout=10, seed=3)["functions"]
    assert dropout["passed"] is True, dropout["diagnosis"]


@pytest.mark.skipif(not ROOT, reason="only a grader running as root runs each sandbox as a user of its own")
def test_a_sandbox_can_neither_read_nor_signal_a_classmates_sandbox(tmp_path):
    # the classmate's check is under way (its sandbox alive, its copy of the file in place) while this one
    # imports; the name is unique so that no other grader's sandbox on this machine is found instead
    name = f"classmate_{secrets.token_hex(4)}.py"
    classmate = write(tmp_path, name, """
        def relu_forward(x):
            return np.maximum(0, x), x

        def relu_backward(dout, cache):
            return dout * (cache > 0)
        """)
    other = Sandbox(classmate, memory_mb=1024, cpu_seconds=30)
    try:
        assert other.process is not None
        student = tmp_path / "student"
        student.mkdir()
        path = write(student, "reaches.py", f"""
            import os

            for what, reach in (("read", lambda: open({str(other.copied)!r}).read()),
                                ("list", lambda: os.listdir({str(other.copied.parent)!r})),
                                ("signal", lambda: os.kill({other.process.pid}, 0))):  # 0: permission only
                try:
                    reach()
                    print(what, "allowed")
                except OSError as error:
                    print(what, type(error).__name__)

            def relu_forward(x):
                return np.maximum(0, x), x

            def relu_backward(dout, cache):
                return dout
            """)
        summary = check_file(path, ["relu"], timeout=5, seed=0)
        assert summary["output"].split("\n")[:3] == ["read PermissionError", "list PermissionError",
                                                    "signal PermissionError"]
        assert other.alive
        assert summary["protections"]["user"] != other.protections["user"]
    finally:
        other.remove()

