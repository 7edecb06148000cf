"""Shared fixtures and the markers of the test suite.

Markers select, they never skip: ``pytest -m "not slow"`` for a quick run, ``-m docs`` for the site.

* ``slow``: a test that takes more than a few seconds on its own (a training run, the tour);
* ``docs``: builds or reads the MkDocs site (needs the ``[test]`` extra and ``node_modules``);
* ``browser``: drives Debian's Chromium over the site.

The proof cache (:mod:`mathnn.rules.cache`) points at a fresh folder for the whole session, shared by
every test, every xdist worker and every ``mathnn``/``mkdocs`` subprocess: each rule is proven for
real at least once per run, no developer's cache is read, and a process that asks for a proof another
one is computing waits for it (the cache's lock) instead of proving it again.

The run is ordered for two workers (``pytest_collection_modifyitems``): the site's build and the tests
that read the site first, then the longest modules (``LONG_MODULES``), each module kept together.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The homework files mathnn check judges in test_homework_styles.py are data, not tests. Said here,
#: not in a conftest.py of their own: a second module named conftest would stand in for this one, and
#: the results once_per_run pickles (SiteBuild) could then no longer be found by name.
collect_ignore = ["homework_styles"]

# One BLAS thread per process: the suite runs on as many workers as there are cores, and OpenBLAS's
# own threads on top of them spin against each other (the remedies' lag experiment takes 4 times the
# CPU with them). Set here, in the process that starts the xdist workers and every subprocess; a
# value set by the caller is kept.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

_SESSION_CACHE = "_mathnn_session_cache"


#: Set by the controlling process, inherited by xdist's workers: the folder they all share.
_SHARED = "MATHNN_TEST_SESSION_PROOFS"


#: Packages pytest marks for assertion rewriting only because their distribution declares a pytest plugin
#: (a ``pytest11`` entry point marks every module of the distribution: all of mathnn, all of hypothesis).
#: Their own asserts need no rewriting here, and rewriting them cost each process about 2 s of CPU at
#: collection, more as later tests import the rest (the environment writes no bytecode, so every
#: process parsed and recompiled them). Test modules and conftest files are still rewritten.
PLUGIN_PACKAGES_NOT_REWRITTEN = ("mathnn", "hypothesis", "platformdirs", "xdist")


def _leave_plugin_packages_unrewritten(config: pytest.Config) -> None:
    hook = getattr(config.pluginmanager, "rewrite_hook", None)
    marked = getattr(hook, "_must_rewrite", None)  # pytest's own record; absent in another version: no change
    if isinstance(marked, set):
        marked.difference_update(PLUGIN_PACKAGES_NOT_REWRITTEN)
        getattr(hook, "_marked_for_rewrite_cache", {}).clear()


def pytest_configure(config: pytest.Config) -> None:
    _leave_plugin_packages_unrewritten(config)
    shared = os.environ.get(_SHARED)
    if os.environ.get("PYTEST_XDIST_WORKER") and shared:  # a worker: prove into the session's one folder
        os.environ["MATHNN_CACHE_DIR"] = shared
        return
    folder = tempfile.mkdtemp(prefix="mathnn-proofs-")
    setattr(config, _SESSION_CACHE, (folder, os.environ.get("MATHNN_CACHE_DIR")))
    os.environ["MATHNN_CACHE_DIR"] = os.environ[_SHARED] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder, before = getattr(config, _SESSION_CACHE, (None, None))
    if folder is None:
        return
    shutil.rmtree(folder, ignore_errors=True)
    os.environ.pop(_SHARED, None)
    if before is None:
        os.environ.pop("MATHNN_CACHE_DIR", None)
    else:
        os.environ["MATHNN_CACHE_DIR"] = before


class Proofs(Mapping):
    """Each rule's proof by name, proven at most once per session (through the session's proof cache).

    Only for rules as declared: a test that changes a rule to see its proof fail calls ``prove()``.
    """

    def __init__(self) -> None:
        self._proofs: dict[str, object] = {}

    def __getitem__(self, name: str):
        from mathnn.rules import RULES
        from mathnn.rules.cache import proven

        if name not in self._proofs:
            self._proofs[name] = proven(RULES[name])
        return self._proofs[name]

    def __iter__(self) -> Iterator[str]:
        from mathnn.rules import RULES

        return iter(RULES)

    def __len__(self) -> int:
        from mathnn.rules import RULES

        return len(RULES)


@pytest.fixture(scope="session")
def proofs() -> Proofs:
    """``proofs[name]``: the proof of the declared rule ``name``, proven once for the session."""
    return Proofs()


# -- the documentation site ------------------------------------------------------------------------


def mkdocs_build(site_dir: Path, config: Path = ROOT / "mkdocs.yml", profile: str = "quick") -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` of ``config`` into ``site_dir``.

    ``profile`` is docs/hooks/experiments.py's ``MATHNN_DOCS_PROFILE``: ``quick`` (the default here) runs the
    vanishing-gradient experiments smaller, through the same code; their tests run them at full size.
    """
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site_dir)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "MATHNN_DOCS_PROFILE": profile},
    )


