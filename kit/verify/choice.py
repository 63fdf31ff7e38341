"""Multiple-choice verification (GPQA-Diamond): is the letter a model chose the gold letter?

The chosen letter is read from the last `\\boxed{...}` whose content reduces to one letter - `C`, `(C)`,
`\\text{C}`, `\\textbf{(C)}`, `C)`, `C.`, `C: <choice text>`, `C (2.5 eV)`, `C, 2.5 eV` - and, when no box
holds a letter, from the last `Answer: C` / `the answer is (C)` / `Answer: "C"` in the text, else from an
answer that is the letter alone (`C`, `**C**`, `(C)`) or on one line with its choice (`C) 2.5 eV`), as
lighteval's GPQA metric reads them (its tests: `B`, `(B)`, `Answer: "C"`). Extraction is strict, because a
wrong letter read from prose scores a guess: letters are upper case and must stand alone (`CA`, `Because`,
the article in "the answer is a ..." are no choice), `A or B` / `A, B` is ambiguous, and a last boxed letter
outside `letters` (`E` for four options) gives no answer rather than an earlier box.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from kit.core.parallel import Closing
from kit.verify import Verdict, clip
from kit.verify.math import _BOX, extract_boxed

VERIFIER = "choice"

# \text{C}, \textbf{(C)}, \mathrm{C}, ... keep their content; innermost first, so nesting unwraps too.
_FORMAT = re.compile(r"\\(?:text|textbf|textrm|textit|textsf|mathrm|mathbf|mathit|mathsf|mbox)\s*\{([^{}]*)\}")
# One letter standing alone: `C`, `(C)`, `[C]`, `C)`, `C.`, `C:`, `C,`, `C (` - then anything, or nothing.
_LETTER = r"(?:\((?P<p>[A-Z])\)|\[(?P<b>[A-Z])\]|(?P<l>[A-Z])(?=$|[).:,]|\s+\(|\s*$))"
_BOXED_LETTER = re.compile(r"(?i:(?:option|choice)\s*)?" + _LETTER)
# `Answer: C`, `answer is (C)`, `Final Answer: **C**`, `the correct answer is option C`.
_ANSWER = re.compile(
    r"\b(?i:answer)\s*(?:(?i:is)\s*)?[:：]?(?:\s|\*\*|\$|[\"'“‘]|\\(?:text|textbf|mathrm|mathbf)\{)*"
    r"(?i:(?:option|choice)\s+)?"
    r"(?:\((?P<p>[A-Z])\)|(?P<l>[A-Z])(?![A-Za-z0-9]))"
)
# An answer that is the letter alone, or on one line with its choice: `C`, `**C**`, `(C)`, `C) 2.5 eV`.
_ALONE = re.compile(r"\**(?:\((?P<p>[A-Z])\)|(?P<l>[A-Z])(?:[).:]\**(?:[ \t][^\n]*)?)?)\**")
# What makes a letter ambiguous when it follows: `A or B`, `A, B`, `A/B`, `A and (B)`, `A (or B)`.
_ALTERNATIVE = re.compile(r"[).:]?\s*\(?\s*(?:,|/|&|\bor\b|\band\b)\s*\(?[A-Z](?![A-Za-z])")


def _letter(match: re.Match[str]) -> str:
    return next(group for group in match.groups() if group)


def _boxed_letter(content: str) -> str | None:
    """The letter a box's content reduces to, or None."""
    text = content.strip().strip("$").strip()
    while (unwrapped := _FORMAT.sub(r"\1", text)) != text:
        text = unwrapped
    while text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    match = _BOXED_LETTER.match(text)
    if match is None or _ALTERNATIVE.match(text, match.end()):
        return None
    return _letter(match)


def _boxes(text: str) -> list[str]:
    """The contents of every box in `text`, in order (a box that never closes is left out)."""
    starts = [m.start() for m in _BOX.finditer(text)] + [len(text)]
    contents = (extract_boxed(text[a:b]) for a, b in zip(starts, starts[1:], strict=False))
    return [content for content in contents if content is not None]


def extract_choice(solution: str, letters: str = "ABCD") -> str | None:
    """The letter a model chose in `solution`, or None when none is found unambiguously (see the module doc)."""
    text = solution or ""
    for content in reversed(_boxes(text)):
        letter = _boxed_letter(content)
        if letter is not None:
            return letter if letter in letters else None
    chosen = None
    for match in _ANSWER.finditer(text):
        letter = _letter(match)
        if letter in letters and not _ALTERNATIVE.match(text, match.end()):
            chosen = letter
    if chosen is None and (alone := _ALONE.fullmatch(text.strip())) and not _ALTERNATIVE.match(text.strip(), 1):
        chosen = _letter(alone) if _letter(alone) in letters else None
    return chosen


def verify_choice(gold: str, solution: str, letters: str = "ABCD") -> Verdict:
    """Passed when the letter chosen in `solution` is `gold`; reasons `no_answer` and `wrong_answer`."""
    predicted = extract_choice(solution, letters)
    detail = {"gold": gold, "predicted": predicted}
    if predicted is None:
        return Verdict(False, VERIFIER, "no_answer", detail)
    if predicted != gold.strip():
        return Verdict(False, VERIFIER, "wrong_answer", detail)
    return Verdict(True, VERIFIER, None, detail)


def undecidable(row: Mapping[str, Any], letters: str = "ABCD") -> tuple[str, str] | None:
    """(`no_ground_truth`, detail) when the row's `ground_truth_answer` is not one of `letters` (no choice passes),
    else None."""
    gold = (row.get("ground_truth_answer") or "").strip()
    if len(gold) == 1 and gold in letters:
        return None
    return "no_ground_truth", f"ground_truth_answer {clip(gold, 40)!r} is not one of the letters {', '.join(letters)}"


class ChoiceVerifier(Closing):
    """Verifies multiple-choice rows: `verify_choice(row["ground_truth_answer"], row["solution"])`, in the
    caller's thread (reading a letter is cheap). Same interface as MathVerifier and CodeVerifier."""

    def __init__(self, letters: str = "ABCD") -> None:
        self.letters = letters

    def verify(self, rows: Iterable[Mapping[str, Any]],
               on_result: Callable[[int], None] | None = None) -> Iterator[Verdict]:
        """Verdicts for `rows`, in input order, streamed; `on_result(n_done)` before each is yielded."""
        for n_done, row in enumerate(rows, start=1):
            verdict = verify_choice(row.get("ground_truth_answer") or "", row.get("solution") or "", self.letters)
            if on_result is not None:
                on_result(n_done)
            yield verdict

    def close(self) -> None:
        """Nothing to stop."""



__all__ = ["ChoiceVerifier", "extract_choice", "undecidable", "verify_choice"]
