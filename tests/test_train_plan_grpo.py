"""`kit train --dry-run` of a GRPO recipe (recipes/rl/tiny-cpu.yaml): the generations, completions and token
budget per step follow from the recipe's batch settings as TRL's GRPOTrainer counts them, the steps per epoch
match the trainer's own dataloader, and the memory per GPU shows the vLLM share and the reference model.

The recipe's two stages before GRPO are made small: the curated sums, and the format-teaching SFT run for one
step (the plan reads only the model's tokenizer and config).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kit.recipes.train import load_train_recipe
from kit.train.plan import GIB, grpo_memory_per_gpu, make_plan, sharding_setup
from tests.test_train_plan import SHAPE_32B

ROOT = Path(__file__).resolve().parent.parent
GRPO = ROOT / "recipes/rl/tiny-cpu.yaml"
ENV = {**os.environ, "COLUMNS": "400", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
GPU = ["compute.gpu=H100-80GB", "grpo.use_vllm=true", "grpo.vllm_mode=colocate",
       "grpo.vllm_gpu_memory_utilization=0.3", "grpo.beta=0.04"]


def kit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kit.cli", *args], cwd=ROOT, env=env or ENV, text=True,
                          capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """--set assignments pointing the tiny GRPO recipe at freshly made stages."""
    root = tmp_path_factory.mktemp("rl-plan")
    data, model = root / "arithmetic", root / "tiny-arithmetic"
    for args in (["curate", "recipes/data/arithmetic.yaml", "--out", str(data)],
                 ["train", "recipes/sft/tiny-arithmetic.yaml", "--out", str(model), "--no-push",
                  "--set", f"data.mixture.0.path={data}", "--set", "sft.max_steps=1"]):
        proc = kit(*args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return [f"model.name_or_path={model}", f"data.mixture.0.path={data}"]


def dry_run(stages: list[str], *sets: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """Exit code, the plan's rows by name, and the whole output."""
    proc = kit("train", str(GRPO), "--dry-run", *(a for s in [*stages, *sets] for a in ("--set", s)), env=env)
    out = proc.stdout + proc.stderr
    rows = {}
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return proc.returncode, rows, out


def prompt_tokens(stages: list[str]) -> list[int]:
    """Each problem's prompt as GRPOTrainer tokenizes it (the chat template with the generation prompt)."""
    from transformers import AutoTokenizer

    from kit.train.data import load_mixture

    recipe = load_train_recipe(GRPO, stages)
    dataset, _ = load_mixture(recipe.data, log=lambda _: None, prompt=recipe.prompt)
    tokenizer = AutoTokenizer.from_pretrained(recipe.model.name_or_path)
    return [len(tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=True, return_dict=True)
                ["input_ids"]) for p in dataset["prompt"]]


