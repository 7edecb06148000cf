"""``mathnn check`` on homework written the ways students write it, correct and with realistic bugs.

The correct styles (``tests/homework_styles/``: staged graphs with tuple caches and loops, compact
vectorised formulas with dict caches, and the compact file computing in float32) must pass every pair
of the catalogue and every update rule; each declared bug (``declared.BUGS``: a style with some lines
changed) must fail every pair or rule its changed code reaches, with exactly the gradients it breaks
named and the words of the checker's diagnosis for it. Every mistake the checker says it names (the
rules' mistakes and slips, the update rules' known mistakes) is named on one of these bugs. Bugs that
reach different pairs share a file, and every file is checked once per run, several at a time (the
checks mostly wait on sandboxes).
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest

from mathnn.gradcheck.assignment import RULES
from mathnn.gradcheck.filecheck import check_file, exit_code
from mathnn.gradcheck.homework import PAIRS
from mathnn.gradcheck.update_mistakes import MISTAKES

SEED = 0


def _load_declarations() -> ModuleType:
    """tests/homework_styles/declared.py: data for these tests, kept beside the files it describes."""
    path = Path(__file__).resolve().parent / "homework_styles" / "declared.py"
    spec = importlib.util.spec_from_file_location("homework_styles_declared", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


declared = _load_declarations()
FUNCTIONS = {name: (pair.forward, pair.backward) for name, pair in PAIRS.items()}
BUG_FILES = declared.bug_files(declared.BUGS, FUNCTIONS)
BUGS = {bug.name: bug for bug in declared.BUGS}
FILE_OF = {bug.name: name for name, _, bugs in BUG_FILES for bug in bugs}


def _check_all() -> dict[str, dict]:
    """Every style and every bug file checked once: file name -> check_file's summary."""
    with tempfile.TemporaryDirectory(prefix="mathnn-styles-") as folder:
        jobs = []
        for name in (name for names in declared.STYLES.values() for name in names):
            path = Path(folder) / f"{name}.py"
            path.write_text(declared.read(name), encoding="utf-8")
            jobs.append((path, None))
        for name, source, bugs in BUG_FILES:
            path = Path(folder) / name
            path.write_text(source, encoding="utf-8")
            jobs.append((path, sorted({entry for bug in bugs for entry in bug.verdicts})))
        with ThreadPoolExecutor(max_workers=3) as pool:
            summaries = pool.map(lambda job: check_file(job[0], job[1], seed=SEED), jobs)
            return {path.name: summary for (path, _), summary in zip(jobs, summaries)}


@pytest.fixture(scope="module")
def checked(run_once) -> dict[str, dict]:
    return run_once("homework_styles", _check_all)


def results(summary: dict) -> dict[str, dict]:
    return {result["name"]: result for result in summary["functions"] + summary["updates"]}


# -- the correct styles ------------------------------------------------------------------------------

@pytest.mark.parametrize("style", declared.STYLES)
def test_each_style_passes_every_pair_and_every_update_rule(style, checked):
    summaries = [checked[f"{name}.py"] for name in declared.STYLES[style]]
    assert all(summary["error"] is None and exit_code(summary) == 0 for summary in summaries)
    functions = [result for summary in summaries for result in summary["functions"]]
    updates = [result for summary in summaries for result in summary["updates"]]
    # every pair of the catalogue is there: a pair added to it needs an implementation in every style
    assert sorted(result["name"] for result in functions) == sorted(PAIRS)
    assert sorted(result["name"] for result in updates) == sorted(RULES)
    for result in functions:
        assert result["passed"], result["diagnosis"]
        assert result["in_place"] == [] and result["problems"] == [] and result["warnings"] == []
        assert [gradient["name"] for gradient in result["gradients"]] == list(PAIRS[result["name"]].gradients)
        assert ("float32" in result["precision"]) is (style == "float32")
    for result in updates:
        assert result["passed"] and result["problems"] == [], result["diagnosis"]


def test_the_float32_style_casts_in_every_layer_function_but_the_update_rules():
    source = declared.read("float32")
    assert "    x, w, b = _float32(x, w, b)\n" in source and "    (dout,) = _float32(dout)\n" in source
    assert "def sgd(w, dw, config=None):\n    config = config or {}" in source
    assert source.count("= _float32(") == sum(
        1 for line in declared.read("compact").splitlines()
        if line.startswith("def ") and not line.startswith(("def _", *(f"def {rule}(" for rule in RULES))))


