"""LiveCodeBench rows: release files, test decoding (with a pickle that must not run), conversion to metadata
rows, and the converted tests run through the real sandbox verifier with right and wrong solutions."""

from __future__ import annotations

import base64
import json
import os
import pickle
import zlib
from pathlib import Path

import pytest

from kit.benchmarks.livecodebench import (
    PRELUDE,
    RELEASES,
    STDIN_INSTRUCTION,
    decode_tests,
    livecodebench_row,
    release_files,
)
from kit.core.schema import problem_id
from kit.sandbox import Limits, Sandbox
from kit.verify.code import livecodebench_lines_match, verify_code

LIMITS = Limits(timeout_s=20, test_timeout_s=2, memory_mb=512)


def packed(value: object) -> str:
    """What the dataset does to private tests: pickle, zlib, base64."""
    return base64.b64encode(zlib.compress(pickle.dumps(value))).decode()


def stdin_test(inp: str, out: str) -> dict:
    return {"input": inp, "output": out, "testtype": "stdin"}


def functional_test(inp: str, out: str) -> dict:
    return {"input": inp, "output": out, "testtype": "functional"}


SUM_CONTENT = "You are given N integers A_1, ..., A_N. Print their sum.\n\nInput\n\nN\nA_1 ... A_N\n"
STDIN_RAW = {
    "question_title": "Sum of Integers",
    "question_content": SUM_CONTENT,
    "platform": "atcoder",
    "question_id": "abc999_a",
    "contest_id": "abc999",
    "contest_date": "2023-08-19T00:00:00",
    "starter_code": "",
    "difficulty": "easy",
    "public_test_cases": json.dumps([stdin_test("3\n1 2 3\n", "6\n")]),
    "private_test_cases": packed(json.dumps([stdin_test("2\n-5 5\n", "0\n"), stdin_test("1\n100\n", "100\n")])),
    "metadata": "{}",
}

TWO_SUM_STARTER = "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        "
FUNCTIONAL_RAW = {
    "question_title": "two-sum",
    "question_content": "  Given an array nums and an integer target, return the indices of the two numbers "
                        "that add up to target.\n  ",
    "platform": "leetcode",
    "question_id": "1",
    "contest_id": "weekly-contest-999",
    "contest_date": "2023-09-03T00:00:00",
    "starter_code": TWO_SUM_STARTER,
    "difficulty": "medium",
    "public_test_cases": json.dumps([functional_test("[2, 7, 11, 15]\n9", "[0, 1]")]),
    "private_test_cases": json.dumps([functional_test("[3, 2, 4]\n6", "[1, 2]"),
                                      functional_test("[3, 3]\n6\n", "[0, 1]")]),
    "metadata": json.dumps({"func_name": "twoSum"}),
}


def with_solution(row: dict, code: str) -> dict:
    return {**row, "solution": f"Here is my solution.\n```python\n{code}\n```\n"}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(LIMITS) as box:
        yield box


# -- release files ---------------------------------------------------------------------------------


def test_release_files():
    assert release_files("release_v1") == ["test.jsonl"]
    assert release_files("release_v2") == ["test.jsonl", "test2.jsonl"]
    assert release_files("release_v6") == [f"test{n}.jsonl" if n > 1 else "test.jsonl" for n in range(1, 7)]
    assert release_files("v1") == ["test.jsonl"]
    assert release_files("v4") == ["test4.jsonl"]
    assert release_files("v6") == ["test6.jsonl"]


def test_release_files_take_every_tag_of_livecodebenchs_loading_script():
    # code_generation_lite.py: release_latest is all six files (lcb_runner's default), vI_vJ files I to J
    assert release_files("release_latest") == release_files("release_v6")
    assert release_files("v1_v3") == ["test.jsonl", "test2.jsonl", "test3.jsonl"]
    assert release_files("v4_v5") == ["test4.jsonl", "test5.jsonl"]
    assert release_files("v5_v6") == ["test5.jsonl", "test6.jsonl"]
    assert len(RELEASES) == 6 + 1 + 6 + 15  # release_vN, release_latest, vN, and every vI_vJ with I < J


