"""Math verification with Math-Verify: is the final answer of a solution equal to the gold answer?

This module holds the kit's one math answer rule; curation and `kit eval` (the registry's `math` verifier,
`kit.verify.registry`) and the arena's badge (`kit.demo.arena`) all reach it through `MathVerifier`.

Gold (`gold_source`): the row's `ground_truth_answer` when non-empty, else the final boxed answer of its
`ground_truth_solution` (`final_boxed`, as for a candidate), else that solution's GSM8K `#### N` line (thousands
commas and a leading `$` dropped), else its MetaMathQA last line `The answer is: N`, else the solution itself when it
is only an answer: one short line that is no prose (open-r1/DAPO-Math-17k-Processed's `solution` is the bare answer,
`34`). NuminaMath-1.5's placeholder answers, `proof` and `notfound`, are no gold answer (and the solution is not
searched then): such rows get `no_ground_truth`, so a model that boxes the word is not rewarded. A gold that is a list
of quoted answers - `["\\frac{1}{2}", "0.5"]`, or the Python text `['10']` that verl datasets such as
Skywork-OR1-RL-Data keep in `reward_model.ground_truth` - accepts any of them (`gold_answers`).
Candidate (`boxed_answer`, else `extract_answer`): only the answer part of the solution counts - after the last
`</think>` / `<|end_of_thought|>` when there is one, nothing when reasoning opens and never closes. Its
final boxed answer when it has a box (`final_boxed`: the last `\\boxed{}`, with the boxes before it that only a
connector joins to it, `$x = \\boxed{1}$ or $x = \\boxed{2}$`, as Math-Verify reads them: one answer of several
values, so that neither a right answer of two values fails nor two hedged guesses pass as the last one); otherwise
Math-Verify's own extraction of the final answer, with its `LatexExtractionConfig` and `ExprExtractionConfig` (as
lighteval's math metrics call it; open-r1's accuracy reward reads LaTeX after an answer anchor only): the
anchored forms first ("final answer is ...", "Answer: ...", "the answer is ..."), then - only when the
answer part has a digit at all - the last plain LaTeX expression or number ("#### 18", "A: 18", "**18**",
"$1,234"). With `require_boxed` (recipe `verify.math.require_boxed: true`) only the final boxed answer of the
whole solution counts, as before. `detail` records `answer_from` (`boxed` | `math_verify_extraction`) and
`gold_from` (`ground_truth_answer` | `boxed_solution` | `gsm8k_hash` | `answer_line` | `answer_solution`).

Multiple choice (AMC): a gold or boxed answer that names a choice - `B`, `(B)`, `\\text{(B)}`, or the
`\\textbf{(B)}\\ 12` of AoPS solutions, letter then value (`C: 60 \\times 40` and `B. 12` as cn_k12's rows box it) - is
compared by its letter when both sides name one, else by the choice's value (`answer_choice`), so `\\boxed{B}` and
`\\boxed{12}` are both right for `\\boxed{\\textbf{(B)}\\ 12}`. A multiple-select answer (`AC`, `A, C`, or `A` and
`C` boxed apart) is right when the letters are the same (`choice_letters`).

A gold answer and a boxed candidate are handed to math-verify wrapped as `\\boxed{...}` - bare, `parse`
reads `(-\\infty, 3)` as 3, `3, 5` as 5, and `x^2+1` or `\\text{Evelyn}` as nothing - then parsed and
compared with `math_verify.parse` / `verify`. Digits grouped by thin spaces (`10\\,080`, SI style, which
Math-Verify reads as 10 times 80) are joined first, in answers and in the text answers are extracted from, as are
those of a whole answer grouped by plain spaces (`1 000 000`); `\\varnothing` is the empty set, as `\\emptyset`; and
the full stop (or comma) of a sentence that ends an answer is dropped (`\\boxed{7.}`, a gold `7.`).

Time limits. math-verify's own timeouts are `signal.alarm` calls: main thread only, whole seconds only
(a float such as 0.5 makes `parse` return `[]` and `verify` return False without a word), one budget per
call, and a timeout is reported as a plain mismatch. So they are switched off here, and each item gets
one float budget for everything (both parses and the comparison) from an interval timer
(`_time_limit`), which yields a `timeout` verdict. `MathVerifier` runs items in the main thread of
worker processes (`kit.verify.pool`), where that timer works, and the parent enforces the limit too:
an item still running `GRACE_S` after its budget (stuck in C code that never lets a signal through)
gets a `timeout` verdict and its worker is killed and replaced.
"""

from __future__ import annotations

import ast
import functools
import json
import logging
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sympy
from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

from kit.core.chat import ANSWER_CLOSE, ANSWER_OPEN, CLOSERS, OPENERS, SOLUTION_MARKS
from kit.core.parallel import Closing, cpu_count
from kit.core.schema import as_text
from kit.verify import Verdict, clip
from kit.verify.pool import Failure, ProcessPool

