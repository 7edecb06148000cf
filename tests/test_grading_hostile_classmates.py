"""Hostile homework, continued: a wrong dropout passed by answering differently near the point, and a student
reaching a classmate's check while the class is graded side by side (``mathnn grade --jobs 2``).

As in tests/test_grading_hostile.py, each test is a file a student could hand in, and what must hold: the
wrong file is not passed, and no classmate's file or process can be read or signalled.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from mathnn.gradcheck.runner import check_file


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
