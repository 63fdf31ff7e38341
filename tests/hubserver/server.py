"""Run the stand-in Hugging Face Hub (huggingface.co) API with uvicorn, in a thread or in the foreground.

:class:`HubServer` serves :class:`tests.hubserver.app.HubApp` on 127.0.0.1 and exposes the app's test
helpers (faults, request log, commit counts). Point the real clients at it with
``HfApi(endpoint=server.url, token=server.token)`` or, in a child process, ``HF_ENDPOINT=server.url``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from ..asgi_thread import AppHelpers, ServerLifecycle, ThreadedASGIServer
from .app import DEFAULT_ORGS, DEFAULT_USER, Fault, HubApp


class HubServer(AppHelpers, ServerLifecycle):
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
        self._asgi = ThreadedASGIServer(
            self.app, host=host, port=port, name="hub-standin", transports=self.app.transports
        )
        self.host, self.port, self.url = self._asgi.host, self._asgi.port, self._asgi.url

    def __repr__(self) -> str:  # never show the token
        return f"HubServer(url={self.url!r}, root={str(self.root)!r})"


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

    def commits(self, repo_id: str, repo_type: str = "model", branch: str = "main") -> int:
        """Number of commits on ``branch`` (including the Hub's "initial commit"); 0 if it does not exist."""
        return self.app.commits(repo_id, repo_type, branch)

    def head(self, repo_id: str, repo_type: str = "model", branch: str = "main") -> str | None:
        """Commit sha at the head of ``branch``, or None."""
        return self.app.head(repo_id, repo_type, branch)

    @property
    def jobs(self) -> list:
        """The Hugging Face Jobs submitted so far (the stand-in's records: ``id``, ``spec``, raw ``body``, ``stage``)."""
        return self.app.jobs

    def set_job_script(self, logs: list[str], stage: str = "COMPLETED", message: str | None = None) -> None:
        """What the next submitted jobs print (their logs) and the stage they end in (COMPLETED, ERROR, ...)."""
        self.app.set_job_script(logs, stage, message)