VERIFIER = "math-verify"
GRACE_S = 1.0  # the parent kills a worker this long after the item's own limit
MAX_DETAIL_CHARS = 500

_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BARE_ARGUMENT = re.compile(r"[^\s$]+")  # `\boxed 5` (no braces): the next token
# Between two boxes of one answer (`final_boxed`): math delimiters and spacing, a word in \text{}, the next box's `x =`
_JOIN_NOISE = re.compile(r"\$|\\[()\[\]]|\\q?quad(?![A-Za-z])|\\[,;:! ]|~")
_TEXT_WORD = re.compile(r"\\(?:text|mathrm|textrm)\s*\{([^{}]*)\}")
_LEAD_IN = re.compile(r"[A-Za-z](?:_\{?\w+\}?)?\s*=\s*$")
_CONNECTOR = re.compile(r"\s*(?:,|;|(?:,\s*)?(?i:and|or))\s*")
_GSM8K_HASH = re.compile(r"^[ \t]*####[ \t]*(.*?)[ \t]*$", re.MULTILINE)  # GSM8K's `#### 72` answer line
# MetaMathQA's last line, `The answer is: 72` (what MetaMath's own evaluation splits its replies on)
_ANSWER_LINE = re.compile(r"\n?[ \t]*The answer is:[ \t]*([^\n]*?)[ \t.]*\s*\Z")
_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
# A multiple-choice answer as AMC solutions box it: `\textbf{(B)}\ 12`, `\textbf{(B) }12`, `\text{(B)}`, `(B) 12`,
# `\mathrm{B}`; its letter, then what follows (the choice's value, after spacing commands).
_SPACING = r"(?:\s|~|\\[ ,;:!]|\\q?quad\b|:)*"
# cn_k12's rows (NuminaMath) box a choice with its value as `C: 60 \times 40` or `B. 12` too.
_CHOICE = re.compile(r"(?:\\(?:textbf|textrm|text|mathrm|mathbf)\s*\{\s*(?:\(\s*([A-E])\s*\)|([A-E]))"
                     + _SPACING + r"\}|\(\s*([A-E])\s*\)|([A-E])\s*[.:\uff1a](?!\d))" + _SPACING + r"(.*)", re.DOTALL)
# The letters of a multiple-select answer (cn_k12's "which of the following are correct"): `ACD`, `A, C, D`, `A and C`
_FORMATTED = re.compile(r"\\(?:textbf|textrm|text|mathrm|mathbf)\s*\{([^{}]*)\}")
_LETTERS = re.compile(r"[A-E](?:(?:\s|[,;\u3001~]|\\[,;: ]|\band\b)*[A-E])+")
_OPERATOR = re.compile(r"[+=<>,*/^_|]|\\(?:cup|cap|setminus|times|cdot|leq?|geq?|neq?|to|in)(?![A-Za-z])")  # `(A) \cup (B)`
_DIGIT = re.compile(r"\d")
_BOLD = re.compile(r"\\textbf\s*\{(.*)\}", re.DOTALL)  # an answer in bold, all of it
# Digits grouped by thin spaces, `10\,080` (SI style; MATH's own `10,\!080` Math-Verify reads already): one number
_SPACE_GROUPED = re.compile(r"(?<![\d.])\d{1,3}(?:(?:\\[,;:]|~)\d{3})+(?![\d])")
_GROUP_SPACE = re.compile(r"\\[,;:]|~")
# A whole answer whose digits are grouped by plain spaces, `1 000 000` (the European style of some translated olympiad
# problems); in running text two numbers may stand so, so only a whole answer is joined
_PLAIN_GROUPED = re.compile(r"[-+]?\d{1,3}(?: \d{3})+(?:\.\d+)?")
# The empty set's other symbol, which Math-Verify reads as a variable named varnothing
_EMPTY_SET = re.compile(r"\\varnothing(?![A-Za-z])")
# Math symbols typed as Unicode, which Math-Verify reads as text equal to nothing else (`π`, `×`, `≤`, `≥` and the
# minus sign U+2212 it reads itself): each as LaTeX writes it (`_unicode_latex`)
_UNICODE_SYMBOLS = str.maketrans({"°": "^{\\circ}", "∞": "\\infty ", "–": "-", "⁄": "/", "⋅": "\\cdot ", "∈": "\\in ",
                                  "ℤ": "\\mathbb{Z}", "ℕ": "\\mathbb{N}"})
