"""Code tests in the shapes public datasets ship them, read into the metadata contract's `test_cases` form.

The contract (design.md) holds a code problem's tests as JSON in one of two forms, which the sandbox verifier
(`kit.verify.code`) runs:

- `{"inputs": [...], "outputs": [...]}`, with `"fn_name"` for call-based tests (APPS/TACO's `input_output`);
- `{"test_code": "def check(candidate): ...", "entry_point": "name"}` (HumanEval-style asserts);
- `{"test_code": "from solution import add\\ndef test_add(): ..."}`: a pytest module (`pytest_module`), run with
  pytest against the solution saved as `solution.py`, as KodCode's grader does; its `test_*` functions and
  unittest `TestCase` classes (BigCodeBench) are the tests, and it needs no entry point.

A `test` column holding Python source (KodCode's pytest modules, HumanEval's `check`, MBPP+'s program that loops
over its inputs calling the function by name) is read as that source, `{"test_code": ...}`; test code that names no
entry point calls the one function its top level calls (`_program`). Text that starts as Python does but does not
compile is refused with the line that fails.

A dataset that keeps the function under test in a column of its own (HumanEval's `test` and `entry_point`) maps it
to the kit name `entry_point` (`columns: {test_cases: test, entry_point: entry_point}`): the test code and it make
the assert form. An entry point is a function's name, or a method of a fresh instance of a class, `Solution().twoSum`
(LeetCodeDataset's, `ENTRY_POINT`). A dataset whose solutions and tests assume code run before them - imports, and
helpers such as LeetCodeDataset's `ListNode`, `tree_node` and `is_same_list`, all in its `prompt` column, which its
grader runs before the completion; MBPP's `test_setup_code`, or the `test_imports` list of its sanitized config and
of MBPP+ - maps that column to the kit name `prelude`: it is stored in the tests as `"prelude"` (the sandbox verifier
runs it before the solution, see `kit.verify.code`). A grader that puts the same imports before every solution
(APPS's, TACO's and SkyThought's; LiveCodeBench's) is named by the recipe instead, `grader: apps`: its prelude, in
`GRADERS`, comes before the row's own (`mapped_test_columns`), and what else it does around call-based tests is
stored with them (APPS's integer keys for a dict argument: `"int_keys": true`). So is one that renames a reply's
function to the one its tests call (KodCode's pipeline, `grader: kodcode`): the tests then say
`"rename_function": true`.

Stdin/stdout and call-based tests may carry `"time_limit"`, the problem's own limit in seconds for each test, as the
judge gave it (open-r1/codeforces's `time_limit`, which the grader open-r1 validated its tests with applies to every
test): map the column to the kit name `time_limit` (`time_limit_seconds` reads seconds, `"2 seconds"`, `"1500 ms"` and
CodeContests' `{"seconds": 2, "nanos": 0}`) and it replaces `verify.code.test_timeout_s` for that problem's tests.
They may carry `"memory_limit"` too, the problem's memory limit in megabytes (open-r1/codeforces's `memory_limit`,
CodeContests' `memory_limit_bytes`, TACO's `"256 megabytes"`: `memory_limit_mb` reads them), applied as that grader
applies it (see `kit.verify.code`).

Stdin/stdout tests may name files in place of the standard streams, `"input_file"` and `"output_file"`: the problems
that ask for them (older Codeforces rounds: "input.txt", "output.txt") are judged that way - the input is in that
file, standard input is empty, and the output is what the program wrote to that file. Map CodeContests' `input_file`
and `output_file` columns to the kit names of the same name, or open-r1/codeforces's `input_mode` (`file` means
`input.txt` and `output.txt`, as that grader runs such problems) to `input_mode` (`io_files`).

Stdin/stdout tests may carry `"checker"`: the Python source of a checker for problems that accept more than one
output, run as `checker.py INPUT EXPECTED OUTPUT` and printing `1` (or `100`) when it accepts the output -
open-r1/codeforces's `generated_checker`. A dataset keeps it in a column of its own: map that column to the kit
name `checker` (`columns: {test_cases: official_tests, checker: generated_checker}`) and `stored_test_cases`
puts it into the tests. Only a mapped column is read: CodeContests+ names its C++ (testlib) checker `checker`.

`contract_tests` also reads (each a JSON text or the value as `datasets` yields it):

- CodeContests' `public_tests` / `private_tests` / `generated_tests`: `{"input": [...], "output": [...]}` (a recipe maps
  `test_cases` to all three, `[public_tests, private_tests, generated_tests]`, and `joined_tests` makes them one
  set);
- a list of test objects `{"input", "output"}`: Codeforces' `official_tests` and `examples`
  (open-r1/codeforces), LiveCodeBench's `public_test_cases` (`testtype` stdin or functional, the function's
  name in `metadata.func_name`), DeepCoder's `tests` (its lcbv5 rows name the function in a `metadata` column of
  the row: `columns: {test_cases: tests, entry_point: metadata.func_name}`), and PrimeIntellect's `test_cases`
  (`type` stdin_stdout or function_call, with `fn_name`);
- a `verification_info` object around them, `{"language": "python", "test_cases": ...}` (PrimeIntellect's
  verifiable-coding-problems, open-r1's verifiable-coding-problems-python); tests for another language are
  refused, since the sandbox runs Python;
- a list of assert statements (MBPP's `test_list`, AceCode-87K's `test_cases`): one `test_code`, whose entry point
  is the one function every assert calls (read from their syntax, never run here; asserts that do not share one
  are refused), a standard module they use without importing it (`math.isclose`) imported first.

A functional test's `input` is its positional arguments: a list as is; LiveCodeBench's text holds one JSON value
per line; PrimeIntellect's function_call text is one JSON value, the argument list (not confirmed: the python
problems of the datasets read are all stdin_stdout). A functional `output` given as text is JSON.

`stored_test_cases` is what the kit stores: the contract's JSON text, or the value unchanged when it already is
that text (so a dataset's own tests read back exactly as written) or cannot be read (so the verifier reports why).
"""

