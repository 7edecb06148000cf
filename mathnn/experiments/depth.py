"""The gradient through depth: per-layer gradient norms of a deep feed-forward stack.

A :class:`Stack` of sigmoid, tanh, ReLU or Leaky ReLU layers, with or without batch norm, trained
by gradient descent; :func:`depth_experiment` compares ‖∂L/∂W_l‖ across its layers at
initialization and after training. The stack is built from the CS231n layers
(:mod:`mathnn.layers`) and the generated activation kernels.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..layers import affine_backward, affine_forward, batchnorm_backward, batchnorm_forward
from ..optim import sgd
from ..progress import progress
from ..validate import describe, positive_real
from .common import (
    LEAKY_ALPHA,
    ExperimentResult,
    Variants,
    activation_kernels,
    activation_names,
    as_integer,
    as_seed,
    call_settings,
    json_floats,
)


@dataclass
class Stack:
    """A deep fully connected network: depth − 1 hidden layers of f (optionally batch-normalized) and a linear output.

    Layer l = 1 … depth − 1: z_l = h_{l−1} W_l + b_l, u_l = BN(z_l) (or z_l), h_l = f(u_l);
    output ŷ = h_{depth−1} W_depth + b_depth; loss L = (1/2N) Σ ‖ŷ − y‖².

    Attributes
    ----------
    activation : str
    batchnorm : bool
    params : dict of str to ndarray
        ``W1`` … ``W{depth}`` of shapes (inputs, width), (width, width) …, (width, outputs);
        ``b1`` … ``b{depth}``; with batch norm also ``gamma1``, ``beta1`` … of shape (width,).
    alpha : float
        Leaky ReLU's slope.
    """

    activation: str
    batchnorm: bool
    params: dict[str, np.ndarray]
    alpha: float = LEAKY_ALPHA

    @property
    def name(self) -> str:
        """'sigmoid', 'sigmoid+bn', …"""
        return self.activation + ("+bn" if self.batchnorm else "")

    @property
    def depth(self) -> int:
        """The number of weight layers."""
        return sum(1 for key in self.params if key.startswith("W"))

    def loss_and_gradients(
        self, x: np.ndarray, y: np.ndarray, noise: Sequence[tuple[np.ndarray, np.ndarray]] | None = None
    ) -> StackPass:
        """Forward and backward pass on one batch.

        Parameters
        ----------
        x : ndarray of shape (N, inputs)
        y : ndarray of shape (N, outputs)
        noise : sequence of (scale, shift), each of shape (width,), one per hidden layer, optional
            Applied after batch norm, u_l = BN(z_l)·scale + shift: the covariate shift injected by
            Santurkar et al. (2018). Requires ``batchnorm``.

        Returns
        -------
        StackPass
        """
        f = activation_kernels(self.activation, self.alpha)
        hidden_layers = self.depth - 1
        if noise is not None and (not self.batchnorm or len(noise) != hidden_layers):
            raise InputError(
                f"noise: expected one (scale, shift) pair per hidden layer ({hidden_layers}) of a batch-norm stack; "
                f"received {len(noise)} pairs for a stack with batchnorm={self.batchnorm}"
            )
        h = x
        caches = []
        pre_activations, nonlinearity_inputs = [], []
        for layer in range(1, hidden_layers + 1):
            z, affine_cache = affine_forward(h, self.params[f"W{layer}"], self.params[f"b{layer}"])
            bn_cache = None
            u = z
            if self.batchnorm:
                u, bn_cache = batchnorm_forward(z, self.params[f"gamma{layer}"], self.params[f"beta{layer}"], {"mode": "train"})
                if noise is not None:
                    u = u * noise[layer - 1][0] + noise[layer - 1][1]
            h = f.forward(u)
            caches.append((affine_cache, bn_cache, u))
            pre_activations.append(z)
            nonlinearity_inputs.append(u)
        output, output_cache = affine_forward(h, self.params[f"W{self.depth}"], self.params[f"b{self.depth}"])
        residual = output - y
        count = x.shape[0]
        loss = 0.5 * float(np.sum(residual**2)) / count
        grads: dict[str, np.ndarray] = {}
        dh, grads[f"W{self.depth}"], grads[f"b{self.depth}"] = affine_backward(residual / count, output_cache)
        for layer in range(hidden_layers, 0, -1):
            affine_cache, bn_cache, u = caches[layer - 1]
            du = dh * f.grad(u)
            if self.batchnorm:
                if noise is not None:
                    du = du * noise[layer - 1][0]
                assert bn_cache is not None  # the forward pass keeps one per layer with batch norm
                du, grads[f"gamma{layer}"], grads[f"beta{layer}"] = batchnorm_backward(du, bn_cache)
            dh, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(du, affine_cache)
        return StackPass(loss, grads, pre_activations, nonlinearity_inputs)

    def weight_gradient_norms(self, grads: dict[str, np.ndarray]) -> np.ndarray:
        """‖∂L/∂W_l‖_F for l = 1 … depth, shape (depth,)."""
        return np.array([np.linalg.norm(grads[f"W{layer}"]) for layer in range(1, self.depth + 1)])


@dataclass(frozen=True)
class StackPass:
    """One forward and backward pass of a :class:`Stack`.

    Attributes
    ----------
    loss : float
    grads : dict of str to ndarray
        ∂L/∂p for every parameter p, of its shape.
    pre_activations : list of ndarray of shape (N, width)
        z_l = h_{l−1} W_l + b_l for each hidden layer (before batch norm).
    nonlinearity_inputs : list of ndarray of shape (N, width)
        u_l, what f sees: BN(z_l) (plus injected noise) with batch norm, z_l without.
    """

    loss: float
    grads: dict[str, np.ndarray]
    pre_activations: list[np.ndarray]
    nonlinearity_inputs: list[np.ndarray]


#: The named initializations of a stack's weights.
INITS = ("usual", "xavier", "he")


def init_stack(
    activation: str,
    batchnorm: bool = False,
    depth: int = 20,
    width: int = 64,
    inputs: int = 16,
    outputs: int = 4,
    seed: int = 0,
    alpha: float = LEAKY_ALPHA,
    init: str = "usual",
) -> Stack:
    """A :class:`Stack` with each activation's usual initialization, or the one named by ``init``.

    W_l has entries N(0, s²/fan_in) with the same standard normal draws for every activation
    (same seed), scaled by Glorot's (Xavier's) s² = 2·fan_in/(fan_in + fan_out) for sigmoid and tanh
    and He's s² = 2 for relu and leaky_relu; biases 0; batch norm γ = 1, β = 0.

    Parameters
    ----------
    activation : {'sigmoid', 'tanh', 'relu', 'leaky_relu'}
    batchnorm : bool, default False
        Batch-normalize every hidden layer before f.
    depth : int, default 20
        Weight layers (depth − 1 hidden layers and the output layer), ≥ 2.
    width, inputs, outputs : int
        Hidden width, input size, output size.
    seed : int, default 0
    alpha : float, default 0.01
    init : {'usual', 'xavier', 'he'}, default 'usual'
        'xavier' (Glorot & Bengio 2010) or 'he' (He et al. 2015) for every activation; 'usual' picks
        Xavier for sigmoid and tanh, He for ReLU and Leaky ReLU.

    Returns
    -------
    Stack
    """
    if not isinstance(init, str) or init not in INITS:
        raise InputError(f"init: expected one of {', '.join(map(repr, INITS))}; received {describe(init)}")
    activation_kernels(activation, alpha)
    if not isinstance(batchnorm, bool):
        raise InputError(f"batchnorm: expected True or False; received {describe(batchnorm)}")
    depth = as_integer(depth, "depth", "the number of weight layers", 2)
    width = as_integer(width, "width", "the hidden width", 1)
    inputs = as_integer(inputs, "inputs", "the input size", 1)
    outputs = as_integer(outputs, "outputs", "the output size", 1)
    rng = np.random.default_rng(as_seed(seed))
    sizes = [inputs] + [width] * (depth - 1) + [outputs]
    params: dict[str, np.ndarray] = {}
    for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes), start=1):
        he = init == "he" or (init == "usual" and activation in ("relu", "leaky_relu"))
        gain = 2.0 if he else 2.0 * fan_in / (fan_in + fan_out)
        params[f"W{layer}"] = rng.standard_normal((fan_in, fan_out)) * math.sqrt(gain / fan_in)
        params[f"b{layer}"] = np.zeros(fan_out)
        if batchnorm and layer < depth:
            params[f"gamma{layer}"] = np.ones(fan_out)
            params[f"beta{layer}"] = np.zeros(fan_out)
    return Stack(activation, batchnorm, params, alpha)


def regression_task(count: int = 256, inputs: int = 16, outputs: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small synthetic regression: y = sin(x U) with x ~ N(0, I) and U ~ N(0, 1/inputs).

    Parameters
    ----------
    count, inputs, outputs : int
        N, the input size and the output size.
    seed : int, default 0

    Returns
    -------
    x : ndarray of shape (N, inputs)
    y : ndarray of shape (N, outputs)
    """
    count = as_integer(count, "batch", "the number of training examples N", 2)
    rng = np.random.default_rng([as_seed(seed), 1])
    x = rng.standard_normal((count, inputs))
    projection = rng.standard_normal((inputs, outputs)) / math.sqrt(inputs)
    return x, np.sin(2.0 * x @ projection)


