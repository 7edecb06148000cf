"""CS231n update rules: mathnn's references, and the check that names each known mistake in a student's rule."""

import textwrap
import types

import numpy as np
import pytest

from mathnn import InputError
from mathnn.gradcheck.updates import check_update, check_update_file
from mathnn.optim_cs231n import adam, rmsprop, sgd, sgd_momentum

# -- the references ----------------------------------------------------------------------------------


def test_references_follow_the_formulas_by_hand():
    w, dw = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    assert sgd(w, dw)[0].tolist() == [1.0 - 1e-2 * 0.5, -2.0 - 1e-2 * 4.0]
    next_w, config = sgd_momentum(w, dw, {"velocity": np.array([1.0, 0.0])})
    assert np.allclose(config["velocity"], [0.9 - 1e-2 * 0.5, -1e-2 * 4.0]) and np.allclose(next_w, w + config["velocity"])
    next_w, config = rmsprop(w, dw)
    assert np.allclose(config["cache"], 0.01 * dw**2)
    assert np.allclose(next_w, w - 1e-2 * dw / (np.sqrt(0.01) * np.abs(dw) + 1e-8))
    next_w, config = adam(w, dw)
    # first step: m̂ = dw, v̂ = dw², so each entry moves by the learning rate against the gradient's sign
    assert config["t"] == 1 and np.allclose(next_w, w - 1e-3 * np.sign(dw))


def test_references_do_not_change_their_arguments():
    w, dw, config = np.ones(3), np.ones(3), {"learning_rate": 0.1}
    next_w, returned = adam(w, dw, config)
    assert w.tolist() == [1.0] * 3 and config == {"learning_rate": 0.1} and returned is not config
    assert next_w is not w


