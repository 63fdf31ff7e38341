"""`kit train RECIPE --on slurm`: render recipes/launch/train.slurm with the recipe and submit it with sbatch.

Everything the job needs is written to `<output.dir>.slurm/` first: `recipe.yaml` (the resolved recipe every
node trains from), `accelerate.yaml` (the recipe's accelerate config with its DeepSpeed file made absolute
and the process counts of `compute`), `train.slurm` (the rendered script) and `logs/` (Slurm's job log,
which Slurm itself does not create). The job runs one `accelerate launch` per node; see the template for
its variables. No token is written anywhere: the nodes use the saved Hugging Face login or HF_TOKEN from the
environment sbatch is called in.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from kit.recipes import RecipeError
from kit.recipes.train import TrainRecipe, accelerate_config_file

DEFAULT_PORT = 29500


class SlurmError(RecipeError):
    """Slurm cannot take the job (no sbatch, or sbatch refused it); the message is one line."""


def render(recipe: TrainRecipe, recipe_file: Path, *, accelerate_config: Path | None = None,
           job_name: str | None = None, log_dir: Path | None = None, workdir: Path | None = None,
           python: str | None = None, main_process_port: int = DEFAULT_PORT) -> str:
    """The Slurm script for `recipe`, from its template `recipe.launch.slurm.template` (Jinja2, strict).

    `recipe_file` is the resolved recipe YAML the nodes train from. Defaults: the recipe's own accelerate
    config (`launch.accelerate`), the recipe's name as job name, `<recipe_file's folder>/logs`, the current
    directory as the job's working directory and this Python interpreter.
    """
    import jinja2

    template_file = Path(recipe.launch.slurm.template)
    if not template_file.is_file():
        raise RecipeError(f"launch.slurm.template: no such file: {template_file}")
    if accelerate_config is None and recipe.launch.accelerate:
        accelerate_config = accelerate_config_file(recipe.launch.accelerate)
    if accelerate_config is None and recipe.compute.nodes > 1:
        raise RecipeError(f"compute.nodes is {recipe.compute.nodes} but launch.accelerate is empty: several nodes "
                          "need an accelerate config (e.g. recipes/accelerate/zero3.yaml)")
    log_dir = Path(log_dir or Path(recipe_file).parent / "logs").absolute()
    if any(c.isspace() for c in str(log_dir)):
        raise RecipeError(f"the Slurm log folder {log_dir} has whitespace in its path, which #SBATCH --output "
                          "cannot take; choose an output.dir without spaces")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, autoescape=False)
    env.filters["q"] = lambda value: shlex.quote(str(value))
    try:
        template = env.from_string(template_file.read_text(encoding="utf-8"))
        return template.render(
            recipe=recipe,
            recipe_file=str(Path(recipe_file).absolute()),
            accelerate_config=str(Path(accelerate_config).absolute()) if accelerate_config else None,
            job_name=job_name or recipe.name,
            log_dir=str(log_dir),
            workdir=str(Path(workdir or Path.cwd()).absolute()),
            python=python or sys.executable,
            main_process_port=main_process_port,
        )
    except jinja2.TemplateError as exc:
        where = f" line {exc.lineno}" if getattr(exc, "lineno", None) else ""
        raise RecipeError(f"launch.slurm.template: {template_file}{where}: {exc.message or exc}") from None


def submit(recipe: TrainRecipe, recipe_text: str, *, log: Callable[[str], object] = print,
           dry_run: bool = False) -> str:
    """Write `<output.dir>.slurm/` (recipe.yaml, accelerate.yaml, train.slurm, logs/) and submit the script
    with `sbatch --parsable`; return the job id ("" with `dry_run`, which writes everything but submits
    nothing). `recipe_text` is the recipe's YAML (`kit.recipes.dump_recipe(recipe)`)."""
    folder = Path(recipe.output.dir + ".slurm").absolute()
    folder.mkdir(parents=True, exist_ok=True)
    recipe_file = folder / "recipe.yaml"
    recipe_file.write_text(recipe_text, encoding="utf-8")
    accelerate_config = None
    if recipe.launch.accelerate:
        from kit.train.launch import resolved_accelerate_config

        accelerate_config = resolved_accelerate_config(recipe, folder, machines=recipe.compute.nodes)
    log_dir = folder / "logs"
    log_dir.mkdir(exist_ok=True)
    script = folder / "train.slurm"
    script.write_text(render(recipe, recipe_file, accelerate_config=accelerate_config, log_dir=log_dir),
                      encoding="utf-8")
    script.chmod(0o755)
    job_name = recipe.name
    if dry_run:
        log(f"dry run: wrote {script}; submit it with `sbatch {shlex.quote(str(script))}`")
        return ""
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise SlurmError(f"Slurm's sbatch is not on PATH: run this on a Slurm login node, or submit the script "
                         f"written to {script} with sbatch yourself")
    done = subprocess.run([sbatch, "--parsable", str(script)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}").splitlines()[-1]
        raise SlurmError(f"sbatch refused {script}: {reason}")
    job_id = (done.stdout.strip().splitlines() or [""])[-1].split(";")[0].strip()
    if not job_id.isdigit():
        raise SlurmError(f"sbatch --parsable printed no job id for {script} (it printed {done.stdout.strip()!r})")
    log(f"submitted Slurm job {job_id}: {recipe.compute.nodes} node(s) x {recipe.compute.gpus_per_node} "
        f"{recipe.compute.gpu}; log {log_dir / f'{job_name}-{job_id}.out'}")
    return job_id
