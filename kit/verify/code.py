"""Verify code solutions by running their tests in the sandbox.

The code under test is the last fenced python block of `solution` that defines the functions the tests call by name
(else its last python block; when it has none, its last fenced block that names no language). `test_cases` (a
JSON string; the forms public datasets ship are read too, see `kit.core.testcases`) takes one of four forms:

- stdin/stdout (APPS, TACO, Codeforces): `{"inputs": ["1 2\\n"], "outputs": ["3\\n"]}` (an input or output may be
  a list of lines, as in some APPS/TACO rows: joined with newlines, as APPS's grader does; an input's `\\r\\n` line
  ends reach the program as `\\n`, as open-r1's Codeforces grader feeds them), optionally with a `"checker"` for
  problems that accept more than one output (see below);
- call-based (APPS/TACO/LiveCodeBench functional): `{"fn_name": "add", "inputs": [[1, 2]], "outputs": [3]}`,
  a method of the solution's `class Solution` (LeetCode's, which `starter_code` defines), else its top-level function
  (as LiveCodeBench's and TACO's graders decide by the solution: a reply that drops the starter's class passes);
- assert-based (HumanEval, MBPP): `{"test_code": "def check(candidate): ...", "entry_point": "add"}`; the entry
  point may be a method of a fresh instance, `Solution().twoSum` (LeetCodeDataset's), and the tests see the
  prelude's own helpers (below), whatever the solution binds;
- a pytest module (KodCode; BigCodeBench's unittest classes): `{"test_code": "from solution import add\\n\\ndef
  test_add(): ..."}`, run with pytest against the solution saved as `solution.py`, as KodCode's grader runs it.
  It passes when pytest exits 0 with no test skipped; the detail's failures say which test failed and why.

All but a pytest module may carry a `"prelude"`: code run before the solution, in a namespace of its own whose
names the solution starts with - the imports a grader gives every solution (LiveCodeBench's), LeetCodeDataset's
imports and `ListNode` / `TreeNode` helpers, HumanEval's prompt. The function under test must be the solution's own.
A pytest module whose tests say `"rename_function": true` (the `kodcode` grader) is run as KodCode's pipeline ran it: a
reply whose code defines no function of the name the tests import has its first python block's one function renamed to
it (`renamed_function`); other forms ignore it.

Stdin/stdout tests may name files in place of the standard streams (`"input_file"`, `"output_file"`: a problem
that asks for `input.txt` and `output.txt`): the program runs in a folder of its own holding the input file, with
standard input empty, and its output is what it wrote to the output file - as the judge runs it, and open-r1's
Codeforces grader (`input_mode: file`). A program that reads standard input instead fails there, and here.

Stdin/stdout and call-based tests may carry the problem's own `"time_limit"` per test, in seconds (a dataset's time
limit column mapped to `time_limit`, see `kit.core.testcases`): it replaces `test_timeout_s` of the limits for that
problem's tests, as open-r1's Codeforces grader applies each problem's limit. They may carry its `"memory_limit"` too,
in megabytes, applied as that grader applies it (`ulimit -v`: the address space of the `python3` process running the
program): a test process may grow its address space by as much as a fresh interpreter could under that limit, within
about 2 MB (a test process forked from the sandbox server starts larger than a fresh interpreter, and that difference
is not counted), and never beyond `memory_mb`; a program that runs out gets a `MemoryError` and fails its test.

The tests of one sample run one after the other, each in its own confined test process, and fail fast, as a judge stops
at the first failed test (and open-r1's pass/fail code reward at the first failed batch of tests): they run in rounds of
1, 2, 4, ... tests, one sandbox request each, in their order, and a round with a failure ends the sample (`_rounds`: a
program that fails test k runs at most 2k tests). With `verify.code.fail_fast: false` every test runs, in one request,
as partial credit needs (open-r1's partial scoring runs them all). The detail says how many tests ran (`tests_run`) and
passed (`passed_tests`, of `total_tests`); the rounds share the sample's time limit: `sample_timeout_s` where the recipe
sets one, else LiveCodeBench's grader's rule, the test time limit plus 1 s for each test, plus 5 s (`sample_limit`:
judges set no limit beyond each test's own, and a right program on a problem with hundreds of tests needs more than any
fixed one). Only the inputs enter the sandbox; outputs are compared here: token by token, whitespace and line breaks
between tokens ignored (as Codeforces' default checker, testlib's wcmp, and the grader open-r1 validated its
Codeforces tests with compare them: `1 2` on one line is `1\\n2`),
integers equal exactly and other numbers within the error the statement states (`stated_tolerance`: "absolute or
relative error does not exceed 10^{-4}", which the judge's checker applies) or else 1e-6, relative or absolute
(call-based return values too; a number beyond a float's range is within no tolerance of another), and letters up to
case when the statement accepts answers in any case (`accepts_any_case`: Codeforces' "You can output the answer in any
case", judged there by a case-insensitive checker). Returned values hold integers of up to `MAX_INT_DIGITS` digits
(`kit.core.testcases`). A grader with a comparison of its own (`COMPARISONS`, stored as `"comparison": NAME`) compares
outputs its way instead, and may run stdin programs its way too (`Comparison.runs_as`): open-r1's Codeforces grader
(`codeforces`: tokens as text, the words yes and no in any case, as testlib's wcmp and yesno checkers; tests curated
before it say `"yes_no_any_case": true`) and LiveCodeBench's (`livecodebench`). A sample passes only when every test
passes and the harness ran to its end. A problem whose statement says it is interactive (`interactive`) is
`interactive_problem`, and nothing runs: its program would talk with the jury's interactor, which no dataset's tests
hold.

A checker (open-r1/codeforces's `generated_checker`: a Python program run as `checker.py INPUT EXPECTED OUTPUT`
that prints `1`, or `100`, to accept) replaces that comparison. It runs in the sandbox too, in a second request
made after the program's request has ended and its processes were killed, each test in its own test process, so
the expected outputs still never reach the program under test. As the Codeforces grader open-r1 validated the
checkers with does, `\\r` and empty lines are dropped from both outputs first; a checker that fails, prints
anything else or runs out of time rejects the output.
"""

