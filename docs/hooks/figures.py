"""MkDocs hook: the lecture pages' teaching figures, drawn while the site is built.

A page asks for one with a line holding only ``<!-- mathnn:figure NAME -->``; the line is replaced
by the figure (SVG, with its alt text), its caption and a link to the PNG. The figures are drawn by
``mathnn.experiments.lecture_figures`` from mathnn's own kernels and optimizer, once per build, and
added to the site under ``images/lecture/``.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.figures")

MARKER = re.compile(r"^<!-- mathnn:figure ([a-z0-9_-]+) -->$", re.MULTILINE)
DIRECTORY = "images/lecture"

# name: (alt text, caption)
FIGURES = {
    "sigmoid": (
        "The sigmoid rises from 0 to 1 through 1/2 at x = 0; its derivative is a bump whose peak, 0.25 at x = 0, is marked",
        "σ (solid) and σ′ (dashed) from mathnn.sigmoid and mathnn.sigmoid_grad; σ′ never exceeds 1/4, reached at x = 0",
    ),
    "relu": (
        "ReLU and Leaky ReLU with α = 0.1 above, their step-shaped derivatives below, with the value mathnn returns at 0 marked",
        "ReLU (solid) and Leaky ReLU with α = 0.1 (dashed), and their derivatives from mathnn.relu_grad and "
        "mathnn.leaky_relu_grad; the dots are the values mathnn gives at the kink",
    ),
    "gradient_descent": (
        "Gradient-descent iterates on the contours of a 2-D quadratic: with η = 0.45 they zigzag into the minimum, with "
        "η = 0.55 they zigzag outwards; below, the distance to the minimum falls or grows geometrically",
        "mathnn.optim.sgd on L(W) = ½ WᵀHW, H with eigenvalues 1 and 4 (2/λₘₐₓ = 0.5), for η just below and just "
        "above 2/λₘₐₓ; the dotted line is the distance at the start",
    ),
    "batchnorm_graph": (
        "Batch norm's graph: x feeds μ, σ² and x̂; μ and σ² feed x̂; x̂ gives y. The direct edge, the path through μ and "
        "the path through σ² are drawn solid, dashed and dotted",
        "The three paths from an input x_j to the output, one term of ∂L/∂x_j each; the edge μ → σ² contributes 0",
    ),
    "rnn_unrolled": (
        "The RNN unrolled over four steps: each input x_t feeds h_t through W_xh, each h_t feeds the next through "
        "W_hh and its output o_t through W_hy; dashed arrows bring the gradient back to h_t from o_t and from h_t+1",
        "The unrolled graph of mathnn.experiments.lecture_figures.rnn_graph(4): solid, the forward pass with the "
        "same three weight matrices at every step; dashed, the two terms of ∂L/∂h_t (none from h_T+1)",
    ),
    "charrnn_loss": (
        "A char-RNN's training loss per step starts at about log V, jumps up over the first few dozen steps, "
        "then falls below the unigram baseline and keeps falling slowly; a moving average is drawn over the noisy "
        "per-chunk losses",
        "CharRNN(seed=0).fit(load_text(), 2000), run while this page was built: the loss of each chunk of 25 "
        "characters (thin), its mean over the last 50 chunks (thick), the unigram baseline (dashed) and the "
        "uniform guess log V (dotted). The spikes, one every 542 steps, are where reading starts over at the "
        "top of the text with a zero hidden state",
    ),
}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Draw the lecture figures and add them to the site."""
    from mathnn.experiments.lecture_figures import lecture_figures

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        for path in lecture_figures(directory):
            files.append(File.generated(config, f"{DIRECTORY}/{path.name}", content=Path(path).read_bytes()))
    log.info("figures: lecture figures drawn in %.1f s", time.perf_counter() - start)
    return files


def figure_markdown(name: str) -> str:
    from mathnn.codegen.render import markdown_text  # a caption's h_t or W*x is text, not emphasis

    alt, caption = FIGURES[name]
    return f"![{markdown_text(alt)}](../{DIRECTORY}/{name}.svg)\n\n*{markdown_text(caption)}* ([PNG](../{DIRECTORY}/{name}.png))"


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in FIGURES:
            log.warning("figures: %s asks for an unknown figure %r (known: %s)",
                        page.file.src_uri, name, ", ".join(FIGURES))
            return match.group(0)
        return figure_markdown(name)

    return MARKER.sub(replace, markdown)
