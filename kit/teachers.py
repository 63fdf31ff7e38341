"""Teachers: where the reasoning traces of a data recipe come from.

- `dataset`: the traces are already in the input rows (the OpenThoughts-Unverified -> verified path);
  `DatasetTeacher.samples()` turns each row into a sample.
- `openai`, `transformers`, `vllm`: a model asked through distilabel (`make_llm`; the classes are in
  `kit.generation.llms`, imported only when a recipe generates). Each extends distilabel's with `replies(requests, **sampling)`: one reply per `(messages, seed)` request, as
  `{content, reasoning_content, finish_reason, output_tokens, error}`, so every sample has its own seed
  and the server's `reasoning_content` is kept (distilabel's `generate` drops both). A request that fails
  for good comes back with `error` set instead of raising, so the finished ones of a batch are kept.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from kit.recipes import LLMConfig, TeacherConfig
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
    """The teacher of a recipe whose traces are in its rows (generating backends go through `make_llm`)."""
    if cfg.backend == "dataset":
        return DatasetTeacher(cfg)
    raise ValueError(f"teacher.backend {cfg.backend!r} generates: use kit.pipeline")


def make_llm(cfg: LLMConfig) -> Any:
    """The distilabel LLM of a model asked by the pipeline (kit.generation.llms; imports distilabel)."""
    from kit.generation.llms import make_llm as make

    return make(cfg)
