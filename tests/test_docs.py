"""The MkDocs site: a strict build, generated derivation pages equal to the rules, nothing from another host.

The site is built once per session (``built_site`` in tests/conftest.py, shared with
tests/test_docs_browser.py) into a temporary directory. KaTeX and the Korean font come from
``node_modules``, where ``python3 dev.py test`` puts the npm packages package-lock.json pins (no npm
needed).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mathnn.codegen.render import derivation_latex, kernel_source
from mathnn.rules import RULES
from mathnn.rules.core import proof_section, statement_parts
from mathnn.verify import CENTRAL_TOL, COMPLEX_TOL

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

pytestmark = pytest.mark.docs


def source_pages() -> list[str]:
    """Every hand-written page, as its path under docs/ (the hooks are not pages)."""
    return sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if "hooks" not in p.parts)


def built_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


# --------------------------------------------------------------------------------------------------
# every page exists and is linked
# --------------------------------------------------------------------------------------------------


def test_build_is_clean(site_build, built_site: Path) -> None:
    log = site_build.log
    assert not re.search(r"(?m)^(WARNING|ERROR)\b", log), log
    # a page under docs/ that mkdocs.yml's nav forgets is only logged at INFO level
    assert "not included in the \"nav\" configuration" not in log, log
    # so is a link to an anchor the target page does not have
    assert "does not contain an anchor" not in log, log
    assert (built_site / "index.html").is_file()


def test_the_api_reference_links_the_names_docstrings_refer_to(built_site: Path) -> None:
    """:func:`name` and the other roles of the docstrings are never printed as written; they link where they can."""
    reference = (built_site / "reference.html").read_text(encoding="utf-8")
    assert not re.search(r":(func|meth|class|mod|data|attr|exc|obj):", TAG.sub("", reference))
    start = reference.index('id="mathnn.gradcheck.check.check_vjp"')
    assert 'href="#mathnn.gradcheck.check.CheckOptions"' in reference[start:reference.index("</h", start) + 8000]
    # a name the reference does not document stays code, with its full path as the tooltip
    assert '<span title="mathnn.gradcheck.tolerances.TOLERANCES"><code>' in reference
    # a paragraph ending in reStructuredText's "::" before a literal block ends in one colon, as Sphinx shows it
    text = html.unescape(TAG.sub("", re.sub(r"<pre.*?</pre>", "", reference, flags=re.S)))
    assert not re.findall(r".{0,40}\S ?::(?=\s)", text)
    assert "updates the running averages in bn_param:" in " ".join(text.split())


def test_the_api_reference_documents_every_layer_function(built_site: Path) -> None:
    """The functions mathnn.layers generates at import are in the reference, with their signatures."""
    import mathnn.layers

    reference = (built_site / "reference.html").read_text(encoding="utf-8")
    functions = [name for name in mathnn.layers.__all__ if callable(getattr(mathnn.layers, name))
                 and not isinstance(getattr(mathnn.layers, name), type)]
    assert {"affine_forward", "layernorm_forward", "conv_forward_naive", "lstm_backward"} <= set(functions)
    missing = [name for name in functions if f'id="mathnn.layers.{name}"' not in reference]
    assert not missing
    start = reference.index('id="mathnn.layers.layernorm_forward"')
    heading = html.unescape(TAG.sub(" ", reference[reference.index(">", start) + 1:reference.index("</h", start)]))
    assert " ".join(heading.replace("¶", "").split()) == "layernorm_forward ( x , gamma , beta , ln_param = None )"


def test_every_page_exists_and_derivations_are_in_the_nav(built_site: Path) -> None:
    for page in source_pages():
        assert (built_site / page).with_suffix(".html").is_file(), page
    home = (built_site / "index.html").read_text(encoding="utf-8")
    for name in RULES:
        assert (built_site / "derivations" / f"{name}.html").is_file(), name
        # in the navigation of every page, and in the list that docs/index.md asks for
        assert home.count(f'href="derivations/{name}.html"') >= 2, name
    assert (built_site / "derivations" / "index.html").is_file()


#: The lecture's order: the RNN, its training and its limits, then the activations, gradient descent, and
#: batch normalization before the claim it was proposed with (that page reads x̂, γ, β and the running mean).
LECTURE = ["rnn", "recurrence", "next-character", "vanishing", "remedies", "sigmoid", "gradient-descent", "relu",
           "leaky-relu", "batchnorm", "covariate-shift"]


@pytest.mark.parametrize("topic", LECTURE)
def test_each_lecture_topic_shows_an_experiment_run_during_the_build(built_site: Path, topic: str) -> None:
    """Every topic page asks for an experiment, and the build replaced the request with its output."""
    source = (DOCS / "lecture" / f"{topic}.md").read_text(encoding="utf-8")
    assert "<!-- mathnn:experiment " in source, topic
    page = (built_site / "lecture" / f"{topic}.html").read_text(encoding="utf-8")
    assert "mathnn:experiment" not in page, topic
    assert "while this page was built" in page or "<img" in page, topic


def test_the_batch_norm_tutorial_shows_the_file_its_check_runs_on(built_site: Path) -> None:
    """The listing on the page is the example file itself, every line of it, not a retyped version."""
    from mathnn.gradcheck.examples import example_path

    page = html.unescape(re.sub(r"<[^>]+>", "", (built_site / "tutorials" / "check-batchnorm.html")
                                .read_text(encoding="utf-8")))
    lines = [line.strip() for line in example_path("bn_missing_mean_path").read_text(encoding="utf-8").splitlines()]
    missing = [line for line in lines if line and line not in page]
    assert not missing, missing
    assert "$ mathnn check bn_missing_mean_path.py --seed 0" in page


def test_lecture_pages_are_in_the_lecture_order(built_site: Path) -> None:
    home = (built_site / "index.html").read_text(encoding="utf-8")
    positions = [home.index(f'href="lecture/{topic}.html"') for topic in LECTURE]
    assert positions == sorted(positions)


# --------------------------------------------------------------------------------------------------
# the generated pages show what the rules produce now
# --------------------------------------------------------------------------------------------------

DISPLAY_MATH_HTML = re.compile(r'<div class="arithmatex">(.*?)</div>', re.S)
DISPLAY_MATH_MD = re.compile(r"^\$\$\n(.*?)\n\$\$$", re.S | re.M)
TAG = re.compile(r"<[^>]+>")


def display_math(page_html: str) -> list[str]:
    """The TeX of each display formula, as arithmatex put it in the page (\\[ … \\])."""
    blocks = []
    for block in DISPLAY_MATH_HTML.findall(page_html):
        tex = html.unescape(block).strip()
        assert tex.startswith(r"\[") and tex.endswith(r"\]"), tex
        blocks.append(tex[2:-2].strip())
    return blocks


def section(page_html: str, heading_id: str) -> str:
    """The HTML from the heading with ``heading_id`` to the next h2 (or the end of the article)."""
    start = page_html.index(f'id="{heading_id}"')
    end = min(i for i in (page_html.find("<h2", start), page_html.find("</article>", start), len(page_html)) if i >= 0)
    return page_html[start:end]


@pytest.mark.parametrize("name", list(RULES))
def test_derivation_page_shows_the_rule(built_site: Path, proofs, name: str) -> None:
    rule = RULES[name]
    page = (built_site / "derivations" / f"{name}.html").read_text(encoding="utf-8")
    expected = [tex.strip() for tex in DISPLAY_MATH_MD.findall(derivation_latex(rule, proofs[name]))]
    assert expected, f"derivation_latex({name}) has no display math"
    assert display_math(page) == expected

    code = section(page, "generated-kernel")
    source = html.unescape(TAG.sub("", code[code.index("<pre"):code.index("</pre>")]))
    assert source.strip() == kernel_source(rule).strip()

    rows = re.findall(r"<tr>(.*?)</tr>", section(page, "gradient-check"), re.S)
    header = [html.unescape(TAG.sub("", cell)).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", rows[0], re.S)]
    assert header == ["kernel", "points", "max error, complex step", "max error, central"]
    assert len(rows) > 1
    for row in rows[1:]:
        kernel, points, complex_step, central = (TAG.sub("", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S))
        assert int(points) > 0 and kernel
        assert float(complex_step) <= COMPLEX_TOL and float(central) <= CENTRAL_TOL, row


PROOF_BLOCK = re.compile(r'<details class="mathnn-proof"( open)?>\s*<summary>(.*?)</summary>(.*?)</details>', re.S)


@pytest.mark.parametrize("name", list(RULES))
def test_derivation_page_lists_its_claims_in_a_collapsible_block(built_site: Path, proofs, name: str) -> None:
    """One line per claim, the methods once, closed unless a claim fails; SymPy's text is not Markdown."""
    proof = proofs[name]
    page = (built_site / "derivations" / f"{name}.html").read_text(encoding="utf-8")
    (opened, summary, block), = PROOF_BLOCK.findall(page)
    count = len(proof.claims)
    assert html.unescape(summary).startswith(f"{count} claims, all hold, ")
    assert not opened
    items = re.findall(r'<li class="mathnn-claim mathnn-claim-holds">(.*?)</li>', block, re.S)
    assert len(items) == count
    text = html.unescape(TAG.sub("", block))
    assert "ok:" not in text and not re.search(r"\d+ atoms \(|\[\d+\.\d+ s\]", text)  # no per-claim method
    for note in proof_section(proof).notes:  # how the claims were decided, each said once
        assert " ".join(text.split()).count(" ".join(html.unescape(note).split())) == 1, note
    assert not re.search(r"<(em|strong|code|table|a)\b", block), "claim text was read as Markdown"
    for claim in proof.claims:  # each claim as SymPy printed it, '*', '_' and '|' included
        shown, _, _ = statement_parts(claim.statement)
        assert shown in " ".join(text.split()), shown


