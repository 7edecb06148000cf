"""CS231n update rules: mathnn's references, and the check that names each known mistake in a student's rule."""

import csv
import json
import textwrap
import types

import numpy as np
import pytest

from mathnn import InputError
from mathnn.cli import main as mathnn
from mathnn.gradcheck.assignment import load_assignment
from mathnn.gradcheck.grading import grade_folder
from mathnn.gradcheck.runner import main as check_main
from mathnn.gradcheck.updates import STEPS, check_update, check_update_file
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
    # mistakes that take the right first step (no state returned, momentum unused while the velocity is 0): the
    # steps after it tell which
    ("sgd_momentum", {'config["velocity"] = v\n    return w + v': "return w + v"},
     "state lost", "sgd_momentum does not carry its state"),
    ("adam", {"    return w -": "    config = {k: v for k, v in config.items() if k not in ('m', 'v', 't')}\n"
                                 "    return w -"},
     "state lost", "adam does not carry its state"),
    ("sgd_momentum", {'config["learning_rate"] * dw': "1e-2 * dw"}, "ignores learning_rate",
     "sgd_momentum ignores config['learning_rate']"),
    ("sgd", {"w -=": "w +="}, "ascent", "sgd steps up the gradient"),
    ("sgd_momentum", {"return w + v": 'return w - config["learning_rate"] * dw + v'}, "plain step too",
     "sgd_momentum takes a plain gradient step besides the velocity's"),
    # several of adam's mistakes in one rule: each is said
    ("adam", {'    config["t"] += 1\n': "", 'm_hat = config["m"] / (1 - b1 ** config["t"])': 'm_hat = config["m"]',
              'v_hat = config["v"] / (1 - b2 ** config["t"])': 'v_hat = config["v"]',
              '(np.sqrt(v_hat) + config["epsilon"])': 'np.sqrt(v_hat + config["epsilon"])'},
     "no bias correction + t not counted + epsilon inside",
     "adam has no bias correction (divide m by (1 − beta1**t) and v by (1 − beta2**t) before the step), never counts "
     "its steps (config['t'] stays as it was: increment it at each step) and puts epsilon inside the square root"),
    ("adam", {'    config["t"] += 1\n': "", 'config["m"] = b1': "m = b1", 'config["v"] = b2': "v = b2",
              'm_hat = config["m"] / (1 - b1 ** config["t"])': "m_hat = m",
              'v_hat = config["v"] / (1 - b2 ** config["t"])': "v_hat = v"},
     "no bias correction + state lost",
     "adam has no bias correction (divide m by (1 − beta1**t) and v by (1 − beta2**t) before the step) and carries "
     "neither m nor v nor t from one step to the next"),
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


# UCLA's ECE C147/239AS optim.py is CS231n's with other names for the state: rmsprop's average of dw² is
# config['a'], Adam's first moment config['v'] and its second config['a']
UCLA = {
    "rmsprop": """
        def rmsprop(w, dw, config=None):
            if config is None: config = {}
            config.setdefault("learning_rate", 1e-2)
            config.setdefault("decay_rate", 0.99)
            config.setdefault("epsilon", 1e-8)
            config.setdefault("a", np.zeros_like(w))
            config["a"] = config["decay_rate"] * config["a"] + (1 - config["decay_rate"]) * dw**2
            return w - config["learning_rate"] * dw / (np.sqrt(config["a"]) + config["epsilon"]), config
    """,
    "adam": """
        def adam(w, dw, config=None):
            if config is None: config = {}
            for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
                config.setdefault(key, value)
            config.setdefault("v", np.zeros_like(w)); config.setdefault("a", np.zeros_like(w))
            config.setdefault("t", 0)
            config["t"] += 1
            config["v"] = config["beta1"] * config["v"] + (1 - config["beta1"]) * dw
            config["a"] = config["beta2"] * config["a"] + (1 - config["beta2"]) * dw**2
            first = config["v"] / (1 - config["beta1"] ** config["t"])
            second = config["a"] / (1 - config["beta2"] ** config["t"])
            return w - config["learning_rate"] * first / (np.sqrt(second) + config["epsilon"]), config
    """,
}


@pytest.mark.parametrize("rule", list(UCLA))
def test_a_rule_with_uclas_names_for_the_state_passes_with_a_note(rule):
    result = check_update(module(UCLA[rule]), rule)
    assert result["passed"], result["diagnosis"]
    assert result["steps"] == 2 * STEPS and result["max_error"] < 1e-12
    assert [note for note in result["notes"] if "UCLA" in note] == [
        {"rmsprop": "rmsprop keeps its state under the names of UCLA's ECE C147/239AS optim.py, config['a'] for "
                    "config['cache']: accepted, and compared with CS231n's state entry by entry",
         "adam": "adam keeps its state under the names of UCLA's ECE C147/239AS optim.py, config['v'] for "
                 "config['m'] and config['a'] for config['v']: accepted, and compared with CS231n's state entry by "
                 "entry"}[rule]]


