"""`kit publish` (and `kit curate --push`, `kit release`) against the Hub stand-in, with the real clients.

The CLI and the readers (`datasets.load_dataset`, `transformers.AutoConfig`) run in child processes with
HF_ENDPOINT pointing at the stand-in, as a user's would; the fault tests call `kit.hub.publish.publish`
in-process with an `HfApi` bound to the stand-in and a short backoff.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import RepositoryNotFoundError

from kit.curate.job import run_curate
from kit.hub.cards import CardError, check_card
from kit.hub.publish import PublishError, Retry, publish
from kit.recipes import load_data_recipe

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes/data/quickstart.yaml"
FAST = Retry(attempts=4, base_s=0.01, max_s=0.05)
REPO = "standin-org/quickstart"


@pytest.fixture
def folder(quickstart, tmp_path) -> Path:
    """A private copy of the curated quickstart dataset folder."""
    return Path(shutil.copytree(quickstart, tmp_path / "quickstart"))


def hub_env(hub, tmp_path: Path, token: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=hub.url, HF_TOKEN=token or hub.token, HF_HOME=str(tmp_path / "hf-home"),
               HF_HUB_DISABLE_TELEMETRY="1", NO_COLOR="1")
    return env


def kit(hub, tmp_path: Path, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kit.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=hub_env(hub, tmp_path, token), timeout=300)


def over_http(hub, tmp_path: Path, code: str) -> object:
    """Run `code` (which prints one JSON value) in a child process that talks to the stand-in."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env=hub_env(hub, tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rows(path: str, config: str | None, revision: str | None = None) -> str:
    args = ", ".join(repr(a) for a in (path, config) if a)
    rev = f", revision={revision!r}" if revision else ""
    return (f"import json; from datasets import load_dataset; "
            f"print(json.dumps(load_dataset({args}, split='train'{rev}).to_list(), default=str))")


def local_rows(folder: Path, config: str | None) -> list:
    """The rows of the folder's parquet shards, in order (read directly, without datasets: what the readers
    must return)."""
    shards = sorted((folder / ("data" if config is None else config)).glob("train-*.parquet"))
    table = pa.concat_tables(pq.read_table(shard) for shard in shards)
    return json.loads(json.dumps(table.to_pylist(), default=str))


def api(hub) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.token)


def test_publish_then_load_dataset_over_http(hub, folder, tmp_path):
    result = kit(hub, tmp_path, "publish", str(folder), "--repo", REPO)
    assert result.returncode == 0, result.stderr
    assert f"{hub.url}/datasets/{REPO}" in result.stdout
    assert f'load_dataset("{REPO}", "metadata")' in result.stdout
    assert hub.commits(REPO, "dataset") == 2  # the Hub's initial commit + ONE commit with the folder

    for config in ("metadata", None):
        assert over_http(hub, tmp_path, rows(REPO, config)) == local_rows(folder, config)
    remote_card = over_http(hub, tmp_path, "import json; from huggingface_hub import hf_hub_download; "
                            f"print(json.dumps(open(hf_hub_download({REPO!r}, 'README.md', repo_type='dataset'))"
                            ".read()))")
    assert f'load_dataset("{REPO}", "metadata"' in remote_card  # the card names the repo, not the folder
    assert str(folder) not in remote_card

    again = kit(hub, tmp_path, "publish", str(folder), "--repo", REPO)
    assert again.returncode == 0, again.stderr
    assert "no changes" in again.stderr and "no new commit" in again.stderr
    assert hub.commits(REPO, "dataset") == 2

    tagged = kit(hub, tmp_path, "publish", str(folder), "--repo", REPO, "--tag", "v1")
    assert tagged.returncode == 0, tagged.stderr
    assert hub.commits(REPO, "dataset") == 2  # a tag, not a commit
    assert 'revision="v1"' in tagged.stdout
    assert over_http(hub, tmp_path, rows(REPO, "metadata", revision="v1")) == local_rows(folder, "metadata")


def test_a_tag_taken_is_refused_before_anything_is_committed(hub, folder):
    """Tags are never moved: publishing a changed folder with a tag that exists leaves the branch where it was."""
    first = publish(folder, REPO, tag="v1", api=api(hub), retry=FAST, log=lambda _: None)
    (folder / "notes.txt").write_text("a change\n")
    with pytest.raises(PublishError, match="tag 'v1' .* already points at .* nothing was committed"):
        publish(folder, REPO, tag="v1", api=api(hub), retry=FAST, log=lambda _: None)
    assert api(hub).list_repo_refs(REPO, repo_type="dataset").branches[0].target_commit == first.commit
    assert hub.commits(REPO, "dataset") == 2