def test_derivation_page_text_is_not_read_as_markdown(built_site: Path) -> None:
    """Each comment under an equation is one italic paragraph: a '*' or '_' in it starts no emphasis."""
    for name in RULES:
        page = (built_site / "derivations" / f"{name}.html").read_text(encoding="utf-8")
        article = page[page.index("<article"):page.index("</article>")]
        emphasis = re.findall(r"(.{0,3})<em>", article)
        assert all(before.endswith("<p>") for before in emphasis), (name, emphasis)


@pytest.mark.parametrize("page_name,rule", [("lecture/batchnorm", "batchnorm"), ("lecture/sigmoid", "sigmoid"),
                                             ("tutorials/use-functions", "sigmoid")])
def test_page_embeds_the_proof_of_this_build(built_site: Path, proofs, page_name: str, rule: str) -> None:
    page = (built_site / f"{page_name}.html").read_text(encoding="utf-8")
    (opened, summary, block), = PROOF_BLOCK.findall(page)
    assert opened and html.unescape(summary).startswith(f"{len(proofs[rule].claims)} claims, all hold")
    assert block.count('<li class="mathnn-claim mathnn-claim-holds">') == len(proofs[rule].claims)
    assert f'href="../derivations/{rule}.html"' in page
    assert "mathnn:proof" not in page


