"""Runs untrusted code in a test process (stdlib only; loaded by the sandbox server, see `server.py`).

The harness itself runs in the server process, which never runs untrusted code: `run_in_test_process(fn,
sample, ...)` forks a test process that confines itself first (its own session and process group, the
sample's working folder, a non-root uid that can gain no privilege back, an environment of PATH, LANG, HOME
and TMPDIR alone, rlimits: processes, open files, no core dumps, then stack and address space (both the
sample's memory limit, or the problem's over a fresh interpreter's size), CPU seconds and file size), takes
stdin from an anonymous file holding the test's input and writes stdout/stderr into capped anonymous files,
and only then calls `fn()`. The server waits at
most the test's time limit (never past the sample's deadline) and reads what came back from its own
descriptors of those files, so nothing the code does to the working folder (symlinks, FIFOs, swapped files)
reaches the server.
This module's `main` is the `script` entry: run a Python source as `__main__` and report how it ended.

What it does not protect against: code in a test process can reach anything in that process - the
proof-of-completion nonce below and, in the assert and pytest forms, the tests themselves (and pytest's report) -
so a solution written to game its own verdict can pass tests of those forms (stdin/stdout and call-based outputs
are compared outside the sandbox, against expected outputs that never enter it). The namespaces, the uid and the
rlimits around the process are what keep the host, the server and the next sample safe (see `kit.sandbox`).
"""

from __future__ import annotations

import builtins
import ctypes
import importlib
import math
import os
import resource
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass


def address_space_kb() -> int | None:
    """This process's address space (`VmSize` of /proc/self/status) in KiB; None where /proc does not say."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


# The server's size now, when it has loaded only small modules of the standard library (this module's among them): a
# fresh interpreter's within 2 MB, what a judge's `python3` starts from (a problem's memory limit, `_confine`).
FRESH_KB = address_space_kb()

# Modules the code under test commonly imports, loaded once here so every forked test process has them
# warm - and, in the rlimits-only fallback started as root, has them at all: the sandbox uid may not be able
# to read an interpreter installed under /root.
PRELOADED = ("array", "bisect", "cmath", "collections", "copy", "dataclasses", "datetime", "decimal", "enum",
             "fractions", "functools", "hashlib", "heapq", "itertools", "json", "operator", "queue", "random", "re",
             "statistics", "string", "typing", "unittest")
for _name in PRELOADED:
    importlib.import_module(_name)
# No limit on the digits of int <-> str conversions (CPython 3.11 refuses more than 4,300, a safeguard the judges whose
# tests the kit runs never had: a right program that reads or prints a 10^5-digit number passes there). The test
# processes inherit it; their CPU and memory limits bound the cost of a long conversion.
sys.set_int_max_str_digits(0)

# Exit codes a test process uses to tell the harness how `fn` ended.
EXIT_OK, EXIT_ERROR, EXIT_MEMORY, EXIT_FAILED, EXIT_UNCONFINED = 0, 81, 82, 83, 84
CLEAN_BUILTINS = dict(vars(builtins))  # taken before any untrusted code runs
# C functions captured before untrusted code runs: patching the os module cannot reach these references.
_exit, _write = os._exit, os.write
PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 4, 38, 36
_libc = ctypes.CDLL(None, use_errno=True)
RESULT_FD = 3  # the test process's fd for the nonce and `fn`'s result (0, 1, 2: stdin, stdout, stderr)
_NONCE_BYTES = 16


def prctl(option: int, value: int) -> None:
    if _libc.prctl(option, value, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl({option}, {value}): {os.strerror(errno)}")


class SampleTimeout(Exception):
    """The sample's deadline passed: the server stops it and reports it timed out."""


@dataclass
class Sample:
    """One request as the harness sees it: its limits (`kit.sandbox.Limits` as a dict), where and as whom its
    test processes run, when it must end, and `emit(record)` to report a record."""

    limits: dict
    workdir: str
    uid: int | None  # None: the server's own uid (an unprivileged user without bwrap)
    deadline: float  # time.monotonic() at which the sample has run out of time
    emit: Callable[[dict], None]


def sandbox_environment(workdir: str) -> None:
    """Make this process's environment the one untrusted code gets (forked test processes inherit it): nothing
    but PATH, LANG, and HOME and TMPDIR in the sample's working folder. The server sets it for each sample."""
    os.environ.clear()
    os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8", "TMPDIR": workdir})


_streams: tuple | None = None