# What closes a periodic answer, `\frac{\pi}{6} + k\pi, k \in \mathbb{Z}` or `... (k\in Z)` (cn_k12's trigonometry): the
# integer a period's multiple ranges over, which Math-Verify reads as part of the value (`_as_latex` drops it)
_INTEGER_RANGE = re.compile(
    r"(?:\s|[,;]|\\[,;:! ]|\\q?quad(?![A-Za-z])|~)*\(?\s*(?:\\text\s*\{\s*(?:where|for)\s*\}\s*)?"  # `, (` `\text{where}`
    r"(?<![\w\\{}^])[a-zA-Z](?:\s*,\s*[a-zA-Z])*\s*\\in\s*"  # `k \in`, `k, m \in`: a variable, not the end of a name
    r"(?:\\math(?:bb|bf|rm)\s*\{\s*[ZN]\s*\}|\\math(?:bb|bf)\s*[ZN]|[ZN])(?:\^\{?[+*]\}?|_\{?\+\}?)?"  # the integers
    r"\s*\)?\s*\.?\s*$")
_SUPERSCRIPT = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+", strict=True))
_SUPERSCRIPTS = re.compile(f"[{''.join(_SUPERSCRIPT)}]+")
_VULGAR = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4), "⅕": (1, 5), "⅖": (2, 5),
           "⅗": (3, 5), "⅘": (4, 5), "⅙": (1, 6), "⅚": (5, 6), "⅛": (1, 8), "⅜": (3, 8), "⅝": (5, 8),
           "⅞": (7, 8)}
_VULGARS = re.compile(f"[{''.join(_VULGAR)}]")
# `√2`, `3√5`, `√x`, `√(x+1)`, `√{x}`: the root's argument, a number, a letter, or a bracketed group
_ROOT = re.compile(r"√\s*(\d+(?:\.\d+)?|[A-Za-z]|\([^()]*\)|\{[^{}]*\})")
_FULLWIDTH = re.compile("[\uff01-\uff5e]")  # fullwidth ASCII (`１２`), as CJK text types digits and letters
# NuminaMath-1.5's `answer` for a proof problem and for one whose answer its authors could not extract
PLACEHOLDER_ANSWERS = frozenset({"proof", "notfound"})
_MAX_ANSWER_ONLY_CHARS = 100  # a ground_truth_solution this short, on one line and no prose, is an answer
_PROSE = re.compile(r"[A-Za-z]{2,}[\s,;:.]+[A-Za-z]{2,}")  # two words in a row
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_MAX_GOLD_LIST_CHARS = 20_000  # a longer text is read as one answer, never parsed as a list

# Math-Verify's extraction of a final answer from free text, in its own priority order: "final answer is",
# "Answer:", "answer ... N", then (`try_extract_without_anchor`) the last LaTeX expression or number.
_EXTRACT_ANY = (LatexExtractionConfig(), ExprExtractionConfig())
_EXTRACT_ANCHORED = (LatexExtractionConfig(try_extract_without_anchor=False),
                     ExprExtractionConfig(try_extract_without_anchor=False))

BOXED, EXTRACTED = "boxed", "math_verify_extraction"  # `answer_from`


class _HideDisabledTimeoutWarning(logging.Filter):
    """math-verify warns once per process that its timeouts are off; here `_time_limit` replaces them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout is disabled")


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_HideDisabledTimeoutWarning())


# --------------------------------------------------------------------------------------------------
# Answers


def extract_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` or `\\fbox{...}` in `text`, stripped; None if there is none.

    Braces nest (`\\boxed{\\frac{1}{2}}`), escaped braces (`\\{`, `\\}`) do not count, and the brace-less
    form `\\boxed 5` gives the next token without trailing punctuation. A last box that never closes
    (a truncated output) counts as no answer rather than falling back to an earlier box.
    """
    matches = list(_BOX.finditer(text or ""))
    if not matches:
        return None
    rest = text[matches[-1].end():].lstrip()
    if not rest.startswith("{"):
        token = _BARE_ARGUMENT.match(rest)
        return token.group().rstrip(".,;") if token else None
    braced = _braced(text, matches[-1].end())
    return braced[0] if braced else None


def _braced(text: str, start: int) -> tuple[str, int] | None:
    """(content, end) of the braced argument of the box command that ends at `start` (`end`: just after its closing
    brace); None when the argument has no brace or never closes."""
    i = len(text) - len(text[start:].lstrip())
    if not text.startswith("{", i):
        return None
    depth, begin = 0, i
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2  # skip the escaped character, e.g. \{ or \}
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[begin + 1:i].strip(), i + 1
        i += 1
    return None


