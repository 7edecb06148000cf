"""The catalogue of CS231n function pairs the homework checker knows: :class:`Pair` and :data:`PAIRS`.

Each :class:`Pair` is one row: the forward function's arguments in CS231n's order, which of them are
differentiated, the name of every gradient the backward pass returns (in the same order), seeded
random test inputs small enough for an entry-by-entry check, and mathnn's reference forward in
:mod:`mathnn.layers`. The rows of layers declared as rules and of recurrences come from their
generated ``SPEC`` and ``SEQUENCE``; the rest (the losses, ReLU, the word embedding) are written here.
Only numpy is imported here; :mod:`mathnn.layers` and the diagnoses are imported when used.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import InputError
from . import losses
from .check import Diagnose

__all__ = ["INPUT_STREAM", "PAIRS", "Diagnose", "InputMaker", "Inputs", "Pair", "resolve"]

#: Test inputs come from default_rng([seed, INPUT_STREAM]), a stream of their own: check_vjp draws dout
#: from default_rng(seed), and a dout equal to x up to scale and shift (the same draws) makes batch
#: norm's dx vanish, which would hide any error in it.
INPUT_STREAM = 1

Inputs = dict[str, Any]


class InputMaker(Protocol):
    """Makes a pair's inputs: variant 0 and 1 are two shapes (the second point checks the other)."""

    def __call__(self, rng: np.random.Generator, variant: int = 0) -> Inputs: ...




