"""Training recipes: `kit train RECIPE`.

A recipe names the model, the dataset mixture, the chat template, the TRL `SFTConfig` arguments (`sft:`,
passed as they are; every key is checked against TRL's dataclass), the compute it runs on (for the plan and
the card's cost line), where it runs (`launch:`) and the Hub repo it ends in (`hub:`).
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from kit.recipes import RecipeError
from kit.recipes.base import (
    GRADER_HELP,
    ColumnMap,
    FormatConfig,
    GraderName,
    OutputConfig,
    Recipe,
    Scalar,
    Strict,
    VerifyConfig,
    load_recipe,
    local_file,
    local_path,
)

# The SFTConfig keys the kit sets itself: a recipe naming them would be silently overridden.
KIT_OWNED = {"output_dir", "push_to_hub", "hub_model_id", "resume_from_checkpoint", "chat_template_path",
             "deepspeed", "dataset_text_field"}


class ModelConfig(Strict):
    """The model to train: a Hub id or a local folder, loaded with its weights or built at random."""

    name_or_path: str | None = Field(None, description="Hub id (e.g. Qwen/Qwen2.5-32B-Instruct) or local folder "
                                     "of the base model (its config, tokenizer and, with init: pretrained, weights).")
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit) of the base model.")
    base_model: str | None = Field(None, description="The Hub id the card names as base model when name_or_path "
                                   "is a local folder (default: name_or_path when it is a Hub id).")
    init: Literal["pretrained", "random"] = Field(
        "pretrained", description="`random`: initialise the weights at random from the config (any size); "
                                  "`pretrained`: load the weights.")
    architecture: str | None = Field(None, description="With init: random and no name_or_path: the model type "
                                     "whose default config is the start (e.g. qwen2, llama).")
    config: dict[str, Any] = Field(default_factory=dict, description="Config overrides for init: random "
                                   "(hidden_size, num_hidden_layers, ...).")
    tokenizer: str | None = Field(None, description="Hub id or folder of the tokenizer (default: name_or_path); "
                                  "`build`: train a byte-level BPE tokenizer on the training texts (no download).")
    vocab_size: int = Field(512, ge=64, description="With tokenizer: build, the largest vocabulary it may have: BPE "
                            "stops earlier when the texts run out of merges (the plan and the card give the real size).")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="Weights dtype when loading (auto: the checkpoint's own).")
    attn_implementation: str = Field(
        "auto", description="auto (default): flash-attn 3/2 when installed (or the Hub's kernels), flex_attention "
        "for padding-free packing on a GPU, else sdpa (kit.train.attention); or eager, sdpa, flex_attention, "
        "flash_attention_2, flash_attention_3, a Hub kernel (org/name).")
    trust_remote_code: bool = False

    @model_validator(mode="after")
    def _source(self) -> ModelConfig:
        if self.name_or_path is None and not (self.init == "random" and self.architecture):
            raise ValueError("give name_or_path, or init: random with an architecture")
        if self.name_or_path is None and self.tokenizer in (None, ""):
            raise ValueError("a model built from an architecture needs a tokenizer (a Hub id, a folder, or build)")
        return self


class DatasetEntry(Strict):
    """One dataset of the mixture: a Hub dataset repo or a local folder made by `kit curate`."""

    preset: str | None = Field(None, exclude_if=lambda value: value is None, description="method: grpo: a "
                               "well-known dataset of problems (kit.recipes.presets, as `kit curate`'s "
                               "sources[].preset, e.g. codeforces, taco, deepmath-103k): fills path, config, split, "
                               "columns (those of the problem, its references and tests), where, domain and grader; "
                               "a key the entry sets itself wins (columns and where merge key by key).")
    path: str = Field(description="Hub dataset id (org/name) or local dataset folder (e.g. out/quickstart).")
    config: str = Field("default", description="Dataset config; `default` holds the chat `messages`.")
    split: str = "train"
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit); the card records the "
                                 "commit actually read.")
    weight: float = Field(1.0, gt=0, description="Share of the rows taken: 0.5 takes a random half, 2 takes every "
                          "row twice.")
    column: Literal["messages", "text", "problem"] = Field(
        "messages", description="`messages`: a chat dataset (loss on the assistant turns); `text`: plain text "
        "(mid-training, loss on all); `problem`: problems with their references, for GRPO (the default with "
        "method: grpo, which also reads the `metadata` config by default).")
    domain: str | None = Field(None, exclude_if=lambda value: value is None, description="method: grpo: the "
                               "domain of every row (math, code, ...: it picks the verifier of the accuracy "
                               "reward), over a `domain` column the dataset has, as a curate source's `domain`; "
                               "default: each row's own.")
    columns: ColumnMap = Field(default_factory=dict, exclude_if=lambda value: not value,
                               description="method: grpo: column map, kit column -> "
                               "dataset column (problem, domain, ground_truth_answer, ground_truth_solution, "
                               "test_cases, starter_code, and checker, entry_point, prelude, time_limit, "
                               "memory_limit, input_file, output_file or input_mode: a checker program, the "
                               "function under test, code run before the solution, the time limit per test, the "
                               "memory limit or the files read and written instead of the standard streams, put "
                               "into the tests), "
                               "for a dataset that is not a kit `metadata` config; "
                               "a nested field by its path (reward_model.ground_truth); a chat `problem` "
                               "(verl's `prompt`) gives its user turn; tests are read in the dataset's form, "
                               "`test_cases` from a list of columns joined (CodeContests' three). A chat entry maps "
                               "its chat column to `messages` (ShareGPT `conversations`), or several whose turns "
                               "are joined (TRL's prompt-completion form: [prompt, completion]), and a system "
                               "prompt kept in a column of its own to `system_prompt` (Sky-T1's and "
                               "OpenThoughts' `system`).")
    where: dict[str, Scalar | None | list[Scalar | None]] = Field(
        default_factory=dict, exclude_if=lambda value: not value, description="Keep only rows whose dataset column "
        "(a nested field by its path) has this value, or one of these values (null: the column is null), e.g. "
        "{language: python}; as `kit curate`'s sources[].where.")
    grader: GraderName | None = Field(None, exclude_if=lambda value: value is None,
                                      description="method: grpo: " + GRADER_HELP)

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        from kit.recipes.presets import expand_preset

        return expand_preset(data, problems=True) if isinstance(data, dict) else data


class RewardConfig(Strict):
    """One reward of a GRPO run, chosen by name from the kit's reward registry (kit.train.rewards)."""

    name: str = Field(description="accuracy (the kit's verifiers, by domain), format, repetition, boxed, length, "
                      "overlong: see kit/train/rewards.py.")
    weight: float = Field(1.0, description="Its weight in the sum TRL advantages are computed from.")
    options: dict[str, Any] = Field(default_factory=dict, description="The reward's own settings (e.g. "
                                    "max_penalty, ngram_size); an unknown one is refused by name.")


