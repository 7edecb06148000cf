"""The package type-checks: ``mypy`` with the settings of ``[tool.mypy]`` in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # about 10 s: a fresh cache checks every module
def test_mypy_finds_no_errors(tmp_path: Path) -> None:
    # A fresh cache under pytest's tmp: nothing from a developer's earlier run is trusted.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"mypy found errors:\n{result.stdout}{result.stderr}"
