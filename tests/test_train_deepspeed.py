"""`kit train` under `accelerate launch` with DeepSpeed ZeRO-2, on the CPU.

The tiny-cpu recipe with `launch.accelerate: zero2` (the kit's shipped config) and two processes: `kit train`
re-runs itself under `accelerate launch`, each rank trains a few steps with DeepSpeed's CPU accelerator (gloo
collectives, the Trainer's torch AdamW wrapped by ZeRO), and the final folder holds loadable weights. Runs in
a child process, as a user would; about 40 s on 2 CPU cores.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from tests.launcher import train_under_launcher

STEPS, BATCH, RANKS = 4, 2, 2


def test_zero2_trains_on_the_cpu_under_accelerate_launch(quickstart: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    sets = [f"data.mixture.0.path={quickstart}", "launch.accelerate=zero2", f"compute.gpus_per_node={RANKS}",
            f"sft.max_steps={STEPS}", f"sft.save_steps={STEPS}", "sft.max_length=512",
            f"sft.per_device_train_batch_size={BATCH}"]
    train_under_launcher("recipes/sft/tiny-cpu.yaml", out, sets, timeout=280, ranks=RANKS)

    results = json.loads((out / "train_results.json").read_text())
    assert results["hyperparameters"]["deepspeed_zero_stage"] == 2
    assert results["compute"]["gpus"] == RANKS and results["metrics"]["global_step"] == STEPS
    assert results["hyperparameters"]["global_batch_size"] == BATCH * RANKS

    # DeepSpeed's own checkpoint: one ZeRO-2 optimizer shard per rank, its config with the "auto" fields filled
    # from the recipe's sft block, and no DeepSpeed optimizer (the Trainer's torch AdamW, no C++ op to build).
    checkpoint = out.parent / "out.checkpoints" / f"checkpoint-{STEPS}"
    shards = sorted((checkpoint / f"global_step{STEPS}").glob("zero_pp_rank_*_mp_rank_00_optim_states.pt"))
    assert [p.name.split("_")[3] for p in shards] == [str(r) for r in range(RANKS)]
    state = torch.load(shards[0], map_location="cpu", weights_only=False)
    assert int(state["optimizer_state_dict"]["zero_stage"]) == 2
    assert set(state["optimizer_state_dict"]["partition_count"]) == {RANKS}  # per param group
    ds_config = state["ds_config"]
    assert ds_config["zero_optimization"]["stage"] == 2 and "optimizer" not in ds_config
    assert ds_config["train_micro_batch_size_per_gpu"] == BATCH and ds_config["train_batch_size"] == BATCH * RANKS

    log = json.loads((checkpoint / "trainer_state.json").read_text())["log_history"]
    losses = [entry["loss"] for entry in log if "loss" in entry]
    assert len(losses) == STEPS and all(math.isfinite(loss) and loss > 0 for loss in losses)

    model = AutoModelForCausalLM.from_pretrained(out)
    ids = torch.arange(16).unsqueeze(0) % model.config.vocab_size
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, 16, model.config.vocab_size) and torch.isfinite(logits).all()