def test_the_recurrence_page_shows_the_one_claim_its_table_asks_for(built_site: Path) -> None:
    """Under the table of the two forms: that the row form is the column form, not every claim of the rnn rule."""
    page = (built_site / "lecture" / "recurrence.html").read_text(encoding="utf-8")
    (opened, summary, block), = PROOF_BLOCK.findall(page)
    claims = re.findall(r'<li class="mathnn-claim mathnn-claim-holds">(.*?)</li>', block, re.S)
    assert opened and html.unescape(summary).startswith("1 claim, all hold")
    assert len(claims) == 1 and "rnn_step&#x27;s forward (row form" in claims[0], claims
    assert 'href="../derivations/rnn.html"' in page


def test_no_page_lists_a_claim_with_its_method(built_site: Path) -> None:
    """A claim is one line on every page; how the claims were decided is said once, under them."""
    for name in source_pages():
        page = (built_site / name).with_suffix(".html").read_text(encoding="utf-8")
        text = html.unescape(TAG.sub("", page[page.index("<article"):page.index("</article>")]))
        assert not re.search(r"\d+ atoms \(|\[\d+\.\d+ s\]", text), name


@pytest.mark.parametrize("topic", ["vanishing", "remedies", "covariate-shift"])
def test_the_experiments_tables_are_tables(built_site: Path, topic: str) -> None:
    """A report's table is an HTML table that scrolls when it is wide, not aligned text wrapped in a code block."""
    page = (built_site / "lecture" / f"{topic}.html").read_text(encoding="utf-8")
    for block in re.findall(r"<pre.*?</pre>", page, re.S):
        rules = re.findall(r"(?m)^-+(?:  -+)+$", html.unescape(TAG.sub("", block)))
        assert not rules, (topic, html.unescape(TAG.sub("", block))[:300])
    assert page.count("<table>") >= {"vanishing": 4, "remedies": 3, "covariate-shift": 4}[topic]


