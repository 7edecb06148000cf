"""Check the model classes a student's file defines (CS231n's neural_net.py, fc_net.py, cnn.py, rnn.py),
from the trusted side.

CS231n's models keep their parameters in ``model.params`` and return ``(loss, grads)`` from
``model.loss(X, y)``. The student's class is built and called only in the sandbox
(:mod:`mathnn.gradcheck.model_worker`); here a stand-in object holds the parameters and asks the
sandbox for the loss and the gradients at the values it sends, and for many losses per request at
perturbed values, so :func:`mathnn.gradcheck.model.check_model` takes every finite difference and
decides, with its sound randomized mode, naming each wrong parameter.

The classes CS231n's assignments define are built with small constructor arguments declared as data
(:data:`KNOWN`: ``TwoLayerNet`` of assignment 2's fc_net.py and of assignment 1's neural_net.py, told
apart by its constructor's parameters, ``FullyConnectedNet`` with no normalization, batch norm, layer norm and
dropout, ``ThreeLayerConvNet``, ``CaptioningRNN`` with an RNN and an LSTM cell); another class with
``params`` and ``loss`` is tried with no arguments and data shaped from its first weight ``W1``, and
reported as not checked when that cannot work. numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from .finite import NotComplexSafeError
from .model import check_model
from .student import StudentRaised, Transport, WrongOutputError, _clean, _field, _plain, _raised
from . import worker as wire

__all__ = ["KNOWN", "Setup", "check_model_class", "describe_model", "list_classes"]

Data = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
#: numpy's float64, as the sandbox builds it: CS231n's nets default to float32, too coarse to check.
FLOAT64 = {"numpy": "float64"}


def _labels(shape: tuple[int, ...], classes: int) -> Data:
    """Inputs of a classifier: X of ``shape`` and one label in [0, classes) per row."""
    def data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return rng.standard_normal(shape), rng.integers(0, classes, size=shape[0])

    return data


#: A tiny vocabulary for CaptioningRNN: the three special words and three others.
WORDS = {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3, "cat": 4, "sat": 5}


def _captions(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Image features (2, 5) and captions (2, 5) starting with <START>, some ending in <NULL>s (masked)."""
    captions = rng.integers(3, len(WORDS), size=(2, 5))
    captions[:, 0] = WORDS["<START>"]
    captions[1, 3:] = WORDS["<NULL>"]
    return rng.standard_normal((2, 5)), captions


@dataclass(frozen=True)
class Setup:
    """One way to build and feed a model class: constructor ``arguments`` (JSON; ``{"one_of": {...}}``
    takes the first name the constructor accepts, for arguments renamed between course years) and its data."""

    label: str
    arguments: Mapping[str, Any]
    data: Data
    #: arguments that make this setup what its label says: left out by the constructor, it is not checked
    essential: tuple[str, ...] = ()
    #: constructor parameters that tell this form of the class from another of the same name: a class whose
    #: constructor has them all is checked at the setups naming them, another at the setups naming none
    signature: tuple[str, ...] = ()
    #: keyword arguments of every call of ``loss`` beyond (X, y) (assignment 1's TwoLayerNet takes reg there)
    loss_arguments: Mapping[str, Any] = field(default_factory=dict)
    #: the course's regularisation term as multiples of reg·Σ‖W‖², the first the one its message names,
    #: each with a note for a loss that has it ("" for none)
    regularisation: tuple[tuple[float, str], ...] = ((0.5, ""),)

    @property
    def reg(self) -> float:
        """The regularisation strength the model is given, in its constructor or in its loss's call."""
        return float(self.loss_arguments.get("reg", self.arguments.get("reg", 0.0)))

    @property
    def call(self) -> str:
        """How ``loss`` is called: 'loss(X, y)', 'loss(X, y, reg=0.2)'."""
        given = [f"{key}={value!r}" for key, value in self.loss_arguments.items()]
        return f"loss({', '.join(['X', 'y', *given])})"


_FC = {"input_dim": 6, "hidden_dims": [5, 4], "num_classes": 4, "weight_scale": 0.3, "reg": 0.2, "dtype": FLOAT64}
_NORMALIZATION = {"batchnorm": {"normalization": "batchnorm", "use_batchnorm": True},
                  "layernorm": {"normalization": "layernorm"}}
