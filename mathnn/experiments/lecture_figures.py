"""The lecture pages' teaching figures: sigmoid, ReLU and Leaky ReLU, gradient descent, batch norm's graph,
the unrolled RNN and a char-RNN's loss curve.

Each figure has a data function (the numbers it shows, computed with mathnn's own kernels and
optimizer, so a test can check them) and a drawing function that writes it as PNG and SVG.
matplotlib is imported only when a figure is drawn, on the Agg canvas, without pyplot.

All figures share one style, chosen to stay legible on the site's light and dark themes and at the
width of a page's text column (about 750 px): a white background, fonts of at least 10 pt at that
width, lines told apart by their style as well as their colour, and legends outside the data.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..activations import leaky_relu, leaky_relu_grad, relu, relu_grad, sigmoid, sigmoid_grad
from ..errors import InputError
from ..optim import sgd

WIDTH = 6.4  # inches: 768 px at DPI 120, so the PNG is shown at about its own size in a 750 px column
DPI = 120
# Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
BLUE, ORANGE, GREEN, VERMILLION, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#666666"
STYLE = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10.5,
    "xtick.labelsize": 10.5,
    "ytick.labelsize": 10.5,
    "lines.linewidth": 2.2,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.edgecolor": GREY,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.8,
    "svg.fonttype": "path",  # the SVG looks the same without the fonts installed
}


# -- data --------------------------------------------------------------------------------------------


def sigmoid_curves(x: Sequence[float] | np.ndarray | None = None) -> dict[str, np.ndarray]:
    """σ and σ′ on a grid, from mathnn's kernels; the grid holds 0 so that σ′'s maximum is on it.

    Returns
    -------
    dict
        ``x``, ``sigma``, ``grad``: arrays of the same length.
    """
    grid = np.linspace(-6.0, 6.0, 241) if x is None else np.asarray(x, dtype=float)
    return {"x": grid, "sigma": np.asarray(sigmoid(grid)), "grad": np.asarray(sigmoid_grad(grid))}


def relu_curves(alpha: float = 0.1, x: Sequence[float] | np.ndarray | None = None) -> dict[str, np.ndarray]:
    """ReLU, Leaky ReLU and their derivatives on a grid holding 0, from mathnn's kernels.

    Returns
    -------
    dict
        ``x``, ``relu``, ``relu_grad``, ``leaky``, ``leaky_grad``: arrays of the same length.
    """
    grid = np.linspace(-3.0, 3.0, 241) if x is None else np.asarray(x, dtype=float)
    return {
        "x": grid,
        "relu": np.asarray(relu(grid)),
        "relu_grad": np.asarray(relu_grad(grid)),
        "leaky": np.asarray(leaky_relu(grid, alpha=alpha)),
        "leaky_grad": np.asarray(leaky_relu_grad(grid, alpha=alpha)),
    }


def largest_stable_rate(hessian: Sequence[Sequence[float]] | np.ndarray) -> float:
    """2/λ_max for a symmetric positive-definite Hessian: gradient descent on the quadratic
    ½(W − W*)ᵀH(W − W*) converges from every start exactly when 0 < η < 2/λ_max.

    Raises
    ------
    InputError
        If ``hessian`` is not a symmetric positive-definite matrix.
    """
    matrix = np.asarray(hessian, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not np.allclose(matrix, matrix.T):
        raise InputError(f"hessian: expected a symmetric square matrix; received shape {matrix.shape}")
    eigenvalues = np.linalg.eigvalsh(matrix)
    if eigenvalues.min() <= 0:
        raise InputError(f"hessian: expected positive-definite; its eigenvalues are {eigenvalues.tolist()}")
    return float(2.0 / eigenvalues.max())


GD_HESSIAN = np.array([[2.5, 1.5], [1.5, 2.5]])  # eigenvalues 1 and 4, so 2/λ_max = 0.5
GD_MINIMUM = np.array([0.0, 0.0])
GD_START = np.array([-2.0, 1.0])
GD_RATES = (0.45, 0.55)


def gd_trajectories(
    hessian: Sequence[Sequence[float]] | np.ndarray = GD_HESSIAN,
    start: Sequence[float] | np.ndarray = GD_START,
    learning_rates: Sequence[float] = GD_RATES,
    steps: int = 30,
    minimum: Sequence[float] | np.ndarray = GD_MINIMUM,
) -> dict[float, np.ndarray]:
    """Gradient descent with :func:`mathnn.optim.sgd` on L(W) = ½(W − W*)ᵀH(W − W*), from ``start``.

    Returns
    -------
    dict of float to ndarray
        For each learning rate, the iterates W_0 … W_steps as rows, shape (steps + 1, dimension).
    """
    matrix = np.asarray(hessian, dtype=float)
    target = np.asarray(minimum, dtype=float)
    paths = {}
    for rate in learning_rates:
        params = {"W": np.array(start, dtype=float)}
        rows = [params["W"].copy()]
        for _ in range(steps):
            sgd(params, {"W": matrix @ (params["W"] - target)}, rate)
            rows.append(params["W"].copy())
        paths[float(rate)] = np.array(rows)
    return paths


# Batch norm's graph for one input x_j: the nodes, where they are drawn, and its edges.
BATCHNORM_NODES = {"x": (0.0, 0.0), "μ": (2.0, 1.5), "σ²": (2.0, -1.5), "x̂": (4.0, 0.0), "y": (6.0, 0.0)}
BATCHNORM_EDGES = (("x", "x̂"), ("x", "μ"), ("μ", "x̂"), ("x", "σ²"), ("σ²", "x̂"), ("μ", "σ²"), ("x̂", "y"))
# The three paths that carry a term of ∂L/∂x_j; the fourth, x → μ → σ² → x̂ → y, carries
# (∂L/∂σ²)·(−2/m)·Σ_i(x_i − μ)·(1/m) = 0.
BATCHNORM_PATHS = {
    "direct": ("x", "x̂", "y"),
    "through μ": ("x", "μ", "x̂", "y"),
    "through σ²": ("x", "σ²", "x̂", "y"),
}


def batchnorm_path_terms(
    x: np.ndarray, dout: np.ndarray, gamma: np.ndarray, eps: float = 1e-5
) -> dict[str, np.ndarray]:
    """The three terms of ∂L/∂x for a batch (N, D), one per path of :data:`BATCHNORM_PATHS`.

    Their sum is the gradient ``batchnorm_backward`` returns: the test of the figure checks it.
    """
    x, dout, gamma = (np.asarray(a, dtype=float) for a in (x, dout, gamma))
    m = x.shape[0]
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    inv = 1.0 / np.sqrt(var + eps)
    dxhat = dout * gamma
    dvar = -0.5 * inv**3 * (dxhat * (x - mu)).sum(axis=0)
    dmu = -inv * dxhat.sum(axis=0) + dvar * (-2.0 / m) * (x - mu).sum(axis=0)
    return {
        "direct": dxhat * inv,
        "through μ": np.broadcast_to(dmu / m, x.shape).copy(),
        "through σ²": dvar * 2.0 * (x - mu) / m,
    }


# The RNN unrolled over T steps: where each node is drawn (step t at x = t), the forward edges with the
# weight each one multiplies by, and the two edges that bring ∂L/∂h_t back to h_t.
def rnn_graph(length: int = 4) -> dict[str, Any]:
    """The unrolled RNN: inputs x_1…x_T, states h_0…h_T, outputs o_1…o_T, and its edges.

    Returns
    -------
    dict
        ``nodes``: name → (x, y); ``forward``: (start, end, weight) for x_t → h_t (W_xh),
        h_{t−1} → h_t (W_hh) and h_t → o_t (W_hy); ``backward``: (start, end) for the gradient
        reaching h_t from o_t and from h_{t+1} (absent at t = T).
    """
    if not isinstance(length, int) or length < 2:
        raise InputError(f"length: expected an int ≥ 2, the length T of the unrolled sequence; received {length!r}")
    nodes: dict[str, tuple[float, float]] = {"h_0": (0.0, 1.0)}
    forward: list[tuple[str, str, str]] = []
    backward: list[tuple[str, str]] = []
    for t in range(1, length + 1):
        nodes[f"x_{t}"], nodes[f"h_{t}"], nodes[f"o_{t}"] = (float(t), 0.0), (float(t), 1.0), (float(t), 2.0)
        forward += [(f"x_{t}", f"h_{t}", "W_xh"), (f"h_{t - 1}", f"h_{t}", "W_hh"), (f"h_{t}", f"o_{t}", "W_hy")]
        backward.append((f"o_{t}", f"h_{t}"))
        if t < length:
            backward.append((f"h_{t + 1}", f"h_{t}"))
    return {"nodes": nodes, "forward": forward, "backward": backward}


#: The char-RNN of the loss-curve figure: mathnn.models.CharRNN's defaults, seed 0, on the shipped text,
#: for as many steps as the run of docs/lecture/next-character.md, so the curve is that run's (about 3 s).
CHARRNN_STEPS = 2000
CHARRNN_SEED = 0


@functools.lru_cache(maxsize=2)
def trained_charrnn(steps: int = CHARRNN_STEPS, seed: int = CHARRNN_SEED) -> tuple[Any, tuple[float, ...], float]:
    """:class:`mathnn.models.CharRNN` (seed ``seed``) trained for ``steps`` chunks of the shipped text.

    Returns the model, each chunk's loss before its update, and the seconds the training took. Kept
    for the process: the docs build's loss-curve figure and the next-character page's table and
    sample show the same run, trained once. Sampling draws from the model's own random numbers, so a
    caller that samples changes what a later sample gives, never the losses.
    """
    from ..data import load_text
    from ..models.charrnn import CharRNN

    model = CharRNN(seed=seed)
    start = time.perf_counter()
    losses = tuple(float(loss) for loss in model.fit(load_text(), steps, progress=False))
    return model, losses, time.perf_counter() - start


def charrnn_losses(steps: int = CHARRNN_STEPS, seed: int = CHARRNN_SEED) -> dict[str, Any]:
    """Train :class:`mathnn.models.CharRNN` on the shipped text (``mathnn.data.load_text``), as
    ``mathnn charrnn train`` does, and return its loss per step with the baselines to compare it with.

    Returns
    -------
    dict
        ``losses``: each training chunk's loss before its update (nats per character);
        ``unigram``: the loss of predicting every character by its frequency in the text;
        ``uniform``: log of the number of distinct characters; ``steps_per_pass``: the chunks in one
        pass over the text.
    """
    from ..data import load_text
    from ..models.charrnn import unigram_loss

    text = load_text()
    model, losses, _ = trained_charrnn(steps, seed)
    return {
        "losses": np.asarray(losses),
        "unigram": unigram_loss(text),
        "uniform": float(np.log(len(set(text)))),
        "steps_per_pass": (len(text) - 1) // model.seq_length,
    }


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """The mean of each value and the ``window − 1`` before it (fewer at the start)."""
    sums = np.cumsum(np.insert(np.asarray(values, dtype=float), 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (sums[1:] - sums[np.arange(1, len(values) + 1) - counts]) / counts


# -- drawing -----------------------------------------------------------------------------------------


@contextmanager
def figure_style() -> Iterator[None]:
    """The figures' shared matplotlib settings, for the duration of a with block."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def _figure(rows: int, columns: int, height: float, **kwargs: Any) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(rows, columns, squeeze=False, **kwargs)