from __future__ import annotations

import ast
import json
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from kit.core.parallel import Closing, cpu_count, ordered_map
from kit.core.schema import SOLUTION_CLASS, joined_lines
from kit.core.testcases import (
    ENTRY_POINT,
    InvalidTestCases,
    contract_tests,
    free_names,
    json_value,
    module_names,
    pytest_module,
    python_error,
)
from kit.recipes import CodeVerifyConfig
from kit.sandbox import Limits, Sandbox, SandboxResult
from kit.verify import Verdict

VERIFIER = "sandbox"
WINDOW = 256  # rows in flight (a GRPO step's batch of code completions: bench/reward_throughput.py --hanging)
_FENCE = re.compile(r"```[ \t]*(?:python3?|py)[ \t]*\r?\n(.*?)```", re.DOTALL | re.IGNORECASE)
_TOLERANCE = 1e-6
_INTEGER = re.compile(r"[+-]?\d+")
# "output/print ... in any case / register" within one sentence, or "case-insensitive" ("in any case, ..." alone is
# the idiom, not a rule about letters)
_ANY_CASE = re.compile(r"\b(?:print|output|write)\w*\b[^.\n]{0,80}?\bin\s+any\s+(?:letter\s+)?(?:case|register)\b"
                       r"|\bcase[\s-]?insensitive", re.IGNORECASE)
_MAX_FAILURES = 10
INTERACTIVE_ERROR = ("the statement says the problem is interactive: its tests need the jury's interactor talking to "
                     "the program, which the kit has not")
# A stated bound on the error of real-valued answers: 10^{-k}, 10^-k, 10^(-k), "10 - k" and "10-k" (statements whose
# superscript was lost in the text), 1e-k; after "error" (or "precision") in the same sentence, or LeetCode's
# "within 10^-k"
_POWER = (r"(?:10\s*\^\s*\{\s*[-−–]\s*(\d{1,2})\s*\}|10\s*\^\s*\(?\s*[-−–]\s*(\d{1,2})|10\s*[-−–]\s*(\d{1,2})\b"
          r"|1\s*[eE]\s*[-−–]\s*(\d{1,2}))")
_STATED_ERROR = re.compile(r"\b(?:error|precision)\b[^.!?]{0,120}?" + _POWER + r"|\bwithin\s+\$?" + _POWER,
                           re.IGNORECASE)


@dataclass(frozen=True)
class TestSpec:
    mode: str  # stdio | call | assert | pytest
    inputs: list[Any]
    outputs: list[Any]
    fn_name: str | None = None
    use_class: bool = False
    test_code: str | None = None
    entry_point: str | None = None
    checker: str | None = None  # stdio: a checker program (see the module doc) instead of the comparison
    prelude: str | None = None  # code run before the solution (see the module doc); not for a pytest module
    time_limit: float | None = None  # stdio and call: the problem's own limit per test, in seconds
    memory_limit: float | None = None  # stdio and call: the problem's own memory limit, in megabytes
    input_file: str | None = None  # stdio: the file the program reads its input from (standard input is empty)
    output_file: str | None = None  # stdio: the file the program writes its output to (standard output is ignored)
    rename_function: bool = False  # pytest: the grader renames a reply's one function to the one the tests import
    comparison: str | None = None  # stdio and call: a grader's own comparison (`COMPARISONS`) instead of the judges'
    int_keys: bool = False  # call: a first argument that is a dict with integer-like keys gets integer keys (APPS's)

    @property
    def total(self) -> int:
        return 1 if self.mode in ("assert", "pytest") else len(self.inputs)

    @property
    def needs(self) -> set[str]:
        """The names the tests call in the code under test: the function (or `class Solution`) of call-based tests,
        the entry point of asserts, the names a pytest module takes from `solution` (`_from_solution`); none for
        stdin/stdout."""
        if self.mode == "call":
            return {"Solution" if self.use_class else self.fn_name or ""} - {""}
        if self.mode == "assert" and self.entry_point and (entry := ENTRY_POINT.fullmatch(self.entry_point)):
            return {entry["name"]}
        if self.mode == "pytest" and self.test_code:
            return _from_solution(self.test_code)
        return set()


