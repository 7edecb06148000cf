"""Hostile homework, continued: a wrong dropout passed by answering differently near the point, and a student
reaching a classmate's check or file while the class is graded (``mathnn grade``): a sandbox side by side,
a classmate's file beside a lone file, a link in the submission's folder.

As in tests/test_grading_hostile.py, each test is a file a student could hand in, and what must hold: the
wrong file is not passed, and no classmate's file or process can be read or signalled.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from mathnn.gradcheck.examples import example_path
from mathnn.gradcheck.grading import grade_folder, grade_submission
from mathnn.gradcheck.runner import check_file
from mathnn.gradcheck import access
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


def test_an_honest_dropout_still_passes_with_the_output_compared():
    (dropout,) = check_file(example_path("correct"), ["dropout"], timeout=10, seed=3)["functions"]
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
        read, listed, signalled = summary["output"].split("\n")[:3]
        # out of sight (a /tmp of its own), or there and refused (a user of its own)
        assert read in ("read PermissionError", "read FileNotFoundError")
        assert listed in ("list PermissionError", "list FileNotFoundError")
        assert signalled == "signal PermissionError"
        assert other.alive
        assert summary["protections"]["user"] != other.protections["user"]
    finally:
        other.remove()


CORRECT_RELU = """
def relu_forward(x):
    return np.maximum(0, x), x

def relu_backward(dout, cache):
    return dout * (cache > 0)
"""
#: Reads the classmate's file, compiled as its own so that the functions count as defined here.
TAKES_THE_CLASSMATES = """
import os

