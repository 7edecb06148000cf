"""Parsing Python source in the grader, safe from several threads at once.

CPython 3.11's ``ast.parse`` is not safe to run in two threads at the same time: it can raise a
SystemError about the AST constructor's recursion depth. A graders' pool checks files from several
threads, so every parse in the grader goes through :func:`parse_source`, one at a time.
"""

from __future__ import annotations

import ast
import threading

_lock = threading.Lock()


def parse_source(source: str | bytes, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(source, filename)``, one thread at a time; raises what ``ast.parse`` raises."""
    with _lock:
        return ast.parse(source, filename=filename)
