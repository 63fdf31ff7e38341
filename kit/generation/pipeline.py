"""The generation pipeline of a data recipe, as one distilabel Pipeline (steps: kit.generation.steps).

    load_requests      every sample (problem_id, sample_index < generation.num_generations) of the problems
                       the curate job kept (validated, deduplicated, decontaminated), with its own seed
      -> generate_samples   the teacher; each reply split into reasoning and answer, or rejected with the reason
      -> reformat_samples   (recipe `reformat:`) an LLM rewrites each usable trace from a prompt template
      -> verify_samples     Math-Verify for math, the sandbox for code
      -> judge_samples      (recipe `verify.judge:`) an LLM judge for science and puzzles, and math answers
                            Math-Verify cannot parse
      -> pack_samples       one JSON string per sample, written by distilabel

The steps that ask a model keep what they got in append-only stores (`<store>/`, `<store>/reformat/`,
`<store>/judge/`), so a crash or kill loses at most the batches in flight and running the same command
again asks no model twice; the output is that of an uninterrupted run. The curate job then does rejection
sampling and writes the dataset folder. With `engine: ray` the same pipeline runs on a Ray cluster.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distilabel.pipeline import Pipeline
from distilabel.steps import LoadDataFromDicts

from kit.core.chat import prompt_messages
from kit.core.log import Log, Progress
from kit.core.parallel import ticking
from kit.core.schema import sample_seed
from kit.generation.checkpoint import HubCheckpoint
from kit.generation.llms import make_llm, missing_key, unreachable_model
from kit.generation.steps import GenerateSamples, JudgeSamples, PackSamples, ReformatSamples, VerifySamples
from kit.generation.store import SampleStore
from kit.recipes import DataRecipe
from kit.verify.judge import judge_sampling

# What is carried from a problem row into each of its samples.
PROBLEM_FIELDS = ("problem_id", "problem", "domain", "source", "ground_truth_solution", "ground_truth_answer",
                  "test_cases", "starter_code", "_row")


class GenerationError(RuntimeError):
    """Samples could not be generated (for instance the teacher is unreachable); finished ones are kept."""


def fingerprint(recipe: DataRecipe) -> dict[str, Any]:
    """What shapes a sample; a store made under another fingerprint is not reused."""
    teacher = recipe.teacher
    return {"backend": teacher.backend, "model": teacher.model,
            "sampling": recipe.generation.model_dump(exclude={"num_generations"}),
            "system_prompt": recipe.format.system_prompt, "instructions": recipe.format.instructions}


def _template(path: str | None) -> str | None:
    return Path(path).read_text(encoding="utf-8") if path else None


def stores(recipe: DataRecipe, folder: Path) -> dict[str, SampleStore]:
    """The stores of the model steps: the teacher's in `folder`, the reformatter's and the judge's below it.
    Each records the settings that shape its answers, including those of the steps before it; the judge's budget
    does not shape a verdict that ended within it (a reply cut at it is not stored), so it is left out: a run
    whose judge was cut off goes on, with a larger budget, where it stopped."""
    base = fingerprint(recipe)
    out = {"": SampleStore(folder, base)}
    if recipe.reformat:
        base = {**base, "reformat": {**recipe.reformat.model_dump(exclude={"prompt", "concurrency"}),
                                     "template": _template(recipe.reformat.prompt)}}
        out["reformat"] = SampleStore(folder / "reformat", base)
    judge = recipe.verify.judge
    if judge:
        out["judge"] = SampleStore(folder / "judge", {
            **base, "judge": {**judge.model_dump(exclude={"prompt", "concurrency", "max_new_tokens"}),
                              "template": _template(judge.prompt)}})
    return out


@dataclass
class Generation:
    """The outcome of `generate`: every sample in problem order (verified), and the pipeline's YAML."""

    samples: list[dict[str, Any]]
    asked: int  # samples the teacher was to be asked for in this run (those its store lacked)
    pipeline_yaml: str