@pytest.mark.parametrize("call, argument", [
    (lambda: sgd(np.ones(2), np.ones(3)), "dw: expected shape (2,)"),
    (lambda: sgd(np.ones(2), np.array([1.0, np.nan])), "dw: expected finite"),
    (lambda: sgd("w", np.ones(2)), "w: expected a number"),
    (lambda: adam(np.ones(2), np.ones(2), [1]), "config: expected None or a dict"),
    (lambda: sgd_momentum(np.ones(2), np.ones(2), {"momentum": 1.0}), 'config["momentum"]: expected a number in [0, 1)'),
    (lambda: rmsprop(np.ones(2), np.ones(2), {"learning_rate": -1}), 'config["learning_rate"]: expected a finite'),
    (lambda: adam(np.ones(2), np.ones(2), {"t": 1.5}), 'config["t"]: expected an integer'),
    (lambda: adam(np.ones(2), np.ones(2), {"m": np.ones(3)}), 'config["m"]: expected finite real values of shape (2,)'),
])
def test_bad_input_names_the_argument(call, argument):
    with pytest.raises(InputError, match=argument.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        call()


# -- students ----------------------------------------------------------------------------------------

RIGHT = {
    "sgd": """
        def sgd(w, dw, config=None):
            config = {} if config is None else config
            config.setdefault("learning_rate", 1e-2)
            w -= config["learning_rate"] * dw          # in place, as the course's own sgd
            return w, config
    """,
    "sgd_momentum": """
        def sgd_momentum(w, dw, config=None):
            config = {} if config is None else config
            config.setdefault("learning_rate", 1e-2)
            config.setdefault("momentum", 0.9)
            v = config.get("velocity", np.zeros_like(w))
            v = config["momentum"] * v - config["learning_rate"] * dw
            config["velocity"] = v
            return w + v, config
    """,
    "rmsprop": """
        def rmsprop(w, dw, config=None):
            config = {} if config is None else config
            for key, value in (("learning_rate", 1e-2), ("decay_rate", 0.99), ("epsilon", 1e-8)):
                config.setdefault(key, value)
            config.setdefault("cache", np.zeros_like(w))
            rho = config["decay_rate"]
            config["cache"] = rho * config["cache"] + (1 - rho) * dw * dw
            return w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"]), config
    """,
    "adam": """
        def adam(w, dw, config=None):
            config = {} if config is None else config
            for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
                config.setdefault(key, value)
            config.setdefault("m", np.zeros_like(w)); config.setdefault("v", np.zeros_like(w))
            config.setdefault("t", 0)
            b1, b2 = config["beta1"], config["beta2"]
            config["t"] += 1
            config["m"] = b1 * config["m"] + (1 - b1) * dw
            config["v"] = b2 * config["v"] + (1 - b2) * dw**2
            m_hat = config["m"] / (1 - b1 ** config["t"])
            v_hat = config["v"] / (1 - b2 ** config["t"])
            return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config
    """,
}


def module(source: str) -> types.ModuleType:
    """A student's module made from ``source`` (run in this process, as the pytest plugin does)."""
    student = types.ModuleType("student_optim")
    exec("import numpy as np\n" + textwrap.dedent(source), student.__dict__)
    return student


def check(rule):
    return check_update(module(RIGHT[rule]), rule)


@pytest.mark.parametrize("rule", list(RIGHT))
def test_right_rules_pass(rule):
    result = check(rule)
    assert result["passed"], result["diagnosis"]
    assert result["steps"] == 12 and result["max_error"] < 1e-12


def test_in_place_w_is_accepted_and_noted():
    result = check("sgd")
    assert result["passed"] and any("changes w in place; accepted" in note for note in result["notes"])


BUGS = [
    ("adam", {"m_hat = config[\"m\"] / (1 - b1 ** config[\"t\"])": "m_hat = config[\"m\"]",
              "v_hat = config[\"v\"] / (1 - b2 ** config[\"t\"])": "v_hat = config[\"v\"]"},
     "no bias correction", "adam has no bias correction"),
    ("adam", {'    config["t"] += 1\n': "", "    return w -": '    config["t"] += 1\n    return w -'},
     "t not incremented first", "adam corrects the bias with t before incrementing it"),
    ("adam", {"(np.sqrt(v_hat) + config[\"epsilon\"])": "np.sqrt(v_hat + config[\"epsilon\"])"},
     "epsilon inside", "adam puts epsilon inside the square root"),
    ("adam", {'config["m"] / (1 - b1': 'config["m"] = config["m"] / (1 - b1'}, None, None),
    ("adam", {'config["learning_rate"] * m_hat': "1e-3 * m_hat"}, "ignores learning_rate",
     "adam ignores config['learning_rate']"),
    ("rmsprop", {"rho = config[\"decay_rate\"]": "rho = 0.99"}, "ignores decay_rate",
     "rmsprop ignores config['decay_rate']"),
    ("rmsprop", {"rho * config[\"cache\"] + (1 - rho) * dw * dw": "(1 - rho) * config[\"cache\"] + rho * dw * dw"},
     "decay swapped", "rmsprop applies the decay the wrong way round"),
    ("rmsprop", {"(np.sqrt(config[\"cache\"]) + config[\"epsilon\"])": "np.sqrt(config[\"cache\"] + config[\"epsilon\"])"},
     "epsilon inside", "rmsprop puts epsilon inside the square root"),
    ("sgd_momentum", {"return w + v": "return w - v"}, "velocity sign", "sgd_momentum's velocity has the wrong sign"),
    ("sgd_momentum", {'config["velocity"] = v\n    return w + v':
                      'next_w = w + config.get("velocity", np.zeros_like(w))\n    config["velocity"] = v\n'
                      "    return next_w"},
     "update order", "sgd_momentum moves w with the previous step's velocity"),
    ("sgd_momentum", {'config["velocity"] = v\n': 'config.setdefault("velocity", np.zeros_like(w))\n'},
     "state lost", "sgd_momentum does not carry its state"),
    ("sgd", {"w -=": "w +="}, "ascent", "sgd steps up the gradient"),
]


@pytest.mark.parametrize("rule, replace, mistake, message", BUGS)
def test_each_known_mistake_fails_and_is_named(rule, replace, mistake, message):
    source = textwrap.dedent(RIGHT[rule])
    for old, new in replace.items():
        assert old in source, old
        source = source.replace(old, new)
    result = check_update(module(source), rule)
    assert not result["passed"]
    assert result["mistake"] == mistake, result["diagnosis"]
    if message:
        assert result["diagnosis"].startswith(message), result["diagnosis"]


def test_stored_corrected_moments_are_named():
    source = textwrap.dedent(RIGHT["adam"]).replace(
        "return w -", 'config["m"], config["v"] = m_hat, v_hat\n    return w -')
    result = check_update(module(source), "adam")
    assert result["mistake"] == "corrected state" and "bias-corrected" in result["diagnosis"]


def test_config_not_returned_with_state_names_the_key():
    source = textwrap.dedent(RIGHT["rmsprop"]).replace('    config.setdefault("cache", np.zeros_like(w))\n', "") \
        .replace('config["cache"] = rho * config["cache"]', 'cache = rho * config.get("cache", 0.0)') \
        .replace('np.sqrt(config["cache"])', "np.sqrt(cache)")
    result = check_update(module(source), "rmsprop")
    assert not result["passed"]
    assert "returned a config without config['cache']" in result["diagnosis"]


def test_accepted_variants_pass_with_a_note():
    negated = textwrap.dedent(RIGHT["sgd_momentum"]).replace("v - config", "v + config").replace("w + v", "w - v")
    efficient = textwrap.dedent(RIGHT["adam"]).replace(
        'return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config',
        'lr = config["learning_rate"] * np.sqrt(1 - b2 ** config["t"]) / (1 - b1 ** config["t"])\n'
        '    return w - lr * config["m"] / (np.sqrt(config["v"]) + config["epsilon"]), config')
    for rule, source, note in (("sgd_momentum", negated, "opposite sign"), ("adam", efficient, "efficient form")):
        result = check_update(module(source), rule)
        assert result["passed"], result["diagnosis"]
        assert any(note in text for text in result["notes"])


def test_starter_code_and_wrong_returns_are_clear():
    starter = module("def adam(w, dw, config=None):\n    next_w = None\n    return next_w, config\n")
    result = check_update(starter, "adam")
    assert result["error"]["kind"] == "starter code" and "still the starter code" in result["diagnosis"]
    single = module("def sgd(w, dw, config=None):\n    return w - 1e-2 * dw\n")
    assert "must return (next_w, config)" in check_update(single, "sgd")["diagnosis"]
    raising = module("def sgd(w, dw, config=None):\n    return w - config['learning_rate'] * dw, config\n")
    result = check_update(raising, "sgd")
    assert result["error"]["type"] == "TypeError" and "sgd raised TypeError" in result["diagnosis"]


def test_check_update_refuses_bad_arguments():
    with pytest.raises(InputError, match="rule: expected one of"):
        check_update(module(RIGHT["sgd"]), "nesterov")
    with pytest.raises(InputError, match="steps: expected an integer ≥ 2"):
        check_update(module(RIGHT["sgd"]), "sgd", steps=1)
    with pytest.raises(InputError, match="expected a function adam"):
        check_update(module(RIGHT["sgd"]), "adam")


def test_a_file_is_checked_in_the_sandbox_rule_by_rule(tmp_path):
    path = tmp_path / "optim.py"
    rmsprop_inside = textwrap.dedent(RIGHT["rmsprop"]).replace(
        "(np.sqrt(config[\"cache\"]) + config[\"epsilon\"])", "np.sqrt(config[\"cache\"] + config[\"epsilon\"])")
    raising = "def sgd(w, dw, config=None):\n    raise RuntimeError('not yet')\n"
    path.write_text("import numpy as np\n" + textwrap.dedent(RIGHT["adam"]) + rmsprop_inside + raising)
    summary = check_update_file(path, timeout=10)
    results = {result["name"]: result for result in summary["rules"]}
    assert summary["error"] is None and not summary["passed"] and list(results) == ["sgd", "rmsprop", "adam"]
    assert results["adam"]["passed"] and results["rmsprop"]["mistake"] == "epsilon inside"
    assert results["sgd"]["diagnosis"].startswith("sgd raised RuntimeError: not yet at optim.py:")
    missing = check_update_file(path, ["sgd_momentum"], timeout=10)["rules"][0]
    assert missing["diagnosis"] == "sgd_momentum is not defined in optim.py"


def test_a_config_of_none_is_refused_even_without_state():
    # the Solver passes the returned config back: None loses the learning rate from the second step on
    stateless = module("def sgd(w, dw, config=None):\n    return w - (config or {}).get('learning_rate', 1e-2) * dw, None\n")
    result = check_update(stateless, "sgd")
    assert not result["passed"] and "sgd returned None as config at step 1 of run 1" in result["diagnosis"]
    lost = module(textwrap.dedent(RIGHT["rmsprop"]).replace("), config", "), None"))
    result = check_update(lost, "rmsprop")
    assert not result["passed"] and "returned None as config at step 1" in result["diagnosis"]
