"""A stand-in for matplotlib in the sandbox: a homework file may import it, and its plotting does nothing.

CS231n's starter files import matplotlib at the top (``import matplotlib.pyplot as plt`` in
``classifiers/neural_net.py``), and files exported from a notebook keep the notebook's plotting
(``plt.rcParams['figure.figsize'] = ...`` at module level). The sandbox has numpy only, so such a file
would stop at its import although none of the functions checked draws anything. The sandbox's import
path holds this module as ``matplotlib/__init__.py``: ``matplotlib`` and every submodule
(``matplotlib.pyplot``, ``matplotlib.cm``, ...) import, and whatever is taken from them (a function, a
colour map, ``rcParams``) is an :class:`Inert` object that accepts every call, item and attribute and
gives back another. Nothing it returns is a number: code that computes with it fails as it would
with any wrong value, so no figure of the check can come from here.

Standalone: sys and importlib.machinery only, both loaded before the sandbox drops its privileges (its
user may not read the standard library's folder).
"""

from __future__ import annotations

import importlib.machinery
import sys
from typing import Any, Iterator

__version__ = "0.0 (mathnn's stand-in: nothing is drawn)"


class Inert:
    """Anything taken from the stand-in: calls, items and attributes give another, drawing does nothing."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> "Inert":
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)
        return Inert(f"{self._name}.{attribute}")

    def __call__(self, *args: Any, **kwargs: Any) -> "Inert":
        return Inert(f"{self._name}()")

    def __getitem__(self, key: Any) -> "Inert":
        return Inert(f"{self._name}[{key!r}]")

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def __iter__(self) -> Iterator["Inert"]:
        return iter(())  # fig, ax = plt.subplots() unpacks two: see subplots below

    def __enter__(self) -> "Inert":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __repr__(self) -> str:
        return f"<{self._name}: matplotlib is not loaded in mathnn's check>"


class _Pyplot(type(sys)):  # type: ignore[misc]  # a module
    """matplotlib.pyplot: ``subplots`` gives a figure and axes to unpack; the rest is :class:`Inert`."""

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)
        if attribute == "subplots":
            return lambda *args, **kwargs: (Inert("figure"), Inert("axes"))
        return Inert(f"{self.__name__}.{attribute}")


class _Submodules:
    """Every ``matplotlib.*`` module, made on import (a finder and loader of sys.meta_path)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.startswith(__name__ + "."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)  # type: ignore[arg-type]
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        module = _Pyplot(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: Any) -> None:
        pass


def __getattr__(attribute: str) -> Any:
    if attribute.startswith("__") and attribute.endswith("__"):
        raise AttributeError(attribute)
    return Inert(f"{__name__}.{attribute}")


def use(*args: Any, **kwargs: Any) -> None:
    """``matplotlib.use('Agg')``: nothing to choose."""


sys.meta_path.append(_Submodules())
