"""Layers declared as rules, on the numpy side: each generated module's ``SPEC`` becomes CS231n functions.

A layer rule with CS231n functions (:class:`mathnn.rules.layer.LayerRule`) is printed by the code
generator into ``mathnn/kernels/<rule>.py`` with its kernels and ``SPEC``, plain data naming the public functions,
their arguments, the cache, how random check inputs are drawn and the named mistakes. This module
finds every such module and builds from it, with no per-layer code:

* ``<name>_forward(*arguments) -> (out, cache)`` and ``<name>_backward(dout, cache) -> gradients``,
  with CS231n's signatures and the house's input checks (:func:`layer_functions`);
* random inputs at a given set of sizes (:func:`draw_inputs`), for ``mathnn verify`` and the checker.

A recurrence (:class:`mathnn.rules.recurrence.Recurrence`, the RNN) is found the same way by its
``SEQUENCE`` (:func:`sequences`): its public functions are written in :mod:`mathnn.layers`, the data
gives the checker its inputs and its named slips.

numpy only: importing this module never imports SymPy.
"""

from __future__ import annotations

import importlib
import inspect
import math
import numbers
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

from . import kernels
from .errors import InputError
from .sizes import size_of, split_size
from .layout import channel_shape, from_kernel, in_order, per_channel, public_gradient, to_kernel
from .validate import as_float_array, describe


@dataclass(frozen=True)
class Layer:
    """One generated layer: its ``SPEC`` and the module holding its kernels."""

    spec: Mapping[str, Any]
    module: ModuleType

    @property
    def name(self) -> str:
        return str(self.spec["forward"]).removesuffix(self.spec.get("suffix", "")).removesuffix("_forward")

    def kernel(self, name: str) -> Callable[..., Any]:
        return getattr(self.module, name)


@cache
def layers() -> dict[str, Layer]:
    """Every generated module with a ``SPEC``, by layer name (``layernorm``), and each of its variants.

    A variant (``temporal_affine`` of the rule ``affine``) is the same kernels under other public
    names, for an argument with more axes: its spec is the rule's with the variant's names and reshape.
    """
    found = {}
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module(f"{kernels.__name__}.{info.name}")
        spec = getattr(module, "SPEC", None)
        if isinstance(spec, dict):
            for public in (spec, *(variant_spec(spec, variant) for variant in spec.get("variants", ()))):
                layer = Layer(public, module)
                found[layer.name] = layer
    return found


def sequences() -> dict[str, Layer]:
    """Every generated recurrence (a step rule unrolled over T) with a ``SEQUENCE``, by name (``rnn``)."""
    found = {}
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module(f"{kernels.__name__}.{info.name}")
        spec = getattr(module, "SEQUENCE", None)
        if isinstance(spec, dict):
            found[spec["name"]] = Layer(spec, module)
    return found


def variant_spec(spec: Mapping[str, Any], variant: Mapping[str, Any]) -> dict[str, Any]:
    """The spec of a variant: the rule's, with the variant's names, reshape and documented sizes."""
    name = variant["name"]
    return {**spec, "forward": f"{name}_forward", "backward": f"{name}_backward", "aliases": [],
            "reshape": variant["reshape"], "variants": []}


@dataclass
class LayerCache:
    """What a generated layer's forward keeps for its backward: the kernel's cache, by name.

    Attributes
    ----------
    layer : str
        The layer that made it (``layernorm``): a cache from another layer is refused by the backward.
    values : dict of str to ndarray
        The cached arrays, named as in the layer's rule (``x_hat``, ``gamma``, ``inv_std``).
    out_shape : tuple of int
        The shape of the forward's output, which ``dout`` must have.
    reshaped : tuple of int or None
        The shape of the argument the layer reshaped to the kernel's two axes (CS231n's affine x of
        shape (N, d₁, …, d_k), temporal_affine's x of shape (N, T, D)), for its gradient.
    groups : int or None
        The number of groups its channels were split into (group norm's G), for dout's reshape.
    """

    layer: str
    values: dict[str, np.ndarray]
    out_shape: tuple[int, ...]
    reshaped: tuple[int, ...] | None = None
    groups: int | None = None


