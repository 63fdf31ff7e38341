"""The ASGI app of the stand-in teacher: an OpenAI-compatible chat-completions server replaying recordings.

It stands in, in tests, for the OpenAI-compatible server that serves the teacher model (``vllm serve``,
SGLang, hosted DeepSeek-R1 providers), well enough for the real ``openai`` client (sync and async) and
distilabel's ``OpenAILLM`` to run unmodified against ``base_url=http://127.0.0.1:PORT/v1``.

Endpoints (all need ``Authorization: Bearer <api key>``, else 401):

- ``GET /v1/models`` and ``GET /v1/models/{id}``: the models served: the default model configured at
  start, and every model a recording names.
- ``POST /v1/chat/completions``: answered from the recordings, in OpenAI's response shape, with the
  thinking in ``choices[i].message.reasoning_content`` and the answer in ``choices[i].message.content``
  as reasoning servers do. ``stream: true`` answers Server-Sent Events (``chat.completion.chunk`` objects
  carrying ``delta.reasoning_content`` / ``delta.content``, then ``data: [DONE]``). With
  ``reasoning_field = "reasoning"`` the thinking is sent under that name instead, as vLLM does since it renamed
  the field (vllm-project/vllm#27752; ``reasoning_content`` was removed in #33402) and as OpenRouter does.

Replay rule: a recording ``{"problem": ..., "completions": [...]}`` matches when its ``problem`` occurs in
the content of the request's LAST user message (so a prompt template may wrap it; the longest matching
problem wins) and the request names the recording's model: a recording may carry ``"model": ...``, one
without belongs to the default model (so one server can play the teacher and, say, a judge). The ``n``
choices are ``completions[(base + i) % len]`` for i in 0..n-1, where ``base`` is the request's ``seed``
(top-level; the openai client merges ``extra_body`` there too) or 0 without one.
No match: 400 ``{"error": {"message": "no recorded completion for this prompt", ...}}``. ``max_tokens``
(or ``max_completion_tokens``) counts whitespace-separated words: a longer reply is cut to that many words,
reasoning first, then content, with ``finish_reason: "length"`` (content ``null`` when the cut falls in
the reasoning, as a reasoning parser that never saw the end of the thinking answers). ``usage`` counts
words too. A request naming a model that is not served gets 404 ``model_not_found``. ``response_format``
(``{"type": "text" | "json_object" | "json_schema", ...}``; ``json_schema`` needs ``json_schema.name``
and ``json_schema.schema``) is checked for shape (else 400), logged and otherwise ignored: recordings meant
for structured output simply hold the JSON text as ``content``.

Fault injection (:meth:`TeacherApp.fail_next`, :meth:`TeacherApp.drop_next`,
:meth:`TeacherApp.delay_next`) affects the next N requests (optionally only those whose path matches a
regex): an error status (with OpenAI's error body and an optional ``Retry-After``), a connection aborted
with no response, or an answer held back for some seconds. ``TeacherApp.chunk_delay`` (seconds) slows
every streamed answer down, delta by delta, as a server generating in real time. Every request is logged in
:attr:`TeacherApp.requests`; the API key is never logged, echoed or written anywhere.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import math
import re
import threading
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..asgi_thread import RequestLog, abort_connection

DEFAULT_MODEL = "standin/reasoner"
DEFAULT_RECORDINGS = Path(__file__).resolve().parents[1] / "data" / "teacher_recordings.jsonl"
NO_RECORDING = "no recorded completion for this prompt"
_WORD = re.compile(r"\S+")
_STREAM_PIECE = 32  # characters of text per streamed delta


# -- recordings --------------------------------------------------------------------------------------------


@dataclass
class Completion:
    """One recorded reply: ``reasoning_content`` (None: the server split off no reasoning) and ``content``."""

    reasoning_content: str | None
    content: str | None
    finish_reason: str = "stop"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Completion:
        return cls(d.get("reasoning_content"), d.get("content"), d.get("finish_reason") or "stop")


class Recordings:
    """Recorded completions by model and problem text; see the module docstring for the replay rule.

    The model of an entry is the name it gives, or None: the server's default model."""

    def __init__(self, entries: Iterable[dict[str, Any]] = ()):
        self._lock = threading.Lock()
        self._entries: dict[str | None, dict[str, list[Completion]]] = {}
        for entry in entries:
            self.add(entry["problem"], entry["completions"], entry.get("model"))

    @classmethod
    def load(cls, path: str | Path) -> Recordings:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        return cls(json.loads(line) for line in lines if line.strip())

    def add(
        self, problem: str, completions: Iterable[dict[str, Any] | Completion], model: str | None = None
    ) -> None:
        """Record (or replace) the completions replayed for ``problem`` asked of ``model`` (None: the
        default model)."""
        items = [c if isinstance(c, Completion) else Completion.from_dict(c) for c in completions]
        if not problem or not items:
            raise ValueError("a recording needs a non-empty problem and at least one completion")
        with self._lock:
            self._entries.setdefault(model or None, {})[problem] = items

    def __len__(self) -> int:
        with self._lock:
            return sum(map(len, self._entries.values()))

    def models(self) -> list[str]:
        """The models recordings name (those of the default model not included)."""
        with self._lock:
            return sorted(m for m in self._entries if m is not None)

    def find(self, prompt: str, *models: str | None) -> list[Completion] | None:
        """The completions of the longest problem recorded for one of ``models`` (default: None, the default
        model) occurring in ``prompt``, or None."""
        with self._lock:
            entries: dict[str, list[Completion]] = {}
            for model in models or (None,):
                entries = {**self._entries.get(model, {}), **entries}
            exact = entries.get(prompt)
            if exact is not None:
                return exact
            hits = [p for p in entries if p in prompt]
            return entries[max(hits, key=len)] if hits else None


