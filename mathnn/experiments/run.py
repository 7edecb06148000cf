"""All experiments at once, with their defaults and the settings they share (``mathnn vanishing``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import InputError
from ..progress import note, working
from ..validate import describe
from .common import activation_names, as_integer, as_seed
from .depth import depth_experiment
from .recall import recall_experiment
from .remedies import lag_experiment, remember_experiment
from .shift import shift_experiment
from .through_time import time_experiment


EXPERIMENTS = ("time", "depth", "recall", "shift", "lag", "remember")
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "time": time_experiment, "depth": depth_experiment, "recall": recall_experiment,
    "shift": shift_experiment, "lag": lag_experiment, "remember": remember_experiment,
}


def run_experiments(
    experiments: Sequence[str] = EXPERIMENTS,
    activations: Sequence[str] | None = None,
    hidden: int | None = None,
    length: int | None = None,
    seed: int = 0,
    show_progress: bool = False,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run the chosen experiments with their defaults and the shared settings given.

    Parameters
    ----------
    experiments : sequence of {'time', 'depth', 'recall', 'shift', 'lag', 'remember'}, default all
    activations : sequence of str, optional
        Default: all four.
    hidden : int, optional
        n of the RNNs (time, recall, lag, remember) and the width of the stacks (depth, shift);
        default each experiment's own (32, 64, 32, 64, 32, 16).
    length : int, optional
        Sequence length T of the time experiment; default 50.
    seed : int, default 0
    show_progress : bool, default False
        Say on stderr which experiment starts, and show each one's progress (a bar on a terminal,
        a line every few seconds elsewhere); stdout is never written to.
    settings : mapping of experiment name to a mapping of keyword arguments, optional
        More arguments of one experiment's function, e.g. ``{"recall": {"steps": 30}}`` for
        :func:`recall_experiment`; they take precedence over ``hidden`` and ``length``. The docs'
        quick build (``MATHNN_DOCS_PROFILE=quick``) runs every experiment smaller this way.

    Returns
    -------
    dict
        'time' : TimeExperiment, 'depth' : DepthExperiment, 'recall' : RecallExperiment,
        'shift' : list of ShiftExperiment (one per activation), 'lag' : LagExperiment,
        'remember' : RememberExperiment, for the experiments chosen. ``activations`` and ``length``
        do not apply to 'lag' and 'remember' (their cells and lengths are fixed).
    """
    if isinstance(experiments, str):
        experiments = (experiments,)
    chosen = tuple(dict.fromkeys(experiments))
    for name in chosen:
        if name not in EXPERIMENTS:
            raise InputError(f"experiment: expected one of {', '.join(map(repr, EXPERIMENTS))}; received {describe(name)}")
    names = activation_names(activations)
    seed = as_seed(seed)
    extra = _settings(settings)
    hidden_override: dict[str, Any] = {} if hidden is None else {"hidden": as_integer(hidden, "hidden", "hidden units or width", 1)}
    width_override: dict[str, Any] = {} if hidden is None else {"width": hidden_override["hidden"]}
    results: dict[str, Any] = {}

    def start(name: str) -> None:
        note(f"vanishing: {name} experiment ({chosen.index(name) + 1}/{len(chosen)})", show_progress)

    if "time" in chosen:
        start("time")
        length_override: dict[str, Any] = {} if length is None else {"length": length}
        with working("time: Jacobian products", enabled=show_progress, delay=1.0):
            results["time"] = time_experiment(names, seed=seed, **{**hidden_override, **length_override, **extra["time"]})
    if "depth" in chosen:
        start("depth")
        results["depth"] = depth_experiment(names, seed=seed, show_progress=show_progress,
                                            **{**width_override, **extra["depth"]})
    if "recall" in chosen:
        start("recall")
        results["recall"] = recall_experiment(names, seed=seed, show_progress=show_progress,
                                              **{**hidden_override, **extra["recall"]})
    if "shift" in chosen:
        start("shift")
        results["shift"] = []
        for index, name in enumerate(names, 1):
            note(f"shift: {name} ({index}/{len(names)})", show_progress)
            results["shift"].append(shift_experiment(name, seed=seed, show_progress=show_progress,
                                                     **{**width_override, **extra["shift"]}))
    if "lag" in chosen:
        start("lag")
        with working("lag: gradient at every lag", enabled=show_progress, delay=1.0):
            results["lag"] = lag_experiment(seed=seed, **{**hidden_override, **extra["lag"]})
    if "remember" in chosen:
        start("remember")
        results["remember"] = remember_experiment(seed=seed, show_progress=show_progress,
                                                  **{**hidden_override, **extra["remember"]})
    return results


def _settings(settings: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Each experiment's extra keyword arguments (empty for those not named), checked by name."""
    chosen: dict[str, dict[str, Any]] = {name: {} for name in EXPERIMENTS}
    if settings is None:
        return chosen
    if not isinstance(settings, Mapping):
        raise InputError(f"settings: expected a mapping of experiment name to keyword arguments; received {describe(settings)}")
    for name, arguments in settings.items():
        if name not in EXPERIMENTS:
            raise InputError(f"settings: expected experiment names ({', '.join(map(repr, EXPERIMENTS))}) as keys; "
                             f"received {describe(name)}")
        if not isinstance(arguments, Mapping) or not all(isinstance(key, str) for key in arguments):
            raise InputError(f"settings[{name!r}]: expected a mapping of argument name to value; received {describe(arguments)}")
        known = inspect.signature(_FUNCTIONS[name]).parameters
        for key in arguments:
            if key not in known or key in ("activations", "activation", "seed", "show_progress"):
                raise InputError(f"settings[{name!r}]: expected arguments of {_FUNCTIONS[name].__name__} other than "
                                 f"activations, seed and show_progress; received {key!r}")
        chosen[name] = dict(arguments)
    return chosen
