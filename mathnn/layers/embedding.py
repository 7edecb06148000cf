"""The word embedding layer of CS231n assignment 3: a lookup of rows of W, and its scatter-add gradient.

This is the one layer whose math is not a generated kernel. It is indexing, not arithmetic: the forward
pass gathers ``W[x]`` and the backward pass adds every row of ``dout`` into the row of ``dW`` its word
index names, ``np.add.at(dW, x, dout)``, so a word that occurs several times collects every one of
its gradients. The kernel language of :mod:`mathnn.rules` has no indexing by an integer array, and a
rule for it would prove only that a sum of selected rows is that sum; the checker tests it instead,
with repeated indices on purpose (:mod:`mathnn.gradcheck.losses`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..validate import describe
from ._checks import check_cache, shaped, upstream

__all__ = ["WordEmbeddingCache", "word_embedding_backward", "word_embedding_forward"]


@dataclass(frozen=True)
class WordEmbeddingCache:
    """What word_embedding_backward needs: the word indices and W's shape (V, D) and dtype."""

    x: np.ndarray
    shape: tuple[int, int]
    dtype: np.dtype


def word_embedding_forward(x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, WordEmbeddingCache]:
    """Look up the vector of every word, as in CS231n assignment 3.

    Parameters
    ----------
    x : array_like of int, shape (N, T)
        Word indices, each in [0, V); a word may occur any number of times.
    W : array_like of shape (V, D)
        One vector of size D per word of the vocabulary.

    Returns
    -------
    out : ndarray of shape (N, T, D)
        ``W[x]``: the vector of every word, in W's dtype.
    cache : WordEmbeddingCache
        For :func:`word_embedding_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> out, cache = word_embedding_forward(np.array([[0, 2, 0]]), np.arange(6.0).reshape(3, 2))
    >>> out.tolist()
    [[[0.0, 1.0], [4.0, 5.0], [0.0, 1.0]]]
    >>> word_embedding_backward(np.ones((1, 3, 2)), cache).tolist()
    [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]
    """
    weights = shaped(W, "W", "(V, D)", 2)
    vocabulary = weights.shape[0]
    indices = np.asarray(x)
    expected = f"an integer array of shape (N, T) with values in [0, {vocabulary}) (V = {vocabulary} from W with shape {weights.shape})"
    if indices.dtype.kind not in "iu" or indices.ndim != 2:
        raise InputError(f"x: expected {expected}; received {describe(indices)}")
    if (outside := (indices < 0) | (indices >= vocabulary)).any():
        index = tuple(int(i) for i in np.argwhere(outside)[0])
        raise InputError(f"x: expected {expected}; received {indices[index]} at index {index}")
    return weights[indices], WordEmbeddingCache(indices.copy(), weights.shape, weights.dtype)


def word_embedding_backward(dout: np.ndarray, cache: WordEmbeddingCache) -> np.ndarray:
    """The gradient with respect to W: every row of dout added into the row of its word.

    Parameters
    ----------
    dout : array_like of shape (N, T, D)
        Upstream gradient.
    cache : WordEmbeddingCache
        From :func:`word_embedding_forward`.

    Returns
    -------
    dW : ndarray of shape (V, D)
        Σ over the positions (n, t) with x[n, t] = v of dout[n, t], for every word v: a word that
        occurs twice gets both gradients (``np.add.at``, not ``dW[x] += dout``, which keeps one), a
        word that does not occur gets 0.
    """
    check_cache(cache, WordEmbeddingCache, "word_embedding_forward")
    n, steps = cache.x.shape
    grad = upstream(dout, "dout", (n, steps, cache.shape[1]), "(N, T, D): N, T from x, D from W")
    dW = np.zeros(cache.shape, dtype=np.result_type(cache.dtype, grad.dtype))
    np.add.at(dW, cache.x, grad)
    return dW

