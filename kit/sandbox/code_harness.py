"""The `tests` entry of the sandbox (stdlib only; runs in the sandbox server, see `kit.sandbox`).

Runs a solution against its tests, one confined test process per test (`harness.run_in_test_process`), one
after the other, and reports per test what came out (or, `check`, runs a dataset's checker on outputs).
Expected outputs never enter a request that runs a solution: `kit/verify/code.py` compares outputs outside the
sandbox, or sends them to a checker in a request of its own. Payload:

    {"mode": "stdio", "code": ..., "inputs": ["1 2\\n", ...]}
    {"mode": "call", "code": ..., "fn_name": "add", "use_class": false, "inputs": [[1, 2], ...]}
    {"mode": "assert", "code": ..., "test_code": "def check(candidate): ..." or "assert add(1, 2) == 3",
     "entry_point": "add"}
    {"mode": "check", "code": checker source, "cases": [{"input": ..., "expected": ..., "output": ...}, ...]}

`check` runs a dataset's checker (open-r1/codeforces's `generated_checker`) once per case, as `checker.py INPUT
EXPECTED OUTPUT` in a fresh folder of its test process, and reports what it printed. The kit sends it in a request
of its own, after the program's request has ended and the server has killed every process it left, so the
expected outputs it carries never reach the program under test (as in the other modes, they never enter a
request that runs it).

Each record: {"test": i, "status": ok | early_exit | error | failed | memory | timeout | killed |
output_limit | skipped, "output": stdout text (stdio) or JSON text of the return value (call), "error": ...}.
After a timeout or memory failure the remaining tests (or checks) are reported as skipped (they would cost the
same).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable

try:  # inside the sandbox server the generic harness is registered under this name
    import _kit_harness_script as base  # type: ignore[import-not-found]
except ImportError:  # imported from the kit itself (e.g. for reading the docs or testing)
    from kit.sandbox import harness as base

_PLAIN = (type(None), bool, int, float, str)


def plain(value, depth: int = 0):
    """`value` made of builtin types only (JSON-ready), or TypeError: objects with a custom `__eq__` never pass."""
    if depth > 100:
        raise TypeError("result nested too deeply")
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind in (list, tuple):
        return [plain(v, depth + 1) for v in value]
    if kind in (set, frozenset):
        return sorted((plain(v, depth + 1) for v in value), key=repr)
    if kind is dict:
        out = {}
        for key, v in value.items():
            if type(key) not in _PLAIN:
                raise TypeError(f"result has a dict key of type {type(key).__name__}")
            out[str(key) if type(key) is not str else key] = plain(v, depth + 1)
        return out
    raise TypeError(f"result is not a plain value (type {kind.__name__})")


def _run_solution(code: str, namespace: dict) -> dict:
    """Run the solution in `namespace` (made by `base.fresh_globals()` before the fork: see there)."""
    exec(compile(code, "<solution>", "exec"), namespace)
    return namespace


def _callable(namespace: dict, fn_name: str, use_class: bool):
    solution_class = namespace.get("Solution")
    if use_class or (fn_name not in namespace and isinstance(solution_class, type)):
        if not isinstance(solution_class, type):
            raise NameError("starter code defines class Solution, but the solution does not")
        return getattr(solution_class(), fn_name)
    if fn_name not in namespace:
        raise NameError(f"the solution defines no function {fn_name!r}")
    return namespace[fn_name]


def _printed(fn: Callable[[], None], sample: base.Sample, stdin: str = "") -> dict:
    """The record of a program whose output is what it prints (a stdin/stdout solution, a checker)."""
    record = base.run_in_test_process(fn, sample, stdin=stdin, exit_ok=True)
    if record["status"] == "early_exit":  # the program ended itself (os._exit): its output is what counts
        record["status"] = "ok"
    record["output"] = record.pop("stdout")
    return record


def _run_stdio(payload: dict, sample: base.Sample, test_input: str) -> dict:
    namespace = base.fresh_globals()

    def program() -> None:
        _run_solution(payload["code"], namespace)

    return _printed(program, sample, test_input)


def _run_call(payload: dict, sample: base.Sample, args: list) -> dict:
    namespace = base.fresh_globals()

    def call() -> bytes:
        fn = _callable(_run_solution(payload["code"], namespace), payload["fn_name"], payload.get("use_class", False))
        result = fn(*args) if isinstance(args, list) else fn(args)
        return json.dumps(plain(result)).encode()

    record = base.run_in_test_process(call, sample, exit_ok=False)
    record.pop("stdout", None)
    returned = record.pop("result", b"")
    if record["status"] == "ok":
        record["output"] = returned.decode("utf-8", "replace")
    return record


def _run_assert(payload: dict, sample: base.Sample) -> dict:
    namespace, test_builtins = base.fresh_globals(), dict(base.CLEAN_BUILTINS)

    def check() -> None:
        _run_solution(payload["code"], namespace)
        entry = payload["entry_point"]
        if entry not in namespace:
            raise NameError(f"the solution defines no function {entry!r}")
        candidate = namespace[entry]

        def guarded(*args, **kwargs):
            result = candidate(*args, **kwargs)
            plain(result)  # raises for objects that could fake equality; the original value is returned
            return result

        # The tests see the solution's names (HumanEval tests call helpers from the prompt) with clean
        # builtins; the entry point's name is bound to the guarded candidate, so MBPP-style top-level
        # `assert add(1, 2) == 3` lines are checked too. A `check(candidate)` function is then called.
        tests = dict(namespace)
        tests["__builtins__"] = test_builtins
        tests[entry] = guarded
        tests.pop("check", None)
        exec(compile(payload["test_code"], "<tests>", "exec"), tests)
        if callable(tests.get("check")):
            tests["check"](guarded)

    record = base.run_in_test_process(check, sample, exit_ok=False)
    record.pop("stdout", None)
    return record


def _grader_text(text: str) -> str:
    """An output as the Codeforces grader hands it to a checker: `\\r` and empty lines dropped."""
    lines = [line.rstrip("\r") for line in text.splitlines()]
    return "".join(line + "\n" for line in lines if line)


def _run_check(payload: dict, sample: base.Sample, case: dict) -> dict:
    namespace = base.fresh_globals()
    files = {"input.txt": case["input"].replace("\r\n", "\n"), "expected.txt": _grader_text(case["expected"]),
             "output.txt": _grader_text(case["output"])}

    def check() -> None:
        folder = tempfile.mkdtemp(dir=sample.workdir)  # fresh and private (no process of the program is left)
        paths = []
        for name, text in files.items():
            path = os.path.join(folder, name)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            paths.append(path)
        sys.argv = [os.path.join(folder, "checker.py"), *paths]
        exec(compile(payload["code"], "<checker>", "exec"), namespace)

    return _printed(check, sample)


def main(payload: dict, sample: base.Sample) -> None:
    mode = payload["mode"]
    if mode == "assert":
        sample.emit({"test": 0, **_run_assert(payload, sample)})
        return
    run = {"stdio": _run_stdio, "call": _run_call, "check": _run_check}[mode]
    stop = False
    for index, test_input in enumerate(payload["cases"] if mode == "check" else payload["inputs"]):
        if stop:
            sample.emit({"test": index, "status": "skipped"})
            continue
        record = run(payload, sample, test_input)
        if record["status"] == "ok":
            record.pop("stderr", None)
        sample.emit({"test": index, **record})
        stop = record["status"] in ("timeout", "memory")
