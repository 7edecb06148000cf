"""The experiments' figures, as PNG and SVG; matplotlib is imported only when a figure is drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .lecture_figures import BLUE, GREEN, GREY, ORANGE, VERMILLION, WIDTH, figure_style, save_figure


def _figure(width: float, height: float) -> Any:
    """An empty matplotlib Figure on the Agg canvas, without pyplot (no global state, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def plot_results(results: dict[str, Any], directory: str | Path) -> list[Path]:
    """Write the figures of :func:`run_experiments`' results as PNG and SVG.

    ``vanishing_time``: ‖∂h_T/∂h_t‖₂ against T − t on a log scale, one panel per activation, with
    the bound dashed; ``vanishing_depth``: ‖∂L/∂W_l‖ per layer, at initialization and after training;
    ``vanishing_recall``: recall accuracy against k, with chance; ``vanishing_shift``: per-layer
    drift of what f sees, one panel per activation, without batch norm, with it and with injected
    noise; ``vanishing_shift_gradient``: the gradient-based shift, laid out the same way;
    ``remedies_lag``: ‖∂L/∂h_{T−k}‖/‖∂L/∂h_T‖ against the lag k on a log scale, one line style per
    cell (median over seeds, the seeds' range shaded), the exploding cell's bound dashed;
    ``remedies_remember``: accuracy against the distance per cell (median over seeds, the seeds'
    range as error bars), with chance.

    The figures share the style of :mod:`mathnn.experiments.lecture_figures`: the width of a page's
    text column, fonts of at least 10 pt there, line styles as well as colours, legends outside
    the data, a white background.

    Parameters
    ----------
    results : dict
        From :func:`run_experiments`.
    directory : str or Path
        Created if missing.

    Returns
    -------
    list of Path
        The files written, a .png and an .svg per figure (two figures for the shift experiment).
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError(f"plot: expected a directory to write the figures into; received {str(directory)!r}, a file")
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with figure_style():
        if "time" in results:
            written += _plot_time(results["time"], directory)
        if "depth" in results:
            written += _plot_depth(results["depth"], directory)
        if "recall" in results:
            written += _plot_recall(results["recall"], directory)
        if results.get("shift"):
            written += _plot_shift(results["shift"], directory)
        if "lag" in results:
            written += _plot_lag(results["lag"], directory)
        if "remember" in results:
            written += _plot_remember(results["remember"], directory)
    return written


# One colour and one marker per activation, one line style per variant, the same in every figure.
_LOOK = {"sigmoid": (BLUE, "o"), "tanh": (ORANGE, "s"), "relu": (GREEN, "^"), "leaky_relu": (VERMILLION, "D")}
_VARIANT_LINE = {"": "-", "+bn": "--", "+bn+noise": ":"}


def _integer_ticks() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _look(activation: str, index: int) -> tuple[str, str]:
    return _LOOK.get(activation, (f"C{index}", "o"))


def _split(variant: str) -> tuple[str, str]:
    """"relu+bn+noise" → ("relu", "+bn+noise")."""
    activation, plus, rest = variant.partition("+")
    return activation, plus + rest


def _panels(count: int, height_per_row: float, columns: int = 2, **kwargs: Any) -> tuple[Any, list[Any]]:
    """``count`` panels, ``columns`` to a row at most, in a figure as wide as a page's text column."""
    columns = min(columns, count)
    rows = -(-count // columns)
    figure = _figure(WIDTH, height_per_row * rows + 0.9)  # the column's width; room for the legend below
    grid = figure.subplots(rows, columns, squeeze=False, **kwargs)
    flat = [ax for row in grid for ax in row]
    for ax in flat[count:]:
        ax.set_visible(False)
    return figure, flat[:count]


def _plot_time(experiment: Any, directory: Path) -> list[Path]:
    from matplotlib.lines import Line2D

    flows = experiment.flows
    figure, axes = _panels(len(flows), 2.9, sharex=True, sharey=True)
    for index, (ax, flow) in enumerate(zip(axes, flows)):
        color, marker = _look(flow.activation, index)
        ax.semilogy(flow.distances, flow.norms, "-", color=color)
        ax.semilogy(flow.distances, flow.bounds, "--", color=GREY)
        ax.set_title(f"{flow.activation}, γ = {flow.gamma:g}")
    for ax in axes[-2:] if len(axes) > 1 else axes:
        ax.set_xlabel("distance T − t")
    for ax in axes[::2]:
        ax.set_ylabel(r"$\|\partial h_T / \partial h_t\|_2$")
    figure.suptitle(f"Gradient through time ({experiment.settings['hidden']} units, λ₁ = {flows[0].lambda1:.3g})")
    handles = [Line2D([], [], color="black", linestyle="-"), Line2D([], [], color=GREY, linestyle="--")]
    figure.legend(handles, ["measured", "bound (γλ₁)^(T − t)"], loc="outside lower center", ncols=2, frameon=False)
    return save_figure(figure, directory, "vanishing_time")


def _plot_depth(experiment: Any, directory: Path) -> list[Path]:
    from matplotlib.lines import Line2D

    figure, axes = _panels(2, 3.4, columns=1, sharex=True)
    layers = np.arange(1, experiment.settings["depth"] + 1)
    activations: list[str] = []
    for ax, attribute, when in ((axes[0], "grad_norms_init", "at initialization"),
                                (axes[1], "grad_norms_trained", f"after {experiment.settings['steps']} steps")):
        for run in experiment.runs:
            activation, variant = _split(run.variant)
            if activation not in activations:
                activations.append(activation)
            color, marker = _look(activation, activations.index(activation))
            ax.semilogy(layers, getattr(run, attribute), _VARIANT_LINE.get(variant, "-"), color=color,
                        marker=marker, markevery=3, markersize=6)
        ax.set(ylabel=r"$\|\partial L / \partial W_l\|$", title=f"Per-layer gradient norm {when}")
    axes[1].set_xlabel("layer l")
    axes[1].xaxis.set_major_locator(_integer_ticks())
    handles = [Line2D([], [], color=_look(a, i)[0], marker=_look(a, i)[1], linestyle="-") for i, a in enumerate(activations)]
    labels = list(activations)
    variants = sorted({_split(run.variant)[1] for run in experiment.runs}, key=len)
    handles += [Line2D([], [], color="black", linestyle=_VARIANT_LINE.get(v, "-")) for v in variants]
    labels += ["without batch norm" if not v else "with batch norm" if v == "+bn" else v for v in variants]
    figure.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
    return save_figure(figure, directory, "vanishing_depth")


def _plot_recall(experiment: Any, directory: Path) -> list[Path]:
    settings = experiment.settings
    figure, axes = _panels(1, 4.4)
    ax = axes[0]
    for index, (name, row) in enumerate(zip(settings["activations"], experiment.accuracy)):
        color, marker = _look(name, index)
        ax.plot(settings["distances"], row, ("-", "--", "-.", ":")[index % 4], marker=marker, color=color, label=name)
    ax.axhline(experiment.chance, color=GREY, linestyle=":", label="chance")
    ax.set(xlabel="distance k", ylabel="test accuracy", ylim=(0, 1.05),
           title=f"Recall a token seen k steps earlier ({settings['steps']} training steps)")
    handles, labels = ax.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), frameon=False)
    return save_figure(figure, directory, "vanishing_recall")


