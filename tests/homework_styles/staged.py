"""A correct homework written as staged computational graphs, with tuple caches: CS231n's layers.py.

Every forward pass is a chain of small named nodes and every backward pass walks the chain back one
node at a time, the way the course's batch-norm figure and Kratzert's blog post draw it. Convolution
and pooling are naive loops. With staged_rnn.py and staged_optim.py it is one style of homework;
``mathnn check`` passes every pair here.
"""

import numpy as np


def affine_forward(x, w, b):
    N = x.shape[0]
    x_rows = x.reshape(N, -1)
    scores = x_rows.dot(w)
    out = scores + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    x_rows = x.reshape(N, -1)
    db = np.sum(dout, axis=0)
    dscores = dout
    dw = x_rows.T.dot(dscores)
    dx_rows = dscores.dot(w.T)
    dx = dx_rows.reshape(x.shape)
    return dx, dw, db


def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    x = cache
    dx = dout.copy()
    dx[x <= 0] = 0
    return dx


def svm_loss(x, y):
    N = x.shape[0]
    correct_scores = x[np.arange(N), y]
    margins = x - correct_scores[:, np.newaxis] + 1.0
    margins = np.maximum(0, margins)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    positive = (margins > 0).astype(x.dtype)
    counts = np.sum(positive, axis=1)
    dx = positive
    dx[np.arange(N), y] -= counts
    dx /= N
    return loss, dx


def softmax_loss(x, y):
    N = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    exp_scores = np.exp(shifted)
    sums = np.sum(exp_scores, axis=1, keepdims=True)
    probs = exp_scores / sums
    correct_logprobs = -np.log(probs[np.arange(N), y])
    loss = np.sum(correct_logprobs) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        # step 1: the mean
        mu = 1.0 / N * np.sum(x, axis=0)
        # step 2: centre every example
        xmu = x - mu
        # step 3 and 4: the variance
        sq = xmu ** 2
        var = 1.0 / N * np.sum(sq, axis=0)
        # step 5 and 6: the inverse standard deviation
        sqrtvar = np.sqrt(var + eps)
        ivar = 1.0 / sqrtvar
        # step 7: normalize
        xhat = xmu * ivar
        # step 8 and 9: scale and shift
        gammax = gamma * xhat
        out = gammax + beta
        cache = (xhat, gamma, xmu, ivar, sqrtvar, var, eps)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * xhat + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    N, D = dout.shape
    # step 9
    dbeta = np.sum(dout, axis=0)
    dgammax = dout
    # step 8
    dgamma = np.sum(dgammax * xhat, axis=0)
    dxhat = dgammax * gamma
    # step 7
    divar = np.sum(dxhat * xmu, axis=0)
    dxmu1 = dxhat * ivar
    # step 6
    dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
    # step 5
    dvar = 0.5 * 1.0 / np.sqrt(var + eps) * dsqrtvar
    # step 4
    dsq = 1.0 / N * np.ones((N, D)) * dvar
    # step 3
    dxmu2 = 2 * xmu * dsq
    # step 2
    dx1 = dxmu1 + dxmu2
    dmu = -1 * np.sum(dxmu1 + dxmu2, axis=0)
    # step 1
    dx2 = 1.0 / N * np.ones((N, D)) * dmu
    # step 0
    dx = dx1 + dx2
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    sum_dxhat = np.sum(dxhat, axis=0)
    sum_dxhat_xhat = np.sum(dxhat * xhat, axis=0)
    dx = ivar / N * (N * dxhat - sum_dxhat - xhat * sum_dxhat_xhat)
    return dx, dgamma, dbeta


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    x_channels_last = x.transpose(0, 2, 3, 1)
    x_rows = x_channels_last.reshape(N * H * W, C)
    out_rows, cache = batchnorm_forward(x_rows, gamma, beta, bn_param)
    out = out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dout_rows = dout.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    dx_rows, dgamma, dbeta = batchnorm_backward(dout_rows, cache)
    dx = dx_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    D = x.shape[1]
    mu = np.sum(x, axis=1, keepdims=True) / D
    xmu = x - mu
    sq = xmu ** 2
    var = np.sum(sq, axis=1, keepdims=True) / D
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    xhat = xmu * ivar
    out = gamma * xhat + beta
    cache = (xhat, gamma, xmu, ivar, sqrtvar)
    return out, cache


