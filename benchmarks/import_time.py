#!/usr/bin/env python3
"""How much does `import mathnn` cost next to `import numpy`?

One run measures both, interleaved, each in a fresh interpreter:

    .venv/bin/python benchmarks/import_time.py            # 15 rounds
    .venv/bin/python benchmarks/import_time.py --repeat 30

Each round spawns `python -c pass` (the interpreter's own start-up, the
baseline), `python -c "import numpy"` and `python -c "import mathnn"`, in an
order that rotates from round to round, and times each spawn with
time.perf_counter.  It prints the medians in ms, the medians less the
baseline's, and the ratio (median(mathnn) - median(pass)) /
(median(numpy) - median(pass)); and whether `import mathnn` pulled in sympy.

Shared machines are noisy: this reports, it does not pass or fail.  It exits
non-zero only when an import itself fails.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

# Spawn from a neutral directory: `python -c` puts the working directory on
# sys.path, which would let a checkout's mathnn/ stand in for the installed one.
NEUTRAL_CWD = tempfile.gettempdir()

CASES = {
    "baseline": "pass",
    "numpy": "import numpy",
    "mathnn": "import mathnn",
}


def spawn(python: str, code: str) -> float:
    """Seconds for one fresh interpreter to run `code`; raises on failure."""
    start = time.perf_counter()
    proc = subprocess.run([python, "-c", code], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, cwd=NEUTRAL_CWD)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"`{python} -c {code!r}` failed (exit {proc.returncode}):\n{proc.stderr}")
    return elapsed


def measure(python: str, repeat: int) -> dict:
    names = list(CASES)
    for name in names:  # warm-up, not counted: file cache and .pyc files
        spawn(python, CASES[name])
    times: dict = {name: [] for name in names}
    for i in range(repeat):
        k = i % len(names)
        for name in names[k:] + names[:k]:  # rotate the order each round
            times[name].append(spawn(python, CASES[name]))
    return times


def sympy_imported(python: str) -> bool:
    proc = subprocess.run(
        [python, "-c", 'import mathnn, sys; print("sympy" in sys.modules)'],
        capture_output=True, text=True, cwd=NEUTRAL_CWD,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"checking sys.modules after `import mathnn` failed:\n{proc.stderr}")
    return proc.stdout.strip().splitlines()[-1] == "True"


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Measure the cost of `import mathnn` relative to `import numpy`: "
                    "fresh interpreters, interleaved, medians in ms, interpreter start-up "
                    "subtracted. Reports only; no pass/fail.",
    )
    parser.add_argument("--repeat", "-n", type=int, default=15, metavar="N",
                        help="rounds; each round runs every case once (default: 15)")
    parser.add_argument("--python", default=sys.executable, metavar="PATH",
                        help="interpreter to measure, one that has mathnn and numpy "
                             "installed (default: this one, %(default)s)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    try:
        times = measure(args.python, args.repeat)
        sympy = sympy_imported(args.python)
    except RuntimeError as exc:
        print(f"import_time: {exc}", file=sys.stderr)
        print("import_time: run it with an interpreter that has mathnn installed, "
              "e.g. .venv/bin/python benchmarks/import_time.py (python3 dev.py test sets up .venv)",
              file=sys.stderr)
        return 1

    med = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
    base = med["baseline"]
    print(f"python: {args.python}")
    print(f"rounds: {args.repeat} per case, interleaved, fresh interpreter each")
    print(f"{'case':<10}{'median ms':>11}{'min ms':>9}{'max ms':>9}{'minus baseline':>16}")
    for name, code in CASES.items():
        ts = times[name]
        net = "" if name == "baseline" else f"{med[name] - base:.1f}"
        print(f"{name:<10}{med[name]:>11.1f}{min(ts) * 1e3:>9.1f}{max(ts) * 1e3:>9.1f}{net:>16}"
              f"   python -c {code!r}")
    numpy_net = med["numpy"] - base
    mathnn_net = med["mathnn"] - base
    if numpy_net > 0:
        print(f"ratio mathnn/numpy (baseline subtracted): {mathnn_net / numpy_net:.2f}")
    else:
        print("ratio mathnn/numpy: undefined (numpy's median is not above the baseline's)")
    print(f"import mathnn imports sympy: {'yes' if sympy else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