def test_the_recurrence_page_runs_the_check_it_shows(built_site: Path) -> None:
    """The command on the page checks every pair of the example file: rnn_step passes and rnn fails, as the text says."""
    page = html.unescape(TAG.sub("", (built_site / "lecture" / "recurrence.html").read_text(encoding="utf-8")))
    assert "$ mathnn check rnn_no_accumulation.py --seed 0\nmathnn check: rnn_no_accumulation.py: 2 function pair(s)" in page
    assert "rnn_step_forward / rnn_step_backward: passed" in page and "rnn_forward / rnn_backward: FAILED" in page
    assert "1 of 2 function pair(s) passed; failed: rnn" in page


def test_the_charrnn_tutorial_shows_the_run_it_describes(built_site: Path) -> None:
    """The output of `mathnn charrnn train --steps 300` comes from a run during the build, not from an old paste."""
    import numpy as np

    from mathnn.data import load_text
    from mathnn.models import CharRNN, unigram_loss

    page = html.unescape(TAG.sub("", (built_site / "tutorials" / "train-charrnn.html").read_text(encoding="utf-8")))
    text = load_text()
    model = CharRNN(seed=0)
    losses = model.fit(text, 300, progress=False)
    assert "$ mathnn charrnn train --steps 300 --out m.npz" in page
    assert f"1–30     {sum(losses[:30]) / 30:.3f}" in page
    assert f"loss of the trained model on the whole text: {model.loss(text):.3f} nats/char" in page
    # what the page says of these numbers
    assert sum(losses[:30]) / 30 > np.log(len(set(text))) and model.loss(text) > unigram_loss(text)


# --------------------------------------------------------------------------------------------------
# nothing is loaded from another host
# --------------------------------------------------------------------------------------------------

EXTERNAL = re.compile(r"https?://[^\s\"'`)<>\\]+|^//[^\s\"']+", re.I)
#: XML namespaces name a vocabulary; nothing fetches them.
NAMESPACES = ("http://www.w3.org/",)
#: URLs that Material's JavaScript bundle loads only in situations this site never creates; the
#: browser test confirms that no request leaves 127.0.0.1.
MATERIAL_CONDITIONAL = {
    "https://unpkg.com/mermaid@": "only for ```mermaid blocks: no page has one (checked below)",
    "https://unpkg.com/resize-observer-polyfill": "only in browsers without ResizeObserver (none since 2020)",
    "https://api.github.com/": "repository facts, only with repo_url (not set; checked below)",
    "https://${": "GitLab repository facts, only with repo_url",
    "https://bit.ly/": "a link in the search worker's warning for an invalid query",
}


class References(HTMLParser):
    """Every attribute of an HTML page that makes the browser fetch something, and inline scripts/styles."""

    LOADING = {"src", "href", "srcset", "poster", "data", "action", "formaction", "background", "content"}

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.inline: list[str] = []
        self._in = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for attribute, value in attrs:
            # <a href> is a link a reader may follow, not a load
            if value and (attribute in self.LOADING and tag != "a" or attribute == "style"):
                self.loads.append((tag, attribute, value))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.inline.append(data)


def external(text: str) -> list[str]:
    return [url for url in EXTERNAL.findall(text) if not url.startswith(NAMESPACES)]


def without_comments(script: str) -> str:
    """JavaScript without /* … */ and // … comments (licence headers name their project's site)."""
    script = re.sub(r"/\*.*?\*/", "", script, flags=re.S)
    return re.sub(r"(?m)(^|[\s;{}])//[^\n]*", r"\1", script)


def test_no_external_references_in_html(built_site: Path) -> None:
    found = {}
    for page in built_pages(built_site):
        parser = References()
        parser.feed(page.read_text(encoding="utf-8"))
        urls = [f"<{tag} {attribute}={value!r}>" for tag, attribute, value in parser.loads if external(value)]
        urls += [url for text in parser.inline for url in external(without_comments(text))]
        if urls:
            found[page.relative_to(built_site).as_posix()] = urls
    assert not found


def test_no_external_references_in_css_and_js(built_site: Path) -> None:
    found = {}
    for path in sorted(built_site.rglob("*.css")):
        # data: URLs carry inline SVGs, whose xmlns is a namespace
        css = re.sub(r"url\(\s*[\"']?data:[^)]*\)", "", path.read_text(encoding="utf-8"))
        if urls := external(css):
            found[path.relative_to(built_site).as_posix()] = urls
    for path in sorted(built_site.rglob("*.js")):
        urls = [url for url in external(without_comments(path.read_text(encoding="utf-8", errors="replace")))
                if not url.startswith(tuple(MATERIAL_CONDITIONAL))]
        if urls:
            found[path.relative_to(built_site).as_posix()] = urls
    assert not found


