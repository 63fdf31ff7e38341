"""Code tests in the forms public datasets ship them, read into the contract's form (kit.core.testcases).

The values are the shapes of the datasets' cards: what `datasets` yields for a struct or list column, or the JSON
text a string column holds. Running them in the sandbox is tests/test_verify_code.py's.
"""

from __future__ import annotations

import json

import pytest

from kit.core.sources import iter_rows
from kit.core.testcases import (
    InvalidTestCases,
    contract_tests,
    mapped_test_columns,
    memory_limit_mb,
    pytest_module,
    stored_test_cases,
    time_limit_seconds,
)

STDIO = {"inputs": ["1 2\n", "5 5\n"], "outputs": ["3\n", "10\n"]}


@pytest.mark.parametrize("shipped", [
    STDIO,                                                                   # APPS/TACO input_output
    {"input": ["1 2\n", "5 5\n"], "output": ["3\n", "10\n"]},                # CodeContests public_tests
    [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}],  # Codeforces official_tests
    [{"input": "1 2\n", "output": "3\n", "testtype": "stdin"},              # LiveCodeBench, DeepCoder lcb
     {"input": "5 5\n", "output": "10\n", "testtype": "stdin"}],
    {"language": "python", "test_cases": [                                  # verifiable-coding-problems-python
        {"fn_name": None, "input": "1 2\n", "output": "3\n", "type": "stdin_stdout"},
        {"fn_name": None, "input": "5 5\n", "output": "10\n", "type": "stdin_stdout"}]},
    {"language": "python", "test_cases": json.dumps(STDIO)},                # verification_info with a JSON text
])
def test_stdin_stdout_forms(shipped):
    assert contract_tests(shipped) == STDIO
    assert contract_tests(json.dumps(shipped)) == STDIO


def test_function_call_forms():
    lcb = [{"input": "[2, 7]\n9", "output": "[0, 1]", "testtype": "functional"}]
    assert contract_tests(lcb, fn_name="twoSum") == {"fn_name": "twoSum", "inputs": [[[2, 7], 9]], "outputs": [[0, 1]]}
    deepcoder = [{**lcb[0], "metadata": {"func_name": "twoSum"}}]
    assert contract_tests(deepcoder) == contract_tests(lcb, fn_name="twoSum")
    prime = [{"fn_name": "add", "input": "[1, 2]", "output": "[3]", "type": "function_call"},
             {"fn_name": "add", "input": "7", "output": 7, "type": "function_call"}]
    assert contract_tests(prime) == {"fn_name": "add", "inputs": [[1, 2], [7]], "outputs": [[3], 7]}
    apps = {"inputs": [[1, 2]], "outputs": [[3]]}
    assert contract_tests({"test_cases": apps, "fn_name": "add"}) == {**apps, "fn_name": "add"}


def test_a_list_of_asserts_is_test_code_with_its_entry_point():
    """MBPP's `test_list` and AceCode-87K's `test_cases` are assert statements; the function under test is the one
    every assert calls (read from the syntax; builtins and names the tests import or assign are not it)."""
    mbpp = ["assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)",
            "assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)"]
    assert contract_tests(mbpp) == {"test_code": "\n".join(mbpp), "entry_point": "similar_elements"}
    acecode = json.dumps(["from math import isclose", "assert isclose(area(2), 12.566, rel_tol=1e-3)",
                          "assert sorted(set(area_list([1]))) == [3.14] or area(0) == 0"])
    assert contract_tests(acecode)["entry_point"] == "area"
    assert json.loads(stored_test_cases(mbpp)) == contract_tests(mbpp)
    # MBPP keeps the asserts' imports in `test_imports`: a standard module they use unimported is imported first
    mbpp_math = ["assert math.isclose(volume(2), 33.51, rel_tol=0.001)", "assert volume(0) == 0"]
    assert contract_tests(mbpp_math) == {"test_code": "import math\n" + "\n".join(mbpp_math), "entry_point": "volume"}


def test_an_entry_point_column_makes_test_code_the_assert_form():
    """HumanEval-style datasets keep `test` (a `check(candidate)` function) and `entry_point` apart: mapped both,
    the stored tests are the assert form; tests in another form are kept as they are."""
    check = "def check(candidate):\n    assert candidate(1, 2) == 3\n"
    assert json.loads(stored_test_cases(check, entry_point="add")) == {"test_code": check, "entry_point": "add"}
    # no entry point and none to infer (check is only defined): the verifier names the missing entry point
    assert json.loads(stored_test_cases(check)) == {"test_code": check}
    assert json.loads(stored_test_cases(["assert plus(1, 2) == 3"], entry_point="plus")) == {
        "test_code": "assert plus(1, 2) == 3", "entry_point": "plus"}
    assert json.loads(stored_test_cases(json.dumps(STDIO), entry_point="add")) == STDIO  # names no stdin function


