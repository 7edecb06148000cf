"""MkDocs hook: the lecture pages' experiments, run while the site is built.

A page asks for one with a line holding only ``<!-- mathnn:experiment NAME -->``; the line is
replaced by the experiment's Markdown (a table, a sample, a figure, a proven claim). Nothing on the
lecture pages is a pasted number: each figure is computed from the package at build time, with a
fixed seed, so a change in the code shows up on the page.

The vanishing-gradient figures are drawn once per build (``mathnn.experiments.plot_results``) and
added to the site under ``images/vanishing/``.

Each experiment's Markdown, and the figures, are kept in the experiment cache
(``mathnn.experiments.cache``): a build reruns an experiment only when its function here, its seed,
the ``mathnn`` code it ran or the NumPy/Python versions changed, so the page shows exactly what a
run would. ``MATHNN_NO_EXPERIMENT_CACHE=1 mkdocs build`` reruns them all.

``MATHNN_DOCS_PROFILE=quick mkdocs build`` runs the vanishing-gradient experiments smaller (fewer
training steps, narrower stacks, fewer seeds: ``QUICK``), through the same functions, reports and
figures, and says so on each page that shows them. The test suite builds the site this way; the
experiments' own tests run them at the lecture's sizes.
"""

from __future__ import annotations

import base64
import inspect
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.experiments")

MARKER = re.compile(r"^<!-- mathnn:experiment ([a-z0-9-]+) -->$", re.MULTILINE)
FIGURES = "images/vanishing"
SEED = 0
PROFILE_VARIABLE = "MATHNN_DOCS_PROFILE"
#: The quick build's arguments of each vanishing-gradient experiment (see ``run_experiments``'s ``settings``).
QUICK = {
    "depth": {"steps": 20, "width": 16},
    "recall": {"steps": 40, "test_count": 100},
    "shift": {"steps": 10, "width": 16, "probes": 2},
    "remember": {"steps": 20, "seeds": 2, "test_count": 100},
}

_cache: dict[str, object] = {}

#: The examples whose check in the current experiment did not run through (see ``_cached``).
_unsettled: set[str] = set()


def _fenced(text: str, language: str = "text") -> str:
    return f"```{language}\n" + text.rstrip() + "\n```"


def _markdown_table(headers: Sequence[object], rows: Sequence[Sequence[object]], align: str = "left") -> str:
    """A report's table as a Markdown table (``TableFormat`` of mathnn.experiments.report).

    The page's tables scroll sideways when they are wider than the column; the command line's aligned
    text would wrap inside a code block, each row over several lines. The first column holds labels
    and is aligned left; with ``align="right"`` the others, numbers, are aligned right.
    """
    from mathnn.codegen.render import markdown_text

    def line(cells: Sequence[object]) -> str:
        return "| " + " | ".join(markdown_text(str(cell)) for cell in cells) + " |"

    rule = "|---|" + ("--:|" if align == "right" else "---|") * (len(headers) - 1)
    return "\n".join(["", line(headers), rule, *map(line, rows), ""])


def _report(text: str) -> str:
    """A report written with ``_markdown_table`` as Markdown: its tables as they are, each line of text a
    paragraph, and the indented lines under one (the verdict of each activation) a list."""
    from mathnn.codegen.render import markdown_text

    blocks: list[str] = []
    in_table = False
    for line in text.splitlines():
        if not line.strip():
            in_table = False
        elif line.startswith("|"):
            if in_table:
                blocks[-1] += "\n" + line
            else:
                blocks.append(line)
            in_table = True
        else:
            words = re.sub(r"^(\d+)\.", r"\1\\.", markdown_text(line.strip()))  # "1. Through time" is no list
            if line.startswith(" ") and blocks and blocks[-1].startswith("- "):
                blocks[-1] += "\n- " + words
            else:
                blocks.append(("- " if line.startswith(" ") else "") + words)
            in_table = False
    return "\n\n".join(blocks)


def _profile() -> str:
    """``quick`` when ``MATHNN_DOCS_PROFILE`` asks for the quick build, else ``full`` (anything else is an error)."""
    value = os.environ.get(PROFILE_VARIABLE, "").strip() or "full"
    if value not in ("full", "quick"):
        raise ValueError(f"{PROFILE_VARIABLE}: expected 'quick' or 'full' (or unset); received {value!r}")
    return value


def _vanishing() -> dict:
    """All the vanishing-gradient experiments (the remedies' too), run once per build."""
    if "vanishing" not in _cache:
        from mathnn.experiments import run_experiments

        quick = _profile() == "quick"
        log.info("experiments: running the vanishing-gradient experiments%s (not in the experiment cache)",
                 " at the quick build's sizes" if quick else "")
        _cache["vanishing"] = run_experiments(seed=SEED, show_progress=True, settings=QUICK if quick else None)
    return _cache["vanishing"]