def _std_streams() -> tuple:
    """Text streams on fds 0, 1 and 2 for test processes, built once here and inherited by every fork (built in
    each test process, they cost a fifth of its fork): the parent never uses them, and a test process points
    those fds at its own files before it takes them as sys.stdin, sys.stdout and sys.stderr."""
    global _streams
    if _streams is None:
        _streams = (open(0, encoding="utf-8", errors="replace", closefd=False),  # noqa: SIM115
                    open(1, "w", encoding="utf-8", closefd=False),  # noqa: SIM115
                    open(2, "w", encoding="utf-8", closefd=False))  # noqa: SIM115
    return _streams


def _anonymous_file(sample: Sample, name: str, data: bytes = b"") -> int:
    """An unnamed in-memory file (its fd) owned by the sandbox uid, so the code may reopen /dev/stdin."""
    fd = os.memfd_create(name)
    if data:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    if sample.uid is not None:
        os.fchown(fd, sample.uid, sample.uid)
    os.fchmod(fd, 0o600)
    return fd


def _confine(sample: Sample, timeout_s: float) -> None:
    """In the test process, before any untrusted code: leave the server's session, drop to the sandbox uid,
    set the rlimits. Raises if it would still run as root. (The environment is the server's: see
    `sandbox_environment`.)"""
    limits = sample.limits
    os.setsid()
    os.chdir(sample.workdir)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["max_open_files"],) * 2)
    if sample.uid is not None:
        os.setgroups([])
        os.setresgid(sample.uid, sample.uid, sample.uid)
        os.setresuid(sample.uid, sample.uid, sample.uid)
    if os.getuid() == 0 or os.geteuid() == 0:  # last line of defence, whatever the configuration
        raise PermissionError("refusing to run untrusted code as root")
    prctl(PR_SET_NO_NEW_PRIVS, 1)  # no setuid program or file capability can raise it again
    # Counted per uid: only meaningful for a non-root uid (the kernel ignores it for root).
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["max_processes"],) * 2)
    memory = limits["memory_mb"] << 20
    if limits.get("program_memory_mb"):  # the problem's limit, on what the process may grow to from a fresh interpreter
        now = address_space_kb()
        grown = max(now - FRESH_KB, 0) << 10 if now is not None and FRESH_KB is not None else 0
        memory = min(memory, grown + int(limits["program_memory_mb"] * (1 << 20)))
    # The stack may grow as far as the memory limit, as on judges (Codeforces: stack = memory limit): a recursive
    # solution that raises sys.setrecursionlimit and recurses through C (functools.lru_cache) needs more than 8 MiB.
    hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
    stack = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
    resource.setrlimit(resource.RLIMIT_STACK, (stack, stack))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = math.ceil(timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    cap = limits["max_output_bytes"]
    resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))


def _read_back(fd: int, cap: int) -> tuple[bytes, bool]:
    """Up to `cap` bytes of an anonymous file from its start, and whether it held more."""
    data = os.pread(fd, cap + 1, 0)
    return data[:cap], len(data) > cap


