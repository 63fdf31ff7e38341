"""Training throughput of `kit train` against a plain TRL script, and the padding that packing removes.

(a) tokens/s. The kit side is `kit.train.run.train(recipe, push=False)` in this process: the whole kit path
    (mixture loading, built tokenizer, chat template check, random init, its SFTTrainer subclass, callbacks,
    the final folder). The plain side is what a user would write with TRL alone: `load_dataset` on the same
    curated folder (shuffled with the same seed), the tokenizer the kit saved (as one would load a Hub
    tokenizer), a `Qwen2Config` written out with the recipe's values and the same seeded random init in the
    recipe's `model.dtype` (auto: float32, the kit's rule for a random init) with the attention implementation
    the kit side's model actually trained with (the kit may resolve `attn_implementation` itself), and
    `SFTConfig(**the recipe's sft block)` read from the YAML file (not through the kit's code) and
    `SFTTrainer`. The dtype and attention of both sides' models are printed with the loss comparison. Both
    run the same steps on the same rows; `save_strategy` is "no" on both so no checkpoint write falls inside
    the timing. Measured the same way on both: a callback notes the time and
    `state.num_input_tokens_seen` (non-padding tokens, counted by the Trainer on both sides) at the end of
    every step; tokens/s is taken over the steps after `--warmup`. One short warm-up run of each side first,
    then `--rounds` rounds alternating which side goes first. Two figures per side: the median over the runs,
    and the tokens over the sum of each step's best time across the runs (every run trains the same batches,
    and interference from elsewhere on the machine only ever slows a step down). The loss curves of the two
    sides are compared too: equal curves show both really trained the same thing.
(b) padding share on the curated data: the kit's trainer (its pieces, as `kit train` builds it) with the
    recipe's max_length and batch size, packing false and packing true (bfd, which TRL makes padding-free);
    every training batch of one epoch is collated by the trainer's own dataloader and collator, and the pad
    tokens (attention_mask 0) are counted against all the tokens in the batch tensors.

    PYTHONPATH=. python bench/train_throughput.py [--steps 50] [--warmup 2] [--rounds 6] [--hidden-size 64]

(from the repository root, after `kit curate recipes/data/quickstart.yaml`). CPU is fine: about 2 minutes on
2 cores with the defaults. Goal: kit/plain >= 0.95.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from transformers import TrainerCallback

from kit.recipes.train import TrainRecipe, load_train_recipe
from kit.train import run
from kit.train.chat import apply_template
from kit.train.data import load_mixture

ROOT = Path(__file__).resolve().parent.parent
# TrainingArguments fields that differ between two runs by nature (folders, run names, the device objects).
RUN_FIELDS = {"output_dir", "logging_dir", "run_name", "hub_model_id", "deepspeed_plugin", "distributed_state",
              "hf_deepspeed_config", "fsdp_plugin_args"}


class Meter(TrainerCallback):
    """The time and the non-padding tokens seen at the end of every step; the logged losses; the dtype and
    attention implementation of the model the Trainer trains."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.marks, self.losses = warmup, [], []
        self.model_setup: tuple[str, str] | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if model is not None:
            self.model_setup = model_setup(model)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.marks.append((time.perf_counter(), int(state.num_input_tokens_seen or 0)))

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if logs and "loss" in logs:
            self.losses.append(float(logs["loss"]))

    @property
    def tokens_per_second(self) -> float:
        """Over the steps after the warm-up ones."""
        (t0, n0), (t1, n1) = self.marks[self.warmup - 1], self.marks[-1]
        return (n1 - n0) / (t1 - t0)

    def steps(self) -> list[tuple[float, int]]:
        """(seconds, tokens) of each step after the warm-up ones."""
        timed = self.marks[self.warmup - 1:]
        return [(t - tp, n - n_prev) for (tp, n_prev), (t, n) in zip(timed, timed[1:], strict=False)]


def model_setup(model: Any) -> tuple[str, str]:
    """(dtype, attention implementation) of a model, e.g. ("float32", "sdpa"). The attention is read from the
    live model: transformers does not write `_attn_implementation` into a saved config.json."""
    return str(model.dtype).removeprefix("torch."), str(model.config._attn_implementation)


def best_of(meters: list[Meter]) -> float:
    """tokens/s with each step's fastest time over the runs: the same batches on every run, so interference from
    elsewhere on the machine (which only ever slows a step down) is filtered step by step."""
    steps = [m.steps() for m in meters]
    seconds = sum(min(run[i][0] for run in steps) for i in range(len(steps[0])))
    return sum(n for _, n in steps[0]) / seconds


