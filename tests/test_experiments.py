"""mathnn.experiments as a whole: reproducibility, the report, its JSON, the plots, the command line and the
errors."""

from __future__ import annotations

import argparse
import inspect
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from mathnn.errors import InputError
from mathnn.experiments import (
    add_cli,
    depth_experiment,
    gradient_flow,
    hidden_states,
    init_stack,
    jacobian,
    plot_results,
    recall_batch,
    recall_experiment,
    regression_task,
    report,
    results_to_dict,
    shift_experiment,
    time_experiment,
    tour_table,
)
from mathnn.experiments.run import _FUNCTIONS


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mathnn")
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["vanishing", *argv])
    return args.run(args, parser)


# -- reproducibility, report, JSON, plots, command line -----------------------------------------------

def test_every_experiment_is_reproducible_from_its_seed():
    first, again, other = (time_experiment(length=10, seed=s) for s in (5, 5, 6))
    assert np.array_equal(first.flows[1].norms, again.flows[1].norms)
    assert not np.array_equal(first.flows[1].norms, other.flows[1].norms)
    runs = [recall_experiment(("relu",), distances=(2,), steps=30, seed=s).final_loss for s in (1, 1, 2)]
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])
    stacks = [depth_experiment(("tanh",), batchnorm=True, depth=4, steps=3, seed=s).runs[0].losses for s in (1, 1, 2)]
    assert np.array_equal(stacks[0], stacks[1]) and not np.array_equal(stacks[0], stacks[2])


#: Arguments for every experiment that differ from its defaults and keep it small; sequences as tuples and
#: some numbers as numpy scalars, which the recorded settings must give as plain JSON.
SMALL_CALLS = {
    "time": {"activations": ("tanh", "relu"), "hidden": np.int64(5), "length": 6, "seed": 3, "inputs": 2,
             "init": "orthogonal", "spectral_norm": np.float64(1.5)},
    "depth": {"activations": ("relu",), "batchnorm": (True,), "depth": 3, "width": 4, "steps": 2,
              "learning_rate": 0.01, "batch": np.int32(8), "seed": 3, "init": "he"},
    "recall": {"activations": ("tanh",), "distances": (1, np.int64(2)), "length": 5, "hidden": 4, "steps": 2,
               "batch": 3, "learning_rate": 0.2, "classes": 3, "distractors": 2, "test_count": 5, "seed": 3},
    "shift": {"activation": "tanh", "depth": 3, "width": 4, "steps": 3, "learning_rate": 0.01, "batch": 8,
              "noise": 0.5, "probes": 2, "seed": 3},
    "lag": {"cells": ("tanh", "gru"), "max_lag": 3, "hidden": 4, "inputs": 2, "sequences": 2, "seeds": 2, "seed": 3,
            "clip_lengths": (2, 3), "learning_rate": 0.2, "threshold": 0.5},
    "remember": {"cells": ("irnn",), "distances": (2,), "hidden": 4, "steps": 2, "batch": 3, "learning_rate": 0.2,
                 "clip": 0.5, "noise": 0.5, "test_count": 5, "seeds": 2, "seed": 3},
}


def test_every_result_records_every_setting_it_ran_with_and_reruns_from_its_json():
    for name, function in _FUNCTIONS.items():
        arguments = SMALL_CALLS[name]
        parameters = inspect.signature(function).parameters
        assert sorted(arguments) == sorted(key for key in parameters if key != "show_progress"), name
        assert all(not np.array_equal(value, parameters[key].default) for key, value in arguments.items()), name
        expected = json.loads(json.dumps(arguments, default=lambda value: value.item()))
        data = json.loads(json.dumps(function(**arguments).to_dict(), allow_nan=False))
        # every setting at the top level, where the figures sit (a figure of the same name comes first: the
        # seeds actually used, seed … seed + seeds − 1), and all of them, exactly as called, under "settings"
        used = {**expected, **({"seeds": list(range(3, 3 + expected["seeds"]))} if "seeds" in expected else {})}
        assert {key: data.get(key, "(not recorded)") for key in expected} == used, name
        assert data["settings"] == expected, name
        again = function(**data["settings"]).to_dict()
        assert json.loads(json.dumps({**again, "seconds": None})) == {**data, "seconds": None}, name