@pytest.mark.parametrize("sets, completions, generations", [
    ((), 64, 8),  # the recipe as it is: 64 completions per GPU, 8 per prompt
    (("grpo.num_generations=4",), 64, 4),
    (("grpo.per_device_train_batch_size=32",), 32, 8),
    (("grpo.gradient_accumulation_steps=2",), 128, 8),
])
def test_the_dry_run_plans_the_generations_and_token_budget_from_the_recipe(stages, sets, completions, generations):
    recipe = load_train_recipe(GRPO, [*stages, *sets])
    assert recipe.method == "grpo" and recipe.compute.world_size == 1
    micro = recipe.grpo["per_device_train_batch_size"]
    accum = recipe.grpo.get("gradient_accumulation_steps", 1)
    assert micro * accum == completions and recipe.grpo.get("num_generations", 8) == generations
    length = recipe.grpo["max_completion_length"]
    code, rows, out = dry_run(stages, *sets)
    assert code == 0, out
    prompts = prompt_tokens(stages)
    mean = sum(prompts) / len(prompts)
    assert rows["problems"] == f"{len(prompts)} (prompt tokens: mean {mean:.0f}, longest {max(prompts)})"
    assert rows["generations per step"] == (f"{completions // generations} prompts x {generations} generations = "
                                            f"{completions} completions ({micro} per GPU x 1 GPUs x {accum} "
                                            "accumulation)")
    assert rows["token budget per step"].startswith(f"{round(completions * (mean + length)):,} ({completions} "
                                                    f"completions x ({mean:.0f} prompt + {length} completion")
    steps = recipe.grpo["max_steps"]
    per_epoch = len(prompts) // (completions // generations)  # whole generation batches of prompts
    assert rows["steps"] == f"{steps} (max_steps; {per_epoch} per epoch over the problems)"
    assert rows["completions"] == (f"at most {length} tokens each; {steps * completions:,} generated in the run, "
                                   f"at most {steps * completions * length:,} tokens")
    assert rows["tokens trained"] == f"at most {steps * round(completions * (mean + length)):,}"
    assert "transformers generate" in rows["generation"] and "generation KV cache" in rows["memory per GPU"]
    assert rows["GPU-hours"].startswith("unknown (not modelled for GRPO")  # no measured rate in the recipe


@pytest.mark.parametrize("sets", [
    ("grpo.max_steps=-1", "grpo.num_train_epochs=2"),
    ("grpo.max_steps=-1", "grpo.num_iterations=2", "grpo.gradient_accumulation_steps=2"),
    ("grpo.max_steps=-1", "grpo.steps_per_generation=3", "grpo.per_device_train_batch_size=16"),
    ("grpo.max_steps=-1", "grpo.generation_batch_size=128", "grpo.per_device_train_batch_size=32",
     "grpo.num_iterations=3"),
])
def test_steps_and_generation_batches_are_what_the_grpo_trainer_counts(stages, sets):
    from kit.train.chat import apply_template
    from kit.train.data import load_mixture
    from kit.train.rewards import close_rewards
    from kit.train.run import load_model, load_tokenizer, make_trainer, trl_config

    recipe = load_train_recipe(GRPO, [*stages, *sets])
    plan = make_plan(recipe, log=lambda _: None)
    dataset, _ = load_mixture(recipe.data, log=lambda _: None, prompt=recipe.prompt)
    args = trl_config(recipe, log=lambda _: None)
    tokenizer = load_tokenizer(recipe.model, dataset)
    apply_template(recipe.chat_template, tokenizer, False)
    trainer = make_trainer(recipe, load_model(recipe.model, tokenizer, [], seed=0), args, dataset, tokenizer)
    try:
        batches = len(trainer.get_train_dataloader())
    finally:
        close_rewards(trainer.reward_funcs)
    assert plan["generation_batch_size"] == args.generation_batch_size
    assert plan["steps_per_generation"] == args.steps_per_generation
    assert plan["steps_per_epoch"] == math.ceil(batches / args.gradient_accumulation_steps)
    assert plan["steps"] == math.ceil(plan["steps_per_epoch"] * args.num_train_epochs)
    assert plan["completions_per_step"] == args.per_device_train_batch_size * args.gradient_accumulation_steps


