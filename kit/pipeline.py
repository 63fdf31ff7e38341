"""The generation pipeline of a data recipe, as one distilabel Pipeline.

    problems (validated, deduplicated, decontaminated by the curate job)
      -> the samples still missing from the store: (problem_id, sample_index) for index < num_generations
      -> GenerateSamples: the teacher (a distilabel LLM, kit.teachers), one request per sample with its own
         seed, so a re-run asks exactly the same questions; each reply split into reasoning and answer
         (kit.generation.reasoning), or the reason it is unusable; the batch appended to the sample store
         (kit.generation.store) as soon as it is answered

The curate job then reads every sample of the store, in problem order, and goes on with verification,
rejection sampling and the dataset folder. A crash or kill loses at most the batches in flight; running the
same command again generates only what the store lacks. A request that fails for good (unreachable server)
is not stored: the run ends with one line saying so, and the next run asks again.
"""

# No `from __future__ import annotations`: distilabel reads the `StepInput` hint of `process` at run time.

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distilabel.pipeline import Pipeline
from distilabel.steps import LoadDataFromDicts, StepInput
from distilabel.steps.tasks import Task

from kit.curate.format import prompt_messages
from kit.generation.checkpoint import HubCheckpoint
from kit.generation.reasoning import split_reply
from kit.generation.store import SampleStore
from kit.hub.publish import Log
from kit.recipes import DataRecipe
from kit.teachers import make_llm

# What is carried from a problem row into each of its samples.
PROBLEM_FIELDS = ("problem_id", "problem", "domain", "source", "ground_truth_solution", "ground_truth_answer",
                  "test_cases", "starter_code", "_row")


class GenerationError(RuntimeError):
    """Samples could not be generated (for instance the teacher is unreachable); finished ones are kept."""


