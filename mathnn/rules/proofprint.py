"""A proof for reading: one line per claim, and each way of deciding stated once below the claims.

Every claim carries its full method ("entry by entry at 2×2, each: 0 atoms (tanh, σ, exp, log, H,
f) as independent symbols; cancel(derived − closed) = 0 [0.00 s]"): most of it is the same for all
the claims of a rule. The helpers here split a method into what it shares with others (stated once,
under the claims) and what is its own (shown on the claim's line). A method they do not recognize is
stated once as it is; nothing is dropped from the full text, which stays on the claim.
"""

from __future__ import annotations

import re

from .core import Equation, Proof, Section


_SIZES = r"[A-Za-z]\s?=\s?\d+(?:,\s[A-Za-z]\s?=\s?\d+)*"
_TIME = re.compile(r"\s*\[(\d+(?:\.\d+)?) s\]$")
_ATOMS = re.compile(r"\d+ atoms \(([^)]*)\) as independent symbols; cancel\(derived − closed\) = 0")
_SUMS = re.compile(r"sums as \d+ placeholder symbols")
_SQRT = re.compile(r", √\(.*\) as s; numerator reduced modulo s² − radicand: remainder 0")
_ENTRY_WISE = re.compile(r"^entry by entry at \d+×\d+, each: (.*)$")
_EXACT_POINT = re.compile(
    r"^at ([A-Za-z]) = (\d+), entry (\d+), rational inputs \(seed (\d+)\): difference (\S+)$")
_ENTRIES_DIFFER = re.compile(rf"^at ({_SIZES}): entries \[(.*)\] differ at \d+×\d+$")
_RANDOM_POINT = re.compile(rf"(\w+) at ({_SIZES}): differs by (\S+) at a random point \((\d+) digits\)")
_CLOSED_FORM = re.compile(
    r"^(?P<lhs>.+?) derived by (?P<how>.+?) equals the closed form (?P<rhs>.+)$")
_GIVES = re.compile(r"^(?P<kernel>\w+) gives (?P<grad>∂L/∂\S+) of (?P<loss>L = .+?), (?P<how>derived by .+)$")
_SIZE_TAIL = re.compile(rf"(?:, entry by entry at ({_SIZES})| \(({_SIZES})\)|, for (symbolic [A-Za-z]))$")
ENTRY_WISE = "A claim about arrays is decided entry by entry, at the sizes on its line."
#: Ends the method of a claim an element-wise layer proves for one symbolic entry; ONE_ENTRY says it once.
FOR_EVERY_ENTRY = "; for one symbolic entry, so for every entry: the entries of an element-wise layer are independent"
ONE_ENTRY = ("The layer is element-wise: its entries are independent, so a claim about them, proven for one "
             "symbolic entry, holds for every entry.")


def _short(value: str) -> str:
    """A difference as three significant digits (``5.24554`` → ``5.25``); other text as it is."""
    try:
        return f"{float(value):.3g}"
    except ValueError:
        return value


def method_parts(method: str) -> tuple[str, str]:
    """A claim's method split into (how, detail): how it was decided, the same text for every claim
    decided the same way, and what is particular to this claim (a difference, the time)."""
    how, details = method.strip(), []
    timed = _TIME.search(how)
    seconds = float(timed.group(1)) if timed else 0.0
    if timed:
        how = how[:timed.start()]
    if match := _ENTRY_WISE.match(how):  # the sizes are on the claim's line; ENTRY_WISE says the rest once
        how = match.group(1)
    how = how.removesuffix(FOR_EVERY_ENTRY)  # ONE_ENTRY says it once
    how = _ATOMS.sub(r"transcendental atoms (\1) as independent symbols, then cancel(derived − closed) = 0", how)
    how = _SUMS.sub("sums as placeholder symbols", how)
    how = _SQRT.sub(", the square root as a symbol s; the numerator reduced modulo s² − radicand: remainder 0", how)
    if match := _EXACT_POINT.match(how):
        size, value, entry, seed, difference = match.groups()
        how = f"evaluated exactly with rational inputs (seed {seed}), at entry {entry}: the difference is not 0"
        details.append(f"{size} = {value}: differs by {_short(difference)}")
    elif match := _ENTRIES_DIFFER.match(how):
        how = "compared entry by entry: some entries differ"
        details.append(f"{match.group(1)}: entries {match.group(2)} differ")
    elif found := list(_RANDOM_POINT.finditer(how)):
        digits = found[0].group(4)
        how = f"evaluated at a random point with {digits} digits: the difference is not 0"
        sizes = dict.fromkeys(m.group(2) for m in found)
        details.append("; ".join(
            f"{size}: " + ", ".join(f"{m.group(1)} by {_short(m.group(3))}" for m in found if m.group(2) == size)
            for size in sizes))
    if seconds >= 0.005:
        details.append(f"{seconds:.2f}\u00a0s")  # no line break inside "0.26 s"
    return how, "; ".join(details)


