"""Vanishing gradients, measured: Jacobian products through time and depth, the bound, remedies.

The lecture's claim: when the information an RNN needs is far from where it is used, the RNN
learns poorly, because the gradient that would connect them vanishes. Backpropagation through
time multiplies one Jacobian per step,

    ∂h_T/∂h_t = Π_{k=t+1..T} diag(f′(a_k)) W_hh,      a_k = W_hh h_{k−1} + W_xh x_k + b,

so with γ = sup|f′| and λ₁ the largest singular value of W_hh (Pascanu, Mikolov and Bengio 2013)

    ‖∂h_T/∂h_t‖₂ ≤ Π ‖diag(f′(a_k))‖ ‖W_hh‖ ≤ (γ λ₁)^{T−t}.

For the sigmoid γ = 1/4, proven by ``mathnn verify sigmoid``; ReLU and Leaky ReLU have γ = 1 and
batch normalization rescales each layer's input. This module measures all of it with numpy:

1. :func:`gradient_flow` — the exact Jacobian product (not finite differences) and its spectral
   norm at every distance T − t, next to the bound; :func:`time_experiment` runs it for each
   activation on one random recurrence.
2. :func:`depth_experiment` — the same effect across the layers of a deep feed-forward stack
   (:class:`Stack`), with and without batch norm, at initialization and after gradient descent.
3. :func:`recall_experiment` — an RNN trained to recall a token seen k steps earlier: accuracy
   against k.
4. :func:`shift_experiment` — internal covariate shift: how the per-layer mean and spread of the
   pre-activations drift during training, with and without batch norm (and with noise injected
   after batch norm, after Santurkar et al. 2018).

γ comes from the generated ``<activation>_grad_sup`` kernels and f, f′ from the generated
activation kernels, so every number here uses the proven math. Each experiment takes a ``seed``
and gives the same numbers for the same arguments. Column form (the lecture's ``W_hh h + W_xh x``)
is used for the exact Jacobians; the trained models use CS231n's row form (batches are rows).

Examples
--------
>>> import numpy as np
>>> from mathnn.vanishing import gradient_flow
>>> rng = np.random.default_rng(0)
>>> W_hh = rng.standard_normal((8, 8)) / np.sqrt(8)
>>> x = rng.standard_normal((30, 3))
>>> flow = gradient_flow(W_hh, x, W_xh=rng.standard_normal((8, 3)), b=np.zeros(8), activation="sigmoid")
>>> flow.gamma
0.25
>>> bool(np.all(flow.norms <= flow.bounds))
True
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import math
import numbers
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .kernels import leaky_relu as _leaky_relu
from .kernels import relu as _relu
from .kernels import sigmoid as _sigmoid
from .kernels import tanh as _tanh
from .kernels.rnn import rnn_weight_gradients
from .kernels.softmax_ce import softmax_cross_entropy
from .layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
)
from .optim import clip_by_global_norm, sgd
from .progress import progress
from .tables import format_table
from .validate import as_float_array, describe, positive_real, real_scalar

__all__ = [
    "ACTIVATIONS",
    "BOUND_GENERAL",
    "CURRENT_UNDERSTANDING",
    "EXPERIMENTS",
    "Activation",
    "DepthExperiment",
    "DepthRun",
    "GradientFlow",
    "RecallExperiment",
    "ShiftExperiment",
    "ShiftRun",
    "Stack",
    "StackPass",
    "TimeExperiment",
    "activation_kernels",
    "add_cli",
    "bound_verdict",
    "depth_experiment",
    "gradient_flow",
    "hidden_states",
    "init_stack",
    "jacobian",
    "plot_results",
    "random_recurrence",
    "recall_batch",
    "recall_experiment",
    "regression_task",
    "report",
    "results_to_dict",
    "run_cli",
    "run_experiments",
    "shift_experiment",
    "time_experiment",
    "tour_table",
]

LEAKY_ALPHA = 0.01
EXPERIMENTS = ("time", "depth", "recall", "shift")
RECALL_LEAD = 4

PASCANU = "Pascanu, Mikolov & Bengio (2013)"
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


# -- input checks -----------------------------------------------------------------------------------

def _integer(value: object, name: str, meaning: str, low: int, high: int | None = None) -> int:
    """``value`` as an int in [low, high]; bools, floats and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name}: expected an integer ({meaning}); received {describe(value)}")
    number = int(value)
    if number < low or (high is not None and number > high):
        bounds = f"≥ {low}" if high is None else f"in [{low}, {high}]"
        raise InputError(f"{name}: expected an integer {bounds} ({meaning}); received {number}")
    return number


def _seed(value: object) -> int:
    return _integer(value, "seed", "the seed of the random numbers", 0)



def _real_array(value: object, name: str, shape: tuple[int | None, ...], meaning: str) -> np.ndarray:
    """A finite real float64 array of the given shape (None: any size ≥ 1 along that axis)."""
    array = as_float_array(value, name)
    if array.dtype.kind == "c":
        raise InputError(f"{name}: expected real numbers ({meaning}); received a complex array")
    expected = str(tuple("any" if size is None else size for size in shape)).replace("'", "")
    if array.ndim != len(shape) or any(
        actual == 0 or (size is not None and actual != size) for actual, size in zip(array.shape, shape)
    ):
        raise InputError(f"{name}: expected shape {expected} ({meaning}); received shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name}: expected finite values ({meaning}); received an array with NaN or inf")
    return array.astype(np.float64, copy=False)


# -- activations --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Activation:
    """An activation f with its derivative and γ = sup|f′|, all from the generated kernels.

    Attributes
    ----------
    name : str
    forward : callable, ndarray of any shape -> ndarray of the same shape
        f, element-wise.
    grad : callable, ndarray of any shape -> ndarray of the same shape
        f′, element-wise.
    gamma : float
        sup over x of |f′(x)|, as proven by ``mathnn verify <name>``.
    """

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    gamma: float


ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")


def activation_kernels(name: object, alpha: float = LEAKY_ALPHA) -> Activation:
    """The generated kernels of one activation.

    Parameters
    ----------
    name : {'sigmoid', 'tanh', 'relu', 'leaky_relu'}
    alpha : float, default 0.01
        Leaky ReLU's slope for x ≤ 0 (ignored by the others).

    Returns
    -------
    Activation
    """
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise InputError(
            f"activation: expected one of {', '.join(map(repr, ACTIVATIONS))}; received {describe(name)}"
        )
    if name == "sigmoid":
        return Activation(name, _sigmoid.sigmoid, _sigmoid.sigmoid_grad, _sigmoid.sigmoid_grad_sup())
    if name == "tanh":
        return Activation(name, _tanh.tanh, _tanh.tanh_grad, _tanh.tanh_grad_sup())
    if name == "relu":
        return Activation(name, _relu.relu, _relu.relu_grad, _relu.relu_grad_sup())
    alpha = real_scalar(alpha, "alpha", "Leaky ReLU's slope for x ≤ 0")
    return Activation(
        name,
        functools.partial(_leaky_relu.leaky_relu, alpha=alpha),
        functools.partial(_leaky_relu.leaky_relu_grad, alpha=alpha),
        _leaky_relu.leaky_relu_grad_sup(alpha),
    )