from __future__ import annotations

import ast
import builtins
import json
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kit.core.schema import joined_lines


class InvalidTestCases(ValueError):
    """Tests in no form the kit reads; the message is one line."""


# Competition tests and results hold integers far longer than the 4,300 digits CPython 3.11 converts by default: the
# kit reads integers of up to this many digits (a conversion of that size takes a few hundredths of a second; the limit
# bounds what a program's returned value can cost the verifier). Raised for this process, never lowered.
MAX_INT_DIGITS = 100_000
if 0 < sys.get_int_max_str_digits() < MAX_INT_DIGITS:
    sys.set_int_max_str_digits(MAX_INT_DIGITS)


def json_value(text: str | bytes) -> Any:
    """`json.loads`, where an integer longer than `MAX_INT_DIGITS` is a ValueError that says so (JSONDecodeError
    still means text that is not JSON)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # CPython's limit on the digits it converts
        raise ValueError(f"it holds an integer of more than {MAX_INT_DIGITS} digits") from None


_STDIO = {None, "stdin", "stdin_stdout", "stdio"}
_CALL = {"functional", "function_call", "call"}
_PYTHON = {"python", "python3", "py"}


def contract_tests(value: Any, fn_name: str | None = None, prelude: str | None = None) -> dict[str, Any]:
    """The contract form (a dict, see the module docstring) of tests in any form this module reads; `fn_name` names
    the function of call-based tests that do not name it themselves; the names a `prelude` binds are no candidates
    for the function under test of test code. InvalidTestCases (one line) otherwise."""
    if value is None or value == "":
        raise InvalidTestCases("test_cases is empty")
    if isinstance(value, str):
        try:
            value = json_value(value)
        except json.JSONDecodeError as exc:
            why = f"test_cases is not valid JSON ({exc.msg} at char {exc.pos})"
            if not _looks_like_python(value):
                raise InvalidTestCases(why) from None
            if error := python_error(value):  # test code (KodCode's `test`) that does not compile: say where
                raise InvalidTestCases(f"{why}, nor Python test code ({error})") from None
            return contract_tests({"test_code": value}, prelude=prelude)  # test code as a dataset ships it
        except ValueError as exc:
            raise InvalidTestCases(f"test_cases cannot be read: {exc}") from None
    if isinstance(value, list | tuple):
        return _from_list(list(value), fn_name, prelude)
    if not isinstance(value, Mapping):
        raise InvalidTestCases(f"test_cases must be a JSON object or a list of tests, got {type(value).__name__}")
    if set(value) == {"invalid"}:  # tests the kit could not read when it stored them (`stored_test_cases`)
        raise InvalidTestCases(str(value["invalid"]))
    if "test_cases" in value:  # a verification_info object
        language = value.get("language")
        if language is not None and str(language).strip().lower() not in _PYTHON:
            raise InvalidTestCases(f"test_cases are for {language}; the sandbox runs Python")
        return contract_tests(value["test_cases"], value.get("fn_name") or fn_name, prelude)
    if "test_code" in value or "inputs" in value or "outputs" in value:
        data = dict(value)
        if fn_name and "test_code" not in data and not data.get("fn_name"):
            data["fn_name"] = fn_name
        if "test_code" in data and not data.get("entry_point"):
            data.update(_entry_point_of(data["test_code"], data.get("prelude") or prelude))
        return data
    if "input" in value and "output" in value:
        if isinstance(value["input"], list) and isinstance(value["output"], list):  # CodeContests
            return {"inputs": value["input"], "outputs": value["output"]}
        return _from_list([value], fn_name, prelude)  # one test object
    raise InvalidTestCases("test_cases needs lists `inputs` and `outputs` (or `test_code`, or a list of "
                           "{input, output} tests)")


def joined_tests(values: list[Any]) -> dict[str, Any]:
    """One set of tests from a dataset that splits them over several columns (CodeContests' `public_tests`,
    `private_tests` and `generated_tests`; LiveCodeBench's public and private tests), in the contract's form: each
    column's tests read by `contract_tests`, their inputs and outputs joined in column order; an empty column (None,
    "", no tests) adds none. InvalidTestCases (one line) for a column no form reads, test code, tests of different
    forms (stdin/stdout and call-based, or calls of two functions), or fields other than those."""
    joined: dict[str, Any] | None = None
    for position, value in enumerate(values):
        if value is None or isinstance(value, str | list) and not value:
            continue
        try:
            tests = contract_tests(value)
        except InvalidTestCases as exc:
            raise InvalidTestCases(f"column {position + 1} of the tests: {exc}") from None
        if other := set(tests) - {"inputs", "outputs", "fn_name"}:
            raise InvalidTestCases(f"column {position + 1} of the tests has {', '.join(sorted(other))}: only "
                                   "stdin/stdout and call-based tests join")
        inputs, outputs = tests.get("inputs"), tests.get("outputs")
        if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
            raise InvalidTestCases(f"column {position + 1} of the tests does not pair its inputs and outputs")
        if not inputs:
            continue
        if joined is None:
            joined = {"inputs": [], "outputs": [], **({"fn_name": tests["fn_name"]} if tests.get("fn_name") else {})}
        elif joined.get("fn_name") != tests.get("fn_name"):
            raise InvalidTestCases(f"column {position + 1} of the tests is not of the form of the columns before it "
                                   "(stdin/stdout and call-based tests, or calls of two functions)")
        joined["inputs"] += inputs
        joined["outputs"] += outputs
    return joined if joined is not None else {"inputs": [], "outputs": []}


# Columns that complete a row's tests, read only where a recipe maps them (`columns: {checker: ...}`): CodeContests+
# names its C++ testlib checker `checker`, which is no checker the kit runs.
TEST_COLUMNS = ("checker", "entry_point", "prelude", "time_limit", "memory_limit", "input_file", "output_file",
                "input_mode")

# The modules LiveCodeBench's grader (lcb_runner/evaluation/testing_util.py) imports for every solution, in its order:
# `from M import *` for each (then builtins and typing), `import M` for each, and a recursion limit of 50,000
_LIVECODEBENCH_MODULES = ("string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
                          "statistics", "itertools", "functools", "operator", "io", "sys", "json")


@dataclass(frozen=True)
class Grader:
    """What a dataset's own grader does around its tests, which the kit does too for a recipe that names it
    (`grader: NAME`), so that a reply it passed passes here: `prelude`, the code it puts before every solution (a right
    solution that leans on it - `deque`, `gcd`, `lru_cache`, `np` used without an import - passes there; it runs
    before a `prelude` column's own code); `renames_function`, whether it renames a reply's one function to the one
    the tests call (stored in the tests as `"rename_function": true`, applied by `kit.verify.code`); `comparison`, the
    name of its own way of comparing outputs with the expected ones where it is not the judges' (stored as
    `"comparison": NAME` in stdin/stdout and call-based tests: `codeforces`, `livecodebench`, see
    `kit.verify.code.COMPARISONS`); `int_keys`, whether a call's first argument, a dict whose keys all read as
    integers, is passed with integer keys (JSON keeps only string keys; stored in call-based tests as
    `"int_keys": true`)."""

    prelude: str = ""
    renames_function: bool = False
    comparison: str | None = None
    int_keys: bool = False


GRADERS = {
    # APPS's eval/testing_util.py; TACO's metrics/testing_util.py and SkyThought's taco and apps scorers (Sky-T1's
    # rejection sampling) copy it. Their stdin form also binds `stdin` and `stdout`, here for every form. Their
    # `process_input_output` gives a call's first argument, a dict, integer keys where every key reads as one.
    "apps": Grader(prelude="import sys\nimport time\nimport itertools\nfrom itertools import accumulate, product, "
                   "permutations, combinations\nimport collections\nfrom collections import Counter, OrderedDict, "
                   "deque, defaultdict, ChainMap\nfrom functools import lru_cache\nimport math\nfrom math import sqrt, "
                   "sin, cos, tan, ceil, fabs, floor, gcd, exp, log, log2\nimport fractions\nfrom typing import List, "
                   "Tuple\nimport numpy as np\nimport random\nimport heapq\nfrom heapq import *\nstdin = sys.stdin\n"
                   "stdout = sys.stdout\n", int_keys=True),
    # open-r1's Codeforces grader (the `codeforces` package of guipenedo/piston, run by open-r1's cf_code_reward)
    # compares outputs as testlib's wcmp does, tokens as text, after upper-casing the words yes and no in both (as
    # testlib's yesno checker, which Codeforces judges YES/NO problems with, compares them)
    "codeforces": Grader(comparison="codeforces"),
    # KodCode's pipeline (step3.3.3_gen_unit_tests_sft.py, which graded R1's replies in KodCode-V1-SFT-R1) renames
    # the one function of a reply's first python block to the function its tests call.
    "kodcode": Grader(renames_function=True),
    # LiveCodeBench's (lcb_runner/evaluation/testing_util.py): its imports; stdout line by line, call results exactly
    "livecodebench": Grader(prelude="".join(f"from {module} import *\n"
                                            for module in (*_LIVECODEBENCH_MODULES, "builtins", "typing"))
                            + "".join(f"import {module}\n" for module in _LIVECODEBENCH_MODULES)
                            + "sys.setrecursionlimit(50000)\n", comparison="livecodebench"),
}
# An assert test's entry point: a function's name, or `Class().method`, a method of a fresh instance (LeetCodeDataset)
ENTRY_POINT = re.compile(r"(?P<name>[^\W\d]\w*)(?:\(\)\.(?P<method>[^\W\d]\w*))?")


def mapped_test_columns(row: Mapping[str, Any], columns: Mapping[str, str | list[str]],
                        grader: str | None = None) -> dict[str, Any]:
    """The `TEST_COLUMNS` a recipe maps, with the row's values; what the named grader (`GRADERS`) does: its prelude
    before the row's own, its renaming, its comparison; and whether `test_cases` is the list of several
    columns' tests (`joined`): the keyword arguments of `stored_test_cases`."""
    values: dict[str, Any] = {name: row.get(name) for name in TEST_COLUMNS if name in columns}
    if isinstance(columns.get("test_cases"), list):
        values["joined"] = True
    conventions = GRADERS[grader] if grader is not None else Grader()
    if conventions.prelude:
        own = joined_lines(values.get("prelude"))
        values["prelude"] = conventions.prelude + (own if isinstance(own, str) else "")
    if conventions.renames_function:
        values["rename_function"] = True
    if conventions.comparison:
        values["comparison"] = conventions.comparison
    if conventions.int_keys:
        values["int_keys"] = True
    return values