def save_figure(figure: Any, directory: Path, name: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{name}.png", directory / f"{name}.svg"]
    figure.savefig(paths[0], dpi=DPI)
    # The constrained layout is found while the PNG is drawn; the SVG keeps it instead of searching again
    # (the layout is in fractions of the figure, the same for both).
    engine = figure.get_layout_engine()
    figure.set_layout_engine("none")
    figure.savefig(paths[1], dpi=DPI)
    figure.set_layout_engine(engine)
    return paths


def _legend_below(figure: Any, axes: Any, columns: int) -> None:
    handles, labels = axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=columns, frameon=False)


def draw_sigmoid(directory: str | Path) -> list[Path]:
    """σ (solid) and σ′ (dashed), with σ′'s maximum 1/4 at x = 0 marked."""
    data = sigmoid_curves()
    with figure_style():
        figure, axes = _figure(1, 1, 4.2)
        ax = axes[0, 0]
        ax.plot(data["x"], data["sigma"], "-", color=BLUE, label="σ(x) = 1/(1 + e⁻ˣ)")
        ax.plot(data["x"], data["grad"], "--", color=VERMILLION, label="σ′(x) = σ(x)(1 − σ(x))")
        peak = int(np.argmax(data["grad"]))
        ax.plot(data["x"][peak], data["grad"][peak], "o", color=VERMILLION, markersize=8)
        ax.axhline(0.25, color=GREY, linestyle=":", linewidth=1.4)
        ax.annotate(f"max σ′ = σ′({data['x'][peak]:g}) = {data['grad'][peak]:g}",
                    xy=(data["x"][peak], data["grad"][peak]), xytext=(1.3, 0.38),
                    arrowprops={"arrowstyle": "->", "color": GREY})
        ax.set(xlabel="x", ylim=(-0.03, 1.05), xlim=(-6, 6))
        _legend_below(figure, ax, 2)
        return save_figure(figure, Path(directory), "sigmoid")


