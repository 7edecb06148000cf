"""Hostile homework: files written to get a wrong backward pass graded as right, or to break the grader.

One test per way the old design failed (a verdict computed next to the student's code). For each:
the file is never passed as correct, no process it started outlives the check, a results.json keeps
the grader's verdict, and the grader prints no traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mathnn.gradcheck import check_vjp
from mathnn.gradcheck.examples import example_path
from mathnn.gradcheck.runner import check_file, exit_code, main

#: Starting Python in the sandbox and killing its tree, on top of a time limit.
SLACK = 4.0
ROOT = os.geteuid() == 0

CORRECT_RELU_FORWARD = """
def relu_forward(x):
    return np.maximum(0, x), x
"""
#: The classic wrong ReLU backward: the upstream gradient passed through unchanged.
WRONG_RELU_BACKWARD = """
def relu_backward(dout, cache):
    return dout.copy()
"""


def write(directory: Path, name: str, *sources: str) -> Path:
    path = directory / name
    path.write_text("import numpy as np\n" + "".join(textwrap.dedent(source) for source in sources))
    return path


@pytest.fixture
def shared() -> Path:
    """A folder the sandbox's unprivileged user may write to (pids and markers of escaped processes): outside
    the temporary folder, which a root grader's sandbox replaces by one of its own."""
    outside = "/run" if ROOT and os.access("/run", os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix="mathnn-hostile-", dir=outside))
    folder.chmod(0o777)
    yield folder
    subprocess.run(["rm", "-rf", str(folder)], check=False)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


def pids_in(folder: Path) -> list[int]:
    return [int(path.read_text()) for path in folder.glob("*.pid") if path.read_text().strip()]


def only_relu(path: Path, **options) -> dict:
    summary = check_file(path, ["relu"], timeout=options.pop("timeout", 5), seed=options.pop("seed", 1), **options)
    (relu,) = summary["functions"]
    assert relu["passed"] is False, relu
    return relu


# -- forged passes of a wrong backward ------------------------------------------------------------------

def test_patching_numpy_at_import_cannot_pass_a_wrong_backward(tmp_path):
    path = write(tmp_path, "patches_numpy.py", """
        np.count_nonzero = lambda *args, **kwargs: 0
        np.allclose = lambda *args, **kwargs: True
        np.abs = lambda x: 0 * x
        np.isfinite = lambda x: np.ones(np.shape(x), dtype=bool)
        """, CORRECT_RELU_FORWARD, WRONG_RELU_BACKWARD)
    relu = only_relu(path)
    assert relu["error"] is None and relu["gradients"][0]["passed"] is False
    assert relu["gradients"][0]["max_error"] > 0.1


def test_patching_the_checker_or_walking_the_stack_cannot_pass_a_wrong_backward(tmp_path):
    path = write(tmp_path, "patches_checker.py", """
        import sys
        try:
            import mathnn.gradcheck.check as check
            check._check_one = None
            patched = "patched"
        except ImportError as error:
            patched = repr(error)
        print(patched)

        def relu_forward(x):
            frame = sys._getframe()
            while frame is not None:  # clear every list of failing entries a checker might hold
                for value in list(frame.f_locals.values()):
                    if isinstance(value, list):
                        value.clear()
                frame = frame.f_back
            return np.maximum(0, x), x
        """, WRONG_RELU_BACKWARD)
    summary = check_file(path, ["relu"], timeout=5, seed=2)
    assert "No module named 'mathnn'" in summary["output"]  # the reference implementations are out of reach
    (relu,) = summary["functions"]
    # clearing the sandbox's own lists only garbles its answers, which are refused
    assert relu["passed"] is False
    assert relu["error"] is not None or relu["gradients"][0]["passed"] is False


def test_a_forward_that_answers_differently_near_its_last_input_cannot_pass_a_wrong_backward(tmp_path):
    # the finite differences evaluate the forward pass near the point: this one then turns into the
    # identity, whose derivative is what the wrong backward returns
    path = write(tmp_path, "two_faced.py", """
        SEEN = []

        def relu_forward(x):
            for old in SEEN:
                if old.shape == x.shape and 0 < np.max(np.abs(x - old)) < 1e-2:
                    return x.copy(), x
            SEEN.append(np.array(x, dtype=float))
            return np.maximum(0, x), x
        """, WRONG_RELU_BACKWARD)
    relu = only_relu(path)
    assert relu["forward"]["status"] == "ok" and relu["gradients"][0]["passed"] is True  # it fools that much
    assert "dx disagrees with the derivatives of mathnn.layers.relu_forward" in relu["diagnosis"]


