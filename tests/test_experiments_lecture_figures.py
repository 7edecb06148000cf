"""The lecture pages' figures (mathnn.experiments.lecture_figures): the numbers they show, and the files."""

from __future__ import annotations

import numpy as np
import pytest

from mathnn.errors import InputError
from mathnn.experiments.lecture_figures import (
    BATCHNORM_EDGES,
    BATCHNORM_NODES,
    BATCHNORM_PATHS,
    FIGURES,
    GD_HESSIAN,
    GD_RATES,
    CHARRNN_STEPS,
    batchnorm_path_terms,
    charrnn_losses,
    gd_trajectories,
    largest_stable_rate,
    moving_average,
    relu_curves,
    rnn_graph,
    sigmoid_curves,
)
from mathnn.layers import batchnorm_backward, batchnorm_forward


def test_sigmoid_curve_peaks_at_a_quarter_at_zero():
    data = sigmoid_curves()
    peak = int(np.argmax(data["grad"]))
    assert data["x"][peak] == 0.0
    assert data["grad"][peak] == pytest.approx(0.25, abs=1e-15)
    assert np.all(data["grad"] <= 0.25)
    assert np.allclose(data["grad"], data["sigma"] * (1 - data["sigma"]), atol=1e-15)


def test_relu_curves_have_the_slopes_and_the_kink_values_of_the_page():
    data = relu_curves(alpha=0.1)
    x = data["x"]
    assert np.array_equal(data["relu_grad"][x > 0], np.ones((x > 0).sum()))
    assert np.array_equal(data["relu_grad"][x <= 0], np.zeros((x <= 0).sum()))
    assert np.allclose(data["leaky_grad"][x <= 0], 0.1)
    assert np.allclose(data["leaky"], np.maximum(0.1 * x, x))  # max(αx, x) holds because α ≤ 1