def _words(text: str | None) -> int:
    return len(_WORD.findall(text)) if text else 0


def _cut(text: str, words: int) -> str:
    """``text`` up to the end of its ``words``-th word."""
    if words <= 0:
        return ""
    matches = list(itertools.islice(_WORD.finditer(text), words))
    return text[: matches[-1].end()] if len(matches) == words else text


def _limit(c: Completion, max_tokens: int | None) -> Completion:
    """The reply a server limited to ``max_tokens`` (words) would give."""
    reasoning_words = _words(c.reasoning_content)
    if max_tokens is None or reasoning_words + _words(c.content) <= max_tokens:
        return c
    if reasoning_words >= max_tokens:
        return Completion(_cut(c.reasoning_content or "", max_tokens), None, "length")
    return Completion(c.reasoning_content, _cut(c.content or "", max_tokens - reasoning_words), "length")


# -- request log and faults --------------------------------------------------------------------------------


@dataclass
class RequestRecord:
    """One logged request. ``status`` is None when the connection was dropped; ``fault`` is None,
    ``"status"``, ``"drop"`` or ``"delay"``; ``body`` is the parsed JSON request body (None if none);
    ``response_format`` is the body's ``response_format`` (None if none)."""

    method: str
    path: str
    status: int | None
    seed: int | None = None
    model: str | None = None
    fault: str | None = None
    n: int | None = None
    body: dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None


@dataclass
class Fault:
    """An injected fault for the next ``count`` requests whose path matches the ``path`` regex (None: any).

    Exactly one of: ``status`` (answered with that error, plus ``Retry-After`` if ``retry_after``),
    ``drop`` (the connection is aborted, no response) or ``delay`` (seconds before the normal answer)."""

    path: str | None = None
    status: int | None = None
    retry_after: float | None = None
    drop: bool = False
    delay: float | None = None
    count: int = 1
    fired: int = 0

    @property
    def kind(self) -> str:
        return "status" if self.status is not None else "drop" if self.drop else "delay"

    def matches(self, path: str) -> bool:
        return self.path is None or re.search(self.path, path) is not None


def _error(status: int, message: str, type_: str, code: str | None = None, headers=None) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


_FAULT_TYPES = {429: ("rate_limit_exceeded", "rate_limit_exceeded")}


def _fault_response(fault: Fault) -> JSONResponse:
    type_, code = _FAULT_TYPES.get(fault.status or 500, ("server_error", None))
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = str(math.ceil(fault.retry_after))
        headers["retry-after-ms"] = str(round(fault.retry_after * 1000))  # the openai client prefers it
    return _error(fault.status or 500, "injected fault", type_, code, headers)


# -- the app -----------------------------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    """A message's content as text (a string, or a list of ``{"type": "text", "text": ...}`` parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return "\n".join(str(p.get("text", "")) for p in parts)
    return ""


class _BadRequest(Exception):
    pass


def _check_response_format(fmt: Any) -> None:
    """400 for a ``response_format`` a real server would refuse: not text, json_object or a json_schema
    with a name and a schema object."""
    if fmt is None:
        return
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise _BadRequest("'response_format.type' must be 'text', 'json_object' or 'json_schema'")
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not spec.get("name") or not isinstance(spec.get("schema"), dict):
            raise _BadRequest("'response_format.json_schema' needs a 'name' and a 'schema' object")


