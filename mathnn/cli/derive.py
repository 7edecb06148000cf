"""``mathnn derive NAME``: a rule's derivation step by step, as text or Markdown with LaTeX."""

from __future__ import annotations

import argparse
from typing import Any

from .common import RulesHelp, _resolve, add_no_cache


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..codegen.render import derivation_latex, derivation_text
    from ..progress import note, working
    from ..rules.cache import STATS, proven

    (rule,) = _resolve(parser, [args.name])
    # A proof read from the cache takes milliseconds and shows nothing; one that SymPy must find takes
    # seconds, and says so on stderr (stdout holds only the derivation).
    misses = STATS.misses
    with working(f"proving {rule.name} with SymPy", delay=0.0 if args.no_cache else 0.5):
        proof = proven(rule, cache=not args.no_cache)
    if STATS.misses > misses:
        note(f"proved {rule.name}: {sum(c.holds for c in proof.claims)}/{len(proof.claims)} claims hold "
             f"({proof.seconds:.1f} s)")
    if args.latex:
        print(derivation_latex(rule, proof, verbose=args.verbose))
    else:
        print(derivation_text(rule, proof, verbose=args.verbose))
    return 0 if proof.holds else 1


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``derive`` to the ``mathnn`` command's subparsers."""
    derive = subparsers.add_parser("derive", help="show a rule's derivation step by step", add_help=False)
    derive.add_argument("-h", "--help", action=RulesHelp)
    derive.add_argument("name", metavar="NAME", help="rule name, one of the rules listed below")
    derive.add_argument("--latex", action="store_true", help="print Markdown with LaTeX math instead of text")
    derive.add_argument("-v", "--verbose", action="store_true",
                        help="show every claim's full statement and how it was decided (a failing claim always "
                             "shows them)")
    add_no_cache(derive)
    derive.set_defaults(run=run)
    return derive