@contextlib.contextmanager
def quiet():
    """Progress bars and the Trainer's log lines, away from the bench's output."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def recipe_overrides(args: argparse.Namespace, out: Path) -> list[str]:
    sets = [f"data.mixture.0.path={args.data}", f"output.dir={out}", f"sft.max_steps={args.steps}",
            "sft.save_strategy='no'"]
    if args.hidden_size:
        sets += [f"model.config.hidden_size={args.hidden_size}", f"model.config.intermediate_size={2 * args.hidden_size}"]
    if args.layers:
        sets.append(f"model.config.num_hidden_layers={args.layers}")
    return sets


# -- kit side: the kit's own training entry point, with a measuring callback added to its trainer --------------

def kit_side(args: argparse.Namespace, out: Path) -> tuple[Meter, Path]:
    recipe = load_train_recipe(args.recipe, recipe_overrides(args, out))
    meter, make_trainer = Meter(args.warmup), run.make_trainer

    def measured(*a: Any, **kw: Any) -> Any:
        trainer = make_trainer(*a, **kw)
        trainer.add_callback(meter)
        return trainer

    run.make_trainer = measured
    try:
        with quiet():
            run.train(recipe, log=lambda _: None, push=False)
    finally:
        run.make_trainer = make_trainer
    return meter, out


# -- plain side: TRL alone, the way a user writes it -----------------------------------------------------------

def plain_model(raw: dict[str, Any], args: argparse.Namespace, tokenizer: Any,
                attn_implementation: str | None) -> Any:
    """The model as a user builds it with transformers alone, from the recipe's YAML (`raw`): a `Qwen2Config`
    with the recipe's values, the same seeded random init, in the recipe's `model.dtype` (auto: float32, what
    the kit uses for a random init) and with `attn_implementation` (the one the kit side trained with)."""
    from transformers import AutoModelForCausalLM, Qwen2Config

    model_values = dict(raw["model"]["config"])
    if args.hidden_size:
        model_values.update(hidden_size=args.hidden_size, intermediate_size=2 * args.hidden_size)
    if args.layers:
        model_values["num_hidden_layers"] = args.layers
    dtype_name = raw["model"].get("dtype", "auto")
    dtype = torch.float32 if dtype_name == "auto" else getattr(torch, dtype_name)
    config = Qwen2Config(**model_values, vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    attention = {"attn_implementation": attn_implementation} if attn_implementation else {}
    torch.manual_seed(raw["sft"]["seed"])
    return AutoModelForCausalLM.from_config(config, dtype=dtype, **attention)


def plain_side(args: argparse.Namespace, tokenizer_dir: Path, out: Path,
               attn_implementation: str | None) -> tuple[Meter, Any]:
    from datasets import load_dataset
    from transformers import PreTrainedTokenizerFast
    from trl import SFTConfig, SFTTrainer

    raw = yaml.safe_load(Path(args.recipe).read_text(encoding="utf-8"))
    sft, seed = dict(raw["sft"]), raw["data"]["seed"]

    dataset = load_dataset(str(args.data), "default", split="train").select_columns(["messages"]).shuffle(seed=seed)
    # Not AutoTokenizer: next to a qwen2 config.json it returns transformers' Qwen2Tokenizer, which keeps the vocab
    # and merges but swaps in Qwen2's own normalizer and pre-tokenizer, so it would not be the same tokenizer.
    tokenizer = PreTrainedTokenizerFast.from_pretrained(tokenizer_dir)
    model = plain_model(raw, args, tokenizer, attn_implementation)
    sft.update(max_steps=args.steps, save_strategy="no")
    training_args = SFTConfig(output_dir=str(out), include_num_input_tokens_seen="non_padding", **sft)
    meter = Meter(args.warmup)
    with quiet():
        trainer = SFTTrainer(model=model, args=training_args, train_dataset=dataset, processing_class=tokenizer,
                             callbacks=[meter])
        trainer.train()
    return meter, training_args


def config_differences(kit_out: Path, plain_args: Any) -> list[str]:
    kit_args = torch.load(kit_out / "training_args.bin", weights_only=False)
    return [f.name for f in dataclasses.fields(plain_args) if f.name not in RUN_FIELDS
            and getattr(kit_args, f.name, None) != getattr(plain_args, f.name, None)]


def bench_throughput(args: argparse.Namespace, work: Path) -> None:
    print(f"(a) training throughput: {args.steps} steps, timed over steps {args.warmup + 1}-{args.steps} "
          f"(non-padding tokens / s)")
    kit_warmup, tokenizer_dir = kit_side(argparse.Namespace(**{**vars(args), "steps": args.warmup + 2}),
                                         work / "kit-warmup")
    # The attention implementation the kit's model trained with (the recipe's, or what the kit resolved it to).
    attention = kit_warmup.model_setup[1] if kit_warmup.model_setup else None
    plain_side(argparse.Namespace(**{**vars(args), "steps": args.warmup + 2}), tokenizer_dir, work / "plain-warmup",
               attention)
    meters: dict[str, list[Meter]] = {"kit": [], "plain": []}
    for r in range(args.rounds):
        order = ("kit", "plain") if r % 2 == 0 else ("plain", "kit")
        for side in order:
            if side == "kit":
                meter, kit_out = kit_side(args, work / f"kit-{r}")
            else:
                meter, plain_args = plain_side(args, tokenizer_dir, work / f"plain-{r}", attention)
            meters[side].append(meter)
        print(f"  round {r + 1} ({' then '.join(order)}): kit {meters['kit'][-1].tokens_per_second:8.0f}   "
              f"plain {meters['plain'][-1].tokens_per_second:8.0f}")
    kit, plain = (statistics.median(m.tokens_per_second for m in meters[side]) for side in ("kit", "plain"))
    kit_best, plain_best = best_of(meters["kit"]), best_of(meters["plain"])
    print(f"  kit train  (kit.train.run.train):  {kit:8.0f} tokens/s median of {args.rounds} runs, "
          f"{kit_best:8.0f} with each step's best time")
    print(f"  plain TRL  (SFTTrainer script):    {plain:8.0f} tokens/s median of {args.rounds} runs, "
          f"{plain_best:8.0f} with each step's best time")
    kit_losses, plain_losses = meters["kit"][-1].losses, meters["plain"][-1].losses
    gap = max(abs(a - b) for a, b in zip(kit_losses, plain_losses, strict=True))
    differences = config_differences(kit_out, plain_args)
    kit_setup, plain_setup = ("/".join(meters[side][-1].model_setup or ("?", "?")) for side in ("kit", "plain"))
    mismatch = "" if kit_setup == plain_setup else "  <-- MISMATCH: the two sides train different models"
    print(f"  same training on both sides: {len(kit_losses)} losses, largest difference {gap:.2e} "
          f"(first {kit_losses[0]:.4f} / {plain_losses[0]:.4f}, last {kit_losses[-1]:.4f} / "
          f"{plain_losses[-1]:.4f}); SFTConfig fields that differ: {', '.join(differences) or 'none'}; "
          f"model dtype/attention: kit {kit_setup}, plain {plain_setup}{mismatch}")
    print(f"  ratio kit/plain {kit / plain:.3f} (medians), {kit_best / plain_best:.3f} (best step times); "
          "goal >= 0.95")


# -- (b) padding share ----------------------------------------------------------------------------------------

def kit_trainer(recipe: TrainRecipe) -> Any:
    """The trainer `kit train` builds for `recipe` (its pieces, without training)."""
    dataset, _ = load_mixture(recipe.data, log=lambda _: None)
    training_args = run.trl_config(recipe, log=lambda _: None)
    tokenizer = run.load_tokenizer(recipe.model, dataset)
    added = apply_template(recipe.chat_template, tokenizer, training_args.assistant_only_loss)
    model = run.load_model(recipe.model, tokenizer, added, seed=training_args.seed)
    return run.make_trainer(recipe, model, training_args, dataset, tokenizer)


def bench_padding(args: argparse.Namespace, work: Path) -> None:
    base = load_train_recipe(args.recipe, recipe_overrides(args, work / "padding"))
    batch, max_length = base.sft.get("per_device_train_batch_size", 8), base.sft.get("max_length", 1024)
    print(f"(b) padding share of one epoch of training batches on {args.data} (max_length {max_length}, "
          f"batch {batch})")
    shares = {}
    for packing in (False, True):
        recipe = base.model_copy(deep=True)
        recipe.sft.update(packing=packing, packing_strategy="bfd")
        with quiet():
            trainer = kit_trainer(recipe)
            batches = list(trainer.get_train_dataloader())
        total = sum(b["input_ids"].numel() for b in batches)
        real = sum(int(b["attention_mask"].sum()) if "attention_mask" in b else b["input_ids"].numel()
                   for b in batches)
        shares[packing] = (total - real) / total
        rows = len(trainer.train_dataset)
        label = "packing true (bfd, padding-free)" if packing else "packing false"
        extra = f"; {rows} packed rows, filled to {real / (rows * max_length):.0%} of max_length" if packing else ""
        print(f"  {label:<33} {len(batches):3d} batches, {total:7,} tokens in the batches, {total - real:7,} pad "
              f"-> {shares[packing]:6.1%} padding{extra}")
    print(f"  padding removed by packing: {shares[False]:.1%} -> {shares[True]:.1%} of the tokens the model sees")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=str(ROOT / "recipes/sft/tiny-cpu.yaml"))
    parser.add_argument("--data", default=str(ROOT / "out/quickstart"), help="a `kit curate` folder")
    parser.add_argument("--steps", type=int, default=50, help="training steps per run")
    parser.add_argument("--warmup", type=int, default=2, help="steps of each run left out of the timing")
    parser.add_argument("--rounds", type=int, default=6, help="timed runs of each side")
    parser.add_argument("--hidden-size", type=int, default=None, help="model width (default: the recipe's)")
    parser.add_argument("--layers", type=int, default=None, help="model depth (default: the recipe's)")
    args = parser.parse_args()
    if not (Path(args.data) / "README.md").is_file():
        sys.exit(f"{args.data}: no curated dataset; run `kit curate recipes/data/quickstart.yaml` first")
    if not 1 <= args.warmup < args.steps:
        sys.exit("--warmup must be at least 1 and less than --steps")
    from datasets import disable_progress_bars

    disable_progress_bars()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{'CUDA' if torch.cuda.is_available() else 'CPU'}; recipe {args.recipe}")
    with tempfile.TemporaryDirectory() as tmp:
        bench_throughput(args, Path(tmp))
        bench_padding(args, Path(tmp))


if __name__ == "__main__":
    main()
