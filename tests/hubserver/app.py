"""A stand-in for the Hugging Face Hub (huggingface.co) HTTP API, for tests and offline trials.

The real Hub cannot be reached from the test machines, and no installable server implements its write
API. This module serves the subset of the Hub API that the real clients use -- ``huggingface_hub``
(``HfApi``, ``hf_hub_download``, ``HfFileSystem``), ``datasets.load_dataset`` and
``transformers.AutoConfig.from_pretrained`` -- once ``HF_ENDPOINT`` points at it. Each Hub repository is
a real bare git repository (see :mod:`tests.hubserver.gitstore`), so revisions, tags and history are
real git objects.

Served (``{t}`` is ``models``, ``datasets`` or ``spaces``; model file URLs have no type prefix):

* ``GET /api/whoami-v2``, ``POST /api/validate-yaml``
* ``POST /api/repos/create`` (409 with the repo ``url`` when it exists; a Space needs its ``sdk``),
  ``DELETE /api/repos/delete``
* ``GET /api/{t}/{ns}/{name}`` and ``GET .../revision/{rev}`` (repo info with ``sha``, ``siblings``,
  ``cardData`` from the README front matter, ...), ``PUT .../settings`` (visibility)
* ``GET .../tree/{rev}[/{path}]`` (``recursive``, ``expand``), ``POST .../paths-info/{rev}``
* ``POST .../preupload/{rev}`` (every file is "regular": no LFS, no Xet), ``POST .../commit/{rev}``
  (NDJSON: ``header``, ``file``, ``deletedFile``, ``deletedFolder``; ``parentCommit``; ``create_pr=1``)
* ``GET .../refs``, ``GET .../commits/{rev}``, ``POST|DELETE .../branch/{name}``,
  ``POST .../tag/{rev}``, ``DELETE .../tag/{name}``
* ``HEAD|GET /[datasets/|spaces/]{ns}/{name}/resolve/{rev}/{path}`` with ``ETag`` (git blob id),
  ``X-Repo-Commit``, ``Content-Length`` and single ``Range`` requests (206/416).
* the Hugging Face Jobs API, ``/api/jobs/{ns}[/{id}[/logs|/cancel]]`` (:mod:`tests.hubserver.jobs`):
  jobs are recorded in :attr:`HubApp.jobs`, not run; :meth:`HubApp.set_job_script` sets their logs and
  final stage.

Errors carry ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``) and
``X-Error-Message`` headers, which ``huggingface_hub`` maps onto its exception classes.

Auth: one valid token. Any other bearer token gets 401 on every endpoint; writes need the valid token;
private repositories are invisible (404 ``RepoNotFound``) without it. The token is never logged.

Fault injection (:meth:`HubApp.fail_next`, :meth:`HubApp.drop_next`) makes the next N requests that
match a method and a path regex fail with a status, or lose their connection before or after the
request is applied; every request is recorded in :attr:`HubApp.requests`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import mimetypes
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote

import anyio.to_thread
import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..asgi_thread import RequestLog, abort_connection
from .gitstore import (
    DEFAULT_BRANCH,
    AddFile,
    CommitOp,
    DeleteFile,
    DeleteFolder,
    GitStore,
    GitStoreError,
    HubRepo,
    iso_date,
    validate_ref_name,
    validate_repo_path,
)
from .jobs import JobsAPI, StandinJob

logger = logging.getLogger("tests.hubserver")

DEFAULT_USER = "standin-user"
DEFAULT_ORGS = ("standin-org",)
_TYPE_PLURALS = {"models": "model", "datasets": "dataset", "spaces": "space"}
_URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
_YAML_BLOCK = re.compile(r"^(\s*---[\r\n]+)([\S\s]*?)([\r\n]+---(\r\n|\n|$))")


class HubError(Exception):
    """Turned into an error response with the Hub's ``X-Error-Code`` / ``X-Error-Message`` headers."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


def _error_response(err: HubError) -> Response:
    headers = {"X-Error-Message": err.message.encode("ascii", "replace").decode(), **err.headers}
    if err.code:
        headers["X-Error-Code"] = err.code
    return JSONResponse({"error": err.message}, status_code=err.status, headers=headers)


# ----------------------------------------------------------------------------------------------- faults


