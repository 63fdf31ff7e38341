"""LiveCodeBench (`livecodebench/code_generation_lite`) rows in the kit's metadata row shape.

The dataset is a set of JSONL files; a release names which of them to read (`release_files`, the version tags of
its own loading script, `code_generation_lite.py`). Each row
carries its tests in two fields: `public_test_cases`, a JSON list, and `private_test_cases`, the same
JSON list either as is or pickled, zlib-compressed and base64-encoded (`decode_tests`). The pickle comes
from a downloaded file, so it is read with an unpickler that refuses every global: a pickled string needs
none, and anything that does (a class, a callable to REDUCE) is rejected before it can run.

`livecodebench_row` turns one row into a metadata row whose `test_cases` the sandbox verifier (`kit.verify.code`) runs:
stdin problems (AtCoder, Codeforces) in its stdin/stdout form, functional problems (LeetCode, a method of `class
Solution`) in its call form (`kit.core.testcases` reads the list; here the row-level checks and the function's name). As
LiveCodeBench's grader (lcb_runner/evaluation/testing_util.py) puts its imports before every solution, stdin and
functional alike, the tests carry them as their prelude (`PRELUDE`, its grader's in `kit.core.testcases.GRADERS`): a
solution may use `List`, `deque` or `gcd` without importing them. Stdin programs run as that grader runs them (its
rewriting into `wrapped_function` and its mocks of stdin, stdout and open: `kit.sandbox.code_harness`), and outputs are
compared as it compares them (`COMPARISON`: stdout line by line, numbers as exact decimals, call results by Python's
`==`; `kit.verify.code.COMPARISONS`), so a reply gets the official grader's verdict (the prompt is the kit's own).
Everything here is pure: the package downloads the files (`kit.benchmarks.hub_rows`). `SPECS` is
LiveCodeBench's entry in the kit's benchmarks.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import pickle
import zlib
from typing import Any

from kit.benchmarks.common import Benchmark, Row, metadata_row
from kit.core.schema import SOLUTION_CLASS
from kit.core.testcases import GRADERS, contract_tests

PRELUDE = GRADERS["livecodebench"].prelude  # the imports its grader gives every solution
COMPARISON = GRADERS["livecodebench"].comparison  # its grader's way of comparing outputs

FILES = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl")
_LAST = len(FILES)
# code_generation_lite.py's ALLOWED_FILES: release_vN (the first N files), release_latest (all), vN (file N alone)
# and every range vI_vJ, I < J (files I to J)
RELEASES: dict[str, tuple[str, ...]] = {
    **{f"release_v{n}": FILES[:n] for n in range(1, _LAST + 1)},
    "release_latest": FILES,
    **{f"v{n}": (FILES[n - 1],) for n in range(1, _LAST + 1)},
    **{f"v{i}_v{j}": FILES[i - 1:j] for i in range(1, _LAST + 1) for j in range(i + 1, _LAST + 1)},
}
RELEASE_FORMS = (f"release_v1 .. release_v{_LAST}, release_latest, v1 .. v{_LAST}, or a range vI_vJ with I < J, "
                 "as v1_v3")

STDIN_INSTRUCTION = "Read the input from standard input and write the answer to standard output."
METHOD_INSTRUCTION = "Complete the method `{name}` of the starter code's `class Solution`."
FUNCTION_INSTRUCTION = "Complete the function `{name}` of the starter code."

_MAX_DECOMPRESSED = 1 << 30  # a zlib bomb stops here; real private tests are far smaller
_TESTTYPES = ("stdin", "functional")
CONTENT = "question_content"  # the problem's own text (`Benchmark.text`)


def release_files(release: str) -> list[str]:
    """The files of `release`, a version tag of LiveCodeBench's loading script (its README: "Release version
    defaults to `release_latest` ... fine-grained release versions such as `v1`, `v2`, `v1_v3`, `v4_v5`"):
    `release_vN` is the first N files, `release_latest` all of them, `vN` file N alone and `vI_vJ` files I to J.
    ValueError (one line, naming the valid forms) for any other."""
    if release not in RELEASES:
        raise ValueError(f"unknown LiveCodeBench release {release!r} (valid: {RELEASE_FORMS})")
    return list(RELEASES[release])


class _NoGlobalsUnpickler(pickle.Unpickler):
    """An unpickler for plain data only: every global (class, function, module attribute) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")


