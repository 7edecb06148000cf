"""An on-disk cache of experiment results, so that a docs build reruns only what changed.

The lecture pages show experiments computed from the package with fixed seeds: the same code and
parameters give the same numbers, and rerunning them all (about a minute) on every ``mkdocs build``
only slows down writing. :func:`cached` returns a stored result when nothing it depends on changed,
and otherwise computes it and stores it.

What a result depends on, and so what must be unchanged for a hit:

* its name and parameters (any JSON-able mapping: the docs hook passes the seed, and for the figures
  the matplotlib version) and ``code``, the source outside the package that shapes it (the docs
  hook's function that renders it, with its helpers);
* the versions of Python, NumPy, mathnn and the cache format;
* the source of the ``mathnn`` code it ran. That is recorded when the result is computed, as every
  file of each ``mathnn`` module loaded at the end of the computation, and every file beside each
  loaded ``mathnn`` package's ``__init__`` (data such as the embedded text, and files a sandboxed
  subprocess reads). This is more than the computation needs (everything loaded before it counts
  too), never less: a change to any of those files is a miss.

Results live in ``experiments/`` under the proof cache's root (see :func:`cache_dir`). Set
``MATHNN_NO_EXPERIMENT_CACHE=1`` to compute every result again (and refresh what is stored), or pass
``cache=False``. A folder that cannot be written is not an error: the result is computed and returned,
with one warning on stderr.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..cachestats import CacheStats, cache_root, file_hash, mathnn_version, write_entry

#: Bump when the stored JSON or the key recipe changes meaning.
FORMAT = 1

#: Set to 1 (or any value but 0 and the empty string) to compute every result again.
BYPASS_VARIABLE = "MATHNN_NO_EXPERIMENT_CACHE"

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


#: Counters of hits, misses and stores in this process (the proof cache's kind of counter).
STATS = CacheStats()



def cache_dir() -> Path:
    """Where results are stored: ``experiments/`` beside the proofs.

    Returns
    -------
    Path
        ``$MATHNN_CACHE_DIR/experiments`` when ``MATHNN_CACHE_DIR`` is set, else ``experiments/``
        beside the proof folder (``~/.cache/mathnn/experiments`` by default). The folder may not
        exist yet.
    """
    return cache_root("experiments")


def bypassed() -> bool:
    """Whether ``MATHNN_NO_EXPERIMENT_CACHE`` asks for every result to be computed again."""
    return os.environ.get(BYPASS_VARIABLE, "") not in ("", "0")


def cached(
    name: str, parameters: Mapping[str, Any], compute: Callable[[], Any], *, code: str = "", cache: bool = True,
    keep: Callable[[Any], bool] | None = None,
) -> Any:
    """The result of ``compute()``: from the cache when nothing it depends on changed, else computed and stored.

    Parameters
    ----------
    name : str
        What the result is, e.g. ``"vanishing-time"``; part of the key and of the file name.
    parameters : mapping
        Everything else the result depends on that is not ``mathnn`` source: seeds, sizes, the
        version of a library that draws it. JSON-able; keys are sorted.
    compute : callable
        Returns the result: JSON-able (str, numbers, lists, dicts of them). Called on a miss only.
    code : str, default ''
        Source text outside the ``mathnn`` package that shapes the result (the docs hook's function).
    cache : bool, default True
        False computes again without reading the cache and stores the new result (as does the
        environment variable ``MATHNN_NO_EXPERIMENT_CACHE=1``).
    keep : callable, optional
        ``keep(result)`` false leaves the result unstored, to be computed again next time: for one
        that depends on more than the code (a sandboxed run that hit its time limit on a busy machine).

    Returns
    -------
    The result, as ``compute()`` returned it or as it was stored (JSON round-tripped).
    """
    key = result_key(name, parameters, code)
    path = cache_dir() / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}-{key}.json"
    if cache and not bypassed():
        found = _load(path, name)
        if found is not None:
            STATS.hits += 1
            return found
    STATS.misses += 1
    result = compute()
    if keep is None or keep(result):
        _store(path, name, result, dependencies())
    return result


def result_key(name: str, parameters: Mapping[str, Any], code: str = "") -> str:
    """A SHA-256 of the name, parameters, code and versions (the source files are checked separately)."""
    digest = hashlib.sha256()
    for part in (
        f"format {FORMAT}",
        f"python {sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}",
        f"numpy {np.__version__}",
        f"mathnn {mathnn_version()}",
        name,
        json.dumps(dict(parameters), sort_keys=True, ensure_ascii=False, default=repr),
        code,
    ):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def dependencies() -> dict[str, str]:
    """SHA-256 of every file of the ``mathnn`` code loaded now, by path relative to the package root.

    Each loaded ``mathnn`` module's file, and every file directly in the folder of each loaded
    ``mathnn`` package.
    """
    files: set[Path] = set()
    folders: set[Path] = set()
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] != "mathnn" or module is None:
            continue
        path = getattr(module, "__file__", None)
        if not path:
            continue
        path = Path(path).resolve()
        files.add(path)
        if path.name == "__init__.py":
            folders.add(path.parent)
            files.update(item for item in path.parent.iterdir() if item.is_file() and item.suffix != ".pyc")
    recorded = {_relative(path): file_hash(str(path)) for path in sorted(files)}
    # A package's listing too: a file added beside its __init__ (a topic module found by pkgutil) is a change.
    recorded.update({_relative(folder) + "/": _listing_hash(folder) for folder in sorted(folders)})
    return recorded


def _listing_hash(folder: Path) -> str:
    try:
        names = sorted(item.name for item in folder.iterdir() if item.is_file() and item.suffix != ".pyc")
    except OSError:
        return "<missing>"
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()


def _relative(path: Path) -> str:
    try:
        return path.relative_to(PACKAGE_ROOT).as_posix()
    except ValueError:  # outside the package (an editable install elsewhere): the full path
        return path.as_posix()


def _current(recorded: str) -> str:
    """The hash, as of now, of what ``dependencies`` recorded as ``recorded`` (a file, or a folder ending in /)."""
    path = Path(recorded)
    path = path if path.is_absolute() else PACKAGE_ROOT / path
    return _listing_hash(path) if recorded.endswith("/") else file_hash(str(path))


def _load(path: Path, name: str) -> Any:
    """The stored result, or None when missing, unreadable, corrupt, or any dependency changed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("name") != name or "result" not in data:
            return None
        recorded = data["dependencies"]
        if not isinstance(recorded, dict) or not recorded:
            return None
        if any(_current(file) != sha for file, sha in recorded.items()):
            return None
        return data["result"]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _store(path: Path, name: str, result: Any, recorded: dict[str, str]) -> None:
    """Write the result atomically (a temporary file, then ``os.replace``)."""
    try:
        text = json.dumps({"format": FORMAT, "name": name, "dependencies": recorded, "result": result},
                          ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name}: the result to cache must be JSON-able ({error})") from None
    write_entry(path, text, "experiment results", STATS)


__all__ = ["BYPASS_VARIABLE", "STATS", "CacheStats", "bypassed", "cache_dir", "cached", "dependencies", "result_key"]
