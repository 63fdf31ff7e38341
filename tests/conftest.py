"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hubserver import HubServer
from tests.teacherserver import TeacherServer


@pytest.fixture(scope="session")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dataset folder `kit curate recipes/data/quickstart.yaml` writes, built once per test session.
    Treat it as read-only: copy it to change it."""
    from kit.curate.job import run_curate
    from kit.recipes import load_data_recipe

    out = tmp_path_factory.mktemp("built") / "quickstart"
    run_curate(load_data_recipe(Path(__file__).resolve().parent.parent / "recipes/data/quickstart.yaml"), out)
    return out


@pytest.fixture
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """A running stand-in for the Hugging Face Hub (huggingface.co), fresh for each test.

    Real bare git repositories under ``hub.root``; one valid token, ``hub.token`` (random). Point clients at
    it with ``HfApi(endpoint=hub.url, token=hub.token)``, or in a child process with ``HF_ENDPOINT=hub.url``
    and ``HF_TOKEN=hub.token`` (``huggingface_hub`` and ``datasets`` read ``HF_ENDPOINT`` at import time).
    Faults: ``hub.fail_next(method, path_regex, status, count=1, retry_after=None)`` and
    ``hub.drop_next(method, path_regex, when="before"|"after", count=1)``; ``hub.requests`` is the request
    log, ``hub.faults_fired`` counts faults, ``hub.commits(repo_id, repo_type, branch)`` counts commits.
    It also stands in for the Hugging Face Jobs API: ``hub.set_job_script(logs, stage)`` scripts the next
    jobs, ``hub.jobs`` lists what was submitted.
    Starts in a few milliseconds and stops in about 0.1 s.
    """
    server = HubServer(tmp_path_factory.mktemp("hub")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def teacher() -> Iterator[TeacherServer]:
    """A running stand-in for the OpenAI-compatible server of the teacher model (vLLM, SGLang, hosted
    DeepSeek-R1 providers), fresh for each test, replaying ``tests/data/teacher_recordings.jsonl``.

    Point clients at it with ``openai.OpenAI(base_url=teacher.base_url, api_key=teacher.api_key)`` and
    ``model=teacher.model``; ``teacher.api_key`` is random. A request whose last user message contains a
    recorded problem gets that problem's recorded reasoning (``message.reasoning_content``) and answer
    (``message.content``); ``seed`` picks among the recordings, ``max_tokens`` cuts (finish_reason
    "length"). Faults: ``teacher.fail_next(status=500, count=1, retry_after=None)``,
    ``teacher.drop_next(count=1)``, ``teacher.delay_next(seconds, count=1)`` (each also takes ``path=``,
    a regex); ``teacher.requests`` is the request log, ``teacher.faults_fired`` counts faults,
    ``teacher.add_recording(problem, completions, model=None)`` adds a reply (under another model name, the
    stand-in also plays a reformatter or a judge). ``teacher.stop()`` makes ``base_url``
    an unreachable endpoint. Starts in a few milliseconds and stops in about 0.1 s.
    """
    server = TeacherServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def reasoners(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny local models (real folders) taught to answer the arena's first example: `right` thinks and
    answers 38 (the reference answer), `wrong` thinks and answers 40. Built once per session (~15 s)."""
    from tests.tiny_reasoners import (
        RIGHT_ANSWER,
        RIGHT_THINKING,
        WRONG_ANSWER,
        WRONG_THINKING,
        arena_problem,
        make_reasoner,
        reply,
    )

    problem, _ = arena_problem()
    root = tmp_path_factory.mktemp("reasoners")
    return {"right": make_reasoner(root / "right", {problem: reply(RIGHT_THINKING, RIGHT_ANSWER)}),
            "wrong": make_reasoner(root / "wrong", {problem: reply(WRONG_THINKING, WRONG_ANSWER)}, seed=1)}


@pytest.fixture
def start_arena(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`start_arena(left, right, **settings)` serves the Reasoning Arena (kit.demo.arena) on 127.0.0.1 in this
    process and returns its URL; every app started is closed at the end of the test."""
    from kit.demo.arena import ArenaSettings, build_app, launch
    from tests.asgi_thread import free_port

    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    apps: list[Any] = []

    def start(left: str, right: str, **settings: Any) -> str:
        port = free_port()
        app = build_app(ArenaSettings(left=left, right=right, **{"temperature": 0.0, **settings}))
        apps.append(app)
        launch(app, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
        return f"http://127.0.0.1:{port}/"

    try:
        yield start
    finally:
        for app in apps:
            app.close()
