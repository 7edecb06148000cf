"""The proof cache: hits only for an unchanged declaration, never keeps a failure, survives bad files."""

import json
import shutil
import threading
from dataclasses import dataclass, replace

import pytest
import sympy as sp

from mathnn import cachestats
from mathnn.cli import main
from mathnn.rules import RULES, get
from mathnn.rules import cache as proof_cache
from mathnn.rules.activations import max_derivative_fact, x
from mathnn.rules.cache import cache_dir, proof_key, proven


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """A cache folder of this test's own, and counters from zero."""
    folder = tmp_path / "proofs"
    monkeypatch.setenv("MATHNN_CACHE_DIR", str(folder))
    monkeypatch.setattr(proof_cache, "STATS", proof_cache.CacheStats())
    return folder


def counts():
    return proof_cache.STATS.hits, proof_cache.STATS.misses, proof_cache.STATS.stored


def claims(proof):
    return [(c.statement, c.latex, c.method, c.holds) for c in proof.claims]


def test_an_unchanged_rule_is_proven_once_then_read_back_equal(empty_cache):
    rule = get("relu")
    first = proven(rule)
    assert counts() == (0, 1, 1)
    key = proof_key(rule)
    assert sorted(path.name for path in empty_cache.iterdir()) == [f"relu-{key}.json", f"relu-{key}.lock"]
    second = proven(rule)
    assert counts() == (1, 1, 1)
    assert second.holds and second.rule == "relu"
    assert claims(second) == claims(first) == claims(rule.prove())


def test_a_changed_declaration_misses_and_its_failure_is_never_stored(empty_cache):
    rule = get("relu")
    proven(rule)
    wrong = replace(rule, closed_forms={x: sp.Integer(1)})  # forgets that ReLU′ is 0 for x ≤ 0
    assert proof_key(wrong) != proof_key(rule)
    for attempt in (1, 2):
        proof = proven(wrong)
        assert not proof.holds
        assert any("closed form" in c.statement and not c.holds for c in proof.claims)
        assert counts() == (0, 1 + attempt, 1)
    assert len(list(empty_cache.glob("*.json"))) == 1


#: Set once a second caller has looked in the cache (see test_two_processes_asking_at_once_prove_a_rule_once).
RELEASE = threading.Event()
PROVERS: list[str] = []


@dataclass(frozen=True)
class HeldRule:
    """A rule whose proof waits for ``RELEASE``: the first prover holds it while a second caller asks."""

    name: str

    def prove(self):
        PROVERS.append(threading.current_thread().name)
        assert RELEASE.wait(60), "the second caller never looked in the cache"
        return replace(get("relu").prove(), rule=self.name)


def test_two_processes_asking_at_once_prove_a_rule_once(empty_cache, monkeypatch):
    """The second caller waits on the first one's lock and reads its proof instead of proving it again."""
    rule = HeldRule("held")
    load = proof_cache._load

    def watched(path, name):
        if threading.current_thread().name == "second":
            RELEASE.set()  # the second caller has looked in the cache: let the first one finish
        return load(path, name)

    monkeypatch.setattr(proof_cache, "_load", watched)
    RELEASE.clear()
    PROVERS.clear()
    first = threading.Thread(target=proven, args=(rule,), name="first")
    first.start()
    while not PROVERS:  # the first caller is proving (and holds the lock)
        first.join(0.01)
    results = []
    second = threading.Thread(target=lambda: results.append(proven(rule)), name="second")
    second.start()
    first.join(60)
    second.join(60)
    assert PROVERS == ["first"]
    assert results[0].holds and results[0].rule == "held"
    assert counts() == (1, 1, 1)


def test_no_cache_proves_again_and_refreshes_the_file(empty_cache):
    rule = get("relu")
    proven(rule)
    path = empty_cache / f"relu-{proof_key(rule)}.json"
    path.write_text("{}", encoding="utf-8")
    assert proven(rule, cache=False).holds
    assert counts() == (0, 2, 2)
    assert json.loads(path.read_text(encoding="utf-8"))["rule"] == "relu"