def test_the_reference_layers_cannot_be_imported_by_a_student(tmp_path):
    path = write(tmp_path, "borrows.py", "from mathnn.layers import relu_forward, relu_backward\n")
    summary = check_file(path, timeout=5, seed=0)
    assert exit_code(summary) == 2
    assert "ModuleNotFoundError: No module named 'mathnn'" in summary["error"]


def test_a_verdict_written_to_the_pipes_is_refused(tmp_path):
    path = write(tmp_path, "forges.py", CORRECT_RELU_FORWARD, """
        import json, os, struct

        def relu_backward(dout, cache):
            verdict = json.dumps({"result": {"name": "relu", "passed": True}, "passed": True}).encode()
            for fd in range(1, 6):
                try:
                    os.write(fd, verdict)
                    os.write(fd, b"MNN1" + struct.pack(">QQ", len(verdict), 0) + verdict)
                except OSError:
                    pass
            os._exit(0)
        """)
    relu = only_relu(path)
    assert relu["error"]["kind"] in ("protocol", "exit")
    assert "Traceback" not in relu["diagnosis"]


def test_a_huge_reply_is_refused_without_reading_it(tmp_path):
    path = write(tmp_path, "floods.py", CORRECT_RELU_FORWARD, """
        import os, struct

        def relu_backward(dout, cache):
            for fd in range(3, 32):  # whichever descriptor is the answer pipe
                try:
                    os.write(fd, b"MNN1" + struct.pack(">QQ", 2, 400 * 2**20) + b"{}")
                    os.write(fd, b"x" * 2**16)
                except OSError:
                    pass
            return dout
        """)
    start = time.perf_counter()
    relu = only_relu(path)
    assert time.perf_counter() - start < 5 + SLACK
    assert relu["error"]["kind"] == "protocol"
    assert "exceeds the limit" in relu["diagnosis"]


# -- non-finite gradients ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("poison", "text"), [
    ("dx.flat[0] = np.nan", "dx contains 1 NaN or inf entry"),
    ("dx[...] = np.nan", "dx contains 20 NaN or inf entries"),
    ("dx.flat[3] = np.inf", "dx contains 1 NaN or inf entry"),
])
def test_a_gradient_with_nan_or_inf_fails(poison, text, tmp_path):
    path = write(tmp_path, "poisoned.py", CORRECT_RELU_FORWARD, f"""
        def relu_backward(dout, cache):
            dx = dout * (cache > 0)
            {poison}
            return dx
        """)
    relu = only_relu(path, seed=0)
    assert text in relu["diagnosis"]


def test_check_vjp_fails_all_nan_gradients():
    x = np.random.default_rng(0).standard_normal((3, 4))
    report = check_vjp(lambda x: np.tanh(x), lambda dout, x: (np.full_like(x, np.nan),), {"x": x})
    assert not report
    assert "NaN or inf" in report.gradients[0].patterns[0]
    report = check_vjp(lambda x: np.tanh(x), lambda dout, x: (np.full_like(x, np.nan),), {"x": np.ones((20, 20))},
                       mode="random")
    assert not report


def test_a_forward_that_returns_nan_fails(tmp_path):
    path = write(tmp_path, "nan_forward.py", """
        def relu_forward(x):
            return np.full(x.shape, np.nan), x

        def relu_backward(dout, cache):
            return dout * (cache > 0)
        """)
    relu = only_relu(path)
    assert "NaN or inf" in relu["diagnosis"]


# -- checks a student cannot predict ---------------------------------------------------------------------

def test_a_batchnorm_that_hard_codes_the_batch_size_fails(tmp_path):
    source = example_path("correct").read_text().replace("    N = dout.shape[0]\n", "    N = 8\n")
    assert "    N = 8\n" in source
    path = tmp_path / "eight.py"
    path.write_text(source)
    for seed in (0, 1):
        summary = check_file(path, ["batchnorm"], timeout=10, seed=seed)
        (batchnorm,) = summary["functions"]
        assert batchnorm["passed"] is False
        assert [point["passed"] for point in batchnorm["points"]] == [True, False]  # right only at N = 8