def _layout(shape: list[str], sizes: Mapping[str, int] | None = None) -> str:
    named = [str(sizes[s]) if sizes and s in sizes else s for s in shape]
    return f"({', '.join(named)}{',' if len(shape) == 1 else ''})"


def _array(value: object, name: str, shape: list[str], sizes: dict[str, int], owner: dict[str, str]) -> np.ndarray:
    """``value`` as a float array whose shape matches the named sizes, fixing sizes seen first.

    ``owner`` says where each size was fixed (``"x"``), for the message.
    """
    array = as_float_array(value, name)
    if array.ndim != len(shape) or 0 in array.shape:
        raise InputError(f"{name}: expected a {len(shape)}-D array of shape {_layout(shape)} with every size ≥ 1; "
                         f"received shape {array.shape}")
    for size, actual in zip(shape, array.shape):
        multiple, base = split_size(size)
        if base in sizes and multiple * sizes[base] != actual:
            expected = [str(size_of(s, sizes)) if split_size(s)[1] in sizes else s for s in shape]
            raise InputError(f"{name}: expected shape ({', '.join(expected)}{',' if len(shape) == 1 else ''}) "
                             f"({base} = {sizes[base]} from {owner[base]}); received shape {array.shape}")
        if base not in sizes:
            if actual % multiple:
                raise InputError(f"{name}: expected shape {_layout(shape)} with its {size} a multiple of "
                                 f"{multiple}; received shape {array.shape}")
            sizes[base] = actual // multiple
            owner.setdefault(base, f"{name} with shape {array.shape}")
    return array


def backward_arguments(spec: Mapping[str, Any], out: np.ndarray, cached: Sequence[np.ndarray]) -> list[np.ndarray]:
    """What a layer's backward kernel takes after the upstream gradient, in the order of its cache.

    The forward kernel returns the output, then the cache without the output, then any extras (batch
    norm's μ and σ²); the output may itself be in the cache (the RNN step keeps next_h).
    """
    rest = iter(cached)
    return [out if name == spec["output"] else next(rest) for name in spec["cache"]]


def _grouped(bound: dict[str, object], reshape: Mapping[str, Any], array: np.ndarray) -> int:
    """Check a grouped layer's G and per-channel arguments against ``array`` (its x), and put the
    per-channel ones in the kernel's layout, one value per entry. Returns G."""
    groups_name, channel = reshape["groups"], reshape["rows"]
    channels, shape = array.shape[channel], reshape["shape"]
    groups = bound[groups_name]
    if isinstance(groups, np.integer):
        groups = int(groups)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or channels % groups:
        raise InputError(f"{groups_name}: expected a positive integer dividing {shape[channel]} = {channels} (from "
                         f"{reshape['argument']} with shape {array.shape}); received {describe(groups)}")
    wanted = channel_shape(reshape, array.shape)
    for name in reshape["per_channel"]:
        value = as_float_array(bound[name], name)
        if value.shape != wanted:
            raise InputError(f"{name}: expected shape {wanted} (one value per channel, {shape[channel]} = {channels} "
                             f"from {reshape['argument']} with shape {array.shape}); received shape {value.shape}")
        bound[name] = to_kernel(reshape, np.broadcast_to(value, array.shape), groups)
    return groups


def kernel_inputs(spec: Mapping[str, Any], inputs: Mapping[str, Any], groups: int | None = None
                  ) -> tuple[dict[str, np.ndarray], int | None]:
    """A layer's public array arguments (CS231n's) in its kernels' layout: a reshaped argument in two axes,
    per-channel ones one value per entry. ``groups`` replaces a grouped layer's G (a check of a student
    who normalizes over other groups). Returns the arrays and the number of groups (None without)."""
    reshape = spec["reshape"]
    bound: dict[str, object] = {key: np.asarray(inputs[key]) for key in spec["shapes"]}
    if not reshape:
        return {key: np.asarray(value) for key, value in bound.items()}, None
    if reshape.get("groups"):
        bound[reshape["groups"]] = groups if groups is not None else inputs[reshape["groups"]]
    _, _, used = _reshaped(bound, reshape)
    return {key: np.asarray(bound[key]) for key in spec["shapes"]}, used


