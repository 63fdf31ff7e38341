"""`kit verify`'s job: every row of an input with its verdict, written to a JSON Lines file in input order, resumable.

`verify_to_jsonl(open_rows, out, verifier)` streams the rows (`open_rows()` yields them from the start) through a
`RowVerifier` and writes each one, with `verified`, `verifier` and `verification` (the verdict's JSON) added, to
`OUT.partial` as its verdict arrives (the verifier answers `CHUNK` rows at a time); at the end that file becomes
`OUT`. A run that stops for any reason (Ctrl-C, `kill -9`, a lost machine) leaves `OUT.partial`, and the same command
resumes from it, losing at most the chunk that was in flight: the rows written there are kept - each is checked
against the input row at its place, so a partial file of another input is never taken for this one's (then the run
starts over and says so) - and verification goes on from the first row not written. A torn last line (a write cut
off) is dropped; a run stopped before any row was verified leaves nothing behind.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kit.verify.registry import RowVerifier

ADDED = ("verified", "verifier", "verification")  # the columns a verdict adds to a row


@dataclass
class Written:
    """What a run wrote: rows passed and failed (resumed rows included), and how many of them were resumed."""

    passed: int = 0
    failed: int = 0
    resumed: int = 0

    @property
    def total(self) -> int:
        """Rows verified: resumed and new."""
        return self.passed + self.failed


def partial_path(out: Path) -> Path:
    """Where a run keeps the rows written so far (`OUT.jsonl.partial`)."""
    return out.with_name(out.name + ".partial")


def verify_to_jsonl(open_rows: Callable[[], Iterable[dict[str, Any]]], out: Path, verifier: RowVerifier,
                    on_progress: Callable[[int], None] | None = None,
                    log: Callable[[str], None] | None = None) -> Written:
    """Verify the rows `open_rows()` yields into `out` (see the module doc); `on_progress(rows done)` as the verifiers
    progress, resumed rows included; `log` says what was resumed, or why a partial file was not."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(out)
    written = Written()
    source = iter(open_rows())
    resume = _resumable(partial, source)
    if resume.why_not is not None:
        if log:
            log(f"{partial} does not match this input ({resume.why_not}): starting over")
        source = iter(open_rows())
    elif resume.verified:
        written.resumed = len(resume.verified)
        for passed in resume.verified:
            _count(written, passed)
        if log:
            log(f"resuming from {partial}: {written.resumed} rows already verified")
    held: deque[dict[str, Any]] = deque()

    def pending() -> Iterator[dict[str, Any]]:
        for row in source:
            held.append(row)
            yield row

    if on_progress and written.resumed:
        on_progress(written.resumed)
    progress = (lambda n: on_progress(written.resumed + n)) if on_progress else None  # as the verifiers progress
    if written.resumed:  # the rows kept stay on disk all along: only a torn end is cut off
        os.truncate(partial, resume.end)
    with partial.open("a" if written.resumed else "w", encoding="utf-8") as fh:
        try:
            for verdict in verifier.verify(pending(), on_result=progress):
                row = held.popleft()
                row.update(verified=verdict.passed, verifier=verdict.verifier, verification=verdict.to_json())
                _count(written, verdict.passed)
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                fh.flush()  # on disk as it is verified: a run killed now loses none of it
        except BaseException as exc:  # Ctrl-C, an input that fails to stream: what was verified stays
            if not written.total:
                fh.close()
                partial.unlink(missing_ok=True)
            elif isinstance(exc, KeyboardInterrupt) and log:  # (an error's own message is the one line it prints)
                log(f"stopped: the {written.total} rows verified are kept in {partial}; run the same command to resume")
            raise
    partial.replace(out)
    return written


def _count(written: Written, passed: Any) -> None:
    if passed is True:
        written.passed += 1
    else:
        written.failed += 1


@dataclass
class _Resume:
    """What a partial file gives a new run: the verdicts (`verified`) of its rows that are the input's first rows,
    and the byte offset where they end; or why it gives nothing (`why_not`)."""

    verified: list[Any] = field(default_factory=list)
    end: int = 0
    why_not: str | None = None


def _resumable(partial: Path, source: Iterator[dict[str, Any]]) -> _Resume:
    """How much of `partial` a run over `source` keeps: each complete line that is the verdict of the input row at its
    place (those rows are taken from `source`), up to the first line that is torn or no verdict."""
    resume = _Resume()
    if not partial.is_file():
        return resume
    with partial.open("rb") as fh:
        for line in fh:
            try:
                saved = json.loads(line) if line.endswith(b"\n") else None  # a torn last line: verified again
            except ValueError:
                saved = None
            if not isinstance(saved, dict) or any(key not in saved for key in ADDED):
                break
            row = next(source, None)
            if row is None:
                return _Resume(why_not="it holds more rows than the input")
            if _as_written(row) != _as_written(saved):
                return _Resume(why_not=f"its row {len(resume.verified) + 1} is not the input's")
            resume.verified.append(saved["verified"])
            resume.end += len(line)
    return resume


def _as_written(row: dict[str, Any]) -> str:
    """A row as JSON text, without the columns a verdict adds (which an input row may already hold): an input row and
    its line in the partial file read the same (a float NaN too, which equals no NaN as a value)."""
    plain = json.loads(json.dumps({k: v for k, v in row.items() if k not in ADDED}, ensure_ascii=False, default=str))
    return json.dumps(plain, ensure_ascii=False, sort_keys=True)


__all__ = ["ADDED", "Written", "partial_path", "verify_to_jsonl"]
