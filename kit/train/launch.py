"""`kit train --on local`: in this process, or under `accelerate launch` when the recipe names a config.

Under the launcher every rank runs `python -m kit.cli train RECIPE --on local` again; it sees WORLD_SIZE and
trains in-process. The accelerate config is copied next to the checkpoints with its DeepSpeed file made
absolute and its process counts taken from the recipe's `compute` block.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from kit.recipes import RecipeError
from kit.recipes.train import TrainRecipe, accelerate_config_file


def under_launcher() -> bool:
    return "WORLD_SIZE" in os.environ


def resolved_accelerate_config(recipe: TrainRecipe, folder: Path, *, machines: int = 1) -> Path:
    """A copy of `launch.accelerate` in `folder`: DeepSpeed file absolute, processes from `compute`."""
    source = accelerate_config_file(recipe.launch.accelerate or "")
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    ds = config.get("deepspeed_config") or {}
    if ds.get("deepspeed_config_file"):
        ds["deepspeed_config_file"] = str(deepspeed_file(source, ds["deepspeed_config_file"]))
    config.update(num_machines=machines, num_processes=recipe.compute.gpus_per_node * machines)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "accelerate.yaml"
    out.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return out


def deepspeed_file(source: Path, file: str) -> Path:
    """The absolute DeepSpeed file an accelerate config (`source`) names: beside it, or relative to the working
    directory or a folder above the config (accelerate itself reads it against the working directory)."""
    if Path(file).is_absolute():
        return Path(file)
    candidates = [source.parent / Path(file).name, Path(file), *(p / file for p in source.resolve().parents)]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise RecipeError(f"{source}: deepspeed_config_file {file} not found")
    return found.resolve()


def accelerate_command(recipe: TrainRecipe, recipe_path: str, overrides: list[str], extra: list[str]) -> list[str]:
    """The `accelerate launch` command that runs this recipe on `compute.gpus_per_node` local processes."""
    config = resolved_accelerate_config(recipe, recipe.checkpoint_dir)
    sets = [arg for o in overrides for arg in ("--set", o)]
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config), "-m", "kit.cli",
            "train", recipe_path, "--on", "local", *sets, *extra]


def launch_local(recipe_path: str, overrides: list[str], recipe: TrainRecipe, extra: list[str]) -> int:
    """Run the recipe under accelerate; the exit code of the launcher."""
    command = accelerate_command(recipe, recipe_path, overrides, extra)
    print("+ " + " ".join(command), file=sys.stderr, flush=True)
    note = cpu_note(recipe)
    if note:
        print(note, file=sys.stderr, flush=True)
    return subprocess.call(command, env=launch_env())


def cpu_note(recipe: TrainRecipe) -> str | None:
    """A warning when the ranks will train on the CPU under an FSDP config: accelerate turns FSDP on only for
    accelerator devices (GPUs and the like); on the CPU it gives each rank plain DDP over gloo instead, with no
    error (torch's fully_shard itself would run there)."""
    import torch

    if torch.cuda.is_available() and not recipe.trainer_args.get("use_cpu"):
        return None
    source = accelerate_config_file(recipe.launch.accelerate or "")
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    if config.get("distributed_type") != "FSDP":
        return None
    return (f"note: {source.name} asks for FSDP, but these processes train on the CPU, where accelerate runs FSDP "
            "configs as plain DDP (gloo): every rank holds the whole model and its optimizer states")


def launch_env() -> dict[str, str]:
    """The launcher's environment. Without CUDA, DeepSpeed runs on its CPU accelerator (gloo collectives, the
    Trainer's torch AdamW: the kit's DeepSpeed files name no optimizer); say so rather than let it guess."""
    import torch

    env = dict(os.environ)
    if not torch.cuda.is_available():
        env.setdefault("DS_ACCELERATOR", "cpu")
    return env


def prepare_rank() -> None:
    """In a rank under the launcher, before DeepSpeed starts its process group.

    On DeepSpeed's CPU accelerator its comm backend JIT-compiles a shared-memory all-reduce op with g++ when it
    starts (about 2 minutes on 2 cores the first time, an error where there is no compiler), though only its
    inference all-reduce uses it; ZeRO's collectives go through torch.distributed (gloo). Mark it unbuildable.
    """
    if os.environ.get("DS_ACCELERATOR") == "cpu" and os.environ.get("ACCELERATE_USE_DEEPSPEED") == "true":
        import deepspeed.ops

        ops = getattr(deepspeed.ops, "__compatible_ops__", None)  # the probe DeepSpeed consults before building
        if isinstance(ops, dict):
            ops["deepspeed_shm_comm"] = False
