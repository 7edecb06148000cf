"""Parameter updates and gradient clipping: values, in-place semantics, and the mistakes each check catches."""

import math

import numpy as np
import pytest

from mathnn import InputError
from mathnn.optim import adagrad, clip_by_global_norm, clip_by_value, sgd

TARGET = np.array([3.0, -2.0, 0.5])


# -- sgd ---------------------------------------------------------------------------------------------

def test_sgd_values_from_the_lecture():
    params = {"W": np.array([1.0, 2.0]), "b": np.array([[0.5]])}
    sgd(params, {"W": np.array([10.0, -10.0]), "b": np.array([[-5.0]])}, learning_rate=0.1)
    assert params["W"].tolist() == [0.0, 3.0]
    assert params["b"].tolist() == [[1.0]]


def _distance_after_descent(update, steps: int = 60, learning_rate: float = 0.5) -> float:
    """Minimize f(W) = ½‖W − W*‖² (gradient W − W*) from W = 0 with ``update``; return ‖W − W*‖."""
    W = np.zeros(3)
    for _ in range(steps):
        update({"W": W}, {"W": W - TARGET}, learning_rate)
    return float(np.linalg.norm(W - TARGET))


def test_sgd_descends_a_quadratic_to_its_minimum():
    # each step halves the error: W − W* ← (1 − η)(W − W*)
    assert _distance_after_descent(sgd) < 1e-12


def test_the_quadratic_check_catches_a_sign_error():
    def ascent(params, grads, learning_rate):  # W ← W + η g, the bug the test above guards against
        sgd(params, {key: -grad for key, grad in grads.items()}, learning_rate)

    assert _distance_after_descent(ascent) > 1e6


def test_sgd_updates_in_place_and_keeps_float32():
    W = np.ones((2, 2), dtype=np.float32)
    held_elsewhere = W  # e.g. by a layer
    params = {"W": W}
    sgd(params, {"W": np.full((2, 2), 0.25)}, learning_rate=2.0)  # float64 gradient
    assert params["W"] is held_elsewhere
    assert W.dtype == np.float32
    assert W.tolist() == [[0.5, 0.5], [0.5, 0.5]]


def test_sgd_accepts_list_gradients():
    params = {"W": np.array([1.0, 1.0])}
    sgd(params, {"W": [1, 2]}, learning_rate=0.5)
    assert params["W"].tolist() == [0.5, 0.0]


def test_mismatched_keys_are_refused():
    params = {"W": np.ones(2), "b": np.ones(1)}
    grads = {"W": np.ones(2), "b": np.ones(1), "c": np.ones(1)}
    with pytest.raises(InputError) as error:
        sgd(params, grads, 0.1)
    assert str(error.value) == "grads: expected the same keys as params (W, b); received W, b, c"
    with pytest.raises(InputError, match=r"^grads: expected the same keys as params \(W, b\); received W$"):
        sgd(params, {"W": np.ones(2)}, 0.1)


def test_mismatched_shapes_name_the_key_and_both_shapes():
    params = {"W": np.ones((2, 3))}
    with pytest.raises(InputError) as error:
        sgd(params, {"W": np.ones((3, 2))}, 0.1)
    assert str(error.value) == 'grads["W"]: expected shape (2, 3), the shape of params["W"]; received shape (3, 2)'
    # (3,) would broadcast against (2, 3) and update every row: the check stops that too
    with pytest.raises(InputError, match=r"received shape \(3,\)$"):
        sgd(params, {"W": np.ones(3)}, 0.1)
    assert (params["W"] == 1).all()


@pytest.mark.parametrize(
    ("learning_rate", "message"),
    [
        (-0.1, "learning_rate: expected a finite real number > 0 (the step size η); received -0.1"),
        (0, "learning_rate: expected a finite real number > 0 (the step size η); received 0.0"),
        (math.nan, "learning_rate: expected a finite real number (> 0, the step size η); received float nan"),
        (math.inf, "learning_rate: expected a finite real number (> 0, the step size η); received float inf"),
        ("0.1", "learning_rate: expected a finite real number (> 0, the step size η); received str '0.1'"),
        (True, "learning_rate: expected a finite real number (> 0, the step size η); received bool True"),
    ],
)
def test_bad_learning_rates_are_refused(learning_rate, message):
    params = {"W": np.ones(2)}
    with pytest.raises(InputError) as error:
        sgd(params, {"W": np.ones(2)}, learning_rate)
    assert str(error.value) == message
    assert params["W"].tolist() == [1.0, 1.0]


