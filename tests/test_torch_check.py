"""PyTorch homework: forward-only functions checked against mathnn's kernels, each PyTorch bug named.

One sandbox run checks the whole correct file (module-scoped); the bug files are checked in this
process (torch imported once), through the same worker code the sandbox runs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from mathnn.gradcheck import filecheck
from mathnn.gradcheck.examples import PYTORCH, PYTORCH_EXAMPLES, example_path
from mathnn.gradcheck.runner import check_file, exit_code, format_text
from mathnn.gradcheck.student import in_process
from mathnn.gradcheck.torch_check import MISSING_TORCH, Source, check_torch_pair, torch_pairs
from mathnn.gradcheck.torch_source import graph_breaks, parse, uses_torch


CORRECT = PYTORCH / "rnn_layers_pytorch.py"
ALL = ["temporal_affine", "rnn_step", "rnn", "word_embedding", "temporal_softmax_loss", "lstm_step", "lstm"]


def _check(path: Path, pair: str, seed: int = 5) -> dict[str, Any]:
    """One function of an example file checked in this process (one point: entry by entry)."""
    spec = importlib.util.spec_from_file_location(f"_torch_example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    source = Source(parse(path), path.read_text(), path.name)
    return check_torch_pair(in_process(module), pair, seed, points=1, source=source)


@pytest.fixture(scope="module")
def correct_summary() -> dict[str, Any]:
    """The correct file checked as ``mathnn check`` does: in a sandbox that imports torch."""
    return check_file(CORRECT, seed=11, points=2)


def test_a_pytorch_file_is_recognised_and_every_forward_is_checked_with_autograd(correct_summary):
    assert correct_summary["error"] is None, correct_summary["error"]
    results = {result["name"]: result for result in correct_summary["functions"]}
    assert sorted(results) == sorted(ALL)
    assert all(result["backward_function"] == "autograd" for result in results.values())
    assert exit_code(correct_summary) == 0, format_text(correct_summary)


@pytest.mark.parametrize("name", ALL)
def test_the_correct_file_passes_in_float64_and_float32(correct_summary, name):
    result = next(result for result in correct_summary["functions"] if result["name"] == name)
    assert result["passed"], result["diagnosis"]
    assert len({point["variant"] for point in result["points"]}) == 2  # two shapes
    reference = result["torch"]["reference"]
    assert reference["float64"]["forward"] < 1e-12 and reference["float32"]["forward"] < 1e-5
    for label, mark in (("float64", 1e-12), ("float32", 1e-4)):
        assert all(error < mark for error in reference[label]["gradients"].values()), (label, reference[label])
    assert any("meta device" in probe or "CUDA" in probe for probe in result["torch"]["probes"])


def test_loops_and_in_place_writes_into_the_functions_own_tensors_pass():
    for pair in ("rnn_step", "rnn", "temporal_affine", "word_embedding"):
        result = _check(PYTORCH / "loops.py", pair)
        assert result["passed"], result["diagnosis"]
        assert result["torch"]["bugs"] == []


#: (example, pair, bug, a line the diagnosis names) of every PyTorch bug example.
BUGS = [
    ("graph_detach", "rnn", "graph", "prev_h = next_h.detach()"),
    ("graph_numpy", "rnn_step", "graph", "x.detach().numpy()"),
    ("graph_item", "temporal_softmax_loss", "graph", ".item()"),
    ("graph_no_grad", "word_embedding", "graph", "with torch.no_grad():"),
    ("graph_data", "temporal_affine", "graph", "w.data"),
    ("inplace_saved", "lstm_step", "in-place", "next_h *= o"),
    ("inplace_input", "lstm_step", "in-place", "writes into its input prev_c"),
    ("fresh_tensor", "rnn", "fresh", "requires_grad=True"),
    ("dtype_default", "rnn", "dtype", "h = torch.zeros(N, T, H, device=x.device)"),
    ("device_cpu", "rnn", "device", "h = torch.zeros(N, T, H, dtype=x.dtype)"),
]


def test_every_pytorch_example_is_tested_here():
    assert set(PYTORCH_EXAMPLES) == {example for example, *_ in BUGS} | {CORRECT.stem, "loops"}
    assert example_path("loops") == PYTORCH / "loops.py"


@pytest.mark.parametrize(("example", "pair", "bug", "line"), BUGS)
def test_each_pytorch_bug_fails_and_is_named_with_its_line(example, pair, bug, line):
    result = _check(example_path(example), pair)
    assert not result["passed"]
    assert bug in result["torch"]["bugs"], result["diagnosis"]
    assert line in result["diagnosis"], result["diagnosis"]


def test_a_broken_graph_is_caught_by_behaviour_not_by_the_source_scan():
    """The detach bug fails on its gradients even when no line can be pointed at."""
    path = PYTORCH / "graph_detach.py"
    spec = importlib.util.spec_from_file_location("_torch_detach_unscanned", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = check_torch_pair(in_process(module), "rnn", 5, points=1)  # no source given
    assert not result["passed"] and result["torch"]["bugs"] == ["graph"]
    assert [gradient["name"] for gradient in result["gradients"] if not gradient["passed"]] == [
        "dx", "dh0", "dWx", "dWh", "db"]


def test_the_source_scan_finds_the_lines_of_the_called_functions(tmp_path):
    path = tmp_path / "rnn.py"
    path.write_text("import torch\n\ndef rnn_step_forward(x, h, Wx, Wh, b):\n    return torch.tanh(x @ Wx + h.detach() @ Wh"
                    " + b)\n\ndef rnn_forward(x, h0, Wx, Wh, b):\n    return rnn_step_forward(x[:, 0], h0, Wx, Wh, b)\n")
    tree = parse(path)
    assert uses_torch(tree) and not uses_torch(parse(CORRECT.with_name("nothing.py")))
    [line] = graph_breaks(tree, path.read_text(), path.name, "rnn_forward")
    assert line.where == "rnn.py:4" and ".detach()" in line.what
    assert torch_pairs(["rnn_step_forward", "rnn_forward", "rnn_backward", "temporal_softmax_loss"]) == [
        "rnn_step", "temporal_softmax_loss"]


def test_without_torch_a_pytorch_file_gets_one_line_saying_what_to_install(monkeypatch):
    monkeypatch.setattr(filecheck, "torch_folder", lambda: None)  # as on a Python without torch
    summary = check_file(CORRECT, seed=1)
    assert summary["error"] == MISSING_TORCH
    text = format_text(summary)
    assert len(text.splitlines()) == 1 and "pip install 'mathnn[torch]'" in text
    assert exit_code(summary) == 2
