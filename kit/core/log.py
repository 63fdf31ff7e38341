"""The shapes of the callbacks every stage takes: a log line, and a progress report."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

Log = Callable[[str], None]  # one line for the person running the command (the CLI prints it)
Progress = Callable[..., None]  # (stage, done, total[, note]) for a progress bar


def package_version(name: str) -> str | None:
    """The installed version of a distribution (`torch`, `vllm`, ...), or None when it is not installed."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None