def _figure(name: str, caption: str) -> str:
    figure = f"![{caption}](../{FIGURES}/{name}.svg)\n\n*{caption}* ([PNG](../{FIGURES}/{name}.png))"
    if _profile() == "quick":
        changed = "; ".join(f"{experiment}: " + ", ".join(f"{key}={value}" for key, value in arguments.items())
                            for experiment, arguments in QUICK.items())
        figure += (f"\n\n*A quick build ({PROFILE_VARIABLE}=quick) drew this from smaller runs than the lecture's "
                   f"({changed}): its numbers are not the lecture's.*")
    return figure


# -- the experiments -------------------------------------------------------------------------------


def tagger() -> str:
    from mathnn.models import train_tagger

    model = train_tagger(seed=SEED)
    rows = ["| sentence | tags |", "|---|---|"]
    for sentence in ("I work at google", "she lives in seoul", "we study at the university"):
        tags = model.tag(sentence)
        rows.append(f"| {sentence} | {' '.join(f'{w}/{t}' for w, t in zip(sentence.split(), tags))} |")
    return (
        f"Trained while this page was built: `train_tagger(seed={SEED})`, {len(model.losses)} steps, "
        f"final loss {model.losses[-1]:.3f} nats per word.\n\n" + "\n".join(rows)
    )


def rnn_forms() -> str:
    """The one claim the page's table asks for: the kernels' row form is the lecture's column form."""
    from mathnn.codegen.render import proof_html
    from mathnn.rules.core import Proof, proof_section
    from mathnn.rules.rnn import column_form_claims

    start = time.perf_counter()
    claims = column_form_claims()
    proof = Proof("rnn", claims, time.perf_counter() - start)
    return "\n".join([
        *proof_html(proof_section(proof), expanded=True),
        "",
        "Proven while this page was built; `mathnn verify rnn` proves it again with the rule's other claims, "
        "and the [RNN derivation](../derivations/rnn.md) lists them all.",
    ])


def charrnn() -> str:
    from mathnn.data import load_text
    from mathnn.experiments.lecture_figures import trained_charrnn
    from mathnn.models import unigram_loss

    text = load_text()
    # the run the loss-curve figure draws, trained once for both in this build
    model, losses, seconds = trained_charrnn(2000, SEED)
    prefix = "We hold these truths"
    sample = model.sample(prefix, 200, temperature=0.7)
    return "\n".join([
        f"`CharRNN(seed={SEED}).fit(load_text(), 2000)` while this page was built ({seconds:.1f} s):",
        "",
        "| | nats per character |",
        "|---|--:|",
        f"| first training chunk | {losses[0]:.3f} |",
        f"| model, on the whole text | {model.loss(text):.3f} |",
        f"| unigram baseline (character frequencies) | {unigram_loss(text):.3f} |",
        f"| uniform over {len(set(text))} characters | {np.log(len(set(text))):.3f} |",
        "",
        f"A sample at temperature 0.7, starting from “{prefix}”:",
        "",
        _fenced(prefix + sample),
    ])


def charrnn_cli() -> str:
    """``mathnn charrnn train --steps 300``, the tutorial's short run, and what it prints."""
    import contextlib
    import io

    from mathnn.cli import main

    command = ["charrnn", "train", "--steps", "300", "--out"]
    output = io.StringIO()
    with tempfile.TemporaryDirectory() as directory, contextlib.redirect_stdout(output):
        path = str(Path(directory) / "m.npz")
        status = main([*command, path])
    if status != 0:
        raise RuntimeError(f"mathnn {' '.join(command)} m.npz ended with exit status {status}:\n{output.getvalue()}")
    text = output.getvalue().replace(path, "m.npz")
    return "Run while this page was built:\n\n" + _fenced(f"$ mathnn {' '.join(command)} m.npz\n" + text)


def vanishing_time() -> str:
    from mathnn.experiments.report import time_report

    return _report(time_report(_vanishing()["time"], table=_markdown_table)) + "\n\n" + _figure(
        "vanishing_time", "‖∂h_T/∂h_t‖ against the distance T − t, one panel per activation: measured (solid) "
        "and the bound (γλ₁)^(T−t) (dashed)")


def vanishing_depth() -> str:
    from mathnn.experiments.report import depth_report

    return _report(depth_report(_vanishing()["depth"], table=_markdown_table)) + "\n\n" + _figure(
        "vanishing_depth", "‖∂L/∂W_l‖ per layer of a 20-layer stack, at initialization (top) and after "
        "training (bottom), without batch norm (solid) and with it (dashed)")


