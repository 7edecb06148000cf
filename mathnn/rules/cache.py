"""An on-disk cache of proofs, keyed by everything that decides them.

Proving every rule takes SymPy tens of seconds, and ``mathnn verify``, the docs build and the tests
all need the proofs of rules that have not changed. :func:`proven` returns a rule's proof from the
cache when the rule's declaration, the SymPy version and the source of the code that proves it are
all unchanged, and otherwise proves it and stores the result.

The key is a SHA-256 of

* a canonical text of the declaration: the rule's dataclass fields walked recursively, each SymPy
  expression as ``sympy.srepr``, each dict, tuple and set item by item, and each callable (a fact's
  check, a loss's facts) by its module, qualified name and the values it closes over;
* the source of every ``mathnn`` module the declaration's classes and callables come from, with the
  ``mathnn`` modules those import, and of the rule engine (``core.py``, ``elementwise.py``, ``arrays.py``, ``decide.py``,
  ``layer*.py``, ``recurrence.py``, ``textprint.py`` in ``mathnn/rules``);
* the versions of SymPy, Python and mathnn, and the cache format.

Only proofs that hold are stored: a failing proof is proven again every time. A cache directory that
cannot be written is not an error: the proof is computed and returned, with one warning on stderr.
While a process proves a rule it holds a lock beside the proof's file (``<name>-<key>.lock``), so
processes sharing a cache prove each rule once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from ..cachestats import CacheStats, cache_root, file_hash, mathnn_version, write_entry
from .core import Claim, Proof

#: Bump when the stored JSON or the key recipe changes meaning.
FORMAT = 1

#: Files of the rule engine: a change to any of them invalidates every cached proof.
RULES_DIR = Path(__file__).resolve().parent
ENGINE_PATTERNS = ("core.py", "elementwise.py", "arrays.py", "decide.py", "layer*.py", "recurrence.py", "textprint.py")


#: Counters of cache hits, misses and stores in this process.
STATS = CacheStats()



class _Uncacheable(Exception):
    """The declaration holds something with no stable text (an object printed with its address)."""


def cache_dir() -> Path:
    """Where proofs are stored.

    Returns
    -------
    Path
        ``$MATHNN_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/mathnn/proofs``, else
        ``~/.cache/mathnn/proofs``. The folder may not exist yet.
    """
    return cache_root("proofs")


def proven(rule: Any, *, cache: bool = True) -> Proof:
    """The proof of ``rule``: from the cache when nothing that decides it changed, else ``rule.prove()``.

    Parameters
    ----------
    rule : Rule or any rule object
        Has ``.name`` and ``.prove() -> Proof``; its declaration is read from its dataclass fields.
    cache : bool, default True
        False proves again without reading the cache, and stores the new proof when it holds
        (``--no-cache`` on the command line).

    Returns
    -------
    Proof
        The proof, equal claim by claim to what ``rule.prove()`` returns for this declaration.
    """
    try:
        key = proof_key(rule)
    except _Uncacheable:
        STATS.misses += 1
        return rule.prove()
    path = cache_dir() / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', str(rule.name))}-{key}.json"
    if not cache:
        return _prove_and_store(rule, path)
    proof = _load(path, rule.name)
    if proof is None:
        with _proving(path):  # another process proving this rule now: wait for its proof, don't repeat it
            proof = _load(path, rule.name)
            if proof is None:
                return _prove_and_store(rule, path)
    STATS.hits += 1
    return proof


def _prove_and_store(rule: Any, path: Path) -> Proof:
    STATS.misses += 1
    proof = rule.prove()
    if proof.holds:  # a failure is proven again every time, so a fix is never hidden by the cache
        _store(path, proof)
    return proof


@contextlib.contextmanager
def _proving(path: Path):
    """Hold an exclusive lock on ``<proof file>.lock`` while proving: one prover per proof at a time.

    Processes sharing a cache (a test run's workers, its ``mathnn`` and ``mkdocs`` subprocesses) then
    prove each rule once; the others wait and read the stored proof. Without ``fcntl`` (Windows) or
    a writable folder there is no lock, and two processes may prove the same rule at once.
    """
    try:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_suffix(".lock"), "a")
    except (ImportError, OSError):
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def proof_key(rule: Any) -> str:
    """The cache key of ``rule``: a SHA-256 of its declaration, the code that proves it and the versions.

    Parameters
    ----------
    rule : Rule or any rule object
        A dataclass instance; every field takes part in the key.

    Returns
    -------
    str
        64 hex digits.
    """
    modules: set[str] = set()
    declaration = _canonical(rule, modules, set())
    sources = _sources(modules)
    digest = hashlib.sha256()
    for part in (
        f"format {FORMAT}",
        f"python {sys.version_info.major}.{sys.version_info.minor}",
        f"sympy {sp.__version__}",
        f"mathnn {mathnn_version()}",
        declaration,
        *(f"{name} {sha}" for name, sha in sorted(sources.items())),
    ):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


# -- the canonical text of a declaration -----------------------------------------------------------


def _canonical(value: Any, modules: set[str], active: set[int]) -> str:
    """A text that changes whenever ``value`` could prove differently; records the modules it relies on."""
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return repr(value)
    if isinstance(value, sp.Basic):
        for node in sp.preorder_traversal(value):
            _note_module(type(node), modules)
        return f"sympy:{sp.srepr(value)}"
    if isinstance(value, type):
        _note_module(value, modules)
        return f"type:{value.__module__}.{value.__qualname__}"
    if isinstance(value, types.ModuleType):
        modules.add(value.__name__)
        return f"module:{value.__name__}"
    if isinstance(value, np.ndarray):
        return f"ndarray:{value.dtype.str}:{value.shape}:{hashlib.sha256(value.tobytes()).hexdigest()}"
    if id(value) in active:  # a cycle (a closure that refers back to its rule): name it, don't recurse
        return f"<cycle {type(value).__qualname__}>"
    active.add(id(value))
    try:
        return _canonical_container(value, modules, active)
    finally:
        active.discard(id(value))


def _canonical_container(value: Any, modules: set[str], active: set[int]) -> str:
    def walk(item: Any) -> str:
        return _canonical(item, modules, active)

    if dataclasses.is_dataclass(value):
        _note_module(type(value), modules)
        fields = ", ".join(f"{f.name}={walk(getattr(value, f.name))}" for f in dataclasses.fields(value))
        return f"{type(value).__module__}.{type(value).__qualname__}({fields})"
    if isinstance(value, dict):
        # Declaration order can matter (the order claims are made in), so it is kept.
        return "{" + ", ".join(f"{walk(k)}: {walk(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__}[" + ", ".join(walk(item) for item in value) + "]"
    if isinstance(value, (set, frozenset)):
        return f"{type(value).__name__}{{" + ", ".join(sorted(walk(item) for item in value)) + "}"
    if isinstance(value, functools.partial):
        return f"partial({walk(value.func)}, {walk(value.args)}, {walk(value.keywords)})"
    if isinstance(value, types.MethodType):
        return f"method({walk(value.__func__)} of {walk(value.__self__)})"
    if isinstance(value, types.FunctionType):
        return _canonical_function(value, modules, walk)
    if callable(value) and hasattr(value, "__qualname__"):  # a builtin: its name says what it does
        return f"callable:{getattr(value, '__module__', None)}.{value.__qualname__}"
    text = repr(value)
    if " at 0x" in text:
        raise _Uncacheable(f"{type(value).__qualname__} has no stable text: {text}")
    _note_module(type(value), modules)
    return f"{type(value).__module__}.{type(value).__qualname__}:{text}"


def _canonical_function(function: types.FunctionType, modules: set[str], walk: Callable[[Any], str]) -> str:
    """Module, qualified name, defaults and closed-over values: two closures of one factory differ."""
    modules.add(function.__module__)
    cells = []
    for name, cell in zip(function.__code__.co_freevars, function.__closure__ or (), strict=True):
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell (a name assigned after the closure was made)
            contents = "<empty>"
        cells.append(f"{name}={walk(contents)}")
    return (
        f"function:{function.__module__}.{function.__qualname__}"
        f"(defaults={walk(function.__defaults__)}, kwdefaults={walk(function.__kwdefaults__)}, "
        f"closure=[{', '.join(cells)}])"
    )


def _note_module(kind: type, modules: set[str]) -> None:
    if (kind.__module__ or "").split(".")[0] == "mathnn":
        modules.add(kind.__module__)


# -- the source the proof depends on ---------------------------------------------------------------


def _sources(modules: set[str]) -> dict[str, str]:
    """SHA-256 of the file of each module, of the ``mathnn`` modules they import, and of the engine."""
    hashes: dict[str, str] = {}
    pending = sorted(modules)
    while pending:
        name = pending.pop()
        if name in hashes or name.split(".")[0] != "mathnn":
            continue
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        hashes[name] = file_hash(path) if path else "<no file>"
        if module is not None:
            pending.extend(_imported(module))
    for pattern in ENGINE_PATTERNS:
        for path in sorted(RULES_DIR.glob(pattern)):
            hashes.setdefault(f"engine:{path.name}", file_hash(str(path)))
    return hashes


def _imported(module: types.ModuleType) -> list[str]:
    """The ``mathnn`` modules ``module`` refers to at its top level (imported modules and names)."""
    found = []
    for value in vars(module).values():
        if isinstance(value, types.ModuleType):
            found.append(value.__name__)
        elif isinstance(value, (type, types.FunctionType)):
            found.append(getattr(value, "__module__", "") or "")
    return [name for name in found if name.split(".")[0] == "mathnn"]


# -- storage ---------------------------------------------------------------------------------------


def _load(path: Path, name: str) -> Proof | None:
    """The stored proof at ``path``, or None when it is missing, unreadable, corrupt or not a pass."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("rule") != name:
            return None
        claims = [
            Claim(statement=c["statement"], latex=c["latex"], method=c["method"], holds=c["holds"])
            for c in data["claims"]
        ]
        if not all(isinstance(c.holds, bool) and isinstance(c.statement, str) for c in claims):
            return None
        proof = Proof(rule=name, claims=claims, seconds=float(data["seconds"]))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return proof if proof.holds and proof.claims else None


def _store(path: Path, proof: Proof) -> None:
    """Write ``proof`` to ``path`` atomically (a temporary file, then ``os.replace``)."""
    data = {
        "format": FORMAT,
        "rule": proof.rule,
        "seconds": proof.seconds,
        "claims": [
            {"statement": c.statement, "latex": c.latex, "method": c.method, "holds": c.holds} for c in proof.claims
        ],
    }
    write_entry(path, json.dumps(data, ensure_ascii=False, indent=1), "proofs", STATS)


__all__ = ["STATS", "CacheStats", "cache_dir", "proof_key", "proven"]
