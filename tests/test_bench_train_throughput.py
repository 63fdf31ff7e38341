"""bench/train_throughput.py: the plain-TRL side builds its model in the recipe's dtype with the attention the kit
side used, so both sides train the same model (it used to build float32 whatever the recipe said)."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import pytest
import torch
import yaml

from kit.recipes.train import load_train_recipe
from kit.train.run import load_model
from kit.train.tinymodel import train_tokenizer

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "recipes/sft/tiny-cpu.yaml"
NO_RESIZE = argparse.Namespace(hidden_size=None, layers=None)


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("train_throughput", ROOT / "bench/train_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(["<think>two plus two</think> The answer is \\boxed{4}."] * 20, vocab_size=300)


def raw_recipe(dtype: str | None) -> dict:
    raw = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    if dtype is None:
        raw["model"].pop("dtype", None)
    else:
        raw["model"]["dtype"] = dtype
    return raw


@pytest.mark.parametrize(("dtype", "expected"), [("bfloat16", torch.bfloat16), ("float16", torch.float16),
                                                 ("float32", torch.float32), ("auto", torch.float32),
                                                 (None, torch.float32)])
@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_plain_model_dtype_and_attention(bench, tokenizer, dtype, expected, attention) -> None:
    model = bench.plain_model(raw_recipe(dtype), NO_RESIZE, tokenizer, attention)
    assert model.dtype == expected
    assert model.config._attn_implementation == attention
    assert bench.model_setup(model) == (str(expected).removeprefix("torch."), attention)


@pytest.mark.parametrize(("dtype", "attention"), [("bfloat16", "eager"), ("float32", "sdpa")])
def test_plain_model_is_the_kit_model(bench, tokenizer, dtype, attention) -> None:
    """The same model as the kit's `load_model` builds for the recipe: dtype, attention and the seeded weights."""
    recipe = load_train_recipe(TINY, [f"model.dtype={dtype}", f"model.attn_implementation={attention}"])
    # `train` resolves the recipe's attention (kit.train.attention) and hands the result to load_model.
    kit = load_model(recipe.model, tokenizer, [], seed=recipe.sft["seed"], attn_implementation=attention)
    plain = bench.plain_model(raw_recipe(dtype), NO_RESIZE, tokenizer, kit.config._attn_implementation)
    assert bench.model_setup(plain) == bench.model_setup(kit) == (dtype, attention)
    kit_weights, plain_weights = kit.state_dict(), plain.state_dict()
    assert kit_weights.keys() == plain_weights.keys()
    for name, tensor in kit_weights.items():
        assert torch.equal(tensor, plain_weights[name]), name
