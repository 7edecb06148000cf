"""Internal covariate shift: how what each layer sees drifts during training, with and without batch norm.

:func:`shift_experiment` trains a :class:`~mathnn.experiments.depth.Stack` without batch norm,
with it, and with noise injected after it (after Santurkar et al. 2018), and measures the
per-layer drift of the pre-activations and the gradient-based shift.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..optim import sgd
from ..progress import progress
from ..validate import positive_real, real_scalar
from .common import (
    ExperimentResult, Variants, activation_kernels, as_integer, as_seed, call_settings, json_floats,
)
from .depth import Stack, init_stack, regression_task


SANTURKAR = 'Santurkar, Tsipras, Ilyas & Madry (2018), "How Does Batch Normalization Help Optimization?"'

CURRENT_UNDERSTANDING = (
    "Ioffe & Szegedy (2015) introduced batch norm to reduce internal covariate shift: the change of each layer's "
    f"input distribution as the layers before it learn. {SANTURKAR} found that this is not where its benefit comes "
    "from: injecting noise after batch norm, so that every layer's input distribution shifts at every step, left "
    "training about as fast as with plain batch norm and much faster than without it; and by a gradient-based "
    "measure of covariate shift, batch-norm networks showed as much or more of it. They traced the benefit mostly "
    "to a smoother loss landscape (smaller Lipschitz constants of the loss and of its gradient), which makes the "
    "gradient more predictive and larger steps safe."
)



SHIFT_PER_LAYER = ("drift_mean_z", "drift_std_z", "drift_mean_u", "drift_std_u", "gradient_shift", "gradient_cosine")


@dataclass(frozen=True)
class ShiftRun:
    """Moments of one stack's pre-activations during training, and how much they drift per step.

    Drift of a layer: the mean over units and steps of |μ_j(s+1) − μ_j(s)| (and of the same for the
    standard deviation σ_j), where μ_j, σ_j are unit j's mean and standard deviation over the (fixed)
    training batch at step s. Measured for z = h W + b (before batch norm) and for u, the input of
    the nonlinearity (after batch norm and any injected noise; u = z without batch norm).

    Attributes
    ----------
    variant : str
        'sigmoid', 'sigmoid+bn', 'sigmoid+bn+noise', …
    mean_z, std_z, mean_u, std_u : ndarray of shape (steps + 1, depth − 1)
        Mean over units of μ_j (and of σ_j) per step and hidden layer.
    drift_mean_z, drift_std_z, drift_mean_u, drift_std_u : ndarray of shape (depth − 1,)
        Per hidden layer.
    gradient_shift : ndarray of shape (depth − 2,)
        Santurkar et al.'s measure of covariate shift, relative, for layers l = 2 … depth − 1 (layer 1
        has no layers before it): ‖G′_l − G_l‖/‖G_l‖ averaged over the probed steps, where
        G_l = ∂L/∂W_l and G′_l is the same gradient after the layers before l took their step.
    gradient_cosine : ndarray of shape (depth − 2,)
        cos∠(G_l, G′_l) averaged over the probed steps.
    losses : ndarray of shape (steps + 1,)
        Training loss at each step (with that step's injected noise, for the noisy variant).
    """

    variant: str
    mean_z: np.ndarray
    std_z: np.ndarray
    mean_u: np.ndarray
    std_u: np.ndarray
    drift_mean_z: np.ndarray
    drift_std_z: np.ndarray
    drift_mean_u: np.ndarray
    drift_std_u: np.ndarray
    gradient_shift: np.ndarray
    gradient_cosine: np.ndarray
    losses: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        summary = {
            name: json_floats([np.mean(getattr(self, name))])[0]
            for name in SHIFT_PER_LAYER
        }
        return {
            "variant": self.variant,
            "average_over_layers": summary,
            **{
                name: json_floats(getattr(self, name))
                for name in SHIFT_PER_LAYER
            },
            **{name: [json_floats(row) for row in getattr(self, name)] for name in ("mean_z", "std_z", "mean_u", "std_u")},
            "loss_init": float(self.losses[0]),
            "loss_trained": float(self.losses[-1]),
            "losses": json_floats(self.losses),
        }


@dataclass(frozen=True)
class ShiftExperiment(ExperimentResult, Variants):
    """:class:`ShiftRun` for a stack without batch norm, with it, and with noise injected after it.

    Attributes
    ----------
    settings, seconds
        As in :class:`ExperimentResult`: the arguments of :func:`shift_experiment`.
    runs : list of ShiftRun
        Without batch norm, with it, with it and injected noise.
    measured : str
        What this run shows, in words (the current understanding is :data:`CURRENT_UNDERSTANDING`).
    """

    runs: list[ShiftRun]
    measured: str

    def figures_to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        depth = self.settings["depth"]
        return {
            "measured": self.measured,
            "layers": list(range(1, depth)),
            "gradient_shift_layers": list(range(2, depth)),
            "runs": [run.to_dict() for run in self.runs],
            "current_understanding": CURRENT_UNDERSTANDING,
        }


def _moments(layers: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per layer, per unit: mean and standard deviation over the batch; shapes (layers, width)."""
    stacked = np.stack(layers)
    return stacked.mean(axis=1), stacked.std(axis=1)


def _layer(key: str) -> int:
    """The layer a parameter belongs to: 'gamma12' -> 12."""
    return int(key[len(key.rstrip("0123456789")):])


def _gradient_shift(stack: Stack, x: np.ndarray, y: np.ndarray, grads: dict[str, np.ndarray], learning_rate: float,
                    noise: Sequence[tuple[np.ndarray, np.ndarray]] | None) -> tuple[np.ndarray, np.ndarray]:
    """Santurkar et al.'s G_l vs G′_l for hidden layers l = 2 … depth − 1: relative difference and cosine."""
    relative, cosine = [], []
    for layer in range(2, stack.depth):
        earlier = {key: value.copy() for key, value in stack.params.items() if _layer(key) < layer}
        sgd(earlier, {key: grads[key] for key in earlier}, learning_rate)  # the step the layers before l take
        shifted = Stack(stack.activation, stack.batchnorm, {**stack.params, **earlier}, stack.alpha)
        before, after = grads[f"W{layer}"], shifted.loss_and_gradients(x, y, noise).grads[f"W{layer}"]
        tiny = np.finfo(float).tiny  # a layer with no gradient at all (every ReLU off) gives 0, not NaN
        relative.append(np.linalg.norm(after - before) / max(np.linalg.norm(before), tiny))
        cosine.append(np.sum(after * before) / max(np.linalg.norm(after) * np.linalg.norm(before), tiny))
    return np.array(relative), np.array(cosine)


def shift_experiment(
    activation: str = "sigmoid",
    depth: int = 20,
    width: int = 64,
    steps: int = 50,
    learning_rate: float = 0.05,
    batch: int = 64,
    noise: float = 0.25,
    probes: int = 5,
    seed: int = 0,
    show_progress: bool = False,
) -> ShiftExperiment:
    """Internal covariate shift with and without batch norm, and batch norm with injected shift.

    Three stacks train on the task of :func:`depth_experiment` from the same draws: without
    batch norm, with it, and with it followed by noise that shifts each unit's distribution anew
    at every step (u = BN(z)·s + m, s ~ U(1 − noise/2, 1 + noise/2) and m ~ U(−noise, noise) per
    unit, resampled each step), in the spirit of Santurkar et al. (2018).

    Parameters
    ----------
    activation : {'sigmoid', 'tanh', 'relu', 'leaky_relu'}, default 'sigmoid'
    depth : int, default 20
        Weight layers, ≥ 3.
    width : int, default 64
    steps : int, default 50
        Gradient-descent steps.
    batch : int, default 64
    learning_rate : float, default 0.05
    noise : float, default 0.25
        Size of the injected shift, 0 ≤ noise < 2.
    probes : int, default 5
        Steps (evenly spaced) at which the gradient-based shift is measured, 1 ≤ probes ≤ steps.
    seed : int, default 0
    show_progress : bool, default False

    Returns
    -------
    ShiftExperiment
    """
    start = time.perf_counter()
    activation_kernels(activation)
    depth = as_integer(depth, "depth", "weight layers; the gradient-based shift needs two hidden layers", 3)
    steps = as_integer(steps, "steps", "gradient-descent steps", 1)
    learning_rate = positive_real(learning_rate, "learning_rate", "the step size η")
    noise = real_scalar(noise, "noise", "the size of the injected shift, 0 ≤ noise < 2")
    if not 0 <= noise < 2:
        raise InputError(f"noise: expected a number in [0, 2) (the size of the injected shift); received {noise!r}")
    seed = as_seed(seed)
    probes = as_integer(probes, "probes", "steps at which the gradient-based shift is measured", 1, steps)
    settings = call_settings(shift_experiment, locals())  # activation checked above, width and batch by the calls below
    # evenly spaced from the first step to the last; each probe costs depth − 1 extra passes
    probe_steps = set(np.linspace(0, steps - 1, probes).round().astype(int).tolist())
    x, y = regression_task(batch, seed=seed)
    variants = [(False, False), (True, False), (True, True)]
    runs = []
    jobs = [(normalized, noisy, step) for normalized, noisy in variants for step in range(steps + 1)]
    bar = iter(progress(jobs, len(jobs), f"shift ({activation})", enabled=show_progress))
    for normalized, noisy in variants:
        stack = init_stack(activation, normalized, depth, width, seed=seed)
        noise_rng = np.random.default_rng([seed, 5])
        moments_z, moments_u, losses, shift, cosine = [], [], [], [], []
        for step in range(steps + 1):
            next(bar)
            injected = None
            if noisy:
                injected = [
                    (noise_rng.uniform(1 - noise / 2, 1 + noise / 2, width), noise_rng.uniform(-noise, noise, width))
                    for _ in range(depth - 1)
                ]
            result = stack.loss_and_gradients(x, y, injected)
            losses.append(result.loss)
            moments_z.append(_moments(result.pre_activations))
            moments_u.append(_moments(result.nonlinearity_inputs))
            if step in probe_steps:
                relative, cos = _gradient_shift(stack, x, y, result.grads, learning_rate, injected)
                shift.append(relative)
                cosine.append(cos)
            if step < steps:
                sgd(stack.params, result.grads, learning_rate)
        mean_z, std_z = (np.stack([m[i] for m in moments_z]) for i in (0, 1))  # (steps + 1, layers, width)
        mean_u, std_u = (np.stack([m[i] for m in moments_u]) for i in (0, 1))
        drift = lambda values: np.abs(np.diff(values, axis=0)).mean(axis=(0, 2))
        runs.append(ShiftRun(
            stack.name + ("+noise" if noisy else ""),
            mean_z.mean(axis=2), std_z.mean(axis=2), mean_u.mean(axis=2), std_u.mean(axis=2),
            drift(mean_z), drift(std_z), drift(mean_u), drift(std_u),
            np.mean(shift, axis=0), np.mean(cosine, axis=0), np.array(losses),
        ))
    for _ in bar:  # finish drawing
        pass
    return ShiftExperiment(settings, time.perf_counter() - start, runs, _measured(runs))


def _measured(runs: list[ShiftRun]) -> str:
    """What this run shows, in words computed from its numbers."""
    plain, normalized, noisy = runs
    average = lambda run, name: float(np.mean(getattr(run, name)))
    drift_plain, drift_bn, drift_noisy = (average(run, "drift_mean_u") for run in runs)
    shift_plain, shift_bn = average(plain, "gradient_shift"), average(normalized, "gradient_shift")
    return (
        f"This run: the unit means that f sees drifted {drift_plain:.3g} per step without batch norm and "
        f"{drift_bn:.3g} with it ({drift_bn / drift_plain:.2g}×; its z before normalization drifted "
        f"{average(normalized, 'drift_mean_z'):.3g}). Gradient-based shift ‖G′ − G‖/‖G‖: {shift_plain:.3g} without, "
        f"{shift_bn:.3g} with batch norm ({'lower' if shift_bn < shift_plain else 'not lower'} with it). With noise "
        f"injected after batch norm, f's inputs drifted {drift_noisy:.3g} per step "
        f"({drift_noisy / drift_plain:.2g}× the drift without batch norm) and the loss went from "
        f"{noisy.losses[0]:.3g} to {noisy.losses[-1]:.3g}, against {plain.losses[0]:.3g} to {plain.losses[-1]:.3g} "
        f"without batch norm and {normalized.losses[0]:.3g} to {normalized.losses[-1]:.3g} with it."
    )
