"""``mathnn verify [NAME...]``: prove rules and gradient-check their kernels; exit 0 only if all hold."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..progress import working
from ..tables import format_table
from .common import RulesHelp, _resolve, add_no_cache


def verify_table(rules: list[Any], points: int, seed: int, as_json: bool, cache: bool = True) -> int:
    """Verify ``rules`` and print a table (or JSON) of the results; 0 when every rule passed, else 1."""
    from ..verify import CENTRAL_TOL, COMPLEX_TOL, verify

    headers = ("rule", "proof", "claims", "max err complex step", "max err central", "points checked", "result")
    reports = []
    if not as_json:
        print("proving each rule with SymPy and gradient-checking its kernels:\n"
              f"  an element-wise kernel at {points} random points (and beside each kink) per parameter setting,\n"
              "  the others on up to 3 random batches of each shape;\n"
              "  'points checked' counts every input entry compared, over all of a rule's kernels")
        print(f"pass marks: complex step ≤ {COMPLEX_TOL:g}, central differences ≤ {CENTRAL_TOL:g} (relative)\n")
    # One line per rule on stderr (a redrawn one on a terminal): a rule that must be proven takes seconds.
    for index, rule in enumerate(rules, 1):
        with working(f"verifying {index}/{len(rules)}: {rule.name}"):
            reports.append(verify(rule, points=points, seed=seed, cache=cache))
    if as_json:
        print(json.dumps({"passed": all(r.passed for r in reports), "rules": [r.to_dict() for r in reports]},
                         indent=2, ensure_ascii=False))
    else:
        rows = [
            (
                r.rule,
                "proven" if r.proof.holds else "NOT PROVEN",
                f"{sum(c.holds for c in r.proof.claims)}/{len(r.proof.claims)}",
                f"{r.max_complex:.1e}",
                f"{r.max_central:.1e}",
                str(sum(c.points for c in r.checks)),
                "ok" if r.passed else "FAIL",
            )
            for r in reports
        ]
        print(format_table(headers, rows))
        for report in reports:
            for claim in report.proof.claims:
                if not claim.holds:
                    print(f"\n{report.rule}: not proven: {claim.statement}\n  {claim.method}")
            for check in report.checks:
                for note in check.kink_notes:
                    print(f"{report.rule}: {note}")
        failed = [r.rule for r in reports if not r.passed]
        print("\nall rules proven and checked" if not failed else f"\nFAILED: {', '.join(failed)}")
    return 0 if all(r.passed for r in reports) else 1


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.points < 1:
        parser.error(f"--points: expected a positive integer; received {args.points}")
    return verify_table(_resolve(parser, args.names), args.points, args.seed, args.json, cache=not args.no_cache)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``verify`` to the ``mathnn`` command's subparsers."""
    verify = subparsers.add_parser("verify", help="prove rules and gradient-check their kernels", add_help=False)
    verify.add_argument("-h", "--help", action=RulesHelp)
    verify.add_argument("names", nargs="*", metavar="NAME", help="rules to verify (default: all)")
    verify.add_argument("--points", type=int, default=2000, help="random points per element-wise kernel and parameter setting; "
                        "batch, sequence and layer kernels are checked on up to 3 random batches per shape, "
                        "one per 500 points, at least 1 (default 2000)")
    verify.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
    verify.add_argument("--json", action="store_true", help="print the results as JSON")
    add_no_cache(verify)
    verify.set_defaults(run=run)
    return verify