@dataclass
class Fault:
    """The next ``count`` requests matching ``method`` and ``path`` (a regex searched in the decoded URL
    path, e.g. ``r"/commit/"``) fail: with HTTP ``status``, or by losing the connection.

    ``drop="before"``: the connection is aborted without any response and the request is NOT applied.
    ``drop="after"``: the request IS applied (e.g. the commit lands), then the connection is aborted.
    Either way the client sees a transport error (``httpx2.RemoteProtocolError``: "Server disconnected
    without sending a response"), never a status code.
    """

    method: str
    path: str
    status: int | None = None
    drop: Literal["before", "after"] | None = None
    count: int = 1
    retry_after: int | None = None
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and self.method in ("*", method) and re.search(self.path, path) is not None


@dataclass
class RequestRecord:
    """One request seen by the server. ``status`` is what was (or would have been) answered; ``fault`` is
    ``None``, ``"status"``, ``"drop-before"`` or ``"drop-after"``."""

    method: str
    path: str
    query: str
    status: int | None
    fault: str | None = None
    time: float = field(default_factory=time.time)


@dataclass
class _Ctx:
    method: str
    path: str
    segments: list[str]
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    base_url: str
    authed: bool

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def flag(self, name: str) -> bool:
        value = self.q(name)
        return value is not None and value.lower() in ("1", "true", "yes")

    def json(self) -> dict:
        """The body as a JSON object (``{}`` when empty); 400 otherwise."""
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError as e:
            raise HubError(400, f"Invalid JSON body: {e}") from e
        if not isinstance(data, dict):
            raise HubError(400, "Expected a JSON object")
        return data


# ----------------------------------------------------------------------------------------------- the app