def test_an_entry_point_column_names_the_function_of_call_tests(tmp_path):
    """DeepCoder-Preview-Dataset's lcbv5 rows: `tests` is LiveCodeBench's list (testtype functional) without the
    function's name, which the row keeps in its `metadata` column (JSON text, `{"func_name": ...}`): mapped to
    `entry_point`, it names the function the tests call."""
    tests = [{"input": "[2, 7, 11, 15]\n9", "output": "[0, 1]", "testtype": "functional"},
             {"input": "[3, 3]\n6", "output": "[0, 1]", "testtype": "functional"}]
    row = {"problem": "Two sum.", "tests": json.dumps(tests), "source": "lcbv5", "starter_code": "class Solution:",
           "metadata": json.dumps({"func_name": "twoSum"})}
    (tmp_path / "rows.jsonl").write_text(json.dumps(row) + "\n")
    columns = {"test_cases": "tests", "entry_point": "metadata.func_name"}
    read = next(iter_rows(str(tmp_path / "rows.jsonl"), columns=columns))
    stored = stored_test_cases(read["test_cases"], **mapped_test_columns(read, columns))
    assert json.loads(stored) == {"fn_name": "twoSum", "inputs": [[[2, 7, 11, 15], 9], [[3, 3], 6]],
                                  "outputs": [[0, 1], [0, 1]]}
    # not mapped: no function to call, kept as written for the verifier to refuse
    assert stored_test_cases(row["tests"]) == row["tests"]
    with pytest.raises(InvalidTestCases, match="a column mapped to entry_point"):
        contract_tests(row["tests"])


KODCODE_TEST = """from solution import add

def test_add():
    assert add(1, 2) == 3
"""


# MBPP+'s `test` (evalplus/mbppplus): helpers, then a top-level loop calling the function under test by name; the
# dataset has no entry-point column
MBPP_PLUS = """import numpy as np
from math import inf

def is_floats(x) -> bool:
    return isinstance(x, float) or isinstance(x, (list, tuple)) and all(isinstance(i, float) for i in x)

def assertion(out, exp, atol):
    if atol == 0 and is_floats(exp):
        atol = 1e-6
    if out != exp and atol != 0:
        assert np.allclose(out, exp, rtol=1e-07, atol=atol)
    else:
        assert out == exp, f"out: {out}, exp: {exp}"

inputs = [[(3, 4, 5, 6), (5, 7, 4, 10)], [(1, 2, 3, 4), (5, 4, 3, 7)]]
results = [(4, 5), (3, 4)]
for i, (inp, exp) in enumerate(zip(inputs, results)):
    assertion(similar_elements(*inp), exp, 0)
"""


def test_a_program_calling_the_function_by_name_is_the_assert_form_with_that_entry_point():
    assert json.loads(stored_test_cases(MBPP_PLUS)) == {"test_code": MBPP_PLUS, "entry_point": "similar_elements"}
    assert contract_tests({"test_code": MBPP_PLUS})["entry_point"] == "similar_elements"
    # HumanEval+ ends its test with `check(fn)`: the entry point is its own column there; one given always wins
    assert json.loads(stored_test_cases(MBPP_PLUS, entry_point="other")) == {"test_code": MBPP_PLUS,
                                                                               "entry_point": "other"}
    # two functions called by every statement: no one entry point (the verifier then says it is missing)
    ambiguous = "assert f(1) == g(2)\nassert g(3) == f(4)\n"
    assert json.loads(stored_test_cases(ambiguous)) == {"test_code": ambiguous}


def test_a_pytest_module_is_test_code_without_an_entry_point():
    """KodCode's `test` column is a pytest module importing from `solution` (its grader runs pytest); BigCodeBench's
    `test` a unittest class. Stored, each is the pytest form: test code, nothing to name."""
    assert pytest_module(KODCODE_TEST)
    assert json.loads(stored_test_cases(KODCODE_TEST)) == {"test_code": KODCODE_TEST}
    unittest_code = "import unittest\nclass TestCases(unittest.TestCase):\n    def test_1(self):\n        pass\n"
    assert pytest_module(unittest_code) and pytest_module("class Check(TestCase):\n    pass\n")
    assert json.loads(stored_test_cases(unittest_code, entry_point="task_func")) == {
        "test_code": unittest_code, "entry_point": "task_func"}
    assert contract_tests({"test_code": KODCODE_TEST}) == contract_tests(KODCODE_TEST) == {"test_code": KODCODE_TEST}
    # HumanEval's check(candidate) is the assert form, as are asserts and text that is not Python
    assert not pytest_module("def check(candidate):\n    assert candidate(1) == 1\ndef test_x():\n    pass\n")
    assert not pytest_module("assert add(1, 2) == 3") and not pytest_module("def test_(:")
    assert not pytest_module("class Helper:\n    pass\ndef helper():\n    pass\n")


