"""The code verifier: four test forms, output comparison, reward hacks (HumanEval runs in test_cli_verify)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from kit.core.testcases import stored_test_cases
from kit.recipes import CodeVerifyConfig
from kit.sandbox import Limits, Sandbox
from kit.verify.code import (
    CodeVerifier,
    InvalidTestCases,
    accepts_any_case,
    extract_code,
    limits_from_config,
    outputs_match,
    parse_test_cases,
    sample_limit,
    stated_tolerance,
    values_match,
    verify_code,
)

LIMITS = Limits(timeout_s=20, test_timeout_s=2, memory_mb=512)


@pytest.fixture(scope="module")
def verifier():
    with CodeVerifier(workers=2, limits=LIMITS) as v:
        yield v


def row(code: str, tests: dict | str, starter: str | None = None, fence: str = "python") -> dict:
    return {"solution": f"Here it is.\n```{fence}\n{code}\n```\n",
            "test_cases": tests if isinstance(tests, str) else json.dumps(tests), "starter_code": starter}


STDIO = {"inputs": ["1 2\n", "10 -3\n"], "outputs": ["3\n", "7\n"]}
CALL = {"fn_name": "add", "inputs": [[1, 2], [10, -3]], "outputs": [3, 7]}
ASSERT = {"test_code": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(10, -3) == 7\n",
          "entry_point": "add"}


# -- pure functions -------------------------------------------------------------------------------


def test_extract_code_takes_the_last_python_block():
    text = "```python\nfirst\n```\nthen\n```py\nsecond\n```\n```text\nnot code\n```"
    assert extract_code(text) == "second\n"
    assert extract_code("no code here") is None


# A reply as R1 often ends one (KodCode's SFT trials): the function, then a block of example usage that calls it
USAGE_LAST = ("Here is the function:\n```python\ndef add(a, b):\n    return a + b\n```\n\nExample usage:\n"
              "```python\nprint(add(2, 3))  # 5\n```\n")


def test_the_code_is_the_last_block_that_defines_what_the_tests_call():
    assert extract_code(USAGE_LAST) == "print(add(2, 3))  # 5\n"  # nothing named: the last block
    assert extract_code(USAGE_LAST, {"add"}) == "def add(a, b):\n    return a + b\n"
    two = "```python\ndef add(a, b):\n    return 0\n```\nFixed:\n```python\ndef add(a, b):\n    return a + b\n```"
    assert extract_code(two, {"add"}).endswith("return a + b\n")  # the last one that defines it
    assert extract_code(USAGE_LAST, {"sub"}) == "print(add(2, 3))  # 5\n"  # none defines it: the last block
    assert extract_code("```python\nfrom operator import add\n```\n```python\nadd(1, 2)\n```", {"add"}) == (
        "from operator import add\n")
    assert parse_test_cases(CALL).needs == {"add"} and parse_test_cases(ASSERT).needs == {"add"}
    assert parse_test_cases(STDIO).needs == set()
    assert parse_test_cases(CALL, "class Solution:\n    def add(self, a, b):\n").needs == {"Solution"}
    pytest_tests = {"test_code": "from solution import add, sub\nfrom solution import *\ndef test_a():\n    pass\n"}
    assert parse_test_cases(pytest_tests).needs == {"add", "sub"}
    # KodCode's tests also use the solution's names unimported (they run after `from solution import *`)
    star = {"test_code": "import pytest\n\ndef test_a(tmp_path):\n    for n in range(2):\n"
                         "        assert mul(n, math.pi) >= 0\n    with pytest.raises(TypeError) as e:\n"
                         "        mul(None, 1)\n"}
    assert parse_test_cases(star).needs == {"mul", "math"}
    block = "```python\nimport math\nif True:\n    def mul(a, b):\n        return a * b\n```"
    assert extract_code(block + "\n```python\nprint(mul(2, 3))\n```", {"mul", "math"}) == (
        "import math\nif True:\n    def mul(a, b):\n        return a * b\n")


def test_a_reply_ending_in_example_usage_passes_in_every_form_that_names_its_function(verifier):
    """The last python block alone (print(add(2, 3))) defines nothing the tests call; the block before it does."""
    pytest_tests = {"test_code": "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"}
    unimported = {"test_code": "def test_add():\n    assert add(1, 2) == 3\n"}  # after `from solution import *`
    rows = [{"solution": USAGE_LAST, "test_cases": json.dumps(tests)}
            for tests in (CALL, ASSERT, pytest_tests, unimported)]
    assert [v.passed for v in verdicts(verifier, rows)] == [True, True, True, True]


def test_without_a_python_block_the_last_unnamed_block_is_the_code():
    """LiveCodeBench reads the last fenced block whatever it names; the kit prefers a python block and otherwise
    takes the last block that names no language, pairing fences in order."""
    text = "Sample:\n```\n1 2\n```\nSolution:\n```\nprint(sum(map(int, input().split())))\n```\nDone."
    assert extract_code(text) == "print(sum(map(int, input().split())))\n"
    assert extract_code("```cpp\nint main() {}\n```\nthen\n```\nprint(1)\n```") == "print(1)\n"
    assert extract_code("```cpp\nint main() {}\n```\nno more") is None  # its closing fence opens nothing
    assert extract_code("```\nprint(1)\n") is None  # never closed
    assert extract_code("```python\nA\n```\n```\nB\n```") == "A\n"


def test_outputs_match_rules():
    assert outputs_match("3  \n\n", "3\n")
    assert outputs_match("1 2 3\n", "1  2\t3")
    assert outputs_match("0.3333333333\n", "0.333333")
    assert outputs_match("1000000.0000001\n", "1000000")
    assert not outputs_match("0.3334\n", "0.3333")
    assert not outputs_match("3\n4\n", "3\n")
    # line breaks separate tokens like spaces, as Codeforces' default checker (testlib's wcmp) and open-r1's grader
    # read outputs: answers printed on one line for "one per line", or with blank lines between them, are right
    assert outputs_match("1 2 3\n", "1\n2\n3\n") and outputs_match("1\n\n2\r\n", "1\n2\n")
    assert not outputs_match("1 2\n", "1\n2\n3\n") and not outputs_match("12\n", "1 2\n")
    assert not outputs_match("YES\n", "yes\n")
    # integers compare exactly: big answers (sums, values modulo 1e9+7) are within 1e-6 of their neighbours
    assert not outputs_match("1000000000\n", "1000000001\n")
    assert not outputs_match("999999999999999999\n", "1000000000000000000\n")  # one float apart
    assert not outputs_match("7" * 5000 + "\n", "7" * 4999 + "8\n")  # longer than int() reads
    assert outputs_match("+7 007 -0\n", "7 7 0\n")
    assert outputs_match("3.0\n", "3\n") and outputs_match("1000000000.0000001\n", "1000000000\n")
    # beyond a float's range every number reads as infinity: `inf` (or 1e400) would be "close" to any huge answer
    assert not outputs_match("inf\n", "1" + "0" * 400 + "\n") and not outputs_match("1e400\n", "2" + "0" * 400)
    assert not outputs_match("-inf", "-1e999") and outputs_match("inf\n", "inf\n")
    assert not outputs_match("1_000\n", "1000\n") and not outputs_match("0.5_0", "0.50")  # Python reads them


@pytest.mark.parametrize(("statement", "any_case"), [
    ("You can output the answer in any case (upper or lower). For example, the strings yEs, yes, Yes and YES will "
     "be recognized as positive responses.", True),                         # Codeforces, today's wording
    ("You can print each letter in any register.", True),                  # Codeforces, older translations
    ("Each letter can be printed in any case.", True),
    ("Print YES or NO (case-insensitive).", True),
    ("If there are several answers, print any. In any case the answer fits in 64 bits.", False),  # the idiom
    ("The answer in any case does not exceed 10^9.", False),
    ("Print Yes if S is a palindrome, and No otherwise.", False),          # AtCoder: case is checked
    (None, False),
])
def test_statements_that_accept_any_case(statement, any_case):
    assert accepts_any_case(statement) is any_case


def test_any_case_statements_compare_letters_up_to_case(verifier):
    """Codeforces judges a YES/NO problem whose statement accepts any case with a case-insensitive checker: `Yes`
    is right for `YES` there, and only there."""
    tests = {"inputs": ["4\n", "7\n"], "outputs": ["YES\n", "NO\n"]}
    code = "print('Yes' if int(input()) % 2 == 0 else 'no')"
    rows = [{**row(code, tests), "problem": "Is n even? You can output the answer in any case (upper or lower)."},
            {**row(code, tests), "problem": "Is n even? Print YES or NO."},
            {**row("print('YES')", tests), "problem": "Is n even? You can print each letter in any case."}]
    right, exact, wrong = verdicts(verifier, rows)
    assert (right.passed, right.detail["any_case"]) == (True, True)
    assert (exact.passed, exact.reason) == (False, "tests_failed") and "any_case" not in exact.detail
    assert (wrong.passed, wrong.detail["passed_tests"]) == (False, 1)


def test_values_match_rules():
    assert values_match([1, 2], [1, 2])
    assert values_match(0.1 + 0.2, 0.3)
    assert values_match(3, [3])  # TACO wraps single return values in a list
    assert not values_match(True, 1)
    assert not values_match("3", 3)
    assert not values_match({"a": 1}, {"a": 2})
    assert not values_match(10**9, 10**9 + 1) and not values_match([10**18], [10**18 + 1])
    assert values_match(3, 3.0000000001)
    # an integer beyond a float's range is close to no float, infinity included (no OverflowError)
    assert not values_match(float("inf"), 10**400) and not values_match(1e300, 10**400)
    assert values_match(10**400, 10**400) and not values_match(10**400, 10**400 + 1)


def test_the_codeforces_grader_compares_as_open_r1s_grader(verifier):
    """open-r1's Codeforces grader (`grader: codeforces`, stored as `"comparison": "codeforces"`; tests curated before
    it say `"yes_no_any_case": true`) upper-cases the words yes and no, as testlib's yesno checker does, and compares
    the tokens as text, as testlib's wcmp does: other words keep their case whatever the statement says, and a number
    is its text (`3.0` is not `3`, and no stated tolerance applies): problems that accept other answers ship a checker."""
    tests = {"inputs": ["4\n", "7\n"], "outputs": ["YES\n", "NO\n"], "comparison": "codeforces"}
    legacy = {**tests, "comparison": None, "yes_no_any_case": True}
    words = {"inputs": ["4\n", "7\n"], "outputs": ["EVEN\n", "ODD\n"], "comparison": "codeforces"}
    halves = {"inputs": ["1\n"], "outputs": ["0.5000000\n"], "comparison": "codeforces"}
    parity = "print('{}' if int(input()) % 2 == 0 else '{}')"
    rows = [{**row(parity.format("Yes", "no"), tests), "problem": "Is n even? Print YES or NO."},
            {**row(parity.format("Yes", "no"), legacy), "problem": "Is n even? Print YES or NO."},
            {**row(parity.format("Yes", "no"), {**tests, "comparison": None}), "problem": "Print YES or NO."},
            {**row(parity.format("even", "odd"), words), "problem": "Print EVEN or ODD, in any case (upper or lower)."},
            {**row("input()\nprint(0.5)", halves), "problem": "Print 1/2. An absolute error of 10^{-6} is allowed."},
            {**row("input()\nprint('0.5000000')", halves), "problem": "Print 1/2."}]
    yes_no, old, exact, word, close, same = verdicts(verifier, rows)
    assert (yes_no.passed, yes_no.detail["comparison"]) == (True, "codeforces")
    assert (old.passed, old.detail["comparison"]) == (True, "codeforces")
    assert (exact.passed, word.passed, close.passed, same.passed) == (False, False, False, True)
    assert "any_case" not in word.detail and "tolerance" not in close.detail
    with pytest.raises(InvalidTestCases, match="yes_no_any_case must be true or false"):
        parse_test_cases({**STDIO, "yes_no_any_case": "yes"})


def test_apps_graders_give_a_dict_argument_integer_keys(verifier):
    """APPS's and TACO's graders (`grader: apps`, stored as `"int_keys": true`) give a call's first argument, a dict whose
    keys all read as integers, integer keys - JSON holds only string keys; a dict with other keys is passed as it is,
    and so are the arguments after it. Without the flag, the keys stay strings."""
    weigh = "def weigh(counts, extra=0):\n    return sum(k * v for k, v in counts.items()) + extra\n"
    tests = {"fn_name": "weigh", "inputs": [[{"1": 5, "2": 7}], [{"3": 4}, 1]], "outputs": [19, 13], "int_keys": True}
    names = {"fn_name": "count", "inputs": [[{"a": 1, "7": 2}]], "outputs": ["str str"], "int_keys": True}
    kinds = "def count(d):\n    return ' '.join(sorted(type(k).__name__ for k in d))\n"
    keyed, words, plain_keys = verdicts(verifier, [row(weigh, tests), row(kinds, names),
                                                   row(weigh, {**tests, "int_keys": False})])
    assert keyed.passed and words.passed, (keyed.detail, words.detail)
    assert not plain_keys.passed and plain_keys.detail["failures"][0]["reason"] == "runtime_error"
    with pytest.raises(InvalidTestCases, match="int_keys must be true or false"):
        parse_test_cases({**CALL, "int_keys": 1})


def test_an_output_as_large_as_the_expected_one_is_never_over_the_cap(verifier):
    """A test's output is capped (4 MiB by default), but never below what a right program prints or returns: twice the
    expected output. A returned value over the cap is `output_limit`, as printed output is."""
    n = 700_000  # 4.6 MiB of numbers, one a line
    expected = "".join(f"{i}\n" for i in range(n))
    count = "import sys\nn = int(input())\nsys.stdout.write(''.join(f'{i}\\n' for i in range(n)))"
    listed = "def f(n):\n    return list(range(n))"
    printed, returned, over = verdicts(verifier, [
        row(count, {"inputs": [f"{n}\n"], "outputs": [expected]}),
        row(listed, {"fn_name": "f", "inputs": [[n]], "outputs": [list(range(n))]}),
        row(listed, {"fn_name": "f", "inputs": [[n]], "outputs": [[0]]})])
    assert printed.passed and returned.passed, (printed.detail, returned.detail)
    assert over.detail["failures"][0]["reason"] == "output_limit", over.detail


def test_an_interactive_problem_is_refused_without_running(verifier):
    """A statement that says its problem is interactive needs the jury's interactor, which no dataset's tests hold:
    the verdict says so and nothing runs (a right program on the tests alone would be no evidence)."""
    echo = "print(input())"
    rows = [{**row(echo, STDIO), "problem": "This is an interactive problem.\n\nGuess the hidden pair."},
            {**row(echo, STDIO), "problem": "This is an  Interactive task. Ask at most 20 queries."},
            {**row("a, b = map(int, input().split())\nprint(a + b)", STDIO),
             "problem": "Alice plays an interactive game; print the sum of a and b."}]
    problem, task, game = verdicts(verifier, rows)
    assert (problem.passed, problem.reason, task.reason) == (False, "interactive_problem", "interactive_problem")
    assert "interactor" in problem.detail["error"] and "tests_run" not in problem.detail
    assert game.passed, game  # a statement that only uses the word


def test_integers_longer_than_cpython_converts_by_default(verifier):
    """CPython 3.11 refuses int <-> str conversions past 4,300 digits, a limit the judges never had: programs that
    read or print a longer number pass, and the kit reads such integers in tests and results up to MAX_INT_DIGITS
    (beyond that the tests are invalid, or the result wrong, with the reason)."""
    from kit.core.testcases import MAX_INT_DIGITS

    big = 2 ** 20000  # 6,021 digits
    tests = [row("n = int(input())\nprint(2 ** n)", {"inputs": ["20000\n"], "outputs": [f"{big}\n"]}),
             row("x = int(input())\nprint(x % 1000)", {"inputs": [f"{big}\n"], "outputs": [f"{big % 1000}\n"]}),
             row("def f(n):\n    return 2 ** n", {"fn_name": "f", "inputs": [[20000]], "outputs": [big]}),
             row("def f(n):\n    return 2 ** n",
                 {"test_code": "def check(f):\n    assert str(f(20000)).startswith('3')\n", "entry_point": "f"}),
             row("def f(n):\n    return 10 ** n", {"fn_name": "f", "inputs": [[MAX_INT_DIGITS]], "outputs": [1]}),
             row("def f(n):\n    return n", json.dumps({"fn_name": "f", "inputs": [[1]], "outputs": [1]})[:-2]
                 + "1" + "0" * MAX_INT_DIGITS + "]}")]
    results = verdicts(verifier, tests)
    assert [v.passed for v in results] == [True] * 4 + [False] * 2, results
    too_long = "cannot be read: it holds an integer of more than 100000 digits"
    assert too_long in results[4].detail["failures"][0]["detail"]
    assert (results[5].reason, results[5].detail["error"]) == (
        "invalid_test_cases", "test_cases cannot be read: it holds an integer of more than 100000 digits")


@pytest.mark.parametrize("raw, message", [
    ("{not json", "not valid JSON"),
    ('{"inputs": ["1"], "outputs": []}', "1 inputs but 0 outputs"),
    ('{"inputs": [], "outputs": []}', "no tests"),
    ('{"test_code": "assert True"}', "entry_point"),
    ('[1, 2]', "test 0 is not an object with `input` and `output`"),
    ('"text"', "a JSON object or a list of tests, got str"),
    ('{"fn_name": "1bad", "inputs": [[1]], "outputs": [1]}', "not a function name"),
    # test code that runs no check would pass every solution: asserts inside a function nothing calls
    (json.dumps({"test_code": "def verify_add():\n    assert add(1, 2) == 3\n", "entry_point": "add"}),
     "checks nothing when run"),
    ('{"test_code": "def helper():\\n    assert add(1, 2) == 3\\n"}', "entry_point must name"),
    (json.dumps({"test_code": "def check(candidate):\n    assert (", "entry_point": "add"}), "not Python"),
])
def test_malformed_test_cases_raise_one_line(raw, message):
    with pytest.raises(InvalidTestCases, match=message) as info:
        parse_test_cases(raw)
    assert "\n" not in str(info.value)


def test_solution_class_is_used_when_starter_code_defines_it():
    spec = parse_test_cases(CALL, "class Solution:\n    def add(self, a, b):\n        pass\n")
    assert spec.mode == "call" and spec.use_class


# -- in the sandbox -------------------------------------------------------------------------------


def verdicts(verifier, rows):
    return list(verifier.verify(rows))


def test_three_forms_right_wrong_crash_timeout(verifier):
    cases = [
        (row("a, b = map(int, input().split())\nprint(a + b)", STDIO), True, None),
        (row("import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)", STDIO), True, None),
        (row("a, b = map(int, open(0).read().split())\nprint(a + b)", STDIO), True, None),
        (row("print(3)", STDIO), False, "wrong_answer"),
        (row("raise ValueError('boom')", STDIO), False, "runtime_error"),
        (row("while True:\n    pass", STDIO), False, "timeout"),
        (row("def add(a, b):\n    return a + b", CALL), True, None),
        (row("class Solution:\n    def add(self, a, b):\n        return a + b", CALL,
             starter="class Solution:\n    def add(self, a, b):\n"), True, None),
        (row("def add(a, b):\n    return a - b", CALL), False, "wrong_answer"),
        (row("def add(a, b):\n    return a / 0", CALL), False, "runtime_error"),
        (row("def add(a, b):\n    while True:\n        pass", CALL), False, "timeout"),
        (row("def add(a, b):\n    return a + b", ASSERT), True, None),
        (row("def add(a, b):\n    return a * b", ASSERT), False, "wrong_answer"),
        (row("def add(a, b):\n    return [][1]", ASSERT), False, "runtime_error"),
        (row("def add(a, b):\n    while True:\n        pass", ASSERT), False, "timeout"),
        (row("def add(a, b):\n    return a + b",
             {"test_code": "assert add(1, 2) == 3\nassert add(2, 2) == 4\n", "entry_point": "add"}), True, None),
        # MBPP's test_list, as the dataset ships it: a list of asserts
        (row("def add(a, b):\n    return a + b", json.dumps(["assert add(1, 2) == 3", "assert add(2, 2) == 4"])),
         True, None),
        (row("def add(a, b):\n    return 3", json.dumps(["assert add(1, 2) == 3", "assert add(2, 2) == 4"])),
         False, "wrong_answer"),
        (row("def area(r):\n    return 3.14159 * r * r",  # the asserts use math; the solution never imports it
             json.dumps(["assert math.isclose(area(2), 12.566, rel_tol=0.01)"])), True, None),
    ]
    results = verdicts(verifier, [c[0] for c in cases])
    for (_, passed, failure), verdict in zip(cases, results, strict=True):
        assert verdict.passed is passed, verdict
        assert verdict.verifier == "sandbox"
        if failure:
            assert verdict.reason == "tests_failed"
            assert verdict.detail["failures"][0]["reason"] == failure
    assert results[0].detail["passed_tests"] == 2 and results[0].detail["total_tests"] == 2
    assert results[3].detail["passed_tests"] == 1  # print(3) is right for the first test only


# KodCode's `test` column: a pytest module importing from `solution` (KodCode's grader runs pytest on it), with the
# pytest features its tests use: raises, approx, parametrize, fixtures.
KODCODE = """from solution import add, ratio
import pytest