class TeacherApp(RequestLog):
    """ASGI app standing in for an OpenAI-compatible chat-completions server (vLLM, SGLang, hosted
    providers) in tests; replays ``recordings`` (a JSONL path, a list of entries or :class:`Recordings`)
    to clients bearing ``api_key``. ``model`` is the default model (recordings naming no model); the
    models served are it and those named by recordings (:attr:`models`)."""

    def __init__(
        self,
        recordings: str | Path | Iterable[dict[str, Any]] | Recordings = DEFAULT_RECORDINGS,
        api_key: str = "",
        *,
        model: str = DEFAULT_MODEL,
    ):
        if not api_key:
            raise ValueError("an API key is required")
        if isinstance(recordings, Recordings):
            self.recordings = recordings
        elif isinstance(recordings, str | Path):
            self.recordings = Recordings.load(recordings)
        else:
            self.recordings = Recordings(recordings)
        self._api_key = api_key
        self.model = model
        self._state_lock = threading.Lock()
        self._faults: list[Fault] = []
        self.requests: list[RequestRecord] = []
        self.faults_fired = 0
        self._ids = itertools.count(1)
        self.chunk_delay = 0.0  # seconds between the chunks of a streamed answer (a server generating slowly)
        self.reasoning_field = "reasoning_content"  # the name the thinking is sent under ("reasoning": vLLM today)
        # (host, port) of a client connection -> its asyncio transport, filled by the uvicorn protocol
        # subclass in tests/asgi_thread.py so that a fault can abort the connection outright.
        self.transports: dict[tuple, asyncio.BaseTransport] = {}

    def __repr__(self) -> str:  # never show the key
        return f"TeacherApp(model={self.model!r}, recordings={len(self.recordings)})"

    @property
    def models(self) -> list[str]:
        """The models served: the default one first, then those named by recordings."""
        return [self.model, *(m for m in self.recordings.models() if m != self.model)]

    # -- fault injection and request log ----------------------------------------------------------------

    def add_fault(self, fault: Fault) -> Fault:
        if fault.count < 1:
            raise ValueError("count must be at least 1")
        with self._state_lock:
            self._faults.append(fault)
        return fault

    def fail_next(
        self, status: int = 500, count: int = 1, retry_after: float | None = None, *, path: str | None = None
    ) -> Fault:
        """The next ``count`` requests (whose path matches the ``path`` regex, if given) get ``status`` with
        OpenAI's error body; ``retry_after`` (seconds) adds ``Retry-After`` and ``retry-after-ms``."""
        return self.add_fault(Fault(path, status=status, retry_after=retry_after, count=count))

    def drop_next(self, count: int = 1, *, path: str | None = None) -> Fault:
        """The next ``count`` requests lose their connection with no response (a connection error)."""
        return self.add_fault(Fault(path, drop=True, count=count))

    def delay_next(self, seconds: float, count: int = 1, *, path: str | None = None) -> Fault:
        """The next ``count`` requests are answered normally, but only after ``seconds``."""
        return self.add_fault(Fault(path, delay=seconds, count=count))



    # -- ASGI ---------------------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        raw = await request.body()
        method, path = scope["method"].upper(), scope["path"]
        body: dict[str, Any] | None = None
        if raw:
            try:
                parsed = json.loads(raw)
                body = parsed if isinstance(parsed, dict) else None
            except ValueError:
                body = None
        record = RequestRecord(method, path, None, body=body)
        if body is not None:
            seed, n = body.get("seed"), body.get("n")
            record.seed = seed if isinstance(seed, int) else None
            record.model = body.get("model") if isinstance(body.get("model"), str) else None
            record.n = n if isinstance(n, int) else None
            fmt = body.get("response_format")
            record.response_format = fmt if isinstance(fmt, dict) else None

        fault = self._take_fault(path)
        if fault is not None:
            record.fault = fault.kind
        if fault is not None and fault.drop:
            self._record(record)
            await abort_connection(self.transports, scope, send)
            return
        if fault is not None and fault.status is not None:
            response: Response = _fault_response(fault)
        else:
            if fault is not None and fault.delay:
                await asyncio.sleep(fault.delay)
            response = self._handle(method, path, request, raw, body)
        record.status = response.status_code
        self._record(record)
        await response(scope, receive, send)

    def _authorized(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        given = value.strip().encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(given, self._api_key.encode())

    def _handle(self, method: str, path: str, request: Request, raw: bytes, body: dict | None) -> Response:
        path = path.rstrip("/")
        routes = {"/v1/models": "GET", "/v1/chat/completions": "POST"}
        if path.startswith("/v1/models/"):
            routes[path] = "GET"
        if path not in routes:
            return _error(404, f"Not found: {path}", "invalid_request_error", "not_found")
        if method != routes[path]:
            return _error(405, f"Method {method} not allowed", "invalid_request_error")
        if not self._authorized(request):
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if path == "/v1/models":
            return JSONResponse({"object": "list", "data": [self._model_card(m) for m in self.models]})
        if path.startswith("/v1/models/"):
            model = path.removeprefix("/v1/models/")
            if model not in self.models:
                return self._model_not_found(model)
            return JSONResponse(self._model_card(model))
        if body is None:
            return _error(400, "the request body must be a JSON object", "invalid_request_error")
        try:
            return self._chat_completion(body)
        except _BadRequest as exc:
            return _error(400, str(exc), "invalid_request_error")

    def _model_card(self, model: str) -> dict[str, Any]:
        return {"id": model, "object": "model", "created": 0, "owned_by": "standin"}

    def _model_not_found(self, model: str) -> Response:
        return _error(404, f"The model `{model}` does not exist.", "invalid_request_error", "model_not_found")

    # -- chat completions -------------------------------------------------------------------------------

    def _chat_completion(self, body: dict[str, Any]) -> Response:
        model = body.get("model")
        if model not in self.models:
            return self._model_not_found(str(model))
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _BadRequest("'messages' must be a non-empty list")
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if not users:
            raise _BadRequest("no user message")
        n = body.get("n") or 1
        seed = body.get("seed")
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 128:
            raise _BadRequest("'n' must be an integer between 1 and 128")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise _BadRequest("'seed' must be an integer")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise _BadRequest("'max_tokens' must be a positive integer")
        _check_response_format(body.get("response_format"))

        keys = (None, self.model) if model == self.model else (model,)
        recorded = self.recordings.find(_text_of(users[-1].get("content")), *keys)
        if recorded is None:
            raise _BadRequest(NO_RECORDING)
        base = seed if seed is not None else 0
        replies = [_limit(recorded[(base + i) % len(recorded)], max_tokens) for i in range(n)]
        prompt_tokens = sum(_words(_text_of(m.get("content"))) for m in messages if isinstance(m, dict))
        completion_tokens = sum(_words(r.reasoning_content) + _words(r.content) for r in replies)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        head = {"id": f"chatcmpl-standin-{next(self._ids)}", "created": int(time.time()), "model": model}
        if body.get("stream"):
            options = body.get("stream_options") or {}
            include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            return StreamingResponse(
                _sse(head, replies, usage if include_usage else None, self.chunk_delay, self.reasoning_field),
                media_type="text/event-stream",
            )
        choices = [
            {
                "index": i,
                "message": {
                    "role": "assistant",
                    "content": r.content,
                    self.reasoning_field: r.reasoning_content,
                },
                "logprobs": None,
                "finish_reason": r.finish_reason,
            }
            for i, r in enumerate(replies)
        ]
        return JSONResponse({**head, "object": "chat.completion", "choices": choices, "usage": usage})


async def _sse(head: dict[str, Any], replies: list[Completion], usage: dict | None,
               chunk_delay: float = 0.0, reasoning_field: str = "reasoning_content") -> AsyncIterator[str]:
    """The chunks a streaming server sends: per choice a role delta, reasoning deltas, content deltas and a
    final delta with the finish reason; then usage (if asked for) and ``[DONE]``; ``chunk_delay`` seconds
    before each reasoning or content delta."""

    def event(choices: list[dict], **extra: Any) -> str:
        chunk = {**head, "object": "chat.completion.chunk", "choices": choices, **extra}
        return f"data: {json.dumps(chunk)}\n\n"

    def choice(i: int, delta: dict, finish_reason: str | None = None) -> list[dict]:
        return [{"index": i, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]

    for i, reply in enumerate(replies):
        yield event(choice(i, {"role": "assistant", "content": ""}))
        for key, sent_as in (("reasoning_content", reasoning_field), ("content", "content")):
            text = getattr(reply, key) or ""
            for start in range(0, len(text), _STREAM_PIECE):
                if chunk_delay:
                    await asyncio.sleep(chunk_delay)
                yield event(choice(i, {sent_as: text[start : start + _STREAM_PIECE]}))
        yield event(choice(i, {}, reply.finish_reason))
    if usage is not None:
        yield event([], usage=usage)
    yield "data: [DONE]\n\n"
