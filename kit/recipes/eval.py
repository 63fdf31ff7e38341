"""Evaluation recipes (`kit eval RECIPE`): the model's serving settings, sampling, prompt, benchmarks, verifiers.

The model under test is not in the recipe: `--model` (and `--revision`) name it, so one recipe measures any
model the same way. Unknown keys fail with a one-line error, as in every kit recipe.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from kit.benchmarks import SPECS
from kit.benchmarks.livecodebench import release_files
from kit.recipes.base import (
    DEFAULT_INSTRUCTIONS,
    FormatConfig,
    LLMConfig,
    OutputConfig,
    Recipe,
    RecipeError,
    Strict,
    VerifyConfig,
    load_recipe,
    local_path,
)

BenchmarkName = Literal["aime24", "aime25", "amc23", "math500", "gsm8k", "olympiadbench", "gpqa_diamond",
                        "livecodebench", "humaneval"]
EVAL_INSTRUCTIONS = {
    **DEFAULT_INSTRUCTIONS,
    "science": "Think it through, then give the letter of the correct choice within \\boxed{}, e.g. \\boxed{A}.",
}


class ServingConfig(LLMConfig):
    """How the model under test is served; `model` and `revision` come from `--model` / `--revision`."""

    backend: Literal["openai", "transformers", "vllm"] = Field(  # type: ignore[assignment]
        "vllm", description="`vllm`: in-process vLLM (GPU, `pip install .[vllm]`); `transformers`: a local model "
        "(CPU, tests); `openai`: any OpenAI-compatible server already serving the model.")
    concurrency: int = Field(64, ge=1, description="Requests in flight (openai) / samples per batch; vLLM batches "
                             "them itself.")


class SamplingConfig(Strict):
    temperature: float = Field(0.7, ge=0, description="0 is greedy.")
    top_p: float = Field(0.95, gt=0, le=1)
    max_new_tokens: int = Field(32768, ge=1, description="Token limit of one reply; a reply that hits it scores 0.")
    seed: int = Field(0, description="Base seed: sample i of a problem is drawn with a seed derived from (seed, "
                      "problem id, i), so a re-run asks exactly the same.")


class PromptConfig(FormatConfig):
    """The user turn is the problem, the starter code of a code problem, and the instruction of its domain -
    the turn `kit curate` data trains on (`kit.core.chat.prompt_messages`)."""

    instructions: dict[str, str] = Field(default_factory=lambda: dict(EVAL_INSTRUCTIONS),
                                         description="Format instruction appended to the problem, per domain "
                                         "(math, code, science).")


class BenchmarkConfig(Strict):
    name: BenchmarkName
    samples: int = Field(1, ge=1, description="Samples per problem (n); pass@1 is averaged over them.")
    k: list[int] = Field(default_factory=lambda: [1], description="pass@k values to report (each <= samples).")
    limit: int | None = Field(None, ge=1, description="Only the first N problems (after the date window).")
    source: Literal["auto", "hub", "bundled"] = Field(
        "auto", description="`auto`: the Hub, else the copy bundled with the kit; `hub`: the Hub only; `bundled`: "
        "the bundled copy only.")
    path: str | None = Field(None, description="A local copy in the Hub dataset's own layout (file or folder), "
                             "used instead of the Hub.")
    hub_id: str | None = Field(None, description="Another Hub repo with the same layout (default: the benchmark's).")
    revision: str | None = Field(None, description="Dataset revision on the Hub (default: main, resolved to its "
                                 "commit and recorded).")
    release: str = Field("release_v2", description="livecodebench: a version tag of its loading script - "
                         "release_vN (problems up to release N), release_latest (all), vN (release N's new "
                         "problems) or vI_vJ (the new problems of releases I to J).")
    date_from: str | None = Field(None, description="livecodebench: keep problems of contests on or after this "
                                  "date (YYYY-MM-DD).")
    date_to: str | None = Field(None, description="livecodebench: keep problems of contests on or before this date.")

    @field_validator("release")
    @classmethod
    def _release(cls, v: str) -> str:
        release_files(v)  # its ValueError names the valid forms, and becomes the recipe's one-line error
        return v

    @field_validator("date_from", "date_to")
    @classmethod
    def _date(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            raise ValueError("must be a date YYYY-MM-DD")
        return v

    @model_validator(mode="after")
    def _k(self) -> BenchmarkConfig:
        bad = [k for k in self.k if not 1 <= k <= self.samples]
        if bad or not self.k:
            raise ValueError(f"{self.name}: pass@k needs 1 <= k <= samples ({self.samples}); k: {self.k}")
        if self.source == "bundled" and SPECS[self.name].bundled is None:
            raise ValueError(f"{self.name} has no copy bundled with the kit (use source: hub, or path:)")
        return self


class EvalOutputConfig(OutputConfig):
    dir: str = Field("out/eval/{name}/{model}", description="Output folder; `{name}` is the recipe name, `{model}` "
                     "the model's name.")


class EvalRecipe(Recipe):
    """An evaluation recipe: `kit eval RECIPE --model MODEL`; `reproduces` says whose protocol it follows (shown in
    results and the card)."""

    model: ServingConfig = Field(default_factory=ServingConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    benchmarks: list[BenchmarkConfig] = Field(min_length=1)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of the intervals.")
    output: EvalOutputConfig = Field(default_factory=EvalOutputConfig)

    @model_validator(mode="after")
    def _unique(self) -> EvalRecipe:
        names = [b.name for b in self.benchmarks]
        if twice := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"benchmark {twice[0]} is listed twice")
        return self

    def resolve_paths(self, recipe_file: Path) -> None:
        for bench in self.benchmarks:
            bench.path = bench.path and local_path(bench.path, recipe_file)


def load_eval_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> EvalRecipe:
    """Load an evaluation recipe (RecipeError, one line, on any problem)."""
    return load_recipe(path, EvalRecipe, overrides)


def model_slug(model: str) -> str:
    """A folder name for a model id or path: `org/name` -> `org--name`, `/a/b/ckpt` -> `ckpt`."""
    if Path(model).expanduser().exists():
        return Path(model).expanduser().resolve().name or "model"
    return re.sub(r"[^A-Za-z0-9._-]+", "--", model.strip("/")) or "model"


def output_dir(recipe: EvalRecipe, model: str, out: str | Path | None = None) -> Path:
    if out is not None:
        return Path(out)
    try:
        return Path(recipe.output.dir.format(name=recipe.name, model=model_slug(model)))
    except (KeyError, IndexError) as exc:
        raise RecipeError(f"output.dir: unknown placeholder {exc} (use {{name}} and {{model}})") from None

