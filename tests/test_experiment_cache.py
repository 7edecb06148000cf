"""The experiment cache: a result is computed once, and again whenever anything it depends on changes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from mathnn.experiments import cache
from mathnn.experiments.cache import STATS, cached, dependencies

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MATHNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(cache.BYPASS_VARIABLE, raising=False)
    STATS.reset()
    return tmp_path / "cache" / "experiments"


class Counter:
    """A computation that counts its runs and returns its parameters."""

    def __init__(self):
        self.runs = 0

    def __call__(self):
        self.runs += 1
        return {"runs": self.runs, "text": "‖∂h_T/∂h_t‖ σ′"}


def test_a_second_run_is_served_from_the_cache(fresh_cache):
    compute = Counter()
    first = cached("demo", {"seed": 0, "hidden": 8}, compute)
    again = cached("demo", {"hidden": 8, "seed": 0}, compute)  # the order of the parameters does not matter
    assert compute.runs == 1 and first == again == {"runs": 1, "text": "‖∂h_T/∂h_t‖ σ′"}
    assert (STATS.hits, STATS.misses, STATS.stored) == (1, 1, 1)
    (stored,) = fresh_cache.glob("demo-*.json")
    assert "σ′" in stored.read_text(encoding="utf-8")


def test_a_change_of_parameters_or_code_misses(fresh_cache):
    compute = Counter()
    cached("demo", {"seed": 0}, compute)
    assert cached("demo", {"seed": 1}, compute)["runs"] == 2
    assert cached("demo", {"seed": 0}, compute, code="def f(): return 2")["runs"] == 3
    assert cached("other", {"seed": 0}, compute)["runs"] == 4
    assert cached("demo", {"seed": 0}, compute)["runs"] == 1  # each of them is still stored
    assert STATS.misses == 4 and STATS.hits == 1


def test_a_changed_source_file_misses(fresh_cache):
    compute = Counter()
    cached("demo", {}, compute)
    (stored,) = fresh_cache.glob("demo-*.json")
    data = json.loads(stored.read_text(encoding="utf-8"))
    assert "experiments/depth.py" in data["dependencies"]  # mathnn.experiments imports it
    data["dependencies"]["experiments/depth.py"] = "0" * 64  # as if depth.py had been edited since
    stored.write_text(json.dumps(data), encoding="utf-8")
    assert cached("demo", {}, compute)["runs"] == 2


def test_dependencies_cover_the_loaded_code_its_data_and_the_package_listings():
    import mathnn.data  # noqa: F401 - the embedded text lives beside its __init__

    found = dependencies()
    assert "experiments/cache.py" in found and "data/default.txt" in found
    assert "data/" in found and "experiments/" in found
    assert all(len(sha) == 64 for sha in found.values())


def test_the_variable_or_the_argument_bypass_the_cache(monkeypatch):
    compute = Counter()
    cached("demo", {}, compute)
    assert cached("demo", {}, compute, cache=False)["runs"] == 2
    monkeypatch.setenv(cache.BYPASS_VARIABLE, "1")
    assert cached("demo", {}, compute)["runs"] == 3
    monkeypatch.setenv(cache.BYPASS_VARIABLE, "0")
    assert cached("demo", {}, compute)["runs"] == 3  # the last run was stored


def test_a_corrupt_entry_is_computed_again(fresh_cache):
    compute = Counter()
    cached("demo", {}, compute)
    (stored,) = fresh_cache.glob("demo-*.json")
    stored.write_text("{not json", encoding="utf-8")
    assert cached("demo", {}, compute)["runs"] == 2
    assert cached("demo", {}, compute)["runs"] == 2


def test_a_result_that_is_not_json_is_refused():
    with pytest.raises(TypeError, match="demo: the result to cache must be JSON-able"):
        cached("demo", {}, lambda: {1, 2})


def test_the_docs_hook_serves_a_second_build_from_the_cache(monkeypatch):
    spec = importlib.util.spec_from_file_location("experiments_hook", ROOT / "docs" / "hooks" / "experiments.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    calls = []
    real = hook.gradient_descent

    def counted() -> str:
        calls.append(hook.SEED)
        return real()

    first = hook._cached("gradient-descent", counted)
    assert hook._cached("gradient-descent", counted) == first and calls == [0]
    monkeypatch.setattr(hook, "SEED", 1)  # another seed is another result
    hook._cached("gradient-descent", counted)
    assert calls == [0, 1]


def test_a_result_the_caller_does_not_keep_is_computed_again():
    compute = Counter()
    assert cached("demo", {}, compute, keep=lambda result: False)["runs"] == 1
    assert cached("demo", {}, compute, keep=lambda result: result["runs"] > 1)["runs"] == 2
    assert cached("demo", {}, compute)["runs"] == 2  # the second run was kept
    assert STATS.stored == 1


def test_the_docs_hook_does_not_keep_a_homework_check_that_did_not_run_through(monkeypatch):
    import mathnn.gradcheck.runner as runner

    spec = importlib.util.spec_from_file_location("experiments_hook", ROOT / "docs" / "hooks" / "experiments.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    real = runner.check_file
    monkeypatch.setattr(runner, "check_file", lambda *args, **kwargs: {**real(*args, **kwargs), "error": "timed out"})
    hook._cached("check-homework", hook.check_homework)
    hook._cached("check-homework", hook.check_homework)
    assert (STATS.misses, STATS.stored) == (2, 0)
    monkeypatch.setattr(runner, "check_file", real)
    hook._cached("check-homework", hook.check_homework)
    hook._cached("check-homework", hook.check_homework)
    assert (STATS.misses, STATS.stored, STATS.hits) == (3, 1, 1)


def test_the_quick_build_is_cached_apart_from_the_full_one_and_says_so(monkeypatch):
    """MATHNN_DOCS_PROFILE=quick (the test suite's build) never serves a full build, and its figures say they are smaller."""
    spec = importlib.util.spec_from_file_location("experiments_hook", ROOT / "docs" / "hooks" / "experiments.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    calls = []

    def counted() -> str:
        calls.append(hook._profile())
        return hook._figure("vanishing_time", "a caption")

    monkeypatch.setenv(hook.PROFILE_VARIABLE, "quick")
    quick = hook._cached("vanishing-time", counted)
    assert "quick build (MATHNN_DOCS_PROFILE=quick)" in quick and "recall: steps=40" in quick
    monkeypatch.delenv(hook.PROFILE_VARIABLE)
    full = hook._cached("vanishing-time", counted)
    assert calls == ["quick", "full"] and "quick build" not in full
    monkeypatch.setenv(hook.PROFILE_VARIABLE, "fast")
    with pytest.raises(ValueError, match="MATHNN_DOCS_PROFILE: expected 'quick' or 'full' \\(or unset\\); received 'fast'"):
        hook._profile()
