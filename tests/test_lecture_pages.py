"""The lecture pages as text: the slide quote each opens with, the exercises' answers (recomputed with
mathnn), the home page's list of the lecture, the glossary's links and the Leaky ReLU condition."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import sympy
import yaml
from markdown.extensions.toc import slugify

import mathnn
from mathnn.experiments import CELLS, bound_verdict, lag_ratios
from mathnn.experiments.lecture_figures import largest_stable_rate
from mathnn.layers import batchnorm_backward, batchnorm_forward, rnn_backward, rnn_forward, softmax_loss
from mathnn.models import CharRNN
from mathnn.optim import clip_by_global_norm, sgd

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def lecture_nav() -> list[str]:
    """The lecture pages in the order of mkdocs.yml's nav, as paths under docs/."""
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    section = next(entry["The lecture"] for entry in nav if isinstance(entry, dict) and "The lecture" in entry)
    return [next(iter(item.values())) for item in section]


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# -- the slide's words ---------------------------------------------------------------------------------

SLIDE_WORDS = {
    "lecture/rnn.md": "`W_hh*(x_2)+W_xh*(x_1)+b`",
    "lecture/recurrence.md": "`W_hh*(x_2)+W_xh*(x_1)+b`",
    "lecture/next-character.md": "“다음 글자를 예측하는 모델 만들기”",
    "lecture/vanishing.md": "“관련 정보와 그 정보를 사용하는 지점 사이 거리가 멀 경우 RNN 학습능력 저하”",
    "lecture/remedies.md": "“관련 정보와 그 정보를 사용하는 지점 사이 거리가 멀 경우 RNN 학습능력 저하”",
    "lecture/sigmoid.md": r"$\sigma(x) = \dfrac{1}{1 + e^{-x}}$",
    "lecture/gradient-descent.md": r"$W \leftarrow W - \eta\,\dfrac{\partial L}{\partial W}$",
    "lecture/relu.md": r"$\mathrm{ReLU}(x) = \max(0, x)$",
    "lecture/leaky-relu.md": r"$\mathrm{LeakyReLU}(x) = \max(\alpha x, x)$",
    "lecture/covariate-shift.md": "internal covariate shift",
    "lecture/batchnorm.md": "internal covariate shift",
}


