"""Draw the samples of an evaluation from the model under test, through the same distilabel LLMs that teach
(`kit.generation.llms.make_llm`: vLLM, transformers, any OpenAI-compatible server).

Every sample has its own seed (`kit.core.schema.sample_seed` of the recipe seed, the problem and the sample index)
and is kept, once answered, in an append-only store per benchmark (`kit.generation.store`): a crash, a kill or
a Ctrl-C loses at most the batch in flight, and running the same command again asks only for what is missing.
A store holds samples of one model, revision, backend, prompt and sampling setting - never a mix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kit.core.chat import prompt_messages
from kit.core.log import package_version
from kit.core.schema import sample_seed
from kit.generation.llms import missing_key
from kit.generation.store import SampleStore, StoreMismatchError
from kit.recipes import RecipeError
from kit.recipes.eval import EvalRecipe

Row = dict[str, Any]
Progress = Callable[[int, int], None]  # (samples done, samples in all)


class EvalError(RuntimeError):
    """The evaluation could not finish (the model's server failed, say); samples already answered are kept."""


def messages(row: Row, recipe: EvalRecipe) -> list[dict[str, str]]:
    """What the model is asked: the kit's own prompt turns (what `kit curate` data trains on)."""
    return prompt_messages(row, recipe.prompt)


def check_key(recipe: EvalRecipe) -> None:
    """Backend openai reads the server's API key from the environment when it loads: without one, RecipeError (one
    line) naming the variable, as `kit curate` says it (`kit.generation.llms.missing_key`), not the client's
    traceback."""
    if why := missing_key(recipe.model, "model"):
        raise RecipeError(why)


class Sampler:
    """The loaded model under test; `draw` fills a benchmark's store."""

    def __init__(self, recipe: EvalRecipe, llm: Any = None) -> None:
        from kit.generation.llms import make_llm

        self.recipe = recipe
        if llm is None:
            check_key(recipe)
        self.llm = llm or make_llm(recipe.model)
        self.llm.load()
        self.sampling = {"max_new_tokens": recipe.sampling.max_new_tokens, "temperature": recipe.sampling.temperature,
                         "top_p": recipe.sampling.top_p}

    def chat_template(self) -> str | None:
        """The chat template the prompts go through, where the backend applies one here (None: the server's)."""
        tokenizer = None
        if self.recipe.model.backend == "transformers":
            tokenizer = self.llm._pipeline.tokenizer
        elif self.recipe.model.backend == "vllm":
            tokenizer = self.llm._model.get_tokenizer()
        template = getattr(tokenizer, "chat_template", None)
        return template if isinstance(template, str) else None

    def store(self, folder: Path, benchmark: str, dataset: dict[str, Any], model_sha: str | None) -> SampleStore:
        fingerprint = {"benchmark": benchmark, "dataset_revision": dataset.get("revision"),
                       "dataset_source": dataset.get("source"), "model": self.recipe.model.model,
                       "revision": self.recipe.model.revision, "model_sha": model_sha,
                       "backend": self.recipe.model.backend, "sampling": self.recipe.sampling.model_dump(),
                       "prompt": self.recipe.prompt.model_dump()}
        try:
            return SampleStore(folder / benchmark, fingerprint)
        except StoreMismatchError as exc:
            raise EvalError(str(exc)) from None

    def draw(self, store: SampleStore, rows: list[Row], samples: int, progress: Progress | None = None) -> None:
        """Ask for every (problem, sample index < samples) the store lacks, in batches of `model.concurrency`."""
        wanted = [(row, i) for row in rows for i in range(samples)]
        have = store.keys()
        ask = [(row, i) for row, i in wanted if (row["problem_id"], i) not in have]
        done = len(wanted) - len(ask)
        if progress:
            progress(done, len(wanted))
        size = self.recipe.model.concurrency
        for start in range(0, len(ask), size):
            batch = ask[start:start + size]
            seeds = [sample_seed(self.recipe.sampling.seed, row["problem_id"], i) for row, i in batch]
            requests = [(messages(row, self.recipe), seed) for (row, _), seed in zip(batch, seeds, strict=True)]
            replies = self.llm.replies(requests, **self.sampling)
            failed = [r["error"] for r in replies if r.get("error")]
            store.append({"problem_id": row["problem_id"], "sample_index": i, "seed": seed,
                          "content": reply.get("content"), "reasoning_content": reply.get("reasoning_content"),
                          "finish_reason": reply.get("finish_reason"), "output_tokens": reply.get("output_tokens")}
                         for (row, i), seed, reply in zip(batch, seeds, replies, strict=True) if not reply.get("error"))
            done += len(batch) - len(failed)
            if progress:
                progress(done, len(wanted))
            if failed:
                raise EvalError(f"{len(failed)} of {len(batch)} requests failed ({failed[0]}); the {done} samples "
                                "answered are kept - run the same command again to resume")

    def backend(self) -> dict[str, Any]:
        """The backend and its version, as recorded in results.json."""
        cfg = self.recipe.model
        info: dict[str, Any] = {"name": cfg.backend, "version": package_version(cfg.backend),  # each backend's package
                                "tensor_parallel_size": cfg.tensor_parallel_size if cfg.backend == "vllm" else None,
                                "max_model_len": cfg.max_model_len if cfg.backend == "vllm" else None,
                                "distilabel": package_version("distilabel")}
        if cfg.backend == "transformers":
            info["torch"] = package_version("torch")
            info["device"] = str(getattr(self.llm._pipeline.model, "device", cfg.device))
        if cfg.backend == "openai":
            info["base_url"] = cfg.base_url  # a URL, never the key (that stays in the variable api_key_env names)
            info["client"] = "openai (Python)"
        return info

    def close(self) -> None:
        unload = getattr(self.llm, "unload", None)
        if unload:
            unload()


def template_digest(template: str | None) -> str | None:
    return hashlib.sha256(template.encode("utf-8")).hexdigest() if template else None
