"""Batch norm whose dx forgets the path through the variance σ².

dx keeps the direct path x → x̂ and the path through the mean, but x_i also moves σ², which
rescales every x̂_j: that term is dropped. ``mathnn check`` fails batchnorm on dx; dgamma and dbeta
are right.
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    mu = np.mean(x, axis=0)
    x_mu = x - mu
    var = np.mean(x_mu**2, axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = x_mu * inv_std
    out = gamma * x_hat + beta
    cache = (x_hat, x_mu, inv_std, gamma)
    return out, cache


def batchnorm_backward(dout, cache):
    x_hat, x_mu, inv_std, gamma = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dmu = np.sum(-dx_hat * inv_std, axis=0)
    dx = dx_hat * inv_std + dmu / N  # BUG: the path through the variance, dvar * 2 * x_mu / N, is missing
    return dx, dgamma, dbeta