def _reshaped(bound: dict[str, object], reshape: Mapping[str, Any]
              ) -> tuple[tuple[int, ...], dict[str, str], int | None]:
    """Put ``bound[argument]`` in the kernel's two axes (:func:`to_kernel`), and a grouped layer's
    per-channel arguments with it. Returns its shape before, where the kernel's sizes came from (for
    messages) and the number of groups (None for a layer without)."""
    name, rows, shape, order = reshape["argument"], reshape["rows"], reshape["shape"], reshape.get("order")
    array = as_float_array(bound[name], name)
    flattens = rows == 1 and not order
    layout = f"({', '.join(shape[:rows])}, d_1, ..., d_k)" if flattens else _layout(shape)
    if array.ndim < rows + 1 or (not flattens and array.ndim != len(shape)) or 0 in array.shape:
        least = f"at least {rows + 1} dimensions" if flattens else f"{len(shape)} dimensions"
        raise InputError(f"{name}: expected an array of shape {layout} with {least}, every size ≥ 1; "
                         f"received shape {array.shape}")
    groups = _grouped(bound, reshape, array) if reshape.get("groups") else None
    bound[name] = to_kernel(reshape, array, groups)
    given = f"{name} with shape {array.shape}"
    if groups:
        return array.shape, {"rows": f"{given}, each group of each row", "columns": f"{given}, one group"}, groups
    if order:
        permuted = in_order(reshape, shape)
        return array.shape, {"rows": f"{given}, its axes {', '.join(permuted[:rows])} as rows",
                             "columns": f"{given}, its axis {', '.join(permuted[rows:])}"}, None
    columns = (f"{given}, its trailing dimensions {array.shape[rows:]} flattened" if array.ndim > rows + 1
               else f"{given}, its last dimension")
    return array.shape, {"rows": given if rows == 1 else f"{given}, its first {rows} dimensions as rows",
                         "columns": columns}, None


def _settings(layer: Layer, value: object) -> dict[str, float]:
    """The settings dictionary (``ln_param``), with the rule's defaults for keys it leaves out."""
    spec = layer.spec
    name, defaults = spec["param_dict"], spec["settings"]
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise InputError(f"{name}: expected a dict (keys {', '.join(defaults) or 'none'}); received {describe(value)}")
    settings = {}
    for key, default in defaults.items():
        setting = value.get(key, default)
        if isinstance(setting, bool) or not isinstance(setting, numbers.Real) or not math.isfinite(setting) \
                or setting <= 0:
            raise InputError(f'{name}["{key}"]: expected a finite real number > 0 (default {default!r}); '
                             f"received {describe(setting)}")
        settings[key] = float(setting)
    return settings


