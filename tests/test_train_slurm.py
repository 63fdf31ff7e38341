"""`kit train --on slurm` (kit/train/slurm.py, recipes/launch/train.slurm) and the shipped training recipes.

Slurm cannot run here, so submission goes through a stand-in for Slurm's `sbatch`: an executable put first on
PATH that records its arguments and prints a job id the way `sbatch --parsable` does. The rendered script is
checked with `bash -n` (and shellcheck where it is installed).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from kit.recipes import RecipeError, dump_recipe
from kit.recipes.train import TrainRecipe, accelerate_config_file, load_train_recipe
from kit.train.slurm import SlurmError, render, submit

REPO = Path(__file__).resolve().parents[1]
SKY_T1 = REPO / "recipes" / "sft" / "sky-t1-32b.yaml"
TRAIN_RECIPES = sorted(path for folder in ("sft", "midtrain", "rl") for path in (REPO / "recipes" / folder).glob("*.yaml"))
DEEPSPEED_CONFIGS = sorted((REPO / "recipes" / "accelerate").glob("*.json"))
ACCELERATE_CONFIGS = sorted((REPO / "recipes" / "accelerate").glob("*.yaml"))
BATCH_FIELDS = ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
                "gradient_clipping")
JOB_ID = "4242"


def sky_t1(tmp_path: Path, *overrides: str) -> TrainRecipe:
    return load_train_recipe(SKY_T1, ["compute.nodes=2", f"output.dir={tmp_path / 'out' / 'sky-t1'}", *overrides])


def check_script(path: Path) -> None:
    """The rendered script parses as bash (and passes shellcheck, where installed)."""
    subprocess.run(["bash", "-n", str(path)], check=True, capture_output=True, text=True)
    if shutil.which("shellcheck"):
        done = subprocess.run(["shellcheck", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout


def stand_in_sbatch(bin_dir: Path, argv_file: Path, *, fail: str | None = None) -> Path:
    """Put a stand-in for Slurm's sbatch (which cannot run here) at `bin_dir/sbatch`.

    It writes its arguments, one per line, to `argv_file` and prints `JOB_ID;cluster` like
    `sbatch --parsable` on a multi-cluster site; with `fail` it prints that to stderr and exits 1, as sbatch
    does when the controller refuses a job.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    body = f"printf '%s\\n' \"$@\" > '{argv_file}'\n"
    body += f"echo '{fail}' >&2\nexit 1\n" if fail else f"echo '{JOB_ID};testcluster'\n"
    script = bin_dir / "sbatch"
    script.write_text("#!/bin/sh\n# Stand-in for Slurm's sbatch in the tests (Slurm cannot run here).\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


# ---- render --------------------------------------------------------------------------------------------------


def test_render_two_nodes_runs_one_accelerate_launch_per_node(tmp_path: Path) -> None:
    recipe = sky_t1(tmp_path)
    recipe_file = tmp_path / "job" / "recipe.yaml"
    text = render(recipe, recipe_file)
    script = tmp_path / "train.slurm"
    script.write_text(text)
    check_script(script)

    assert text.startswith("#!/bin/bash\n")
    for line in ("#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=1", "#SBATCH --gpus-per-node=8",
                 "#SBATCH --time=24:00:00", f"#SBATCH --output={tmp_path / 'job' / 'logs'}/%x-%j.out",
                 "#SBATCH --job-name=Sky-T1-32B-kit"):
        assert line + "\n" in text
    assert "#SBATCH --partition" not in text and "#SBATCH --account" not in text
    launch = text[text.index("accelerate.commands.launch"):]
    assert "--num_machines 2 " in launch and "--num_processes 16 " in launch
    assert '--machine_rank "$SLURM_NODEID"' in launch and "--rdzv_backend c10d" in launch
    assert '--config_file "$KIT_ACCELERATE_CONFIG"' in launch
    assert '-m kit.cli train "$KIT_RECIPE_FILE" --on local' in launch
    config = REPO / "recipes" / "accelerate" / "zero3-offload.yaml"
    assert f"export KIT_ACCELERATE_CONFIG={config}\n" in text
    assert f"export KIT_RECIPE_FILE={recipe_file}\n" in text
    assert "srun --nodes=2 --ntasks-per-node=1" in text
    assert "scontrol show hostnames" in text
    assert "HF_TOKEN=" not in text and "set -x" not in text


def test_render_options_and_setup(tmp_path: Path) -> None:
    recipe = sky_t1(tmp_path, "launch.slurm.partition=gpu", "launch.slurm.account=proj", "launch.slurm.qos=high",
                    "launch.slurm.time=2-00:00:00")
    recipe.launch.slurm.setup = "module load cuda/12.4\nsource /shared/venv/bin/activate\n"
    text = render(recipe, tmp_path / "recipe.yaml", workdir=Path("/shared/kit"), python="/shared/venv/bin/python",
                  main_process_port=29611, job_name="sky")
    script = tmp_path / "train.slurm"
    script.write_text(text)
    check_script(script)
    for line in ("#SBATCH --partition=gpu", "#SBATCH --account=proj", "#SBATCH --qos=high",
                 "#SBATCH --time=2-00:00:00", "#SBATCH --job-name=sky", "cd /shared/kit",
                 "module load cuda/12.4", "source /shared/venv/bin/activate", "MAIN_PORT=29611",
                 "export KIT_PYTHON=/shared/venv/bin/python"):
        assert line + "\n" in text
    assert text.index("source /shared/venv/bin/activate") < text.index("srun ")


def test_render_without_accelerate_runs_one_process(tmp_path: Path) -> None:
    recipe = load_train_recipe(REPO / "recipes" / "sft" / "tiny-cpu.yaml")
    text = render(recipe, tmp_path / "with space" / "recipe.yaml", log_dir=tmp_path / "logs")
    script = tmp_path / "train.slurm"
    script.write_text(text)
    check_script(script)
    assert "#SBATCH --gpus-per-node" not in text  # compute.gpu: cpu
    assert "accelerate.commands.launch" not in text and "KIT_ACCELERATE_CONFIG" not in text
    assert 'srun --nodes=1 --ntasks=1 --export=ALL "$KIT_PYTHON" -m kit.cli train "$KIT_RECIPE_FILE" --on local' in text
    assert f"export KIT_RECIPE_FILE='{tmp_path / 'with space' / 'recipe.yaml'}'\n" in text


def test_render_refuses_several_nodes_without_accelerate(tmp_path: Path) -> None:
    recipe = load_train_recipe(REPO / "recipes" / "sft" / "tiny-cpu.yaml", ["compute.nodes=2"])
    with pytest.raises(RecipeError, match="launch.accelerate is empty"):
        render(recipe, tmp_path / "recipe.yaml")


def test_render_is_strict_about_template_variables(tmp_path: Path) -> None:
    template = tmp_path / "bad.slurm"
    template.write_text("#!/bin/bash\n#SBATCH --nodes={{ recipe.compute.nodes }}\necho {{ not_a_variable }}\n")
    recipe = sky_t1(tmp_path, f"launch.slurm.template={template}")
    with pytest.raises(RecipeError, match="not_a_variable") as err:
        render(recipe, tmp_path / "recipe.yaml")
    assert "\n" not in str(err.value)
    recipe.launch.slurm.template = str(tmp_path / "missing.slurm")
    with pytest.raises(RecipeError, match="no such file"):
        render(recipe, tmp_path / "recipe.yaml")


# ---- submit --------------------------------------------------------------------------------------------------


def test_submit_writes_the_job_folder_and_returns_the_job_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    argv_file = tmp_path / "sbatch-argv.txt"
    stand_in_sbatch(tmp_path / "bin", argv_file)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    recipe = sky_t1(tmp_path)
    text = dump_recipe(recipe)
    logs: list[str] = []

    job_id = submit(recipe, text, log=logs.append)

    assert job_id == JOB_ID
    folder = tmp_path / "out" / "sky-t1.slurm"
    script = folder / "train.slurm"
    assert argv_file.read_text().splitlines() == ["--parsable", str(script)]
    assert (folder / "recipe.yaml").read_text() == text
    assert load_train_recipe(folder / "recipe.yaml").compute.nodes == 2
    assert (folder / "logs").is_dir()
    assert os.access(script, os.X_OK)
    check_script(script)
    rendered = script.read_text()
    assert f"export KIT_ACCELERATE_CONFIG={folder / 'accelerate.yaml'}\n" in rendered
    assert f"export KIT_RECIPE_FILE={folder / 'recipe.yaml'}\n" in rendered
    assert "--num_machines 2 " in rendered and "--num_processes 16 " in rendered
    config = yaml.safe_load((folder / "accelerate.yaml").read_text())
    assert (config["num_machines"], config["num_processes"]) == (2, 16)
    ds_file = Path(config["deepspeed_config"]["deepspeed_config_file"])
    assert ds_file.is_absolute() and ds_file.is_file() and ds_file.name == "ds_zero3_offload.json"
    assert len(logs) == 1 and JOB_ID in logs[0]
    assert str(folder / "logs" / f"Sky-T1-32B-kit-{JOB_ID}.out") in logs[0]


def test_submit_dry_run_writes_everything_and_submits_nothing(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    argv_file = tmp_path / "sbatch-argv.txt"
    stand_in_sbatch(tmp_path / "bin", argv_file)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    recipe = sky_t1(tmp_path)
    logs: list[str] = []
    assert submit(recipe, dump_recipe(recipe), log=logs.append, dry_run=True) == ""
    folder = tmp_path / "out" / "sky-t1.slurm"
    assert {p.name for p in folder.iterdir()} == {"recipe.yaml", "accelerate.yaml", "train.slurm", "logs"}
    assert not argv_file.exists()
    assert "sbatch" in logs[0] and str(folder / "train.slurm") in logs[0]


def test_submit_without_sbatch_says_so_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    recipe = sky_t1(tmp_path)
    with pytest.raises(SlurmError, match="sbatch is not on PATH") as err:
        submit(recipe, dump_recipe(recipe), log=lambda _: None)
    assert isinstance(err.value, RecipeError) and "\n" not in str(err.value)
    assert (tmp_path / "out" / "sky-t1.slurm" / "train.slurm").is_file()  # written, for submitting by hand


def test_submit_reports_sbatch_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in_sbatch(tmp_path / "bin", tmp_path / "argv.txt",
                    fail="sbatch: error: Batch job submission failed: Invalid account or account/partition")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    recipe = sky_t1(tmp_path)
    with pytest.raises(SlurmError, match="Invalid account") as err:
        submit(recipe, dump_recipe(recipe), log=lambda _: None)
    assert "\n" not in str(err.value)


# ---- the shipped recipes and configs -------------------------------------------------------------------------


@pytest.mark.parametrize("path", TRAIN_RECIPES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_training_recipe_loads_and_names_what_it_reproduces(path: Path) -> None:
    recipe = load_train_recipe(path)
    assert recipe.reproduces and len(recipe.reproduces) > 40
    assert path.read_text().startswith("#"), "a recipe starts with a header comment citing its sources"
    if recipe.launch.accelerate:
        assert accelerate_config_file(recipe.launch.accelerate).is_file()
    if recipe.compute.gpu != "cpu":
        assert recipe.hub.repo and recipe.card.citation and recipe.compute.price_per_gpu_hour
        assert recipe.trainer_args.get("bf16") is True
    if recipe.method == "grpo":
        from kit.train.rewards import make_rewards

        funcs, weights = make_rewards(recipe.rewards, recipe.verify)  # names and options are checked here
        assert [f.__name__ for f in funcs] == [r.name for r in recipe.rewards] and len(weights) == len(funcs)


def test_tiny_cpu_recipe_needs_no_download() -> None:
    recipe = load_train_recipe(REPO / "recipes" / "sft" / "tiny-cpu.yaml")
    assert recipe.model.init == "random" and recipe.model.tokenizer == "build" and recipe.model.name_or_path is None
    assert recipe.chat_template == "kit" and recipe.launch.accelerate is None
    assert recipe.sft["use_cpu"] is True and recipe.sft["bf16"] is False
    assert [e.path for e in recipe.data.mixture] == ["out/quickstart"] or \
        Path(recipe.data.mixture[0].path).parts[-2:] == ("out", "quickstart")


@pytest.mark.parametrize("path", DEEPSPEED_CONFIGS, ids=lambda p: p.name)
def test_deepspeed_configs_leave_precision_and_batch_to_the_trainer(path: Path) -> None:
    config = json.loads(path.read_text())
    for field in BATCH_FIELDS:
        assert config[field] == "auto", field
    assert config["bf16"]["enabled"] == "auto" and config["fp16"]["enabled"] == "auto"
    assert config["zero_optimization"]["stage"] in (2, 3)


@pytest.mark.parametrize("path", ACCELERATE_CONFIGS, ids=lambda p: p.name)
def test_accelerate_configs_point_at_their_deepspeed_file(path: Path) -> None:
    config = yaml.safe_load(path.read_text())
    assert (config["num_machines"], config["num_processes"]) == (1, 8)
    if config["distributed_type"] == "DEEPSPEED":
        file = config["deepspeed_config"]["deepspeed_config_file"]
        assert not Path(file).is_absolute() and (REPO / file).is_file()
        assert "mixed_precision" not in config  # precision comes from the DeepSpeed file ("auto")
    else:
        assert config["distributed_type"] in ("MULTI_GPU", "FSDP") and config["mixed_precision"] == "no"
