"""The `tests` entry of the sandbox (stdlib only; runs inside the sample process, see `kit.sandbox`).

Runs a solution against its tests, one forked test process per test, and reports per test what came out.
Expected outputs never enter the sandbox: `kit/verify/code.py` compares outputs outside it. Payload:

    {"mode": "stdio", "code": ..., "inputs": ["1 2\\n", ...]}
    {"mode": "call", "code": ..., "fn_name": "add", "use_class": false, "inputs": [[1, 2], ...]}
    {"mode": "assert", "code": ..., "test_code": "def check(candidate): ..." or "assert add(1, 2) == 3",
     "entry_point": "add"}

Each record: {"test": i, "status": ok | early_exit | error | failed | memory | timeout | killed |
output_limit | skipped, "output": stdout text (stdio) or JSON text of the return value (call), "error": ...}.
After a timeout or memory failure the remaining tests are reported as skipped (they would cost the same).
"""

from __future__ import annotations

import json

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


def _solution_namespace(code: str) -> dict:
    namespace = base.fresh_globals()
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


def _run_stdio(payload: dict, limits: dict, index: int, test_input: str) -> dict:
    def program() -> None:
        _solution_namespace(payload["code"])

    record = base.run_in_test_process(program, limits=limits, timeout_s=limits["test_timeout_s"],
                                      stdin=test_input, tag=f"t{index}", exit_ok=True)
    if record["status"] == "early_exit":  # the program ended itself (os._exit): its output is what counts
        record["status"] = "ok"
    record["output"] = record.pop("stdout")
    return record


def _run_call(payload: dict, limits: dict, index: int, args: list) -> dict:
    ret_path = f"r{index}.json"

    def call() -> None:
        fn = _callable(_solution_namespace(payload["code"]), payload["fn_name"], payload.get("use_class", False))
        result = fn(*args) if isinstance(args, list) else fn(args)
        base._write_file(ret_path, json.dumps(plain(result)).encode())

    record = base.run_in_test_process(call, limits=limits, timeout_s=limits["test_timeout_s"],
                                      tag=f"t{index}", exit_ok=False)
    record.pop("stdout", None)
    if record["status"] == "ok":
        record["output"] = base._read_file(ret_path, limits["max_output_bytes"]).decode("utf-8", "replace")
    return record


def _run_assert(payload: dict, limits: dict) -> dict:
    def check() -> None:
        namespace = _solution_namespace(payload["code"])
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
        tests["__builtins__"] = dict(base.CLEAN_BUILTINS)
        tests[entry] = guarded
        tests.pop("check", None)
        exec(compile(payload["test_code"], "<tests>", "exec"), tests)
        if callable(tests.get("check")):
            tests["check"](guarded)

    record = base.run_in_test_process(check, limits=limits, timeout_s=limits["test_timeout_s"], tag="t0",
                                      exit_ok=False)
    record.pop("stdout", None)
    return record


def main(payload: dict, limits: dict, emit) -> None:
    mode = payload["mode"]
    if mode == "assert":
        emit({"test": 0, **_run_assert(payload, limits)})
        return
    run = _run_stdio if mode == "stdio" else _run_call
    stop = False
    for index, test_input in enumerate(payload["inputs"]):
        if stop:
            emit({"test": index, "status": "skipped"})
            continue
        record = run(payload, limits, index, test_input)
        if record["status"] == "ok":
            record.pop("stderr", None)
        emit({"test": index, **record})
        stop = record["status"] in ("timeout", "memory")