def _variant_legend(figure: Any, variants: list[str]) -> None:
    from matplotlib.lines import Line2D

    names = {"": "without batch norm", "+bn": "with batch norm", "+bn+noise": "with batch norm and injected noise"}
    handles = [Line2D([], [], color=_VARIANT_COLOR.get(v, "black"), linestyle=_VARIANT_LINE.get(v, "-")) for v in variants]
    figure.legend(handles, [names.get(v, v) for v in variants], loc="outside lower center", ncols=1, frameon=False)


_VARIANT_COLOR = {"": BLUE, "+bn": VERMILLION, "+bn+noise": GREEN}


def _plot_shift(experiments: list[Any], directory: Path) -> list[Path]:
    written: list[Path] = []
    for name, title, ylabel in (
        ("vanishing_shift", "Drift of the unit means of u, what the activation sees", "drift per step"),
        ("vanishing_shift_gradient", "Gradient-based shift ‖G′ − G‖/‖G‖", "‖G′ − G‖/‖G‖"),
    ):
        figure, axes = _panels(len(experiments), 2.9, sharex=True)
        variants: list[str] = []
        for ax, experiment in zip(axes, experiments):
            layers = np.arange(1, experiment.settings["depth"])
            for run in experiment.runs:
                variant = _split(run.variant)[1]
                if variant not in variants:
                    variants.append(variant)
                style = {"color": _VARIANT_COLOR.get(variant, "black"), "linestyle": _VARIANT_LINE.get(variant, "-")}
                if name == "vanishing_shift":
                    ax.semilogy(layers, run.drift_mean_u, **style)
                else:
                    ax.semilogy(layers[1:], run.gradient_shift, **style)
            ax.set_title(experiment.settings["activation"])
            ax.xaxis.set_major_locator(_integer_ticks())
        for ax in axes[-2:] if len(axes) > 1 else axes:
            ax.set_xlabel("layer")
        for ax in axes[::2]:
            ax.set_ylabel(ylabel)
        figure.suptitle(title)
        _variant_legend(figure, variants)
        written += save_figure(figure, directory, name)
    return written


