"""Render a rule's derivation step by step, as terminal text or as Markdown with LaTeX.

Both renderings come from the rule's own ``sections()``, so ``mathnn derive``, ``mathnn derive --latex``
and the docs pages always show the same steps, and every piece of math in them is produced by SymPy
from the rule at the time of rendering.
"""

from __future__ import annotations

import inspect
import textwrap

from ..rules import Proof, Rule


def derivation_text(rule: Rule, proof: Proof | None = None, width: int = 100) -> str:
    """The derivation as plain terminal text."""
    lines = [rule.title, "=" * len(rule.title), *textwrap.wrap(rule.note, width), ""]
    for section in rule.sections(proof):
        lines.append(section.title)
        for equation in section.equations:
            line = "  " + " = ".join(part[0] for part in equation.parts)
            lines.append(line)
            if equation.comment:
                lines.append("      (" + equation.comment + ")")
        lines.append("")
    lines.append("Generated kernels: " + ", ".join(f"mathnn.kernels.{rule.name}.{k.name}" for k in rule.kernels))
    return "\n".join(lines)


def derivation_latex(rule: Rule, proof: Proof | None = None) -> str:
    """The derivation as Markdown with display math (``$$ … $$``), for the docs and ``--latex``."""
    lines = [f"## {rule.title}", "", rule.note, ""]
    for section in rule.sections(proof):
        lines += [f"### {section.title}", ""]
        for equation in section.equations:
            if len(equation.parts) == 1 and proof is not None and section.title.startswith("Proof"):
                lines.append(f"- {_markdown_text(equation.parts[0][0])} — {_markdown_text(equation.comment)}")
                continue
            lines += ["$$", " = ".join(part[1] for part in equation.parts), "$$", ""]
            if equation.comment:
                lines += [f"*{equation.comment}*", ""]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _markdown_text(text: str) -> str:
    """Plain-text math (``γ*(m*dy_j)``) safe inside Markdown: no stray emphasis or subscripts."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def kernel_source(rule: Rule) -> str:
    """The generated module's source, as imported (what the docs show next to the derivation)."""
    import importlib

    return inspect.getsource(importlib.import_module(f"mathnn.kernels.{rule.name}"))
