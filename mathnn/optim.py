"""Parameter updates from the lecture: gradient descent W ← W − η ∂L/∂W, Adagrad, and gradient clipping.

Parameters and gradients are dicts of arrays keyed by name (``{"W_xh": ..., "b_h": ...}``), the way
CS231n and min-char-rnn keep them. :func:`sgd` and :func:`adagrad` update the parameter arrays
**in place**: the arrays in ``params`` are never replaced by new ones, so every other reference to
them (a layer, a closure, a list of weights) sees the update, and each keeps its dtype (float32
weights stay float32; the step is computed in numpy's promoted dtype and written back). The
clipping functions return new arrays and leave their input untouched.

Every function checks all of its input before it changes anything, so a bad gradient never leaves
the parameters half updated. Gradients must be finite: a NaN or inf written into the weights in
place cannot be undone, so it is refused with the key and the index of the first bad entry (an
exploding gradient is the usual cause; clip before it overflows). Every error is a
:class:`mathnn.InputError` naming the argument, what was expected and what was received.

Examples
--------
>>> import numpy as np
>>> from mathnn.optim import clip_by_global_norm, sgd
>>> params = {"W": np.array([1.0, 2.0])}
>>> grads, norm = clip_by_global_norm({"W": np.array([30.0, -40.0])}, max_norm=5.0)
>>> norm, grads["W"].tolist()
(50.0, [3.0, -4.0])
>>> sgd(params, grads, learning_rate=0.5)
>>> params["W"].tolist()
[-0.5, 4.0]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, MutableMapping

import numpy as np
from numpy.typing import ArrayLike

from .errors import InputError
from .validate import as_float_array, describe, positive_real

__all__ = ["adagrad", "clip_by_global_norm", "clip_by_value", "sgd"]


# -- checks -----------------------------------------------------------------------------------------

def _entry(name: str, key: object) -> str:
    """How an entry is named in messages: ``params["W"]``."""
    return f'{name}["{key}"]' if isinstance(key, str) else f"{name}[{key!r}]"


def _key_list(mapping: Iterable[object]) -> str:
    return ", ".join(str(key) for key in mapping) or "no keys"



def _mapping(value: object, name: str, holds: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise InputError(f"{name}: expected a dict of {holds} keyed by name; received {describe(value)}")
    return value


def _same_keys(params: Mapping[str, object], other: Mapping[str, object], name: str) -> None:
    if set(other) != set(params):
        raise InputError(f"{name}: expected the same keys as params ({_key_list(params)}); received {_key_list(other)}")


def _in_place_array(value: object, name: str) -> np.ndarray:
    """An array that can be updated in place without losing anything: a writeable real float ndarray."""
    # An integer array would silently truncate every step and a list or scalar cannot be updated in place.
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        raise InputError(f"{name}: expected a real float ndarray (it is updated in place); received {describe(value)}")
    if not value.flags.writeable:
        raise InputError(f"{name}: expected a writeable array (it is updated in place); received a read-only {describe(value)}")
    return value


def _first_index(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _gradient(value: object, name: str, shape: tuple[int, ...] | None = None, like: str = "") -> np.ndarray:
    """``value`` as a finite real float array, of ``shape`` (the shape of the parameter ``like``) if given."""
    grad = as_float_array(value, name)
    if grad.dtype.kind == "c":
        raise InputError(f"{name}: expected real values; received {describe(grad)}")
    if shape is not None and grad.shape != shape:
        raise InputError(f"{name}: expected shape {shape}, the shape of {like}; received shape {grad.shape}")
    if not (finite := np.isfinite(grad)).all():
        bad = _first_index(~finite)
        raise InputError(f"{name}: expected finite values; received {grad[bad]} at index {bad}")
    return grad


def _checked_params_and_grads(
    params: Mapping[str, np.ndarray], grads: Mapping[str, ArrayLike]
) -> dict[str, np.ndarray]:
    """The gradients, checked against the parameters they update (same keys, same shapes)."""
    params_checked = _mapping(params, "params", "float arrays")
    grads_checked = _mapping(grads, "grads", "arrays")
    _same_keys(params_checked, grads_checked, "grads")
    checked = {}
    for key, param in params_checked.items():
        array = _in_place_array(param, _entry("params", key))
        checked[key] = _gradient(grads_checked[key], _entry("grads", key), array.shape, _entry("params", key))
    return checked


def _checked_grads(grads: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    return {key: _gradient(grad, _entry("grads", key)) for key, grad in _mapping(grads, "grads", "arrays").items()}


# -- updates ----------------------------------------------------------------------------------------

def sgd(params: Mapping[str, np.ndarray], grads: Mapping[str, ArrayLike], learning_rate: float) -> None:
    """Gradient descent, the lecture's update W ← W − η ∂L/∂W, in place for every parameter.

    Parameters
    ----------
    params : dict of str to ndarray
        The parameters; each a writeable real float ndarray of any shape, updated in place
        (never rebound, dtype kept).
    grads : dict of str to array_like
        ∂L/∂W for every parameter: the same keys as ``params``, each of its parameter's shape,
        finite.
    learning_rate : float
        The step size η, finite and > 0.

    Raises
    ------
    InputError
        For keys or shapes that do not match, a non-finite gradient, a parameter that cannot be
        updated in place (not a float ndarray, or read-only), or a bad learning rate. Nothing is
        modified when an error is raised.
    """
    checked = _checked_params_and_grads(params, grads)
    learning_rate = positive_real(learning_rate, "learning_rate", "the step size η")
    for key, grad in checked.items():
        param = params[key]  # augmented assignment on the local name: updates the array, never the dict
        param -= learning_rate * grad


def adagrad(
    params: Mapping[str, np.ndarray],
    grads: Mapping[str, ArrayLike],
    memory: MutableMapping[str, np.ndarray],
    learning_rate: float,
    eps: float = 1e-8,
) -> None:
    """Adagrad (Duchi, Hazan and Singer 2011), in place: each weight gets its own step size.

    For every parameter W with gradient g (element-wise)::

        memory += g²
        W      -= learning_rate · g / (√memory + eps)

    so a weight's step is η divided by the root of the sum of all its squared gradients so far.

    Why char-RNN training traditionally uses it: Karpathy's min-char-rnn (2015) and the char-RNN
    experiments that followed it train with Adagrad (η = 0.1) plus clipping, for three reasons.
    With one-hot inputs, the column of W_xh that belongs to a rare character gets a gradient
    only when that character occurs, so its memory stays small and it keeps taking large steps,
    while the columns of common characters slow down. No weight moves more than η per step,
    however large its gradient, because √memory ≥ |g|; an exploding gradient through time cannot
    throw a weight far. And one learning rate works for all the matrices. The cost is that memory
    only grows, so every step shrinks for ever (steps go as η/√t for a constant gradient);
    RMSProp and Adam replace the sum by a moving average.

    Parameters
    ----------
    params : dict of str to ndarray
        The parameters, updated in place, as for :func:`sgd`.
    grads : dict of str to array_like
        ∂L/∂W for every parameter, as for :func:`sgd`.
    memory : dict of str to ndarray
        The running sums of squared gradients, one per parameter, of its shape; updated in place.
        Keep the dict between calls and start with ``{}``: a missing key is created as zeros in
        the dtype of its parameter. Keys that are not in ``params`` are refused (a memory
        belonging to another model).
    learning_rate : float
        The step size η, finite and > 0.
    eps : float, default 1e-8
        Added to √memory so that a weight whose gradients were all zero is not divided by zero;
        finite and > 0, and still > 0 when rounded to the dtype of the memory (1e-8 rounds to 0
        in float16: pass eps=1e-4 or so for float16 parameters).

    Raises
    ------
    InputError
        For keys or shapes that do not match, a non-finite gradient, a parameter or memory entry
        that cannot be updated in place, a negative or NaN memory entry, or a bad learning rate
        or eps. Nothing is modified (and no memory is created) when an error is raised.
    """
    checked = _checked_params_and_grads(params, grads)
    if not isinstance(memory, MutableMapping):
        raise InputError(f"memory: expected a dict of arrays keyed by name (start with {{}}); received {describe(memory)}")
    if not set(memory) <= set(params):
        raise InputError(f"memory: expected keys among those of params ({_key_list(params)}); received {_key_list(memory)}")
    for key in memory:
        name = _entry("memory", key)
        sums = _in_place_array(memory[key], name)
        if sums.shape != params[key].shape:
            raise InputError(
                f"{name}: expected shape {params[key].shape}, the shape of {_entry('params', key)}; "
                f"received shape {sums.shape}"
            )
        if not (valid := sums >= 0).all():  # also catches NaN
            bad = _first_index(~valid)
            raise InputError(f"{name}: expected sums of squared gradients (≥ 0); received {sums[bad]} at index {bad}")
    learning_rate = positive_real(learning_rate, "learning_rate", "the step size η")
    eps = positive_real(eps, "eps", "added to √memory")
    for key in params:
        # √memory + eps is computed in memory's dtype: an eps that rounds to 0 there divides 0 by 0
        owner = _entry("memory", key) if key in memory else _entry("params", key)
        dtype = (memory[key] if key in memory else params[key]).dtype
        if dtype.type(eps) == 0:
            raise InputError(
                f"eps: expected a value that stays > 0 in {dtype}, the dtype of {owner}; received {eps!r}, which rounds to 0"
            )
    for key, grad in checked.items():
        if key not in memory:
            memory[key] = np.zeros_like(params[key])
        sums = memory[key]
        sums += grad * grad
        param = params[key]
        param -= learning_rate * grad / (np.sqrt(sums) + eps)


# -- clipping ---------------------------------------------------------------------------------------

def clip_by_value(grads: Mapping[str, ArrayLike], limit: float) -> dict[str, np.ndarray]:
    """Clip every gradient entry to [−limit, limit] (min-char-rnn clips to [−5, 5]).

    Parameters
    ----------
    grads : dict of str to array_like
        Gradients of any shapes, finite. Not modified.
    limit : float
        The largest magnitude kept, finite and > 0.

    Returns
    -------
    clipped : dict of str to ndarray
        New arrays, the same keys and shapes as ``grads``; float input keeps its dtype, integers
        and booleans become float64.

    Notes
    -----
    Clipping by value can change the direction of the gradient (each entry is cut separately);
    :func:`clip_by_global_norm` keeps the direction and only shortens the step.
    """
    checked = _checked_grads(grads)
    limit = positive_real(limit, "limit", "the largest magnitude kept")
    return {key: np.clip(grad, -limit, limit) for key, grad in checked.items()}


def _global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """√(Σ g²) over every entry of every array, without overflow.

    Exploding gradients are exactly the large ones: float32 squares overflow above ~1.8e19, so
    the sum is taken in float64 after dividing by the largest magnitude.
    """
    largest = max((float(np.abs(grad).max()) for grad in grads.values() if grad.size), default=0.0)
    if largest == 0:
        return 0.0
    scaled_squares = sum(float(np.sum(np.square(grad / largest, dtype=np.float64))) for grad in grads.values())
    return largest * math.sqrt(scaled_squares)


def clip_by_global_norm(grads: Mapping[str, ArrayLike], max_norm: float) -> tuple[dict[str, np.ndarray], float]:
    """Rescale all gradients together so that their global L2 norm is at most ``max_norm``.

    g ← min(1, θ/‖g‖) · g with ‖g‖ = √(Σ over all arrays and entries of g²) (Pascanu, Mikolov and
    Bengio 2013): the direction of the whole update is kept, only its length is capped. A zero
    gradient stays zero (it is never divided by its norm).

    Parameters
    ----------
    grads : dict of str to array_like
        Gradients of any shapes, finite. Not modified.
    max_norm : float
        The threshold θ, finite and > 0.

    Returns
    -------
    clipped : dict of str to ndarray
        New arrays (also when nothing is clipped), the same keys and shapes as ``grads``; float
        input keeps its dtype, integers and booleans become float64.
    norm : float
        ‖g‖ before clipping, computed in float64: worth logging, a sudden jump is an exploding
        gradient.
    """
    checked = _checked_grads(grads)
    max_norm = positive_real(max_norm, "max_norm", "the threshold θ")
    norm = _global_norm(checked)
    if norm <= max_norm:
        return {key: grad.copy() for key, grad in checked.items()}, norm
    scale = max_norm / norm
    return {key: grad * scale for key, grad in checked.items()}, norm
