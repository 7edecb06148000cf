"""A correct CS231n ``optim.py``: the four update rules, each ``(w, dw, config) -> (next_w, config)``.

Written compactly: the hyperparameters are read with ``setdefault`` (so the caller's config keeps
them), the state (velocity, cache, m, v, t) starts from ``config.get`` on the first call and is
stored back for the next one, as the assignment's solver expects. ``mathnn check`` runs each rule for
several steps against mathnn's and passes all four.
"""

import numpy as np

ADAM_DEFAULTS = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}


def sgd(w, dw, config=None):
    config = {} if config is None else config
    return w - config.setdefault("learning_rate", 1e-2) * dw, config


def sgd_momentum(w, dw, config=None):
    config = {} if config is None else config
    lr, mu = config.setdefault("learning_rate", 1e-2), config.setdefault("momentum", 0.9)
    config["velocity"] = mu * config.get("velocity", np.zeros_like(w)) - lr * dw
    return w + config["velocity"], config


def rmsprop(w, dw, config=None):
    config = {} if config is None else config
    lr, rho = config.setdefault("learning_rate", 1e-2), config.setdefault("decay_rate", 0.99)
    eps = config.setdefault("epsilon", 1e-8)
    config["cache"] = rho * config.get("cache", np.zeros_like(w)) + (1 - rho) * np.square(dw)
    return w - lr * dw / (np.sqrt(config["cache"]) + eps), config


def adam(w, dw, config=None):
    config = {} if config is None else config
    for key, value in ADAM_DEFAULTS.items():
        config.setdefault(key, value)
    b1, b2 = config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * np.square(dw)
    config.update(t=t, m=m, v=v)
    step = config["learning_rate"] * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + config["epsilon"])
    return w - step, config
