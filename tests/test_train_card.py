"""The model card written at the end of training: metadata round-trip, body sections, and a usage snippet
that really runs."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import ModelCard

from kit.hub.cards import check_card, front_matter
from kit.recipes.train import TrainRecipe
from kit.train.card import render_model_card

BASE = "Qwen/Qwen2.5-0.5B-Instruct"
SHA = "0123456789abcdef0123456789abcdef01234567"


def make_recipe(**changes: Any) -> TrainRecipe:
    return TrainRecipe.model_validate({
        "name": "tiny-reasoner",
        "description": "A small reasoning model.",
        "reproduces": "the OpenThoughts SFT recipe",
        "model": {"name_or_path": BASE},
        "data": {"mixture": [{"path": "org/math-traces"}, {"path": "out/local-traces", "weight": 0.5}]},
        "sft": {"learning_rate": 1e-5, "num_train_epochs": 3},
        "card": {"license": "apache-2.0", "tags": ["math"], "citation": "@misc{x, title={X}}"},
        **changes,
    })


RESULTS: dict[str, Any] = {
    "base_model": BASE,
    "init": "pretrained",
    "architecture": "qwen2",
    "parameters": 494032768,
    "datasets": [
        {"path": "org/math-traces", "hub": True, "config": "default", "split": "train", "revision": SHA,
         "weight": 1.0, "rows": 17000, "column": "messages"},
        {"path": "/data/out/local-traces", "hub": False, "config": "default", "split": "train", "revision": None,
         "weight": 0.5, "rows": 500, "column": "messages"},
    ],
    "hyperparameters": {"learning_rate": 1e-5, "num_train_epochs": 3.0, "max_steps": -1, "max_length": 16384,
                        "per_device_train_batch_size": 1, "gradient_accumulation_steps": 16,
                        "global_batch_size": 128, "packing": True, "lr_scheduler_type": "cosine_with_min_lr",
                        "lr_scheduler_kwargs": {"min_lr_rate": 0.1}, "warmup_ratio": 0.05, "bf16": True,
                        "deepspeed": 3, "seed": 42},
    "compute": {"gpu": "H100-80GB", "gpus_per_node": 8, "nodes": 1, "gpus": 8, "hours": 19.1, "gpu_hours": 152.8,
                "price_per_gpu_hour": 2.95, "cost_usd": 450.76},
    "frameworks": {"torch": "2.13.0", "transformers": "5.23.0", "trl": "1.16.0", "accelerate": "1.15.0",
                   "deepspeed": None, "datasets": "4.0.0", "kit": "0.1.0"},
    "metrics": {"train_loss": 0.41, "train_runtime": 1234.5, "train_samples": 17000, "train_tokens": 123456789,
                "global_step": 531, "epoch": 3.0},
    "chat_template": "model",
    "eval_results": [{"task_type": "text-generation", "dataset_type": "HuggingFaceH4/MATH-500",
                      "dataset_name": "MATH-500", "dataset_split": "test", "metric_type": "pass@1",
                      "metric_value": 0.826, "metric_name": "pass@1 (n=8)"}],
}


def results(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(RESULTS), **changes}


def usage(text: str) -> str:
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1
    return blocks[0]


def head(text: str) -> str:
    return text.split("\n---\n", 1)[0]


def test_card_metadata_and_body() -> None:
    text = render_model_card(make_recipe(), results(), "me/tiny-reasoner")
    check_card(text, "model")
    data = ModelCard(text).data
    assert data.base_model == BASE
    assert data.datasets == ["org/math-traces"]
    assert data.library_name == "transformers" and data.pipeline_tag == "text-generation"
    assert data.license == "apache-2.0" and data.language == ["en"]
    assert {"trl", "sft", "reasoning", "math"} <= set(data.tags)
    assert "None" not in head(text) and "null" not in head(text)
    meta = front_matter(text)
    assert meta["model-index"][0]["name"] == "me/tiny-reasoner"
    assert meta["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.826
    assert data.eval_results[0].metric_value == 0.826

    body = text.split("\n---\n", 1)[1]
    assert f"[`{BASE}`](https://huggingface.co/{BASE})" in body
    assert f"(https://huggingface.co/datasets/org/math-traces/commit/{SHA})" in body and "`0123456`" in body
    assert "local folder `local-traces`" in body and "/data/out" not in body  # no local path published
    assert "the OpenThoughts SFT recipe" in body and "A small reasoning model." in body
    for key in RESULTS["hyperparameters"]:
        assert f"| `{key}` |" in body
    assert '`{"min_lr_rate": 0.1}`' in body and "| `learning_rate` | `1e-05` |" in body
    assert "8 × H100-80GB for 19.1 h" in body
    assert "**GPU-hours**: 152.8" in body and "$451 at $2.95/GPU-hour" in body
    assert "- transformers: 5.23.0" in body and "deepspeed:" not in body
    # the shared results table (cards/eval_results.md.j2); no interval nor sample count in these results
    assert ("## Evaluation\n\n"
            "| benchmark | split | metric | score | CI | samples per problem |\n|---|---|---|---:|---:|---:|\n"
            "| [MATH-500](https://huggingface.co/datasets/HuggingFaceH4/MATH-500) | test | pass@1 (n=8) "
            "| 0.826 | - | - |\n\n## Usage") in body
    assert "<think>...</think>" in body
    assert "@misc{x, title={X}}" in body
    code = usage(text)
    compile(code, "usage", "exec")
    assert 'model_id = "me/tiny-reasoner"' in code and 'partition("</think>")' in code
    assert "AutoModelForCausalLM.from_pretrained" in code and "apply_chat_template" in code


def test_card_without_evals_price_or_license() -> None:
    res = results(eval_results=[])
    res["compute"].update(price_per_gpu_hour=None, cost_usd=None)
    text = render_model_card(make_recipe(card={}), res)
    check_card(text, "model")
    meta = front_matter(text)
    assert "model-index" not in meta and "model_name" not in meta and "license" not in meta
    assert "None" not in head(text)
    assert "No evaluation results yet." in text
    assert "**Estimated cost**: not estimated" in text
    assert "No license is set in the recipe" in text and "## Citation" not in text
    assert 'model_id = "out/tiny-reasoner"' in usage(text)  # the output folder without a repo id
    res.pop("eval_results")
    assert "model-index" not in front_matter(render_model_card(make_recipe(), res, "me/x"))


def test_license_field_says_what_the_card_does_without_one() -> None:
    """The recipe's `card.license` promises no default it does not have: unset, the card has no `license:` (it
    is not taken from the base model) and says the base model's terms apply."""
    from kit.recipes.train import CardConfig

    description = CardConfig.model_fields["license"].description or ""
    assert "default" not in description and "left out of the card unless set" in description.lower()
    text = render_model_card(make_recipe(card={}), results(eval_results=[]), "me/x")
    assert front_matter(text)["base_model"] and "license" not in front_matter(text)
    assert "the terms of the base model" in text


