"""Read a PyTorch homework file's source, without running it: does it use torch, and where are its risky lines.

The trusted side never imports a student's file; it may parse it. :func:`uses_torch` says whether a
file imports torch (its sandbox then gets torch). The other functions point at lines once a check has
*seen* a bug by its behaviour — they never decide a verdict on their own, since a line may be
harmless (``.item()`` in a print): :func:`graph_breaks` finds the calls that cut autograd's graph
(``.detach()``, ``.numpy()``, ``.item()``, ``.data``, ``torch.no_grad()``), :func:`in_place_lines`
the operations that write into a tensor, :func:`created_lines` the tensors a function creates
(``torch.zeros(...)``) and which of them name a ``dtype=`` or ``device=``. Each scans the function
and the file's functions it calls, since ``rnn_forward`` breaks when the ``rnn_step_forward`` it
calls does. :func:`docstrings` gives any file's function docstrings (what dropout's p means there),
:func:`libraries` the array libraries a function computes with (a numpy ``layers.py`` may import
torch for one helper), and :func:`signature` how a function is called when it cannot take a given
number of arguments (a GRU of the student's own, with other weights).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .syntax import PARSE_LOCK, parse_source

__all__ = ["PARSE_LOCK", "Line", "created_lines", "docstrings", "graph_breaks", "in_place_lines", "libraries", "parse",
           "signature", "uses_torch"]

#: Sources larger than this are not parsed (a homework file is a few hundred lines).
SOURCE_LIMIT = 2 * 2**20
#: torch functions that make a new tensor from sizes or data.
CREATORS = frozenset({"zeros", "ones", "empty", "full", "rand", "randn", "arange", "eye", "tensor", "Tensor",
                      "as_tensor", "from_numpy", "linspace"})
#: Methods that write into the tensor they are called on (``requires_grad_`` only sets a flag).
_NOT_IN_PLACE = frozenset({"requires_grad_", "retain_grad_"})


@dataclass(frozen=True)
class Line:
    """A line of the student's file: ``where`` ('rnn.py:12'), the code, and what about it matters."""

    where: str
    code: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.code} ({self.what})"


