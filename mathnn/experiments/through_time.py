"""The gradient through time: exact Jacobian products ∂h_T/∂h_t against the Pascanu bound.

Backpropagation through time multiplies one Jacobian per step,

    ∂h_T/∂h_t = Π_{k=t+1..T} diag(f′(a_k)) W_hh,      a_k = W_hh h_{k−1} + W_xh x_k + b,

so with γ = sup|f′| and λ₁ the largest singular value of W_hh (Pascanu, Mikolov and Bengio 2013)

    ‖∂h_T/∂h_t‖₂ ≤ Π ‖diag(f′(a_k))‖ ‖W_hh‖ ≤ (γ λ₁)^{T−t}.

:func:`gradient_flow` measures the exact product (not finite differences) and its spectral norm
at every distance T − t next to the bound; :func:`time_experiment` runs it for each activation on
one random recurrence. The measurement uses the lecture's column form ``W_hh h + W_xh x``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..validate import as_float_array, describe, positive_real, real_scalar
from ..kernels.rnn import rnn_sequence_forward
from .common import (
    LEAKY_ALPHA,
    Activation,
    ExperimentResult,
    activation_kernels,
    activation_names,
    as_integer,
    as_seed,
    call_settings,
    json_floats,
)


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



def _recurrent_weights(W_hh: object) -> np.ndarray:
    W_hh = as_float_array(W_hh, "W_hh")
    if W_hh.ndim != 2 or W_hh.shape[0] != W_hh.shape[1] or W_hh.shape[0] == 0:
        raise InputError(f"W_hh: expected a square matrix of shape (n, n), n ≥ 1; received shape {W_hh.shape}")
    return _real_array(W_hh, "W_hh", (None, None), "the recurrent weights")


def _recurrence_inputs(
    W_hh: object, x: object, W_xh: object, b: object, h0: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    W_hh = _recurrent_weights(W_hh)
    n = W_hh.shape[0]
    x = _real_array(x, "x", (None, None), "the inputs x_1 … x_T, one row per step")
    W_xh = _real_array(W_xh, "W_xh", (n, x.shape[1]), f"n = {n} hidden units by d = {x.shape[1]} inputs")
    b = _real_array(b, "b", (n,), "one bias per hidden unit")
    h0 = np.zeros(n) if h0 is None else _real_array(h0, "h0", (n,), "the initial hidden state")
    return W_hh, x, W_xh, b, h0


def _run_recurrence(
    W_hh: np.ndarray, x: np.ndarray, W_xh: np.ndarray, b: np.ndarray, h0: np.ndarray, f: Activation
) -> tuple[np.ndarray, np.ndarray]:
    """a_1 … a_T of shape (T, n) and h_0 … h_T of shape (T + 1, n), from the sequence kernel.

    The kernel takes CS231n's row form, here one sequence: x_k W_xhᵀ + h_{k−1} W_hhᵀ + b is the
    lecture's W_hh h_{k−1} + W_xh x_k + b.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # an exploding relu recurrence may overflow: reported, not hidden
        h, a = rnn_sequence_forward(x[np.newaxis], h0[np.newaxis], W_xh.T, W_hh.T, b, f=f.forward)
    return a[0], np.concatenate((h0[np.newaxis], h[0]))


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


def _recorded_run(W_hh: object, pre_activations: object) -> tuple[np.ndarray, np.ndarray]:
    """W_hh (n, n) and a_1 … a_T (T, n) of one run, checked: what the Jacobians of that run depend on."""
    W_hh = _recurrent_weights(W_hh)
    pre_activations = as_float_array(pre_activations, "pre_activations")
    if pre_activations.dtype.kind != "c" and pre_activations.ndim == 2 and not np.all(np.isfinite(pre_activations)):
        raise InputError(
            "pre_activations: expected finite values (a_1 … a_T of a run); received an array with NaN or inf "
            "(the forward pass overflowed: scale W_hh down)"
        )
    n = W_hh.shape[0]
    return W_hh, _real_array(pre_activations, "pre_activations", (None, n), f"a_1 … a_T, one row of n = {n} per step")