# -- the bugs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(BUGS))
def test_each_bug_fails_what_it_breaks_with_the_right_gradients_named(name, checked):
    bug = BUGS[name]
    found = results(checked[FILE_OF[name]])
    for entry, verdict in bug.verdicts.items():
        result = found[entry]
        if verdict.passed:  # reached by the changed code, and right all the same
            assert result["passed"], result["diagnosis"]
            continue
        assert not result["passed"] and result["error"] is None, (entry, result["diagnosis"])
        for words in verdict.said:
            assert words in result["diagnosis"], (entry, result["diagnosis"])
        if entry in RULES:
            continue
        gradients = {gradient["name"]: gradient["passed"] for gradient in result["gradients"]}
        assert set(gradients) == set(PAIRS[entry].gradients)
        assert {gradient for gradient, passed in gradients.items() if not passed} == verdict.failing, (
            entry, result["diagnosis"])


def test_each_bug_file_checks_exactly_what_its_bugs_reach(checked):
    for name, source, bugs in BUG_FILES:
        summary = checked[name]
        assert summary["error"] is None and exit_code(summary) == 1
        assert set(results(summary)) == {entry for bug in bugs for entry in bug.verdicts}
        reached = [declared.reach(source, bug.functions, FUNCTIONS) for bug in bugs]
        assert all(not first & second for i, first in enumerate(reached) for second in reached[i + 1:])


@pytest.mark.parametrize("name", sorted(BUGS))
def test_each_bug_declares_a_verdict_for_every_pair_its_changes_reach(name):
    bug = BUGS[name]
    assert set(bug.verdicts) == declared.reach(declared.read(bug.base), bug.functions, FUNCTIONS)
    assert any(not verdict.passed for verdict in bug.verdicts.values())  # a bug breaks something
    assert declared.apply(declared.read(bug.base), bug.changes, name) != declared.read(bug.base)


def test_every_pair_and_update_rule_has_a_bug_that_fails_it():
    failed = {entry for bug in declared.BUGS for entry, verdict in bug.verdicts.items() if not verdict.passed}
    assert failed == set(PAIRS) | set(RULES)
    big = ("batchnorm", "layernorm", "rnn", "lstm", "conv", "softmax_loss", "svm_loss")
    counts = {entry: sum(entry in bug.verdicts and not bug.verdicts[entry].passed for bug in declared.BUGS)
              for entry in big}
    assert min(counts.values()) >= 2, counts


def _named_mistakes() -> set[tuple[str, str]]:
    """(pair, sentence) of every mistake the checker says it names: the layer rules' mistakes of the backward
    and the forward pass (a grouped layer's statistics over other groups too, the window layers' mistakes at
    other settings than the notebook's), and the recurrences' slips of backpropagation through time."""
    from mathnn.catalogue import layers, sequences

    claims = {(name, mistake["sentence"]) for name, layer in layers().items()
              for mistake in (*layer.spec["mistakes"], *layer.spec["forward_mistakes"],
                              *(layer.spec["reshape"] or {}).get("regroupings", ()),
                              *layer.spec.get("settings_mistakes", ()))}
    return claims | {(name, slip["sentence"]) for name, sequence in sequences().items()
                     for slip in sequence.spec["slips"]}


def test_every_mistake_the_checker_names_is_named_on_a_bug_here(checked):
    diagnoses: dict[str, list[str]] = {}
    named: dict[str, set[str]] = {}
    for name, _, _ in BUG_FILES:
        for entry, result in results(checked[name]).items():
            diagnoses.setdefault(entry, []).append(result["diagnosis"] or "")
            named.setdefault(entry, set()).add(result.get("mistake"))
    claims = _named_mistakes()
    assert {pair for pair, _ in claims} <= set(PAIRS)
    never = [(pair, sentence) for pair, sentence in sorted(claims)
             if not any(sentence in diagnosis for diagnosis in diagnoses.get(pair, []))]
    assert never == []
    for rule, mistakes in MISTAKES.items():  # the update rules' known mistakes, by name
        assert {mistake.name for mistake in mistakes if not mistake.accepted} <= named[rule], rule


def test_a_declared_change_must_match_one_line_of_its_function():
    with pytest.raises(ValueError, match="occurs 0 times in relu_backward"):
        declared.apply(declared.read("staged"), [("relu_backward", "dx = dout", "dx = 0")], "example")
