#!/usr/bin/env python3
"""Trusted grading against a notebook-style check: per pair, per file and per class, measured in one run.

    .venv/bin/python benchmarks/grading.py [--repeat 3] [--class-size 12] [--jobs 2]

* per pair / per file: ``check_file`` on a correct homework file defining all six pairs (the sandbox,
  three points, two shapes, entry-by-entry finite differences at the first point), against the
  notebook's way — import the file in this process and compare each gradient with
  ``eval_numerical_gradient_array`` (h = 1e-5) at one point, ``rel_error`` < 1e-7;
* class throughput: ``grade_folder`` on a class of submissions (correct and buggy files in turn),
  ``--jobs`` at a time, in submissions per minute.

Targets of the trusted design: ≤ 1 s per pair (median), ≤ 5 s per file, ≥ 60 submissions per minute on 2 cores.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from mathnn.gradcheck.cs231n import eval_numerical_gradient_array, rel_error
from mathnn.gradcheck.examples import example_path
from mathnn.gradcheck.grading import grade_folder
from mathnn.gradcheck.homework import PAIRS
from mathnn.gradcheck.runner import check_file

CLASS = ["correct", "bn_missing_mean_path", "correct_float32", "rnn_dwh_transposed", "correct_dict_cache",
         "rnn_no_accumulation"]


def notebook_check(path: Path) -> dict[str, float]:
    """The assignment notebook's check of every pair, in this process: seconds per pair."""
    spec = importlib.util.spec_from_file_location("notebook_student", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seconds = {}
    for pair in PAIRS.values():
        start = time.perf_counter()
        values = pair.test_inputs(seed=0)
        forward, backward = getattr(module, pair.forward), getattr(module, pair.backward)
        out, cache = forward(*[values[name] for name in pair.arguments])
        dout = np.random.default_rng(1).standard_normal(out.shape)
        gradients = backward(dout, cache)
        gradients = gradients if isinstance(gradients, tuple) else (gradients,)
        for name, gradient in zip(pair.differentiated, gradients):
            def f(value, name=name):
                return forward(*[value if key == name else values[key] for key in pair.arguments])[0]

            numeric = eval_numerical_gradient_array(f, values[name].copy(), dout)
            rel_error(numeric, gradient)  # the notebook prints it; its verdict is the reader's
        seconds[pair.name] = time.perf_counter() - start
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="files checked per method (default 3)")
    parser.add_argument("--class-size", type=int, default=12, help="submissions in the class run (default 12)")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default 2)")
    args = parser.parse_args(argv)
    path = example_path("correct")

    trusted_pair, trusted_file = [], []
    for seed in range(args.repeat):
        start = time.perf_counter()
        summary = check_file(path, seed=seed)
        trusted_file.append(time.perf_counter() - start)
        assert summary["passed"], summary
        trusted_pair += [result["seconds"] for result in summary["functions"]]
    notebook_pair, notebook_file = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        notebook_pair += list(notebook_check(path).values())
        notebook_file.append(time.perf_counter() - start)

    folder = Path(tempfile.mkdtemp(prefix="mathnn-class-"))
    try:
        for number in range(args.class_size):
            example = CLASS[number % len(CLASS)]
            (folder / f"student{number:03d}.py").write_text(example_path(example).read_text())
        start = time.perf_counter()
        grades = grade_folder(folder, jobs=args.jobs, seed=0)
        class_seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert len(grades["students"]) == args.class_size
    per_minute = args.class_size / class_seconds * 60

    pair_median, file_median = statistics.median(trusted_pair), statistics.median(trusted_file)
    notebook_pair_median, notebook_file_median = statistics.median(notebook_pair), statistics.median(notebook_file)
    print(f"{'':28}{'trusted (sandbox)':>20}{'notebook (in-process)':>24}{'ratio':>8}")
    print(f"{'per pair, median':28}{pair_median:>18.3f} s{notebook_pair_median:>22.3f} s"
          f"{pair_median / notebook_pair_median:>7.1f}×")
    print(f"{'per file (6 pairs), median':28}{file_median:>18.3f} s{notebook_file_median:>22.3f} s"
          f"{file_median / notebook_file_median:>7.1f}×")
    print(f"class of {args.class_size}, --jobs {args.jobs}: {class_seconds:.1f} s, {per_minute:.0f} submissions/min")
    print(f"targets: per pair ≤ 1 s {'met' if pair_median <= 1 else 'MISSED'}; per file ≤ 5 s "
          f"{'met' if file_median <= 5 else 'MISSED'}; ≥ 60 submissions/min {'met' if per_minute >= 60 else 'MISSED'}")


if __name__ == "__main__":
    main()
