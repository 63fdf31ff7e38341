"""`kit train` under `accelerate launch` with FSDP2 (recipes/accelerate/fsdp2.yaml), on the CPU.

What runs on the CPU and what does not. torch's FSDP2 (`fully_shard`) itself trains on the CPU over gloo. But
accelerate turns FSDP on only for accelerator devices: `AcceleratorState` switches its distributed type to FSDP
inside the branch for MULTI_GPU / MULTI_XPU / ... (accelerate 1.16, accelerate/state.py, the
`elif self.distributed_type in [DistributedType.MULTI_GPU, ...]` branch that ends in
`self.distributed_type = DistributedType.FSDP`). On a machine without GPUs each rank gets MULTI_CPU (with
`use_cpu`, as the kit sets there) or NO (without), no FSDP plugin and no error: the Trainer then wraps the
model in plain DDP. `kit train` says so (kit.train.launch.cpu_note).

So the first test checks what accelerate reads from the shipped file: the launcher's arguments, the environment
it gives each rank and the FullyShardedDataParallelPlugin built from it (FSDP version 2, full sharding, one FSDP
unit per decoder layer, a full state dict). The second runs the whole path with that one gate lifted in the
ranks (a sitecustomize that makes MULTI_CPU + ACCELERATE_USE_FSDP an FSDP state, as a GPU rank gets):
accelerate's fsdp2_prepare_model (fully_shard per layer, rank 0's weights broadcast to a meta-device model on
rank 1), the Trainer's FSDP checkpoints, `save_model` writing safetensors that from_pretrained loads, and a
resume from an FSDP checkpoint that ends with the same weights as the run that was not stopped. About 60 s on
2 CPU cores.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from tests.launcher import train_under_launcher

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "recipes" / "sft" / "tiny-cpu.yaml"
STEPS, SAVE, BATCH, RANKS = 4, 2, 2, 2

# In each rank (the launcher sets ACCELERATE_USE_FSDP there): where accelerate would fall back to DDP on the
# CPU, give the state FSDP and its plugin, as it does for a GPU rank (accelerate/state.py).
LIFT_CPU_GATE = '''
import os

if os.environ.get("ACCELERATE_USE_FSDP") == "true" and "LOCAL_RANK" in os.environ:
    import accelerate.state as _state
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    _init = _state.AcceleratorState.__init__

    def __init__(self, *args, fsdp_plugin=None, **kwargs):
        _init(self, *args, fsdp_plugin=fsdp_plugin, **kwargs)
        if self.distributed_type == DistributedType.MULTI_CPU:
            plugin = fsdp_plugin or FullyShardedDataParallelPlugin()
            if self._mixed_precision != "no":
                plugin.set_mixed_precision(self._mixed_precision)
            self.distributed_type = DistributedType.FSDP
            self.fsdp_plugin = plugin
            _state.PartialState._shared_state["distributed_type"] = DistributedType.FSDP

    _state.AcceleratorState.__init__ = __init__
'''


def test_the_fsdp2_config_reaches_accelerate_as_fsdp_version_2(tmp_path: Path, monkeypatch) -> None:
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.fsdp_utils import fsdp2_prepare_auto_wrap_policy
    from accelerate.utils.launch import prepare_multi_gpu_env
    from torch.distributed.fsdp import OffloadPolicy, StateDictType
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from kit.recipes.train import ACCELERATE_CONFIGS, accelerate_config_file, load_train_recipe
    from kit.train.launch import cpu_note, resolved_accelerate_config

    assert "fsdp2" in ACCELERATE_CONFIGS
    shipped = yaml.safe_load(accelerate_config_file("fsdp2").read_text())
    fsdp1_only = {"fsdp_sharding_strategy", "fsdp_backward_prefetch", "fsdp_forward_prefetch",
                  "fsdp_use_orig_params", "fsdp_sync_module_states"}  # FSDP2 ignores or rejects these
    assert not fsdp1_only & set(shipped["fsdp_config"])

    recipe = load_train_recipe(TINY, ["launch.accelerate=fsdp2", f"compute.gpus_per_node={RANKS}"])
    config = resolved_accelerate_config(recipe, tmp_path, machines=1)
    resolved = yaml.safe_load(config.read_text())
    assert resolved["distributed_type"] == "FSDP" and "deepspeed_config" not in resolved
    assert (resolved["num_machines"], resolved["num_processes"]) == (1, RANKS)
    assert resolved["fsdp_config"] == shipped["fsdp_config"]

    # The launcher reads the file as `accelerate launch --config_file` does and sets each rank's environment.
    for key in [k for k in os.environ if k.startswith(("FSDP_", "ACCELERATE_"))]:
        monkeypatch.delenv(key)
    args = launch_command_parser().parse_args(["--config_file", str(config), "train.py"])
    args, _, _ = _validate_launch_command(args)
    assert args.use_fsdp and not args.use_deepspeed and not args.cpu and args.num_processes == RANKS
    env = prepare_multi_gpu_env(args)
    assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_VERSION"] == "2"
    for key, value in env.items():
        if key.startswith(("FSDP_", "ACCELERATE_")):
            monkeypatch.setenv(key, value)

    plugin = FullyShardedDataParallelPlugin()  # what Accelerator() builds from that environment
    assert plugin.fsdp_version == 2
    assert plugin.reshard_after_forward is True  # full sharding
    assert type(plugin.cpu_offload) is OffloadPolicy  # no offload
    assert plugin.state_dict_type == StateDictType.FULL_STATE_DICT  # save_model writes safetensors
    assert plugin.cpu_ram_efficient_loading is True
    assert plugin.activation_checkpointing is False  # the recipe's sft.activation_checkpointing decides
    assert plugin.mixed_precision_policy is None  # the Trainer sets it from sft.bf16 / sft.fp16
    # The FSDP1 settings the launcher always exports stay unread under version 2.
    assert (plugin.sharding_strategy, plugin.backward_prefetch, plugin.forward_prefetch, plugin.use_orig_params,
            plugin.sync_module_states) == (None, None, None, None, None)

    # TRANSFORMER_BASED_WRAP with no class named: the model's _no_split_modules, one FSDP unit per decoder layer.
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, num_key_value_heads=1))
    plugin.set_auto_wrap_policy(model)
    policy = fsdp2_prepare_auto_wrap_policy(plugin, model)
    assert [name for name, module in model.named_modules() if policy(module)] == ["model.layers.0",
                                                                               "model.layers.1"]

    assert "plain DDP" in (cpu_note(recipe) or "")  # tiny-cpu sets sft.use_cpu: FSDP would not be on


def _train(out: Path, quickstart: Path) -> str:
    sets = [f"data.mixture.0.path={quickstart}", "launch.accelerate=fsdp2", f"compute.gpus_per_node={RANKS}",
            f"sft.max_steps={STEPS}", f"sft.save_steps={SAVE}", "sft.save_total_limit=2", "sft.max_length=512",
            f"sft.per_device_train_batch_size={BATCH}"]
    output = train_under_launcher(TINY, out, sets, timeout=240, ranks=RANKS, site=LIFT_CPU_GATE)
    assert "FSDP2 conversion" not in output  # accelerate's warning about FSDP1 settings it dropped
    return output


def _losses(checkpoint: Path) -> list[float]:
    log = json.loads((checkpoint / "trainer_state.json").read_text())["log_history"]
    return [entry["loss"] for entry in log if "loss" in entry]


def test_fsdp2_trains_saves_and_resumes_on_the_cpu(quickstart: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    checkpoints = tmp_path / "out.checkpoints"

    output = _train(out, quickstart)
    assert "asks for FSDP" in output  # the launcher's note on the CPU fallback (lifted here)
    results = json.loads((out / "train_results.json").read_text())
    assert results["compute"]["gpus"] == RANKS and results["metrics"]["global_step"] == STEPS
    assert results["hyperparameters"]["global_batch_size"] == BATCH * RANKS
    assert results["hyperparameters"]["deepspeed_zero_stage"] is None

    # The Trainer's FSDP checkpoint (DDP would write optimizer.pt and no pytorch_model_fsdp.bin): with a full
    # state dict, one model file and one optimizer file gathered on rank 0, keyed by parameter name.
    last = checkpoints / f"checkpoint-{STEPS}"
    assert {"pytorch_model_fsdp.bin", "optimizer.bin", "model.safetensors"} <= {p.name for p in last.iterdir()}
    assert not (last / "optimizer.pt").exists()
    fsdp_weights = torch.load(last / "pytorch_model_fsdp.bin", map_location="cpu", weights_only=True)
    optimizer = torch.load(last / "optimizer.bin", map_location="cpu", weights_only=False)
    moments = optimizer["state"]["model.embed_tokens.weight"]
    assert moments["exp_avg"].shape == fsdp_weights["model.embed_tokens.weight"].shape  # whole, not a shard
    tied = {"lm_head.weight"} if json.loads((out / "config.json").read_text())["tie_word_embeddings"] else set()
    assert set(optimizer["state"]) == set(fsdp_weights) - tied  # AdamW state for every parameter
    losses = _losses(last)
    assert len(losses) == STEPS and all(math.isfinite(loss) and loss > 0 for loss in losses)

    # The final folder: ordinary safetensors that from_pretrained loads, equal to the trained weights.
    final = load_file(out / "model.safetensors")
    assert set(final) == set(fsdp_weights)
    assert all(torch.equal(final[name], fsdp_weights[name]) for name in final)
    model = AutoModelForCausalLM.from_pretrained(out)
    loaded = model.state_dict()
    assert all(torch.equal(loaded[name], final[name]) for name in final)
    ids = torch.arange(16).unsqueeze(0) % model.config.vocab_size
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, 16, model.config.vocab_size) and torch.isfinite(logits).all()

    # Resume: as if the run had stopped after its step-SAVE checkpoint. It loads the FSDP model and optimizer
    # state from there and ends where the uninterrupted run did.
    shutil.rmtree(out)
    shutil.rmtree(last)
    output = _train(out, quickstart)
    assert f"resuming from {checkpoints}/checkpoint-{SAVE}" in output
    resumed = _losses(last)
    assert resumed == pytest.approx(losses, abs=1e-4)
    again = load_file(out / "model.safetensors")
    for name, tensor in final.items():
        assert torch.allclose(again[name], tensor, atol=1e-6), name
