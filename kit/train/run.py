"""Train a recipe in this process (alone, or as one rank under `accelerate launch`) with TRL: the SFTTrainer
(`method: sft`), or the GRPOTrainer (`method: grpo`) rewarded by the kit's rewards (kit.train.rewards).

Checkpoints go to `<out>.checkpoints/` and a run started again resumes from the last one. At the end the
final folder `<out>/` holds the weights, the tokenizer, `recipe.yaml`, `train_results.json` and the model
card; with `hub.repo` it is pushed through `kit publish`'s code path.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from kit.core.log import Log, package_version
from kit.core.sources import content_text, not_found
from kit.hub.ids import is_repo_id, unloadable_model
from kit.recipes import RecipeError, dump_recipe
from kit.recipes.train import CONFIGS, ModelConfig, TrainRecipe
from kit.train.attention import Attention, choose
from kit.train.chat import apply_template
from kit.train.data import load_mixture
from kit.train.throughput import Throughput, describe

ELAPSED = "kit_elapsed.json"  # in each checkpoint: training seconds so far, so a resumed run's hours add up
FRAMEWORKS = ("torch", "transformers", "trl", "accelerate", "deepspeed", "datasets", "reasoning-hub-kit")
HYPERPARAMETERS = (
    "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps",
    "max_length", "packing", "packing_strategy", "padding_free", "assistant_only_loss", "lr_scheduler_type",
    "lr_scheduler_kwargs", "warmup_steps", "weight_decay", "optim", "adam_beta1", "adam_beta2", "adam_epsilon",
    "max_grad_norm", "bf16", "fp16", "activation_checkpointing", "seed", "loss_type", "neftune_noise_alpha",
    # GRPO
    "num_generations", "max_completion_length", "temperature", "top_p", "beta", "epsilon", "epsilon_high",
    "scale_rewards", "reward_weights", "num_iterations", "use_vllm", "vllm_mode", "generation_batch_size",
    "mask_truncated_completions",
)


class AlreadyTrained(FileExistsError):
    """The output folder already holds a finished run."""


@dataclass
class TrainResult:
    out_dir: Path
    results: dict[str, Any]
    url: str | None = None


def train(recipe: TrainRecipe, *, log: Log = print, push: bool = True) -> TrainResult | None:
    """Train; return the result on the main process (None on the other ranks)."""
    import torch

    from kit.train.launch import prepare_rank

    out, checkpoints = recipe.out_dir, recipe.checkpoint_dir
    check_fresh(recipe)
    prepare_rank()
    dataset, records = load_data(recipe, log if _is_main() else _quiet)
    args = trl_config(recipe, log)
    attention = choose_attention(recipe, args, log if _is_main() else _quiet)
    tokenizer = load_tokenizer(recipe.model, dataset)
    text = recipe.data.mixture[0].column == "text"  # plain text is trained as it is: no chat template
    added = [] if text else apply_template(recipe.chat_template, tokenizer, getattr(args, "assistant_only_loss", False),
                                           prompts_only=recipe.method == "grpo")
    model = load_model(recipe.model, tokenizer, added, seed=args.seed, attn_implementation=attention.implementation)
    if recipe.method == "grpo" and args.beta and (recipe.model.init == "random" or added):
        model.config._name_or_path = initial_policy(model, checkpoints)
    trainer = make_trainer(recipe, model, args, dataset, tokenizer)
    last = last_checkpoint(checkpoints)
    before = _elapsed(last)
    if last:
        log(f"resuming from {last} (step {Path(last).name.split('-')[-1]})")
    trainer.add_callback(_ElapsedCallback(before))
    throughput = Throughput()
    trainer.add_callback(throughput)
    started = time.monotonic()
    try:
        output = trainer.train(resume_from_checkpoint=last)
    finally:
        if recipe.method == "grpo":
            from kit.train.rewards import close_rewards

            close_rewards(trainer.reward_funcs)  # the verifiers' worker processes and sandboxes
    seconds = before + time.monotonic() - started
    trainer.save_model(str(out))
    # Every rank leaves the process group together once the weights are written: a rank that exits with it
    # open can abort in gloo's threads at interpreter exit ("terminate called without an active exception"),
    # and the launcher then kills the others. Only after a run that succeeded: a rank that failed must not wait.
    trainer.accelerator.wait_for_everyone()
    trainer.accelerator.end_training()
    if not trainer.is_world_process_zero():
        return None
    tokenizer.save_pretrained(str(out))
    metrics = dict(output.metrics)
    if last:  # a resumed run: the Trainer's loss and runtime cover the part after the checkpoint only
        metrics["train_runtime"] = round(seconds, 4)
        if losses := [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]:
            metrics["train_loss"] = sum(losses) / len(losses)  # the mean of the whole run's logged losses
    results = _results(recipe, trainer, model, records, metrics, seconds, torch)
    results["compute"].update(throughput.measure(parameters=results["parameters"], world=args.world_size),
                              attn_implementation=attention.implementation)
    eval_file = out / "eval_results.json"
    if eval_file.exists():
        results["eval_results"] = json.loads(eval_file.read_text(encoding="utf-8"))
    write_folder(recipe, out, results)
    log(f"trained {results['metrics']['global_step']} steps in {duration(seconds)}; "
        f"mean loss {results['metrics'].get('train_loss', float('nan')):.4f} -> {out}; "
        f"{describe(results['compute'])}")
    url = publish_model(recipe, out, log) if push and recipe.hub.repo else None
    return TrainResult(out, results, url)


def duration(seconds: float) -> str:
    """A run's length as a person reads it: seconds, minutes, or hours."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.2f} h"