def _activation_list(names: object, name: str = "activations") -> tuple[str, ...]:
    """A non-empty sequence of activation names (None: all four), in the order given, without repeats."""
    if names is None:
        return ACTIVATIONS
    if isinstance(names, str):
        names = (names,)
    if not isinstance(names, Iterable) or not (names := tuple(names)):
        raise InputError(f"{name}: expected a non-empty list of names from {', '.join(ACTIVATIONS)}; received {describe(names)}")
    for item in names:
        if not isinstance(item, str) or item not in ACTIVATIONS:
            raise InputError(
                f"{name}: expected names from {', '.join(map(repr, ACTIVATIONS))}; received {describe(item)}"
            )
    return tuple(dict.fromkeys(names))


# -- 1. exact gradient flow through time -----------------------------------------------------------

def _recurrence_inputs(
    W_hh: object, x: object, W_xh: object, b: object, h0: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    W_hh = as_float_array(W_hh, "W_hh")
    if W_hh.ndim != 2 or W_hh.shape[0] != W_hh.shape[1] or W_hh.shape[0] == 0:
        raise InputError(f"W_hh: expected a square matrix of shape (n, n), n ≥ 1; received shape {W_hh.shape}")
    W_hh = _real_array(W_hh, "W_hh", (None, None), "the recurrent weights")
    n = W_hh.shape[0]
    x = _real_array(x, "x", (None, None), "the inputs x_1 … x_T, one row per step")
    W_xh = _real_array(W_xh, "W_xh", (n, x.shape[1]), f"n = {n} hidden units by d = {x.shape[1]} inputs")
    b = _real_array(b, "b", (n,), "one bias per hidden unit")
    h0 = np.zeros(n) if h0 is None else _real_array(h0, "h0", (n,), "the initial hidden state")
    return W_hh, x, W_xh, b, h0


def _run_recurrence(
    W_hh: np.ndarray, x: np.ndarray, W_xh: np.ndarray, b: np.ndarray, h0: np.ndarray, f: Activation
) -> tuple[np.ndarray, np.ndarray]:
    steps, n = x.shape[0], W_hh.shape[0]
    pre_activations = np.empty((steps, n))
    states = np.empty((steps + 1, n))
    states[0] = h0
    input_terms = x @ W_xh.T + b  # W_xh x_k + b for every k at once
    with np.errstate(over="ignore", invalid="ignore"):  # an exploding relu recurrence may overflow: reported, not hidden
        for k in range(steps):
            pre_activations[k] = W_hh @ states[k] + input_terms[k]
            states[k + 1] = f.forward(pre_activations[k])
    return pre_activations, states


def hidden_states(
    W_hh: np.ndarray,
    x: np.ndarray,
    W_xh: np.ndarray,
    b: np.ndarray,
    activation: str = "tanh",
    h0: np.ndarray | None = None,
    alpha: float = LEAKY_ALPHA,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the recurrence h_k = f(W_hh h_{k−1} + W_xh x_k + b) for k = 1 … T (column form).

    Parameters
    ----------
    W_hh : array_like of shape (n, n)
    x : array_like of shape (T, d)
        Row k − 1 holds the input x_k.
    W_xh : array_like of shape (n, d)
    b : array_like of shape (n,)
    activation : {'sigmoid', 'tanh', 'relu', 'leaky_relu'}, default 'tanh'
    h0 : array_like of shape (n,), optional
        The initial state h_0; zeros when omitted.
    alpha : float, default 0.01
        Leaky ReLU's slope.

    Returns
    -------
    pre_activations : ndarray of shape (T, n)
        Row k − 1 holds a_k.
    states : ndarray of shape (T + 1, n)
        Row k holds h_k (row 0 is h_0).
    """
    f = activation_kernels(activation, alpha)
    return _run_recurrence(*_recurrence_inputs(W_hh, x, W_xh, b, h0), f)


def _step_jacobians(W_hh: np.ndarray, pre_activations: np.ndarray, f: Activation) -> Iterable[np.ndarray]:
    """∂h_k/∂h_{k−1} = diag(f′(a_k)) W_hh for k = T, T − 1, …, 1 (the order backpropagation meets them)."""
    for a in pre_activations[::-1]:
        yield f.grad(a)[:, None] * W_hh


def jacobian(
    W_hh: np.ndarray,
    x: np.ndarray,
    W_xh: np.ndarray,
    b: np.ndarray,
    t: int,
    activation: str = "tanh",
    h0: np.ndarray | None = None,
    alpha: float = LEAKY_ALPHA,
) -> np.ndarray:
    """The exact Jacobian ∂h_T/∂h_t = Π_{k=t+1..T} diag(f′(a_k)) W_hh, a product of step Jacobians.

    Parameters
    ----------
    W_hh, x, W_xh, b, h0, alpha
        As in :func:`hidden_states`; T is the number of rows of x.
    t : int
        The earlier step, 0 ≤ t ≤ T − 1 (t = 0 is the initial state h_0).
    activation : {'sigmoid', 'tanh', 'relu', 'leaky_relu'}, default 'tanh'

    Returns
    -------
    ndarray of shape (n, n)
        Entry (i, j) is ∂h_T[i]/∂h_t[j].
    """
    f = activation_kernels(activation, alpha)
    W_hh, x, W_xh, b, h0 = _recurrence_inputs(W_hh, x, W_xh, b, h0)
    steps = x.shape[0]
    t = _integer(t, "t", f"the earlier step; T = {steps} is the number of inputs", 0, steps - 1)
    pre_activations, _ = _run_recurrence(W_hh, x, W_xh, b, h0, f)
    product = np.eye(W_hh.shape[0])
    for step in _step_jacobians(W_hh, pre_activations[t:], f):
        product = product @ step
    return product


BOUND_GENERAL = (
    f"{PASCANU}: ‖∂h_T/∂h_t‖ ≤ (γλ₁)^(T−t). λ₁ < 1/γ is sufficient for vanishing gradients (the bound then "
    "decays geometrically); λ₁ > 1/γ is only necessary for exploding ones (the bound then grows, but the "
    "gradient need not)."
)


def bound_verdict(gamma: float, lambda1: float) -> str:
    """What the bound ‖∂h_T/∂h_t‖ ≤ (γλ₁)^{T−t} says, and does not say, for this γ and λ₁.

    Parameters
    ----------
    gamma : float
        sup|f′|, > 0.
    lambda1 : float
        Largest singular value of W_hh, ≥ 0.

    Returns
    -------
    str
    """
    gamma = positive_real(gamma, "gamma", "sup|f′|")
    lambda1 = real_scalar(lambda1, "lambda1", "the largest singular value of W_hh, ≥ 0")
    if lambda1 < 0:
        raise InputError(f"lambda1: expected a singular value ≥ 0; received {lambda1!r}")
    rate = gamma * lambda1
    if rate < 1:
        return (
            f"γ = {gamma:g}, λ₁ = {lambda1:.3g} < 1/γ = {1 / gamma:g}: γλ₁ = {rate:.3g} < 1, so the gradient "
            f"provably vanishes, at least as fast as {rate:.3g}^(T−t)."
        )
    if rate == 1:
        return "γλ₁ = 1 exactly: the bound is 1 at every distance and proves neither vanishing nor exploding."
    return (
        f"γ = {gamma:g}, λ₁ = {lambda1:.3g} > 1/γ = {1 / gamma:g}: γλ₁ = {rate:.3g} > 1, so the bound grows and "
        "proves nothing; whether the gradient vanishes or explodes depends on the f′(a_k) met along the way, "
        "which the measured norms show."
    )


@dataclass(frozen=True)
class GradientFlow:
    """The gradient through time of one recurrence: measured ‖∂h_T/∂h_t‖₂ beside the bound.

    Attributes
    ----------
    activation : str
    gamma : float
        γ = sup|f′| from the generated ``<activation>_grad_sup`` kernel.
    lambda1 : float
        λ₁, the largest singular value (spectral norm) of W_hh.
    distances : ndarray of int, shape (T,)
        T − t = 1 … T.
    norms : ndarray of shape (T,)
        ‖∂h_T/∂h_t‖₂ of the exact Jacobian product at each distance (0 or inf only if the true
        value is outside float64's range; ``log10_norms`` is exact either way).
    log10_norms : ndarray of shape (T,)
        log₁₀ of the norms, accumulated without under- or overflow (−inf for an exactly zero
        Jacobian, e.g. all ReLU units off at some step).
    step_bounds : ndarray of shape (T,)
        Π ‖diag(f′(a_k)) W_hh‖₂ over the steps crossed: the middle of the chain
        ‖J‖ ≤ Π‖D_k W_hh‖ ≤ (γλ₁)^{T−t}.
    bounds : ndarray of shape (T,)
        (γλ₁)^{T−t}.
    meaning : str
        What the bound says for this γ and λ₁ (:func:`bound_verdict`).
    """

    activation: str
    gamma: float
    lambda1: float
    distances: np.ndarray
    norms: np.ndarray
    log10_norms: np.ndarray
    step_bounds: np.ndarray
    bounds: np.ndarray
    meaning: str

    @property
    def rate(self) -> float:
        """γλ₁, the factor per step of the bound."""
        return self.gamma * self.lambda1

    def norm_at(self, distance: int) -> float:
        """‖∂h_T/∂h_{T−distance}‖₂ for 1 ≤ distance ≤ T."""
        distance = _integer(distance, "distance", f"T − t, between 1 and T = {self.distances.size}", 1, self.distances.size)
        return float(self.norms[distance - 1])

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python (JSON-ready: non-finite logs become None)."""
        return {
            "activation": self.activation,
            "gamma": self.gamma,
            "lambda1": self.lambda1,
            "gamma_lambda1": self.rate,
            "distances": self.distances.tolist(),
            "norms": _floats(self.norms),
            "log10_norms": _floats(self.log10_norms),
            "step_bounds": _floats(self.step_bounds),
            "bounds": _floats(self.bounds),
            "meaning": self.meaning,
        }


def _floats(values: Iterable[float]) -> list[float | None]:
    """Plain floats for JSON; NaN and ±inf (not JSON) become None."""
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float).ravel()]


def gradient_flow(
    W_hh: np.ndarray,
    x: np.ndarray,
    W_xh: np.ndarray,
    b: np.ndarray,
    activation: str = "tanh",
    h0: np.ndarray | None = None,
    alpha: float = LEAKY_ALPHA,
) -> GradientFlow:
    """Run the recurrence and measure ‖∂h_T/∂h_t‖₂ exactly at every distance T − t = 1 … T.

    The Jacobian is the product Π_{k=t+1..T} diag(f′(a_k)) W_hh, built one step at a time from
    k = T backwards; after each step the running product is divided by its spectral norm and the
    norm's logarithm accumulated, so long products neither underflow nor overflow.

    Parameters
    ----------
    W_hh : array_like of shape (n, n)
        Recurrent weights.
    x : array_like of shape (T, d)
        Inputs, row k − 1 holding x_k.
    W_xh : array_like of shape (n, d)
    b : array_like of shape (n,)
    activation : {'sigmoid', 'tanh', 'relu', 'leaky_relu'}, default 'tanh'
    h0 : array_like of shape (n,), optional
        Initial state; zeros when omitted.
    alpha : float, default 0.01
        Leaky ReLU's slope.

    Returns
    -------
    GradientFlow
    """
    f = activation_kernels(activation, alpha)
    W_hh, x, W_xh, b, h0 = _recurrence_inputs(W_hh, x, W_xh, b, h0)
    pre_activations, _ = _run_recurrence(W_hh, x, W_xh, b, h0, f)
    if not np.all(np.isfinite(pre_activations)):
        raise InputError(
            "W_hh: expected a recurrence whose states stay finite; the forward pass overflowed (scale W_hh down)"
        )
    steps = x.shape[0]
    lambda1 = float(np.linalg.norm(W_hh, 2))
    log_norms = np.empty(steps)
    log_step_bounds = np.empty(steps)
    direction = np.eye(W_hh.shape[0])  # the product divided by its norm
    log_norm = log_step_bound = 0.0
    for index, step in enumerate(_step_jacobians(W_hh, pre_activations, f)):
        log_step_bound += _log10(np.linalg.norm(step, 2))
        direction = direction @ step
        scale = np.linalg.norm(direction, 2)
        log_norm += _log10(scale)
        if scale > 0:
            direction /= scale
        log_norms[index], log_step_bounds[index] = log_norm, log_step_bound
    distances = np.arange(1, steps + 1)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        log_bounds = distances * _log10(f.gamma * lambda1)
        return GradientFlow(
            activation=f.name,
            gamma=f.gamma,
            lambda1=lambda1,
            distances=distances,
            norms=10.0**log_norms,
            log10_norms=log_norms,
            step_bounds=10.0**log_step_bounds,
            bounds=10.0**log_bounds,
            meaning=bound_verdict(f.gamma, lambda1),
        )


def _log10(value: float) -> float:
    return math.log10(value) if value > 0 else -math.inf


@dataclass(frozen=True)
class TimeExperiment:
    """:func:`gradient_flow` for several activations on one random recurrence.

    Attributes
    ----------
    hidden, steps, inputs, seed : int
        n, T, d and the seed.
    init : str
        How W_hh was drawn.
    flows : list of GradientFlow
        One per activation, same W_hh, W_xh, b and inputs.
    seconds : float
        Wall time.
    """

    hidden: int
    steps: int
    inputs: int
    seed: int
    init: str
    flows: list[GradientFlow]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        return {
            **_settings(self),
            "lambda1": self.flows[0].lambda1,
            "bound": BOUND_GENERAL,
            "flows": [flow.to_dict() for flow in self.flows],
        }


W_INITS = ("gaussian", "orthogonal", "identity")


def random_recurrence(
    hidden: int = 32, steps: int = 50, inputs: int = 8, seed: int = 0, init: str = "gaussian", spectral_norm: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random recurrence for the experiments: W_hh, inputs x, W_xh and b = 0.

    Parameters
    ----------
    hidden : int, default 32
        n.
    steps : int, default 50
        T.
    inputs : int, default 8
        d.
    seed : int, default 0
    init : {'gaussian', 'orthogonal', 'identity'}, default 'gaussian'
        W_hh with entries N(0, 1/n) (λ₁ ≈ 2 for large n: the usual initialization), a random
        orthogonal matrix (all singular values 1), or the identity (the IRNN of Le, Jaitly and
        Hinton 2015).
    spectral_norm : float, optional
        Rescale W_hh to this λ₁.

    Returns
    -------
    W_hh : ndarray of shape (n, n)
    x : ndarray of shape (T, d)
        Entries N(0, 1).
    W_xh : ndarray of shape (n, d)
        Entries N(0, 1/d).
    b : ndarray of shape (n,)
        Zeros.
    """
    hidden = _integer(hidden, "hidden", "the number of hidden units n", 1)
    steps = _integer(steps, "steps", "the sequence length T", 1)
    inputs = _integer(inputs, "inputs", "the input size d", 1)
    rng = np.random.default_rng(_seed(seed))
    if init not in W_INITS:
        raise InputError(f"init: expected one of {', '.join(map(repr, W_INITS))}; received {describe(init)}")
    gaussian = rng.standard_normal((hidden, hidden))
    if init == "gaussian":
        W_hh = gaussian / math.sqrt(hidden)
    elif init == "orthogonal":
        q, r = np.linalg.qr(gaussian)
        W_hh = q * np.sign(np.diag(r))  # signs fixed so the matrix is uniformly distributed
    else:
        W_hh = np.eye(hidden)
    if spectral_norm is not None:
        W_hh *= positive_real(spectral_norm, "spectral_norm", "the λ₁ to rescale W_hh to") / np.linalg.norm(W_hh, 2)
    W_xh = rng.standard_normal((hidden, inputs)) / math.sqrt(inputs)
    x = rng.standard_normal((steps, inputs))
    return W_hh, x, W_xh, np.zeros(hidden)


def time_experiment(
    activations: Sequence[str] | None = None,
    hidden: int = 32,
    steps: int = 50,
    seed: int = 0,
    inputs: int = 8,
    init: str = "gaussian",
    spectral_norm: float | None = None,
) -> TimeExperiment:
    """Exact ‖∂h_T/∂h_t‖₂ against the bound for each activation, on one random recurrence.

    Parameters
    ----------
    activations : sequence of str, optional
        Default: all four.
    hidden, steps, inputs, seed, init, spectral_norm
        As in :func:`random_recurrence`.

    Returns
    -------
    TimeExperiment
    """
    start = time.perf_counter()
    names = _activation_list(activations)
    W_hh, x, W_xh, b = random_recurrence(hidden, steps, inputs, seed, init, spectral_norm)
    flows = [gradient_flow(W_hh, x, W_xh, b, name) for name in names]
    return TimeExperiment(hidden, steps, inputs, seed, init, flows, time.perf_counter() - start)


# -- 2. depth: a deep feed-forward stack -----------------------------------------------------------

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


def init_stack(
    activation: str,
    batchnorm: bool = False,
    depth: int = 20,
    width: int = 64,
    inputs: int = 16,
    outputs: int = 4,
    seed: int = 0,
    alpha: float = LEAKY_ALPHA,
) -> Stack:
    """A :class:`Stack` with each activation's usual initialization.

    W_l has entries N(0, s²/fan_in) with the same standard normal draws for every activation
    (same seed), scaled by Glorot's s² = 2·fan_in/(fan_in + fan_out) for sigmoid and tanh and
    He's s² = 2 for relu and leaky_relu; biases 0; batch norm γ = 1, β = 0.

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

    Returns
    -------
    Stack
    """
    activation_kernels(activation, alpha)
    if not isinstance(batchnorm, bool):
        raise InputError(f"batchnorm: expected True or False; received {describe(batchnorm)}")
    depth = _integer(depth, "depth", "the number of weight layers", 2)
    width = _integer(width, "width", "the hidden width", 1)
    inputs = _integer(inputs, "inputs", "the input size", 1)
    outputs = _integer(outputs, "outputs", "the output size", 1)
    rng = np.random.default_rng(_seed(seed))
    sizes = [inputs] + [width] * (depth - 1) + [outputs]
    params: dict[str, np.ndarray] = {}
    for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes), start=1):
        gain = 2.0 if activation in ("relu", "leaky_relu") else 2.0 * fan_in / (fan_in + fan_out)
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
    count = _integer(count, "batch", "the number of training examples N", 2)
    rng = np.random.default_rng([_seed(seed), 1])
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
            "grad_norms_init": _floats(self.grad_norms_init),
            "grad_norms_trained": _floats(self.grad_norms_trained),
            "ratio_first_last_init": self.ratio_init,
            "ratio_first_last_trained": self.ratio_trained,
            "loss_init": float(self.losses[0]),
            "loss_trained": float(self.losses[-1]),
            "losses": _floats(self.losses),
            "first_layer_change": self.first_layer_change,
        }


class _Variants:
    """An experiment made of one run per variant ('sigmoid', 'sigmoid+bn', …)."""

    runs: list

    def run(self, variant: str):
        """The run of one variant, e.g. 'sigmoid+bn'."""
        for run in self.runs:
            if run.variant == variant:
                return run
        raise InputError(f"variant: expected one of {', '.join(r.variant for r in self.runs)}; received {variant!r}")


def _settings(experiment: object) -> dict[str, Any]:
    """The experiment's scalar fields (sizes, rates, seed, seconds) as plain Python."""
    return {
        field.name: getattr(experiment, field.name)
        for field in fields(experiment)
        if isinstance(getattr(experiment, field.name), (int, float, str))
    }


@dataclass(frozen=True)
class DepthExperiment(_Variants):
    """:class:`DepthRun` for each variant on one task.

    Attributes
    ----------
    depth, width, steps, batch, seed : int
    learning_rate : float
    runs : list of DepthRun
    seconds : float
    """

    depth: int
    width: int
    steps: int
    batch: int
    learning_rate: float
    seed: int
    runs: list[DepthRun]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        return {
            **_settings(self),
            "layers": list(range(1, self.depth + 1)),
            "runs": [run.to_dict() for run in self.runs],
        }


def _variants(activations: object, batchnorm: object) -> list[tuple[str, bool]]:
    names = _activation_list(activations)
    if isinstance(batchnorm, bool):
        batchnorm = (batchnorm,)
    if not isinstance(batchnorm, Iterable) or not (options := tuple(batchnorm)) or not all(
        isinstance(option, bool) for option in options
    ):
        raise InputError(f"batchnorm: expected True, False or a non-empty list of them; received {describe(batchnorm)}")
    return [(name, option) for name in names for option in dict.fromkeys(options)]


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

    Returns
    -------
    DepthExperiment
    """
    start = time.perf_counter()
    variants = _variants(activations, batchnorm)
    steps = _integer(steps, "steps", "gradient-descent steps", 0)
    learning_rate = positive_real(learning_rate, "learning_rate", "the step size η")
    seed = _seed(seed)
    x, y = regression_task(batch, seed=seed)
    runs = []
    for name, normalized in progress(variants, len(variants), "depth", enabled=show_progress):
        stack = init_stack(name, normalized, depth, width, seed=seed)
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
    return DepthExperiment(depth, width, steps, batch, learning_rate, seed, runs, time.perf_counter() - start)


# -- 3. long-distance recall -----------------------------------------------------------------------

def recall_batch(
    count: int, length: int, distance: int, rng: np.random.Generator, classes: int = 4, distractors: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Sequences whose target is the one signal token seen ``distance`` steps before the end.

    Tokens 0 … classes − 1 are signals, the next ``distractors`` tokens are noise. Each sequence
    has ``length`` tokens: a random signal at position length − 1 − distance (0-based), random
    distractors everywhere else; the target is the signal. distance = 0 puts the signal last.

    Parameters
    ----------
    count : int
        N, the number of sequences.
    length : int
        T, tokens per sequence.
    distance : int
        k, 0 ≤ k ≤ T − 1.
    rng : numpy.random.Generator
    classes, distractors : int, default 4

    Returns
    -------
    tokens : ndarray of int, shape (N, T)
    targets : ndarray of int, shape (N,)
    """
    length = _integer(length, "length", "tokens per sequence T", 1)
    distance = _integer(distance, "k", f"the distance from the signal to the end, 0 ≤ k ≤ T − 1 = {length - 1}", 0, length - 1)
    tokens = classes + rng.integers(0, distractors, size=(count, length))
    targets = rng.integers(0, classes, size=count)
    tokens[:, length - 1 - distance] = targets
    return tokens, targets


@dataclass
class _RecurrentClassifier:
    """h_t = f(x_t Wx + h_{t−1} Wh + b) over one-hot tokens, scores = h_T Wy + by (CS231n row form)."""

    f: Activation
    params: dict[str, np.ndarray]

    def loss_and_gradients(self, tokens: np.ndarray, targets: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        count, length = tokens.shape
        vocabulary, hidden = self.params["Wx"].shape
        onehots = np.eye(vocabulary)[tokens]  # (N, T, V)
        states = [np.zeros((count, hidden))]
        pre_activations = []
        for step in range(length):
            a = onehots[:, step] @ self.params["Wx"] + states[-1] @ self.params["Wh"] + self.params["b"]
            pre_activations.append(a)
            states.append(self.f.forward(a))
        scores = states[-1] @ self.params["Wy"] + self.params["by"]
        labels = np.eye(scores.shape[1])[targets]
        loss, dscores = softmax_cross_entropy(scores, labels, np.full((count, 1), 1.0 / count))
        grads = {"Wy": states[-1].T @ dscores, "by": dscores.sum(axis=0)}
        grads.update(Wx=np.zeros((vocabulary, hidden)), Wh=np.zeros((hidden, hidden)), b=np.zeros(hidden))
        dh = dscores @ self.params["Wy"].T
        for step in range(length - 1, -1, -1):
            delta = dh * self.f.grad(pre_activations[step])  # δ_t = dh_t ⊙ f′(a_t)
            dh = delta @ self.params["Wh"].T
            # one step at a time: stacking all steps into one product is tidier, but a product that
            # large goes multi-threaded in OpenBLAS, which is ~20× slower on two busy cores
            _, dWx, dWh, db = rnn_weight_gradients(delta, onehots[:, step], states[step], self.params["Wx"])
            grads["Wx"] += dWx
            grads["Wh"] += dWh
            grads["b"] += db
        return float(loss), grads

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        hidden = self.params["Wh"].shape[0]
        h = np.zeros((tokens.shape[0], hidden))
        for step in range(tokens.shape[1]):
            h = self.f.forward(self.params["Wx"][tokens[:, step]] + h @ self.params["Wh"] + self.params["b"])
        return np.argmax(h @ self.params["Wy"] + self.params["by"], axis=1)


@dataclass(frozen=True)
class RecallExperiment:
    """Recall accuracy against the distance k, per activation.

    Attributes
    ----------
    activations : list of str
    distances : list of int
        The k tried.
    accuracy : ndarray of shape (len(activations), len(distances))
        Accuracy on fresh test sequences after training.
    final_loss : ndarray of shape (len(activations), len(distances))
        Mean training loss over the last tenth of the iterations.
    chance : float
        1/classes.
    length, hidden, iterations, batch, test_count, classes, distractors, seed : int
    learning_rate : float
    seconds : float
    """

    activations: list[str]
    distances: list[int]
    accuracy: np.ndarray
    final_loss: np.ndarray
    chance: float
    length: int
    hidden: int
    iterations: int
    batch: int
    test_count: int
    classes: int
    distractors: int
    learning_rate: float
    seed: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        return {
            "activations": self.activations,
            "distances": self.distances,
            "accuracy": {name: _floats(row) for name, row in zip(self.activations, self.accuracy)},
            "final_loss": {name: _floats(row) for name, row in zip(self.activations, self.final_loss)},
            "chance": self.chance,
            "length": self.length,
            "hidden": self.hidden,
            "iterations": self.iterations,
            "batch": self.batch,
            "test_count": self.test_count,
            "classes": self.classes,
            "distractors": self.distractors,
            "learning_rate": self.learning_rate,
            "seed": self.seed,
            "seconds": self.seconds,
        }


def recall_experiment(
    activations: Sequence[str] | None = None,
    distances: Sequence[int] = (1, 2, 4, 6, 8, 12, 16),
    length: int | None = None,
    hidden: int = 32,
    iterations: int = 300,
    batch: int = 32,
    learning_rate: float = 0.3,
    classes: int = 4,
    distractors: int = 4,
    test_count: int = 500,
    seed: int = 0,
    show_progress: bool = False,
) -> RecallExperiment:
    """Train a small RNN to recall the token seen k steps before the end, for each k; report accuracy.

    Each (activation, k) starts from the same initialization (W_hh entries N(0, 1/n), W_xh and
    W_y N(0, 1/fan_in), biases 0) and trains for the same budget: ``iterations`` steps of plain
    gradient descent (:func:`mathnn.optim.sgd`) on fresh batches, gradients clipped to global
    norm 5. Every sequence has the same length, so only the distance changes with k.

    Plain gradient descent, not Adagrad: Adagrad divides each weight's step by the root of its
    own squared gradients, which scales a vanished gradient back up (the rows of W_xh that only
    signal tokens use get exactly such a rescaled gradient) and hides the effect measured here;
    with Adagrad the tanh RNN recalls k = 16 perfectly in the same budget.

    Parameters
    ----------
    activations : sequence of str, optional
        Default: all four.
    distances : sequence of int, default (1, 2, 4, 6, 8, 12, 16)
        The k to try, each 0 ≤ k ≤ length − 1.
    length : int, optional
        Tokens per sequence; default max(distances) + 5, so that distractors precede every signal
        (a signal in first place meets the fixed state h₀ = 0 and is easier to keep).
    hidden : int, default 32
    iterations : int, default 300
    batch : int, default 32
    learning_rate : float, default 0.3
    classes, distractors : int, default 4
        Signal and noise token counts; chance accuracy is 1/classes.
    test_count : int, default 500
        Fresh test sequences per k.
    seed : int, default 0
    show_progress : bool, default False

    Returns
    -------
    RecallExperiment
    """
    start = time.perf_counter()
    names = _activation_list(activations)
    if isinstance(distances, numbers.Integral) or not isinstance(distances, Iterable) or not (distances := list(distances)):
        raise InputError(f"distances: expected a non-empty list of integers k ≥ 0; received {describe(distances)}")
    for k in distances:
        _integer(k, "distances", "each k is a distance ≥ 0 from the signal to the end", 0)
    length = max(distances) + 1 + RECALL_LEAD if length is None else _integer(length, "length", "tokens per sequence", 1)
    if max(distances) > length - 1:
        raise InputError(
            f"distances: expected every k ≤ length − 1 = {length - 1} (the signal must lie inside the sequence); "
            f"received k = {max(distances)}"
        )
    hidden = _integer(hidden, "hidden", "the number of hidden units", 1)
    iterations = _integer(iterations, "iterations", "training steps", 1)
    batch = _integer(batch, "batch", "sequences per step", 1)
    learning_rate = positive_real(learning_rate, "learning_rate", "the step size η")
    classes = _integer(classes, "classes", "signal tokens", 2)
    distractors = _integer(distractors, "distractors", "noise tokens", 1)
    test_count = _integer(test_count, "test_count", "test sequences", 1)
    seed = _seed(seed)
    vocabulary = classes + distractors

    accuracy = np.empty((len(names), len(distances)))
    final_loss = np.empty_like(accuracy)
    jobs = [(i, name, j, k) for i, name in enumerate(names) for j, k in enumerate(distances)]
    for i, name, j, k in progress(jobs, len(jobs), "recall", enabled=show_progress):
        init = np.random.default_rng([seed, 2])
        params = {
            "Wx": init.standard_normal((vocabulary, hidden)) / math.sqrt(vocabulary),
            "Wh": init.standard_normal((hidden, hidden)) / math.sqrt(hidden),
            "b": np.zeros(hidden),
            "Wy": init.standard_normal((hidden, classes)) / math.sqrt(hidden),
            "by": np.zeros(classes),
        }
        model = _RecurrentClassifier(activation_kernels(name), params)
        data = np.random.default_rng([seed, 3, k])
        losses = []
        for _ in range(iterations):
            tokens, targets = recall_batch(batch, length, k, data, classes, distractors)
            loss, grads = model.loss_and_gradients(tokens, targets)
            grads, _ = clip_by_global_norm(grads, 5.0)
            sgd(params, grads, learning_rate)
            losses.append(loss)
        tokens, targets = recall_batch(test_count, length, k, np.random.default_rng([seed, 4, k]), classes, distractors)
        accuracy[i, j] = float(np.mean(model.predict(tokens) == targets))
        final_loss[i, j] = float(np.mean(losses[-max(1, iterations // 10):]))
    return RecallExperiment(
        list(names), [int(k) for k in distances], accuracy, final_loss, 1.0 / classes, length, hidden, iterations,
        batch, test_count, classes, distractors, learning_rate, seed, time.perf_counter() - start,
    )


# -- 4. internal covariate shift -------------------------------------------------------------------

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
            name: _floats([np.mean(getattr(self, name))])[0]
            for name in SHIFT_PER_LAYER
        }
        return {
            "variant": self.variant,
            "average_over_layers": summary,
            **{
                name: _floats(getattr(self, name))
                for name in SHIFT_PER_LAYER
            },
            **{name: [_floats(row) for row in getattr(self, name)] for name in ("mean_z", "std_z", "mean_u", "std_u")},
            "loss_init": float(self.losses[0]),
            "loss_trained": float(self.losses[-1]),
            "losses": _floats(self.losses),
        }


@dataclass(frozen=True)
class ShiftExperiment(_Variants):
    """:class:`ShiftRun` for a stack without batch norm, with it, and with noise injected after it.

    Attributes
    ----------
    activation : str
    depth, width, steps, batch, seed : int
    learning_rate, noise : float
    runs : list of ShiftRun
        Without batch norm, with it, with it and injected noise.
    measured : str
        What this run shows, in words (the current understanding is :data:`CURRENT_UNDERSTANDING`).
    seconds : float
    """

    activation: str
    depth: int
    width: int
    steps: int
    batch: int
    learning_rate: float
    noise: float
    seed: int
    runs: list[ShiftRun]
    measured: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        return {
            **_settings(self),
            "layers": list(range(1, self.depth)),
            "gradient_shift_layers": list(range(2, self.depth)),
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
        earlier = {key: value - learning_rate * grads[key] for key, value in stack.params.items() if _layer(key) < layer}
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
    depth = _integer(depth, "depth", "weight layers; the gradient-based shift needs two hidden layers", 3)
    steps = _integer(steps, "steps", "gradient-descent steps", 1)
    learning_rate = positive_real(learning_rate, "learning_rate", "the step size η")
    noise = real_scalar(noise, "noise", "the size of the injected shift, 0 ≤ noise < 2")
    if not 0 <= noise < 2:
        raise InputError(f"noise: expected a number in [0, 2) (the size of the injected shift); received {noise!r}")
    seed = _seed(seed)
    probes = _integer(probes, "probes", "steps at which the gradient-based shift is measured", 1, steps)
    # evenly spaced from the first step to the last; each probe costs depth − 1 extra passes
    probe_steps = set(np.linspace(0, steps - 1, probes).round().astype(int).tolist())
    x, y = regression_task(batch, seed=seed)
    variants = [(False, False), (True, False), (True, True)]
    runs = []
    jobs = [(normalized, noisy, step) for normalized, noisy in variants for step in range(steps + 1)]
    bar = iter(progress(jobs, len(jobs), "shift", enabled=show_progress))
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
    return ShiftExperiment(
        activation, depth, width, steps, batch, learning_rate, noise, seed, runs,
        _measured(runs), time.perf_counter() - start,
    )


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


# -- all experiments, report, plots, command line ---------------------------------------------------

def run_experiments(
    experiments: Sequence[str] = EXPERIMENTS,
    activations: Sequence[str] | None = None,
    hidden: int | None = None,
    steps: int | None = None,
    seed: int = 0,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Run the chosen experiments with their defaults and the shared settings given.

    Parameters
    ----------
    experiments : sequence of {'time', 'depth', 'recall', 'shift'}, default all
    activations : sequence of str, optional
        Default: all four.
    hidden : int, optional
        n of the RNNs (time, recall) and the width of the stacks (depth, shift); default each
        experiment's own (32, 64, 32, 64).
    steps : int, optional
        Sequence length T of the time experiment; default 50.
    seed : int, default 0
    show_progress : bool, default False

    Returns
    -------
    dict
        'time' : TimeExperiment, 'depth' : DepthExperiment, 'recall' : RecallExperiment,
        'shift' : list of ShiftExperiment (one per activation), for the experiments chosen.
    """
    if isinstance(experiments, str):
        experiments = (experiments,)
    chosen = tuple(dict.fromkeys(experiments))
    for name in chosen:
        if name not in EXPERIMENTS:
            raise InputError(f"experiment: expected one of {', '.join(map(repr, EXPERIMENTS))}; received {describe(name)}")
    names = _activation_list(activations)
    seed = _seed(seed)
    hidden_override = {} if hidden is None else {"hidden": _integer(hidden, "hidden", "hidden units or width", 1)}
    width_override = {} if hidden is None else {"width": hidden_override["hidden"]}
    results: dict[str, Any] = {}
    if "time" in chosen:
        steps_override = {} if steps is None else {"steps": steps}
        results["time"] = time_experiment(names, seed=seed, **hidden_override, **steps_override)
    if "depth" in chosen:
        results["depth"] = depth_experiment(names, seed=seed, show_progress=show_progress, **width_override)
    if "recall" in chosen:
        results["recall"] = recall_experiment(names, seed=seed, show_progress=show_progress, **hidden_override)
    if "shift" in chosen:
        results["shift"] = [
            shift_experiment(name, seed=seed, show_progress=show_progress, **width_override) for name in names
        ]
    return results


def results_to_dict(results: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready form of :func:`run_experiments`' results: every figure :func:`report` prints."""
    return {
        name: [item.to_dict() for item in value] if isinstance(value, list) else value.to_dict()
        for name, value in results.items()
    }


def _sci(value: float) -> str:
    return f"{value:.2e}"


def _short(value: float) -> str:
    return f"{value:.3g}"


TOUR_DISTANCES = (1, 2, 5, 10, 20, 50, 100)


def _time_table(experiment: TimeExperiment, distances: Sequence[int]) -> str:
    flows = experiment.flows
    headers = ["T−t"] + [cell for flow in flows for cell in (f"{flow.activation} ‖∂h_T/∂h_t‖", "bound")]
    rows = [
        [str(d)] + [cell for flow in flows for cell in (_sci(flow.norms[d - 1]), _sci(flow.bounds[d - 1]))]
        for d in distances
    ]
    gammas = ", ".join(f"{flow.activation} {flow.gamma:g}" for flow in flows)
    head = (
        f"W_hh {experiment.hidden}×{experiment.hidden} ({experiment.init}), λ₁ = {_short(flows[0].lambda1)}; "
        f"γ = sup|f′| as proven: {gammas}; bound = (γλ₁)^(T−t)"
    )
    return head + "\n" + format_table(headers, rows, align="right")


def _distances(steps: int) -> list[int]:
    return sorted({d for d in TOUR_DISTANCES if d <= steps} | {steps})


def tour_table(seed: int = 0) -> str:
    """The tour's short table: exact ‖∂h_T/∂h_t‖₂ and the bound at a few distances, sigmoid vs tanh vs relu.

    Parameters
    ----------
    seed : int, default 0

    Returns
    -------
    str
        A few lines of text (a header line and the table), from a 32-unit recurrence over 20 steps.
    """
    experiment = time_experiment(("sigmoid", "tanh", "relu"), hidden=32, steps=20, seed=seed)
    return _time_table(experiment, _distances(20))


def time_report(experiment: TimeExperiment) -> str:
    lines = [
        "1. Through time: exact ‖∂h_T/∂h_t‖₂ (a product of Jacobians diag(f′(a_k)) W_hh) vs the bound",
        _time_table(experiment, _distances(experiment.steps)),
        BOUND_GENERAL,
        *(f"  {flow.activation}: {flow.meaning}" for flow in experiment.flows),
    ]
    return "\n".join(lines)


def depth_report(experiment: DepthExperiment) -> str:
    headers = ["variant", "‖∂L/∂W_1‖/‖∂L/∂W_L‖ init", "after", "‖∂L/∂W_1‖ init", "after", "loss init", "after",
               "‖ΔW_1‖/‖W_1‖"]
    rows = [
        [run.variant, _sci(run.ratio_init), _sci(run.ratio_trained), _sci(run.grad_norms_init[0]),
         _sci(run.grad_norms_trained[0]), _short(run.losses[0]), _short(run.losses[-1]), _sci(run.first_layer_change)]
        for run in experiment.runs
    ]
    layers = sorted({1, 2, 5, 10, 15, experiment.depth} & set(range(1, experiment.depth + 1)))
    per_layer = format_table(
        ["variant"] + [f"l={layer}" for layer in layers],
        [[run.variant] + [_sci(run.grad_norms_init[layer - 1]) for layer in layers] for run in experiment.runs],
    )
    return (
        f"2. Through depth: {experiment.depth} weight layers of width {experiment.width}, L = layer "
        f"{experiment.depth}; {experiment.steps} steps of gradient descent, η = {experiment.learning_rate:g}, "
        f"N = {experiment.batch}\n" + format_table(headers, rows, align="right")
        + "\n‖∂L/∂W_l‖ at initialization, by layer l\n" + per_layer
    )


def recall_report(experiment: RecallExperiment) -> str:
    headers = ["k"] + [f"{name} accuracy" for name in experiment.activations]
    rows = [[str(k)] + [_short(row[j]) for row in experiment.accuracy] for j, k in enumerate(experiment.distances)]
    return (
        f"3. Recall the token seen k steps before the end: sequences of {experiment.length}, hidden "
        f"{experiment.hidden}, {experiment.iterations} gradient-descent steps of {experiment.batch} sequences, "
        f"η = {experiment.learning_rate:g}; chance {_short(experiment.chance)}\n" + format_table(headers, rows, align="right")
    )


def shift_report(experiment: ShiftExperiment, with_reading: bool = True) -> str:
    """The drift table of one activation, followed (unless ``with_reading`` is false) by what it shows."""
    headers = ["variant", "drift μ(z)", "drift σ(z)", "drift μ(u)", "drift σ(u)", "‖G′−G‖/‖G‖", "cos(G,G′)",
               "loss init", "after"]
    rows = [
        [run.variant]
        + [_sci(float(np.mean(getattr(run, name)))) for name in SHIFT_PER_LAYER[:-1]]
        + [_short(float(np.mean(run.gradient_cosine))), _short(run.losses[0]), _short(run.losses[-1])]
        for run in experiment.runs
    ]
    return (
        f"4. Internal covariate shift, {experiment.activation}: {experiment.depth} layers, {experiment.steps} steps, "
        f"η = {experiment.learning_rate:g}, injected noise {experiment.noise:g}; per-step drift of unit means μ and "
        "spreads σ, averaged over hidden layers, of z (before BN) and u (what f sees)\n"
        + format_table(headers, rows, align="right") + ("\n" + experiment.measured if with_reading else "")
    )


def report(results: dict[str, Any]) -> str:
    """Readable tables of :func:`run_experiments`' results; every figure is also in :func:`results_to_dict`.

    Parameters
    ----------
    results : dict
        From :func:`run_experiments`.

    Returns
    -------
    str
    """
    sections = []
    if "time" in results:
        sections.append(time_report(results["time"]) + f"\n({results['time'].seconds:.1f} s)")
    if "depth" in results:
        sections.append(depth_report(results["depth"]) + f"\n({results['depth'].seconds:.1f} s)")
    if "recall" in results:
        sections.append(recall_report(results["recall"]) + f"\n({results['recall'].seconds:.1f} s)")
    for experiment in results.get("shift", []):
        sections.append(shift_report(experiment) + f"\n({experiment.seconds:.1f} s)")
    if results.get("shift"):
        sections.append(CURRENT_UNDERSTANDING)
    return "\n\n".join(sections)


# -- plots ------------------------------------------------------------------------------------------

def _figure(rows: int = 1, columns: int = 1, size: tuple[float, float] = (7.0, 4.5)) -> tuple[Any, Any]:
    """A matplotlib Figure on the Agg canvas, without pyplot (no global state, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size[0] * columns, size[1] * rows), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(rows, columns, squeeze=False)


def _save(figure: Any, directory: Path, name: str) -> list[Path]:
    paths = [directory / f"{name}.png", directory / f"{name}.svg"]
    for path in paths:
        figure.savefig(path, dpi=120)
    return paths


def plot_results(results: dict[str, Any], directory: str | Path) -> list[Path]:
    """Write the figures of :func:`run_experiments`' results as PNG and SVG.

    ``vanishing_time``: ‖∂h_T/∂h_t‖₂ against T − t on a log scale, with the bound dashed;
    ``vanishing_depth``: ‖∂L/∂W_l‖ per layer, at initialization and after training;
    ``vanishing_recall``: recall accuracy against k, with chance; ``vanishing_shift``: per-layer
    drift of what f sees and the gradient-based shift, with and without batch norm.

    Parameters
    ----------
    results : dict
        From :func:`run_experiments`.
    directory : str or Path
        Created if missing.

    Returns
    -------
    list of Path
        The files written, a .png and an .svg per experiment.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError(f"plot: expected a directory to write the figures into; received {str(directory)!r}, a file")
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "time" in results:
        experiment = results["time"]
        figure, axes = _figure()
        ax = axes[0, 0]
        for index, flow in enumerate(experiment.flows):
            color = f"C{index}"
            ax.semilogy(flow.distances, flow.norms, color=color, label=f"{flow.activation} measured")
            ax.semilogy(flow.distances, flow.bounds, color=color, linestyle="--", label=f"bound (γλ₁)^(T−t), γ = {flow.gamma:g}")
        ax.set(xlabel="distance T − t", ylabel="‖∂h_T/∂h_t‖₂",
               title=f"Gradient through time (n = {experiment.hidden}, λ₁ = {experiment.flows[0].lambda1:.3g})")
        ax.legend(fontsize="small")
        written += _save(figure, directory, "vanishing_time")
    if "depth" in results:
        experiment = results["depth"]
        figure, axes = _figure(1, 2)
        layers = np.arange(1, experiment.depth + 1)
        for ax, attribute, when in ((axes[0, 0], "grad_norms_init", "at initialization"),
                                    (axes[0, 1], "grad_norms_trained", f"after {experiment.steps} steps")):
            for index, run in enumerate(experiment.runs):
                style = "--" if run.variant.endswith("+bn") else "-"
                ax.semilogy(layers, getattr(run, attribute), style, color=f"C{index // 2 if len(experiment.runs) > 4 else index}",
                            label=run.variant)
            ax.set(xlabel="layer l", ylabel="‖∂L/∂W_l‖", title=f"Per-layer gradient norm {when}")
        axes[0, 0].legend(fontsize="small")
        written += _save(figure, directory, "vanishing_depth")
    if "recall" in results:
        experiment = results["recall"]
        figure, axes = _figure()
        ax = axes[0, 0]
        for name, row in zip(experiment.activations, experiment.accuracy):
            ax.plot(experiment.distances, row, "o-", label=name)
        ax.axhline(experiment.chance, color="gray", linestyle=":", label="chance")
        ax.set(xlabel="distance k", ylabel="test accuracy", ylim=(0, 1.05),
               title=f"Recall a token seen k steps earlier ({experiment.iterations} steps of training)")
        ax.legend(fontsize="small")
        written += _save(figure, directory, "vanishing_recall")
    if results.get("shift"):
        experiments = results["shift"]
        figure, axes = _figure(len(experiments), 2)
        for row, experiment in enumerate(experiments):
            layers = np.arange(1, experiment.depth)
            for index, run in enumerate(experiment.runs):
                axes[row, 0].semilogy(layers, run.drift_mean_u, "-", color=f"C{index}", label=f"{run.variant}: u")
                axes[row, 0].semilogy(layers, run.drift_mean_z, ":", color=f"C{index}", label=f"{run.variant}: z")
                axes[row, 1].semilogy(layers[1:], run.gradient_shift, "-", color=f"C{index}", label=run.variant)
            axes[row, 0].set(xlabel="layer", ylabel="drift of unit means per step",
                             title=f"{experiment.activation}: drift of u (into f) and z (before BN)")
            axes[row, 1].set(xlabel="layer", ylabel="‖G′ − G‖/‖G‖", title=f"{experiment.activation}: gradient-based shift")
            axes[row, 0].legend(fontsize="small")
            axes[row, 1].legend(fontsize="small")
        written += _save(figure, directory, "vanishing_shift")
    return written


# -- command line -----------------------------------------------------------------------------------

CLI_DESCRIPTION = """\
Vanishing gradients, measured. Four experiments:
  time    exact ‖∂h_T/∂h_t‖₂ of an RNN (a product of Jacobians) at every distance, beside the
          Pascanu-Mikolov-Bengio bound (γλ₁)^(T−t) with γ = sup|f′| as proven
  depth   per-layer gradient norms of a 20-layer stack, with and without batch norm
  recall  an RNN trained to recall a token seen k steps earlier: accuracy against k
  shift   internal covariate shift during training, with and without batch norm
"""


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``vanishing`` subcommand on an argparse subparsers object.

    The handler is set as the ``run`` default (``args.run(args, parser)`` returns the exit code).

    Parameters
    ----------
    subparsers : the object returned by ``ArgumentParser.add_subparsers()``

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
                        help="hidden units of the RNNs (default 32) and width of the stacks (default 64)")
    parser.add_argument("--steps", type=int, metavar="T", help="sequence length T of the time experiment (default 50)")
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
        0 on success, 2 for bad input (one message on stderr).
    """
    experiments = EXPERIMENTS if args.experiment == "all" else (args.experiment,)
    try:
        results = run_experiments(
            experiments, args.activation, args.hidden, args.steps, args.seed, show_progress=not args.json
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