def vanishing_recall() -> str:
    from mathnn.experiments.report import recall_report

    return _report(recall_report(_vanishing()["recall"], table=_markdown_table)) + "\n\n" + _figure(
        "vanishing_recall", "Recall accuracy against the distance k between the token and where it is used")


def remedies_lag() -> str:
    from mathnn.experiments.report import lag_report

    return _report(lag_report(_vanishing()["lag"], table=_markdown_table)) + "\n\n" + _figure(
        "remedies_lag", "‖∂L/∂h_(T−k)‖/‖∂L/∂h_T‖ against the lag k, loss at the last step only, log scale: "
        "median over seeds (line) and the seeds' range (shaded), one line style per cell; the dashed grey line "
        "is the bound 1.2^k of the RNN with W_hh = 1.2·I")


def remedies_remember() -> str:
    from mathnn.experiments.report import remember_report

    return _report(remember_report(_vanishing()["remember"], table=_markdown_table)) + "\n\n" + _figure(
        "remedies_remember", "Test accuracy on remembering the sign of the first input against the number of "
        "noise steps k after it: median over seeds, bars from the worst to the best seed; chance is 1/2")


def covariate_shift() -> str:
    from mathnn.experiments import CURRENT_UNDERSTANDING
    from mathnn.experiments.report import shift_report

    parts = [
        _report(shift_report(experiment, with_reading=False, table=_markdown_table)) + "\n\n" + experiment.measured
        for experiment in _vanishing()["shift"]
    ]
    return "\n\n".join(parts) + "\n\n" + _figure(
        "vanishing_shift", "Per-layer drift of the unit means of u, what the activation sees: without batch norm "
        "(solid), with it (dashed) and with injected noise (dotted), one panel per activation"
    ) + "\n\n" + _figure(
        "vanishing_shift_gradient", "The gradient-based shift ‖G′ − G‖/‖G‖ per layer, in the same three variants"
    ) + "\n\n" + CURRENT_UNDERSTANDING


def gradient_descent() -> str:
    from mathnn.optim import sgd

    target = np.array([3.0, -2.0])
    rows = ["| η | ‖W − W*‖ after 1 step | after 10 | after 50 | behaviour |", "|--:|--:|--:|--:|---|"]
    for rate in (0.1, 0.5, 1.0, 1.9, 2.1):
        params = {"W": np.zeros(2)}
        distances = {}
        for step in range(1, 51):
            sgd(params, {"W": params["W"] - target}, rate)
            distances[step] = float(np.linalg.norm(params["W"] - target))
        factor = abs(1 - rate)
        behaviour = ("converges" if factor < 1 else "diverges") + (", oscillating" if rate > 1 else "")
        if rate == 1.0:
            behaviour = "exact in one step"
        rows.append(f"| {rate:g} | {distances[1]:.3g} | {distances[10]:.3g} | {distances[50]:.3g} | {behaviour} |")
    return (
        "Computed while this page was built: L(W) = ½‖W − W*‖² with W* = (3, −2), from W = 0, with "
        "`mathnn.optim.sgd` (the lecture's update); each step multiplies the error by (1 − η):\n\n" + "\n".join(rows)
    )


def relu_kinks() -> str:
    import mathnn

    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    rows = ["| x | " + " | ".join(f"{v:g}" for v in x) + " |", "|---|" + "--:|" * len(x)]
    for label, values in (
        ("ReLU(x)", mathnn.relu(x)), ("ReLU′(x)", mathnn.relu_grad(x)),
        ("LeakyReLU(x), α = 0.01", mathnn.leaky_relu(x)), ("LeakyReLU′(x), α = 0.01", mathnn.leaky_relu_grad(x)),
    ):
        rows.append(f"| {label} | " + " | ".join(f"{v:g}" for v in values) + " |")
    return "Computed by the generated kernels while this page was built:\n\n" + "\n".join(rows)


def _check_example(example: str) -> str:
    """``mathnn check`` on a shipped example file, every pair the file defines, as the command shown does."""
    from mathnn.gradcheck.examples import example_path
    from mathnn.gradcheck.runner import check_file, format_text

    path = example_path(example)
    # The report names the file it checked; on the page, by its name alone. A fixed seed keeps the
    # page the same from build to build (a grader's run draws a secret one).
    summary = check_file(path, seed=0)
    if summary["error"] or any(result.get("error") for result in summary["functions"]):
        _unsettled.add(example)
    text = format_text(summary).replace(str(path), path.name)
    return "Run while this page was built:\n\n" + _fenced(f"$ mathnn check {path.name} --seed 0\n" + text)


def check_homework() -> str:
    return _check_example("bn_missing_mean_path")


def bn_missing_mean_path() -> str:
    """The example file the check below runs on, as ``example_path`` writes it: the page shows what is checked."""
    from mathnn.gradcheck.examples import example_path

    return _fenced(example_path("bn_missing_mean_path").read_text(encoding="utf-8"), "python")


