"""Math verification with Math-Verify: is the last `\\boxed{}` of a solution equal to the gold answer?

The gold answer is the row's `ground_truth_answer` when non-empty, else the last `\\boxed{}` of its
`ground_truth_solution`; the candidate is the last `\\boxed{}` of its `solution`. Both are handed to
math-verify wrapped as `\\boxed{...}` - bare, `parse` reads `(-\\infty, 3)` as 3, `3, 5` as 5, and
`x^2+1` or `\\text{Evelyn}` as nothing - then parsed and compared with `math_verify.parse` / `verify`.

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

import functools
import logging
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from math_verify import parse, verify

from kit.parallel import cpu_count
from kit.verify import Verdict, clip
from kit.verify.pool import Failure, ProcessPool

VERIFIER = "math-verify"
GRACE_S = 1.0  # the parent kills a worker this long after the item's own limit
MAX_DETAIL_CHARS = 500

_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BARE_ARGUMENT = re.compile(r"[^\s$]+")  # `\boxed 5` (no braces): the next token


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
    start = matches[-1].end()
    rest = text[start:].lstrip()
    if not rest.startswith("{"):
        token = _BARE_ARGUMENT.match(rest)
        return token.group().rstrip(".,;") if token else None
    depth, i = 0, 0
    while i < len(rest):
        char = rest[i]
        if char == "\\":
            i += 2  # skip the escaped character, e.g. \{ or \}
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return rest[1:i].strip()
        i += 1
    return None


def gold_answer(row: Mapping[str, Any]) -> str | None:
    """The row's gold answer: `ground_truth_answer` when non-empty, else the last box of
    `ground_truth_solution`; None when neither gives one. Enclosing `$...$` is removed."""
    answer = _text(row.get("ground_truth_answer")).strip()
    if len(answer) > 1 and answer[0] == answer[-1] == "$":
        answer = answer.strip("$").strip()
    if answer:
        return answer
    return extract_boxed(_text(row.get("ground_truth_solution"))) or None


def _text(value: Any) -> str:
    """A row value as text: None is empty, numbers (answers read from some datasets) become strings."""
    return "" if value is None else str(value)


def _as_latex(answer: str) -> str:
    """An answer in the form math-verify extracts from: inside `\\boxed{}` on one line."""
    return "\\boxed{" + answer.replace("\n", " ") + "}"


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


def _equivalent(gold: str, predicted: str) -> bool:
    gold_parsed = parse(_as_latex(gold), parsing_timeout=None, raise_on_error=True)  # type: ignore[arg-type]
    if not gold_parsed:
        raise ValueError("math-verify extracted nothing from the gold answer")
    predicted_parsed = parse(_as_latex(predicted), parsing_timeout=None, raise_on_error=True)  # type: ignore[arg-type]
    return verify(gold_parsed, predicted_parsed, timeout_seconds=None)


def verify_answer(gold: str, solution: str, timeout_s: float = 5.0) -> Verdict:
    """Check the last box of `solution` against `gold` in this process.

    On the main thread the whole check is limited to `timeout_s` (an interval timer); on other threads
    it runs without a limit - use `MathVerifier` there. `detail` holds `gold`, `predicted` (clipped to
    about 500 characters) and, for `timeout`/`error`, `error`.
    """
    predicted = extract_boxed(solution or "")
    detail: dict[str, Any] = {"gold": clip(gold, MAX_DETAIL_CHARS), "predicted": clip(predicted, MAX_DETAIL_CHARS)}
    if not gold or not gold.strip():
        return Verdict(False, VERIFIER, "no_ground_truth", detail)
    if not predicted:
        return Verdict(False, VERIFIER, "no_answer", detail)
    try:
        with _time_limit(timeout_s):
            passed = _equivalent(gold, predicted)
    except _Deadline:
        return Verdict(False, VERIFIER, "timeout", {**detail, "error": f"exceeded {timeout_s:g} s"})
    except Exception as exc:  # noqa: BLE001 - any failure of the library is a verdict, not a crash
        return Verdict(False, VERIFIER, "error", {**detail, "error": clip(f"{type(exc).__name__}: {exc}", MAX_DETAIL_CHARS)})
    return Verdict(passed, VERIFIER, None if passed else "wrong_answer", detail)


def _verify_pair(pair: tuple[str, str], timeout_s: float) -> Verdict:
    return verify_answer(pair[0], pair[1], timeout_s)


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


@functools.cache
def _warm_up() -> None:
    """Parse `_WARM_UP_ANSWERS` once per process (1-1.5 s of CPU on a fresh one)."""
    for answer in _WARM_UP_ANSWERS:
        verify_answer(answer, _as_latex(answer))


class MathVerifier:
    """Verify metadata rows in `workers` processes (default: the usable CPUs), `timeout_s` per row.

    Every row runs in a worker process, also with `workers=1`: that is what makes the time limit hold
    for any input (the parent kills a worker stuck `GRACE_S` past the limit) and keeps the caller's
    thread free of signal handlers. Workers are forked on construction and replaced when killed.
    """

    def __init__(self, workers: int | None = None, timeout_s: float = 5.0) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.workers = workers or cpu_count()
        self.timeout_s = timeout_s
        _warm_up()
        self._pool: ProcessPool[tuple[str, str], Verdict] = ProcessPool(
            functools.partial(_verify_pair, timeout_s=timeout_s), self.workers, timeout_s + GRACE_S)

    def verify(self, rows: Iterable[Mapping[str, Any]],
               on_result: Callable[[int], None] | None = None) -> Iterator[Verdict]:
        """Verdicts for `rows` (with `ground_truth_answer`, `ground_truth_solution`, `solution`), in input
        order, streamed: only a bounded number of rows is read ahead. `on_result(n_done)` is called
        before each verdict is yielded."""
        pending: deque[tuple[str, str]] = deque()

        def pairs() -> Iterator[tuple[str, str]]:
            for row in rows:
                pending.append((gold_answer(row) or "", _text(row.get("solution"))))
                yield pending[-1]

        for n_done, result in enumerate(self._pool.map(pairs()), start=1):
            gold, solution = pending.popleft()
            verdict = result if isinstance(result, Verdict) else self._failed(result, gold, solution)
            if on_result is not None:
                on_result(n_done)
            yield verdict

    def _failed(self, failure: Failure, gold: str, solution: str) -> Verdict:
        detail = {"gold": clip(gold, MAX_DETAIL_CHARS), "predicted": clip(extract_boxed(solution), MAX_DETAIL_CHARS)}
        if failure.kind == "timeout":
            error = f"exceeded {self.timeout_s:g} s; worker killed {GRACE_S:g} s later and replaced"
            return Verdict(False, VERIFIER, "timeout", {**detail, "error": error})
        return Verdict(False, VERIFIER, "error", {**detail, "error": clip(f"{failure.kind}: {failure.message}", MAX_DETAIL_CHARS)})

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.close()

    def __enter__(self) -> MathVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["MathVerifier", "extract_boxed", "gold_answer", "verify_answer"]