def jacobian(
    W_hh: np.ndarray,
    pre_activations: np.ndarray,
    t: int,
    activation: str = "tanh",
    alpha: float = LEAKY_ALPHA,
) -> np.ndarray:
    """The exact Jacobian ∂h_T/∂h_t = Π_{k=t+1..T} diag(f′(a_k)) W_hh, a product of step Jacobians.

    It depends on the run only through its pre-activations a_k, so it takes them as recorded, by
    :func:`hidden_states` or by any other forward pass of the same recurrence.

    Parameters
    ----------
    W_hh : array_like of shape (n, n)
    pre_activations : array_like of shape (T, n)
        Row k − 1 holds a_k (the first output of :func:`hidden_states`).
    t : int
        The earlier step, 0 ≤ t ≤ T − 1 (t = 0 is the initial state h_0).
    activation : {'sigmoid', 'tanh', 'relu', 'leaky_relu'}, default 'tanh'
    alpha : float, default 0.01
        Leaky ReLU's slope.

    Returns
    -------
    ndarray of shape (n, n)
        Entry (i, j) is ∂h_T[i]/∂h_t[j].
    """
    f = activation_kernels(activation, alpha)
    W_hh, pre_activations = _recorded_run(W_hh, pre_activations)
    length = pre_activations.shape[0]
    t = as_integer(t, "t", f"the earlier step; T = {length} is the number of pre-activations", 0, length - 1)
    product = np.eye(W_hh.shape[0])
    for step in _step_jacobians(W_hh, pre_activations[t:], f):
        product = product @ step
    return product