# The remedies: one colour, marker and line style per cell (Okabe-Ito colours), the same in both figures.
_CELL_LOOK = {
    "tanh": (ORANGE, "s", "-"),
    "irnn": (GREEN, "^", "--"),
    "tanh-orthogonal": ("#CC79A7", "v", "-."),
    "relu-orthogonal": ("#56B4E9", "D", ":"),
    "lstm-f0": (GREY, "x", (0, (5, 1))),
    "lstm-f1": (BLUE, "o", (0, (3, 1, 1, 1, 1, 1))),
    "lstm-f3": ("#000000", "P", (0, (1, 1))),
    "exploding": (VERMILLION, "*", (0, (8, 2))),
}


def _cell_look(cell: str, index: int) -> tuple[Any, str, Any]:
    return _CELL_LOOK.get(cell, (f"C{index}", "o", "-"))


def _plot_lag(experiment: Any, directory: Path) -> list[Path]:
    figure = _figure(WIDTH, 6.4)
    ax = figure.subplots()
    lags = np.array(experiment.lags)
    every = max(1, len(lags) // 8)
    for index, (cell, name, rows) in enumerate(zip(experiment.settings["cells"], experiment.names, experiment.ratios)):
        color, marker, line = _cell_look(cell, index)
        ax.semilogy(lags, np.median(rows, axis=0), linestyle=line, color=color, marker=marker, markevery=every,
                    markersize=6, label=name)
        ax.fill_between(lags, rows.min(axis=0), rows.max(axis=0), color=color, alpha=0.15, linewidth=0)
    if "exploding" in experiment.bounds:
        ax.semilogy(lags, experiment.bounds["exploding"], "--", color=GREY, linewidth=1.2,
                    label="bound (λ₁γ)^k = 1.2^k")
    ax.set(xlabel="lag k", ylabel=r"$\|\partial L/\partial h_{T-k}\| \,/\, \|\partial L/\partial h_T\|$",
           title=f"Gradient reaching k steps back ({experiment.settings['hidden']} units, "
                 f"{len(experiment.seeds)} seeds)")
    handles, labels = ax.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    return save_figure(figure, directory, "remedies_lag")


def _plot_remember(experiment: Any, directory: Path) -> list[Path]:
    settings = experiment.settings
    figure = _figure(WIDTH, 4.6)
    ax = figure.subplots()
    distances = np.array(settings["distances"], dtype=float)
    offsets = np.linspace(-0.04, 0.04, len(settings["cells"]))  # on a log axis: a small shift per cell
    for index, (cell, name, rows) in enumerate(zip(settings["cells"], experiment.names, experiment.accuracy)):
        color, marker, line = _cell_look(cell, index)
        median = np.median(rows, axis=0)
        x = distances * 10 ** offsets[index]
        ax.errorbar(x, median, yerr=[median - rows.min(axis=0), rows.max(axis=0) - median], linestyle=line,
                    color=color, marker=marker, markersize=6, capsize=3, label=name)
    ax.axhline(experiment.chance, color=GREY, linestyle=":", label="chance")
    ax.set_xscale("log", base=2)
    ax.set_xticks(distances, [f"{k:g}" for k in distances])
    ax.set(xlabel="distance k (noise steps after the sign)", ylabel="test accuracy", ylim=(-0.02, 1.05),
           title=f"Remember the sign of the first input ({settings['steps']} steps, {len(experiment.seeds)} seeds)")
    handles, labels = ax.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
    return save_figure(figure, directory, "remedies_remember")
