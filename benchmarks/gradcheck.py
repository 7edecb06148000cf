#!/usr/bin/env python3
"""Randomized vs entry-by-entry gradient check of a 64×32 batch norm: evaluations and time, one run.

    .venv/bin/python benchmarks/gradcheck.py [--n 64] [--d 32] [--repeat 5]

Both checks use the same student-style batch norm (correct, then with the x̂·Σ dy x̂ term missing);
the randomized check probes every input along a few centred Gaussian directions and goes entry by
entry only where a probe fails (to say where the error is; the verdict is known at the first failing
probe, and the note says after how many evaluations). For scale: an entry-by-entry check with two evaluations per entry
(central differences) needs 2·(N·D + 2D) = 4,224 evaluations here.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from mathnn.gradcheck import check_vjp


def forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mu = x.mean(axis=0)
    x_hat = (x - mu) / np.sqrt(((x - mu) ** 2).mean(axis=0) + 1e-5)
    return gamma * x_hat + beta


def backward(dout: np.ndarray, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, missing_term: bool = False):
    n = x.shape[0]
    mu = x.mean(axis=0)
    inv_std = 1 / np.sqrt(((x - mu) ** 2).mean(axis=0) + 1e-5)
    x_hat = (x - mu) * inv_std
    dbeta, dgamma = dout.sum(axis=0), (dout * x_hat).sum(axis=0)
    inner = n * dout - dbeta - (0 if missing_term else x_hat * dgamma)
    return gamma * inv_std / n * inner, dgamma, dbeta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--d", type=int, default=32, help="features (default 32)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case for the median time (default 5)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    inputs = {"x": rng.standard_normal((args.n, args.d)), "gamma": rng.standard_normal(args.d),
              "beta": rng.standard_normal(args.d)}
    print(f"batch norm {args.n}×{args.d}; medians of {args.repeat} runs")
    print(f"{'case':<34} {'mode':<7} {'result':<7} {'evaluations':>11} {'time':>10}")
    for label, missing in (("correct backward", False), ("missing x̂·Σ dy x̂ term", True)):
        for mode in ("random", "full"):
            times, report = [], None
            for _ in range(args.repeat):
                start = time.perf_counter()
                report = check_vjp(forward, lambda dout, **i: backward(dout, **i, missing_term=missing), inputs, mode=mode)
                times.append(time.perf_counter() - start)
            verdict = "pass" if report else "FAIL"
            print(f"{label:<34} {mode:<7} {verdict:<7} {report.evaluations:>11} {statistics.median(times) * 1e3:8.1f} ms")
            for note in report["x"].notes:
                print(f"{'':<34} note: {note}")
    print(f"reference: two-evaluation central differences, entry by entry: {2 * (args.n * args.d + 2 * args.d)} evaluations")


if __name__ == "__main__":
    main()