def test_a_gpu_shaped_plan_shows_the_colocated_vllm_share_and_the_reference_model(stages, tmp_path):
    blocked = tmp_path / "blocked" / "vllm"  # planning starts nothing: a vLLM that cannot be imported is fine
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('kit train --dry-run imported vllm')\n")
    path = os.pathsep.join(filter(None, [str(blocked.parent), ENV.get("PYTHONPATH")]))
    code, rows, out = dry_run(stages, *GPU, env={**ENV, "PYTHONPATH": path})
    assert code == 0, out
    memory = rows["memory per GPU"]
    assert "vLLM colocated 0.3 x 79.6 GiB = 23.9" in memory, memory
    assert "reference model 0.0 (beta 0.04)" in memory and "generation KV cache" not in memory
    assert "by vLLM colocated" in rows["generation"]
    plan = make_plan(load_train_recipe(GRPO, [*stages, *GPU]), log=lambda _: None)
    m = plan["memory_gib_per_gpu"]
    assert m["vllm"] == pytest.approx(0.3 * 79.6)
    assert m["reference"] == pytest.approx(4 * plan["parameters"] / GIB)  # float32 weights, one process
    assert m["total"] == pytest.approx(m["model_states"] + m["activations"] + m["mask"] + m["reference"] + m["vllm"])
    assert memory.startswith(f"~{m['total']:.1f} GiB at the training peak")

    code, rows, out = dry_run(stages, *GPU, "grpo.vllm_mode=server")
    assert code == 0, out
    assert "vLLM server: none here (it needs GPUs of its own" in rows["memory per GPU"]
    assert "vLLM colocated" not in rows["memory per GPU"]
    code, rows, out = dry_run(stages, *GPU, "grpo.vllm_enable_sleep_mode=true")
    assert "offloaded while training (sleep mode)" in rows["memory per GPU"]

    code, rows, out = dry_run(stages, *GPU, "compute.tokens_per_gpu_second=1000", "compute.price_per_gpu_hour=2")
    assert code == 0, out
    hours = 120 * plan["tokens_per_step"] / 1000 / 3600
    assert rows["GPU-hours"] == f"at least {hours:,.1f} on H100-80GB (training only; generation not estimated)"
    assert "generation not estimated (a lower bound)" in rows["throughput"]

    code, _, out = dry_run(stages, "grpo.num_generations=3")  # 64 completions are no whole groups of 3
    assert code == 2 and "must be divisible by num_generations (3)" in out


def test_grpo_memory_adds_the_reference_the_vllm_share_or_the_generation_cache():
    shape = {"micro_batch": 8, "seq": 4096, "generation_rows": 32, "checkpointing": True,
             "attention": "flash_attention_2"}
    zero3, world = sharding_setup("zero3"), 8
    plain = grpo_memory_per_gpu(SHAPE_32B, world, zero3, **shape)
    gib = SHAPE_32B.parameters / GIB
    assert plain["reference"] == 0 and plain["vllm"] == 0
    kv = 32 * 4096 * 64 * 2 * 8 * 128 * 2 / GIB  # rows x tokens x layers x (k, v) x kv width x bf16
    assert plain["generation"] == pytest.approx(kv + 2 * gib)  # + the weights ZeRO-3 gathers for generate
    assert plain["phase"] == "generation" and plain["total"] == pytest.approx(
        plain["model_states"] + plain["generation"])
    ref = grpo_memory_per_gpu(SHAPE_32B, world, zero3, **shape, beta=0.04, vllm="colocate", vllm_gib=42.0)
    assert ref["reference"] == pytest.approx(2 * gib / world)  # bf16, sharded by ZeRO-3 like the policy
    assert ref["generation"] == 0 and ref["vllm"] == 42.0 and ref["phase"] == "training"
    assert ref["total"] == pytest.approx(ref["model_states"] + ref["activations"] + ref["mask"] + ref["reference"]
                                         + 42.0)
    asleep = grpo_memory_per_gpu(SHAPE_32B, world, zero3, **shape, vllm="colocate", vllm_gib=42.0, sleep=True)
    assert asleep["total"] == pytest.approx(max(asleep["model_states"] + asleep["activations"] + asleep["mask"],
                                                asleep["model_states"] + 42.0))
    server = grpo_memory_per_gpu(SHAPE_32B, world, zero3, **shape, vllm="server")
    assert server["total"] == pytest.approx(server["model_states"] + server["activations"] + server["mask"])
    unknown = grpo_memory_per_gpu(SHAPE_32B, world, zero3, **shape, vllm="colocate", vllm_gib=None)
    assert unknown["vllm"] is None and unknown["total"] is None
