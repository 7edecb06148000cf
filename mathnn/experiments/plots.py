"""The experiments' figures, as PNG and SVG; matplotlib is imported only when a figure is drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError


def _figure(rows: int = 1, columns: int = 1, size: tuple[float, float] = (7.0, 4.5)) -> tuple[Any, Any]:
    """A matplotlib Figure on the Agg canvas, without pyplot (no global state, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size[0] * columns, size[1] * rows), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(rows, columns, squeeze=False)


def _save(figure: Any, directory: Path, name: str) -> list[Path]:
    paths = [directory / f"{name}.png", directory / f"{name}.svg"]
    for path in paths:
        figure.savefig(path, dpi=120)
    return paths


def plot_results(results: dict[str, Any], directory: str | Path) -> list[Path]:
    """Write the figures of :func:`run_experiments`' results as PNG and SVG.

    ``vanishing_time``: ‖∂h_T/∂h_t‖₂ against T − t on a log scale, with the bound dashed;
    ``vanishing_depth``: ‖∂L/∂W_l‖ per layer, at initialization and after training;
    ``vanishing_recall``: recall accuracy against k, with chance; ``vanishing_shift``: per-layer
    drift of what f sees and the gradient-based shift, with and without batch norm.

    Parameters
    ----------
    results : dict
        From :func:`run_experiments`.
    directory : str or Path
        Created if missing.

    Returns
    -------
    list of Path
        The files written, a .png and an .svg per experiment.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError(f"plot: expected a directory to write the figures into; received {str(directory)!r}, a file")
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "time" in results:
        experiment = results["time"]
        figure, axes = _figure()
        ax = axes[0, 0]
        for index, flow in enumerate(experiment.flows):
            color = f"C{index}"
            ax.semilogy(flow.distances, flow.norms, color=color, label=f"{flow.activation} measured")
            ax.semilogy(flow.distances, flow.bounds, color=color, linestyle="--", label=f"bound (γλ₁)^(T−t), γ = {flow.gamma:g}")
        ax.set(xlabel="distance T − t", ylabel="‖∂h_T/∂h_t‖₂",
               title=f"Gradient through time (n = {experiment.hidden}, λ₁ = {experiment.flows[0].lambda1:.3g})")
        ax.legend(fontsize="small")
        written += _save(figure, directory, "vanishing_time")
    if "depth" in results:
        experiment = results["depth"]
        figure, axes = _figure(1, 2)
        layers = np.arange(1, experiment.depth + 1)
        for ax, attribute, when in ((axes[0, 0], "grad_norms_init", "at initialization"),
                                    (axes[0, 1], "grad_norms_trained", f"after {experiment.steps} steps")):
            for index, run in enumerate(experiment.runs):
                style = "--" if run.variant.endswith("+bn") else "-"
                ax.semilogy(layers, getattr(run, attribute), style, color=f"C{index // 2 if len(experiment.runs) > 4 else index}",
                            label=run.variant)
            ax.set(xlabel="layer l", ylabel="‖∂L/∂W_l‖", title=f"Per-layer gradient norm {when}")
        axes[0, 0].legend(fontsize="small")
        written += _save(figure, directory, "vanishing_depth")
    if "recall" in results:
        experiment = results["recall"]
        figure, axes = _figure()
        ax = axes[0, 0]
        for name, row in zip(experiment.activations, experiment.accuracy):
            ax.plot(experiment.distances, row, "o-", label=name)
        ax.axhline(experiment.chance, color="gray", linestyle=":", label="chance")
        ax.set(xlabel="distance k", ylabel="test accuracy", ylim=(0, 1.05),
               title=f"Recall a token seen k steps earlier ({experiment.iterations} steps of training)")
        ax.legend(fontsize="small")
        written += _save(figure, directory, "vanishing_recall")
    if results.get("shift"):
        experiments = results["shift"]
        figure, axes = _figure(len(experiments), 2)
        for row, experiment in enumerate(experiments):
            layers = np.arange(1, experiment.depth)
            for index, run in enumerate(experiment.runs):
                axes[row, 0].semilogy(layers, run.drift_mean_u, "-", color=f"C{index}", label=f"{run.variant}: u")
                axes[row, 0].semilogy(layers, run.drift_mean_z, ":", color=f"C{index}", label=f"{run.variant}: z")
                axes[row, 1].semilogy(layers[1:], run.gradient_shift, "-", color=f"C{index}", label=run.variant)
            axes[row, 0].set(xlabel="layer", ylabel="drift of unit means per step",
                             title=f"{experiment.activation}: drift of u (into f) and z (before BN)")
            axes[row, 1].set(xlabel="layer", ylabel="‖G′ − G‖/‖G‖", title=f"{experiment.activation}: gradient-based shift")
            axes[row, 0].legend(fontsize="small")
            axes[row, 1].legend(fontsize="small")
        written += _save(figure, directory, "vanishing_shift")
    return written
