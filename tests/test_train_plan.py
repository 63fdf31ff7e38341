"""`kit train --dry-run`: the memory model against the peaks measured on an H200 (../shared/gpu.md), the
attention it plans with, the throughput it derives, and its warnings.

The gpu.md run is rebuilt from its description: a random-init model of Qwen2.5-0.5B's shape with a tokenizer
built (vocab_size 32000) on the 500 MATH500 solutions written as `<think>` traces, bf16 weights, no
activation checkpointing, packed (bfd, padding-free) to 8192 tokens.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.gpu_train import write_recipe, write_traces
from kit.recipes.train import load_train_recipe
from kit.train.plan import GIB, Shape, make_plan, memory_per_gpu, sharding_setup

ROOT = Path(__file__).resolve().parent.parent
# (attention, micro-batch, accelerate config, measured peak allocated GiB) from ../shared/gpu.md
MEASURED = [
    ("sdpa", 1, None, 16.6),
    ("sdpa", 4, None, 95.9),
    ("flex_attention", 1, None, 13.6),
    ("flex_attention", 4, None, 47.1),
    ("sdpa", 1, "zero3", 23.4),
]


@pytest.fixture(scope="module")
def gpu_md_recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gpu-md")
    return write_recipe(folder / "recipe.yaml", write_traces(folder / "data"), shape="0.5b", max_length=8192,
                        steps=100, gpu="H200")


@pytest.mark.parametrize("attention, micro, accelerate, measured", MEASURED)
def test_the_plan_predicts_the_peaks_measured_on_an_h200(gpu_md_recipe, attention, micro, accelerate, measured):
    # bench/gpu_train.py's recipe is the gpu.md run; the plan is for that GPU, with no offload and bf16 weights
    sets = [f"model.attn_implementation={attention}", f"sft.per_device_train_batch_size={micro}"]
    if accelerate:
        sets.append(f"launch.accelerate={accelerate}")
    plan = make_plan(load_train_recipe(gpu_md_recipe, sets), log=lambda _: None)
    assert plan["parameters"] == pytest.approx(364_067_072, rel=0.01)
    assert plan["vocab_size"] < 32000  # BPE ran out of merges: the plan says the real size
    predicted = plan["memory_gib_per_gpu"]["total"]
    assert predicted == pytest.approx(measured, rel=0.15), plan["memory_gib_per_gpu"]
    assert plan["attention"]["implementation"] == attention
    assert (plan["memory_gib_per_gpu"]["mask"] > 1) == (attention == "sdpa")  # the (batch x 8192)^2 term
    assert (plan["refused"] is not None) == (attention == "sdpa" and micro > 1)


def test_the_dry_run_says_the_attention_the_throughput_and_refuses_a_dense_mask(gpu_md_recipe, tmp_path):
    def dry_run(*sets: str) -> tuple[int, str]:
        proc = subprocess.run([sys.executable, "-m", "kit.cli", "train", str(gpu_md_recipe), "--dry-run",
                               *(a for s in sets for a in ("--set", s))], cwd=ROOT, text=True, capture_output=True,
                              env={**os.environ, "COLUMNS": "250", "HF_HUB_OFFLINE": "1"}, timeout=300)
        return proc.returncode, proc.stdout + proc.stderr

    code, out = dry_run("sft.per_device_train_batch_size=4", "model.attn_implementation=auto")
    assert code == 0, out
    assert "attention       │ flex_attention (auto: padding-free packing" in out  # offline: no Hub kernel
    assert "% MFU (the kit's assumed MFU for flex_attention) x 989.4 TFLOP/s bf16 peak of the H200" in out
    code, out = dry_run("sft.per_device_train_batch_size=4", "model.attn_implementation=sdpa")
    assert code == 2 and "memory per GPU  │ ~9" in out  # planned, to show why, then refused
    assert "error: model.attn_implementation: sdpa with padding-free packing" in out
    code, out = dry_run("sft.per_device_train_batch_size=16", "model.attn_implementation=auto", "compute.gpu=H100")
    assert code == 0 and "warning: the predicted peak" in out and "exceeds the 79.6 GiB of one H100" in out
    code, out = dry_run("compute.tokens_per_gpu_second=1000")
    assert "1,000 tokens/s per GPU from compute.tokens_per_gpu_second in the recipe" in out


SHAPE_32B = Shape(parameters=32_763_876_352, layers=64, hidden=5120, heads=40, kv_heads=8, head_dim=128,
                  intermediate=27648, vocab=152064)


def test_memory_follows_the_sharding_of_the_shipped_configs():
    assert sharding_setup(None)["engine"] is None
    assert sharding_setup("ddp")["engine"] == "ddp"
    assert {k: v for k, v in sharding_setup("zero2").items() if k != "max_live_parameters"} == \
        {"engine": "deepspeed", "stage": 2, "offload_optimizer": False, "offload_param": False}
    assert sharding_setup("zero3")["stage"] == 3 and sharding_setup("zero3")["max_live_parameters"] == 10**9
    assert sharding_setup("zero3-offload")["offload_optimizer"] and sharding_setup("zero3-offload")["offload_param"]
    assert sharding_setup("fsdp2") == {"engine": "fsdp2", "stage": 3, "offload_optimizer": False,
                                       "offload_param": False, "max_live_parameters": None}
    shape = {"micro_batch": 1, "seq": 16384, "checkpointing": True}
    states = {name: memory_per_gpu(SHAPE_32B, 8, sharding_setup(name), **shape)["model_states"]
              for name in (None, "zero2", "zero3", "zero3-offload", "fsdp2")}
    gib = SHAPE_32B.parameters / GIB
    assert states[None] == pytest.approx(8 * gib)  # bf16 weights, grads and AdamW moments
    assert states["zero2"] == pytest.approx(2 * gib + 18 * gib / 8)  # + fp32 master, moments, step-time grads
    assert states["zero3"] == pytest.approx(20 * gib / 8 + 2 * 10**9 / GIB)  # + the gathered live parameters
    assert states["zero3-offload"] < 2  # only the layers being computed stay on the GPU
    head = 2 * SHAPE_32B.vocab * SHAPE_32B.hidden / GIB
    assert states["fsdp2"] == pytest.approx(16 * gib / 8 + 4 * gib / 64 + head)  # fp32 shards, bf16 layers + head


def test_activations_follow_attention_checkpointing_and_liger():
    base = {"micro_batch": 1, "seq": 16384, "attention": "flash_attention_2"}
    plain = memory_per_gpu(SHAPE_32B, 8, sharding_setup("zero3"), **base)
    checkpointed = memory_per_gpu(SHAPE_32B, 8, sharding_setup("zero3"), **base, checkpointing=True)
    liger = memory_per_gpu(SHAPE_32B, 8, sharding_setup("zero3"), **base, liger=True)
    assert checkpointed["activations"] < plain["activations"] / 10
    assert liger["activations"] < plain["activations"] * 0.8
    assert plain["mask"] == 0  # unpadded single row: no mask for any implementation
    packed = {"micro_batch": 2, "seq": 8192, "padding_free": True}
    sdpa = memory_per_gpu(SHAPE_32B, 8, sharding_setup("zero3"), **packed, attention="sdpa")
    eager = memory_per_gpu(SHAPE_32B, 8, sharding_setup("zero3"), **packed, attention="eager")
    flex = memory_per_gpu(SHAPE_32B, 8, sharding_setup("zero3"), **packed, attention="flex_attention")
    row = (2 * 8192) ** 2
    assert sdpa["mask"] == pytest.approx((row + 64 * 2 * row) / GIB)  # the bool mask + a bf16 bias per layer
    assert eager["mask"] > sdpa["mask"] * 10 and flex["mask"] == 0
    # full packed rows (the wrapped strategy) and one unpadded row: sdpa runs causal, with no mask
    wrapped = {"micro_batch": 4, "seq": 8192, "packed": True}
    assert memory_per_gpu(SHAPE_32B, 8, sharding_setup("zero3"), **wrapped, attention="sdpa")["mask"] == 0
    padded = memory_per_gpu(SHAPE_32B, 8, sharding_setup("zero3"), micro_batch=4, seq=8192, attention="sdpa")
    assert padded["mask"] == pytest.approx(4 * 8192**2 * (1 + 64 * 2) / GIB)  # a padded batch: one mask per row


def test_the_gpu_benchmark_runs_on_the_cpu_with_the_table_of_a_gpu():
    proc = subprocess.run([sys.executable, "bench/gpu_train.py", "--tiny", "--steps", "5"], cwd=ROOT, text=True,
                          capture_output=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.strip().startswith("attention"))
    assert lines[header].split() == ["attention", "batch", "tokens/s/GPU", "TFLOP/s", "MFU", "peak", "GiB", "plan",
                                     "GiB", "plan/peak"]
    rows = lines[header + 1:header + 7]
    assert [row.split()[0] for row in rows] == ["auto", "auto", "sdpa", "sdpa", "eager", "eager"]
    assert "auto -> sdpa (no packing)" in rows[1]  # packing at batch 2 would need a dense mask on the CPU
    assert "refused by the kit" in rows[3] and "refused by the kit" in rows[5]
    for row in (rows[0], rows[2], rows[4]):
        assert float(row.split()[-6].replace(",", "")) > 0  # tokens/s measured; no MFU or peak on the CPU
    assert any(line.strip().startswith("ratio kit/plain") for line in lines)