def _from_solution(test_code: str) -> set[str]:
    """The names a pytest module takes from the solution: those it imports from `solution` by name, and those it uses
    without binding them (it runs after `from solution import *`, as KodCode's do)."""
    try:
        tree = ast.parse(test_code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "solution"
                for alias in node.names if alias.name != "*"}
    return imported | free_names(tree)


def extract_code(solution: str | None, needs: Iterable[str] = ()) -> str | None:
    """The last fenced python block of a solution - or, when the tests call functions by name (`needs`, see
    `TestSpec.needs`), the last python block that defines them all, if one does: replies often end with a block of
    example usage that calls the function an earlier block defined (KodCode's grader takes a reply's first block).
    When it has no python block, its last fenced block that names no language (LiveCodeBench's extraction takes the
    last block whatever it names); else None."""
    blocks = _FENCE.findall(solution or "")
    if blocks:
        needed = set(needs)
        return next((block for block in reversed(blocks) if needed and needed <= module_names(block)), blocks[-1])
    return _last_unnamed_block(solution or "")


_DEF = re.compile(r"def\s+(\w+)\s*\(")  # a function, as KodCode's pipeline finds and counts them


def renamed_function(solution: str | None, code: str, needs: set[str]) -> tuple[str, str | None]:
    """KodCode's pipeline's renaming (the `kodcode` grader, tests with `"rename_function": true`): when the code under
    test does not define the one function the tests call, the reply's first python block, if it defines exactly one
    function (`def NAME(` anywhere in the block, as that pipeline counts), is run with `def NAME` replaced by that
    function's - a textual replacement, so a recursive call to the old name still fails, as it did there. The code to
    run, and the old name when it renamed one (else None)."""
    if len(needs) != 1 or needs <= module_names(code):
        return code, None
    blocks = _FENCE.findall(solution or "")
    functions = _DEF.findall(blocks[0]) if blocks else []
    (target,) = needs
    if len(functions) != 1 or functions[0] == target:
        return code, None
    return blocks[0].replace(f"def {functions[0]}", f"def {target}"), functions[0]


def _last_unnamed_block(text: str) -> str | None:
    """The last fenced block whose opening fence names no language, fences paired in order line by line (so a
    ```cpp block's closing fence never opens one)."""
    found, opening, lines = None, None, text.splitlines(keepends=True)
    for n, line in enumerate(lines):
        if not line.lstrip().startswith("```"):
            continue
        if opening is None:
            opening = n
            continue
        if not lines[opening].strip().removeprefix("```").strip():
            found = "".join(lines[opening + 1:n])
        opening = None
    return found


def parse_test_cases(test_cases: Any, starter_code: str | None = None) -> TestSpec:
    """Parse `test_cases`, in any form `kit.core.testcases` reads, into a TestSpec; InvalidTestCases (one line) when
    it is malformed."""
    data = contract_tests(test_cases)
    prelude = _source_field(data.get("prelude"), "prelude", "must be Python source")
    rename, yes_no = data.get("rename_function", False), data.get("yes_no_any_case", False)
    int_keys = data.get("int_keys", False)
    for field, flag in (("rename_function", rename), ("yes_no_any_case", yes_no), ("int_keys", int_keys)):
        if not isinstance(flag, bool):
            raise InvalidTestCases(f"test_cases.{field} must be true or false, got {flag!r}")
    # `"yes_no_any_case": true` is how tests curated before the `codeforces` comparison said the same
    comparison = data.get("comparison") or ("codeforces" if yes_no else None)
    if comparison is not None and comparison not in COMPARISONS:
        raise InvalidTestCases(f"test_cases.comparison must be one of {', '.join(COMPARISONS)}, got {comparison!r}")
    if "test_code" in data:
        if not isinstance(data["test_code"], str) or not data["test_code"].strip():
            raise InvalidTestCases("test_cases.test_code must be a non-empty string")
        if pytest_module(data["test_code"]):
            if prelude:
                raise InvalidTestCases("test_cases.prelude is not for a pytest module (its tests import the solution)")
            return TestSpec("pytest", [], [], test_code=data["test_code"], rename_function=rename)  # KodCode's form
        entry = data.get("entry_point")
        if not isinstance(entry, str) or not ENTRY_POINT.fullmatch(entry):
            raise InvalidTestCases("test_cases.entry_point must name the function under test, or a method as "
                                   "`Solution().name` (a dataset's entry-point column maps to it: "
                                   "`columns: {entry_point: ...}`)")
        _check_runs_something(data["test_code"])
        return TestSpec("assert", [], [], test_code=data["test_code"], entry_point=entry, prelude=prelude)
    time_limit, memory_limit = _limit(data, "time_limit", "seconds"), _limit(data, "memory_limit", "megabytes")
    inputs, outputs = data.get("inputs"), data.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list):
        raise InvalidTestCases("test_cases needs lists `inputs` and `outputs` (or `test_code`)")
    if len(inputs) != len(outputs):
        raise InvalidTestCases(f"test_cases has {len(inputs)} inputs but {len(outputs)} outputs")
    if not inputs:
        raise InvalidTestCases("test_cases has no tests")
    fn_name = data.get("fn_name")
    if fn_name and (stdio_only := [key for key in ("checker", "input_file", "output_file") if data.get(key)]):
        raise InvalidTestCases(f"test_cases.{stdio_only[0]} applies to stdin/stdout tests, not to function calls")
    if fn_name:
        if not isinstance(fn_name, str) or not fn_name.isidentifier():
            raise InvalidTestCases(f"test_cases.fn_name is not a function name: {fn_name!r}")
        use_class = bool(starter_code and SOLUTION_CLASS.search(starter_code))
        return TestSpec("call", inputs, outputs, fn_name=fn_name, use_class=use_class, time_limit=time_limit,
                        memory_limit=memory_limit, prelude=prelude, comparison=comparison, int_keys=int_keys)
    inputs, outputs = [joined_lines(x) for x in inputs], [joined_lines(x) for x in outputs]  # APPS/TACO lists
    if not all(isinstance(x, str) for x in inputs + outputs):
        raise InvalidTestCases("stdin/stdout test_cases need string inputs and outputs")
    # Windows line ends in a test's input (some Codeforces tests have them) reach the program - and a checker - as
    # `\n`, as the grader open-r1 validated those tests with feeds them (its `sed 's/\r$//'`: one `\r` before each line
    # end, and before the end of an input that has no final newline): a program that cuts a line's end off is right
    inputs = [_CR_AT_LINE_END.sub("", x) for x in inputs]
    checker = _source_field(data.get("checker"), "checker", "must be the checker's Python source")
    return TestSpec("stdio", inputs, outputs, checker=checker, time_limit=time_limit, memory_limit=memory_limit,
                    prelude=prelude, input_file=_file_name(data, "input_file"), output_file=_file_name(data, "output_file"),
                    comparison=comparison)