#: Assignment 1's TwoLayerNet (neural_net.py, 2016–2019): TwoLayerNet(input_size, hidden_size, output_size,
#: std), reg given to loss(X, y, reg=...). Its notebooks check net.loss(X, y, reg=0.05) against correct_loss
#: 1.30378789133 with reg·Σ‖W‖² (2017–2019), and 2016's the same value at reg=0.1 with ½·reg·Σ‖W‖²: both are
#: the course's.
_NEURAL_NET = Setup(
    "neural_net.py's form, 6 → 5 → 4 classes, loss(X, y, reg=0.2)",
    {"input_size": 6, "hidden_size": 5, "output_size": 4, "std": 0.3}, _labels((3, 6), 4),
    signature=("input_size", "hidden_size", "output_size"), loss_arguments={"reg": 0.2},
    regularisation=((1.0, ""), (0.5, "its regularisation term is ½·reg·Σ‖W‖², as in 2016's notebook (net.loss(X, y, "
                                      "reg=0.1)); 2017–2019's have reg·Σ‖W‖² (net.loss(X, y, reg=0.05)), for the "
                                      "same correct_loss")))

#: CS231n's model classes and the small setups each is checked at.
KNOWN: dict[str, tuple[Setup, ...]] = {
    "TwoLayerNet": (Setup("6 → 5 → 4 classes, reg=0.2", {"input_dim": 6, "hidden_dim": 5, "num_classes": 4, "weight_scale": 0.3,
                                          "reg": 0.2}, _labels((3, 6), 4)), _NEURAL_NET),
    "FullyConnectedNet": (
        Setup("no normalization", _FC, _labels((3, 6), 4)),
        *(Setup(name, {**_FC, "normalization": {"one_of": names}}, _labels((4, 6), 4), ("normalization",))
          for name, names in _NORMALIZATION.items()),
        Setup("dropout", {**_FC, "dropout": {"one_of": {"dropout_keep_ratio": 0.75, "dropout": 0.75}}, "seed": 7},
              _labels((3, 6), 4), ("dropout",)),
    ),
    "ThreeLayerConvNet": (Setup("2×6×6 images, 2 filters 3×3, reg=0.1", {"input_dim": [2, 6, 6], "num_filters": 2, "filter_size": 3,
                                                      "hidden_dim": 4, "num_classes": 3, "weight_scale": 0.3,
                                                      "reg": 0.1, "dtype": FLOAT64}, _labels((2, 2, 6, 6), 3)),),
    "CaptioningRNN": tuple(
        Setup(f"cell_type={cell!r}", {"word_to_idx": WORDS, "input_dim": 5, "wordvec_dim": 4, "hidden_dim": 3,
                                      "cell_type": cell, "dtype": FLOAT64}, _captions)
        for cell in ("rnn", "lstm")
    ),
}


def _inferred(shapes: Mapping[str, tuple[int, ...]]) -> Data | None:
    """Data for a class not in :data:`KNOWN`, from its weights: X (3, D) for W1 of shape (D, H), labels
    in range of the last Wk's columns; None when the weights do not say."""
    weights = sorted((int(name[1:]), shape) for name, shape in shapes.items() if name[:1] == "W" and name[1:].isdigit())
    if not weights or len(weights[0][1]) != 2 or len(weights[-1][1]) != 2:
        return None
    return _labels((3, weights[0][1][0]), weights[-1][1][1])