def stored_test_cases(value: Any, checker: str | None = None, entry_point: str | None = None,
                      prelude: str | list[str] | None = None, time_limit: Any = None, joined: bool = False,
                      rename_function: bool = False, input_file: str | None = None, output_file: str | None = None,
                      input_mode: str | None = None, comparison: str | None = None,
                      memory_limit: Any = None, int_keys: bool = False) -> str | None:
    """What the kit stores as `test_cases`: the contract's JSON text (see the module docstring), with `checker` (a
    dataset's checker column; None or empty for none) and the files a problem reads and writes (`io_files`) put into
    stdin/stdout tests, `time_limit` (a dataset's limit per test, `time_limit_seconds`), `memory_limit` (its memory
    limit, `memory_limit_mb`) and `comparison` (`Grader`) into stdin/stdout and call-based tests, `int_keys`
    (`Grader`) into call-based tests, `prelude` (code the solution and tests assume run first; a list of lines is
    joined) and `rename_function` (`Grader`) into any; None
    stays None. `joined`: `value` is the list of several columns' tests, made one set (`joined_tests`); when they do not
    join, what is stored is `{"invalid": why}`, which the verifier refuses with that reason. A `test` that is Python
    source is `{"test_code": ...}`: a pytest module as it is; `def check(candidate): ...`, asserts or a program calling
    the function under test (MBPP+) with `entry_point` (a dataset's entry-point column: HumanEval and HumanEval+ keep
    `test` and `entry_point` apart), else with the one function its top level calls (`_program`), else with none (the
    verifier says it is missing). A list of asserts calls `entry_point`, as does a list of function-call tests that do
    not name their function (DeepCoder's lcbv5 rows keep its name in a `metadata` column of their own:
    `entry_point: metadata.func_name`)."""
    if value is None:
        return None
    if joined:
        try:
            value = joined_tests(value)
        except InvalidTestCases as exc:
            return json.dumps({"invalid": str(exc)}, ensure_ascii=False)
    prelude = joined_lines(prelude)  # MBPP's `test_imports`: a list of import statements
    extra: dict[str, Any] = {"prelude": prelude} if isinstance(prelude, str) and prelude.strip() else {}
    if rename_function:
        extra["rename_function"] = True
    if isinstance(value, str) and _python_source(value):
        tests = contract_tests({"test_code": value, **({"entry_point": entry_point} if entry_point else {}), **extra})
        return json.dumps(tests, ensure_ascii=False)
    try:
        parsed = json_value(value) if isinstance(value, str) else value  # parsed once: tests can be megabytes
        if isinstance(parsed, str):  # JSON text of a string: no test form (contract_tests says so)
            raise InvalidTestCases
        # an entry point names the function of a list's asserts or function-call tests (`_from_list`), never that of
        # APPS's `{inputs, outputs}` (stdin tests, when they name no fn_name)
        tests = contract_tests(parsed, entry_point if isinstance(parsed, list) else None, extra.get("prelude"))
    except ValueError:  # not JSON, an integer too long to read, or no test form (InvalidTestCases): the verifier says
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if "test_code" not in tests and not tests.get("fn_name"):
        if checker:
            tests["checker"] = checker
        tests.update(io_files(input_file, output_file, input_mode))
    if extra:
        tests.update(extra)
    if (seconds := time_limit_seconds(time_limit)) is not None and "test_code" not in tests:
        tests["time_limit"] = seconds
    if (megabytes := memory_limit_mb(memory_limit)) is not None and "test_code" not in tests:
        tests["memory_limit"] = megabytes
    if comparison and "test_code" not in tests:
        tests["comparison"] = comparison
    if int_keys and tests.get("fn_name"):
        tests["int_keys"] = True
    if isinstance(value, str) and parsed == tests:  # already the contract's form: kept as written
        return value
    return json.dumps(tests, ensure_ascii=False)


