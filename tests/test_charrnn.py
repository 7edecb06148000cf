"""mathnn.models.CharRNN and the `mathnn charrnn` / `mathnn tag` commands: what the model learns, that its fast
training is the same arithmetic as the layers, files, reproducibility and every error.

Agreement with the layers is measured as max |a − b| (losses, nats/char) and as normwise relative error
max |a − b| / max |b| (weights).
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

from mathnn.models import CharRNN, unigram_loss
from mathnn.cli import main
from mathnn.data import load_text
from mathnn.errors import InputError
from mathnn.layers import (
    rnn_backward,
    rnn_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)
from mathnn.optim import adagrad, clip_by_value
from mathnn.progress import progress

HELLO = "hello" * 40


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture(scope="module")
def hello_model() -> CharRNN:
    model = CharRNN(hidden_size=16, seq_length=7, seed=0)
    model.fit(HELLO, steps=300, progress=False)
    return model


def _raises(message):
    return pytest.raises(InputError, match=f"^{re.escape(message)}$")


# -- what it learns -------------------------------------------------------------------------------------

def test_hello_is_learned(hello_model):
    predicted = {prefix: hello_model.vocabulary[int(np.argmax(hello_model.probabilities(prefix)))]
                 for prefix in ("h", "he", "hel", "hell", "hello")}
    # 'l' follows "he" and "hel" alike, but then "hel" → 'l' and "hell" → 'o': the state remembers how many
    assert predicted == {"h": "e", "he": "l", "hel": "l", "hell": "o", "hello": "h"}
    assert min(hello_model.probabilities(prefix).max() for prefix in ("he", "hel", "hell")) > 0.95
    assert hello_model.sample("h", 9, temperature=0.01) == "ellohello"


def test_a_short_run_on_the_default_text_beats_the_unigram_baseline():
    text = load_text()
    model = CharRNN(seed=0)
    losses = model.fit(text, steps=2000, progress=False)
    assert len(losses) == 2000 and all(isinstance(loss, float) for loss in losses)
    assert abs(losses[0] - math.log(64)) < 0.01  # small initial weights: a uniform prediction over 64 characters
    baseline = unigram_loss(text)
    assert baseline == pytest.approx(3.0123, abs=1e-4)
    # measured: 2.41 nats/char after 2000 steps (about 3.7 passes over the text), against 3.01
    assert model.loss(text) < baseline - 0.45
    assert np.mean(losses[-100:]) < baseline - 0.45


def test_sgd_trains_too():
    model = CharRNN(hidden_size=16, seq_length=7, learning_rate=0.05, optimizer="sgd", seed=1)
    losses = model.fit(HELLO, steps=300, progress=False)
    assert abs(losses[0] - math.log(4)) < 0.01 and np.mean(losses[-20:]) < 0.5


def test_unigram_loss_values():
    assert unigram_loss("aaaa") == 0.0
    assert unigram_loss("aab") == pytest.approx(-(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)), rel=1e-15)
    assert unigram_loss("abcd") == pytest.approx(math.log(4), rel=1e-15)
    with _raises("text: expected a str of at least 1 characters (the text whose character frequencies are measured); "
                 "received a str of 0 characters"):
        unigram_loss("")


# -- the fast training is the layers' arithmetic ---------------------------------------------------------------

def reference_training(text: str, vocabulary: str, params: dict, steps: int, seq_length: int,
                       learning_rate: float, clip: float) -> tuple[list[float], dict]:
    """min-char-rnn's loop written with mathnn.layers (N = 1 sequence) and mathnn.optim."""
    params = {name: value.copy() for name, value in params.items()}
    memory: dict = {}
    index = {character: i for i, character in enumerate(vocabulary)}
    data = [index[character] for character in text]
    onehot = np.eye(len(vocabulary))
    hidden = params["Wh"].shape[0]
    h_before, position, losses = np.zeros((1, hidden)), 0, []
    for _ in range(steps):
        if position + seq_length + 1 > len(data):
            h_before, position = np.zeros((1, hidden)), 0
        x = onehot[data[position : position + seq_length]][np.newaxis]
        y = np.array([data[position + 1 : position + seq_length + 1]])
        h, rnn_cache = rnn_forward(x, h_before, params["Wx"], params["Wh"], params["b"])
        scores, affine_cache = temporal_affine_forward(h, params["Wy"], params["by"])
        loss, dscores = temporal_softmax_loss(scores, y, np.ones(y.shape, dtype=bool))
        dh, dWy, dby = temporal_affine_backward(dscores, affine_cache)
        _, _, dWx, dWh, db = rnn_backward(dh, rnn_cache)
        grads = clip_by_value({"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby}, clip)
        adagrad(params, grads, memory, learning_rate)
        losses.append(float(loss) / seq_length)
        h_before, position = h[:, -1], position + seq_length
    return losses, params


def test_fit_is_the_layers_arithmetic_with_clipping_carried_state_and_wrap_around():
    # 31 characters, T = 5: chunks at 0, 5, …, 25, then back to 0 with a zero state, six times over
    text = "the cat sat on the mat, it sat."
    model = CharRNN(hidden_size=8, seq_length=5, learning_rate=0.02, clip=0.1, seed=3)
    model.initialize(text)
    initial = {name: value.copy() for name, value in model.params.items()}
    losses = model.fit(text, steps=40, progress=False)
    expected_losses, expected_params = reference_training(text, model.vocabulary, initial, 40, 5, 0.02, 0.1)
    assert max(abs(a - b) for a, b in zip(losses, expected_losses, strict=True)) <= 1e-12
    for name, value in model.params.items():
        reference = expected_params[name]
        assert np.abs(value - reference).max() / np.abs(reference).max() <= 1e-12, name


def test_clipping_is_active_in_that_comparison():
    """Without clipping the weights end elsewhere: the comparison above does exercise the clip."""
    text = "the cat sat on the mat, it sat."
    clipped, unclipped = (CharRNN(hidden_size=8, seq_length=5, learning_rate=0.02, clip=clip, seed=3) for clip in (0.1, None))
    clipped.fit(text, steps=40, progress=False)
    unclipped.fit(text, steps=40, progress=False)
    assert np.abs(clipped.params["Wy"] - unclipped.params["Wy"]).max() > 1e-3


def test_loss_is_the_layers_forward_pass(hello_model):
    text = "hellohel"
    encoded = [hello_model.vocabulary.index(c) for c in text]
    x = np.eye(len(hello_model.vocabulary))[encoded[:-1]][np.newaxis]
    p = hello_model.params
    h, _ = rnn_forward(x, np.zeros((1, 16)), p["Wx"], p["Wh"], p["b"])
    scores, _ = temporal_affine_forward(h, p["Wy"], p["by"])
    loss, _ = temporal_softmax_loss(scores, np.array([encoded[1:]]), np.ones((1, 7), dtype=bool))
    assert abs(hello_model.loss(text) - loss / 7) <= 1e-15
    probabilities = np.exp(scores[0, -1] - scores[0, -1].max())
    np.testing.assert_allclose(hello_model.probabilities(text[:-1]), probabilities / probabilities.sum(), rtol=1e-13)


# -- sampling ---------------------------------------------------------------------------------------------

def test_sampling_is_reproducible(hello_model):
    first = hello_model.sample("he", 50, temperature=1.5)
    assert first == hello_model.sample("he", 50, temperature=1.5)
    assert first == hello_model.sample("he", 50, temperature=1.5, seed=hello_model.seed)
    assert first != hello_model.sample("he", 50, temperature=1.5, seed=1)
    assert len(first) == 50 and set(first) <= set(hello_model.vocabulary)
    assert hello_model.sample("he", 0) == ""
    assert len(hello_model.sample("", 5)) == 5


def test_temperature_sharpens_and_flattens(hello_model):
    # at a high temperature the draws spread over the vocabulary; at a low one they follow the argmax
    hot = hello_model.sample("h", 400, temperature=50.0)
    assert set(hot) == set(hello_model.vocabulary)
    assert hello_model.sample("h", 400, temperature=0.05) == ("hello" * 81)[1:401]


@pytest.mark.parametrize(
    ("temperature", "received"),
    [(0, "0.0"), (-1.0, "-1.0")],
)
def test_temperature_must_be_positive(hello_model, temperature, received):
    with _raises(f"temperature: expected a finite real number > 0 (scores are divided by it before the softmax); "
                 f"received {received}"):
        hello_model.sample("h", 5, temperature=temperature)


@pytest.mark.parametrize(("temperature", "received"), [(float("nan"), "float nan"), (float("inf"), "float inf"),
                                                       ("1", "str '1'")])
def test_temperature_must_be_a_finite_number(hello_model, temperature, received):
    with _raises(f"temperature: expected a finite real number (> 0, scores are divided by it before the softmax); "
                 f"received {received}"):
        hello_model.sample("h", 5, temperature=temperature)


def test_sample_errors(hello_model):
    with _raises("prefix: expected characters of the model's vocabulary (4 characters seen in training); "
                 "received unknown character(s) 'H', 'x'"):
        hello_model.sample("Hexx", 5)
    with _raises("prefix: expected a str; received int 3"):
        hello_model.sample(3, 5)
    with _raises("n: expected an integer ≥ 0 (the number of characters to generate); received int -1"):
        hello_model.sample("h", -1)
    with _raises("model: expected a trained model (call fit first, or CharRNN.load); received one without weights"):
        CharRNN().sample("h", 5)
    with _raises("model: expected a trained model (call fit first, or CharRNN.load); received one without weights"):
        CharRNN().loss("hello")


# -- argument checks ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"hidden_size": 0}, "hidden_size: expected an integer ≥ 1 (the number of hidden units H); received int 0"),
        ({"hidden_size": 2.0}, "hidden_size: expected an integer ≥ 1 (the number of hidden units H); received float 2.0"),
        ({"seq_length": True}, "seq_length: expected an integer ≥ 1 (characters per training chunk T); received bool True"),
        ({"learning_rate": 0}, "learning_rate: expected a finite real number > 0 (the step size η); received 0.0"),
        ({"optimizer": "adam"}, "optimizer: expected 'adagrad' or 'sgd'; received str 'adam'"),
        ({"seed": -1}, "seed: expected an integer ≥ 0 (the random seed); received int -1"),
        ({"clip": -5.0}, "clip: expected a finite real number > 0 (gradient entries are clipped to [−clip, clip]); "
                         "received -5.0"),
    ],
)
def test_constructor_checks(settings, message):
    with _raises(message):
        CharRNN(**settings)


