"""A dependency-free progress line on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: Seconds between redraws: a training loop runs thousands of steps a second, and a terminal
#: redrawn at that rate costs more than the steps.
REDRAW_INTERVAL = 0.1


def progress(
    items: Iterable[T],
    total: int,
    label: str,
    enabled: bool = True,
    status: Callable[[], str] | None = None,
) -> Iterator[T]:
    """Yield ``items`` while redrawing ``label [#####-----] k/total  elapsed  status`` on stderr.

    Nothing is drawn when stderr is not a terminal (CI logs, pipes) or ``enabled`` is false.
    The line is redrawn at most every ``REDRAW_INTERVAL`` seconds, and after the last item.

    Parameters
    ----------
    items : iterable
        What to iterate over; yielded unchanged.
    total : int
        The number of items expected, for the bar.
    label : str
        Shown before the bar.
    enabled : bool, default True
        False never draws.
    status : callable returning str, optional
        Called after an item is processed, whenever the line is redrawn (e.g. the current loss),
        and shown after the elapsed time. It is never called when nothing is drawn.
    """
    draw = enabled and sys.stderr.isatty()
    start = time.perf_counter()
    last_drawn = -float("inf")
    width = 24
    longest = 0
    for index, item in enumerate(items, 1):
        yield item
        if draw and ((now := time.perf_counter()) - last_drawn >= REDRAW_INTERVAL or index == total):
            last_drawn = now
            filled = width * min(index, total) // max(total, 1)
            bar = "#" * filled + "-" * (width - filled)
            extra = f"  {status()}" if status is not None else ""
            line = f"{label} [{bar}] {index}/{total}  {now - start:5.1f} s{extra}"
            longest = max(longest, len(line))
            sys.stderr.write("\r" + line.ljust(longest))
            sys.stderr.flush()
    if draw:
        sys.stderr.write("\r" + " " * longest + "\r")
        sys.stderr.flush()