def final_boxed(text: str) -> str | None:
    """The final boxed answer of `text`: the last box (`extract_boxed`), with the boxes before it that a connector
    alone joins to it - `$x = \\boxed{1}$ or $x = \\boxed{2}$`, `\\boxed{1}, \\boxed{2} and \\boxed{3}` -, their
    contents joined by commas (`1, 2`), an answer of several values, as Math-Verify reads such a chain (its
    `lazy_latex_regex`); a repeated content counts once. Boxes with words between them (`\\boxed{1}, then corrected:
    \\boxed{2}`, `the median is \\boxed{2} and the mode is \\boxed{0}`) are not one answer: the last counts."""
    last = extract_boxed(text)
    if last is None:
        return None
    matches = list(_BOX.finditer(text))
    contents, following = [last], matches[-1].start()
    for match in reversed(matches[:-1]):
        braced = _braced(text, match.end())
        if braced is None or braced[1] > following or not _joins(text[braced[1]:following]):
            break
        if braced[0] != contents[0]:
            contents.insert(0, braced[0])
        following = match.start()
    return ", ".join(contents)


def _joins(between: str) -> bool:
    """Whether the text between two boxes only joins them into one answer: a comma, a semicolon, `and` or `or`, with
    math delimiters, spacing and the next box's `x =` around it."""
    text = _JOIN_NOISE.sub(" ", _TEXT_WORD.sub(r" \1 ", between))
    return bool(_CONNECTOR.fullmatch(_LEAD_IN.sub("", text)))


def count_boxes(text: str) -> int:
    """How many `\\boxed` / `\\fbox` commands `text` holds (closed or not)."""
    return len(_BOX.findall(text or ""))


def gsm8k_answer(text: str) -> str | None:
    """The answer of GSM8K's last `#### N` line in `text`, with thousands commas and a leading `$` dropped
    (`#### 1,234` gives `1234`); None without such a line."""
    matches = _GSM8K_HASH.findall(text or "")
    answer = matches[-1].strip() if matches else ""
    answer = answer.removeprefix("\\$").removeprefix("$").strip()
    if _THOUSANDS.fullmatch(answer):
        answer = answer.replace(",", "")
    return answer or None


def gold_source(row: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The row's gold answer and where it came from: `ground_truth_answer` when non-empty (enclosing `$...$`
    removed), else the final boxed answer of `ground_truth_solution` (`boxed_solution`), else that solution's
    `#### N` line (`gsm8k_hash`), else its last line when it is MetaMathQA's `The answer is: N` (`answer_line`),
    else the solution when it is only an answer (`answer_solution`, see
    `_answer_only`); (None, None) when none gives one, or when the answer is a placeholder
    (`PLACEHOLDER_ANSWERS`: the row has no answer to check)."""
    answer = _unwrapped(_text(row.get("ground_truth_answer")))
    if answer:  # a placeholder is no answer, and then the solution is not searched for one either
        return (answer, "ground_truth_answer") if gold_answers(answer) else (None, None)
    solution = _text(row.get("ground_truth_solution"))
    if boxed := final_boxed(solution):
        return boxed, "boxed_solution"
    if hashed := gsm8k_answer(solution):
        return hashed, "gsm8k_hash"
    if (line := _ANSWER_LINE.search(solution)) and line.group(1):
        return _unwrapped(line.group(1)), "answer_line"
    if (bare := _answer_only(solution)) and gold_answers(bare):
        return bare, "answer_solution"
    return None, None


def undecidable(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """(`no_ground_truth`, detail) when the row has no gold answer to check a solution against (`gold_source`), else
    None."""
    if gold_source(row)[0] is not None:
        return None
    return "no_ground_truth", ("no gold answer: ground_truth_answer is empty or a placeholder, and "
                               "ground_truth_solution has no \\boxed{} answer, `#### N` line, `The answer is: N` last "
                               "line or bare answer")


def _answer_only(solution: str) -> str | None:
    """A `ground_truth_solution` that is only an answer - one short line that is no prose (`34`, `\\frac{1}{2}`,
    `x = 3`): open-r1/DAPO-Math-17k-Processed's `solution` is the bare answer, which open-r1's reward parses as it
    is. None for anything longer or worded ("The answer is 34." is no answer the math rule reads)."""
    text = _unwrapped(solution)
    if not text or "\n" in text or len(text) > _MAX_ANSWER_ONLY_CHARS:
        return None
    return None if _PROSE.search(_LATEX_COMMAND.sub(" ", text)) else text


def gold_answers(gold: str) -> list[str]:
    """The answers a gold text accepts: each string of a list of quoted answers (JSON `["10", "5"]` or Python
    `['10']`), else the text itself; placeholders (`PLACEHOLDER_ANSWERS`) and empty answers left out, so [] when
    there is nothing to check against. A list without quotes - `[1, 2]`, `[-1, 3)` - is one answer (an interval or
    a list of numbers), as is a list that holds anything but strings."""
    text = _unwrapped(gold)
    listed = _quoted_list(text)
    answers = [text] if listed is None else [_unwrapped(answer) for answer in listed]
    return [answer for answer in answers if answer and answer.lower().rstrip(".") not in PLACEHOLDER_ANSWERS]


def _quoted_list(text: str) -> list[str] | None:
    """The strings of `text` when it is a list of quoted strings (JSON or Python literal), else None."""
    quoted = text.startswith("[") and text.endswith("]") and ("'" in text or '"' in text)
    if not quoted or len(text) > _MAX_GOLD_LIST_CHARS:
        return None
    try:
        values = json.loads(text)
    except json.JSONDecodeError:
        try:
            values = ast.literal_eval(text)  # literals only: nothing in the text runs
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        return None
    return values


def _unwrapped(answer: str) -> str:
    """An answer without surrounding space and enclosing `$...$`."""
    answer = answer.strip()
    if len(answer) > 1 and answer[0] == answer[-1] == "$":
        answer = answer.strip("$").strip()
    return answer


def gold_answer(row: Mapping[str, Any]) -> str | None:
    """The row's gold answer (see `gold_source`); None when there is none."""
    return gold_source(row)[0]