@pytest.mark.parametrize("release", ["release_v7", "v0", "latest", "v3_v1", "v2_v2", "v1_v7", "release_v1_v2", ""])
def test_unknown_release_names_the_valid_values(release):
    with pytest.raises(ValueError, match=r"\(valid: release_v1 \.\. release_v6, release_latest, v1 \.\. v6, or a "
                       r"range vI_vJ with I < J") as info:
        release_files(release)
    assert "\n" not in str(info.value)


# -- decoding --------------------------------------------------------------------------------------


def test_decode_tests_reads_json_and_packed_pickles():
    tests = [stdin_test("1\n", "2\n")]
    assert decode_tests(json.dumps(tests)) == tests
    assert decode_tests(packed(json.dumps(tests))) == tests
    assert decode_tests("[]") == []


class _RunsACommand:
    """Unpickling this calls os.system: a downloaded file must never get that far."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def test_a_pickle_with_a_global_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    for payload in (_RunsACommand(marker), os.system, [_RunsACommand(marker)]):
        field = base64.b64encode(zlib.compress(pickle.dumps(payload))).decode()
        with pytest.raises(ValueError, match="refusing global") as info:
            decode_tests(field)
        assert "\n" not in str(info.value)
    assert not marker.exists()
    with pytest.raises(ValueError, match="refusing global"):
        livecodebench_row({**STDIN_RAW, "private_test_cases": packed(_RunsACommand(marker))})
    assert not marker.exists()


@pytest.mark.parametrize("field, message", [
    ("", "empty"),
    ("not json, not base64!", "neither JSON nor"),
    (base64.b64encode(b"not zlib").decode(), "zlib"),
    (base64.b64encode(zlib.compress(b"not a pickle")).decode(), "neither JSON nor"),
    (packed([{"input": "1", "output": "2"}]), "holds a list"),
    (packed("{not json"), "neither JSON nor"),
    (packed('{"input": "1"}'), "not a list"),
    (json.dumps([{"input": 1, "output": "2"}]), "test 0"),
])
def test_undecodable_fields_raise_one_line(field, message):
    with pytest.raises(ValueError, match=message) as info:
        decode_tests(field)
    assert "\n" not in str(info.value)


# -- conversion ------------------------------------------------------------------------------------


def test_stdin_row():
    row = livecodebench_row(STDIN_RAW)
    assert row["problem"] == SUM_CONTENT.strip() + "\n\n" + STDIN_INSTRUCTION
    assert row["problem_id"] == problem_id(SUM_CONTENT)
    assert (row["domain"], row["source"], row["starter_code"]) == ("code", "livecodebench", None)
    assert row["ground_truth_solution"] is None and row["ground_truth_answer"] is None
    assert json.loads(row["test_cases"]) == {"inputs": ["3\n1 2 3\n", "2\n-5 5\n", "1\n100\n"],
                                             "outputs": ["6\n", "0\n", "100\n"], "prelude": PRELUDE,
                                             "comparison": "livecodebench"}  # public first
    assert {k: row[k] for k in ("contest_date", "difficulty", "platform", "question_id")} == {
        "contest_date": "2023-08-19T00:00:00", "difficulty": "easy", "platform": "atcoder", "question_id": "abc999_a"}
    assert livecodebench_row(STDIN_RAW, source="lcb_v5")["source"] == "lcb_v5"


def test_functional_row():
    row = livecodebench_row(FUNCTIONAL_RAW)
    assert row["problem"].endswith("add up to target.\n\nComplete the method `twoSum` of the starter code's "
                                   "`class Solution`.")
    assert row["problem"].startswith("Given an array")
    assert row["starter_code"] == TWO_SUM_STARTER
    assert json.loads(row["test_cases"]) == {"fn_name": "twoSum", "inputs": [[[2, 7, 11, 15], 9], [[3, 2, 4], 6],
                                                                              [[3, 3], 6]],
                                             "outputs": [[0, 1], [1, 2], [0, 1]], "prelude": PRELUDE,
                                             "comparison": "livecodebench"}
    assert row["platform"] == "leetcode" and row["difficulty"] == "medium"


@pytest.mark.parametrize("change, message", [
    ({"private_test_cases": json.dumps([functional_test("1", "1")])}, "all stdin or all functional"),
    ({"public_test_cases": json.dumps([{"input": "1", "output": "1", "testtype": "interactive"}]),
      "private_test_cases": "[]"}, "all stdin or all functional"),
    ({"public_test_cases": "[]", "private_test_cases": "[]"}, "no tests"),
])
def test_bad_stdin_rows_raise_one_line(change, message):
    with pytest.raises(ValueError, match=message) as info:
        livecodebench_row({**STDIN_RAW, **change})
    assert str(info.value).startswith("LiveCodeBench question abc999_a: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("change, message", [
    ({"metadata": "{}"}, "func_name"),
    ({"private_test_cases": json.dumps([functional_test("[1,\n", "[0]")])}, "test 1 input is not JSON"),
])
def test_bad_functional_rows_raise_one_line(change, message):
    with pytest.raises(ValueError, match=message) as info:
        livecodebench_row({**FUNCTIONAL_RAW, **change})
    assert "\n" not in str(info.value)


# -- the converted tests, run in the sandbox --------------------------------------------------------

SUM_RIGHT = "input()\nprint(sum(map(int, input().split())))"
SUM_WRONG = "n = int(input())\nprint(max(map(int, input().split())))"  # right for the last test only


TWO_SUM_RIGHT = """from typing import List

