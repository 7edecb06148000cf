"""check_model: every parameter of a model with params and loss(X, y) checked, each wrong one named."""

import numpy as np
import pytest

from mathnn import InputError
from mathnn.gradcheck import check_model


class TwoLayer:
    """A small affine–ReLU–affine–softmax classifier with L2 regularisation ½·reg·Σ‖W‖² (bugs switchable)."""

    def __init__(self, sizes=(4, 6, 3), reg=0.3, dtype=np.float64, bug=None, dropout=None, seed=0):
        rng = np.random.default_rng(seed)
        d, h, c = sizes
        self.params = {"W1": 0.5 * rng.standard_normal((d, h)), "b1": 0.1 * rng.standard_normal(h),
                       "W2": 0.5 * rng.standard_normal((h, c)), "b2": 0.1 * rng.standard_normal(c)}
        self.params = {name: value.astype(dtype) for name, value in self.params.items()}
        self.reg, self.bug, self.dropout, self.calls = reg, bug, dropout, 0

    def loss(self, X, y):
        p = self.params
        a = X @ p["W1"] + p["b1"]
        hidden = np.maximum(a, 0)
        if self.dropout is not None:  # inverted dropout; a fixed seed makes it repeatable
            keep, seed = self.dropout
            rng = np.random.default_rng(seed) if seed is not None else np.random.default_rng()
            mask = (rng.random(hidden.shape) < keep) / keep
            hidden = hidden * mask
        scores = hidden @ p["W2"] + p["b2"]
        shifted = scores - scores.max(axis=1, keepdims=True).real
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        n = X.shape[0]
        loss = -np.log(probs[np.arange(n), y]).sum() / n + 0.5 * self.reg * ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum())
        dscores = probs.copy()
        dscores[np.arange(n), y] -= 1
        dscores /= n
        grads = {"W2": hidden.T @ dscores + self.reg * p["W2"], "b2": dscores.sum(axis=0)}
        dhidden = dscores @ p["W2"].T
        if self.dropout is not None:
            dhidden = dhidden * mask
        da = dhidden * (a > 0)
        grads["W1"] = X.T @ da + self.reg * p["W1"]
        grads["b1"] = da.sum(axis=0)
        if self.bug == "W2 transposed upstream":
            grads["W2"] = hidden.T @ (dscores * 2) + self.reg * p["W2"]
        if self.bug == "b1 without relu mask":
            grads["b1"] = dhidden.sum(axis=0)
        if self.bug == "W1 missing reg":
            grads["W1"] = X.T @ da
        if self.bug == "W1 reg summed":  # grads['W1'] += reg * np.sum(W1)
            grads["W1"] = X.T @ da + self.reg * np.sum(p["W1"])
        if self.bug == "mutates":
            p["b2"] += 1.0
        if self.bug == "b1 kept as a row":  # a layer's db = np.sum(dout, axis=0, keepdims=True)
            grads["b1"] = grads["b1"][None, :]
        if self.bug == "W2 flattened":
            grads["W2"] = grads["W2"].ravel()
        if self.bug == "starter code":  # CS231n's rnn.py: loss, grads = 0.0, {} until the TODO is written
            return 0.0, {}
        if self.bug == "keys named after the gradients":
            grads = {f"d{name}": gradient for name, gradient in grads.items()}
        return loss, grads


def data(n=5, d=4, c=3, dtype=np.float64):
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, d)).astype(dtype), rng.integers(0, c, n)


def test_a_gradient_with_a_stray_size_one_axis_fails_on_its_shape_with_its_values_checked():
    # CS231n's FullyConnectedNet gets dgamma, dbeta of shape (1, D) from a batchnorm_backward with keepdims
    result = check_model(TwoLayer(bug="b1 kept as a row"), *data())
    assert not result and result.wrong == []
    assert result.problems == ['grads["b1"] has shape (1, 6) where (6,), the shape of params["b1"], is expected (the '
                               'axes differ only in size-1 ones: keepdims=True or a reshape left out?); whatever its '
                               "values, the Solver's update in place (w -= learning_rate * dw, as CS231n's sgd does) "
                               'raises on this shape']
    b1, row = np.zeros(6), np.ones((1, 6))
    with pytest.raises(ValueError):  # what the sentence says of the Solver's update
        b1 -= 0.1 * row
    assert result.summary() == "W1 ok; b1 ok; W2 ok; b2 ok"


class RowBiases(TwoLayer):
    """b1 and b2 kept as rows (1, M), as np.zeros((1, hidden_dim)) makes them; their gradients (M,), as
    affine_backward's db is, or ``wrong`` times that."""

    def __init__(self, wrong=1.0):
        super().__init__()
        self.params["b1"], self.params["b2"] = self.params["b1"][None, :], self.params["b2"][None, :]
        self.wrong = wrong

    def loss(self, X, y):
        loss, grads = super().loss(X, y)
        return loss, {**grads, "b1": self.wrong * grads["b1"].reshape(-1), "b2": grads["b2"].reshape(-1)}


