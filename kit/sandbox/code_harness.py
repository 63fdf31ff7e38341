"""The `tests` entry of the sandbox (stdlib only; runs in the sandbox server, see `kit.sandbox`).

Runs a solution against its tests, one confined test process per test (`harness.run_in_test_process`), one
after the other, and reports per test what came out (or, `check`, runs a dataset's checker on outputs).
Expected outputs never enter a request that runs a solution: `kit/verify/code.py` compares outputs outside the
sandbox, or sends them to a checker in a request of its own. Payload:

    {"mode": "stdio", "code": ..., "inputs": ["1 2\\n", ...], "prelude": optional code run first,
     "input_file": optional "input.txt", "output_file": optional "output.txt",
     "runs_as": optional "livecodebench" (its grader's way of running a program: `_as_livecodebench`)}
    {"mode": "call", "code": ..., "fn_name": "add", "use_class": false, "inputs": [[1, 2], ...], "prelude": ...,
     "exact_values": optional true (`plain`), "int_keys": optional true (`_int_keys`)}
    {"mode": "assert", "code": ..., "test_code": "def check(candidate): ..." or "assert add(1, 2) == 3",
     "entry_point": "add" or "Solution().add", "prelude": optional code run first}
    {"mode": "pytest", "code": ..., "test_code": "from solution import add\ndef test_add(): ..."}
    {"mode": "check", "code": checker source, "cases": [{"input": ..., "expected": ..., "output": ...}, ...]}

A `prelude` (`stdio`, `call`, `assert`: the imports a grader gives every solution, as LiveCodeBench's does, or
LeetCodeDataset's imports and `ListNode` / `TreeNode` helpers) runs first, in a namespace of its own; the solution
starts with its names. The function under test must be the solution's own, not a name only the prelude bound.
Untrusted code is compiled with postponed annotations (`base.compiled`).

`assert` runs the solution, then the test code with the entry point bound: a function of the solution, or a method
of a fresh instance of one of its classes (`Solution().add`, LeetCodeDataset's form). The tests see the prelude's
names as the prelude bound them, so a solution cannot redefine the helpers that judge it. A value the entry point
returns must be plain (`plain`) or a plain object (`_plain_objects`: the linked lists and trees LeetCode's tests
compare with `is_same_list` / `is_same_tree`).

`stdio` with an `input_file` or an `output_file` (a problem that asks for `input.txt` and `output.txt`) runs the
program in a fresh folder that holds the input file (written by the server: no limit on the files a test process
writes applies to it), standard input empty; its output is what it wrote to the output file, read in its test process
after it ended (or called exit()), within the output cap.

`check` runs a dataset's checker (open-r1/codeforces's `generated_checker`) once per case, as `checker.py INPUT
EXPECTED OUTPUT` in a fresh folder of its test process, and reports what it printed. The kit sends it in a request
of its own, after the program's request has ended and the server has killed every process it left, so the
expected outputs it carries never reach the program under test (as in the other modes, they never enter a
request that runs it).

`pytest` runs a test module with pytest, as KodCode's grader does: the solution is `solution.py` and the tests
`test_solution.py` in a fresh folder of the test process, after `from solution import *` (as in every test file
KodCode's grader ran; BigCodeBench's tests share the solution's module), with no plugin but pytest's own and no
configuration but an empty one of that folder. pytest is imported here in the server, once, so test processes
fork with it loaded; it is the one module these harnesses import beyond the stdlib (a dependency of the kit). Its
record says how many tests passed (`passed`) and what failed; the sample passes only when pytest exits 0 and no
test was skipped (the code under test can skip a test itself). numpy, once a request's code names it (APPS's and
TACO's graders import it for every solution: `kit.core.testcases.GRADERS`), is imported here too, so that no test
process pays for its import (`bench/verify_throughput.py` (c) measures both); a server that never runs code naming it
does not load it.

Each record: {"test": i, "status": ok | early_exit | error | failed | memory | timeout | killed |
output_limit | skipped, "output": stdout text (stdio) or JSON text of the return value (call), "error": ...}.
After a timeout or memory failure the remaining tests (or checks) are reported as skipped (they would cost the
same).
"""

from __future__ import annotations

import ast
import collections
import decimal
import fractions
import importlib
import io
import json
import os
import pkgutil
import sys
import tempfile
import types
from collections.abc import Callable