def test_add():
    assert add(1, 2) == 3
    assert add(10, -3) == 7

@pytest.mark.parametrize("a, b, total", [(0, 0, 0), (2, 5, 7)])
def test_add_many(a, b, total):
    assert add(a, b) == total

def test_ratio():
    assert ratio(1, 3) == pytest.approx(0.3333333)
    with pytest.raises(ZeroDivisionError):
        ratio(1, 0)

def test_written(tmp_path):
    path = tmp_path / "sum.txt"
    path.write_text(str(add(2, 2)))
    assert path.read_text() == "4"
"""
# BigCodeBench's `test`: a unittest class calling the function of the solution's own module (not imported)
BIGCODEBENCH = """import unittest

class TestCases(unittest.TestCase):
    def test_case_1(self):
        self.assertEqual(task_func([1, 2, 3]), 6)

    def test_empty(self):
        self.assertEqual(task_func([]), 0)
"""
RATIO = "\ndef ratio(a, b):\n    return a / b"


def test_pytest_modules_run_with_pytest_against_the_solution_module(verifier):
    """The pytest form, as KodCode and BigCodeBench ship it: right passes; wrong, crashing, hanging, skipping or
    misnamed solutions fail, and the failure says which test and why."""
    kod = json.dumps({"test_code": KODCODE})
    bcb = stored_test_cases(BIGCODEBENCH, entry_point="task_func")
    cases = [
        (row("def add(a, b):\n    return a + b" + RATIO, kod), True, None),
        (row("def add(a, b):\n    return a + b if b != 2 else 0" + RATIO, kod), False, "test_add: assert 0 == 3"),
        (row("def add(a, b):\n    return a + b\ndef ratio(a, b):\n    return a // b", kod), False, "test_ratio"),
        (row("def add(a, b):\n    while True:\n        pass" + RATIO, kod), False, "timeout"),
        (row("def plus(a, b):\n    return a + b" + RATIO, kod), False, "cannot import name 'add'"),
        # a solution that skips the tests it would fail is not passed (pytest itself exits 0)
        (row("import pytest\ndef add(a, b):\n    if a == 10:\n        pytest.skip('no')\n    return a + b" + RATIO,
             kod), False, "was skipped"),
        (row("import os\ndef add(a, b):\n    os._exit(0)" + RATIO, kod), False, "early_exit"),
        (row("def add(a, b):\n    print('x' * (8 << 20))\n    return a + b" + RATIO, kod), False, "output_limit"),
        (row("def task_func(numbers):\n    return sum(numbers)", bcb), True, None),
        (row("def task_func(numbers):\n    return max(numbers)", bcb), False, "test_case_1: AssertionError: 3 != 6 (and 1 more)"),  # max([]) raises
    ]
    results = verdicts(verifier, [c[0] for c in cases])
    for (_, passed, why), verdict in zip(cases, results, strict=True):
        assert verdict.passed is passed, verdict
        assert verdict.detail["mode"] == "pytest"
        if why:
            failure = verdict.detail["failures"][0]
            assert why in failure["detail"] or why == failure["reason"], verdict
    assert "(and 1 more)" in results[1].detail["failures"][0]["detail"]  # test_add and test_written (2 + 2)


def test_a_program_calling_the_function_by_name_runs_in_the_assert_form(verifier):
    """MBPP+'s `test`: a numpy-using helper holds the asserts, a top-level loop calls it on the function's results;
    the entry point is the function the loop calls (kit.core.testcases)."""
    from tests.test_core_testcases import MBPP_PLUS

    tests = stored_test_cases(MBPP_PLUS)
    assert parse_test_cases(tests).mode == "assert"
    right, wrong = verdicts(verifier, [
        row("def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b)))", tests),
        row("def similar_elements(a, b):\n    return tuple(set(a) | set(b))", tests)])
    assert right.passed, right
    assert not wrong.passed and "exp: (4, 5)" in wrong.detail["failures"][0]["detail"], wrong


# The tests of one problem (a + b) as public datasets ship them, in the value `datasets` yields (kit.core.testcases)
SHIPPED = {
    "codecontests public_tests": {"input": ["1 2\n", "10 -3\n"], "output": ["3\n", "7\n"]},
    "apps lists of lines": {"inputs": [["1 2"], ["10 -3"]], "outputs": [["3"], ["7"]]},
    "codeforces official_tests": [{"input": "1 2\n", "output": "3\n"}, {"input": "10 -3\n", "output": "7\n"}],
    "verifiable-coding verification_info": {"language": "python", "test_cases": [
        {"fn_name": None, "input": "1 2\n", "output": "3\n", "type": "stdin_stdout"},
        {"fn_name": None, "input": "10 -3\n", "output": "7\n", "type": "stdin_stdout"}]},
    "livecodebench functional": [{"input": "1\n2", "output": "3", "testtype": "functional",
                                  "metadata": {"func_name": "add"}},
                                 {"input": "10\n-3", "output": "7", "testtype": "functional",
                                  "metadata": {"func_name": "add"}}],
    "function_call tests": [{"fn_name": "add", "input": "[1, 2]", "output": "[3]", "type": "function_call"},
                            {"fn_name": "add", "input": [10, -3], "output": 7, "type": "function_call"}],
}
PROGRAM = {"stdio": ("a, b = map(int, input().split())\nprint(a + b)", "a, b = map(int, input().split())\nprint(a * b)"),
           "call": ("def add(a, b):\n    return a + b", "def add(a, b):\n    return a * b")}


@pytest.mark.parametrize("form", list(SHIPPED))
def test_tests_in_the_forms_datasets_ship_run_as_the_contract_form(verifier, form):
    """A right program passes and a wrong one fails both tests, with the tests given as the dataset's own value
    and as its JSON text, as the contract form would."""
    mode = parse_test_cases(SHIPPED[form]).mode
    right, wrong = PROGRAM[mode]
    tests = [SHIPPED[form], json.dumps(SHIPPED[form])]
    rows = [{**row(code, "{}"), "test_cases": given} for code in (right, wrong) for given in tests]
    results = verdicts(verifier, rows)
    assert [v.passed for v in results] == [True, True, False, False], results
    assert {(v.detail["mode"], v.detail["total_tests"]) for v in results} == {(mode, 2)}
    assert {v.detail["passed_tests"] for v in results[2:]} == {0}  # 1 * 2 != 3, -30 != 7


def test_stdin_tests_given_as_lists_of_lines_are_joined(verifier):
    """Some APPS/TACO rows give a stdin test's input and output as lists of lines; APPS's grader joins them."""
    tests = {"inputs": [["2", "3 4"], "1\n5\n"], "outputs": [["7", "12"], ["5", "5"]]}
    spec = parse_test_cases(tests)
    assert (spec.inputs, spec.outputs) == (["2\n3 4", "1\n5\n"], ["7\n12", "5\n5"])
    code = "n = int(input())\na, b = map(int, input().split()) if n == 2 else (int(input()), 0)\nprint(a + b)\nprint(a * b if n == 2 else a)"
    assert verdicts(verifier, [row(code, tests)])[0].passed
    with pytest.raises(InvalidTestCases, match="string inputs and outputs"):
        parse_test_cases({"inputs": [[1, 2]], "outputs": ["3"]})


def test_windows_line_ends_in_an_input_reach_the_program_as_newlines(verifier):
    """Some Codeforces tests keep `\\r\\n` line ends; the grader open-r1 validated them with strips the `\\r`, so a
    program that reads a line as bytes and cuts its line end off is right."""
    tests = {"inputs": ["ab\r\ncd\r\n"], "outputs": ["abcd\n"]}
    assert parse_test_cases(tests).inputs == ["ab\ncd\n"]
    # as its `sed 's/\r$//'`: one `\r` before each line end, and before the end of an input without a final newline
    assert parse_test_cases({"inputs": ["ab\r\r\ncd\r"], "outputs": ["x"]}).inputs == ["ab\r\ncd"]
    code = "import sys\nlines = sys.stdin.buffer.read().decode().split('\\n')\nprint(lines[0] + lines[1])"
    assert verdicts(verifier, [row(code, tests)])[0].passed


def test_deep_recursion_through_c_gets_the_stack_a_judge_gives(verifier):
    """Competitive Python raises the recursion limit and recurses through C (`functools.lru_cache`): 10^5 levels
    need more than the usual 8 MiB stack. Judges give the memory limit as stack (Codeforces), so does the sandbox."""
    code = ("import sys\nfrom functools import lru_cache\nsys.setrecursionlimit(10**6)\nn = int(input())\n"
            "@lru_cache(maxsize=None)\ndef depth(k):\n    return 0 if k == 0 else depth(k - 1) + 1\nprint(depth(n))")
    verdict = verdicts(verifier, [row(code, {"inputs": ["100000\n"], "outputs": ["100000\n"]})])[0]
    assert verdict.passed, verdict


def test_float_output_within_tolerance(verifier):
    tests = {"inputs": ["1 3\n"], "outputs": ["0.333333\n"]}
    assert verdicts(verifier, [row("a, b = map(int, input().split())\nprint(a / b)", tests)])[0].passed


def test_row_problems_are_verdicts_not_errors(verifier):
    no_code, bad_json = verdicts(verifier, [{"solution": "just prose", "test_cases": json.dumps(STDIO)},
                                            row("print(1)", "{not json")])
    assert (no_code.passed, no_code.reason) == (False, "no_code")
    assert (bad_json.passed, bad_json.reason) == (False, "invalid_test_cases")
    assert "not valid JSON" in bad_json.detail["error"]


HACKS = {
    "sys.exit(0) before the asserts": "import sys\ndef add(a, b):\n    sys.exit(0)",
    "exit(0) at import": "exit(0)\ndef add(a, b):\n    return 0",
    "os._exit(0) before the asserts": "import os\ndef add(a, b):\n    os._exit(0)",
    "always-equal object": "class Eq:\n    def __eq__(self, other):\n        return True\n"
                           "def add(a, b):\n    return Eq()",
    "int subclass with __eq__": "class I(int):\n    def __eq__(self, other):\n        return True\n"
                                "def add(a, b):\n    return I(0)",
    "patched builtins": "import builtins\nbuiltins.abs = lambda x: 0\ndef add(a, b):\n    return 0",
    "patched os._exit and print": "import os, builtins\nos._exit = lambda *a: None\nbuiltins.print = lambda *a, **k: None\n"
                                  "def add(a, b):\n    return 0",
    "kills its parent": "import os, signal\ndef add(a, b):\n    os.kill(os.getppid(), signal.SIGKILL)",
    "kills every process it can": "import os, signal\ndef add(a, b):\n    os.kill(-1, signal.SIGKILL)",
    "redefines check": "def check(candidate):\n    pass\ndef add(a, b):\n    return 0",
}


@pytest.mark.parametrize("name", list(HACKS))
def test_reward_hacks_fail(verifier, name):
    tests = {"test_code": "def check(candidate):\n    assert abs(candidate(1, 2) - 3) < 1e-9\n"
                          "    assert candidate(10, -3) == 7\n", "entry_point": "add"}
    verdict = verdicts(verifier, [row(HACKS[name], tests)])[0]
    assert not verdict.passed, verdict
    assert verdict.reason in ("tests_failed", "incomplete_run")


def test_stdio_program_may_call_exit_after_printing(verifier):
    code = "a, b = map(int, input().split())\nprint(a + b)\nexit()"
    assert verdicts(verifier, [row(code, STDIO)])[0].passed


# -- checkers (open-r1/codeforces `generated_checker`) ------------------------------------------------

# "Print two different integers whose sum is n": many outputs are right. The checker is written the way the
# dataset's are: it reads the input, the expected output and the program's output from the files its argv names.
PAIR_CHECKER = """import sys
n = int(open(sys.argv[1]).read())
expected = open(sys.argv[2]).read().split()
try:
    a, b = map(int, open(sys.argv[3]).read().split())
