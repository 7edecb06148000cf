"""mathnn.experiments.shift: internal covariate shift with and without batch norm."""

from __future__ import annotations

import numpy as np

from mathnn.experiments import shift_experiment


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