def test_a_recorded_setting_left_to_its_default_is_the_value_it_resolved_to():
    assert time_experiment(length=2, hidden=2).to_dict()["activations"] == ["sigmoid", "tanh", "relu", "leaky_relu"]
    recall = recall_experiment(("tanh",), distances=(1, 3), hidden=2, steps=1, test_count=2).to_dict()
    assert recall["length"] == recall["settings"]["length"] == 3 + 1 + 4
    depth = depth_experiment(("tanh",), batchnorm=True, depth=2, width=2, steps=1, batch=2).to_dict()
    assert depth["batchnorm"] == [True] and depth["settings"]["activations"] == ["tanh"]


NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]\d+)?(?![\w.])")


def _json_leaves(data: object, numbers: list[float], texts: list[str]) -> None:
    if isinstance(data, dict):
        for value in data.values():
            _json_leaves(value, numbers, texts)
    elif isinstance(data, list):
        for value in data:
            _json_leaves(value, numbers, texts)
    elif isinstance(data, str):
        texts.append(data)
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        numbers.append(float(data))


def _tolerance(token: str) -> float:
    """Half a unit in the last printed digit (relative 0.5% for bare integers, which %.3g can print)."""
    mantissa, _, exponent = token.partition("e")
    decimals = len(mantissa.partition(".")[2])
    if not exponent and not decimals:
        return 0.005 * abs(float(token))
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals) * (1 + 1e-9)


def assert_printed_figures_are_in_json(text: str, data: object) -> int:
    numbers, texts = [], []
    _json_leaves(data, numbers, texts)
    values = np.array(numbers)
    prose = "\n".join(texts)
    checked = 0
    for token in NUMBER.findall(text):
        printed = float(token)
        found = np.any(np.abs(values - printed) <= _tolerance(token)) or token in prose
        assert found, f"printed figure {token} is not in the JSON"
        checked += 1
    return checked


@pytest.fixture(scope="module")
def small_results():
    return {
        "time": time_experiment(length=12, hidden=8),
        "depth": depth_experiment(("sigmoid", "relu"), depth=4, width=8, steps=3),
        "recall": recall_experiment(("tanh", "relu"), distances=(1, 3), hidden=8, steps=10, test_count=50),
        "shift": [shift_experiment("sigmoid", depth=4, width=8, steps=3, probes=1)],
    }


def test_report_prints_only_figures_that_the_json_carries(small_results):
    text = report(small_results)
    data = json.loads(json.dumps(results_to_dict(small_results), allow_nan=False))
    assert assert_printed_figures_are_in_json(text, data) > 150
    assert "sigmoid ‖∂h_T/∂h_t‖" in text and "relu+bn" in text and "leaky_relu+bn" not in text
    assert "sigmoid+bn+noise" in text
    assert data["depth"]["runs"][0]["ratio_first_last_init"] == small_results["depth"].runs[0].ratio_init
    assert data["recall"]["accuracy"]["tanh"] == small_results["recall"].accuracy[0].tolist()
    assert "Santurkar" in data["shift"][0]["current_understanding"] and "Santurkar" in text


