"""A correct homework written compactly: vectorised closed forms, caches as dicts.

The backward passes are the simplified formulas (batch norm's one-line dx, layer norm as batch norm
of the transpose's rows, group norm's dx with the sums over each group), convolution and pooling work on ``sliding_window_view`` windows with
``einsum``, the word embedding scatters with ``np.add.at``, and every cache is a dict (a list of
dicts for the recurrences). ``mathnn check`` passes every pair and every update rule here.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def affine_forward(x, w, b):
    out = x.reshape(len(x), -1) @ w + b
    return out, {"x": x, "w": w}


def affine_backward(dout, cache):
    x, w = cache["x"], cache["w"]
    return (dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout, dout.sum(0)


def relu_forward(x):
    return x * (x > 0), {"x": x}


def relu_backward(dout, cache):
    return np.where(cache["x"] > 0, dout, 0.0)


def temporal_affine_forward(x, w, b):
    return x @ w + b, {"x": x, "w": w}


def temporal_affine_backward(dout, cache):
    x, w = cache["x"], cache["w"]
    dx = dout @ w.T
    dw = np.einsum("ntd,ntm->dm", x, dout)
    db = dout.sum(axis=(0, 1))
    return dx, dw, db


def svm_loss(x, y):
    n = len(y)
    margins = np.maximum(0, x - x[np.arange(n), y][:, None] + 1)
    margins[np.arange(n), y] = 0
    loss = margins.sum() / n
    dx = (margins > 0).astype(x.dtype)
    dx[np.arange(n), y] = -dx.sum(axis=1)
    return loss, dx / n


def _log_softmax(scores):
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_loss(x, y):
    n = len(y)
    log_p = _log_softmax(x)
    loss = -log_p[np.arange(n), y].mean()
    dx = np.exp(log_p)
    dx[np.arange(n), y] -= 1
    return loss, dx / n


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    log_p = _log_softmax(x)
    picked = np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0]
    loss = -(picked * mask).sum() / N
    dx = np.exp(log_p)
    np.put_along_axis(dx, y[..., None], np.take_along_axis(dx, y[..., None], axis=-1) - 1, axis=-1)
    return loss, dx * mask[..., None] / N


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(x.shape[1], dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(x.shape[1], dtype=x.dtype))
    if mode == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        return out, None
    mean = x.mean(axis=0)
    var = ((x - mean) ** 2).mean(axis=0)
    std = np.sqrt(var + eps)
    x_hat = (x - mean) / std
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    return gamma * x_hat + beta, {"x_hat": x_hat, "std": std, "gamma": gamma}


def batchnorm_backward(dout, cache):
    x_hat, std, gamma = cache["x_hat"], cache["std"], cache["gamma"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = gamma / (N * std) * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    x_hat, std, gamma = cache["x_hat"], cache["std"], cache["gamma"]
    dbeta, dgamma = dout.sum(axis=0), (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std
    return dx, dgamma, dbeta


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    rows = np.moveaxis(x, 1, -1).reshape(-1, C)
    out, cache = batchnorm_forward(rows, gamma, beta, bn_param)
    return np.moveaxis(out.reshape(N, H, W, C), -1, 1), cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward(np.moveaxis(dout, 1, -1).reshape(-1, C), cache)
    return np.moveaxis(dx.reshape(N, H, W, C), -1, 1), dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    # layer norm is batch norm of the transpose: each example's features are a "batch"
    bn_param = {"mode": "train", "eps": ln_param.get("eps", 1e-5)}
    out_t, cache = batchnorm_forward(x.T, np.ones((x.shape[1], 1), x.dtype), np.zeros((x.shape[1], 1), x.dtype),
                                     bn_param)
    cache["ln_gamma"] = gamma
    return gamma * out_t.T + beta, cache


def layernorm_backward(dout, cache):
    x_hat = cache["x_hat"].T
    dgamma, dbeta = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    dx_t, _, _ = batchnorm_backward((dout * cache["ln_gamma"]).T, cache)
    return dx_t.T, dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    N, C, H, W = x.shape
    groups = x.reshape(N, G, -1)
    mean = groups.mean(axis=2, keepdims=True)
    std = np.sqrt(((groups - mean) ** 2).mean(axis=2, keepdims=True) + gn_param.get("eps", 1e-5))
    x_hat = ((groups - mean) / std).reshape(N, C, H, W)
    return gamma * x_hat + beta, {"x_hat": x_hat, "std": std, "gamma": gamma, "G": G}


def spatial_groupnorm_backward(dout, cache):
    x_hat, std, gamma, G = cache["x_hat"], cache["std"], cache["gamma"], cache["G"]
    N, C, H, W = dout.shape
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3), keepdims=True)
    # each group is a row of layer norm: batch norm's one-line dx with the sums over the group
    dx_hat, x_hat = (dout * gamma).reshape(N, G, -1), x_hat.reshape(N, G, -1)
    dx = (dx_hat - dx_hat.mean(axis=2, keepdims=True) - x_hat * (dx_hat * x_hat).mean(axis=2, keepdims=True)) / std
    return dx.reshape(N, C, H, W), dgamma, dbeta


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "test":
        return x, {"mode": mode, "mask": None}
    mask = (np.random.rand(*x.shape) < p).astype(x.dtype) / p
    return x * mask, {"mode": mode, "mask": mask}


def dropout_backward(dout, cache):
    return dout if cache["mode"] == "test" else dout * cache["mask"]


def _windows(x, height, width, stride):
    """(N, C, H_out, W_out, height, width) views of x's windows."""
    return sliding_window_view(x, (height, width), axis=(2, 3))[:, :, ::stride, ::stride]


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = _windows(x_pad, w.shape[2], w.shape[3], stride)
    out = np.einsum("ncijkl,fckl->nfij", windows, w) + b[None, :, None, None]
    return out, {"x": x, "w": w, "conv_param": conv_param}