def test_a_forward_that_freezes_its_statistics_fails(tmp_path):
    source = example_path("correct").read_text().replace(
        "        sample_mean = np.mean(x, axis=0)\n",
        "        sample_mean = FROZEN.setdefault('mean', np.mean(x, axis=0))\n",
    )
    path = tmp_path / "frozen.py"
    path.write_text("FROZEN = {}\n" + source)
    (batchnorm,) = check_file(path, ["batchnorm"], timeout=10, seed=3)["functions"]
    assert batchnorm["passed"] is False


def test_a_backward_right_only_for_its_first_calls_fails(tmp_path):
    path = write(tmp_path, "tires.py", CORRECT_RELU_FORWARD, """
        CALLS = []

        def relu_backward(dout, cache):
            CALLS.append(1)
            # the first point calls it four times: the check, the same call again, zero and twice dout
            return dout * (cache > 0) if len(CALLS) <= 4 else dout
        """)
    relu = only_relu(path)
    assert [point["passed"] for point in relu["points"]] == [True, False]


def test_state_and_randomness_are_reported(tmp_path):
    path = write(tmp_path, "noisy.py", """
        def relu_forward(x):
            return np.maximum(0, x) + 1e-9 * np.random.standard_normal(x.shape), x

        def relu_backward(dout, cache):
            return dout * (cache > 0)
        """)
    relu = only_relu(path)
    assert "relu_forward returned a different out when called again with the same inputs" in relu["diagnosis"]
    assert "draws random numbers" in relu["diagnosis"]


def test_the_seed_is_secret_by_default_and_repeatable(tmp_path, capsys):
    path = example_path("relu_kink")
    seeds = {check_file(path, timeout=5)["seed"] for _ in range(2)}
    assert len(seeds) == 2
    assert main([str(path), "--seed", "12345"]) == 0
    assert "seed 12345 (--seed 12345 repeats this run)" in capsys.readouterr().out
    first, again = (check_file(path, timeout=5, seed=77)["functions"][0] for _ in range(2))
    assert first["points"] == again["points"] and first["gradients"] == again["gradients"]
    shapes = {tuple(point["shapes"]["x"]) for point in first["points"]}
    assert len(shapes) == 2  # two shapes at least


# -- output and process escapes ----------------------------------------------------------------------------

def test_a_setsid_child_dies_with_the_check_and_results_json_keeps_the_verdict(tmp_path, shared, capsys):
    results = shared / "results.json"
    path = write(tmp_path, "escapes.py", f"""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:  # a grandchild in a session of its own
                open({str(shared / 'child.pid')!r}, "w").write(str(os.getpid()))
                for _ in range(300):
                    try:
                        open({str(results)!r}, "w").write('{{"score": 100, "tests": []}}')
                    except OSError:
                        pass
                    time.sleep(0.05)
            os._exit(0)
        time.sleep(0.3)
        """, CORRECT_RELU_FORWARD, WRONG_RELU_BACKWARD)
    assert main([str(path), "--gradescope", str(results), "--seed", "1"]) == 1
    capsys.readouterr()
    (pid,) = pids_in(shared)
    assert not alive(pid)
    time.sleep(0.3)
    assert json.loads(results.read_text())["score"] == 0.0


def test_a_child_holding_the_pipe_cannot_hang_the_grader(tmp_path, shared):
    path = write(tmp_path, "holds_pipe.py", CORRECT_RELU_FORWARD, f"""
        import os, time

        def relu_backward(dout, cache):
            if os.fork() == 0:
                open({str(shared / 'holder.pid')!r}, "w").write(str(os.getpid()))
                time.sleep(120)
            os._exit(0)
        """)
    start = time.perf_counter()
    relu = only_relu(path, timeout=3)
    assert time.perf_counter() - start < 3 + SLACK
    assert relu["error"]["kind"] in ("exit", "timeout")
    time.sleep(0.1)
    assert pids_in(shared) and not any(alive(pid) for pid in pids_in(shared))


def test_limits_are_hard_and_cannot_be_raised(tmp_path):
    path = write(tmp_path, "raises_limits.py", """
        import resource
        for which in (resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_NPROC, resource.RLIMIT_CPU):
            soft, hard = resource.getrlimit(which)
            try:
                resource.setrlimit(which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                print("raised", which)
            except (ValueError, OSError):
                print("refused", which, soft == hard)

        def relu_forward(x):
            waste = np.ones(10 * 2**30 // 8)
            return np.maximum(0, x), x

        def relu_backward(dout, cache):
            return dout * (cache > 0)
        """)
    summary = check_file(path, ["relu"], timeout=5, seed=0)
    assert "raised" not in summary["output"]
    assert summary["output"].count("True") == 4
    (relu,) = summary["functions"]
    assert relu["error"]["kind"] == "memory"


