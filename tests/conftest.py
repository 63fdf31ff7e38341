"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hubserver import HubServer


@pytest.fixture
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """A running stand-in for the Hugging Face Hub (huggingface.co), fresh for each test.

    Real bare git repositories under ``hub.root``; one valid token, ``hub.token`` (random). Point clients at
    it with ``HfApi(endpoint=hub.url, token=hub.token)``, or in a child process with ``HF_ENDPOINT=hub.url``
    and ``HF_TOKEN=hub.token`` (``huggingface_hub`` and ``datasets`` read ``HF_ENDPOINT`` at import time).
    Faults: ``hub.fail_next(method, path_regex, status, count=1, retry_after=None)`` and
    ``hub.drop_next(method, path_regex, when="before"|"after", count=1)``; ``hub.requests`` is the request
    log, ``hub.faults_fired`` counts faults, ``hub.commits(repo_id, repo_type, branch)`` counts commits.
    Starts in a few milliseconds and stops in about 0.1 s.
    """
    server = HubServer(tmp_path_factory.mktemp("hub")).start()
    try:
        yield server
    finally:
        server.stop()