def sample_seed(base: int, problem_id: str, index: int) -> int:
    """The seed of one sample: stable across runs and machines, different for every sample."""
    digest = hashlib.sha256(f"{base}:{problem_id}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def fingerprint(recipe: DataRecipe) -> dict[str, Any]:
    """What shapes a sample; a store made under another fingerprint is not reused."""
    teacher = recipe.teacher
    return {"backend": teacher.backend, "model": teacher.model, "sampling": teacher.sampling.model_dump(),
            "system_prompt": recipe.format.system_prompt, "instructions": recipe.format.instructions}


class GenerateSamples(Task):
    """Ask the teacher once per row with the row's own seed, split each reply, and append the finished
    samples to the store before passing anything on: a kill loses only the requests in flight.

    Passes on only the requests that failed for good (`error`), for the run to report.
    """

    sampling: dict[str, Any] = {}
    store_dir: str
    store_fingerprint: dict[str, Any]

    @property
    def inputs(self) -> list[str]:
        return ["messages", "seed", "problem_id", "sample_index"]

    @property
    def outputs(self) -> list[str]:
        return ["problem_id", "sample_index", "error"]

    def format_input(self, input: dict[str, Any]) -> list[dict[str, str]]:
        return input["messages"]

    def format_output(self, output: str | None, input: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"content": output}

    def process(self, inputs: StepInput) -> Iterator[list[dict[str, Any]]]:  # type: ignore[override]
        replies = self.llm.replies([(row["messages"], row["seed"]) for row in inputs], **self.sampling)
        finished, failed = [], []
        for row, reply in zip(inputs, replies, strict=True):
            if reply.get("error"):
                failed.append({"problem_id": row["problem_id"], "sample_index": row["sample_index"],
                               "error": reply["error"]})
            else:
                finished.append(_sample(row, reply, self.llm.model_name))
        SampleStore(self.store_dir, self.store_fingerprint).append(finished)
        yield failed


def _sample(row: dict[str, Any], reply: dict[str, Any], model: str) -> dict[str, Any]:
    """A finished sample: the problem's fields, the split reply (or why it is unusable), how it was made."""
    split = split_reply(reply.get("content"), reply.get("reasoning_content"), reply.get("finish_reason"))
    generation = {"seed": row["seed"], "sample_index": row["sample_index"], "finish_reason": reply.get("finish_reason"),
                  "output_tokens": reply.get("output_tokens"), "model": model}
    return {**{k: row.get(k) for k in PROBLEM_FIELDS}, "sample_index": row["sample_index"], "teacher": model,
            "reasoning": split.reasoning, "solution": split.solution, "reject": split.reject,
            "reject_detail": split.detail, "generation": json.dumps(generation, sort_keys=True)}


@dataclass
class Generation:
    """The outcome of `generate`: every stored sample in problem order, and the pipeline's YAML."""

    samples: list[dict[str, Any]]
    asked: int  # samples requested from the teacher in this run
    pipeline_yaml: str


def build_pipeline(recipe: DataRecipe, todo: list[dict[str, Any]], store: SampleStore, cache_dir: str,
                   llm: Any = None) -> Pipeline:
    """The distilabel Pipeline that generates `todo`; `llm` replaces the recipe's teacher (benchmarks)."""
    teacher = recipe.teacher
    sampling = teacher.sampling.model_dump(exclude={"seed"})
    with Pipeline(name=f"kit-{recipe.name}", description=recipe.description or None, cache_dir=cache_dir) as pipeline:
        load = LoadDataFromDicts(name="load_problems", data=todo or [{}], batch_size=teacher.concurrency)
        samples = GenerateSamples(name="generate_samples", llm=llm or make_llm(teacher), sampling=sampling,
                                  store_dir=str(store.folder), store_fingerprint=fingerprint(recipe),
                                  input_batch_size=teacher.concurrency)
        load >> samples
    return pipeline


def generate(recipe: DataRecipe, problems: Iterable[dict[str, Any]], store_dir: Path, llm: Any = None,
             push: str | None = None, private: bool = False, log: Log = print) -> Generation:
    """Generate the samples the store lacks, through the distilabel pipeline; return all of them.

    With `push` (a Hub dataset repo id) the store is first completed from the repo's checkpoint branch and
    checkpointed there while generating (kit.generation.checkpoint).
    """
    key_env = recipe.teacher.api_key_env
    if recipe.teacher.backend == "openai" and llm is None and not os.environ.get(key_env):
        raise GenerationError(f"the environment variable {key_env} (teacher.api_key_env) holds no API key: "
                              f"export {key_env}=... first (a key never goes in a recipe)")
    store = SampleStore(store_dir, fingerprint(recipe))
    checkpoint = None
    if push:
        checkpoint = HubCheckpoint(store, push, every=recipe.output.checkpoint_every,
                                   minutes=recipe.output.checkpoint_minutes, private=private, log=log)
        checkpoint.restore()
    done = store.keys()
    problems = list(problems)
    n = recipe.teacher.num_generations
    todo = [{**{k: p.get(k) for k in PROBLEM_FIELDS}, "sample_index": i,
             "seed": sample_seed(recipe.teacher.sampling.seed, p["problem_id"], i), "messages": prompt_messages(p, recipe.format)}
            for p in problems for i in range(n) if (p["problem_id"], i) not in done]
    os.environ.setdefault("DISTILABEL_LOG_LEVEL", "ERROR")
    with tempfile.TemporaryDirectory(prefix="kit-distilabel-") as cache_dir:
        pipeline = build_pipeline(recipe, todo, store, cache_dir, llm)
        pipeline_yaml = _pipeline_yaml(pipeline, cache_dir)
        failed: list[dict[str, Any]] = []
        if todo:
            with checkpoint.running() if checkpoint else nullcontext():
                try:
                    distiset = pipeline.run(use_cache=False)
                except RuntimeError as exc:  # e.g. a step could not load its model; distilabel logged why
                    raise GenerationError(f"the generation pipeline stopped: {exc}; finished samples are kept in "
                                          f"{store.folder}") from None
            failed = [r for r in _rows(distiset) if r.get("error")]
    by_key = {(s["problem_id"], s["sample_index"]): s for s in store}
    if failed:
        raise GenerationError(f"{len(failed)} of {len(todo)} samples could not be generated ({failed[0]['error']}); "
                              f"the {len(by_key)} finished samples are kept in {store.folder} - run the same "
                              "command again to go on")
    ordered = [by_key[(p["problem_id"], i)] for p in problems for i in range(n) if (p["problem_id"], i) in by_key]
    return Generation(samples=ordered, asked=len(todo), pipeline_yaml=pipeline_yaml)


def _rows(distiset: Any) -> Iterator[dict[str, Any]]:
    for config in distiset.values():
        for split in config.values():
            yield from split


def _pipeline_yaml(pipeline: Pipeline, cache_dir: str) -> str:
    """distilabel's own serialization of the pipeline (the recipe's data is not in it)."""
    path = Path(cache_dir) / "pipeline.yaml"
    pipeline.save(str(path), format="yaml")
    return path.read_text(encoding="utf-8")