def build_pipeline(recipe: DataRecipe, requests: list[dict[str, Any]], folders: dict[str, SampleStore],
                   cache_dir: str, progress_path: str | None = None, llm: Any = None) -> Pipeline:
    """The distilabel Pipeline over `requests`; `llm` replaces the recipe's teacher (benchmarks)."""
    teacher, batch = recipe.teacher, recipe.teacher.concurrency
    sampling = recipe.generation.model_dump(exclude={"seed", "num_generations"})
    common = {"progress_path": progress_path}
    with Pipeline(name=f"kit-{recipe.name}", description=recipe.description or None, cache_dir=cache_dir) as pipeline:
        steps: list[Any] = [LoadDataFromDicts(name="load_requests", data=requests or [{}], batch_size=batch)]
        steps.append(GenerateSamples(name="generate_samples", llm=llm or make_llm(teacher), sampling=sampling,
                                     store_dir=str(folders[""].folder), store_fingerprint=folders[""].fingerprint,
                                     input_batch_size=batch, **common))
        if recipe.reformat:
            cfg = recipe.reformat
            steps.append(ReformatSamples(
                name="reformat_samples", llm=make_llm(cfg), template=_template(cfg.prompt),
                sampling={"max_new_tokens": cfg.max_new_tokens, "temperature": cfg.temperature, "top_p": cfg.top_p},
                store_dir=str(folders["reformat"].folder), store_fingerprint=folders["reformat"].fingerprint,
                input_batch_size=cfg.concurrency, **common))
        steps.append(VerifySamples(name="verify_samples", verify_config=recipe.verify.model_dump(mode="json"),
                                   input_batch_size=64, **common))
        judge = recipe.verify.judge
        if judge:
            steps.append(JudgeSamples(
                name="judge_samples", llm=make_llm(judge), template=_template(judge.prompt),
                sampling=judge_sampling(judge),
                store_dir=str(folders["judge"].folder), store_fingerprint=folders["judge"].fingerprint,
                input_batch_size=judge.concurrency, **common))
        steps.append(PackSamples(name="pack_samples", input_batch_size=256))
        for before, after in itertools.pairwise(steps):
            before >> after
    return pipeline


