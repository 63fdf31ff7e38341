"""Recipes: pydantic models loaded from YAML, with `--set key=value` overrides.

Every model forbids unknown keys, so a typo in a recipe fails with a one-line error naming the key.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Scalar = str | int | float | bool


class RecipeError(ValueError):
    """A recipe that cannot be used; the message is one line naming the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(_Strict):
    """Where problems (and, for the `dataset` teacher, their traces) come from."""

    preset: str | None = Field(None, description="A well-known dataset (kit.presets: apps, taco, numinamath-cot, "
                               "openthoughts-114k, openthoughts-114k-chat, bespoke-stratos-17k, openr1-math-220k, "
                               "codeforces-cots): fills path, config, split, columns, where, name, domain, license "
                               "and citation; a key the source sets itself wins (columns and where merge key by key).")
    path: str = Field(description="Local JSONL/JSON/Parquet file or dataset folder; `kit:samples/NAME.jsonl` "
                      "for a file bundled with the kit; or a Hub dataset id.")
    config: str | None = Field(None, description="Dataset config name (Hub or folder datasets).")
    split: str = "train"
    columns: dict[str, str] = Field(default_factory=dict, description="Column map: kit column -> input column, "
                                    "e.g. {problem: question, test_cases: input_output}. For the `dataset` "
                                    "teacher the trace is either split (`reasoning` + `solution`), a raw reply "
                                    "(`reply`, optionally `reasoning_content` and `finish_reason`: split like a "
                                    "generated reply, <think> or Sky-T1 tags) or a chat (`messages`: role/content "
                                    "or ShareGPT from/value turns; a column named `messages` or `conversations` "
                                    "is read unmapped): the last assistant turn is the reply, the user turn "
                                    "before it the problem unless `problem` is mapped; `system_prompt` (or the "
                                    "chat's system turn) is that row's system prompt.")
    where: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="Keep only rows whose input column has this value (or one of these "
        "values), e.g. {source: [olympiads, amc_aime, math]} for NuminaMath subsets.")
    name: str | None = Field(None, description="Value of `source` for rows that do not carry one.")
    domain: str | None = Field(None, description="The domain of every row of this source (default: the rows' own "
                               "`domain` column).")
    limit: int | None = Field(None, ge=1, description="Read at most this many rows (after `where`).")
    license: str | None = None
    citation: str | None = Field(None, description="BibTeX of the source dataset, quoted in the card.")

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        from kit.presets import expand_preset

        return expand_preset(data) if isinstance(data, dict) else data


class GenerationConfig(_Strict):
    """How many samples the teacher writes per problem, and how it samples them."""

    num_generations: int = Field(1, ge=1, description="Samples asked per problem.")
    max_new_tokens: int = Field(16384, ge=1, description="Token limit of one reply; a reply that hits it is "
                                "rejected as `truncated`.")
    temperature: float = Field(0.7, ge=0)
    top_p: float = Field(0.95, gt=0, le=1)
    seed: int = Field(0, description="Base seed: sample i of a problem is asked with a seed derived from "
                      "(seed, problem id, i), so a re-run asks exactly the same questions.")


class LLMConfig(_Strict):
    """A model asked through distilabel (the teacher, the reformatter, the judge)."""

    backend: Literal["openai", "transformers", "vllm"] = Field(
        "openai", description="`openai`: any OpenAI-compatible server; `transformers`: a local model; "
        "`vllm`: in-process vLLM (GPU).")
    model: str = Field("unknown", description="The model id (as the server or the Hub knows it).")
    revision: str | None = Field(None, description="transformers/vllm: the Hub revision of the model (branch, tag "
                                 "or commit; default: main).")
    base_url: str | None = Field(None, description="openai: the server, e.g. http://localhost:8000/v1 "
                                 "(default: the OpenAI API); several servers: comma-separated, requests are "
                                 "spread over them.")
    api_key_env: str = Field("OPENAI_API_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                             description="openai: the NAME of the environment variable holding the API key "
                             "(the key itself never goes in a recipe).")
    concurrency: int = Field(16, ge=1, description="Requests in flight (openai) / rows per batch.")
    max_retries: int = Field(5, ge=0, description="openai: retries of a failed request, with backoff.")
    timeout_s: float = Field(600.0, gt=0, description="openai: time limit of one request.")
    device: str | None = Field(None, description="transformers: cpu, cuda, cuda:1, ... (default: automatic).")
    tensor_parallel_size: int = Field(1, ge=1, description="vllm: GPUs one model is split over.")
    max_model_len: int | None = Field(None, ge=1, description="vllm: context length (prompt + reply).")


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