class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        seen = {}
        for i, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], i]
            seen[x] = i
        return []
"""
TWO_SUM_WRONG = TWO_SUM_RIGHT.replace("return [seen[target - x], i]", "return [i, seen[target - x]]")


@pytest.mark.parametrize(("raw", "right_code", "wrong_code", "mode"), [
    (STDIN_RAW, SUM_RIGHT, SUM_WRONG, "stdio"),
    (FUNCTIONAL_RAW, TWO_SUM_RIGHT, TWO_SUM_WRONG, "call"),
], ids=["stdin", "functional"])
def test_converted_rows_run_in_the_sandbox(sandbox, raw, right_code, wrong_code, mode):
    row = livecodebench_row(raw)
    right = verify_code(with_solution(row, right_code), sandbox, LIMITS)
    assert right.passed, right.detail
    assert (right.detail["mode"], right.detail["passed_tests"], right.detail["total_tests"]) == (mode, 3, 3)
    wrong = verify_code(with_solution(row, wrong_code), sandbox, LIMITS)
    assert not wrong.passed and wrong.reason == "tests_failed"
    assert (wrong.detail["passed_tests"], wrong.detail["tests_run"]) == (0, 1)  # it failed the first test: no more ran


def test_outputs_compare_as_livecodebenchs_grader_compares_them(sandbox):
    """LiveCodeBench's grader compares stdout line by line (each line the same text, or the same numbers as exact
    decimals) and call results exactly, whatever the statement allows: the kit's verdict is its grader's. A right
    answer printed on one line instead of three, or 0.3333334 for 1/3 in a statement that allows an error of 1e-6,
    fails there and so here; `7.0` for `7` and a line's extra spaces pass."""
    three = {**STDIN_RAW, "question_content": SUM_CONTENT + "\nPrint each prefix sum on its own line. Your answer "
             "is accepted if its absolute or relative error is at most 10^{-6}.",
             "public_test_cases": json.dumps([{"input": "3\n1 2 3\n", "output": "1\n3\n6\n", "testtype": "stdin"}]),
             "private_test_cases": json.dumps([{"input": "1\n7\n", "output": "7\n", "testtype": "stdin"}])}
    prefix = "input()\nimport itertools\nvalues = list(itertools.accumulate(map(int, input().split())))\n"
    row = livecodebench_row(three)
    cases = [(prefix + "print(*values, sep='\\n')", True), (prefix + "print(*[f'{v}.0 ' for v in values], sep='\\n')",
             True), (prefix + "print(*values)", False), (prefix + "print(*[v + 1e-7 for v in values], sep='\\n')", False)]
    for code, passed in cases:
        verdict = verify_code(with_solution(row, code), sandbox, LIMITS)
        assert verdict.passed is passed, (code, verdict.detail)
        assert verdict.detail["comparison"] == "livecodebench" and "tolerance" not in verdict.detail
    floats = {**FUNCTIONAL_RAW, "public_test_cases": json.dumps([{"input": "[2, 7, 11, 15]\n9", "output": "[0, 1]",
                                                                  "testtype": "functional"}]), "private_test_cases": "[]"}
    close = TWO_SUM_RIGHT.replace("return [seen[target - x], i]", "return [seen[target - x] + 1e-9, i]")
    assert not verify_code(with_solution(livecodebench_row(floats), close), sandbox, LIMITS).passed  # exactly
    as_tuple = TWO_SUM_RIGHT.replace("return [seen[target - x], i]", "return (seen[target - x], i)")
    assert verify_code(with_solution(livecodebench_row(floats), as_tuple), sandbox, LIMITS).passed  # a tuple is a list


