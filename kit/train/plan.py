"""`kit train --dry-run`: the resolved plan of a run, without training.

Samples and tokens come from the real mixture rendered with the run's chat template and tokenized with the
real tokenizer; steps and tokens per step follow from the batch settings (packing fills `max_length` per
row). The attention implementation is resolved as the run will resolve it (`kit.train.attention`).

Memory per GPU is the peak of a training step, from the model's shape, as `memory_per_gpu` itemises it:

- model states: weights, gradients and AdamW moments in the weights' dtype (a bf16 model: 8 bytes per
  parameter; fp32 weights under bf16 autocast: 16, plus the bf16 copies autocast keeps for the backward);
  DeepSpeed keeps bf16 weights and gradients, fp32 master weights and moments and, at the optimizer step, an
  fp32 copy of the gradients (20 bytes), split as the ZeRO stage splits them, plus the parameters ZeRO-3 keeps
  gathered (up to `stage3_max_live_parameters`); FSDP2 shards fp32 weights, gradients and moments (accelerate
  upcasts the model for mixed precision) and holds two layers and the LM head unsharded in bf16;
- activations saved for the backward, per token and layer: the two RMSNorms (fp32 input, normalised output),
  q/k/v, the attention output and the o_proj input, the softmax statistics, and the four MLP tensors (gate, up,
  act, product); sdpa and eager with a mask get k and v expanded to every head (transformers' repeat_kv);
  Liger's kernels save less (norm input only, gate and up only); activation checkpointing keeps each layer's
  input plus one layer's activations;
- the mask term, quadratic in the row length, where one is built: TRL's padding-free packing flattens a
  micro-batch into one row of `micro_batch x max_length` tokens, and sdpa gets that row's dense boolean mask
  once plus its bf16 bias in every layer (so do padded batches, row by row; full rows run causal with no
  mask); eager always keeps each head's attention weights; flash-attn and flex_attention build none (varlen
  kernels, a block-sparse mask);
- the head: TRL's fused LM head never materialises the logits (tiles of 4096 tokens).

Calibrated on the H200 runs of ../shared/gpu.md (a Qwen2.5-0.5B-shaped model, 8k packed rows): each measured
peak is predicted within 15% (tests/test_train_plan.py).

Throughput: the recipe's measured `compute.tokens_per_gpu_second` when given; otherwise the GPU's dense bf16
peak (kit.train.gpus) times an MFU, over 6 x parameters FLOPs per token. The MFU is the recipe's
`compute.mfu`, else what the kit measured for the attention implementation (`ASSUMED_MFU`), and the plan
says which.

GRPO (`method: grpo`, `grpo_plan`) is planned as TRL's GRPOTrainer runs: `per_device_train_batch_size` counts
completions; a generation batch of `generation_batch_size` completions (default: per-device batch x world x
`steps_per_generation`, which defaults to the gradient accumulation) is `num_generations` completions of each of
its prompts, generated once and used for `steps_per_generation` micro-steps, `num_iterations` times over; an
epoch is TRL's count of its RepeatSampler's batches (whole generation batches of prompts only). Its memory is the
policy's model states (as for SFT), the activations of a micro-batch of completions padded to the longest prompt
plus `max_completion_length`, the reference model's weights when `beta` > 0, and the generation: with vLLM
colocated its `vllm_gpu_memory_utilization` share of the GPU (released for training under vLLM's sleep mode),
with a vLLM server nothing here (it runs on GPUs of its own), with plain transformers generation the KV cache of
the generation batch (and, for ZeRO-3/FSDP, the gathered weights), at a different moment from the activations.
Its throughput is not modelled: GPU-hours come only from the recipe's `compute.tokens_per_gpu_second`, applied to
the tokens trained, and are a lower bound (generation is not counted).
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import yaml

from kit.recipes import RecipeError
from kit.recipes.train import TrainRecipe
from kit.train.gpus import lookup

GIB = 1024**3
HEAD_TILE = 4096  # tokens per tile of TRL's fused LM head
# MFU (6N FLOPs per token, dense bf16 peak) the plan assumes when the recipe gives neither a measured
# throughput nor `compute.mfu`: flex_attention and sdpa as measured on an H200 (../shared/gpu.md, packed 8k
# rows: flex 13-21%, sdpa 3.5-6.7%); flash-attn is the figure well-tuned dense SFT reaches on Hopper (not yet
# measured with the kit). ZeRO-3 with offload moves the optimizer to the CPU: far lower (1.9% measured for
# ZeRO-3 without offload on one process).
ASSUMED_MFU = {"flash_attention_3": 0.35, "flash_attention_2": 0.35, "flex_attention": 0.15, "sdpa": 0.06,
               "eager": 0.03}
KERNEL_MFU = 0.35  # a flash-attn Hub kernel (org/name)
OFFLOAD_FACTOR = 0.3


@dataclasses.dataclass(frozen=True)
class Shape:
    """What the memory model needs of a decoder-only transformer."""

    parameters: int
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int

    @classmethod
    def of(cls, config: Any, parameters: int) -> Shape:
        heads = config.num_attention_heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        return cls(parameters, config.num_hidden_layers, config.hidden_size, heads,
                   getattr(config, "num_key_value_heads", None) or heads, head_dim,
                   getattr(config, "intermediate_size", None) or 4 * config.hidden_size, config.vocab_size)


def sharding_setup(accelerate_config: str | None) -> dict[str, Any]:
    """How an accelerate config splits the model states: {engine (deepspeed, fsdp2, ddp or None), stage (ZeRO's,
    FSDP2 full sharding counts as 3), offload_optimizer, offload_param, max_live_parameters (ZeRO-3)}."""
    setup: dict[str, Any] = {"engine": None, "stage": 0, "offload_optimizer": False, "offload_param": False,
                             "max_live_parameters": None}
    if not accelerate_config:
        return setup
    from kit.recipes.train import accelerate_config_file
    from kit.train.launch import deepspeed_file

    source = accelerate_config_file(accelerate_config)
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    if config.get("distributed_type") == "FSDP":
        fsdp = config.get("fsdp_config") or {}
        return {**setup, "engine": f"fsdp{fsdp.get('fsdp_version', 1)}",
                "stage": 3 if fsdp.get("fsdp_reshard_after_forward", True) else 2,
                "offload_optimizer": bool(fsdp.get("fsdp_offload_params")),
                "offload_param": bool(fsdp.get("fsdp_offload_params"))}
    ds = config.get("deepspeed_config") or {}
    if config.get("distributed_type") != "DEEPSPEED" and not ds:
        return {**setup, "engine": "ddp"}
    if ds.get("deepspeed_config_file"):
        ds = json.loads(deepspeed_file(source, ds["deepspeed_config_file"]).read_text(encoding="utf-8"))
    zero = ds.get("zero_optimization") or {}  # a DeepSpeed file; accelerate's inline keys are flat
    stage = int(zero.get("stage", ds.get("zero_stage", 0)) or 0)

    def offloaded(key: str) -> bool:
        device = (zero.get(key) or {}).get("device") if isinstance(zero.get(key), dict) else ds.get(f"{key}_device")
        return device not in ("none", None)

    live = zero.get("stage3_max_live_parameters", 1e9)
    return {**setup, "engine": "deepspeed", "stage": stage, "offload_optimizer": offloaded("offload_optimizer"),
            "offload_param": offloaded("offload_param"),
            "max_live_parameters": int(float(live)) if stage >= 3 else None}


def model_states(shape: Shape, world: int, sharding: dict[str, Any], *, weight_bytes: int, mixed: bool) -> float:
    """Bytes per GPU of weights, gradients and optimizer states (AdamW: two moments)."""
    p, engine, stage = shape.parameters, sharding["engine"], sharding["stage"]
    if engine == "deepspeed":
        low = 2 if mixed else 4
        weights, grads = low * p, low * p
        optim, step = (12 * p, 4 * p) if mixed else (8 * p, 0)  # fp32 master weights + moments; fp32 grads
        if stage >= 1:
            optim, step = optim / world, step / world
        if stage >= 2:
            grads /= world
        gathered = 0.0
        if stage >= 3:
            weights /= world
            gathered = low * min(p, sharding.get("max_live_parameters") or p)
        if sharding["offload_optimizer"]:
            optim = grads = step = 0  # the optimizer steps on the CPU: the sharded gradients go there too
        if sharding["offload_param"]:
            weights, gathered = 2 * low * p / max(1, shape.layers), 0  # only the layers being computed
        return weights + grads + optim + step + gathered
    if engine and engine.startswith("fsdp"):
        full = 4 if mixed else weight_bytes  # accelerate upcasts the sharded weights to fp32 for mixed precision
        sharded = 4 * full * p / (world if stage >= 2 else 1)  # weights, grads, two moments
        low = 2 if mixed else weight_bytes
        layer = 2 * low * p / max(1, shape.layers)  # a layer gathered, one prefetched
        head = low * shape.vocab * shape.hidden  # accelerate keeps the LM head (and final norm) unsharded
        return (0 if sharding["offload_param"] else sharded) + layer + head
    states = 4 * weight_bytes * p  # weights, grads and two AdamW moments in the weights' dtype
    if mixed and weight_bytes == 4:
        states += 2 * p  # the bf16 copies of the weights autocast keeps for the backward
    if engine == "ddp" and world > 1:
        states += weight_bytes * p  # DDP's gradient buckets
    return states


def activation_bytes(shape: Shape, *, micro_batch: int, seq: int, attention: str, padding_free: bool,
                     checkpointing: bool, act_bytes: int, liger: bool = False, packed: bool = False
                     ) -> dict[str, float]:
    """Bytes per GPU of what the forward keeps for the backward: {linear (per-token terms), mask (quadratic)}."""
    h, kv, i, a = shape.hidden, shape.kv_heads * shape.head_dim, shape.intermediate, act_bytes
    tokens = micro_batch * seq
    rows, row = (1, micro_batch * seq) if padding_free else (micro_batch, seq)
    # transformers passes sdpa a mask only for packed rows or padded batches (full rows: is_causal instead);
    # eager always builds one
    masked = (attention == "sdpa" and (padding_free or (micro_batch > 1 and not packed))) or attention == "eager"
    norms = 2 * (a * h) if liger else 2 * (4 * h + a * h)  # RMSNorm: fp32 input + normalised output
    keys = 2 * h if masked else 2 * kv  # k and v, expanded to every head by repeat_kv when a mask is passed
    attn = a * (3 * h + keys) + 4 * shape.heads  # q, k, v, output, o_proj input; fp32 softmax statistics
    mlp = (3 if liger else 4) * a * i  # gate, up, act(gate) (not with Liger), gate*up
    per_layer_token = norms + attn + mlp
    square = rows * row * row
    quadratic_layer = shared_mask = 0.0
    if attention == "eager":
        shared_mask = a * square  # its float mask, built once per step
        quadratic_layer = (4 + a) * shape.heads * square  # each head's softmax (fp32) and weights, per layer
    elif masked:
        shared_mask = square  # the boolean mask, built once per step
        quadratic_layer = a * square  # sdpa's float bias of it, saved by every layer
    if checkpointing:
        linear = shape.layers * a * h * tokens + per_layer_token * tokens  # layer inputs + one layer recomputed
        mask = shared_mask + quadratic_layer
    else:
        linear = shape.layers * per_layer_token * tokens
        mask = shared_mask + shape.layers * quadratic_layer
    head = tokens * ((4 * h + a * h) + 3 * a * h + 32) + 2 * 4 * HEAD_TILE * min(shape.vocab, HEAD_TILE)
    return {"linear": linear + head, "mask": mask}


def memory_per_gpu(shape: Shape, world: int, sharding: dict[str, Any], *, micro_batch: int, seq: int,
                   attention: str = "sdpa", padding_free: bool = False, checkpointing: bool = False,
                   weight_bytes: int = 2, mixed: bool = True, liger: bool = False, packed: bool = False
                   ) -> dict[str, float]:
    """Estimated peak GiB per GPU of a training step: model states, activations, the mask term, and the total.
    `packed`: rows are packed (full rows, no padding), `padding_free`: TRL flattens each micro-batch."""
    states = model_states(shape, world, sharding, weight_bytes=weight_bytes, mixed=mixed)
    act = activation_bytes(shape, micro_batch=micro_batch, seq=seq, attention=attention, padding_free=padding_free,
                           checkpointing=checkpointing, act_bytes=2 if mixed or weight_bytes == 2 else 4,
                           liger=liger, packed=packed)
    return {"model_states": states / GIB, "activations": act["linear"] / GIB, "mask": act["mask"] / GIB,
            "total": (states + act["linear"] + act["mask"]) / GIB}


def assumed_mfu(attention: str, sharding: dict[str, Any]) -> float:
    mfu = ASSUMED_MFU.get(attention, KERNEL_MFU)
    return mfu * OFFLOAD_FACTOR if sharding["offload_optimizer"] else mfu


def make_plan(recipe: TrainRecipe, log: Any = print) -> dict[str, Any]:
    """Everything --dry-run prints, as a dict (`method`: sft, or grpo: see `grpo_plan`)."""
    if recipe.method == "grpo":
        return grpo_plan(recipe, log)
    from kit.train.attention import padding_free
    from kit.train.run import config_values

    sft = config_values(recipe)
    setup = _setup(recipe, sft, log)
    dataset, tokenizer, attention, gpu = setup["dataset"], setup["tokenizer"], setup["attention"], setup["gpu"]
    column = recipe.data.mixture[0].column
    if attention.unpacked:
        sft["packing"] = sft["padding_free"] = False
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
    shape, sharding, weights = setup["shape"], setup["sharding"], setup["weights"]
    mixed = setup["gpu_run"] and bool(sft.get("bf16") or sft.get("fp16"))
    memory = memory_per_gpu(shape, world, sharding, micro_batch=micro, seq=max_length or max(lengths),
                            attention=attention.implementation, padding_free=padding_free(sft),
                            packed=bool(sft.get("packing")),
                            checkpointing=bool(sft.get("activation_checkpointing", sft.get("gradient_checkpointing"))),
                            weight_bytes=4 if weights == "float32" else 2, mixed=mixed,
                            liger=bool(sft.get("use_liger_kernel")))
    capacity = setup["capacity"]
    speed, speed_source, mfu = _throughput(recipe, shape, gpu, attention.implementation, sharding)
    gpu_hours = total_tokens / speed / 3600 if speed else None
    price = recipe.compute.price_per_gpu_hour
    return {
        "method": "sft", "datasets": setup["records"], "samples": len(lengths), "tokens": tokens,
        "truncated": truncated, "max_sample_tokens": max(lengths), "mean_sample_tokens": tokens / max(1, len(lengths)),
        "max_length": max_length, "packing": bool(sft.get("packing")), "padding_free": padding_free(sft),
        "attention": {"implementation": attention.implementation, "reason": attention.reason},
        "refused": setup["refused"],
        "world_size": world, "micro_batch": micro, "gradient_accumulation_steps": accum,
        "global_batch": global_batch, "steps_per_epoch": steps_per_epoch, "steps": steps,
        "tokens_per_step": tokens_per_step, "total_tokens": total_tokens, "parameters": shape.parameters,
        "vocab_size": len(tokenizer), "weights_dtype": weights, "sharding": sharding,
        "memory_gib_per_gpu": memory, "gpu": recipe.compute.gpu, "gpu_memory_gib": capacity,
        "memory_warning": (f"the predicted peak, {memory['total']:.1f} GiB, exceeds the {capacity:g} GiB of one "
                           f"{recipe.compute.gpu}" if capacity and memory["total"] > capacity else None),
        "tokens_per_gpu_second": speed, "throughput_source": speed_source, "mfu": mfu,
        "gpu_hours": gpu_hours, "hours": gpu_hours / world if gpu_hours is not None else None,
        "cost_usd": gpu_hours * price if gpu_hours is not None and price is not None else None,
    }


def _setup(recipe: TrainRecipe, values: dict[str, Any], log: Any) -> dict[str, Any]:
    """What both methods plan from: the mixture, the tokenizer with the run's chat template, the attention the run
    will choose, the model's shape, the sharding, the weights' dtype and the GPU."""
    from kit.train.attention import Attention, choose, hub_kernels_installed, installed, refusal
    from kit.train.chat import apply_template
    from kit.train.run import build_config, load_data, load_tokenizer, weight_dtype

    dataset, records = load_data(recipe, log)
    tokenizer = load_tokenizer(recipe.model, dataset)
    if recipe.data.mixture[0].column != "text":
        apply_template(recipe.chat_template, tokenizer, bool(values.get("assistant_only_loss")),
                       prompts_only=recipe.method == "grpo")
    gpu_run = recipe.compute.gpu.lower() != "cpu"
    # As the run will choose on its GPU machine, with the packages installed here (no kernel is fetched now)
    gpu = lookup(recipe.compute.gpu)
    hopper = gpu is not None and gpu.hopper
    refused = refusal(recipe.model.attn_implementation, values)  # planned all the same, to show why
    attention = Attention(recipe.model.attn_implementation, "refused when training") \
        if refused else choose(recipe.model.attn_implementation, values, cuda=gpu_run, here=not gpu_run or _cuda(),
                               available=installed(cuda=gpu_run, hopper=hopper, hub_kernels=hub_kernels_installed))
    config = build_config(recipe.model, tokenizer)
    return {"dataset": dataset, "records": records, "tokenizer": tokenizer, "gpu_run": gpu_run, "gpu": gpu,
            "refused": refused, "attention": attention, "config": config,
            "shape": Shape.of(config, _parameters(config)), "sharding": sharding_setup(recipe.launch.accelerate),
            "weights": weight_dtype(recipe.model, config),
            "capacity": recipe.compute.gpu_memory_gb or (gpu.memory_gib if gpu else None)}


def grpo_values(recipe: TrainRecipe) -> dict[str, Any]:
    """GRPOConfig's defaults with the recipe's `grpo:` on top, and the generation batch TRL derives from them for
    the recipe's world size (GRPOConfig.__post_init__; no GRPOConfig is built: no device checks, and the world
    size is the recipe's, not this machine's). RecipeError where TRL would refuse the batch settings."""
    from kit.train.run import config_values

    values = config_values(recipe)
    world = recipe.compute.world_size
    micro, accum = int(values["per_device_train_batch_size"]), int(values["gradient_accumulation_steps"])
    generations, batch, per_generation = values["num_generations"], values["generation_batch_size"], \
        values["steps_per_generation"]
    if batch is not None and per_generation is not None:
        raise RecipeError("grpo: generation_batch_size and steps_per_generation can not be both set")
    if batch is None:
        per_generation = int(per_generation or accum)
        batch = micro * world * per_generation
    elif batch % (micro * world):
        raise RecipeError(f"grpo.generation_batch_size ({batch}) must be divisible by the global batch size "
                          f"({micro} per GPU x {world} GPUs = {micro * world})")
    else:
        per_generation = batch // (micro * world)
    if not generations or generations < 2:
        raise RecipeError(f"grpo.num_generations: GRPO needs at least 2 completions per prompt (it reads "
                          f"{generations})")
    if batch % generations:
        raise RecipeError(f"grpo: the generation batch ({batch} completions: per_device_train_batch_size {micro} x "
                          f"{world} GPUs x steps_per_generation {per_generation}) must be divisible by "
                          f"num_generations ({generations})")
    if not values.get("max_completion_length"):
        raise RecipeError("grpo.max_completion_length: the plan needs the completion length (a number of tokens)")
    return {**values, "generation_batch_size": int(batch), "steps_per_generation": int(per_generation)}


def grpo_memory_per_gpu(shape: Shape, world: int, sharding: dict[str, Any], *, micro_batch: int, seq: int,
                        generation_rows: int, attention: str = "sdpa", checkpointing: bool = False,
                        weight_bytes: int = 2, mixed: bool = True, liger: bool = False, beta: float = 0.0,
                        vllm: str | None = None, vllm_gib: float | None = None, sleep: bool = False,
                        gather_for_generation: bool = True) -> dict[str, float | None]:
    """Estimated peak GiB per GPU of a GRPO step: the policy's training step (as `memory_per_gpu`, on a micro-batch
    of `micro_batch` completions padded to `seq` = longest prompt + max_completion_length tokens), the reference
    model (`beta` > 0) and the generation: `vllm` colocate (`vllm_gib` held beside training, or only while
    generating under sleep mode; None when the GPU's memory is unknown), server (nothing here), or None (plain
    transformers generation of `generation_rows` completions: their KV cache, plus the gathered weights under
    ZeRO-3/FSDP, while no activations are held). `phase`: which moment is the peak."""
    step = memory_per_gpu(shape, world, sharding, micro_batch=micro_batch, seq=seq, attention=attention,
                          checkpointing=checkpointing, weight_bytes=weight_bytes, mixed=mixed, liger=liger)
    low = 2 if mixed or weight_bytes == 2 else 4
    reference = 0.0
    if beta > 0:  # built like the policy (its dtype), wrapped for inference by the same engine
        ref_bytes = 2 if sharding["engine"] == "deepspeed" and mixed else weight_bytes
        sharded = (sharding["engine"] == "deepspeed" and sharding["stage"] >= 3) or \
            str(sharding["engine"]).startswith("fsdp")
        reference = ref_bytes * shape.parameters / (world if sharded else 1) / GIB
    base = step["model_states"] + reference
    training = base + step["activations"] + step["mask"]
    generation, vllm_share = 0.0, 0.0
    if vllm is None:
        kv = generation_rows * seq * shape.layers * 2 * shape.kv_heads * shape.head_dim * low
        gathered = (sharding["engine"] == "deepspeed" and sharding["stage"] >= 3 and gather_for_generation) or \
            str(sharding["engine"]).startswith("fsdp")
        generation = (kv + (low * shape.parameters if gathered else 0)) / GIB
    elif vllm == "colocate":
        vllm_share = vllm_gib if vllm_gib is not None else math.nan
    peaks = {"training": training + (0 if sleep else vllm_share),
             "generation": base + generation + vllm_share if vllm != "server" else 0.0}
    phase = max(peaks, key=lambda k: peaks[k]) if not math.isnan(vllm_share) else "training"
    total = peaks[phase]
    return {"model_states": step["model_states"], "activations": step["activations"], "mask": step["mask"],
            "reference": reference, "generation": generation,
            "vllm": None if math.isnan(vllm_share) else vllm_share,
            "total": None if math.isnan(total) else total, "phase": phase}


def grpo_plan(recipe: TrainRecipe, log: Any = print) -> dict[str, Any]:
    """The plan of a `method: grpo` run (the module docstring says how each figure is counted)."""
    from kit.train.rewards import check_rewards

    grpo = grpo_values(recipe)
    check_rewards(recipe.rewards, recipe.verify, int(grpo["max_completion_length"]))  # as the run will check them
    setup = _setup(recipe, grpo, log)
    dataset, tokenizer, attention = setup["dataset"], setup["tokenizer"], setup["attention"]
    lengths = _prompt_lengths(dataset, tokenizer, grpo.get("chat_template_kwargs"))
    problems = len(lengths)
    world = recipe.compute.world_size
    micro, accum = int(grpo["per_device_train_batch_size"]), int(grpo["gradient_accumulation_steps"])
    generations, completion = int(grpo["num_generations"]), int(grpo["max_completion_length"])
    iterations, per_generation = int(grpo["num_iterations"]), grpo["steps_per_generation"]
    batch = grpo["generation_batch_size"]
    prompts_per_generation = batch // generations
    completions = micro * world * accum  # trained per optimizer step
    # TRL's epoch: the RepeatSampler's whole generation batches of prompts, each repeated for steps_per_generation
    # x num_iterations micro-steps, in optimizer steps (Trainer.set_initial_training_values)
    micro_steps = problems // prompts_per_generation * per_generation * iterations
    if not micro_steps:
        raise RecipeError(f"data: {problems} problems, fewer than the {prompts_per_generation} prompts of one "
                          "generation batch: TRL's sampler would yield no batch (lower per_device_train_batch_size "
                          "or raise num_generations)")
    steps_per_epoch = max(1, math.ceil(micro_steps / accum))
    max_steps = int(grpo.get("max_steps") or -1)
    steps = max_steps if max_steps > 0 else math.ceil(steps_per_epoch * float(grpo["num_train_epochs"]))
    every = per_generation * iterations  # micro-steps between two generations
    generated = math.ceil(steps * accum / every) * batch
    mean_prompt = sum(lengths) / max(1, problems)
    tokens_per_step = round(completions * (mean_prompt + completion))
    vllm = grpo["vllm_mode"] if grpo.get("use_vllm") else None
    shape, sharding, weights = setup["shape"], setup["sharding"], setup["weights"]
    bf16 = grpo.get("bf16")  # GRPOConfig's None: bf16 on a GPU unless fp16 is set
    mixed = setup["gpu_run"] and bool(bf16 is None or bf16 or grpo.get("fp16"))
    capacity = setup["capacity"]
    utilization = float(grpo["vllm_gpu_memory_utilization"])
    memory = grpo_memory_per_gpu(
        shape, world, sharding, micro_batch=micro, seq=max(lengths) + completion,
        generation_rows=micro * per_generation, attention=attention.implementation,
        checkpointing=bool(grpo.get("activation_checkpointing") or grpo.get("gradient_checkpointing")),
        weight_bytes=4 if weights == "float32" else 2, mixed=mixed, liger=bool(grpo.get("use_liger_kernel")),
        beta=float(grpo["beta"]), vllm=vllm, vllm_gib=utilization * capacity if capacity else None,
        sleep=bool(grpo.get("vllm_enable_sleep_mode")), gather_for_generation=bool(grpo.get("ds3_gather_for_generation")))
    speed = recipe.compute.tokens_per_gpu_second
    total_tokens = steps * tokens_per_step
    gpu_hours = total_tokens / speed / 3600 if speed else None
    price = recipe.compute.price_per_gpu_hour
    total = memory["total"]
    return {
        "method": "grpo", "datasets": setup["records"], "problems": problems,
        "mean_prompt_tokens": mean_prompt, "max_prompt_tokens": max(lengths),
        "num_generations": generations, "max_completion_length": completion, "num_iterations": iterations,
        "beta": float(grpo["beta"]), "world_size": world, "micro_batch": micro, "gradient_accumulation_steps": accum,
        "completions_per_step": completions, "prompts_per_step": completions / generations,
        "generation_batch_size": batch, "generation_batch_prompts": prompts_per_generation,
        "steps_per_generation": per_generation, "generate_every_steps": every / accum,
        "generation": vllm or "transformers", "vllm_gpu_memory_utilization": utilization if vllm == "colocate" else None,
        "vllm_sleep_mode": bool(grpo.get("vllm_enable_sleep_mode")) if vllm == "colocate" else None,
        "tokens_per_step": tokens_per_step, "micro_batch_tokens": micro * (max(lengths) + completion),
        "steps_per_epoch": steps_per_epoch, "steps": steps, "max_steps": max_steps if max_steps > 0 else None,
        "completions_generated": generated, "generated_tokens": generated * completion,
        "total_tokens": total_tokens,
        "attention": {"implementation": attention.implementation, "reason": attention.reason},
        "refused": setup["refused"], "parameters": shape.parameters, "vocab_size": len(tokenizer),
        "weights_dtype": weights, "sharding": sharding, "memory_gib_per_gpu": memory, "gpu": recipe.compute.gpu,
        "gpu_memory_gib": capacity,
        "memory_warning": (f"the predicted peak, {total:.1f} GiB, exceeds the {capacity:g} GiB of one "
                           f"{recipe.compute.gpu}" if capacity and total and total > capacity else None),
        "tokens_per_gpu_second": speed,
        "throughput_source": ("compute.tokens_per_gpu_second in the recipe, applied to the tokens trained; "
                              "generation not estimated (a lower bound)") if speed else
                             "not modelled for GRPO: set compute.tokens_per_gpu_second",
        "mfu": None, "gpu_hours": gpu_hours, "hours": gpu_hours / world if gpu_hours is not None else None,
        "cost_usd": gpu_hours * price if gpu_hours is not None and price is not None else None,
    }


def _throughput(recipe: TrainRecipe, shape: Shape, gpu: Any, attention: str,
                sharding: dict[str, Any]) -> tuple[float | None, str, float | None]:
    """(tokens/s per GPU, where the figure comes from, the MFU it assumes)."""
    if recipe.compute.tokens_per_gpu_second:
        return recipe.compute.tokens_per_gpu_second, "compute.tokens_per_gpu_second in the recipe", None
    if gpu is None:
        return None, f"no bf16 peak known for {recipe.compute.gpu!r}: set compute.tokens_per_gpu_second", None
    mfu = recipe.compute.mfu or assumed_mfu(attention, sharding)
    source = "compute.mfu in the recipe" if recipe.compute.mfu else f"the kit's assumed MFU for {attention}" + (
        " with optimizer offload" if sharding["offload_optimizer"] else "")
    speed = mfu * gpu.bf16_tflops * 1e12 / (6 * shape.parameters)
    return speed, f"{mfu:.0%} MFU ({source}) x {gpu.bf16_tflops:g} TFLOP/s bf16 peak of the {gpu.name}, 6N FLOPs " \
                  "per token", mfu


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _lengths(dataset: Any, tokenizer: Any, column: str) -> list[int]:
    def count(batch: dict[str, list[Any]]) -> dict[str, list[int]]:
        texts = batch[column] if column == "text" else [tokenizer.apply_chat_template(m, tokenize=False)
                                                         for m in batch[column]]
        return {"n": [len(ids) for ids in tokenizer(texts, add_special_tokens=column == "text")["input_ids"]]}

    return dataset.map(count, batched=True, remove_columns=dataset.column_names, desc="tokenizing")["n"]


def _prompt_lengths(dataset: Any, tokenizer: Any, kwargs: Any = None) -> list[int]:
    """Tokens of each prompt as GRPOTrainer renders it: the chat template with the generation prompt."""
    extra = kwargs if isinstance(kwargs, dict) else {}

    def count(batch: dict[str, list[Any]]) -> dict[str, list[int]]:
        texts = [tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True, **extra)
                 for m in batch["prompt"]]
        return {"n": [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]}

    return dataset.map(count, batched=True, remove_columns=dataset.column_names, desc="tokenizing prompts")["n"]


def _parameters(config: Any) -> int:
    """The parameter count of the model, built on the meta device (no memory, no download)."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in model.parameters())