def run_in_test_process(fn: Callable[[], bytes | None], sample: Sample, *, stdin: str = "",
                        exit_ok: bool = True) -> dict:
    """Run `fn()` in a forked, confined test process, for at most the sample's `test_timeout_s`; return how it
    ended.

    The result has `status` (ok | early_exit | error | memory | failed | timeout | killed | output_limit),
    `time_s`, `stdout`/`stderr` (capped text), `result` (the bytes `fn` returned, only for `ok` when it
    returned some, so the record of an `fn` that returns None is plain JSON), `error` (last traceback line)
    and `exit_code`/`signal`. `ok` needs proof that `fn` returned: a fresh random nonce the test process
    writes only after it, so `os._exit(0)` part-way is `early_exit`. `exit_ok`: whether `SystemExit(0)`
    counts as a normal end (a stdin/stdout program may call exit(); a function under test may not). Raises
    `SampleTimeout` when the sample's deadline passes before the test starts or ends.
    """
    budget = sample.deadline - time.monotonic()
    if budget <= 0:
        raise SampleTimeout
    cut_by_sample = budget < sample.limits["test_timeout_s"]
    timeout_s = min(sample.limits["test_timeout_s"], budget)
    nonce = os.urandom(_NONCE_BYTES)
    streams = _std_streams()
    fds = [_anonymous_file(sample, "stdin", stdin.encode("utf-8", "replace")),
           _anonymous_file(sample, "stdout"), _anonymous_file(sample, "stderr"), _anonymous_file(sample, "result")]
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            code = EXIT_ERROR
            try:
                for target, fd in enumerate(fds):
                    os.dup2(fd, target)
                os.closerange(RESULT_FD + 1, 1 << 16)  # the server's request and reply pipes among them
                try:
                    _confine(sample, timeout_s)
                except BaseException:  # noqa: BLE001 - never run the code unconfined
                    code = EXIT_UNCONFINED
                    traceback.print_exc()
                    sys.stderr.flush()
                    raise
                sys.stdin, sys.stdout, sys.stderr = streams
                returned = None
                try:
                    returned = fn()
                    code = EXIT_OK
                except SystemExit as exc:
                    code = EXIT_OK if exit_ok and exc.code in (None, 0) else EXIT_ERROR
                    if code:
                        print(f"SystemExit: {exc.code!r} before the tests finished", file=sys.stderr)
                except MemoryError:
                    code = EXIT_MEMORY
                except AssertionError:
                    traceback.print_exc()
                    code = EXIT_FAILED
                except BaseException:  # noqa: BLE001 - the code under test may raise anything
                    traceback.print_exc()
                    code = EXIT_ERROR
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                except BaseException:  # noqa: BLE001 - e.g. output over the file-size limit
                    code = code or EXIT_ERROR
                if code == EXIT_OK:
                    data = nonce + (returned or b"")
                    while data:
                        data = data[_write(RESULT_FD, data):]
            finally:
                _exit(code)
        status = _wait(pid, timeout_s)
        elapsed = time.monotonic() - started
        cap = sample.limits["max_output_bytes"]
        stdout, out_over = _read_back(fds[1], cap)
        stderr = _read_back(fds[2], 8192)[0].decode("utf-8", "replace")
        proof, _ = _read_back(fds[3], cap + _NONCE_BYTES)
    finally:
        for fd in fds:
            os.close(fd)
    if status is None and cut_by_sample:
        raise SampleTimeout
    record: dict = {"time_s": round(elapsed, 4), "stdout": stdout.decode("utf-8", "replace"),
                    "stderr": stderr[-4000:]}
    if status is None:
        record["status"] = "timeout"
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        record["signal"] = sig
        record["status"] = {signal.SIGXCPU: "timeout", signal.SIGXFSZ: "output_limit"}.get(sig, "killed")
    else:
        code = os.WEXITSTATUS(status)
        if code == EXIT_UNCONFINED:
            raise RuntimeError(f"a test process could not be confined: {stderr.strip()[-300:]}")
        record["exit_code"] = code
        record["status"] = {EXIT_OK: "ok", EXIT_MEMORY: "memory", EXIT_FAILED: "failed"}.get(code, "error")
        if code == EXIT_OK:
            if proof[:_NONCE_BYTES] != nonce:
                record["status"] = "early_exit"
            elif value := proof[_NONCE_BYTES:]:
                record["result"] = value
    # RLIMIT_FSIZE stops stdout at the cap, so output that reached it was cut there - even when the code caught
    # the write's error itself (pytest reports it on the stdout that is full, and the process then ends in error);
    # so is a returned value that filled the result file
    if out_over or len(stdout) >= cap or len(proof) >= cap or "File too large" in stderr:
        record["status"] = "output_limit"
    if record["status"] in ("error", "failed"):
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        record["error"] = lines[-1][:500] if lines else f"exit code {record.get('exit_code')}"
    return record


def _wait(pid: int, timeout_s: float) -> int | None:
    """Wait for pid at most timeout_s; on timeout kill its process group and return None."""
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout_s)
    finally:
        os.close(pidfd)
    if not ready:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        os.waitpid(pid, 0)
        return None
    return os.waitpid(pid, 0)[1]


# Untrusted code is compiled with postponed evaluation of annotations (PEP 563; Python 3.14 evaluates them lazily
# too): an annotation naming a type the code never imports (`List[int]`, as LeetCode-style replies write it) is no
# error, as it is not on the graders that import `typing` for the code (APPS, TACO, LiveCodeBench, LeetCode)
_ANNOTATIONS = annotations.compiler_flag  # the feature that `from __future__ import annotations` binds


def compiled(source: str, name: str):
    """`source` compiled as the kit runs untrusted code: with postponed annotations and no other flag of this module."""
    return compile(source, name, "exec", flags=_ANNOTATIONS, dont_inherit=True)


def fresh_globals() -> dict:
    """A `__main__` namespace with a clean copy of the builtins (patching builtins there cannot leak out).
    Made before the fork, in the server: made in the test process, the copy would touch - and so copy, page by
    page - every builtin the two processes share."""
    return {"__name__": "__main__", "__builtins__": dict(CLEAN_BUILTINS)}


def main(payload: dict, sample: Sample) -> None:
    """The `script` entry: run `payload["source"]` as `__main__` with `payload["stdin"]`."""
    namespace = fresh_globals()

    def run() -> None:
        exec(compiled(payload["source"], "<sandboxed>"), namespace)

    sample.emit(run_in_test_process(run, sample, stdin=payload.get("stdin", "")))