def draw_relu(directory: str | Path, alpha: float = 0.1) -> list[Path]:
    """ReLU (solid) and Leaky ReLU (dashed), the functions above and their derivatives below."""
    data = relu_curves(alpha)
    negative, positive = data["x"] < 0, data["x"] > 0
    with figure_style():
        figure, axes = _figure(2, 1, 6.4, sharex=True)
        top, bottom = axes[0, 0], axes[1, 0]
        top.plot(data["x"], data["relu"], "-", color=BLUE, label="ReLU")
        top.plot(data["x"], data["leaky"], "--", color=VERMILLION, label=f"Leaky ReLU, α = {alpha:g}")
        top.set(ylabel="f(x)", title="The functions")
        # The derivative jumps at 0: draw each side separately, and mathnn's value at 0 as a dot.
        for mask in (negative, positive):
            bottom.plot(data["x"][mask], data["relu_grad"][mask], "-", color=BLUE)
            bottom.plot(data["x"][mask], data["leaky_grad"][mask], "--", color=VERMILLION)
        zero = int(np.flatnonzero(data["x"] == 0)[0])
        bottom.plot(0, data["relu_grad"][zero], "o", color=BLUE, markersize=8,
                    label=f"ReLU′(0) = {data['relu_grad'][zero]:g} in mathnn")
        bottom.plot(0, data["leaky_grad"][zero], "s", color=VERMILLION, markersize=8,
                    label="Leaky ReLU′(0) = α in mathnn")
        bottom.set(xlabel="x", ylabel="f′(x)", ylim=(-0.15, 1.2), title="The derivatives")
        handles = top.get_legend_handles_labels()
        extra = bottom.get_legend_handles_labels()
        figure.legend(handles[0] + extra[0], handles[1] + extra[1], loc="outside lower center", ncols=2,
                      frameon=False)
        return save_figure(figure, Path(directory), "relu")


