"""Runs untrusted code in a test process (stdlib only; loaded by the sandbox server, see `server.py`).

`run_in_test_process(fn, ...)` forks a process that gets its own process group, stdin from a file,
stdout/stderr to capped files, address-space/CPU/file-size limits, and no copy of the harness's result
pipe; it calls `fn()` there and waits at most `timeout_s`. This module's `main` is the `script` entry: run a
Python source as `__main__` and report its exit status and output.
"""

from __future__ import annotations

import builtins
import importlib
import math
import os
import resource
import select
import signal
import sys
import time
import traceback

# Modules the code under test commonly imports, loaded once here so every forked test process has them
# warm - and, in the rlimits-only fallback started as root, has them at all: the sandbox uid may not be able
# to read an interpreter installed under /root.
PRELOADED = ("array", "bisect", "cmath", "collections", "copy", "dataclasses", "datetime", "decimal", "enum",
             "fractions", "functools", "hashlib", "heapq", "itertools", "json", "operator", "queue", "random", "re",
             "statistics", "string", "typing", "unittest")
for _name in PRELOADED:
    importlib.import_module(_name)

# Exit codes a test process uses to tell the harness how `fn` ended.
EXIT_OK, EXIT_ERROR, EXIT_MEMORY, EXIT_FAILED = 0, 81, 82, 83
CLEAN_BUILTINS = dict(vars(builtins))  # taken before any untrusted code runs
# C functions captured before untrusted code runs: patching the os module cannot reach these references.
_exit, _open, _write, _close, _read = os._exit, os.open, os.write, os.close, os.read


def _write_file(path: str, data: bytes) -> None:
    fd = _open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _write(fd, data)
    finally:
        _close(fd)


def _read_file(path: str, cap: int = 1 << 16) -> bytes:
    try:
        fd = _open(path, os.O_RDONLY)
    except OSError:
        return b""
    try:
        return _read(fd, cap)
    finally:
        _close(fd)


def _set_limits(limits: dict, timeout_s: float) -> None:
    memory = limits["memory_mb"] << 20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = math.ceil(timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    cap = limits["max_output_bytes"]
    resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))


def _tail(path: str, cap: int) -> tuple[str, bool]:
    try:
        with open(path, "rb") as fh:
            data = fh.read(cap + 1)
    except OSError:
        return "", False
    return data[:cap].decode("utf-8", "replace"), len(data) > cap


def run_in_test_process(fn, *, limits: dict, timeout_s: float, stdin: str = "", tag: str = "t",
                        exit_ok: bool = True) -> dict:
    """Run `fn()` in a forked, limited test process; return how it ended.

    The result has `status` (ok | early_exit | error | memory | failed | timeout | killed | output_limit),
    `time_s`, `stdout`/`stderr` (capped text), `error` (last traceback line) and `exit_code`/`signal`.
    `ok` needs proof that `fn` returned: a fresh random nonce that the test process writes only after it, so
    `os._exit(0)` part-way is `early_exit`. `exit_ok`: whether `SystemExit(0)` counts as a normal end (a
    stdin/stdout program may call exit(); a function under test may not).
    """
    in_path, out_path, err_path, done_path = f"{tag}.in", f"{tag}.out", f"{tag}.err", f"{tag}.done"
    nonce = os.urandom(16).hex().encode()
    with open(in_path, "w", encoding="utf-8") as fh:
        fh.write(stdin)
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = EXIT_ERROR
        try:
            os.setpgid(0, 0)
            fds = [os.open(in_path, os.O_RDONLY), os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                   os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)]
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            os.closerange(3, 1 << 16)
            sys.stdin = open(0, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            _set_limits(limits, timeout_s)
            try:
                fn()
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
                _write_file(done_path, nonce)
        finally:
            _exit(code)
    status = _wait(pid, timeout_s)
    elapsed = time.monotonic() - started
    cap = limits["max_output_bytes"]
    stdout, out_over = _tail(out_path, cap)
    stderr, _ = _tail(err_path, 8192)
    result = {"time_s": round(elapsed, 4), "stdout": stdout, "stderr": stderr[-4000:]}
    if status is None:
        result["status"] = "timeout"
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        result["signal"] = sig
        result["status"] = {signal.SIGXCPU: "timeout", signal.SIGXFSZ: "output_limit"}.get(sig, "killed")
    else:
        code = os.WEXITSTATUS(status)
        result["exit_code"] = code
        result["status"] = {EXIT_OK: "ok", EXIT_MEMORY: "memory", EXIT_FAILED: "failed"}.get(code, "error")
        if code == EXIT_OK and _read_file(done_path) != nonce:
            result["status"] = "early_exit"
    if out_over or "File too large" in stderr:
        result["status"] = "output_limit"
    if result["status"] in ("error", "failed"):
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        result["error"] = lines[-1][:500] if lines else f"exit code {result.get('exit_code')}"
    for path in (in_path, out_path, err_path, done_path):
        try:
            os.unlink(path)
        except OSError:
            pass
    return result


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


def fresh_globals() -> dict:
    """A `__main__` namespace with a clean copy of the builtins (patching builtins there cannot leak out)."""
    return {"__name__": "__main__", "__builtins__": dict(CLEAN_BUILTINS)}


def main(payload: dict, limits: dict, emit) -> None:
    """The `script` entry: run `payload["source"]` as `__main__` with `payload["stdin"]`."""
    def run() -> None:
        exec(compile(payload["source"], "<sandboxed>", "exec"), fresh_globals())

    emit(run_in_test_process(run, limits=limits, timeout_s=limits["test_timeout_s"], stdin=payload.get("stdin", "")))
