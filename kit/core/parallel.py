"""Small helpers for ordered, bounded parallel work (memory must not grow with the input) and background ticks."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Self, TypeVar

# Held around every fork that does not exec at once (process-pool workers) and around every subprocess
# start. Without it a worker forked on one thread inherits the half-made exec-status pipe of a
# `subprocess.Popen` running on another, and that Popen then waits for the worker to exit: a deadlock.
FORK_LOCK = threading.Lock()

T = TypeVar("T")
R = TypeVar("R")


class Closing:
    """Something that holds workers (processes, threads, sandboxes): `close()` stops them, and `with` closes it
    at the end of the block."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cpu_count() -> int:
    """CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def ordered_map(executor: Executor, fn: Callable[[T], R], items: Iterable[T], *, window: int,
                on_result: Callable[[int], None] | None = None) -> Iterator[R]:
    """`fn` over `items` on `executor`, yielded in input order, with at most `window` items in flight."""
    pending: deque[Future[R]] = deque()
    done = 0
    for item in items:
        pending.append(executor.submit(fn, item))
        if len(pending) >= window:
            yield pending.popleft().result()
            done += 1
            if on_result:
                on_result(done)
    while pending:
        yield pending.popleft().result()
        done += 1
        if on_result:
            on_result(done)


@contextmanager
def ticking(tick: Callable[[], None], poll_s: float, name: str,
            final: Callable[[], None] | None = None) -> Iterator[None]:
    """Call `tick` every `poll_s` seconds on a background thread while the block runs, then `final` (default:
    `tick`) once after it, on the caller's thread."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(poll_s):
            tick()

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        (final or tick)()
