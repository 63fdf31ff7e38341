"""The fork server that runs inside the sandbox (stdlib only; started by `kit.sandbox.Sandbox`).

Two layers:

    server  (root inside the bwrap namespace, or the invoking user without bwrap; never runs untrusted code)
      -> test processes  (one per test, forked by the harness the server runs, see `harness.py`: each drops
                          to the sandbox uid and its limits before the untrusted code runs)

Requests and replies travel over the server's original stdin/stdout as 4-byte length-prefixed JSON. The server
runs the request's harness entry itself (the harness is trusted code; the test processes report through
anonymous files the server reads from its own descriptors), and its reply's last record carries the
request's random token only when the harness ran to its end. After every reply, before it reads the next
request, the server kills every leftover process and wipes the private /tmp. It is not dumpable, so test
processes of its own uid (without bwrap, as an unprivileged user) cannot ptrace it or read its memory.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import shutil
import signal
import struct
import sys
import time

MAX_RECORD_BYTES = 64 << 20


def read_exact(fd: int, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def read_message(fd: int) -> dict:
    (n,) = struct.unpack(">I", read_exact(fd, 4))
    return json.loads(read_exact(fd, n))


def write_message(fd: int, message: dict) -> None:
    data = json.dumps(message).encode()
    data = struct.pack(">I", len(data)) + data
    while data:
        data = data[os.write(fd, data):]


class _Truncated(Exception):
    """The records outgrew `MAX_RECORD_BYTES`."""


class Server:
    """Runs requests (`run`) and cleans up after each (`clean_up`). It owns its process: it sets the
    environment the test processes inherit and freezes what it loaded for the garbage collector."""

    def __init__(self, config: dict) -> None:
        self.uid: int | None = config.get("uid")
        self.pid_namespace: bool = config["pid_namespace"]
        self.scratch: str = config["scratch"]
        self.keep: list[str] = config.get("keep", [])
        self.harnesses = {}
        for name, path in config["harnesses"].items():  # in order: later harnesses may import earlier ones
            spec = importlib.util.spec_from_file_location(f"_kit_harness_{name}", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            self.harnesses[name] = module.main
        self.base = sys.modules["_kit_harness_script"]  # the generic harness: Sample, SampleTimeout
        self.counter = 0
        # Everything loaded so far lives as long as the server: keep the garbage collector off it, so that a
        # collection in a test process does not touch (and copy, page by page) what it shares with us.
        gc.freeze()

    # -- one sample -------------------------------------------------------------------------------
    def run(self, request: dict) -> dict:
        self.counter += 1
        workdir = os.path.join(self.scratch, f"s{self.counter}")
        os.mkdir(workdir, 0o700)
        if self.uid is not None:
            os.chown(workdir, self.uid, self.uid)
        self.base.sandbox_environment(workdir)
        started = time.monotonic()
        records: list[dict] = []
        size = 0

        def emit(record: dict) -> None:
            nonlocal size
            size += len(json.dumps(record))
            if size > MAX_RECORD_BYTES:
                raise _Truncated
            records.append(record)

        sample = self.base.Sample(limits=request["limits"], workdir=workdir, uid=self.uid,
                                  deadline=started + request["limits"]["timeout_s"], emit=emit)
        timed_out = truncated = False
        try:
            self.harnesses[request["entry"]](request["payload"], sample)
            records.append({"done": request["token"]})
        except _Truncated:
            truncated = True
        except self.base.SampleTimeout:
            timed_out = True
        except Exception as exc:  # noqa: BLE001 - report anything; the server goes on
            records.append({"harness_error": f"{type(exc).__name__}: {exc}"})
        return {"records": records, "timed_out": timed_out, "truncated": truncated,
                "time_s": round(time.monotonic() - started, 4)}

    def clean_up(self) -> None:
        """Kill every process the sample left behind, reap them, then wipe scratch space."""
        for _ in range(1000):
            if self.pid_namespace:
                try:
                    os.kill(-1, signal.SIGKILL)  # everything we may signal in this namespace, except us
                except OSError:
                    pass
            else:
                for child in _children():
                    try:
                        os.kill(child, signal.SIGKILL)
                    except OSError:
                        pass
            reaped_any, left = False, True
            while True:
                try:
                    reaped, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:  # no child at all: orphans come to us (a subreaper), so none is left
                    left = False
                    break
                if reaped <= 0:
                    break
                reaped_any = True
            if not left:
                break
            if not reaped_any:
                time.sleep(0.001)
        # In the namespace /tmp and /dev/shm are private to this sandbox: wipe them whole.
        for root in ("/tmp", "/dev/shm") if self.pid_namespace else (self.scratch,):
            _wipe(root, self.keep)
        os.makedirs(self.scratch, exist_ok=True)


def _children() -> list[int]:
    """This process's direct children (orphans are re-parented to us: we are a subreaper)."""
    try:
        with open(f"/proc/self/task/{os.getpid()}/children", "rb") as fh:  # the server has one thread
            return [int(pid) for pid in fh.read().split()]
    except OSError:  # a kernel without CONFIG_PROC_CHILDREN: scan /proc
        pass
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if int(fields[1]) == os.getpid():
            found.append(int(entry))
    return found


def _wipe(root: str, keep: list[str]) -> None:
    """Delete everything under root except the paths in `keep` (read-only binds of the kit or Python)."""
    try:
        entries = os.listdir(root)
    except OSError:
        return
    for name in entries:
        path = os.path.join(root, name)
        if path in keep:
            continue
        if any(k.startswith(path + "/") for k in keep):
            _wipe(path, keep)
        elif os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def main() -> None:
    config = json.loads(sys.argv[1])
    del sys.argv[1:]  # test processes see the arguments of a program run with none, as on a judge (fileinput reads stdin)
    request_fd, reply_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.set_inheritable(request_fd, False)
    os.set_inheritable(reply_fd, False)
    os.makedirs(config["scratch"], exist_ok=True)
    server = Server(config)
    server.base.prctl(server.base.PR_SET_CHILD_SUBREAPER, 1)  # orphans of test processes come to us
    server.base.prctl(server.base.PR_SET_DUMPABLE, 0)
    write_message(reply_fd, {"ready": True, "uid": os.getuid()})
    while True:
        try:
            request = read_message(request_fd)
        except EOFError:
            return
        write_message(reply_fd, server.run(request))
        server.clean_up()  # while the caller reads the reply; always before the next request


if __name__ == "__main__":
    main()
