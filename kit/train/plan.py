"""`kit train --dry-run`: the resolved plan of a run, without training.

Samples and tokens come from the real mixture rendered with the run's chat template and tokenized with the
real tokenizer; steps and tokens per step follow from the batch settings (packing fills `max_length` per
sequence); the memory per GPU is the usual mixed-precision AdamW estimate (2 bytes of bf16 weights and 2 of
gradients per parameter, 12 of fp32 master weights and moments) split as the ZeRO stage splits it, plus
activations and logits; GPU-hours come from the recipe's `compute.tokens_per_gpu_second`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import yaml

from kit.train.recipe import TrainRecipe

GIB = 1024**3


def sft_values(recipe: TrainRecipe) -> dict[str, Any]:
    """SFTConfig's defaults with the recipe's `sft:` on top (no SFTConfig is built: no device checks)."""
    from trl import SFTConfig

    defaults = {f.name: f.default for f in dataclasses.fields(SFTConfig) if f.default is not dataclasses.MISSING}
    return {**defaults, **recipe.sft}


def zero_setup(accelerate_config: str | None) -> dict[str, Any]:
    """{stage, offload_optimizer, offload_param} of an accelerate config (stage 0: DDP or one process)."""
    if not accelerate_config:
        return {"stage": 0, "offload_optimizer": False, "offload_param": False}
    from kit.train.launch import deepspeed_file
    from kit.train.recipe import accelerate_config_file

    source = accelerate_config_file(accelerate_config)
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    ds = config.get("deepspeed_config") or {}
    if ds.get("deepspeed_config_file"):
        ds = json.loads(deepspeed_file(source, ds["deepspeed_config_file"]).read_text(encoding="utf-8"))
    zero = ds.get("zero_optimization") or {}  # a DeepSpeed file; accelerate's inline keys are flat
    stage = int(zero.get("stage", ds.get("zero_stage", 0)) or 0)

    def offloaded(key: str) -> bool:
        device = (zero.get(key) or {}).get("device") if isinstance(zero.get(key), dict) else ds.get(f"{key}_device")
        return device not in ("none", None)

    return {"stage": stage, "offload_optimizer": offloaded("offload_optimizer"), "offload_param": offloaded("offload_param")}


def memory_per_gpu(params: int, world: int, zero: dict[str, Any], *, micro_batch: int, seq: int, hidden: int,
                   layers: int, vocab: int, checkpointing: bool) -> dict[str, float]:
    """Estimated GiB per GPU: model states (weights, gradients, optimizer) and activations."""
    weights, grads, optim = 2 * params, 2 * params, 12 * params
    stage = zero["stage"]
    if stage >= 1:
        optim /= world
    if stage >= 2:
        grads /= world
    if stage >= 3:
        weights /= world
    if zero["offload_optimizer"]:
        optim = grads = 0  # the optimizer steps on the CPU: the sharded gradients go there too
    if zero["offload_param"]:
        weights = 2 * 2 * params / max(1, layers)  # only the layers being computed are on the GPU
    tokens = micro_batch * seq
    per_layer = 34 * tokens * hidden  # bytes of one layer's bf16 activations (Korthikanti et al., no s^2 term)
    activations = (layers * 2 * tokens * hidden + per_layer) if checkpointing else layers * per_layer
    logits = 6 * tokens * vocab  # bf16 logits + their fp32 copy for the loss
    states = weights + grads + optim
    return {"model_states": states / GIB, "activations": (activations + logits) / GIB,
            "total": (states + activations + logits) / GIB}


def make_plan(recipe: TrainRecipe, log: Any = print) -> dict[str, Any]:
    """Everything --dry-run prints, as a dict."""
    from kit.train.chat import apply_template
    from kit.train.data import load_mixture
    from kit.train.run import build_config, load_tokenizer

    sft = sft_values(recipe)
    dataset, records = load_mixture(recipe.data, log=log)
    tokenizer = load_tokenizer(recipe.model, dataset)
    column = recipe.data.mixture[0].column
    if column == "messages":
        apply_template(recipe.chat_template, tokenizer, bool(sft.get("assistant_only_loss")))
    lengths = _lengths(dataset, tokenizer, column)
    max_length = sft.get("max_length")
    tokens = sum(min(n, max_length) if max_length else n for n in lengths)
    truncated = sum(n > max_length for n in lengths) if max_length else 0
    world = recipe.compute.world_size
    micro, accum = int(sft["per_device_train_batch_size"]), int(sft["gradient_accumulation_steps"])
    global_batch = micro * world * accum
    if sft.get("packing") and max_length:
        sequences = math.ceil(tokens / max_length)
        tokens_per_step = global_batch * max_length
    else:
        sequences = len(lengths)
        tokens_per_step = round(global_batch * tokens / max(1, len(lengths)))
    steps_per_epoch = max(1, math.ceil(sequences / global_batch))
    max_steps = int(sft.get("max_steps") or -1)
    steps = max_steps if max_steps > 0 else math.ceil(steps_per_epoch * float(sft["num_train_epochs"]))
    total_tokens = round(tokens * steps / steps_per_epoch)
    config = build_config(recipe.model, tokenizer)
    params = _parameters(config)
    zero = zero_setup(recipe.launch.accelerate)
    memory = memory_per_gpu(params, world, zero, micro_batch=micro, seq=max_length or max(lengths),
                            hidden=config.hidden_size, layers=config.num_hidden_layers, vocab=len(tokenizer),
                            checkpointing=bool(sft.get("activation_checkpointing", sft.get("gradient_checkpointing"))))
    speed = recipe.compute.tokens_per_gpu_second
    gpu_hours = total_tokens / speed / 3600 if speed else None
    price = recipe.compute.price_per_gpu_hour
    return {
        "datasets": records, "samples": len(lengths), "tokens": tokens, "truncated": truncated,
        "max_sample_tokens": max(lengths), "mean_sample_tokens": tokens / max(1, len(lengths)),
        "max_length": max_length, "packing": bool(sft.get("packing")),
        "world_size": world, "micro_batch": micro, "gradient_accumulation_steps": accum,
        "global_batch": global_batch, "steps_per_epoch": steps_per_epoch, "steps": steps,
        "tokens_per_step": tokens_per_step, "total_tokens": total_tokens, "parameters": params,
        "zero": zero, "memory_gib_per_gpu": memory, "gpu": recipe.compute.gpu,
        "gpu_hours": gpu_hours, "hours": gpu_hours / world if gpu_hours is not None else None,
        "cost_usd": gpu_hours * price if gpu_hours is not None and price is not None else None,
    }


def _lengths(dataset: Any, tokenizer: Any, column: str) -> list[int]:
    def count(batch: dict[str, list[Any]]) -> dict[str, list[int]]:
        texts = batch[column] if column == "text" else [tokenizer.apply_chat_template(m, tokenize=False)
                                                         for m in batch[column]]
        return {"n": [len(ids) for ids in tokenizer(texts, add_special_tokens=column == "text")["input_ids"]]}

    return dataset.map(count, batched=True, remove_columns=dataset.column_names, desc="tokenizing")["n"]


def _parameters(config: Any) -> int:
    """The parameter count of the model, built on the meta device (no memory, no download)."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in model.parameters())
