"""Run the stand-in Hugging Face Hub (huggingface.co) API with uvicorn, in a thread or in the foreground.

:class:`HubServer` serves :class:`tests.hubserver.app.HubApp` on 127.0.0.1 and exposes the app's test
helpers (faults, request log, commit counts). Point the real clients at it with
``HfApi(endpoint=server.url, token=server.token)`` or, in a child process, ``HF_ENDPOINT=server.url``.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Literal

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import DEFAULT_ORGS, DEFAULT_USER, Fault, HubApp, RequestRecord


def _protocol_for(app: HubApp) -> type[H11Protocol]:
    """uvicorn's h11 protocol, remembering each connection's transport so a fault can abort it."""

    class _Protocol(H11Protocol):
        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if self.client:
                app.transports[tuple(self.client)] = transport

        def connection_lost(self, exc) -> None:
            if self.client:
                app.transports.pop(tuple(self.client), None)
            super().connection_lost(exc)

    return _Protocol


class HubServer:
    """The stand-in for the Hugging Face Hub (huggingface.co), served over HTTP for tests.

    ``HubServer(root)`` binds 127.0.0.1 on a free port (or ``port``) and, once :meth:`start` ed, serves in
    a background thread until :meth:`stop`. Attributes: ``url`` (use as ``HF_ENDPOINT``), ``token``
    (the only valid token; random unless given), ``root`` (folder of the bare git repositories),
    ``user`` / ``orgs`` (what ``whoami`` answers), ``app`` (the :class:`HubApp`).
    """

    def __init__(
        self,
        root: str | Path,
        token: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str = DEFAULT_USER,
        orgs: tuple[str, ...] | list[str] = DEFAULT_ORGS,
    ):
        self.token = token or f"hf_standin_{secrets.token_hex(16)}"
        self.app = HubApp(root, self.token, user=user, orgs=orgs)
        self.root = self.app.root
        self.user, self.orgs = user, tuple(orgs)
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on such sockets, and without it every
        # keep-alive request pays ~40 ms of Nagle + delayed-ACK latency.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(128)  # connections queue up even before the event loop runs
        self.host, self.port = self._sock.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        config = uvicorn.Config(
            self.app,
            http=_protocol_for(self.app),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # never show the token
        return f"HubServer(url={self.url!r}, root={str(self.root)!r})"

    # -- lifecycle ----------------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> HubServer:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self._sock])),
            name="hub-standin",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the stand-in Hub server did not start")
            time.sleep(0.005)
        return self

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

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- test helpers (delegated to the app) -------------------------------------------------------------

    def fail_next(
        self, method: str, path: str, status: int = 500, *, count: int = 1, retry_after: int | None = None
    ) -> Fault:
        """The next ``count`` requests matching ``method`` (or ``"*"``) and the ``path`` regex (searched in
        the decoded URL path) are answered ``status``; ``retry_after`` adds a ``Retry-After`` header."""
        return self.app.fail_next(method, path, status, count=count, retry_after=retry_after)

    def drop_next(
        self, method: str, path: str, *, when: Literal["before", "after"] = "before", count: int = 1
    ) -> Fault:
        """The next ``count`` matching requests lose their connection with no response: ``before`` the
        request is applied (nothing changes) or ``after`` (e.g. the commit lands, its answer is lost)."""
        return self.app.drop_next(method, path, when=when, count=count)

    def clear_faults(self) -> None:
        self.app.clear_faults()

    def reset(self) -> None:
        """Forget faults, the request log and ``faults_fired`` (repositories are kept)."""
        self.app.reset()

    @property
    def faults_fired(self) -> int:
        return self.app.faults_fired

    @property
    def requests(self) -> list[RequestRecord]:
        return self.app.requests

    def requests_matching(self, method: str | None = None, path: str | None = None) -> list[RequestRecord]:
        return self.app.requests_matching(method, path)

    def clear_log(self) -> None:
        self.app.clear_log()

    def commits(self, repo_id: str, repo_type: str = "model", branch: str = "main") -> int:
        """Number of commits on ``branch`` (including the Hub's "initial commit"); 0 if it does not exist."""
        return self.app.commits(repo_id, repo_type, branch)

    def head(self, repo_id: str, repo_type: str = "model", branch: str = "main") -> str | None:
        """Commit sha at the head of ``branch``, or None."""
        return self.app.head(repo_id, repo_type, branch)