def answer_choice(answer: str) -> tuple[str, str | None] | None:
    """(letter, value) of a multiple-choice answer - `B`, `(B)`, `\\text{(B)}`, or AMC's `\\textbf{(B)}\\ 12` with the
    choice's value (None when only the letter is given) -; None for any other answer. Letters A-E (AMC's)."""
    text = answer.strip().strip("$").strip()
    if len(text) == 1 and text in "ABCDE":
        return text, None
    match = _CHOICE.fullmatch(text)
    if match is None:
        return None
    letter, value = next(group for group in match.groups()[:4] if group), match.group(5).strip()
    if _OPERATOR.match(value):  # an expression of sets or points named (A), (B), not a choice
        return None
    return letter, value or None


def choice_letters(answer: str) -> frozenset[str] | None:
    """The letters of a multiple-select answer - `ACD`, `A, C, D`, `\\text{A and C}` - as a set of two or more; None for
    any other answer (a single choice is `answer_choice`'s). Letters A-E."""
    text = _FORMATTED.sub(r"\1", answer.strip().strip("$")).strip()
    if not _LETTERS.fullmatch(text):
        return None
    letters = frozenset(re.findall("[A-E]", text))
    return letters if len(letters) > 1 else None


def _chosen(answer: str) -> frozenset[str] | None:
    """The letters an answer chooses: those of a multiple-select answer, or the one of a choice; None for others."""
    if (letters := choice_letters(answer)) is not None:
        return letters
    choice = answer_choice(answer)
    return frozenset(choice[0]) if choice else None


def answer_part(solution: str) -> str:
    """The part of `solution` a final answer may come from: the text after the last `</think>` (or
    `<|end_of_thought|>`, Sky-T1's solution marks and R1-Zero's answer tags removed); empty when reasoning opens and
    never closes."""
    text = solution or ""
    closer = max(((text.rfind(tag), tag) for tag in CLOSERS), default=(-1, ""))
    if closer[0] >= 0:
        text = text[closer[0] + len(closer[1]):]
    elif text.lstrip().startswith(OPENERS):
        return ""
    for mark in SOLUTION_MARKS:
        text = text.replace(mark, "")
    for tag in (ANSWER_OPEN, ANSWER_CLOSE):  # R1-Zero's answer tags inside a sentence: `It is <answer>1</answer>.`
        text = text.replace(tag, " ")
    return text


def boxed_answer(solution: str, require_boxed: bool = False) -> tuple[bool, str | None]:
    """(whether the box rule decides, the boxed candidate): with `require_boxed`, the final boxed answer of the whole
    `solution` (True, its content or None; `final_boxed`); otherwise that of its answer part when it has a box
    (an empty or unclosed last box is no answer), and (False, None) when it has none."""
    if require_boxed:
        return True, final_boxed(solution or "")
    text = answer_part(solution)
    if _BOX.search(text):
        return True, final_boxed(text)
    return False, None


def extract_answer(solution: str) -> list[Any]:
    """Math-Verify's extraction of the final answer of the answer part of `solution` (no time limit: call
    it inside `_time_limit`): `parse`'s list, empty when it finds nothing. Without a digit in the text only
    anchored answers count ("the answer is $\\pi$"), so that a stray `$n$` is no answer. Math typed as Unicode is
    read as its LaTeX (`_unicode_latex`: "the answer is ½")."""
    text = _unicode_latex(_ungrouped(answer_part(solution)))
    if not text.strip():
        return []
    configs = _EXTRACT_ANY if _DIGIT.search(text) else _EXTRACT_ANCHORED
    return parse(text, list(configs), parsing_timeout=None, raise_on_error=True)  # type: ignore[arg-type]