def test_integer_parameters_are_refused_rather_than_truncated():
    # in place, W − 0.1·g would be cast back to int64: [1, 2] would stay [0, 1] or [1, 2] silently
    params = {"W": np.array([1, 2])}
    with pytest.raises(InputError) as error:
        sgd(params, {"W": np.ones(2)}, 0.1)
    assert str(error.value) == (
        'params["W"]: expected a real float ndarray (it is updated in place); '
        "received array of dtype int64 and shape (2,)"
    )
    assert params["W"].tolist() == [1, 2]


def test_parameters_that_cannot_be_updated_in_place_are_refused():
    with pytest.raises(InputError, match=r'^params\["W"\]: expected a real float ndarray .*; received list \[1\.0, 2\.0\]$'):
        sgd({"W": [1.0, 2.0]}, {"W": np.ones(2)}, 0.1)
    read_only = np.ones(2)
    read_only.flags.writeable = False
    with pytest.raises(InputError, match=r'^params\["W"\]: expected a writeable array .*; received a read-only array'):
        sgd({"W": read_only}, {"W": np.ones(2)}, 0.1)
    with pytest.raises(InputError, match=r"^params: expected a dict of float arrays keyed by name; received list"):
        sgd([np.ones(2)], {"W": np.ones(2)}, 0.1)


def test_a_bad_gradient_leaves_every_parameter_untouched():
    params = {"W": np.ones(2), "b": np.ones(1)}
    with pytest.raises(InputError) as error:
        sgd(params, {"W": np.ones(2), "b": np.array([np.nan])}, 0.1)
    assert str(error.value) == 'grads["b"]: expected finite values; received nan at index (0,)'
    assert params["W"].tolist() == [1.0, 1.0]  # W was checked first but not updated


def test_infinite_and_complex_gradients_are_refused():
    with pytest.raises(InputError, match=r'^grads\["W"\]: expected finite values; received -inf at index \(1, 0\)$'):
        sgd({"W": np.ones((2, 1))}, {"W": np.array([[1.0], [-np.inf]])}, 0.1)
    with pytest.raises(InputError, match=r'^grads\["W"\]: expected real values; received array of dtype complex128'):
        sgd({"W": np.ones(1)}, {"W": np.array([1j])}, 0.1)


# -- adagrad -----------------------------------------------------------------------------------------

def test_adagrad_matches_a_hand_computation_over_three_steps():
    W = np.array([1.0, -1.0])
    params, memory = {"W": W}, {}
    gradients = [[3.0, 1.0], [4.0, 1.0], [12.0, 1.0]]
    # memory: [9, 1] → [25, 2] → [169, 3]; √memory: [3, 1] → [5, √2] → [13, √3]
    expected_steps = [[0.5 * 3 / 3, 0.5 * 1 / 1], [0.5 * 4 / 5, 0.5 / math.sqrt(2)], [0.5 * 12 / 13, 0.5 / math.sqrt(3)]]
    expected = np.array([1.0, -1.0])
    for grad, step in zip(gradients, expected_steps):
        before = W.copy()
        adagrad(params, {"W": np.array(grad)}, memory, learning_rate=0.5, eps=1e-300)
        expected -= step
        assert before - W == pytest.approx(step, rel=1e-14)
    assert W == pytest.approx(expected, rel=1e-14)
    assert memory["W"].tolist() == [169.0, 3.0]
    assert params["W"] is W


def test_adagrad_steps_shrink_as_one_over_root_t_for_a_constant_gradient():
    W = np.zeros(1)
    memory = {}
    steps = []
    for _ in range(4):
        before = W[0]
        adagrad({"W": W}, {"W": np.ones(1)}, memory, learning_rate=0.1)
        steps.append(before - W[0])
    assert steps == pytest.approx([0.1 / math.sqrt(t) for t in (1, 2, 3, 4)], rel=1e-7)
    assert steps == sorted(steps, reverse=True)