def test_largest_stable_rate_is_two_over_the_largest_eigenvalue():
    assert largest_stable_rate(GD_HESSIAN) == pytest.approx(0.5)
    assert largest_stable_rate([[3.0, 1.0], [1.0, 3.0]]) == pytest.approx(0.5)
    with pytest.raises(InputError, match="positive-definite"):
        largest_stable_rate([[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(InputError, match="symmetric"):
        largest_stable_rate([[1.0, 2.0], [0.0, 1.0]])


def test_gd_below_the_limit_converges_and_above_it_diverges():
    below, above = GD_RATES
    limit = largest_stable_rate(GD_HESSIAN)
    assert below < limit < above
    paths = gd_trajectories(steps=60)
    start = np.linalg.norm(paths[below][0])
    assert np.linalg.norm(paths[below][-1]) < 1e-4 * start
    assert np.linalg.norm(paths[above][-1]) > 1e3 * start


def test_gd_trajectory_is_the_lectures_update():
    path = gd_trajectories(hessian=[[2.0, 0.0], [0.0, 1.0]], start=[1.0, 1.0], learning_rates=[0.25], steps=2)[0.25]
    # W ← W − ηHW: each coordinate is multiplied by 1 − ηλ per step.
    assert np.allclose(path, [[1.0, 1.0], [0.5, 0.75], [0.25, 0.5625]])


def test_batchnorm_paths_follow_the_drawn_edges_and_sum_to_the_gradient():
    for nodes in BATCHNORM_PATHS.values():
        assert nodes[0] == "x" and nodes[-1] == "y"
        for edge in zip(nodes, nodes[1:]):
            assert edge in BATCHNORM_EDGES
            assert set(edge) <= set(BATCHNORM_NODES)
    rng = np.random.default_rng(1)
    x, dout, gamma = rng.standard_normal((6, 3)), rng.standard_normal((6, 3)), rng.standard_normal(3)
    _, cache = batchnorm_forward(x, gamma, np.zeros(3), {"mode": "train", "eps": 1e-5})
    dx, _, _ = batchnorm_backward(dout, cache)
    terms = batchnorm_path_terms(x, dout, gamma, eps=1e-5)
    assert set(terms) == set(BATCHNORM_PATHS)
    assert np.allclose(sum(terms.values()), dx)
    for name in terms:  # each path matters: leaving one out gives a wrong gradient
        assert not np.allclose(sum(v for k, v in terms.items() if k != name), dx)


@pytest.mark.docs
def test_every_figure_is_written_as_a_non_empty_png_and_svg(built_site):
    """The figures lecture_figures() drew for the session's site (docs/hooks/figures.py adds every file it returns)."""
    paths = sorted((built_site / "images" / "lecture").iterdir())
    assert [p.name for p in paths] == sorted(f"{name}.{ext}" for name in FIGURES for ext in ("png", "svg"))
    for path in paths:
        data = path.read_bytes()
        assert len(data) > 5000, path
        if path.suffix == ".png":
            assert data.startswith(b"\x89PNG")
            width = int.from_bytes(data[16:20], "big")
            assert 700 <= width <= 800, (path, width)  # shown at about its own size in the text column
        else:
            assert b"<svg" in data[:1000]


@pytest.mark.parametrize("length", [2, 4, 7])
def test_unrolled_rnn_has_t_inputs_t_states_and_both_gradient_paths(length):
    graph = rnn_graph(length)
    nodes, forward, backward = graph["nodes"], graph["forward"], graph["backward"]
    inputs = [n for n in nodes if n.startswith("x_")]
    hidden = [n for n in nodes if n.startswith("h_") and n != "h_0"]
    assert inputs == [f"x_{t}" for t in range(1, length + 1)]
    assert hidden == [f"h_{t}" for t in range(1, length + 1)]
    assert sorted(n for n in nodes if n.startswith("o_")) == sorted(f"o_{t}" for t in range(1, length + 1))
    for t in range(1, length + 1):
        assert (f"x_{t}", f"h_{t}", "W_xh") in forward
        assert (f"h_{t - 1}", f"h_{t}", "W_hh") in forward
        assert (f"h_{t}", f"o_{t}", "W_hy") in forward
        # the gradient reaching h_t: from its output, and from the next state except at t = T
        into = {start for start, end in backward if end == f"h_{t}"}
        assert into == ({f"o_{t}", f"h_{t + 1}"} if t < length else {f"o_{t}"})
    assert len(forward) == 3 * length and len(backward) == 2 * length - 1
    for start, end, *_ in forward + backward:  # every edge joins two drawn nodes, and backward edges run
        assert start in nodes and end in nodes  # against a forward one
    assert {(end, start) for start, end in backward} <= {(start, end) for start, end, _ in forward}
    with pytest.raises(InputError, match="length: expected an int ≥ 2"):
        rnn_graph(1)


def test_charrnn_loss_curve_falls_below_its_start_and_the_unigram_baseline():
    data = charrnn_losses()
    losses = data["losses"]
    assert len(losses) == CHARRNN_STEPS and np.all(np.isfinite(losses))
    assert losses[0] == pytest.approx(data["uniform"], abs=0.05)  # tiny initial weights: a uniform guess
    assert data["unigram"] < data["uniform"]
    end = losses[-100:].mean()
    assert end < losses[:20].mean() and end < losses[0]
    assert end < data["unigram"] - 0.2  # it has learned to use context, not just character frequencies
    # the caption's "one every 542 steps": a pass over the text, after which reading starts over
    assert data["steps_per_pass"] == 542
    restarts = np.arange(data["steps_per_pass"], CHARRNN_STEPS, data["steps_per_pass"])
    assert np.all(losses[restarts] > losses[restarts - 1] + 1.0)


def test_moving_average_is_the_mean_of_the_window_ending_at_each_step():
    values = np.array([1.0, 3.0, 5.0, 7.0])
    assert np.allclose(moving_average(values, 2), [1.0, 2.0, 4.0, 6.0])
    assert np.allclose(moving_average(values, 10), [1.0, 2.0, 3.0, 4.0])