_CR_AT_LINE_END = re.compile(r"\r$", re.MULTILINE)


def _limit(data: Mapping[str, Any], field: str, unit: str) -> float | None:
    """The tests' own `field` (a problem's time or memory limit): a positive number of `unit`, or None."""
    value = data.get(field)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf):
        raise InvalidTestCases(f"test_cases.{field} must be a number of {unit}, got {value!r}")
    return value


_FILE_NAME = re.compile(r"\w[\w.-]{0,99}")  # a file of the program's own folder: no path, no hidden file


def _file_name(data: Mapping[str, Any], field: str) -> str | None:
    """The file name `field` of stdin/stdout tests (`input.txt`), None for none; InvalidTestCases for anything that
    is not a plain file name."""
    name = data.get(field)
    if name is None or name == "":
        return None
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
        raise InvalidTestCases(f"test_cases.{field} must be a plain file name such as input.txt, got {name!r}")
    return name


def _source_field(value: Any, field: str, not_text: str) -> str | None:
    """A field of the tests that holds Python source (a checker, a prelude), compiled here - never run - so that one in
    another language (testlib's C++ checkers) is named at once; None for none (None or empty)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidTestCases(f"test_cases.{field} {not_text}")
    if error := python_error(value):
        raise InvalidTestCases(f"test_cases.{field} is not Python ({error})")
    return value




def _check_runs_something(test_code: str) -> None:
    """InvalidTestCases unless assert-form test code checks something when the harness runs it: an `assert` run from
    its top level - in a top-level statement, or in a function of the test code that one calls (MBPP+'s
    `assertion(...)` in a loop over its inputs) - or a `check(candidate)` function (which the harness calls). Test
    code that only defines things would run no test, and every solution would pass (pytest modules are the `pytest`
    form, never this one). The code is parsed here, never run."""
    try:
        tree = ast.parse(test_code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise InvalidTestCases(f"test_cases.test_code is not Python ({type(exc).__name__})") from None
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    if "check" in functions:
        return
    definitions = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    pending = [node for node in tree.body if not isinstance(node, definitions)]
    seen: set[str] = set()
    while pending:  # the top level, then the test code's functions it calls, and those they call
        node = pending.pop()
        for inner in ast.walk(node):
            if isinstance(inner, ast.Assert):
                return
            if (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id in functions
                    and inner.func.id not in seen):
                seen.add(inner.func.id)
                pending.append(functions[inner.func.id])
    raise InvalidTestCases("test_cases.test_code checks nothing when run: it needs asserts, a "
                           "check(candidate) function, or pytest tests (test_ functions, TestCase classes)")


# -- comparison (outside the sandbox) -------------------------------------------------------------


def _as_number(token: str) -> float | None:
    if "_" in token:  # Python's float() reads `1_000`; no judge's checker does
        return None
    try:
        value = float(token)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def _integer_text(token: str) -> str | None:
    """An integer token in one spelling (`+7`, `007` -> `7`, `-0` -> `0`); None for any other token."""
    if not _INTEGER.fullmatch(token):
        return None
    digits = token.lstrip("+-").lstrip("0") or "0"
    return digits if digits == "0" or not token.startswith("-") else "-" + digits


def _tokens_equal(a: str, b: str, any_case: bool = False, tolerance: float = _TOLERANCE) -> bool:
    """Two output tokens: the same text (or, `any_case`, the same up to letter case), the same integer (exactly: within
    1e-6 relative, 1000000000 would pass for 1000000001), or numbers within `tolerance` (absolute or relative) when
    either one is not an integer (`0.5` and `0.500000`, `3` and `3.0`)."""
    if a == b or (any_case and a.casefold() == b.casefold()):
        return True
    i, j = _integer_text(a), _integer_text(b)
    if i is not None and j is not None:
        return i == j
    x, y = _as_number(a), _as_number(b)  # finite only: `inf`, or 1e400, is no number within any tolerance of another
    return (x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
            and math.isclose(x, y, rel_tol=tolerance, abs_tol=tolerance))


def outputs_match(actual: str, expected: str, any_case: bool = False, tolerance: float = _TOLERANCE) -> bool:
    """stdin/stdout comparison: the same tokens (`_tokens_equal`) in the same order, however whitespace and line
    breaks separate them (testlib's wcmp, Codeforces' default checker); with `any_case` (the statement accepts its
    answers in any letter case, `accepts_any_case`) `Yes` matches `YES`; numbers within `tolerance` (the statement's
    own, `stated_tolerance`, else 1e-6)."""
    got, want = actual.split(), expected.split()
    return len(got) == len(want) and all(_tokens_equal(x, y, any_case, tolerance)
                                         for x, y in zip(got, want, strict=True))


# Codeforces' and AtCoder's words for a problem whose program talks with the jury's interactor
_INTERACTIVE = re.compile(r"\bthis\s+is\s+an\s+interactive\s+(?:problem|task)\b", re.IGNORECASE)


def interactive(problem: str | None) -> bool:
    """Whether a statement says its problem is interactive ("This is an interactive problem", Codeforces' words;
    "This is an interactive task", AtCoder's): its program talks with the jury's interactor, which neither a dataset's
    tests nor the kit have, so no program passes them (APPS, TACO and CodeContests hold such problems with no flag)."""
    return bool(_INTERACTIVE.search(problem or ""))


def problem_tests(row: Mapping[str, Any]) -> TestSpec | tuple[str, str]:
    """The row's tests as the harness runs them (`parse_test_cases` of its `test_cases` and `starter_code`), or
    (reason, detail) when no program can pass them: `invalid_test_cases` (they do not parse), `interactive_problem`
    (`interactive`). The one rule for `verify_code`, `kit curate`'s validate stage and the GRPO problems
    (`kit.verify.registry.undecidable`)."""
    try:
        spec = parse_test_cases(row.get("test_cases"), row.get("starter_code"))
    except InvalidTestCases as exc:
        return "invalid_test_cases", str(exc)
    if interactive(row.get("problem")):
        return "interactive_problem", INTERACTIVE_ERROR
    return spec


def undecidable(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """(reason, detail) when no program can pass the row's tests (`problem_tests`), else None."""
    spec = problem_tests(row)
    return spec if isinstance(spec, tuple) else None


def livecodebench_lines_match(actual: str, expected: str) -> bool:
    """LiveCodeBench's grader's stdin/stdout comparison (`grade_stdio` of lcb_runner/evaluation/testing_util.py): the
    same number of lines (the whole text, then each line, stripped), each line the same text, or else both lines all
    numbers with equal values as `Decimal`s (`1.0` is `1`; `0.5000001` is not `0.5`, whatever the statement allows)."""
    got, want = _stripped_lines(actual), _stripped_lines(expected)
    return len(got) == len(want) and all(a == b or _same_numbers(a, b) for a, b in zip(got, want, strict=True))


def _same_numbers(a: str, b: str) -> bool:
    x, y = _decimals(a), _decimals(b)
    return x is not None and y is not None and x == y


def _stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except (InvalidOperation, ValueError):
        return None


def livecodebench_values_match(actual: Any, expected: Any) -> bool:
    """LiveCodeBench's grader's call-based comparison (`grade_call_based`): the returned value equals the expected one
    exactly, as Python compares them (a tuple returned is a list; no tolerance for floats). `actual` is the value as
    the harness reports it with `exact_values` (`kit.sandbox.code_harness.plain`): what Python's `==` would never find
    equal to a value read from JSON (a set, a tuple inside the value, a deque, a dict with keys that are no strings)
    comes wrapped, so it is not equal here either."""
    return actual == expected


_YES_NO_WORD = re.compile(r"\b(yes|no)\b", re.IGNORECASE | re.ASCII)


def codeforces_outputs_match(actual: str, expected: str) -> bool:
    """open-r1's Codeforces grader's comparison (the `codeforces` package of guipenedo/piston, its `run` script, for a
    problem without a checker): both outputs with the whole words yes and no upper-cased, then the same tokens in the
    same order however whitespace separates them - tokens compared as text, as Codeforces' default checker (testlib's
    wcmp) compares them: no tolerance for numbers (`3.0` is not `3`) and no other letter case (problems that accept
    other answers ship a checker)."""
    return _YES_NO_WORD.sub(lambda m: m.group(1).upper(), actual).split() == \
        _YES_NO_WORD.sub(lambda m: m.group(1).upper(), expected).split()


@dataclass(frozen=True)
class Comparison:
    """A grader's own comparison of outputs: stdin/stdout outputs (`lines`), call results (`values`), whether the
    harness reports call results with `exact_values` (types that Python's `==` tells from JSON's kept apart), and how
    it runs stdin programs (`runs_as`: `kit.sandbox.code_harness`; None: as a script, as judges run them)."""

    lines: Callable[[str, str], bool]
    values: Callable[[Any, Any], bool] | None = None  # None: as the judges' rule compares them (`values_match`)
    exact_values: bool = False
    runs_as: str | None = None


# A grader's own comparison of outputs (`"comparison": NAME` in the tests, `kit.core.testcases.Grader`)
COMPARISONS = {
    "codeforces": Comparison(codeforces_outputs_match),  # stdin/stdout problems only
    "livecodebench": Comparison(livecodebench_lines_match, livecodebench_values_match, exact_values=True,
                                runs_as="livecodebench"),
}


def accepts_any_case(problem: str | None) -> bool:
    """Whether a statement lets answers be printed in any letter case - Codeforces': "You can output the answer in
    any case (upper or lower)", "print each letter in any register" - which its judge then checks with a
    case-insensitive checker (testlib's yesno). AtCoder's statements never say so, and their judges keep case."""
    return bool(_ANY_CASE.search(problem or ""))


def stated_tolerance(problem: str | None) -> float | None:
    """The error a statement accepts in real-valued answers - "absolute or relative error does not exceed 10^{-4}",
    CodeContests' "10 - 4" (its statements lost the superscript), "1e-4", LeetCode's "Answers within 10^-5 of the
    actual answer will be accepted" - which the judge's checker applies (testlib's rcmp4, rcmp6, rcmp9); the largest
    when it states more than one; None when it states none (1e-6 applies then)."""
    found = [10.0 ** -int(next(group for group in match.groups() if group))
             for match in _STATED_ERROR.finditer(problem or "")]
    return max(found) if found else None


def values_match(actual: Any, expected: Any, tolerance: float = _TOLERANCE) -> bool:
    """Call-based comparison of plain (JSON) values; integers exactly, floats within `tolerance` (1e-6 unless the
    statement states its own); TACO's `[value]` wrapping accepted."""
    if _values_equal(actual, expected, tolerance):
        return True
    return isinstance(expected, list) and len(expected) == 1 and _values_equal(actual, expected[0], tolerance)


def _values_equal(a: Any, b: Any, tolerance: float = _TOLERANCE) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b  # exactly, as output tokens
    if isinstance(a, int | float) and isinstance(b, int | float):
        if a == b:
            return True
        try:  # an integer beyond a float's range is close to no float
            x, y = float(a), float(b)
        except OverflowError:
            return False
        return math.isfinite(x) and math.isfinite(y) and math.isclose(x, y, rel_tol=tolerance, abs_tol=tolerance)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_values_equal(x, y, tolerance) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_values_equal(a[k], b[k], tolerance) for k in a)
    return type(a) is type(b) and a == b


