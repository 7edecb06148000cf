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
    batchnorm_path_terms,
    gd_trajectories,
    largest_stable_rate,
    lecture_figures,
    relu_curves,
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


def test_every_figure_is_written_as_a_non_empty_png_and_svg(tmp_path):
    paths = lecture_figures(tmp_path / "figures")
    assert sorted(p.name for p in paths) == sorted(f"{name}.{ext}" for name in FIGURES for ext in ("png", "svg"))
    for path in paths:
        data = path.read_bytes()
        assert len(data) > 5000, path
        if path.suffix == ".png":
            assert data.startswith(b"\x89PNG")
            width = int.from_bytes(data[16:20], "big")
            assert 700 <= width <= 800, (path, width)  # shown at about its own size in the text column
        else:
            assert b"<svg" in data[:1000]
