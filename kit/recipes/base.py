"""The model every recipe shares: the loader, the one path rule, the common header and output block, and the
sections several recipes use (a model asked through distilabel, the verifiers, the prompt format).

A recipe is YAML validated by a pydantic model; `--set key=value` overrides any key. Every model forbids unknown
keys (`Strict`), so a typo in a recipe fails with a one-line error naming the key. Each recipe's model lives
beside this one: `data.py` (`kit curate`), `train.py` (`kit train`), `eval.py` (`kit eval`).

Relative paths in a recipe follow one rule (`local_path`): the recipe's folder, then the folders above it (a
checkout's root, for a recipe in `recipes/sft/`), else the path as given (the working directory, or a Hub id).
"""

from __future__ import annotations

import difflib
import os
import re
import string
import textwrap
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from kit.core.testcases import GRADERS

Scalar = str | int | float | bool
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
R = TypeVar("R", bound=BaseModel)


class RecipeError(ValueError):
    """A recipe that cannot be used; the message is one line naming the key."""


class Strict(BaseModel):
    """A recipe section: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------------------------------
# The header and output block of every recipe, and the path rule

class OutputConfig(Strict):
    dir: str = Field("out/{name}", description="Output folder; `{name}` is the recipe name.")


class Recipe(Strict):
    """What every recipe starts with: its name, what it is for and what it reproduces. Each recipe adds its own
    `output` block (an `OutputConfig`), whose `{name}` is the recipe's name."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    reproduces: str | None = Field(None, exclude_if=lambda value: value is None,
                                   description="What the recipe reproduces (paper, model, protocol, settings source).")

    @model_validator(mode="after")
    def _output_dir(self) -> Self:
        output = getattr(self, "output", None)
        if isinstance(output, OutputConfig):
            output.dir = _Keep().vformat(output.dir, (), {"name": self.name})
        return self

    def resolve_paths(self, recipe_file: Path) -> None:
        """Resolve the recipe's relative local paths with `local_path` (each recipe names its own)."""


class _Keep(string.Formatter):
    """`str.format` that leaves placeholders it has no value for (`{model}` of an eval recipe) as written."""

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        return kwargs.get(key, f"{{{key}}}") if isinstance(key, str) else super().get_value(key, args, kwargs)


def local_path(value: str, recipe_file: str | Path) -> str:
    """The one path rule: a relative `value` is looked up in the recipe's folder, then in the folders above it;
    the first that holds it wins. Otherwise (absolute, `kit:`, a Hub id, a file made later) it stays as given."""
    if value.startswith("kit:") or Path(value).is_absolute():
        return value
    folder = Path(recipe_file).parent
    for root in (folder, *folder.parents):
        if (root / value).exists():
            return str(root / value)
    return value


def local_file(value: str, recipe_file: str | Path, key: str, what: str = "file") -> str:
    """`local_path` for a key that must name an existing file (RecipeError naming the key otherwise)."""
    resolved = local_path(value, recipe_file)
    if not Path(resolved).is_file():
        raise RecipeError(f"{recipe_file}: {key}: no such {what}: {value}")
    return resolved


# --------------------------------------------------------------------------------------------------
# Sections and fields several recipes use

def _grader(name: str) -> str:
    if name not in GRADERS:
        raise ValueError(f"unknown grader {name!r} (graders: {', '.join(sorted(GRADERS))})")
    return name


GRADER_HELP = ("The dataset's own grader, whose ways with the tests the kit follows (kit.core.testcases.GRADERS): "
               "`apps` (APPS's, TACO's and SkyThought's: its imports before every solution, so a right solution "
               "using `deque`, `gcd` or `np` unimported passes, as there), `livecodebench` (its imports, and outputs "
               "compared its way: stdout line by line, numbers as exact decimals, call results exactly), `kodcode` "
               "(a reply's one function renamed to the one the tests call, as KodCode's pipeline graded R1), "
               "`codeforces` (open-r1's: tokens compared as text, as testlib's wcmp does, the words yes and no in any "
               "case, as its yesno checker does).")
GraderName = Annotated[str, AfterValidator(_grader)]


_SEVERAL = ("test_cases", "reply", "messages")  # the kit columns a column map may fill from several input columns