def test_stale_shards_are_deleted_in_the_same_commit(hub, folder):
    before = publish(folder, REPO, api=api(hub), retry=FAST, log=lambda _: None)
    two_shards = {p for p in before.added if p.endswith(".parquet")}
    assert before.committed and [p.split("-of-")[0] for p in sorted(two_shards)] == [
        "data/train-00000", "data/train-00001", "metadata/train-00000", "metadata/train-00001"]
    # Re-write the folder with one shard per config: the two-shard files must go in the same commit.
    recipe = load_data_recipe(folder / "recipe.yaml", ["output.shard_rows=1000", "output.overwrite=true"])
    run_curate(recipe, folder)
    after = publish(folder, REPO, api=api(hub), retry=FAST, log=lambda _: None)
    assert after.committed
    assert hub.commits(REPO, "dataset") == 3
    assert set(after.deleted) == two_shards
    remote = set(api(hub).list_repo_files(REPO, repo_type="dataset"))
    local = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert remote == local | {".gitattributes"}


def test_model_folder_publishes_and_autoconfig_reads_it(hub, tmp_path):
    from transformers import LlamaConfig

    model = tmp_path / "tiny-model"
    LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                vocab_size=128).save_pretrained(model)
    (model / "README.md").write_text("---\nbase_model: standin-org/base\nlicense: apache-2.0\nlibrary_name: "
                                     "transformers\ntags: [reasoning]\n---\n# tiny model\n")
    result = kit(hub, tmp_path, "publish", str(model), "--repo", "standin-org/tiny-model")
    assert result.returncode == 0, result.stderr
    assert "as a model repo" in result.stderr  # inferred from config.json
    got = over_http(hub, tmp_path, "import json; from transformers import AutoConfig; "
                    "c = AutoConfig.from_pretrained('standin-org/tiny-model'); "
                    "print(json.dumps([c.model_type, c.hidden_size, c.num_hidden_layers]))")
    assert got == ["llama", 32, 2]


def test_500_and_429_are_retried_into_exactly_one_commit(hub, folder):
    hub_api = api(hub)
    hub_api.create_repo(REPO, repo_type="dataset")
    hub.fail_next("GET", rf"^/api/datasets/{REPO}/revision/", 429, retry_after=0)
    hub.fail_next("POST", rf"^/api/datasets/{REPO}/commit/", 500, count=2)
    messages: list[str] = []
    result = publish(folder, REPO, api=hub_api, retry=FAST, log=messages.append)
    assert result.committed
    assert hub.faults_fired == 3
    assert hub.commits(REPO, "dataset") == 2
    assert any("rate limited (429)" in m for m in messages) and any("(500)" in m for m in messages)


def test_a_dropped_commit_leaves_the_repo_intact_and_a_rerun_completes(hub, folder):
    hub_api = api(hub)
    first = publish(folder, REPO, api=hub_api, retry=FAST, log=lambda _: None)
    (folder / "extra.txt").write_text("one more file\n")
    hub.drop_next("POST", rf"^/api/datasets/{REPO}/commit/", when="before", count=2)
    with pytest.raises(PublishError, match="lost the connection.*previous revision"):
        publish(folder, REPO, api=hub_api, retry=Retry(attempts=2, base_s=0.01), log=lambda _: None)
    assert hub.head(REPO, "dataset") == first.commit  # intact
    assert "extra.txt" not in hub_api.list_repo_files(REPO, repo_type="dataset")

    rerun = publish(folder, REPO, api=hub_api, retry=FAST, log=lambda _: None)
    assert rerun.committed and rerun.added == ["extra.txt"]
    assert hub.commits(REPO, "dataset") == 3


def test_a_lost_answer_to_a_landed_commit_is_not_committed_twice(hub, folder):
    hub.drop_next("POST", rf"^/api/datasets/{REPO}/commit/", when="after")
    result = publish(folder, REPO, api=api(hub), retry=FAST, log=lambda _: None)
    assert hub.faults_fired == 1
    assert hub.commits(REPO, "dataset") == 2
    assert result.commit == hub.head(REPO, "dataset")
    assert result.committed and "README.md" in result.added  # reported as this run's commit