def layer_functions(layer: Layer) -> dict[str, Callable[..., Any]]:
    """The CS231n forward and backward functions of ``layer`` (and their aliases), by name."""
    spec = layer.spec
    reshape = spec["reshape"]
    integers = {reshape.get("groups")} if reshape else set()  # group norm's G: a number, not an array
    arrays = [name for name in spec["arguments"] if name != spec["param_dict"] and name not in integers]
    forward_kernel, backward_kernel = layer.kernel(spec["forward_kernel"]), layer.kernel(spec["backward_kernel"])

    def forward(*args: object, **kwargs: object) -> tuple[np.ndarray, LayerCache]:
        bound = _bind(spec["forward"], spec["arguments"], args, kwargs, optional={spec["param_dict"]})
        reshaped, owner, groups = None, {}, None
        if reshape:
            reshaped, where, groups = _reshaped(bound, reshape)
            kernel_shape = spec["shapes"][reshape["argument"]]
            owner = {kernel_shape[0]: where["rows"], kernel_shape[1]: where["columns"]}
        sizes: dict[str, int] = {}
        values = {name: _array(bound[name], name, spec["shapes"][name], sizes, owner) for name in arrays}
        dtype = np.result_type(*values.values())
        values = {name: value.astype(dtype, copy=False) for name, value in values.items()}
        settings = _settings(layer, bound.get(spec["param_dict"])) if spec["param_dict"] and not spec.get("validate") else {}
        if spec.get("validate"):  # settings the generic check cannot judge (a conv_param's integers and tiling)
            settings = _validator(spec["validate"])(values, bound.get(spec["param_dict"]))
        out, *cached = forward_kernel(*values.values(), **settings)
        kept = dict(zip(spec["cache"], backward_arguments(spec, out, cached)))
        if reshaped is not None:  # the rows back to their leading axes
            out = from_kernel(reshape, out, reshaped, columns=out.shape[-1])
        return out, LayerCache(layer.name, kept, out.shape, reshaped, groups)

    def backward(dout: object, cache: object) -> tuple[np.ndarray, ...] | np.ndarray:
        upstream = _upstream(spec, layer.name, dout, cache)
        assert isinstance(cache, LayerCache)
        if cache.reshaped is not None:
            upstream = to_kernel(reshape, upstream, cache.groups)
        result = backward_kernel(upstream, *(cache.values[name] for name in spec["cache"]))
        single = len(spec["differentiated"]) == 1  # one gradient (max pooling's dx): returned alone, as CS231n does
        gradients = [result] if single else list(result)
        if cache.reshaped is not None:
            position = spec["differentiated"].index(reshape["argument"])
            gradients[position] = from_kernel(reshape, gradients[position], cache.reshaped)
            for name in reshape.get("per_channel", ()):  # γ broadcast per channel: its gradient summed back
                position = spec["differentiated"].index(name)
                gradients[position] = per_channel(reshape, gradients[position], cache.reshaped)
        return gradients[0] if single else tuple(gradients)

    _present(forward, spec["forward"], spec["arguments"], {spec["param_dict"]}, _doc(layer, forward=True))
    _present(backward, spec["backward"], [spec["upstream"], "cache"], set(), _doc(layer, forward=False))
    functions: dict[str, Callable[..., Any]] = {spec["forward"]: forward, spec["backward"]: backward}
    for alias in spec["aliases"]:
        functions[alias] = backward
    return functions


def _present(function: Callable[..., Any], name: str, arguments: Sequence[str], optional: set, doc: str) -> None:
    """Give a generated function its public name, module, docstring and signature.

    The functions take ``*args, **kwargs`` and bind them by the spec's argument names; the
    signature they show (``help``, ``inspect.signature``, the API reference) is that binding's.
    """
    function.__name__ = function.__qualname__ = name
    function.__module__ = "mathnn.layers"
    function.__doc__ = doc
    function.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter(argument, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          default=None if argument in optional else inspect.Parameter.empty)
        for argument in arguments
    ])


def _validator(name: str) -> Callable[..., dict[str, Any]]:
    """The function a spec's ``validate`` names, ``"module:function"``."""
    module, function = name.split(":")
    return getattr(importlib.import_module(module), function)


def _upstream(spec: Mapping[str, Any], name: str, dout: object, cache: object) -> np.ndarray:
    """The upstream gradient of a generated backward, checked against the cache its forward returned."""
    if not isinstance(cache, LayerCache) or cache.layer != name:
        raise InputError(f"cache: expected the cache returned by {spec['forward']}; received {describe(cache)}")
    upstream = as_float_array(dout, spec["upstream"])
    if upstream.shape != cache.out_shape:
        raise InputError(f"{spec['upstream']}: expected shape {cache.out_shape} (the shape of the forward's "
                         f"output); received shape {upstream.shape}")
    return upstream


def _bind(function: str, names: list[str], args: tuple, kwargs: dict, optional: set) -> dict[str, object]:
    if len(args) > len(names):
        raise InputError(f"{function}: expected at most {len(names)} arguments ({', '.join(names)}); "
                         f"received {len(args)}")
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in names or key in bound:
            raise InputError(f"{function}: unexpected or repeated argument {key!r}; arguments: {', '.join(names)}")
        bound[key] = value
    missing = [name for name in names if name not in bound and name not in optional]
    if missing:
        raise InputError(f"{function}: missing argument(s) {', '.join(missing)}; arguments: {', '.join(names)}")
    return bound