def test_a_rule_with_uclas_names_is_held_to_the_course_values():
    # the names are read as CS231n's, the values are not excused: the moments swapped fail
    swapped = textwrap.dedent(UCLA["adam"]).replace('first = config["v"]', 'first = config["a"]').replace(
        'second = config["a"]', 'second = config["v"]')
    result = check_update(module(swapped), "adam")
    assert not result["passed"] and "differs from mathnn.optim_cs231n.adam" in result["diagnosis"]
    no_bias = textwrap.dedent(UCLA["adam"]).replace(' / (1 - config["beta1"] ** config["t"])', "").replace(
        ' / (1 - config["beta2"] ** config["t"])', "")
    result = check_update(module(no_bias), "adam")
    assert not result["passed"] and result["mistake"] == "no bias correction", result["diagnosis"]


def test_state_under_a_name_of_its_own_is_not_called_ignoring_the_hyperparameters():
    # right steps, the cache kept as config['s']: from config None the right rule and one that ignores config
    # agree, so the check says what is wrong (the key) and names no mistake
    source = textwrap.dedent(RIGHT["rmsprop"]).replace('config["cache"]', 'config["s"]').replace(
        'config.setdefault("cache"', 'config.setdefault("s"')
    result = check_update(module(source), "rmsprop")
    assert not result["passed"] and result["mistake"] is None
    assert result["diagnosis"].startswith("rmsprop returned a config without config['cache'] at step 1 of run 1")
    assert "ignores" not in result["diagnosis"]


def test_accepted_variants_pass_with_a_note():
    negated = textwrap.dedent(RIGHT["sgd_momentum"]).replace("v - config", "v + config").replace("w + v", "w - v")
    efficient = textwrap.dedent(RIGHT["adam"]).replace(
        'return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config',
        'lr = config["learning_rate"] * np.sqrt(1 - b2 ** config["t"]) / (1 - b1 ** config["t"])\n'
        '    return w - lr * config["m"] / (np.sqrt(config["v"]) + config["epsilon"]), config')
    # the lecture's v = ρv + dx, x −= α·v: the same steps as the course's v = μv − η·dw, w + v
    of_gradients = textwrap.dedent(RIGHT["sgd_momentum"]).replace(
        'v = config["momentum"] * v - config["learning_rate"] * dw', 'v = config["momentum"] * v + dw').replace(
        "w + v", 'w - config["learning_rate"] * v')
    for rule, source, note, name in (("sgd_momentum", negated, "opposite sign", "negated velocity"),
                                     ("sgd_momentum", of_gradients, "the lecture's first form", "velocity of gradients"),
                                     ("adam", efficient, "efficient form", "efficient form")):
        result = check_update(module(source), rule)
        assert result["passed"], result["diagnosis"]
        assert any(note in text for text in result["notes"]) and result["accepted"] == [name]
        assert len(set(result["notes"])) == len(result["notes"])  # both runs follow it: said once
        # every call counted, and the error is the one against the variant: within the pass mark
        assert result["steps"] == 2 * STEPS and result["max_error"] <= result["tolerance"]


def test_an_accepted_variant_is_held_to_the_pass_mark_not_the_mistake_mark():
    # the efficient form, off by a relative 1e-7 from the second step: close enough to be recognized at the
    # looser mark that names mistakes, too far to pass
    drifting = textwrap.dedent(RIGHT["adam"]).replace(
        'return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config',
        'lr = config["learning_rate"] * np.sqrt(1 - b2 ** config["t"]) / (1 - b1 ** config["t"])\n'
        '    lr *= 1 + 1e-7 * (config["t"] > 1)\n'
        '    return w - lr * config["m"] / (np.sqrt(config["v"]) + config["epsilon"]), config')
    result = check_update(module(drifting), "adam")
    assert not result["passed"] and result["accepted"] == [] and result["notes"] == []
    assert "adam follows no known form of adam over 6 steps (it matched 'efficient form' at first)" in \
        result["problems"]


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


# -- through `mathnn check` and `mathnn grade` -------------------------------------------------------

def optim_file(folder, *rules, name="optim.py", header="import numpy as np\n", replace=None):
    """A student's optim.py defining ``rules`` (RIGHT's versions, with ``replace``'s edits applied)."""
    source = header + "".join(textwrap.dedent(RIGHT[rule]) for rule in rules)
    for old, new in (replace or {}).items():
        assert old in source, old
        source = source.replace(old, new)
    path = folder / name
    path.write_text(source)
    return path