def check_rnn() -> str:
    return _check_example("rnn_no_accumulation")


def sigmoid_precision() -> str:
    import mpmath

    import mathnn

    x = np.array([5.0, 20.0, 30.0, 36.0, 40.0])
    sigma = 1 / (1 + np.exp(-x))
    rows = ["| x | σ(1 − σ) in float64 | `mathnn.sigmoid_grad(x)` | exact (50 digits) |", "|--:|--:|--:|--:|"]
    with mpmath.workdps(50):
        for value, naive, kernel in zip(x, sigma * (1 - sigma), mathnn.sigmoid_grad(x)):
            s = 1 / (1 + mpmath.exp(-mpmath.mpf(value)))
            rows.append(f"| {value:g} | {naive:.6e} | {kernel:.6e} | {float(s * (1 - s)):.6e} |")
    return "Computed while this page was built:\n\n" + "\n".join(rows)


EXPERIMENTS: dict[str, Callable[[], str]] = {
    "tagger": tagger,
    "rnn-forms": rnn_forms,
    "charrnn": charrnn,
    "charrnn-cli": charrnn_cli,
    "vanishing-time": vanishing_time,
    "vanishing-depth": vanishing_depth,
    "vanishing-recall": vanishing_recall,
    "covariate-shift": covariate_shift,
    "remedies-lag": remedies_lag,
    "remedies-remember": remedies_remember,
    "gradient-descent": gradient_descent,
    "relu-kinks": relu_kinks,
    "check-homework": check_homework,
    "bn-missing-mean-path": bn_missing_mean_path,
    "check-rnn": check_rnn,
    "sigmoid-precision": sigmoid_precision,
}


# -- the cache -------------------------------------------------------------------------------------


def _code(function: Callable) -> str:
    """The source here that shapes ``function``'s result: its own, the helpers' and the constants."""
    helpers = [value for name, value in globals().items()
               if name.startswith("_") and inspect.isfunction(value) and value.__module__ == __name__]
    return "\n".join([f"SEED = {SEED!r}; FIGURES = {FIGURES!r}; QUICK = {QUICK!r}",
                      *map(inspect.getsource, [function, *helpers])])


def _cached(name: str, compute: Callable[[], object], **parameters: object) -> object:
    """``compute()`` through the experiment cache, saying on the log when it has to run.

    A homework check that was not carried through (a sandbox that timed out or crashed on a busy
    machine) is shown but not stored: the next build checks again.
    """
    from mathnn.experiments.cache import STATS, cached

    misses = STATS.misses
    start = time.perf_counter()
    _unsettled.clear()
    result = cached(f"docs-{name}", {"seed": SEED, "profile": _profile(), **parameters}, compute, code=_code(compute),
                    keep=lambda _: not _unsettled)
    if STATS.misses > misses:
        log.info("experiments: %s run in %.1f s", name, time.perf_counter() - start)
    return result


def _draw_figures() -> dict[str, str]:
    """The vanishing-gradient figures, by file name, base64-encoded (the cache stores JSON)."""
    from mathnn.experiments import plot_results
    from mathnn.progress import working

    results = _vanishing()
    with tempfile.TemporaryDirectory() as directory, working("experiments: drawing the vanishing-gradient figures"):
        return {Path(path).name: base64.b64encode(Path(path).read_bytes()).decode("ascii")
                for path in plot_results(results, directory)}


# -- MkDocs events ---------------------------------------------------------------------------------


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Draw the vanishing-gradient figures (or read them from the cache) and add them to the site."""
    import matplotlib

    from mathnn.experiments.cache import STATS

    STATS.reset()
    start = time.perf_counter()
    figures = _cached("vanishing-figures", _draw_figures, matplotlib=matplotlib.__version__)
    assert isinstance(figures, dict)
    for name, content in figures.items():
        files.append(File.generated(config, f"{FIGURES}/{name}", content=base64.b64decode(content)))
    log.info("experiments: vanishing-gradient figures in %.1f s", time.perf_counter() - start)
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    def run(match: re.Match) -> str:
        name = match.group(1)
        if name not in EXPERIMENTS:
            log.warning("experiments: %s asks for an unknown experiment %r (known: %s)",
                        page.file.src_uri, name, ", ".join(EXPERIMENTS))
            return match.group(0)
        result = _cached(name, EXPERIMENTS[name])
        assert isinstance(result, str)
        return result

    return MARKER.sub(run, markdown)


def on_post_build(config: MkDocsConfig) -> None:
    from mathnn.experiments.cache import BYPASS_VARIABLE, STATS

    log.info("experiments: %d results from the experiment cache, %d run (%s=1 reruns them all)",
             STATS.hits, STATS.misses, BYPASS_VARIABLE)