@pytest.mark.parametrize("shipped, message", [
    (None, "empty"),
    ("{not json", "not valid JSON"),
    (3, "a JSON object or a list of tests, got int"),
    ([], "no tests"),
    ([{"input": "1"}], "test 0 is not an object with `input` and `output`"),
    ([{"input": "1", "output": "1", "testtype": "interactive"}], "test 0 has type 'interactive'"),
    ([{"input": "1", "output": "1"}, {"input": "[1]", "output": "1", "type": "function_call", "fn_name": "f"}],
     "mixes stdin/stdout and function-call tests"),
    ([{"input": 1, "output": "1"}], "test 0: stdin/stdout tests need string"),
    ([{"input": "1", "output": "1", "type": "function_call"}], "one function name"),
    ([{"input": "[1,", "output": "1", "type": "function_call", "fn_name": "f"}], "test 0 input is not JSON"),
    ({"language": "cpp", "test_cases": [{"input": "1", "output": "1"}]}, "are for cpp; the sandbox runs Python"),
    ({"tests": []}, "needs lists `inputs` and `outputs`"),
    (["assert f(1) == g(2)", "assert g(3) == f(4)"], "do not all call one function .*they share f, g"),
    (["assert len([1]) == 1"], "none is shared"),
    (["print(1)"], "holds no assert statement"),
    (["assert (1 +"], "not Python"),
    (["assert Solution().two(1) == 2"], "call methods of Solution"),
    # test code that does not compile (some of KodCode's own trials): the failing line is named
    ("from solution import *\n\n``\nimport pytest\n", "not valid JSON .*nor Python test code "
                                                        "\\(SyntaxError at line 3: invalid syntax\\)"),
])
def test_unreadable_tests_raise_one_line(shipped, message):
    with pytest.raises(InvalidTestCases, match=message) as info:
        contract_tests(shipped)
    assert "\n" not in str(info.value)


def test_stored_form_is_the_contract_text_and_a_contract_text_is_kept_as_written():
    written = '{"outputs": ["3\\n"],   "inputs": ["1 2\\n"]}'
    assert stored_test_cases(written) == written
    assert stored_test_cases(None) is None
    shipped = {"language": "python", "test_cases": [{"input": "1 2\n", "output": "3\n", "type": "stdin_stdout"}]}
    assert json.loads(stored_test_cases(shipped)) == {"inputs": ["1 2\n"], "outputs": ["3\n"]}
    assert json.loads(stored_test_cases(json.dumps(shipped))) == {"inputs": ["1 2\n"], "outputs": ["3\n"]}
    assert stored_test_cases("{not json") == "{not json"  # the verifier says why
    assert json.loads(stored_test_cases([{"input": 1}])) == [{"input": 1}]


def test_a_checker_column_is_put_into_stdin_stdout_tests():
    """open-r1/codeforces keeps the checker of a problem with many right outputs in `generated_checker`, beside
    `official_tests`; the stored tests carry it, and read back with it."""
    official = [{"input": "5\n", "output": "2 3\n"}]
    stored = stored_test_cases(official, "print(1)")
    assert json.loads(stored) == {"inputs": ["5\n"], "outputs": ["2 3\n"], "checker": "print(1)"}
    assert contract_tests(stored)["checker"] == "print(1)" and stored_test_cases(stored) == stored
    written = '{"inputs": ["5\\n"], "outputs": ["2 3\\n"]}'
    assert stored_test_cases(written, None) == stored_test_cases(written, "") == written  # no checker: as written
    assert json.loads(stored_test_cases(written, "print(1)"))["checker"] == "print(1)"
    calls = [{"input": "[1, 2]", "output": "3", "type": "function_call", "fn_name": "add"}]
    assert "checker" not in json.loads(stored_test_cases(calls, "print(1)"))  # checkers judge stdout only


@pytest.mark.parametrize(("value", "seconds"), [
    (2, 2.0), (1.5, 1.5),  # open-r1/codeforces: seconds
    ("2 seconds", 2.0), ("1 second", 1.0), ("1.0 seconds", 1.0), ("1 second per test", 1.0), ("3s", 3.0),
    ("1500 ms", 1.5), (2000, 2.0), ("2000", 2.0),  # milliseconds, named or above 100
    ({"seconds": 2, "nanos": 500_000_000}, 2.5),  # CodeContests' time_limit
    (None, None), ("", None), ("None", None), (0, None), ({"seconds": 0, "nanos": 0}, None), (True, None),
    ("fast", None), (float("nan"), None), (float("inf"), None),
])
def test_time_limit_seconds(value, seconds):
    assert time_limit_seconds(value) == seconds


