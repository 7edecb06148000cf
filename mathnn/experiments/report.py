"""The experiments' results as text tables, and as plain Python for JSON with every printed figure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tables import format_table
from .depth import DepthExperiment
from .recall import RecallExperiment
from .remedies import LagExperiment, RememberExperiment
from .shift import CURRENT_UNDERSTANDING, SHIFT_PER_LAYER, ShiftExperiment
from .through_time import BOUND_GENERAL, TimeExperiment, time_experiment

#: How a report lays out a table: ``format_table``'s arguments, ``(headers, rows, align)``. Each report
#: takes one as ``table``: the aligned text of the command line by default, Markdown for the docs.
TableFormat = Callable[..., str]


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


def _time_table(experiment: TimeExperiment, distances: Sequence[int], table: TableFormat = format_table) -> str:
    flows = experiment.flows
    # the bound depends on f only through γ (one W_hh for all): one column per γ, not one per activation
    bounds: dict[float, np.ndarray] = {}
    for flow in flows:
        bounds.setdefault(flow.gamma, flow.bounds)
    headers = ["T−t", *(f"{flow.activation} ‖∂h_T/∂h_t‖" for flow in flows), *(f"bound γ={g:g}" for g in bounds)]
    rows = [
        [str(d), *(_sci(flow.norms[d - 1]) for flow in flows), *(_sci(bound[d - 1]) for bound in bounds.values())]
        for d in distances
    ]
    gammas = ", ".join(f"{flow.activation} {flow.gamma:g}" for flow in flows)
    hidden, init = experiment.settings["hidden"], experiment.settings["init"]
    head = (
        f"W_hh {hidden}×{hidden} ({init}), λ₁ = {_short(flows[0].lambda1)}; "
        f"γ = sup|f′| as proven: {gammas}; bound = (γλ₁)^(T−t)"
    )
    return head + "\n" + table(headers, rows, align="right")


def _distances(length: int) -> list[int]:
    return sorted({d for d in TOUR_DISTANCES if d <= length} | {length})


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
    experiment = time_experiment(("sigmoid", "tanh", "relu"), hidden=32, length=20, seed=seed)
    return _time_table(experiment, _distances(20))


def time_report(experiment: TimeExperiment, table: TableFormat = format_table) -> str:
    """The through-time table (norm and bound at a few distances) and the bound's verdict per activation.

    ``table`` lays out the table (see ``TableFormat``), as in every report of this module."""
    lines = [
        "1. Through time: exact ‖∂h_T/∂h_t‖₂ (a product of Jacobians diag(f′(a_k)) W_hh) vs the bound",
        _time_table(experiment, _distances(experiment.settings["length"]), table),
        BOUND_GENERAL,
        *(f"  {flow.activation}: {flow.meaning}" for flow in experiment.flows),
    ]
    return "\n".join(lines)


def depth_report(experiment: DepthExperiment, table: TableFormat = format_table) -> str:
    """The first-to-last gradient ratio, loss and first-layer change per variant, and norms by layer."""
    headers = ["variant", "‖∂L/∂W_1‖/‖∂L/∂W_L‖ init", "after", "‖∂L/∂W_1‖ init", "after", "loss init", "after",
               "‖ΔW_1‖/‖W_1‖"]
    rows = [
        [run.variant, _sci(run.ratio_init), _sci(run.ratio_trained), _sci(run.grad_norms_init[0]),
         _sci(run.grad_norms_trained[0]), _short(run.losses[0]), _short(run.losses[-1]), _sci(run.first_layer_change)]
        for run in experiment.runs
    ]
    settings = experiment.settings
    depth = settings["depth"]
    layers = sorted({1, 2, 5, 10, 15, depth} & set(range(1, depth + 1)))
    per_layer = table(
        ["variant"] + [f"l={layer}" for layer in layers],
        [[run.variant] + [_sci(run.grad_norms_init[layer - 1]) for layer in layers] for run in experiment.runs],
    )
    return (
        f"2. Through depth: {depth} weight layers of width {settings['width']}, L = layer "
        f"{depth}; {settings['steps']} steps of gradient descent, η = {settings['learning_rate']:g}, "
        f"N = {settings['batch']}\n" + table(headers, rows, align="right")
        + "\n‖∂L/∂W_l‖ at initialization, by layer l\n" + per_layer
    )


def recall_report(experiment: RecallExperiment, table: TableFormat = format_table) -> str:
    """Recall accuracy per distance k (rows) and activation (columns), with the training settings."""
    settings = experiment.settings
    headers = ["k"] + [f"{name} accuracy" for name in settings["activations"]]
    rows = [[str(k)] + [_short(row[j]) for row in experiment.accuracy] for j, k in enumerate(settings["distances"])]
    return (
        f"3. Recall the token seen k steps before the end: sequences of {settings['length']}, hidden "
        f"{settings['hidden']}, {settings['steps']} gradient-descent steps of {settings['batch']} sequences, "
        f"η = {settings['learning_rate']:g}; chance {_short(experiment.chance)}\n" + table(headers, rows, align="right")
    )


def shift_report(experiment: ShiftExperiment, with_reading: bool = True, table: TableFormat = format_table) -> str:
    """The drift table of one activation, followed (unless ``with_reading`` is false) by what it shows."""
    headers = ["variant", "drift μ(z)", "drift σ(z)", "drift μ(u)", "drift σ(u)", "‖G′−G‖/‖G‖", "cos(G,G′)",
               "loss init", "after"]
    rows = [
        [run.variant]
        + [_sci(float(np.mean(getattr(run, name)))) for name in SHIFT_PER_LAYER[:-1]]
        + [_short(float(np.mean(run.gradient_cosine))), _short(run.losses[0]), _short(run.losses[-1])]
        for run in experiment.runs
    ]
    settings = experiment.settings
    return (
        f"4. Internal covariate shift, {settings['activation']}: {settings['depth']} layers, {settings['steps']} steps, "
        f"η = {settings['learning_rate']:g}, injected noise {settings['noise']:g}; per-step drift of unit means μ and "
        "spreads σ, averaged over hidden layers, of z (before BN) and u (what f sees)\n"
        + table(headers, rows, align="right") + ("\n" + experiment.measured if with_reading else "")
    )


LAG_COLUMNS = (1, 5, 10, 20, 30, 50)


def lag_report(experiment: LagExperiment, table: TableFormat = format_table) -> str:
    """The gradient ratio at a few lags per cell (median over seeds, min–max), and the clipping table."""
    lags = [k for k in LAG_COLUMNS if k in experiment.lags]
    if experiment.lags[-1] not in lags:
        lags.append(experiment.lags[-1])
    rows = []
    for index, name in enumerate(experiment.names):
        columns = [experiment.ratios[index, :, experiment.lags.index(k)] for k in lags]
        rows.append([name] + [f"{float(np.median(values)):.1e}" for values in columns]
                    + [f"{float(columns[-1].min()):.1e} – {float(columns[-1].max()):.1e}"])
    bound = experiment.bounds.get("exploding")
    clip_rows = [
        [str(row.length), _sci(row.grad_norm), _sci(row.update_unclipped), _sci(row.update_clipped), f"{row.cosine:.6f}"]
        for row in experiment.clip
    ]
    settings = experiment.settings
    return (
        f"5. Remedies, gradient against lag: ‖∂L/∂h_(T−k)‖/‖∂L/∂h_T‖, loss at the last step only; "
        f"hidden {settings['hidden']}, inputs N(0, 1) of size {settings['inputs']}, median over "
        f"{settings['sequences']} sequences per seed; median over seeds {experiment.seeds}, and the range over seeds at the last lag\n"
        + table(["cell"] + [f"k = {k}" for k in lags] + [f"seeds' range, k = {lags[-1]}"], rows, align="right")
        + ("" if bound is None else f"\nbound for ReLU RNN, 1.2·I: (λ₁γ)^k = 1.2^k, at k = {lags[-1]}: {_sci(bound[lags[-1]])}")
        + f"\nClipping on the exploding RNN (ReLU, W_hh = 1.2·I): g = ∂L/∂(W_x, W_h, b) of a loss at the last step; "
        f"update η‖g‖, η = {settings['learning_rate']:g}, without and with clipping to ‖g‖ ≤ θ = {settings['threshold']:g}\n"
        + table(["T", "‖g‖", "η‖g‖ unclipped", "clipped", "cos(update, clipped)"], clip_rows, align="right")
    )


def remember_report(experiment: RememberExperiment, table: TableFormat = format_table) -> str:
    """Accuracy on the sign task per distance (rows) and cell (columns): median over seeds [min, max]."""
    settings = experiment.settings
    headers = ["k"] + experiment.names
    rows = []
    for m, k in enumerate(settings["distances"]):
        row = [str(k)]
        for values in experiment.accuracy[:, :, m]:
            row.append(f"{_short(float(np.median(values)))} [{_short(float(values.min()))}, {_short(float(values.max()))}]")
        rows.append(row)
    return (
        f"6. Remedies, accuracy against distance: the sign of the first input after k noise steps (noise "
        f"N(0, {settings['noise']:g}²)); hidden {settings['hidden']}, {settings['steps']} gradient-descent steps "
        f"of {settings['batch']} sequences, η = {settings['learning_rate']:g}, clipped at {settings['clip']:g}; "
        f"median over seeds {experiment.seeds} [min, max]; chance {_short(experiment.chance)}\n"
        + table(headers, rows, align="right")
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
    if "lag" in results:
        sections.append(lag_report(results["lag"]) + f"\n({results['lag'].seconds:.1f} s)")
    if "remember" in results:
        sections.append(remember_report(results["remember"]) + f"\n({results['remember'].seconds:.1f} s)")
    return "\n\n".join(sections)