def test_material_conditional_loads_are_never_triggered(built_site: Path) -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert not re.search(r"(?m)^repo_url:", config)
    for page in built_pages(built_site):
        assert 'class="mermaid"' not in page.read_text(encoding="utf-8"), page


def test_local_references_resolve(built_site: Path) -> None:
    """Every script, stylesheet, icon and font the pages load is in the site (mkdocs.yml ↔ npm_assets hook)."""
    missing = []
    for page in built_pages(built_site):
        parser = References()
        parser.feed(page.read_text(encoding="utf-8"))
        for tag, attribute, value in parser.loads:
            if attribute in ("src", "href") and not value.startswith(("#", "data:", "mailto:")) and tag != "a":
                path = value.split("#")[0].split("?")[0]
                # 404.html is served for any path, so it links from the site root
                target = built_site / path.lstrip("/") if path.startswith("/") else page.parent / path
                if not target.exists():
                    missing.append(f"{page.relative_to(built_site)}: <{tag} {attribute}={value!r}>")
    for css in sorted(built_site.rglob("*.css")):
        for url in re.findall(r"url\(\s*[\"']?(?!data:)([^\"')]+)", css.read_text(encoding="utf-8")):
            if not (css.parent / url.split("#")[0].split("?")[0]).exists():
                missing.append(f"{css.relative_to(built_site)}: url({url})")
    assert not missing
    assert (built_site / "assets/vendor/katex/katex.min.js").is_file()
    assert list((built_site / "assets/vendor/katex/fonts").glob("KaTeX_Main-Regular.woff2"))


def test_missing_katex_is_a_clear_error(tmp_path: Path, build_docs) -> None:
    """Without node_modules the build stops at once and says which command fetches it."""
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(DOCS, tmp_path / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    proc = build_docs(tmp_path / "site", tmp_path / "mkdocs.yml")
    assert proc.returncode != 0
    assert "node_modules" in proc.stderr and "python3 dev.py docs" in proc.stderr, proc.stderr
    assert "npm ci" not in proc.stderr, proc.stderr


def test_the_npm_packages_need_no_npm_and_the_site_loads_them(tmp_path: Path, built_site: Path) -> None:
    """dev.py's step that fetches KaTeX and the font runs with python3 alone on PATH, and the site uses its files.

    Run by ``python3 dev.py test`` before pytest, the step finds every package current and does
    nothing; on a fresh checkout it downloads them. Either way it must not need npm, node or apt-get.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    for tool in ("npm", "npx", "node", "apt-get", "sudo"):
        assert shutil.which(tool, path=str(bin_dir)) is None, tool
    step = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import dev; dev.ensure_npm_packages()"
    proc = subprocess.run(["python3", "-I", "-c", step], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**os.environ, "PATH": str(bin_dir)})
    assert proc.returncode == 0, proc.stdout + proc.stderr

    node_modules = ROOT / "node_modules"
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    for name in lock[""]["dependencies"]:  # each extracted from the tarball the lock pins now
        stamp = node_modules / name / ".mathnn-integrity"
        assert stamp.read_text().strip() == lock[f"node_modules/{name}"]["integrity"], name
    for site_path, package_path in [
        ("assets/vendor/katex/katex.min.js", "katex/dist/katex.min.js"),
        ("assets/vendor/katex/katex.min.css", "katex/dist/katex.min.css"),
        ("assets/vendor/katex/fonts/KaTeX_Main-Regular.woff2", "katex/dist/fonts/KaTeX_Main-Regular.woff2"),
        ("assets/vendor/noto-sans-kr/noto-sans-kr-korean-400-normal.woff2",
         "@fontsource/noto-sans-kr/files/noto-sans-kr-korean-400-normal.woff2"),
        ("assets/vendor/noto-sans-kr/LICENSE", "@fontsource/noto-sans-kr/LICENSE"),
    ]:
        assert (built_site / site_path).read_bytes() == (node_modules / package_path).read_bytes(), site_path

    page = (built_site / "derivations" / "batchnorm.html").read_text(encoding="utf-8")
    parser = References()
    parser.feed(page)
    loads = {(tag, value) for tag, _, value in parser.loads}
    assert ("script", "../assets/vendor/katex/katex.min.js") in loads, sorted(loads)
    assert ("link", "../assets/vendor/katex/katex.min.css") in loads, sorted(loads)
    assert ("link", "../stylesheets/korean.css") in loads, sorted(loads)
    assert '<div class="arithmatex">' in page