try:  # inside the sandbox server the generic harness is registered under this name
    import _kit_harness_script as base  # type: ignore[import-not-found]
except ImportError:  # imported from the kit itself (e.g. for reading the docs or testing)
    from kit.sandbox import harness as base

_PLAIN = (type(None), bool, int, float, str)


# The standard library's containers, as it defines them, captured before untrusted code runs: a solution may return
# one (MBPP's canonical `freq_element` returns a Counter; a namedtuple compares as the tuple it is). Counter is a
# Python class whose methods a solution could replace; the others are C types, which it cannot change.
_COUNTER_MEMBERS = dict(vars(collections.Counter))
_NAMEDTUPLE_MEMBERS = frozenset(vars(collections.namedtuple("_Shape", ""))) | {
    "__annotations__", "__orig_bases__", "__annotate__", "__annotate_func__", "__replace__", "__qualname__",
    "__firstlineno__", "__static_attributes__"}


_CONTAINERS = (list, tuple, set, frozenset, dict)


def _compares_as(kind: type) -> type | None:
    """The builtin container type a value of `kind` compares as: the type itself for the builtin containers, and for
    the standard library's as it made them dict (Counter, OrderedDict, defaultdict), list (deque) or tuple (a
    namedtuple); else None."""
    if kind in _CONTAINERS:
        return kind
    if kind in (collections.OrderedDict, collections.defaultdict):
        return dict
    if kind is collections.Counter and dict(vars(kind)) == _COUNTER_MEMBERS:
        return dict
    if kind is collections.deque:
        return list
    members, fields = vars(kind), vars(kind).get("_fields")
    if (kind.__bases__ == (tuple,) and type(kind) is type and isinstance(fields, tuple)
            and all(isinstance(name, str) and type(members.get(name)).__name__ == "_tuplegetter" for name in fields)
            and set(members) <= _NAMEDTUPLE_MEMBERS | set(fields)):
        return tuple
    return None


_NOT_A_NUMBER = object()


def _number(value):
    """The int, float or bool a number of another type equals, as Python's `==` compares them: a numpy scalar (its
    `item()`), a Fraction or Decimal equal to an int or a float; None for one equal to none (`Fraction(1, 3)`);
    `_NOT_A_NUMBER` for anything else."""
    kind = type(value)
    if kind.__module__ == "numpy" and getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)):
        item = value.item()
        return item if type(item) in _PLAIN else _NOT_A_NUMBER
    if kind is not fractions.Fraction and (kind is not decimal.Decimal or not value.is_finite()):
        return _NOT_A_NUMBER
    if value == int(value):
        return int(value)
    as_float = float(value)
    return as_float if as_float == value else None


UNEQUAL = "__kit_unequal__"  # wraps, with `exact`, a value that Python's `==` never finds equal to one read from JSON


def plain(value, depth: int = 0, exact: bool = False):
    """`value` made of builtin types only (JSON-ready), or TypeError: objects with a custom `__eq__` never pass. The
    standard library's containers (`_compares_as`) become the builtin value they compare as, and numbers of other types
    (numpy scalars, Fraction, Decimal: `_number`) the int or float they equal. With `exact` (a grader
    that compares with Python's `==`: LiveCodeBench's), a value that `==` never finds equal to what JSON holds - a
    tuple, set or deque, a dict with keys that are no strings - is wrapped, `{UNEQUAL: its type, "value": ...}`, so that
    no expected value equals it (a dict subclass, equal to a dict, is not)."""
    if depth > 100:
        raise TypeError("result nested too deeply")
    kind = type(value)
    if kind in _PLAIN:
        return value
    if (number := _number(value)) is not _NOT_A_NUMBER:
        if number is None:  # equal to no int or float
            return {UNEQUAL: kind.__name__, "value": str(value)} if exact else float(value)
        return number
    container = _compares_as(kind)
    if container in (list, tuple, set, frozenset):
        items = [plain(v, depth + 1, exact) for v in value]
        items = items if container in (list, tuple) else sorted(items, key=repr)
        return {UNEQUAL: kind.__name__, "value": items} if exact and kind is not list else items
    if container is dict:
        out = {}
        for key, v in value.items():
            if type(key) not in _PLAIN:
                raise TypeError(f"result has a dict key of type {type(key).__name__}")
            out[str(key) if type(key) is not str else key] = plain(v, depth + 1, exact)
        if exact and any(type(key) is not str for key in value):
            return {UNEQUAL: f"{kind.__name__} with keys that are no strings", "value": out}
        return out
    raise TypeError(f"result is not a plain value (type {kind.__name__})")