def _shown(parsed: list[Any]) -> str | None:
    """An extracted answer as LaTeX for the verdict's detail."""
    if not parsed:
        return None
    first = parsed[0]
    if isinstance(first, str):
        return first
    try:
        return sympy.latex(first)
    except Exception:  # noqa: BLE001 - only the shown text
        return str(parsed[-1]) if isinstance(parsed[-1], str) else str(first)


def _text(value: Any) -> str:
    """A row value as text (`kit.core.schema.as_text`: numbers, which some datasets type answers as, in digits; NaN is
    no value); None is empty."""
    return as_text(value) or ""


def _as_latex(answer: str) -> str:
    """An answer in the form math-verify extracts from: inside `\\boxed{}` on one line, without the punctuation
    that ends a sentence (`\\boxed{7.}`, a gold `7.`: Math-Verify reads `7.` as no number), without the integer range of
    a periodic answer (`\\frac{\\pi}{6} + k\\pi, k \\in \\mathbb{Z}`: `_INTEGER_RANGE`), out of a bold wrapper
    around all of it (AoPS writes AIME answers `\\textbf{(073)}`, which Math-Verify reads as no number), digits
    grouped by thin spaces joined (`_ungrouped`), and by plain spaces when that is the whole answer (`1 000`), the
    empty set written `\\emptyset` (Math-Verify reads `\\varnothing` as a variable), and math typed as Unicode as
    LaTeX writes it (`_unicode_latex`: Math-Verify reads `45°`, `√2` or `x²` as text, equal to nothing else)."""
    text = _unicode_latex(answer.strip().rstrip(".,;").rstrip())
    text = _INTEGER_RANGE.sub("", text) or text
    if (bold := _BOLD.fullmatch(text)) and _balanced(bold.group(1)):
        text = bold.group(1).strip()
    if _PLAIN_GROUPED.fullmatch(text):
        text = text.replace(" ", "")
    return "\\boxed{" + _EMPTY_SET.sub(r"\\emptyset", _ungrouped(text)).replace("\n", " ") + "}"


def _unicode_latex(text: str) -> str:
    """Math typed as Unicode written as LaTeX: `√2` -> `\\sqrt{2}`, `x²` -> `x^{2}`, `½` -> `\\frac{1}{2}`, `∞`, the
    degree sign (`45°` -> `45^{\\circ}`), the en dash as a minus, fullwidth digits and letters (`１２`) as ASCII."""
    if text.isascii():
        return text
    text = _FULLWIDTH.sub(lambda m: chr(ord(m.group()) - 0xFEE0), text)
    text = _ROOT.sub(lambda m: "\\sqrt{" + m.group(1).removeprefix("{").removesuffix("}") + "}", text)
    text = text.replace("√", "\\sqrt")
    text = _SUPERSCRIPTS.sub(lambda m: "^{" + "".join(_SUPERSCRIPT[c] for c in m.group()) + "}", text)
    text = _VULGARS.sub(lambda m: "\\frac{{{}}}{{{}}}".format(*_VULGAR[m.group()]), text)
    return text.translate(_UNICODE_SYMBOLS)


def _balanced(text: str) -> bool:
    """Whether the braces of `text` pair up (`A} + \\textbf{B` does not: not one wrapper's content)."""
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _ungrouped(text: str) -> str:
    """`text` with numbers whose digits are grouped by thin spaces written whole: `10\\,080` and `1~000~000` read
    as 10080 and 1000000 (Math-Verify reads `10\\,080` as 10 times 80)."""
    return _SPACE_GROUPED.sub(lambda m: _GROUP_SPACE.sub("", m.group()), text)


# --------------------------------------------------------------------------------------------------
# One item, in-process