here = os.path.dirname(os.path.abspath(__file__))
print(sorted(os.listdir(here)))
exec(compile(open(os.path.join(here, {name!r})).read(), __file__, "exec"), globals())
"""


def test_a_class_of_lone_files_gives_each_sandbox_its_own_file_only(tmp_path):
    write(tmp_path, "bob.py", CORRECT_RELU)
    write(tmp_path, "alice.py", TAKES_THE_CLASSMATES.format(name="bob.py"))
    students = {entry["student"]: entry for entry in grade_folder(tmp_path, jobs=1, seed=0, timeout=5)["students"]}
    assert students["bob"]["score"] == 1.0
    assert students["alice"]["score"] == 0.0
    (row,) = students["alice"]["pairs"]
    assert "importing alice.py raised FileNotFoundError" in row["reason"] and "bob.py" in row["reason"]


def test_a_submission_that_is_a_package_gets_no_classmates_package_beside_it(tmp_path):
    # alice/ and bob/ are packages (an __init__.py each): alice's layers.py is the module alice.layers, whose
    # import path is the class folder, where bob/ is a package beside alice/
    for student in ("alice", "bob"):
        (tmp_path / student).mkdir()
        (tmp_path / student / "__init__.py").write_text("")
    write(tmp_path / "bob", "layers.py", CORRECT_RELU)
    write(tmp_path / "alice", "layers.py", """
        from bob.layers import relu_backward

        def relu_forward(x):
            return np.maximum(0, x), x
        """)
    students = {entry["student"]: entry for entry in grade_folder(tmp_path, jobs=1, seed=0, timeout=5)["students"]}
    assert students["bob"]["score"] == 1.0
    assert students["alice"]["score"] == 0.0
    assert "No module named 'bob'" in students["alice"]["pairs"][0]["reason"]


def test_a_link_to_a_classmates_file_is_not_graded_as_the_students(tmp_path):
    (tmp_path / "bob" / "cs231n").mkdir(parents=True)
    write(tmp_path / "bob" / "cs231n", "layers.py", CORRECT_RELU)
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "layers.py").symlink_to(tmp_path / "bob" / "cs231n" / "layers.py")
    students = {entry["student"]: entry for entry in grade_folder(tmp_path, jobs=1, seed=0, timeout=5)["students"]}
    assert students["bob"]["score"] == 1.0
    assert students["alice"]["score"] == 0.0
    assert students["alice"]["pairs"][0]["reason"] == "alice holds no Python file defining a function mathnn can check"


def test_a_link_beside_the_homework_to_a_file_only_the_grader_may_read_is_not_copied(tmp_path):
    secret = tmp_path / "grader_only.txt"
    secret.write_text("the grader's secret\n")
    secret.chmod(0o600)
    submission = tmp_path / "alice"
    submission.mkdir()
    (submission / "notes.py").symlink_to(secret)
    write(submission, "layers.py", TAKES_THE_CLASSMATES.format(name="notes.py"), CORRECT_RELU)
    summary = grade_submission(submission, seed=0, timeout=5)
    assert "secret" not in json.dumps(summary)
    assert "FileNotFoundError" in summary["error"]


def test_a_link_inside_the_students_own_folder_still_works(tmp_path):
    package = tmp_path / "alice" / "cs231n"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    write(package, "masks.py", "def positive(x):\n    return x > 0\n")
    (package / "helpers.py").symlink_to(package / "masks.py")
    write(package, "layers.py", """
        from .helpers import positive

        def relu_forward(x):
            return x * positive(x), x

        def relu_backward(dout, cache):
            return dout * positive(cache)
        """)
    summary = grade_submission(tmp_path / "alice", seed=0, timeout=5)
    assert summary["error"] is None and summary["passed"] is True, summary


@pytest.mark.skipif(not ROOT, reason="only a grader running as root gives each sandbox a filesystem view of its own")
def test_files_a_sandbox_writes_stay_in_it_and_the_reference_is_out_of_sight(tmp_path):
    import mathnn

    marker = f"mathnn-written-{secrets.token_hex(4)}"
    package = Path(mathnn.__file__).parent
    path = write(tmp_path, "writes.py", f"""
        import os

        for folder in ("/tmp", "/var/tmp", "/dev/shm", os.getcwd(), os.environ["HOME"]):
            try:
                with open(os.path.join(folder, {marker!r}), "w") as stream:
                    stream.write("x" * 1000)
                print("wrote", folder)
            except OSError as error:
                print("refused", folder, type(error).__name__)
        for what in ({str(package / "layers" / "relu.py")!r}, {str(package)!r}):
            try:
                print("reference", len(os.listdir(what)) if os.path.isdir(what) else len(open(what).read()))
            except OSError as error:
                print("reference", type(error).__name__)
        """, CORRECT_RELU)
    written = [Path(folder) / marker for folder in ("/tmp", "/var/tmp", "/dev/shm")]
    try:
        summary = check_file(path, ["relu"], timeout=5, seed=0)
        assert not [str(file) for file in written if file.exists()]  # what it wrote went with its sandbox
    finally:
        for file in written:
            file.unlink(missing_ok=True)
    assert "wrote /tmp" in summary["output"]
    assert summary["functions"][0]["passed"] is True  # an honest file that writes scratch files is not hindered
    # mathnn's package: covered by an empty folder, or gone with the /tmp it sits in (a clone under /tmp)
    assert summary["output"].splitlines()[-2] == "reference FileNotFoundError"
    assert summary["output"].splitlines()[-1] in ("reference 0", "reference FileNotFoundError")
    assert summary["protections"]["private filesystem"] is True


@pytest.mark.skipif(not ROOT, reason="only a grader running as root gives each sandbox a filesystem view of its own")
def test_a_numpy_installed_under_tmp_still_imports_its_lazy_modules_in_the_sandbox(tmp_path, monkeypatch):
    # a virtual environment made under /tmp (a clone there): the sandbox's /tmp is its own, so what the numpy
    # folder links to is mounted back; np.polynomial is imported on first use, after the mount
    import numpy

    from mathnn.gradcheck import sandbox as sandbox_module

    site, links = tmp_path / "site", tmp_path / "numpy-folder"
    links.mkdir()
    installed = Path(numpy.__file__).resolve().parent
    for name in ("numpy", "numpy.libs"):
        if (installed.parent / name).is_dir():
            shutil.copytree(installed.parent / name, site / name, symlinks=True)
            (links / name).symlink_to(site / name)
    links.chmod(0o755)
    monkeypatch.setattr(sandbox_module, "numpy_folder", lambda: str(links))
    path = write(tmp_path, "lazy.py", """
        def relu_forward(x):
            return np.polynomial.Polynomial([0.0, 1.0])(np.maximum(0, x)), x

        def relu_backward(dout, cache):
            return dout * (cache > 0)
        """)
    (relu,) = check_file(path, ["relu"], timeout=10, seed=0)["functions"]
    assert relu["passed"] is True, relu["diagnosis"]


@pytest.mark.skipif(not ROOT or not os.access("/run", os.W_OK),
                    reason="only a grader running as root covers the autograder's source folder")
def test_the_autograder_source_folder_is_out_of_the_sandboxs_sight():
    from mathnn.gradcheck import autograder

    # outside /tmp, which the sandbox sees as its own anyway: the folder is covered, not merely elsewhere
    root = Path(tempfile.mkdtemp(prefix="mathnn-autograder-", dir="/run"))
    try:
        (root / "source").mkdir()
        (root / "source" / "config.json").write_text(json.dumps(
            {"pairs": [{"name": "relu", "points": 1.0, "visibility": "visible"}], "timeout": 5, "memory_mb": 1024,
             "seed": 4, "strict": False}))
        (root / "submission").mkdir()
        write(root / "submission", "layers.py", f"""
            try:
                SEEN = open({str(root / "source" / "config.json")!r}).read()
            except OSError:
                SEEN = None
            """, """
            def relu_forward(x):
                if SEEN is not None:
                    raise ValueError("the configuration was read: " + SEEN[:40])
                return np.maximum(0, x), x

            def relu_backward(dout, cache):
                return dout * (cache > 0)
            """)
        root.chmod(0o755)
        document = autograder.grade(root)
        assert document["score"] == 1.0, document["tests"][0]["output"]
    finally:
        shutil.rmtree(root, ignore_errors=True)
        access._HIDDEN.clear()  # grade() covers the folder in every sandbox started after it


def test_a_submission_of_many_files_cannot_hold_the_class_for_hours(tmp_path, monkeypatch):
    from mathnn.gradcheck import grading

    monkeypatch.setattr(grading, "MAX_FILES", 2)
    submission = tmp_path / "alice"
    submission.mkdir()
    write(submission, "a_layers.py", CORRECT_RELU)
    write(submission, "b_layers.py", CORRECT_RELU)
    for name in ("c_copy.py", "d_copy.py"):  # each would take the whole timeout to import
        write(submission, name, "while True:\n    pass\n", CORRECT_RELU)
    started = time.perf_counter()
    summary = grade_submission(submission, seed=0, timeout=5)
    assert time.perf_counter() - started < 5
    assert summary["passed"] is True
    assert summary["not_checked"][0] == ("2 more file(s) defining known functions, from c_copy.py on (at most 2 files "
                                         "are checked per submission)")


def test_a_starter_code_copy_in_another_file_does_not_hide_the_finished_pair(tmp_path):
    # honest: the notebook exported beside cs231n/ still holds the starter code, and sorts first
    submission = tmp_path / "alice"
    (submission / "cs231n").mkdir(parents=True)
    write(submission, "ReLU_notebook.py", """
        def relu_forward(x):
            out = None
            return out, x

        def relu_backward(dout, cache):
            dx = None
            return dx
        """)
    write(submission / "cs231n", "layers.py", CORRECT_RELU)
    summary = grade_submission(submission, seed=0, timeout=5)
    assert summary["passed"] is True, summary["functions"][0]["diagnosis"]


def test_a_notebook_nested_too_deep_for_json_is_a_sentence_not_a_traceback(tmp_path):
    path = tmp_path / "deep.ipynb"
    path.write_text("[" * 100_000 + "]" * 100_000)
    summary = check_file(path, timeout=5, seed=0)
    assert summary["error"].startswith("this is a notebook")


def test_an_answer_with_a_shape_numpy_cannot_hold_is_refused_not_blamed_on_the_checker(tmp_path):
    path = write(tmp_path, "impossible.py", """
        import json, os, struct, time

        def relu_forward(x):
            return np.maximum(0, x), x

        def relu_backward(dout, cache):
            head = json.dumps({"gradients": [{"array": 0}], "after": 1,
                               "arrays": [{"dtype": "<f8", "shape": [0, 10**30], "offset": 0, "nbytes": 0}]}).encode()
            for fd in range(3, 32):  # whichever descriptor is the answer pipe
                try:
                    os.write(fd, b"MNN1" + struct.pack(">QQ", len(head), 0) + head)
                except OSError:
                    pass
            time.sleep(30)
        """)
    summary = check_file(path, ["relu"], timeout=5, seed=0)
    (relu,) = summary["functions"]
    assert relu["passed"] is False
    assert relu["error"]["kind"] == "protocol", relu["error"]
    assert "cannot be made" in relu["diagnosis"]
