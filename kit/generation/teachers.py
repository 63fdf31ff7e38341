"""Teachers: where the reasoning traces of a data recipe come from.

- `dataset`: the traces are already in the input rows (the OpenThoughts-Unverified -> verified path);
  `DatasetTeacher.read()` takes a row's traces in whatever shape it ships them and `DatasetTeacher.samples()`
  turns each trace into a sample. Shapes (the first one a row has is read):
  1. `reply` (+ optional `reasoning_content`, `finish_reason`): a raw reply, as a server returned it; a list of
     replies (OpenR1-Math-220k's `generations`, or several reply columns a recipe maps, DeepMath-103K's
     `r1_solution_1`..`3`) is one sample each, with `finish_reason` and `reasoning_content` lists in the same order
     (its `finish_reasons`);
  2. `reasoning` + `solution`: already split (taken as they are); a reasoning given as a list of texts
     (s1K's `thinking_trajectories`) is one reasoning, its parts joined by newlines as s1's own SFT data joins them
     (a `reasoning` column beside a chat but with no `solution` is no trace: Nemotron's says `on` or `off`);
  3. a chat column, `messages` or `conversations` (role/content or ShareGPT from/value): the last assistant
     turn is the reply, the user turn before it the problem (unless the row has `problem`), a system turn
     (or a `system_prompt` column) that row's system prompt.
  Raw replies go through `kit.core.chat.split_reply`, the splitter of generated replies, so an
  unclosed or cut-off trace is rejected at the `generate` stage for the same reasons as a generated one.
- `openai`, `transformers`, `vllm`: a model asked through distilabel (`kit.generation.llms.make_llm`,
  imported only when a recipe generates). Each extends distilabel's with `replies(requests, **sampling)`: one reply per `(messages, seed)` request, as
  `{content, reasoning_content, finish_reason, output_tokens, error}`, so every sample has its own seed
  and the server's `reasoning_content` is kept (distilabel's `generate` drops both). A request that fails
  for good comes back with `error` set instead of raising, so the finished ones of a batch are kept.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from kit.core.chat import split_reply
from kit.core.schema import joined_lines, problem_id
from kit.core.sources import CHAT_COLUMNS, ChatError, read_chat
from kit.recipes import TeacherConfig

TRACE = "_trace"  # what `read` found of a raw trace; `samples` turns it into the sample's fields


class DatasetTeacher:
    """Replays traces that are already present in the rows (see the module doc for their shapes)."""

    backend = "dataset"

    def __init__(self, cfg: TeacherConfig) -> None:
        self.cfg = cfg

    def read(self, row: dict[str, Any], instruction: str | None = None) -> list[dict[str, Any]]:
        """The row's traces, a row each, with the trace in `reasoning` and `solution`: one, or one per reply of a
        list of replies (each with its `sample_index` in that list). A raw trace (a reply or a chat) is split by
        `split_reply` and leaves `_trace`: its format, the rejection (None for a usable trace), the system
        prompt and finish reason. A problem taken from a chat's user turn loses the domain's format
        `instruction` at its start or end (the formatter appends it again). Rows in neither shape are returned
        as they are (the job names the missing column)."""
        if isinstance(row.get("reply"), list | tuple):
            return self._replies(row)
        return [self._read(row, instruction)]

    def _replies(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """A row whose `reply` is a list: a row per reply, `finish_reason` and `reasoning_content` (lists too) taken
        in the same order. An empty list is one empty reply; lists that do not pair with the replies make the row
        invalid (`invalid_trace`), as the replies cannot be told apart from their ends or reasoning."""
        replies = list(row["reply"])
        if not replies:
            return [self._read({**row, "reply": None, "finish_reason": None, "reasoning_content": None,
                                "sample_index": 0})]
        paired = {name: row[name] for name in ("finish_reason", "reasoning_content")
                  if isinstance(row.get(name), list | tuple)}
        if unpaired := [f"{len(values)} {name}s" for name, values in paired.items() if len(values) != len(replies)]:
            detail = f"{len(replies)} replies but {' and '.join(unpaired)}"
            return [{**row, "reply": None, "reasoning": "", "solution": "",
                     TRACE: {"format": "reply", "invalid": detail, "reason": "invalid_trace"}}]
        return [self._read({**row, "reply": reply, "sample_index": n,
                            **{name: values[n] for name, values in paired.items()}})
                for n, reply in enumerate(replies)]

    def _read(self, row: dict[str, Any], instruction: str | None = None) -> dict[str, Any]:
        chat_column = next((c for c in CHAT_COLUMNS if c in row), None)
        if "reply" in row:
            fmt, reply, system = "reply", row["reply"], None
            reasoning = joined_lines(row.get("reasoning_content"))
        elif "reasoning" in row and ("solution" in row or chat_column is None):
            return {**row, "reasoning": joined_lines(row["reasoning"])}
        elif chat_column:
            fmt = "chat"
            try:
                chat = read_chat(row[chat_column])
            except ChatError as exc:
                return {**row, "problem": row.get("problem"), "reasoning": "", "solution": "",
                        TRACE: {"format": fmt, "invalid": f"{chat_column}: {exc}", "reason": "invalid_chat"}}
            reply, reasoning, system = chat.reply, chat.reasoning_content, chat.system
            if "problem" not in row:
                row = {**row, "problem": _without(chat.prompt, instruction)}
        else:
            return row
        finish = row.get("finish_reason")
        split = split_reply(_as_text(reply), _as_text(reasoning), finish if isinstance(finish, str) else None)
        system = _as_text(row.get("system_prompt")) or system
        return {**row, "reasoning": split.reasoning, "solution": split.solution,
                TRACE: {"format": fmt, "reject": split.reject, "detail": split.detail,
                        "system_prompt": system or None, "finish_reason": finish}}

    def samples(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Each row as a sample: `teacher`, `problem_id` and `generation` (sample index per problem) filled in.
        A raw trace's sample also has `reject`/`reject_detail` (None when usable) and `system_prompt`, and its
        `generation` records the trace's format, finish reason and system prompt."""
        seen: Counter[str] = Counter()
        for row in rows:
            pid = row.get("problem_id") or problem_id(row.get("problem") or "")
            index = seen[pid]
            seen[pid] += 1
            trace = row.get(TRACE)
            extra: dict[str, Any] = {}
            if trace is not None:
                row = {k: v for k, v in row.items() if k != TRACE}
                extra = {"reject": trace.get("reject"), "reject_detail": trace.get("detail"),
                         "system_prompt": trace.get("system_prompt")}
            generation = row.get("generation")
            if not generation:
                made = {"backend": self.backend, "sample_index": index}
                if trace is not None:
                    made |= {k: v for k, v in (("trace", trace["format"]), ("finish_reason", trace.get("finish_reason")),
                                               ("system_prompt", trace.get("system_prompt"))) if v is not None}
                generation = json.dumps(made)
            yield {**row, "problem_id": pid, "teacher": row.get("teacher") or self.cfg.model,
                   "generation": generation, **extra}


def _as_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _without(prompt: str | None, instruction: str | None) -> str | None:
    """A chat's user turn without the format instruction it starts or ends with."""
    if not prompt or not instruction:
        return prompt
    text = prompt.strip()
    if text.startswith(instruction):
        text = text[len(instruction):]
    elif text.endswith(instruction):
        text = text[:-len(instruction)]
    return text.strip() or prompt


def make_teacher(cfg: TeacherConfig) -> DatasetTeacher:
    """The teacher of a recipe whose traces are in its rows (generating backends go through `kit.generation.llms.make_llm`)."""
    if cfg.backend == "dataset":
        return DatasetTeacher(cfg)
    raise ValueError(f"teacher.backend {cfg.backend!r} generates: use kit.generation.pipeline")
