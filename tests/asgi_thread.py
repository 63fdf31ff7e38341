"""Serve an ASGI app with uvicorn on 127.0.0.1, in a background thread or in the foreground, for tests.

Shared by the stand-in servers (``tests.hubserver``, ``tests.teacherserver``). :class:`ThreadedASGIServer`
binds its port at construction (port 0 picks a free one), so ``url`` is known before :meth:`start`. Each
client connection's asyncio transport is remembered in ``transports`` (keyed by the client's
``(host, port)``) so that :func:`abort_connection` can drop a connection outright, which is how the
stand-ins inject "connection lost" faults.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel's pick; free until someone binds it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _protocol_recording(transports: dict[tuple, asyncio.BaseTransport]) -> type[H11Protocol]:
    """uvicorn's h11 protocol, remembering each connection's transport in ``transports``."""

    class _Protocol(H11Protocol):
        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if self.client:
                transports[tuple(self.client)] = transport

        def connection_lost(self, exc) -> None:
            if self.client:
                transports.pop(tuple(self.client), None)
            super().connection_lost(exc)

    return _Protocol


async def abort_connection(transports: dict[tuple, asyncio.BaseTransport], scope, send) -> None:
    """Lose the request's connection without a (complete) response: the client sees a connection error."""
    client = scope.get("client")
    transport = transports.get(tuple(client)) if client else None
    if transport is not None:
        transport.abort()
        for _ in range(3):  # let uvicorn see the disconnect, so that it does not answer a 500
            await asyncio.sleep(0)
        return
    # Fallback (served by something else than ThreadedASGIServer): promise a body that never comes.
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise ConnectionAbortedError("injected connection drop")


class ThreadedASGIServer:
    """uvicorn serving ``app`` on ``host:port`` (0: a free port); ``url`` is ``http://host:port``.

    :meth:`start` serves in a daemon thread and returns once uvicorn accepts connections; :meth:`stop`
    shuts it down and closes the port (later connections are refused; calling it twice is fine).
    :meth:`serve_forever` serves in the foreground instead.
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "asgi-standin",
        transports: dict[tuple, asyncio.BaseTransport] | None = None,
    ):
        self.name = name
        self.transports: dict[tuple, asyncio.BaseTransport] = {} if transports is None else transports
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on such sockets, and without it every
        # keep-alive request pays ~40 ms of Nagle + delayed-ACK latency.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(128)  # connections queue up even before the event loop runs
        self.host, self.port = self._sock.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        config = uvicorn.Config(
            app,
            http=_protocol_recording(self.transports),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> None:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self._sock])),
            name=self.name,
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} server did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._thread = None
        self._sock.close()

    def serve_forever(self) -> None:
        """Serve in the foreground (Ctrl-C stops)."""
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        finally:
            self._sock.close()


class ServerLifecycle:
    """start / stop / serve_forever / `with` for a stand-in server holding a `ThreadedASGIServer` in `_asgi`."""

    _asgi: ThreadedASGIServer

    def start(self, timeout: float = 10.0):
        self._asgi.start(timeout)
        return self

    def stop(self) -> None:
        """Shut down and close the port (its URL then refuses connections)."""
        self._asgi.stop()

    def serve_forever(self) -> None:
        """Serve in the foreground until Ctrl-C."""
        try:
            self._asgi.serve_forever()
        except KeyboardInterrupt:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class RequestLog:
    """The faults queued, the request log and the count of faults fired, shared by the stand-ins' apps.

    The app sets `_state_lock`, `_faults` (a list), `requests` (a list of records with `method` and `path`)
    and `faults_fired`.
    """

    _state_lock: threading.Lock
    _faults: list
    requests: list
    faults_fired: int

    def clear_faults(self) -> None:
        with self._state_lock:
            self._faults.clear()

    def clear_log(self) -> None:
        with self._state_lock:
            self.requests.clear()
            self.faults_fired = 0

    def reset(self) -> None:
        """Forget faults, the request log and the fault counter (the served data is kept)."""
        self.clear_faults()
        self.clear_log()

    def requests_matching(self, method: str | None = None, path: str | None = None) -> list:
        with self._state_lock:
            records = list(self.requests)
        return [r for r in records
                if (method is None or r.method == method.upper()) and (path is None or re.search(path, r.path))]

    def _take_fault(self, *request: str):
        """The first queued fault whose `matches(*request)` is true, counted as fired; None when none."""
        with self._state_lock:
            for fault in self._faults:
                if fault.matches(*request):
                    fault.count -= 1
                    fault.fired += 1
                    self.faults_fired += 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _record(self, record) -> None:
        with self._state_lock:
            self.requests.append(record)


class AppHelpers:
    """A stand-in server's view of its app's `RequestLog` (faults and the request log), in `self.app`."""

    app: RequestLog

    def clear_faults(self) -> None:
        self.app.clear_faults()

    def reset(self) -> None:
        """Forget faults, the request log and ``faults_fired`` (the served data is kept)."""
        self.app.reset()

    @property
    def faults_fired(self) -> int:
        return self.app.faults_fired

    @property
    def requests(self) -> list:
        return self.app.requests

    def requests_matching(self, method: str | None = None, path: str | None = None) -> list:
        return self.app.requests_matching(method, path)

    def clear_log(self) -> None:
        self.app.clear_log()