def parse(path: Path) -> ast.Module | None:
    """The file's syntax tree, or None when it cannot be read or parsed (the sandbox then reports why)."""
    try:
        if path.stat().st_size > SOURCE_LIMIT:
            return None
        return parse_source(path.read_bytes(), path.name)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def docstrings(tree: ast.Module | None) -> dict[str, str]:
    """The docstring of each function the file defines at its top level, by name ('' for none)."""
    if tree is None:
        return {}
    return {node.name: ast.get_docstring(node) or "" for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def signature(tree: ast.Module | None, name: str, count: int) -> str | None:
    """``'name(a, b, c)'`` when the file's function ``name`` cannot be called with ``count`` positional
    arguments; None when it can, or when the file or the function cannot be read."""
    if tree is None:
        return None
    node = next((item for item in tree.body if isinstance(item, ast.FunctionDef) and item.name == name), None)
    if node is None:
        return None
    positional = [*node.args.posonlyargs, *node.args.args]
    required = len(positional) - len(node.args.defaults)
    if required <= count and (count <= len(positional) or node.args.vararg is not None):
        return None
    return f"{name}({', '.join(arg.arg for arg in positional)})"


def uses_torch(tree: ast.Module | None) -> bool:
    """Whether the file imports torch anywhere (``import torch``, ``from torch import nn``…)."""
    if tree is None:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "torch" for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch" and not node.level:
            return True
    return False


#: The array libraries :func:`libraries` tells apart.
ARRAY_LIBRARIES = ("numpy", "torch")


def _imported(tree: ast.Module) -> dict[str, str]:
    """Local name -> array library, for the file's imports of numpy and torch (``import numpy as np``,
    ``import torch.nn.functional as F``, ``from torch import nn``, ``from numpy import zeros``…)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in ARRAY_LIBRARIES:
                    names[alias.asname or top] = top
        elif isinstance(node, ast.ImportFrom) and not node.level:
            top = (node.module or "").split(".")[0]
            if top in ARRAY_LIBRARIES:
                names.update({alias.asname or alias.name: top for alias in node.names})
    return names


def libraries(tree: ast.Module | None, name: str) -> set[str]:
    """The array libraries ('numpy', 'torch') function ``name`` and the file's functions it calls use by name;
    ``{'numpy'}`` for no name at all in a file that imports numpy and not torch, and the reverse."""
    if tree is None:
        return set()
    names = _imported(tree)
    used = {names[node.id] for function in _reached(tree, name) for node in ast.walk(function)
            if isinstance(node, ast.Name) and node.id in names}
    return used or (set(names.values()) if len(set(names.values())) == 1 else set())


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _reached(tree: ast.Module, name: str) -> list[ast.FunctionDef]:
    """The function ``name`` and every function of the file it calls, directly or not, in the file's order."""
    functions = _functions(tree)
    seen: list[str] = []
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in functions:
            continue
        seen.append(current)
        todo += [node.func.id for node in ast.walk(functions[current])
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    return sorted((functions[item] for item in seen), key=lambda node: node.lineno)


def _line(lines: list[str], file: str, node: ast.AST, what: str) -> Line:
    number = getattr(node, "lineno", 0)
    code = lines[number - 1].strip() if 0 < number <= len(lines) else ""
    return Line(f"{file}:{number}", code, what)


def _is_torch(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "torch"


def _scan(tree: ast.Module, source: str, file: str, name: str, find: Callable[[ast.AST], str | None]) -> list[Line]:
    lines, found, said = source.splitlines(), [], set[tuple[int, str]]()
    for function in _reached(tree, name):
        for node in ast.walk(function):
            what = find(node)
            number = getattr(node, "lineno", 0)
            if what and (number, what) not in said:
                said.add((number, what))
                found.append(_line(lines, file, node, what))
    return sorted(found, key=lambda line: int(line.where.rsplit(":", 1)[1]))


def _graph_break(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method = node.func.attr
        if method in ("detach", "detach_", "numpy", "item", "tolist"):
            return f".{method}() gives a value autograd does not follow"
        if method in ("no_grad", "inference_mode") and _is_torch(node.func.value):
            return f"torch.{method}() turns autograd off"
        if method == "set_grad_enabled" and _is_torch(node.func.value):
            return "torch.set_grad_enabled turns autograd off"
    if isinstance(node, ast.Attribute) and node.attr == "data":
        return ".data is the tensor's numbers without its graph"
    return None


def graph_breaks(tree: ast.Module, source: str, file: str, name: str) -> list[Line]:
    """Lines of ``name`` (and the functions it calls) that cut autograd's graph."""
    return _scan(tree, source, file, name, _graph_break)


def _in_place(node: ast.AST) -> str | None:
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name | ast.Subscript | ast.Attribute):
        return "an augmented assignment writes into the tensor"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method = node.func.attr
        if method.endswith("_") and not method.startswith("_") and method not in _NOT_IN_PLACE:
            return f".{method}() writes into the tensor"
    if isinstance(node, ast.Assign) and any(isinstance(target, ast.Subscript) for target in node.targets):
        return "an item assignment writes into the tensor"
    return None


def in_place_lines(tree: ast.Module, source: str, file: str, name: str) -> list[Line]:
    """Lines of ``name`` (and the functions it calls) that write into an existing tensor."""
    return _scan(tree, source, file, name, _in_place)


def created_lines(tree: ast.Module, source: str, file: str, name: str, keyword: str | None = None) -> list[Line]:
    """Lines that create a tensor with ``torch.zeros(...)`` and its kin; with ``keyword`` ('device', 'dtype',
    'requires_grad'), only those that do not name it ('requires_grad': only those that set it)."""

    def find(node: ast.AST) -> str | None:
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_torch(node.func.value)
                and node.func.attr in CREATORS):
            return None
        named = {item.arg for item in node.keywords}
        call = f"torch.{node.func.attr}"
        if keyword is None:
            return f"{call} makes a new tensor"
        if keyword == "requires_grad":
            return f"{call}(..., requires_grad=True) makes a new leaf of the graph" if keyword in named else None
        if keyword in named or node.func.attr in ("from_numpy", "as_tensor", "tensor") and keyword == "dtype":
            return None
        return f"{call} without {keyword}= makes a tensor with torch's default {keyword}"

    return _scan(tree, source, file, name, find)
