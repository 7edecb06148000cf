"""Cheap checks of the task runner dev.py, .ci/run and the import-time benchmark.

None of these create a virtual environment or install anything.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "dev.py"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=60)


def load_dev():
    spec = importlib.util.spec_from_file_location("dev_runner_under_test", DEV)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_help_lists_every_command_and_exits_0(tmp_path):
    # from another directory, with site-packages off: dev.py must be stdlib-only
    proc = run("-I", "-S", str(DEV), "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for command in ("tour", "test", "docs", "--help"):
        assert command in proc.stdout
    assert "python3 dev.py tour" in proc.stdout
    assert "python3 dev.py test" in proc.stdout
    assert "--no-min" in proc.stdout and ".venv-min" in proc.stdout


def test_unknown_command_exits_2():
    proc = run(str(DEV), "no-such-command")
    assert proc.returncode == 2
    assert "unknown command" in proc.stderr


def test_install_fingerprint_tracks_pyproject_and_python(tmp_path):
    dev = load_dev()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    first = dev.install_fingerprint(str(tmp_path), "3.11.7")
    assert first == dev.install_fingerprint(str(tmp_path), "3.11.7")
    assert first != dev.install_fingerprint(str(tmp_path), "3.12.1")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    assert first != dev.install_fingerprint(str(tmp_path), "3.11.7")


def test_min_fingerprint_tracks_the_pins_pyproject_and_python(tmp_path):
    dev = load_dev()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    first = dev.min_fingerprint(str(tmp_path), "3.11.2")
    assert first == dev.min_fingerprint(str(tmp_path), "3.11.2", tuple(dev.MIN_REQUIREMENTS))
    assert first != dev.min_fingerprint(str(tmp_path), "3.11.2", ("numpy==2.0.0", *dev.MIN_REQUIREMENTS[1:]))
    assert first != dev.min_fingerprint(str(tmp_path), "3.11.2", dev.MIN_REQUIREMENTS[:-1])
    assert first != dev.min_fingerprint(str(tmp_path), "3.11.9")
    assert first != dev.install_fingerprint(str(tmp_path), "3.11.2")  # .venv's stamp never fits .venv-min
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    assert first != dev.min_fingerprint(str(tmp_path), "3.11.2")


def test_min_pins_are_pyprojects_lower_bounds():
    dev = load_dev()
    with open(ROOT / "pyproject.toml", "rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    lower = dict(dependency.split(">=") for dependency in dependencies)
    pins = dict(requirement.split("==") for requirement in dev.MIN_REQUIREMENTS if "==" in requirement)
    assert pins.keys() == lower.keys()
    for name, version in pins.items():  # numpy>=1.26 is tested on numpy==1.26.4
        assert version.startswith(lower[name] + "."), (name, version, lower[name])


def test_min_subset_names_tests_that_exist():
    dev = load_dev()
    for test in dev.MIN_TESTS:
        path, _, name = test.partition("::")
        assert (ROOT / path).is_file(), test
        assert not name or f"def {name}(" in (ROOT / path).read_text(), test


def fake_runs(dev, monkeypatch, codes: dict) -> list:
    """Replace dev.py's setup and pytest runs by records; pytest in each venv exits with codes[venv]."""
    calls: list = []
    monkeypatch.setattr(dev, "ensure_venv", lambda: calls.append("set up .venv"))
    monkeypatch.setattr(dev, "ensure_min_venv", lambda: calls.append("set up .venv-min"))
    monkeypatch.setattr(dev, "needs_system_tools", lambda: False)

    def run_pytest(venv: str, args: list) -> int:
        calls.append((os.path.basename(venv), list(args)))
        return codes[os.path.basename(venv)]

    monkeypatch.setattr(dev, "run_pytest", run_pytest)
    return calls


def test_a_failing_min_run_fails_the_test_command_and_says_where(monkeypatch, capsys):
    dev = load_dev()
    calls = fake_runs(dev, monkeypatch, {".venv": 0, ".venv-min": 1})
    assert dev.main(["test", "-k", "rnn"]) == 1
    assert calls == ["set up .venv", (".venv", ["-k", "rnn"]), "set up .venv-min",
                     (".venv-min", [*dev.MIN_PYTEST_ARGS, *dev.MIN_TESTS])]
    out = capsys.readouterr().out
    assert "dev.py: step 'pytest in .venv-min' failed (exit 1)" in out
    assert "numpy==1.26.4" in out and "--no-min" in out


def test_the_min_run_follows_a_passing_main_run_unless_no_min(monkeypatch, capsys):
    dev = load_dev()
    calls = fake_runs(dev, monkeypatch, {".venv": 0, ".venv-min": 0})
    assert dev.main(["test"]) == 0
    assert [call[0] for call in calls if isinstance(call, tuple)] == [".venv", ".venv-min"]
    assert "minimum versions passed" in capsys.readouterr().out

    calls = fake_runs(dev, monkeypatch, {".venv": 0, ".venv-min": 1})
    assert dev.main(["test", "--no-min", "-x"]) == 0
    assert calls == ["set up .venv", (".venv", ["-x"])]  # --no-min is dev.py's, never pytest's

    calls = fake_runs(dev, monkeypatch, {".venv": 3, ".venv-min": 0})
    assert dev.main(["test"]) == 3
    assert calls == ["set up .venv", (".venv", [])]  # a failing main run is not followed by the min run
    assert "step 'pytest' failed (exit 3)" in capsys.readouterr().out


def test_ci_runs_exactly_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in script
    commands = [line.strip() for line in script.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "python3 dev.py test"


def test_import_time_benchmark_help():
    proc = run(str(ROOT / "benchmarks" / "import_time.py"), "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--repeat" in proc.stdout
