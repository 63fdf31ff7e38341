"""What every run reports of its speed (kit.train.throughput), and the model config / vocabulary facts the plan
and the card must get right."""

from __future__ import annotations

import pytest

from kit.recipes import RecipeError
from kit.recipes.train import load_train_recipe
from kit.train.gpus import lookup
from kit.train.throughput import Throughput, describe, warmup_steps
from tests.test_train_local import TINY

PARAMS = 364_067_072  # the gpu.md model


def meter(step_seconds: list[float], tokens_per_step: int, saves: tuple[int, ...] = ()) -> Throughput:
    """A Throughput fed as the Trainer feeds it: a step end every `step_seconds`, saves after `saves`."""
    throughput, now, seen = Throughput(), 100.0, 0
    for step, seconds in enumerate(step_seconds, start=1):
        now, seen = now + seconds, seen + tokens_per_step
        throughput.marks.append((step, now, seen))
        if step in saves:
            throughput.interrupted.add(step)
    return throughput


def test_steady_state_leaves_out_the_first_steps_and_the_saves():
    # a 40 s compile in step 1, then 0.25 s steps of 8192 tokens, a slow save after step 8
    seconds = [40.0, 1.0] + [0.25] * 18
    seconds[8] = 30.0  # step 9 ends 30 s after step 8 ended: the save after step 8 is in that interval
    total, measured, skip = meter(seconds, 8192, saves=(8,)).tokens_per_second()
    assert skip == warmup_steps(20) == 2
    assert total == pytest.approx(8192 / 0.25) and measured == 17


def test_mfu_against_the_gpus_bf16_peak():
    figures = meter([0.5] * 30, 4 * 8192).summary(parameters=PARAMS, world=2, device="NVIDIA H200",
                                                   peak_memory_gib=47.123)
    per_gpu = 4 * 8192 / 0.5 / 2
    assert figures["tokens_per_second_per_gpu"] == pytest.approx(per_gpu)
    assert figures["tflops_per_gpu"] == pytest.approx(per_gpu * 6 * PARAMS / 1e12, rel=1e-3)
    assert figures["mfu"] == pytest.approx(per_gpu * 6 * PARAMS / 1e12 / 989.4, abs=1e-4)
    assert figures["gpu_model"] == "H200" and figures["peak_memory_gib_per_gpu"] == 47.12
    line = describe(figures)
    assert line.startswith(f"{per_gpu:,.0f} tokens/s per GPU (steady state)")
    assert "MFU 7.2% of the H200's 989.4 bf16 TFLOP/s" in line and "peak 47.1 GiB per GPU" in line


def test_no_mfu_without_a_known_gpu_and_no_steady_state_in_two_steps():
    cpu = meter([0.5] * 10, 1000).summary(parameters=PARAMS, world=1, device=None, peak_memory_gib=None)
    assert cpu["mfu"] is None and cpu["tokens_per_second_per_gpu"] == pytest.approx(2000)
    assert describe(cpu).endswith("no MFU (no GPU)")
    odd = meter([0.5] * 10, 1000).summary(parameters=PARAMS, world=1, device="Tesla K80", peak_memory_gib=3.0)
    assert odd["mfu"] is None and "not a GPU in kit/train/gpus.py: Tesla K80" in describe(odd)
    short = meter([0.5, 0.5], 1000).summary(parameters=PARAMS, world=1, device=None, peak_memory_gib=None)
    assert short["tokens_per_second_per_gpu"] is None and describe(short).startswith("too few steps")


@pytest.mark.parametrize("name, expected", [
    ("NVIDIA H100 80GB HBM3", "H100"), ("H100-80GB", "H100"), ("NVIDIA H100 PCIe", "H100 PCIe"),
    ("NVIDIA H200", "H200"), ("h200", "H200"), ("NVIDIA A100-SXM4-80GB", "A100-80GB"),
    ("NVIDIA A100-SXM4-40GB", "A100-40GB"), ("NVIDIA L4", "L4"), ("NVIDIA L40S", "L40S"), ("cpu", None), (None, None),
])
def test_gpu_names_from_recipes_and_torch(name, expected):
    spec = lookup(name)
    assert (spec.name if spec else None) == expected


def test_rope_theta_is_kept_and_a_dropped_key_is_refused(quickstart):
    from kit.train.data import load_mixture
    from kit.train.run import build_config, load_tokenizer

    recipe = load_train_recipe(TINY, [f"data.mixture.0.path={quickstart}", "model.config.rope_theta=500000.0"])
    tokenizer = load_tokenizer(recipe.model, load_mixture(recipe.data, log=lambda _: None)[0])
    config = build_config(recipe.model, tokenizer)
    assert config.rope_parameters["rope_theta"] == 500000.0  # transformers 5 reads it from rope_parameters
    recipe.model.config["rope_scaling"] = {"type": "linear", "factor": 2.0}  # transformers 4's key, with theta
    assert build_config(recipe.model, tokenizer).rope_parameters == {"rope_theta": 500000.0, "rope_type": "linear",
                                                                     "factor": 2.0}
    recipe.model.config["sliding_window"] = 128  # Qwen2Config drops it unless use_sliding_window is set
    with pytest.raises(RecipeError, match=r"model.config.sliding_window: Qwen2Config does not keep it \(it reads None"):
        build_config(recipe.model, tokenizer)
    recipe.model.config.update(use_sliding_window=True, torch_dtype="float32")
    assert build_config(recipe.model, tokenizer).sliding_window == 128


def test_a_built_tokenizer_says_its_real_size_in_the_results_and_the_card(quickstart, tmp_path):
    import json

    from kit.train.run import train

    recipe = load_train_recipe(TINY, [f"data.mixture.0.path={quickstart}", f"output.dir={tmp_path / 'out'}",
                                      "model.vocab_size=32000", "sft.max_steps=6", "sft.save_strategy=no"])
    logs: list[str] = []
    result = train(recipe, log=logs.append, push=False)
    results = json.loads((result.out_dir / "train_results.json").read_text())
    assert 500 < results["vocab_size"] < 32000  # BPE ran out of merges on the quickstart texts
    card = (result.out_dir / "README.md").read_text()
    assert f"vocabulary of {results['vocab_size']:,} tokens" in card and "at most 32,000 asked" in card
    compute = results["compute"]
    assert compute["tokens_per_second_per_gpu"] > 0 and compute["steps_measured"] == 4  # steps 3-6
    assert compute["attn_implementation"] == "sdpa" and compute["mfu"] is None  # the CPU: no bf16 peak
    assert "Throughput" in card and "attention `sdpa`" in card
    assert any(line.startswith("attention: sdpa (auto: no GPU here)") for line in logs)
    assert "tokens/s per GPU (steady state), no MFU (no GPU)" in logs[-1]