# -- one sample -----------------------------------------------------------------------------------

_STATUS_REASON = {"error": "runtime_error", "failed": "wrong_answer", "early_exit": "early_exit",
                  "timeout": "timeout", "memory": "memory", "output_limit": "output_limit", "killed": "killed",
                  "skipped": "skipped"}


def _short(text: Any, n: int = 200) -> str:
    text = text if isinstance(text, str) else json.dumps(text)
    return text if len(text) <= n else text[:n] + "..."


def _judge(spec: TestSpec, index: int, record: dict[str, Any] | None, checked: dict[str, Any] | None = None,
           any_case: bool = False, tolerance: float = _TOLERANCE) -> dict[str, Any] | None:
    """None if the test passed, else a failure {test, reason, detail}; `checked`: the checker's record of the
    test (tests with a checker); `any_case`: stdin/stdout outputs compare up to letter case; `tolerance`: the error
    real-valued outputs may have. Tests that name a grader's own comparison
    (`COMPARISONS`) are compared its way."""
    if record is None:
        return {"test": index, "reason": "not_run", "detail": "the sample ended before this test ran"}
    status = record.get("status")
    if status != "ok":
        detail = record.get("error") or (f"signal {record['signal']}" if "signal" in record else status)
        return {"test": index, "reason": _STATUS_REASON.get(status, "runtime_error"), "detail": _short(detail, 500)}
    if spec.mode in ("assert", "pytest"):
        return None
    if spec.checker is not None:
        return _checker_verdict(index, checked)
    expected = spec.outputs[index]
    own = COMPARISONS.get(spec.comparison or "")
    if spec.mode == "stdio":
        if (own.lines(record.get("output", ""), expected) if own else
                outputs_match(record.get("output", ""), expected, any_case, tolerance)):
            return None
        return {"test": index, "reason": "wrong_answer",
                "detail": f"expected {_short(expected)!r}, got {_short(record.get('output', ''))!r}"}
    try:
        actual = json_value(record.get("output", ""))
    except json.JSONDecodeError:
        return {"test": index, "reason": "runtime_error", "detail": "no return value was reported"}
    except ValueError as exc:  # an integer longer than the kit reads
        return {"test": index, "reason": "wrong_answer", "detail": f"the return value cannot be read: {exc}"}
    if own.values(actual, expected) if own and own.values else values_match(actual, expected, tolerance):
        return None
    return {"test": index, "reason": "wrong_answer", "detail": f"expected {_short(expected)}, got {_short(actual)}"}


