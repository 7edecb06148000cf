"""The experiments' results as text tables, and as plain Python for JSON with every printed figure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tables import format_table
from .depth import DepthExperiment
from .recall import RecallExperiment
from .shift import CURRENT_UNDERSTANDING, SHIFT_PER_LAYER, ShiftExperiment
from .through_time import BOUND_GENERAL, TimeExperiment, time_experiment


def results_to_dict(results: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready form of :func:`run_experiments`' results: every figure :func:`report` prints."""
    return {
        name: [item.to_dict() for item in value] if isinstance(value, list) else value.to_dict()
        for name, value in results.items()
    }


def _sci(value: float) -> str:
    return f"{value:.2e}"


def _short(value: float) -> str:
    return f"{value:.3g}"


TOUR_DISTANCES = (1, 2, 5, 10, 20, 50, 100)


def _time_table(experiment: TimeExperiment, distances: Sequence[int]) -> str:
    flows = experiment.flows
    headers = ["T−t"] + [cell for flow in flows for cell in (f"{flow.activation} ‖∂h_T/∂h_t‖", "bound")]
    rows = [
        [str(d)] + [cell for flow in flows for cell in (_sci(flow.norms[d - 1]), _sci(flow.bounds[d - 1]))]
        for d in distances
    ]
    gammas = ", ".join(f"{flow.activation} {flow.gamma:g}" for flow in flows)
    head = (
        f"W_hh {experiment.hidden}×{experiment.hidden} ({experiment.init}), λ₁ = {_short(flows[0].lambda1)}; "
        f"γ = sup|f′| as proven: {gammas}; bound = (γλ₁)^(T−t)"
    )
    return head + "\n" + format_table(headers, rows, align="right")


def _distances(steps: int) -> list[int]:
    return sorted({d for d in TOUR_DISTANCES if d <= steps} | {steps})


def tour_table(seed: int = 0) -> str:
    """The tour's short table: exact ‖∂h_T/∂h_t‖₂ and the bound at a few distances, sigmoid vs tanh vs relu.

    Parameters
    ----------
    seed : int, default 0

    Returns
    -------
    str
        A few lines of text (a header line and the table), from a 32-unit recurrence over 20 steps.
    """
    experiment = time_experiment(("sigmoid", "tanh", "relu"), hidden=32, steps=20, seed=seed)
    return _time_table(experiment, _distances(20))


def time_report(experiment: TimeExperiment) -> str:
    """The through-time table (norm and bound at a few distances) and the bound's verdict per activation."""
    lines = [
        "1. Through time: exact ‖∂h_T/∂h_t‖₂ (a product of Jacobians diag(f′(a_k)) W_hh) vs the bound",
        _time_table(experiment, _distances(experiment.steps)),
        BOUND_GENERAL,
        *(f"  {flow.activation}: {flow.meaning}" for flow in experiment.flows),
    ]
    return "\n".join(lines)


def depth_report(experiment: DepthExperiment) -> str:
    """The first-to-last gradient ratio, loss and first-layer change per variant, and norms by layer."""
    headers = ["variant", "‖∂L/∂W_1‖/‖∂L/∂W_L‖ init", "after", "‖∂L/∂W_1‖ init", "after", "loss init", "after",
               "‖ΔW_1‖/‖W_1‖"]
    rows = [
        [run.variant, _sci(run.ratio_init), _sci(run.ratio_trained), _sci(run.grad_norms_init[0]),
         _sci(run.grad_norms_trained[0]), _short(run.losses[0]), _short(run.losses[-1]), _sci(run.first_layer_change)]
        for run in experiment.runs
    ]
    layers = sorted({1, 2, 5, 10, 15, experiment.depth} & set(range(1, experiment.depth + 1)))
    per_layer = format_table(
        ["variant"] + [f"l={layer}" for layer in layers],
        [[run.variant] + [_sci(run.grad_norms_init[layer - 1]) for layer in layers] for run in experiment.runs],
    )
    return (
        f"2. Through depth: {experiment.depth} weight layers of width {experiment.width}, L = layer "
        f"{experiment.depth}; {experiment.steps} steps of gradient descent, η = {experiment.learning_rate:g}, "
        f"N = {experiment.batch}\n" + format_table(headers, rows, align="right")
        + "\n‖∂L/∂W_l‖ at initialization, by layer l\n" + per_layer
    )


def recall_report(experiment: RecallExperiment) -> str:
    """Recall accuracy per distance k (rows) and activation (columns), with the training settings."""
    headers = ["k"] + [f"{name} accuracy" for name in experiment.activations]
    rows = [[str(k)] + [_short(row[j]) for row in experiment.accuracy] for j, k in enumerate(experiment.distances)]
    return (
        f"3. Recall the token seen k steps before the end: sequences of {experiment.length}, hidden "
        f"{experiment.hidden}, {experiment.iterations} gradient-descent steps of {experiment.batch} sequences, "
        f"η = {experiment.learning_rate:g}; chance {_short(experiment.chance)}\n" + format_table(headers, rows, align="right")
    )


def shift_report(experiment: ShiftExperiment, with_reading: bool = True) -> str:
    """The drift table of one activation, followed (unless ``with_reading`` is false) by what it shows."""
    headers = ["variant", "drift μ(z)", "drift σ(z)", "drift μ(u)", "drift σ(u)", "‖G′−G‖/‖G‖", "cos(G,G′)",
               "loss init", "after"]
    rows = [
        [run.variant]
        + [_sci(float(np.mean(getattr(run, name)))) for name in SHIFT_PER_LAYER[:-1]]
        + [_short(float(np.mean(run.gradient_cosine))), _short(run.losses[0]), _short(run.losses[-1])]
        for run in experiment.runs
    ]
    return (
        f"4. Internal covariate shift, {experiment.activation}: {experiment.depth} layers, {experiment.steps} steps, "
        f"η = {experiment.learning_rate:g}, injected noise {experiment.noise:g}; per-step drift of unit means μ and "
        "spreads σ, averaged over hidden layers, of z (before BN) and u (what f sees)\n"
        + format_table(headers, rows, align="right") + ("\n" + experiment.measured if with_reading else "")
    )


def report(results: dict[str, Any]) -> str:
    """Readable tables of :func:`run_experiments`' results; every figure is also in :func:`results_to_dict`.

    Parameters
    ----------
    results : dict
        From :func:`run_experiments`.

    Returns
    -------
    str
    """
    sections = []
    if "time" in results:
        sections.append(time_report(results["time"]) + f"\n({results['time'].seconds:.1f} s)")
    if "depth" in results:
        sections.append(depth_report(results["depth"]) + f"\n({results['depth'].seconds:.1f} s)")
    if "recall" in results:
        sections.append(recall_report(results["recall"]) + f"\n({results['recall'].seconds:.1f} s)")
    for experiment in results.get("shift", []):
        sections.append(shift_report(experiment) + f"\n({experiment.seconds:.1f} s)")
    if results.get("shift"):
        sections.append(CURRENT_UNDERSTANDING)
    return "\n\n".join(sections)