def _doc(layer: Layer, forward: bool) -> str:
    spec = layer.spec
    public = dict(spec["shapes"])
    if spec["reshape"]:
        reshape = spec["reshape"]
        public[reshape["argument"]] = (reshape["shape"] if reshape["rows"] > 1 or reshape.get("order")
                                       or reshape.get("groups") else [*reshape["shape"][:1], "d_1", "...", "d_k"])
        for name in reshape.get("per_channel", ()):
            public[name] = ["1" if axis != reshape["rows"] else size for axis, size in enumerate(reshape["shape"])]
    shapes = "\n".join(f"{name} : ndarray of shape {_layout(shape)}" for name, shape in public.items())
    if spec["reshape"] and spec["reshape"].get("groups"):
        groups = spec["reshape"]["groups"]
        shapes += f"\n{groups} : int\n    The number of groups; it divides {spec['reshape']['shape'][spec['reshape']['rows']]}."
    module = layer.module.__name__
    if forward:
        settings = ", ".join(f'"{key}" (default {value!r})' for key, value in spec["settings"].items())
        param = f"\n{spec['param_dict']} : dict, optional\n    Keys {settings}." if spec["param_dict"] else ""
        return (f"{spec['forward']}: forward pass, generated from the rule {spec['rule']!r} "
                f"(kernels in {module}).\n\nParameters\n----------\n{shapes}{param}\n\nReturns\n-------\n"
                f"out : ndarray, the shape of {spec['arguments'][0]}\ncache : LayerCache\n"
                f"    {', '.join(spec['cache'])}, for {spec['backward']}")
    gradients = "\n".join(f"{name} : ndarray, the shape of {wrt}"
                          for name, wrt in zip(spec["gradients"], spec["differentiated"]))
    return (f"{spec['backward']}: backward pass, the closed forms proven equal to the derivation of the rule "
            f"{spec['rule']!r}.\n\nParameters\n----------\n{spec['upstream']} : ndarray, the shape of the output\n"
            f"cache : LayerCache from {spec['forward']}\n\nReturns\n-------\n{gradients}")