def test_adagrad_moves_no_weight_more_than_the_learning_rate():
    W = np.zeros(3)
    memory = {}
    for grad in ([1e-3, 1.0, -1e6], [1e6, -1e-3, 1e12]):
        before = W.copy()
        adagrad({"W": W}, {"W": np.array(grad)}, memory, learning_rate=0.1)
        assert np.abs(W - before).max() <= 0.1


def test_adagrad_descends_a_quadratic_to_its_minimum():
    memory = {}

    def update(params, grads, learning_rate):
        adagrad(params, grads, memory, learning_rate)

    assert _distance_after_descent(update, steps=300, learning_rate=1.0) < 1e-12


def test_adagrad_creates_memory_in_the_parameter_dtype_and_keeps_float32():
    W, b = np.ones(2, dtype=np.float32), np.ones(1)
    memory = {"b": np.array([3.0])}
    grads = {"W": np.array([2.0, 0.0]), "b": np.array([1.0])}
    adagrad({"W": W, "b": b}, grads, memory, learning_rate=1.0, eps=1e-30)
    assert memory["W"].dtype == np.float32 and memory["W"].tolist() == [4.0, 0.0]
    assert W.dtype == np.float32 and W.tolist() == [0.0, 1.0]  # a zero gradient (memory 0) is not a NaN
    assert memory["b"].tolist() == [4.0] and b.tolist() == [0.5]


def test_adagrad_refuses_an_eps_that_vanishes_in_the_memory_dtype():
    # in float16, 1e-8 rounds to 0 and a weight with zero gradients would get 0/0 = NaN
    W = np.ones(2, dtype=np.float16)
    with pytest.raises(InputError) as error:
        adagrad({"W": W}, {"W": np.array([1.0, 0.0])}, {}, learning_rate=0.1)
    assert str(error.value) == (
        'eps: expected a value that stays > 0 in float16, the dtype of params["W"]; received 1e-08, which rounds to 0'
    )
    memory = {"W": np.zeros(2, dtype=np.float32)}
    with pytest.raises(InputError, match=r'^eps: expected a value that stays > 0 in float32, the dtype of memory\["W"\]; '):
        adagrad({"W": np.ones(2)}, {"W": np.ones(2)}, memory, learning_rate=0.1, eps=1e-50)
    memory = {}
    adagrad({"W": W}, {"W": np.array([1.0, 0.0])}, memory, learning_rate=0.1, eps=1e-4)
    assert W.dtype == np.float16 and memory["W"].dtype == np.float16
    assert W.tolist() == [np.float16(0.9), 1.0]


def test_adagrad_refuses_memory_from_another_model():
    params = {"W": np.ones(2), "b": np.ones(1)}
    grads = {"W": np.ones(2), "b": np.ones(1)}
    with pytest.raises(InputError) as error:
        adagrad(params, grads, {"W": np.zeros(2), "c": np.zeros(1)}, 0.1)
    assert str(error.value) == "memory: expected keys among those of params (W, b); received W, c"
    with pytest.raises(InputError) as error:
        adagrad(params, grads, {"W": np.zeros(3)}, 0.1)
    assert str(error.value) == 'memory["W"]: expected shape (2,), the shape of params["W"]; received shape (3,)'
    with pytest.raises(InputError) as error:
        adagrad(params, grads, {"b": np.array([-1.0])}, 0.1)  # e.g. a momentum buffer passed by mistake
    assert str(error.value) == 'memory["b"]: expected sums of squared gradients (≥ 0); received -1.0 at index (0,)'
    with pytest.raises(InputError, match=r"^memory: expected a dict of arrays keyed by name \(start with \{\}\); received NoneType None$"):
        adagrad(params, grads, None, 0.1)


def test_adagrad_changes_nothing_when_an_argument_is_bad():
    params = {"W": np.ones(2)}
    memory = {}
    with pytest.raises(InputError) as error:
        adagrad(params, {"W": np.ones(2)}, memory, 0.1, eps=0.0)
    assert str(error.value) == "eps: expected a finite real number > 0 (added to √memory); received 0.0"
    assert memory == {} and params["W"].tolist() == [1.0, 1.0]
    with pytest.raises(InputError, match=r"^learning_rate: expected a finite real number > 0 \(the step size η\); received -1\.0$"):
        adagrad(params, {"W": np.ones(2)}, memory, -1.0)
    assert memory == {}


