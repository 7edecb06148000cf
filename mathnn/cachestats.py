"""What the on-disk caches (proofs, experiment results) share: their counters and how they hash.

A cache key names the versions and the hashes of the source files a result depends on; both caches
read them the same way, here.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import os
from pathlib import Path


@dataclasses.dataclass
class CacheStats:
    """Hits, misses and stores since the process started (or since :meth:`reset`)."""

    hits: int = 0
    misses: int = 0
    stored: int = 0

    def reset(self) -> None:
        """Start counting from zero."""
        self.hits = self.misses = self.stored = 0


def file_hash(path: str) -> str:
    """The SHA-256 of a file's bytes, memoised by its path, size and modification time."""
    try:
        status = os.stat(path)
    except OSError:
        return "<missing>"
    return _hash_of(path, status.st_size, status.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _hash_of(path: str, size: int, mtime: int) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "<unreadable>"


@functools.cache
def mathnn_version() -> str:
    """The installed mathnn's version ("unknown" when it is not installed)."""
    try:
        return importlib.metadata.version("mathnn")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
