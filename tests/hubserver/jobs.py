"""A stand-in for the Hugging Face Jobs API (``/api/jobs/...`` on huggingface.co), part of the Hub stand-in.

Serves what ``HfApi.run_job`` / ``run_uv_job``, ``inspect_job``, ``fetch_job_logs``, ``wait_for_job``,
``list_jobs`` and ``cancel_job`` call (every endpoint needs the valid token; the namespace must be the user
or one of its orgs):

* ``POST /api/jobs/{ns}``: submit; the body (the job spec) is recorded as it came, the job starts RUNNING
* ``GET /api/jobs/{ns}`` (``stage``, ``label=k=v`` filters) and ``GET /api/jobs/{ns}/{id}``: job infos
* ``GET /api/jobs/{ns}/{id}/logs``: the job's log lines as server-sent events (``data: {"data": ...,
  "timestamp": ...}``), after a ``===== Job started`` line; once streamed, the job reaches its final stage
* ``POST /api/jobs/{ns}/{id}/cancel``: CANCELED

Nothing runs: a test scripts each job's life with :meth:`JobsAPI.set_job_script` (the log lines and the final
stage of the jobs submitted next) and reads :attr:`JobsAPI.jobs`. Secret values are never echoed back.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse, Response

TERMINAL = ("COMPLETED", "ERROR", "CANCELED", "DELETED")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class StandinJob:
    """A submitted job: ``body`` is the raw request body, ``spec`` the parsed job spec."""

    id: str
    namespace: str
    body: bytes
    spec: dict[str, Any]
    logs: list[str]
    final_stage: str
    final_message: str | None
    stage: str = "RUNNING"
    message: str | None = None
    created_at: str = field(default_factory=_now)


class JobsAPI:
    """The Jobs endpoints' state: the submitted jobs and the script of the next ones."""

    def __init__(self, user: str, orgs: tuple[str, ...]):
        self.user, self.orgs = user, orgs
        self.jobs: list[StandinJob] = []
        self._lock = threading.Lock()
        self._script: tuple[list[str], str, str | None] = (["hello from the stand-in job"], "COMPLETED", None)

    def set_job_script(self, logs: list[str], stage: str = "COMPLETED", message: str | None = None) -> None:
        """Jobs submitted from now on emit ``logs`` then end in ``stage`` (COMPLETED, ERROR, CANCELED,
        DELETED) with the status ``message``."""
        if stage not in TERMINAL:
            raise ValueError(f"stage must be one of {TERMINAL}")
        self._script = (list(logs), stage, message)

    def route(self, ctx, rest: list[str], error) -> Response:
        """Answer ``/api/jobs/{rest}``; ``error(status, message)`` builds the Hub's error exception."""
        if not ctx.authed:
            raise error(401, "You must be authenticated to use Jobs")
        if not rest:
            raise error(404, "Missing namespace")
        ns, args, method = rest[0], rest[1:], ctx.method
        if ns not in (self.user, *self.orgs):
            raise error(403, f"You cannot run jobs under {ns!r}")
        if not args and method == "POST":
            return self._submit(ctx, ns, error)
        if not args and method == "GET":
            return self._list(ctx, ns)
        job = self._get(ns, args[0], error) if args else None
        if job and len(args) == 1 and method == "GET":
            return JSONResponse(self._info(ctx, job))
        if job and args[1:] == ["logs"] and method == "GET":
            return self._logs(job)
        if job and args[1:] == ["cancel"] and method == "POST":
            with self._lock:
                if job.stage not in TERMINAL:
                    job.stage, job.message = "CANCELED", None
            return Response(status_code=200)
        raise error(404, f"Stand-in Jobs API does not implement {method} {ctx.path}")

    def _submit(self, ctx, ns: str, error) -> Response:
        spec = ctx.json()
        if not isinstance(spec.get("command"), list) or not (spec.get("dockerImage") or spec.get("spaceId")):
            raise error(400, "A job needs a command (a list) and a dockerImage or spaceId")
        logs, stage, message = self._script
        job = StandinJob(secrets.token_hex(12), ns, ctx.body, spec, logs, stage, message)
        with self._lock:
            self.jobs.append(job)
        return JSONResponse(self._info(ctx, job))

    def _get(self, ns: str, job_id: str, error) -> StandinJob:
        for job in self.jobs:
            if job.id == job_id and job.namespace == ns:
                return job
        raise error(404, f"Job {job_id} not found")

    def _list(self, ctx, ns: str) -> Response:
        stages = ctx.query.get("stage", [])
        labels = dict(v.split("=", 1) for v in ctx.query.get("label", []) if "=" in v)
        out = [self._info(ctx, j) for j in self.jobs
               if j.namespace == ns and (not stages or j.stage in stages)
               and labels.items() <= (j.spec.get("labels") or {}).items()]
        return JSONResponse(out)

    def _info(self, ctx, job: StandinJob) -> dict[str, Any]:
        spec = job.spec
        return {
            "id": job.id,
            "createdAt": job.created_at,
            "dockerImage": spec.get("dockerImage"),
            "spaceId": spec.get("spaceId"),
            "command": spec.get("command"),
            "arguments": spec.get("arguments", []),
            "environment": spec.get("environment", {}),
            "secrets": {name: None for name in spec.get("secrets") or {}},  # names only, never values
            "flavor": spec.get("flavor"),
            "labels": spec.get("labels"),
            "timeoutSeconds": spec.get("timeoutSeconds"),
            "status": {"stage": job.stage, "message": job.message},
            "owner": {"id": "000000000000000000000001", "name": job.namespace,
                      "type": "user" if job.namespace == self.user else "org"},
        }

    def _logs(self, job: StandinJob) -> Response:
        lines = [f"===== Job started at {job.created_at} =====", *job.logs]
        body = "".join(f"data: {json.dumps({'data': line, 'timestamp': _now()})}\n\n" for line in lines)
        with self._lock:
            if job.stage not in TERMINAL:
                job.stage, job.message = job.final_stage, job.final_message
        return Response(body, media_type="text/event-stream")