_ACCEPTED = ("1", "100")  # what a checker prints for an accepted output (the Codeforces grader's rule)


def _checker_verdict(index: int, checked: dict[str, Any] | None) -> dict[str, Any] | None:
    """None when the checker accepted test `index`'s output, else a wrong_answer failure saying what it did."""
    if checked is None:
        return {"test": index, "reason": "not_run", "detail": "the checker did not run on this test"}
    printed, status = "".join(str(checked.get("output", "")).split()), checked.get("status")
    if status == "ok" and printed in _ACCEPTED:
        return None
    error = checked.get("error")
    why = (f"the checker printed {_short(printed, 100)!r}, not 1" if status == "ok" else
           f"the checker ended with {status}" + (f" ({_short(error, 300)})" if error else ""))
    return {"test": index, "reason": "wrong_answer", "detail": f"{why}: the output was not accepted"}


def _run_checker(spec: TestSpec, by_test: dict[int, dict[str, Any]], sandbox: Sandbox,
                 limits: Limits) -> dict[int, dict[str, Any]]:
    """The checker's record of every test whose program ran to its end (see the module doc), by test index; a
    test the checker request did not reach has none."""
    ran = [i for i, record in sorted(by_test.items()) if record.get("status") == "ok"]
    if not ran:
        return {}
    cases = [{"input": spec.inputs[i], "expected": spec.outputs[i], "output": by_test[i].get("output", "")}
             for i in ran]
    result = sandbox.run("tests", {"mode": "check", "code": spec.checker, "cases": cases},
                         replace(limits, timeout_s=sample_limit(limits, len(cases))))
    return {ran[r["test"]]: r for r in result.records if isinstance(r.get("test"), int) and 0 <= r["test"] < len(ran)}