def test_fit_checks():
    model = CharRNN(hidden_size=4, seq_length=5)
    with _raises("steps: expected an integer ≥ 1 (the number of training chunks); received int 0"):
        model.fit("hello world", 0)
    with _raises("text: expected a str of at least 6 characters (seq_length + 1 = 6: one chunk and its targets); "
                 "received a str of 5 characters"):
        model.fit("hello", 10)
    with _raises("text: expected a str of at least 6 characters (seq_length + 1 = 6: one chunk and its targets); "
                 "received bytes b'hello world'"):
        model.fit(b"hello world", 10)
    assert model.params == {}  # nothing was initialized by the failed calls
    model.fit("hello world", 2, progress=False)
    with _raises("text: expected characters of the model's vocabulary (8 characters seen in training); "
                 "received unknown character(s) '!', 'H'"):
        model.fit("Hello world!", 2)
    with _raises("text: expected a str of at least 2 characters (at least one character to predict from the one "
                 "before it); received a str of 1 characters"):
        model.loss("h")


# -- files ----------------------------------------------------------------------------------------------------

def test_save_and_load_give_the_same_model(hello_model, tmp_path):
    path = tmp_path / "hello.model"  # any name: nothing is appended
    hello_model.save(path)
    assert path.exists() and not (tmp_path / "hello.model.npz").exists()
    loaded = CharRNN.load(path)
    assert loaded.vocabulary == hello_model.vocabulary
    assert repr(loaded) == repr(hello_model)
    for name, value in hello_model.params.items():
        np.testing.assert_array_equal(loaded.params[name], value)
    assert loaded.sample("hel", 60, temperature=1.3) == hello_model.sample("hel", 60, temperature=1.3)
    assert loaded.loss(HELLO) == hello_model.loss(HELLO)