@dataclass(frozen=True)
class Pair:
    """One CS231n layer: ``<name>_forward(*arguments) -> (out, cache)`` and ``<name>_backward(dout, cache)``.

    Attributes
    ----------
    name : str
        The layer, e.g. 'batchnorm'; the functions are ``batchnorm_forward`` and ``batchnorm_backward``.
    arguments : tuple of str
        The forward function's arguments, in CS231n's order.
    differentiated : tuple of str
        The arguments the backward pass differentiates, in the order its gradients are returned.
    gradients : tuple of str
        The names of the returned gradients (dx, dgamma, dbeta…), one per differentiated argument.
    upstream : str
        The backward pass's name for the upstream gradient (dout, dnext_h, dh).
    make_inputs : callable, (numpy.random.Generator, variant: int = 0) -> dict
        Random test inputs: one value per argument. Variant 0 has the documented sizes; variant 1
        draws other sizes from the generator, so a check covers at least two shapes that the student
        cannot know in advance.
    diagnosis : callable, () -> diagnose callback, or None
        Makes the ``diagnose`` argument of :func:`mathnn.gradcheck.check_vjp` for this layer.
    layer : str, optional
        The layer whose functions these are, when the pair's own name is not (``batchnorm_alt`` is
        batch norm's forward with the backward ``batchnorm_backward_alt``).
    backward_function : str, optional
        The backward function's name, when it is not ``<layer>_backward``.
    lecture_order : int
        Where the layer's topic comes in the lecture: :data:`PAIRS` lists the pairs in that order.
    kind : {'layer', 'loss'}
        'loss': one function ``<name>(x, y[, mask]) -> (loss, dx)`` (softmax_loss, svm_loss,
        temporal_softmax_loss), checked by :func:`mathnn.gradcheck.losses.check_loss_point`; only x
        is differentiated.
    forward_diagnosis : callable, () -> callback (inputs, out) -> str or None, optional
        Names the mistake a wrong forward output matches.
    outputs : tuple of str
        A forward with several outputs (the LSTM step's next_h, next_c) returns them, then the cache;
        the check sees them side by side as one output, and the backward takes one upstream gradient
        per output. Empty for the usual (out, cache).
    rule : str, optional
        For a loss: the rule whose generated kernels compute it (``mathnn.kernels.<rule>``); the
        slips it declares (``SLIPS``) name the mistakes a wrong loss or dx matches.
    forward_check : callable, () -> callback, optional
        For a forward that draws random numbers (dropout's mask): the callback
        ``(student, pair, values, out, first_point, seed) -> (forward report, problems)`` judges the
        output in place of the comparison with mathnn's (which draws its own numbers).
    shape_diagnosis : callable, () -> callback (input name, gradient, inputs, dout) -> str or None, optional
        Names a gradient of the wrong shape that sums over too few axes (group norm's dgamma of shape
        (N, C, 1, 1) where (1, C, 1, 1) is due).
    per_channel : tuple of str
        Arguments with one value per channel in shape (1, C, 1, 1) (group norm's gamma and beta), which
        an older docstring gave as (C,): a forward written for that layout is checked in it.
    param_dict : str, optional
        The settings dictionary argument (``conv_param``).
    also : tuple of dict
        Other settings the pair is checked at once it is right at the notebook's (convolution without
        padding, max pooling with overlapping windows), each at a point of variant 1's sizes
        (:meth:`inputs_at`).
    settings_mistakes : tuple of dict
        The mistakes those settings show, as the rule declares them (``name``, ``sentence``, ``wrt``,
        ``gives``, ``replace``: :class:`~mathnn.rules.layer_parts.SettingsMistake`).
    """

    name: str
    arguments: tuple[str, ...]
    differentiated: tuple[str, ...]
    gradients: tuple[str, ...]
    upstream: str
    make_inputs: InputMaker
    diagnosis: Callable[[], Diagnose] | None = None
    layer: str | None = None
    backward_function: str | None = None
    lecture_order: int = 1000
    forward_diagnosis: Callable[[], Callable[[dict, np.ndarray], "str | None"]] | None = None
    kind: str = "layer"
    outputs: tuple[str, ...] = ()
    forward_function: str | None = None
    forward_check: Callable[[], Callable[..., tuple[dict[str, Any], list[str]]]] | None = None
    rule: str | None = None
    shape_diagnosis: Callable[[], Callable[[str, np.ndarray, dict, np.ndarray], "str | None"]] | None = None
    per_channel: tuple[str, ...] = ()
    param_dict: str | None = None
    also: tuple[Mapping[str, Any], ...] = ()
    settings_mistakes: tuple[Mapping[str, Any], ...] = ()

    @property
    def returns(self) -> str:
        """What the forward returns, as CS231n writes it: '(out, cache)' or '(next_h, next_c, cache)'."""
        return f"({', '.join(self.outputs or ('out',))}, cache)"

    @property
    def forward(self) -> str:
        """The forward function's name (a loss pair's one function: its name)."""
        if self.forward_function is not None:  # CS231n's conv_forward_naive
            return self.forward_function
        return self.name if self.kind == "loss" else f"{self.layer or self.name}_forward"

    @property
    def backward(self) -> str:
        """The backward function's name (a loss pair's one function: its name)."""
        return self.name if self.kind == "loss" else self.backward_function or f"{self.layer or self.name}_backward"

    @property
    def title(self) -> str:
        """'batchnorm_forward / batchnorm_backward', or the one function of a loss pair."""
        return self.forward if self.forward == self.backward else f"{self.forward} / {self.backward}"

    def reference(self) -> Callable[..., tuple[np.ndarray, object]]:
        """mathnn's reference forward function, :mod:`mathnn.layers`.<layer>_forward."""
        from .. import layers

        function = getattr(layers, self.forward)
        if not self.outputs:
            return function
        count = len(self.outputs)

        def side_by_side(*arguments: Any) -> tuple[np.ndarray, object]:
            returned = function(*arguments)
            return np.concatenate(returned[:count], axis=-1), returned[count]

        return side_by_side

    def test_inputs(self, seed: int = 0) -> Inputs:
        """The inputs of :func:`check_pair`'s first point with this seed: ``make_inputs(default_rng([seed, INPUT_STREAM]))``."""
        return self.make_inputs(np.random.default_rng([seed, INPUT_STREAM]), 0)

    def inputs_at(self, rng: np.random.Generator, settings: Mapping[str, Any]) -> Inputs:
        """Inputs of variant 1's sizes with ``settings`` (one of :attr:`also`) in the settings dictionary."""
        assert self.param_dict is not None, f"{self.name} has no settings dictionary"
        values = self.make_inputs(rng, 1)
        values[self.param_dict] = {**values[self.param_dict], **settings}
        return values

    def call_arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """Fresh copies of ``values`` in the forward function's order (the callee may change them freely)."""
        return [copy.deepcopy(values[name]) for name in self.arguments]