def draw_gradient_descent(directory: str | Path) -> list[Path]:
    """Iterates on a 2-D quadratic for η just below and just above 2/λ_max, and their distance to W*."""
    limit = largest_stable_rate(GD_HESSIAN)
    paths = gd_trajectories()
    shown = 8
    styles = {GD_RATES[0]: ("-", "o", BLUE), GD_RATES[1]: ("--", "s", VERMILLION)}
    with figure_style():
        figure, axes = _figure(2, 1, 8.6)
        top, bottom = axes[0, 0], axes[1, 0]
        grid = np.linspace(-4.5, 4.5, 181)
        u, v = np.meshgrid(grid, grid)
        points = np.stack([u - GD_MINIMUM[0], v - GD_MINIMUM[1]], axis=-1)
        loss = 0.5 * np.einsum("...i,ij,...j->...", points, GD_HESSIAN, points)
        top.contour(u, v, loss, levels=[0.25, 1, 2.5, 5, 10, 20], colors="#bbbbbb", linewidths=1)
        for rate, path in paths.items():
            line, marker, color = styles[rate]
            verdict = "converges" if rate < limit else "diverges"
            top.plot(path[: shown + 1, 0], path[: shown + 1, 1], line, marker=marker, color=color,
                     markersize=5, label=f"η = {rate:g} ({verdict})")
            distance = np.linalg.norm(path - GD_MINIMUM, axis=1)
            bottom.semilogy(np.arange(len(distance)), distance, line, marker=marker, color=color, markersize=4)
        top.plot(*GD_START, "k^", markersize=8, label="start")
        top.plot(*GD_MINIMUM, "k*", markersize=12, label="minimum W*")
        top.set(xlim=(-4.5, 4.5), ylim=(-4.5, 4.5), aspect="equal", xlabel="w₁", ylabel="w₂",
                title=f"First {shown} steps; H has eigenvalues 1 and 4, " + r"$2/\lambda_{\max}$" + f" = {limit:g}")
        bottom.axhline(np.linalg.norm(GD_START - GD_MINIMUM), color=GREY, linestyle=":", linewidth=1.4)
        bottom.set(xlabel="step k", ylabel=r"$\|W_k - W^*\|$", title="Distance to the minimum")
        _legend_below(figure, top, 2)
        return save_figure(figure, Path(directory), "gradient_descent")