# -- clipping ----------------------------------------------------------------------------------------

def test_clip_by_value_values_and_inputs_untouched():
    grads = {"W": np.array([[-7.0, 0.5], [5.0, 6.0]]), "b": np.array([-1.0], dtype=np.float32)}
    originals = {key: grad.copy() for key, grad in grads.items()}
    clipped = clip_by_value(grads, limit=5.0)
    assert clipped["W"].tolist() == [[-5.0, 0.5], [5.0, 5.0]]
    assert clipped["b"].tolist() == [-1.0] and clipped["b"].dtype == np.float32
    assert list(clipped) == ["W", "b"]
    for key, grad in grads.items():
        assert np.array_equal(grad, originals[key])
        assert not np.shares_memory(clipped[key], grad)


def test_clip_by_value_refuses_a_bad_limit():
    with pytest.raises(InputError) as error:
        clip_by_value({"W": np.ones(1)}, limit=-5)
    assert str(error.value) == "limit: expected a finite real number > 0 (the largest magnitude kept); received -5.0"


def test_clip_by_global_norm_values_and_norm():
    grads = {"W": np.array([[3.0, 0.0]]), "b": np.array([4.0])}  # global norm 5, no single array has norm 5
    clipped, norm = clip_by_global_norm(grads, max_norm=1.0)
    assert norm == 5.0
    assert clipped["W"] == pytest.approx(np.array([[0.6, 0.0]]), rel=1e-15)
    assert clipped["b"] == pytest.approx(np.array([0.8]), rel=1e-15)
    assert math.hypot(*clipped["W"].ravel(), *clipped["b"]) == pytest.approx(1.0, rel=1e-15)
    assert grads["W"].tolist() == [[3.0, 0.0]] and grads["b"].tolist() == [4.0]


def test_clip_by_global_norm_keeps_small_gradients_as_new_arrays():
    grads = {"W": np.array([0.3, -0.4])}
    clipped, norm = clip_by_global_norm(grads, max_norm=1.0)
    assert norm == pytest.approx(0.5, rel=1e-15)
    assert clipped["W"].tolist() == [0.3, -0.4]
    assert not np.shares_memory(clipped["W"], grads["W"])
    clipped["W"][0] = 99.0
    assert grads["W"][0] == 0.3


def test_clip_by_global_norm_leaves_zero_gradients_zero():
    clipped, norm = clip_by_global_norm({"W": np.zeros((2, 2)), "b": np.zeros(0)}, max_norm=1.0)
    assert norm == 0.0
    assert clipped["W"].tolist() == [[0.0, 0.0], [0.0, 0.0]] and clipped["b"].shape == (0,)
    assert clip_by_global_norm({}, max_norm=1.0) == ({}, 0.0)


def test_clip_by_global_norm_measures_float32_gradients_beyond_their_squares_range():
    # 3e20² overflows float32 (and a naive float32 norm would be inf, clipping everything to 0)
    grads = {"W": np.array([3e20, 4e20], dtype=np.float32)}
    clipped, norm = clip_by_global_norm(grads, max_norm=5.0)
    assert norm == pytest.approx(5e20, rel=1e-6)
    assert clipped["W"].dtype == np.float32
    assert clipped["W"].tolist() == pytest.approx([3.0, 4.0], rel=1e-6)


def test_clipping_refuses_non_finite_gradients_and_bad_thresholds():
    with pytest.raises(InputError, match=r'^grads\["W"\]: expected finite values; received nan at index \(2,\)$'):
        clip_by_global_norm({"W": np.array([1.0, 2.0, np.nan])}, max_norm=1.0)
    with pytest.raises(InputError) as error:
        clip_by_global_norm({"W": np.ones(1)}, max_norm=0)
    assert str(error.value) == "max_norm: expected a finite real number > 0 (the threshold θ); received 0.0"
    with pytest.raises(InputError, match=r"^grads: expected a dict of arrays keyed by name; received array of dtype float64 and shape \(2,\)$"):
        clip_by_value(np.ones(2), limit=1.0)