def load_data(recipe: TrainRecipe, log: Log) -> tuple[Any, list[dict[str, Any]]]:
    """The recipe's mixture (`load_mixture`); a GRPO run whose rewards read the verifiers' verdicts (accuracy, length)
    keeps only the problems a verifier can decide."""
    decidable = False
    if recipe.method == "grpo":
        from kit.train.rewards import REWARDS

        decidable = any(reward.name in REWARDS and REWARDS[reward.name].verifies for reward in recipe.rewards)
    return load_mixture(recipe.data, log=log, prompt=recipe.prompt, decidable=decidable)


def check_fresh(recipe: TrainRecipe) -> None:
    """Start over when the recipe says so (output.overwrite); refuse to train into a finished run."""
    if recipe.output.overwrite and _is_main() and "WORLD_SIZE" not in os.environ:  # a launcher's parent did it
        shutil.rmtree(recipe.checkpoint_dir, ignore_errors=True)
        shutil.rmtree(recipe.out_dir, ignore_errors=True)
    if (recipe.out_dir / "train_results.json").exists():
        raise AlreadyTrained(f"{recipe.out_dir} already holds a finished run; use --overwrite to train again, or "
                             f"`kit publish {recipe.out_dir} --repo ORG/NAME` to push it")


def trl_config(recipe: TrainRecipe, log: Log) -> Any:
    """TRL's SFTConfig (GRPOConfig) from `recipe.sft` (`recipe.grpo`) plus what the kit owns (folders, text
    field, reward weights, CPU fallback)."""
    import torch
    import trl

    block = recipe.method
    values: dict[str, Any] = {"report_to": "none", "save_strategy": "steps", "save_steps": 500,
                              "include_num_input_tokens_seen": "non_padding", **recipe.trainer_args}
    if block == "grpo":
        values["reward_weights"] = [reward.weight for reward in recipe.rewards]
    if not torch.cuda.is_available() and not values.get("use_cpu"):
        if values.get("bf16", True) or values.get("fp16"):
            log("no GPU here: training on the CPU in float32 (use_cpu, bf16 off)")
        values.update(use_cpu=True, bf16=False, fp16=False)
    if recipe.data.mixture[0].column == "text":
        values.update(dataset_text_field="text", assistant_only_loss=False)
    try:
        return getattr(trl, CONFIGS[block])(output_dir=str(recipe.checkpoint_dir), **values)
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"{block}: {exc}") from None


def config_values(recipe: TrainRecipe) -> dict[str, Any]:
    """The defaults of the method's TRL config (SFTConfig, GRPOConfig) with the recipe's `sft:` / `grpo:` on top
    (no config is built: no device checks)."""
    import dataclasses

    import trl

    fields = dataclasses.fields(getattr(trl, CONFIGS[recipe.method]))
    defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
    return {**defaults, **recipe.trainer_args}