def test_call_results_compare_with_pythons_equality_as_there(sandbox):
    """LiveCodeBench's grader compares a returned value with the expected one (read from JSON) by Python's `==`, after
    turning a returned tuple into a list: a list of tuples, a set, a deque or a dict with integer keys never equals
    what JSON holds, so such a result fails there - and so here, while the kit's own comparison (the judges', as
    JSON reads values) accepts them; a Counter is a dict and equals one in both, and a numpy integer, a Fraction or a
    Decimal equals the number Python's `==` finds it equal to."""
    def functional(output: str) -> dict:
        return {**FUNCTIONAL_RAW, "private_test_cases": "[]", "public_test_cases": json.dumps(
            [{"input": "[2, 7, 11, 15]\n9", "output": output, "testtype": "functional"}])}

    def body(result: str) -> str:
        return ("from collections import Counter, deque, namedtuple\nfrom decimal import Decimal\n"
                "from fractions import Fraction\nimport numpy as np\nclass Solution:\n"
                f"    def twoSum(self, nums, target):\n        return {result}\n")

    cases = [  # expected output, the solution's return, passes LiveCodeBench's comparison
        ("[[0, 1]]", "[[0, 1]]", True), ("[[0, 1]]", "[(0, 1)]", False), ("[0, 1]", "(0, 1)", True),
        ("[0, 1]", "namedtuple('P', 'a b')(0, 1)", True), ("[[0, 1]]", "[namedtuple('P', 'a b')(0, 1)]", False),
        ("[0, 1]", "{0, 1}", False), ("[0, 1]", "deque([0, 1])", False), ('{"1": 2}', "{1: 2}", False),
        ('{"a": 2}', "Counter({'a': 2})", True), ("true", "1 == 1", True), ("2", "2.0", True),
        # numbers of other types are equal to a number when Python's `==` says so
        ("[0, 1]", "[np.int64(0), np.int64(1)]", True), ("2", "np.int64(2)", True), ("0.5", "Fraction(1, 2)", True),
        ("0.5", "Decimal('0.5')", True), ("0.1", "Decimal('0.1')", False), ("0.3333333333333333", "Fraction(1, 3)", False),
        ("[0, 1]", "np.array([0, 1])", False),
    ]
    for output, result, passed in cases:
        row = livecodebench_row(functional(output))
        verdict = verify_code(with_solution(row, body(result)), sandbox, LIMITS)
        assert verdict.passed is passed, (result, verdict.detail)
        own = {**row, "test_cases": json.dumps({k: v for k, v in json.loads(row["test_cases"]).items()
                                               if k != "comparison"})}
        if result != "np.array([0, 1])":  # an array is no value either way
            assert verify_code(with_solution(own, body(result)), sandbox, LIMITS).passed, result  # the judges' rule


