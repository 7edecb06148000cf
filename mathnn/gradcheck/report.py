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

    def _head(self) -> str:
        head = "gradient check passed" if self.passed else "gradient check FAILED"
        return f"{head} (seed {self.seed}, {self.evaluations} function evaluations; {self.precision})"

    @staticmethod
    def _details(gradient: GradientCheck) -> list[str]:
        """The lines under a gradient's summary: its kinks, and for a failure what went wrong and where."""
        lines = [f"kink at index {kink}: the analytic value lies between the one-sided slopes"
                 for kink in gradient.kinks[:5]]
        if gradient.passed:
            return lines
        lines += [f"pattern: {pattern}" for pattern in gradient.patterns]
        if gradient.diagnosis:
            lines.append(f"diagnosis: {gradient.diagnosis}")
        lines += [f"at {entry.index}: yours {entry.analytic:.6g}, numeric {entry.numeric:.6g}, error {entry.error:.2e}"
                  for entry in gradient.worst[:3]]
        lines += [f"note: {note}" for note in gradient.notes]
        return lines

    def __str__(self) -> str:
        lines = [self._head()]
        lines += [f"  problem: {problem}" for problem in self.problems]
        for gradient in self.gradients:
            lines.append("  " + gradient.summary())
            lines += ["      " + line for line in self._details(gradient)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        """One line for a REPL: the verdict, the gradient furthest from its pass mark, and what failed."""
        verdict = "passed" if self.passed else "FAILED"
        parts = []
        if self.gradients:
            worst = max(self.gradients, key=lambda g: (g.max_error / g.tolerance if g.tolerance > 0 else g.max_error))
            parts.append(f"worst {worst.name}: {worst.max_error:.1e} (pass mark {worst.tolerance:.0e})")
            failed = [g.name for g in self.gradients if not g.passed]
            parts.append(f"failed: {', '.join(failed)}" if failed else f"{len(self.gradients)} gradients ok")
        if self.problems:
            parts.append(f"{len(self.problems)} problem{'s' if len(self.problems) > 1 else ''}")
        parts.append(f"seed {self.seed}")
        return f"<Report {verdict}: {'; '.join(parts)}; print() it for the details>"

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
        """What ``str(report)`` says, as Markdown: the verdict, a table of the gradients, then every detail."""
        rows = ["| gradient | result | max error | pass mark | method | mode |", "|---|---|---|---|---|---|"]
        for g in self.gradients:
            rows.append(f"| {g.name} | {'pass' if g.passed else '**FAIL**'} | {g.max_error:.2e} | {g.tolerance:.1e} "
                        f"| {g.method} | {g.mode} |")
        problems = "".join(f"\n\n**problem:** {p}" for p in self.problems)
        details = [f"{g.name}: {line}" for g in self.gradients for line in self._details(g)]
        block = "\n\n```text\n" + "\n".join(details) + "\n```" if details else ""
        return f"**{self._head()}**{problems}\n\n" + "\n".join(rows) + block

    def _repr_html_(self) -> str:
        """What ``str(report)`` says, as HTML: the verdict, a table of the gradients, then every detail."""
        cells = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in (
                g.name, "pass" if g.passed else "FAIL", f"{g.max_error:.2e}", f"{g.tolerance:.1e}", g.method, g.mode,
            )) + "</tr>"
            for g in self.gradients
        )
        problems = "".join(f"<p><b>problem:</b> {html.escape(p)}</p>" for p in self.problems)
        details = "".join(
            f"<p><b>{html.escape(g.name)}</b></p><ul>"
            + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"
            for g in self.gradients if (lines := self._details(g))
        )
        return (
            f"<p><b>{html.escape(self._head())}</b></p>{problems}"
            "<table><tr><th>gradient</th><th>result</th><th>max error</th><th>pass mark</th><th>method</th>"
            f"<th>mode</th></tr>{cells}</table>{details}"
        )