def test_random_init_card_has_no_base_model() -> None:
    recipe = make_recipe(model={"init": "random", "architecture": "qwen2", "tokenizer": "build"})
    text = render_model_card(recipe, results(base_model=None, init="random", eval_results=None), "me/scratch")
    check_card(text, "model")
    assert "base_model" not in front_matter(text)
    assert ModelCard(text).data.datasets == ["org/math-traces"]
    assert "None" not in head(text)
    assert "**initialised at random** from a `qwen2` config" in text


def test_usage_snippet_runs_on_a_local_model(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from kit.train.tinymodel import make_tiny_model

    folder = make_tiny_model(tmp_path / "m", ["<think>\nadd them\n</think>\n\nThe sum is 5050."] * 20)
    recipe = make_recipe(output={"dir": str(folder)})
    text = render_model_card(recipe, results(base_model=None, init="random"))
    code = usage(text)
    assert f"model_id = {json.dumps(str(folder))}" in code
    code, n = re.subn(r"^max_new_tokens = \d+", "max_new_tokens = 8", code, flags=re.MULTILINE)
    assert n == 1
    # The random model writes noise: make its generate() return a known reply (as a reasoning model would),
    # so the snippet's split is checked; everything else in the snippet runs as it is.
    reply = "<think>\nadd them\n</think>\n\nThe sum is 5050.<|im_end|>"
    known_reply = (
        "import torch, transformers\n"
        "def generate(self, input_ids=None, **kwargs):\n"
        f"    ids = transformers.AutoTokenizer.from_pretrained({str(folder)!r})({reply!r}, return_tensors='pt')\n"
        "    return torch.cat([input_ids, ids['input_ids']], dim=1)\n"
        "transformers.GenerationMixin.generate = generate\n")
    run = subprocess.run([sys.executable, "-c", known_reply + code], capture_output=True, text=True, timeout=240,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Reasoning:\nadd them\n\nAnswer:\nThe sum is 5050.\n" in run.stdout


def test_a_filtered_dataset_shows_its_where_in_the_data_table() -> None:
    res = results()
    res["datasets"][0] |= {"config": "verifiable-prompts", "where": {"language": "python", "input_mode": "stdio"}}
    text = render_model_card(make_recipe(), res, "me/tiny-reasoner")
    check_card(text, "model")
    assert "| verifiable-prompts (where language = python, input_mode = stdio) | train |" in text
    assert text.count("(where ") == 1  # the unfiltered dataset has none
