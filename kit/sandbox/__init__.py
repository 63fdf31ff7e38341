"""Run untrusted Python (model output) with limits - the sandbox contract of design.md.

A `Sandbox` is a long-lived fork server (`kit/sandbox/server.py`) that, where bubblewrap is installed,
lives in its own namespaces: no network, a read-only root, the home folders, /run and the Hugging Face
cache hidden behind empty tmpfs mounts, private size-capped /tmp and /dev/shm, its own PID namespace, and it
dies with its parent. The server never runs untrusted code: for each test of a sample it forks a fresh test
process that drops to a non-root uid (root's RLIMIT_NPROC is not enforced by the kernel) that can gain no
privilege back, gets an empty environment, the sample's fresh working folder, its own session and rlimits
(address space, and a stack as large, as judges give; CPU seconds, processes, file size, open files), and only
then runs the code (see `harness.py`). A test that outruns its limit has its process group killed; after every
sample the server kills every leftover process and wipes /tmp, before the next request.

Without bwrap (not installed, or `KIT_SANDBOX_ISOLATION=rlimits`) the same server runs with rlimits only -
still dropping to a non-root uid when started as root - and says loudly that isolation is reduced. When
bwrap is installed but cannot start, that is an error, never a silent downgrade.

May import: kit.core (the fork lock). `server.py`, `harness.py` and `code_harness.py` run inside the sandbox
as scripts of the stdlib (and pytest, which `code_harness.py` imports for tests written as pytest modules) and
import nothing of kit there. The code verifier and the CLI, above it,
use it; the sandbox knows nothing of verdicts or recipes.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import secrets
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from kit.core.parallel import FORK_LOCK

log = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent
HARNESSES = {  # entry name -> file; loaded by the server in this order
    "script": _HERE / "harness.py",
    "tests": _HERE / "code_harness.py",
}
_SCRATCH = "/tmp/kit"
_UIDS = itertools.count()
_warned = threading.Event()

Isolation = Literal["auto", "bwrap", "rlimits"]


class SandboxError(RuntimeError):
    """The sandbox itself could not be started."""


@dataclass(frozen=True)
class Limits:
    """Limits of one sample (its tests run one after the other, each in its own test process)."""

    timeout_s: float | None = 60.0  # wall time of the whole sample; None: kit.verify.code sets it from its tests
    test_timeout_s: float = 6.0  # wall time of one test process
    memory_mb: int = 2048  # address space of one test process
    # A problem's own memory limit, as a judge's `ulimit -v` on a fresh `python3` applies it: a test process may grow
    # by as much as a fresh interpreter could under it (the server's own size at its start counts as fresh), and
    # never beyond memory_mb. None: memory_mb alone.
    program_memory_mb: float | None = None
    max_output_bytes: int = 4 << 20  # stdout / any written file of one test process
    max_processes: int = 16  # processes of the sandbox uid
    max_open_files: int = 128
    tmp_mb: int = 512  # size of the private /tmp


@dataclass
class SandboxResult:
    """What came back from one request."""

    records: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = False  # the harness ran to its end (it sent the request's token)
    timed_out: bool = False  # the sample outran `Limits.timeout_s`
    crashed: bool = False  # the sandbox server died (e.g. the code killed its parent); it is restarted
    truncated: bool = False  # the records outgrew their cap
    time_s: float = 0.0
    error: str | None = None  # harness error, if it reported one


def bwrap_available() -> bool:
    return shutil.which("bwrap") is not None


def _hidden_dirs() -> list[str]:
    """Folders that may hold secrets: home folders, /run, and wherever Hugging Face keeps its token."""
    candidates = [os.path.expanduser("~"), "/root", "/home", "/run", "/var/run"]
    for var in ("HF_HOME", "HF_TOKEN_PATH", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        if os.environ.get(var):
            value = os.environ[var]
            candidates.append(value if var != "HF_TOKEN_PATH" else os.path.dirname(value))
    hidden: list[str] = []
    for path in sorted({os.path.realpath(p) for p in candidates if p}, key=len):
        if path in ("/", "/usr", "/etc", "/tmp") or not os.path.isdir(path):
            continue
        if not any(path == h or path.startswith(h + "/") for h in hidden):
            hidden.append(path)
    return hidden


def _needed_paths() -> list[str]:
    """Folders the sandboxed interpreter and the harness must see even when they lie in a hidden folder."""
    paths = {sys.base_prefix, sys.prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),
             str(_HERE)}
    return sorted({os.path.realpath(p) for p in paths})


def _bwrap_command(limits: Limits, unprivileged: bool) -> tuple[list[str], list[str]]:
    """The bwrap command line, and the paths it binds inside the sandbox's /tmp (the server must not wipe
    them). The interpreter and the kit are bound back after every tmpfs is mounted, so they stay visible
    wherever they live (a home folder, a venv or a checkout under /tmp)."""
    cmd = ["bwrap", "--ro-bind", "/", "/"]
    hidden = _hidden_dirs()
    for path in hidden:
        cmd += ["--perms", "0755", "--tmpfs", path]
    cmd += ["--dev", "/dev", "--perms", "1777", "--size", str(64 << 20), "--tmpfs", "/dev/shm",
            "--remount-ro", "/dev",
            "--perms", "1777", "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp",
            "--proc", "/proc"]
    covered = [*hidden, "/tmp"]
    made: set[str] = set()
    kept: list[str] = []
    for path in _needed_paths():
        inside = next((c for c in covered if path.startswith(c + "/")), None)
        if inside is None:
            continue
        if inside == "/tmp":
            kept.append(path)
        parts = Path(path).relative_to(inside).parts
        for i in range(1, len(parts)):
            parent = str(Path(inside, *parts[:i]))
            if parent not in made:
                cmd += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        cmd += ["--ro-bind", path, path]
    cmd += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--chdir", "/tmp"]
    if unprivileged:
        cmd.insert(1, "--unshare-user")
    return cmd, kept


class Sandbox:
    """A fork server for untrusted code. Not thread-safe: use one per worker thread.

    >>> with Sandbox() as box:
    ...     record = box.run_script("print(input()[::-1])", stdin="abc")
    >>> record["stdout"]
    'cba\\n'
    """

    def __init__(self, limits: Limits | None = None, isolation: Isolation = "auto") -> None:
        self.limits = limits or Limits()
        self.requested = isolation
        self.isolation: str | None = None  # "bwrap" or "rlimits" once started
        self._proc: subprocess.Popen[bytes] | None = None
        self._host_scratch: str | None = None
        self._stderr = tempfile.TemporaryFile()
        self._uid = 62000 + (os.getpid() * 13 + next(_UIDS)) % 3000 if os.geteuid() == 0 else None

    # -- lifecycle --------------------------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        requested = self.requested
        if requested == "auto":
            requested = os.environ.get("KIT_SANDBOX_ISOLATION", "auto")
        if requested not in ("auto", "bwrap", "rlimits"):
            raise SandboxError(f"KIT_SANDBOX_ISOLATION must be auto, bwrap or rlimits, got {requested!r}")
        if requested == "rlimits" or (requested == "auto" and not bwrap_available()):
            self._warn("bubblewrap (bwrap) is not installed" if requested == "auto" else "isolation=rlimits")
            self._launch(bwrap=False)
            return
        if not bwrap_available():
            raise SandboxError("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
        try:
            self._launch(bwrap=True)
        except SandboxError as exc:  # installed but not working: never fall back silently
            raise SandboxError(f"bubblewrap is installed but the sandbox did not start ({exc}); fix it, or set "
                               "KIT_SANDBOX_ISOLATION=rlimits to accept reduced isolation") from None

    def _warn(self, why: str) -> None:
        if not _warned.is_set():
            _warned.set()
            who = "a separate non-root uid" if self._uid is not None else "your own user"
            log.warning("%s: untrusted code runs with rlimits only, as %s - NO network or filesystem "
                        "isolation: what that user can read or reach, the code can too. Install bubblewrap "
                        "(apt-get install bubblewrap) for the full sandbox.", why, who)

    def _launch(self, bwrap: bool) -> None:
        config: dict[str, Any] = {"harnesses": {k: str(v) for k, v in HARNESSES.items()}}
        python = [os.path.realpath(sys.executable), "-I"]
        server = str(_HERE / "server.py")
        if bwrap:
            bwrap_cmd, kept = _bwrap_command(self.limits, unprivileged=os.geteuid() != 0)
            config.update(uid=self._uid, pid_namespace=True, scratch=_SCRATCH, keep=kept)
            cmd = [*bwrap_cmd, *python, server]
            cwd = "/"
        else:
            self._host_scratch = tempfile.mkdtemp(prefix="kit-sandbox-")
            os.chmod(self._host_scratch, 0o711)  # the sandbox uid may enter its own working folders only
            # As root, the test processes still drop to the sandbox uid: root's files stay out of reach,
            # RLIMIT_NPROC holds, and kill(-1) reaches only the sandbox's own processes.
            config.update(uid=self._uid, pid_namespace=False, scratch=self._host_scratch, keep=[])
            cmd = [*python, server]
            cwd = self._host_scratch
        self._stderr.seek(0)
        self._stderr.truncate()
        with FORK_LOCK:  # see kit.core.parallel.FORK_LOCK
            self._proc = subprocess.Popen([*cmd, json.dumps(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=self._stderr, env={}, cwd=cwd, start_new_session=True)
        hello = self._read(timeout=30)
        if not hello or not hello.get("ready"):
            self._kill()
            self._stderr.seek(0)
            detail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
            raise SandboxError(detail[-1] if detail else "the sandbox server did not start")
        self.isolation = "bwrap" if bwrap else "rlimits"

    def close(self) -> None:
        self._kill()
        if self._host_scratch:
            shutil.rmtree(self._host_scratch, ignore_errors=True)
            self._host_scratch = None
        self._stderr.close()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if proc.returncode is None:  # not reaped yet (`poll`/`wait`): its pid and group id are still ours
            try:
                os.killpg(proc.pid, 9)
            except OSError:
                pass
        proc.wait()

    # -- protocol ---------------------------------------------------------------------------------
    def _read(self, timeout: float) -> dict | None:
        """One length-prefixed JSON message from the server, or None if it died or sent nothing in time."""
        deadline = time.monotonic() + timeout
        header = self._read_exact(4, deadline)
        if header is None:
            return None
        body = self._read_exact(struct.unpack(">I", header)[0], deadline)
        return None if body is None else json.loads(body)

    def _read_exact(self, n: int, deadline: float) -> bytes | None:
        assert self._proc and self._proc.stdout
        fd = self._proc.stdout.fileno()
        buf = bytearray()
        while len(buf) < n:
            remaining = deadline - time.monotonic()
            ready = select.select([fd], [], [], remaining)[0] if remaining > 0 else []
            chunk = os.read(fd, min(n - len(buf), 1 << 20)) if ready else b""
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def run(self, entry: str, payload: dict[str, Any], limits: Limits | None = None) -> SandboxResult:
        """Run one request through a harness entry (`script` or `tests`) and return what it reported."""
        limits = limits or self.limits
        if limits.timeout_s is None:
            raise ValueError("Limits.timeout_s is None: a request needs the sample's time limit in seconds")
        if limits.tmp_mb != self.limits.tmp_mb:
            limits = replace(limits, tmp_mb=self.limits.tmp_mb)  # /tmp is sized when the server starts
        self.start()
        assert self._proc and self._proc.stdin
        token = secrets.token_hex(16)
        request = json.dumps({"entry": entry, "payload": payload, "limits": asdict(limits), "token": token}).encode()
        try:
            self._proc.stdin.write(struct.pack(">I", len(request)) + request)
            self._proc.stdin.flush()
            reply = self._read(timeout=limits.timeout_s + 30)
        except (BrokenPipeError, OSError):
            reply = None
        if reply is None:  # the server died or hung: contain it and start a fresh one next time
            self._kill()
            return SandboxResult(crashed=True, error="the sandbox server died during this sample")
        records = reply["records"]
        complete = bool(records) and records[-1].get("done") == token
        if complete:
            records = records[:-1]
        error = next((r["harness_error"] for r in records if "harness_error" in r), None)
        return SandboxResult(records=[r for r in records if "harness_error" not in r], complete=complete,
                             timed_out=reply["timed_out"], truncated=reply["truncated"], time_s=reply["time_s"],
                             error=error)

    def run_script(self, source: str, stdin: str = "", limits: Limits | None = None) -> dict[str, Any]:
        """Run a Python script; return its record: status, stdout, stderr, exit_code/signal, time_s.

        `status` is ok | error | memory | timeout | killed | output_limit, or `contained` when the run did not
        complete (the sample outran its time limit, or the code killed the sandbox server, which is then
        restarted).
        """
        result = self.run("script", {"source": source, "stdin": stdin}, limits)
        if result.complete and result.records:
            return result.records[0]
        return {"status": "contained", "stdout": "", "stderr": "", "timed_out": result.timed_out,
                "crashed": result.crashed, "error": result.error}