def test_a_time_limit_is_stored_in_input_output_tests():
    stdio = {"inputs": ["1 2\n"], "outputs": ["3\n"]}
    assert json.loads(stored_test_cases(stdio, time_limit="2 seconds")) == {**stdio, "time_limit": 2.0}
    call = [{"input": "[1, 2]", "output": "3", "type": "function_call", "fn_name": "add"}]
    assert json.loads(stored_test_cases(call, time_limit=1))["time_limit"] == 1.0
    assert stored_test_cases(json.dumps(stdio), time_limit="None") == json.dumps(stdio)  # none given: kept as written
    test = "def check(candidate):\n    assert candidate(1, 2) == 3\n"
    assert "time_limit" not in json.loads(stored_test_cases(test, entry_point="add", time_limit=2))


@pytest.mark.parametrize(("value", "megabytes"), [
    (256, 256.0), (256.0, 256.0), (1024, 1024.0),  # open-r1/codeforces: megabytes
    (268435456, 256.0), (67108864, 64.0), (256000000, 256.0),  # CodeContests' memory_limit_bytes
    ("256 megabytes", 256.0), ("512 MB", 512.0), ("64 mb", 64.0), ("1 GB", 1024.0), ("1.5 GiB", 1536.0),
    ("262144 kilobytes", 256.0), ("256", 256.0),
    (None, None), ("", None), ("None", None), (0, None), (True, None), ("lots", None), (float("nan"), None),
    (float("inf"), None), ({"bytes": 1}, None),
])
def test_memory_limit_mb(value, megabytes):
    assert memory_limit_mb(value) == megabytes


def test_a_memory_limit_is_stored_in_input_output_tests():
    stdio = {"inputs": ["1 2\n"], "outputs": ["3\n"]}
    assert json.loads(stored_test_cases(stdio, memory_limit="256 megabytes")) == {**stdio, "memory_limit": 256.0}
    call = [{"input": "[1, 2]", "output": "3", "type": "function_call", "fn_name": "add"}]
    assert json.loads(stored_test_cases(call, memory_limit=268435456))["memory_limit"] == 256.0
    assert stored_test_cases(json.dumps(stdio), memory_limit="None") == json.dumps(stdio)
    test = "def check(candidate):\n    assert candidate(1, 2) == 3\n"
    assert "memory_limit" not in json.loads(stored_test_cases(test, entry_point="add", memory_limit=256))
    values = mapped_test_columns({"memory_limit": 64.0}, {"test_cases": "official_tests", "memory_limit": "memory_limit"})
    assert json.loads(stored_test_cases(stdio, **values)) == {**stdio, "memory_limit": 64.0}


def test_the_files_a_problem_asks_for_are_stored_in_its_stdin_tests():
    """CodeContests names them (`input_file`, `output_file`; empty for the standard streams); open-r1/codeforces says
    `input_mode: file`, which means input.txt and output.txt, as its grader runs such problems."""
    stdio = {"inputs": ["1 2\n"], "outputs": ["3\n"]}
    both = {"input_file": "input.txt", "output_file": "output.txt"}
    assert json.loads(stored_test_cases(stdio, input_mode="file")) == {**stdio, **both}
    assert json.loads(stored_test_cases(stdio, input_file="input.txt", output_file="output.txt")) == {**stdio, **both}
    named = stored_test_cases(stdio, input_file="sum.in ", output_file="")
    assert json.loads(named) == {**stdio, "input_file": "sum.in"}
    assert json.loads(stored_test_cases(stdio, input_mode="file", input_file="a.in"))["input_file"] == "a.in"
    for none in ({"input_mode": "stdio"}, {"input_file": "", "output_file": None}, {"input_file": "  "}):
        assert stored_test_cases(json.dumps(stdio), **none) == json.dumps(stdio)  # the standard streams
    call = [{"input": "[1, 2]", "output": "3", "type": "function_call", "fn_name": "add"}]
    assert "input_file" not in json.loads(stored_test_cases(call, input_mode="file"))


def test_the_codeforces_grader_stores_its_comparison_in_the_tests():
    stdio = {"inputs": ["4\n"], "outputs": ["YES\n"]}
    values = mapped_test_columns({"time_limit": 2}, {"test_cases": "official_tests", "time_limit": "time_limit"},
                                 "codeforces")
    assert values == {"time_limit": 2, "comparison": "codeforces"}
    assert json.loads(stored_test_cases(stdio, **values)) == {**stdio, "time_limit": 2.0, "comparison": "codeforces"}
