"""What a gradient check found, per gradient, in a form a student can act on.

A :class:`Report` is truthy only when every gradient passed. ``str(report)`` is a readable summary,
``to_dict()`` is JSON-able, and in Jupyter it renders as a Markdown/HTML table.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Entry:
    """One entry of a gradient: where it is, what the student's code gave and what the derivative is."""

    index: tuple[int, ...]
    analytic: float
    numeric: float
    error: float  # |analytic − numeric| / the gradient's scale


@dataclass
class GradientCheck:
    """The check of one gradient (dx, dgamma, dWh, …)."""

    name: str
    passed: bool
    method: str
    mode: str
    max_error: float
    tolerance: float
    worst: list[Entry] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    diagnosis: str | None = None
    kinks: list[tuple[int, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        status = "ok  " if self.passed else "FAIL"
        return (
            f"[{status}] {self.name}: max error {self.max_error:.2e} (pass mark {self.tolerance:.1e}), "
            f"{self.method}, {self.mode}"
        )


@dataclass
class Report:
    """The outcome of :func:`mathnn.gradcheck.check_vjp`."""

    gradients: list[GradientCheck]
    seed: int
    evaluations: int
    precision: str
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems and all(gradient.passed for gradient in self.gradients)

    def __bool__(self) -> bool:
        return self.passed

    def __getitem__(self, name: str) -> GradientCheck:
        for gradient in self.gradients:
            if gradient.name == name:
                return gradient
        raise KeyError(f"no gradient named {name!r}; checked: {', '.join(g.name for g in self.gradients)}")

    def __str__(self) -> str:
        head = "gradient check passed" if self.passed else "gradient check FAILED"
        lines = [f"{head} (seed {self.seed}, {self.evaluations} function evaluations; {self.precision})"]
        lines += [f"  problem: {problem}" for problem in self.problems]
        for gradient in self.gradients:
            lines.append("  " + gradient.summary())
            for kink in gradient.kinks[:5]:
                lines.append(f"      kink at index {kink}: the analytic value lies between the one-sided slopes")
            if gradient.passed:
                continue
            for pattern in gradient.patterns:
                lines.append(f"      pattern: {pattern}")
            if gradient.diagnosis:
                lines.append(f"      diagnosis: {gradient.diagnosis}")
            for entry in gradient.worst[:3]:
                lines.append(
                    f"      at {entry.index}: yours {entry.analytic:.6g}, numeric {entry.numeric:.6g}, "
                    f"error {entry.error:.2e}"
                )
            for note in gradient.notes:
                lines.append(f"      note: {note}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "seed": self.seed,
            "evaluations": self.evaluations,
            "precision": self.precision,
            "problems": list(self.problems),
            "gradients": [
                {**asdict(gradient), "worst": [asdict(entry) for entry in gradient.worst],
                 "kinks": [list(kink) for kink in gradient.kinks]}
                for gradient in self.gradients
            ],
        }

    def _repr_markdown_(self) -> str:
        rows = ["| gradient | result | max error | pass mark | method | pattern / diagnosis |", "|---|---|---|---|---|---|"]
        for g in self.gradients:
            explain = "; ".join([*g.patterns, *([g.diagnosis] if g.diagnosis else [])]) or "—"
            rows.append(
                f"| {g.name} | {'pass' if g.passed else '**FAIL**'} | {g.max_error:.2e} | {g.tolerance:.1e} "
                f"| {g.method} | {explain} |"
            )
        problems = "".join(f"\n\n**problem:** {p}" for p in self.problems)
        return f"**{'passed' if self.passed else 'FAILED'}** (seed {self.seed}){problems}\n\n" + "\n".join(rows)

    def _repr_html_(self) -> str:
        cells = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in (
                g.name, "pass" if g.passed else "FAIL", f"{g.max_error:.2e}", f"{g.tolerance:.1e}", g.method,
                "; ".join([*g.patterns, *([g.diagnosis] if g.diagnosis else [])]) or "—",
            )) + "</tr>"
            for g in self.gradients
        )
        problems = "".join(f"<p><b>problem:</b> {html.escape(p)}</p>" for p in self.problems)
        return (
            f"<p><b>{'passed' if self.passed else 'FAILED'}</b> (seed {self.seed})</p>{problems}"
            "<table><tr><th>gradient</th><th>result</th><th>max error</th><th>pass mark</th><th>method</th>"
            f"<th>pattern / diagnosis</th></tr>{cells}</table>"
        )
