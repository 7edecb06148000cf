#!/usr/bin/env python3
"""Checking PyTorch homework: seconds per function with torch already imported, and in a fresh sandbox.

    .venv/bin/python benchmarks/torch_check.py [--repeat 3] [--points 3]

Needs the [torch] extra. Three medians, one run (machines are shared and noisy):

* **torch already imported** — each function of the shipped correct file checked in this process
  (``check_torch_pair`` through the worker's code, as the pytest plugin would), after one warm-up
  check that pays for importing torch and its meta device;
* **a fresh sandbox** — ``mathnn check`` of the same file in one sandbox, which starts Python,
  imports numpy and torch and warms the meta device before the first check; divided by the number
  of functions, and for one function alone (``--function rnn_step``: the start counts in full);
* **sandbox start** — a sandbox of a PyTorch file started and closed, nothing checked.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time

from mathnn.gradcheck.examples import PYTORCH
from mathnn.gradcheck.filecheck import TORCH_MEMORY_MB, DEFAULT_MEMORY_MB, check_file
from mathnn.gradcheck.sandbox import Sandbox, torch_folder
from mathnn.gradcheck.student import in_process
from mathnn.gradcheck.torch_check import check_torch_pair, torch_pairs

CORRECT = PYTORCH / "rnn_layers_pytorch.py"


def _median(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--points", type=int, default=3)
    arguments = parser.parse_args(argv)
    repeat, points = arguments.repeat, arguments.points

    spec = importlib.util.spec_from_file_location("_benchmark_rnn_layers_pytorch", CORRECT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    started = time.perf_counter()
    spec.loader.exec_module(module)  # imports torch
    imported = time.perf_counter() - started
    names = torch_pairs([name for name in vars(module) if callable(vars(module)[name])])
    transport = in_process(module)
    started = time.perf_counter()
    check_torch_pair(transport, names[0], 0, points=points)  # the meta device's first use
    warm = time.perf_counter() - started
    print(f"importing torch in this process: {imported:.2f} s; first check (meta device warms up): {warm:.2f} s")
    print(f"torch already imported, {points} points, median of {repeat}:")
    in_process_times = {}
    for name in names:
        in_process_times[name] = _median(lambda name=name: check_torch_pair(transport, name, 0, points=points), repeat)
        print(f"  {name:24s} {in_process_times[name]:6.2f} s")
    per_function = statistics.median(in_process_times.values())

    folder = torch_folder()
    memory = DEFAULT_MEMORY_MB + TORCH_MEMORY_MB
    start = _median(lambda: Sandbox(CORRECT, memory_mb=memory, cpu_seconds=120, torch=folder).remove(), repeat)
    whole = _median(lambda: check_file(CORRECT, seed=0, points=points), repeat)
    alone = _median(lambda: check_file(CORRECT, ["rnn_step"], seed=0, points=points), repeat)
    print(f"a fresh sandbox (python -I -S, numpy, torch, meta device), median of {repeat}:")
    print(f"  start alone                {start:6.2f} s")
    print(f"  whole file, {len(names)} functions   {whole:6.2f} s = {whole / len(names):.2f} s per function")
    print(f"  rnn_step alone             {alone:6.2f} s")
    print(f"per function: {per_function:.2f} s with torch imported (median over functions); "
          f"{whole / len(names):.2f} s in a sandbox checking the whole file "
          f"({whole / len(names) / per_function:.1f}x), {alone:.2f} s for one function alone "
          f"({alone / per_function:.1f}x)")


if __name__ == "__main__":
    main()
