"""mathnn.experiments: exact Jacobian products against finite differences and the bound, the depth,
recall and covariate-shift experiments on fixed seeds, the report, its JSON, the plots and the errors."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from mathnn.errors import InputError
from mathnn.gradcheck import numerical_vjp
from mathnn.kernels import leaky_relu as leaky_relu_kernels
from mathnn.kernels import relu as relu_kernels
from mathnn.kernels import sigmoid as sigmoid_kernels
from mathnn.kernels import tanh as tanh_kernels
from mathnn.kernels.rnn import rnn_step_forward
from mathnn.experiments import (
    ACTIVATIONS,
    BOUND_GENERAL,
    Stack,
    activation_kernels,
    add_cli,
    depth_experiment,
    gradient_flow,
    hidden_states,
    init_stack,
    jacobian,
    plot_results,
    random_recurrence,
    recall_batch,
    recall_experiment,
    regression_task,
    report,
    results_to_dict,
    shift_experiment,
    time_experiment,
    tour_table,
)

GRAD_SUP = {
    "sigmoid": sigmoid_kernels.sigmoid_grad_sup,
    "tanh": tanh_kernels.tanh_grad_sup,
    "relu": relu_kernels.relu_grad_sup,
    "leaky_relu": leaky_relu_kernels.leaky_relu_grad_sup,
}


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mathnn")
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["vanishing", *argv])
    return args.run(args, parser)


# -- 1. through time ----------------------------------------------------------------------------------

def test_gamma_is_the_proven_value_from_the_generated_kernels():
    for name in ACTIVATIONS:
        assert activation_kernels(name).gamma == GRAD_SUP[name]()
    assert [activation_kernels(name).gamma for name in ACTIVATIONS] == [0.25, 1.0, 1.0, 1.0]
    assert activation_kernels("leaky_relu", alpha=3.0).gamma == leaky_relu_kernels.leaky_relu_grad_sup(3.0) == 3.0
    experiment = time_experiment(steps=5)
    assert {flow.activation: flow.gamma for flow in experiment.flows} == {n: GRAD_SUP[n]() for n in ACTIVATIONS}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("init", "spectral_norm"), [("gaussian", None), ("orthogonal", 1.5), ("gaussian", 0.8), ("identity", None)])
def test_measured_norm_never_exceeds_the_bound(seed, init, spectral_norm):
    experiment = time_experiment(steps=40, hidden=16, seed=seed, init=init, spectral_norm=spectral_norm)
    for flow in experiment.flows:
        assert np.all(np.isfinite(flow.norms))
        # ‖J‖ ≤ Π‖D_k W‖ ≤ (γλ₁)^d, each up to rounding
        assert np.all(flow.norms <= flow.step_bounds * (1 + 1e-10)), flow.activation
        assert np.all(flow.step_bounds <= flow.bounds * (1 + 1e-10)), flow.activation
        assert flow.bounds[0] == pytest.approx(flow.gamma * flow.lambda1, rel=1e-12)


def test_sigmoid_gradient_vanishes_by_orders_of_magnitude():
    for spectral_norm in (1.0, 1.5, 2.0):
        (flow,) = time_experiment(["sigmoid"], hidden=32, steps=20, spectral_norm=spectral_norm).flows
        assert flow.lambda1 == pytest.approx(spectral_norm)
        assert flow.norm_at(20) <= 1e-3 * flow.norm_at(1)
        assert flow.rate < 1 and "provably vanishes" in flow.meaning
    # the default recurrence (λ₁ ≈ 1.8): ten orders of magnitude by distance 20
    (flow,) = time_experiment(["sigmoid"]).flows
    assert 1.5 < flow.lambda1 < 2 and flow.norm_at(20) < 1e-10 * flow.norm_at(1)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_jacobian_product_equals_finite_differences_of_the_recurrence(name):
    W_hh, x, W_xh, b = random_recurrence(hidden=5, steps=7, inputs=3, seed=1, spectral_norm=1.3)
    b = b + 0.1
    t = 2
    _, states = hidden_states(W_hh, x, W_xh, b, name)
    exact = jacobian(W_hh, x, W_xh, b, t, name)

    def last_state(h_t: np.ndarray) -> np.ndarray:
        return hidden_states(W_hh, x[t:], W_xh, b, name, h0=h_t)[1][-1]

    assert np.allclose(last_state(states[t]), states[-1], rtol=0, atol=1e-14)
    numeric = np.array([numerical_vjp(last_state, states[t], dout=np.eye(5)[i]) for i in range(5)])
    assert np.max(np.abs(exact - numeric)) <= 1e-6 * max(1.0, np.max(np.abs(exact)))
    # gradient_flow's renormalized running product gives the same norms as the plain product
    flow = gradient_flow(W_hh, x, W_xh, b, name)
    for earlier in range(7):
        expected = np.linalg.norm(jacobian(W_hh, x, W_xh, b, earlier, name), 2)
        assert flow.norm_at(7 - earlier) == pytest.approx(expected, rel=1e-10, abs=1e-300)


def test_tanh_recurrence_is_the_generated_rnn_step():
    W_hh, x, W_xh, b = random_recurrence(hidden=6, steps=4, inputs=3, seed=2)
    pre_activations, states = hidden_states(W_hh, x, W_xh, b, "tanh")
    for k in range(4):
        row = rnn_step_forward(x[k][None], states[k][None], W_xh.T, W_hh.T, b)  # CS231n row form
        assert np.allclose(row[0], states[k + 1], rtol=0, atol=1e-15)
    assert np.allclose(np.tanh(pre_activations), states[1:])


def test_long_products_neither_underflow_nor_lose_the_logarithm():
    (flow,) = time_experiment(["sigmoid"], steps=1000, hidden=8).flows
    assert flow.norms[-1] == 0.0  # below float64's range …
    assert np.all(np.isfinite(flow.log10_norms))  # … but the logarithm is exact
    slope = (flow.log10_norms[-1] - flow.log10_norms[499]) / 500
    assert -2.0 < slope < np.log10(flow.rate)
    assert flow.to_dict()["norms"][-1] == 0.0 and flow.to_dict()["log10_norms"][-1] < -500


def test_bound_meaning_says_sufficient_for_vanishing_and_only_necessary_for_exploding():
    assert "λ₁ < 1/γ is sufficient for vanishing" in BOUND_GENERAL
    assert "λ₁ > 1/γ is only necessary for exploding" in BOUND_GENERAL
    flows = {flow.activation: flow for flow in time_experiment(steps=10).flows}
    assert "1/γ = 4" in flows["sigmoid"].meaning and "provably vanishes" in flows["sigmoid"].meaning
    assert flows["tanh"].rate > 1 and "proves nothing" in flows["tanh"].meaning
    # relu with the identity (IRNN): all units stay on, the gradient neither vanishes nor grows
    (flow,) = time_experiment(["relu"], init="identity", steps=30).flows
    assert np.allclose(flow.norms, 1.0)


# -- 2. through depth ---------------------------------------------------------------------------------

def test_first_to_last_layer_ratio_sigmoid_vanishes_remedies_do_not():
    experiment = depth_experiment(("sigmoid", "relu", "leaky_relu"), batchnorm=(False, True), steps=20)
    ratios = {run.variant: run.ratio_init for run in experiment.runs}
    assert ratios["sigmoid"] < 1e-11  # 19 factors of σ′ ≤ 1/4
    for remedy in ("relu", "leaky_relu", "sigmoid+bn"):
        assert ratios[remedy] > 0.1
        assert ratios["sigmoid"] < 1e-9 * ratios[remedy]
    plain, normalized = experiment.run("sigmoid"), experiment.run("sigmoid+bn")
    # the plain sigmoid stack's first layer does not move; with batch norm it learns and the loss falls
    assert plain.first_layer_change < 1e-10
    assert normalized.first_layer_change > 1e-2
    assert normalized.losses[-1] < 0.5 * plain.losses[-1]
    assert np.all(np.diff(np.log(plain.grad_norms_init)) > 0)  # growing layer by layer towards the output


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("normalized", [False, True])
def test_stack_backpropagation_matches_finite_differences(name, normalized):
    stack = init_stack(name, normalized, depth=3, width=5, inputs=3, outputs=2, seed=3)
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    noise = [(rng.uniform(0.5, 1.5, 5), rng.uniform(-1, 1, 5)) for _ in range(2)] if normalized else None
    for key in stack.params:  # move off the symmetric start (γ = 1, β = 0, b = 0)
        stack.params[key] = stack.params[key] + 0.3 * rng.standard_normal(stack.params[key].shape)
    grads = stack.loss_and_gradients(x, y, noise).grads
    assert set(grads) == set(stack.params)
    for key, value in stack.params.items():
        def loss(p: np.ndarray, key: str = key) -> np.ndarray:
            return np.asarray(Stack(name, normalized, {**stack.params, key: p}).loss_and_gradients(x, y, noise).loss)

        numeric = numerical_vjp(loss, value)
        assert np.linalg.norm(grads[key] - numeric) <= 1e-7 * max(np.linalg.norm(numeric), 1e-3), key


# -- 3. long-distance recall --------------------------------------------------------------------------

def test_recall_batch_puts_the_signal_k_steps_before_the_end():
    tokens, targets = recall_batch(50, 10, 3, np.random.default_rng(0), classes=4, distractors=5)
    assert tokens.shape == (50, 10) and np.array_equal(tokens[:, 6], targets)
    others = np.delete(tokens, 6, axis=1)
    assert others.min() >= 4 and others.max() <= 8 and set(targets) <= {0, 1, 2, 3}


def test_tanh_rnn_recall_falls_to_chance_with_distance():
    experiment = recall_experiment(("tanh",), distances=(1, 16))
    near, far = experiment.accuracy[0]
    assert experiment.chance == 0.25 and experiment.length == 21
    assert near > 0.9  # recalled
    assert far < 0.35  # chance: 0.25 ± 0.02 on 500 test sequences
    assert experiment.final_loss[0, 0] < 0.1
    assert experiment.final_loss[0, 1] > 1.3  # log 4 ≈ 1.39: guessing


# -- 4. internal covariate shift ----------------------------------------------------------------------

def test_batch_norm_removes_drift_of_what_f_sees_but_not_gradient_shift():
    experiment = shift_experiment("tanh", probes=2)
    plain, normalized, noisy = experiment.runs
    assert [run.variant for run in experiment.runs] == ["tanh", "tanh+bn", "tanh+bn+noise"]
    for run in experiment.runs:
        for name in ("drift_mean_z", "drift_std_z", "drift_mean_u", "drift_std_u", "gradient_shift", "gradient_cosine"):
            assert np.all(np.isfinite(getattr(run, name))), (run.variant, name)
        assert run.drift_mean_u.shape == (19,) and run.gradient_shift.shape == (18,)
    mean = lambda run, name: float(np.mean(getattr(run, name)))
    # without batch norm u = z; with it, what f sees drifts ~20× less than z before it …
    assert np.array_equal(plain.drift_mean_u, plain.drift_mean_z)
    assert mean(normalized, "drift_mean_u") < 0.1 * mean(normalized, "drift_mean_z")
    # … and ~100× less than f's input in the plain stack (on this seed)
    assert mean(normalized, "drift_mean_u") < 0.02 * mean(plain, "drift_mean_u")
    # Santurkar et al.'s gradient-based shift is not reduced by batch norm here
    assert mean(normalized, "gradient_shift") > mean(plain, "gradient_shift")
    # injected noise makes f's inputs drift more than without batch norm, and the stack still trains better
    assert mean(noisy, "drift_mean_u") > 5 * mean(plain, "drift_mean_u")
    assert noisy.losses[-1] < 0.5 * plain.losses[-1]
    assert normalized.losses[-1] < noisy.losses[-1]
    assert "not lower with it" in experiment.measured


# -- reproducibility, report, JSON, plots, command line -----------------------------------------------

def test_every_experiment_is_reproducible_from_its_seed():
    first, again, other = (time_experiment(steps=10, seed=s) for s in (5, 5, 6))
    assert np.array_equal(first.flows[1].norms, again.flows[1].norms)
    assert not np.array_equal(first.flows[1].norms, other.flows[1].norms)
    runs = [recall_experiment(("relu",), distances=(2,), iterations=30, seed=s).final_loss for s in (1, 1, 2)]
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])
    stacks = [depth_experiment(("tanh",), batchnorm=True, depth=4, steps=3, seed=s).runs[0].losses for s in (1, 1, 2)]
    assert np.array_equal(stacks[0], stacks[1]) and not np.array_equal(stacks[0], stacks[2])


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
        "time": time_experiment(steps=12, hidden=8),
        "depth": depth_experiment(("sigmoid", "relu"), depth=4, width=8, steps=3),
        "recall": recall_experiment(("tanh", "relu"), distances=(1, 3), hidden=8, iterations=10, test_count=50),
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
    assert cli("--experiment", "time", "--steps", "30", "--hidden", "12", "--activation", "sigmoid", "--activation", "relu") == 0
    text = capsys.readouterr().out
    assert cli("--experiment", "time", "--steps", "30", "--hidden", "12", "--activation", "sigmoid", "--activation", "relu", "--json") == 0
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
        f"vanishing_{name}.{ext}" for name in ("time", "depth", "recall", "shift") for ext in ("png", "svg")
    )
    for path in paths:
        content = path.read_bytes()
        assert len(content) > 5000
        assert content.startswith(b"\x89PNG") if path.suffix == ".png" else b"<svg" in content
    with pytest.raises(InputError, match="plot: expected a directory"):
        plot_results(small_results, paths[0])


def test_cli_plot_option_writes_files(tmp_path, capsys):
    assert cli("--experiment", "time", "--steps", "10", "--plot", str(tmp_path), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(data["plots"]) == sorted(str(tmp_path / f"vanishing_time.{ext}") for ext in ("png", "svg"))
    assert all((tmp_path / f"vanishing_time.{ext}").stat().st_size > 5000 for ext in ("png", "svg"))


def test_tour_table_is_the_short_distance_norm_bound_table():
    table = tour_table()
    flows = {flow.activation: flow for flow in time_experiment(("sigmoid", "tanh", "relu"), steps=20).flows}
    lines = table.splitlines()
    assert "γ = sup|f′| as proven: sigmoid 0.25, tanh 1, relu 1" in lines[0]
    assert lines[1].split()[:3] == ["T−t", "sigmoid", "‖∂h_T/∂h_t‖"]
    row_20 = next(line.split() for line in lines if line.split()[0] == "20")
    assert row_20[1:] == [f"{value:.2e}" for flow in flows.values() for value in (flow.norm_at(20), flow.bounds[19])]
    assert len(lines) == 3 + 5  # header, column names, rule, distances 1, 2, 5, 10, 20


# -- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gradient_flow(np.ones((3, 4)), np.ones((5, 2)), np.ones((3, 2)), np.zeros(3)),
         r"W_hh: expected a square matrix of shape \(n, n\), n ≥ 1; received shape \(3, 4\)"),
        (lambda: gradient_flow(np.eye(3), np.ones((5, 2)), np.ones((3, 2)), np.zeros(3), activation="sigmod"),
         r"activation: expected one of 'sigmoid', 'tanh', 'relu', 'leaky_relu'; received str 'sigmod'"),
        (lambda: gradient_flow(np.eye(3), np.ones((5, 2)), np.ones((2, 3)), np.zeros(3)),
         r"W_xh: expected shape \(3, 2\) \(n = 3 hidden units by d = 2 inputs\); received shape \(2, 3\)"),
        (lambda: gradient_flow(np.eye(3), np.ones((5, 2)), np.ones((3, 2)), np.zeros(3), h0=[np.nan, 0, 0]),
         r"h0: expected finite values"),
        (lambda: time_experiment(steps=5).flows[0].norm_at(-1),
         r"distance: expected an integer in \[1, 5\] \(T − t, between 1 and T = 5\); received -1"),
        (lambda: jacobian(np.eye(2), np.ones((4, 1)), np.ones((2, 1)), np.zeros(2), t=4),
         r"t: expected an integer in \[0, 3\]"),
        (lambda: recall_batch(4, 8, 8, np.random.default_rng(0)),
         r"k: expected an integer in \[0, 7\] \(the distance from the signal to the end, 0 ≤ k ≤ T − 1 = 7\); received 8"),
        (lambda: recall_experiment(distances=(2, 10), length=8),
         r"distances: expected every k ≤ length − 1 = 7 .*; received k = 10"),
        (lambda: recall_experiment(distances=(-1,)),
         r"distances: expected an integer ≥ 0 \(each k is a distance ≥ 0 from the signal to the end\); received -1"),
        (lambda: time_experiment(hidden=0), r"hidden: expected an integer ≥ 1 \(the number of hidden units n\); received 0"),
        (lambda: time_experiment(seed=-3), r"seed: expected an integer ≥ 0 \(the seed of the random numbers\); received -3"),
        (lambda: time_experiment(steps=2.5), r"steps: expected an integer \(the sequence length T\); received float 2.5"),
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
    assert cli("--steps", "-4", "--experiment", "time") == 2
    assert "steps: expected an integer ≥ 1 (the sequence length T); received -4" in capsys.readouterr().err


def test_import_stays_numpy_only():
    code = "import sys, mathnn.experiments; print('sympy' in sys.modules, 'matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_recall_rnn_backpropagation_through_time_matches_finite_differences(name):
    from mathnn.experiments.recall import _RecurrentClassifier

    rng = np.random.default_rng(5)
    params = {"Wx": rng.standard_normal((5, 4)), "Wh": 0.7 * rng.standard_normal((4, 4)), "b": 0.1 * rng.standard_normal(4),
              "Wy": rng.standard_normal((4, 3)), "by": rng.standard_normal(3)}
    tokens, targets = recall_batch(3, 6, 4, rng, classes=3, distractors=2)
    model = _RecurrentClassifier(activation_kernels(name), params)
    _, grads = model.loss_and_gradients(tokens, targets)
    for key, value in params.items():
        def loss(p: np.ndarray, key: str = key) -> np.ndarray:
            return np.asarray(_RecurrentClassifier(model.f, {**params, key: p}).loss_and_gradients(tokens, targets)[0])

        numeric = numerical_vjp(loss, value)
        assert np.linalg.norm(grads[key] - numeric) <= 1e-7 * max(np.linalg.norm(numeric), 1e-3), key