class JudgeConfig(LLMConfig):
    """An LLM judge: compares a sample's answer with the reference and answers in JSON."""

    domains: list[Literal["science", "puzzle"]] = Field(
        default_factory=lambda: ["science", "puzzle"], description="Domains the judge verifies.")
    math_fallback: bool = Field(False, description="Also judge math answers Math-Verify cannot parse (no_answer, "
                                "unparsable).")
    max_new_tokens: int = Field(1024, ge=1)
    temperature: float = Field(0.0, ge=0)
    prompt: str | None = Field(None, description="A Jinja2 template file for the judge's user turn (default: the "
                               "kit's own); it gets `problem`, `reference`, `answer`, `domain`.")


class MathVerifyConfig(_Strict):
    timeout_s: float = Field(5.0, gt=0, description="Time limit for parsing and comparing one answer.")
    require_boxed: bool = Field(False, description="Only the last \\boxed{} of a solution counts as its answer "
                                "(the strict rule). Default: the last \\boxed{} of the answer part (after the "
                                "reasoning) when there is one, else Math-Verify's extraction of the final answer "
                                "('The answer is 18.', 'A: 18', '#### 18').")


class CodeVerifyConfig(_Strict):
    test_timeout_s: float = Field(6.0, gt=0, description="Time limit of one test.")
    sample_timeout_s: float = Field(60.0, gt=0, description="Time limit of all tests of one sample.")
    memory_mb: int = Field(2048, ge=64, description="Address-space limit of the code under test.")
    max_output_kb: int = Field(4096, ge=1, description="Output cap of one test (stdout and files).")


class VerifyConfig(_Strict):
    workers: int | None = Field(None, ge=1, description="Parallel workers; default: the number of CPUs.")
    math: MathVerifyConfig = Field(default_factory=MathVerifyConfig)
    code: CodeVerifyConfig = Field(default_factory=CodeVerifyConfig)
    judge: JudgeConfig | None = Field(None, description="An LLM judge for science and puzzle answers (and, "
                                      "optionally, math answers Math-Verify cannot parse).")


class ReferenceConfig(_Strict):
    """Extra benchmark problems to decontaminate against."""

    path: str = Field(description="Local JSONL/JSON/Parquet file or folder, or a Hub dataset id.")
    config: str | None = None
    split: str = "test"
    column: str = Field("problem", description="The column holding the problem text.")
    name: str | None = Field(None, description="Name used in statistics; default: the path.")


class DecontaminationConfig(_Strict):
    enabled: bool = True
    ngram: int = Field(8, ge=1, description="Word n-gram length; any shared n-gram drops a problem (open-r1).")
    fuzzy_threshold: float = Field(95.0, ge=0, le=100,
                                   description="rapidfuzz ratio at or above which a problem is dropped (OpenThoughts).")
    common_ngram_refs: int | None = Field(
        None, ge=2, description="Ignore n-grams shared by at least this many reference problems (boilerplate such "
                                "as AIME's 'where m and n are relatively prime'); null keeps open-r1's behaviour.")
    benchmarks: list[Literal["math500", "aime24", "amc23", "humaneval"]] = Field(
        default_factory=lambda: ["math500", "aime24", "amc23", "humaneval"],
        description="Benchmarks bundled with the kit.")
    extra: list[ReferenceConfig] = Field(default_factory=list)


