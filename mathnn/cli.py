"""The ``mathnn`` command: derive, verify, tour.

Only argument parsing happens at import; SymPy and the rules are imported by the commands that need them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .progress import progress

DESCRIPTION = """\
mathnn: the math of RNNs, vanishing gradients and batch normalization, derived by SymPy, proven equal
to the textbook closed forms, generated into numpy kernels and gradient-checked.

commands:
  derive NAME    show the derivation of one rule step by step (--latex for LaTeX/Markdown)
  verify [NAME]  prove rules and gradient-check their kernels; exit 0 only if all hold
  tour           the guided tour: everything mathnn can show and check, in lecture order
"""


def _resolve(parser: argparse.ArgumentParser, names: Sequence[str]) -> list:
    from .rules import RULES

    unknown = [name for name in names if name not in RULES]
    if unknown:
        parser.error(f"unknown rule {', '.join(map(repr, unknown))}; known rules: {', '.join(RULES)}")
    return [RULES[name] for name in (names or RULES)]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned text table."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line("-" * w for w in widths), *(line(row) for row in rows)])


def _derive(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .codegen.render import derivation_latex, derivation_text

    (rule,) = _resolve(parser, [args.name])
    proof = rule.prove()
    print(derivation_latex(rule, proof) if args.latex else derivation_text(rule, proof))
    return 0 if proof.holds else 1


def _verify_table(rules: list, points: int, seed: int, as_json: bool) -> int:
    from .verify import CENTRAL_TOL, COMPLEX_TOL, verify

    headers = ("rule", "proof", "claims", "max err complex step", "max err central", "points", "result")
    reports = []
    if not as_json:
        print(f"proving each rule with SymPy and checking its kernels at {points} random points per kernel")
        print(f"pass marks: complex step ≤ {COMPLEX_TOL:g}, central differences ≤ {CENTRAL_TOL:g} (relative)\n")
    for rule in progress(rules, len(rules), "verifying", enabled=not as_json):
        reports.append(verify(rule, points=points, seed=seed))
    if as_json:
        print(json.dumps({"passed": all(r.passed for r in reports), "rules": [r.to_dict() for r in reports]}, indent=2))
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


def _verify(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.points < 1:
        parser.error(f"--points: expected a positive integer; received {args.points}")
    return _verify_table(_resolve(parser, args.names), args.points, args.seed, args.json)


def _tour(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .codegen.render import derivation_text
    from .rules import RULES

    print(DESCRIPTION.split("\n\n")[0] + "\n")
    print("1. One rule, derived step by step (mathnn derive sigmoid):\n")
    print("\n".join("   " + line for line in derivation_text(RULES["sigmoid"]).splitlines()))
    print("\n2. Every rule proven and every kernel gradient-checked (mathnn verify):\n")
    return _verify_table(list(RULES.values()), points=2000, seed=0, as_json=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mathnn", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    derive = commands.add_parser("derive", help="show a rule's derivation step by step")
    derive.add_argument("name", metavar="NAME", help="rule name, e.g. sigmoid, tanh, relu, leaky_relu")
    derive.add_argument("--latex", action="store_true", help="print Markdown with LaTeX math instead of text")
    derive.set_defaults(run=_derive)

    verify = commands.add_parser("verify", help="prove rules and gradient-check their kernels")
    verify.add_argument("names", nargs="*", metavar="NAME", help="rules to verify (default: all)")
    verify.add_argument("--points", type=int, default=2000, help="random points per kernel (default 2000)")
    verify.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
    verify.add_argument("--json", action="store_true", help="print the results as JSON")
    verify.set_defaults(run=_verify)

    tour = commands.add_parser("tour", help="the guided tour of everything mathnn shows and checks")
    tour.set_defaults(run=_tour)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args, parser)
    except BrokenPipeError:  # output piped into `head` and closed early: not an error of ours
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