FILE_MODE = {"input_file": "input.txt", "output_file": "output.txt"}  # open-r1/codeforces's `input_mode: file`


def io_files(input_file: Any = None, output_file: Any = None, input_mode: Any = None) -> dict[str, Any]:
    """The files a problem's program reads and writes instead of standard input and output, as stored in its tests:
    the names given (CodeContests' `input_file` and `output_file`; None or empty for a standard stream), or for
    `input_mode: file` (open-r1/codeforces), `input.txt` and `output.txt` where no name is given; {} for none."""
    named = {"input_file": input_file, "output_file": output_file}
    if isinstance(input_mode, str) and input_mode.strip().lower() == "file":
        named = {key: value or FILE_MODE[key] for key, value in named.items()}
    stripped = {key: value.strip() if isinstance(value, str) else value for key, value in named.items()}
    return {key: value for key, value in stripped.items() if value is not None and value != ""}


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|milliseconds?|s|secs?|seconds?)?(?:\s+per\s+test)?", re.IGNORECASE)
_MAX_SECONDS = 100  # a bare number above this is milliseconds: no judge gives a test 100 s


def time_limit_seconds(value: Any) -> float | None:
    """A dataset's time limit per test in seconds: a number (seconds; one above 100 is milliseconds), a text with its
    unit (`"2 seconds"`, `"1 second per test"`, `"1500 ms"`), or CodeContests' `{"seconds": 2, "nanos": 500000000}`;
    None when it gives none (`None`, `""`, TACO's `"None"`, zero) or cannot be read."""
    if isinstance(value, Mapping) and ("seconds" in value or "nanos" in value):
        try:
            seconds = float(value.get("seconds") or 0) + float(value.get("nanos") or 0) / 1e9
        except (TypeError, ValueError):
            return None
        return seconds if seconds > 0 else None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if match is None:
            return None
        number, unit = float(match.group(1)), (match.group(2) or "").lower()
        seconds = number / 1000 if unit.startswith("m") or (not unit and number > _MAX_SECONDS) else number
    else:
        seconds = value / 1000 if value > _MAX_SECONDS else float(value)
    return seconds if math.isfinite(seconds) and seconds > 0 else None


