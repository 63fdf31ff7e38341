"""Exact deduplication on normalized problems, while rows stream through.

A problem's samples come from one source. Where a teacher generates the traces, that is the first source
that had the problem: the same problem from another source is a `duplicate_problem` here, so it is asked for
once. Where the traces come with the data (the `dataset` teacher), it is the first source whose trace of it
verifies: which do is not known here, and keeping only the first source's would lose the problem when those
fail and another source's pass (public trace sets overlap: OpenThoughts, Bespoke-Stratos and Sky-T1 all draw
on NuminaMath, APPS and TACO). So this stage lets them through (`one_source=False`) and rejection sampling
drops the other sources' samples (kit.curate.job). Either way several samples of one problem are kept
(multiple generations per problem), unless a sample repeats one already kept (same reasoning and solution up
to whitespace): `duplicate_sample`. Only hashes are kept, so memory grows with the number of distinct
problems and samples, not with their text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from kit.core.schema import normalize_problem

DUPLICATE_PROBLEM = "duplicate_problem"
DUPLICATE_SAMPLE = "duplicate_sample"


def _digest(*parts: str) -> bytes:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(part.encode("utf-8"))
        hasher.update(b"\x00")
    return hasher.digest()


def _squash(text: str | None) -> str:
    """Whitespace-normalized text: runs of whitespace become one space, ends stripped."""
    return " ".join((text or "").split())


class Deduplicator:
    """`check(row)` returns None to keep a row, or the reason it is a duplicate.

    Rows need `problem` and `source`; `reasoning` and `solution` identify a sample. `one_source`: a problem
    belongs to the first source that had it (for a generating teacher; see the module doc).
    """

    def __init__(self, one_source: bool = True) -> None:
        self.one_source = one_source
        self._owner: dict[bytes, str] = {}  # problem hash -> the source that had it first
        self._samples: set[bytes] = set()  # hashes of (problem, reasoning, solution) already kept

    def check(self, row: Mapping[str, Any]) -> str | None:
        problem = _digest(normalize_problem(row["problem"]))
        source = str(row.get("source") or "")
        owner = self._owner.setdefault(problem, source)
        if owner != source and self.one_source:
            return DUPLICATE_PROBLEM
        sample = _digest(problem.hex(), _squash(row.get("reasoning")), _squash(row.get("solution")))
        if sample in self._samples:
            return DUPLICATE_SAMPLE
        self._samples.add(sample)
        return None

    @property
    def problems(self) -> int:
        """The number of distinct problems seen."""
        return len(self._owner)
