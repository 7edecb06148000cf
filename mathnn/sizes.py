"""Sizes named in shape declarations: a size symbol (``"H"``) or a multiple of one (``"4H"``).

A gated cell stacks its gates side by side, so its weights have 4H columns for hidden size H; a shape
declaration writes that as ``("D", "4H")``. numpy only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_MULTIPLE = re.compile(r"^(\d+)([A-Za-z_]\w*)$")


def split_size(name: str) -> tuple[int, str]:
    """``"4H"`` as (4, "H"); a plain size name as (1, name)."""
    multiple = _MULTIPLE.match(name)
    return (int(multiple.group(1)), multiple.group(2)) if multiple else (1, name)


def size_of(name: str, sizes: Mapping[str, int]) -> int:
    """The value of the size ``name`` at ``sizes``: ``sizes["H"]``, or 4·``sizes["H"]`` for ``"4H"``."""
    if name in sizes:
        return int(sizes[name])
    multiple = _MULTIPLE.match(name)
    if multiple and multiple.group(2) in sizes:
        return int(multiple.group(1)) * int(sizes[multiple.group(2)])
    raise KeyError(name)
