#!/usr/bin/env python3
"""How fast are the generated batch-norm kernels next to a copy and the textbook numpy code?

One run measures everything twice: interleaved, and each case in a loop of its own:

    .venv/bin/python benchmarks/batchnorm.py              # N=256, D=1024, 200 rounds
    .venv/bin/python benchmarks/batchnorm.py --n 64 --d 4096 --repeat 500

Each round calls every case once, in an order that rotates from round to round, so that machine
noise falls on all cases alike; each call is timed with time.perf_counter. Cases (float64, (N, D)):

- copy: ``np.copy(x)``, the floor — one read and one freshly allocated write of the array;
- textbook: the CS231n-style numpy code, fresh arrays for every temporary (backward: the one-line
  ``dx = (1/N) * gamma * ivar * (N*dout - dbeta - xhat*dgamma)`` with its own sums);
- generated, buffers: the kernel from ``mathnn.kernels.batchnorm`` writing into caller-provided
  arrays (``dx=`` for the backward, ``out=``/``x_hat=`` for the forward);
- generated: the same kernel allocating its outputs;
- layer: ``mathnn.layers.batchnorm_backward`` / ``batchnorm_forward(mode='train')``, with checks.

It prints the medians in ms and the ratios generated/copy (target ≤ 12) and generated/textbook
(target ≤ 0.3), with and without buffers, and whether each target is met. Shared machines are
noisy: this reports, it does not fail.

What a fresh (N, D) array costs depends on glibc's malloc, not on numpy: when enough freed memory
sits at the top of the heap, glibc returns it to the OS and the next allocation page-faults it
back in (~1.5 ms for two 2 MiB arrays here, 30 copies' worth); otherwise reuse is nearly free.
Which happens depends on the order of allocations, so a case costs differently interleaved than
alone: both are printed. To see the arithmetic alone, run with
``MALLOC_TRIM_THRESHOLD_=1000000000 MALLOC_MMAP_THRESHOLD_=1000000000``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from mathnn.kernels import batchnorm as kernels
from mathnn.layers import batchnorm_backward, batchnorm_forward

EPS = 1e-5
TARGETS = {"copy": 12.0, "textbook": 0.3}


def textbook_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> tuple[np.ndarray, ...]:
    mu = x.mean(axis=0)
    xmu = x - mu
    var = (xmu**2).mean(axis=0)
    ivar = 1.0 / np.sqrt(var + eps)
    xhat = xmu * ivar
    out = gamma * xhat + beta
    return out, xhat, mu, var, ivar


def textbook_backward(
    dout: np.ndarray, xhat: np.ndarray, gamma: np.ndarray, ivar: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dx = (1.0 / N) * gamma * ivar * (N * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def cases(n: int, d: int, seed: int = 0) -> dict[str, Callable[[], object]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, size=(n, d))
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    dout = rng.normal(size=(n, d))
    _, x_hat, _, inv_std, _, _ = kernels.batchnorm_train_forward(x, gamma, beta, EPS)
    out_buffer, x_hat_buffer, dx_buffer = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    bn_param = {"mode": "train", "eps": EPS}
    _, cache = batchnorm_forward(x, gamma, beta, dict(bn_param))
    return {
        "copy": lambda: np.copy(x),
        "backward textbook": lambda: textbook_backward(dout, x_hat, gamma, inv_std),
        "backward generated, buffer": lambda: kernels.batchnorm_backward(dout, x_hat, gamma, inv_std, dx=dx_buffer),
        "backward generated": lambda: kernels.batchnorm_backward(dout, x_hat, gamma, inv_std),
        "backward layer": lambda: batchnorm_backward(dout, cache),
        "forward textbook": lambda: textbook_forward(x, gamma, beta, EPS),
        "forward generated, buffers": lambda: kernels.batchnorm_train_forward(
            x, gamma, beta, EPS, out=out_buffer, x_hat=x_hat_buffer
        ),
        "forward generated": lambda: kernels.batchnorm_train_forward(x, gamma, beta, EPS),
        "forward layer": lambda: batchnorm_forward(x, gamma, beta, bn_param),
    }


def measure(functions: dict[str, Callable[[], object]], repeat: int, warmup: int = 5) -> dict[str, float]:
    """Median seconds per call of each function, measured round-robin in a rotating order."""
    names = list(functions)
    for _ in range(warmup):
        for name in names:
            functions[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            functions[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def measure_alone(functions: dict[str, Callable[[], object]], repeat: int, warmup: int = 5) -> dict[str, float]:
    """Median seconds per call of each function, each run in a loop of its own (as a training loop would)."""
    medians = {}
    for name, function in functions.items():
        for _ in range(warmup):
            function()
        values = []
        for _ in range(repeat):
            start = time.perf_counter()
            function()
            values.append(time.perf_counter() - start)
        medians[name] = statistics.median(values)
    return medians


def report(medians: dict[str, float], title: str) -> None:
    print(title)
    width = max(map(len, medians))
    for name, seconds in medians.items():
        print(f"  {name:<{width}}  {seconds * 1e3:8.3f} ms")
    print("ratios (target met?):")
    for pass_ in ("backward", "forward"):
        for variant in ("buffer" if pass_ == "backward" else "buffers", None):
            name = f"{pass_} generated" + (f", {variant}" if variant else "")
            for baseline, target in TARGETS.items():
                baseline_name = baseline if baseline == "copy" else f"{pass_} {baseline}"
                ratio = medians[name] / medians[baseline_name]
                verdict = "met" if ratio <= target else "NOT met"
                print(f"  {name:<{width}} / {baseline:<8}  {ratio:6.2f}  (target ≤ {target:g}: {verdict})")
        overhead = medians[f"{pass_} layer"] / medians[f"{pass_} generated"]
        print(f"  {pass_ + ' layer':<{width}} / generated  {overhead:6.2f}  (the layer's checks and cache)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=256, help="batch size N (default 256)")
    parser.add_argument("--d", type=int, default=1024, help="features D (default 1024)")
    parser.add_argument("--repeat", type=int, default=200, help="rounds (default 200)")
    args = parser.parse_args(argv)

    functions = cases(args.n, args.d)
    shape = f"float64, N={args.n}, D={args.d}, {args.repeat} calls per case"
    report(measure(functions, args.repeat), f"batch norm, {shape}, interleaved round-robin; medians:")
    print()
    report(measure_alone(functions, args.repeat), f"batch norm, {shape}, each case in a loop of its own; medians:")


if __name__ == "__main__":
    main()