_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(b|bytes?|k|kb|kib|kilobytes?|m|mb|mib|megabytes?|g|gb|gib|gigabytes?)?",
                   re.IGNORECASE)
_MAX_MEGABYTES = 1 << 16  # a bare number above this is bytes: no judge gives a test 64 GiB
_UNIT_MB = {"b": 1 / (1 << 20), "k": 1 / 1024, "m": 1.0, "g": 1024.0}


def memory_limit_mb(value: Any) -> float | None:
    """A dataset's memory limit in megabytes (MiB, as judges count them: Codeforces' 256 megabytes are 2^28 bytes): a
    number (megabytes, open-r1/codeforces's `memory_limit`; one above 65536 is bytes, CodeContests'
    `memory_limit_bytes`, where a whole number of millions stands for that many megabytes) or a text with its unit
    (`"256 megabytes"`, `"512 MB"`, `"1 GB"`); None when it gives none (`None`, `""`, `"None"`, zero) or cannot be
    read."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str):
        match = _SIZE.fullmatch(value.strip())
        if match is None:
            return None
        number, unit = float(match.group(1)), (match.group(2) or "").lower()
    else:
        number, unit = float(value), ""
    if unit:
        megabytes = number * _UNIT_MB[unit[0]]
    elif number > _MAX_MEGABYTES:  # bytes: CodeContests writes Codeforces' "256 megabytes" as 256000000
        megabytes = number / 1e6 if number % 1_000_000 == 0 else number / (1 << 20)
    else:
        megabytes = number
    return megabytes if math.isfinite(megabytes) and megabytes > 0 else None


def pytest_module(test_code: str) -> bool:
    """Whether test code is a pytest module: it defines top-level tests pytest collects (`test*` functions,
    `Test*` classes, unittest `TestCase` subclasses) and no `check(candidate)` function (HumanEval's form, which
    pytest would not call). Parsed, never run; False for text that is not Python."""
    try:
        tree = ast.parse(test_code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    if "check" in functions:
        return False
    return (any(name.startswith("test") for name in functions)
            or any(node.name.startswith("Test") or any(_dotted_name(base).endswith("TestCase") for base in node.bases)
                   for node in classes))


def _dotted_name(node: ast.expr) -> str:
    """A base class as written (`unittest.TestCase`), or "" for an expression that is no dotted name."""
    if isinstance(node, ast.Attribute):
        return f"{_dotted_name(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _python_source(text: str) -> bool:
    """Whether `text` is Python source rather than JSON (compiled, never run)."""
    return text.lstrip()[:1] not in ("{", "[") and python_error(text) is None


def python_error(text: str) -> str | None:
    """Why `text` does not compile as Python (one line), or None when it does; compiled, never run."""
    try:
        compile(text, "<tests>", "exec")
    except SyntaxError as exc:
        return f"{type(exc).__name__} at line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return type(exc).__name__
    return None


_PYTHON_START = re.compile(r"\s*(?:(?:from|import|def|class|assert)\b|[@#])")


def _looks_like_python(text: str) -> bool:
    """Whether test text that is no JSON starts as Python does (imports, definitions, asserts, a comment)."""
    return bool(_PYTHON_START.match(text))


def _from_list(tests: list[Any], fn_name: str | None, prelude: str | None) -> dict[str, Any]:
    """A list of test objects in the contract form: all stdin/stdout, or all calls of one function; or a list of
    assert statements (`_from_asserts`)."""
    if not tests:
        raise InvalidTestCases("test_cases has no tests")
    if all(isinstance(test, str) for test in tests):
        return _from_asserts(tests, fn_name, prelude)
    kinds = set()
    for i, test in enumerate(tests):
        if not (isinstance(test, Mapping) and "input" in test and "output" in test):
            raise InvalidTestCases(f"test {i} is not an object with `input` and `output`")
        kind = test.get("testtype") or test.get("type") or None  # Arrow fills an absent field with None
        if kind not in _STDIO | _CALL:
            raise InvalidTestCases(f"test {i} has type {kind!r}: the sandbox runs stdin/stdout and function-call tests")
        kinds.add("call" if kind in _CALL else "stdio")
    if len(kinds) > 1:
        raise InvalidTestCases("test_cases mixes stdin/stdout and function-call tests")
    if kinds == {"stdio"}:
        for i, test in enumerate(tests):
            if not (isinstance(test["input"], str) and isinstance(test["output"], str)):
                raise InvalidTestCases(f"test {i}: stdin/stdout tests need string `input` and `output`")
        return {"inputs": [t["input"] for t in tests], "outputs": [t["output"] for t in tests]}
    names = {_test_fn_name(test) or fn_name for test in tests}
    if len(names) != 1 or None in names:
        raise InvalidTestCases("function-call tests need one function name (a test's fn_name or metadata.func_name, "
                               "or a column mapped to entry_point)")
    return {"fn_name": names.pop(), "inputs": [_arguments(test, i) for i, test in enumerate(tests)],
            "outputs": [_json(test["output"], i, "output") if isinstance(test["output"], str) else test["output"]
                        for i, test in enumerate(tests)]}


def _from_asserts(tests: list[str], fn_name: str | None, prelude: str | None) -> dict[str, Any]:
    """Assert statements (`assert add(1, 2) == 3`) as one `test_code`; the entry point is `fn_name`, else the one
    function that every assert calls by name (`_program`)."""
    code = "\n".join(test.strip() for test in tests)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise InvalidTestCases(f"the assert tests are not Python ({type(exc).__name__})") from None
    if not any(isinstance(node, ast.Assert) for node in tree.body):
        raise InvalidTestCases("test_cases is a list of texts but holds no assert statement")
    return _program(code, tree, fn_name, module_names(prelude))


def bound_names(tree: ast.AST, module_scope: bool = False) -> set[str]:
    """The names a piece of code binds: assigned, imported (not `*`), defined by `def` or `class`, parameters and
    `except ... as` names; with `module_scope`, only those its module sees (nothing bound inside a function, class or
    comprehension, but a function's or class's own name). Parsed code only: nothing runs."""
    names: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {alias.asname or alias.name.partition(".")[0] for alias in node.names if alias.name != "*"}
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        scoped = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
                            | ast.comprehension)
        if not (module_scope and scoped):
            pending.extend(ast.iter_child_nodes(node))
    return names


def free_names(tree: ast.AST) -> set[str]:
    """The names a piece of code uses without binding them (`bound_names`), builtins left out: what it expects from
    elsewhere - the solution's functions, for tests that run after `from solution import *`."""
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return used - bound_names(tree) - _BUILTIN_NAMES


