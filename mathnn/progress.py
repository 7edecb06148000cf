"""A dependency-free progress line on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int, label: str, enabled: bool = True) -> Iterator[T]:
    """Yield ``items`` while redrawing ``label [#####-----] k/total  elapsed`` on stderr.

    Nothing is drawn when stderr is not a terminal (CI logs, pipes) or ``enabled`` is false.
    """
    draw = enabled and sys.stderr.isatty()
    start = time.perf_counter()
    width = 24
    for index, item in enumerate(items, 1):
        yield item
        if draw:
            filled = width * index // max(total, 1)
            bar = "#" * filled + "-" * (width - filled)
            elapsed = time.perf_counter() - start
            sys.stderr.write(f"\r{label} [{bar}] {index}/{total}  {elapsed:5.1f} s")
            sys.stderr.flush()
    if draw:
        sys.stderr.write("\r" + " " * (len(label) + width + 30) + "\r")
        sys.stderr.flush()
