"""What the on-disk caches (proofs, experiment results) share: their counters, how they hash, how they write.

A cache key names the versions and the hashes of the source files a result depends on; both caches
read them the same way, here, and write an entry the same way: atomically, or not at all with one
warning when the folder cannot be written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib.metadata
import os
import sys
import tempfile
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


def cache_root(kind: str) -> Path:
    """The folder of one kind of cache entry (``"proofs"``, ``"experiments"``).

    ``$MATHNN_CACHE_DIR`` holds the proofs and an ``experiments/`` folder; without it both live in
    ``$XDG_CACHE_HOME/mathnn/`` (``~/.cache/mathnn/`` by default). The folder may not exist yet.
    """
    chosen = os.environ.get("MATHNN_CACHE_DIR")
    if chosen:
        return Path(chosen) if kind == "proofs" else Path(chosen) / kind
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mathnn" / kind


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


_warned: set[str] = set()


def write_entry(path: Path, text: str, what: str, stats: CacheStats) -> None:
    """Write a cache entry atomically (a temporary file, then ``os.replace``) and count it in ``stats``.

    Where the folder cannot be written, nothing is cached: one warning per kind of cache (``what``,
    "proofs" or "experiment results") says so and how to choose another folder.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as error:
        if what not in _warned:
            _warned.add(what)
            print(f"mathnn: not caching {what}: cannot write to {path.parent} ({error.strerror or error}); "
                  "set MATHNN_CACHE_DIR to a writable folder", file=sys.stderr)
        return
    stats.stored += 1
