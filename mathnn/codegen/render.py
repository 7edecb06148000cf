"""Render a rule's derivation step by step, as terminal text or as Markdown with LaTeX.

Both renderings come from the rule's own ``sections()``, so ``mathnn derive``, ``mathnn derive --latex``
and the docs pages always show the same steps, and every piece of math in them is produced by SymPy
from the rule at the time of rendering.

A proof section (one with a ``summary``) is shown for reading: one line per claim with its verdict
(✓ or ✗) and only what is its own, then how the claims were decided, once. The full statement and
method of a claim are shown when it fails, and for every claim with ``verbose=True``.
"""

from __future__ import annotations

import html
import inspect
import re
import textwrap

from ..rules import Proof, Rule
from ..rules.core import Equation, Section

#: Characters Markdown (with tables and arithmatex's ``$``) would read as markup in plain text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|$#])")


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    """``text`` wrapped at ``width`` without breaking a word or a formula at a hyphen."""
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [first.rstrip()]


#: The label of a claim's method, ending its detail: "N=1, D=2\u00a0[a]" or "[a]".
_LABEL = re.compile(r"^(.*?)\u00a0?(\[[a-z]+\d*\])?$", re.S)


def _claim_line(equation: Equation) -> str:
    """``∂L/∂x = δ @ Wxᵀ  (N=1, D=2, H=2) [a]``: the claim, what is its own, the label of its method."""
    text = " = ".join(part[0] for part in equation.parts)
    match = _LABEL.match(equation.detail)
    own, label = (match.group(1), match.group(2)) if match else (equation.detail, None)
    return text + (f"  ({own})" if own else "") + (f"\u00a0{label}" if label else "")


def _full(equation: Equation, verbose: bool) -> list[tuple[str, str]]:
    """The full statement and method of a claim line, when they are to be shown."""
    if not (verbose or equation.mark == "✗"):
        return []
    return [("claim", equation.statement), ("method", equation.comment)]


def _proof_text(section: Section, width: int, verbose: bool) -> list[str]:
    lines = []
    for equation in section.equations:
        lines += _wrap(_claim_line(equation), width, f"  {equation.mark} ", "      ")
        for label, text in _full(equation, verbose):
            if text:
                lines += _wrap(text, width, f"      {label}: ", "        ")
    for note in section.notes:
        lines += _wrap(note, width, "  ", "      " if note.startswith("[") else "    ")
    return lines


def derivation_text(rule: Rule, proof: Proof | None = None, width: int = 100, verbose: bool = False) -> str:
    """The derivation as plain terminal text, its prose wrapped at ``width`` columns.

    ``verbose`` adds each claim's full statement and method under its line (a failing claim always
    has them).
    """
    lines = [rule.title, "=" * len(rule.title), *textwrap.wrap(rule.note, width), ""]
    for section in rule.sections(proof):
        lines.append(section.title)
        if section.summary:
            lines += _proof_text(section, width, verbose)
        else:
            for equation in section.equations:
                lines.append("  " + " = ".join(part[0] for part in equation.parts))
                if equation.comment:
                    lines += _wrap(f"({equation.comment})", width, "      ", "       ")
        lines.append("")
    lines += _wrap("Generated kernels: " + ", ".join(f"mathnn.kernels.{rule.name}.{k.name}" for k in rule.kernels),
                   width, "", "  ")
    return "\n".join(lines)


def proof_html(section: Section, verbose: bool = False, expanded: bool = False) -> list[str]:
    """A proof section as a collapsible block: the summary line, then the claims and how they were
    decided. Raw HTML, so that nothing in a claim is read as Markdown; open when a claim fails, or
    when ``expanded``."""
    failed = any(equation.mark == "✗" for equation in section.equations) or expanded
    items = []
    for equation in section.equations:
        mark = "holds" if equation.mark == "✓" else "fails"
        full = "".join(f"<br><small>{label}: {html.escape(text)}</small>"
                       for label, text in _full(equation, verbose) if text)
        items.append(f'<li class="mathnn-claim mathnn-claim-{mark}"><span title="{mark}">{equation.mark}</span> '
                     f"{html.escape(_claim_line(equation))}{full}</li>")
    notes = [f"<p>{html.escape(note)}</p>" for note in section.notes]
    return [
        f'<details class="mathnn-proof"{" open" if failed else ""}>',
        f"<summary>{html.escape(section.summary)} — the claims and how they are decided</summary>",
        "<ul>", *items, "</ul>", *notes,
        "</details>",
    ]


def derivation_latex(rule: Rule, proof: Proof | None = None, verbose: bool = False) -> str:
    """The derivation as Markdown with display math (``$$ … $$``), for the docs and ``--latex``."""
    lines = [f"## {rule.title}", "", markdown_text(rule.note), ""]
    for section in rule.sections(proof):
        lines += [f"### {section.title}", ""]
        if section.summary:
            lines += [*proof_html(section, verbose), ""]
            continue
        for equation in section.equations:
            lines += ["$$", " = ".join(part[1] for part in equation.parts), "$$", ""]
            if equation.caption:
                lines += [markdown_text(equation.caption), ""]
            if equation.comment:
                lines += [f"*{markdown_text(equation.comment)}*", ""]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def markdown_text(text: str) -> str:
    """Plain text (``γ*(m*dy_j)``, ``[h_t | c_t]``) safe inside Markdown: no emphasis, subscripts, links,
    table cells, math or HTML made of it."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("<", "&lt;")


def kernel_source(rule: Rule) -> str:
    """The generated module's source, as imported (what the docs show next to the derivation)."""
    import importlib

    return inspect.getsource(importlib.import_module(f"mathnn.kernels.{rule.name}"))