# The special methods a plain object's class may define: none that compares, converts, hashes or fetches attributes
_OBJECT_METHODS = frozenset({"__init__", "__repr__", "__str__", "__module__", "__qualname__", "__doc__", "__dict__",
                             "__weakref__", "__annotations__", "__firstlineno__", "__static_attributes__",
                             "__annotate__", "__annotate_func__", "__annotations_cache__"})
_MAX_OBJECTS = 1_000_000


def _plain_objects(value) -> None:
    """TypeError unless `value` is made of plain values (`plain`: dict keys too, and the standard library's containers)
    and plain objects - instances of a class whose only base is `object` and whose body defines only methods, plain
    constants and none of the special methods that compare, convert, hash or fetch attributes, with attributes that are
    again such values. It is walked without recursion (a LeetCode linked list may hold 10^5 nodes). A plain object
    compares by identity, so it passes only a test that reads its attributes (`is_same_list`, `is_same_tree`)."""
    pending, seen, kinds = [value], set(), {}  # kinds: each class's builtin counterpart (None: a plain object's class)
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind in _PLAIN or id(item) in seen:
            continue
        seen.add(id(item))
        if len(seen) > _MAX_OBJECTS:
            raise TypeError("result holds too many objects")
        if kind not in kinds:  # each class is checked once: a linked list's nodes share one
            kinds[kind] = _compares_as(kind)
            if kinds[kind] is None:
                _check_plain_class(kind)
        if kinds[kind] in (list, tuple, set, frozenset):
            pending.extend(item)
        elif kinds[kind] is dict:
            pending.extend(item)
            pending.extend(item.values())
        else:
            pending.extend(vars(item).values())


def _check_plain_class(kind: type) -> None:
    """TypeError unless instances of `kind` are plain objects (see `_plain_objects`)."""
    if kind.__bases__ != (object,) or type(kind) is not type or "__slots__" in vars(kind):
        raise TypeError(f"result is not a plain value (type {kind.__name__})")
    for name, member in vars(kind).items():
        special = name.startswith("__") and name.endswith("__")
        if special and name not in _OBJECT_METHODS or not special and not (
                isinstance(member, types.FunctionType) or type(member) in _PLAIN):
            raise TypeError(f"result is an object whose class {kind.__name__} defines {name}")


def _run_solution(code: str, namespace: dict) -> dict:
    """Run the solution in `namespace` (made by `base.fresh_globals()` before the fork: see there)."""
    exec(base.compiled(code, "<solution>"), namespace)
    return namespace


def _run_prelude(payload: dict, namespace: dict, prelude: dict) -> dict:
    """Run the payload's prelude, if it has one, in `prelude` (its own namespace) and give its names to `namespace`
    (the solution's); return those names."""
    if not payload.get("prelude"):
        return {}
    exec(base.compiled(payload["prelude"], "<prelude>"), prelude)
    given = {name: value for name, value in prelude.items() if name != "__builtins__"}
    namespace.update(given)
    return given


def _own(namespace: dict, name: str, given: dict):
    """What the solution bound to `name` in `namespace`: None when it is absent or only the prelude's (`given`)."""
    value = namespace.get(name)
    return None if name in given and value is given[name] else value


def _callable(namespace: dict, fn_name: str, use_class: bool, given: dict):
    """The function under test, as the solution defines it (LiveCodeBench's and TACO's graders decide by the
    solution, not the starter code): the method of a fresh instance of its `class Solution` when it has that method
    (or no function of the name), else its top-level function - so a reply that drops the starter's class passes, as
    it does there. `use_class` (the starter code defines the class) only says which is missing."""
    solution_class, function = _own(namespace, "Solution", given), _own(namespace, fn_name, given)
    if isinstance(solution_class, type) and (function is None or hasattr(solution_class, fn_name)):
        return getattr(solution_class(), fn_name)
    if function is not None:
        return function
    if use_class:
        raise NameError("starter code defines class Solution, but the solution does not")
    raise NameError(f"the solution defines no function {fn_name!r}")


