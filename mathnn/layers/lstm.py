"""The LSTM step of CS231n assignment 3, on the kernels generated from the rule ``lstm_step``.

The rule proves the step's two outputs together as [h_t | c_t] (:mod:`mathnn.rules.lstm_step`); this
module gives them CS231n's signatures, ``lstm_step_forward(...) -> (next_h, next_c, cache)`` and
``lstm_step_backward(dnext_h, dnext_c, cache)``, checks the input and keeps copies of the weights (so
updating them in place before the backward pass does not change the gradient). The sequence
functions ``lstm_forward`` and ``lstm_backward`` are built from the step unrolled over T
(:mod:`mathnn.rules.lstm`) by :func:`mathnn.catalogue.sequence_functions`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..kernels import lstm_step as _step
from ..validate import as_float_array
from ._checks import check_cache, expect_shape, shaped, upstream

__all__ = ["LSTMStepCache", "lstm_step_backward", "lstm_step_forward"]

#: The names of the forward kernel's cache, in the order the backward kernel takes them.
_CACHE: list[str] = list(_step.SPEC["cache"])  # type: ignore[arg-type]  # SPEC is plain data


@dataclass(frozen=True)
class LSTMStepCache:
    """What :func:`lstm_step_backward` needs from :func:`lstm_step_forward`: the kernel's cache, by name.

    Attributes
    ----------
    values : dict of str to ndarray
        x, prev_h, prev_c, copies of Wx and Wh, the gates i, f, o, g and tanh(c_t).
    hidden : int
        H, the size of next_h and next_c.
    rows : int
        N.
    """

    values: dict[str, np.ndarray]
    hidden: int
    rows: int


def _lstm_arguments(x: object, prev_h: object, prev_c: object, Wx: object, Wh: object,
                    b: object) -> tuple[np.ndarray, ...]:
    """The step's arguments, checked against each other: N and D from x, H from Wh."""
    x = shaped(x, "x", "(N, D)", 2)
    n, d = x.shape
    Wh = as_float_array(Wh, "Wh")
    if Wh.ndim != 2 or Wh.shape[0] == 0 or Wh.shape[1] != 4 * Wh.shape[0]:
        raise InputError(f"Wh: expected shape (H, 4H) with H ≥ 1, the four gates i, f, o, g side by side; "
                         f"received shape {Wh.shape}")
    h = Wh.shape[0]
    Wx = as_float_array(Wx, "Wx")
    expect_shape(Wx, "Wx", (d, 4 * h), f"(D, 4H): D = {d} from x with shape {x.shape}, H = {h} from Wh")
    b = as_float_array(b, "b")
    expect_shape(b, "b", (4 * h,), f"(4H,) with H = {h} from Wh with shape {Wh.shape}")
    states = []
    for name, value in (("prev_h", prev_h), ("prev_c", prev_c)):
        state = as_float_array(value, name)
        expect_shape(state, name, (n, h), f"(N, H): N = {n} from x with shape {x.shape}, H = {h} from Wh")
        states.append(state)
    return (x, *states, Wx, Wh, b)


def lstm_step_forward(
    x: np.ndarray, prev_h: np.ndarray, prev_c: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, LSTMStepCache]:
    """One LSTM step, as in CS231n assignment 3 (gate order i, f, o, g).

    a = x @ Wx + prev_h @ Wh + b; i, f, o = σ of a's first three H-column blocks, g = tanh of the
    last; next_c = f ⊙ prev_c + i ⊙ g; next_h = o ⊙ tanh(next_c).

    Parameters
    ----------
    x : array_like of shape (N, D)
    prev_h, prev_c : array_like of shape (N, H)
        The previous hidden state and cell.
    Wx : array_like of shape (D, 4H)
    Wh : array_like of shape (H, 4H)
    b : array_like of shape (4H,)

    Returns
    -------
    next_h, next_c : ndarray of shape (N, H)
    cache : LSTMStepCache
        For :func:`lstm_step_backward`.
    """
    arrays = _lstm_arguments(x, prev_h, prev_c, Wx, Wh, b)
    dtype = np.result_type(*arrays)
    x, prev_h, prev_c, Wx, Wh, b = (array.astype(dtype, copy=False) for array in arrays)
    out, *cached = _step.lstm_step_forward_kernel(x, prev_h, prev_c, Wx.copy(), Wh.copy(), b)
    h = prev_h.shape[1]
    return out[:, :h], out[:, h:], LSTMStepCache(dict(zip(_CACHE, cached)), h, x.shape[0])


def lstm_step_backward(
    dnext_h: np.ndarray, dnext_c: np.ndarray, cache: LSTMStepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`lstm_step_forward`.

    With δc = dnext_c + dnext_h ⊙ o ⊙ (1 − tanh² next_c): dprev_c = f ⊙ δc, and
    δa = [δc⊙g⊙i(1−i) | δc⊙prev_c⊙f(1−f) | dnext_h⊙tanh(next_c)⊙o(1−o) | δc⊙i⊙(1−g²)] gives
    dx = δa Wxᵀ, dprev_h = δa Whᵀ, dWx = xᵀ δa, dWh = prev_hᵀ δa, db = Σ_rows δa.

    Parameters
    ----------
    dnext_h, dnext_c : array_like of shape (N, H)
        Upstream gradients of next_h and next_c.
    cache : LSTMStepCache
        From :func:`lstm_step_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D)
    dprev_h, dprev_c : ndarray of shape (N, H)
    dWx : ndarray of shape (D, 4H)
    dWh : ndarray of shape (H, 4H)
    db : ndarray of shape (4H,)
    """
    check_cache(cache, LSTMStepCache, "lstm_step_forward")
    shape = (cache.rows, cache.hidden)
    gradients = [upstream(value, name, shape, "(N, H), the shape of next_h and next_c from the forward pass")
                 for name, value in (("dnext_h", dnext_h), ("dnext_c", dnext_c))]
    dout = np.concatenate(gradients, axis=-1)
    return _step.lstm_step_backward_kernel(dout, *cache.values.values())

