"""Render a rule's derivation step by step, as terminal text or as Markdown with LaTeX.

Both renderings come from :func:`derivation_sections`, so ``mathnn derive``, ``mathnn derive --latex``
and the docs pages always show the same steps, and every piece of math in them is produced by SymPy
from the rule at the time of rendering.
"""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass

import sympy as sp
from ..rules import Proof, Rule
from ..rules.textprint import text


@dataclass(frozen=True)
class Equation:
    """One displayed line: a chain of equal expressions, each given as (text, latex)."""

    parts: tuple[tuple[str, str], ...]
    comment: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    equations: tuple[Equation, ...]


def _expr(expr: sp.Expr) -> tuple[str, str]:
    return text(expr), sp.latex(expr)


def _partial(out: sp.Symbol, wrt: sp.Symbol) -> tuple[str, str]:
    return (
        f"∂{text(out)}/∂{text(wrt)}",
        f"\\frac{{\\partial {sp.latex(out)}}}{{\\partial {sp.latex(wrt)}}}",
    )


def derivation_sections(rule: Rule, proof: Proof | None = None) -> list[Section]:
    """The derivation of ``rule`` as titled sections of equations."""
    derivation = rule.derivation()
    out = rule.output
    sections = [
        Section(
            "Forward graph",
            tuple(Equation((_expr(node.symbol), _expr(node.expr))) for node in rule.nodes),
        ),
        Section(
            "Local partials (sympy.diff of each node by each parent)",
            tuple(
                Equation((_partial(child, parent), _expr(partial)))
                for child, parent, partial in derivation.local_partials
            ),
        ),
    ]
    chain = []
    for step in derivation.steps:
        # ∂out/∂child · ∂child/∂target for each child; the output's own factor 1 is left out.
        products = [
            [_partial(child, step.target)] if child == out else [_partial(out, child), _partial(child, step.target)]
            for child, _ in step.terms
        ]
        symbolic = (
            " + ".join("·".join(f[0] for f in factors) for factors in products),
            " + ".join("\\,".join(f[1] for f in factors) for factors in products),
        )
        total = rule.contract(sp.simplify(step.total))
        comment = f"{len(step.terms)} paths meet here: their contributions add" if len(step.terms) > 1 else ""
        lhs = _partial(out, step.target)
        parts = (lhs, _expr(total)) if symbolic == lhs else (lhs, symbolic, _expr(total))
        chain.append(Equation(parts, comment))
    sections.append(Section("Chain rule, from the output back to the input", tuple(chain)))
    sections.append(
        Section(
            "Gradient in the input alone",
            tuple(
                Equation((_partial(out, wrt), _expr(sp.simplify(gradient))))
                for wrt, gradient in derivation.gradients.items()
            ),
        )
    )
    sections.append(
        Section(
            "Textbook closed form (declared, then proven equal)",
            tuple(Equation((_partial(out, wrt), _expr(closed))) for wrt, closed in rule.closed_forms.items()),
        )
    )
    if rule.kinks:
        sections.append(
            Section(
                "Kinks",
                tuple(
                    Equation(
                        (
                            (f"{_partial(out, kink.wrt)[0]} at {text(kink.wrt)} = {text(kink.at)}",
                             f"\\left.{_partial(out, kink.wrt)[1]}\\right|_{{{sp.latex(kink.wrt)}={sp.latex(kink.at)}}}"),
                            _expr(kink.value),
                        ),
                        kink.convention,
                    )
                    for kink in rule.kinks
                ),
            )
        )
    if proof is not None:
        sections.append(
            Section(
                f"Proof ({'all claims hold' if proof.holds else 'NOT PROVEN'}, {proof.seconds:.2f} s)",
                tuple(
                    Equation(((claim.statement, claim.latex),), ("ok: " if claim.holds else "FAILED: ") + claim.method)
                    for claim in proof.claims
                ),
            )
        )
    return sections


def derivation_text(rule: Rule, proof: Proof | None = None, width: int = 100) -> str:
    """The derivation as plain terminal text."""
    lines = [rule.title, "=" * len(rule.title), *textwrap.wrap(rule.note, width), ""]
    for section in derivation_sections(rule, proof):
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
    for section in derivation_sections(rule, proof):
        lines += [f"### {section.title}", ""]
        for equation in section.equations:
            if len(equation.parts) == 1 and proof is not None and section.title.startswith("Proof"):
                lines.append(f"- {equation.parts[0][0]} — *{equation.comment}*")
                continue
            lines += ["$$", " = ".join(part[1] for part in equation.parts), "$$", ""]
            if equation.comment:
                lines += [f"*{equation.comment}*", ""]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def kernel_source(rule: Rule) -> str:
    """The generated module's source, as imported (what the docs show next to the derivation)."""
    import importlib

    return inspect.getsource(importlib.import_module(f"mathnn.kernels.{rule.name}"))
