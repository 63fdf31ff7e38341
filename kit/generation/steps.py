"""The distilabel steps of the generation pipeline (kit.generation.pipeline wires them).

Every row is one sample `(problem_id, sample_index)`. The three steps that ask a model (the teacher, the
reformatter, the judge) are *stored* steps: before asking, each looks the sample up in its own append-only
store (kit.generation.store) and takes the stored answer when there is one; what it asks is appended to the
store as soon as the batch is answered. So a re-run after a crash asks no model twice, and every sample
flows through the whole pipeline again, making the output identical to an uninterrupted run's.

A request that fails for good (unreachable server) is not stored: the row goes on with `error` set, the
run reports it, and the next run asks again. So is a reply the step cannot read (`record` raised): that one
sample's `error`, never the batch's - the other replies of the batch are stored (distilabel would otherwise drop
the whole batch, filling every column with None). A request the server refuses for good (`reject` beside the
`error`: its prompt does not fit the context, kit.generation.llms) is stored as a rejected sample by the steps
whose records carry a rejection (`rejects`: the teacher, the reformatter). Each step appends one line per batch
to a progress file (`progress_path`) that the driver reads for its live progress bar.
"""

# No `from __future__ import annotations`: distilabel reads the `StepInput` hint of `process` at run time.

import json
import os
from collections.abc import Iterator
from typing import Any, ClassVar

from distilabel.steps import Step, StepInput
from distilabel.steps.tasks import Task
from pydantic import Field, PrivateAttr

from kit.core.chat import Split, split_reply
from kit.generation.llms import unreadable
from kit.generation.store import SampleStore

# Every column a sample row carries through the pipeline (steps fill theirs, the others stay as they are).
SAMPLE_FIELDS = ("order", "problem_id", "sample_index", "seed", "problem", "domain", "source", "ground_truth_solution",
                 "ground_truth_answer", "test_cases", "starter_code", "_row", "teacher", "reasoning", "solution",
                 "reject", "reject_stage", "reject_detail", "generation", "error", "verified", "verifier",
                 "verification", "needs_judge")


def key(row: dict[str, Any]) -> tuple[str, int]:
    return row["problem_id"], row["sample_index"]


def split(reply: dict[str, Any], reasoning: bool = True) -> Split:
    """A model's reply read as a trace (`split_reply`), or the rejection of a request the server refused for good.
    `reasoning=False`: the reply's reasoning field is not the trace's (a reformatter's own thinking)."""
    if reply.get("reject"):
        return Split("", "", reply["reject"], reply.get("error") or "")
    return split_reply(reply.get("content"), reply.get("reasoning_content") if reasoning else None,
                       reply.get("finish_reason"))


def report(path: str | None, step: str, **counts: Any) -> None:
    """Append one progress line (one small O_APPEND write: whole even with several writers)."""
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps({"step": step, **counts}) + "\n").encode())
    finally:
        os.close(fd)