def choose_attention(recipe: TrainRecipe, args: Any, log: Log) -> Attention:
    """The attention implementation this run trains with (kit.train.attention); packing is turned off in `args`
    when the choice says so. Also checks that Liger's kernels, when asked for, can run here."""
    import torch

    cuda = torch.cuda.is_available()
    hopper = cuda and torch.cuda.get_device_capability()[0] == 9
    attention = choose(recipe.model.attn_implementation, vars(args), cuda=cuda, hopper=hopper)
    log(attention.line)
    if attention.unpacked:
        args.packing = args.padding_free = False
    if args.use_liger_kernel:
        import importlib.util

        if not cuda:
            raise RecipeError("sft.use_liger_kernel: Liger's kernels run on CUDA GPUs only and this machine has none")
        if importlib.util.find_spec("liger_kernel") is None:
            raise RecipeError("sft.use_liger_kernel needs the liger-kernel package: pip install "
                              "\"reasoning-hub-kit[gpu]\" (or pip install liger-kernel)")
    return attention


def weight_dtype(config: ModelConfig, model_config: Any) -> str:
    """The dtype the weights are trained in: the recipe's, else float32 for a random init and the checkpoint's
    own for pretrained weights."""
    if config.dtype != "auto":
        return config.dtype
    if config.init == "random":
        return "float32"
    dtype = getattr(model_config, "dtype", None)
    return str(dtype).removeprefix("torch.") if dtype else "float32"


def load_tokenizer(config: ModelConfig, dataset: Any) -> Any:
    """The tokenizer named by the recipe, or (`build`) a byte-level BPE trained on the training texts."""
    if config.tokenizer == "build":
        from kit.train.tinymodel import train_tokenizer

        return train_tokenizer(_texts(dataset), config.vocab_size)
    from transformers import AutoTokenizer

    source = config.tokenizer or config.name_or_path
    revision = config.revision if source == config.name_or_path else None
    key = "tokenizer" if config.tokenizer else "name_or_path"
    if (error := unloadable_model(source, revision, "tokenizer_config.json")) is not None:  # said before loading
        raise RecipeError(f"model.{key}: {not_found(source, 'model', error)}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision,
                                                  trust_remote_code=config.trust_remote_code)
    except OSError as exc:  # no such folder (a stage not run yet), and the Hub has none or cannot be reached
        if Path(source).expanduser().exists():
            raise
        raise RecipeError(f"model.{key}: {not_found(source, 'model', exc)}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _texts(dataset: Any):
    """What a built tokenizer learns from: each row's chat turns (`messages` for SFT, `prompt` for GRPO) or its
    `text` (a prompt given as a string, or mid-training text)."""
    for row in dataset:
        turns = row.get("messages", row.get("prompt", row.get("text")))
        if isinstance(turns, str):
            yield turns
        else:
            yield from (text for turn in turns or () if (text := content_text(turn.get("content"))))


def load_model(config: ModelConfig, tokenizer: Any, added: list[str], *, seed: int,
               attn_implementation: str | None = None) -> Any:
    """The model: its weights (`pretrained`) or a random init of its config (`random`, any size), with the
    attention implementation `choose_attention` resolved (default: transformers' own choice)."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = "auto" if config.dtype == "auto" else getattr(torch, config.dtype)
    common = {"trust_remote_code": config.trust_remote_code}
    if attn_implementation:
        common["attn_implementation"] = attn_implementation
    if config.init == "random":
        model_config = build_config(config, tokenizer)
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(model_config, dtype=torch.float32 if dtype == "auto" else dtype,
                                                 **common)
    else:
        model = AutoModelForCausalLM.from_pretrained(config.name_or_path, revision=config.revision, dtype=dtype,
                                                     **common)
    if added or len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def build_config(config: ModelConfig, tokenizer: Any) -> Any:
    """The model config: the base model's (or the architecture's default) with the recipe's overrides and the
    tokenizer's vocabulary and special tokens."""
    from transformers import AutoConfig

    if config.name_or_path:
        start = AutoConfig.from_pretrained(config.name_or_path, revision=config.revision,
                                           trust_remote_code=config.trust_remote_code)
    else:
        start = AutoConfig.for_model(config.architecture)
    overrides = dict(config.config)
    base = start.to_dict()
    rope = {key: overrides.pop(key) for key in ("rope_theta", "rope_scaling") if key in overrides}
    if rope and isinstance(base.get("rope_parameters"), dict):
        # transformers 5 keeps RoPE settings in rope_parameters, which would win over the top-level keys
        scaling = dict(rope.get("rope_scaling") or {})
        if "type" in scaling:
            scaling["rope_type"] = scaling.pop("type")
        theta = {"rope_theta": rope["rope_theta"]} if "rope_theta" in rope else {}
        overrides["rope_parameters"] = {**base["rope_parameters"], **scaling, **overrides.get("rope_parameters", {}),
                                        **theta}
    else:
        overrides.update(rope)
    values = {**base, **overrides, "vocab_size": max(len(tokenizer), start.vocab_size),
              "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id,
              "bos_token_id": tokenizer.bos_token_id}
    if config.tokenizer == "build":
        values["vocab_size"] = len(tokenizer)
    if "num_hidden_layers" in overrides and "layer_types" not in overrides:
        values.pop("layer_types", None)  # derived from the layer count: rebuilt for the new one
    built = type(start).from_dict(values)
    kept = built.to_dict()
    for key, value in overrides.items():  # a key the config class drops or overrules is refused by name
        now = kept.get(key, getattr(built, key, None))
        if not _same(now, value):
            raise RecipeError(f"model.config.{key}: {type(start).__name__} does not keep it (it reads {now!r}); "
                              "see the config class's documentation for the key that holds this setting")
    return built