def draw_batchnorm_graph(directory: str | Path) -> list[Path]:
    """Batch norm's graph for one input x_j, with its three gradient paths drawn in three line styles."""
    from matplotlib.lines import Line2D

    path_styles = {"direct": ("-", BLUE), "through μ": ("--", VERMILLION), "through σ²": (":", GREEN)}
    edge_style = {}
    for name, nodes in BATCHNORM_PATHS.items():
        for edge in zip(nodes, nodes[1:]):
            if edge != ("x̂", "y"):
                edge_style[edge] = name
    with figure_style():
        figure, axes = _figure(1, 1, 4.3)
        ax = axes[0, 0]
        ax.set_axis_off()
        ax.set(xlim=(-0.7, 6.7), ylim=(-2.3, 2.3), aspect="equal")
        for start, end in BATCHNORM_EDGES:
            (x0, y0), (x1, y1) = BATCHNORM_NODES[start], BATCHNORM_NODES[end]
            if (start, end) in edge_style:
                line, color = path_styles[edge_style[(start, end)]]
                props = {"arrowstyle": "-|>", "color": color, "linestyle": line, "linewidth": 2.6,
                         "shrinkA": 20, "shrinkB": 20, "mutation_scale": 18}
            elif (start, end) == ("x̂", "y"):
                props = {"arrowstyle": "-|>", "color": "black", "linewidth": 2.6, "shrinkA": 20,
                         "shrinkB": 20, "mutation_scale": 18}
            else:
                props = {"arrowstyle": "-|>", "color": "#aaaaaa", "linewidth": 1.2, "shrinkA": 20,
                         "shrinkB": 20, "mutation_scale": 12}
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=props)
        for name, (px, py) in BATCHNORM_NODES.items():
            ax.text(px, py, name, ha="center", va="center", fontsize=14,
                    bbox={"boxstyle": "circle,pad=0.35", "facecolor": "white", "edgecolor": "black"})
        ax.text(2.0, -2.15, "grey: μ → σ², adds 0 since Σᵢ(xᵢ − μ) = 0", ha="center", va="center", fontsize=10,
                color=GREY)
        ax.text(5.0, 0.35, "γx̂ + β", ha="center", va="bottom", fontsize=11)
        handles = [Line2D([], [], linestyle=line, color=color, linewidth=2.6) for line, color in path_styles.values()]
        labels = ["direct: (∂L/∂x̂ⱼ)/√(σ² + ε)", "through μ: (1/m)·∂L/∂μ", "through σ²: (2(xⱼ − μ)/m)·∂L/∂σ²"]
        figure.legend(handles, labels, loc="outside lower center", ncols=1, frameon=False)
        return save_figure(figure, Path(directory), "batchnorm_graph")


