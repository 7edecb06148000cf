"""Progress on stderr: plain lines when stderr is not a terminal, so no long step is silent.

pytest's captured stderr is not a terminal, which is exactly the case of a pipe or a CI log.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from mathnn import progress as progress_module
from mathnn.cli import main
from mathnn.progress import note, progress, working


@pytest.fixture
def often(monkeypatch):
    """A plain line at every chance instead of every PLAIN_INTERVAL seconds."""
    monkeypatch.setattr(progress_module, "PLAIN_INTERVAL", 0.0)


def test_a_loop_writes_plain_lines_to_stderr_when_it_is_not_a_terminal(often, capsys):
    assert list(progress(range(3), 3, "counting", status=lambda: "busy")) == [0, 1, 2]
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["counting: 1/3", "counting: 2/3", "counting: 3/3"]
    assert all(line.endswith("busy") and "\r" not in line for line in lines)


def test_a_quick_loop_writes_nothing_and_a_disabled_one_never_does(often, capsys, monkeypatch):
    list(progress(range(3), 3, "counting", enabled=False))
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(progress_module, "PLAIN_INTERVAL", 60.0)
    list(progress(range(3), 3, "counting"))
    assert capsys.readouterr().err == ""


def test_a_long_call_is_announced_and_repeated_until_it_ends(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "PLAIN_INTERVAL", 0.05)
    with working("proving something"):
        time.sleep(0.3)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "proving something…"
    assert len(lines) >= 3 and all(line.startswith("proving something…") for line in lines)


def test_a_call_shorter_than_the_delay_says_nothing(capsys):
    with working("reading the cache", delay=5.0):
        pass
    with working("anything", enabled=False):
        time.sleep(0.01)
    note("not shown", enabled=False)
    assert capsys.readouterr().err == ""


def test_vanishing_json_keeps_stdout_clean_and_reports_each_experiment_on_stderr(often, capsys):
    assert main(["vanishing", "--experiment", "time", "--length", "10", "--hidden", "8", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["time"]["length"] == 10
    assert "vanishing: time experiment (1/1)" in captured.err.splitlines()


def test_vanishing_shows_progress_within_an_experiment(often, capsys):
    assert main(["vanishing", "--experiment", "depth", "--activation", "relu", "--hidden", "8", "--json"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "vanishing: depth experiment (1/1)"
    assert [line.split("  ")[0] for line in err[1:]] == ["depth: 1/2", "depth: 2/2"]


def test_verify_json_names_each_rule_on_stderr(capsys):
    assert main(["verify", "--json", "--points", "100", "relu", "sigmoid"]) == 0
    captured = capsys.readouterr()
    assert [r["rule"] for r in json.loads(captured.out)["rules"]] == ["relu", "sigmoid"]
    announced = [line for line in captured.err.splitlines() if not re.search(r"… \d+ s$", line)]  # not heartbeats
    assert announced == ["verifying 1/2: relu…", "verifying 2/2: sigmoid…"]


def test_derive_says_what_it_proves_when_the_cache_is_bypassed(capsys):
    assert main(["derive", "relu", "--no-cache"]) == 0
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert err[0] == "proving relu with SymPy…"
    assert re.match(r"proved relu: (\d+)/\1 claims hold \(\d+\.\d s\)$", err[-1]), err
    assert "proving" not in captured.out
    assert main(["derive", "relu"]) == 0  # now from the cache: nothing to say
    assert capsys.readouterr().err == ""