# Stdin programs for the problem of STDIN_RAW, and whether LiveCodeBench's own grader (lcb_runner/evaluation/
# testing_util.py, run through its check_correctness) passes them: its verdicts, taken program by program. Its runner
# rewrites the program into a function and runs it under its mocks of stdin, stdout and open, which no judge does.
READ = "n = int(input())\na = list(map(int, input().split()))\n"
AS_LIVECODEBENCH_RUNS_THEM = [
    ("input() and print", READ + "print(sum(a))", True),
    ("sys.stdin.readline keeps its line end", "import sys\nn = int(sys.stdin.readline()[:-1])\n"
     "print(sum(map(int, sys.stdin.readline()[:-1].split())))", True),
    ("stdin from its imports reads the lines", "n = int(stdin.readline())\nprint(sum(map(int, stdin.readline().split())))",
     True),
    ("... apart from sys.stdin", "n = int(stdin.readline())\nprint(sum(map(int, input().split())))", False),
    ("iterating sys.stdin fails", "import sys\nlines = [l for l in sys.stdin]\nprint(sum(map(int, lines[1].split())))",
     False),
    ("sys.stdin.buffer.readline gives the first line", "import sys\ninput = sys.stdin.buffer.readline\n"
     "n = int(input())\nprint(sum(map(int, input().split())))", False),
    ("sys.stdin.buffer.read", "import sys\nd = sys.stdin.buffer.read().split()\nprint(sum(map(int, d[1:])))", True),
    ("open(0) is io.open of its own stdin", "d = open(0).read().split()\nprint(sum(map(int, d[1:])))", False),
    ("a top-level name is no global", "t = 0\ndef add(x):\n    global t\n    t += x\n" + READ
     + "for v in a:\n    add(v)\nprint(t)", False),
    ("a last __main__ block runs", "def main():\n    " + READ.replace("\n", "\n    ") + "print(sum(a))\n"
     "if __name__ == '__main__':\n    main()", True),
    ("... only written its way and last", "def main():\n    " + READ.replace("\n", "\n    ") + "print(sum(a))\n"
     "if '__main__' == __name__:\n    main()", False),
    ("sys.exit(1) after printing", "import sys\n" + READ + "print(sum(a))\nsys.exit(1)", True),
    ("quit() is None", READ + "print(sum(a))\nquit()", False),
    ("stdout from its imports is not counted", READ + "stdout.write(str(sum(a)) + '\\n')", False),
    ("sys.stdout.buffer does not exist", "import sys\n" + READ + "sys.stdout.buffer.write(b'%d\\n' % sum(a))", False),
    ("class Solution must be at the top", "class Solution:\n    def go(self):\n        n = int(input())\n"
     "        print(sum(map(int, input().split())))\nSolution().go()", False),
    ("fileinput reads stdin", "import fileinput\nls = list(fileinput.input())\nprint(sum(map(int, ls[1].split())))",
     True),
]


@pytest.mark.parametrize(("code", "passes"), [case[1:] for case in AS_LIVECODEBENCH_RUNS_THEM],
                         ids=[case[0] for case in AS_LIVECODEBENCH_RUNS_THEM])
def test_stdin_programs_run_as_livecodebenchs_grader_runs_them(sandbox, code, passes):
    """A stdin program passes or fails on LiveCodeBench as its own grader runs it: the kit's verdicts are that
    grader's, program by program (see AS_LIVECODEBENCH_RUNS_THEM), so a kit verdict on it is the official grader's."""
    public = {**STDIN_RAW, "private_test_cases": "[]"}
    verdict = verify_code(with_solution(livecodebench_row(public), code), sandbox, LIMITS)
    assert verdict.passed is passes, verdict.detail


