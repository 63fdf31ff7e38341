"""Teachers: where the reasoning traces of a data recipe come from.

This release has the `dataset` backend (the traces are already in the input rows, the
OpenThoughts-Unverified -> verified path). Generating backends (vllm, openai-compatible servers,
transformers) plug in here with the same `samples()` shape: problems in, one row per generated sample out.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from kit.recipes import TeacherConfig
from kit.schema import problem_id


class DatasetTeacher:
    """Replays traces that are already present in the rows (`reasoning`, `solution`)."""

    backend = "dataset"

    def __init__(self, cfg: TeacherConfig) -> None:
        self.cfg = cfg

    def samples(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Each row as a sample: `teacher`, `problem_id` and `generation` (sample index per problem) filled in."""
        seen: Counter[str] = Counter()
        for row in rows:
            pid = row.get("problem_id") or problem_id(row.get("problem") or "")
            index = seen[pid]
            seen[pid] += 1
            generation = row.get("generation")
            if not generation:
                generation = json.dumps({"backend": self.backend, "sample_index": index})
            yield {**row, "problem_id": pid, "teacher": row.get("teacher") or self.cfg.model,
                   "generation": generation}


def make_teacher(cfg: TeacherConfig) -> DatasetTeacher:
    """The teacher a recipe asks for."""
    if cfg.backend == "dataset":
        return DatasetTeacher(cfg)
    raise ValueError(f"teacher.backend {cfg.backend!r} is not available")  # the recipe model rejects it first