def _printed(fn: Callable[[], None], sample: base.Sample, stdin: str = "") -> dict:
    """The record of a program whose output is what it prints (a stdin/stdout solution, a checker)."""
    record = base.run_in_test_process(fn, sample, stdin=stdin, exit_ok=True)
    if record["status"] == "early_exit":  # the program ended itself (os._exit): its output is what counts
        record["status"] = "ok"
    record["output"] = record.pop("stdout")
    return record


def _namespaces(payload: dict) -> tuple[dict, dict]:
    """The solution's namespace and the prelude's (empty without a prelude), made before the fork."""
    return base.fresh_globals(), base.fresh_globals() if payload.get("prelude") else {}


def _run_stdio(payload: dict, sample: base.Sample, test_input: str) -> dict:
    namespace, prelude = _namespaces(payload)
    input_file, output_file = payload.get("input_file"), payload.get("output_file")

    def program() -> None:
        _run_prelude(payload, namespace, prelude)
        _run_solution(payload["code"], namespace)

    if payload.get("runs_as") == "livecodebench" and not input_file and not output_file:
        return _printed(lambda: _as_livecodebench(payload, namespace, prelude, test_input), sample)
    if not input_file and not output_file:
        return _printed(program, sample, test_input)
    folder = _folder_with(sample, input_file, test_input)

    def in_folder() -> bytes | None:
        """The program in its folder, which holds its input file; its output file read back after it."""
        os.chdir(folder)
        if not output_file:
            return program()
        try:
            program()
        except SystemExit as exc:  # exit() after writing its output: the file is still read
            if exc.code not in (None, 0):
                raise
        with open(output_file, "rb") as handle:  # its own file: a name it made something else fails the test
            return handle.read(sample.limits["max_output_bytes"] + 1)

    if not output_file:  # its input in its file, standard input empty; its output is what it printed
        return _printed(in_folder, sample)
    record = base.run_in_test_process(in_folder, sample, stdin="" if input_file else test_input, exit_ok=True)
    returned = record.pop("result", b"")
    if record["status"] == "early_exit":
        record.update(status="error", error=f"the program ended itself before its {output_file} was read")
    record.pop("stdout")  # what it printed does not count
    record["output"] = returned.decode("utf-8", "replace") if record["status"] == "ok" else ""
    return record


# LiveCodeBench's grader (lcb_runner/evaluation/testing_util.py) runs a stdin program as no judge does; `runs_as:
# livecodebench` runs it the same way, so that a kit verdict on LiveCodeBench is its grader's (checked against that
# grader, program by program):
# - `clean_if_name`: a last top-level `if __name__ == '__main__':` block is replaced by its body;
# - `make_function`: the imports stay at the top, every other statement becomes the body of `wrapped_function`, in a
#   module named `tmp_sol` (a name the program binds at its top level is no global: `global` finds nothing; a module
#   whose code says `class Solution` must have that class at its top level: the grader makes one);
# - `call_method`: `sys.stdin` is its `MockStdinWithBuffer` (`readline` as a file's, `read` the whole input,
#   `readlines` its lines without their ends, `buffer.read` its bytes, `buffer.readline` always the first line;
#   iterating it fails), `sys.stdout` a StringIO whose `close` fails (what reached it is the output), `open` (of the
#   builtins module) `unittest.mock.mock_open` of the input, and SystemExit ends the program normally. Its patches of
#   `sys.stdin.readline`, `readlines` and `read` are made before `sys.stdin` is replaced, so they land on the grader
#   process's own standard input: the stream its imports bound to `stdin` (`from sys import *`), whose `readline`
#   then gives the input's lines without their ends, one after the other. That process (a multiprocessing child) reads
#   /dev/null and its `stdout` is not counted; its `reliability_guard` made `quit` None before the imports ran.


def _livecodebench_source(code: str) -> str:
    """`code` as LiveCodeBench's grader rewrites a stdin program (`clean_if_name`, then `make_function` without its
    imports, which the tests' prelude gives): as it is where it does not parse."""
    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            code = ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)
    except Exception:  # noqa: BLE001 - as the grader: the code as it is
        pass
    try:
        tree = ast.parse(code)
        imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
        function = ast.FunctionDef(
            name="wrapped_function", args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[],
                                                        defaults=[]),
            body=[node for node in tree.body if not isinstance(node, ast.Import | ast.ImportFrom)],
            decorator_list=[], returns=None, lineno=-1, **({"type_params": []} if "type_params" in
                                                            ast.FunctionDef._fields else {}))
        return ast.unparse(imports) + "\n" + ast.unparse(function)
    except Exception:  # noqa: BLE001 - as the grader: the code as it is (it then has no wrapped_function)
        return code


