"""``mathnn grade`` (a class at a time) and ``mathnn autograder build`` (a Gradescope bundle), end to end."""

from __future__ import annotations

import ast
import csv
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mathnn.cli import main as mathnn
from mathnn.errors import InputError
from mathnn.gradcheck.assignment import Assignment, load_assignment
from mathnn.gradcheck.examples import example_path
from mathnn.gradcheck.grading import grade_folder, homework_files


def _correct(*names: str) -> str:
    """The shipped correct homework cut down to the functions ``names`` (each check then stays short)."""
    source = example_path("correct").read_text()
    tree = ast.parse(source)
    kept = [ast.get_source_segment(source, node) for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name in names]
    return "import numpy as np\n\n\n" + "\n\n\n".join(segment for segment in kept if segment) + "\n"


def submissions(folder: Path) -> Path:
    """A class of four: right, a batch-norm bug split over a cs231n package, an import error, a loop."""
    folder.mkdir()
    (folder / "ada.py").write_text(_correct(
        "relu_forward", "relu_backward", "batchnorm_forward", "batchnorm_backward", "rnn_step_forward",
        "rnn_step_backward", "rnn_forward", "rnn_backward"))
    package = folder / "bob" / "cs231n"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "layers.py").write_text(example_path("bn_missing_mean_path").read_text())
    (package / "rnn_layers.py").write_text("from .layers import *\n" + example_path("rnn_dwh_transposed").read_text())
    (folder / "cy.py").write_text("import numpy as np\ndef relu_forward(x)\n    return x\n")
    (folder / "dee.py").write_text(
        "import numpy as np\n\ndef relu_forward(x):\n    while True: pass\n\n"
        "def relu_backward(dout, cache):\n    return dout\n"
    )
    return folder


def test_homework_files_are_the_ones_defining_known_functions(tmp_path):
    folder = submissions(tmp_path / "class")
    assert [path.name for path in homework_files(folder / "bob")] == ["layers.py", "rnn_layers.py"]
    assert homework_files(folder / "ada.py") == [folder / "ada.py"]


def test_a_class_is_graded_in_parallel_and_one_failure_touches_nobody_else(tmp_path):
    folder = submissions(tmp_path / "class")
    assignment = Assignment.from_names(["relu", "batchnorm", "rnn"])
    seen = []
    grades = grade_folder(folder, jobs=2, seed=4, timeout=4, assignment=assignment,
                          progress=lambda done, total, student: seen.append((done, total)))
    assert seen[-1] == (4, 4) and sorted(done for done, _ in seen) == [1, 2, 3, 4]
    by_student = {entry["student"]: entry for entry in grades["students"]}
    assert list(by_student) == ["ada", "bob", "cy", "dee"]
    assert by_student["ada"]["score"] == 3 == by_student["ada"]["max_score"]
    bob = {row["pair"].split("_forward")[0]: row for row in by_student["bob"]["pairs"]}
    assert (bob["relu"]["score"], bob["batchnorm"]["score"], bob["rnn"]["score"]) == (0.0, 0.0, 0.0)
    assert "not defined" in bob["relu"]["reason"] or "does not define" in bob["relu"]["reason"]
    assert "dx is wrong" in bob["batchnorm"]["reason"] or "x → μ" in bob["batchnorm"]["reason"]
    assert by_student["cy"]["score"] == 0 and "SyntaxError" in by_student["cy"]["pairs"][0]["reason"]
    assert "did not finish within 4 s" in by_student["dee"]["pairs"][0]["reason"]


def test_the_grade_command_writes_csv_and_json(tmp_path, capsys):
    folder = submissions(tmp_path / "class")
    out = tmp_path / "out"
    assert mathnn(["grade", str(folder), "--jobs", "2", "--out", str(out), "--seed", "1", "--timeout", "4",
                   "--require", "relu"]) == 0
    captured = capsys.readouterr()
    assert "seed 1 (--seed 1 repeats this run)" in captured.err and "4/4" in captured.err
    with open(out / "grades.csv", newline="") as stream:
        table = list(csv.DictReader(stream))
    assert [(row["student"], row["score"]) for row in table] == [
        ("ada", "1.0"), ("bob", "0.0"), ("cy", "0.0"), ("dee", "0.0")]
    assert json.loads((out / "grades.json").read_text())["seed"] == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["grade", "{missing}"], "SUBMISSIONS_DIR: expected a folder of submissions"),
    (["grade", "{folder}", "--jobs", "0"], "argument --jobs: expected a whole number of parallel submissions"),
])
def test_grade_errors_are_one_line(argv, message, tmp_path, capsys):
    arguments = [arg.format(missing=tmp_path / "nope", folder=tmp_path) for arg in argv]
    try:
        status = mathnn(arguments)
    except SystemExit as stop:
        status = stop.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