class DataConfig(Strict):
    mixture: list[DatasetEntry] = Field(min_length=1)
    seed: int = Field(42, description="Seed of the subsampling and the shuffle.")
    shuffle: bool = True


class ComputeConfig(Strict):
    """What the run uses: feeds the dry-run plan and the card's compute and cost lines."""

    gpu: str = Field("cpu", description="Accelerator type, e.g. H100-80GB, H200, A100-80GB, cpu.")
    gpu_memory_gb: float | None = Field(None, gt=0, description="Memory of one GPU in GiB, as torch reports it "
                                        "(default: from the gpu name, see kit/train/gpus.py).")
    gpus_per_node: int = Field(1, ge=1)
    nodes: int = Field(1, ge=1)
    price_per_gpu_hour: float | None = Field(None, ge=0, description="US$ per GPU-hour, for the cost estimate.")
    tokens_per_gpu_second: float | None = Field(None, gt=0, description="Measured training throughput per GPU "
                                                "(tokens/s) for --dry-run's GPU-hours; default: estimated from the "
                                                "GPU's bf16 peak and `mfu`.")
    mfu: float | None = Field(None, gt=0, le=1, description="Model FLOPs utilisation --dry-run assumes (default: "
                              "the kit's measured figure for the attention implementation, see kit/train/plan.py).")

    @property
    def world_size(self) -> int:
        return self.gpus_per_node * self.nodes


class HfJobsConfig(Strict):
    """`kit train --on hf-jobs`: a Hugging Face Job (huggingface_hub's Jobs API)."""

    flavor: str = Field("h200x8", description="Job hardware, e.g. h200x8, a100x8, a10g-large, cpu-upgrade.")
    image: str | None = Field(None, description="Docker image with uv (default: huggingface_hub's uv image).")
    python: str | None = Field("3.11", description="Python version uv runs the job with.")
    kit: str | None = Field(None, description="pip requirement that installs the kit in the job (default: "
                            "reasoning-hub-kit[train] at this version).")
    dependencies: list[str] = Field(default_factory=list, description="Extra pip requirements (e.g. flash-attn).")
    timeout: str = Field("2d", description="Time limit, e.g. 90m, 12h, 2d.")
    namespace: str | None = Field(None, description="User or org the job runs under (default: the token's user).")


