"""``mathnn check``: the shipped examples are judged right, and broken homework gives clear errors, never a hang.

Every example is checked once, through the sandboxed runner (a sandbox process per file, restarted after
a pair that kills it), and the results are shared by the tests below. Each buggy example must fail the right
function on the right gradients and nothing else; each correct one must pass everything.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from mathnn.errors import InputError
from mathnn.gradcheck.examples import EXAMPLES, MISTAKES, Mistake, example_path, float32_source
from mathnn.gradcheck.homework import PAIRS, check_pair, error_details, resolve
from mathnn.gradcheck.runner import add_cli, check_file, exit_code, main

ALL_PAIRS = list(PAIRS)
#: A sandbox test may take the limit plus starting Python and killing the process group.
SLACK = 4.0


def _check_examples() -> dict[str, dict]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(EXAMPLES, pool.map(lambda name: check_file(example_path(name), seed=0), EXAMPLES)))


@pytest.fixture(scope="module")
def examples(run_once) -> dict[str, dict]:
    """Every shipped example checked once per run, several files at a time (the checks mostly wait on processes)."""
    return run_once("examples", _check_examples)


def by_name(summary: dict) -> dict[str, dict]:
    return {result["name"]: result for result in summary["functions"]}


def gradients(result: dict) -> dict[str, dict]:
    return {gradient["name"]: gradient for gradient in result["gradients"]}


def write(directory: Path, name: str, *sources: str) -> Path:
    """A file made of ``sources``, each dedented on its own."""
    path = directory / name
    path.write_text("".join(textwrap.dedent(source) for source in sources))
    return path


def beside(directory: Path, *examples: str) -> None:
    """Copy shipped examples next to a student file, which imports them as sibling modules.

    The sandbox cannot import mathnn (nor its examples): student code gets its layers from its own folder.
    """
    for name in examples:
        (directory / f"{name}.py").write_text(example_path(name).read_text())


# -- the shipped examples ---------------------------------------------------------------------------

CORRECT = {
    "correct": ALL_PAIRS,
    "correct_float32": ALL_PAIRS,
    "correct_dict_cache": ["affine", "rnn_step", "rnn", "batchnorm"],
    "relu_kink": ["relu"],
    "optim": [],  # update rules only: see test_the_shipped_optim_file_passes_every_update_rule
}

#: example -> {pair: (failing gradients, text the diagnosis must contain)}; every other gradient passes.
BUGGY = {
    "bn_missing_mean_path": {"batchnorm": ({"dx"}, "x → μ")},
    "bn_missing_var_path": {"batchnorm": ({"dx"}, "x → σ²")},
    "bn_missing_inv_n": {"batchnorm": ({"dx"}, "dx is wrong")},
    "bn_wrong_axis": {"batchnorm": ({"dx"}, "output differs from mathnn.layers.batchnorm_forward")},
    "rnn_no_accumulation": {
        "rnn_step": (set(), None),
        "rnn": ({"dx", "dh0", "dWx", "dWh", "db"}, "without the path h_t → h_{t+1}"),
    },
    "rnn_dwh_transposed": {"rnn_step": ({"dWh"}, "transpose"), "rnn": ({"dWh"}, "transpose")},
    "rnn_uses_h_t": {
        "rnn_step": ({"dWh"}, "dWh is wrong"),
        "rnn": ({"dWh"}, "uses h_t where the step multiplies h_{t−1}"),
    },
    "conv_no_stride_backward": {"conv": ({"dx", "dw"}, "starts at (i·stride, j·stride)")},
}


def test_every_shipped_example_is_tested_here():
    assert set(EXAMPLES) == set(CORRECT) | set(BUGGY) | {"bn_in_place"}
    assert example_path("correct.py") == example_path("correct")
    with pytest.raises(InputError, match="expected one of bn_in_place, .*received 'nope'"):
        example_path("nope")


def test_a_declared_mistake_whose_line_is_not_in_its_base_is_refused(monkeypatch):
    monkeypatch.setitem(MISTAKES, "bn_nowhere", Mistake("never written", ("batchnorm_forward",), (("x = 1", "x = 2"),)))
    with pytest.raises(RuntimeError, match="example bn_nowhere: the line 'x = 1' occurs 0 times in correct.py, not once"):
        example_path("bn_nowhere")


def test_float32_source_casts_float_arrays_after_the_docstring_and_passes_the_rest():
    source = 'import numpy as np\n\n\ndef f(x, y, cache):\n    """Kept."""\n    return x, y, cache\n\n\ndef g(x):\n    return x\n'
    namespace: dict = {}
    exec(compile(float32_source(source, keep=("g",)), "float32.py", "exec"), namespace)  # noqa: S102 - the test's own code
    x, y, cache = namespace["f"](np.ones(2), np.arange(2), (np.ones(2),))
    assert namespace["f"].__doc__ == "Kept." and x.dtype == np.float32
    assert y.dtype == np.arange(2).dtype and cache[0].dtype == np.float64  # labels and caches as they are
    assert namespace["g"](np.ones(2)).dtype == np.float64  # kept out


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_examples_pass_every_pair(name, examples):
    summary = examples[name]
    assert summary["error"] is None
    assert [result["name"] for result in summary["functions"]] == CORRECT[name]
    assert summary["passed"] is True and exit_code(summary) == 0
    float32 = name == "correct_float32"
    for result in summary["functions"]:
        assert result["passed"] is True, result["diagnosis"]
        assert result["in_place"] == [] and result["problems"] == [] and result["error"] is None
        assert result["forward"]["status"] == "ok"
        assert result["forward"]["max_error"] <= (1e-4 if float32 else 1e-6)
        assert ("float32" in result["precision"]) is float32
        assert [g["name"] for g in result["gradients"]] == list(PAIRS[result["name"]].gradients)
        assert all(g["passed"] for g in result["gradients"])


def test_the_shipped_optim_file_passes_every_update_rule(examples):
    from mathnn.optim_cs231n import RULES as UPDATE_RULES

    summary = examples["optim"]
    assert [(rule["name"], rule["passed"]) for rule in summary["updates"]] == [(name, True) for name in UPDATE_RULES]
    assert summary["not_checked"] == [] and summary["passed"] is True


def test_a_correct_relu_passes_at_its_kinks(examples):
    (relu,) = examples["relu_kink"]["functions"]
    dx = gradients(relu)["dx"]
    # the four exact zeros of the test input are the kinks; nowhere else is the ReLU's slope in doubt
    x = PAIRS["relu"].test_inputs(seed=examples["relu_kink"]["seed"])["x"]
    assert sorted(map(tuple, dx["kinks"])) == sorted(map(tuple, np.argwhere(x == 0).tolist()))
    assert len(dx["kinks"]) == 4


@pytest.mark.parametrize("name", sorted(BUGGY))
def test_each_buggy_example_fails_the_right_function_on_the_right_gradients(name, examples):
    summary = examples[name]
    assert summary["error"] is None and exit_code(summary) == 1
    results = by_name(summary)
    assert set(results) == set(BUGGY[name])
    for pair, (failing, text) in BUGGY[name].items():
        result = results[pair]
        checks = gradients(result)
        assert set(checks) == set(PAIRS[pair].gradients)
        assert {g for g, check in checks.items() if not check["passed"]} == failing
        assert result["passed"] is (not failing)
        for gradient in failing:
            assert checks[gradient]["max_error"] > 1e-2  # wrong by a lot, not by rounding
        for gradient in set(checks) - failing:
            assert checks[gradient]["max_error"] <= 1e-6
        if text is not None:
            assert text in result["diagnosis"]
        assert result["in_place"] == [] and result["error"] is None


def test_wrong_axis_is_reported_as_a_forward_that_is_not_batch_norm(examples):
    batchnorm = by_name(examples["bn_wrong_axis"])["batchnorm"]
    assert batchnorm["forward"]["status"] == "mismatch"
    assert batchnorm["forward"]["max_error"] > 0.1
    assert batchnorm["forward"]["tolerance"] == 1e-6


def test_a_forward_pass_that_changes_its_input_is_reported_in_place(examples):
    batchnorm = by_name(examples["bn_in_place"])["batchnorm"]
    assert batchnorm["passed"] is False
    assert batchnorm["in_place"] == [{"function": "batchnorm_forward", "argument": "x"}]
    # the math is right: only the side effect fails it
    assert batchnorm["forward"]["status"] == "ok"
    assert all(g["passed"] for g in batchnorm["gradients"])
    assert "batchnorm_forward changed x in place" in batchnorm["diagnosis"]
    assert "`x -= …`" in batchnorm["diagnosis"]


# -- the catalogue and check_pair in this process ----------------------------------------------------

def test_check_pair_needs_at_least_one_point():
    # with no point checked there is no result to report: refused up front, naming the argument
    with pytest.raises(InputError, match=r"points: expected an integer ≥ 1 \(points to check the pair at\); received int 0"):
        check_pair(ModuleType("student"), "affine", points=0)


def test_catalogue_names_and_inputs():
    assert resolve("batchnorm_backward") is PAIRS["batchnorm"] is resolve("batchnorm")
    with pytest.raises(InputError, match="expected one of affine, temporal_affine, softmax_loss, svm_loss, relu, "
                                         "rnn_step, rnn, word_embedding, temporal_softmax_loss, gru_step, lstm_step, gru, lstm, batchnorm"):
        resolve("no_such_layer")
    assert PAIRS["batchnorm"].gradients == ("dx", "dgamma", "dbeta")
    assert PAIRS["rnn"].gradients == ("dx", "dh0", "dWx", "dWh", "db")
    for pair in PAIRS.values():
        first = pair.make_inputs(np.random.default_rng(3))
        again = pair.make_inputs(np.random.default_rng(3))
        assert list(first) == list(pair.arguments)
        for name in pair.differentiated:
            np.testing.assert_array_equal(first[name], again[name])  # seeded
        assert sum(np.size(first[name]) for name in pair.differentiated) <= 256  # small enough to check in full
    rnn = PAIRS["rnn"].make_inputs(np.random.default_rng(0))
    assert rnn["x"].shape == (2, 3, 4) and rnn["h0"].shape == (2, 5) and rnn["Wh"].shape == (5, 5)
    assert PAIRS["batchnorm"].make_inputs(np.random.default_rng(0))["bn_param"] == {"mode": "train", "eps": 1e-5}


def _module(source: str, tmp_path: Path) -> ModuleType:
    path = write(tmp_path, "student_in_process.py", source)
    module = ModuleType("student_in_process")
    module.__file__ = str(path)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return module


def test_check_pair_reports_the_students_line_when_the_code_raises(tmp_path):
    module = _module(
        """
        import numpy as np

        def affine_forward(x, w, b):
            out = x @ w + b
            return out, (x, w)

        def affine_backward(dout, cache):
            return None
        """,
        tmp_path,
    )
    result = check_pair(module, "affine")
    assert result["passed"] is False
    error = result["error"]
    assert error["kind"] == "exception" and error["type"] == "ValueError"
    assert error["stage"] == "affine_forward"
    assert error["where"] == "student_in_process.py:5" and error["line"] == "out = x @ w + b"
    assert result["diagnosis"].startswith("affine_forward raised ValueError: ")


def test_check_pair_names_a_gradient_of_the_wrong_shape(tmp_path):
    module = _module(
        """
        def affine_forward(x, w, b):
            return x.reshape(x.shape[0], -1) @ w + b, (x, w)

        def affine_backward(dout, cache):
            x, w = cache
            dx = (dout @ w.T).reshape(x.shape)
            dw = dout.T @ x.reshape(x.shape[0], -1)  # transposed: shape (M, D)
            return dx, dw, dout.sum(axis=0)
        """,
        tmp_path,
    )
    result = check_pair(module, "affine_backward")
    checks = gradients(result)
    assert result["passed"] is False
    assert "affine_backward returned dw of shape (4, 6); expected (6, 4), the shape of w" in result["problems"]
    assert checks["dx"]["passed"] and checks["db"]["passed"] and not checks["dw"]["passed"]
    assert any("transposed" in pattern for pattern in checks["dw"]["patterns"])


@pytest.mark.parametrize(("example", "factor", "method"), [
    ("correct", 1 + 1e-4, "central differences, Richardson-extrapolated"),  # np.var: no complex step
    ("correct_float32", 1 + 1e-2, "central differences"),
])
def test_a_batchnorm_dx_off_by_a_small_factor_is_caught(example, factor, method, tmp_path):
    module = _module(
        f"""
        from mathnn.gradcheck.examples import load_example

        right = load_example({example!r})
        batchnorm_forward = right.batchnorm_forward

        def batchnorm_backward(dout, cache):
            dx, dgamma, dbeta = right.batchnorm_backward(dout, cache)
            return dx * {factor!r}, dgamma, dbeta
        """,
        tmp_path,
    )
    result = check_pair(module, "batchnorm")
    checks = gradients(result)
    assert [name for name, check in checks.items() if not check["passed"]] == ["dx"]
    assert checks["dx"]["method"] == method
    assert checks["dx"]["kinks"] == []
    assert checks["dx"]["max_error"] == pytest.approx(1 - 1 / factor, rel=0.05)


def test_a_backward_pass_that_writes_into_the_cached_input_is_reported(tmp_path):
    module = _module(
        """
        import numpy as np

        def relu_forward(x):
            return np.maximum(0, x), x

        def relu_backward(dout, cache):
            x = cache
            x[x < 0] = 0  # the cache is the caller's x
            return dout * (x > 0)
        """,
        tmp_path,
    )
    result = check_pair(module, "relu")
    assert result["in_place"] == [{"function": "relu_backward", "argument": "x"}]
    assert result["passed"] is False and result["gradients"][0]["passed"] is True
    assert result["diagnosis"].startswith("relu_backward changed x in place, so the caller's array changed")


def test_error_details_points_at_the_students_line(tmp_path):
    path = write(tmp_path, "hw.py", "def f():\n    return 1 / 0\n")
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    with pytest.raises(ZeroDivisionError) as caught:
        namespace["f"]()
    details = error_details(caught.value, path, None)
    assert details == {
        "kind": "exception", "stage": "f", "type": "ZeroDivisionError", "message": "division by zero",
        "where": "hw.py:2", "line": "return 1 / 0",
    }
    assert error_details(SystemExit(3), path, "importing hw.py")["message"] == "sys.exit(3)"


# -- a sandbox for homework that misbehaves ----------------------------------------------------------

RELU_BACKWARD = """
def relu_backward(dout, cache):
    return dout * (cache > 0)