def layernorm_backward(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar = cache
    N, D = dout.shape
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    divar = np.sum(dxhat * xmu, axis=1, keepdims=True)
    dxmu1 = dxhat * ivar
    dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
    dvar = 0.5 * ivar * dsqrtvar
    dsq = np.ones((N, D)) / D * dvar
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -np.sum(dx1, axis=1, keepdims=True)
    dx2 = np.ones((N, D)) / D * dmu
    dx = dx1 + dx2
    return dx, dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    # step 1: split the channels of each image into G groups
    x_groups = x.reshape(N, G, C // G, H, W)
    # step 2: the mean of each group
    mu = np.mean(x_groups, axis=(2, 3, 4), keepdims=True)
    # step 3: centre every entry on its group's mean
    xmu = x_groups - mu
    # step 4 and 5: the variance of each group
    sq = xmu ** 2
    var = np.mean(sq, axis=(2, 3, 4), keepdims=True)
    # step 6 and 7: the inverse standard deviation
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    # step 8: normalize, and put the channels back in place
    xhat = (xmu * ivar).reshape(N, C, H, W)
    # step 9 and 10: scale and shift each channel
    gammax = gamma * xhat
    out = gammax + beta
    cache = (xhat, gamma, xmu, ivar, sqrtvar, G)
    return out, cache


def spatial_groupnorm_backward(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, G = cache
    N, C, H, W = dout.shape
    group_size = C // G * H * W
    # step 10
    dbeta = np.sum(dout, axis=(0, 2, 3), keepdims=True)
    dgammax = dout
    # step 9
    dgamma = np.sum(dgammax * xhat, axis=(0, 2, 3), keepdims=True)
    dxhat = dgammax * gamma
    # step 8
    dxhat_groups = dxhat.reshape(N, G, C // G, H, W)
    divar = np.sum(dxhat_groups * xmu, axis=(2, 3, 4), keepdims=True)
    dxmu1 = dxhat_groups * ivar
    # step 7
    dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
    # step 6
    dvar = 0.5 * ivar * dsqrtvar
    # step 5
    dsq = np.ones_like(xmu) / group_size * dvar
    # step 4
    dxmu2 = 2 * xmu * dsq
    # step 3
    dx1 = dxmu1 + dxmu2
    dmu = -np.sum(dx1, axis=(2, 3, 4), keepdims=True)
    # step 2
    dx2 = np.ones_like(xmu) / group_size * dmu
    # step 1
    dx_groups = dx1 + dx2
    dx = dx_groups.reshape(N, C, H, W)
    return dx, dgamma, dbeta


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    mask = None
    out = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        mask = mask.astype(x.dtype)
        out = x * mask
    elif mode == "test":
        out = x

    cache = (dropout_param, mask)
    return out, cache


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    mode = dropout_param["mode"]
    dx = None
    if mode == "train":
        dx = dout * mask
    elif mode == "test":
        dx = dout
    return dx


def conv_forward_naive(x, w, b, conv_param):
    stride = conv_param["stride"]
    pad = conv_param["pad"]
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), "constant")
    out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for row in range(H_out):
                for col in range(W_out):
                    h0 = row * stride
                    w0 = col * stride
                    receptive_field = x_padded[n, :, h0:h0 + HH, w0:w0 + WW]
                    out[n, f, row, col] = np.sum(receptive_field * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride = conv_param["stride"]
    pad = conv_param["pad"]
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    N, F, H_out, W_out = dout.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), "constant")
    dx_padded = np.zeros_like(x_padded)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            db[f] += np.sum(dout[n, f])
            for row in range(H_out):
                for col in range(W_out):
                    h0 = row * stride
                    w0 = col * stride
                    receptive_field = x_padded[n, :, h0:h0 + HH, w0:w0 + WW]
                    dw[f] += receptive_field * dout[n, f, row, col]
                    dx_padded[n, :, h0:h0 + HH, w0:w0 + WW] += w[f] * dout[n, f, row, col]
    dx = dx_padded[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    pool_height = pool_param["pool_height"]
    pool_width = pool_param["pool_width"]
    stride = pool_param["stride"]
    N, C, H, W = x.shape
    H_out = 1 + (H - pool_height) // stride
    W_out = 1 + (W - pool_width) // stride
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for row in range(H_out):
                for col in range(W_out):
                    h0 = row * stride
                    w0 = col * stride
                    window = x[n, c, h0:h0 + pool_height, w0:w0 + pool_width]
                    out[n, c, row, col] = np.max(window)
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    pool_height = pool_param["pool_height"]
    pool_width = pool_param["pool_width"]
    stride = pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for row in range(H_out):
                for col in range(W_out):
                    h0 = row * stride
                    w0 = col * stride
                    window = x[n, c, h0:h0 + pool_height, w0:w0 + pool_width]
                    i, j = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, h0 + i, w0 + j] += dout[n, c, row, col]
    return dx