class CurateConfig(_Strict):
    max_per_problem: int | None = Field(None, ge=1, description="Keep at most this many verified samples per problem.")
    pass_rate: tuple[float, float] | None = Field(
        None, description="Keep a problem's samples only if its pass rate lies in [low, high] (open-r1: [0.2, 0.8]); "
                          "applies to problems with two or more samples.")
    dedup: bool = True
    decontaminate: DecontaminationConfig = Field(default_factory=DecontaminationConfig)

    @field_validator("pass_rate")
    @classmethod
    def _band(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not (0.0 <= v[0] <= v[1] <= 1.0):
            raise ValueError("must be [low, high] with 0 <= low <= high <= 1")
        return v


DEFAULT_INSTRUCTIONS = {
    "math": "Return your final response within \\boxed{}.",
    "code": "Write a Python solution and return it in a single ```python code block.",
}


class FormatConfig(_Strict):
    system_prompt: str | None = Field(None, description="Optional system turn of every conversation.")
    instructions: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_INSTRUCTIONS),
        description="Format instruction appended to the problem in the user turn, per domain.")


class OutputConfig(_Strict):
    dir: str = Field("out/{name}", description="Output folder; `{name}` is the recipe name.")
    shard_rows: int = Field(10_000, ge=1, description="Rows per parquet shard.")
    checkpoint_every: int = Field(1000, ge=1, description="With --push and a generating teacher: checkpoint the "
                                  "finished samples to the repo's `kit-samples` branch every N new samples...")
    checkpoint_minutes: float = Field(10.0, gt=0, description="... or every this many minutes.")
    pretty_name: str | None = None
    license: str = "apache-2.0"
    overwrite: bool = Field(False, description="Replace an existing output folder.")


class DataRecipe(_Strict):
    """A data recipe: `kit curate RECIPE`."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
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
    output: OutputConfig = Field(default_factory=OutputConfig)

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
    def _dir(self) -> DataRecipe:
        self.output.dir = self.output.dir.format(name=self.name)
        if self.teacher.backend == "dataset":
            used = [k for k, on in (("reformat", self.reformat), ("verify.judge", self.verify.judge),
                                    ("engine: ray", self.engine == "ray")) if on]
            if used:
                raise ValueError(f"{used[0]} runs in the generation pipeline, which needs a generating teacher "
                                 "(teacher.backend: openai, transformers or vllm)")
        return self


# --------------------------------------------------------------------------------------------------
# Loading

_BOOL = "tag:yaml.org,2002:bool"


class RecipeLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 booleans: only true/false (in any case) are booleans.

    PyYAML follows YAML 1.1, where yes/no/on/off (any of their cases) are booleans too, so
    `save_strategy: no` (or `--set sft.save_strategy=no`) would reach TRL as False. YAML 1.1's `=` (the
    "value" tag, which the safe loader cannot construct) is dropped too: `=` reads as a string. Numbers and
    null resolve as in PyYAML.
    """


RecipeLoader.yaml_implicit_resolvers = {
    first: kept for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    if (kept := [(tag, regexp) for tag, regexp in resolvers
                 if tag not in (_BOOL, "tag:yaml.org,2002:value")])
}
RecipeLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|false)$", re.IGNORECASE), list("tTfF"))


class RecipeDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, which quotes every string a YAML 1.1 loader would read as something else (`no`,
    `on`, ...), also quoting what `RecipeLoader` reads as a boolean (`tRuE`): its output reads back the same
    through `RecipeLoader` and through `yaml.safe_load` (YAML 1.1)."""


RecipeDumper.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|false)$", re.IGNORECASE), list("tTfF"))


def parse_yaml(text: str) -> Any:
    """YAML text as recipes read it (`RecipeLoader`: YAML 1.2 booleans)."""
    return yaml.load(text, Loader=RecipeLoader)  # a SafeLoader subclass: constructs plain data only


def _apply_override(data: dict[str, Any], assignment: str) -> None:
    if "=" not in assignment:
        raise RecipeError(f"--set {assignment!r}: expected key=value")
    key, raw = assignment.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise RecipeError(f"--set {assignment!r}: empty key")
    try:
        value = parse_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if parts[0] == "source" and "source" not in data and isinstance(data.get("sources"), list):
        if len(data["sources"]) != 1:
            raise RecipeError(f"--set {key}: the recipe has {len(data['sources'])} sources; use sources.INDEX.")
        parts = ["sources", "0", *parts[1:]]
    node = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise RecipeError(f"--set {key}: {'.'.join(parts[:i + 1])} is not an index of a list of {len(node)}")
            node = node[int(part)]
            continue
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict | list):
            raise RecipeError(f"--set {key}: {'.'.join(parts[:i + 1])} is not a mapping")
        node = child
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise RecipeError(f"--set {key}: {last!r} is not an index of a list of {len(node)}")
        node[int(last)] = value
    else:
        node[last] = value


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(recipe)"


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model reached by `loc` (for 'did you mean' hints)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        current = next((a for a in getattr(annotation, "__args__", ()) if hasattr(a, "model_fields")), annotation)
    return list(getattr(current, "model_fields", {}))


def _one_line(model: type[BaseModel], err: ValidationError, origin: str) -> str:
    first = err.errors()[0]
    loc = tuple(first["loc"])
    where = _location(loc)
    if first["type"] == "extra_forbidden":
        hint = difflib.get_close_matches(str(loc[-1]), _known_keys(model, loc[:-1]), n=1)
        tip = f" (did you mean {hint[0]!r}?)" if hint else ""
        msg = f"unknown key{tip}"
    else:
        msg = first["msg"].removeprefix("Value error, ")
        if "input" in first and first["type"] != "missing" and loc:
            msg += f", got {first['input']!r}"
    more = f" (+{len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"{origin}: {where}: {msg}{more}"


def load_recipe(path: str | os.PathLike[str], overrides: list[str] | tuple[str, ...] = (),
                model: type[BaseModel] = DataRecipe) -> Any:
    """Load a YAML recipe, apply `key=value` overrides, validate; RecipeError (one line) on any problem.

    Relative local paths inside the recipe (`sources[].path`, `curate.decontaminate.extra[].path`) are
    resolved against the recipe's folder when they exist there.
    """
    path = Path(path)
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"recipe not found: {path}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise RecipeError(f"{path}:{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a YAML mapping")
    for assignment in overrides:
        _apply_override(data, assignment)
    try:
        recipe = model.model_validate(data)
    except ValidationError as err:
        raise RecipeError(_one_line(model, err, str(path))) from None
    if isinstance(recipe, DataRecipe):
        for item in [*recipe.sources, *recipe.curate.decontaminate.extra]:
            candidate = path.parent / item.path
            if not item.path.startswith("kit:") and not Path(item.path).is_absolute() and candidate.exists():
                item.path = str(candidate)
        for where, item in (("reformat.prompt", recipe.reformat), ("verify.judge.prompt", recipe.verify.judge)):
            if item is None or item.prompt is None:
                continue
            candidate = path.parent / item.prompt
            if not Path(item.prompt).is_absolute() and candidate.is_file():
                item.prompt = str(candidate)
            elif not Path(item.prompt).is_file():
                raise RecipeError(f"{path}: {where}: no such template file: {item.prompt}")
    return recipe


def dump_recipe(recipe: BaseModel) -> str:
    """The recipe as YAML, for `recipe.yaml` in an output folder (recipes hold no secrets by design); it reads
    back exactly as written through `load_recipe` (and through `yaml.safe_load`)."""
    return yaml.dump(recipe.model_dump(mode="json"), Dumper=RecipeDumper, sort_keys=False, allow_unicode=True)
