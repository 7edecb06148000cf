"""mathnn.experiments.recall: the recall task, accuracy against the distance, and its BPTT."""

from __future__ import annotations

import numpy as np
import pytest

from mathnn.experiments import ACTIVATIONS, activation_kernels, recall_batch, recall_experiment
from mathnn.experiments.recall import _RecurrentClassifier
from mathnn.gradcheck import numerical_vjp


def test_recall_batch_puts_the_signal_k_steps_before_the_end():
    tokens, targets = recall_batch(50, 10, 3, np.random.default_rng(0), classes=4, distractors=5)
    assert tokens.shape == (50, 10) and np.array_equal(tokens[:, 6], targets)
    others = np.delete(tokens, 6, axis=1)
    assert others.min() >= 4 and others.max() <= 8 and set(targets) <= {0, 1, 2, 3}


def test_tanh_rnn_recall_falls_to_chance_with_distance():
    # One training run at k = 16 ends anywhere from 0.21 to 0.39 accuracy depending on the seed (and on
    # the rounding of its sums): the claim is about the runs on average, and about the loss of each.
    experiments = [recall_experiment(("tanh",), distances=(1, 16), seed=seed) for seed in range(4)]
    assert all(e.chance == 0.25 and e.settings["length"] == 21 for e in experiments)
    assert all(e.accuracy[0][0] > 0.9 for e in experiments)  # recalled at k = 1
    assert np.mean([e.accuracy[0][1] for e in experiments]) < 0.35  # chance is 0.25
    assert all(e.final_loss[0, 0] < 0.1 for e in experiments)
    assert all(e.final_loss[0, 1] > 1.3 for e in experiments)  # log 4 ≈ 1.39: guessing


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_recall_rnn_backpropagation_through_time_matches_finite_differences(name):
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