def describe(plan: dict[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    """The plan as `kit train --dry-run` prints it: (label, text) rows, and a memory warning or None."""

    def num(value: float | None, unit: str = "", digits: int = 1) -> str:
        return "unknown (set compute.tokens_per_gpu_second)" if value is None else f"{value:,.{digits}f}{unit}"

    sharding = plan["sharding"]
    engine = {"deepspeed": f"ZeRO-{sharding['stage']}", "fsdp2": "FSDP2", "ddp": "DDP"}.get(
        sharding["engine"], sharding["engine"] or "one process, no sharding")
    offload = [k.removeprefix("offload_") for k in ("offload_optimizer", "offload_param") if sharding[k]]
    memory = plan["memory_gib_per_gpu"]
    attention = plan["attention"]
    if plan.get("method") == "grpo":
        gen = plan["generation"]
        by = {"colocate": "vLLM colocated", "server": "a vLLM server on GPUs of its own"}.get(gen, "transformers "
                                                                                              "generate")
        every = plan["generate_every_steps"]
        parts = [f"model states {memory['model_states']:.1f}",
                 f"activations {memory['activations']:.1f} ({plan['micro_batch']} completions x "
                 f"{plan['max_prompt_tokens'] + plan['max_completion_length']:,} tokens)",
                 f"attention mask {memory['mask']:.1f}"]
        if plan["beta"] > 0:
            parts.append(f"reference model {memory['reference']:.1f} (beta {plan['beta']:g})")
        if gen == "colocate":
            capacity = plan["gpu_memory_gib"]
            share = f"{memory['vllm']:.1f}" if memory["vllm"] is not None else "unknown (set compute.gpu_memory_gb)"
            parts.append(f"vLLM colocated {plan['vllm_gpu_memory_utilization']:g} x "
                         f"{f'{capacity:g} GiB' if capacity else 'the GPU'} = {share}"
                         + (", offloaded while training (sleep mode)" if plan["vllm_sleep_mode"] else ""))
        elif gen == "server":
            parts.append("vLLM server: none here (it needs GPUs of its own, beyond compute's)")
        else:
            parts.append(f"generation KV cache {memory['generation']:.1f}, not held with the activations")
        total = "unknown" if memory["total"] is None else f"~{memory['total']:.1f} GiB"
        hours = "unknown (not modelled for GRPO: set compute.tokens_per_gpu_second)" if plan["gpu_hours"] is None \
            else f"at least {plan['gpu_hours']:,.1f} on {plan['gpu']} (training only; generation not estimated)"
        rows = [
            ("datasets", ", ".join(f"{d['path']} ({d['rows']:,} rows)" for d in plan["datasets"])),
            ("problems", f"{plan['problems']:,} (prompt tokens: mean {plan['mean_prompt_tokens']:,.0f}, longest "
                         f"{plan['max_prompt_tokens']:,})"),
            ("generations per step", f"{plan['prompts_per_step']:g} prompts x {plan['num_generations']} generations = "
                                     f"{plan['completions_per_step']:,} completions ({plan['micro_batch']} per GPU x "
                                     f"{plan['world_size']} GPUs x {plan['gradient_accumulation_steps']} "
                                     "accumulation)"),
            ("generation", f"{plan['generation_batch_size']:,} completions ({plan['generation_batch_prompts']:,} prompts)"
                           f" at a time by {by}, "
                           + ("every step" if every == 1 else f"every {every:g} steps" if every > 1 else
                              f"{1 / every:g} times per step")
                           + "; each completion trained "
                           + ("once" if plan["num_iterations"] == 1 else f"{plan['num_iterations']} times")
                           + " (num_iterations)"),
            ("completions", f"at most {plan['max_completion_length']:,} tokens each; {plan['completions_generated']:,} "
                            f"generated in the run, at most {plan['generated_tokens']:,} tokens"),
            ("token budget per step", f"{plan['tokens_per_step']:,} ({plan['completions_per_step']:,} completions x "
                                      f"({plan['mean_prompt_tokens']:,.0f} prompt + {plan['max_completion_length']:,} "
                                      "completion tokens))"),
            ("attention", f"{attention['implementation']} ({attention['reason']})"),
            ("steps", f"{plan['steps']:,} ({'max_steps; ' if plan['max_steps'] else ''}{plan['steps_per_epoch']:,} "
                      "per epoch over the problems)"),
            ("tokens trained", f"at most {plan['total_tokens']:,}"),
            ("parameters", f"{plan['parameters']:,} ({plan['weights_dtype']} weights; vocabulary "
                           f"{plan['vocab_size']:,} tokens)"),
            ("memory per GPU", f"{total} at the {memory['phase']} peak ({engine}"
                               f"{' offload ' + '+'.join(offload) if offload else ''}: {', '.join(parts)})"),
            ("throughput", f"{num(plan['tokens_per_gpu_second'], ' tokens/s per GPU', 0)} from "
                           f"{plan['throughput_source']}" if plan["tokens_per_gpu_second"] else
                           f"unknown ({plan['throughput_source']})"),
            ("GPU-hours", hours),
            ("wall hours", num(plan["hours"])),
            ("cost", "unknown" if plan["cost_usd"] is None else f"at least ${plan['cost_usd']:,.0f}"),
        ]
    else:
        rows = [
            ("datasets", ", ".join(f"{d['path']} ({d['rows']:,} rows)" for d in plan["datasets"])),
            ("samples", f"{plan['samples']:,}"),
            ("tokens", f"{plan['tokens']:,} (mean {plan['mean_sample_tokens']:,.0f}, longest {plan['max_sample_tokens']:,}; "
                       f"{plan['truncated']:,} cut at max_length {plan['max_length']})"),
            ("batch", f"{plan['micro_batch']} per GPU x {plan['world_size']} GPUs x {plan['gradient_accumulation_steps']} "
                      f"accumulation = {plan['global_batch']} sequences"
                      + ((" (packed, padding-free)" if plan["padding_free"] else " (packed)") if plan["packing"] else "")),
            ("attention", f"{attention['implementation']} ({attention['reason']})"),
            ("steps", f"{plan['steps']:,} ({plan['steps_per_epoch']:,} per epoch)"),
            ("tokens per step", f"{plan['tokens_per_step']:,}"),
            ("tokens trained", f"{plan['total_tokens']:,}"),
            ("parameters", f"{plan['parameters']:,} ({plan['weights_dtype']} weights; vocabulary {plan['vocab_size']:,} "
                           "tokens)"),
            ("memory per GPU", f"~{memory['total']:.1f} GiB ({engine}{' offload ' + '+'.join(offload) if offload else ''}: "
                               f"model states {memory['model_states']:.1f}, activations {memory['activations']:.1f}, "
                               f"attention mask {memory['mask']:.1f})"),
            ("throughput", f"{num(plan['tokens_per_gpu_second'], ' tokens/s per GPU', 0)}"
                           + (f" from {plan['throughput_source']}" if plan["tokens_per_gpu_second"] else "")),
            ("GPU-hours", num(plan["gpu_hours"], f" on {plan['gpu']}")),
            ("wall hours", num(plan["hours"])),
            ("cost", "unknown" if plan["cost_usd"] is None else f"${plan['cost_usd']:,.0f}"),
        ]
    warning = None
    if plan["memory_warning"]:
        block = plan.get("method", "sft")
        lower = ", max_completion_length or vllm_gpu_memory_utilization" if block == "grpo" else " or max_length"
        warning = (f"{plan['memory_warning']}: raise the ZeRO stage, turn on {block}.activation_checkpointing, or "
                   f"lower per_device_train_batch_size{lower}")
    return rows, warning