@dataclass(frozen=True)
class SiteBuild:
    """The session's build of the site: where it is, mkdocs' log (stderr), and how long it took."""

    dir: Path
    log: str
    seconds: float


def once_per_run(name: str, compute: Callable[[], object]) -> object:
    """``compute()`` once for the whole run, its result shared by every xdist worker.

    A session fixture runs once per worker; work that takes a minute (the site's build, checking every
    shipped example) is done by the first worker that asks, under a lock in the session's shared
    folder, and read back by the others. A failure stores nothing, so a later caller tries again.
    """
    folder = Path(os.environ[_SHARED])
    stored = folder / f"{name}.pickle"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if stored.exists():
                return pickle.loads(stored.read_bytes())
            value = compute()
            stored.write_bytes(pickle.dumps(value))
            return value
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def run_once() -> Callable[[str, Callable[[], object]], object]:
    """:func:`once_per_run`, for test modules: ``run_once(name, compute)``."""
    return once_per_run


def _build_site() -> SiteBuild:
    site_dir = Path(os.environ[_SHARED]) / "docs" / "site"
    start = time.perf_counter()
    proc = mkdocs_build(site_dir)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    print(f"\nmkdocs build --strict: {seconds:.1f} s into {site_dir}")
    return SiteBuild(site_dir, proc.stderr, seconds)


@pytest.fixture(scope="session")
def site_build() -> SiteBuild:
    """The site built with ``mkdocs build --strict`` once per run, for every module and worker that reads it."""
    build = once_per_run("site", _build_site)
    assert isinstance(build, SiteBuild)
    return build


@pytest.fixture(scope="session")
def built_site(site_build: SiteBuild) -> Path:
    """The folder of the session's built site."""
    return site_build.dir


@pytest.fixture(scope="session")
def build_docs():
    """The function that builds a site: ``build_docs(site_dir, config)`` (for builds of changed copies)."""
    return mkdocs_build


# -- the order of the run --------------------------------------------------------------------------

#: The modules that take longest, longest first (measured with --durations). They start the second
#: half of the run, which xdist's worksteal scheduler gives the second worker, while the first builds
#: the site and reads it; then either worker steals the other's short tests. This decides the order
#: only: a module missing here, or a name no longer present, costs time, never a test.
LONG_MODULES = (
    "test_torch_check.py", "test_homework_styles.py", "test_types.py", "test_grading_hostile.py", "test_runner.py", "test_cli.py", "test_experiments_remedies.py",
    "test_experiments_lecture_figures.py", "test_rules.py", "test_layer_rules.py", "test_check.py",
    "test_grading.py", "test_experiments.py", "test_experiments_shift.py", "test_experiments_recall.py",
    "test_charrnn.py", "test_batchnorm_rule.py", "test_recurrence.py", "test_update_check.py", "test_layer_check.py",
    "test_lstm.py", "test_conv.py", "test_groupnorm.py", "test_model_file.py",
)

#: Fixtures that read the built site: their tests wait for the build, so they run right after it, on its worker.
SITE_FIXTURES = {"site_build", "built_site", "site_url", "loaded_pages"}


def run_order(items: list) -> list:
    """``items`` in the order that keeps two workers busy until the end.

    First half: the tests that read the built site (the first of them builds it; Chromium's loads of every
    page first, as they take longest), then the short modules. Second half: the long modules, longest first, then the rest of the
    short ones. Within a group each module keeps its own order, so a module's fixtures are set up once.
    """
    def module(item) -> str:
        return item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]

    def reads_site(item) -> bool:
        return bool(SITE_FIXTURES & set(getattr(item, "fixturenames", ())))

    # every page loaded in Chromium first (the first of them builds the site), then the other readers
    site = sorted((item for item in items if reads_site(item)), key=lambda item: "loaded_pages" not in item.fixturenames)
    long_rank = {name: rank for rank, name in enumerate(LONG_MODULES)}
    rest = [item for item in items if not reads_site(item)]
    long = sorted((item for item in rest if module(item) in long_rank), key=lambda item: long_rank[module(item)])
    short = [item for item in rest if module(item) not in long_rank]
    first = max(0, len(items) // 2 - len(site))
    return site + short[:first] + long + short[first:]


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    items[:] = run_order(items)
