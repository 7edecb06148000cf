"""MkDocs hook: one page per rule of ``mathnn.rules.RULES``, generated at build time.

Each rule is proven and gradient-checked while the site is built (``mathnn.verify.verify``), and its
page ``derivations/<name>.md`` shows, all from the rule itself:

- the derivation as ``mathnn.codegen.render.derivation_latex`` renders it (the rule's note, the
  forward definition, each chain-rule step, the closed form and how it was proven);
- the generated kernel's source (``kernel_source``);
- the gradient-check table of that build (``verify(rule, points=300, seed=0)``).

The pages are appended to the ``Derivations`` section of ``nav`` in mkdocs.yml (created at the end
when there is none), after the generated overview ``derivations/index.md``. A rule that fails its
proof or gradient check, or cannot be rendered, is logged as a warning, which fails
``mkdocs build --strict``.

A hand-written page can list the derivation pages with a line holding only
``<!-- mathnn:derivations -->``: it is replaced by a bullet list of links (see docs/index.md). A line
holding only ``<!-- mathnn:proof NAME -->`` is replaced by the proof of rule NAME from this build,
its claims one per line and how they were decided (see docs/lecture/batchnorm.md).
"""

from __future__ import annotations

import logging
import posixpath
import re
import time
import traceback

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from mathnn.codegen.render import derivation_latex, kernel_source, proof_html
from mathnn.rules.core import proof_section
from mathnn.progress import working
from mathnn.rules import RULES, Rule, topic_of
from mathnn.rules.cache import STATS
from mathnn.verify import CENTRAL_TOL, COMPLEX_TOL, RuleReport, verify

log = logging.getLogger("mkdocs.hooks.derivations")

SECTION = "Derivations"
DIRECTORY = "derivations"
INDEX = f"{DIRECTORY}/index.md"
#: What each page's gradient-check table is computed with (the brief of the docs: cheap, reproducible).
POINTS = 300
SEED = 0
MARKER = re.compile(r"^<!-- mathnn:derivations -->$", re.MULTILINE)
PROOF_MARKER = re.compile(r"^<!-- mathnn:proof ([a-z0-9_]+) -->$", re.MULTILINE)


def page_uri(rule: Rule) -> str:
    return f"{DIRECTORY}/{rule.name}.md"


# --------------------------------------------------------------------------------------------------
# page content
# --------------------------------------------------------------------------------------------------


def promote_headings(markdown: str) -> str:
    """Raise every heading one level (``## T`` → ``# T``), leaving ``$$`` blocks untouched.

    ``derivation_latex`` starts at ``##`` (it is also printed by ``mathnn derive --latex``); on its
    own page the rule's title is the page title.
    """
    lines, in_math = [], False
    for line in markdown.splitlines():
        if line.strip() == "$$":
            in_math = not in_math
        elif not in_math and re.match(r"##+ ", line):
            line = line[1:]
        lines.append(line)
    return "\n".join(lines) + "\n"


def code_block(source: str, language: str) -> str:
    """A fenced block that no run of backticks inside ``source`` can close."""
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence} {language}\n{source.rstrip()}\n{fence}\n"


def _params(params: dict) -> str:
    return ", ".join(f"{name} = {value:g}" for name, value in params.items())


def check_table(report: RuleReport) -> str:
    """The gradient checks of one build as a Markdown table (one row per kernel pair and setting)."""
    rows = [
        "| kernel | points | max error, complex step | max error, central |",
        "|---|--:|--:|--:|",
    ]
    for check in report.checks:
        kernel = f"`{check.forward}` → `{check.gradient}`"
        if check.params:
            kernel += f" ({_params(check.params)})"
        rows.append(f"| {kernel} | {check.points} | {check.max_complex:.1e} | {check.max_central:.1e} |")
    notes = [f"- {note}" for check in report.checks for note in check.kink_notes]
    return "\n".join(rows) + "\n" + ("\nAt the kinks:\n\n" + "\n".join(notes) + "\n" if notes else "")


def rule_page(rule: Rule, report: RuleReport) -> str:
    """The Markdown of ``derivations/<name>.md``."""
    module = f"mathnn/kernels/{rule.name}.py"
    verdict = "all pass" if report.passed else "**FAILED**"
    return "\n".join([
        promote_headings(derivation_latex(rule, report.proof)),
        "## Generated kernel",
        "",
        f"`{module}`, printed from the proven closed form by `python -m mathnn.codegen` "
        "(`--check` fails when it drifts from the rule):",
        "",
        code_block(kernel_source(rule), "python"),
        "## Gradient check",
        "",
        f"Computed while this page was built, with `mathnn.verify.verify(RULES[\"{rule.name}\"], "
        f"points={POINTS}, seed={SEED})`: each gradient kernel against complex-step and central-difference "
        f"derivatives of the forward kernel ({verdict}; pass marks {COMPLEX_TOL:g} and {CENTRAL_TOL:g}, "
        "relative). Run `mathnn verify` to repeat it.",
        "",
        check_table(report),
    ])


