"""``python -m mathnn.codegen [--check]``: regenerate the kernels, or fail on any drift."""

from __future__ import annotations

import argparse
import sys

from . import drift, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mathnn.codegen",
        description=(
            "Prove every rule in mathnn/rules and write its numpy kernels to mathnn/kernels/<rule>.py. "
            "A rule whose proof fails is not written."
        ),
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; print a diff and exit 1 if any kernel differs from what the rules generate",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="prove every rule again instead of reading the proof cache (and refresh the cache)",
    )
    args = parser.parse_args(argv)
    if args.check:
        diffs = drift()
        for diff in diffs:
            sys.stdout.write(diff)
        if diffs:
            print(f"{len(diffs)} generated file(s) out of date: run python -m mathnn.codegen", file=sys.stderr)
            return 1
        print("kernels match the rules")
        return 0
    try:
        written = write(cache=not args.no_cache)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("kernels already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