@dataclass(frozen=True)
class DepthRun:
    """One stack trained by gradient descent: per-layer gradient norms before and after.

    Attributes
    ----------
    variant : str
        'sigmoid', 'sigmoid+bn', …
    grad_norms_init, grad_norms_trained : ndarray of shape (depth,)
        ‖∂L/∂W_l‖_F for l = 1 … depth, at initialization and after training.
    losses : ndarray of shape (steps + 1,)
        The loss before each step and after the last.
    first_layer_change : float
        ‖W_1(end) − W_1(0)‖_F / ‖W_1(0)‖_F: how much the first layer learned.
    """

    variant: str
    grad_norms_init: np.ndarray
    grad_norms_trained: np.ndarray
    losses: np.ndarray
    first_layer_change: float

    @property
    def ratio_init(self) -> float:
        """‖∂L/∂W_1‖/‖∂L/∂W_depth‖ at initialization."""
        return float(self.grad_norms_init[0] / self.grad_norms_init[-1])

    @property
    def ratio_trained(self) -> float:
        """‖∂L/∂W_1‖/‖∂L/∂W_depth‖ after training."""
        return float(self.grad_norms_trained[0] / self.grad_norms_trained[-1])

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        return {
            "variant": self.variant,
            "grad_norms_init": json_floats(self.grad_norms_init),
            "grad_norms_trained": json_floats(self.grad_norms_trained),
            "ratio_first_last_init": self.ratio_init,
            "ratio_first_last_trained": self.ratio_trained,
            "loss_init": float(self.losses[0]),
            "loss_trained": float(self.losses[-1]),
            "losses": json_floats(self.losses),
            "first_layer_change": self.first_layer_change,
        }