def derivation_links(from_uri: str, reports: dict[str, RuleReport]) -> str:
    """A bullet list linking every rule's page, relative to the page at ``from_uri``."""
    here = posixpath.dirname(from_uri)
    return "\n".join(
        f"- [{RULES[name].title}]({posixpath.relpath(page_uri(RULES[name]), here or '.')})"
        f" — {topic_of(RULES[name])}" + ("" if report.passed else " (**failed**)")
        for name, report in reports.items()
    ) + "\n"


def index_page(reports: dict[str, RuleReport]) -> str:
    rows = [
        "| rule | topic | proof | max error, complex step | max error, central |",
        "|---|---|---|--:|--:|",
    ]
    for name, report in reports.items():
        rule = RULES[name]
        proof = f"holds ({report.proof.seconds:.1f}\u00a0s)" if report.proof.holds else "**fails**"
        rows.append(f"| [{rule.title}]({rule.name}.md) | {topic_of(rule)} | {proof} "
                    f"| {report.max_complex:.1e} | {report.max_central:.1e} |")
    return "\n".join([
        "# Derivations",
        "",
        "One page per rule of `mathnn.rules`, generated when this site was built: SymPy derives each "
        "gradient from the rule's graph by the chain rule, proves it equal to the textbook closed form, "
        "and the kernel printed from that form is gradient-checked numerically. Nothing on these pages "
        "is typed by hand.",
        "",
        *rows,
        "",
    ])


# --------------------------------------------------------------------------------------------------
# MkDocs events
# --------------------------------------------------------------------------------------------------

_reports: dict[str, RuleReport] = {}


def _add_to_nav(config: MkDocsConfig, entries: list[dict[str, str]]) -> None:
    if config.nav is None:  # no nav in mkdocs.yml: MkDocs lists every page by itself
        return
    section = next((item[SECTION] for item in config.nav if isinstance(item, dict) and SECTION in item), None)
    if not isinstance(section, list):
        section = []
        config.nav.append({SECTION: section})
    listed = {value for item in section for value in (item.values() if isinstance(item, dict) else [item])}
    if INDEX not in listed:
        section.insert(0, {"Overview": INDEX})
    section.extend(entry for entry in entries if next(iter(entry.values())) not in listed)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    start = time.perf_counter()
    hits, misses = STATS.hits, STATS.misses
    _reports.clear()
    entries = []
    for index, (name, rule) in enumerate(RULES.items(), 1):
        try:
            # Proofs come from the proof cache (milliseconds); a rule SymPy must prove takes seconds,
            # and the build then says which one it is working on.
            with working(f"derivations: proving and checking {name} ({index}/{len(RULES)})", delay=1.0):
                report = verify(rule, points=POINTS, seed=SEED)
            content = rule_page(rule, report)
        except Exception:  # noqa: BLE001 - any failure of a rule is reported on its page and fails --strict
            log.warning("derivations: rule %r could not be proven, checked or rendered:\n%s",
                        name, traceback.format_exc())
            content = f"# {rule.title}\n\nThis page could not be generated:\n\n" + code_block(
                traceback.format_exc(), "text")
        else:
            _reports[name] = report
            if not report.passed:
                log.warning("derivations: rule %r failed its proof or gradient check: %s",
                            name, report.to_dict())
        files.append(File.generated(config, page_uri(rule), content=content))
        entries.append({rule.title: page_uri(rule)})
    files.append(File.generated(config, INDEX, content=index_page(_reports)))
    _add_to_nav(config, entries)
    log.info("derivations: %d rules proven, checked and rendered in %.1f s (%d proofs from the proof cache, "
             "%d proven now)", len(RULES), time.perf_counter() - start, STATS.hits - hits, STATS.misses - misses)
    return files


def proof_block(name: str, from_uri: str) -> str:
    """Rule ``name``'s proof of this build, its claims listed, for a hand-written page."""
    link = posixpath.relpath(page_uri(RULES[name]), posixpath.dirname(from_uri) or ".")
    return "\n".join([
        *proof_html(proof_section(_reports[name].proof), expanded=True),
        "",
        f"Proven while this page was built (`mathnn derive {name} --verbose` prints every claim with its "
        f"full method); the derivation is on [its page]({link}).",
    ])


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    def proof(match: re.Match) -> str:
        name = match.group(1)
        if name not in _reports:
            log.warning("derivations: %s asks for the proof of %r, which is not a rule proven in this build "
                        "(rules: %s)", page.file.src_uri, name, ", ".join(RULES))
            return match.group(0)
        return proof_block(name, page.file.src_uri)

    markdown = PROOF_MARKER.sub(proof, markdown)
    return MARKER.sub(lambda _: derivation_links(page.file.src_uri, _reports).rstrip("\n"), markdown)
