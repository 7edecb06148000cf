"""The mathnn command: derive, verify, tour, and clear errors on misuse."""

import json
import subprocess
import sys

import pytest

from mathnn.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mathnn", *args], capture_output=True, text=True)


def run_here(capsys, *args: str) -> subprocess.CompletedProcess:
    """``mathnn ARGS`` in this process (``main``, as ``python -m mathnn`` calls it): its exit status and output.

    For the commands that stop at their arguments, where starting Python and SymPy again would cost
    more than the check; ``run`` keeps the real entry point covered.
    """
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as stop:  # argparse's errors, and `main` stopping with a status
        code = stop.code if isinstance(stop.code, int) else 1
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["mathnn", *args], code, out, err)


@pytest.mark.slow
def test_verify_json_carries_every_figure(capsys):
    assert main(["verify", "--json", "--points", "200", "relu", "sigmoid"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["passed"] is True
    assert [r["rule"] for r in data["rules"]] == ["relu", "sigmoid"]
    sigmoid = data["rules"][1]["kernels"][0]
    assert "σ" in out and "\\u03c3" not in out  # written as UTF-8, not as \u escapes
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


def test_derive_proof_is_one_line_per_claim_and_verbose_adds_the_methods(capsys):
    assert main(["derive", "tanh"]) == 0
    out = capsys.readouterr().out
    proof = out[out.index("Proof (all claims hold"):]
    assert "  ✓ ∂t/∂x = 1 - t**2" in proof
    assert "ok:" not in proof and "atoms (tanh" in proof
    assert max(len(line) for line in proof.splitlines()) <= 100
    assert main(["derive", "tanh", "--verbose"]) == 0
    verbose = capsys.readouterr().out
    assert "method: 2 atoms (tanh, σ, exp, log, H, f) as independent symbols" in verbose


def test_derive_latex(capsys):
    assert main(["derive", "tanh", "--latex"]) == 0
    out = capsys.readouterr().out
    assert "\\frac{\\partial t}{\\partial x} = 1 - t^{2}" in out
    assert out.count("$$") % 2 == 0


def test_unknown_rule_is_one_clear_message_without_traceback(capsys):
    result = run_here(capsys, "derive", "sigmod")
    assert result.returncode == 2
    assert "unknown rule 'sigmod' (did you mean 'sigmoid'?); known rules: affine, svm, sigmoid, tanh, relu" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_here(capsys, "verify", "relu", "softmax")
    assert result.returncode == 2 and "unknown rule 'softmax' (did you mean 'softmax_ce'?)" in result.stderr
    result = run_here(capsys, "verify", "xyzzy")  # nothing close: no guess, still every known rule
    assert result.returncode == 2 and "unknown rule 'xyzzy'; known rules: " in result.stderr
    assert len([line for line in result.stderr.splitlines() if "error" in line]) == 1


@pytest.mark.parametrize("command", ["derive", "verify"])
def test_help_lists_every_rule_by_topic(command, capsys):
    from mathnn.rules import RULES, TOPICS

    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    listed = out[out.index("rules (NAME), by topic:"):].splitlines()[1:]
    assert sorted(name.strip() for line in listed for name in line.split(":", 1)[1].split(",")) == sorted(RULES)
    assert [line.split(":")[0].strip() for line in listed] == [
        topic for topic, module in TOPICS.items() if module.RULES]


def test_bad_points_and_no_command(capsys):
    result = run_here(capsys, "verify", "--points", "0")
    assert result.returncode == 2 and "--points: expected a positive integer; received 0" in result.stderr
    result = run_here(capsys, "verify", "--points", "many")
    assert result.returncode == 2 and "invalid int value: 'many'" in result.stderr
    result = run_here(capsys)
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
    # the tour's mathnn verify proves and checks every rule, the four activations among them
    for name in ("sigmoid", "tanh", "relu", "leaky_relu"):
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert "proven" in line and line.rstrip().endswith("ok"), line
    assert "all rules proven and checked" in out
    assert "unigram baseline" in out and "I/pronoun work/verb at/preposition google/noun" in out
    assert "(γ·λ₁)^(T−t)" in out and "sigmoid" in out
    assert "your dx matches the gradient without the path x → μ → x̂" in out
    assert "7. The documentation" not in out


def test_verify_says_what_its_points_count(capsys):
    assert main(["verify", "--points", "200", "sigmoid", "relu", "softmax_ce"]) == 0
    out = capsys.readouterr().out
    assert "an element-wise kernel at 200 random points (and beside each kink)" in out
    assert "'points checked' counts every input entry compared" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()[:1] in (["sigmoid"], ["relu"], ["softmax_ce"])}
    assert rows["sigmoid"][5] == "200"  # 200 random points, no kink
    assert int(rows["relu"][5]) > 200  # and the points beside its kink
    assert rows["softmax_ce"][5] != "200"  # random batches: the entries of their scores
