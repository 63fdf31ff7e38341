"""`kit train RECIPE --on hf-jobs` (kit.train.jobs) against the Hub stand-in's Hugging Face Jobs API.

The stand-in runs nothing: it records each job spec as it came (``hub.jobs``) and plays the job's life as
scripted (``hub.set_job_script``): its log lines, then its final stage.
"""

from __future__ import annotations

import json
import logging

import pytest
import yaml
from huggingface_hub import HfApi
from huggingface_hub._jobs_api import DEFAULT_UV_IMAGE
from huggingface_hub.errors import HfHubHTTPError

import kit
import kit.train.jobs as jobs
from kit.recipes import RecipeError, dump_recipe
from kit.recipes.train import TrainRecipe
from kit.train.jobs import JobFailed, submit


def recipe_dict() -> dict:
    return {
        "name": "sky-t1.mini",
        "model": {"name_or_path": "Qwen/Qwen2.5-0.5B-Instruct"},
        "data": {"mixture": [{"path": "standin-org/quickstart-reasoning", "weight": 0.5}]},
        "launch": {"hf_jobs": {"flavor": "a100x8", "timeout": "3h", "dependencies": ["flash-attn"]}},
        "hub": {"repo": "standin-org/sky-t1-mini"},
    }


def make(data: dict | None = None) -> TrainRecipe:
    return TrainRecipe.model_validate(data or recipe_dict())


@pytest.fixture
def api(hub) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.token)