def statement_parts(statement: str) -> tuple[str, str, str]:
    """A claim's statement split into (shown, detail, note): the claim as a line (``∂L/∂x = dout @ wᵀ``),
    its sizes, and what the shortened form means (said once for all the claims it applies to)."""
    shown, detail, note = statement.strip(), "", ""
    if match := _SIZE_TAIL.search(shown):
        detail = next(group for group in match.groups() if group)
        shown = shown[:match.start()]
    if match := _CLOSED_FORM.match(shown):
        shown = f"{match['lhs']} = {match['rhs']}"
        note = f"“A = B”: A derived by {match['how']}, B the declared closed form, proven equal."
    elif match := _GIVES.match(shown):
        shown = f"{match['kernel']} gives {match['grad']}"
        note = f"“k gives ∂L/∂v”: k's gradient equals ∂L/∂v of {match['loss']}, {match['how']}."
    return shown, detail, note


def _letters(count: int) -> list[str]:
    return [chr(ord("a") + i) if i < 26 else f"m{i}" for i in range(count)]


def proof_section(proof: Proof) -> Section:
    """The proof's claims as a section, for reading: one line per claim (verdict, claim, what is its
    own), and how they were decided stated once, under them.

    Each line keeps the full statement and method (``Equation.statement``, ``Equation.comment``) for
    the renderers to show when a claim fails or when everything is asked for.
    """
    parts = [(statement_parts(claim.statement), method_parts(claim.method)) for claim in proof.claims]
    methods = list(dict.fromkeys(how for _, (how, _) in parts))
    label = dict(zip(methods, _letters(len(methods)))) if len(methods) > 1 else {}
    lines = []
    for claim, ((shown, size, _), (how, particular)) in zip(proof.claims, parts):
        detail = "; ".join(text for text in (size, particular) if text)
        if label:
            detail = f"{detail}\u00a0[{label[how]}]" if detail else f"[{label[how]}]"
        lines.append(Equation(((shown, claim.latex),), claim.method, "✓" if claim.holds else "✗", detail,
                              claim.statement))
    notes = list(dict.fromkeys(note for (_, _, note), _ in parts if note))
    if any(_ENTRY_WISE.match(claim.method.strip()) for claim in proof.claims):
        notes.append(ENTRY_WISE)
    if any(claim.method.endswith(FOR_EVERY_ENTRY) for claim in proof.claims):
        notes.append(ONE_ENTRY)
    if label:
        notes += ["How each claim was decided:"] + [f"[{label[how]}] {how}" for how in methods]
    elif methods:
        notes.append(f"How every claim was decided: {methods[0]}")
    failed = sum(not claim.holds for claim in proof.claims)
    count = len(proof.claims)
    verdict = "all hold" if not failed else f"{failed} FAIL{'S' if failed == 1 else ''}"
    return Section(
        f"Proof ({'all claims hold' if proof.holds else 'NOT PROVEN'}, {count} claims, {proof.seconds:.2f} s)",
        tuple(lines),
        summary=f"{count} claim{'s' if count != 1 else ''}, {verdict}, "
                f"{proof.seconds:.{1 if proof.seconds >= 0.1 else 2}f} s",
        notes=tuple(notes),
    )
