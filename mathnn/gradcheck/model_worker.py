"""The untrusted side of a model check: build a student's model class, set its parameters, call ``loss``.

Runs in the sandbox next to the student's code, beside :mod:`mathnn.gradcheck.worker`, which hands it
every request whose ``op`` is ``model`` (:func:`handle`). It decides nothing: it builds the class it is
asked for with the constructor arguments it is sent, sets ``params`` to the arrays it is sent, calls
``loss(X, y)`` and answers with plain arrays; the trusted side takes every finite difference and the
verdict (:mod:`mathnn.gradcheck.model_file`). Standard library and numpy only.

Actions (``action``):

* ``classes``: the classes the student's file defines that have a ``loss`` method, by name;
* ``parameters``: the names of the parameters of ``class``'s constructor (none when its signature
  cannot be read), to tell which of the course's forms of a class it is;
* ``build``: ``class`` called with ``arguments`` (JSON values; ``{"numpy": "float64"}`` is that numpy
  type, ``{"one_of": {name: value, …}}`` the first name the constructor accepts, left out if none),
  numpy's global generator seeded with ``seed`` first (the random parameters the class draws); answer
  the parameter names (a key that is not a string, ``('W', 1)``, by its repr), ``reg`` when it
  is a number, and the parameters' arrays; ``loss_arguments`` (JSON) are kept for every later call of
  ``loss`` (assignment 1's ``TwoLayerNet`` takes ``reg`` there);
* ``loss``: set the parameters to arrays 2… (in the order of ``names``), call ``loss(X, y)`` with arrays
  0 and 1 (and the kept ``loss_arguments`` by keyword); answer the loss and each gradient;
* ``losses``: as ``loss`` at each of ``points`` (array indices), each replacing parameter ``name``;
  answer the losses only.
"""

from __future__ import annotations

import inspect

#: Longest description of a wrong value answered.
DESCRIBE_LIMIT = 200



def handle(worker: object, header: dict, arrays: list) -> tuple[dict, list]:
    """Answer one ``model`` request for ``worker`` (its ``module`` is the student's; the model is kept on it)."""
    action = header.get("action")
    if action == "classes":
        return {"classes": _classes(getattr(worker, "module"))}, []
    if action == "parameters":
        return {"parameters": _parameters(getattr(getattr(worker, "module"), header["class"]))[:100]}, []
    if action == "build":
        return _build(worker, header)
    model = getattr(worker, "model_object", None)
    if model is None:
        return {"wrong": "no model was built"}, []
    keys = getattr(worker, "model_keys", {})
    given = getattr(worker, "model_loss_arguments", {})
    if action == "loss":
        return _loss(model, header, arrays, keys, given)
    if action == "losses":
        return _losses(model, header, arrays, keys, given)
    return {"wrong": f"unknown model action {str(action)[:DESCRIBE_LIMIT]!r}"}, []


def _describe(value: object) -> str:
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"[:DESCRIBE_LIMIT]


def _classes(module: object) -> list[str]:
    name = getattr(module, "__name__", None)
    found = []
    for key, value in list(vars(module).items()):
        if isinstance(value, type) and type(key) is str and value.__module__ == name \
                and callable(getattr(value, "loss", None)):
            found.append(key)
    return found[:100]


def _value(spec: object) -> object:
    import numpy as np

    if isinstance(spec, dict) and set(spec) == {"numpy"}:
        return getattr(np, str(spec["numpy"]))
    return spec


