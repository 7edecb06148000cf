"""How a proof reads: one line per claim, the shared method once, the full method of a failing claim."""

from __future__ import annotations

from mathnn.codegen.render import proof_html, _proof_text, markdown_text
from mathnn.rules.core import Claim, Proof, method_parts, proof_section, statement_parts

ATOMS = "0 atoms (tanh, σ, exp, log, H, f) as independent symbols; cancel(derived − closed) = 0"


def _claims() -> list[Claim]:
    return [
        Claim("∂L/∂x derived by reverse accumulation equals the closed form δ @ Wxᵀ, entry by entry at N=1, D=2, H=2",
              "", f"entry by entry at 1×2, each: {ATOMS} [0.00 s]", True),
        Claim("∂L/∂Wx derived by reverse accumulation equals the closed form xᵀ @ δ, entry by entry at N=2, D=1, H=2",
              "", f"entry by entry at 2×2, each: {ATOMS} [0.31 s]", True),
        Claim("the mistake 'no mean path' gives a different ∂L/∂x", "",
              "at N = 3, entry 0, rational inputs (seed 0): difference 5.24554 [0.79 s]", True),
    ]


def test_each_claim_is_one_short_line_and_each_method_is_stated_once():
    section = proof_section(Proof("r", _claims(), 1.1))
    assert section.summary == "3 claims, all hold, 1.1 s"
    first, second, mistake = section.equations
    assert (first.mark, first.parts[0][0], first.detail) == ("✓", "∂L/∂x = δ @ Wxᵀ", "N=1, D=2, H=2\u00a0[a]")
    assert second.detail == "N=2, D=1, H=2; 0.31\u00a0s\u00a0[a]"
    assert mistake.detail == "N = 3: differs by 5.25; 0.79\u00a0s\u00a0[b]"
    lines = _proof_text(section, width=100, verbose=False)
    assert all(len(line) <= 100 for line in lines)
    text = " ".join(" ".join(lines).split())  # as read, across the wrapped lines
    assert text.count("cancel(derived − closed) = 0") == 1  # the shared method, once
    assert text.count("rational inputs (seed 0)") == 1
    assert "0 atoms" not in text and "[0.31 s]" not in text  # the per-claim method is not repeated
    # the full statement and method are kept on the line, for --verbose
    assert first.comment == _claims()[0].method and first.statement == _claims()[0].statement
    verbose = " ".join(" ".join(_proof_text(section, width=100, verbose=True)).split())
    assert verbose.count("0 atoms (tanh") == 2 and "difference 5.24554" in verbose


def test_a_failing_claim_shows_its_full_method_and_the_block_opens():
    claims = _claims()
    claims[1] = Claim(claims[1].statement, "", f"entry by entry at 2×2, each: {ATOMS.replace('= 0', '≠ 0')}", False)
    section = proof_section(Proof("r", claims, 1.0))
    assert section.title.startswith("Proof (NOT PROVEN")
    assert section.summary == "3 claims, 1 FAILS, 1.0 s"
    assert [e.mark for e in section.equations] == ["✓", "✗", "✓"]
    text = " ".join(" ".join(_proof_text(section, width=100, verbose=False)).split())
    assert "method: entry by entry at 2×2, each: 0 atoms" in text  # the failing claim's whole method
    assert "difference 5.24554" not in text  # a claim that holds keeps its short line
    block = "\n".join(proof_html(section))
    assert block.startswith('<details class="mathnn-proof" open>')
    assert "method: entry by entry at 2×2" in block


def test_an_unknown_method_or_statement_is_kept_whole():
    assert method_parts("solve(σ″ = 0) = [0]; σ′(0) = 1/4") == ("solve(σ″ = 0) = [0]; σ′(0) = 1/4", "")
    assert statement_parts("max(0, m) = H(m)·m with H(0) = 0, for every real m") == (
        "max(0, m) = H(m)·m with H(0) = 0, for every real m", "", "")
    section = proof_section(Proof("r", [Claim("a claim", "", "a method", True)], 0.0))
    assert section.notes == ("How every claim was decided: a method",)
    assert section.equations[0].detail == ""


def test_claim_text_in_a_page_is_escaped():
    section = proof_section(Proof("r", [Claim("σ*(1 - σ)*x with W_hh | h <b>", "", "m", True)], 0.0))
    block = "\n".join(proof_html(section))
    assert "σ*(1 - σ)*x with W_hh | h &lt;b&gt;" in block  # raw HTML: Markdown leaves it alone
    assert markdown_text("σ*(1 - σ)*x_t | $5 [h_t | c_t] <b>") == (
        r"σ\*(1 - σ)\*x\_t \| \$5 \[h\_t \| c\_t\] &lt;b>")
