"""The ``mathnn`` command: derive, verify, charrnn, tag, check, vanishing, tour.

Only argument parsing happens at import; SymPy, the rules and the models are imported by the commands
that need them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .progress import progress
from .tables import format_table

if TYPE_CHECKING:
    from .models.tagger import RNNTagger

DESCRIPTION = """\
mathnn: the math of RNNs, vanishing gradients and batch normalization, derived by SymPy, proven equal
to the textbook closed forms, generated into numpy kernels and gradient-checked.

commands:
  derive NAME    show the derivation of one rule step by step (--latex for LaTeX/Markdown)
  verify [NAME]  prove rules and gradient-check their kernels; exit 0 only if all hold
  charrnn train  train a next-character RNN on a text (the embedded one by default) and save it
  charrnn sample generate text from a saved model
  tag SENTENCE   tag each word with its part of speech ("I work at google"), a many-to-many RNN
  check FILE     gradient-check the CS231n layers of a homework file and say where the bug is
  vanishing      measure the vanishing gradient through time and depth, and its remedies
  tour           the guided tour: everything mathnn can show and check, in lecture order (and the docs)
"""


def _resolve(parser: argparse.ArgumentParser, names: Sequence[str]) -> list:
    from .rules import RULES

    unknown = [name for name in names if name not in RULES]
    if unknown:
        parser.error(f"unknown rule {', '.join(map(repr, unknown))}; known rules: {', '.join(RULES)}")
    return [RULES[name] for name in (names or RULES)]


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
    status = _verify_table(list(RULES.values()), points=2000, seed=0, as_json=False)
    _tour_models()
    _tour_vanishing()
    _tour_homework()
    if not args.no_docs:
        _tour_docs()
    return status


#: The tour's char-RNN run: long enough to beat the unigram baseline clearly, short enough for a tour.
TOUR_STEPS = 2000
TOUR_PREFIX = "We hold these truths"


def _tour_models() -> None:
    from .models.charrnn import CharRNN, unigram_loss
    from .data import load_text
    from .models.tagger import train_tagger

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
    print("   " + _tagged(sentence, train_tagger(seed=0)))


def _tour_vanishing() -> None:
    from .vanishing import tour_table

    print("\n5. The vanishing gradient (mathnn vanishing): ‖∂h_T/∂h_t‖ through a random recurrence, next to")
    print("   the bound (γ·λ₁)^(T−t) of Pascanu, Mikolov & Bengio (2013), γ = sup|f′| as proven by the rules:\n")
    print("\n".join("   " + line for line in tour_table().splitlines()))


#: The buggy homework file the tour checks: batch norm that forgets the path through the mean.
TOUR_HOMEWORK = "bn_missing_mean_path"


def _tour_homework() -> None:
    from .gradcheck.examples import example_path
    from .gradcheck.runner import check_file, format_text

    path = example_path(TOUR_HOMEWORK)
    print(f"\n6. Checking a student's homework (mathnn check {path.name}): a batch norm whose backward pass")
    print("   forgets the path through the mean; each function runs in its own sandboxed process:\n")
    print("\n".join("   " + line for line in format_text(check_file(path, ["batchnorm"])).splitlines()))


def _tour_docs() -> None:
    """Build the docs site when this is a source checkout with the docs tools; say where it is."""
    import importlib.util
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    config, katex = root / "mkdocs.yml", root / "node_modules" / "katex"
    print("\n7. The documentation: every derivation and experiment above, rendered with its math:\n")
    if not config.exists() or importlib.util.find_spec("mkdocs") is None or not katex.exists():
        print("   build it from a source checkout with:  python3 dev.py docs")
        return
    site = root / "site"
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(config),
                             "-d", str(site)], capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    if result.returncode != 0:
        print("   the docs did not build:\n" + "\n".join("   " + line for line in result.stderr.splitlines()[-10:]))
        return
    print(f"   built in {time.perf_counter() - start:.0f} s: open {site / 'index.html'}")


# -- charrnn and tag ----------------------------------------------------------------------------------

def _number(kind: Callable[[str], float], minimum: float, strict: bool, what: str) -> Callable[[str], float]:
    """An argparse type: ``kind`` of the text, refused below ``minimum`` (or at it, when ``strict``)."""
    def convert(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}; received {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"expected {what}; received {text!r}")
        return value

    return convert


_POSITIVE_INT = _number(int, 1, False, "an integer ≥ 1")
_NATURAL = _number(int, 0, False, "an integer ≥ 0")
_POSITIVE_FLOAT = _number(float, 0.0, True, "a finite number > 0")


def _fail(parser: argparse.ArgumentParser, option: str, error: Exception) -> None:
    """Report a mathnn InputError as misuse of ``option``: one line, exit 2, no traceback."""
    message = str(error)
    name, _, rest = message.partition(": ")
    parser.error(f"{option}: {rest if rest and ' ' not in name else message}")


def _read_text(parser: argparse.ArgumentParser, path: str | None) -> tuple[str, str]:
    """(text, where it came from): the file at ``path``, or the embedded text."""
    if path is None:
        from .data import load_text

        return load_text(), "the embedded text (mathnn.data.load_text())"
    try:
        with open(path, encoding="utf-8") as file:
            return file.read(), repr(path)
    except OSError as error:
        parser.error(f"--text: cannot read {path!r} ({error.strerror or error})")
    except UnicodeDecodeError as error:
        parser.error(f"--text: {path!r} is not UTF-8 text ({error.reason} at byte {error.start})")


def _charrnn_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .models.charrnn import CharRNN, unigram_loss
    from .errors import InputError

    parser = args.subparser
    text, source = _read_text(parser, args.text)
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        parser.error(f"--out: cannot write {args.out!r}: the folder {folder!r} does not exist")
    model = CharRNN(hidden_size=args.hidden, seed=args.seed)
    if len(text) < model.seq_length + 1:
        parser.error(f"--text: expected at least {model.seq_length + 1} characters to train on; "
                     f"{source} has {len(text)}")
    print(f"training a char-RNN (H = {model.hidden_size}, T = {model.seq_length}, Adagrad η = {model.learning_rate:g}, "
          f"seed {model.seed}) on {source}: {len(text):,} characters, {len(set(text))} distinct")
    start = time.perf_counter()
    losses = model.fit(text, args.steps)
    seconds = time.perf_counter() - start
    print(f"{args.steps} steps in {seconds:.1f} s ({args.steps * model.seq_length / seconds:,.0f} characters/s)\n")
    rows = []
    blocks = min(10, args.steps)
    for block in range(blocks):
        first, last = block * args.steps // blocks, (block + 1) * args.steps // blocks
        mean = sum(losses[first:last]) / (last - first)
        rows.append((f"{first + 1}–{last}", f"{mean:.3f}"))
    print(format_table(("steps", "mean loss (nats/char)"), rows))
    print(f"\nloss of the trained model on the whole text: {model.loss(text):.3f} nats/char")
    print(f"unigram baseline (character frequencies):   {unigram_loss(text):.3f} nats/char")
    try:
        model.save(args.out)
    except InputError as error:
        _fail(parser, "--out", error)
    print(f"\nsaved to {args.out}; sample from it with: mathnn charrnn sample --model {args.out}")
    return 0


def _charrnn_sample(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .models.charrnn import CharRNN
    from .errors import InputError

    parser = args.subparser
    try:
        model = CharRNN.load(args.model)
    except InputError as error:
        _fail(parser, "--model", error)
    try:
        sample = model.sample(args.prefix, args.n, temperature=args.temperature, seed=args.seed)
    except InputError as error:
        _fail(parser, "--prefix", error)
    print(args.prefix + sample)
    return 0


def _tagged(sentence: str, tagger: RNNTagger) -> str:
    """'I/pronoun work/verb …', and which words were unknown to the tagger."""
    from .models.tagger import split_words

    words = split_words(sentence)
    tags = tagger.tag(sentence)
    tokens = tagger.encode(sentence)
    line = " ".join(f"{word}/{tag}" for word, tag in zip(words, tags, strict=True))
    unknown = [word for word, token in zip(words, tokens, strict=True) if token == "<unk>"]
    return line + (f"\n   (not seen in training, read as <unk>: {', '.join(unknown)})" if unknown else "")


def _tag(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .errors import InputError
    from .models.tagger import train_tagger

    parser = args.subparser
    try:
        print(_tagged(args.sentence, train_tagger(steps=args.steps, seed=args.seed)))
    except InputError as error:
        _fail(parser, "SENTENCE", error)
    return 0


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

    charrnn = commands.add_parser("charrnn", help="train a next-character RNN, or sample from one")
    charrnn_commands = charrnn.add_subparsers(dest="charrnn_command", metavar="COMMAND", required=True)
    train = charrnn_commands.add_parser("train", help="train on a text and save the model")
    train.add_argument("--text", metavar="FILE", help="UTF-8 text file to train on (default: the embedded text)")
    train.add_argument("--steps", type=_POSITIVE_INT, default=2000, metavar="N",
                       help="training chunks of 25 characters (default 2000)")
    train.add_argument("--hidden", type=_POSITIVE_INT, default=100, metavar="H", help="hidden units (default 100)")
    train.add_argument("--seed", type=_NATURAL, default=0, metavar="S", help="seed of the initial weights (default 0)")
    train.add_argument("--out", default="model.npz", metavar="FILE", help="where to save the model (default model.npz)")
    train.set_defaults(run=_charrnn_train, subparser=train)
    sample = charrnn_commands.add_parser("sample", help="generate text from a saved model")
    sample.add_argument("--model", required=True, metavar="FILE", help="a model saved by 'mathnn charrnn train'")
    sample.add_argument("--prefix", default="", metavar="P", help="text to start from (default: none)")
    sample.add_argument("--n", type=_NATURAL, default=200, metavar="N", help="characters to generate (default 200)")
    sample.add_argument("--temperature", type=_POSITIVE_FLOAT, default=1.0, metavar="T",
                        help="below 1: more likely characters, above 1: more varied (default 1)")
    sample.add_argument("--seed", type=_NATURAL, default=None, metavar="S",
                        help="seed of the draws (default: the model's seed)")
    sample.set_defaults(run=_charrnn_sample, subparser=sample)

    tag = commands.add_parser("tag", help='tag each word with its part of speech, e.g. "I work at google"')
    tag.add_argument("sentence", metavar="SENTENCE", help="words separated by spaces, in quotes")
    tag.add_argument("--steps", type=_POSITIVE_INT, default=300, metavar="N", help="training steps (default 300)")
    tag.add_argument("--seed", type=_NATURAL, default=0, metavar="S", help="seed of the training (default 0)")
    tag.set_defaults(run=_tag, subparser=tag)

    from .gradcheck.runner import add_cli as add_check
    from .vanishing import add_cli as add_vanishing

    add_check(commands)
    add_vanishing(commands)

    tour = commands.add_parser("tour", help="the guided tour of everything mathnn shows and checks")
    tour.add_argument("--no-docs", action="store_true", help="skip building the documentation site at the end")
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