class SlurmConfig(Strict):
    """`kit train --on slurm`: `recipes/launch/train.slurm`, rendered and submitted with sbatch."""

    template: str = Field("recipes/launch/train.slurm", description="Slurm script template (Jinja2).")
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: str = Field("48:00:00", description="Slurm time limit.")
    setup: str | None = Field(None, description="Shell lines run on each node first (module load, venv).")


ACCELERATE_CONFIGS = ("zero3", "zero3-offload", "zero2", "fsdp2", "ddp")  # recipes/accelerate/, shipped as kit.accelerate


class LaunchConfig(Strict):
    accelerate: str | None = Field(None, description="accelerate config: zero3, zero3-offload, zero2, fsdp2 or "
                                   "ddp (the kit's, in recipes/accelerate/) or a path to your own; none: one process.")
    hf_jobs: HfJobsConfig = Field(default_factory=HfJobsConfig)
    slurm: SlurmConfig = Field(default_factory=SlurmConfig)


class HubConfig(Strict):
    repo: str | None = Field(None, description="Hub model repo the weights and card are pushed to at the end.")
    private: bool = False
    revision: str | None = Field(None, description="Branch to push to (default: main).")
    tag: str | None = None


class CardConfig(Strict):
    license: str | None = Field(None, description="License of the weights, a Hub license id (apache-2.0, mit). "
                                "Left out of the card unless set: the card then says the base model's terms apply.")
    language: list[str] = Field(default_factory=lambda: ["en"])
    tags: list[str] = Field(default_factory=list)
    pretty_name: str | None = None
    citation: str | None = Field(None, description="BibTeX of the work the recipe reproduces.")


class TrainOutputConfig(OutputConfig):
    dir: str = Field("out/{name}", description="The final model folder (what is pushed); checkpoints go to "
                     "<dir>.checkpoints/.")
    overwrite: bool = Field(False, description="Start over even when checkpoints exist.")


