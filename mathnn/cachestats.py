"""Counters of an on-disk cache (proofs, experiment results): what it served, missed and stored."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class CacheStats:
    """Hits, misses and stores since the process started (or since :meth:`reset`)."""

    hits: int = 0
    misses: int = 0
    stored: int = 0

    def reset(self) -> None:
        """Start counting from zero."""
        self.hits = self.misses = self.stored = 0
