"""The mathnn command: derive, verify, tour, and clear errors on misuse."""

import json
import subprocess
import sys

import pytest

from mathnn.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mathnn", *args], capture_output=True, text=True)


@pytest.mark.slow
def test_verify_proves_and_checks_all_four_activations():
    result = run("verify")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("sigmoid", "tanh", "relu", "leaky_relu"):
        line = next(line for line in result.stdout.splitlines() if line.startswith(name + " "))
        assert "proven" in line and line.rstrip().endswith("ok")
    assert "all rules proven and checked" in result.stdout


def test_verify_json_carries_every_figure(capsys):
    assert main(["verify", "--json", "--points", "200", "relu", "sigmoid"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is True
    assert [r["rule"] for r in data["rules"]] == ["relu", "sigmoid"]
    sigmoid = data["rules"][1]["kernels"][0]
    assert sigmoid["points"] == 200
    assert 0 <= sigmoid["max_rel_error_complex_step"] <= 1e-13
    assert 0 < sigmoid["max_rel_error_central"] <= 1e-8


def test_derive_sigmoid_shows_the_chain_rule_steps(capsys):
    assert main(["derive", "sigmoid"]) == 0
    out = capsys.readouterr().out
    assert "u = exp(-x)" in out
    assert "∂u/∂x = -u" in out
    assert "∂σ/∂u = -1/(u + 1)**2" in out
    assert "∂σ/∂x = ∂σ/∂u·∂u/∂x = u/(u + 1)**2" in out
    assert "∂σ/∂x = σ*(1 - σ)" in out
    assert "Proof (all claims hold" in out


def test_derive_latex(capsys):
    assert main(["derive", "tanh", "--latex"]) == 0
    out = capsys.readouterr().out
    assert "\\frac{\\partial t}{\\partial x} = 1 - t^{2}" in out
    assert out.count("$$") % 2 == 0


def test_unknown_rule_is_one_clear_message_without_traceback():
    result = run("derive", "sigmod")
    assert result.returncode == 2
    assert "unknown rule 'sigmod'; known rules: affine, svm, sigmoid, tanh, relu, leaky_relu" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("verify", "relu", "softmax")
    assert result.returncode == 2 and "unknown rule 'softmax'" in result.stderr


def test_bad_points_and_no_command():
    result = run("verify", "--points", "0")
    assert result.returncode == 2 and "--points: expected a positive integer; received 0" in result.stderr
    result = run("verify", "--points", "many")
    assert result.returncode == 2 and "invalid int value: 'many'" in result.stderr
    result = run()
    assert result.returncode == 2 and "derive NAME" in result.stdout


def test_help_explains_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("derive", "verify", "tour"):
        assert command in result.stdout


@pytest.mark.slow
def test_tour_runs_verify_over_everything():
    result = run("tour", "--no-docs")  # the site is built and checked by tests/test_docs.py
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "mathnn derive sigmoid" in out
    assert "all rules proven and checked" in out
    assert "unigram baseline" in out and "I/pronoun work/verb at/preposition google/noun" in out
    assert "(γ·λ₁)^(T−t)" in out and "sigmoid" in out
    assert "your dx matches the gradient without the path x → μ → x̂" in out
    assert "7. The documentation" not in out
