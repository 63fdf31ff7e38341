"""Hostile code is contained: each test runs real attacks in the real sandbox and checks host and run."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from kit.sandbox import Limits, Sandbox, bwrap_available

SECRET = "hf_kitTestSecret0123456789"
LIMITS = Limits(timeout_s=20, test_timeout_s=3, memory_mb=512, max_output_bytes=1 << 20)

needs_bwrap = pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def secret_home():
    """A home folder and HF_HOME outside /tmp holding a token, and secrets in the environment."""
    root = Path(tempfile.mkdtemp(prefix="kit-secrets-", dir="/var/tmp"))
    (root / "home/.cache/huggingface").mkdir(parents=True)
    (root / "home/.cache/huggingface/token").write_text(SECRET)
    (root / "hf").mkdir()
    (root / "hf/token").write_text(SECRET)
    outside = root / "outside.txt"
    outside.write_text("host data")
    saved = {k: os.environ.get(k) for k in ("HOME", "HF_HOME", "HF_TOKEN", "OPENAI_API_KEY")}
    os.environ.update(HOME=str(root / "home"), HF_HOME=str(root / "hf"), HF_TOKEN=SECRET, OPENAI_API_KEY=SECRET)
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    for path in sorted(root.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    root.rmdir()


@pytest.fixture(scope="module")
def box(secret_home):
    with Sandbox(LIMITS) as sandbox:
        if bwrap_available():  # never run the attacks below in a silently weaker sandbox
            assert sandbox.isolation == "bwrap"
        yield sandbox


def _require_containment(box: Sandbox) -> None:
    """Attacks on every process of the uid need bwrap's PID namespace or a dropped uid (root host)."""
    if box.isolation != "bwrap" and box._uid is None:
        pytest.skip("rlimits-only sandbox running as your own user: this attack would hit your processes")