def draw_rnn_unrolled(directory: str | Path, length: int = 4) -> list[Path]:
    """The RNN unrolled over T steps: the forward edges solid, the gradient reaching h_t dashed."""
    graph = rnn_graph(length)
    nodes = graph["nodes"]
    labels = {"W_xh": "$W_{xh}$", "W_hh": "$W_{hh}$", "W_hy": "$W_{hy}$"}
    with figure_style():
        figure, axes = _figure(1, 1, 4.0)
        ax = axes[0, 0]
        ax.set_axis_off()
        ax.set(xlim=(-0.5, length + 0.5), ylim=(-0.3, 2.3), aspect="equal")
        arrow = {"arrowstyle": "-|>", "shrinkA": 17, "shrinkB": 17, "mutation_scale": 15}
        for start, end, weight in graph["forward"]:
            (x0, y0), (x1, y1) = nodes[start], nodes[end]
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops={**arrow, "color": "black", "linewidth": 1.8})
            if end.endswith("_1") or start == "h_0":  # label each weight once, at the first step
                # W_hh above its edge, W_hy left of its edge (the gradient runs down on the right)
                dx, dy, ha, va = {"W_hh": (0.0, 0.1, "center", "bottom"), "W_hy": (-0.08, 0.0, "right", "center"),
                                  "W_xh": (0.08, 0.0, "left", "center")}[weight]
                ax.text((x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy, labels[weight], fontsize=11, ha=ha, va=va)
        for start, end in graph["backward"]:
            (x0, y0), (x1, y1) = nodes[start], nodes[end]
            # drawn beside the forward edge it runs against: right of o_t → h_t, below h_{t+1} → h_t
            shift = (0.2, 0.0) if x0 == x1 else (0.0, -0.2)
            ax.annotate("", xy=(x1 + shift[0], y1 + shift[1]), xytext=(x0 + shift[0], y0 + shift[1]),
                        arrowprops={**arrow, "color": VERMILLION, "linewidth": 1.8, "linestyle": "--",
                                    "shrinkA": 19, "shrinkB": 19})
        for name, (px, py) in nodes.items():
            letter, step = name.split("_")
            ax.text(px, py, f"${letter}_{{{step}}}$", ha="center", va="center", fontsize=13,
                    bbox={"boxstyle": "circle,pad=0.3", "facecolor": "white",
                          "edgecolor": GREY if name == "h_0" else "black"})
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color="black", linewidth=1.8),
                   Line2D([], [], color=VERMILLION, linewidth=1.8, linestyle="--")]
        figure.legend(handles, ["forward: the same $W_{xh}$, $W_{hh}$, $W_{hy}$ at every step",
                                "backward: $∂L/∂h_t$ arrives from $o_t$ and from $h_{t+1}$ (none at $t = T$)"],
                      loc="outside lower center", ncols=1, frameon=False)
        return save_figure(figure, Path(directory), "rnn_unrolled")


def draw_charrnn_loss(directory: str | Path, steps: int = CHARRNN_STEPS) -> list[Path]:
    """A char-RNN's loss per training step, with its moving average and the unigram and uniform baselines."""
    data = charrnn_losses(steps)
    losses = data["losses"]
    step = np.arange(1, len(losses) + 1)
    with figure_style():
        figure, axes = _figure(1, 1, 4.2)
        ax = axes[0, 0]
        ax.plot(step, losses, color=BLUE, linewidth=0.8, alpha=0.35, label="loss of each chunk")
        ax.plot(step, moving_average(losses, 50), color=BLUE, linestyle="-", label="mean of the last 50 chunks")
        ax.axhline(data["unigram"], color=VERMILLION, linestyle="--",
                   label=f"unigram baseline, {data['unigram']:.2f}")
        ax.axhline(data["uniform"], color=GREY, linestyle=":", label=f"uniform guess, log V = {data['uniform']:.2f}")
        ax.set(xlabel="training step (one chunk of 25 characters)", ylabel="nats per character",
               xlim=(0, len(losses)), ylim=(0, max(data["uniform"], float(losses.max())) * 1.05))
        _legend_below(figure, ax, 2)
        return save_figure(figure, Path(directory), "charrnn_loss")


FIGURES = {
    "sigmoid": draw_sigmoid,
    "relu": draw_relu,
    "gradient_descent": draw_gradient_descent,
    "batchnorm_graph": draw_batchnorm_graph,
    "rnn_unrolled": draw_rnn_unrolled,
    "charrnn_loss": draw_charrnn_loss,
}


def lecture_figures(directory: str | Path) -> list[Path]:
    """Draw every lecture figure into ``directory`` (created if missing); a .png and an .svg each."""
    written: list[Path] = []
    for draw in FIGURES.values():
        written += draw(directory)
    return written