class HubApp(RequestLog):
    """ASGI application standing in for the Hugging Face Hub (huggingface.co) in tests."""

    def __init__(
        self,
        root,
        token: str,
        *,
        user: str = DEFAULT_USER,
        orgs: tuple[str, ...] | list[str] = DEFAULT_ORGS,
    ):
        if not token:
            raise ValueError("a token is required")
        self.store = GitStore(root)
        self.root = self.store.root
        self._token = token
        self.user = user
        self.orgs = tuple(orgs)
        self._state_lock = threading.Lock()
        self._faults: list[Fault] = []
        self.requests: list[RequestRecord] = []
        self.faults_fired = 0
        # (host, port) of a client connection -> its asyncio transport, filled by the uvicorn protocol
        # subclass in tests/asgi_thread.py so that a fault can abort the connection outright.
        self.transports: dict[tuple, asyncio.BaseTransport] = {}
        self.jobs_api = JobsAPI(user, self.orgs)

    def __repr__(self) -> str:  # never show the token
        return f"HubApp(root={str(self.root)!r}, user={self.user!r})"

    # -- fault injection and request log ----------------------------------------------------------------

    def add_fault(self, fault: Fault) -> Fault:
        with self._state_lock:
            self._faults.append(fault)
        return fault

    def fail_next(
        self, method: str, path: str, status: int = 500, *, count: int = 1, retry_after: int | None = None
    ) -> Fault:
        """The next ``count`` requests matching ``method`` (or ``"*"``) and the ``path`` regex get ``status``.

        ``retry_after`` adds a ``Retry-After`` header (seconds), as the Hub does on 429."""
        return self.add_fault(
            Fault(method.upper(), path, status=status, count=count, retry_after=retry_after)
        )

    def drop_next(
        self, method: str, path: str, *, when: Literal["before", "after"] = "before", count: int = 1
    ) -> Fault:
        """The next ``count`` matching requests lose their connection, ``before`` or ``after`` being applied."""
        if when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        return self.add_fault(Fault(method.upper(), path, drop=when, count=count))



    # -- helpers for tests --------------------------------------------------------------------------------

    @property
    def jobs(self) -> list[StandinJob]:
        """The Hugging Face Jobs submitted, in order (``body``: the raw request, ``spec``: its JSON)."""
        return self.jobs_api.jobs

    def set_job_script(self, logs: list[str], stage: str = "COMPLETED", message: str | None = None) -> None:
        """Jobs submitted from now on stream ``logs``, then end in ``stage`` with the status ``message``."""
        self.jobs_api.set_job_script(logs, stage, message)

    def repo(self, repo_id: str, repo_type: str = "model") -> HubRepo | None:
        return self.store.get(repo_type, repo_id)

    def head(self, repo_id: str, repo_type: str = "model", branch: str = DEFAULT_BRANCH) -> str | None:
        repo = self.repo(repo_id, repo_type)
        return repo.ref_target(f"refs/heads/{branch}") if repo else None

    def commits(self, repo_id: str, repo_type: str = "model", branch: str = DEFAULT_BRANCH) -> int:
        """Number of commits on ``branch`` (the Hub's own "initial commit" included); 0 if absent."""
        repo = self.repo(repo_id, repo_type)
        head = repo.ref_target(f"refs/heads/{branch}") if repo else None
        return len(repo.log(head)) if head else 0

    # -- ASGI ---------------------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return

        request = Request(scope, receive)
        body = await request.body()
        method = scope["method"].upper()
        path = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")

        fault = self._take_fault(method, path)
        if fault is not None and fault.status is not None:
            headers = {"X-Error-Message": "Injected fault"}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            self._record(RequestRecord(method, path, query, fault.status, "status"))
            await JSONResponse({"error": "Injected fault"}, status_code=fault.status, headers=headers)(
                scope, receive, send
            )
            return
        if fault is not None and fault.drop == "before":
            self._record(RequestRecord(method, path, query, None, "drop-before"))
            await abort_connection(self.transports, scope, send)
            return

        raw_path = scope.get("raw_path") or path.encode()
        segments = [unquote(s) for s in raw_path.decode("latin-1").split("?")[0].split("/")[1:]]
        if segments and segments[-1] == "" and len(segments) > 1:
            segments = segments[:-1]
        ctx = _Ctx(
            method=method,
            path=path,
            segments=segments,
            query=parse_qs(query, keep_blank_values=True),
            headers=request.headers,
            body=body,
            base_url=str(request.base_url).rstrip("/"),
            authed=False,
        )
        response = self._check_auth(ctx)
        if response is None:
            response = await anyio.to_thread.run_sync(self._handle, ctx)

        if fault is not None and fault.drop == "after":
            self._record(RequestRecord(method, path, query, response.status_code, "drop-after"))
            await abort_connection(self.transports, scope, send)
            return
        self._record(RequestRecord(method, path, query, response.status_code))
        await response(scope, receive, send)

    def _check_auth(self, ctx: _Ctx) -> Response | None:
        auth = ctx.headers.get("authorization")
        if auth is None:
            return None
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self._token.encode()):
            ctx.authed = True
            return None
        return _error_response(HubError(401, "Invalid credentials in Authorization header"))

    def _handle(self, ctx: _Ctx) -> Response:
        try:
            return self._route(ctx)
        except HubError as e:
            return _error_response(e)
        except GitStoreError as e:
            return _error_response(HubError(e.status, e.message, e.code))
        except Exception as e:  # pragma: no cover - a bug in the stand-in, shown to the client
            logger.exception("stand-in Hub failed on %s %s", ctx.method, ctx.path)
            return _error_response(HubError(500, f"Stand-in Hub internal error: {type(e).__name__}: {e}"))

    # -- routing ------------------------------------------------------------------------------------------

    def _route(self, ctx: _Ctx) -> Response:
        segs, method = ctx.segments, ctx.method
        if segs and segs[0] == "api":
            api = segs[1:]
            if api == ["whoami-v2"] and method == "GET":
                return self._whoami(ctx)
            if api == ["validate-yaml"] and method == "POST":
                return self._validate_yaml(ctx)
            if api == ["repos", "create"] and method == "POST":
                return self._create_repo(ctx)
            if api == ["repos", "delete"] and method == "DELETE":
                return self._delete_repo(ctx)
            if api and api[0] == "jobs":
                return self.jobs_api.route(ctx, api[1:], HubError)
            if len(api) >= 3 and api[0] in _TYPE_PLURALS:
                repo_type = _TYPE_PLURALS[api[0]]
                repo_id = f"{api[1]}/{api[2]}"
                return self._route_repo(ctx, repo_type, repo_id, api[3:])
            raise HubError(404, f"Stand-in Hub does not implement {method} {ctx.path}")

        repo_type = "model"
        rest = segs
        if rest and rest[0] in ("datasets", "spaces"):
            repo_type = _TYPE_PLURALS[rest[0]]
            rest = rest[1:]
        if len(rest) >= 4 and rest[2] == "resolve" and method in ("GET", "HEAD"):
            rev, file_segments = self._split_revision(rest[3:])
            return self._resolve(ctx, repo_type, f"{rest[0]}/{rest[1]}", rev, "/".join(file_segments))
        raise HubError(404, f"Stand-in Hub does not implement {method} {ctx.path}")

    @staticmethod
    def _split_revision(segments: list[str]) -> tuple[str, list[str]]:
        """Revision first, rest after. ``refs/convert/x`` and ``refs/pr/N`` may come unencoded."""
        if not segments:
            raise HubError(400, "Missing revision")
        if segments[0] == "refs" and len(segments) >= 3 and segments[1] in ("convert", "pr", "heads", "tags"):
            return "/".join(segments[:3]), segments[3:]
        return segments[0], segments[1:]

    def _route_repo(self, ctx: _Ctx, repo_type: str, repo_id: str, rest: list[str]) -> Response:
        method = ctx.method
        if not rest and method == "GET":
            return self._repo_info(ctx, repo_type, repo_id, None)
        if not rest:
            raise HubError(405, f"{method} not allowed here")
        action, args = rest[0], rest[1:]
        if action == "revision" and method == "GET" and args:
            rev, _ = self._split_revision(args)
            return self._repo_info(ctx, repo_type, repo_id, rev)
        if action == "tree" and method == "GET" and args:
            rev, path = self._split_revision(args)
            return self._tree(ctx, repo_type, repo_id, rev, "/".join(path))
        if action == "paths-info" and method == "POST" and args:
            rev, _ = self._split_revision(args)
            return self._paths_info(ctx, repo_type, repo_id, rev)
        if action == "preupload" and method == "POST" and args:
            rev, _ = self._split_revision(args)
            return self._preupload(ctx, repo_type, repo_id, rev)
        if action == "commit" and method == "POST" and args:
            rev, _ = self._split_revision(args)
            return self._commit(ctx, repo_type, repo_id, rev)
        if action == "refs" and method == "GET" and not args:
            return self._refs(ctx, repo_type, repo_id)
        if action == "commits" and method == "GET" and args:
            rev, _ = self._split_revision(args)
            return self._list_commits(ctx, repo_type, repo_id, rev)
        if action == "branch" and args and method in ("POST", "DELETE"):
            name = "/".join(args)
            if method == "POST":
                return self._create_branch(ctx, repo_type, repo_id, name)
            return self._delete_ref(ctx, repo_type, repo_id, f"refs/heads/{name}")
        if action == "tag" and args and method in ("POST", "DELETE"):
            if method == "POST":
                rev, _ = self._split_revision(args)
                return self._create_tag(ctx, repo_type, repo_id, rev)
            return self._delete_ref(ctx, repo_type, repo_id, f"refs/tags/{'/'.join(args)}")
        if action == "settings" and method == "PUT" and not args:
            return self._settings(ctx, repo_type, repo_id)
        raise HubError(404, f"Stand-in Hub does not implement {method} {ctx.path}")

    # -- shared lookups -----------------------------------------------------------------------------------

    def _require_write(self, ctx: _Ctx) -> None:
        if not ctx.authed:
            raise HubError(401, "You must be authenticated (a write token is needed) to do this")

    def _get_repo(self, ctx: _Ctx, repo_type: str, repo_id: str) -> HubRepo:
        repo = self.store.get(repo_type, repo_id)
        if repo is None or (repo.private and not ctx.authed):
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repo

    @staticmethod
    def _resolve_rev(repo: HubRepo, rev: str | None) -> str:
        sha = repo.resolve(rev or DEFAULT_BRANCH)
        if sha is None:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return sha

    def _repo_url(self, ctx: _Ctx, repo_type: str, repo_id: str) -> str:
        return f"{ctx.base_url}/{_URL_PREFIX[repo_type]}{repo_id}"

    @staticmethod
    def _card_data(repo: HubRepo, sha: str) -> dict | None:
        readme = repo.read_file(sha, "README.md")
        if readme is None:
            return None
        match = _YAML_BLOCK.match(readme.decode("utf-8", errors="replace"))
        if not match:
            return None
        try:
            data = yaml.safe_load(match.group(2))
        except yaml.YAMLError:
            return None
        return data if isinstance(data, dict) else None

    @staticmethod
    def _last_commit_json(repo: HubRepo, sha: str) -> dict:
        meta = repo.commit_meta(sha)
        return {"id": meta.id, "title": meta.title, "date": meta.date}

    def _entry_json(self, repo: HubRepo, commit: str, entry, expand: bool) -> dict:
        out: dict[str, Any] = {"type": entry.type, "oid": entry.oid, "size": entry.size, "path": entry.path}
        if expand:
            last = repo.last_commits(commit).get(entry.path)
            if last:
                out["lastCommit"] = self._last_commit_json(repo, last)
        return out

    # -- endpoints ----------------------------------------------------------------------------------------

    def _whoami(self, ctx: _Ctx) -> Response:
        if not ctx.authed:
            raise HubError(401, "Invalid credentials in Authorization header")
        return JSONResponse(
            {
                "type": "user",
                "id": "000000000000000000000001",
                "name": self.user,
                "fullname": "Stand-in User",
                "email": f"{self.user}@example.invalid",
                "emailVerified": True,
                "canPay": False,
                "isPro": False,
                "periodEnd": None,
                "avatarUrl": "",
                "orgs": [
                    {
                        "type": "org",
                        "id": f"00000000000000000000010{i}",
                        "name": org,
                        "fullname": org,
                        "email": None,
                        "canPay": False,
                        "isEnterprise": False,
                        "roleInOrg": "admin",
                        "avatarUrl": "",
                    }
                    for i, org in enumerate(self.orgs)
                ],
                "auth": {
                    "type": "access_token",
                    "accessToken": {"displayName": "hub-standin", "role": "write", "createdAt": iso_date(0)},
                },
            }
        )

    def _validate_yaml(self, ctx: _Ctx) -> Response:
        content = ctx.json().get("content", "")
        match = _YAML_BLOCK.match(content or "")
        if match:
            try:
                data = yaml.safe_load(match.group(2))
            except yaml.YAMLError as e:
                return JSONResponse(
                    {"errors": [{"message": f"Invalid YAML in README.md metadata: {e}"}], "warnings": []},
                    status_code=400,
                )
            if data is not None and not isinstance(data, dict):
                return JSONResponse(
                    {"errors": [{"message": "README.md metadata must be a YAML mapping"}], "warnings": []},
                    status_code=400,
                )
        return JSONResponse({"errors": [], "warnings": []})

    def _repo_payload(self, ctx: _Ctx) -> tuple[str, str, dict]:
        payload = ctx.json()
        repo_type = payload.get("type") or "model"
        if repo_type not in _URL_PREFIX:
            raise HubError(400, f"Invalid repo type: {repo_type!r}")
        name = payload.get("name")
        if not name:
            raise HubError(400, "Missing repo name")
        organization = payload.get("organization") or self.user
        return repo_type, f"{organization}/{name}", payload

    def _create_repo(self, ctx: _Ctx) -> Response:
        self._require_write(ctx)
        repo_type, repo_id, payload = self._repo_payload(ctx)
        url = self._repo_url(ctx, repo_type, repo_id)
        if self.store.get(repo_type, repo_id) is not None:
            return JSONResponse(
                {"error": f"You already created this {repo_type} repo", "url": url},
                status_code=409,
                headers={"X-Error-Message": f"You already created this {repo_type} repo"},
            )
        if repo_type == "space" and payload.get("sdk") not in ("gradio", "streamlit", "docker", "static"):
            return JSONResponse({"error": "A Space needs an sdk: gradio, streamlit, docker or static"}, status_code=400)
        visibility = payload.get("visibility")
        private = bool(payload.get("private")) if visibility is None else visibility != "public"
        try:
            self.store.create(repo_type, repo_id, private=private, sdk=payload.get("sdk"))
        except GitStoreError as e:
            if e.status == 409:
                return JSONResponse({"error": e.message, "url": url}, status_code=409)
            raise
        return JSONResponse({"url": url, "name": repo_id, "id": repo_id})

    def _delete_repo(self, ctx: _Ctx) -> Response:
        self._require_write(ctx)
        repo_type, repo_id, _ = self._repo_payload(ctx)
        self._get_repo(ctx, repo_type, repo_id)
        self.store.delete(repo_type, repo_id)
        return Response(status_code=200)

    def _settings(self, ctx: _Ctx, repo_type: str, repo_id: str) -> Response:
        self._require_write(ctx)
        repo = self._get_repo(ctx, repo_type, repo_id)
        payload = ctx.json()
        if "private" in payload:
            repo.update_meta(private=bool(payload["private"]))
        if "visibility" in payload:
            repo.update_meta(private=payload["visibility"] != "public")
        if "gated" in payload:
            repo.update_meta(gated=payload["gated"])
        return JSONResponse({})

    def _repo_info(self, ctx: _Ctx, repo_type: str, repo_id: str, rev: str | None) -> Response:
        repo = self._get_repo(ctx, repo_type, repo_id)
        sha = self._resolve_rev(repo, rev)
        entries = repo.entries(sha)
        commit = repo.commit_meta(sha)
        meta = repo.meta()
        with_blobs = ctx.flag("blobs")
        siblings = []
        for entry in entries.values():
            if entry.type != "file":
                continue
            sibling: dict[str, Any] = {"rfilename": entry.path}
            if with_blobs:
                sibling.update({"size": entry.size, "blobId": entry.oid})
            siblings.append(sibling)
        card = self._card_data(repo, sha)
        namespace = repo_id.split("/")[0]
        info: dict[str, Any] = {
            "_id": sha[:24],
            "id": repo_id,
            "author": namespace,
            "sha": sha,
            "lastModified": commit.date,
            "createdAt": meta.get("createdAt", commit.date),
            "private": bool(meta.get("private", False)),
            "gated": meta.get("gated", False),
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": list(card.get("tags") or []) if card and isinstance(card.get("tags"), list) else [],
            "siblings": siblings,
            "usedStorage": sum(e.size for e in entries.values()),
        }
        if card is not None:
            info["cardData"] = card
        if repo_type == "model":
            info["modelId"] = repo_id
            if card:
                info["library_name"] = card.get("library_name")
                info["pipeline_tag"] = card.get("pipeline_tag")
            config = repo.read_file(sha, "config.json")
            if config is not None:
                try:
                    parsed = json.loads(config)
                    if isinstance(parsed, dict):
                        info["config"] = {
                            k: parsed[k] for k in ("architectures", "model_type") if k in parsed
                        }
                except ValueError:
                    pass
        elif repo_type == "space":
            info["sdk"] = meta.get("sdk") or (card or {}).get("sdk")
            info["runtime"] = {
                "stage": "RUNNING",
                "hardware": {"current": "cpu-basic", "requested": "cpu-basic"},
            }
        return JSONResponse(info)

    def _tree(self, ctx: _Ctx, repo_type: str, repo_id: str, rev: str, path: str) -> Response:
        repo = self._get_repo(ctx, repo_type, repo_id)
        sha = self._resolve_rev(repo, rev)
        entries = repo.entries(sha)
        path = path.strip("/")
        if path:
            found = entries.get(path)
            if found is None or found.type != "directory":
                raise HubError(404, f"Entry not found: {path}", "EntryNotFound", {"X-Repo-Commit": sha})
        recursive, expand = ctx.flag("recursive"), ctx.flag("expand")
        prefix = f"{path}/" if path else ""
        out = []
        for entry in entries.values():
            if not entry.path.startswith(prefix):
                continue
            if not recursive and "/" in entry.path[len(prefix) :]:
                continue
            out.append(self._entry_json(repo, sha, entry, expand))
        out.sort(key=lambda e: (e["type"] != "directory", e["path"]))
        return JSONResponse(out)

    def _paths_info(self, ctx: _Ctx, repo_type: str, repo_id: str, rev: str) -> Response:
        repo = self._get_repo(ctx, repo_type, repo_id)
        sha = self._resolve_rev(repo, rev)
        content_type = ctx.headers.get("content-type", "")
        if "json" in content_type:
            payload = ctx.json()
            paths = payload.get("paths") or []
            expand = bool(payload.get("expand"))
        else:
            form = parse_qs(ctx.body.decode(), keep_blank_values=True)
            paths = form.get("paths", [])
            expand = (form.get("expand", ["false"])[0]).lower() in ("1", "true")
        if isinstance(paths, str):
            paths = [paths]
        entries = repo.entries(sha)
        out = []
        for p in paths:
            entry = entries.get(str(p).strip("/"))
            if entry is not None:
                out.append(self._entry_json(repo, sha, entry, expand))
        return JSONResponse(out)

    def _preupload(self, ctx: _Ctx, repo_type: str, repo_id: str, rev: str) -> Response:
        self._require_write(ctx)
        repo = self._get_repo(ctx, repo_type, repo_id)
        sha = self._resolve_rev(repo, rev)
        entries = repo.entries(sha)
        files = ctx.json().get("files")
        if not isinstance(files, list):
            raise HubError(400, "Expected a 'files' list")
        out = []
        for f in files:
            path = f.get("path") if isinstance(f, dict) else None
            if not isinstance(path, str):
                raise HubError(400, "Each file needs a 'path'")
            existing = entries.get(path)
            out.append(
                {
                    "path": path,
                    "uploadMode": "regular",
                    "shouldIgnore": False,
                    "oid": existing.oid if existing is not None and existing.type == "file" else None,
                }
            )
        return JSONResponse({"files": out, "commitOid": sha})

    def _parse_commit(self, body: bytes) -> tuple[dict, list[CommitOp]]:
        header: dict | None = None
        ops: list[CommitOp] = []
        for n, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                key, value = item["key"], item["value"]
            except (ValueError, KeyError, TypeError) as e:
                raise HubError(400, f"Invalid NDJSON commit payload at line {n}") from e
            if key == "header":
                if header is not None or ops:
                    raise HubError(400, "The commit header must come first, once")
                header = value
            elif header is None:
                raise HubError(400, "The commit header must come first")
            elif key == "file":
                if value.get("encoding", "base64") != "base64":
                    raise HubError(400, f"Unsupported encoding {value.get('encoding')!r}")
                try:
                    content = base64.b64decode(value["content"], validate=True)
                except (binascii.Error, KeyError, TypeError) as e:
                    raise HubError(400, f"Invalid base64 content for {value.get('path')!r}") from e
                ops.append(AddFile(validate_repo_path(value.get("path")), content))
            elif key == "deletedFile":
                ops.append(DeleteFile(validate_repo_path(value.get("path"))))
            elif key == "deletedFolder":
                ops.append(DeleteFolder(validate_repo_path(str(value.get("path", "")).rstrip("/"))))
            elif key == "lfsFile":
                raise HubError(400, "The stand-in Hub answers uploadMode 'regular' only: no LFS files")
            else:
                raise HubError(400, f"Unknown commit operation {key!r}")
        if header is None:
            raise HubError(400, "Missing commit header")
        if not str(header.get("summary") or "").strip():
            raise HubError(400, "The commit summary must not be empty")
        return header, ops

    def _commit(self, ctx: _Ctx, repo_type: str, repo_id: str, rev: str) -> Response:
        self._require_write(ctx)
        repo = self._get_repo(ctx, repo_type, repo_id)
        header, ops = self._parse_commit(ctx.body)  # the whole payload is parsed before anything is written
        parent = header.get("parentCommit")
        if parent is not None and not re.fullmatch(r"[0-9a-fA-F]{5,40}", str(parent)):
            raise HubError(400, f"Invalid parentCommit {parent!r}")
        summary = str(header["summary"])
        description = str(header.get("description") or "")
        refs = {r.name: r.target for r in repo.refs()}
        if rev.startswith("refs/pr/") and rev in refs:
            ref = rev
        elif rev.startswith("refs/heads/"):
            ref = rev
        else:
            ref = f"refs/heads/{rev}"
        if ref not in refs:
            if repo.resolve(rev) is not None:
                raise HubError(400, f"Can only commit to a branch, not to {rev!r}")
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")

        pr_url = None
        if ctx.flag("create_pr"):
            base = refs[ref]
            if parent is not None:
                base = repo.resolve(parent)
                if base is None:
                    raise HubError(404, f"Invalid rev id: {parent}", "RevisionNotFound")
            numbers = [int(n.rsplit("/", 1)[1]) for n in refs if re.fullmatch(r"refs/pr/\d+", n)]
            num = max(numbers, default=0) + 1
            sha = repo.commit(
                f"refs/pr/{num}",
                ops,
                summary=summary,
                description=description,
                author=self.user,
                base=base,
                create_ref=True,
            )
            pr_url = f"{self._repo_url(ctx, repo_type, repo_id)}/discussions/{num}"
        else:
            sha = repo.commit(
                ref, ops, summary=summary, description=description, author=self.user, parent_commit=parent
            )
        return JSONResponse(
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{self._repo_url(ctx, repo_type, repo_id)}/commit/{sha}",
                "commitMessage": summary,
                "hookOutput": "",
                "pullRequestUrl": pr_url,
            }
        )

    def _refs(self, ctx: _Ctx, repo_type: str, repo_id: str) -> Response:
        repo = self._get_repo(ctx, repo_type, repo_id)
        out: dict[str, list] = {"branches": [], "tags": [], "converts": [], "pullRequests": []}
        kinds = {
            "refs/heads/": "branches",
            "refs/tags/": "tags",
            "refs/convert/": "converts",
            "refs/pr/": None,
        }
        for ref in repo.refs():
            for prefix, kind in kinds.items():
                if ref.name.startswith(prefix):
                    name = ref.name[len(prefix) :] if kind else ref.name
                    out[kind or "pullRequests"].append(
                        {"name": name, "ref": ref.name, "targetCommit": ref.target}
                    )
        if not ctx.flag("include_prs"):
            out.pop("pullRequests")
        return JSONResponse(out)

    def _list_commits(self, ctx: _Ctx, repo_type: str, repo_id: str, rev: str) -> Response:
        repo = self._get_repo(ctx, repo_type, repo_id)
        sha = self._resolve_rev(repo, rev)
        return JSONResponse(
            [
                {
                    "id": c.id,
                    "title": c.title,
                    "message": c.message,
                    "authors": [{"user": c.author, "avatar": None}],
                    "date": c.date,
                }
                for c in repo.log(sha)
            ]
        )

    def _create_branch(self, ctx: _Ctx, repo_type: str, repo_id: str, name: str) -> Response:
        self._require_write(ctx)
        repo = self._get_repo(ctx, repo_type, repo_id)
        try:
            validate_ref_name(name)
        except GitStoreError as e:
            raise HubError(400, e.message) from e
        payload = ctx.json()
        start = payload.get("startingPoint")
        target = self._resolve_rev(repo, start)
        if payload.get("emptyBranch"):
            raise HubError(400, "The stand-in Hub does not create empty branches")
        repo.create_ref(f"refs/heads/{name}", target)
        return JSONResponse({})

    def _create_tag(self, ctx: _Ctx, repo_type: str, repo_id: str, rev: str) -> Response:
        self._require_write(ctx)
        repo = self._get_repo(ctx, repo_type, repo_id)
        payload = ctx.json()
        tag = payload.get("tag")
        try:
            validate_ref_name(tag or "")
        except GitStoreError as e:
            raise HubError(400, e.message) from e
        target = self._resolve_rev(repo, rev)
        repo.create_tag(tag, target, payload.get("message"), self.user)
        return JSONResponse({})

    def _delete_ref(self, ctx: _Ctx, repo_type: str, repo_id: str, ref: str) -> Response:
        self._require_write(ctx)
        repo = self._get_repo(ctx, repo_type, repo_id)
        if ref == f"refs/heads/{DEFAULT_BRANCH}":
            raise HubError(403, "The main branch cannot be deleted")
        repo.delete_ref(ref)
        return Response(status_code=200)

    def _resolve(self, ctx: _Ctx, repo_type: str, repo_id: str, rev: str, path: str) -> Response:
        repo = self._get_repo(ctx, repo_type, repo_id)
        sha = self._resolve_rev(repo, rev)
        entry = repo.entries(sha).get(path)
        if entry is None or entry.type != "file":
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", {"X-Repo-Commit": sha})
        data = repo.blob(entry.oid)
        size = len(data)
        headers = {
            "ETag": f'"{entry.oid}"',
            "X-Repo-Commit": sha,
            "Accept-Ranges": "bytes",
            "Content-Type": mimetypes.guess_type(path)[0] or "application/octet-stream",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(path.rsplit('/', 1)[-1])}",
        }
        status, body = 200, data
        range_header = ctx.headers.get("range")
        if range_header:
            parsed = _parse_range(range_header, size)
            if parsed == "unsatisfiable":
                headers["Content-Range"] = f"bytes */{size}"
                headers["Content-Length"] = "0"
                return Response(b"", status_code=416, headers=headers)
            if parsed is not None:
                start, end = parsed
                status, body = 206, data[start : end + 1]
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(len(body))
        return Response(b"" if ctx.method == "HEAD" else body, status_code=status, headers=headers)


def _parse_range(value: str, size: int) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """A single ``bytes=`` range as (start, end) inclusive; None to ignore the header (then 200)."""
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value, flags=re.IGNORECASE)
    if not match:
        return None  # multiple ranges or garbage: answer the whole file, as HTTP allows
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if size == 0:
        return "unsatisfiable"
    if first == "":
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = int(first)
    if start >= size:
        return "unsatisfiable"
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return None
    return start, end