PASCANU = "Pascanu, Mikolov & Bengio (2013)"
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
        distance = as_integer(distance, "distance", f"T − t, between 1 and T = {self.distances.size}", 1, self.distances.size)
        return float(self.norms[distance - 1])

    def to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python (JSON-ready: non-finite logs become None)."""
        return {
            "activation": self.activation,
            "gamma": self.gamma,
            "lambda1": self.lambda1,
            "gamma_lambda1": self.rate,
            "distances": self.distances.tolist(),
            "norms": json_floats(self.norms),
            "log10_norms": json_floats(self.log10_norms),
            "step_bounds": json_floats(self.step_bounds),
            "bounds": json_floats(self.bounds),
            "meaning": self.meaning,
        }


def gradient_flow(
    W_hh: np.ndarray,
    pre_activations: np.ndarray,
    activation: str = "tanh",
    alpha: float = LEAKY_ALPHA,
) -> GradientFlow:
    """Measure ‖∂h_T/∂h_t‖₂ of one run exactly at every distance T − t = 1 … T.

    The Jacobian is the product Π_{k=t+1..T} diag(f′(a_k)) W_hh, built one step at a time from
    k = T backwards; after each step the running product is divided by its spectral norm and the
    norm's logarithm accumulated, so long products neither underflow nor overflow.

    Parameters
    ----------
    W_hh : array_like of shape (n, n)
        Recurrent weights.
    pre_activations : array_like of shape (T, n)
        Row k − 1 holds a_k = W_hh h_{k−1} + W_xh x_k + b: the first output of
        :func:`hidden_states`, or a_1 … a_T recorded by any forward pass of the same recurrence.
    activation : {'sigmoid', 'tanh', 'relu', 'leaky_relu'}, default 'tanh'
    alpha : float, default 0.01
        Leaky ReLU's slope.

    Returns
    -------
    GradientFlow
    """
    f = activation_kernels(activation, alpha)
    W_hh, pre_activations = _recorded_run(W_hh, pre_activations)
    length = pre_activations.shape[0]
    lambda1 = float(np.linalg.norm(W_hh, 2))
    log_norms = np.empty(length)
    log_step_bounds = np.empty(length)
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
    distances = np.arange(1, length + 1)
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


def _log10(value: float | np.floating) -> float:
    return math.log10(value) if value > 0 else -math.inf


@dataclass(frozen=True)
class TimeExperiment(ExperimentResult):
    """:func:`gradient_flow` for several activations on one random recurrence.

    Attributes
    ----------
    settings, seconds
        As in :class:`ExperimentResult`: the arguments of :func:`time_experiment` (``init``: how W_hh was
        drawn).
    flows : list of GradientFlow
        One per activation, same W_hh, W_xh, b and inputs.
    """

    flows: list[GradientFlow]

    def figures_to_dict(self) -> dict[str, Any]:
        """Every figure as plain Python."""
        return {
            "lambda1": self.flows[0].lambda1,
            "bound": BOUND_GENERAL,
            "flows": [flow.to_dict() for flow in self.flows],
        }


W_INITS = ("gaussian", "orthogonal", "identity")


def random_recurrence(
    hidden: int = 32, length: int = 50, inputs: int = 8, seed: int = 0, init: str = "gaussian", spectral_norm: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random recurrence for the experiments: W_hh, inputs x, W_xh and b = 0.

    Parameters
    ----------
    hidden : int, default 32
        n.
    length : int, default 50
        T, the sequence length.
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
    hidden, length, inputs, seed, init, spectral_norm = _recurrence_arguments(
        hidden, length, inputs, seed, init, spectral_norm
    )
    rng = np.random.default_rng(seed)
    gaussian = rng.standard_normal((hidden, hidden))
    if init == "gaussian":
        W_hh = gaussian / math.sqrt(hidden)
    elif init == "orthogonal":
        q, r = np.linalg.qr(gaussian)
        W_hh = q * np.sign(np.diag(r))  # signs fixed so the matrix is uniformly distributed
    else:
        W_hh = np.eye(hidden)
    if spectral_norm is not None:
        W_hh *= spectral_norm / np.linalg.norm(W_hh, 2)
    W_xh = rng.standard_normal((hidden, inputs)) / math.sqrt(inputs)
    x = rng.standard_normal((length, inputs))
    return W_hh, x, W_xh, np.zeros(hidden)


def _recurrence_arguments(
    hidden: object, length: object, inputs: object, seed: object, init: object, spectral_norm: object
) -> tuple[int, int, int, int, str, float | None]:
    """The arguments of :func:`random_recurrence`, checked."""
    hidden = as_integer(hidden, "hidden", "the number of hidden units n", 1)
    length = as_integer(length, "length", "the sequence length T", 1)
    inputs = as_integer(inputs, "inputs", "the input size d", 1)
    seed = as_seed(seed)
    if not isinstance(init, str) or init not in W_INITS:
        raise InputError(f"init: expected one of {', '.join(map(repr, W_INITS))}; received {describe(init)}")
    if spectral_norm is not None:
        spectral_norm = positive_real(spectral_norm, "spectral_norm", "the λ₁ to rescale W_hh to")
    return hidden, length, inputs, seed, init, spectral_norm


def time_experiment(
    activations: Sequence[str] | None = None,
    hidden: int = 32,
    length: int = 50,
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
    hidden, length, inputs, seed, init, spectral_norm
        As in :func:`random_recurrence`.

    Returns
    -------
    TimeExperiment
    """
    start = time.perf_counter()
    activations = activation_names(activations)
    hidden, length, inputs, seed, init, spectral_norm = _recurrence_arguments(
        hidden, length, inputs, seed, init, spectral_norm
    )
    settings = call_settings(time_experiment, locals())
    W_hh, x, W_xh, b = random_recurrence(hidden, length, inputs, seed, init, spectral_norm)
    flows = [gradient_flow(W_hh, hidden_states(W_hh, x, W_xh, b, name)[0], name) for name in activations]
    return TimeExperiment(settings, time.perf_counter() - start, flows)