except ValueError:
    print(0)
    sys.exit(0)
print(1 if a + b == n and a != b and len(expected) == 2 else 0)
"""
PAIR_TESTS = [{"input": "5\n", "output": "2 3\n"}, {"input": "10\r\n", "output": "1 9\r\n"}]


def checked(code: str, checker: str = PAIR_CHECKER, tests: list | None = None) -> dict:
    return row(code, stored_test_cases(tests or PAIR_TESTS, checker))


def test_a_checker_accepts_any_right_output_and_rejects_wrong_ones(verifier):
    cases = [
        (checked("n = int(input())\nprint(0, n)"), True, None),  # not the expected output, but right
        (checked("n = int(input())\nprint(n - 1, 1)\nprint()\n"), True, None),  # empty lines are dropped first
        (checked("n = int(input())\nprint(n // 2, n - n // 2)"), False, "the checker printed '0'"),  # 5 5 for 10
        (checked("print('two numbers')"), False, "the checker printed '0'"),
        (checked("n = int(input())\nprint(0, n)", checker="print(100)"), True, None),  # 100 accepts too
        (checked("n = int(input())\nprint(0, n)", checker="raise ValueError('bad checker')"), False,
         "the checker ended with error (ValueError: bad checker)"),
        (checked("n = int(input())\nprint(0, n)", checker="while True:\n    pass"), False,
         "the checker ended with timeout: the output was not accepted"),
        (checked("raise SystemExit(3)"), False, None),  # the program failed: its checker does not run
    ]
    results = verdicts(verifier, [c[0] for c in cases])
    for (_, passed, detail), verdict in zip(cases, results, strict=True):
        assert verdict.passed is passed, verdict
        assert verdict.detail["checker"] is True
        if detail:
            assert detail in verdict.detail["failures"][0]["detail"], verdict
    assert results[-1].detail["failures"][0]["reason"] == "runtime_error"
    assert results[2].detail["passed_tests"] == 1  # 2 3 is right for 5


def test_the_program_never_sees_the_expected_output_the_checker_gets(verifier):
    """The expected outputs travel to the checker only, in a request of its own: a program that searches its own
    memory for them finds nothing (were they in its request, `gc` would hand them over)."""
    secret = "SECRET-7f3a"
    hunt = ("import gc\nneedle = ''.join(['SEC', 'RET-', '7f3a'])\nmine = globals()\n"
            "found = any(needle in repr(o)[:100000] for o in gc.get_objects()\n"
            "            if o is not mine and isinstance(o, (list, dict, tuple)))\nprint(needle if found else 'none')")
    exact = "import sys\nprint(1 if open(sys.argv[3]).read().split() == open(sys.argv[2]).read().split() else 0)"
    verdict = verdicts(verifier, [checked(hunt, exact, [{"input": "1\n", "output": f"{secret}\n"}])])[0]
    assert not verdict.passed, verdict
    assert "the checker printed '0'" in verdict.detail["failures"][0]["detail"]


def test_a_checker_is_for_stdin_stdout_tests_only():
    assert stored_test_cases(CALL, PAIR_CHECKER) == json.dumps(CALL)  # not put into call-based tests
    with pytest.raises(InvalidTestCases, match="applies to stdin/stdout tests"):
        parse_test_cases({**CALL, "checker": PAIR_CHECKER})
    with pytest.raises(InvalidTestCases, match="checker's Python source"):
        parse_test_cases({**STDIO, "checker": 1})
    assert parse_test_cases({**STDIO, "checker": PAIR_CHECKER}).checker == PAIR_CHECKER
    testlib = '#include "testlib.h"\nint main(int argc, char* argv[]) {\n    registerTestlibCmd(argc, argv);\n}\n'
    with pytest.raises(InvalidTestCases, match=r"checker is not Python \(SyntaxError") as info:
        parse_test_cases({**STDIO, "checker": testlib})  # CodeContests+ ships C++ checkers
    assert "\n" not in str(info.value)
    assert parse_test_cases(STDIO).checker is None


# LeetCodeDataset (newfacade/LeetCodeDataset): `prompt` holds the imports and linked-list / tree helpers its solutions
# and tests use without defining them, `entry_point` is a method of a fresh Solution, and `test` a check(candidate)
# with keyword arguments. Its grader runs prompt + completion + test + check(entry_point). A prelude of that shape:
LEETCODE_PRELUDE = '''from typing import *
from collections import *
from heapq import *

inf = float('inf')

class ListNode:
    def __init__(self, val=0, next=None):
        self.val = val
        self.next = next

def list_node(values: list):
    head = None
    for value in reversed(values):
        head = ListNode(value, head)
    return head

def is_same_list(p1, p2):
    while p1 and p2:
        if p1.val != p2.val:
            return False
        p1, p2 = p1.next, p2.next
    return p1 is None and p2 is None

class TreeNode:
    def __init__(self, val=0, left=None, right=None):
        self.val = val
        self.left = left
        self.right = right

def tree_node(values: list):
    if not values:
        return None
    root = TreeNode(values[0])
    queue, i = deque([root]), 1
    while queue and i < len(values):
        node = queue.popleft()
        for side in ("left", "right"):
            if i < len(values) and values[i] is not None:
                setattr(node, side, TreeNode(values[i]))
                queue.append(getattr(node, side))
            i += 1
    return root

def is_same_tree(p, q):
    if not p or not q:
        return p is q
    return p.val == q.val and is_same_tree(p.left, q.left) and is_same_tree(p.right, q.right)
'''
REVERSE_TEST = """def check(candidate):
    assert is_same_list(candidate(head = list_node([1, 2, 3])), list_node([3, 2, 1]))
    assert is_same_list(candidate(head = list_node([7])), list_node([7]))
    assert candidate(head = list_node([])) is None