@dataclass(frozen=True)
class DepthExperiment(ExperimentResult, Variants):
    """:class:`DepthRun` for each variant on one task.

    Attributes
    ----------
    settings, seconds
        As in :class:`ExperimentResult`: the arguments of :func:`depth_experiment` (``batchnorm``: the
        options, as a list).
    runs : list of DepthRun
    """

    runs: list[DepthRun]

    def figures_to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        return {
            "layers": list(range(1, self.settings["depth"] + 1)),
            "runs": [run.to_dict() for run in self.runs],
        }


def _batchnorm_options(batchnorm: object) -> tuple[bool, ...]:
    """Without and/or with batch norm, in the order given, without repeats."""
    if isinstance(batchnorm, bool):
        batchnorm = (batchnorm,)
    if not isinstance(batchnorm, Iterable) or not (options := tuple(batchnorm)) or not all(
        isinstance(option, bool) for option in options
    ):
        raise InputError(f"batchnorm: expected True, False or a non-empty list of them; received {describe(batchnorm)}")
    return tuple(dict.fromkeys(options))


def depth_experiment(
    activations: Sequence[str] | None = None,
    batchnorm: bool | Sequence[bool] = (False, True),
    depth: int = 20,
    width: int = 64,
    steps: int = 100,
    learning_rate: float = 0.05,
    batch: int = 64,
    seed: int = 0,
    show_progress: bool = False,
    init: str = "usual",
) -> DepthExperiment:
    """Per-layer gradient norms of a deep stack, at initialization and after gradient descent.

    Every variant trains on the same regression task (:func:`regression_task`) with full-batch
    gradient descent (:func:`mathnn.optim.sgd`) from the same random draws (:func:`init_stack`).

    Parameters
    ----------
    activations : sequence of str, optional
        Default: all four.
    batchnorm : bool or sequence of bool, default (False, True)
        Run each activation without and/or with batch norm.
    depth : int, default 20
    width : int, default 64
    steps : int, default 100
        Gradient-descent steps.
    learning_rate : float, default 0.05
    batch : int, default 64
        Training examples, one full batch. At most 64 keeps every product under OpenBLAS's threading
        threshold, which here (two busy cores) is ~30× faster than the threaded product.
    seed : int, default 0
    show_progress : bool, default False
    init : {'usual', 'xavier', 'he'}, default 'usual'
        The weights' initialization (:func:`init_stack`).

    Returns
    -------
    DepthExperiment
    """
    start = time.perf_counter()
    activations = activation_names(activations)
    batchnorm = _batchnorm_options(batchnorm)
    steps = as_integer(steps, "steps", "gradient-descent steps", 0)
    learning_rate = positive_real(learning_rate, "learning_rate", "the step size η")
    seed = as_seed(seed)
    settings = call_settings(depth_experiment, locals())  # depth, width, batch, init: checked by the calls below
    x, y = regression_task(batch, seed=seed)
    variants = [(name, option) for name in activations for option in batchnorm]
    runs = []
    for name, normalized in progress(variants, len(variants), "depth", enabled=show_progress):
        stack = init_stack(name, normalized, depth, width, seed=seed, init=init)
        first_layer = stack.params["W1"].copy()
        losses = []
        for step in range(steps + 1):
            result = stack.loss_and_gradients(x, y)
            losses.append(result.loss)
            if step == 0:
                norms_init = stack.weight_gradient_norms(result.grads)
            if step < steps:
                sgd(stack.params, result.grads, learning_rate)
        change = float(np.linalg.norm(stack.params["W1"] - first_layer) / np.linalg.norm(first_layer))
        runs.append(DepthRun(stack.name, norms_init, stack.weight_gradient_norms(result.grads), np.array(losses), change))
    return DepthExperiment(settings, time.perf_counter() - start, runs)
