"""A small process pool with a hard time limit per item, ordered streaming results and kill/replace.

`ProcessPool(fn, workers, time_limit_s).map(items)` runs `fn(item)` in the main thread of forked worker
processes (so code that relies on signals, like math-verify's timeouts or our own interval timer, works
there) and yields the results in input order. An item that runs past `time_limit_s` gets a `Failure`
of kind `timeout`, and its worker is killed and replaced: one pathological item can stall neither the
run nor the items queued behind it. A worker that dies (segfault, out of memory) gives `crashed`, an
exception raised by `fn` gives `error`; the run goes on in every case.

Workers are forked (Linux), so `fn` needs no pickling and inherits whatever the parent already imported;
items and results go through pipes and must pickle. A worker closes the sockets it inherited (its own
pipe to the parent aside), so the connections of a server running the pool close when the server closes
them; other inherited descriptors (pipes to a child process, say) stay open while the worker lives. The fork may happen on any thread of the parent: the
child runs only the worker loop below, and Python makes the forking thread the child's main thread.
Forks take `kit.core.parallel.FORK_LOCK`, so no worker inherits a pipe that a `subprocess.Popen` on another
thread is still setting up.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, Literal, TypeVar

from kit.core.parallel import FORK_LOCK, Closing

T = TypeVar("T")
R = TypeVar("R")

_CONTEXT = multiprocessing.get_context("fork")


@dataclass(frozen=True)
class Failure:
    """What `ProcessPool.map` yields for an item that produced no result."""

    kind: Literal["timeout", "crashed", "error"]
    message: str


def _close_inherited_sockets(keep: int) -> None:
    """Close the sockets the fork copied from the parent, but `keep`: a connection the parent closes (a web
    server's client, say) must not stay open in a worker that lives on."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd != keep:
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.close(fd)
            except OSError:  # the listing's own descriptor, gone by now
                pass


def _serve(conn: Connection, fn: Callable[[Any], Any]) -> None:
    """Worker loop: receive an item, send back `(True, fn(item))` or `(False, error text)`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    _close_inherited_sockets(conn.fileno())
    while True:
        try:
            item = conn.recv()
        except EOFError:
            return
        try:
            reply = (True, fn(item))
        except Exception as exc:  # noqa: BLE001 - reported to the parent as a Failure
            reply = (False, f"{type(exc).__name__}: {exc}")
        conn.send(reply)


class _Worker:
    """One worker process, its pipe, and the item it is busy with (index, deadline)."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.conn, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_serve, args=(child, fn), daemon=True, name="kit-verify-worker")
        with FORK_LOCK:  # see kit.core.parallel.FORK_LOCK
            self.process.start()
            # A handle on this very process: a pid may be reused once the worker is reaped (here, or by
            # multiprocessing's housekeeping when another thread starts a process), a pidfd never is.
            self.pidfd = os.pidfd_open(self.process.pid)
        child.close()
        self.index: int | None = None
        self.deadline = float("inf")

    def start(self, index: int, item: Any, time_limit_s: float | None) -> None:
        self.conn.send(item)
        self.index = index
        self.deadline = time.monotonic() + time_limit_s if time_limit_s else float("inf")

    def done(self) -> int:
        index, self.index, self.deadline = self.index, None, float("inf")
        assert index is not None
        return index

    def kill(self) -> None:
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        except ProcessLookupError:  # already reaped
            pass
        self.process.join()
        os.close(self.pidfd)
        self.conn.close()


class ProcessPool(Closing, Generic[T, R]):
    """Run `fn` over items in `workers` forked processes, each item limited to `time_limit_s`.

    At most `max_pending` items (default: 64 per worker) are between being read from the input and
    being yielded, so memory does not grow with the input; a slow item holds back at most that many.
    One `map` at a time; not thread-safe.
    """

    def __init__(self, fn: Callable[[T], R], workers: int, time_limit_s: float | None = None,
                 max_pending: int | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.fn = fn
        self.time_limit_s = time_limit_s
        self.max_pending = max_pending or 64 * workers
        self._workers = [_Worker(fn) for _ in range(workers)]
        self._closed = False

    def map(self, items: Iterable[T]) -> Iterator[R | Failure]:
        """Yield `fn(item)` (or a `Failure`) for each item, in input order, as results arrive."""
        if self._closed:
            raise RuntimeError("the pool is closed")
        source = iter(items)
        results: dict[int, R | Failure] = {}
        submitted = next_out = 0
        exhausted = False
        try:
            while True:
                for i, worker in enumerate(self._workers):
                    if worker.index is not None or exhausted or submitted - next_out >= self.max_pending:
                        continue
                    try:
                        item = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    try:
                        worker.start(submitted, item, self.time_limit_s)
                    except (BrokenPipeError, ConnectionError, OSError):
                        # An idle worker that died (killed, out of memory): the item never started, so its
                        # replacement takes it; only a replacement that cannot start either fails it.
                        self._replace(i)
                        try:
                            self._workers[i].start(submitted, item, self.time_limit_s)
                        except (BrokenPipeError, ConnectionError, OSError) as exc:
                            results[submitted] = Failure("crashed", f"worker gone before the item started: {exc}")
                            self._replace(i)
                    submitted += 1
                while next_out in results:
                    yield results.pop(next_out)
                    next_out += 1
                if exhausted and next_out == submitted:
                    return
                if any(w.index is not None for w in self._workers):  # else every start failed: submit again
                    self._collect(results)
        finally:
            for i, worker in enumerate(self._workers):  # abandoned mid-item (consumer stopped early)
                if worker.index is not None and not self._closed:
                    self._replace(i)

    def _collect(self, results: dict[int, R | Failure]) -> None:
        """Wait for the first result, worker death or deadline; record what happened to each busy worker."""
        busy = [(i, w) for i, w in enumerate(self._workers) if w.index is not None]
        nearest = min(w.deadline for _, w in busy)
        timeout = None if nearest == float("inf") else max(0.0, nearest - time.monotonic())
        wait([w.conn for _, w in busy] + [w.process.sentinel for _, w in busy], timeout)
        now = time.monotonic()
        for i, worker in busy:
            reply = self._receive(worker) if worker.conn.poll() else None
            if reply is not None:
                ok, value = reply
                results[worker.done()] = value if ok else Failure("error", value)
            elif worker.conn.closed or not worker.process.is_alive():
                worker.process.join(1.0)
                code = worker.process.exitcode
                results[worker.done()] = Failure("crashed", f"worker died with exit code {code}")
                self._replace(i)
            elif now >= worker.deadline:
                results[worker.done()] = Failure(
                    "timeout", f"exceeded {self.time_limit_s:g} s; worker killed and replaced")
                self._replace(i)

    @staticmethod
    def _receive(worker: _Worker) -> tuple[bool, Any] | None:
        """The worker's reply, or None if its pipe broke (it died); the pipe is then closed."""
        try:
            return worker.conn.recv()
        except (EOFError, OSError):
            worker.conn.close()
            return None

    def _replace(self, i: int) -> None:
        self._workers[i].kill()
        self._workers[i] = _Worker(self.fn)

    def close(self) -> None:
        """Kill the workers (idle ones are only waiting for input)."""
        if not self._closed:
            self._closed = True
            for worker in self._workers:
                worker.kill()



__all__ = ["Failure", "ProcessPool"]