class _Deadline(BaseException):
    """Raised by the item timer; a BaseException so math-verify's `except Exception` cannot swallow it."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise `_Deadline` in the main thread after `seconds`; off the main thread, no limit.

    A SIGALRM timer of the caller (pytest-timeout, say) is suspended meanwhile and re-armed after.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, expire)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3))


def _parse_answer(answer: str) -> list[Any]:
    """A boxed answer parsed (no time limit: call it inside `_time_limit`); empty when math-verify reads nothing."""
    return parse(_as_latex(answer), parsing_timeout=None, raise_on_error=True)  # type: ignore[arg-type]


def _parse_gold(gold: str) -> list[Any]:
    return list(_parsed_gold(gold))


@functools.lru_cache(maxsize=4096)
def _parsed_gold(gold: str) -> tuple[Any, ...]:
    """The gold answer parsed, kept per process: a GRPO group's completions (and a dataset's samples of one
    problem) share it. Only successes are kept; a parse cut by the time limit raises and is tried again."""
    parsed = _parse_answer(gold)
    if not parsed:
        raise ValueError("math-verify extracted nothing from the gold answer")
    return tuple(parsed)


def verify_answer(gold: str, solution: str, timeout_s: float = 5.0, *, require_boxed: bool = False,
                  gold_from: str | None = None) -> Verdict:
    """Check the final answer of `solution` (see the module doc) against `gold` in this process: the kit's
    one math answer rule.

    On the main thread the whole check is limited to `timeout_s` (an interval timer); on other threads
    it runs without a limit - use `MathVerifier` there. `detail` holds `gold`, `predicted` (clipped to
    about 500 characters; None when no answer was found), `answer_from` (the rule that applies to this
    solution: `boxed` or `math_verify_extraction`), `gold_from` (as given; see `gold_source`) and, for `timeout`/`error`, `error`.
    """
    decided_by_box, boxed = boxed_answer(solution, require_boxed)
    detail: dict[str, Any] = {"gold": clip(gold, MAX_DETAIL_CHARS), "predicted": clip(boxed, MAX_DETAIL_CHARS),
                              "answer_from": BOXED if decided_by_box else EXTRACTED, "gold_from": gold_from}
    golds = gold_answers(gold or "")
    if not golds:
        return Verdict(False, VERIFIER, "no_ground_truth", detail)
    if decided_by_box and not boxed:
        return Verdict(False, VERIFIER, "no_answer", detail)
    try:
        with _time_limit(timeout_s):
            if decided_by_box:
                predicted_parsed = _parse_answer(boxed)
            else:
                predicted_parsed = extract_answer(solution)
                if not predicted_parsed:
                    return Verdict(False, VERIFIER, "no_answer", detail)
                detail["predicted"] = clip(_shown(predicted_parsed), MAX_DETAIL_CHARS)
            passed = _matches_any(golds, boxed, predicted_parsed)
    except _Deadline:
        return Verdict(False, VERIFIER, "timeout", {**detail, "error": f"exceeded {timeout_s:g} s"})
    except Exception as exc:  # noqa: BLE001 - any failure of the library is a verdict, not a crash
        return Verdict(False, VERIFIER, "error", {**detail, "error": clip(f"{type(exc).__name__}: {exc}", MAX_DETAIL_CHARS)})
    return Verdict(passed, VERIFIER, None if passed else "wrong_answer", detail)


def _matches_any(golds: list[str], boxed: str | None, predicted_parsed: list[Any]) -> bool:
    """Whether the answer matches any of the gold answers. A gold answer Math-Verify reads nothing from is passed
    over; when that is so of every one, its error is raised (an `error` verdict, not a wrong answer)."""
    errors: list[ValueError] = []
    for gold in golds:
        try:
            if _matches(gold, boxed, predicted_parsed):
                return True
        except ValueError as exc:
            errors.append(exc)
    if len(errors) == len(golds):
        raise errors[0]
    return False


def _matches(gold: str, boxed: str | None, predicted_parsed: list[Any]) -> bool:
    """Math-Verify's comparison, with multiple-choice answers (`answer_choice`) read as AMC's are written: when
    both name a letter the letters decide; when one side is a lettered choice with its value and the other a
    plain answer, that value counts too (`\\textbf{(B)}\\ 12` is right for `12`, and `12` for it). A multiple-select
    answer (`choice_letters`: `AC`, `A, C`) is right when the other side chooses the same letters."""
    if boxed and (choice_letters(gold) or choice_letters(boxed)) and (chosen := _chosen(boxed)) is not None:
        return _chosen(gold) == chosen  # a multiple-select answer: the same letters, in any order or form
    gold_choice, predicted_choice = answer_choice(gold), boxed and answer_choice(boxed)
    if gold_choice and predicted_choice:
        return gold_choice[0] == predicted_choice[0]
    if gold_choice and gold_choice[1] and verify(_parse_answer(gold_choice[1]), predicted_parsed, timeout_seconds=None):
        return True
    if predicted_choice and predicted_choice[1]:
        predicted_parsed = _parse_answer(predicted_choice[1])
    return bool(verify(_parse_gold(gold), predicted_parsed, timeout_seconds=None))


def verify_row(row: Mapping[str, Any], timeout_s: float = 5.0, *, require_boxed: bool = False) -> Verdict:
    """`verify_answer` of a metadata row (`ground_truth_answer`, `ground_truth_solution`, `solution`)."""
    gold, gold_from = gold_source(row)
    return verify_answer(gold or "", _text(row.get("solution")), timeout_s, require_boxed=require_boxed,
                         gold_from=gold_from)


def _verify_item(item: tuple[str, str | None, str], timeout_s: float, require_boxed: bool) -> Verdict:
    gold, gold_from, solution = item
    return verify_answer(gold, solution, timeout_s, require_boxed=require_boxed, gold_from=gold_from)


# --------------------------------------------------------------------------------------------------
# Many items, in worker processes

# Common answer shapes, parsed once in the parent before it forks: nearly all of math-verify's parse time
# on a fresh process goes into ANTLR building its prediction cache (DFA) for the LaTeX grammar, a cache
# that forked workers - and the replacements of killed ones - then inherit instead of each rebuilding it.
_WARM_UP_ANSWERS = (
    "\\frac{1}{2}", "-\\dfrac{3}{4}", "\\tfrac{5}{6}", "\\sqrt{3}", "2\\sqrt[3]{5}", "\\frac{\\sqrt{2}}{2}", "3\\pi",
    "\\frac{\\pi}{4}", "x^2 + 2x + 1", "(1, 2]", "(-\\infty, 0) \\cup [1, \\infty)", "\\{1, 2, 3\\}", "(3, -4)",
    "\\left( 1, \\frac{\\pi}{2} \\right)", "\\text{yes}", "\\text{(B)}", "\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}",
    "10\\%", "45^\\circ", "\\$12.50", "0.25", "1{,}000", "x = 3", "y \\le 2", "\\sin x", "\\log_2 8", "e^{i\\pi}",
    "a \\cdot b", "3 \\times 4", "2i+1", "\\binom{5}{2}", "5!", "|x - 1|", "\\infty",
)


_WARM_UP_TEXTS = ("The answer is 18.", "A: $\\frac{1}{2}$", "She paid $1,234 in all.\n#### 1234", "**Answer:** $x = 3$")


@functools.cache
def _warm_up() -> None:
    """Parse `_WARM_UP_ANSWERS` (and a few unboxed answers) once per process (1-1.5 s of CPU on a fresh one)."""
    for answer in _WARM_UP_ANSWERS:
        verify_answer(answer, _as_latex(answer))
    for text in _WARM_UP_TEXTS:
        verify_answer("1", text)


class MathVerifier(Closing):
    """Verify metadata rows in `workers` processes (default: the usable CPUs), `timeout_s` per row, with
    the kit's one math answer rule (`verify_answer`; `require_boxed`: only a last `\\boxed{}` counts).

    Every row runs in a worker process, also with `workers=1`: that is what makes the time limit hold
    for any input (the parent kills a worker stuck `GRACE_S` past the limit) and keeps the caller's
    thread free of signal handlers. Workers are forked on construction and replaced when killed.
    """

    def __init__(self, workers: int | None = None, timeout_s: float = 5.0, require_boxed: bool = False) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.workers = workers or cpu_count()
        self.timeout_s = timeout_s
        self.require_boxed = require_boxed
        _warm_up()
        self._pool: ProcessPool[tuple[str, str | None, str], Verdict] = ProcessPool(
            functools.partial(_verify_item, timeout_s=timeout_s, require_boxed=require_boxed), self.workers,
            timeout_s + GRACE_S)

    def verify(self, rows: Iterable[Mapping[str, Any]],
               on_result: Callable[[int], None] | None = None) -> Iterator[Verdict]:
        """Verdicts for `rows` (with `ground_truth_answer`, `ground_truth_solution`, `solution`), in input
        order, streamed: only a bounded number of rows is read ahead. `on_result(n_done)` is called
        before each verdict is yielded."""
        pending: deque[tuple[str, str | None, str]] = deque()

        def items() -> Iterator[tuple[str, str | None, str]]:
            for row in rows:
                gold, gold_from = gold_source(row)
                pending.append((gold or "", gold_from, _text(row.get("solution"))))
                yield pending[-1]

        for n_done, result in enumerate(self._pool.map(items()), start=1):
            item = pending.popleft()
            verdict = result if isinstance(result, Verdict) else self._failed(result, item)
            if on_result is not None:
                on_result(n_done)
            yield verdict

    def _failed(self, failure: Failure, item: tuple[str, str | None, str]) -> Verdict:
        gold, gold_from, solution = item
        decided_by_box, boxed = boxed_answer(solution, self.require_boxed)
        detail = {"gold": clip(gold, MAX_DETAIL_CHARS), "predicted": clip(boxed, MAX_DETAIL_CHARS),
                  "answer_from": BOXED if decided_by_box else EXTRACTED, "gold_from": gold_from}
        if failure.kind == "timeout":
            error = f"exceeded {self.timeout_s:g} s; worker killed {GRACE_S:g} s later and replaced"
            return Verdict(False, VERIFIER, "timeout", {**detail, "error": error})
        return Verdict(False, VERIFIER, "error", {**detail, "error": clip(f"{failure.kind}: {failure.message}", MAX_DETAIL_CHARS)})

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.close()



__all__ = ["MathVerifier", "answer_part", "boxed_answer", "count_boxes", "extract_answer", "extract_boxed", "final_boxed",
           "gold_answer", "gold_answers", "gold_source", "gsm8k_answer", "undecidable", "verify_answer", "verify_row"]