def test_a_row_bias_with_a_flat_gradient_passes_with_a_note_its_values_checked():
    # the Solver's w -= learning_rate * dw broadcasts (M,) onto (1, M): the model trains as CS231n's does
    b1, flat = np.zeros((1, 6)), np.ones(6)
    b1 -= 0.1 * flat
    assert b1.shape == (1, 6)
    result = check_model(RowBiases(), *data())
    assert result, str(result)
    assert result.problems == [] and result.summary() == "W1 ok; b1 ok; W2 ok; b2 ok"
    assert result.notes == [f'grads["{name}"] has shape ({size},) where params["{name}"] has (1, {size}): the '
                            "Solver's update broadcasts it onto the parameter, so its values were checked in the "
                            "parameter's shape"
                            for name, size in (("b1", 6), ("b2", 3))]
    wrong = check_model(RowBiases(wrong=2.0), *data())
    assert not wrong and wrong.wrong == ["b1"]


def test_a_gradient_of_another_shape_is_named_with_both_shapes():
    result = check_model(TwoLayer(bug="W2 flattened"), *data())
    assert not result and result.wrong == ["W2"]
    assert result.problems == ['grads["W2"] has shape (18,) where (6, 3), the shape of params["W2"], is expected']


def test_a_model_returning_no_gradients_is_called_unfinished():
    result = check_model(TwoLayer(bug="starter code"), *data())
    assert not result and result.report is None
    assert result.problems == ["model.loss returned no gradients (an empty grads dict): not implemented yet (still "
                               "the starter code?)"]


def test_a_model_returning_none_of_its_gradients_under_the_params_keys_names_them_all():
    result = check_model(TwoLayer(bug="keys named after the gradients"), *data())
    assert not result and result.report is None
    assert result.problems == ["model.loss returned no gradient for W1, b1, W2, b2"]


def test_a_correct_model_passes_and_keeps_its_params():
    model = TwoLayer()
    objects = dict(model.params)
    values = {name: array.copy() for name, array in objects.items()}
    result = check_model(model, *data())
    assert result, str(result)
    assert result.summary() == "W1 ok; b1 ok; W2 ok; b2 ok"
    assert all(model.params[name] is objects[name] and np.array_equal(objects[name], values[name]) for name in values)


@pytest.mark.parametrize("bug, wrong", [("W2 transposed upstream", ["W2"]), ("b1 without relu mask", ["b1"]),
                                        ("W1 missing reg", ["W1"])])
def test_each_wrong_parameter_is_named(bug, wrong):
    result = check_model(TwoLayer(bug=bug), *data())
    assert not result and result.wrong == wrong
    text = str(result)
    assert f"{wrong[0]}: max relative error" in text and all(f"{name} ok" in text for name in ("W1", "b1", "W2", "b2")
                                                             if name not in wrong)


def test_a_missing_regularisation_gradient_is_explained():
    result = check_model(TwoLayer(bug="W1 missing reg"), *data())
    assert "the regularisation term's gradient reg·W1 is missing" in result.hints["W1"]


def test_a_regularisation_gradient_summed_to_one_number_is_explained():
    result = check_model(TwoLayer(bug="W1 reg summed"), *data())
    assert result.wrong == ["W1"]
    assert "grads['W1'] adds reg·np.sum(W1), one number, to every entry" in result.hints["W1"]


def test_float32_model_is_checked_at_the_float32_pass_mark():
    model = TwoLayer(dtype=np.float32)
    result = check_model(model, *data(dtype=np.float32))
    assert result, str(result)
    assert all(g.tolerance == 1e-4 for g in result.report.gradients) and "float32" in result.report.precision
    assert all(array.dtype == np.float32 for array in model.params.values())
    wrong = check_model(TwoLayer(dtype=np.float32, bug="b1 without relu mask"), *data(dtype=np.float32))
    assert wrong.wrong == ["b1"]


def test_dropout_with_a_seed_is_checked_and_without_one_is_reported():
    assert check_model(TwoLayer(dropout=(0.7, 3)), *data())
    result = check_model(TwoLayer(dropout=(0.7, None)), *data())
    assert not result and result.report is None
    assert "model.loss is not deterministic" in str(result) and "dropout_param['seed']" in str(result)


def test_a_loss_that_changes_params_is_reported_and_undone():
    model = TwoLayer(bug="mutates")
    before = model.params["b2"].copy()
    result = check_model(model, *data())
    assert not result and 'model.loss changed params["b2"]' in str(result)
    assert np.array_equal(model.params["b2"], before)


def test_bad_models_are_refused_naming_the_argument():
    with pytest.raises(InputError, match="model: expected an object with a dict `params`"):
        check_model(object(), *data())
    model = TwoLayer()
    model.params["W1"] = [[1.0]]
    with pytest.raises(InputError, match=r'model: expected params\["W1"\] to be a writeable real float array'):
        check_model(model, *data())
