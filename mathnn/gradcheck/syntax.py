"""Parsing Python source in the grader, safe from several threads at once.

CPython 3.11's parser keeps its recursion depth in shared state: two threads parsing at once (a
graders' pool, ``mathnn grade --jobs``) can raise a SystemError ("AST constructor recursion depth
mismatch") and leave it broken for later parses. Every parse in the grader goes through
:func:`parse_source`, which holds :data:`PARSE_LOCK`, one at a time.
"""

from __future__ import annotations

import ast
import threading

#: Held by every parse on the trusted side.
PARSE_LOCK = threading.Lock()


def parse_source(source: str | bytes, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(source, filename)``, one thread at a time; raises what ``ast.parse`` raises."""
    with PARSE_LOCK:
        return ast.parse(source, filename=filename)
