"""``mathnn autograder build --out autograder.zip``: a Gradescope autograder bundle for the trusted checker.

The zip holds what Gradescope runs (https://gradescope-autograders.readthedocs.io/en/latest/specs/):

* ``setup.sh`` — installs mathnn, from the copy of its source inside the bundle (``mathnn-src/``), so
  the bundle needs no package index beyond numpy's and SymPy's;
* ``run_autograder`` — runs :func:`main` below: grades ``/autograder/submission`` like one submission
  of ``mathnn grade`` and writes ``/autograder/results/results.json`` (score, max_score, output and
  visibility per test) once, atomically, after every student process is gone;
* ``config.json`` — the assignment (pairs, points, visibility), limits and seed chosen at build time.

The grader runs as root on Gradescope, so student code runs as ``nobody`` and cannot write the
results folder. ``MATHNN_AUTOGRADER_ROOT`` replaces ``/autograder`` (for testing the bundle in a
temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile
from pathlib import Path

from .assignment import Assignment, Graded
from .runner import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, add_limits, assignment_of, write_results

__all__ = ["ROOT_VARIABLE", "add_cli", "build", "main"]

ROOT_VARIABLE = "MATHNN_AUTOGRADER_ROOT"
_PACKAGE = Path(__file__).resolve().parents[1]
_PROJECT = _PACKAGE.parent

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built.
set -euo pipefail
cd "$(dirname "$0")"
${PYTHON:-python3} -m pip install --no-cache-dir ./mathnn-src
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission; the results land in $ROOT/results/results.json.
set -uo pipefail
ROOT="${MATHNN_AUTOGRADER_ROOT:-/autograder}"
exec ${PYTHON:-python3} -I -m mathnn.gradcheck.autograder run --root "$ROOT"
"""


def build(out: str | os.PathLike, assignment: Assignment | None, *, timeout: float = DEFAULT_TIMEOUT,
          memory_mb: int = DEFAULT_MEMORY_MB, seed: int | None = None, strict: bool = False) -> Path:
    """Write the bundle to ``out``; returns its path.

    Parameters
    ----------
    assignment : Assignment or None
        The graded pairs; None grades every pair a submission defines, 1 point each.
    seed : int, optional
        One seed for every submission; None draws a secret seed per submission (printed in its output).
    """
    target = Path(out)
    config = {
        "pairs": [vars(graded) for graded in assignment.pairs] if assignment else None,
        "timeout": timeout, "memory_mb": memory_mb, "seed": seed, "strict": strict,
    }
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            bundle.writestr(info, text)
        bundle.writestr("config.json", json.dumps(config, indent=2) + "\n")
        for path in sorted(_PACKAGE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                bundle.write(path, f"mathnn-src/mathnn/{path.relative_to(_PACKAGE)}")
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (_PROJECT / name).is_file():
                bundle.write(_PROJECT / name, f"mathnn-src/{name}")
    return target


def grade(root: Path) -> dict:
    """Grade ``root/submission`` with ``root/source/config.json``; write and return the results document."""
    from .grading import grade_submission
    from .runner import to_gradescope
    from .sandbox import hide

    config = json.loads((root / "source" / "config.json").read_text(encoding="utf-8"))
    hide(root / "source")  # the configuration (a fixed seed) and the copy of mathnn: out of the sandbox's sight
    assignment = Assignment(tuple(Graded(**entry) for entry in config["pairs"])) if config.get("pairs") else None
    seed = config.get("seed")
    if seed is None:
        import secrets

        seed = secrets.randbelow(2**32)
    summary = grade_submission(root / "submission", seed=seed, timeout=config["timeout"],
                               memory_mb=config["memory_mb"], assignment=assignment,
                               strict=bool(config.get("strict", False)))
    document = to_gradescope(summary, assignment)
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    write_results(results / "results.json", document)  # every sandbox is closed by now
    return document


def main(argv: list[str] | None = None) -> int:
    """``python -m mathnn.gradcheck.autograder run --root ROOT``: what ``run_autograder`` executes."""
    parser = argparse.ArgumentParser(prog="mathnn.gradcheck.autograder")
    parser.add_argument("task", choices=["run"])
    parser.add_argument("--root", default=os.environ.get(ROOT_VARIABLE, "/autograder"))
    args = parser.parse_args(argv)
    from .sandbox import install_signal_handlers

    install_signal_handlers()
    document = grade(Path(args.root))
    print(f"score {document['score']:g} of {sum(test['max_score'] for test in document['tests']):g}")
    return 0


def _build(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    try:
        path = build(args.out, assignment_of(args), timeout=args.timeout, memory_mb=args.memory, seed=args.seed,
                     strict=args.strict)
    except OSError as error:
        print(f"mathnn autograder: error: --out: cannot write {args.out!r}: {error.strerror or error}",
              file=sys.stderr)
        return 2
    print(f"mathnn autograder: wrote {path} (upload it as the assignment's autograder on Gradescope)")
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``autograder build`` (its handler is ``args.run(args, parser)``)."""
    parser = subparsers.add_parser("autograder", help="build a Gradescope autograder bundle",
                                   description="Build a Gradescope autograder bundle that runs mathnn's trusted "
                                   "checker on each submission.")
    actions = parser.add_subparsers(dest="action", required=True)
    build_parser = actions.add_parser("build", help="write autograder.zip")
    build_parser.add_argument("--out", default="autograder.zip", metavar="ZIP", help="the bundle (default autograder.zip)")
    add_limits(build_parser)
    build_parser.set_defaults(run=_build)
    return parser


if __name__ == "__main__":
    sys.exit(main())
