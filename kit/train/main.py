"""Where a `kit train` run goes: a Hugging Face Job, a Slurm job, `accelerate launch` here, or this process.

The CLI loads the recipe, prints the `--dry-run` plan, and hands everything else to `start`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kit.core.log import Log
from kit.recipes import RecipeError, dump_recipe
from kit.recipes.train import TrainRecipe

if TYPE_CHECKING:  # transformers is imported only where a run trains here
    from kit.train.run import TrainResult

TARGETS = ("local", "hf-jobs", "slurm")


@dataclass(frozen=True)
class Started:
    """What `start` did: submitted a job (both None), launched ranks (`exit_code`), or trained here (`result`,
    None on a rank that is not the main process)."""

    exit_code: int | None = None
    result: TrainResult | None = None


def start(recipe_path: str, overrides: list[str], recipe: TrainRecipe, *, on: str = "local", overwrite: bool = False,
          push: bool = True, log: Log = print) -> Started:
    """Run `recipe` where `on` says: `hf-jobs` and `slurm` submit it; `local` launches the recipe's accelerate
    config (each rank runs `kit train` again under the launcher) or, without one, trains in this process.
    `overwrite` (local runs) starts over: the old output is deleted once, here, never by a rank."""
    if on not in TARGETS:
        raise RecipeError(f"--on {on!r}: use one of {', '.join(TARGETS)}")
    if recipe.method == "grpo":  # the rewards' names and options, checked before any job is submitted
        from kit.train.rewards import check_rewards

        limit = recipe.grpo.get("max_completion_length")
        check_rewards(recipe.rewards, recipe.verify, int(limit) if limit is not None else None)
    if on == "hf-jobs":
        from kit.train.jobs import submit

        submit(recipe, dump_recipe(recipe), log=log)
        return Started()
    if on == "slurm":
        from kit.train.slurm import submit as submit_slurm

        submit_slurm(recipe, dump_recipe(recipe), log=log)
        return Started()
    from kit.train.launch import launch_local, under_launcher
    from kit.train.run import check_fresh, train

    if overwrite:
        recipe.output.overwrite = True
    if recipe.launch.accelerate and not under_launcher():
        check_fresh(recipe)  # once, here: the ranks must neither delete nor train into a finished run
        return Started(exit_code=launch_local(recipe_path, overrides, recipe, extra=[] if push else ["--no-push"]))
    return Started(result=train(recipe, log=log, push=push))