def _rounds(total: int) -> Iterator[range]:
    """The tests of a sample in rounds of 1, 2, 4, ... tests, in their order (fail fast, see the module doc): a
    program that fails test k runs at most 2k tests, one that passes them all costs log2(total) more requests."""
    start, size = 0, 1
    while start < total:
        yield range(start, min(total, start + size))
        start, size = start + size, size * 2


def sample_limit(limits: Limits, tests: int) -> float:
    """The time limit of a sample of `tests` tests: `limits.timeout_s` where one is set (`sample_timeout_s`), else
    LiveCodeBench's grader's, `(test_timeout_s + 1) * tests + 5` seconds."""
    return limits.timeout_s if limits.timeout_s is not None else (limits.test_timeout_s + 1) * tests + 5


def output_room(spec: TestSpec) -> int:
    """The output cap (bytes) that a right program's output or returned value always fits: twice the largest expected
    output (as text, or a returned value as JSON), and 64 KiB more; 0 for tests without expected outputs. Judges cap
    output far above the 4 MiB a test gets by default (`verify.code.max_output_kb`), and LiveCodeBench's grader not
    at all; this size tells the program nothing of what it should print."""
    if spec.mode == "stdio":
        sizes = (len(output.encode()) for output in spec.outputs)
    elif spec.mode == "call":
        sizes = (len(json.dumps(output)) for output in spec.outputs)
    else:
        return 0
    return 2 * max(sizes, default=0) + (64 << 10)


def limits_from_config(cfg: CodeVerifyConfig) -> Limits:
    return Limits(timeout_s=cfg.sample_timeout_s, test_timeout_s=cfg.test_timeout_s, memory_mb=cfg.memory_mb,
                  max_output_bytes=cfg.max_output_kb << 10)