class StoredLLMStep(Task):
    """A Task that asks its LLM only for the rows its store lacks (see the module docstring).

    Subclasses say which rows they want (`wants`), what to ask (`request`), what to store of a reply
    (`record`) and how a stored record changes the row (`apply`).
    """

    rejects: ClassVar[bool] = False  # whether its records carry a rejection (a request refused for good: stored)
    sampling: dict[str, Any] = {}
    store_dir: str = Field(exclude=True)  # paths are machine-specific: kept out of pipeline.yaml
    store_fingerprint: dict[str, Any]
    progress_path: str | None = Field(None, exclude=True)
    _store: SampleStore | None = PrivateAttr(None)

    @property
    def inputs(self) -> list[str]:
        return ["problem_id", "sample_index"]

    @property
    def outputs(self) -> list[str]:
        return list(SAMPLE_FIELDS)

    def load(self) -> None:
        super().load()
        self._store = SampleStore(self.store_dir, self.store_fingerprint)

    def format_input(self, input: dict[str, Any]) -> list[dict[str, str]]:
        return self.request(input)

    def format_output(self, output: str | None, input: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"content": output}

    def wants(self, row: dict[str, Any]) -> bool:
        return not row.get("reject") and not row.get("error")

    def request(self, row: dict[str, Any]) -> list[dict[str, str]]:
        raise NotImplementedError

    def record(self, row: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def apply(self, row: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def unanswered(self, reply: dict[str, Any]) -> str | None:
        """Why a reply the server gave is no answer to store (an error: asked again on the next run), or None."""
        return None

    def process(self, inputs: StepInput) -> Iterator[list[dict[str, Any]]]:  # type: ignore[override]
        wanted = [row for row in inputs if self.wants(row)]
        stored = self._store.fetch({key(row) for row in wanted})
        ask = [row for row in wanted if key(row) not in stored]
        new, errors = [], {}
        replies = self.llm.replies([(self.request(r), r["seed"]) for r in ask], **self.sampling) if ask else []
        for row, reply in zip(ask, replies, strict=True):
            if reply.get("error") and not (reply.get("reject") and self.rejects):
                errors[key(row)] = reply["error"]
                continue
            if why := self.unanswered(reply):
                errors[key(row)] = why
                continue
            try:
                new.append(self.record(row, reply))
            except Exception as exc:  # this reply's error: the batch's other replies are kept
                errors[key(row)] = unreadable(self.llm.model_name, exc)["error"]
        self._store.append(new)
        stored.update((key(r), r) for r in new)
        out = []
        for row in inputs:
            k = key(row)
            if k in stored:
                row = self.apply(row, stored[k])
            elif k in errors:
                row = {**row, "error": errors[k]}
            out.append(row)
        tokens = sum(r.get("output_tokens") or 0 for r in new)
        report(self.progress_path, self.name, rows=len(inputs), asked=len(ask), stored=len(new), tokens=tokens,
               rejected=sum(1 for r in out if r.get("reject")), **self.counts(out))
        yield out

    def counts(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Extra numbers for the progress line of a batch."""
        return {}


class GenerateSamples(StoredLLMStep):
    """The teacher: one request per sample with the sample's own seed; the reply split into reasoning and
    answer, or rejected with the reason (kit.core.chat)."""

    rejects: ClassVar[bool] = True

    def wants(self, row: dict[str, Any]) -> bool:
        return True

    def request(self, row: dict[str, Any]) -> list[dict[str, str]]:
        return row["messages"]

    def record(self, row: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        trace = split(reply)
        model = self.llm.model_name
        generation = {"seed": row["seed"], "sample_index": row["sample_index"],
                      "finish_reason": reply.get("finish_reason"), "output_tokens": reply.get("output_tokens"),
                      "model": model}
        return {"problem_id": row["problem_id"], "sample_index": row["sample_index"], "teacher": model,
                "reasoning": trace.reasoning, "solution": trace.solution, "reject": trace.reject,
                "reject_detail": trace.detail, "generation": json.dumps(generation, sort_keys=True),
                "output_tokens": reply.get("output_tokens")}

    def apply(self, row: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        row = {k: v for k, v in row.items() if k != "messages"}
        for field in ("teacher", "reasoning", "solution", "generation"):
            row[field] = record.get(field)
        if record.get("reject"):
            row.update(reject=record["reject"], reject_stage="generate", reject_detail=record.get("reject_detail"))
        return row


class ReformatSamples(StoredLLMStep):
    """An LLM rewrites each usable trace into a clean structure (as Sky-T1 did with GPT-4o-mini), from a
    Jinja2 template given `problem`, `reasoning`, `solution` and `domain`. Its reply's content is split like
    a teacher's (the template's markers, Sky-T1's or `<think>`); an unusable rewrite rejects the sample at
    `reformat`.

    A reasoning model as the reformatter, behind a reasoning parser (vLLM or SGLang `--reasoning-parser`, the
    DeepSeek API, OpenRouter), returns its own thinking about the rewrite in `reasoning_content`/`reasoning`
    and the rewrite in `content`: that thinking is no part of the trace, and is left out."""

    rejects: ClassVar[bool] = True
    template: str  # the template's text (recorded in pipeline.yaml and in the store's fingerprint)

    def request(self, row: dict[str, Any]) -> list[dict[str, str]]:
        from kit.core.chat import render_prompt

        text = render_prompt(self.template, problem=row["problem"], reasoning=row.get("reasoning") or "",
                             solution=row.get("solution") or "", domain=row.get("domain") or "")
        return [{"role": "user", "content": text}]

    def record(self, row: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        trace = split(reply, reasoning=False)
        return {"problem_id": row["problem_id"], "sample_index": row["sample_index"], "reasoning": trace.reasoning,
                "solution": trace.solution, "reject": trace.reject, "reject_detail": trace.detail,
                "output_tokens": reply.get("output_tokens"), "model": self.llm.model_name}

    def apply(self, row: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        if record.get("reject"):
            return {**row, "reject": record["reject"], "reject_stage": "reformat",
                    "reject_detail": record.get("reject_detail")}
        generation = {**json.loads(row["generation"]), "reformatted_by": record["model"]}
        return {**row, "reasoning": record["reasoning"], "solution": record["solution"],
                "generation": json.dumps(generation, sort_keys=True)}


class VerifySamples(Step):
    """The kit's verifiers (kit.verify.registry.RowVerifier): math answers with Math-Verify, code run
    against its tests in the sandbox. Rows the registry's `judge` entry decides are marked `needs_judge`."""

    verify_config: dict[str, Any]
    progress_path: str | None = Field(None, exclude=True)
    _verifier: Any = PrivateAttr(None)

    @property
    def inputs(self) -> list[str]:
        return ["problem_id", "sample_index", "solution"]

    @property
    def outputs(self) -> list[str]:
        return list(SAMPLE_FIELDS)

    def load(self) -> None:
        from kit.recipes import VerifyConfig
        from kit.verify.registry import RowVerifier

        super().load()
        self._verifier = RowVerifier(VerifyConfig.model_validate(self.verify_config))

    def unload(self) -> None:
        if self._verifier is not None:
            self._verifier.close()
            self._verifier = None
        super().unload()

    def process(self, inputs: StepInput) -> Iterator[list[dict[str, Any]]]:  # type: ignore[override]
        from kit.recipes import JudgeConfig
        from kit.verify.registry import get_verifier

        judge = self.verify_config.get("judge")
        judge_cfg = JudgeConfig.model_validate(judge) if judge else None
        decides = get_verifier("judge").decides if judge_cfg else None  # the rows the LLM judge decides
        todo = [row for row in inputs if not row.get("reject") and not row.get("error")]
        out = {key(row): row for row in inputs}
        for row, verdict in zip(todo, self._verifier.verify(todo), strict=True):
            out[key(row)] = {**row, "verified": verdict.passed, "verifier": verdict.verifier,
                             "verification": verdict.to_json(),
                             "needs_judge": bool(judge_cfg and decides and decides(row, verdict, judge_cfg))}
        rows = list(out.values())
        report(self.progress_path, self.name, rows=len(inputs), verified=len(todo),
               passed=sum(1 for r in rows if r.get("verified")))
        yield rows


class JudgeSamples(StoredLLMStep):
    """The LLM judge (kit.verify.judge) for the rows `VerifySamples` marked: science and puzzle answers,
    and math answers Math-Verify could not parse. It answers in JSON: `sampling` carries the schema
(`json_schema`), which an OpenAI-compatible server or vLLM enforces."""

    template: str | None = None

    def wants(self, row: dict[str, Any]) -> bool:
        return bool(row.get("needs_judge"))

    def request(self, row: dict[str, Any]) -> list[dict[str, str]]:
        from kit.verify.judge import judge_messages

        return judge_messages(row, self.template)

    def unanswered(self, reply: dict[str, Any]) -> str | None:
        """A reply cut at max_new_tokens holds no verdict (a reasoning judge - R1, QwQ, Qwen3 - can think past the
        default budget): not stored as a failed sample, but an error to ask again with a larger budget, which the
        judge store takes (its fingerprint leaves the budget out, kit.generation.pipeline.stores)."""
        if reply.get("finish_reason") == "length":
            budget = self.sampling.get("max_new_tokens")
            return (f"the judge {self.llm.model_name} was cut at {budget} new tokens before its verdict: raise "
                    "verify.judge.max_new_tokens (a reasoning judge thinks first)")
        return None

    def record(self, row: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        from kit.verify.judge import read_judgement

        verdict = read_judgement(reply, self.llm.model_name)
        before = json.loads(row.get("verification") or "{}")
        if row.get("domain") == "math":  # the fallback: keep what Math-Verify saw
            verdict.detail = {"math_verify": before, **verdict.detail}
        return {"problem_id": row["problem_id"], "sample_index": row["sample_index"], "verified": verdict.passed,
                "verifier": verdict.verifier, "verification": verdict.to_json(),
                "output_tokens": reply.get("output_tokens")}

    def apply(self, row: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        return {**row, "verified": record["verified"], "verifier": record["verifier"],
                "verification": record["verification"]}

    def counts(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        return {"passed": sum(1 for r in rows if r.get("needs_judge") and r.get("verified"))}


class PackSamples(Step):
    """The last step: each sample as one JSON string plus its position, so the written output has one
    fixed schema whatever the columns hold (distilabel writes the last step's rows to parquet)."""

    @property
    def inputs(self) -> list[str]:
        return ["order"]

    @property
    def outputs(self) -> list[str]:
        return ["order", "sample"]

    def process(self, inputs: StepInput) -> Iterator[list[dict[str, Any]]]:  # type: ignore[override]
        yield [{"order": row["order"], "sample": json.dumps({k: row.get(k) for k in SAMPLE_FIELDS}, ensure_ascii=False)}
               for row in inputs]
