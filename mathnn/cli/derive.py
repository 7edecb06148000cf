"""``mathnn derive NAME``: a rule's derivation step by step, as text or Markdown with LaTeX."""

from __future__ import annotations

import argparse
from typing import Any

from .common import _resolve, add_no_cache


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..codegen.render import derivation_latex, derivation_text
    from ..rules.cache import proven

    (rule,) = _resolve(parser, [args.name])
    proof = proven(rule, cache=not args.no_cache)
    print(derivation_latex(rule, proof) if args.latex else derivation_text(rule, proof))
    return 0 if proof.holds else 1


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``derive`` to the ``mathnn`` command's subparsers."""
    derive = subparsers.add_parser("derive", help="show a rule's derivation step by step")
    derive.add_argument("name", metavar="NAME", help="rule name, e.g. sigmoid, tanh, relu, leaky_relu")
    derive.add_argument("--latex", action="store_true", help="print Markdown with LaTeX math instead of text")
    add_no_cache(derive)
    derive.set_defaults(run=run)
    return derive