def conv_backward_naive(dout, cache):
    x, w = cache["x"], cache["w"]
    stride, pad = cache["conv_param"]["stride"], cache["conv_param"]["pad"]
    F, C, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = _windows(x_pad, HH, WW, stride)
    dw = np.einsum("ncijkl,nfij->fckl", windows, dout)
    db = dout.sum(axis=(0, 2, 3))
    dx_pad = np.zeros_like(x_pad)
    dwindows = np.einsum("nfij,fckl->ncijkl", dout, w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += dwindows[:, :, i, j]
    return dx_pad[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]], dw, db


def max_pool_forward_naive(x, pool_param):
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out = _windows(x, ph, pw, stride).max(axis=(4, 5))
    return out, {"x": x, "pool_param": pool_param}


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache["x"], cache["pool_param"]
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    windows = _windows(x, ph, pw, stride)
    N, C, H_out, W_out = dout.shape
    flat = windows.reshape(N, C, H_out, W_out, ph * pw)
    is_max = np.eye(ph * pw, dtype=x.dtype)[flat.argmax(axis=-1)].reshape(windows.shape)
    dx = np.zeros_like(x)
    for i in range(H_out):
        for j in range(W_out):
            dx[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw] += (
                is_max[:, :, i, j] * dout[:, :, i, j, None, None])
    return dx


def word_embedding_forward(x, W):
    return W[x], {"x": x, "V": W.shape[0], "dtype": W.dtype}


def word_embedding_backward(dout, cache):
    dW = np.zeros((cache["V"], dout.shape[-1]), dtype=cache["dtype"])
    np.add.at(dW, cache["x"], dout)
    return dW


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, {"x": x, "prev_h": prev_h, "Wx": Wx, "Wh": Wh, "next_h": next_h}


def rnn_step_backward(dnext_h, cache):
    da = dnext_h * (1 - cache["next_h"] ** 2)
    return (da @ cache["Wx"].T, da @ cache["Wh"].T, cache["x"].T @ da, cache["prev_h"].T @ da, da.sum(axis=0))


def rnn_forward(x, h0, Wx, Wh, b):
    hs, caches, h = [], [], h0
    for x_t in x.transpose(1, 0, 2):
        h, step = rnn_step_forward(x_t, h, Wx, Wh, b)
        hs.append(h)
        caches.append(step)
    return np.stack(hs, axis=1), caches


def rnn_backward(dh, cache):
    grads = [0.0, 0.0, 0.0]
    dxs = []
    dprev = np.zeros_like(dh[:, 0])
    for t in range(dh.shape[1] - 1, -1, -1):
        dx_t, dprev, *dparams = rnn_step_backward(dh[:, t] + dprev, cache[t])
        dxs.append(dx_t)
        grads = [total + part for total, part in zip(grads, dparams)]
    return (np.stack(dxs[::-1], axis=1), dprev, *grads)


def _sigmoid(a):
    return 0.5 * (1 + np.tanh(0.5 * a))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    a = x @ Wx + prev_h @ Wh + b
    i, f, o, g = np.split(a, 4, axis=1)
    i, f, o, g = _sigmoid(i), _sigmoid(f), _sigmoid(o), np.tanh(g)
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = {"x": x, "prev_h": prev_h, "prev_c": prev_c, "Wx": Wx, "Wh": Wh, "gates": (i, f, o, g),
             "next_c": next_c}
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    i, f, o, g = cache["gates"]
    tanh_c = np.tanh(cache["next_c"])
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    da = np.concatenate([dc * g * i * (1 - i), dc * cache["prev_c"] * f * (1 - f),
                         dnext_h * tanh_c * o * (1 - o), dc * i * (1 - g ** 2)], axis=1)
    return (da @ cache["Wx"].T, da @ cache["Wh"].T, dc * f, cache["x"].T @ da, cache["prev_h"].T @ da,
            da.sum(axis=0))


