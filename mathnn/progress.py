"""Dependency-free progress on stderr: a redrawn bar on a terminal, plain lines everywhere else.

Everything here writes to ``sys.stderr`` (looked up at each call), never to stdout, so a command's
``--json`` output stays clean. On a terminal a line is redrawn in place; when stderr is not a
terminal (a pipe, a CI log, a notebook) whole lines are written instead, at most one every
``PLAIN_INTERVAL`` seconds, so a long step is never silent and a short one writes nothing.

* :func:`progress` wraps a loop of known length;
* :func:`working` wraps one long call that has no loop to count (a proof, an experiment);
* :func:`note` writes one line (which experiment starts, which rule is proven).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: Seconds between redraws: a training loop runs thousands of steps a second, and a terminal
#: redrawn at that rate costs more than the steps.
REDRAW_INTERVAL = 0.1

#: Seconds between plain lines when stderr is not a terminal: often enough that no step looks hung,
#: rarely enough that a log of a long run stays readable.
PLAIN_INTERVAL = 2.0


def _is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False


def _write(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (AttributeError, ValueError, OSError):  # stderr closed or gone: progress is never worth a crash
        pass


def note(message: str, enabled: bool = True) -> None:
    """Write ``message`` as one line on stderr (terminal or not) unless ``enabled`` is false."""
    if enabled:
        _write(message + "\n")


def progress(
    items: Iterable[T],
    total: int,
    label: str,
    enabled: bool = True,
    status: Callable[[], str] | None = None,
) -> Iterator[T]:
    """Yield ``items`` while showing ``label [#####-----] k/total  elapsed  status`` on stderr.

    On a terminal the line is redrawn in place at most every ``REDRAW_INTERVAL`` seconds and after
    the last item, then erased. Elsewhere a plain line ``label: k/total  elapsed  status`` is
    written whenever ``PLAIN_INTERVAL`` seconds have passed since the last one (or the start), and
    after the last item when any line was written: a loop that ends quickly writes nothing.

    Parameters
    ----------
    items : iterable
        What to iterate over; yielded unchanged.
    total : int
        The number of items expected, for the bar.
    label : str
        Shown before the bar.
    enabled : bool, default True
        False shows nothing.
    status : callable returning str, optional
        Called after an item is processed, whenever a line is shown (e.g. the current loss or the
        item just done), and shown after the elapsed time. It is never called when nothing is shown.
    """
    if not enabled:
        yield from items
        return
    terminal = _is_terminal()
    start = time.perf_counter()
    last_shown = -float("inf") if terminal else start
    shown = False
    width = 24
    longest = 0
    interval = REDRAW_INTERVAL if terminal else PLAIN_INTERVAL
    try:
        for index, item in enumerate(items, 1):
            yield item
            now = time.perf_counter()
            if now - last_shown < interval and not (index == total and (terminal or shown)):
                continue
            last_shown, shown = now, True
            extra = f"  {status()}" if status is not None else ""
            if terminal:
                filled = width * min(index, total) // max(total, 1)
                bar = "#" * filled + "-" * (width - filled)
                line = f"{label} [{bar}] {index}/{total}  {now - start:5.1f} s{extra}"
                longest = max(longest, len(line))
                _write("\r" + line.ljust(longest))
            else:
                _write(f"{label}: {index}/{total}  {now - start:.1f} s{extra}\n")
    finally:  # also when the loop is left early: no half-drawn bar is left behind
        if terminal and longest:
            _write("\r" + " " * longest + "\r")


@contextlib.contextmanager
def working(label: str, enabled: bool = True, delay: float = 0.0) -> Iterator[None]:
    """Show that ``label`` is under way while the ``with`` block runs, from a background thread.

    After ``delay`` seconds (nothing at all for a block that ends sooner) ``label…`` is shown: on a
    terminal as a line redrawn with the elapsed time and erased at the end; elsewhere as a plain line,
    repeated as ``label… 6 s`` every ``PLAIN_INTERVAL`` seconds until the block ends.

    Parameters
    ----------
    label : str
        What is being done, e.g. ``"proving batchnorm"``.
    enabled : bool, default True
        False shows nothing.
    delay : float, default 0
        Seconds to wait before showing anything: a block that may be fast (a cache hit) stays quiet.
    """
    if not enabled:
        yield
        return
    terminal = _is_terminal()
    done = threading.Event()
    drawn = [0]  # length of the line on the terminal, to erase it

    def show() -> None:
        start = time.perf_counter()
        if done.wait(delay):
            return
        while True:
            elapsed = time.perf_counter() - start
            if terminal:
                line = f"{label}… {elapsed:4.0f} s"
                drawn[0] = max(drawn[0], len(line))
                _write("\r" + line.ljust(drawn[0]))
            else:
                _write(f"{label}…" + (f" {elapsed:.0f} s" if elapsed >= 1 else "") + "\n")
            if done.wait(1.0 if terminal else max(PLAIN_INTERVAL, 0.05)):
                return

    thread = threading.Thread(target=show, name=f"progress: {label}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        if terminal and drawn[0]:
            _write("\r" + " " * drawn[0] + "\r")


__all__ = ["PLAIN_INTERVAL", "REDRAW_INTERVAL", "note", "progress", "working"]
