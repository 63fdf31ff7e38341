"""`kit train RECIPE --on hf-jobs`: run a training recipe as a Hugging Face Job.

The job runs ``uv run --with reasoning-hub-kit[train,gpu]==VERSION ... kit train env:KIT_TRAIN_RECIPE --on local``
in a uv image (``[train]`` alone on the cpu flavors): the recipe's YAML travels in that environment variable (recipes hold no secrets), the Hub
token only as the job's secret ``HF_TOKEN``. Everything the job reads must be on the Hub, and the weights
must be pushed there (``hub.repo``): the job's disk is lost when it ends.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from huggingface_hub import HfApi, JobInfo, get_token
from huggingface_hub._jobs_api import DEFAULT_UV_IMAGE

import kit
from kit.hub.ids import is_repo_id
from kit.recipes import RecipeError, dump_recipe
from kit.recipes.train import ACCELERATE_CONFIGS, RECIPE_ENV, TrainRecipe

FAILED_STAGES = ("ERROR", "CANCELED", "DELETED")
_TIMEOUT = re.compile(r"\d+(\.\d+)?[smhd]?")


class JobFailed(Exception):
    """A Hugging Face Job that ended in ERROR, CANCELED or DELETED; the message is one line."""


def check_runnable(recipe: TrainRecipe) -> None:
    """Raise RecipeError (one line) when a Hugging Face Job cannot run ``recipe``."""
    for n, entry in enumerate(recipe.data.mixture):
        if not is_repo_id(entry.path, bare=True):
            raise RecipeError(f"data.mixture[{n}].path: {entry.path} is not a Hub dataset and the job cannot "
                              f"read local folders: publish it first with "
                              f"`kit publish {entry.path} --repo ORG/NAME`")
    for key in ("name_or_path", "tokenizer"):
        value = getattr(recipe.model, key)
        if value not in (None, "build") and not is_repo_id(value, bare=True):
            raise RecipeError(f"model.{key}: {value} is not a Hub model and the job cannot read local "
                              f"folders: publish it first with "
                              f"`kit publish {value} --repo ORG/NAME --type model`")
    if recipe.chat_template not in ("model", "kit"):
        raise RecipeError(f"chat_template: the job cannot read the local file {recipe.chat_template}: "
                          "use `model` or `kit`")
    accelerate = recipe.launch.accelerate
    if accelerate and accelerate not in ACCELERATE_CONFIGS:
        raise RecipeError(f"launch.accelerate: the job cannot read the local file {accelerate}: use one of the "
                          f"kit's configs ({', '.join(ACCELERATE_CONFIGS)})")
    if not recipe.hub.repo:
        raise RecipeError("hub.repo is required with --on hf-jobs: the job's disk is lost when it ends, "
                          "so the weights must be pushed to the Hub")
    if not _TIMEOUT.fullmatch(recipe.launch.hf_jobs.timeout):
        raise RecipeError(f"launch.hf_jobs.timeout: {recipe.launch.hf_jobs.timeout!r} is not a duration "
                          "like 90m, 12h or 2d")


def job_command(recipe: TrainRecipe) -> tuple[str, list[str]]:
    """The job's image and command: uv installs the kit, then runs
    ``kit train env:KIT_TRAIN_RECIPE --on local``.

    Built here rather than by ``HfApi.run_uv_job``, which uploads any file of the working directory named like
    an argument (``train``, ``local``) to a bucket and rewrites the argument.
    """
    cfg = recipe.launch.hf_jobs
    extras = "train" if cfg.flavor.startswith("cpu") else "train,gpu"  # Liger and the Hub's flash-attn on GPUs
    requirements = [cfg.kit or f"reasoning-hub-kit[{extras}]=={kit.__version__}", *cfg.dependencies]
    command = ["uv", "run"]
    for requirement in requirements:
        command += ["--with", requirement]
    if cfg.python:
        command += ["--python", cfg.python]
    return cfg.image or DEFAULT_UV_IMAGE, [*command, "kit", "train", f"env:{RECIPE_ENV}", "--on", "local"]


def submit(recipe: TrainRecipe, recipe_text: str | None = None, *, follow: bool = True,
           log: Callable[[str], object] = print, api: HfApi | None = None) -> JobInfo:
    """Submit ``recipe`` (its YAML: ``recipe_text``, default ``dump_recipe(recipe)``) as a Hugging Face Job.

    With ``follow``, stream the job's logs to ``log`` until it ends and return its final info; raise
    JobFailed when it ends in ERROR, CANCELED or DELETED. Without, return the info of the submitted job.
    """
    check_runnable(recipe)
    api = api or HfApi()
    token = api.token if isinstance(api.token, str) else get_token()
    if not token:
        raise RecipeError("no Hugging Face token to give the job: "
                          "log in with `hf auth login` or set HF_TOKEN")
    text = dump_recipe(recipe) if recipe_text is None else recipe_text
    if token in text:
        raise RecipeError("the recipe holds your Hugging Face token: remove it (the job gets it as a secret)")
    cfg = recipe.launch.hf_jobs
    image, command = job_command(recipe)
    name = re.sub(r"[^A-Za-z0-9_-]", "-", recipe.name)[:80]
    job = api.run_job(
        image=image, command=command, flavor=cfg.flavor, timeout=cfg.timeout, namespace=cfg.namespace,
        env={RECIPE_ENV: text, "PYTHONUNBUFFERED": "1"}, secrets={"HF_TOKEN": token},
        name=f"kit-train-{name}", labels={"kit": "train", "kit-recipe": name}, token=token,
    )
    ref = f"{job.owner.name}/{job.id}"
    log(f"Hugging Face Job {ref} submitted ({cfg.flavor}): {job.url}")
    if not follow:
        log(f"Follow it with `hf jobs logs {ref}`.")
        return job
    try:
        for line in api.fetch_job_logs(job_id=job.id, namespace=job.owner.name, follow=True, token=token):
            log(line)
        job = api.wait_for_job(job.id, namespace=job.owner.name, poll_interval=5, token=token)
    except KeyboardInterrupt:
        log(f"Stopped following; the job {ref} keeps running: `hf jobs logs {ref}` follows it, "
            f"`hf jobs cancel {ref}` stops it.")
        raise
    stage = getattr(job.status.stage, "value", job.status.stage)
    if stage in FAILED_STAGES:
        message = " ".join((job.status.message or "").split())
        raise JobFailed(f"Hugging Face Job {ref} ended {stage}" + (f": {message}" if message else "")
                        + f" ({job.url})")
    log(f"Hugging Face Job {ref} {stage}: the model is at {api.endpoint}/{recipe.hub.repo}")
    return job