"""


def _timed(path: Path, **options) -> tuple[dict, float]:
    start = time.perf_counter()
    summary = check_file(path, **options)
    return summary, time.perf_counter() - start


def test_an_endless_loop_at_import_is_stopped_at_the_limit(tmp_path):
    path = write(tmp_path, "loops.py", "import numpy as np\nwhile True: pass\n")  # one line: where it is stuck
    summary, elapsed = _timed(path, timeout=3)
    assert elapsed < 3 + SLACK
    assert exit_code(summary) == 2
    assert summary["error"] == (
        "importing loops.py did not finish within 3 s (an endless loop?) at loops.py:2: while True: pass"
    )


def test_an_endless_loop_in_one_function_fails_that_function_only(tmp_path):
    beside(tmp_path, "correct")
    path = write(tmp_path, "loops_in_relu.py", """
        import numpy as np
        import correct

        def affine_forward(x, w, b):  # defined here: an imported function is not checked in this file
            return correct.affine_forward(x, w, b)

        def affine_backward(dout, cache):
            return correct.affine_backward(dout, cache)

        def relu_forward(x):
            while True: x = x + 0
        """, RELU_BACKWARD)
    summary, elapsed = _timed(path, timeout=3)
    assert elapsed < 3 + SLACK
    results = by_name(summary)
    assert exit_code(summary) == 1
    assert results["affine"]["passed"] is True
    relu = results["relu"]
    assert relu["passed"] is False
    assert relu["error"]["kind"] == "timeout"
    assert relu["diagnosis"] == (
        "relu_forward did not finish within 3 s (an endless loop?) at loops_in_relu.py:12: while True: x = x + 0"
    )


def test_sys_exit_at_import_is_an_import_error(tmp_path):
    path = write(tmp_path, "exits.py", "import sys\nsys.exit(3)\n")
    summary = check_file(path, timeout=3)
    assert exit_code(summary) == 2
    assert summary["error"] == "importing exits.py called sys.exit(3) at exits.py:2: sys.exit(3)"


def test_sys_exit_in_a_function_fails_that_function(tmp_path):
    path = write(tmp_path, "exits_in_relu.py", "import sys\n\ndef relu_forward(x):\n    sys.exit('bye')\n",
                 RELU_BACKWARD)
    (relu,) = check_file(path, timeout=3)["functions"]
    assert relu["error"]["kind"] == "exit"
    assert relu["diagnosis"] == "relu_forward called sys.exit('bye') at exits_in_relu.py:4: sys.exit('bye')"


def test_an_exception_at_import_names_the_line(tmp_path):
    path = write(tmp_path, "raises.py", "import numpy as np\n\nx = np.zeros(3)\ny = undefined_name + x\n")
    summary = check_file(path, timeout=3)
    assert exit_code(summary) == 2
    assert summary["error"] == (
        "importing raises.py raised NameError: name 'undefined_name' is not defined "
        "at raises.py:4: y = undefined_name + x"
    )


def test_exhausting_memory_is_a_clear_error_within_the_limit(tmp_path):
    path = write(tmp_path, "greedy.py", """
        import numpy as np

        def relu_forward(x):
            waste = np.ones(10 * 2**30 // 8)  # 10 GB
            return np.maximum(0, x), x
        """, RELU_BACKWARD)
    summary, elapsed = _timed(path, timeout=3)
    assert elapsed < 3 + SLACK
    (relu,) = summary["functions"]
    assert relu["error"]["kind"] == "memory"
    assert relu["diagnosis"].startswith("relu_forward ran out of memory: MemoryError: Unable to allocate 10.0 GiB")
    assert relu["diagnosis"].endswith(
        "(the limit is 1024 MB; --memory raises it) at greedy.py:5: waste = np.ones(10 * 2**30 // 8)  # 10 GB"
    )


def test_a_crash_is_reported_with_the_signal_and_the_line(tmp_path):
    path = write(tmp_path, "aborts.py", "import os\n\ndef relu_forward(x):\n    os.abort()\n", RELU_BACKWARD)
    summary, elapsed = _timed(path, timeout=3)
    assert elapsed < 3 + SLACK
    (relu,) = summary["functions"]
    assert exit_code(summary) == 1
    assert relu["error"]["kind"] == "crash"
    assert relu["diagnosis"] == "relu_forward crashed the Python process (SIGABRT) at aborts.py:4: os.abort()"


def test_wrong_outputs_are_named_for_the_student(tmp_path):
    path = write(tmp_path, "sloppy.py", """
        import numpy as np

        def affine_forward(x, w, b):
            return x.reshape(x.shape[0], -1) @ w + b, (x, w)

        def affine_backward(dout, cache):
            x, w = cache
            return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout

        def relu_forward(x):
            return np.maximum(0, x), x

        def relu_backward(dout, cache):
            dout[cache <= 0] = 0
            return dout

        def rnn_step_forward(x, prev_h, Wx, Wh, b):
            return np.tanh(x @ Wx + prev_h @ Wh + b)

        def rnn_step_backward(dnext_h, cache):
            return 0

        def batchnorm_forward(x, gamma, beta, bn_param):
            return x, None
        """)
    summary = check_file(path, timeout=5)
    results = by_name(summary)
    assert exit_code(summary) == 1 and [name for name, result in results.items() if result["passed"]] == ["relu"]
    assert results["affine"]["diagnosis"] == "affine_backward returned 2 gradient(s); expected 3 (dx, dw, db)"
    assert results["relu"]["in_place"] == []  # right values; the write into dout is a warning (--strict fails it)
    assert [(w["function"], w["argument"]) for w in results["relu"]["warnings"]] == [("relu_backward", "dout")]
    assert results["rnn_step"]["diagnosis"] == (
        "rnn_step_forward must return (out, cache); it returned an array of shape (2, 5)"
    )
    assert results["batchnorm"]["diagnosis"] == "batchnorm_backward is not defined in sloppy.py"


def test_a_module_inside_a_package_is_imported_as_part_of_it(tmp_path):
    package = tmp_path / "cs231n"
    package.mkdir()
    write(package, "__init__.py", "")
    write(package, "layers.py", example_path("relu_kink").read_text())
    write(package, "rnn_layers.py", "from .layers import *\nfrom cs231n.layers import relu_backward as back\n\n\n"
          "def relu_forward(x):\n    return x * (x > 0), x\n\n\ndef relu_backward(dout, cache):\n"
          "    return back(dout, cache)\n")  # back: from the absolute import
    summary = check_file(package / "rnn_layers.py", timeout=5)
    assert [result["name"] for result in summary["functions"]] == ["relu"]
    assert summary["passed"] is True


def _relu_classifier(package: Path, inits: list[Path]) -> Path:
    """cs231n/layers.py (a right relu) and cs231n/classifiers/relu_net.py importing it both ways."""
    (package / "classifiers").mkdir(parents=True)
    for folder in inits:
        write(folder, "__init__.py", "")
    write(package, "layers.py", example_path("relu_kink").read_text())
    write(package / "classifiers", "relu_net.py", "from ..layers import relu_forward as forward\n"
          "from cs231n.layers import relu_backward as backward\n\n\n"
          "def relu_forward(x):\n    return forward(x)\n\n\n"
          "def relu_backward(dout, cache):\n    return backward(dout, cache)\n")
    return package / "classifiers" / "relu_net.py"


@pytest.mark.parametrize("marked", ["cs231n", "classifiers"])
def test_a_classifier_imports_its_package_when_one_folder_has_no_init(tmp_path, marked):
    # Python 3 imports cs231n/ or cs231n/classifiers/ without __init__.py as a namespace package, and
    # assignments are shipped both ways: the classifier's absolute and relative imports work all the same
    package = tmp_path / "cs231n"
    summary = check_file(_relu_classifier(package, [package / "classifiers" if marked == "cs231n" else package]),
                         timeout=5)
    assert summary["error"] is None
    assert [result["name"] for result in summary["functions"]] == ["relu"]
    assert summary["passed"] is True


def test_a_cs231n_package_inside_a_folder_with_its_own_init_is_still_the_top_package(tmp_path):
    # an __init__.py in assignment2/ (an editor's, or a copy's): the notebooks, run in assignment2/, import
    # cs231n as a top-level package all the same
    assignment = tmp_path / "assignment2"
    package = assignment / "cs231n"
    summary = check_file(_relu_classifier(package, [assignment, package, package / "classifiers"]), timeout=5)
    assert summary["error"] is None
    assert [result["name"] for result in summary["functions"]] == ["relu"]
    assert summary["passed"] is True


def test_a_module_whose_package_sibling_imports_torch_is_checked_with_torch_at_hand(tmp_path):
    # a numpy layers.py with one torch helper; the classifier importing it never names torch itself
    assert importlib.util.find_spec("torch") is not None, "the test command installs the [torch] extra"
    package = tmp_path / "cs231n"
    package.mkdir()
    write(package, "__init__.py", "")
    write(package, "layers.py", "import torch\n", example_path("relu_kink").read_text())
    write(package, "relu_net.py", "from cs231n.layers import relu_forward as forward, relu_backward as backward\n\n\n"
          "def relu_forward(x):\n    return forward(x)\n\n\n"
          "def relu_backward(dout, cache):\n    return backward(dout, cache)\n")
    summary = check_file(package / "relu_net.py", timeout=20)
    assert summary["error"] is None
    assert [result["name"] for result in summary["functions"]] == ["relu"] and summary["passed"] is True


def test_a_file_importing_past_builtins_is_checked(tmp_path):
    # CS231n's starter code of 2017-2019 begins some files with `from past.builtins import xrange` (the
    # future package); the sandbox, which has numpy alone, gives Python 2's names for it
    path = write(tmp_path, "relu_loops.py", """
        from past.builtins import xrange, basestring
        import numpy as np


        def relu_forward(x):
            out = x.copy().reshape(-1)
            for i in xrange(out.size):
                out[i] = max(out[i], 0.0)
            return out.reshape(x.shape), x


        def relu_backward(dout, cache):
            assert not isinstance(cache, basestring)
            return dout * (cache > 0)
        """)
    summary = check_file(path, timeout=10)
    assert summary["error"] is None
    assert [result["name"] for result in summary["functions"]] == ["relu"] and summary["passed"] is True


def test_a_package_whose_im2col_cython_is_not_built_gets_a_numpy_stand_in(tmp_path):
    # CS231n's fast_layers.py goes on without its compiled extension, and a conv net's backward then
    # stops on a NameError: a file checked away from the student's build would fail though right
    package = tmp_path / "cs231n"
    package.mkdir()
    write(package, "__init__.py", "")
    write(package, "im2col_cython.pyx", "# the source only: nothing built\n")
    write(package, "fast_layers.py", """
        try:
            from .im2col_cython import im2col_cython
        except ImportError:
            print('run python setup.py build_ext --inplace')
        """)
    write(package, "layers.py", """
        import numpy as np

        from .fast_layers import *


        def relu_forward(x):
            # every entry is a 1×1 window of x seen as one image of one channel and one row
            windows = im2col_cython(x.reshape(1, 1, 1, -1), 1, 1, 0, 1)
            return np.maximum(windows.reshape(x.shape), 0), x


        def relu_backward(dout, x):
            return dout * (x > 0)
        """)
    summary = check_file(package / "layers.py", timeout=10)
    assert summary["error"] is None and summary["output"] == ""
    assert [result["name"] for result in summary["functions"]] == ["relu"] and summary["passed"] is True


EXTENSION_C = """
#include <Python.h>
static PyObject *twice(PyObject *self, PyObject *arg) { return PyNumber_Multiply(arg, PyLong_FromLong(2)); }
static PyMethodDef methods[] = {{"twice", twice, METH_O, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "halves", NULL, -1, methods};
PyMODINIT_FUNC PyInit_halves(void) { return PyModule_Create(&module); }
"""


def test_a_package_imports_an_extension_built_beside_it(tmp_path):
    # CS231n's fast_layers.py imports im2col_cython, built in cs231n/ by setup.py build_ext --inplace
    import shutil
    import subprocess
    import sysconfig
    from importlib.machinery import EXTENSION_SUFFIXES

    include = Path(sysconfig.get_paths()["include"])
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not (include / "Python.h").is_file():
        pytest.skip("no C compiler or Python headers to build an extension with")
    package = tmp_path / "cs231n"
    package.mkdir()
    write(package, "__init__.py", "")
    write(package, "halves.c", EXTENSION_C)
    subprocess.run([compiler, "-shared", "-fPIC", f"-I{include}", str(package / "halves.c"), "-o",
                    str(package / f"halves{EXTENSION_SUFFIXES[0]}")], check=True, capture_output=True, timeout=60)
    write(package, "layers.py", example_path("relu_kink").read_text(), """
        from cs231n.halves import twice


        def relu_backward(dout, cache):
            return twice(dout * (cache >= 0)) / 2
        """)
    summary = check_file(package / "layers.py", timeout=10)
    assert summary["error"] is None
    assert [result["name"] for result in summary["functions"]] == ["relu"] and summary["passed"] is True


# -- the command ------------------------------------------------------------------------------------

def test_exit_status_0_when_everything_passes(capsys):
    assert main([str(example_path("relu_kink"))]) == 0
    out = capsys.readouterr().out
    assert "relu_forward / relu_backward: passed" in out
    assert "kink at 4 entries" in out
    assert "1 of 1 function pair(s) passed" in out


def test_json_and_gradescope_outputs(tmp_path, capsys):
    results_file = tmp_path / "results.json"
    path = example_path("rnn_dwh_transposed")
    assert main([str(path), "--json", "--gradescope", str(results_file), "--function", "rnn_step_forward"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"file", "seed", "passed", "error", "output", "protections", "coverage", "functions",
                             "updates", "models"}
    assert document["updates"] == []  # the file defines no update rule
    assert document["passed"] is False and document["error"] is None
    (rnn_step,) = document["functions"]
    assert rnn_step["name"] == "rnn_step" and rnn_step["passed"] is False
    assert set(rnn_step) == {
        "name", "forward_function", "backward_function", "passed", "forward", "in_place", "warnings", "gradients",
        "diagnosis",
        "error", "points", "output",
    }
    assert [g["name"] for g in rnn_step["gradients"]] == ["dx", "dprev_h", "dWx", "dWh", "db"]
    for gradient in rnn_step["gradients"]:
        assert set(gradient) == {"name", "passed", "max_error", "tolerance", "method"}
        assert gradient["passed"] is (gradient["name"] != "dWh")
        assert gradient["method"] == "complex step"
    assert "Wh is transposed" in rnn_step["diagnosis"]

    gradescope = json.loads(results_file.read_text())
    assert gradescope["score"] == 0.0
    (test,) = gradescope["tests"]
    assert test["name"] == "rnn_step_forward / rnn_step_backward"
    assert test["score"] == 0.0 and test["max_score"] == 1.0
    assert "dWh       FAIL" in test["output"]


def test_gradescope_scores_one_point_per_passing_pair(tmp_path, capsys):
    results_file = tmp_path / "results.json"
    beside(tmp_path, "correct", "bn_missing_mean_path")
    path = write(tmp_path, "half_right.py", """
        import bn_missing_mean_path
        import correct

        def relu_forward(x):
            return correct.relu_forward(x)

        def relu_backward(dout, cache):
            return correct.relu_backward(dout, cache)

        def batchnorm_forward(x, gamma, beta, bn_param):
            return bn_missing_mean_path.batchnorm_forward(x, gamma, beta, bn_param)

        def batchnorm_backward(dout, cache):
            return bn_missing_mean_path.batchnorm_backward(dout, cache)
        """)
    assert main([str(path), "--gradescope", str(results_file)]) == 1
    capsys.readouterr()
    gradescope = json.loads(results_file.read_text())
    assert [(t["name"], t["score"], t["max_score"]) for t in gradescope["tests"]] == [
        ("relu_forward / relu_backward", 1.0, 1.0), ("batchnorm_forward / batchnorm_backward", 0.0, 1.0),
    ]
    assert gradescope["score"] == 1.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no_such_file.py"], "mathnn check: could not check no_such_file.py: no such file"),
        (["{empty}"], "empty.py defines none of the functions mathnn can check (affine_forward/affine_backward, "),
        (["{empty}", "--function", "relu"], "empty.py does not define relu_forward and relu_backward"),
        (["{empty}", "--function", "no_such_layer"],
         "argument --function: expected one of affine, temporal_affine, softmax_loss, svm_loss, "),
        (["{empty}", "--timeout", "0"], "argument --timeout: expected a number of seconds between 0.5 and 3600; received '0'"),
        (["{empty}", "--memory", "20"], "--memory 20 MB is below what the checker itself uses"),
    ],
)
def test_exit_status_2_with_a_one_line_error_when_nothing_can_be_checked(argv, message, tmp_path, capsys):
    empty = write(tmp_path, "empty.py", "def hello():\n    return 1\n")
    assert main([arg.format(empty=empty) for arg in argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_gradescope_file_records_an_import_error(tmp_path, capsys):
    results_file = tmp_path / "results.json"
    path = write(tmp_path, "broken.py", "def relu_forward(x)\n    return x\n")
    assert main([str(path), "--gradescope", str(results_file)]) == 2
    assert "importing broken.py raised SyntaxError: expected ':'" in capsys.readouterr().err
    gradescope = json.loads(results_file.read_text())
    assert gradescope["score"] == 0.0
    assert gradescope["tests"][0]["max_score"] == 1.0
    assert "at broken.py:1: def relu_forward(x)" in gradescope["tests"][0]["output"]


def test_add_cli_registers_the_check_subcommand(capsys):
    parser = argparse.ArgumentParser(prog="mathnn")
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["check", str(example_path("relu_kink")), "--timeout", "9", "--memory", "900"])
    assert (args.timeout, args.memory, args.function, args.seed) == (9.0, 900, None, None)  # None: a secret seed
    assert args.run(args, parser) == 0
    assert "1 of 1 function pair(s) passed" in capsys.readouterr().out


def test_the_worker_runs_as_a_module_entry_point():
    import subprocess

    completed = subprocess.run(
        [sys.executable, "-m", "mathnn.gradcheck.runner", str(example_path("relu_kink")), "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["passed"] is True


def test_json_and_gradescope_output_keep_greek_letters_readable(tmp_path, capsys):
    results = tmp_path / "results.json"
    main([str(example_path("bn_missing_mean_path")), "--function", "batchnorm", "--seed", "0", "--json",
          "--gradescope", str(results)])
    out = capsys.readouterr().out
    assert "x → μ → x̂" in out and "\\u03bc" not in out  # UTF-8, not \u escapes
    assert json.loads(out)["passed"] is False
    written = results.read_text(encoding="utf-8")
    assert "x → μ → x̂" in written and "\\u03bc" not in written


def test_a_number_returned_for_a_gradient_or_an_output_is_said_to_be_one(tmp_path):
    # `dx = 0` left from a draft: a number, which travelled from the sandbox as an array of shape (1,)
    path = write(tmp_path, "draft.py", """
        import numpy as np

        def relu_forward(x):
            return np.maximum(x, 0), x

        def relu_backward(dout, cache):
            dx = 0
            return dx

        def rnn_step_forward(x, prev_h, Wx, Wh, b):
            return 3

        def rnn_step_backward(dnext_h, cache):
            return None
        """)
    results = {result["name"]: result for result in check_file(path, timeout=10, seed=1)["functions"]}
    assert results["relu"]["diagnosis"].startswith("relu_backward returned the number 0 as dx; expected an array of shape ("), \
        results["relu"]["diagnosis"]
    assert results["rnn_step"]["diagnosis"] == "rnn_step_forward must return (out, cache); it returned the number 3"