def _parameters(cls: type) -> list[str]:
    """The names of the constructor's parameters; none when its signature cannot be read."""
    try:
        names = list(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return []
    return [name for name in names if type(name) is str]


def _arguments(cls: type, given: dict) -> tuple[dict, list]:
    """The constructor's keyword arguments, ``one_of`` resolved against its signature, and the keys of
    ``given`` it takes under none of their names (left out)."""
    accepted = set(_parameters(cls))
    arguments, left_out = {}, []
    for key, spec in given.items():
        if isinstance(spec, dict) and set(spec) == {"one_of"}:
            names = [name for name in spec["one_of"] if name in accepted]
            if names:
                arguments[names[0]] = _value(spec["one_of"][names[0]])
            else:
                left_out.append(key)
        elif key in accepted or not accepted:
            arguments[key] = _value(spec)
        else:
            left_out.append(key)
    return arguments, left_out


def _build(worker: object, header: dict) -> tuple[dict, list]:
    import numpy as np

    cls = getattr(getattr(worker, "module"), header["class"])
    arguments, left_out = _arguments(cls, header.get("arguments") or {})
    seed = header.get("seed")
    if type(seed) is int:  # weight_scale * np.random.randn(...): the same parameters, so the same report, per seed
        np.random.seed(seed % 2**32)
    model = cls(**arguments)
    params = getattr(model, "params", None)
    if not isinstance(params, dict) or not callable(getattr(model, "loss", None)):
        return {"wrong": f"{header['class']}() has no dict params and method loss"}, []
    names, sent, wrong = [], [], {}
    keys: dict[str, object] = {}  # a key that is not a string (params[('W', 1)]) goes by its repr
    for key, value in params.items():
        name = key if type(key) is str else repr(key)
        if type(key) is not str:
            if name in params or name in keys or len(name) > DESCRIBE_LIMIT:
                continue
            keys[name] = key
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            names.append(name)
            sent.append(np.array(value, copy=True))
        else:
            wrong[name] = _describe(value)
    setattr(worker, "model_object", model)
    setattr(worker, "model_keys", keys)
    loss_arguments = header.get("loss_arguments")
    setattr(worker, "model_loss_arguments", dict(loss_arguments) if isinstance(loss_arguments, dict) else {})
    reg = getattr(model, "reg", None)
    number = float(reg) if isinstance(reg, (int, float, np.floating)) and not isinstance(reg, bool) else None
    return {"names": names, "wrong_params": wrong, "reg": number, "left_out": left_out}, sent


def _call(model: object, header: dict, arrays: list, params: list, keys: dict[str, object], given: dict) -> object:
    import numpy as np

    for name, value in zip(header["names"], params):
        model.params[keys.get(name, name)] = value.copy()  # type: ignore[attr-defined]
    with np.errstate(all="ignore"):  # an overflow is judged by its result
        return model.loss(arrays[0].copy(), arrays[1].copy(), **given)  # type: ignore[attr-defined]


def _loss(model: object, header: dict, arrays: list, keys: dict[str, object], given: dict) -> tuple[dict, list]:
    import numpy as np

    returned = _call(model, header, arrays, arrays[2:], keys, given)
    if not (isinstance(returned, (tuple, list)) and len(returned) == 2 and isinstance(returned[1], dict)):
        return {"wrong": f"loss(X, y) returned {_describe(returned)}, not (loss, grads)"}, []
    loss, grads = returned
    sent: list = []
    answer: dict = {"grads": {}}
    loss_array = np.asarray(loss) if isinstance(loss, (int, float, np.number, np.ndarray)) else None
    if loss_array is None or loss_array.dtype.kind not in "fiu" or loss_array.size != 1:
        answer["loss"] = {"describe": _describe(loss)}
    else:
        answer["loss"] = {"array": 0}
        sent.append(loss_array.reshape(()))
    for name in header["names"]:
        value = grads.get(keys.get(name, name))
        gradient = None if value is None else np.asarray(value)
        if gradient is None or gradient.dtype.kind not in "fiu":
            answer["grads"][name] = {"describe": "nothing" if value is None else _describe(value)}
        else:
            answer["grads"][name] = {"array": len(sent)}
            sent.append(gradient)
    return answer, sent


def _losses(model: object, header: dict, arrays: list, keys: dict[str, object], given: dict) -> tuple[dict, list]:
    import numpy as np

    base = list(arrays[2:2 + len(header["names"])])
    position = header["names"].index(header["name"])
    losses = []
    for point in header["points"]:
        params = list(base)
        params[position] = arrays[point]
        returned = _call(model, header, arrays, params, keys, given)
        loss = returned[0] if isinstance(returned, (tuple, list)) and returned else returned
        array = np.asarray(loss) if isinstance(loss, (int, float, np.number, np.ndarray)) else None
        if array is None or array.dtype.kind not in "fiu" or array.size != 1:
            return {"wrong": f"loss(X, y) returned a loss of {_describe(loss)}"}, []
        losses.append(array.reshape(()).astype(np.float64))
    return {"losses": len(losses)}, losses
