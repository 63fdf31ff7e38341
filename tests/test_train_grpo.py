"""`kit train` with `method: grpo` on the CPU: the tiny RL path of recipes/rl/tiny-cpu.yaml, end to end.

The test curates the one-digit sums (recipes/data/arithmetic.yaml), teaches a tiny random model their answer
format with a short SFT (recipes/sft/tiny-arithmetic.yaml), then runs GRPO rewarded by the kit's verifiers
through the CLI in a child process: the accuracy reward (Math-Verify on the boxed answer) must rise clearly
over the run, the folder must load and its card round-trip, and a run killed mid-way must resume.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from PIL import Image

from kit.hub.cards import check_card
from kit.recipes.train import load_train_recipe
from tests.test_train_local import kill_after_checkpoint

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "recipes/data/arithmetic.yaml"
SFT = ROOT / "recipes/sft/tiny-arithmetic.yaml"
GRPO = ROOT / "recipes/rl/tiny-cpu.yaml"


def kit(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen([sys.executable, "-m", "kit.cli", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def finished(*args: str, timeout: float = 900) -> str:
    proc = kit(*args)
    log, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, log
    return log


@pytest.fixture(scope="module")
def stages(tmp_path_factory) -> dict[str, Path]:
    """The curated sums and the format-taught tiny model (the two stages before GRPO)."""
    root = tmp_path_factory.mktemp("rl")
    data, model = root / "arithmetic", root / "tiny-arithmetic"
    finished("curate", str(DATA), "--out", str(data))
    finished("train", str(SFT), "--out", str(model), "--set", f"data.mixture.0.path={data}")
    return {"data": data, "model": model}


def grpo_args(stages: dict[str, Path], out: Path, *sets: str) -> list[str]:
    args = ["train", str(GRPO), "--out", str(out), "--set", f"model.name_or_path={stages['model']}",
            "--set", f"data.mixture.0.path={stages['data']}"]
    for assignment in sets:
        args += ["--set", assignment]
    return args


@pytest.mark.timeout(900)  # with the fixture's curate and SFT stages
def test_grpo_raises_the_accuracy_reward_and_ends_in_a_loadable_model_with_its_card(stages, tmp_path):
    out = tmp_path / "grpo"
    log = finished(*grpo_args(stages, out))
    results = json.loads((out / "train_results.json").read_text())
    grpo = results["grpo"]
    moved = grpo["first_and_last"]["accuracy"]
    assert moved["last"] >= moved["first"] + 0.08, moved  # seeded: 0.38 -> 0.52 on 2 cores
    curve = grpo["curve"]
    assert curve["step"] == list(range(1, 121)) and len(curve["rewards"]["accuracy"]) == 120
    assert all(0.0 <= a <= 1.0 for a in curve["rewards"]["accuracy"])
    assert grpo["rewards"] == [{"name": "accuracy", "weight": 1.0, "options": {}},
                               {"name": "format", "weight": 0.2, "options": {}}]
    assert grpo["group_size"] == 8 and results["method"] == "grpo"
    assert results["hyperparameters"]["reward_weights"] == [1.0, 0.2]
    assert "trained 120 steps" in log

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What is 2 + 3?"}], add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True)
    generated = model.generate(**prompt, max_new_tokens=24, do_sample=False)
    assert "<think>" in tokenizer.decode(generated[0][prompt["input_ids"].shape[1]:], skip_special_tokens=True)

    text = (out / "README.md").read_text(encoding="utf-8")
    card = check_card(text, "model")
    assert ModelCard(text).content == text and "grpo" in card.data.tags and "sft" not in card.data.tags
    assert "`GRPOTrainer`" in text and "![The reward per step](reward_curve.png)" in text
    assert f"| `accuracy` | 1 | - | {moved['first']:.4g} | {moved['last']:.4g} |" in text
    assert "| completion length (tokens) | | |" in text
    with Image.open(out / "reward_curve.png") as image:
        assert image.format == "PNG" and image.size == (640, 320)
    assert load_train_recipe(out / "recipe.yaml").rewards == load_train_recipe(GRPO).rewards


@pytest.mark.timeout(600)
def test_a_grpo_run_killed_mid_way_resumes_from_its_last_checkpoint(stages, tmp_path):
    out = tmp_path / "grpo"
    args = grpo_args(stages, out, "grpo.max_steps=9", "grpo.save_steps=3", "grpo.per_device_train_batch_size=16")
    checkpoints = Path(f"{out}.checkpoints")
    last = kill_after_checkpoint(kit(*args), checkpoints / "checkpoint-3")
    assert not (out / "train_results.json").exists()

    log = finished(*args)
    assert f"resuming from {checkpoints}/checkpoint-{last}" in log
    results = json.loads((out / "train_results.json").read_text())
    assert results["grpo"]["curve"]["step"] == list(range(1, 10))  # one history: before the kill, then the rest


def test_grpo_from_a_random_init_builds_its_tokenizer_on_the_prompts(stages, tmp_path):
    """The R1-Zero shape from scratch: no SFT stage, the tokenizer trained on the GRPO prompts themselves, and a
    KL term whose reference model is that random init (TRL loads it from a path: the kit saves it first)."""
    out = tmp_path / "zero"
    finished(*grpo_args(stages, out, "model.init=random", "model.name_or_path=null", "model.architecture=qwen2",
                        "model.tokenizer=build", "chat_template=kit", "grpo.max_steps=2", "grpo.beta=0.04",
                        "grpo.per_device_train_batch_size=16",
                        "model.config={hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, "
                        "num_attention_heads: 2, num_key_value_heads: 1}"), "--no-push")
    tokenizer = json.loads((out / "tokenizer.json").read_text())
    vocabulary = tokenizer["model"]["vocab"]
    assert {"What", "Ġ+", "boxed", "<think>"} <= set(vocabulary)  # learned from the prompts it is asked
    results = json.loads((out / "train_results.json").read_text())
    assert results["grpo"]["curve"]["step"] == [1, 2]
    assert results["hyperparameters"]["beta"] == 0.04


def test_a_grpo_recipe_is_checked_when_it_loads(tmp_path):
    from kit.recipes import RecipeError

    with pytest.raises(RecipeError, match=r"grpo\.num_generation is not a GRPOConfig argument \(did you mean "
                                          r"'num_generations'\?\)"):
        load_train_recipe(GRPO, ["grpo.num_generation=4"])
    with pytest.raises(RecipeError, match=r"sft is for method: sft; this recipe's method is grpo"):
        load_train_recipe(GRPO, ["sft.max_steps=3"])
    with pytest.raises(RecipeError, match=r"method: grpo needs rewards"):
        load_train_recipe(GRPO, ["rewards=[]"])
    recipe = load_train_recipe(GRPO)
    assert recipe.data.mixture[0].column == "problem" and recipe.data.mixture[0].config == "metadata"
