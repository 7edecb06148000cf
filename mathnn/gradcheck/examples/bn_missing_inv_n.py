"""Batch norm whose dx forgets a 1/N.

σ² = (1/N) Σ (x_i − μ)², so ∂σ²/∂x_i = 2(x_i − μ)/N; here the /N is lost. ``mathnn check`` fails
batchnorm on dx; dgamma and dbeta are right.
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
    dvar = np.sum(dx_hat * x_mu, axis=0) * -0.5 * inv_std**3
    dmu = np.sum(-dx_hat * inv_std, axis=0) + dvar * np.mean(-2.0 * x_mu, axis=0)
    dx = dx_hat * inv_std + dvar * 2.0 * x_mu + dmu / N  # BUG: dvar * 2 * x_mu / N
    return dx, dgamma, dbeta
