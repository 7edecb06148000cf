"""Example CS231n homework files shipped with mathnn: correct ones, and one classic bug per file.

Each file defines only the layers it is about. ``mathnn check`` passes the correct ones and, for each
buggy one, fails the function (and names the gradient) that the bug breaks:

=========================  ===============================================================
correct                    every layer, plainly in numpy, caches as tuples: passes
correct_float32            every layer computed in float32: passes with float32's pass marks
correct_dict_cache         affine, batchnorm, rnn_step, rnn with dict caches: passes
relu_kink                  a correct ReLU checked at exact zeros (its kink): passes
bn_missing_mean_path       batchnorm dx without the path through μ: fails on dx
bn_missing_var_path        batchnorm dx without the path through σ²: fails on dx
bn_missing_inv_n           batchnorm dx with a 1/N missing: fails on dx
bn_wrong_axis              batchnorm normalizing over axis 1: forward differs, fails on dx
bn_in_place                batchnorm_forward changes x in place (x -= mu): reported in place
rnn_no_accumulation        BPTT without the gradient from h_{t+1}: rnn fails on every gradient
rnn_dwh_transposed         dWh transposed: rnn_step and rnn fail on dWh
rnn_uses_h_t               dWh from h_t instead of h_{t−1}: rnn_step and rnn fail on dWh
=========================  ===============================================================

Examples
--------
>>> from mathnn.gradcheck.examples import example_path
>>> example_path("bn_missing_mean_path").name
'bn_missing_mean_path.py'
"""

from __future__ import annotations

from pathlib import Path

from ...errors import InputError

__all__ = ["EXAMPLES", "example_path"]

_HERE = Path(__file__).resolve().parent

#: The example names, without ".py".
EXAMPLES: tuple[str, ...] = tuple(sorted(path.stem for path in _HERE.glob("*.py") if path.stem != "__init__"))


def example_path(name: str) -> Path:
    """The path of the example homework file ``name`` (with or without '.py').

    Raises
    ------
    InputError
        For a name that is not one of :data:`EXAMPLES`; the message lists them.
    """
    stem = name.removesuffix(".py")
    if stem not in EXAMPLES:
        raise InputError(f"name: expected one of {', '.join(EXAMPLES)}; received {name!r}")
    return _HERE / f"{stem}.py"