def test_submit_sends_the_job_spec_and_follows_the_logs(hub, api, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    recipe = make()
    hub.set_job_script(["step 1/2 loss 2.31", "step 2/2 loss 1.87", "pushed standin-org/sky-t1-mini"])
    logged: list[str] = []
    info = submit(recipe, dump_recipe(recipe), log=logged.append, api=api)

    assert info.status.stage == "COMPLETED"
    [job] = hub.jobs
    spec = job.spec
    assert job.namespace == hub.user and info.id == job.id
    assert spec["flavor"] == "a100x8"
    assert spec["dockerImage"] == DEFAULT_UV_IMAGE
    assert spec["timeoutSeconds"] == 3 * 3600
    assert spec["command"] == ["uv", "run", "--with", f"reasoning-hub-kit[train,gpu]=={kit.__version__}",
                               "--with", "flash-attn", "--python", "3.11",
                               "kit", "train", "env:KIT_TRAIN_RECIPE", "--on", "local"]
    assert spec["labels"] == {"kit": "train", "kit-recipe": "sky-t1-mini", "name": "kit-train-sky-t1-mini"}
    assert set(spec["environment"]) == {"KIT_TRAIN_RECIPE", "PYTHONUNBUFFERED"}
    assert TrainRecipe.model_validate(yaml.safe_load(spec["environment"]["KIT_TRAIN_RECIPE"])) == recipe

    # The token: in the secrets, nowhere else in what was sent, logged or printed.
    assert spec["secrets"] == {"HF_TOKEN": hub.token}
    assert job.body.decode().count(hub.token) == 1
    assert hub.token not in json.dumps({k: v for k, v in spec.items() if k != "secrets"})
    out = capsys.readouterr()
    assert hub.token not in "\n".join(logged) + out.out + out.err + caplog.text
    assert info.secrets == {"HF_TOKEN": None}

    assert logged[0].startswith(f"Hugging Face Job {hub.user}/{job.id} submitted (a100x8): ")
    assert logged[1:4] == ["step 1/2 loss 2.31", "step 2/2 loss 1.87", "pushed standin-org/sky-t1-mini"]
    assert "COMPLETED" in logged[-1] and "standin-org/sky-t1-mini" in logged[-1]
    assert not any(line.startswith("===== Job started") for line in logged)


def test_token_from_hf_token_pinned_image_and_kit_requirement(hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", hub.token)
    data = recipe_dict()
    data["launch"]["hf_jobs"] |= {"image": "ghcr.io/astral-sh/uv:python3.11-bookworm", "python": None,
                                  "kit": "reasoning-hub-kit[train] @ git+https://github.com/org/kit@v1",
                                  "namespace": "standin-org"}
    info = submit(make(data), log=lambda line: None, api=HfApi(endpoint=hub.url))
    spec = hub.jobs[0].spec
    assert info.owner.name == "standin-org" and hub.jobs[0].namespace == "standin-org"
    assert spec["dockerImage"] == "ghcr.io/astral-sh/uv:python3.11-bookworm"
    assert spec["command"][:6] == ["uv", "run", "--with", data["launch"]["hf_jobs"]["kit"],
                                   "--with", "flash-attn"]
    assert "--python" not in spec["command"]
    assert spec["secrets"] == {"HF_TOKEN": hub.token}


def test_a_job_ending_in_error_raises_job_failed(hub, api):
    hub.set_job_script(["Traceback (most recent call last):", "torch.OutOfMemoryError"],
                           stage="ERROR", message="Job failed\nwith exit code 1")
    logged: list[str] = []
    with pytest.raises(JobFailed) as failed:
        submit(make(), log=logged.append, api=api)
    job_id = hub.jobs[0].id
    assert "\n" not in str(failed.value)
    assert f"{hub.user}/{job_id} ended ERROR: Job failed with exit code 1" in str(failed.value)
    assert "torch.OutOfMemoryError" in logged


def test_no_follow_returns_the_running_job(hub, api):
    logged: list[str] = []
    info = submit(make(), follow=False, log=logged.append, api=api)
    assert info.status.stage == "RUNNING"
    assert logged[-1] == f"Follow it with `hf jobs logs {hub.user}/{info.id}`."
    assert [j.id for j in api.list_jobs(labels={"kit": "train"}, namespace=hub.user)] == [info.id]
    api.cancel_job(job_id=info.id, namespace=hub.user)
    assert api.inspect_job(job_id=info.id, namespace=hub.user).status.stage == "CANCELED"
    assert not list(api.list_jobs(status="RUNNING", namespace=hub.user))


def test_ctrl_c_while_following_leaves_the_job_running(hub, api):
    logged: list[str] = []

    def log(line: str) -> None:
        logged.append(line)
        if line == "step 1":
            raise KeyboardInterrupt

    hub.set_job_script(["step 1", "step 2"])
    with pytest.raises(KeyboardInterrupt):
        submit(make(), log=log, api=api)
    ref = f"{hub.user}/{hub.jobs[0].id}"
    assert "keeps running" in logged[-1] and f"`hf jobs logs {ref}`" in logged[-1]


@pytest.mark.parametrize("change, error", [
    (lambda d, tmp: d["data"]["mixture"].append({"path": str(tmp)}), "kit publish"),
    (lambda d, tmp: d["hub"].pop("repo"), "hub.repo is required"),
    (lambda d, tmp: d["model"].update(name_or_path=str(tmp)), "model.name_or_path"),
    (lambda d, tmp: d["model"].update(tokenizer=str(tmp)), "model.tokenizer"),
    (lambda d, tmp: d.update(chat_template=str(tmp / "chatml.jinja")), "chat_template"),
    (lambda d, tmp: d["launch"]["hf_jobs"].update(timeout="2 days"), "launch.hf_jobs.timeout"),
])
def test_unrunnable_recipes_are_refused_before_anything_is_sent(hub, api, tmp_path, change, error):
    data = recipe_dict()
    change(data, tmp_path)
    with pytest.raises(RecipeError, match=error) as refused:
        submit(make(data), log=lambda line: None, api=api)
    assert "\n" not in str(refused.value)
    assert hub.requests_matching(path="/api/jobs") == [] and hub.jobs == []


def test_no_token_is_refused(hub, monkeypatch):
    monkeypatch.setattr(jobs, "get_token", lambda: None)
    with pytest.raises(RecipeError, match="hf auth login"):
        submit(make(), api=HfApi(endpoint=hub.url))
    assert hub.requests == []


def test_a_recipe_holding_the_token_is_refused(hub, api):
    recipe = make()
    with pytest.raises(RecipeError, match="holds your Hugging Face token") as refused:
        submit(recipe, dump_recipe(recipe) + f"# {hub.token}\n", api=api)
    assert hub.token not in str(refused.value) and hub.jobs == []


def test_the_jobs_api_needs_the_token(hub):
    for token in ("hf_wrong", False):
        with pytest.raises(HfHubHTTPError) as denied:
            HfApi(endpoint=hub.url, token=token).run_job(image="python:3.12", command=["true"],
                                                         namespace=hub.user)
        assert denied.value.response.status_code == 401
    assert hub.jobs == []


def test_the_cli_submits_a_shipped_recipe_with_the_token_only_in_the_secrets(hub, tmp_path):
    from tests.test_hub_publish import hub_env
    from tests.test_train_local import ROOT, train_cli

    hub.set_job_script(["loss 0.41"])
    proc = train_cli(str(ROOT / "recipes/sft/openthinker-7b.yaml"), "--on", "hf-jobs",
                     "--set", "data.mixture.0.path=standin-org/openthoughts", "--set", "hub.repo=standin-org/ot-7b",
                     env=hub_env(hub, tmp_path))
    log, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, log
    assert "loss 0.41" in log and hub.token not in log
    [job] = hub.jobs
    assert job.spec["flavor"] == "h200x8" and job.spec["secrets"] == {"HF_TOKEN": hub.token}
    assert job.body.decode().count(hub.token) == 1
    sent = yaml.safe_load(job.spec["environment"]["KIT_TRAIN_RECIPE"])
    assert sent["launch"]["accelerate"] == "zero3-offload"  # a config the installed kit ships, not a local path
    assert sent["model"]["name_or_path"] == "Qwen/Qwen2.5-7B-Instruct"
    assert sent["data"]["mixture"][0]["path"] == "standin-org/openthoughts"


def test_gpu_flavors_install_the_gpu_extra_and_cpu_flavors_do_not():
    data = recipe_dict()
    data["launch"]["hf_jobs"]["flavor"] = "cpu-upgrade"
    assert jobs.job_command(make(data))[1][:4] == ["uv", "run", "--with", f"reasoning-hub-kit[train]=={kit.__version__}"]
    data["launch"]["hf_jobs"]["flavor"] = "h200x8"
    assert f"reasoning-hub-kit[train,gpu]=={kit.__version__}" in jobs.job_command(make(data))[1]