def module_names(code: Any) -> set[str]:
    """The names a piece of code binds in its module (`bound_names` with `module_scope`: functions, classes,
    assignments, imports but `import *`, also inside `if`, `try` or loops): a prelude's, or a reply's block of code.
    Parsed, never run; empty for no text or text that is no Python."""
    if not isinstance(code, str):
        return set()
    try:
        return bound_names(ast.parse(code), module_scope=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()


def _entry_point_of(test_code: Any, prelude: Any = None) -> dict[str, Any]:
    """`test_code` and its entry point (`_program`) for test code that names none; {} when it needs none (a pytest
    module), is no Python, or calls no one function (the verifier then says the entry point is missing)."""
    if not isinstance(test_code, str) or pytest_module(test_code):
        return {}
    try:
        return _program(test_code, ast.parse(test_code), None, module_names(prelude))
    except (SyntaxError, ValueError, RecursionError, MemoryError, InvalidTestCases):
        return {}


def _program(code: str, tree: ast.Module, fn_name: str | None, given: set[str] | None = None) -> dict[str, Any]:
    """Test code that calls the function under test from its top level - asserts (MBPP's `test_list`), or a program
    looping over inputs (MBPP+'s `test`: `assertion(similar_elements(*inp), exp, 0)`) - in the assert form. The
    entry point is `fn_name`, else the one function that every top-level statement calling an outside function
    calls by name: builtins, and names the code binds itself (its helpers, imports, variables), left out. A
    standard module the code uses without importing it (`math.isclose(...)`: MBPP keeps its imports in another
    column, `test_imports`) is imported first, so a right solution that did not import it passes. Names a prelude
    binds (`given`: MBPP's `test_imports` mapped to it) count as bound."""
    bound = bound_names(tree) | (given or set())
    modules = sorted({node.value.id for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                      and isinstance(node.value, ast.Name) and node.value.id in sys.stdlib_module_names} - bound)
    imports = "".join(f"import {name}\n" for name in modules)
    if fn_name:
        return {"test_code": imports + code, "entry_point": fn_name}
    definitions = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom
    shared: set[str] | None = None
    for statement in tree.body:
        if isinstance(statement, definitions):
            continue
        called = {call.func.id for call in ast.walk(statement) if isinstance(call, ast.Call)
                  and isinstance(call.func, ast.Name)} - _BUILTIN_NAMES - bound
        if called:
            shared = called if shared is None else shared & called
    if not shared or len(shared) > 1:
        raise InvalidTestCases("the tests do not all call one function (the entry point): "
                               + (f"they share {', '.join(sorted(shared))}" if shared else "none is shared"))
    entry = shared.pop()
    instances = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    if all(id(call) in instances for call in ast.walk(tree) if isinstance(call, ast.Call)
           and isinstance(call.func, ast.Name) and call.func.id == entry):
        raise InvalidTestCases(f"the tests call methods of {entry}(), not a function: the sandbox checks a "
                               "function's return values")
    return {"test_code": imports + code, "entry_point": entry}


_BUILTIN_NAMES = frozenset(dir(builtins))


def _test_fn_name(test: Mapping[str, Any]) -> str | None:
    meta = test.get("metadata")
    if isinstance(meta, str):
        try:
            meta = json_value(meta)
        except ValueError:
            meta = None
    name = test.get("fn_name") or (meta.get("func_name") if isinstance(meta, Mapping) else None)
    return name if isinstance(name, str) and name else None


def _arguments(test: Mapping[str, Any], index: int) -> list[Any]:
    """A function-call test's positional arguments (see the module docstring)."""
    given = test["input"]
    if isinstance(given, list):
        return given
    if not isinstance(given, str):
        return [given]
    if test.get("testtype") is not None:  # LiveCodeBench: one JSON value per line
        return [_json(line, index, "input") for line in given.splitlines() if line.strip()]
    value = _json(given, index, "input")
    return value if isinstance(value, list) else [value]


def _json(text: str, index: int, what: str) -> Any:
    try:
        return json_value(text)
    except json.JSONDecodeError as exc:
        raise InvalidTestCases(f"test {index} {what} is not JSON ({exc.msg} at char {exc.pos})") from None
    except ValueError as exc:
        raise InvalidTestCases(f"test {index} {what} cannot be read: {exc}") from None