def test_forks_are_capped(tmp_path, shared):
    path = write(tmp_path, "forks.py", f"""
        import os, time
        count = 0
        for _ in range(200):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                open({str(shared)!r} + f"/{{os.getpid()}}.pid", "w").write(str(os.getpid()))
                time.sleep(60)
                os._exit(0)
            count += 1
        print("forked", count)
        """, CORRECT_RELU_FORWARD, WRONG_RELU_BACKWARD)
    summary = check_file(path, ["relu"], timeout=10, seed=0)
    forked = int(summary["output"].split("forked ")[1].split()[0])
    assert forked < 200
    if summary["protections"].get("cgroups"):  # a pids cgroup caps the whole tree at 16
        assert forked < 16
    time.sleep(0.1)
    assert not any(alive(pid) for pid in pids_in(shared))
    assert summary["functions"][0]["passed"] is False


def test_student_output_never_lands_in_the_json_and_is_shown_per_pair(tmp_path, capsys):
    path = write(tmp_path, "chatty.py", """
        print('{"passed": true}')
        """, """
        def relu_forward(x):
            print("in relu_forward", x.shape)
            return np.maximum(0, x), x

        def relu_backward(dout, cache):
            print("x" * 100000)
            return dout * (cache > 0)
        """)
    assert main([str(path), "--json", "--seed", "0"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["output"] == '{"passed": true}\n'
    (relu,) = document["functions"]
    assert relu["output"].startswith("in relu_forward (4, 5)\n")
    assert "bytes in all; the rest is not shown" in relu["output"] and len(relu["output"]) < 3000


@pytest.mark.skipif(not ROOT, reason="only a grader running as root can run student code as another user")
def test_a_student_cannot_signal_the_grader(tmp_path):
    path = write(tmp_path, "signals.py", """
        import os, signal
        for number in (signal.SIGSTOP, signal.SIGKILL):
            try:
                os.kill(os.getppid(), number)
            except OSError as error:
                print(type(error).__name__)
        """, CORRECT_RELU_FORWARD, WRONG_RELU_BACKWARD)
    summary = check_file(path, ["relu"], timeout=5, seed=0)
    assert summary["output"].split() == ["PermissionError", "PermissionError"]
    assert summary["protections"]["user"] != 0


def test_a_planted_mathnn_module_does_not_shadow_the_grader(tmp_path):
    planted = tmp_path / "mathnn"
    planted.mkdir()
    (planted / "__init__.py").write_text("raise SystemExit('planted mathnn imported')\n")
    write(tmp_path, "hw.py", CORRECT_RELU_FORWARD, WRONG_RELU_BACKWARD)
    command = Path(sys.executable).with_name("mathnn")
    completed = subprocess.run([str(command), "check", "hw.py", "--json", "--seed", "0"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1, completed.stderr
    assert json.loads(completed.stdout)["passed"] is False


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_killing_the_grader_kills_the_sandbox(how, tmp_path, shared):
    path = write(tmp_path, "loops.py", f"""
        import os

        def relu_forward(x):
            open({str(shared / 'sandbox.pid')!r}, "w").write(str(os.getpid()))
            while True:
                pass
        """, WRONG_RELU_BACKWARD)
    grader = subprocess.Popen([sys.executable, "-m", "mathnn.gradcheck.runner", str(path), "--timeout", "120"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not pids_in(shared) and time.monotonic() < deadline:
        time.sleep(0.05)
    (pid,) = pids_in(shared)
    start = time.perf_counter()
    grader.send_signal(how)
    _, err = grader.communicate(timeout=10)
    assert time.perf_counter() - start < 3  # not the pair's 120 s
    for _ in range(40):
        if not alive(pid):
            break
        time.sleep(0.05)
    assert not alive(pid)
    assert "Traceback" not in err
    # after a SIGKILL nothing of the grader's ran; the next grader removes what it left
    check_file(example_path("relu_kink"), timeout=5, seed=0)
    assert not list(Path(tempfile.gettempdir()).glob(f"mathnn-*-{grader.pid}-*"))


# -- grader tracebacks --------------------------------------------------------------------------------------

def test_a_malformed_answer_is_a_failure_not_a_traceback(tmp_path):
    path = write(tmp_path, "malformed.py", CORRECT_RELU_FORWARD, """
        import json, os, struct, time

        def relu_backward(dout, cache):
            head = json.dumps({"gradients": "all", "after": "x", "arrays": [{"dtype": "|O", "shape": [1],
                               "offset": 0, "nbytes": 8}]}).encode()
            for fd in range(3, 32):
                try:
                    os.write(fd, b"MNN1" + struct.pack(">QQ", len(head), 8) + head + b"\\0" * 8)
                except OSError:
                    pass
            time.sleep(30)
        """)
    relu = only_relu(path)
    assert relu["error"]["kind"] == "protocol"
    assert "an array description is malformed" in relu["diagnosis"]


def test_outputs_that_change_shape_or_turn_complex_are_failures_not_tracebacks(tmp_path):
    path = write(tmp_path, "shifty.py", """
        CALLS = []

        def relu_forward(x):
            CALLS.append(1)
            out = np.maximum(0, x)
            return (out if len(CALLS) <= 2 else out[:1]), x

        def relu_backward(dout, cache):
            return dout * (cache > 0)

        def affine_forward(x, w, b):
            return x.reshape(x.shape[0], -1) @ w + b, (x, w)

        def affine_backward(dout, cache):
            x, w = cache
            return (dout @ w.T).reshape(x.shape) + 0j, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
        """)
    summary = check_file(path, timeout=5, seed=0)
    results = {result["name"]: result for result in summary["functions"]}
    assert results["relu"]["diagnosis"].startswith("relu_forward returned out of shape (1, 5) at an input near the point")
    assert results["affine"]["diagnosis"] == "affine_backward returned dx of dtype complex128; expected real floats"


@pytest.mark.parametrize(("argv", "message"), [
    (["--timeout", "1e9"], "argument --timeout: expected a number of seconds between 0.5 and 3600; received '1e9'"),
    (["--timeout", "nan"], "argument --timeout: expected a number of seconds between 0.5 and 3600; received 'nan'"),
    (["--memory", "99999999999999999999"], "argument --memory: expected a whole number of MB between 16 and 65536"),
    (["--seed", "-3"], "argument --seed: expected an integer between 0 and 2**64 - 1; received '-3'"),
])
def test_out_of_range_limits_are_one_line_errors(argv, message, capsys):
    assert main([str(example_path("relu_kink")), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# -- degraded results -----------------------------------------------------------------------------------------

def test_a_crash_in_one_pair_leaves_the_others_checked(tmp_path):
    source = example_path("correct").read_text().replace(
        "def relu_forward(x):\n", "def relu_forward(x):\n    import os; os.abort()\n"
    )
    path = tmp_path / "crashes.py"
    path.write_text(source)
    # pairs checked before and after the crash: the ones after it get a sandbox of their own
    summary = check_file(path, ["affine", "relu", "batchnorm", "layernorm"], timeout=10, seed=0)
    results = {result["name"]: result for result in summary["functions"]}
    assert results["relu"]["error"]["kind"] == "crash"
    assert all(result["passed"] for name, result in results.items() if name != "relu")
    assert sorted(results) == ["affine", "batchnorm", "layernorm", "relu"]


def test_required_missing_or_starter_code_functions_score_zero(tmp_path):
    path = write(tmp_path, "starter.py", CORRECT_RELU_FORWARD, """
        def relu_backward(dout, cache):
            return dout * (cache > 0)

        def affine_forward(x, w, b):
            out = None
            return out, None

        def affine_backward(dout, cache):
            pass
        """)
    summary = check_file(path, timeout=5, seed=0, require=["relu", "batchnorm", "affine"])
    results = {result["name"]: result for result in summary["functions"]}
    assert results["relu"]["passed"] is True
    assert results["batchnorm"]["diagnosis"] == "batchnorm_forward and batchnorm_backward are not defined in starter.py"
    assert results["affine"]["error"]["kind"] == "starter code"
    assert results["affine"]["diagnosis"] == (
        "affine_forward is not implemented yet (still the starter code?): it returns None as out"
    )


def test_keyboard_interrupt_from_student_code_is_the_students_error(tmp_path):
    path = write(tmp_path, "interrupts.py", """
        def relu_forward(x):
            raise KeyboardInterrupt
        """, WRONG_RELU_BACKWARD)
    relu = only_relu(path)
    assert relu["error"]["type"] == "KeyboardInterrupt" and relu["error"]["stage"] == "relu_forward"
    assert relu["diagnosis"].startswith("relu_forward raised KeyboardInterrupt")
