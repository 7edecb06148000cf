"""A Griffe extension: the API reference lists the layer functions ``mathnn.layers`` generates.

Most CS231n functions of :mod:`mathnn.layers` (``affine_forward``, ``layernorm_forward``,
``conv_forward_naive``, …) are made when the module is imported, from the kernels the rules wrote,
so reading the source finds only their names in ``__all__``. This extension imports the module and
adds each generated function to the reference with the signature and docstring it has at run time.
"""

from __future__ import annotations

import inspect
from typing import Any

import griffe


class GeneratedLayers(griffe.Extension):
    """Add :func:`mathnn.catalogue.public_functions` to the module ``mathnn.layers``."""

    def on_module(self, *, mod: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if mod.path != "mathnn.layers":
            return
        from mathnn.catalogue import public_functions

        exported = {str(name) for name in mod.exports or ()}
        for name, function in public_functions().items():
            written = mod.members.get(name)
            # a function written in (or imported by) the source keeps its entry; a name the source only
            # annotates for the type checker (affine_forward: Callable = …) becomes the function it is
            if written is not None and (written.is_alias or not written.is_attribute):
                continue
            parameters = griffe.Parameters(*(
                griffe.Parameter(
                    parameter.name, kind=griffe.ParameterKind.positional_or_keyword,
                    default=None if parameter.default is inspect.Parameter.empty else repr(parameter.default),
                )
                for parameter in inspect.signature(function).parameters.values()
            ))
            docstring = griffe.Docstring(inspect.cleandoc(function.__doc__ or ""), parser=griffe.Parser.numpy)
            mod.set_member(name, griffe.Function(name, parameters=parameters, docstring=docstring))
            if name not in exported:
                mod.exports = [*(mod.exports or ()), name]