def test_cli_json_carries_every_printed_figure(capsys):
    assert cli("--experiment", "time", "--length", "30", "--hidden", "12", "--activation", "sigmoid", "--activation", "relu") == 0
    text = capsys.readouterr().out
    assert cli("--experiment", "time", "--length", "30", "--hidden", "12", "--activation", "sigmoid", "--activation", "relu", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [flow["activation"] for flow in data["time"]["flows"]] == ["sigmoid", "relu"]
    assert data["time"]["hidden"] == 12 and len(data["time"]["flows"][0]["norms"]) == 30
    timing = re.compile(r"^\(\d+\.\d s\)$")  # wall time differs between the two runs
    printed = "\n".join(line for line in text.splitlines() if not timing.match(line))
    assert assert_printed_figures_are_in_json(printed, data) > 30
    for distance in (1, 2, 5, 10, 20, 30):
        assert re.search(rf"^\s*{distance}\s", printed, re.MULTILINE)


def test_plots_are_written_as_png_and_svg(small_results, tmp_path):
    paths = plot_results(small_results, tmp_path / "figures")
    assert sorted(path.name for path in paths) == sorted(
        f"vanishing_{name}.{ext}" for name in ("time", "depth", "recall", "shift", "shift_gradient")
        for ext in ("png", "svg")
    )
    for path in paths:
        content = path.read_bytes()
        assert len(content) > 5000
        assert content.startswith(b"\x89PNG") if path.suffix == ".png" else b"<svg" in content
        if path.suffix == ".png":  # as wide as a page's text column, so it is shown at about its own size
            assert 700 <= int.from_bytes(content[16:20], "big") <= 800, path
    with pytest.raises(InputError, match="plot: expected a directory"):
        plot_results(small_results, paths[0])


def test_cli_plot_option_writes_files(tmp_path, capsys):
    assert cli("--experiment", "time", "--length", "10", "--plot", str(tmp_path), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(data["plots"]) == sorted(str(tmp_path / f"vanishing_time.{ext}") for ext in ("png", "svg"))
    assert all((tmp_path / f"vanishing_time.{ext}").stat().st_size > 5000 for ext in ("png", "svg"))


def test_tour_table_is_the_short_distance_norm_bound_table():
    table = tour_table()
    flows = {flow.activation: flow for flow in time_experiment(("sigmoid", "tanh", "relu"), length=20).flows}
    lines = table.splitlines()
    assert "γ = sup|f′| as proven: sigmoid 0.25, tanh 1, relu 1" in lines[0]
    assert lines[1].split()[:3] == ["T−t", "sigmoid", "‖∂h_T/∂h_t‖"]
    row_20 = next(line.split() for line in lines if line.split()[0] == "20")
    assert lines[1].split()[-4:] == ["bound", "γ=0.25", "bound", "γ=1"] and lines[1].count("bound") == 2  # tanh and relu share γ = 1
    assert row_20[1:] == [f"{flow.norm_at(20):.2e}" for flow in flows.values()] + [
        f"{flows[name].bounds[19]:.2e}" for name in ("sigmoid", "tanh")]
    assert flows["tanh"].bounds[19] == flows["relu"].bounds[19]
    assert len(lines) == 3 + 5  # header, column names, rule, distances 1, 2, 5, 10, 20


# -- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gradient_flow(np.ones((3, 4)), np.ones((5, 3))),
         r"W_hh: expected a square matrix of shape \(n, n\), n ≥ 1; received shape \(3, 4\)"),
        (lambda: gradient_flow(np.eye(3), np.ones((5, 3)), activation="sigmod"),
         r"activation: expected one of 'sigmoid', 'tanh', 'relu', 'leaky_relu'; received str 'sigmod'"),
        (lambda: gradient_flow(np.eye(3), np.ones((5, 2))),
         r"pre_activations: expected shape \(any, 3\) \(a_1 … a_T, one row of n = 3 per step\); received shape \(5, 2\)"),
        (lambda: gradient_flow(np.eye(3), hidden_states(1e300 * np.eye(3), np.ones((5, 1)), np.ones((3, 1)),
                                                        np.zeros(3), "relu")[0], "relu"),
         r"pre_activations: expected finite values \(a_1 … a_T of a run\); received an array with NaN or inf "
         r"\(the forward pass overflowed: scale W_hh down\)"),
        (lambda: hidden_states(np.eye(3), np.ones((5, 2)), np.ones((2, 3)), np.zeros(3)),
         r"W_xh: expected shape \(3, 2\) \(n = 3 hidden units by d = 2 inputs\); received shape \(2, 3\)"),
        (lambda: hidden_states(np.eye(3), np.ones((5, 2)), np.ones((3, 2)), np.zeros(3), h0=[np.nan, 0, 0]),
         r"h0: expected finite values"),
        (lambda: time_experiment(length=5).flows[0].norm_at(-1),
         r"distance: expected an integer in \[1, 5\] \(T − t, between 1 and T = 5\); received -1"),
        (lambda: jacobian(np.eye(2), np.ones((4, 2)), t=4),
         r"t: expected an integer in \[0, 3\]"),
        (lambda: recall_batch(4, 8, 8, np.random.default_rng(0)),
         r"k: expected an integer in \[0, 7\] \(the distance from the signal to the end, 0 ≤ k ≤ T − 1 = 7\); received 8"),
        (lambda: recall_experiment(distances=(2, 10), length=8),
         r"distances: expected every k ≤ length − 1 = 7 .*; received k = 10"),
        (lambda: recall_experiment(distances=(-1,)),
         r"distances: expected an integer ≥ 0 \(each k is a distance ≥ 0 from the signal to the end\); received -1"),
        (lambda: time_experiment(hidden=0), r"hidden: expected an integer ≥ 1 \(the number of hidden units n\); received 0"),
        (lambda: time_experiment(seed=-3), r"seed: expected an integer ≥ 0 \(the seed of the random numbers\); received -3"),
        (lambda: time_experiment(length=2.5), r"length: expected an integer \(the sequence length T\); received float 2.5"),
        (lambda: depth_experiment(["tanh", "softmax"]), r"activations: expected names from .*; received str 'softmax'"),
        (lambda: depth_experiment(learning_rate=0), r"learning_rate: expected a finite real number > 0"),
        (lambda: shift_experiment(noise=3), r"noise: expected a number in \[0, 2\)"),
        (lambda: shift_experiment(depth=2), r"depth: expected an integer ≥ 3"),
        (lambda: init_stack("relu", batchnorm="yes"), r"batchnorm: expected True or False; received str 'yes'"),
        (lambda: regression_task(count=1), r"batch: expected an integer ≥ 2"),
    ],
)
def test_bad_input_is_one_input_error_naming_the_argument(call, message):
    with pytest.raises(InputError, match=message) as caught:
        call()
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)