def opening_quote(text: str) -> str:
    """The blockquote right under the page's title, joined into one line."""
    lines = text.splitlines()
    assert lines[0].startswith("# "), "the page starts with its title"
    rest = lines[1:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    quote = []
    for line in rest:
        if not line.startswith(">"):
            break
        quote.append(line.lstrip(">").strip())
    return " ".join(quote)


def test_every_lecture_page_has_its_slide_words():
    assert sorted(SLIDE_WORDS) == sorted(lecture_nav())


@pytest.mark.parametrize("name", sorted(SLIDE_WORDS))
def test_lecture_page_opens_with_the_slide_quote(name):
    quote = opening_quote(page(name))
    assert quote.startswith("**The lecture:** "), f"{name} opens with a '> **The lecture:**' blockquote"
    assert SLIDE_WORDS[name] in quote


@pytest.mark.parametrize("name", ["lecture/next-character.md", "lecture/vanishing.md"])
def test_korean_quotes_come_with_a_translation(name):
    quote = opening_quote(page(name))
    assert re.search(r"\(“[A-Z][^”]+\.”\)", quote), "an English translation in parentheses follows the Korean"


def test_covariate_shift_is_quoted_then_qualified():
    text = page("lecture/covariate-shift.md")
    assert "Ioffe & Szegedy" in opening_quote(text)
    after = text[text.index("**The claim, qualified.**"):]
    assert after.index("Santurkar") < after.index("## ")  # the qualification comes before the first section


# -- the exercises -------------------------------------------------------------------------------------

ANSWER = re.compile(r'<code class="answer">(.*?)</code>')


def answers(name: str) -> list[str]:
    return ANSWER.findall(page(name))


def parse(answer: str) -> tuple[list[float], float]:
    """The answer's value(s), and how close a computed value must be: half a unit of its last decimal,
    or floating-point rounding for an exact answer."""
    expression = sympy.sympify(answer.replace("−", "-"))
    values = list(expression) if isinstance(expression, (tuple, sympy.Tuple)) else [expression]
    decimals = [len(d) for d in re.findall(r"\.(\d+)", answer)]
    tolerance = 0.5 * 10.0 ** -max(decimals) if decimals else 1e-12
    return [float(v) for v in values], tolerance


def _rnn_parameters(hidden: int, vocabulary: int, seq_length: int = 25) -> int:
    model = CharRNN(hidden_size=hidden, seq_length=seq_length)
    model.initialize("".join(chr(ord("a") + i) for i in range(vocabulary - 1)) + " ")
    assert len(model.vocabulary) == vocabulary
    return sum(array.size for array in model.params.values())


def _scalar_rnn() -> tuple[np.ndarray, object]:
    x = np.array([[[1.0], [0.0]]])  # N = 1, T = 2, D = 1
    return rnn_forward(x, np.zeros((1, 1)), np.array([[1.0]]), np.array([[0.5]]), np.zeros(1))


def _h2() -> float:
    h, _ = _scalar_rnn()
    return float(h[0, 1, 0])


def _dWhh() -> float:
    h, cache = _scalar_rnn()
    dh = np.zeros_like(h)
    dh[0, 1, 0] = 1.0  # L = h_2
    _, _, _, dWh, _ = rnn_backward(dh, cache)
    return float(dWh[0, 0])


def _softmax_grad() -> float:
    _, dx = softmax_loss(np.array([[0.0, np.log(2.0)]]), np.array([0]))
    return float(dx[0, 0])


def _sigmoid_threshold() -> float:
    gamma = float(mathnn.sigmoid_grad(0.0))
    limit = 1 / gamma
    assert "provably vanishes" in bound_verdict(gamma, limit * 0.999)
    assert "proves nothing" in bound_verdict(gamma, limit * 1.001)
    return limit


def _exploding_ratio() -> float:
    """‖∂L/∂h_{T−10}‖ / ‖∂L/∂h_T‖ of a ReLU RNN with W_hh = 1.2·I and every unit active, measured."""
    cell = CELLS["exploding"]
    weights = {"Wx": np.eye(3), "Wh": 1.2 * np.eye(3), "b": np.ones(3)}
    return float(lag_ratios(cell, weights, np.ones((1, 10, 3)), np.ones((1, 3)))[0, 10])


def _stable_rate() -> float:
    hessian = np.array([[3.0, 1.0], [1.0, 3.0]])
    limit = largest_stable_rate(hessian)
    for rate, converges in ((limit * 0.98, True), (limit * 1.02, False)):
        params = {"W": np.array([1.0, -0.5])}
        for _ in range(400):
            sgd(params, {"W": hessian @ params["W"]}, rate)
        assert (np.linalg.norm(params["W"]) < 1e-3) == converges, rate
    return limit


def _bowl_distance() -> float:
    target = np.array([1.0, 2.0])
    params = {"W": target + np.array([8.0, 0.0])}
    for _ in range(3):
        sgd(params, {"W": params["W"] - target}, 0.5)
    return float(np.linalg.norm(params["W"] - target))


def _bn(x: list[float], gamma: float = 1.0, beta: float = 0.0) -> np.ndarray:
    out, _ = batchnorm_forward(np.array(x)[:, None], np.array([gamma]), np.array([beta]), {"mode": "train", "eps": 0.0})
    return out[:, 0]


def _bn_dx_sum() -> float:
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((7, 2)), rng.standard_normal((7, 2))
    _, cache = batchnorm_forward(x, np.array([1.5, -0.3]), np.zeros(2), {"mode": "train"})
    dx, _, _ = batchnorm_backward(dout, cache)
    assert np.allclose(dx.sum(axis=0), dx.sum(axis=0)[0])  # the same (zero) for both features
    return float(abs(dx.sum(axis=0)).max())


def _bn_moments() -> list[float]:
    moments = []
    for z in ([3.0, 7.0], [-6.0, 0.0]):  # mean 5, variance 4; mean −3, variance 9
        assert np.mean(z) in (5.0, -3.0) and np.var(z) in (4.0, 9.0)
        x_hat = _bn(z)
        moments.append((float(x_hat.mean()), float(x_hat.var())))
    assert np.allclose(moments[0], moments[1])
    return list(moments[0])


def _running_mean() -> float:
    bn_param: dict = {"mode": "train", "momentum": 0.9}
    for _ in range(10):
        batchnorm_forward(np.array([[0.0], [2.0]]), np.ones(1), np.zeros(1), bn_param)
    return float(bn_param["running_mean"][0])


def _leaky_sup(alpha: float) -> float:
    grid = np.linspace(-5, 5, 1001)
    return float(np.abs(mathnn.leaky_relu_grad(grid, alpha=alpha)).max())


def _relu_central_difference() -> float:
    h = 1e-6
    return float((mathnn.relu(h) - mathnn.relu(-h)) / (2 * h))


# For each page, in the order of its exercises: what mathnn computes for each answer.
EXPECTED: dict[str, list[Callable[[], float | list[float]]]] = {
    "lecture/rnn.md": [lambda: _rnn_parameters(100, 27), lambda: _rnn_parameters(100, 27, seq_length=1000)],
    "lecture/recurrence.md": [_h2, _dWhh],
    "lecture/next-character.md": [lambda: float(softmax_loss(np.zeros((1, 65)), np.array([7]))[0]), _softmax_grad],
    "lecture/vanishing.md": [lambda: (float(mathnn.sigmoid_grad(0.0)) * 2.0) ** 10, _sigmoid_threshold],
    # the LSTM's cell path after 20 steps at forget bias 3: σ(3)²⁰, with the forget gate's own kernel
    "lecture/remedies.md": [lambda: float(mathnn.sigmoid(3.0)) ** 20, _exploding_ratio],
    "lecture/sigmoid.md": [
        lambda: float(np.max(mathnn.sigmoid_grad(np.linspace(-10, 10, 20001)))),
        lambda: float(mathnn.sigmoid_grad(2.0)),
        lambda: float(np.max(mathnn.sigmoid_grad(np.linspace(-10, 10, 20001)))) ** 10,
    ],
    "lecture/gradient-descent.md": [
        _stable_rate,
        _bowl_distance,
        lambda: clip_by_global_norm({"g": np.array([6.0, 8.0])}, 5.0)[0]["g"].tolist(),
    ],
    "lecture/relu.md": [lambda: float(mathnn.relu_grad(0.0)), _relu_central_difference],
    "lecture/leaky-relu.md": [
        lambda: float(mathnn.leaky_relu(-3.0, alpha=0.2)),
        lambda: [float(mathnn.leaky_relu(-1.0, alpha=3.0)), max(3.0 * -1.0, -1.0)],
        lambda: _leaky_sup(0.2),
    ],
    "lecture/batchnorm.md": [
        lambda: float(_bn([1, 2, 3, 6])[3]),
        lambda: float(_bn([1, 2, 3, 6], gamma=2.0, beta=1.0)[0]),
        _bn_dx_sum,
    ],
    "lecture/covariate-shift.md": [_bn_moments, _running_mean],
}


def test_every_lecture_page_has_exercises_and_every_answer_is_checked():
    assert sorted(EXPECTED) == sorted(lecture_nav())
    for name, checks in EXPECTED.items():
        assert 2 <= len(answers(name)) <= 3, name
        assert len(answers(name)) == len(checks), name


@pytest.mark.parametrize("name,index", [(name, i) for name, checks in EXPECTED.items() for i in range(len(checks))])
def test_exercise_answer_is_what_mathnn_computes(name, index):
    stated, tolerance = parse(answers(name)[index])
    computed = EXPECTED[name][index]()
    computed_values = computed if isinstance(computed, list) else [computed]
    assert len(stated) == len(computed_values)
    for s, c in zip(stated, computed_values):
        assert abs(s - c) <= tolerance + 1e-12 * abs(c), f"{name}, exercise {index + 1}: page says {s}, mathnn {c}"


def test_answer_parser_fails_on_a_wrong_answer():
    stated, tolerance = parse("0.363")
    assert abs(stated[0] - _h2()) <= tolerance
    stated, tolerance = parse("0.364")
    assert abs(stated[0] - _h2()) > tolerance
    assert parse("(-3, -1)") == ([-3.0, -1.0], 1e-12)
    assert parse("−2/3")[0] == [pytest.approx(-2 / 3)]


# -- the home page and the glossary ---------------------------------------------------------------------


def test_home_page_lists_the_lecture_in_nav_order():
    linked = re.findall(r"\]\((lecture/[a-z-]+\.md)\)", page("index.md"))
    assert linked == lecture_nav()


def _anchors(name: str) -> set[str]:
    return {slugify(heading, "-") for heading in re.findall(r"^#{1,6} (.+?)\s*$", page(name), re.MULTILINE)}


def test_every_glossary_link_resolves():
    links = re.findall(r"\]\(([^)]+)\)", page("glossary.md"))
    assert len(links) >= 25
    for link in links:
        target, _, anchor = link.partition("#")
        assert (DOCS / target).is_file(), link
        if anchor:
            assert anchor in _anchors(target), link


GLOSSARY_TERMS = [
    "part-of-speech (POS) tagging", "long-term dependency", "NN winter", "loss", "mean, variance", "tanh",
    "softmax", "gradient clipping", "hidden state", "BPTT", "vanishing gradient", "exploding gradient",
    "learning rate", "activation function", "internal covariate shift", "mini-batch", "epoch", "one-hot",
    "cross-entropy", "sequence-to-sequence", "dead ReLU", "saturation",
]
KOREAN = ["품사 태깅", "장기 의존성", "은닉 상태", "기울기 소실", "기울기 폭주", "학습률", "활성화 함수", "내부 공변량 변화"]


def test_glossary_covers_the_lecture_terms_in_alphabetical_order():
    rows = [line for line in page("glossary.md").splitlines() if line.startswith("| ") and not line.startswith("| English")]
    names = [row.split("|")[1].strip() for row in rows]
    assert names == sorted(names, key=str.lower)
    text = "\n".join(names)
    for term in GLOSSARY_TERMS:
        assert term in text, term
    for term in KOREAN:
        assert term in page("glossary.md"), term
    for row in rows:
        assert "](" in row.split("|")[4], row  # every entry links to a page


# -- statements that need their condition -----------------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks, a display formula joined to the text that introduces it."""
    blocks: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        if block.lstrip().startswith("$$") and blocks:
            blocks[-1] += "\n\n" + block
        else:
            blocks.append(block)
    return blocks


def all_pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.parts)


