"""``mathnn tag SENTENCE``: one part-of-speech tag per word, from a many-to-many RNN."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .common import NATURAL, POSITIVE_INT, _fail

if TYPE_CHECKING:
    from ..models.tagger import RNNTagger


def tagged(sentence: str, tagger: RNNTagger) -> str:
    """'I/pronoun work/verb …', and which words were unknown to the tagger."""
    from ..models.tagger import split_words

    words = split_words(sentence)
    tags = tagger.tag(sentence)
    tokens = tagger.encode(sentence)
    line = " ".join(f"{word}/{tag}" for word, tag in zip(words, tags, strict=True))
    unknown = [word for word, token in zip(words, tokens, strict=True) if token == "<unk>"]
    return line + (f"\n   (not seen in training, read as <unk>: {', '.join(unknown)})" if unknown else "")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..errors import InputError
    from ..models.tagger import train_tagger

    parser = args.subparser
    try:
        print(tagged(args.sentence, train_tagger(steps=args.steps, seed=args.seed)))
    except InputError as error:
        _fail(parser, "SENTENCE", error)
    return 0


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``tag`` to the ``mathnn`` command's subparsers."""
    tag = subparsers.add_parser("tag", help='tag each word with its part of speech, e.g. "I work at google"')
    tag.add_argument("sentence", metavar="SENTENCE", help="words separated by spaces, in quotes")
    tag.add_argument("--steps", type=POSITIVE_INT, default=300, metavar="N", help="training steps (default 300)")
    tag.add_argument("--seed", type=NATURAL, default=0, metavar="S", help="seed of the training (default 0)")
    tag.set_defaults(run=run, subparser=tag)
    return tag
