"""Plain aligned text tables for the command line."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str = "left") -> str:
    """Headers, a rule and the rows, each column as wide as its widest cell.

    ``align`` is "left" (labels) or "right" (columns of numbers).
    """
    if align not in ("left", "right"):
        raise ValueError(f"align: expected 'left' or 'right'; received {align!r}")
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(cell) for cell in column) for column in zip(*cells)]

    def line(row: Sequence[str]) -> str:
        padded = (cell.ljust(width) if align == "left" else cell.rjust(width) for cell, width in zip(row, widths))
        return "  ".join(padded).rstrip()

    return "\n".join([line(cells[0]), line(["-" * width for width in widths]), *(line(row) for row in cells[1:])])