class _Remote:
    """The stand-in for the student's model: ``params`` here, ``loss`` and ``along`` asked of the sandbox."""

    def __init__(self, ask: Callable[[dict, list], tuple[dict, list]], names: list[str], arrays: list[np.ndarray],
                 reg: float | None, call: str = "loss(X, y)") -> None:
        self.ask, self.names, self.call = ask, names, call
        self.params: dict[str, np.ndarray] = dict(zip(names, arrays))
        if reg is not None:
            self.reg = reg

    def _values(self, X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        values = [self.params[name] for name in self.names]
        if any(np.iscomplexobj(value) for value in values):  # the sandbox is asked for real numbers only
            raise NotComplexSafeError("a model's loss is evaluated at real parameters only")
        return [X, y, *values]

    def loss(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        answer, outputs = self.ask({"op": "model", "action": "loss", "names": self.names}, self._values(X, y))
        loss, grads = _field(answer, "loss", dict), _field(answer, "grads", dict)
        if "array" not in loss:
            what = loss.get("describe", "another kind")
            raise WrongOutputError(f"{self.call} returned a loss of {what}, not a number" + (
                ": not implemented yet (still the starter code's loss = None?)" if what == "a NoneType" else ""))
        returned = {}
        for name in self.names:
            spec = grads.get(name)
            if isinstance(spec, dict) and type(spec.get("array")) is int and 0 <= spec["array"] < len(outputs):
                returned[name] = outputs[spec["array"]]
            elif isinstance(spec, dict) and spec.get("describe") != "nothing":
                raise WrongOutputError(f"{self.call} returned grads['{name}'] as {spec.get('describe')}, not an array")
        return float(np.asarray(outputs[loss["array"]]).reshape(())), returned

    def along(self, X: np.ndarray, y: np.ndarray) -> Callable[[dict, str, list], list]:
        def evaluate(inputs: dict[str, np.ndarray], name: str, values: list[np.ndarray]) -> list[np.ndarray]:
            if values and np.iscomplexobj(values[0]):
                raise NotComplexSafeError("a model's loss is evaluated at real parameters only")
            base = [np.asarray(inputs.get(key, self.params[key]), dtype=np.float64).astype(self.params[key].dtype)
                    for key in self.names]
            points = list(range(2 + len(base), 2 + len(base) + len(values)))
            answer, outputs = self.ask({"op": "model", "action": "losses", "names": self.names, "name": name,
                                        "points": points}, [X, y, *base, *values])
            if _field(answer, "losses", int) != len(values) or len(outputs) != len(values):
                raise wire.ProtocolError("the losses answer has the wrong number of values")
            return [np.asarray(output, dtype=np.float64).reshape(()) for output in outputs]

        return evaluate


@dataclass
class _Outcome:
    """What one setup of one class gave: a :class:`ModelCheck`'s dict, or why it was not checked."""

    label: str
    check: dict[str, Any] | None = None
    not_checked: str | None = None
    error: str | None = None
    wrong_params: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def list_classes(transport: Transport) -> list[str]:
    """The classes of the student's file with a ``loss`` method, as the sandbox sees them."""
    answer, _ = _asker(transport, "listing the model classes")({"op": "model", "action": "classes"}, [])
    return [name for name in _field(answer, "classes", list) if isinstance(name, str)][:100]


def _asker(transport: Transport, stage: str) -> Callable[[dict, list], tuple[dict, list]]:
    def ask(header: dict, arrays: list) -> tuple[dict, list]:
        answer, outputs = transport({**header, "stage": stage}, arrays, stage)
        if not isinstance(answer, dict):
            raise wire.ProtocolError("the answer is not an object")
        if "error" in answer:
            raise _raised(_clean(answer["error"]), stage)
        if "wrong" in answer:
            raise WrongOutputError(str(answer["wrong"])[: wire.MESSAGE_LIMIT])
        return answer, [_plain(output) for output in outputs]

    return ask


def _check_setup(transport: Transport, name: str, setup: Setup | None, seed: int) -> _Outcome:
    label = setup.label if setup else f"{name}()"
    outcome = _Outcome(label)
    ask = _asker(transport, f"{name}.loss" if setup else f"{name}()")
    build = _asker(transport, f"building {name}")
    built = False
    try:
        arguments = dict(setup.arguments) if setup else {}
        answer, arrays = build({"op": "model", "action": "build", "class": name, "arguments": arguments,
                                "loss_arguments": dict(setup.loss_arguments) if setup else {}, "seed": seed}, [])
        built = True
        names = [key for key in _field(answer, "names", list) if isinstance(key, str)]
        outcome.wrong_params = {str(k): str(v) for k, v in (answer.get("wrong_params") or {}).items()}
        left_out = [key for key in (setup.essential if setup else ()) if key in (answer.get("left_out") or [])]
        if left_out:
            outcome.not_checked = f"its constructor takes no argument {', '.join(left_out)}"
            return outcome
        if not names and setup is not None:  # a class of the assignment: its parameters are due
            wrong = ", ".join(f"{key} is {what}" for key, what in list(outcome.wrong_params.items())[:5])
            outcome.error = (f"building {name} left params with no float arrays ({wrong})" if wrong else
                             f"building {name} left params empty: not implemented yet (still the starter code?)")
            return outcome
        if len(arrays) != len(names) or not names:
            outcome.not_checked = "it has no float arrays in params"
            return outcome
        data = setup.data if setup else _inferred({key: array.shape for key, array in zip(names, arrays)})
        if data is None:
            outcome.not_checked = "its data shape could not be told from its parameters (no 2-D W1)"
            return outcome
        X, y = data(np.random.default_rng([seed, 2]))
        reg = answer.get("reg")
        model = _Remote(ask, names, arrays, float(reg) if isinstance(reg, (int, float)) else None,
                        setup.call if setup else "loss(X, y)")
        result = check_model(model, X, y, seed=seed, along=model.along(X, y))
        outcome.check = result.to_dict()
        if setup is not None:  # a class of the assignment: its loss is the course's, not any the gradients fit
            problem, note = _against_reference(model, name, setup, dict(zip(names, arrays)), X, y, seed,
                                               set(result.wrong))
            if note:
                outcome.notes.append(note)
            if problem:
                outcome.check["problems"].append(problem)
                outcome.check["passed"] = False
    except StudentRaised as error:
        from .homework import error_sentence

        if setup is None and not built:  # not a class of the assignment: needing arguments is no fault
            outcome.not_checked = f"it cannot be built with no arguments ({error_sentence(error.details)})"
        else:
            outcome.error = error_sentence(error.details)
    except (WrongOutputError, InputError, wire.ProtocolError) as error:
        outcome.error = str(error)  # the setup's label starts its line
    return outcome


def _against_reference(model: _Remote, name: str, setup: Setup, params: dict[str, np.ndarray], X: np.ndarray,
                       y: np.ndarray, seed: int = 0, wrong: frozenset[str] | set[str] = frozenset()
                       ) -> tuple[str | None, str | None]:
    """A sentence when the student's loss at the built parameters is not CS231n's
    (:mod:`mathnn.gradcheck.model_reference`), or its gradients are not the derivatives of CS231n's loss
    (but those in ``wrong``, already found wrong against its own loss); and the note of the course's
    regularisation it has, when that has one.

    The gradients are checked against the student's own loss; without this, a loss that leaves out
    the data (only the regularisation, or a constant) would pass with gradients that fit it, and so
    would a loss that is the course's at the point but answers differently near it (where the finite
    differences evaluate it) with gradients that fit the nearby answers.
    """
    from . import tolerances
    from .model_reference import COURSES, WIRINGS, MissingParameter, reference_loss

    def regularised(factor: float) -> dict[str, Any]:  # the reference's term is ½·reg·Σ‖W‖²
        return {**setup.arguments, "reg": 2 * factor * setup.reg}

    try:
        expected = [reference_loss(name, regularised(factor), params, X, y) for factor, _ in setup.regularisation]
    except MissingParameter as missing:
        said = (f"params has no {missing.args[0]!r}, which CS231n's {name} has (the notebook reads "
                f"model.params[{missing.args[0]!r}]): its loss could not be compared with the course's")
        if str(missing.args[0]).startswith(("gamma", "beta")) and not any(
                key.startswith(("gamma", "beta")) for key in params):
            said += (f"; built with {setup.label} asked for, it has no gamma or beta at all: its constructor makes "
                     f"no {setup.label} layers (not implemented yet?)")
        if (more := COURSES[name].missing(setup.arguments, params)) is not None:
            said += f"; {more}"
        return said, None
    except (ValueError, IndexError) as error:
        shapes = ", ".join(f"{key} {value.shape}" for key, value in list(params.items())[:8])
        hint = COURSES[name].misfit(setup.arguments, params)
        return (f"its parameters ({shapes}) are not shaped as CS231n's {name}'s for {setup.label} ({error}): "
                "its loss could not be compared with the course's" + (f"; {hint}" if hint else "")), None
    if expected[0] is None:  # dropout: the mask is the student's draw
        return None, None
    loss, grads = model.loss(X, y)
    mark = tolerances.tolerance("forward", np.float64)

    def near(value: float | None) -> bool:
        return value is not None and abs(loss - value) <= mark * max(abs(value), np.finfo(np.float64).tiny)

    for (factor, note), value in zip(setup.regularisation, expected):
        if value is not None and near(value):
            return (_gradients_against_reference(grads, name, regularised(factor), params, X, y, seed, setup.call,
                                                 wrong, (loss, value)), note or None)
    course = regularised(setup.regularisation[0][0])
    gap = abs(loss - expected[0]) / max(abs(expected[0]), np.finfo(np.float64).tiny)
    said = (f"{setup.call} returned {loss:.10g} where CS231n's {name} gives {expected[0]:.10g} (relative error "
            f"{gap:.1e}, pass mark {mark:.0e}): the gradients were checked against this loss, which is not the model's")
    factors = [factor for factor, _ in setup.regularisation]
    if setup.reg:
        for factor in (0.0, 0.5, 1.0):
            if factor not in factors and near(reference_loss(name, regularised(factor), params, X, y)):
                meaning = (f"leaves out the regularisation term {_TERMS[factors[0]]}" if not factor else
                           f"has {_TERMS[factor]} where CS231n's is {_TERMS[factors[0]]}")
                return f"{said}; it {meaning}", None
    for wiring, meaning in zip(WIRINGS, (
            "leaves out the ReLU after each hidden layer: without it the layers compose to one linear map",
            "puts a ReLU on the scores too (affine_relu_forward for the last layer?): the last affine layer's "
            "output goes into the softmax as it is")):
        if near(reference_loss(name, course, params, X, y, wiring)):
            return f"{said}; it {meaning}", None
    return said, None


#: The regularisation terms a loss may have, by their multiple of reg·Σ‖W‖².
_TERMS = {0.5: "½·reg·Σ‖W‖²", 1.0: "reg·Σ‖W‖²"}


def _gradients_against_reference(grads: Mapping[str, np.ndarray], name: str, arguments: Mapping[str, Any],
                                 params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, seed: int,
                                 call: str = "loss(X, y)", wrong: frozenset[str] | set[str] = frozenset(),
                                 losses: tuple[float, float] | None = None) -> str | None:
    """A sentence naming the student's ``grads`` (at the parameters) that disagree with derivatives of
    CS231n's loss with ``arguments`` (random probes), or None; ``call`` is how the student's loss was called. Those in ``wrong`` disagree
    with the student's own loss, and are named so already: the sentence is of the others. ``losses`` are
    the student's loss and the course's at the point, within the forward pass mark of each other: apart by
    more than rounding, the network is slightly another function (an eps placed otherwise), not one that
    answers the course's value at the point only."""
    from .check import check_gradients
    from .model_reference import reference_loss
    from .probes import only_size_one_axes

    present = {key: np.asarray(value, dtype=np.float64).reshape(params[key].shape) for key, value in grads.items()
               if key in params and key not in wrong  # size-1 axes apart, its values are checked as the check's are
               and (np.shape(value) == params[key].shape or only_size_one_axes(np.shape(value), params[key].shape))}
    if not present:
        return None

    def loss(**inputs: np.ndarray) -> np.ndarray:
        if any(np.iscomplexobj(value) for value in inputs.values()):
            raise NotComplexSafeError("the reference loss is evaluated at real parameters only")
        return np.asarray(reference_loss(name, arguments, {**params, **inputs}, X, y))

    report = check_gradients(loss, present, {key: params[key] for key in present}, np.array(1.0), mode="random",
                             seed=seed)
    disagreeing = [gradient.name for gradient in report.gradients if not gradient.passed]
    if not disagreeing:
        return None
    named = f"{', '.join(disagreeing)} disagree{'s' if len(disagreeing) == 1 else ''}"
    if losses is not None and abs(losses[0] - losses[1]) > ROUNDING * abs(losses[1]):
        gap = abs(losses[0] - losses[1]) / abs(losses[1])
        return (f"{named} with the derivatives of CS231n's {name} loss, although they agree with finite "
                f"differences of your loss: {call} returned {losses[0]:.12g} where the course's is {losses[1]:.12g}, "
                f"close (relative error {gap:.1e}) but not equal, so your network computes a slightly different "
                "function (a normalization's eps placed otherwise, as np.sqrt(var) + eps for np.sqrt(var + eps)?)")
    return (f"{named} with the derivatives of CS231n's {name} "
            f"loss, which {call} matches at this point, although they agree with finite differences of your "
            "loss: it answers differently near the parameters it was called at")


#: Two float64 losses of one network computed in another order differ by about this much (relative) at most.
ROUNDING = 1e-11


def _setups(transport: Transport, name: str) -> tuple[Setup | None, ...]:
    """The setups of class ``name``: of :data:`KNOWN`, those whose ``signature`` its constructor has, or
    else those with none; ``(None,)`` for a class of no assignment."""
    setups = KNOWN.get(name)
    if setups is None:
        return (None,)
    if not any(setup.signature for setup in setups):
        return setups
    try:
        answer, _ = _asker(transport, f"reading {name}'s constructor")(
            {"op": "model", "action": "parameters", "class": name}, [])
        parameters = {key for key in _field(answer, "parameters", list) if isinstance(key, str)}
    except (StudentRaised, WrongOutputError, wire.ProtocolError):  # its signature cannot be read: the usual form
        parameters = set()
    chosen = tuple(setup for setup in setups if setup.signature and set(setup.signature) <= parameters)
    return chosen or tuple(setup for setup in setups if not setup.signature)


def check_model_class(transport: Transport, name: str, seed: int) -> dict[str, Any]:
    """Check every setup of the student's class ``name`` in the sandbox behind ``transport``.

    Returns
    -------
    dict
        ``name``, ``checked`` (at least one setup was checked: a class not of the assignment that cannot
        be built with no arguments, or fed, is not), ``passed`` (every setup checked passed, at least one
        checked), ``seed``, ``setups``
        (per setup: ``label``, ``passed``, ``checked`` — the parameters and their verdicts —, ``wrong``,
        ``summary``, ``problems``, ``hints``, ``notes``, ``not_checked``, ``error``), ``diagnosis`` and ``error``.
    """
    outcomes = [_check_setup(transport, name, setup, seed) for setup in _setups(transport, name)]
    rows = []
    for outcome in outcomes:
        check = outcome.check or {}
        report = check.get("report") or {}
        rows.append({
            "label": outcome.label, "passed": bool(check.get("passed")) and not outcome.error,
            "checked": [{"name": g["name"], "passed": g["passed"], "max_error": g["max_error"],
                         "tolerance": g["tolerance"]} for g in report.get("gradients", [])],
            "wrong": check.get("wrong", []), "problems": check.get("problems", []), "hints": check.get("hints", {}),
            "not_checked": outcome.not_checked, "error": outcome.error,
            "notes": [*check.get("notes", []), *outcome.notes],
        })
    checked = [row for row in rows if row["not_checked"] is None]
    result = {"name": name, "seed": seed, "setups": rows, "error": None, "checked": bool(checked),
              "passed": bool(checked) and all(row["passed"] for row in checked)}
    result["diagnosis"] = None if result["passed"] else describe_model(result)
    return result


def _verdicts(row: Mapping[str, Any]) -> str:
    """'W2: wrong (max rel. error 4.0e-01); b1, W1, b2 pass'."""
    wrong = [f"{g['name']}: wrong (max rel. error {g['max_error']:.1e})" for g in row["checked"] if not g["passed"]]
    right = [g["name"] for g in row["checked"] if g["passed"]]
    passes = f"{', '.join(right)} pass" if len(right) > 1 else (f"{right[0]} passes" if right else "")
    return "; ".join([*wrong, *([passes] if passes else [])])


def describe_model(result: Mapping[str, Any]) -> str:
    """One line per setup: its verdict per parameter, or why it was not checked, then problems and hints."""
    lines = []
    for row in result["setups"]:
        if row["not_checked"]:
            lines.append(f"{row['label']}: not checked: {row['not_checked']}")
            continue
        if row["error"]:
            lines.append(f"{row['label']}: {row['error']}")
            continue
        verdicts = _verdicts(row)  # none when no gradient could be checked
        lines.append(f"{row['label']}: {'passed' if row['passed'] else 'FAILED'}" + (f": {verdicts}" if verdicts else ""))
        lines += [f"  {problem}" for problem in row["problems"]]
        lines += [f"  note: {note}" for note in row.get("notes", [])]
        lines += [f"  {name}: {hint}" for name, hint in row["hints"].items()]
    return "\n".join(lines)