def test_cli_bad_input_is_one_message_and_exit_code_2(capsys):
    assert cli("--activation", "sigmod", "--experiment", "time") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        "mathnn vanishing: error: activations: expected names from 'sigmoid', 'tanh', 'relu', 'leaky_relu'; "
        "received str 'sigmod'"
    )
    assert cli("--hidden", "0", "--experiment", "time") == 2
    assert "hidden: expected an integer ≥ 1" in capsys.readouterr().err
    assert cli("--length", "-4", "--experiment", "time") == 2
    assert "length: expected an integer ≥ 1 (the sequence length T); received -4" in capsys.readouterr().err


def test_import_stays_numpy_only():
    code = "import sys, mathnn.experiments; print('sympy' in sys.modules, 'matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_sequence_kernels_the_experiments_call_agree_with_the_tanh_rnn_layer():
    from mathnn.kernels.rnn import rnn_sequence_backward, rnn_sequence_forward
    from mathnn.layers import rnn_backward, rnn_forward

    rng = np.random.default_rng(6)
    x, h0 = rng.standard_normal((3, 5, 4)), rng.standard_normal((3, 6))
    Wx, Wh, b = rng.standard_normal((4, 6)), 0.5 * rng.standard_normal((6, 6)), rng.standard_normal(6)
    dh = rng.standard_normal((3, 5, 6))
    h, a = rnn_sequence_forward(x, h0, Wx, Wh, b)
    expected_h, cache = rnn_forward(x, h0, Wx, Wh, b)
    assert np.allclose(h, expected_h, rtol=0, atol=1e-14) and np.allclose(np.tanh(a), h, rtol=0, atol=1e-15)
    for got, expected in zip(rnn_sequence_backward(dh, x, h0, h, a, Wx, Wh), rnn_backward(dh, cache)):
        assert got.shape == expected.shape and np.allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_plot_without_matplotlib_stops_before_any_experiment(monkeypatch, capsys, tmp_path):
    import mathnn.experiments.cli as vanishing

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import matplotlib` meets when it is not installed

    def must_not_run(*args, **kwargs):
        raise AssertionError("the experiments ran although the figures cannot be drawn")

    monkeypatch.setattr(vanishing, "run_experiments", must_not_run)
    assert cli("--plot", str(tmp_path)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("mathnn vanishing: error: --plot needs matplotlib; "
                            "install it with: pip install 'mathnn[plot]'\n")
    assert list(tmp_path.iterdir()) == []