def test_max_alpha_x_x_is_never_stated_without_alpha_at_most_one():
    for path in all_pages():
        for paragraph in _paragraphs(path.read_text(encoding="utf-8")):
            if r"\max(\alpha x, x)" in paragraph or "max(αx, x)" in paragraph:
                assert re.search(r"\\alpha \\le 1|α ≤ 1|alpha ≤ 1", paragraph) or "**The lecture:**" in paragraph, (
                    path, paragraph[:200])


def test_the_learning_rate_limit_is_stated_with_its_condition():
    for path in all_pages():
        for paragraph in _paragraphs(path.read_text(encoding="utf-8")):
            if r"2}{\lambda_{\max}}" in paragraph or r"2/\lambda_{\max}" in paragraph:
                assert "positive-definite" in paragraph or "eigenvalues 1 and 4" in paragraph, (path, paragraph[:200])


# -- the figures the pages ask for ---------------------------------------------------------------------------

FIGURE_PAGES = {
    "lecture/sigmoid.md": ["sigmoid"],
    "lecture/relu.md": ["relu"],
    "lecture/leaky-relu.md": ["relu"],
    "lecture/gradient-descent.md": ["gradient_descent"],
    "lecture/batchnorm.md": ["batchnorm_graph"],
    "lecture/recurrence.md": ["rnn_unrolled"],
    "lecture/next-character.md": ["charrnn_loss"],
}