def kernel_sizes(layer: Layer, sizes: Mapping[str, int]) -> dict[str, int]:
    """The kernel's sizes for a layer's public sizes: a reshaped argument's axes multiplied together."""
    reshape = layer.spec["reshape"]
    if not reshape:
        return dict(sizes)
    rows, shape = reshape["rows"], in_order(reshape, reshape["shape"])
    first, second = layer.spec["shapes"][reshape["argument"]]
    groups = sizes[reshape["groups"]] if reshape.get("groups") else 1
    return {**sizes, first: math.prod(sizes[s] for s in shape[:rows]) * groups,
            second: math.prod(sizes[s] for s in shape[rows:]) // groups}


def draw_public_inputs(layer: Layer, sizes: Mapping[str, int], rng: np.random.Generator) -> dict[str, Any]:
    """Random inputs of the public functions at the public ``sizes`` (a reshaped argument in its own shape)."""
    drawn: dict[str, Any] = dict(draw_inputs(layer, kernel_sizes(layer, sizes), rng))
    reshape = layer.spec["reshape"]
    if reshape:
        public_shape = [sizes[s] for s in reshape["shape"]]
        drawn[reshape["argument"]] = from_kernel(reshape, drawn[reshape["argument"]], public_shape)
        for name in reshape.get("per_channel", ()):  # one value per channel, drawn as the rule declares
            draw = layer.spec["draws"][name]
            drawn[name] = draw["loc"] + draw["scale"] * rng.standard_normal(channel_shape(reshape, public_shape))
        if reshape.get("groups"):
            drawn[reshape["groups"]] = sizes[reshape["groups"]]
    return drawn


def public_sizes(layer: Layer) -> dict[str, int]:
    """The documented sizes of the public functions (a homework's first shape)."""
    reshape = layer.spec["reshape"]
    return dict(reshape["sizes"]) if reshape else dict(layer.spec["check_sizes"][0])


def draw_inputs(layer: Layer, sizes: Mapping[str, int], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random inputs of every array argument of the kernels at ``sizes``, drawn as the rule declares
    (for a recurrence, every argument of its public functions)."""
    drawn = {}
    for name, draw in layer.spec["draws"].items():
        shape = tuple(size_of(size, sizes) for size in draw["shape"])
        value = draw["loc"] + draw["scale"] * rng.standard_normal(shape)
        if draw["away_from"] is not None:
            value = np.where(value >= 0, 1.0, -1.0) * (draw["away_from"] + np.abs(value))
        drawn[name] = value
    return drawn


def sequence_functions(sequence: Layer) -> dict[str, Callable[..., Any]]:
    """``<name>_forward(*arguments) -> (h, cache)`` and ``<name>_backward(dh, cache)`` of a recurrence.

    The shapes come from the SEQUENCE's draws (x is (N, T, D), the weights as the step declares
    them); the cache keeps copies of the weights, so updating them in place before the backward pass
    does not change the gradient.
    """
    spec = sequence.spec
    forward_kernel, backward_kernel = sequence.kernel(spec["forward_kernel"]), sequence.kernel(spec["backward_kernel"])
    output = spec["states"][0]

    def forward(*args: object, **kwargs: object) -> tuple[np.ndarray, LayerCache]:
        bound = _bind(spec["forward"], spec["arguments"], args, kwargs, optional=set())
        sizes: dict[str, int] = {}
        owner: dict[str, str] = {}
        values = {name: _array(bound[name], name, spec["draws"][name]["shape"], sizes, owner)
                  for name in spec["arguments"]}
        dtype = np.result_type(*values.values())
        values = {name: value.astype(dtype, copy=True) for name, value in values.items()}
        values.update(zip(spec["states"], forward_kernel(**values)))
        kept = {name: values[name] for name in spec["backward_arguments"]}
        return values[output], LayerCache(sequence.name, kept, values[output].shape)

    def backward(dh: object, cache: object) -> tuple[np.ndarray, ...]:
        upstream = _upstream(spec, sequence.name, dh, cache)
        assert isinstance(cache, LayerCache)
        return tuple(backward_kernel(upstream, *(cache.values[name] for name in spec["backward_arguments"])))

    shapes = "\n".join(f"{name} : ndarray of shape {_layout(spec['draws'][name]['shape'])}" for name in spec["arguments"])
    _present(forward, spec["forward"], spec["arguments"], set(),
             f"{spec['forward']}: the recurrence {sequence.name!r} over a sequence, generated from its "
             f"step rule (kernels in {sequence.module.__name__}).\n\nParameters\n----------\n{shapes}\n\n"
             f"Returns\n-------\n{output} : ndarray of shape (N, T, H)\ncache : LayerCache\n    for {spec['backward']}")
    _present(backward, spec["backward"], [spec["upstream"], "cache"], set(),
             f"{spec['backward']}: backpropagation through time, proven from the step rule.\n\n"
             f"Parameters\n----------\n{spec['upstream']} : ndarray of shape (N, T, H)\n"
             f"cache : LayerCache from {spec['forward']}\n\nReturns\n-------\n"
             + "\n".join(f"{g} : ndarray, the shape of {w}" for g, w in zip(spec["gradients"], spec["differentiated"])))
    return {spec["forward"]: forward, spec["backward"]: backward}


@cache
def public_functions() -> dict[str, Callable[..., Any]]:
    """Every generated layer's and recurrence's CS231n functions, by name, for :mod:`mathnn.layers`."""
    functions: dict[str, Callable[..., Any]] = {}
    for layer in layers().values():
        if not layer.spec["wrapper"]:  # a wrapper module keeps its own functions (batch norm's modes)
            functions.update(layer_functions(layer))
    for sequence in sequences().values():
        if not sequence.spec["wrapper"]:  # the RNN's functions choose an activation
            functions.update(sequence_functions(sequence))
    return functions


__all__ = [
    "Layer", "LayerCache", "backward_arguments", "channel_shape", "draw_inputs", "draw_public_inputs", "from_kernel",
    "kernel_inputs", "kernel_sizes", "layer_functions", "public_gradient", "layers", "per_channel", "public_functions", "public_sizes", "sequence_functions",
    "sequences", "to_kernel", "variant_spec",
]
