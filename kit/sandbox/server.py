"""The fork server that runs inside the sandbox (stdlib only; started by `kit.sandbox.Sandbox`).

Layers, each one forked from the one above:

    server  (root inside the bwrap namespace, or the invoking user without bwrap)
      -> sample process  (one per request: own session, non-root uid, rlimits, non-dumpable, runs the harness)
           -> test processes  (forked by the harness: the only place untrusted code runs)

The server never runs untrusted code. Requests and replies travel over the server's original stdin/stdout
as 4-byte length-prefixed JSON. The sample process reports records over a pipe that test processes do not
inherit; its last record carries the request's random token, so a reply without it means the harness did
not run to its end. After every sample the server kills every leftover process and wipes the private /tmp.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import resource
import selectors
import shutil
import signal
import struct
import sys
import time

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
MAX_RECORD_BYTES = 64 << 20

_libc = ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> None:
    _libc.prctl(option, value, 0, 0, 0)


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


class Server:
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
        self.counter = 0

    # -- one sample -------------------------------------------------------------------------------
    def run(self, request: dict) -> dict:
        self.counter += 1
        workdir = os.path.join(self.scratch, f"s{self.counter}")
        os.mkdir(workdir, 0o700)
        if self.uid is not None:
            os.chown(workdir, self.uid, self.uid)
        read_end, write_end = os.pipe()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the sample process
            os.close(read_end)
            self._sample_process(request, workdir, write_end)
        os.close(write_end)
        reply = self._collect(pid, read_end, request["limits"]["timeout_s"])
        reply["time_s"] = round(time.monotonic() - started, 4)
        self._clean_up(pid)
        return reply

    def _sample_process(self, request: dict, workdir: str, result_fd: int) -> None:
        try:
            os.setsid()
            limits = request["limits"]
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.closerange(3, result_fd)
            os.closerange(result_fd + 1, 1 << 16)
            os.chdir(workdir)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits["max_open_files"],) * 2)
            if self.uid is not None:
                os.setgroups([])
                os.setresgid(self.uid, self.uid, self.uid)
                os.setresuid(self.uid, self.uid, self.uid)
            if os.getuid() == 0 or os.geteuid() == 0:  # last line of defence, whatever the configuration
                raise PermissionError("refusing to run untrusted code as root")
            # Counted per uid: only meaningful for a non-root uid (the kernel ignores it for root).
            resource.setrlimit(resource.RLIMIT_NPROC, (limits["max_processes"],) * 2)
            prctl(PR_SET_DUMPABLE, 0)  # test processes may not ptrace us or open our fds via /proc
            os.environ.clear()
            os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8",
                               "TMPDIR": workdir})
            harness = self.harnesses[request["entry"]]

            def emit(record: dict) -> None:
                data = (json.dumps(record) + "\n").encode()
                while data:
                    data = data[os.write(result_fd, data):]

            harness(request["payload"], limits, emit)
            emit({"done": request["token"]})
            os._exit(0)
        except BaseException as exc:  # noqa: BLE001 - report anything, then die
            try:
                os.write(result_fd, (json.dumps({"harness_error": f"{type(exc).__name__}: {exc}"}) + "\n").encode())
            finally:
                os._exit(70)

    def _collect(self, pid: int, read_end: int, timeout_s: float) -> dict:
        deadline = time.monotonic() + timeout_s
        pidfd = os.pidfd_open(pid)
        sel = selectors.DefaultSelector()
        sel.register(read_end, selectors.EVENT_READ, "records")
        sel.register(pidfd, selectors.EVENT_READ, "exit")
        chunks, size, truncated, exited, timed_out = [], 0, False, False, False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            events = sel.select(remaining)
            pipe_open = True
            for key, _ in events:
                if key.data == "exit":
                    exited = True
                    sel.unregister(pidfd)
                else:
                    chunk = os.read(read_end, 1 << 16)
                    if not chunk:
                        pipe_open = False
                        sel.unregister(read_end)
                    elif size + len(chunk) > MAX_RECORD_BYTES:
                        truncated = True
                    else:
                        chunks.append(chunk)
                        size += len(chunk)
            if exited and not pipe_open:
                break
            if exited:
                # Drain what is buffered; a grandchild may still hold no copy of the pipe (we close it).
                os.set_blocking(read_end, False)
                try:
                    while chunk := os.read(read_end, 1 << 16):
                        if size + len(chunk) <= MAX_RECORD_BYTES:
                            chunks.append(chunk)
                            size += len(chunk)
                        else:
                            truncated = True
                except BlockingIOError:
                    pass
                break
            if truncated:
                break
        sel.close()
        os.close(read_end)
        # Read the exit status but leave the sample unreaped (WNOWAIT): until `_clean_up` has signalled its
        # process group, that group id must stay ours. Reaped, the pid would be free for the kernel to hand
        # to an unrelated new group leader, which `killpg(pid)` would then kill.
        status = None
        if not timed_out:
            try:
                status = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            except ChildProcessError:
                status = None
        os.close(pidfd)
        records = []
        for line in b"".join(chunks).decode("utf-8", "replace").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                records.append({"garbled": line[:200]})
        reply = {"records": records, "timed_out": timed_out, "truncated": truncated}
        if status is not None:
            if status.si_code in (os.CLD_KILLED, os.CLD_DUMPED):
                reply["signal"] = status.si_status
            else:
                reply["exit_code"] = status.si_status
        return reply

    def _clean_up(self, pid: int) -> None:
        """Kill the sample process and everything it left behind, then wipe scratch space."""
        try:  # the sample is not reaped yet (see `_collect`), so its group id cannot have been reused
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        for _ in range(1000):
            if self.pid_namespace:
                try:
                    os.kill(-1, signal.SIGKILL)  # everything we may signal in this namespace, except us
                except OSError:
                    pass
            else:
                for child in _children(os.getpid()):
                    try:
                        os.kill(child, signal.SIGKILL)
                    except OSError:
                        pass
            reaped_any = False
            while True:
                try:
                    reaped, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    reaped = -1
                if reaped <= 0:
                    break
                reaped_any = True
            if not _children(os.getpid()):
                break
            if not reaped_any:
                time.sleep(0.001)
        # In the namespace /tmp and /dev/shm are private to this sandbox: wipe them whole.
        for root in ("/tmp", "/dev/shm") if self.pid_namespace else (self.scratch,):
            _wipe(root, self.keep)
        os.makedirs(self.scratch, exist_ok=True)


def _children(ppid: int) -> list[int]:
    """Direct children of ppid (orphans are re-parented to us: we are a subreaper)."""
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
        if int(fields[1]) == ppid:
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
    request_fd, reply_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.set_inheritable(request_fd, False)
    os.set_inheritable(reply_fd, False)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    os.makedirs(config["scratch"], exist_ok=True)
    server = Server(config)
    write_message(reply_fd, {"ready": True, "uid": os.getuid()})
    while True:
        try:
            request = read_message(request_fd)
        except EOFError:
            return
        write_message(reply_fd, server.run(request))


if __name__ == "__main__":
    main()
