"""The remedies lab: the gradient at every lag (checked against finite differences of a reference
written out here), the LSTM's forget bias against the tanh RNN, clipping, and the JSON and tables."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mathnn.errors import InputError
from mathnn.experiments import (
    CELLS,
    EXPERIMENTS,
    init_cell,
    lag_experiment,
    lag_ratios,
    remember_experiment,
    report,
    results_to_dict,
    run_experiments,
    sign_batch,
    state_gradients,
)
from mathnn.experiments.remedies import REMEMBER_CELLS, cell_named
from test_experiments import assert_printed_figures_are_in_json


# -- a reference written out here, independent of the generated kernels ----------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _reference_loss(key: str, params: dict, x: np.ndarray, upstream: np.ndarray, t: int, delta: np.ndarray) -> float:
    """L = Σ upstream · h_T of the cell ``key``, with ``delta`` added to h_t (t = 0 is h_0)."""
    cell = CELLS[key]
    count, steps, _ = x.shape
    n = params["Wh"].shape[0]
    h = np.zeros((count, n)) + (delta if t == 0 else 0.0)
    c = np.zeros((count, n))
    for step in range(1, steps + 1):
        if cell.kind == "gru":  # gates z, r, n; the reset applied to h Wh's candidate block
            ax, ah = x[:, step - 1] @ params["Wx"] + params["b"], h @ params["Wh"]
            z, r = _sigmoid(ax[:, :n] + ah[:, :n]), _sigmoid(ax[:, n:2 * n] + ah[:, n:2 * n])
            h = (1 - z) * np.tanh(ax[:, 2 * n:] + r * ah[:, 2 * n:]) + z * h
            if step == t:
                h = h + delta
            continue
        a = x[:, step - 1] @ params["Wx"] + h @ params["Wh"] + params["b"]
        if cell.kind == "lstm":
            i, f, o, g = _sigmoid(a[:, :n]), _sigmoid(a[:, n:2 * n]), _sigmoid(a[:, 2 * n:3 * n]), np.tanh(a[:, 3 * n:])
            c = f * c + i * g
            h = o * np.tanh(c)
        else:
            h = np.tanh(a) if cell.activation == "tanh" else np.maximum(a, 0.0)
        if step == t:
            h = h + delta
    return float(np.sum(upstream * h))


@pytest.mark.parametrize("key", ["tanh", "irnn", "relu-orthogonal", "lstm-f0", "lstm-f3", "gru"])
def test_state_gradients_agree_with_finite_differences(key):
    rng = np.random.default_rng(5)
    n, d, steps, count = 4, 3, 6, 2
    params = init_cell(CELLS[key], d, n, rng)
    if CELLS[key].activation == "relu":
        params["b"] = params["b"] + 0.5  # away from ReLU's kink, where a finite difference is not a derivative
    x = rng.standard_normal((count, steps, d))
    upstream = rng.standard_normal((count, n))
    gradients = state_gradients(CELLS[key], params, x, upstream)
    assert gradients.shape == (count, steps + 1, n)
    eps = 1e-6
    for t in range(steps + 1):
        numeric = np.zeros((count, n))
        for row in range(count):
            for unit in range(n):
                delta = np.zeros((count, n))
                delta[row, unit] = eps
                numeric[row, unit] = (_reference_loss(key, params, x, upstream, t, delta)
                                      - _reference_loss(key, params, x, upstream, t, -delta)) / (2 * eps)
        np.testing.assert_allclose(gradients[:, t], numeric, rtol=1e-6, atol=1e-8, err_msg=f"{key}, t = {t}")
    ratios = lag_ratios(CELLS[key], params, x, upstream)
    norms = np.linalg.norm(gradients, axis=-1)
    np.testing.assert_allclose(ratios[:, 0], 1.0)
    np.testing.assert_allclose(ratios[:, steps], norms[:, 0] / norms[:, steps])


def test_identity_relu_ratio_is_one_while_every_unit_is_active():
    """W_hh = I and all pre-activations positive: each Jacobian is the identity, so the ratio is exactly 1."""
    cell = CELLS["irnn"]
    params = {"Wx": np.eye(3), "Wh": np.eye(3), "b": np.full(3, 1.0)}
    x = np.abs(np.random.default_rng(0).standard_normal((2, 10, 3)))
    ratios = lag_ratios(cell, params, x, np.ones((2, 3)))
    np.testing.assert_allclose(ratios, 1.0)


@pytest.fixture(scope="module")
def lag():
    return lag_experiment()  # the defaults: what `mathnn vanishing` prints


def test_forget_bias_of_one_or_more_keeps_more_gradient_than_the_tanh_rnn(lag):
    K = lag.lags[-1]
    tanh_seeds = lag.ratios[lag.settings["cells"].index("tanh"), :, K]
    for key in ("lstm-f1", "lstm-f3"):
        lstm_seeds = lag.ratios[lag.settings["cells"].index(key), :, K]
        assert np.all(lstm_seeds > tanh_seeds), key  # seed by seed, not only the median
    # and the forget bias orders the LSTMs at the last lag: 3 keeps more than 1, 1 more than 0
    assert lag.at("lstm-f3", K)[0] > lag.at("lstm-f1", K)[0] > lag.at("lstm-f0", K)[0]


def test_exploding_ratio_grows_and_stays_under_its_bound(lag):
    row = np.median(lag.ratios[lag.settings["cells"].index("exploding")], axis=0)
    bound = np.array(lag.bounds["exploding"])
    assert row[-1] > 100.0 * row[1]  # it grows with the lag
    assert np.all(row <= bound * (1 + 1e-9))
    assert CELLS["exploding"].gamma_lambda == pytest.approx(1.2)


def test_clipping_bounds_the_update_and_keeps_its_direction(lag):
    ceiling = lag.settings["learning_rate"] * lag.settings["threshold"]
    unclipped = [row.update_unclipped for row in lag.clip]
    assert unclipped == sorted(unclipped) and unclipped[-1] > 1e3 * ceiling  # the unclipped update explodes
    for row in lag.clip:
        assert row.update_clipped <= ceiling * (1 + 1e-12)
        assert row.update_unclipped == pytest.approx(lag.settings["learning_rate"] * row.grad_norm)
        assert row.cosine == pytest.approx(1.0, abs=1e-12)


@pytest.fixture(scope="module")
def small_results():
    return {
        "lag": lag_experiment(max_lag=8, hidden=6, sequences=3, seeds=2, clip_lengths=(4, 8)),
        "remember": remember_experiment(distances=(1, 3), hidden=4, steps=4, test_count=20, seeds=2),
    }


def test_json_has_every_cell_and_seed(small_results):
    data = json.loads(json.dumps(results_to_dict(small_results), allow_nan=False))
    remember = data["remember"]
    assert remember["cells"] == list(REMEMBER_CELLS)
    assert remember["seeds"] == [0, 1]
    for cell in REMEMBER_CELLS:
        assert sorted(remember["accuracy"][cell]) == ["0", "1"]
        assert all(len(row) == 2 and all(0.0 <= a <= 1.0 for a in row) for row in remember["accuracy"][cell].values())
        assert len(remember["median_accuracy"][cell]) == 2
    lag_data = data["lag"]
    assert lag_data["lags"] == list(range(9))
    for cell in lag_data["cells"]:
        assert sorted(lag_data["ratio"][cell]["per_seed"]) == ["0", "1"]
        assert lag_data["ratio"][cell]["median"][0] == pytest.approx(1.0)
    assert [row["length"] for row in lag_data["clip"]] == [4, 8]


def test_report_prints_only_figures_that_the_json_carries(small_results):
    text = report(small_results)
    data = json.loads(json.dumps(results_to_dict(small_results), allow_nan=False))
    assert assert_printed_figures_are_in_json(text, data) > 60
    assert "LSTM, b_f = 3" in text and "IRNN" in text


def test_plots_are_written(small_results, tmp_path):
    from mathnn.experiments import plot_results

    paths = plot_results(small_results, tmp_path)
    assert sorted(path.name for path in paths) == sorted(
        f"remedies_{name}.{ext}" for name in ("lag", "remember") for ext in ("png", "svg"))


def test_the_lab_registers_both_experiments():
    assert {"lag", "remember"} <= set(EXPERIMENTS)
    results = run_experiments(["lag"])
    assert set(results) == {"lag"} and results["lag"].lags[-1] == 50


def test_settings_reach_each_experiment_and_bad_ones_are_refused(small_results):
    """run_experiments(settings=...) is the docs' quick build: the same run as calling the function with them."""
    settings = {
        "lag": {"max_lag": 8, "hidden": 6, "sequences": 3, "seeds": 2, "clip_lengths": (4, 8)},
        "remember": {"distances": (1, 3), "hidden": 4, "steps": 4, "test_count": 20, "seeds": 2},
    }
    results = results_to_dict(run_experiments(["lag", "remember"], hidden=30, settings=settings))  # settings win
    expected = results_to_dict(small_results)
    for name in ("lag", "remember"):
        results[name].pop("seconds"), expected[name].pop("seconds")  # how long each took differs
    assert results == expected
    with pytest.raises(InputError, match=r"settings: expected experiment names \('time', .*\) as keys; received str 'lags'"):
        run_experiments(["lag"], settings={"lags": {}})
    with pytest.raises(InputError, match=r"settings\['lag'\]: expected arguments of lag_experiment other than "
                                         r"activations, seed and show_progress; received 'seed'"):
        run_experiments(["lag"], settings={"lag": {"seed": 3}})
    with pytest.raises(InputError, match=r"settings\['depth'\]: expected arguments of depth_experiment .*; received 'iterations'"):
        run_experiments(["lag"], settings={"depth": {"iterations": 3}})
    with pytest.raises(InputError, match=r"settings\['lag'\]: expected a mapping of argument name to value; received int 3"):
        run_experiments(["lag"], settings={"lag": 3})