def test_a_reply_without_the_starters_class_is_called_as_a_function(sandbox):
    """LiveCodeBench's grader calls `Solution().name` only when the solution has `class Solution`, else its top-level
    function (TACO's does the same): a reply that drops the starter's class passes there, and so here, even when an
    example follows it; a reply with neither fails, saying what is missing."""
    row = livecodebench_row(FUNCTIONAL_RAW)
    plain = TWO_SUM_RIGHT.replace("class Solution:\n", "").replace("    def twoSum(self, ", "def twoSum(").replace(
        "\n    ", "\n")
    assert "class" not in plain and "self" not in plain
    example = f"```python\n{plain}\n```\n\nFor example:\n```python\nprint(twoSum([2, 7, 11, 15], 9))\n```\n"
    for solution in (plain, example):
        verdict = verify_code({**row, "solution": solution if "```" in solution else f"```python\n{solution}\n```"},
                              sandbox, LIMITS)
        assert verdict.passed, verdict.detail
    neither = verify_code(with_solution(row, "def two_sum(nums, target):\n    return [0, 1]"), sandbox, LIMITS)
    assert not neither.passed
    assert "starter code defines class Solution, but the solution does not" in neither.detail["failures"][0]["detail"]


def test_solutions_may_use_what_the_graders_imports_give_them(sandbox):
    """LiveCodeBench's grader imports `typing`, `collections`, `math`, `sys` and more for every solution: a solution
    that uses `deque`, `gcd` or `stdin` without importing them passes there, and so here (the tests' prelude)."""
    stdin = "n = int(stdin.readline())\nprint(reduce(add, map(int, stdin.readline().split())) + 0 * gcd(n, 1))"
    functional = TWO_SUM_RIGHT.replace("from typing import List\n", "").replace("seen = {}", "seen = defaultdict(int)")
    assert "import" not in functional
    for raw, code in ((STDIN_RAW, stdin), (FUNCTIONAL_RAW, functional)):
        verdict = verify_code(with_solution(livecodebench_row(raw), code), sandbox, LIMITS)
        assert verdict.passed, verdict.detail


# Printed outputs against expected ones, and whether LiveCodeBench's own grader (grade_stdio, run through its
# check_correctness) accepts them: its verdicts, case by case.
LIVECODEBENCH_OUTPUTS = [
    ('6\n', '6\n', True),
    ('6', '6\n', True),
    ('6 \n', '6\n', True),
    ('1 \n2 \n', '1\n2\n', True),
    ('1 2\n', '1\n2\n', False),
    ('6.0\n', '6\n', True),
    ('1e-7\n', '0.0000001\n', True),
    ('-0\n', '0\n', True),
    ('yes\n', 'Yes\n', False),
    ('1\n\n2\n', '1\n2\n', False),
    ('1\n2\n\n\n', '1\n2\n', True),
    ('1\r\n2\r\n', '1\n2\n', True),
    ('1  2\n', '1 2\n', True),
    ('1\t2\n', '1 2\n', True),
    ('\n6\n', '6\n', True),
    ('0.3333333\n', '0.3333333333\n', False),
    ('+6\n', '6\n', True),
    ('inf\n', 'Infinity\n', True),
    ('nan\n', 'nan\n', True),
    ('0x6\n', '6\n', False),
    ('1_000\n', '1000\n', True),
    ('', '', True),
    ('', '\n', True),
    ('a 1.0\n', 'a 1\n', False),
]


@pytest.mark.parametrize(("printed", "expected", "accepted"), LIVECODEBENCH_OUTPUTS)
def test_stdout_compares_as_livecodebenchs_grader_compares_it(printed, expected, accepted):
    assert livecodebench_lines_match(printed, expected) is accepted
