"""The ``mathnn vanishing`` command: run the experiments, print tables or JSON, write figures."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from typing import Any

from ..errors import InputError
from .common import ACTIVATIONS
from .plots import plot_results
from .report import report, results_to_dict
from .run import EXPERIMENTS, run_experiments


CLI_DESCRIPTION = """\
Vanishing gradients and their remedies, measured. Six experiments:
  time    exact ‖∂h_T/∂h_t‖₂ of an RNN (a product of Jacobians) at every distance, beside the
          Pascanu-Mikolov-Bengio bound (γλ₁)^(T−t) with γ = sup|f′| as proven
  depth   per-layer gradient norms of a 20-layer stack, with and without batch norm
  recall  an RNN trained to recall a token seen k steps earlier: accuracy against k
  shift   internal covariate shift during training, with and without batch norm
  lag     ‖∂L/∂h_(T−k)‖/‖∂L/∂h_T‖ against the lag k for a tanh RNN, the IRNN, orthogonal W_hh and
          the LSTM with forget-gate bias 0, 1, 3 (several seeds); an exploding RNN and clipping
  remember  the sign of the first input after k noise steps: accuracy against k for a tanh
          RNN, the IRNN and the LSTM, several seeds
"""


def _has_matplotlib() -> bool:
    """Whether matplotlib can be imported (``--plot`` draws with it; it is the optional ``plot`` extra)."""
    return importlib.util.find_spec("matplotlib") is not None


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``vanishing`` subcommand on an argparse subparsers object.

    The handler is set as the ``run`` default (``args.run(args, parser)`` returns the exit code).

    Parameters
    ----------
    subparsers : object
        The object ``ArgumentParser.add_subparsers()`` returns.

    Returns
    -------
    argparse.ArgumentParser
        The ``vanishing`` parser.
    """
    parser = subparsers.add_parser(
        "vanishing",
        help="measure vanishing gradients through time and depth, and their remedies",
        description=CLI_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--activation", action="append", metavar="NAME",
        help=f"activation to include, repeatable: {', '.join(ACTIVATIONS)} (default: all)",
    )
    parser.add_argument("--hidden", type=int, metavar="N",
                        help="hidden units of the RNNs (default 32; 16 for remember) and width of the stacks (default 64)")
    parser.add_argument("--length", type=int, metavar="T", help="sequence length T of the time experiment (default 50)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="seed of every random draw (default 0)")
    parser.add_argument("--experiment", choices=(*EXPERIMENTS, "all"), default="all",
                        help="which experiment to run (default all)")
    parser.add_argument("--json", action="store_true", help="print every figure as JSON instead of tables")
    parser.add_argument("--plot", metavar="DIR", help="also write the figures as PNG and SVG into DIR")
    parser.set_defaults(run=run_cli)
    return parser


def run_cli(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    """The ``vanishing`` subcommand: run, print tables (or JSON), write plots.

    Parameters
    ----------
    args : argparse.Namespace
        From the parser made by :func:`add_cli`.
    parser : argparse.ArgumentParser, optional
        Unused; accepted for the ``args.run(args, parser)`` convention of :mod:`mathnn.cli`.

    Returns
    -------
    int
        0 on success, 2 for bad input or ``--plot`` without matplotlib (one message on stderr).
    """
    experiments = EXPERIMENTS if args.experiment == "all" else (args.experiment,)
    if args.plot is not None and not _has_matplotlib():  # before the experiments, not after a minute of them
        print("mathnn vanishing: error: --plot needs matplotlib; install it with: pip install 'mathnn[plot]'",
              file=sys.stderr)
        return 2
    try:
        # Progress goes to stderr, so it is shown with --json too: stdout holds only the JSON.
        results = run_experiments(
            experiments, args.activation, args.hidden, args.length, args.seed, show_progress=True
        )
        plots = [] if args.plot is None else plot_results(results, args.plot)
    except InputError as error:
        print(f"mathnn vanishing: error: {error}", file=sys.stderr)
        return 2
    if args.json:
        data = {"seed": args.seed, **results_to_dict(results)}
        if args.plot is not None:
            data["plots"] = [str(path) for path in plots]
        print(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(report(results))
        if plots:
            print("\nfigures written:\n" + "\n".join(f"  {path}" for path in plots))
    return 0