class TrainRecipe(Recipe):
    """A training recipe: `kit train RECIPE`."""

    model: ModelConfig
    data: DataConfig
    chat_template: str = Field("model", description="`model`: the tokenizer's own template (checked to keep "
                               "<think> in every assistant turn); `kit`: the kit's ChatML template; or a .jinja file.")
    method: Literal["sft", "grpo"] = Field("sft", description="`sft`: TRL's SFTTrainer on chat or text data; "
                                           "`grpo`: TRL's GRPOTrainer on problems, rewarded by `rewards`.")
    sft: dict[str, Any] = Field(default_factory=dict, description="TRL SFTConfig arguments, as they are "
                                "(learning_rate, num_train_epochs, max_length, packing, assistant_only_loss, ...).")
    grpo: dict[str, Any] = Field(default_factory=dict, exclude_if=lambda value: not value,
                                 description="method: grpo: TRL GRPOConfig arguments, as they are (learning_rate, "
                                 "num_generations, max_completion_length, beta, epsilon, use_vllm, vllm_mode, ...).")
    rewards: list[RewardConfig] = Field(default_factory=list, exclude_if=lambda value: not value,
                                        description="method: grpo: the rewards, by name, with their weights.")
    verify: VerifyConfig = Field(default_factory=VerifyConfig, exclude_if=lambda value: value == VerifyConfig(),
                                 description="method: grpo: the verifiers behind the accuracy reward (workers, "
                                 "Math-Verify's answer rule, the sandbox's limits), as in a data recipe.")
    prompt: FormatConfig = Field(default_factory=FormatConfig, exclude_if=lambda value: value == FormatConfig(),
                                 description="method: grpo: how a problem is asked (the prompt builder of kit "
                                 "curate and kit eval): system prompt and per-domain instructions.")
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
    launch: LaunchConfig = Field(default_factory=LaunchConfig)
    hub: HubConfig = Field(default_factory=HubConfig)
    card: CardConfig = Field(default_factory=CardConfig)
    output: TrainOutputConfig = Field(default_factory=TrainOutputConfig)

    @field_validator("sft", "grpo")
    @classmethod
    def _config_keys(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        owned = sorted(KIT_OWNED & set(value))
        if owned:
            raise ValueError(f"{info.field_name}.{owned[0]} is set by the kit (see output, hub, launch, chat_template)")
        known = config_fields(info.field_name)
        if known:
            for key in value:
                if key not in known:
                    hint = difflib.get_close_matches(key, known, n=1)
                    raise ValueError(f"{info.field_name}.{key} is not a {CONFIGS[info.field_name]} argument"
                                     + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        return value

    @model_validator(mode="after")
    def _method(self) -> TrainRecipe:
        unused = "grpo" if self.method == "sft" else "sft"
        if getattr(self, unused) or (self.method == "sft" and self.rewards):
            key = unused if getattr(self, unused) else "rewards"
            raise ValueError(f"{key} is for method: {unused}; this recipe's method is {self.method}")
        if self.method == "grpo":
            if not self.rewards:
                raise ValueError("method: grpo needs rewards, e.g. [{name: accuracy}]")
            for entry in self.data.mixture:
                entry.column = entry.column if "column" in entry.model_fields_set else "problem"
                entry.config = entry.config if "config" in entry.model_fields_set else "metadata"
                if entry.column != "problem":
                    raise ValueError(f"data.mixture: {entry.path}: method: grpo reads problems (column: problem)")
        elif any(entry.column == "problem" for entry in self.data.mixture):
            raise ValueError("data.mixture: column: problem is for method: grpo")
        elif preset := next((entry.preset for entry in self.data.mixture if entry.preset), None):
            raise ValueError(f"data.mixture: preset {preset!r} gives problems, for method: grpo; to train on its "
                             "traces, curate them first (kit curate, sources[].preset) and train on that folder")
        return self

    def resolve_paths(self, recipe_file: Path) -> None:
        for entry in self.data.mixture:
            entry.path = local_path(entry.path, recipe_file)
        self.model.name_or_path = self.model.name_or_path and local_path(self.model.name_or_path, recipe_file)
        if self.model.tokenizer not in (None, "build"):
            self.model.tokenizer = local_path(self.model.tokenizer, recipe_file)
        if self.chat_template not in ("model", "kit"):
            self.chat_template = local_file(self.chat_template, recipe_file, "chat_template")
        if self.launch.accelerate and self.launch.accelerate not in ACCELERATE_CONFIGS:
            self.launch.accelerate = local_file(self.launch.accelerate, recipe_file, "launch.accelerate")
        self.launch.slurm.template = local_path(self.launch.slurm.template, recipe_file)  # checked when used

    @property
    def trainer_args(self) -> dict[str, Any]:
        """The TRL config arguments of the recipe's method: `sft:` or `grpo:`."""
        return self.grpo if self.method == "grpo" else self.sft

    @property
    def out_dir(self) -> Path:
        return Path(self.output.dir)

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.output.dir + ".checkpoints")


CONFIGS = {"sft": "SFTConfig", "grpo": "GRPOConfig"}  # the recipe block -> TRL's config class


def config_fields(block: str = "sft") -> list[str]:
    """The argument names of TRL's config class for a recipe block (`sft`, `grpo`), or [] when TRL is not
    installed (checked again where it runs)."""
    try:
        import trl
    except ImportError:
        return []
    return [f.name for f in dataclasses.fields(getattr(trl, CONFIGS[block])) if f.init]


RECIPE_ENV = "KIT_TRAIN_RECIPE"


def load_train_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TrainRecipe:
    """Load a training recipe (RecipeError, one line, on any problem); local paths follow the recipes' one rule
    (`kit.recipes.base.local_path`).

    `env:KIT_TRAIN_RECIPE` reads the recipe's YAML from that environment variable (how a Hugging Face Job
    receives it: recipes hold no secrets).
    """
    import os
    import tempfile

    if str(path).startswith("env:"):
        name = str(path)[4:]
        if not os.environ.get(name):
            raise RecipeError(f"{path}: the environment variable {name} is not set")
        with tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / "recipe.yaml"
            file.write_text(os.environ[name], encoding="utf-8")
            return load_train_recipe(file, overrides)
    return load_recipe(path, TrainRecipe, overrides)


def accelerate_config_file(value: str) -> Path:
    """The file of `launch.accelerate`: a config the kit ships (by name) or a path."""
    if value in ACCELERATE_CONFIGS:
        import kit

        package = Path(kit.__file__).resolve().parent  # a checkout (or editable install), else the wheel
        for folder in (package.parent / "recipes" / "accelerate", package / "accelerate"):
            if (folder / f"{value}.yaml").is_file():
                return folder / f"{value}.yaml"
        raise RecipeError(f"launch.accelerate: the kit's {value}.yaml is missing from this installation")
    return Path(value)