class _LiveCodeBenchStdin:
    """LiveCodeBench's `MockStdinWithBuffer`."""

    def __init__(self, inputs: str) -> None:
        self.inputs, self._stringio, self.buffer = inputs, io.StringIO(inputs), _LiveCodeBenchBuffer(inputs)

    def read(self, *args) -> str:
        return self.inputs

    def readline(self, *args) -> str:
        return self._stringio.readline(*args)

    def readlines(self, *args) -> list[str]:
        return self.inputs.split("\n")

    def __getattr__(self, name: str):
        return getattr(self._stringio, name)


class _LiveCodeBenchBuffer:
    def __init__(self, inputs: str) -> None:
        self.inputs = inputs.encode("utf-8")

    def read(self, *args) -> bytes:
        return self.inputs

    def readline(self, *args) -> bytes:
        return self.inputs.split(b"\n")[0] + b"\n"


def _as_livecodebench(payload: dict, namespace: dict, prelude: dict, test_input: str) -> None:
    """Run a stdin program as LiveCodeBench's grader runs it (see above); print what it printed."""
    import builtins
    import unittest.mock  # loaded in the server for such requests (`_load_livecodebench`)

    real_out = sys.stdout
    own_stdin = io.StringIO()  # the grader process's standard input (/dev/null), patched while the program runs
    builtins.quit = namespace["__builtins__"]["quit"] = None
    sys.stdin, sys.stdout = own_stdin, io.StringIO()  # its output is not counted
    _run_prelude(payload, namespace, prelude)
    source = _livecodebench_source(payload["code"])
    namespace["__name__"] = "tmp_sol"
    exec(base.compiled(source, "<solution>"), namespace)
    if "class Solution" in source:
        namespace["Solution"]()
    function = namespace["wrapped_function"]
    lines = iter(test_input.split("\n"))
    own_stdin.readline = lambda *args: next(lines)
    own_stdin.readlines = lambda *args: test_input.split("\n")
    own_stdin.read = lambda *args: test_input
    builtins.open = namespace["__builtins__"]["open"] = unittest.mock.mock_open(read_data=test_input)
    captured = io.StringIO()
    captured.close = lambda x: 1  # as the grader's `Capturing`
    sys.stdin, sys.stdout = _LiveCodeBenchStdin(test_input), captured
    try:
        function()
    except SystemExit:
        pass
    finally:
        sys.stdin, sys.stdout = own_stdin, real_out
    real_out.write(captured.getvalue())


def _load_livecodebench(payload: dict) -> None:
    """unittest.mock imported in the server (trusted code), once, for a request that runs programs as LiveCodeBench's
    grader does (`_as_livecodebench` mocks `open` with it), so test processes fork with it loaded."""
    if payload.get("runs_as") == "livecodebench" and "unittest.mock" not in sys.modules:
        importlib.import_module("unittest.mock")


def _folder_with(sample: base.Sample, input_file: str | None, test_input: str) -> str:
    """A fresh folder for one test of a program that reads a file, holding that file, made here in the server, so
    that the test process's limit on the files it writes does not apply to an input (Codeforces inputs reach tens of
    MB); the file is created where nothing was (a name planted in the meantime fails), and owned by the sandbox uid."""
    folder = tempfile.mkdtemp(dir=sample.workdir)
    paths = [folder]
    if input_file:
        path = os.path.join(folder, input_file)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(test_input)
        paths.append(path)
    if sample.uid is not None:
        for path in paths:
            os.chown(path, sample.uid, sample.uid)
    return folder


def _run_call(payload: dict, sample: base.Sample, args: list) -> dict:
    namespace, prelude = _namespaces(payload)

    def call() -> bytes:
        given = _run_prelude(payload, namespace, prelude)
        fn = _callable(_run_solution(payload["code"], namespace), payload["fn_name"], payload.get("use_class", False),
                       given)
        called = _int_keys(args) if payload.get("int_keys") else args
        result = fn(*called) if isinstance(called, list) else fn(called)
        exact = payload.get("exact_values", False)
        if exact and isinstance(result, tuple):  # as LiveCodeBench's grader, a tuple returned is a list
            result = list(result)
        return json.dumps(plain(result, exact=exact)).encode()

    record = base.run_in_test_process(call, sample, exit_ok=False)
    record.pop("stdout", None)
    returned = record.pop("result", b"")
    if record["status"] == "ok":
        record["output"] = returned.decode("utf-8", "replace")
    return record