def lstm_forward(x, h0, Wx, Wh, b):
    h, c = h0, np.zeros_like(h0)
    hs, caches = [], []
    for t in range(x.shape[1]):
        h, c, step = lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        hs.append(h)
        caches.append(step)
    return np.stack(hs, axis=1), caches


def lstm_backward(dh, cache):
    dh_next = np.zeros_like(dh[:, 0])
    dc_next = np.zeros_like(dh[:, 0])
    dx = [None] * dh.shape[1]
    dWx = dWh = db = 0
    for t in reversed(range(dh.shape[1])):
        dx[t], dh_next, dc_next, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dh_next, dc_next, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return np.stack(dx, axis=1), dh_next, dWx, dWh, db


def gru_step_forward(x, prev_h, Wx, Wh, b):
    ax, ah = x @ Wx + b, prev_h @ Wh
    ax_z, ax_r, ax_n = np.split(ax, 3, axis=1)
    ah_z, ah_r, ah_n = np.split(ah, 3, axis=1)
    z, r = _sigmoid(ax_z + ah_z), _sigmoid(ax_r + ah_r)
    n = np.tanh(ax_n + r * ah_n)
    next_h = (1 - z) * n + z * prev_h
    return next_h, {"x": x, "prev_h": prev_h, "Wx": Wx, "Wh": Wh, "z": z, "r": r, "n": n, "ah_n": ah_n}


def gru_step_backward(dnext_h, cache):
    z, r, n, prev_h = cache["z"], cache["r"], cache["n"], cache["prev_h"]
    dan = dnext_h * (1 - z) * (1 - n ** 2)
    daz = dnext_h * (prev_h - n) * z * (1 - z)
    dar = dan * cache["ah_n"] * r * (1 - r)
    dax = np.concatenate([daz, dar, dan], axis=1)
    dah = np.concatenate([daz, dar, dan * r], axis=1)
    return (dax @ cache["Wx"].T, dah @ cache["Wh"].T + dnext_h * z, cache["x"].T @ dax, prev_h.T @ dah,
            dax.sum(axis=0))


def gru_forward(x, h0, Wx, Wh, b):
    h, hs, caches = h0, [], []
    for t in range(x.shape[1]):
        h, step = gru_step_forward(x[:, t], h, Wx, Wh, b)
        hs.append(h)
        caches.append(step)
    return np.stack(hs, axis=1), caches


def gru_backward(dh, cache):
    dh_next = np.zeros_like(dh[:, 0])
    dx = [None] * dh.shape[1]
    dWx = dWh = db = 0
    for t in reversed(range(dh.shape[1])):
        dx[t], dh_next, dWx_t, dWh_t, db_t = gru_step_backward(dh[:, t] + dh_next, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return np.stack(dx, axis=1), dh_next, dWx, dWh, db


def sgd(w, dw, config=None):
    config = config or {}
    return w - config.get("learning_rate", 1e-2) * dw, config


def sgd_momentum(w, dw, config=None):
    config = dict(config or {})
    lr, mu = config.setdefault("learning_rate", 1e-2), config.setdefault("momentum", 0.9)
    config["velocity"] = mu * config.get("velocity", 0) - lr * dw
    return w + config["velocity"], config


def rmsprop(w, dw, config=None):
    config = dict(config or {})
    lr = config.setdefault("learning_rate", 1e-2)
    rho = config.setdefault("decay_rate", 0.99)
    eps = config.setdefault("epsilon", 1e-8)
    config["cache"] = rho * config.get("cache", 0) + (1 - rho) * dw * dw
    return w - lr * dw / (np.sqrt(config["cache"]) + eps), config


def adam(w, dw, config=None):
    config = dict(config or {})
    lr = config.setdefault("learning_rate", 1e-3)
    b1, b2 = config.setdefault("beta1", 0.9), config.setdefault("beta2", 0.999)
    eps = config.setdefault("epsilon", 1e-8)
    t = config["t"] = config.get("t", 0) + 1
    m = config["m"] = b1 * config.get("m", 0) + (1 - b1) * dw
    v = config["v"] = b2 * config.get("v", 0) + (1 - b2) * dw ** 2
    return w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), config
