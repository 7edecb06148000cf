"""Side effects as warnings (--strict fails them), honest coverage, files checked the way students have them.

One sandbox run per scenario (module-scoped fixtures); the pure parts (hints, in-process pairs) run here.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import textwrap
import zipfile
from pathlib import Path

import pytest

from mathnn.gradcheck.autograder import build
from mathnn.gradcheck.coverage import read_load, upstream_write
from mathnn.gradcheck.examples import example_path
from mathnn.gradcheck.grading import grade_submission, rows
from mathnn.gradcheck.hints import hint
from mathnn.gradcheck.homework import check_pair
from mathnn.gradcheck.runner import check_file, exit_code, format_text, main, to_gradescope, to_json

RELU_INTO_DOUT = """
import numpy as np

def relu_forward(x):
    return np.maximum(0, x), x

def relu_backward(dout, cache):
    x = cache
    dx = dout
    dx[x <= 0] = 0  # writes into the caller's dout
    return dx
"""
OTHERS = """
def spatial_instancenorm_forward(x, gamma, beta, in_param):
    return x, None

def maxout_forward(x, w, b):
    return x, None

def _helper(a):
    return a
"""
AFFINE = """
import numpy as np

def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w)

def affine_backward(dout, cache):
    x, w = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
"""


def write(path: Path, *sources: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(textwrap.dedent(source) for source in sources))
    return path


def module_of(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("coverage")


@pytest.fixture(scope="module")
def relu_summary(folder) -> dict:
    """A relu writing into dout, other functions, and affine imported from a sibling: one sandbox run."""
    write(folder / "flat" / "mine.py", AFFINE)
    path = write(folder / "flat" / "hw.py", RELU_INTO_DOUT, OTHERS, "\nfrom mine import affine_forward, affine_backward\n")
    return check_file(path, timeout=10, seed=3)


# -- writes into dout: a warning; --strict fails them; writes into inputs fail -------------------------------

def test_a_backward_writing_into_dout_passes_with_a_warning(relu_summary):
    (relu,) = relu_summary["functions"]
    assert relu["name"] == "relu" and relu["passed"] is True and relu["in_place"] == []
    (warning,) = relu["warnings"]
    assert (warning["function"], warning["argument"]) == ("relu_backward", "dout")
    assert "safe only if the caller never reuses dout" in warning["message"]
    assert exit_code(relu_summary) == 0  # a warning never changes the exit status
    text = format_text(relu_summary)
    assert "relu_forward / relu_backward: passed" in text
    assert "  warning: relu_backward passes but writes into dout: safe only if the caller never reuses dout" in text
    assert to_json(relu_summary)["functions"][0]["warnings"] == relu["warnings"]
    gradescope = to_gradescope(relu_summary)
    assert gradescope["score"] == 1.0 and "warning: relu_backward passes but writes into dout" in \
        gradescope["tests"][0]["output"]


def test_the_warning_for_a_write_into_two_upstream_gradients_copies_each():
    # the LSTM step's backward takes dnext_h and dnext_c; a `dh = dnext_h; dh += ...` writes into the first
    said = upstream_write("lstm_step_backward", "dnext_h and dnext_c")["message"]
    assert said == ("lstm_step_backward passes but writes into dnext_h and dnext_c: safe only if the caller never "
                    "reuses dnext_h and dnext_c (start from `dnext_h.copy()` and `dnext_c.copy()` to be safe; "
                    "--strict fails it)")
    assert "start from `dout.copy()` to be safe" in upstream_write("relu_backward", "dout")["message"]


def test_strict_fails_the_write_into_dout(folder, capsys):
    path = folder / "flat" / "hw.py"
    assert main([str(path), "--strict", "--seed", "3", "--function", "relu", "--json"]) == 1
    (relu,) = json.loads(capsys.readouterr().out)["functions"]
    assert relu["passed"] is False and relu["warnings"] == []
    assert relu["in_place"] == [{"function": "relu_backward", "argument": "dout"}]
    assert relu["diagnosis"].startswith("relu_backward changed dout in place")


def test_writes_into_the_forward_inputs_still_fail(tmp_path):
    module = module_of(write(tmp_path / "inputs.py", """
        import numpy as np

        def relu_forward(x):
            x[x < 0] = 0  # the caller's x
            return x.copy(), x.copy()

        def relu_backward(dout, cache):
            return dout * (cache > 0)

        def affine_forward(x, w, b):
            return x.reshape(x.shape[0], -1) @ w + b, (x, w)

        def affine_backward(dout, cache):
            x, w = cache
            w *= 1.0 + (w > 0)  # writes into the caller's w, through the cache
            return (dout @ (w / (1.0 + (w > 0))).T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, \\
                dout.sum(axis=0)
        """))
    relu = check_pair(module, "relu", points=1)
    assert relu["passed"] is False and relu["in_place"] == [{"function": "relu_forward", "argument": "x"}]
    affine = check_pair(module, "affine", points=1)
    assert affine["passed"] is False and affine["in_place"] == [{"function": "affine_backward", "argument": "w"}]
    assert affine["warnings"] == []


def test_a_backward_writing_into_its_own_copy_in_the_cache_passes_without_a_warning(tmp_path):
    module = module_of(write(tmp_path / "copy.py", """
        import numpy as np

        def relu_forward(x):
            return np.maximum(0, x), x.copy()

        def relu_backward(dout, cache):
            cache[cache <= 0] = 0  # its own copy: nobody else sees it
            return dout * (cache > 0)
        """))
    result = check_pair(module, "relu", points=1)
    assert result["passed"] is True and result["in_place"] == [] and result["warnings"] == []


# -- honest coverage ----------------------------------------------------------------------------------

def test_functions_found_but_not_checked_and_imported_ones_are_listed(relu_summary):
    assert relu_summary["not_checked"] == ["spatial_instancenorm_forward", "maxout_forward", "_helper"]
    assert relu_summary["imported"] == {"affine_forward": "mine", "affine_backward": "mine"}
    assert [result["name"] for result in relu_summary["functions"]] == ["relu"]  # affine is not credited here
    text = format_text(relu_summary)
    assert "found but not checked by mathnn: spatial_instancenorm_forward, maxout_forward, _helper" in text
    assert "imported, not defined here: not checked: affine_forward, affine_backward (from mine)" in text
    assert to_json(relu_summary)["coverage"] == {
        "not_checked": ["spatial_instancenorm_forward", "maxout_forward", "_helper"],
        "imported": [{"name": "affine_forward", "module": "mine"}, {"name": "affine_backward", "module": "mine"}],
        "missing": [],
    }
    assert "found but not checked by mathnn: spatial_instancenorm_forward" in to_gradescope(relu_summary)["output"]


def test_required_functions_that_are_missing_are_listed(folder, capsys):
    results = folder / "results.json"
    path = folder / "flat" / "hw.py"
    assert main([str(path), "--seed", "3", "--require", "relu", "batchnorm", "--gradescope", str(results)]) == 1
    out = capsys.readouterr().out
    assert "required but missing: batchnorm_forward, batchnorm_backward" in out
    assert "warning: relu_backward passes but writes into dout" in out
    document = json.loads(results.read_text())
    assert "required but missing: batchnorm_forward, batchnorm_backward" in document["output"]
    assert [test["score"] for test in document["tests"]] == [1.0, 0.0]  # the warning costs nothing


def test_a_file_that_only_imports_its_layers_checks_nothing_and_says_so(tmp_path, capsys):
    package = tmp_path / "assignment2" / "cs231n"
    write(package / "__init__.py", "")
    write(package / "layers.py", AFFINE, example_path("relu_kink").read_text())
    utils = write(package / "layer_utils.py", """
        from .layers import *
        from cs231n.layers import affine_forward

        def affine_relu_forward(x, w, b):
            a, fc_cache = affine_forward(x, w, b)
            out, relu_cache = relu_forward(a)
            return out, (fc_cache, relu_cache)
        """)
    assert main([str(utils)]) == 2
    err = capsys.readouterr().err
    assert "layer_utils.py defines none of the functions mathnn can check" in err
    assert "imported, not defined here: not checked: affine_forward, affine_backward, relu_forward, " \
           "relu_backward (from cs231n.layers)" in err
    assert "found but not checked by mathnn: affine_relu_forward" in err
    assert err.count("imported, not defined here") == 1  # said once, in the error
    assert main([str(utils), "--function", "relu"]) == 2
    assert "layer_utils.py does not define relu_forward and relu_backward (imported, not defined here: not " \
           "checked: affine_forward, affine_backward, relu_forward, relu_backward (from cs231n.layers))" \
        in capsys.readouterr().err


def test_the_load_answer_is_validated():
    names = ["relu_forward", "relu_backward"]
    answer = {"functions": ["relu_forward", "evil"], "imported": {"relu_backward": "x" * 500, "other": "m"},
              "defined": ["ok", 3, "not an identifier", "relu_forward", "y" * 500]}
    assert read_load(answer, names) == (["relu_forward"], {"relu_backward": "another file"}, ["ok"])
    assert read_load({"functions": 1, "imported": [], "defined": {}}, names) == ([], {}, [])


# -- files as students have them ----------------------------------------------------------------------

def test_a_cs231n_folder_without_init_is_imported_as_its_package_from_any_directory(tmp_path, monkeypatch):
    package = tmp_path / "hw" / "cs231n"
    write(package / "layers.py", example_path("relu_kink").read_text())
    write(package / "rnn_layers.py", """
        from .layers import *
        from cs231n.layers import relu_backward as layers_relu_backward

        def relu_forward(x):
            return x * (x > 0), x

        def relu_backward(dout, cache):
            return layers_relu_backward(dout, cache)
        """)
    monkeypatch.chdir(tmp_path)
    summary = check_file(Path("hw/cs231n/rnn_layers.py"), timeout=10, seed=1)
    assert summary["error"] is None and [r["name"] for r in summary["functions"]] == ["relu"]
    assert summary["passed"] is True and summary["imported"] == {}


def test_a_flat_file_importing_cs231n_says_what_to_do(tmp_path):
    path = write(tmp_path / "layer_utils.py", "from cs231n.layers import *\n")
    summary = check_file(path, timeout=10, seed=1)
    assert exit_code(summary) == 2
    assert "raised ModuleNotFoundError: No module named 'cs231n'" in summary["error"]
    assert "\nhint: run mathnn check on the file inside its cs231n/ folder" in summary["error"]


@pytest.mark.parametrize("course_init", [True, False])
def test_a_package_beside_cs231n_imports_it_in_the_sandbox(tmp_path, course_init):
    # UCLA's layout: nndl/ (the student's layers) beside cs231n/ (the course's files, an __init__.py or
    # not: Python 3 imports it either way), nndl/__init__.py importing every module of nndl/, one of
    # which imports cs231n
    if course_init:
        write(tmp_path / "cs231n" / "__init__.py", "")
    write(tmp_path / "cs231n" / "helpers.py", "HELPED = True\n")
    write(tmp_path / "nndl" / "__init__.py", "from .layers import *\nfrom .net import *\n")
    write(tmp_path / "nndl" / "layers.py", example_path("relu_kink").read_text())
    write(tmp_path / "nndl" / "net.py", "from cs231n.helpers import HELPED\n")
    summary = check_file(tmp_path / "nndl" / "layers.py", timeout=10, seed=1)
    assert summary["error"] is None and [r["name"] for r in summary["functions"]] == ["relu"]
    # a submission's bound: the cs231n/ beside it is not the submission's, so it does not come in
    write(tmp_path / "alice" / "__init__.py", "from .net import *\n")
    write(tmp_path / "alice" / "net.py", "from cs231n.helpers import HELPED\n")
    write(tmp_path / "alice" / "layers.py", example_path("relu_kink").read_text())
    summary = check_file(tmp_path / "alice" / "layers.py", timeout=10, seed=1, within=tmp_path / "alice")
    assert "raised ModuleNotFoundError: No module named 'cs231n'" in summary["error"]
    assert summary["error"].endswith(
        "hint: this file is part of the package alice/, and importing it reaches the cs231n/ beside alice/, which "
        "did not come into the check's sandbox: only the submission's own files, and 16 MB of modules at most, "
        "are brought in; this error says nothing of the code")
    shutil.rmtree(tmp_path / "cs231n")  # the course's folder left out: the hint says to put it back
    summary = check_file(tmp_path / "nndl" / "layers.py", timeout=10, seed=1)
    assert "raised ModuleNotFoundError: No module named 'cs231n'" in summary["error"]
    assert summary["error"].endswith("hint: this file is part of the package nndl/, and importing it reaches cs231n, "
                                     "which is not beside nndl/: put the course's cs231n/ folder back beside it")
    assert "inside its cs231n/ folder" not in summary["error"]


def test_a_notebook_export_beside_cs231n_imports_it_in_the_sandbox(tmp_path):
    # the notebook's folder (assignment2/) holds cs231n/: its export imports the layers it checks from there
    write(tmp_path / "cs231n" / "__init__.py", "")
    write(tmp_path / "cs231n" / "layers.py", example_path("relu_kink").read_text())
    write(tmp_path / "BatchNormalization.py", """
        import numpy as np
        from cs231n.layers import *

        def affine_forward(x, w, b):
            out = x.reshape(x.shape[0], -1) @ w + b
            return out, (x, w, b)

        def affine_backward(dout, cache):
            x, w, b = cache
            dx = (dout @ w.T).reshape(x.shape)
            return dx, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
        """)
    summary = check_file(tmp_path / "BatchNormalization.py", timeout=10, seed=1)
    assert summary["error"] is None and [r["name"] for r in summary["functions"]] == ["affine"]
    assert summary["passed"] is True and "relu_forward" in summary["imported"]
    # graded as a lone file of a class, the cs231n/ beside it is not the student's: it does not come in
    summary = check_file(tmp_path / "BatchNormalization.py", timeout=10, seed=1,
                         within=tmp_path / "BatchNormalization.py")
    assert "No module named 'cs231n'" in summary["error"]


def test_an_absolute_import_of_im2col_cython_finds_the_stand_in(tmp_path):
    # cs231n/fast_layers.py written with `from im2col_cython import ...` (no dot), no extension built
    write(tmp_path / "cs231n" / "__init__.py", "")
    write(tmp_path / "cs231n" / "fast_layers.py", "from im2col_cython import col2im_cython, im2col_cython\n")
    write(tmp_path / "cs231n" / "layers.py", "from .fast_layers import *\n" + example_path("relu_kink").read_text())
    summary = check_file(tmp_path / "cs231n" / "layers.py", timeout=10, seed=1)
    assert summary["error"] is None and [r["name"] for r in summary["functions"]] == ["relu"]


def test_python2_syntax_at_import_gets_a_hint(tmp_path):
    path = write(tmp_path / "old.py", "def relu_forward(x):\n    print x\n    return x, x\n")
    summary = check_file(path, timeout=10, seed=1)
    assert exit_code(summary) == 2 and "raised SyntaxError" in summary["error"]
    assert summary["error"].endswith("hint: this is Python 2 syntax: write print(...) as a function call "
                                     "(Python 3 is required)")


def test_removed_numpy_apis_at_call_get_a_hint(tmp_path):
    path = write(tmp_path / "old_numpy.py", """
        import numpy as np

        def relu_forward(x):
            return np.maximum(0, x).astype(np.float), x

        def relu_backward(dout, cache):
            return dout * (cache > 0)
        """)
    (relu,) = check_file(path, timeout=10, seed=1)["functions"]
    assert "relu_forward raised AttributeError: module 'numpy' has no attribute 'float'" in relu["diagnosis"]
    assert "hint: np.float was removed from numpy: use float (or np.float64)" in relu["diagnosis"]


@pytest.mark.parametrize(("error", "said"), [
    ({"type": "NameError", "message": "name 'xrange' is not defined"}, "xrange is Python 2: use range"),
    ({"type": "SyntaxError", "message": "invalid syntax", "line": "except ValueError, e:"}, "Python 2 syntax"),
    ({"type": "TypeError", "message": "reshape() got an unexpected keyword argument 'newshape'"}, "shape="),
    ({"type": "TypeError", "message": 'arrays to stack must be passed as a "sequence" type such as list or tuple.'},
     "np.stack no longer takes a generator"),
    ({"type": "AttributeError", "message": "module 'numpy' has no attribute 'int'.\n`np.int` was a deprecated"},
     "np.int was removed from numpy: use int"),
    ({"type": "ImportError", "message": "attempted relative import with no known parent package"},
     "inside its cs231n/ folder"),
    ({"type": "NameError", "message": "name 'foo' is not defined"}, None),
    # 2016 files: out = np.zeros((N, F, 1 + (H + 2 * pad - HH) / stride, ...)), x[:, :, i * s / 2:...]
    ({"type": "TypeError", "message": "'float' object cannot be interpreted as an integer"}, "write // where"),
    ({"type": "TypeError", "message": "slice indices must be integers or None or have an __index__ method"},
     "write // where"),
    # a debugging import left at the top of layers.py
    ({"type": "ModuleNotFoundError", "message": "No module named 'IPython'"}, "so IPython cannot be imported: drop"),
    ({"type": "ModuleNotFoundError", "message": "No module named 'scipy.signal'"}, "so scipy cannot be imported"),
    # a file of the student's own not copied beside this one, or a package left over from an editor's
    # automatic import (from anyio import BrokenResourceError at the top of layers.py)
    ({"type": "ModuleNotFoundError", "message": "No module named 'my_helpers'"},
     "my_helpers cannot be imported where the check runs"),
    ({"type": "ModuleNotFoundError", "message": "No module named 'anyio'"},
     "drop the import if nothing uses it (an editor's automatic import?)"),
    ({"type": "ModuleNotFoundError", "message": "No module named 'mathnn.layers'"}, "mathnn is out of reach"),
    # fast_layers.py without its compiled extension: a conv net's backward calls col2im_6d_cython
    ({"type": "NameError", "message": "name 'col2im_6d_cython' is not defined"},
     "python setup.py build_ext --inplace in the cs231n/ folder"),
    ({"type": "ValueError", "message": "shapes (2,3) and (4,5) not aligned"}, None),
    # the file sits in its package, but a course file it imports through layer_utils was never copied there
    ({"type": "ModuleNotFoundError", "message": "No module named 'cs231n.fast_layers'"},
     "cs231n/fast_layers.py is missing"),
    ({"type": "ModuleNotFoundError", "message": "No module named 'cs231n'"}, "inside its cs231n/ folder"),
    # a network's forward goes on with what an unfinished batchnorm_forward returned
    ({"type": "TypeError", "message": "'>=' not supported between instances of 'int' and 'NoneType'"},
     "a value is still None"),
    ({"type": "TypeError", "message": "cannot unpack non-iterable NoneType object"}, "a value is still None"),
    # a Colab notebook exported to .py: its first cell mounts Google Drive, a later one loads CIFAR-10
    ({"type": "ModuleNotFoundError", "message": "No module named 'google'"}, "google.colab exists only on Colab"),
    ({"type": "ModuleNotFoundError", "message": "No module named 'torchvision'"}, "so torchvision cannot be imported"),
    # an editor's automatic import in a file the package's __init__.py imports, written for numpy 1
    ({"type": "ImportError", "message": "cannot import name 'savez_compressed' from 'numpy.lib.npyio' "
                                        "(/usr/lib/python3/numpy/lib/npyio.py)"},
     "numpy 2 has no savez_compressed in numpy.lib.npyio (it made the modules under numpy.lib and numpy.core "
     "private): use np.savez_compressed, or drop the import"),
    ({"type": "ImportError", "message": "cannot import name 'helper' from 'cs231n.layers'"}, None),
    # caches of different shapes stacked into one array, which numpy 1 made an array of objects
    ({"type": "ValueError", "message": "setting an array element with a sequence. The requested array has an "
                                       "inhomogeneous shape after 1 dimensions. The detected shape was (7,) + "
                                       "inhomogeneous part."}, "keep such pieces in a list or a tuple"),
])
def test_hints_read_the_error_type_and_message(error, said):
    found = hint(error)
    assert (found is None) if said is None else (said in (found or ""))


# -- grade and the Gradescope bundle share --strict ---------------------------------------------------

def test_grade_and_the_autograder_bundle_take_strict(folder, tmp_path):
    submission = folder / "submission"
    write(submission / "hw.py", RELU_INTO_DOUT)
    lenient = grade_submission(submission, seed=2)
    assert rows("ann", lenient, None)[0]["reason"].startswith("passed; warning: relu_backward passes but writes")
    strict = grade_submission(submission, seed=2, strict=True)
    assert strict["passed"] is False and rows("ann", strict, None)[0]["score"] == 0.0
    bundle = build(tmp_path / "autograder.zip", None, strict=True)
    with zipfile.ZipFile(bundle) as archive:
        assert json.loads(archive.read("config.json"))["strict"] is True


def notebook(path: Path, *cells: str) -> Path:
    """A notebook of code cells (as Jupyter saves them: each cell's source a list of lines)."""
    document = {"cells": [{"cell_type": "code", "source": textwrap.dedent(cell).splitlines(keepends=True),
                           "metadata": {}, "outputs": [], "execution_count": None} for cell in cells],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(("cells", "said"), [
    # the layers written in the notebook itself: it can be exported and checked
    (["import numpy as np", "def relu_forward(x):\n    return np.maximum(x, 0), x\n"],
     "export it as a .py file (jupyter nbconvert --to script hw.ipynb) and check that; it defines relu_forward"),
    # the course's notebooks import the student's layers from cs231n/
    (["from cs231n.layers import *", "out, _ = relu_forward(x)"], "check the .py file it imports your layers from"),
    # a PyTorch notebook: its own functions, none of them a CS231n layer mathnn checks
    (["import torch", "def three_layer_convnet(x, params):\n    return x\n"],
     "defines none of the functions mathnn can check nor imports any from cs231n/"),
])
def test_a_notebook_is_answered_by_what_its_code_cells_define_and_import(tmp_path, cells, said):
    summary = check_file(notebook(tmp_path / "hw.ipynb", *cells), timeout=10, seed=1)
    assert summary["passed"] is False and said in summary["error"], summary["error"]


def test_a_file_whose_classes_cannot_be_listed_says_so_rather_than_that_it_defines_nothing(tmp_path):
    # listing the classes kills the sandbox (a metaclass's loss property), again after a fresh start: the file
    # is not said to define nothing checkable, and no model is claimed
    path = write(tmp_path / "rnn.py", """
        import os, signal

        class Meta(type):
            @property
            def loss(cls):
                os.kill(os.getpid(), signal.SIGKILL)

        class CaptioningRNN(metaclass=Meta):
            pass
        """)
    summary = check_file(path, timeout=10, seed=1)
    assert exit_code(summary) == 2 and summary["models"] == []
    assert summary["error"].startswith("rnn.py's model classes could not be listed (listing the model classes "
                                       "crashed the Python process (SIGKILL)), and it defines none of the functions "
                                       "mathnn can check")