def run_check(capsys, *arguments):
    """``mathnn check`` in this process: (exit status, text report, JSON document) of the same run."""
    status = mathnn(["check", *map(str, arguments), "--seed", "5"])
    text = capsys.readouterr()
    json_status = mathnn(["check", *map(str, arguments), "--seed", "5", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert json_status == status
    return status, text.out + text.err, document


def test_a_correct_optim_file_passes_through_mathnn_check(tmp_path, capsys):
    path = optim_file(tmp_path, "sgd", "sgd_momentum", "rmsprop", "adam")
    status, text, document = run_check(capsys, path)
    assert status == 0, text
    assert "optim.py: 4 update rule(s), seed 5" in text and "4 of 4 update rule(s) passed" in text
    assert "adam: passed" in text and "note: sgd changes w in place; accepted" in text
    assert document["passed"] is True and document["error"] is None and document["functions"] == []
    assert [(rule["name"], rule["passed"], rule["steps"]) for rule in document["updates"]] == [
        ("sgd", True, 12), ("sgd_momentum", True, 12), ("rmsprop", True, 12), ("adam", True, 12)]


BUGGY_FILES = [
    ("adam", {'m_hat = config["m"] / (1 - b1 ** config["t"])': 'm_hat = config["m"]',
              'v_hat = config["v"] / (1 - b2 ** config["t"])': 'v_hat = config["v"]'},
     "no bias correction", "adam has no bias correction"),
    ("sgd_momentum", {"return w + v": "return w - v"}, "velocity sign", "sgd_momentum's velocity has the wrong sign"),
]


@pytest.mark.parametrize("rule, replace, mistake, message", BUGGY_FILES)
def test_a_buggy_rule_fails_mathnn_check_and_its_mistake_is_named(tmp_path, capsys, rule, replace, mistake, message):
    path = optim_file(tmp_path, "sgd", rule, replace=replace)
    status, text, document = run_check(capsys, path)
    assert status == 1, text
    assert f"{rule}: FAILED (known mistake: {mistake})\n" in text and f"\n  {message}" in text
    assert "sgd: passed" in text and f"1 of 2 update rule(s) passed; failed: {rule}" in text
    results = {result["name"]: result for result in document["updates"]}
    assert document["passed"] is False and list(results) == ["sgd", rule]
    assert results["sgd"]["passed"] is True and results["sgd"]["mistake"] is None
    assert results[rule]["passed"] is False and results[rule]["mistake"] == mistake
    assert results[rule]["diagnosis"].startswith(message)


def test_a_buggy_rule_scores_zero_on_gradescope_with_its_mistake(tmp_path, capsys):
    path = optim_file(tmp_path, "sgd", "adam", replace=BUGGY_FILES[0][1])
    assignment = tmp_path / "assignment.json"
    assignment.write_text(json.dumps({"pairs": [{"name": "sgd", "points": 1}, {"name": "adam", "points": 3},
                                                {"name": "relu", "points": 2}]}))
    results = tmp_path / "results.json"
    assert mathnn(["check", str(path), "--seed", "5", "--assignment", str(assignment), "--gradescope",
                   str(results)]) == 1
    capsys.readouterr()
    tests = {test["name"]: test for test in json.loads(results.read_text())["tests"]}
    assert list(tests) == ["sgd", "adam", "relu_forward / relu_backward"]
    assert (tests["sgd"]["score"], tests["sgd"]["max_score"]) == (1.0, 1.0)
    assert (tests["adam"]["score"], tests["adam"]["max_score"]) == (0.0, 3.0)
    assert tests["adam"]["output"].startswith("adam: FAILED (known mistake: no bias correction)")
    assert "adam has no bias correction" in tests["adam"]["output"]
    assert tests["relu_forward / relu_backward"]["score"] == 0.0
    assert "relu_forward and relu_backward are not defined in optim.py" in tests["relu_forward / relu_backward"]["output"]


def test_require_adam_on_a_file_without_adam_fails_and_says_so(tmp_path, capsys):
    path = optim_file(tmp_path, "sgd")
    status, text, document = run_check(capsys, path, "--require", "adam")
    assert status == 1, text
    assert "adam: FAILED\n  adam is not defined in optim.py" in text and "required but missing: adam" in text
    assert "1 of 2 update rule(s) passed; failed: adam" in text
    (adam,) = [result for result in document["updates"] if result["name"] == "adam"]
    assert adam["passed"] is False and adam["error"]["kind"] == "missing"
    assert document["coverage"]["missing"] == ["adam"]
    # asked for with --function rather than required: nothing is checked
    assert mathnn(["check", str(path), "--function", "adam"]) == 2
    assert "optim.py does not define adam" in capsys.readouterr().err


def test_an_unknown_rule_name_is_refused_naming_the_argument(tmp_path, capsys):
    path = optim_file(tmp_path, "sgd")
    assert check_main([str(path), "--require", "nesterov"]) == 2
    err = capsys.readouterr().err
    assert "argument --require: expected one of affine, " in err
    assert "or an update rule (sgd, sgd_momentum, rmsprop, adam); received 'nesterov'" in err
    with pytest.raises(InputError, match=r"pairs\[0\]: expected one of .* or an update rule .*received 'nadam'"):
        assignment = tmp_path / "assignment.json"
        assignment.write_text(json.dumps({"pairs": [{"name": "nadam"}]}))
        load_assignment(assignment)


def test_an_imported_rule_is_not_counted_as_the_students(tmp_path, capsys):
    # given.py holds a correct adam; the student's optim.py only imports it
    optim_file(tmp_path, "adam", name="given.py")
    path = optim_file(tmp_path, "sgd", header="import numpy as np\nfrom given import adam\n")
    status, text, document = run_check(capsys, path)
    assert status == 0, text
    assert [result["name"] for result in document["updates"]] == ["sgd"]
    assert document["coverage"]["imported"] == [{"name": "adam", "module": "given"}]
    assert "imported, not defined here: not checked: adam (from given)" in text
    assert "adam: " not in text
    # required, the imported adam (right as it is) is still not the student's
    status, text, document = run_check(capsys, path, "--require", "adam")
    assert status == 1, text
    assert {result["name"]: result["passed"] for result in document["updates"]} == {"sgd": True, "adam": False}
    assert "adam is not defined in optim.py" in text


def test_a_file_of_layers_and_rules_is_checked_in_one_report(tmp_path, capsys):
    from mathnn.gradcheck.examples import example_path

    path = optim_file(tmp_path, "adam", header=example_path("relu_kink").read_text() + "\nimport numpy as np\n",
                      replace=BUGGY_FILES[0][1])
    status, text, document = run_check(capsys, path)
    assert status == 1, text
    assert "1 function pair(s) and 1 update rule(s), seed 5" in text
    assert "1 of 1 function pair(s) and 0 of 1 update rule(s) passed; failed: adam" in text
    assert [result["name"] for result in document["functions"]] == ["relu"]
    assert document["functions"][0]["passed"] is True and document["updates"][0]["mistake"] == "no bias correction"
    # --function picks among both
    assert mathnn(["check", str(path), "--function", "relu", "--seed", "5"]) == 0
    assert "update rule" not in capsys.readouterr().out


def test_mathnn_grade_grades_each_students_update_rules(tmp_path):
    submissions = tmp_path / "submissions"
    (submissions / "alice" / "cs231n").mkdir(parents=True)
    (submissions / "bob").mkdir()
    optim_file(submissions / "alice" / "cs231n", "sgd", "adam")
    optim_file(submissions / "bob", "sgd", "adam", replace=BUGGY_FILES[0][1])
    grades = grade_folder(submissions, jobs=1, seed=5, assignment=load_assignment(_assignment(tmp_path)))
    rows = {(row["student"], row["pair"]): row for student in grades["students"] for row in student["pairs"]}
    assert {key: row["score"] for key, row in rows.items()} == {
        ("alice", "adam"): 2.0, ("alice", "sgd_momentum"): 0.0, ("bob", "adam"): 0.0, ("bob", "sgd_momentum"): 0.0}
    assert rows[("alice", "adam")]["reason"] == "passed"
    assert rows[("bob", "adam")]["reason"].startswith("adam has no bias correction")
    assert rows[("alice", "sgd_momentum")]["reason"] == "alice does not define sgd_momentum"
    assert mathnn(["grade", str(submissions), "--out", str(tmp_path / "out"), "--seed", "5", "--jobs", "1",
                   "--require", "adam"]) == 0
    with open(tmp_path / "out" / "grades.csv", newline="", encoding="utf-8") as stream:
        table = [(row["student"], row["pair"], row["score"]) for row in csv.DictReader(stream)]
    assert table == [("alice", "adam", "1.0"), ("bob", "adam", "0.0")]


def _assignment(folder):
    path = folder / "assignment.json"
    path.write_text(json.dumps({"pairs": [{"name": "adam", "points": 2}, {"name": "sgd_momentum"}]}))
    return path
