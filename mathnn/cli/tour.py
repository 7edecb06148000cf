"""``mathnn tour``: everything mathnn can show and check, in lecture order, then the docs."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

#: The tour's char-RNN run: long enough to beat the unigram baseline clearly, short enough for a tour.
TOUR_STEPS = 2000
TOUR_PREFIX = "We hold these truths"

#: The buggy homework file the tour checks: batch norm that forgets the path through the mean.
TOUR_HOMEWORK = "bn_missing_mean_path"


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..codegen.render import derivation_text
    from ..rules import RULES
    from . import DESCRIPTION
    from .verify import verify_table

    print(DESCRIPTION.split("\n\n")[0] + "\n")
    print("1. One rule, derived step by step (mathnn derive sigmoid):\n")
    print("\n".join("   " + line for line in derivation_text(RULES["sigmoid"]).splitlines()))
    print("\n2. Every rule proven and every kernel gradient-checked (mathnn verify):\n")
    status = verify_table(list(RULES.values()), points=2000, seed=0, as_json=False)
    _tour_models()
    _tour_vanishing()
    _tour_homework()
    if not args.no_docs:
        _tour_docs()
    return status


def _tour_models() -> None:
    from ..models.charrnn import CharRNN, unigram_loss
    from ..data import load_text
    from ..models.tagger import train_tagger
    from .tag import tagged

    text = load_text()
    model = CharRNN(seed=0)
    print(f"\n3. A next-character model (mathnn charrnn train): a tanh RNN with H = {model.hidden_size} hidden units,\n"
          f"   {TOUR_STEPS} Adagrad steps on chunks of T = {model.seq_length} characters of the embedded text "
          f"({len(text):,} characters, {len(set(text))} distinct):\n")
    start = time.perf_counter()
    model.fit(text, TOUR_STEPS)
    seconds = time.perf_counter() - start
    print(f"   loss on the text           {model.loss(text):.3f} nats/char  (after {seconds:.1f} s)")
    print(f"   unigram baseline           {unigram_loss(text):.3f} nats/char  (character frequencies alone)")
    sample = model.sample(TOUR_PREFIX, 160, temperature=0.7)
    print(f"   sample (temperature 0.7):  {(TOUR_PREFIX + sample)!r}")
    print("\n4. Many-to-many: one tag per word (mathnn tag \"I work at google\"):\n")
    sentence = "I work at google"
    print("   " + tagged(sentence, train_tagger(seed=0)))


def _tour_vanishing() -> None:
    from ..experiments import tour_table

    print("\n5. The vanishing gradient (mathnn vanishing): ‖∂h_T/∂h_t‖ through a random recurrence, next to")
    print("   the bound (γ·λ₁)^(T−t) of Pascanu, Mikolov & Bengio (2013), γ = sup|f′| as proven by the rules:\n")
    print("\n".join("   " + line for line in tour_table().splitlines()))


def _tour_homework() -> None:
    from ..gradcheck.examples import example_path
    from ..gradcheck.runner import check_file, format_text

    path = example_path(TOUR_HOMEWORK)
    print(f"\n6. Checking a student's homework (mathnn check {path.name}): a batch norm whose backward pass")
    print("   forgets the path through the mean; each function runs in its own sandboxed process:\n")
    print("\n".join("   " + line for line in format_text(check_file(path, ["batchnorm"])).splitlines()))


def _tour_docs() -> None:
    """Build the docs site when this is a source checkout with the docs tools; say where it is."""
    import importlib.util
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent.parent
    config, katex = root / "mkdocs.yml", root / "node_modules" / "katex"
    print("\n7. The documentation: every derivation and experiment above, rendered with its math:\n")
    if not config.exists() or importlib.util.find_spec("mkdocs") is None or not katex.exists():
        print("   build it from a source checkout with:  python3 dev.py docs")
        return
    from ..progress import working

    site = root / "site"
    start = time.perf_counter()
    # --quiet keeps the tour's output short, so say on stderr that the build (a minute when the
    # experiment and proof caches are cold) is under way.
    with working("building the site with mkdocs", delay=1.0):
        result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(config),
                                 "-d", str(site)], capture_output=True, text=True,
                                env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    if result.returncode != 0:
        print("   the docs did not build:\n" + "\n".join("   " + line for line in result.stderr.splitlines()[-10:]))
        return
    print(f"   built in {time.perf_counter() - start:.0f} s: open {site / 'index.html'}")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``tour`` to the ``mathnn`` command's subparsers."""
    tour = subparsers.add_parser("tour", help="the guided tour of everything mathnn shows and checks")
    tour.add_argument("--no-docs", action="store_true", help="skip building the documentation site at the end")
    tour.set_defaults(run=run)
    return tour