def requests_of(recipe: DataRecipe, problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per sample to make, in problem order, with its seed and the teacher's prompt."""
    n, seed = recipe.generation.num_generations, recipe.generation.seed
    return [{**{k: p.get(k) for k in PROBLEM_FIELDS}, "order": p_index * n + i, "sample_index": i,
             "seed": sample_seed(seed, p["problem_id"], i), "messages": prompt_messages(p, recipe.format)}
            for p_index, p in enumerate(problems) for i in range(n)]


def _check_models(recipe: DataRecipe) -> None:
    """Every model the pipeline asks can be: its API key is set, its weights can be loaded (one line each)."""
    for where, cfg in (("teacher", recipe.teacher), ("reformat", recipe.reformat), ("verify.judge", recipe.verify.judge)):
        if cfg is not None and (why := missing_key(cfg, where) or unreachable_model(cfg, where)):
            raise GenerationError(why)


def generate(recipe: DataRecipe, problems: Iterable[dict[str, Any]], store_dir: Path, llm: Any = None,
             push: str | None = None, private: bool = False, log: Log = print,
             progress: Progress | None = None) -> Generation:
    """Run the pipeline over every sample of `problems`, asking the models only what the stores lack.

    With `push` (a Hub dataset repo id) the stores are first completed from the repo's checkpoint branch and
    checkpointed there while the pipeline runs (kit.generation.checkpoint).
    """
    if llm is None:
        _check_models(recipe)
    folders = stores(recipe, Path(store_dir))
    checkpoint = None
    if push:
        checkpoint = HubCheckpoint(folders, push, every=recipe.output.checkpoint_every,
                                   minutes=recipe.output.checkpoint_minutes, private=private, log=log)
        checkpoint.restore()
    requests = requests_of(recipe, list(problems))
    stored = folders[""].keys()
    asked = sum(1 for r in requests if (r["problem_id"], r["sample_index"]) not in stored)
    os.environ.setdefault("DISTILABEL_LOG_LEVEL", "ERROR")
    with tempfile.TemporaryDirectory(prefix="kit-distilabel-") as cache_dir:
        progress_path = str(Path(cache_dir) / "progress.jsonl")
        pipeline = build_pipeline(recipe, requests, folders, cache_dir, progress_path, llm)
        pipeline_yaml = _pipeline_yaml(pipeline, cache_dir, recipe)
        samples: list[dict[str, Any]] = []
        if requests:
            with ExitStack() as stack:
                if checkpoint:
                    stack.enter_context(checkpoint.running())
                stack.enter_context(_watch(progress_path, len(requests), progress))
                failures = _LoadFailures()
                try:
                    distiset = _run(pipeline, recipe, failures)
                except RuntimeError as exc:  # e.g. a step could not load its model
                    from distilabel.utils.logging import stop_logging

                    stop_logging()  # distilabel stops its log listener only on success: its thread died on exit
                    raise GenerationError(f"the generation pipeline stopped: {failures.reason() or exc}; finished "
                                          f"samples are kept in {store_dir}") from None
            samples = list(_ordered(distiset))
    failed = [s for s in samples if s.get("error")]
    if failed or len(samples) != len(requests):
        error = failed[0]["error"] if failed else "the pipeline lost samples"
        raise GenerationError(f"{len(failed) or len(requests) - len(samples)} of {len(requests)} samples could not "
                              f"be made ({error}); the finished ones are kept in {store_dir} - run the same command "
                              "again to go on")
    return Generation(samples=samples, asked=asked, pipeline_yaml=pipeline_yaml)


def _run(pipeline: Pipeline, recipe: DataRecipe, failures: logging.Handler) -> Any:
    if recipe.engine == "ray":
        from kit.generation.ray_engine import run_on_ray

        return run_on_ray(pipeline, logging_handlers=[failures])
    return pipeline.run(use_cache=False, logging_handlers=[failures])


class _LoadFailures(logging.Handler):
    """Keeps why a step could not load, from distilabel's log (`Failed to load step 'NAME': Step load failed:
    REASON`), for the kit's one line: distilabel's own error says only "Failed to load all the steps"."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        _, marker, rest = record.getMessage().partition("Failed to load step ")
        if marker:
            self.failures.append(rest)

    def reason(self) -> str | None:
        """`step NAME could not load: REASON` (the reason's first line) of the first step that failed, else None."""
        if not self.failures:
            return None
        name, _, why = self.failures[0].partition(": ")
        why = why.removeprefix("Step load failed: ").strip().splitlines()
        return f"step {name} could not load: {why[0] if why else 'no reason given'}"


def _ordered(distiset: Any) -> Iterator[dict[str, Any]]:
    """The packed samples of the distiset in request order."""
    for config in distiset.values():
        for split in config.values():
            for row in split.sort("order"):
                if row["sample"] is not None:  # None: a step failed on that batch; counted as missing
                    yield json.loads(row["sample"])


@contextmanager
def _watch(path: str, total: int, progress: Progress | None, poll_s: float = 0.5) -> Iterator[None]:
    """Report the steps' progress lines while the block runs: samples done / total, verified rate, tokens/s."""
    if progress is None:
        yield
        return
    counts: Counter[str] = Counter()
    start = time.monotonic()
    offset = 0

    def read() -> None:
        nonlocal offset
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                data = fh.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        offset += end
        for line in data[:end].splitlines():
            entry = json.loads(line)
            step = entry.pop("step")
            for name, value in entry.items():
                counts[f"{step}.{name}"] += value
        checked = counts["verify_samples.verified"]
        passed = counts["verify_samples.passed"] + counts["judge_samples.passed"]
        rate = f"verified {passed / checked:.0%}" if checked else "verified -"
        tokens = counts["generate_samples.tokens"] / max(time.monotonic() - start, 1e-9)
        progress("generate", counts["generate_samples.rows"], total,
                 f"{rate} · {tokens:,.0f} tok/s · {counts['generate_samples.asked']} asked")

    with ticking(read, poll_s, "kit-progress"):
        yield


def _pipeline_yaml(pipeline: Pipeline, cache_dir: str, recipe: DataRecipe) -> str:
    """distilabel's own serialization of the pipeline (the recipe's data and local paths are not in it), with no
    secret in it: the Hugging Face token and the recipe's API keys are replaced by `<secret>` wherever they would
    appear (none does; a model class that dumps a secret field would put it in the dataset repo)."""
    from huggingface_hub import get_token

    path = Path(cache_dir) / "pipeline.yaml"
    pipeline.save(str(path), format="yaml")
    text = path.read_text(encoding="utf-8")
    models = (recipe.teacher, recipe.reformat, recipe.verify.judge)
    secrets = {get_token(), *(os.environ.get(m.api_key_env) for m in models if m is not None)}
    for secret in sorted((s for s in secrets if s and len(s) >= 8), key=len, reverse=True):
        text = text.replace(secret, "<secret>")
    return text
