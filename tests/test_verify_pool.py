"""Kills never reach a stranger that reused a pid: the pool's workers and the sandbox server's test processes.

The kernel hands out a free pid again (cyclically; pid_max can be as low as 32768), so a pid signalled after
its process was reaped may name an unrelated process by then. The tests force that reuse where they may
(root: /proc/sys/kernel/ns_last_pid) and check the stranger survives.
"""

from __future__ import annotations

import gc
import os
import select
import shutil
import tempfile
import time

import pytest

from kit.sandbox import HARNESSES
from kit.sandbox import server as sandbox_server
from kit.verify.pool import _Worker

NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"


def _can_force_pids() -> bool:
    try:
        with open(NS_LAST_PID, "r+") as fh:
            fh.write(fh.read().strip())
        return True
    except OSError:
        return False


forces_pids = pytest.mark.skipif(not _can_force_pids(), reason="needs a writable " + NS_LAST_PID + " (root)")


def _set_last_pid(pid: int) -> None:
    with open(NS_LAST_PID, "w") as fh:
        fh.write(str(pid))


def _stranger_at(pid: int) -> tuple[int, int]:
    """An unrelated session leader (not our child) given `pid` if it is free: (its pid, a pidfd on it)."""
    read_end, write_end = os.pipe()
    if os.fork() == 0:  # the middle process exits at once: the stranger is nobody's child here
        try:
            _set_last_pid(pid - 1)
            if os.fork() == 0:
                os.setsid()
                os.write(write_end, str(os.getpid()).encode())
                time.sleep(60)
        finally:
            os._exit(0)
    stranger = int(os.read(read_end, 32))
    os.close(read_end)
    os.close(write_end)
    return stranger, os.pidfd_open(stranger)


def _survives(pidfd: int, stranger: int) -> bool:
    alive = not select.select([pidfd], [], [], 0.3)[0]
    os.close(pidfd)
    if alive:
        os.kill(stranger, 9)
    return alive


@forces_pids
def test_killing_a_worker_reaped_elsewhere_spares_whoever_has_its_pid():
    worker = _Worker(abs)
    pid = worker.process.pid
    os.kill(pid, 9)
    os.waitpid(pid, 0)  # reaped behind multiprocessing's back: the pid is free
    stranger, pidfd = _stranger_at(pid)
    worker.kill()
    assert _survives(pidfd, stranger), f"worker.kill() killed the stranger (pid {stranger}, worker pid {pid})"


@pytest.fixture
def server():
    """A sandbox server in this process. It is meant to own its process - it sets the environment that test
    processes inherit and freezes what it loaded for the garbage collector - so both are put back afterwards."""
    scratch = tempfile.mkdtemp(prefix="kit-test-server-")
    os.chmod(scratch, 0o711)
    environ = dict(os.environ)
    try:
        yield sandbox_server.Server({"uid": 62999 if os.geteuid() == 0 else None, "pid_namespace": False,
                                     "scratch": scratch, "harnesses": {k: str(v) for k, v in HARNESSES.items()}})
    finally:
        os.environ.clear()
        os.environ.update(environ)
        gc.unfreeze()
        shutil.rmtree(scratch, ignore_errors=True)


REQUEST = {"entry": "script", "payload": {"source": "print(1)", "stdin": ""}, "token": "t",
           "limits": {"timeout_s": 20, "test_timeout_s": 5, "memory_mb": 512, "max_output_bytes": 1 << 20,
                      "max_processes": 16, "max_open_files": 128, "tmp_mb": 64}}


def test_a_test_process_out_of_time_is_killed_with_its_group_before_it_is_reaped(server, monkeypatch):
    seen = []

    def killpg(pgid: int, sig: int, real=os.killpg) -> None:
        with open(f"/proc/{pgid}/stat") as fh:  # still ours: not reaped, so its pid and group id are its own
            fields = fh.read().rsplit(")", 1)[1].split()
        seen.append((int(fields[1]) == os.getpid(), int(fields[2]) == pgid))  # our child, leading its group
        real(pgid, sig)

    monkeypatch.setattr(os, "killpg", killpg)
    request = {**REQUEST, "payload": {"source": "while True:\n    pass", "stdin": ""},
               "limits": {**REQUEST["limits"], "test_timeout_s": 0.5}}
    reply = server.run(request)
    server.clean_up()
    assert reply["records"][0]["status"] == "timeout" and reply["records"][-1] == {"done": "t"}
    assert seen == [(True, True)]


@forces_pids
def test_the_server_spares_whoever_takes_a_finished_test_processs_pid(server):
    reply = server.run({**REQUEST, "payload": {"source": "import os\nprint(os.getpid())", "stdin": ""}})
    pid = int(reply["records"][0]["stdout"])  # reaped by now: the pid is free
    stranger, pidfd = _stranger_at(pid)
    server.clean_up()
    assert _survives(pidfd, stranger), f"the server killed the stranger (pid {stranger})"