def test_pages_ask_for_the_lecture_figures_by_known_names():
    import importlib.util

    spec = importlib.util.spec_from_file_location("figures_hook", DOCS / "hooks" / "figures.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    from mathnn.experiments.lecture_figures import FIGURES

    assert set(hook.FIGURES) == set(FIGURES)  # a caption and alt text for every figure drawn
    asked = {}
    for path in all_pages():
        names = hook.MARKER.findall(path.read_text(encoding="utf-8"))
        if names:
            asked[path.relative_to(DOCS).as_posix()] = names
    assert asked == FIGURE_PAGES
    for alt, caption in hook.FIGURES.values():
        assert len(alt) > 40 and caption


def test_pages_hold_no_control_characters():
    """A TeX command whose backslash was read as an escape (\\right as a carriage return and "ight") splits
    its formula without any warning from the build."""
    for path in all_pages():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text), path


#: Characters of code that fit one line of the content column in a 1280-px window, beside the copy button.
CODE_COLUMNS = 75


def test_code_examples_fit_the_column():
    """A Python or shell example's line does not wrap in a 1280-px window: a wrapped line of code reads as two.

    Outputs are shown as the command prints them, and a line quoted from a file mathnn ships (the
    PyTorch examples) as it is there.
    """
    shipped = {line.rstrip() for path in (ROOT / "mathnn" / "gradcheck" / "examples").rglob("*.py")
               for line in path.read_text(encoding="utf-8").splitlines()}
    long = []
    for path in all_pages():
        for language, code in re.findall(r"(?ms)^```(\w*)\n(.*?)^```", path.read_text(encoding="utf-8")):
            if language in ("python", "bash", ""):
                long += [f"{path.relative_to(DOCS)}: {line}" for line in code.splitlines()
                         if len(line) > CODE_COLUMNS and line.rstrip() not in shipped]
    assert not long, "\n".join(long)
