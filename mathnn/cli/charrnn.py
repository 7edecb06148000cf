"""``mathnn charrnn train`` and ``mathnn charrnn sample``: a next-character RNN on a text."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from ..tables import format_table
from .common import NATURAL, POSITIVE_FLOAT, POSITIVE_INT, _fail, _read_text


def train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..models.charrnn import CharRNN, unigram_loss
    from ..errors import InputError

    parser = args.subparser
    text, source = _read_text(parser, args.text)
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        parser.error(f"--out: cannot write {args.out!r}: the folder {folder!r} does not exist")
    model = CharRNN(hidden_size=args.hidden, seed=args.seed, cell=args.cell)
    if len(text) < model.seq_length + 1:
        parser.error(f"--text: expected at least {model.seq_length + 1} characters to train on; "
                     f"{source} has {len(text)}")
    print(f"training a char-{model.cell.upper()} (H = {model.hidden_size}, T = {model.seq_length}, Adagrad η = {model.learning_rate:g}, "
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


def sample(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..models.charrnn import CharRNN
    from ..errors import InputError

    parser = args.subparser
    try:
        model = CharRNN.load(args.model)
    except InputError as error:
        _fail(parser, "--model", error)
    try:
        text = model.sample(args.prefix, args.n, temperature=args.temperature, seed=args.seed)
    except InputError as error:
        _fail(parser, "--prefix", error)
    print(args.prefix + text)
    return 0


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``charrnn`` (with ``train`` and ``sample``) to the ``mathnn`` command's subparsers."""
    charrnn = subparsers.add_parser("charrnn", help="train a next-character RNN, or sample from one")
    charrnn_commands = charrnn.add_subparsers(dest="charrnn_command", metavar="COMMAND", required=True)
    trainer = charrnn_commands.add_parser("train", help="train on a text and save the model")
    trainer.add_argument("--text", metavar="FILE", help="UTF-8 text file to train on (default: the embedded text)")
    trainer.add_argument("--steps", type=POSITIVE_INT, default=2000, metavar="N",
                         help="training chunks of 25 characters (default 2000)")
    trainer.add_argument("--hidden", type=POSITIVE_INT, default=100, metavar="H", help="hidden units (default 100)")
    trainer.add_argument("--seed", type=NATURAL, default=0, metavar="S", help="seed of the initial weights (default 0)")
    trainer.add_argument("--cell", choices=("rnn", "lstm", "gru"), default="rnn",
                         help="the recurrent layer: the lecture's tanh RNN, an LSTM or a GRU (default rnn)")
    trainer.add_argument("--out", default="model.npz", metavar="FILE",
                         help="where to save the model (default model.npz)")
    trainer.set_defaults(run=train, subparser=trainer)
    sampler = charrnn_commands.add_parser("sample", help="generate text from a saved model")
    sampler.add_argument("--model", required=True, metavar="FILE", help="a model saved by 'mathnn charrnn train'")
    sampler.add_argument("--prefix", default="", metavar="P", help="text to start from (default: none)")
    sampler.add_argument("--n", type=NATURAL, default=200, metavar="N", help="characters to generate (default 200)")
    sampler.add_argument("--temperature", type=POSITIVE_FLOAT, default=1.0, metavar="T",
                         help="below 1: more likely characters, above 1: more varied (default 1)")
    sampler.add_argument("--seed", type=NATURAL, default=None, metavar="S",
                         help="seed of the draws (default: the model's seed)")
    sampler.set_defaults(run=sample, subparser=sampler)
    return charrnn
