"""Run the stand-in teacher (an OpenAI-compatible chat-completions server) with uvicorn, for tests.

:class:`TeacherServer` serves :class:`tests.teacherserver.app.TeacherApp` on 127.0.0.1 and exposes its
test helpers (faults, request log, recordings). Point the real clients at it with
``openai.OpenAI(base_url=server.base_url, api_key=server.api_key)`` or distilabel's
``OpenAILLM(model=server.model, base_url=server.base_url, api_key=server.api_key)``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..asgi_thread import AppHelpers, ServerLifecycle, ThreadedASGIServer
from .app import DEFAULT_MODEL, DEFAULT_RECORDINGS, Completion, Fault, Recordings, TeacherApp


class TeacherServer(AppHelpers, ServerLifecycle):
    """Stands in, in tests, for an OpenAI-compatible chat-completions server (vLLM, SGLang, hosted
    DeepSeek-R1 providers) serving a reasoning teacher model; it replays recorded completions.

    ``TeacherServer(recordings)`` binds 127.0.0.1 on a free port (or ``port``) and, once :meth:`start` ed,
    serves in a background thread until :meth:`stop`. Attributes: ``base_url`` (``http://host:port/v1``,
    what OpenAI clients take), ``url`` (without ``/v1``), ``api_key`` (the only valid key; random unless
    given), ``model`` (the default model id: that of recordings naming none; ``app.models`` lists all the
    models served, recordings naming others), ``app`` (the :class:`TeacherApp`).

    An unreachable endpoint: after :meth:`stop` the port is closed, so ``base_url`` refuses connections
    (``stop`` may be called again, e.g. by the fixture).
    """

    def __init__(
        self,
        recordings: str | Path | Iterable[dict[str, Any]] | Recordings = DEFAULT_RECORDINGS,
        api_key: str | None = None,
        *,
        model: str = DEFAULT_MODEL,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.api_key = api_key or f"sk-standin-{secrets.token_hex(16)}"
        self.model = model
        self.app = TeacherApp(recordings, self.api_key, model=model)
        self._asgi = ThreadedASGIServer(
            self.app, host=host, port=port, name="teacher-standin", transports=self.app.transports
        )
        self.host, self.port, self.url = self._asgi.host, self._asgi.port, self._asgi.url
        self.base_url = f"{self.url}/v1"

    def __repr__(self) -> str:  # never show the key
        return f"TeacherServer(base_url={self.base_url!r}, model={self.model!r})"


    # -- test helpers (delegated to the app) -------------------------------------------------------------

    def fail_next(
        self, status: int = 500, count: int = 1, retry_after: float | None = None, *, path: str | None = None
    ) -> Fault:
        """The next ``count`` requests (only those whose path matches the ``path`` regex, if given) are
        answered ``status`` with OpenAI's error body; ``retry_after`` (seconds) adds ``Retry-After`` and
        ``retry-after-ms`` (which the openai client honours)."""
        return self.app.fail_next(status, count, retry_after, path=path)

    def drop_next(self, count: int = 1, *, path: str | None = None) -> Fault:
        """The next ``count`` requests lose their connection with no response (a connection error)."""
        return self.app.drop_next(count, path=path)

    def delay_next(self, seconds: float, count: int = 1, *, path: str | None = None) -> Fault:
        """The next ``count`` requests are answered normally, but only after ``seconds``."""
        return self.app.delay_next(seconds, count, path=path)

    def add_recording(
        self, problem: str, completions: Iterable[dict[str, Any] | Completion], model: str | None = None
    ) -> None:
        """Record (or replace) what is replayed for ``problem``: dicts with ``reasoning_content``,
        ``content`` and optionally ``finish_reason``. ``model``: the model it is recorded for (None: the
        default model, ``self.model``); a model named here is served from then on."""
        self.app.recordings.add(problem, completions, None if model == self.model else model)