def decode_tests(field: str) -> list[dict[str, Any]]:
    """The tests of a `public_test_cases` / `private_test_cases` field: a JSON list of
    `{"input", "output", "testtype"}`, given as is or as base64 of a zlib-compressed pickle of that JSON text.
    ValueError (one line) when the field decodes to neither."""
    if not isinstance(field, str) or not field.strip():
        raise ValueError("test cases field is empty or not a string")
    try:
        data = json.loads(field)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, list):  # not JSON, or JSON that is no list (a base64 text can read as a number)
        data = json.loads(_unpickle_text(field))
        if not isinstance(data, list):
            raise ValueError(f"test cases field decodes to a {type(data).__name__}, not a list")
    for i, test in enumerate(data):
        if not (isinstance(test, dict) and isinstance(test.get("input"), str) and isinstance(test.get("output"), str)):
            raise ValueError(f"test {i} is not an object with string `input` and `output`")
    return data


def _unpickle_text(field: str) -> str:
    """base64 -> zlib -> (restricted) unpickle -> the JSON text inside."""
    try:
        compressed = base64.b64decode(field)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(compressed, _MAX_DECOMPRESSED)
        if inflater.unconsumed_tail:
            raise ValueError(f"decompresses to more than {_MAX_DECOMPRESSED >> 20} MiB")
        text = _NoGlobalsUnpickler(io.BytesIO(raw)).load()
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        if not isinstance(text, str):
            raise ValueError(f"the pickle holds a {type(text).__name__}, not a JSON string")
        json.loads(text)  # report bad JSON here, with the other decoding errors
    except Exception as exc:  # binascii, zlib, pickle and json each raise their own kinds
        kind = "base64" if isinstance(exc, binascii.Error) else "zlib" if isinstance(exc, zlib.error) else ""
        reason = " ".join(f"{kind} {exc}".split()) or type(exc).__name__
        raise ValueError(f"test cases field is neither JSON nor base64/zlib/pickle of JSON: {reason[:200]}") from None
    return text


def livecodebench_row(raw: Row, source: str = "livecodebench") -> Row:
    """The metadata row of one LiveCodeBench row, plus `contest_date`, `difficulty`, `platform` and
    `question_id` (for filtering by date and reporting by difficulty). ValueError (one line) for tests of
    mixed or unknown type, or functional tests without a function name."""
    qid = raw.get("question_id")
    try:
        tests = decode_tests(raw["public_test_cases"]) + decode_tests(raw["private_test_cases"])
        if not tests:
            raise ValueError("no tests")
        kinds = {test.get("testtype") for test in tests}
        if len(kinds) != 1 or not kinds <= set(_TESTTYPES):
            raise ValueError(f"test types must be all stdin or all functional, got {sorted(map(str, kinds))}")
        starter = raw.get("starter_code") or None
        name = None
        if kinds == {"stdin"}:
            instruction = STDIN_INSTRUCTION
        else:
            name = _func_name(raw.get("metadata"))
            has_class = bool(starter and SOLUTION_CLASS.search(starter))
            instruction = (METHOD_INSTRUCTION if has_class else FUNCTION_INSTRUCTION).format(name=name)
        test_cases = {**contract_tests(tests, fn_name=name), "prelude": PRELUDE, "comparison": COMPARISON}
    except (KeyError, ValueError) as exc:
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"LiveCodeBench question {qid}: {reason}") from None
    content = raw[CONTENT]
    return metadata_row(f"{content.strip()}\n\n{instruction}", "code", source, key=content,
                        test_cases=json.dumps(test_cases), starter_code=starter) | {
        "contest_date": raw.get("contest_date"),
        "difficulty": raw.get("difficulty"),
        "platform": raw.get("platform"),
        "question_id": qid,
    }


def _func_name(metadata: Any) -> str:
    """`func_name` of the row's metadata (a JSON string, or already a dict)."""
    try:
        meta = json.loads(metadata) if isinstance(metadata, str) else metadata
    except json.JSONDecodeError:
        meta = None
    name = meta.get("func_name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError("functional tests need metadata.func_name, a function name")
    return name


SPECS = (
    Benchmark("livecodebench", "LiveCodeBench", "code", "livecodebench/code_generation_lite", "test",
              livecodebench_row, files=True, text=CONTENT),
)