"""
REVERSE = """class Solution:
    def reverseList(self, head: Optional[ListNode]) -> Optional[ListNode]:
        previous = None
        while head:
            head.next, previous, head = previous, head, head.next
        return previous"""
MIRROR_TEST = """def check(candidate):
    assert is_same_tree(candidate(root = tree_node([4, 2, 7, 1, 3])), tree_node([4, 7, 2, None, None, 3, 1]))
    assert candidate(root = tree_node([])) is None
"""
MIRROR = """class Solution:
    def invertTree(self, root: Optional[TreeNode]) -> Optional[TreeNode]:
        if root:
            root.left, root.right = self.invertTree(root.right), self.invertTree(root.left)
        return root"""
TWO_SUM_TEST = """def check(candidate):
    assert candidate(nums = [2, 7, 11, 15], target = 9) == [0, 1]
    assert candidate(nums = [3, 3], target = 6) == [0, 1]
"""
TWO_SUM = """class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        seen = {}
        for i, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], i]
            seen[x] = i"""


def leetcode(test: str, method: str) -> str:
    return stored_test_cases(test, entry_point=f"Solution().{method}", prelude=LEETCODE_PRELUDE)


def test_leetcode_tests_run_a_method_of_a_fresh_solution_after_the_prelude(verifier):
    tests = leetcode(TWO_SUM_TEST, "twoSum")
    assert json.loads(tests) == {"test_code": TWO_SUM_TEST, "entry_point": "Solution().twoSum",
                                 "prelude": LEETCODE_PRELUDE}
    spec = parse_test_cases(tests)
    assert (spec.mode, spec.entry_point, spec.needs) == ("assert", "Solution().twoSum", {"Solution"})
    own_node = "class ListNode:\n    def __init__(self, val=0, next=None):\n        self.val, self.next = val, next\n"
    cases = [
        (TWO_SUM, TWO_SUM_TEST, "twoSum", True),  # `List` comes from the prelude
        (TWO_SUM.replace("[seen[target - x], i]", "[i, seen[target - x]]"), TWO_SUM_TEST, "twoSum", False),
        (REVERSE, REVERSE_TEST, "reverseList", True),  # returns linked lists, compared by the prelude's helper
        (own_node + REVERSE, REVERSE_TEST, "reverseList", True),  # the reply defines its own ListNode, as many do
        (REVERSE.replace("return previous", "return head"), REVERSE_TEST, "reverseList", False),
        (MIRROR, MIRROR_TEST, "invertTree", True),
        (MIRROR.replace("self.invertTree(root.right), self.invertTree(root.left)",
                        "self.invertTree(root.left), self.invertTree(root.right)"), MIRROR_TEST, "invertTree", False),
        ("def twoSum(nums, target):\n    return [0, 1]", TWO_SUM_TEST, "twoSum", False),  # no Solution class
    ]
    results = verdicts(verifier, [row(code, leetcode(test, method)) for code, test, method, _ in cases])
    assert [v.passed for v in results] == [c[3] for c in cases], results
    assert "no class 'Solution'" in results[-1].detail["failures"][0]["detail"]
    # without the prelude the helpers the tests call are missing
    bare = verdicts(verifier, [row(REVERSE, stored_test_cases(REVERSE_TEST, entry_point="Solution().reverseList"))])
    assert not bare.pop().passed


LEETCODE_HACKS = {
    "redefines the list helper": "def is_same_list(p1, p2):\n    return True\n",
    "node class with __eq__": "class Node:\n    def __eq__(self, other):\n        return True\n"
                              "    val = 0\n    next = None\n",
    "__eq__ set on the class later": "class Node:\n    pass\nNode.__eq__ = lambda self, other: True\n",
    "node with a property": "class Node:\n    next = None\n    @property\n    def val(self):\n        return 3\n",
}


@pytest.mark.parametrize("name", list(LEETCODE_HACKS))
def test_leetcode_reward_hacks_fail(verifier, name):
    """A solution cannot redefine the prelude's helpers the tests judge with, and a result must be made of plain
    values and plain objects (no class of its own that compares, or computes attributes)."""
    hack = LEETCODE_HACKS[name] + ("class Solution:\n    def reverseList(self, head):\n"
                                   "        return Node() if 'Node' in globals() else head\n")
    verdict = verdicts(verifier, [row(hack, leetcode(REVERSE_TEST, "reverseList"))])[0]
    assert not verdict.passed, verdict


def test_plain_objects_are_walked_without_recursion():
    from kit.sandbox.code_harness import _plain_objects

    class Node:
        def __init__(self, val, next=None):
            self.val, self.next = val, next

    head = None
    for value in range(200_000):  # far deeper than the recursion limit
        head = Node(value, head)
    _plain_objects([head, {"k": head}])
    cyclic = []
    cyclic.append(cyclic)
    _plain_objects(cyclic)

    class Fake(int):
        pass

    with pytest.raises(TypeError, match="not a plain value"):
        _plain_objects({Fake(1): 2})  # dict keys too
    with pytest.raises(TypeError, match="defines __hash__"):
        _plain_objects([Node(type("Key", (), {"__hash__": lambda self: 1})())])


ADD_MODULE = "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n    assert add(-1, 1) == 0\n"


def test_kodcodes_grader_renames_a_replys_one_function(verifier):
    """KodCode's pipeline graded R1's replies after renaming the one function of a reply's first python block to the
    function the tests take (`"rename_function": true`); only then, and only when that block defines one function."""
    renamed = stored_test_cases(ADD_MODULE, rename_function=True)
    usage = "\n\nUsage:\n```python\nprint(plus(1, 2))\n```"
    cases = [("```python\ndef plus(a, b):\n    return a + b\n```" + usage, renamed, True),
             ("```python\ndef plus(a, b):\n    return a + b\n```", stored_test_cases(ADD_MODULE), False),  # no flag
             ("```python\ndef plus(a, b):\n    return a - b\n```", renamed, False),  # renamed, still wrong
             # a textual replacement, as there: a recursive call to the old name fails
             ("```python\ndef plus(a, b):\n    return a + b if a >= 0 else plus(a + 1, b) - 1\n```", renamed, False),
             ("```python\ndef plus(a, b):\n    return one(a) + b\n\ndef one(x):\n    return x\n```", renamed, False),
             # the first block is the one renamed; a later block that defines `add` is run as it is
             ("```python\ndef plus(a, b):\n    return 0\n```\n```python\ndef add(a, b):\n    return a + b\n```",
              renamed, True)]
    results = verdicts(verifier, [{"solution": reply, "test_cases": tests} for reply, tests, _ in cases])
    assert [v.passed for v in results] == [expected for *_, expected in cases], results
    assert results[0].detail["renamed"] == {"from": "plus", "to": "add"} and "renamed" not in results[5].detail
    assert "NameError: name 'plus' is not defined" in results[3].detail["failures"][0]["detail"]
    with pytest.raises(InvalidTestCases, match="rename_function must be true or false"):
        parse_test_cases(json.dumps({"test_code": ADD_MODULE, "rename_function": "yes"}))


def test_a_prelude_is_python_and_not_for_a_pytest_module():
    assert parse_test_cases({**STDIO, "prelude": "import math"}).prelude == "import math"
    with pytest.raises(InvalidTestCases, match="prelude is not for a pytest module"):
        parse_test_cases({"test_code": KODCODE, "prelude": "import math"})
    with pytest.raises(InvalidTestCases, match="prelude is not Python") as info:
        parse_test_cases({**ASSERT, "prelude": "#include <vector>\nint x;"})
    assert "\n" not in str(info.value)
    with pytest.raises(InvalidTestCases, match=r"or a method as `Solution\(\).name`"):
        parse_test_cases({**ASSERT, "entry_point": "Solution.add"})
    assert json.loads(stored_test_cases(CALL, prelude="import math")) == {**CALL, "prelude": "import math"}
    assert json.loads(stored_test_cases(ASSERT["test_code"], entry_point="add", prelude="  ")) == ASSERT


def leetcode_row(task_id: str, method: str, test: str, completion: str, **extra) -> dict:
    """A row of newfacade/LeetCodeDataset as its v0.3.1 files ship it (its README's fields)."""
    description = f"{task_id}: write {method}. Example 1:\nInput: ...\nOutput: ..."
    starter = f"class Solution:\n    def {method}(self, *args):\n        "
    return {"task_id": task_id, "question_id": len(task_id), "difficulty": "Easy", "tags": ["Array"],
            "problem_description": description, "starter_code": starter, "estimated_date": "2015-08-07",
            "prompt": LEETCODE_PRELUDE, "completion": completion, "entry_point": f"Solution().{method}", "test": test,
            "input_output": [{"input": "nums = [2,7,11,15], target = 9", "output": "[0, 1]"}],
            "query": f"### Question:\n{description}\n\n### Format: ...\n```python\n{starter}\n```",
            "response": f"```python\n{completion}\n```", **extra}


def test_a_problems_own_time_limit_replaces_the_test_timeout(verifier):
    """open-r1's Codeforces grader runs each test within the problem's `time_limit`; the kit does so when a dataset's
    time limit column is mapped (stored as `time_limit` in the tests). The verifier's own limit here is 2 s."""
    slow = "import time\ntime.sleep(0.6)\na, b = map(int, input().split())\nprint(a + b)"
    tight, loose = {**STDIO, "time_limit": 0.3}, {**STDIO, "time_limit": 1.5}
    slow_call = "import time\ndef add(a, b):\n    time.sleep(0.6)\n    return a + b"
    results = verdicts(verifier, [row(slow, tight), row(slow, loose), row(slow, STDIO),
                                  row(slow_call, {**CALL, "time_limit": 0.3}), row(slow_call, CALL)])
    assert [v.passed for v in results] == [False, True, True, False, True], results
    assert results[0].detail["failures"][0]["reason"] == "timeout" and results[0].detail["time_limit_s"] == 0.3
    assert "time_limit_s" not in results[2].detail
    for bad in (0, -1, "2 seconds", True):
        with pytest.raises(InvalidTestCases, match="time_limit must be a number of seconds"):
            parse_test_cases({**STDIO, "time_limit": bad})


def test_a_program_sees_no_arguments_as_on_a_judge(verifier):
    """A judge runs `python main.py` with no argument, so `fileinput.input()` reads standard input; the sandbox
    server's own arguments (its configuration) never reach the program."""
    code = "import fileinput, sys\nassert sys.argv[1:] == []\nfor line in fileinput.input():\n    a, b = map(int, line.split())\n    print(a + b)"
    assert verdicts(verifier, [row(code, STDIO)])[0].passed


ALLOCATE = "n = int(input())\nblock = bytearray(n << 20)\nprint(n)"  # n MiB, then the number


@pytest.mark.parametrize("isolation", ["auto", "rlimits"])
def test_a_problems_memory_limit_applies_as_its_grader_applies_it(isolation):
    """open-r1's Codeforces grader runs `python3` under `ulimit -v` of the problem's `memory_limit`: a program may
    grow to the limit from a fresh interpreter's size. The kit's test process, a fork of the sandbox server, starts
    larger than that; the difference is not counted (else 32 MB would leave a program nothing), and the recipe's
    memory_mb stays the bound for every problem."""
    def tests(mib: int, limit: float | None) -> dict:
        return {"inputs": [f"{mib}\n"], "outputs": [f"{mib}\n"], **({"memory_limit": limit} if limit else {})}

    cases = [(1, 32, True), (24, 32, False), (40, 64, True), (56, 64, False), (150, 200, True), (210, 200, False),
             (210, None, True), (210, 1024, True), (500, 1024, False)]  # the last: above memory_mb (384)
    limits = replace(LIMITS, memory_mb=384, timeout_s=None)
    with Sandbox(limits, isolation=isolation) as box:
        results = [verify_code(row(ALLOCATE, tests(mib, limit)), box) for mib, limit, _ in cases]
    assert [v.passed for v in results] == [ok for *_, ok in cases], [(c, v.detail) for c, v in zip(cases, results, strict=True)]
    assert results[1].detail["failures"][0]["reason"] == "memory" and results[1].detail["memory_limit_mb"] == 32
    assert "memory_limit_mb" not in results[6].detail
    call = {"fn_name": "grow", "inputs": [[8], [40]], "outputs": [8, 40], "memory_limit": 32}
    grows = "def grow(n):\n    block = bytearray(n << 20)\n    return n"
    with Sandbox(limits, isolation=isolation) as box:
        verdict = verify_code(row(grows, call), box)
    assert verdict.detail["passed_tests"] == 1 and verdict.detail["failures"][0]["test"] == 1
    for bad in (0, -1, "256 megabytes", True):
        with pytest.raises(InvalidTestCases, match="memory_limit must be a number of megabytes"):
            parse_test_cases({**STDIO, "memory_limit": bad})


def test_a_prelude_runs_before_stdin_and_call_solutions(verifier):
    """The imports a grader gives every solution (LiveCodeBench's) reach stdin programs and called functions; the
    function under test must still be the solution's own, not a name only the prelude bound."""
    prelude = "from math import *\nfrom collections import *\n"
    uses_gcd = "a, b = map(int, input().split())\nprint(a + b + 0 * gcd(a, b))"
    uses_deque = "def add(a, b):\n    return sum(deque([a, b]))"
    results = verdicts(verifier, [row(uses_gcd, {**STDIO, "prelude": prelude}), row(uses_gcd, STDIO),
                                  row(uses_deque, {**CALL, "prelude": prelude}), row(uses_deque, CALL),
                                  row("def other(a, b):\n    return 0",  # `add` is only the prelude's
                                      {**CALL, "prelude": "from operator import *"})])
    assert [v.passed for v in results] == [True, False, True, False, False], results
    assert "NameError: name 'gcd' is not defined" in results[1].detail["failures"][0]["detail"]
    assert "the solution defines no function 'add'" in results[4].detail["failures"][0]["detail"]


def test_numpy_is_imported_in_the_server_once_a_request_names_it():
    """APPS's and TACO's graders import numpy for every solution: once a request's code names it, the sandbox server
    imports it (trusted code) before forking, so no test process pays for the import; its BLAS thread setting stays
    out of the environment the code sees."""
    probe = "import os, sys\nprint(int('num' 'py' in sys.modules), os.environ.get('OPENBLAS_NUM_THREADS'))"
    before, after = {"inputs": ["\n"], "outputs": ["0 None\n"]}, {"inputs": ["\n"], "outputs": ["1 None\n"]}
    with CodeVerifier(workers=1, limits=LIMITS) as verifier:
        results = [verifier.verify_one(row(probe, before)),
                   verifier.verify_one(row(probe, {**after, "prelude": "import numpy as np"})),
                   verifier.verify_one(row(probe, after)),  # loaded for good
                   verifier.verify_one(row("import numpy as np\nprint(int(np.array([1, 2]).sum()))",
                                           {"inputs": ["\n"], "outputs": ["3\n"]}))]
    assert [v.passed for v in results] == [True] * 4, results


def test_annotations_naming_types_never_imported_are_no_error(verifier):
    """Replies write `List[int]` without importing it, as LeetCode's starter code does; the kit compiles untrusted
    code with postponed annotations (as Python 3.14 evaluates them lazily), so the annotation is never evaluated."""
    code = "def add(a: Number, b: Number) -> Number:\n    return a + b"
    annotated = "x: Deque[int] = 3\na, b = map(int, input().split())\nprint(a + b)"
    assert [v.passed for v in verdicts(verifier, [row(code, CALL), row(annotated, STDIO)])] == [True, True]


def test_humaneval_completions_may_use_the_prompts_imports_and_helpers(verifier):
    """HumanEval's harness runs prompt + completion: the kit's HumanEval tests carry the prompt as their prelude, so
    a reply that writes only the function may use the prompt's `List` and helpers (HumanEval/38's `encode_cyclic`),
    and one that defines no function of that name still fails."""
    import re

    from kit.benchmarks import load_benchmark

    rows = {json.loads(r["test_cases"])["entry_point"]: r for r in load_benchmark("humaneval")}
    cyclic = rows["decode_cyclic"]
    assert json.loads(cyclic["test_cases"])["prelude"] == cyclic["starter_code"]
    only_function = re.search(r"^def decode_cyclic\b.*", cyclic["ground_truth_solution"], re.S | re.M).group(0)
    assert "encode_cyclic" in only_function and "def encode_cyclic" not in only_function
    results = verdicts(verifier, [{**cyclic, "solution": f"```python\n{only_function}\n```"},
                                  {**cyclic, "solution": "```python\ndef decode(s):\n    return s\n```"}])
    assert [v.passed for v in results] == [True, False], results
    assert "defines no function 'decode_cyclic'" in results[1].detail["failures"][0]["detail"]


def test_mbpp_test_imports_are_the_prelude(verifier):
    """MBPP's sanitized config (and MBPP+) keeps the imports its asserts need in `test_imports`, a list of statements;
    mapped to `prelude` they run first (the full config's `test_setup_code` is one text)."""
    test_list = ["assert count_chars('abca') == Counter({'a': 2, 'b': 1, 'c': 1})", "assert count_chars('') == Counter()"]
    code = "from collections import Counter\ndef count_chars(s):\n    return Counter(s)"
    with_imports = stored_test_cases(test_list, prelude=["from collections import Counter"])
    assert json.loads(with_imports)["prelude"] == "from collections import Counter"
    right, bare = verdicts(verifier, [row(code, with_imports), row(code, stored_test_cases(test_list))])
    assert right.passed, right
    # without them `Counter` is one more function every assert calls: no one entry point
    assert (bare.passed, bare.reason) == (False, "invalid_test_cases") and "Counter" in bare.detail["error"]


STANDARD = "from collections import Counter, OrderedDict, defaultdict, deque, namedtuple\n"


def test_the_standard_librarys_containers_are_plain_results(verifier):
    """A solution may return a Counter, an OrderedDict, a defaultdict, a deque or a namedtuple: each compares as the
    builtin value it is (MBPP's canonical `freq_element` returns a Counter its test compares with a dict)."""
    counts = {"test_code": "def check(candidate):\n    assert candidate('abca') == {'a': 2, 'b': 1, 'c': 1}\n",
              "entry_point": "freq"}
    pair = {"fn_name": "pair", "inputs": [[1, 2]], "outputs": [[1, 2]]}
    tally = {"fn_name": "freq", "inputs": [["abca"]], "outputs": [{"a": 2, "b": 1, "c": 1}]}
    results = verdicts(verifier, [
        row(STANDARD + "def freq(s):\n    return Counter(s)", counts),
        row(STANDARD + "def freq(s):\n    return Counter(s)", tally),
        row(STANDARD + "def freq(s):\n    d = defaultdict(int)\n    for c in s:\n        d[c] += 1\n    return d", tally),
        row(STANDARD + "def freq(s):\n    return OrderedDict(Counter(s))", counts),
        row(STANDARD + "def pair(a, b):\n    return deque([a, b])", pair),
        row(STANDARD + "P = namedtuple('P', 'x y')\ndef pair(a, b):\n    return P(a, b)", pair),
        row(STANDARD + "def freq(s):\n    return Counter(s[:2])", counts),
    ])
    assert [v.passed for v in results] == [True, True, True, True, True, True, False], results


STANDARD_HACKS = {
    "patched Counter": "import collections\ncollections.Counter.__eq__ = lambda self, other: True\n"
                       "def add(a, b):\n    return collections.Counter()",
    "namedtuple with __eq__": "from collections import namedtuple\nclass P(namedtuple('P', 'x')):\n"
                              "    def __eq__(self, other):\n        return True\ndef add(a, b):\n    return P(0)",
    "tuple subclass posing as one": "class P(tuple):\n    _fields = ()\n    def __eq__(self, other):\n"
                                    "        return True\ndef add(a, b):\n    return P()",
}


@pytest.mark.parametrize("name", list(STANDARD_HACKS))
def test_standard_containers_cannot_be_faked(verifier, name):
    results = verdicts(verifier, [row(STANDARD_HACKS[name], ASSERT), row(STANDARD_HACKS[name], CALL)])
    assert not any(v.passed for v in results), results


@pytest.mark.parametrize(("statement", "tolerance"), [
    ("Your answer is considered correct if its absolute or relative error does not exceed $10^{-6}$.", 1e-6),
    ("Your answer will be accepted if its absolute or relative error does not exceed 10 - 4.", 1e-4),  # CodeContests
    ("Your output is considered correct if the absolute or relative error from the judge's answer is at most "
     "10^{-9}.", 1e-9),  # AtCoder
    ("Print the area with an absolute error of at most 1e-3.", 1e-3),
    ("Answers within 10-5 of the actual answer will be accepted.", 1e-5),  # LeetCode, superscript lost
    ("The absolute error must be at most 10^{−2} (or the relative error at most 10^{−8}).", 1e-2),
    ("Print n - 1 numbers. If there is an error, print -1.", None),
    ("If there is no answer, print -1. Constraints: 1 <= n <= 10-3", None),
])
def test_stated_tolerance(statement, tolerance):
    assert stated_tolerance(statement) == tolerance


def test_real_valued_outputs_compare_within_the_statements_own_error(verifier):
    """A judge's checker accepts the error its statement states (testlib's rcmp4, rcmp9); without one, 1e-6."""
    third = {"inputs": ["1 3\n"], "outputs": ["0.333333333333\n"]}
    four_places = "a, b = map(int, input().split())\nprint(f'{a / b:.4f}')"
    six_places = "a, b = map(int, input().split())\nprint(f'{a / b:.6f}')"
    loose = "Print a / b. Your answer is correct if its absolute or relative error does not exceed 10^{-4}."
    strict = "Print a / b. Your answer is correct if its absolute or relative error does not exceed 10^{-9}."
    call = {"fn_name": "ratio", "inputs": [[1, 3]], "outputs": [0.333333333333]}
    rows = [{**row(four_places, third), "problem": loose}, {**row(four_places, third), "problem": "Print a / b."},
            {**row(six_places, third), "problem": "Print a / b."}, {**row(six_places, third), "problem": strict},
            {**row("def ratio(a, b):\n    return round(a / b, 5)", call),
             "problem": "Return a / b. Answers within 10^-5 of the actual answer will be accepted."},
            {**row("def ratio(a, b):\n    return round(a / b, 5)", call), "problem": "Return a / b."}]
    results = verdicts(verifier, rows)
    assert [v.passed for v in results] == [True, False, True, False, True, False], results
    assert results[0].detail["tolerance"] == 1e-4 and "tolerance" not in results[2].detail


# Twenty tests of doubling: the wrong programs are right except for n == 3 (the fourth test) or n == 0 (the first)
DOUBLING = {"inputs": [f"{n}\n" for n in range(20)], "outputs": [f"{2 * n}\n" for n in range(20)]}
DOUBLING_CALL = {"fn_name": "double", "inputs": [[n] for n in range(20)], "outputs": [2 * n for n in range(20)]}
EVEN_CHECKER = ("import sys\nn = int(open(sys.argv[1]).read())\n"
                "print(1 if open(sys.argv[3]).read().split() == [str(2 * n)] else 0)")


def test_tests_fail_fast_in_rounds_of_doubling_size(verifier):
    """As a judge stops at the first failed test, the tests run in rounds of 1, 2, 4, ... and the first round with a
    failure ends the sample: a program wrong on the fourth test runs seven (1 + 2 + 4), one wrong on the first runs
    one; a right one runs all twenty. Stdin tests, call tests and tests with a checker alike."""
    stdin = "n = int(input())\nprint(7 if n == {bad} else 2 * n)"
    call = "def double(n):\n    return 7 if n == {bad} else 2 * n"
    checker = {**DOUBLING, "checker": EVEN_CHECKER}
    rows = [row(stdin.format(bad=-1), DOUBLING), row(stdin.format(bad=3), DOUBLING), row(stdin.format(bad=0), DOUBLING),
            row(call.format(bad=-1), DOUBLING_CALL), row(call.format(bad=3), DOUBLING_CALL),
            row(stdin.format(bad=-1), checker), row(stdin.format(bad=3), checker)]
    results = verdicts(verifier, rows)
    assert [v.passed for v in results] == [True, False, False, True, False, True, False], results
    ran = [(v.detail["passed_tests"], v.detail["tests_run"], v.detail["total_tests"]) for v in results]
    assert ran == [(20, 20, 20), (6, 7, 20), (0, 1, 20), (20, 20, 20), (6, 7, 20), (20, 20, 20), (6, 7, 20)]
    for wrong in (results[1], results[4], results[6]):
        assert [f["test"] for f in wrong.detail["failures"]] == [3] and wrong.detail["failures"][0]["reason"] == \
            "wrong_answer"


def test_the_rounds_share_the_samples_time_limit():
    """The rounds of one sample run within its one `sample_timeout_s`: six tests of 0.25 s each take 1.5 s in all,
    though no round (0.25 s, 0.5 s, 0.75 s) takes the sample's 1 s. Unset (the default), the limit is LiveCodeBench's
    grader's, (test limit + 1 s) per test + 5 s, and the same sample passes, with and without a checker."""
    slow = "import time\ntime.sleep(0.25)\nprint(2 * int(input()))"
    tests = {"inputs": [f"{n}\n" for n in range(6)], "outputs": [f"{2 * n}\n" for n in range(6)]}
    rows = [row(slow, tests), row(slow, {**tests, "checker": EVEN_CHECKER})]
    with CodeVerifier(workers=1, limits=Limits(timeout_s=1.0, test_timeout_s=2, memory_mb=512)) as tight:
        verdict = tight.verify_one(rows[0])
    assert (verdict.passed, verdict.reason) == (False, "timeout"), verdict
    assert verdict.detail["error"] == "the sample outran its time limit"
    unset = limits_from_config(CodeVerifyConfig(test_timeout_s=2, memory_mb=512))
    assert unset.timeout_s is None and sample_limit(unset, 6) == 23 and sample_limit(tight.limits, 6) == 1.0
    with CodeVerifier(workers=1, limits=unset) as verifier:
        assert [v.passed for v in verdicts(verifier, rows)] == [True, True]
    with CodeVerifier(workers=1) as default:
        assert default.limits.timeout_s is None  # the verifier's default is the recipe's


FILES = {**STDIO, "input_file": "input.txt", "output_file": "output.txt"}
READS_FILE = "with open('input.txt') as f:\n    a, b = map(int, f.read().split())\n"
ECHO_CHECKER = "import sys\nprint(1 if open(sys.argv[3]).read().split() == open(sys.argv[1]).read().split() else 0)"


def test_a_problem_that_asks_for_files_is_judged_on_them(verifier):
    """A problem that asks for input.txt and output.txt (older Codeforces rounds; CodeContests' input_file and
    output_file, open-r1/codeforces's input_mode file) gets its input in that file, with standard input empty, and
    its output is what the program wrote to the output file, as on the judge."""
    cases = [
        (READS_FILE + "with open('output.txt', 'w') as f:\n    print(a + b, file=f)", FILES, True, None),
        (READS_FILE + "open('output.txt', 'w').write(str(a + b))\nexit()", FILES, True, None),  # exit() after writing
        (READS_FILE + "print(a + b)", {**STDIO, "input_file": "input.txt"}, True, None),  # output to stdout
        ("a, b = map(int, input().split())\nprint(a + b)", FILES, False, "EOFError"),  # reads stdin, as the judge
        (READS_FILE + "print(a + b)", FILES, False, "No such file or directory: 'output.txt'"),  # printing is no answer
        (READS_FILE + "import os\nopen('output.txt', 'w').write(str(a + b))\nos._exit(0)", FILES, False,
         "the program ended itself before its output.txt was read"),
        (READS_FILE + "open('output.txt', 'w').write(str(a * b))", FILES, False, "expected '3\\n', got '2'"),
        (READS_FILE + "open('output.txt', 'w').write(f'{a} {b}')", {**FILES, "checker": ECHO_CHECKER}, True, None),
        (READS_FILE + "print(a, b)\nopen('output.txt', 'w').write('0')", {**FILES, "checker": ECHO_CHECKER}, False,
         "the checker printed '0'"),  # the checker judges what the file holds, not what was printed
    ]
    results = verdicts(verifier, [row(code, tests) for code, tests, _, _ in cases])
    for (_, _, passed, why), verdict in zip(cases, results, strict=True):
        assert verdict.passed is passed, verdict
        assert "files" in verdict.detail
        if why:
            assert why in verdict.detail["failures"][0]["detail"], verdict
    assert results[0].detail["files"] == {"input": "input.txt", "output": "output.txt"}
    for bad in ("../input.txt", "/etc/passwd", ".hidden", "a b", 5):
        with pytest.raises(InvalidTestCases, match="input_file must be a plain file name"):
            parse_test_cases({**STDIO, "input_file": bad})
    with pytest.raises(InvalidTestCases, match="output_file applies to stdin/stdout tests"):
        parse_test_cases({**CALL, "output_file": "output.txt"})
    # an input file larger than what a test process may write (its output cap, here 1 KiB) still reaches it
    big = {**FILES, "inputs": ["7 " * 2000 + "\n"], "outputs": ["2000\n"]}
    counts = "open('output.txt', 'w').write(str(len(open('input.txt').read().split())))"
    with CodeVerifier(workers=1, limits=Limits(test_timeout_s=2, memory_mb=512, max_output_bytes=1024)) as small:
        assert small.verify_one(row(counts, big)).passed
