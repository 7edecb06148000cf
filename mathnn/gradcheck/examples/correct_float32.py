"""A correct homework that computes in float32, as GPU code does.

Every function converts its inputs to float32 first, so outputs and gradients carry about 7
significant digits. The checker sees that the forward pass returns float32 even for float64 input
and judges it with float32's pass marks. ``mathnn check`` passes every pair in this file.
"""

import numpy as np


def _f32(*arrays):
    return [np.asarray(a, dtype=np.float32) for a in arrays]


def affine_forward(x, w, b):
    x, w, b = _f32(x, w, b)
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    (dout,) = _f32(dout)
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_forward(x):
    (x,) = _f32(x)
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    x = cache
    (dout,) = _f32(dout)
    dx = dout * (x > 0)
    return dx


def batchnorm_forward(x, gamma, beta, bn_param):
    x, gamma, beta = _f32(x, gamma, beta)
    eps = np.float32(bn_param.get("eps", 1e-5))
    momentum = np.float32(bn_param.get("momentum", 0.9))
    # the running averages are kept in float32 too
    running_mean, running_var = _f32(bn_param.get("running_mean", np.zeros(x.shape[1])),
                                     bn_param.get("running_var", np.zeros(x.shape[1])))
    if bn_param["mode"] == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        return out, None
    mu = np.mean(x, axis=0)
    x_mu = x - mu
    var = np.mean(x_mu**2, axis=0)
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = x_mu * inv_std
    out = gamma * x_hat + beta
    cache = (x_hat, inv_std, gamma)
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    return out, cache


def batchnorm_backward(dout, cache):
    x_hat, inv_std, gamma = cache
    (dout,) = _f32(dout)
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    # the one-line form: dx = γ/(N σ) (N dout − Σ dout − x̂ Σ dout x̂)
    dx = gamma * inv_std / N * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


# the lecture's exercise asks for this simplified form a second time, under its own name
batchnorm_backward_alt = batchnorm_backward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, C), cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


def dropout_forward(x, dropout_param):
    # another stream than CS231n's np.random.rand, and a boolean mask: both are right
    (x,) = _f32(x)
    p = dropout_param["p"]
    if dropout_param["mode"] != "train":
        return x, (None, p)
    rng = np.random.RandomState(dropout_param.get("seed"))
    keep = rng.binomial(1, p, size=x.shape).astype(bool)
    return x * keep / np.float32(p), (keep, p)


def dropout_backward(dout, cache):
    keep, p = cache
    (dout,) = _f32(dout)
    if keep is None:
        return dout
    return dout * keep / np.float32(p)


def conv_forward_naive(x, w, b, conv_param):
    x, w, b = _f32(x, w, b)
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.zeros((N, F, H_out, W_out), dtype=np.float32)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    (dout,) = _f32(dout)
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    rows, cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
                    db[f] += dout[n, f, i, j]
                    dw[f] += x_pad[n, :, rows, cols] * dout[n, f, i, j]
                    dx_pad[n, :, rows, cols] += w[f] * dout[n, f, i, j]
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db


def max_pool_forward_naive(x, pool_param):
    (x,) = _f32(x)
    HH, WW, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - HH) // stride, 1 + (W - WW) // stride
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, c, i, j] = np.max(x[n, c, i * stride:i * stride + HH, j * stride:j * stride + WW])
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    (dout,) = _f32(dout)
    HH, WW, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    mask = window == np.max(window)  # every tied maximum: no ties at random inputs
                    dx[n, c, i * stride:i * stride + HH, j * stride:j * stride + WW] += mask * dout[n, c, i, j]
    return dx


def layernorm_forward(x, gamma, beta, ln_param):
    x, gamma, beta = _f32(x, gamma, beta)
    eps = np.float32(ln_param.get("eps", 1e-5))
    x_mu = x - x.mean(axis=1, keepdims=True)
    inv_std = 1 / np.sqrt((x_mu**2).mean(axis=1, keepdims=True) + eps)
    x_hat = x_mu * inv_std
    return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}


def layernorm_backward(dout, cache):
    (dout,) = _f32(dout)
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    dx_hat = dout * gamma
    dx = inv_std * (dx_hat - dx_hat.mean(axis=1, keepdims=True)
                    - x_hat * (dx_hat * x_hat).mean(axis=1, keepdims=True))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)



def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    x, gamma, beta = _f32(x, gamma, beta)
    eps = np.float32(gn_param.get("eps", 1e-5))
    N, C, H, W = x.shape
    x_group = x.reshape(N, G, -1)
    x_mu = x_group - x_group.mean(axis=2, keepdims=True)
    inv_std = 1 / np.sqrt((x_mu**2).mean(axis=2, keepdims=True) + eps)
    x_hat = (x_mu * inv_std).reshape(N, C, H, W)
    return gamma * x_hat + beta, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "G": G}


def spatial_groupnorm_backward(dout, cache):
    (dout,) = _f32(dout)
    x_hat, inv_std, gamma, G = cache["x_hat"], cache["inv_std"], cache["gamma"], cache["G"]
    N, C, H, W = dout.shape
    dx_hat = (dout * gamma).reshape(N, G, -1)
    x_hat_group = x_hat.reshape(N, G, -1)
    dx = inv_std * (dx_hat - dx_hat.mean(axis=2, keepdims=True)
                    - x_hat_group * (dx_hat * x_hat_group).mean(axis=2, keepdims=True))
    return (dx.reshape(N, C, H, W), (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True),
            dout.sum(axis=(0, 2, 3), keepdims=True))