def _same(kept: Any, value: Any) -> bool:
    """Whether a config kept `value`: every key of a mapping, dtypes by name."""
    if isinstance(value, dict):
        return isinstance(kept, dict) and all(_same(kept.get(k), v) for k, v in value.items())
    return kept == value or str(kept).removeprefix("torch.") == str(value)


def initial_policy(model: Any, checkpoints: Path) -> str:
    """The folder of the policy as training starts, for GRPO's reference model (beta > 0): TRL loads the reference
    from `model.config._name_or_path`, which does not hold this model when it is a random init or its embeddings
    grew for the chat template's tokens. Saved once beside the checkpoints (a resumed run keeps the first one),
    by the main process while the others wait."""
    from accelerate import PartialState

    folder = checkpoints / "initial-policy"
    with PartialState().main_process_first():
        if _is_main() and not (folder / "config.json").exists():
            partial = folder.with_name(folder.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            model.save_pretrained(str(partial))
            shutil.rmtree(folder, ignore_errors=True)
            partial.rename(folder)  # whole or absent: a crash mid-save leaves only the .partial folder
    return str(folder)


def make_trainer(recipe: TrainRecipe, model: Any, args: Any, dataset: Any, tokenizer: Any) -> Any:
    """The recipe method's TRL trainer: SFT, or GRPO with the recipe's rewards (kit.train.rewards)."""
    if recipe.method == "grpo":
        from trl import GRPOTrainer

        from kit.train.chat import generation_opener
        from kit.train.rewards import make_rewards

        # their weights are in args.reward_weights; they read a completion as the generation prompt left it to write
        rewards, _ = make_rewards(recipe.rewards, recipe.verify, opened=generation_opener(tokenizer),
                                  max_completion_length=args.max_completion_length)
        return GRPOTrainer(model=model, reward_funcs=rewards, args=args, train_dataset=dataset,
                           processing_class=tokenizer)
    from trl import SFTTrainer

    class KitSFTTrainer(SFTTrainer):
        """SFTTrainer whose warmup_stable_decay schedule also takes `decay_ratio` (of the run's steps)."""

        def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
            kwargs = dict(self.args.lr_scheduler_kwargs or {})
            if "decay_ratio" in kwargs:
                kwargs["num_decay_steps"] = round(kwargs.pop("decay_ratio") * num_training_steps)
                self.args.lr_scheduler_kwargs = kwargs
            return super().create_scheduler(num_training_steps, optimizer)

    return KitSFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)


def _is_main() -> bool:
    return os.environ.get("RANK", "0") == "0"


def _quiet(_: str) -> None:
    pass


def last_checkpoint(folder: Path) -> str | None:
    """The newest complete checkpoint: one whose save finished (a kill can leave a half-written newer one)."""
    done = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()
            and ((p / ELAPSED).exists() or (p / "trainer_state.json").exists())]
    return str(max(done, key=lambda p: int(p.name.split("-")[-1]))) if done else None


def _elapsed(checkpoint: str | None) -> float:
    if not checkpoint:
        return 0.0
    try:
        return float(json.loads((Path(checkpoint) / ELAPSED).read_text())["seconds"])
    except (OSError, ValueError, KeyError):
        return 0.0


class _ElapsedCallback(TrainerCallback):
    """Writes the training seconds so far into each checkpoint."""

    def __init__(self, before: float) -> None:
        self.before, self.started = before, time.monotonic()

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            seconds = self.before + time.monotonic() - self.started
            (folder / ELAPSED).write_text(json.dumps({"seconds": seconds}))