def test_training_continues_identically_after_load(tmp_path):
    text = "the cat sat on the mat, it sat."
    original = CharRNN(hidden_size=8, seq_length=5, seed=2, clip=None)
    original.fit(text, 10, progress=False)
    original.save(tmp_path / "m.npz")
    copy = CharRNN.load(tmp_path / "m.npz")
    assert copy.clip is None
    assert copy.fit(text, 10, progress=False) == original.fit(text, 10, progress=False)  # Adagrad memory was saved


def _saved_arrays(model: CharRNN, path) -> dict:
    model.save(path)
    with np.load(path) as archive:
        return {name: archive[name] for name in archive.files}


def _damaged_files(model, folder):
    """(file, what the message says is wrong) for every kind of bad file."""
    arrays = _saved_arrays(model, folder / "good.npz")
    good = (folder / "good.npz").read_bytes()
    cases = []

    def write(name, content):
        path = folder / name
        path.write_bytes(content)
        return path

    def npz(name, **changes):
        path = folder / name
        np.savez(path, **{**arrays, **changes})
        return path

    cases.append((folder / "missing.npz", "does not exist"))
    cases.append((folder, "is a folder"))
    cases.append((write("empty.npz", b""), "is empty"))
    cases.append((write("text.npz", b"hello world"), "is not an .npz archive (an .npz file is a zip archive; "
                                                       "this one starts with b'hell')"))
    np.save(folder / "array.npy", np.ones(3))
    cases.append((folder / "array.npy", "is a single .npy array, not an .npz archive"))
    cases.append((write("truncated.npz", good[: len(good) // 2]),
                  "is a damaged or truncated .npz archive (BadZipFile: File is not a zip file)"))
    corrupt = bytearray(good)
    with zipfile.ZipFile(folder / "good.npz") as archive:
        member = archive.getinfo("Wh.npy")
    middle = member.header_offset + 200
    corrupt[middle : middle + 40] = bytes(40)
    cases.append((write("corrupt.npz", bytes(corrupt)),
                  "is a damaged or truncated .npz archive (BadZipFile: Bad CRC-32 for file 'Wh.npy')"))
    np.savez(folder / "other.npz", weights=np.ones(3))
    cases.append((folder / "other.npz", "is not a CharRNN model file (missing format, format_version, vocabulary, "
                                        "hidden_size, seq_length, learning_rate, optimizer, seed, clip, Wx, Wh, b, Wy, by)"))
    cases.append((npz("format.npz", format=np.array("something.else")),
                  "is not a CharRNN model file (its format is something.else, expected mathnn.charrnn)"))
    cases.append((npz("version.npz", format_version=np.array(2)), "has format version 2; this mathnn reads version 1"))
    cases.append((npz("shape.npz", Wh=np.ones((16, 15))),
                  "is inconsistent: Wh has array of dtype float64 and shape (16, 15), expected float64 of shape (16, 16) "
                  "(V = 4 characters, H = 16)"))
    cases.append((npz("hidden.npz", hidden_size=np.array(15)),
                  "is inconsistent: Wx has array of dtype float64 and shape (4, 16), expected float64 of shape (4, 15) "
                  "(V = 4 characters, H = 15)"))
    cases.append((npz("vocabulary.npz", vocabulary=arrays["vocabulary"][:3]),
                  "is inconsistent: Wx has array of dtype float64 and shape (4, 16), expected float64 of shape (3, 16) "
                  "(V = 3 characters, H = 16)"))
    cases.append((npz("order.npz", vocabulary=arrays["vocabulary"][::-1]),
                  "holds an invalid vocabulary (not sorted, distinct characters)"))
    nan_weights = arrays["Wy"].copy()
    nan_weights[0, 0] = np.nan
    cases.append((npz("nan.npz", Wy=nan_weights), "is damaged: Wy holds non-finite values"))
    cases.append((npz("memory.npz", memory_Wh=-np.ones((16, 16))), "is damaged: memory_Wh holds negative or non-finite values"))
    cases.append((npz("rate.npz", learning_rate=np.array(-1.0)),
                  "holds invalid hyper-parameters (learning_rate: expected a finite real number > 0 (the step size η); "
                  "received -1.0)"))
    cases.append((npz("optimizer.npz", optimizer=np.array("adam")),
                  "holds invalid hyper-parameters (optimizer: expected 'adagrad' or 'sgd'; received str 'adam')"))
    return cases


def test_every_bad_file_is_one_clear_error(hello_model, tmp_path):
    for path, problem in _damaged_files(hello_model, tmp_path):
        with _raises(f"path: expected a CharRNN model file written by CharRNN.save; {str(path)!r} {problem}"):
            CharRNN.load(str(path))


def test_save_needs_weights_and_a_writable_path(hello_model, tmp_path):
    with _raises("model: expected a trained model (call fit first, or CharRNN.load); received one without weights"):
        CharRNN().save(tmp_path / "x.npz")
    with pytest.raises(InputError, match=r"^path: expected a writable file path; could not write .*no-such-folder"):
        hello_model.save(tmp_path / "no-such-folder" / "x.npz")


# -- progress and imports -----------------------------------------------------------------------------------------

class _Terminal:
    """A stand-in for a terminal stderr: what the progress line writes."""

    def __init__(self):
        self.written = []

    def isatty(self):
        return True

    def write(self, text):
        self.written.append(text)

    def flush(self):
        pass


def test_progress_shows_the_smoothed_loss_on_a_terminal_and_in_a_log(monkeypatch, capsys):
    import mathnn.progress

    model = CharRNN(hidden_size=4, seq_length=5, seed=0)
    model.fit("hello world", 3)
    assert capsys.readouterr().err == ""  # pytest's stderr is not a terminal, and 3 steps end at once
    monkeypatch.setattr(mathnn.progress, "PLAIN_INTERVAL", 0.0)  # as if each step took longer than the interval
    losses = model.fit("hello world", 3)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["training: 1/3", "training: 2/3", "training: 3/3"]
    assert lines[-1].endswith(f"loss {np.mean(losses):.3f} nats/char")
    monkeypatch.undo()
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    losses = model.fit("hello world", 3)
    shown = "".join(terminal.written)
    assert "3/3" in shown and f"loss {np.mean(losses):.3f} nats/char" in shown
    terminal.written.clear()
    model.fit("hello world", 3, progress=False)
    assert terminal.written == []


def test_the_status_is_asked_for_only_when_drawn():
    def status():
        raise AssertionError("called although nothing is drawn")

    assert list(progress(range(4), 4, "counting", status=status)) == [0, 1, 2, 3]  # stderr is not a terminal here
    assert list(progress(range(4), 4, "counting", enabled=False, status=status)) == [0, 1, 2, 3]


def test_the_models_package_exports_both_models():
    import mathnn.models
    from mathnn.models import charrnn, tagger

    assert mathnn.models.CharRNN is charrnn.CharRNN and mathnn.models.unigram_loss is charrnn.unigram_loss
    for name in ("SENTENCES", "TAGS", "UNKNOWN", "RNNTagger", "split_words", "train_tagger"):
        assert getattr(mathnn.models, name) is getattr(tagger, name), name
    assert sorted(mathnn.models.__all__) == sorted(
        ["CharRNN", "unigram_loss", "SENTENCES", "TAGS", "UNKNOWN", "RNNTagger", "split_words", "train_tagger"]
    )


def test_the_models_do_not_import_sympy():
    code = "import sys, mathnn.models, mathnn.cli; print('sympy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# -- the command line ------------------------------------------------------------------------------------------------

def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mathnn", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_train_then_sample(tmp_path, capsys):
    text = tmp_path / "hello.txt"
    text.write_text(HELLO)
    model = tmp_path / "hello.npz"
    assert main(["charrnn", "train", "--text", str(text), "--steps", "300", "--hidden", "16", "--out", str(model)]) == 0
    out = capsys.readouterr().out
    assert f"on {str(text)!r}: 200 characters, 4 distinct" in out
    assert re.search(r"^1–30 +\d\.\d{3}$", out, re.MULTILINE)
    assert f"unigram baseline (character frequencies):   {unigram_loss(HELLO):.3f} nats/char" in out
    trained = float(re.search(r"on the whole text: (\d\.\d+)", out).group(1))
    assert trained < 0.1 < unigram_loss(HELLO)
    assert f"saved to {model}" in out
    assert main(["charrnn", "sample", "--model", str(model), "--prefix", "hel", "--n", "12", "--temperature", "0.1"]) == 0
    assert capsys.readouterr().out == "hellohellohello\n"
    assert main(["charrnn", "sample", "--model", str(model), "--n", "30", "--seed", "4"]) == 0
    assert capsys.readouterr().out == CharRNN.load(model).sample("", 30, seed=4) + "\n"


def test_cli_tag(capsys):
    assert main(["tag", "I work at google"]) == 0
    assert capsys.readouterr().out == "I/pronoun work/verb at/preposition google/noun\n"
    assert main(["tag", "I work , at google ."]) == 0  # punctuation on its own is not a word
    assert capsys.readouterr().out == "I/pronoun work/verb at/preposition google/noun\n"
    assert main(["tag", "I work at Amazon."]) == 0
    assert capsys.readouterr().out == ("I/pronoun work/verb at/preposition Amazon/noun\n"
                                       "   (not seen in training, read as <unk>: Amazon)\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("charrnn", "train", "--steps", "0"), "argument --steps: expected an integer ≥ 1; received '0'"),
        (("charrnn", "train", "--hidden", "many"), "argument --hidden: expected an integer ≥ 1; received 'many'"),
        (("charrnn", "train", "--text", "missing.txt"), "--text: cannot read 'missing.txt' (No such file or directory)"),
        (("charrnn", "train", "--text", "short.txt"), "--text: expected at least 26 characters to train on; 'short.txt' has 5"),
        (("charrnn", "train", "--text", "latin1.txt"), "--text: 'latin1.txt' is not UTF-8 text (invalid continuation byte at byte 1)"),
        (("charrnn", "train", "--out", "nowhere/m.npz"), "--out: cannot write 'nowhere/m.npz': the folder"),
        (("charrnn", "sample", "--model", "missing.npz"),
         "--model: expected a CharRNN model file written by CharRNN.save; 'missing.npz' does not exist"),
        (("charrnn", "sample", "--model", "short.txt"),
         "--model: expected a CharRNN model file written by CharRNN.save; 'short.txt' is not an .npz archive"),
        (("charrnn", "sample"), "the following arguments are required: --model"),
        (("charrnn", "sample", "--model", "m.npz", "--temperature", "-1"),
         "argument --temperature: expected a finite number > 0; received '-1'"),
        (("charrnn", "sample", "--model", "m.npz", "--n", "2.5"), "argument --n: expected an integer ≥ 0; received '2.5'"),
        (("charrnn", "sample", "--model", "m.npz", "--prefix", "Hi"),
         "--prefix: expected characters of the model's vocabulary (9 characters seen in training); "
         "received unknown character(s) 'H', 'i'"),
        (("charrnn",), "the following arguments are required: COMMAND"),
        (("tag", " ... "), "SENTENCE: expected at least one word; received ' ... '"),
        (("tag", "I work", "--steps", "-3"), "argument --steps: expected an integer ≥ 1; received '-3'"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else "",
)
def test_cli_misuse_is_one_message_and_exit_2(tmp_path, args, message):
    (tmp_path / "short.txt").write_text("hello")
    (tmp_path / "latin1.txt").write_bytes("né".encode("latin-1") + b" plus some more text to be long enough")
    model = CharRNN(hidden_size=4, seq_length=5)
    model.fit("hello, world", 1, progress=False)
    model.save(tmp_path / "m.npz")
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if "error:" in line]) == 1


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_cells_learn_and_round_trip_through_a_file(cell, tmp_path):
    text = "the cat sat on the mat. " * 30
    model = CharRNN(hidden_size=24, seq_length=12, seed=1, cell=cell)
    losses = model.fit(text, 300, progress=False)
    assert np.mean(losses[-50:]) < unigram_loss(text) - 0.5  # far below the character frequencies
    assert model.params["Wh"].shape == (24, {"lstm": 4, "gru": 3}[cell] * 24)
    path = tmp_path / "model.npz"
    model.save(path)
    again = CharRNN.load(path)
    assert again.cell == cell and again.loss(text) == pytest.approx(model.loss(text), rel=1e-12)
    assert again.sample("the", 30, seed=3) == model.sample("the", 30, seed=3)


def test_the_lstm_scores_text_as_it_was_trained_its_cell_restarting_every_chunk():
    text = "abcdefgh" * 40
    model = CharRNN(hidden_size=8, seq_length=8, seed=0, cell="lstm")
    model.fit(text, 50, progress=False)
    encoded = model._encode(text, "text")
    stepped = np.concatenate([model._state(encoded[:t + 1])[0] for t in range(len(encoded))])
    np.testing.assert_allclose(model._read(encoded), stepped, rtol=0, atol=1e-12)  # scoring and sampling agree


def test_a_file_written_before_cells_loads_as_the_rnn(tmp_path):
    model = CharRNN(hidden_size=4, seq_length=5, seed=0)
    model.fit("hello world, hello mathnn", 5, progress=False)
    path = tmp_path / "old.npz"
    model.save(path)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files if name != "cell"}
    with open(path, "wb") as file:
        np.savez(file, **arrays)
    assert CharRNN.load(path).cell == "rnn"
    with pytest.raises(InputError, match="cell: expected one of 'rnn', 'lstm', 'gru'"):
        CharRNN(cell="transformer")