# -- random test inputs -----------------------------------------------------------------------------

def _sizes(rng: np.random.Generator, variant: int, documented: tuple[int, ...], low: int, high: int) -> tuple[int, ...]:
    """``documented`` for variant 0; otherwise sizes drawn in [low, high], each unlike the documented one.

    Every size differs, so code that hard-codes any of the documented sizes (N = 8) meets another.
    """
    if variant == 0:
        return documented
    return tuple(int(rng.choice([n for n in range(low, high + 1) if n != size])) for size in documented)


def _relu_inputs(rng: np.random.Generator, variant: int = 0) -> Inputs:
    # |x| ≥ 0.1 so that no difference step crosses 0, plus four exact zeros: the kink, which the check
    # must accept whatever value between the one-sided slopes the backward pass chooses there.
    shape = _sizes(rng, variant, (4, 5), 2, 6)
    x = rng.choice([-1.0, 1.0], size=shape) * (0.1 + np.abs(rng.standard_normal(shape)))
    x.flat[rng.choice(x.size, size=min(4, x.size // 3), replace=False)] = 0.0
    return {"x": x}


def _layer_pairs() -> list[Pair]:
    """A pair for every layer declared as a rule (and each alias of its backward), from its SPEC."""
    from ..catalogue import draw_public_inputs, layers, public_sizes

    pairs = []
    for layer in layers().values():
        spec = layer.spec
        documented = public_sizes(layer)

        def make_inputs(rng: np.random.Generator, variant: int = 0, layer=layer, documented=documented) -> Inputs:
            ranges = layer.spec["homework_sizes"]
            sizes = {name: _sizes(rng, variant, (size,), *ranges.get(name, (2, 6)))[0]
                     for name, size in documented.items()}
            for name, multiple in layer.spec.get("homework_multiples", {}).items():  # sizes a stride tiles
                sizes[name] = -(-sizes[name] // multiple) * multiple
            reshape = layer.spec["reshape"]
            if reshape and reshape.get("groups"):  # the channels split into whole groups
                channels, groups = reshape["shape"][reshape["rows"]], sizes[reshape["groups"]]
                sizes[channels] = -(-sizes[channels] // groups) * groups
            inputs: Inputs = dict(draw_public_inputs(layer, sizes, rng))
            # a kernel input the public forward draws itself (dropout's mask) is not one of its arguments
            inputs = {name: value for name, value in inputs.items() if name in layer.spec["arguments"]}
            if layer.spec["param_dict"]:
                # every documented setting is given, ε too: a default the student's copy of the starter code
                # changed (bn_param.get('eps', 1e-8)) is never what the check compares
                inputs[layer.spec["param_dict"]] = {**layer.spec["settings"], **layer.spec["fixed"]}
            return inputs

        def diagnosis(name: str = layer.name) -> Diagnose:
            from .diagnosis import layer_diagnosis

            return layer_diagnosis(name)

        fields = (tuple(spec["arguments"]), tuple(spec["differentiated"]), tuple(spec["gradients"]), spec["upstream"],
                  make_inputs, diagnosis)
        def forward_diagnosis(name: str = layer.name) -> Callable[[dict, np.ndarray], str | None]:
            from .diagnosis import layer_forward_diagnosis

            return layer_forward_diagnosis(name)

        def forward_check(module: str = spec.get("forward_check", "")
                          ) -> Callable[..., tuple[dict[str, Any], list[str]]]:
            return importlib.import_module(module).check_forward

        def shape_diagnosis(name: str = layer.name) -> Callable[[str, np.ndarray, dict, np.ndarray], str | None]:
            from .diagnosis import unsummed_diagnosis

            return unsummed_diagnosis(name)

        reshape = spec["reshape"] or {}
        extra = {"lecture_order": spec["lecture_order"], "outputs": tuple(spec.get("outputs", ())),
                 "forward_diagnosis": forward_diagnosis
                 if spec["forward_mistakes"] or reshape.get("regroupings") or "eps" in spec["settings"] else None,
                 "forward_check": forward_check if spec.get("forward_check") else None,
                 "shape_diagnosis": shape_diagnosis if reshape.get("per_channel") else None,
                 "per_channel": tuple(reshape.get("per_channel", ())), "param_dict": spec["param_dict"],
                 "also": tuple(spec.get("also", ())), "settings_mistakes": tuple(spec.get("settings_mistakes", ()))}
        suffixed = bool(spec.get("suffix"))  # conv_forward_naive / conv_backward_naive
        pairs.append(Pair(layer.name, *fields, **extra, forward_function=spec["forward"] if suffixed else None,
                          backward_function=spec["backward"] if suffixed else None))
        for alias in spec["aliases"]:  # layernorm_backward_alt checks as the pair layernorm_alt
            suffix = alias.removeprefix(f"{layer.name}_backward_")
            pairs.append(Pair(f"{layer.name}_{suffix}", *fields, layer=layer.name, backward_function=alias, **extra))
    return pairs


def _sequence_pairs() -> list[Pair]:
    """A pair for every recurrence declared as a rule (the RNN over a sequence), from its SEQUENCE."""
    from ..catalogue import draw_inputs, sequences

    pairs = []
    for sequence in sequences().values():
        spec = sequence.spec

        def make_inputs(rng: np.random.Generator, variant: int = 0, sequence=sequence) -> Inputs:
            documented, ranges = sequence.spec["sizes"], sequence.spec["homework_sizes"]
            sizes = {name: _sizes(rng, variant, (size,), *ranges.get(name, (2, 6)))[0]
                     for name, size in documented.items()}
            return dict(draw_inputs(sequence, sizes, rng))

        def diagnosis(name: str = spec["name"]) -> Diagnose:
            from .diagnosis import sequence_diagnosis

            return sequence_diagnosis(name)

        pairs.append(Pair(spec["name"], tuple(spec["arguments"]), tuple(spec["differentiated"]),
                          tuple(spec["gradients"]), spec["upstream"], make_inputs, diagnosis,
                          lecture_order=spec["lecture_order"]))
    return pairs


def _embedding_diagnosis() -> Diagnose:
    from .losses import embedding_diagnosis

    return embedding_diagnosis()


#: The pairs written here, not declared as layer rules: the losses (0 in the lecture, one function
#: each, :mod:`mathnn.gradcheck.losses`), ReLU (the activations' topic, 1) and the word embedding (the
#: RNN's topic, 2).
_WRITTEN = (
    Pair("softmax_loss", ("x", "y"), ("x",), ("dx",), "dout", losses.softmax_inputs, lecture_order=0, kind="loss",
         rule="softmax_ce"),
    Pair("svm_loss", ("x", "y"), ("x",), ("dx",), "dout", losses.svm_inputs, lecture_order=0, kind="loss", rule="svm"),
    Pair("relu", ("x",), ("x",), ("dx",), "dout", _relu_inputs, lecture_order=1),
    Pair("word_embedding", ("x", "W"), ("W",), ("dW",), "dout", losses.embedding_inputs, _embedding_diagnosis,
         lecture_order=2),
    Pair("temporal_softmax_loss", ("x", "y", "mask"), ("x",), ("dx",), "dout", losses.temporal_softmax_inputs,
         lecture_order=2, kind="loss", rule="softmax_ce"),
)

#: The catalogue, in the order of the lecture; within a topic the rules' pairs (the RNN step) come
#: before those written here (the sequence of steps).
PAIRS: dict[str, Pair] = {
    pair.name: pair
    for pair in sorted((*_WRITTEN, *_layer_pairs(), *_sequence_pairs()),
                       key=lambda pair: (pair.lecture_order, pair in _WRITTEN))
}


def resolve(name: str) -> Pair:
    """The pair called ``name``: the layer ('batchnorm') or either of its functions ('batchnorm_forward').

    Raises
    ------
    InputError
        For a name the catalogue does not know; the message lists the known ones.
    """
    if name in PAIRS:
        return PAIRS[name]
    for pair in PAIRS.values():
        if name in (pair.forward, pair.backward):
            return pair
    raise InputError(
        f"function: expected one of {', '.join(PAIRS)} (or their _forward/_backward names); received {name!r}"
    )