@pytest.mark.parametrize("damage", ["truncated", "not json", "wrong rule", "a stored failure"])
def test_a_corrupted_file_is_ignored_and_rewritten(empty_cache, damage):
    rule = get("relu")
    proven(rule)
    path = empty_cache / f"relu-{proof_key(rule)}.json"
    good = path.read_text(encoding="utf-8")
    data = json.loads(good)
    if damage == "truncated":
        path.write_text(good[: len(good) // 2], encoding="utf-8")
    elif damage == "not json":
        path.write_bytes(b"\xff\xfe\x00garbage")
    elif damage == "wrong rule":
        path.write_text(json.dumps({**data, "rule": "tanh"}), encoding="utf-8")
    else:
        data["claims"][0]["holds"] = False
        path.write_text(json.dumps(data), encoding="utf-8")
    proof = proven(rule)
    assert proof.holds
    assert counts() == (0, 2, 2)
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(good) | {"seconds": proof.seconds}
    proven(rule)
    assert counts() == (1, 2, 2)


def test_an_unwritable_folder_still_proves_and_warns_once(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("MATHNN_CACHE_DIR", str(blocker / "proofs"))
    monkeypatch.setattr(proof_cache, "STATS", proof_cache.CacheStats())
    monkeypatch.setattr(cachestats, "_warned", set())
    assert proven(get("relu")).holds and proven(get("leaky_relu")).holds
    assert counts() == (0, 2, 0)
    err = capsys.readouterr().err
    assert err.count("not caching proofs") == 1 and str(blocker) in err


def test_closures_of_one_factory_and_nested_fields_change_the_key():
    rule = get("relu")
    keys = {
        proof_key(rule),
        proof_key(replace(rule, facts=(max_derivative_fact(sp.Integer(1), 1),))),
        proof_key(replace(rule, facts=(max_derivative_fact(sp.Integer(2), 1),))),
        proof_key(replace(rule, declared=(replace(rule.kernels[0], summary="another"), *rule.kernels[1:]))),
        proof_key(replace(rule, kinks=(replace(rule.kinks[0], value=sp.Rational(1, 2)),))),
        proof_key(replace(rule, domain={x: (-3.0, 3.5)})),
    }
    assert len(keys) == 6
    assert proof_key(rule) == proof_key(replace(rule))  # an equal copy is the same declaration


def test_losses_key_on_their_fused_kernel_their_targets_and_their_facts():
    keys = {name: proof_key(RULES[name]) for name in ("svm", "softmax_ce")}
    assert len(set(keys.values())) == 2
    softmax, svm = RULES["softmax_ce"], RULES["svm"]
    kernel = replace(softmax.loss.kernel, summary="another")
    assert proof_key(replace(softmax, loss=replace(softmax.loss, kernel=kernel))) != keys["softmax_ce"]
    assert proof_key(replace(softmax, one_hot=())) != keys["softmax_ce"]
    assert proof_key(replace(svm, loss=replace(svm.loss, facts=()))) != keys["svm"]
    assert proof_key(replace(svm)) == keys["svm"]  # an equal copy is the same declaration


def test_a_recurrence_keys_on_its_step_and_its_slips():
    rnn = RULES["rnn"]
    key = proof_key(rnn)
    assert proof_key(replace(rnn, slips=rnn.slips[:1])) != key
    step = replace(rnn.step, proof_sizes=rnn.step.proof_sizes[:1])
    assert proof_key(replace(rnn, step=step)) != key


def test_a_change_to_the_engine_source_changes_every_key(tmp_path, monkeypatch):
    before = {name: proof_key(rule) for name, rule in RULES.items()}
    engine = tmp_path / "rules"
    shutil.copytree(proof_cache.RULES_DIR, engine)
    with open(engine / "textprint.py", "a", encoding="utf-8") as file:
        file.write("\n# an edit\n")
    monkeypatch.setattr(proof_cache, "RULES_DIR", engine)
    after = {name: proof_key(rule) for name, rule in RULES.items()}
    assert all(after[name] != before[name] for name in RULES)


def test_the_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MATHNN_CACHE_DIR", str(tmp_path / "here"))
    assert cache_dir() == tmp_path / "here"
    monkeypatch.delenv("MATHNN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "mathnn" / "proofs"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "mathnn" / "proofs"


def test_derive_and_verify_read_the_cache_unless_told_not_to(empty_cache, capsys):
    assert main(["derive", "relu"]) == 0
    assert counts() == (0, 1, 1)
    assert main(["verify", "relu", "--points", "50"]) == 0
    assert counts() == (1, 1, 1)
    assert main(["derive", "relu", "--no-cache"]) == 0 and main(["verify", "relu", "--points", "50", "--no-cache"]) == 0
    assert counts() == (1, 3, 3)
    assert "Proof (all claims hold" in capsys.readouterr().out


def test_a_layer_rules_tuned_kernels_and_identities_are_part_of_its_key():
    batchnorm = RULES["batchnorm"]
    assert batchnorm.tuned is not None
    tuned = replace(batchnorm.tuned, backward=replace(batchnorm.tuned.backward,
                                                      statements=batchnorm.tuned.backward.statements[:-1]))
    keys = {proof_key(batchnorm), proof_key(replace(batchnorm, tuned=tuned)),
            proof_key(replace(batchnorm, identities=batchnorm.identities[:1]))}
    assert len(keys) == 3