def test_sign_batch_puts_the_sign_first_and_noise_after():
    x, targets = sign_batch(50, 5, np.random.default_rng(0))
    assert x.shape == (50, 6, 2)
    np.testing.assert_array_equal(x[:, 0, 0], 2 * targets - 1)
    assert np.all(x[:, 1:, 0] == 0) and np.all(x[:, 0, 1] == 0) and np.all(x[:, 1:, 1] != 0)


def test_lstm_init_sets_only_the_forget_gate_bias():
    params = init_cell(CELLS["lstm-f3"], 2, 5, np.random.default_rng(0))
    assert params["Wx"].shape == (2, 20) and params["Wh"].shape == (5, 20)
    np.testing.assert_array_equal(params["b"], np.r_[np.zeros(5), np.full(5, 3.0), np.zeros(10)])
    orthogonal = init_cell(CELLS["tanh-orthogonal"], 2, 5, np.random.default_rng(0))["Wh"]
    np.testing.assert_allclose(orthogonal.T @ orthogonal, np.eye(5), atol=1e-12)
    assert math.isclose(np.linalg.norm(init_cell(CELLS["exploding"], 2, 5, np.random.default_rng(0))["Wh"], 2), 1.2)


def test_bad_names_are_refused():
    with pytest.raises(InputError, match="cell: expected one of"):
        cell_named("peephole-lstm")
    with pytest.raises(InputError, match="cells"):
        lag_experiment(cells=())


@pytest.mark.slow
def test_default_remember_run_shows_the_forget_bias_of_three_holding_longest():
    experiment = remember_experiment()
    median = experiment.median()
    far = experiment.settings["distances"].index(max(experiment.settings["distances"]))
    assert median[experiment.settings["cells"].index("lstm-f3"), far] > 0.9
    assert median[experiment.settings["cells"].index("tanh"), far] < 0.6