def test_large_folders_go_up_in_several_commits_then_one_last(hub, folder):
    messages: list[str] = []
    result = publish(folder, REPO, api=api(hub), retry=FAST, log=messages.append, max_commit_files=3)
    assert any("resumable multi-commit upload_folder" in m for m in messages)
    assert result.committed
    assert hub.commits(REPO, "dataset") >= 3  # initial + the bulk upload + the card
    again = publish(folder, REPO, api=api(hub), retry=FAST, log=lambda _: None, max_commit_files=3)
    assert not again.committed


def test_branch_private_and_wrong_token(hub, folder, tmp_path):
    result = kit(hub, tmp_path, "publish", str(folder), "--repo", REPO, "--revision", "dev", "--private")
    assert result.returncode == 0, result.stderr
    assert hub.commits(REPO, "dataset", "dev") == 2 and hub.commits(REPO, "dataset", "main") == 1
    assert "/tree/dev" in result.stdout and 'revision="dev"' in result.stdout
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token=False).repo_info(REPO, repo_type="dataset")

    denied = kit(hub, tmp_path, "publish", str(folder), "--repo", "standin-org/other", token="hf_wrong_token")
    assert denied.returncode == 1
    assert "401" in denied.stderr and "HF_TOKEN" in denied.stderr
    assert "hf_wrong_token" not in denied.stdout + denied.stderr
    assert hub.head("standin-org/other", "dataset") is None


def test_a_card_the_hub_would_misread_is_refused_before_any_upload(hub, folder):
    card = folder / "README.md"
    card.write_text(card.read_text().replace("path: metadata/train-*", "path: nowhere/train-*"))
    misread = "config 'metadata' data_files 'nowhere/train-\\*-[0-9a-f]{16}\\.parquet' matches no file"
    with pytest.raises(PublishError, match=misread):
        publish(folder, REPO, api=api(hub), retry=FAST, log=lambda _: None)
    card.write_text("---\nlicense: [unclosed\n---\n")
    with pytest.raises(PublishError, match="not valid YAML"):
        publish(folder, REPO, api=api(hub), retry=FAST, log=lambda _: None)
    assert hub.head(REPO, "dataset") is None  # nothing was created


def test_curate_push_uses_the_publish_path_and_never_leaks_the_token(hub, tmp_path):
    pushed = kit(hub, tmp_path, "curate", str(RECIPE), "--out", str(tmp_path / "pushed"), "--push",
                 "standin-org/pushed")
    assert pushed.returncode == 0, pushed.stderr
    assert hub.commits("standin-org/pushed", "dataset") == 2
    assert_no_token(hub, tmp_path, [pushed])


def assert_no_token(hub, tmp_path: Path, runs: list[subprocess.CompletedProcess[str]]) -> None:
    """The token (random per test: a canary) is in no output, no file written, no commit or card."""
    outputs = [p.stdout + p.stderr for p in runs]
    assert not [o for o in outputs if hub.token in o]
    leaked = [p for base in (tmp_path, hub.root) for p in base.rglob("*") if p.is_file()
              and hub.token.encode() in p.read_bytes()]
    assert leaked == []
    for repo in hub.root.rglob("*.git"):  # commit messages and every blob, uncompressed
        dump = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch"],
                              capture_output=True, check=True).stdout
        assert hub.token.encode() not in dump and len(dump) > 0


MODEL_CARD = """---
base_model: Qwen/Qwen2.5-0.5B-Instruct
license: apache-2.0
model-index:
- name: standin-org/tiny
  results:
  - task: {type: text-generation}
    dataset: {name: MATH500, type: HuggingFaceH4/MATH-500}
    metrics:
    - {type: accuracy, value: 0.5, name: pass@1}
---
# tiny
"""


def test_model_and_space_cards_round_trip_through_the_card_data_classes():
    card = check_card(MODEL_CARD, "model")
    assert card.data.base_model == "Qwen/Qwen2.5-0.5B-Instruct" and card.data.eval_results[0].metric_value == 0.5
    with pytest.raises(CardError, match="base_model is empty"):
        check_card(MODEL_CARD.replace("Qwen/Qwen2.5-0.5B-Instruct", "None"), "model")
    with pytest.raises(CardError, match="model_index"):
        check_card(MODEL_CARD.replace("    metrics:", "    metricz:"), "model")
    with pytest.raises(CardError, match="no YAML front matter"):
        check_card("# a card without metadata\n", "model")
    space = check_card("---\ntitle: Reasoning arena\nsdk: gradio\nsdk_version: 6.0.0\napp_file: app.py\n---\n", "space")
    assert space.data.sdk == "gradio"