def rnn_step_forward(x, prev_h, Wx, Wh, b):
    x, prev_h, Wx, Wh, b = _f32(x, prev_h, Wx, Wh, b)
    next_h = np.tanh(x.dot(Wx) + prev_h.dot(Wh) + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    (dnext_h,) = _f32(dnext_h)
    dtanh = dnext_h * (1 - next_h**2)
    dx = dtanh.dot(Wx.T)
    dprev_h = dtanh.dot(Wh.T)
    dWx = x.T.dot(dtanh)
    dWh = prev_h.T.dot(dtanh)
    db = np.sum(dtanh, axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    x, h0, Wx, Wh, b = _f32(x, h0, Wx, Wh, b)
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]), dtype=np.float32)
    cache = []
    prev_h = h0
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        cache.append(step_cache)
    return h, cache


def rnn_backward(dh, cache):
    (dh,) = _f32(dh)
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D), dtype=np.float32)
    dWx = np.zeros((D, H), dtype=np.float32)
    dWh = np.zeros((H, H), dtype=np.float32)
    db = np.zeros(H, dtype=np.float32)
    dprev_h = np.zeros((N, H), dtype=np.float32)
    for t in reversed(range(T)):
        dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def sigmoid(x):
    pos = x >= 0
    z = np.exp(-np.abs(x))
    return np.where(pos, 1 / (1 + z), z / (1 + z))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    x, prev_h, prev_c, Wx, Wh, b = _f32(x, prev_h, prev_c, Wx, Wh, b)
    H = prev_h.shape[1]
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    dnext_h, dnext_c = _f32(dnext_h, dnext_c)
    tanh_c = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)
    di = dc * g
    df = dc * prev_c
    do = dnext_h * tanh_c
    dg = dc * i
    da = np.hstack((di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g**2)))
    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    dprev_c = dc * f
    dWx = x.T.dot(da)
    dWh = prev_h.T.dot(da)
    db = np.sum(da, axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H), dtype=np.float32)
    prev_h, prev_c = h0, np.zeros_like(h0)
    cache = []
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = prev_h
        cache.append(step_cache)
    return h, cache


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D), dtype=np.float32)
    dWx, dWh, db = np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def gru_step_forward(x, prev_h, Wx, Wh, b):
    x, prev_h, Wx, Wh, b = _f32(x, prev_h, Wx, Wh, b)
    H = prev_h.shape[1]
    ax, ah = x.dot(Wx) + b, prev_h.dot(Wh)
    z = sigmoid(ax[:, :H] + ah[:, :H])
    r = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    next_h = (1 - z) * n + z * prev_h
    return next_h, (x, prev_h, Wx, Wh, z, r, n, ah[:, 2 * H:])


def gru_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, z, r, n, ah_n = cache
    (dnext_h,) = _f32(dnext_h)
    dn = dnext_h * (1 - z)
    dz = dnext_h * (prev_h - n)
    da_n = dn * (1 - n**2)
    da_z = dz * z * (1 - z)
    da_r = da_n * ah_n * r * (1 - r)
    dax = np.hstack((da_z, da_r, da_n))
    dah = np.hstack((da_z, da_r, da_n * r))
    return dax.dot(Wx.T), dah.dot(Wh.T) + dnext_h * z, x.T.dot(dax), prev_h.T.dot(dah), dax.sum(axis=0)


def gru_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]), dtype=np.float32)
    prev_h, cache = h0, []
    for t in range(T):
        prev_h, step_cache = gru_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        cache.append(step_cache)
    return h, cache


def gru_backward(dh, cache):
    N, T, H = dh.shape
    dx = np.zeros((N, T, cache[0][0].shape[1]), dtype=np.float32)
    dWx, dWh, db = 0, 0, 0
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = gru_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


def temporal_affine_forward(x, w, b):
    x, w, b = _f32(x, w, b)
    N, T, D = x.shape
    out = x.reshape(N * T, D).dot(w).reshape(N, T, -1) + b
    cache = (x, w, b)
    return out, cache


def temporal_affine_backward(dout, cache):
    x, w, b = cache
    (dout,) = _f32(dout)
    N, T, D = x.shape
    M = w.shape[1]
    dx = dout.reshape(N * T, M).dot(w.T).reshape(N, T, D)
    dw = x.reshape(N * T, D).T.dot(dout.reshape(N * T, M))
    db = dout.sum(axis=(0, 1))
    return dx, dw, db


def softmax_loss(x, y):
    (x,) = _f32(x)
    N = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


def temporal_softmax_loss(x, y, mask, verbose=False):
    (x,) = _f32(x)
    N, T, V = x.shape
    flat, targets, counted = x.reshape(N * T, V), y.reshape(N * T), mask.reshape(N * T)
    shifted = flat - np.max(flat, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(counted * log_probs[np.arange(N * T), targets]) / N
    dx = np.exp(log_probs)
    dx[np.arange(N * T), targets] -= 1
    dx *= counted[:, None] / N
    return loss, dx.reshape(N, T, V)


def svm_loss(x, y):
    (x,) = _f32(x)
    N = x.shape[0]
    correct = x[np.arange(N), y]
    margins = np.maximum(0, x - correct[:, None] + 1)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    dx = (margins > 0).astype(np.float32)
    dx[np.arange(N), y] -= np.sum(margins > 0, axis=1)
    dx /= N
    return loss, dx


def word_embedding_forward(x, W):
    (W,) = _f32(W)
    out = W[x]
    cache = (x, W)
    return out, cache


def word_embedding_backward(dout, cache):
    x, W = cache
    (dout,) = _f32(dout)
    dW = np.zeros_like(W)
    np.add.at(dW, x, dout)
    return dW