def _results(recipe: TrainRecipe, trainer: Any, model: Any, records: list[dict[str, Any]],
             metrics: dict[str, Any], seconds: float, torch: Any) -> dict[str, Any]:
    """train_results.json: what the card and the Hub need to say what was trained on what, how and at what cost."""
    args = trainer.args
    name = recipe.model.name_or_path
    base = recipe.model.base_model or (name if name and is_repo_id(name) else None)
    hyper = {k: getattr(args, k) for k in HYPERPARAMETERS if hasattr(args, k)}
    hyper["lr_scheduler_kwargs"] = dict(args.lr_scheduler_kwargs or {})
    hyper["global_batch_size"] = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
    hyper["deepspeed_zero_stage"] = _zero_stage(trainer)
    gpus = args.world_size
    hours = seconds / 3600
    price = recipe.compute.price_per_gpu_hour
    on_cpu = not torch.cuda.is_available()
    return {
        "base_model": base,
        "init": recipe.model.init,
        "architecture": model.config.model_type,
        "vocab_size": model.config.vocab_size,
        "tokenizer_built": recipe.model.tokenizer == "build",
        "parameters": sum(getattr(p, "ds_numel", p.numel()) for p in model.parameters()),  # ZeRO-3 partitions
        "datasets": records,
        "hyperparameters": {k: _plain(v) for k, v in sorted(hyper.items())},
        "compute": {"gpu": "cpu" if on_cpu else recipe.compute.gpu, "gpus_per_node": args.world_size // max(
            1, recipe.compute.nodes), "nodes": recipe.compute.nodes, "gpus": gpus, "hours": round(hours, 4),
            "gpu_hours": round(hours * gpus, 4), "price_per_gpu_hour": None if on_cpu else price,
            "cost_usd": None if on_cpu or price is None else round(hours * gpus * price, 2)},
        "frameworks": {name.replace("reasoning-hub-kit", "kit"): package_version(name) for name in FRAMEWORKS},
        "metrics": {**{k: _plain(v) for k, v in metrics.items()}, "global_step": trainer.state.global_step,
                    "epoch": trainer.state.epoch, "train_tokens": int(trainer.state.num_input_tokens_seen or 0),
                    "train_samples": len(trainer.train_dataset)},
        "chat_template": recipe.chat_template,
        "eval_results": [],
        "method": recipe.method,
        **({"grpo": _grpo_results(recipe, trainer)} if recipe.method == "grpo" else {}),
    }


def _grpo_results(recipe: TrainRecipe, trainer: Any) -> dict[str, Any]:
    """What a GRPO run rewarded and how its rewards moved (kit.train.curve)."""
    from kit.train.curve import first_and_last, reward_curve

    args = trainer.args
    curve = reward_curve(trainer.state.log_history, [reward.name for reward in recipe.rewards])
    vllm = args.vllm_mode if args.use_vllm else None
    return {
        "rewards": [reward.model_dump() for reward in recipe.rewards],
        "group_size": args.num_generations,
        "generation": f"vLLM ({vllm})" if vllm else "transformers",
        "curve": curve,
        "first_and_last": first_and_last(curve),
    }


def _zero_stage(trainer: Any) -> int | None:
    plugin = getattr(trainer.accelerator.state, "deepspeed_plugin", None)
    return int(plugin.zero_stage) if plugin is not None else None


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return getattr(value, "value", None) or str(value)


def write_folder(recipe: TrainRecipe, out: Path, results: dict[str, Any]) -> None:
    """recipe.yaml, train_results.json and the model card next to the weights."""
    from kit.train.card import render_model_card

    (out / "recipe.yaml").write_text(dump_recipe(recipe), encoding="utf-8")
    (out / "train_results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if "grpo" in results:
        from kit.train.curve import CURVE_FILE, draw_curve

        draw_curve(results["grpo"]["curve"], out / CURVE_FILE)
    (out / "README.md").write_text(render_model_card(recipe, results, repo_id=recipe.hub.repo), encoding="utf-8")


def publish_model(recipe: TrainRecipe, out: Path, log: Log) -> str:
    from kit.hub.publish import publish

    result = publish(out, recipe.hub.repo, repo_type="model", revision=recipe.hub.revision, tag=recipe.hub.tag,
                     private=recipe.hub.private, message=f"kit train {recipe.name}", log=log)
    return result.url