def _int_keys(args):
    """APPS's and TACO's graders' `process_input_output` (`int_keys`): a first argument that is a dict whose keys all
    read as integers (`int(key)`) gets integer keys, as JSON could not hold them; the other arguments stay (those
    graders drop them, failing every program, right or wrong)."""
    if not isinstance(args, list) or not args or not isinstance(args[0], dict):
        return args
    try:
        first = {int(key): value for key, value in args[0].items()}
    except (TypeError, ValueError):
        return args
    return [first, *args[1:]]


def _entry_point(namespace: dict, entry: str, given: dict):
    """The function under test: `name` in the solution's namespace, or the method of a fresh instance of a class
    there, `Class().method` - bound by the solution, not only by the prelude (`given`: HumanEval's prompt, run as the
    prelude, holds a stub of the function to write)."""
    name, _, method = entry.partition("().")
    value = _own(namespace, name, given)
    if not method:
        if value is None:
            raise NameError(f"the solution defines no function {entry!r}")
        return value
    if not isinstance(value, type):
        raise NameError(f"the solution defines no class {name!r}")
    return getattr(value(), method)


def _run_assert(payload: dict, sample: base.Sample) -> dict:
    (namespace, prelude), test_builtins = _namespaces(payload), dict(base.CLEAN_BUILTINS)

    def check() -> None:
        given = _run_prelude(payload, namespace, prelude)
        _run_solution(payload["code"], namespace)
        entry = payload["entry_point"]
        candidate = _entry_point(namespace, entry, given)

        def guarded(*args, **kwargs):
            result = candidate(*args, **kwargs)
            _plain_objects(result)  # raises for objects that could fake equality; the original value is returned
            return result

        # The tests see the solution's names (HumanEval tests call helpers from the prompt) and the prelude's as it
        # bound them, with clean builtins; the entry point's name is bound to the guarded candidate, so MBPP-style
        # top-level `assert add(1, 2) == 3` lines are checked too. A `check(candidate)` function is then called.
        tests = {**namespace, **given}
        tests["__builtins__"] = test_builtins
        if entry.isidentifier():
            tests[entry] = guarded
        tests.pop("check", None)
        exec(base.compiled(payload["test_code"], "<tests>"), tests)
        if callable(tests.get("check")):
            tests["check"](guarded)

    record = base.run_in_test_process(check, sample, exit_ok=False)
    record.pop("stdout", None)
    return record


_PYTEST_CONFIG = "[pytest]\n"  # an empty configuration: none of the host's is read
# -s: what the code prints goes to the test process's capped stdout, as in the other modes (capsys still works)
# -p no:...: plugins a test run here has no use for (a cache, doctests, reports written to files or sent away)
_PYTEST_ARGS = ("-q", "-s", "--no-header", "--tb=short", "-p", "no:cacheprovider", "-p", "no:doctest",
                "-p", "no:junitxml", "-p", "no:pastebin")
_NO_TESTS_COLLECTED = 5
_loaded_pytest = None


def _load_pytest():
    """pytest and its own plugins, imported in the server (trusted code) once, so test processes fork with them
    loaded - and, in the rlimits-only fallback started as root, can use them at all (see `base.PRELOADED`)."""
    global _loaded_pytest
    if _loaded_pytest is None:
        import pdb  # noqa: F401 - its debugging plugin imports it when configured (unittest tests need that plugin)

        import _pytest
        import pytest

        for module in pkgutil.walk_packages(_pytest.__path__, "_pytest."):  # what pytest.main imports lazily
            try:
                importlib.import_module(module.name)
            except ImportError:  # a module for another platform or an optional dependency
                pass
        _loaded_pytest = pytest
    return _loaded_pytest


_NUMPY_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _load_numpy(payload: dict) -> None:
    """numpy imported in the server (trusted code), once, when the request's code names it, so test processes fork
    with it loaded. With one BLAS thread: a pool would hold address space the test processes' limit counts, and its
    threads would not survive the fork. The variables leave the environment the test processes inherit after."""
    if "numpy" in sys.modules or not any("numpy" in str(payload.get(key) or "") for key in ("prelude", "code",
                                                                                         "test_code")):
        return
    os.environ.update(dict.fromkeys(_NUMPY_THREADS, "1"))
    try:
        importlib.import_module("numpy")
    except ImportError:  # not installed: the code's own import fails in its test process, as it would anywhere
        pass
    finally:
        for name in _NUMPY_THREADS:
            os.environ.pop(name, None)