def _column_map(columns: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
    for name, source in columns.items():
        if isinstance(source, list) and name not in _SEVERAL:
            raise ValueError(f"{name}: only test_cases (their tests joined), reply (a trace each) and messages (their "
                             "turns joined) may name several columns")
        if isinstance(source, list) and not source:
            raise ValueError(f"{name}: names no column")
    return columns


# kit column -> input column; `test_cases` may name several, whose tests are joined (CodeContests' three test columns),
# `reply` several, each a trace of the problem (DeepMath-103K's three R1 solutions), and `messages` several, whose turns
# are joined (TRL's conversational prompt-completion form, `[prompt, completion]`)
ColumnMap = Annotated[dict[str, str | list[str]], AfterValidator(_column_map)]


class LLMConfig(Strict):
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


class MathVerifyConfig(Strict):
    timeout_s: float = Field(5.0, gt=0, description="Time limit for parsing and comparing one answer.")
    require_boxed: bool = Field(False, description="Only the last \\boxed{} of a solution counts as its answer "
                                "(the strict rule). Default: the last \\boxed{} of the answer part (after the "
                                "reasoning) when there is one, else Math-Verify's extraction of the final answer "
                                "('The answer is 18.', 'A: 18', '#### 18').")


class CodeVerifyConfig(Strict):
    test_timeout_s: float = Field(6.0, gt=0, description="Time limit of one test (of the whole test code, for the "
                                  "assert and pytest forms, which run in one test process).")
    sample_timeout_s: float | None = Field(
        None, gt=0, description="Time limit of all tests of one sample. Default (null): as LiveCodeBench's grader "
        "allows, the test time limit plus 1 s for each test, plus 5 s (judges set no limit beyond each test's own, and "
        "a sample stops at its first failed test); a number bounds a GRPO step's rewards (see kit/train/rewards.py).")
    memory_mb: int = Field(2048, ge=64, description="Address-space limit of the code under test.")
    max_output_kb: int = Field(4096, ge=1, description="Output cap of one test (stdout and files).")
    fail_fast: bool = Field(True, description="Stop a sample at its first failed round of tests, as judges stop at the "
                            "first failed test. false runs every test, so the share passed is known (the GRPO "
                            "`accuracy` reward's `scoring: partial` or `weighted_sum` sets it).")


class VerifyConfig(Strict):
    workers: int | None = Field(None, ge=1, description="Parallel workers; default: the number of CPUs.")
    math: MathVerifyConfig = Field(default_factory=MathVerifyConfig)
    code: CodeVerifyConfig = Field(default_factory=CodeVerifyConfig)
    judge: JudgeConfig | None = Field(None, description="An LLM judge for science and puzzle answers (and, "
                                      "optionally, math answers Math-Verify cannot parse).")


DEFAULT_INSTRUCTIONS = {
    "math": "Return your final response within \\boxed{}.",
    "code": "Write a Python solution and return it in a single ```python code block.",
}


class FormatConfig(Strict):
    system_prompt: str | None = Field(None, description="Optional system turn of every conversation.")
    instructions: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_INSTRUCTIONS),
        description="Format instruction appended to the problem in the user turn, per domain.")



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
    """The recipe's errors on one line: the first in full, then the others, each where it is and what is wrong."""
    first, *others = [_described(model, error) for error in err.errors()]
    also = "; ".join(dict.fromkeys(others))
    return f"{origin}: {first}" + (f" (also {textwrap.shorten(also, 300, placeholder=' ...')})" if also else "")


def _described(model: type[BaseModel], error: Any) -> str:
    """One validation error: where it is in the recipe, and what is wrong there."""
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        msg = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else
                               f" (known: {', '.join(known)})" if known else "")
    else:
        msg = error["msg"].removeprefix("Value error, ")
        if "input" in error and error["type"] != "missing" and loc:
            msg += f", got {error['input']!r}"
    return f"{_location(loc)}: {msg}"


def load_recipe(path: str | os.PathLike[str], model: type[R], overrides: list[str] | tuple[str, ...] = ()) -> R:
    """Load a YAML recipe of `model`, apply `key=value` overrides, validate, and resolve its relative paths
    (`Recipe.resolve_paths`, by `local_path`); RecipeError (one line) on any problem."""
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
    if isinstance(recipe, Recipe):
        recipe.resolve_paths(path)
    return recipe


def dump_recipe(recipe: BaseModel) -> str:
    """The recipe as YAML, for `recipe.yaml` in an output folder (recipes hold no secrets by design); it reads
    back exactly as written through `load_recipe` (and through `yaml.safe_load`)."""
    return yaml.dump(recipe.model_dump(mode="json"), Dumper=RecipeDumper, sort_keys=False, allow_unicode=True)