KILLS_ITSELF = """
import os
import signal

import numpy as np

def relu_forward(x):
    return np.maximum(0, x), x

def relu_backward(dout, cache):
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_sandbox_killed_by_a_signal_is_graded_again_alone_where_sandboxes_share_a_user(tmp_path, monkeypatch):
    # where every sandbox runs as the grader's user, a student's code can kill the sandbox of the classmate
    # graded beside it: a submission whose sandbox died of a signal is graded again once the class is done
    import mathnn.gradcheck.grading as grading

    (tmp_path / "ada.py").write_text(_correct("relu_forward", "relu_backward"))
    (tmp_path / "bob.py").write_text(_correct("relu_forward", "relu_backward"))
    (tmp_path / "cy.py").write_text(KILLS_ITSELF)
    real, runs = grading.grade_submission, []

    def grade(submission, **options):
        runs.append(submission.name)
        if submission.name == "bob.py" and runs.count("bob.py") == 1:  # killed from outside, the first time
            summary = real(submission, **options)
            for result in summary["functions"]:
                result.update(passed=False, diagnosis="relu_backward crashed the Python process (SIGKILL)",
                              error={"kind": "crash", "message": "crashed the Python process (SIGKILL)"})
            return summary
        return real(submission, **options)

    monkeypatch.setattr(grading, "grade_submission", grade)
    monkeypatch.setattr(grading, "sandboxes_share_a_user", lambda: True)
    students = {entry["student"]: entry for entry in grade_folder(tmp_path, jobs=2, seed=0, timeout=5)["students"]}
    assert sorted(runs) == ["ada.py", "bob.py", "bob.py", "cy.py", "cy.py"]
    assert students["bob"]["score"] == students["ada"]["score"] == 1.0  # bob's second, undisturbed run counts
    assert students["cy"]["score"] == 0.0 and "crashed the Python process" in students["cy"]["pairs"][0]["reason"]
    runs.clear()  # one at a time, or each sandbox with a user of its own: nothing to grade again
    grade_folder(tmp_path, jobs=1, seed=0, timeout=5)
    monkeypatch.setattr(grading, "sandboxes_share_a_user", lambda: False)
    grade_folder(tmp_path, jobs=2, seed=0, timeout=5)
    assert sorted(runs) == ["ada.py", "ada.py", "bob.py", "bob.py", "cy.py", "cy.py"]


def test_a_stopped_sandbox_is_said_to_be_stopped_not_to_loop(tmp_path):
    # SIGSTOP from a classmate's code running as the same user looks like a timeout: it is told apart, and
    # counts as a sandbox killed by a signal (graded again alone where sandboxes share a user)
    from mathnn.gradcheck.grading import _crashed
    from mathnn.gradcheck.runner import check_file

    path = tmp_path / "stops.py"
    path.write_text(KILLS_ITSELF.replace("signal.SIGKILL", "signal.SIGSTOP"))
    summary = check_file(path, ["relu"], timeout=2, seed=0)
    (relu,) = summary["functions"]
    assert relu["passed"] is False
    assert relu["diagnosis"] == "relu_backward was stopped by a signal (SIGSTOP?) and did not finish within 2 s"
    assert _crashed(summary)


def test_two_submissions_of_one_student_are_refused_before_any_grading(tmp_path, capsys):
    # alice.py and alice/ would both be the rows of "alice", one overwriting the other's
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "layers.py").write_text(example_path("correct").read_text())
    (tmp_path / "alice.py").write_text(example_path("relu_kink").read_text())
    assert mathnn(["grade", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "mathnn grade: error: folder: expected one submission per student; received alice/ and alice.py, both " \
           "the student 'alice' (keep one; nothing was graded)" in err
    assert not (tmp_path / "out").exists()


def test_assignment_files_are_validated(tmp_path):
    path = tmp_path / "assignment.json"
    path.write_text(json.dumps({"pairs": [{"name": "batchnorm_backward", "points": 4},
                                          {"name": "rnn", "points": 6, "visibility": "after_published"}]}))
    assignment = load_assignment(path)
    assert [(g.name, g.points, g.visibility) for g in assignment.pairs] == [
        ("batchnorm", 4.0, "visible"), ("rnn", 6.0, "after_published")]
    for document, text in [
        ({"pairs": [{"name": "no_such_layer"}]}, "pairs[0]: expected one of affine, temporal_affine, softmax_loss, svm_loss"),
        ({"pairs": [{"name": "relu", "points": -1}]}, "pairs[0]: points: expected a number ≥ 0; received -1"),
        ({"pairs": [{"name": "relu", "visibility": "soon"}]}, "visibility: expected one of visible, hidden"),
        ([1, 2], 'expected an object {"pairs"'),
    ]:
        path.write_text(json.dumps(document))
        with pytest.raises(InputError, match=None) as caught:
            load_assignment(path)
        assert text in str(caught.value)


def fake_autograder(tmp_path: Path, submission: str, assignment: Path) -> tuple[Path, Path]:
    """Build the bundle and lay out a fake /autograder: source/ (the bundle), submission/, results/."""
    bundle = tmp_path / "autograder.zip"
    assert mathnn(["autograder", "build", "--out", str(bundle), "--assignment", str(assignment),
                   "--timeout", "5", "--seed", "3"]) == 0
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    for name in ("setup.sh", "run_autograder"):
        assert modes[name] & stat.S_IXUSR
        (root / "source" / name).chmod(0o755)
    (root / "submission" / "layers.py").write_text(submission)
    return bundle, root


def test_the_gradescope_bundle_grades_a_submission_in_a_fake_autograder_folder(tmp_path, capsys):
    assignment = tmp_path / "assignment.json"
    assignment.write_text(json.dumps({"pairs": [{"name": "relu", "points": 2},
                                                {"name": "batchnorm", "points": 3, "visibility": "hidden"}]}))
    bundle, root = fake_autograder(tmp_path, example_path("bn_missing_mean_path").read_text(), assignment)
    capsys.readouterr()
    names = zipfile.ZipFile(bundle).namelist()
    assert {"setup.sh", "run_autograder", "config.json", "mathnn-src/pyproject.toml",
            "mathnn-src/mathnn/gradcheck/worker.py"} <= set(names)
    environment = {**os.environ, "MATHNN_AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable}
    completed = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=environment, cwd=root,
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0.0
    assert "seed 3" in results["output"]
    tests = {test["name"]: test for test in results["tests"]}
    relu, batchnorm = tests["relu_forward / relu_backward"], tests["batchnorm_forward / batchnorm_backward"]
    assert (relu["score"], relu["max_score"], relu["visibility"]) == (0.0, 2.0, "visible")
    assert "not checked" in relu["output"]
    assert (batchnorm["score"], batchnorm["max_score"], batchnorm["visibility"]) == (0.0, 3.0, "hidden")
    assert "x → μ" in batchnorm["output"]


def test_the_setup_script_installs_mathnn_from_the_bundle(tmp_path):
    assignment = tmp_path / "assignment.json"
    assignment.write_text(json.dumps({"pairs": [{"name": "relu"}]}))
    _, root = fake_autograder(tmp_path, "", assignment)
    recorder = tmp_path / "python"
    recorder.write_text(f"#!/bin/sh\necho \"$PWD $@\" > {tmp_path / 'called'}\n")
    recorder.chmod(0o755)
    completed = subprocess.run(["bash", str(root / "source" / "setup.sh")], env={**os.environ, "PYTHON": str(recorder)},
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "called").read_text().split() == [str(root / "source"), "-m", "pip", "install",
                                                         "--no-cache-dir", "./mathnn-src"]