class _Outcomes:
    """A pytest plugin object counting what passed and noting what did not (one line each)."""

    def __init__(self) -> None:
        self.passed, self.problems = 0, []

    def _note(self, where: str, report) -> None:
        crash = getattr(report.longrepr, "reprcrash", None)  # the exception's message (a failed assert's text)
        if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason)
            text = str(report.longrepr[-1])
        else:
            text = crash.message if crash is not None else str(getattr(report, "longreprtext", "") or "")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        why = (lines[0] if crash is not None else lines[-1]) if lines else report.outcome
        self.problems.append(f"{where}: {why}"[:300])

    def pytest_runtest_logreport(self, report) -> None:
        name = report.nodeid.rpartition("::")[2] or report.nodeid
        if report.when == "call" and report.passed:
            self.passed += 1
        elif report.failed:
            self._note(name if report.when == "call" else f"{name} ({report.when})", report)
        elif report.skipped:
            self._note(f"{name} was skipped", report)

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self._note("collecting the tests", report)


def _run_pytest(payload: dict, sample: base.Sample) -> dict:
    try:
        pytest, outcomes = _load_pytest(), _Outcomes()
    except ImportError as exc:  # a kit installed without its dependencies
        return {"status": "error", "error": f"tests written for pytest need pytest installed with the kit ({exc})"}
    # The module starts with `from solution import *`, as every test_solution.py KodCode's grader ran does: tests
    # use the solution's names (and modules it imported, `math`) without importing them, as BigCodeBench's do too
    files = {"solution.py": payload["code"], "test_solution.py": "from solution import *\n" + payload["test_code"],
             "pytest.ini": _PYTEST_CONFIG}

    def run() -> bytes:
        folder = tempfile.mkdtemp(dir=sample.workdir)
        for name, text in files.items():
            with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
                handle.write(text)
        os.chdir(folder)
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        sys.dont_write_bytecode = True
        code = pytest.main([os.path.join(folder, "test_solution.py"), "-c", os.path.join(folder, "pytest.ini"),
                            "--rootdir", folder, *_PYTEST_ARGS], plugins=[outcomes])
        return json.dumps({"exit_code": int(code), "passed": outcomes.passed, "problems": outcomes.problems}).encode()

    record = base.run_in_test_process(run, sample, exit_ok=False)
    record.pop("stdout", None)
    returned = record.pop("result", b"")
    if record["status"] != "ok":
        return record
    try:
        ran = json.loads(returned)
    except ValueError:
        return {**record, "status": "error", "error": "pytest reported nothing"}
    record["passed"], code, problems = ran.get("passed", 0), ran.get("exit_code"), ran.get("problems") or []
    if code == 0 and record["passed"] and not problems:
        return record
    if problems:
        why = problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
    elif code in (0, _NO_TESTS_COLLECTED):
        why = "no test ran"
    else:  # a usage or internal error of pytest itself: its last words are on stderr
        last = [line for line in record.get("stderr", "").splitlines() if line.strip()][-1:]
        why = f"pytest ended with exit code {code}" + (f": {last[0].strip()[:300]}" if last else "")
    record.update(status="failed", error=why)
    return record


def _grader_text(text: str) -> str:
    """An output as the Codeforces grader hands it to a checker: `\\r` and empty lines dropped."""
    lines = [line.rstrip("\r") for line in text.splitlines()]
    return "".join(line + "\n" for line in lines if line)


def _run_check(payload: dict, sample: base.Sample, case: dict) -> dict:
    namespace = base.fresh_globals()
    files = {"input.txt": case["input"], "expected.txt": _grader_text(case["expected"]),
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
        exec(base.compiled(payload["code"], "<checker>"), namespace)

    return _printed(check, sample)


def main(payload: dict, sample: base.Sample) -> None:
    mode = payload["mode"]
    _load_numpy(payload)
    _load_livecodebench(payload)
    if mode in ("assert", "pytest"):
        sample.emit({"test": 0, **(_run_assert if mode == "assert" else _run_pytest)(payload, sample)})
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
