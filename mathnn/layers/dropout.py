"""Inverted dropout, as in CS231n assignment 2 (2017 and later): p is the probability of *keeping* an entry.

The arithmetic, out = x ⊙ mask and dx = dout ⊙ mask, is the generated kernel :mod:`mathnn.kernels.dropout`
(proven: ``mathnn verify dropout``); this module checks ``dropout_param``, draws the mask and keeps it for
the backward pass.

The mask is drawn as CS231n draws it, ``(np.random.rand(*x.shape) < p) / p`` after
``np.random.seed(dropout_param['seed'])``, so that a student's output with the same seed is the same
array. With a seed, the draw comes from a ``np.random.RandomState(seed)`` of its own — the same numbers
— and numpy's global random state is left as it was (CS231n's code reseeds it). Without a seed, the
mask comes from the global state, as in CS231n (``np.random.seed`` before the call makes it reproducible).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..kernels import dropout as _dropout
from ..validate import as_float_array, describe, real_scalar
from ._checks import check_cache, upstream

__all__ = ["DropoutCache", "dropout_backward", "dropout_forward"]

_MODES = ("train", "test")
_MODE_TEXT = '"train" or "test"'
#: np.random.seed takes integers in [0, 2**32 − 1].
_SEEDS = 2**32


@dataclass(frozen=True)
class DropoutCache:
    """What :func:`dropout_backward` needs from :func:`dropout_forward`.

    Attributes
    ----------
    mode : {'train', 'test'}
        The mode of the forward pass: test mode passes the gradient through unchanged.
    shape : tuple of int
        Shape of x (and of the dout the backward pass expects).
    p : float
        The keep probability.
    mask : ndarray or None
        The mask of train mode, 0 where an entry was dropped and 1/p where it was kept; None in test mode.
    """

    mode: str
    shape: tuple[int, ...]
    p: float
    mask: np.ndarray | None = None


def _settings(dropout_param: object) -> tuple[str, float, int | None]:
    """(mode, p, seed) from dropout_param; 'p' and 'mode' are required, 'seed' optional."""
    if not isinstance(dropout_param, Mapping):
        raise InputError(f'dropout_param: expected a dict with keys "p" (keep probability) and "mode" ({_MODE_TEXT}); '
                         f"received {describe(dropout_param)}")
    for key, meaning in (("p", "the probability of keeping an entry, in (0, 1]"), ("mode", _MODE_TEXT)):
        if key not in dropout_param:
            raise InputError(f'dropout_param: missing key "{key}" (expected {meaning})')
    mode = dropout_param["mode"]
    if not isinstance(mode, str) or mode not in _MODES:
        raise InputError(f'dropout_param["mode"]: expected {_MODE_TEXT}; received {describe(mode)}')
    p = real_scalar(dropout_param["p"], 'dropout_param["p"]', "the probability of keeping an entry, in (0, 1]")
    if not 0 < p <= 1:
        raise InputError(f'dropout_param["p"]: expected a keep probability in (0, 1] (CS231n since 2017: the '
                         f"probability of keeping an entry); received {p!r}")
    seed = dropout_param.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or not 0 <= int(seed) < _SEEDS):
        raise InputError(f'dropout_param["seed"]: expected None or an integer in [0, 2**32 - 1] (as np.random.seed '
                         f"takes); received {describe(seed)}")
    return mode, p, None if seed is None else int(seed)


def keep_mask(shape: tuple[int, ...], p: float, seed: int | None, dtype: np.dtype) -> np.ndarray:
    """CS231n's mask ``(np.random.rand(*shape) < p) / p`` in ``dtype``, drawn after ``np.random.seed(seed)``.

    A seed gets a ``RandomState`` of its own (the same numbers, numpy's global state untouched); None
    draws from the global state.
    """
    uniform = np.random.random_sample(shape) if seed is None else np.random.RandomState(seed).random_sample(shape)
    return ((uniform < p) / p).astype(dtype)


def dropout_forward(x: np.ndarray, dropout_param: dict[str, Any]) -> tuple[np.ndarray, DropoutCache]:
    """Inverted dropout, forward pass, as in CS231n assignment 2 (2017 and later).

    Train mode keeps each entry of x with probability p and scales it by 1/p, out = x * mask with
    ``mask = (np.random.rand(*x.shape) < p) / p``, so that E[out] = x; test mode returns x unchanged.

    Parameters
    ----------
    x : array_like, any shape
    dropout_param : dict
        ``p`` : the probability of **keeping** an entry, in (0, 1], required (before 2017 CS231n's p
        was the probability of dropping one).
        ``mode`` : 'train' or 'test', required.
        ``seed`` : integer in [0, 2**32 − 1], optional; the mask is then the one CS231n's
        ``np.random.seed(seed)`` gives, and numpy's global random state is not changed.

    Returns
    -------
    out : ndarray, the shape and dtype of x
    cache : DropoutCache
        For :func:`dropout_backward`.

    Raises
    ------
    InputError
        For x that is not an array of numbers, or a bad dropout_param (not a dict, p outside (0, 1],
        an unknown mode, a seed that is not an integer np.random.seed takes).

    Examples
    --------
    >>> out, cache = dropout_forward(np.ones((2, 4)), {"p": 0.5, "mode": "train", "seed": 0})
    >>> out.tolist()
    [[0.0, 0.0, 0.0, 0.0], [2.0, 0.0, 2.0, 0.0]]
    """
    x = as_float_array(x, "x")
    mode, p, seed = _settings(dropout_param)
    if mode == "test":
        return x.copy(), DropoutCache("test", x.shape, p)
    mask = keep_mask(x.shape, p, seed, np.finfo(x.dtype).dtype)
    out, mask = _dropout.dropout_forward_kernel(x, mask)
    return out, DropoutCache("train", x.shape, p, mask)


def dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """Inverted dropout, backward pass: dx = dout * mask with the forward's mask (train), dx = dout (test).

    Parameters
    ----------
    dout : array_like, the shape of x
        Upstream gradient ∂L/∂out.
    cache : DropoutCache
        From :func:`dropout_forward`.

    Returns
    -------
    dx : ndarray, the shape of x
    """
    check_cache(cache, DropoutCache, "dropout_forward")
    dout = upstream(dout, "dout", cache.shape, "the shape of x in the forward pass")
    if cache.mode == "test":
        return dout.copy()
    assert cache.mask is not None  # a train-mode cache keeps its mask
    return np.asarray(_dropout.dropout_backward_kernel(dout, cache.mask))
