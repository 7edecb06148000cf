"""A pair asked beyond the notebook's inputs, once it is wrong or right there: the findings that say where.

* Other settings its docstring allows (:attr:`~mathnn.gradcheck.pairs.Pair.also`: convolution without
  padding, max pooling with overlapping windows): :func:`settings_sentence` says that a pair right at the
  notebook's settings is wrong at these, and :func:`named_at_settings` names the rule's mistake of those
  settings it matches (:attr:`~mathnn.gradcheck.pairs.Pair.settings_mistakes`).
* Images that are not square: :func:`square_note` says whether the same call is right on them cropped
  square, which points at a height used for a width.

Each is a best effort for a better sentence: anything that goes wrong here names nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from .pairs import Inputs, Pair
from .student import StudentCode


def settings_sentence(pair: Pair, notebook: Any, values: Inputs) -> str:
    """What a pair right at the notebook's settings and wrong at others is told first."""
    param = pair.param_dict
    assert param is not None  # only a pair with a settings dictionary has other settings
    shapes = ", ".join(f"{name} of shape {np.shape(values[name])}" for name in pair.arguments
                       if isinstance(values[name], np.ndarray))
    return (f"right at the notebook's {param} = {dict(notebook)}, wrong at {param} = {dict(values[param])} "
            f"({shapes}): the docstring allows these settings too, and the values must be right at them")


def named_at_settings(student: StudentCode, pair: Pair, values: Inputs, rng: np.random.Generator,
                       raised: bool) -> list[str]:
    """The rule's mistakes of other settings (:attr:`Pair.settings_mistakes`) that the student's pair, wrong
    (or, ``raised``, stopped by an error) at ``values``, matches: one sentence each.

    A mistake with ``gives`` matches when the student's out or gradient equals one of the arrays it gives and
    the right one does not; one with ``replace`` when the student's out is mathnn's at the settings so
    replaced, or, after an error, when the same call runs there. A best effort for a better sentence: anything
    that goes wrong here names nothing."""
    from .diagnosis import candidate_matches

    param = pair.param_dict
    if param is None or not pair.settings_mistakes:
        return []
    arrays = [name for name in pair.arguments if isinstance(values[name], np.ndarray)]
    reference = pair.reference()(*pair.call_arguments(values))[0]
    dout = rng.standard_normal(np.shape(reference))
    found = []
    for mistake in pair.settings_mistakes:
        try:
            if mistake["replace"]:
                settings = values[param]
                replaced = {**values, param: {**settings, **{key: settings[source]
                                                            for key, source in mistake["replace"].items()}}}
                if raised:
                    out, _, slot = student.forward(replaced)
                    student.backward(slot, rng.standard_normal(out.shape), arrays)
                    read = ", ".join(f"{key} = {source}" for key, source in mistake["replace"].items())
                    found.append(f"the same call runs at {param} = {replaced[param]} ({read}): "
                                 f"{mistake['sentence']}?")
                    continue
                out = student.forward(values)[0]
                wrong = pair.reference()(*pair.call_arguments(replaced))[0]
                if candidate_matches(wrong, out, reference):
                    found.append(mistake["sentence"])
                continue
            if raised:
                continue
            module, _, function = mistake["gives"].partition(":")
            candidates = getattr(importlib.import_module(module), function)(values, dout)
            out, _, slot = student.forward(values)
            if mistake["wrt"] == "out":
                if any(candidate_matches(candidate, out, reference) for candidate in candidates):
                    found.append(mistake["sentence"])
                continue
            if out.shape != np.shape(reference):
                continue
            gradients, _, _ = student.backward(slot, dout.astype(out.dtype), arrays)
            index = pair.differentiated.index(mistake["wrt"])
            right = _reference_gradient(pair, values, dout, index)
            if any(candidate_matches(candidate, gradients[index], right) for candidate in candidates):
                found.append(mistake["sentence"])
        except Exception:  # noqa: BLE001 - the failure is said already; this only names it
            continue
    return found


def _reference_gradient(pair: Pair, values: Inputs, dout: np.ndarray, index: int) -> np.ndarray:
    """mathnn's gradient of the ``index``-th differentiated argument at ``values``."""
    from .. import layers

    _, cache = pair.reference()(*pair.call_arguments(values))
    returned = getattr(layers, pair.backward)(dout, cache)
    return np.asarray(returned if len(pair.differentiated) == 1 else returned[index])


def square_note(student: StudentCode, pair: Pair, values: Inputs, out_wrong: bool = False) -> str | None:
    """After an error (or, ``out_wrong``, a wrong out) at inputs whose images are not square (height ≠ width):
    whether the pair runs (and its out is right) on the same inputs cropped square. It does when the code uses
    a height for a width somewhere (W_out from H, out[:, :, w, h]), which square inputs, as the notebook's,
    hide. None when no image is uneven or the cropped call goes wrong too."""
    uneven = {name: value for name, value in values.items()
              if isinstance(value, np.ndarray) and value.ndim == 4 and value.shape[2] != value.shape[3]}
    if not uneven:
        return None
    square = dict(values)
    for name, value in uneven.items():
        side = min(value.shape[2:])
        square[name] = np.ascontiguousarray(value[:, :, :side, :side])
    arrays = [name for name in pair.arguments if isinstance(square[name], np.ndarray)]
    from .homework import compare_forward

    try:  # a best effort for a better sentence: anything that goes wrong here leaves the error as it was said
        out, _, slot = student.forward(square)
        if out_wrong and compare_forward(pair, out, square)["status"] != "ok":
            return None
        student.backward(slot, np.ones(out.shape, dtype=out.dtype if out.dtype.kind == "f" else np.float64), arrays)
    except Exception:
        return None
    said = ", ".join(f"{name} of shape {np.shape(values[name])}" for name in uneven)
    cropped = ", ".join(f"{np.shape(square[name])}" for name in uneven)
    happened = (f"{pair.forward}'s out is right when height = width (cropped to {cropped}), and wrong at {said}"
                if out_wrong else f"the same call runs when height = width (cropped to {cropped}), and this error "
                f"came at {said}")
    return (f"{happened}: a height and a width used for each other somewhere (H for W, out_h for out_w, HH for "
            "WW?), which square inputs hide")