def verify_code(row: Mapping[str, Any], sandbox: Sandbox, limits: Limits | None = None, fail_fast: bool = True
                ) -> Verdict:
    """Verify one row (`solution`, `test_cases`, optional `starter_code`) in the given sandbox; without `fail_fast`
    every test runs, in one request, so `passed_tests` counts them all."""
    code = extract_code(row.get("solution"))
    if code is None:
        return Verdict(False, VERIFIER, "no_code", {"error": "the solution has no fenced python block (```python)"})
    spec = problem_tests(row)
    if isinstance(spec, tuple):
        return Verdict(False, VERIFIER, spec[0], {"error": spec[1]})
    code = extract_code(row.get("solution"), spec.needs)
    if spec.mode == "call" and spec.use_class and "Solution" not in module_names(code or ""):
        code = extract_code(row.get("solution"), {spec.fn_name or ""})  # a reply that dropped the starter's class
    renamed = None
    if spec.rename_function:
        code, renamed = renamed_function(row.get("solution"), code, spec.needs)
    payload = {"mode": spec.mode, "code": code, "inputs": spec.inputs, "fn_name": spec.fn_name,
               "use_class": spec.use_class, "test_code": spec.test_code, "entry_point": spec.entry_point,
               "prelude": spec.prelude, "input_file": spec.input_file, "output_file": spec.output_file,
               **({"int_keys": True} if spec.int_keys else {}),
               **({"exact_values": COMPARISONS[spec.comparison].exact_values,
                   "runs_as": COMPARISONS[spec.comparison].runs_as} if spec.comparison else {})}
    run_limits = limits or sandbox.limits
    if spec.time_limit is not None:  # the problem's own limit per test
        run_limits = replace(run_limits, test_timeout_s=spec.time_limit)
    if spec.memory_limit is not None:  # the problem's own memory limit, as its grader applies it
        run_limits = replace(run_limits, program_memory_mb=spec.memory_limit)
    if (room := output_room(spec)) > run_limits.max_output_bytes:  # a right output is never over the cap
        run_limits = replace(run_limits, max_output_bytes=room)
    run_limits = replace(run_limits, timeout_s=sample_limit(run_limits, spec.total))
    any_case = accepts_any_case(row.get("problem"))
    stated = stated_tolerance(row.get("problem"))
    if spec.comparison is not None:  # the grader's own comparison applies neither
        any_case, stated = False, None
    failures: list[dict[str, Any]] = []
    ran, spent = 0, 0.0
    # fail fast: a round with a failure ends the sample (see the module doc)
    for tests in _rounds(spec.total) if fail_fast else [range(spec.total)]:
        if spent >= run_limits.timeout_s:  # the rounds so far used the sample's time
            result = SandboxResult(timed_out=True)
            break
        round_payload = {**payload, "inputs": spec.inputs[tests.start:tests.stop]}
        result = sandbox.run("tests", round_payload, replace(run_limits, timeout_s=run_limits.timeout_s - spent))
        spent += result.time_s
        by_test = {tests.start + r["test"]: r for r in result.records
                   if isinstance(r.get("test"), int) and 0 <= r["test"] < len(tests)}
        checked = (_run_checker(spec, by_test, sandbox, limits or sandbox.limits)
                   if spec.checker is not None and result.complete else {})
        failures += [f for i in tests if (f := _judge(spec, i, by_test.get(i), checked.get(i), any_case,
                                                      stated or _TOLERANCE)) is not None]
        ran = tests.stop
        if failures or not result.complete:
            break
    detail: dict[str, Any] = {"mode": spec.mode, "passed_tests": ran - len(failures), "tests_run": ran,
                              "total_tests": spec.total, "failures": failures[:_MAX_FAILURES],
                              "isolation": sandbox.isolation}
    if spec.time_limit is not None:
        detail["time_limit_s"] = spec.time_limit
    if spec.memory_limit is not None:
        detail["memory_limit_mb"] = spec.memory_limit
    if files := {key: name for key, name in (("input", spec.input_file), ("output", spec.output_file)) if name}:
        detail["files"] = files
    if renamed is not None:
        detail["renamed"] = {"from": renamed, "to": next(iter(spec.needs))}
    if stated is not None and spec.mode in ("stdio", "call") and spec.checker is None:
        detail["tolerance"] = stated
    if spec.comparison is not None and spec.mode in ("stdio", "call"):
        detail["comparison"] = spec.comparison
    if spec.checker is not None:
        detail["checker"] = True
    elif any_case and spec.mode == "stdio":
        detail["any_case"] = any_case
    if not result.complete:
        why = ("the sample outran its time limit" if result.timed_out else
               "the sandbox server was killed" if result.crashed else
               result.error or "the test harness did not run to its end")
        detail["error"] = why
        return Verdict(False, VERIFIER, "timeout" if result.timed_out else "incomplete_run", detail)
    if failures:
        return Verdict(False, VERIFIER, "tests_failed", detail)
    return Verdict(True, VERIFIER, None, detail)


class CodeVerifier(Closing):
    """Verifies code rows in parallel: one sandbox per worker thread (the work happens in the sandboxes)."""

    def __init__(self, workers: int | None = None, limits: Limits | None = None, fail_fast: bool = True) -> None:
        self.workers = workers or cpu_count()
        self.limits = limits or limits_from_config(CodeVerifyConfig())
        self.fail_fast = fail_fast
        self._local = threading.local()
        self._boxes: list[Sandbox] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="kit-sandbox")

    def _sandbox(self) -> Sandbox:
        box = getattr(self._local, "box", None)
        if box is None:
            box = self._local.box = Sandbox(self.limits)
            with self._lock:
                self._boxes.append(box)
        return box

    def verify_one(self, row: Mapping[str, Any]) -> Verdict:
        return verify_code(row, self._sandbox(), self.limits, self.fail_fast)

    def verify(self, rows: Iterable[Mapping[str, Any]],
               on_result: Callable[[int], None] | None = None) -> Iterator[Verdict]:
        """Verdicts for `rows`, in input order, streamed (a bounded number in flight: `WINDOW` rows, so that one slow
        sample - a completion that runs to its time limit - does not leave the other sandboxes idle behind it)."""
        yield from ordered_map(self._pool, self.verify_one, rows, window=max(WINDOW, 4 * self.workers),
                               on_result=on_result)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            for box in self._boxes:
                box.close()
            self._boxes.clear()


