"""Data recipes: `kit curate RECIPE` - where problems come from, who writes the traces, how they are verified,
filtered and formatted, and where the dataset folder goes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kit.benchmarks import SPECS
from kit.benchmarks.livecodebench import release_files
from kit.recipes.base import (
    GRADER_HELP,
    ColumnMap,
    FormatConfig,
    GraderName,
    LLMConfig,
    OutputConfig,
    Recipe,
    Scalar,
    Strict,
    VerifyConfig,
    load_recipe,
    local_file,
    local_path,
)


class SourceConfig(Strict):
    """Where problems (and, for the `dataset` teacher, their traces) come from."""

    preset: str | None = Field(None, description="A well-known dataset (kit.recipes.presets: apps, taco, "
                               "numinamath-cot, openthoughts-114k, openthoughts-114k-chat, bespoke-stratos-17k, "
                               "sky-t1-17k, openr1-math-220k, codeforces-cots, codeforces, code-contests, kodcode, "
                               "kodcode-sft-r1, leetcode, openmathreasoning, deepmath-103k, s1k, s1k-1.1): fills path, "
                               "config, split, columns, where, name, domain, license, citation and grader; a key the "
                               "source sets itself wins (columns and where merge key by key).")
    path: str = Field(description="Local JSONL/JSON/Parquet file or dataset folder; `kit:samples/NAME.jsonl` "
                      "for a file bundled with the kit; or a Hub dataset id.")
    config: str | None = Field(None, description="Dataset config name (Hub or folder datasets).")
    split: str = "train"
    columns: ColumnMap = Field(default_factory=dict, description="Column map: kit column -> input column, e.g. "
                               "{problem: question, test_cases: input_output}; a nested field by its path "
                               "(reward_model.ground_truth); `test_cases` may name a list of columns, whose tests are "
                               "joined (CodeContests' public, private and generated tests); a `problem` that is a chat "
                               "(verl's `prompt`) gives its user turn; `checker`, `entry_point`, `prelude`, "
                               "`time_limit`, `memory_limit`, `input_file`, `output_file` and `input_mode` complete "
                               "`test_cases` (a checker program, the function under test, code run before the "
                               "solution: LeetCodeDataset's `prompt`, the problem's time limit per test and memory "
                               "limit, the files it reads and writes instead of the standard streams: `input_mode: "
                               "file` is input.txt and output.txt). For the `dataset` teacher the trace is either "
                               "split (`reasoning` + `solution`), "
                               "a raw reply (`reply`, optionally `reasoning_content` and `finish_reason`: split like a "
                               "generated reply, <think> or Sky-T1 tags; a list column, or a list of columns, is a "
                               "trace each) or a chat (`messages`: role/content or ShareGPT from/value turns; a column "
                               "named `messages` or `conversations` is read unmapped; a list of columns, TRL's [prompt,"
                               " completion], has their turns joined): the last assistant turn is the reply, the user "
                               "turn before it the problem unless `problem` is mapped; `system_prompt` (or the chat's "
                               "system turn) is that row's system prompt.")
    where: dict[str, Scalar | None | list[Scalar | None]] = Field(
        default_factory=dict, description="Keep only rows whose input column has this value (or one of these "
        "values), e.g. {source: [olympiads, amc_aime, math]} for NuminaMath subsets; null keeps the rows where it "
        "is null (open-r1/codeforces' {interaction_format: [null, '']}: the problems that are not interactive).")
    grader: GraderName | None = Field(None, description=GRADER_HELP)
    name: str | None = Field(None, description="Value of `source` for rows that do not carry one.")
    domain: str | None = Field(None, description="The domain of every row of this source (default: the rows' own "
                               "`domain` column).")
    limit: int | None = Field(None, ge=1, description="Read at most this many rows (after `where`).")
    license: str | None = None
    citation: str | None = Field(None, description="BibTeX of the source dataset, quoted in the card.")

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        from kit.recipes.presets import expand_preset

        return expand_preset(data) if isinstance(data, dict) else data


class GenerationConfig(Strict):
    """How many samples the teacher writes per problem, and how it samples them."""

    num_generations: int = Field(1, ge=1, description="Samples asked per problem.")
    max_new_tokens: int = Field(16384, ge=1, description="Token limit of one reply; a reply that hits it is "
                                "rejected as `truncated`.")
    temperature: float = Field(0.7, ge=0)
    top_p: float = Field(0.95, gt=0, le=1)
    seed: int = Field(0, description="Base seed: sample i of a problem is asked with a seed derived from "
                      "(seed, problem id, i), so a re-run asks exactly the same questions.")


class TeacherConfig(LLMConfig):
    """Who writes the traces: rows that already carry them (`dataset`) or a model asked through distilabel."""

    backend: Literal["dataset", "openai", "transformers", "vllm"] = Field(  # type: ignore[assignment]
        "dataset", description="`dataset`: the traces are already in the input rows (reasoning and solution, "
        "a raw reply or a chat: see sources[].columns); "
        "`openai`: any OpenAI-compatible server; `transformers`: a local model; `vllm`: in-process vLLM (GPU).")
    store: str | None = Field(None, description="Folder of finished samples, for resuming "
                              "(default: the output folder + `.samples`).")


class ReformatConfig(LLMConfig):
    """An LLM rewrites each usable trace into a clean structure (Sky-T1 used GPT-4o-mini)."""

    prompt: str = Field(description="A Jinja2 template file (relative to the recipe) rendering the user turn from "
                        "`problem`, `reasoning`, `solution` and `domain`; the reply must hold the rewritten trace "
                        "as <think>...</think> then the answer (or Sky-T1's thought/solution markers).")
    max_new_tokens: int = Field(8192, ge=1)
    temperature: float = Field(0.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)


class ReferenceConfig(Strict):
    """Extra benchmark problems to decontaminate against."""

    path: str = Field(description="Local JSONL/JSON/Parquet file or folder, or a Hub dataset id.")
    config: str | None = None
    split: str = "test"
    column: str = Field("problem", description="The column holding the problem text.")
    name: str | None = Field(None, description="Name used in statistics; default: the path.")


class DecontaminationConfig(Strict):
    enabled: bool = True
    ngram: int = Field(8, ge=1, description="Word n-gram length (open-r1's 8).")
    coverage: float = Field(
        0.5, ge=0, le=1, description="Drop a problem that holds at least this share of a benchmark problem's word "
                                     "n-grams; 0 drops on any one shared n-gram (open-r1's rule, which also drops "
                                     "unrelated problems that share a stock phrase with a benchmark problem).")
    fuzzy_threshold: float = Field(95.0, ge=0, le=100,
                                   description="rapidfuzz ratio at or above which a problem is dropped (OpenThoughts).")
    common_ngram_refs: int | None = Field(
        None, ge=2, description="Ignore n-grams shared by at least this many reference problems (boilerplate such "
                                "as AIME's 'where m and n are relatively prime'); null counts every n-gram.")
    benchmarks: list[str] = Field(
        default_factory=lambda: ["math500", "aime24", "amc23", "humaneval"],
        description="Benchmarks the kit knows (kit.benchmarks.SPECS): aime24, aime25, amc23, math500, gsm8k, "
                    "olympiadbench, gpqa_diamond, livecodebench, humaneval. Each problem's own text is compared "
                    "(GPQA's question without its choices, LiveCodeBench's question_content). The bundled "
                    "ones (the default four) are read offline; the others from their Hub ids when curate starts "
                    "(GPQA is gated: accept its terms and log in), or give a local copy under `extra`.")
    livecodebench_release: str = Field(
        "release_latest", description="livecodebench: the version tag of its loading script whose problems are "
                                      "read - release_latest (all of them), release_vN, vN or vI_vJ.")
    extra: list[ReferenceConfig] = Field(default_factory=list)

    @field_validator("benchmarks")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = [name for name in v if name not in SPECS]
        if unknown:
            raise ValueError(f"unknown benchmark {unknown[0]!r} (known: {', '.join(SPECS)})")
        return v

    @field_validator("livecodebench_release")
    @classmethod
    def _release(cls, v: str) -> str:
        release_files(v)  # its ValueError names the valid forms, and becomes the recipe's one-line error
        return v


class CurateConfig(Strict):
    max_per_problem: int | None = Field(None, ge=1, description="Keep at most this many verified samples per problem.")
    pass_rate: tuple[float, float] | None = Field(
        None, description="Keep a problem's samples only if its pass rate lies in [low, high] (open-r1: [0.2, 0.8]); "
                          "applies to problems with two or more samples.")
    dedup: bool = Field(True, description="Drop repeated identical samples, and keep a problem's samples from "
                        "one source: the first whose sample verifies (a generating teacher's: the first that "
                        "had the problem).")
    decontaminate: DecontaminationConfig = Field(default_factory=DecontaminationConfig)

    @field_validator("pass_rate")
    @classmethod
    def _band(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not (0.0 <= v[0] <= v[1] <= 1.0):
            raise ValueError("must be [low, high] with 0 <= low <= high <= 1")
        return v


class DataOutputConfig(OutputConfig):
    shard_rows: int = Field(10_000, ge=1, description="Rows per parquet shard.")
    checkpoint_every: int = Field(1000, ge=1, description="With --push and a generating teacher: checkpoint the "
                                  "finished samples to the repo's `kit-samples` branch every N new samples...")
    checkpoint_minutes: float = Field(10.0, gt=0, description="... or every this many minutes.")
    pretty_name: str | None = None
    license: str = "apache-2.0"
    overwrite: bool = Field(False, description="Replace an existing output folder.")


class DataRecipe(Recipe):
    """A data recipe: `kit curate RECIPE`."""

    sources: list[SourceConfig] = Field(min_length=1, description="Where problems come from; a recipe with one "
                                        "source may write `source:` instead.")
    engine: Literal["local", "ray"] = Field("local", description="`ray`: run the generation pipeline on a Ray "
                                            "cluster (distilabel's RayPipeline; `pip install .[ray]`).")
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    reformat: ReformatConfig | None = Field(None, description="Optional: an LLM rewrites each trace.")
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    curate: CurateConfig = Field(default_factory=CurateConfig)
    format: FormatConfig = Field(default_factory=FormatConfig)
    output: DataOutputConfig = Field(default_factory=DataOutputConfig)

    @model_validator(mode="before")
    @classmethod
    def _one_source(cls, data: Any) -> Any:
        if isinstance(data, dict) and "source" in data:
            if "sources" in data:
                raise ValueError("give either `source` (one) or `sources` (a list), not both")
            data = {**data, "sources": [data["source"]]}
            del data["source"]
        return data

    @model_validator(mode="after")
    def _generating(self) -> DataRecipe:
        if self.teacher.backend == "dataset":
            used = [k for k, on in (("reformat", self.reformat), ("verify.judge", self.verify.judge),
                                    ("engine: ray", self.engine == "ray")) if on]
            if used:
                raise ValueError(f"{used[0]} runs in the generation pipeline, which needs a generating teacher "
                                 "(teacher.backend: openai, transformers or vllm)")
        return self

    def resolve_paths(self, recipe_file: Path) -> None:
        for item in [*self.sources, *self.curate.decontaminate.extra]:
            item.path = local_path(item.path, recipe_file)
        for key, item in (("reformat.prompt", self.reformat), ("verify.judge.prompt", self.verify.judge)):
            if item is not None and item.prompt is not None:
                item.prompt = local_file(item.prompt, recipe_file, key, "template file")


def load_data_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> DataRecipe:
    """Load a data recipe (RecipeError, one line, on any problem)."""
    return load_recipe(path, DataRecipe, overrides)