def _uid_processes(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def _no_leftovers(box: Sandbox) -> None:
    if box._uid is not None:  # root on the host: the sandbox uid owns every untrusted process
        deadline = time.monotonic() + 5
        while _uid_processes(box._uid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _uid_processes(box._uid) == []


def _assert_healthy(box: Sandbox) -> None:
    record = box.run_script("print(sum(range(10)))")
    assert record["status"] == "ok" and record["stdout"] == "45\n"


def test_runs_plain_code_with_stdin(box):
    record = box.run_script("import sys\nprint(sys.stdin.read().upper(), end='')", stdin="hello\n")
    assert record == {**record, "status": "ok", "stdout": "HELLO\n"}


@needs_bwrap
def test_secrets_in_environment_and_token_files_never_reach_the_code(box, secret_home):
    source = f"""
import os, glob
print(dict(os.environ))
for path in [{str(secret_home / 'home/.cache/huggingface/token')!r}, {str(secret_home / 'hf/token')!r},
             os.path.expanduser('~/.cache/huggingface/token'), '/root/.cache/huggingface/token',
             *glob.glob('/home/*/.cache/huggingface/token')]:
    try:
        print(open(path).read())
    except OSError as exc:
        print('denied', path, exc.__class__.__name__)
"""
    record = box.run_script(source)
    assert record["status"] == "ok"
    assert SECRET not in record["stdout"] + record["stderr"]
    assert "HF_TOKEN" not in record["stdout"] and "OPENAI_API_KEY" not in record["stdout"]
    assert record["stdout"].count("denied") >= 4


@needs_bwrap
def test_no_network(box):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.extend(_accept(server)), daemon=True).start()
    record = box.run_script(f"""
import socket
for host in ('127.0.0.1', '1.1.1.1'):
    try:
        socket.create_connection((host, {port} if host.startswith('127') else 80), timeout=1)
        print('connected', host)
    except OSError as exc:
        print('blocked', host)
""")
    time.sleep(0.6)
    server.close()
    assert "connected" not in record["stdout"]
    assert record["stdout"].count("blocked") == 2
    assert accepted == []


def _accept(server: socket.socket) -> list[object]:
    try:
        return [server.accept()]
    except OSError:
        return []


@needs_bwrap
def test_cannot_write_or_delete_outside_its_working_folder(box, secret_home):
    outside = secret_home / "outside.txt"
    record = box.run_script(f"""
import os, shutil
results = []
for action in (lambda: open({str(outside)!r}, 'w').write('pwned'), lambda: os.remove({str(outside)!r}),
               lambda: open('/usr/pwned', 'w'), lambda: shutil.rmtree({str(secret_home)!r}),
               lambda: open('/dev/pwned', 'w')):
    try:
        action(); results.append('done')
    except OSError:
        results.append('refused')
open('inside.txt', 'w').write('fine')
print(results, open('inside.txt').read())
""")
    assert record["status"] == "ok", record
    assert record["stdout"].strip() == "['refused', 'refused', 'refused', 'refused', 'refused'] fine"
    assert outside.read_text() == "host data"
    assert not Path("/usr/pwned").exists()


def test_runs_without_privileges_it_could_regain(box):
    status = box.run_script("print(open('/proc/self/status').read())")["stdout"]
    assert "NoNewPrivs:\t1" in status  # no setuid program can make it root again
    assert "CapEff:\t0000000000000000" in status
    if box._uid is not None:
        assert f"Uid:\t{box._uid}\t{box._uid}\t{box._uid}\t{box._uid}" in status


def test_infinite_loop_times_out_within_its_limit(box):
    started = time.monotonic()
    record = box.run_script("while True:\n    pass")
    assert record["status"] == "timeout"
    assert time.monotonic() - started < LIMITS.test_timeout_s + 3
    _assert_healthy(box)


def test_a_sample_is_cut_at_its_own_time_limit(box):
    """Tests that each keep within their limit but together outrun the sample's: cut at the sample's limit."""
    limits = Limits(timeout_s=2, test_timeout_s=1.5, memory_mb=512, max_output_bytes=1 << 20)
    payload = {"mode": "stdio", "code": "import time\ntime.sleep(0.7)\nprint(input())", "inputs": ["x\n"] * 6}
    started = time.monotonic()
    result = box.run("tests", payload, limits)
    assert time.monotonic() - started < 3
    assert result.timed_out and not result.complete
    assert [r["status"] for r in result.records] == ["ok", "ok"]
    _assert_healthy(box)


def test_ten_gibibytes_are_refused(box):
    record = box.run_script("block = bytearray(10 << 30)\nprint('allocated')")
    assert record["status"] == "memory"
    assert "allocated" not in record["stdout"]


def test_a_gigabyte_of_output_is_capped(box):
    started = time.monotonic()
    record = box.run_script("import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)")
    assert record["status"] == "output_limit"
    assert len(record["stdout"]) <= LIMITS.max_output_bytes
    assert time.monotonic() - started < LIMITS.test_timeout_s + 3


def test_fork_bomb_is_contained(box):
    _require_containment(box)
    started = time.monotonic()
    record = box.run_script("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass")
    assert record["status"] in ("timeout", "contained")
    assert time.monotonic() - started < LIMITS.timeout_s
    _no_leftovers(box)
    _assert_healthy(box)


@needs_bwrap
def test_daemons_do_not_survive_the_sample(box, secret_home):
    marker = "/tmp/daemon-was-here"
    record = box.run_script(f"""
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            open({marker!r}, 'a').write('x'); time.sleep(0.05)
    os._exit(0)
time.sleep(0.2)
print('parent done')
""")
    assert record["status"] == "ok" and "parent done" in record["stdout"]
    _no_leftovers(box)
    # The next sample sees no stranger: no other process of the sandbox, no file in its private /tmp.
    record = box.run_script(f"""
import os
mine = {{os.getpid(), os.getppid()}}
others = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in mine and os.stat('/proc/' + p).st_uid == os.getuid()]
print(others, os.path.exists({marker!r}))
""")
    assert record["stdout"].strip() == "[] False"


def test_killing_the_server_is_contained(box):
    """The test process's parent is the sandbox server. Under another uid (started as root) it cannot be
    signalled at all; under the same uid it dies, the sample fails, and the next sample gets a fresh server."""
    _require_containment(box)
    record = box.run_script("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('survived')")
    if box._uid is not None:
        assert record["status"] == "error" and "PermissionError" in record["error"]
    else:
        assert record["status"] == "contained" and record["crashed"]
    _assert_healthy(box)
    record = box.run_script("import os, signal\nos.kill(-1, signal.SIGKILL)\nprint('survived')")
    if box._uid is not None:  # it may signal only processes of its own uid, and kill(-1) spares the caller
        assert record["status"] == "ok" and record["stdout"] == "survived\n"
    else:
        assert record["status"] == "contained" and record["crashed"]
    _no_leftovers(box)
    _assert_healthy(box)


def test_without_bubblewrap_it_says_isolation_is_reduced(caplog, monkeypatch):
    monkeypatch.setattr("kit.sandbox._warned", threading.Event())
    secret = Path(tempfile.mkdtemp(prefix="kit-root-only-", dir="/var/tmp")) / "secret.txt"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    try:
        with caplog.at_level(logging.WARNING, logger="kit.sandbox"), Sandbox(LIMITS, isolation="rlimits") as box:
            assert box.isolation == "rlimits"
            assert "isolation" in caplog.text
            assert box.run_script("while True:\n    pass")["status"] == "timeout"
            assert box.run_script("block = bytearray(10 << 30)")["status"] == "memory"
            env = box.run_script("import os\nprint(sorted(os.environ))")["stdout"]
            assert "HF_TOKEN" not in env and "OPENAI_API_KEY" not in env
            test_runs_without_privileges_it_could_regain(box)
            if os.geteuid() == 0:  # started as root, the code still runs as the non-root sandbox uid
                record = box.run_script(f"import os\nprint(os.getuid())\nprint(open({str(secret)!r}).read())")
                assert record["stdout"].splitlines()[0] == str(box._uid)
                assert SECRET not in record["stdout"] + record["stderr"]
                test_fork_bomb_is_contained(box)
                test_killing_the_server_is_contained(box)
    finally:
        secret.unlink()
        secret.parent.rmdir()


@needs_bwrap
def test_works_when_the_kit_lives_under_tmp(tmp_path, monkeypatch):
    """bwrap mounts a fresh /tmp: a checkout or venv there must be bound back, and survive the wipe."""
    import shutil

    import kit.sandbox as sandbox_module

    copy = tmp_path / "checkout" / "kit" / "sandbox"
    copy.mkdir(parents=True)
    for name in ("server.py", "harness.py", "code_harness.py"):
        shutil.copy(Path(sandbox_module.__file__).parent / name, copy / name)
    monkeypatch.setattr(sandbox_module, "_HERE", copy)
    monkeypatch.setattr(sandbox_module, "HARNESSES", {"script": copy / "harness.py",
                                                       "tests": copy / "code_harness.py"})
    with Sandbox(LIMITS) as box:
        assert box.isolation == "bwrap"
        for _ in range(2):  # the second sample runs after the first one's /tmp wipe
            record = box.run_script(f"import os\nprint(os.path.exists({str(copy / 'server.py')!r}))")
            assert record["stdout"] == "True\n"
