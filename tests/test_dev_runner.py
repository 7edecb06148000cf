"""Cheap checks of the task runner dev.py, .ci/run and the import-time benchmark.

None of these create a virtual environment or install anything.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
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
