"""The stand-in for the Hugging Face Hub (tests/hubserver), driven by the real clients: huggingface_hub in
process, datasets and transformers in child processes (they read HF_ENDPOINT at import time)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    HfFileSystem,
    hf_hub_download,
)
from huggingface_hub.errors import (
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils._runtime import is_xet_available

from tests.hubserver import HubServer

REPO_ROOT = Path(__file__).resolve().parent.parent

DATASET_CARD = """---
license: mit
configs:
- config_name: default
  default: true
  data_files:
  - split: train
    path: data/train-*.parquet
- config_name: metadata
  data_files:
  - split: train
    path: metadata/train-*.parquet
---
# Tiny dataset
"""
DEFAULT_ROWS = [{"id": "p1", "problem": "1+1?", "answer": "2"}, {"id": "p2", "problem": "2+2?", "answer": "4"}]
METADATA_ROWS = [{"id": "p1", "source": "aops", "kept": True}, {"id": "p2", "source": "apps", "kept": False}]


def _api(hub: HubServer, token: str | bool | None = None) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.token if token is None else token)


def _child_env(hub: HubServer, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(
        HF_ENDPOINT=hub.url,
        HF_TOKEN=hub.token,
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_UPDATE_CHECK="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        TRANSFORMERS_VERBOSITY="error",
    )
    return env


def _run_child(hub: HubServer, tmp_path: Path, code: str) -> dict:
    """Run ``code`` in a fresh interpreter pointed at the stand-in; it prints one JSON line last."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=_child_env(hub, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _folder(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    root = tmp_path / "upload"
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def _parquet(rows: list[dict]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue().to_pybytes()


def _statuses(hub: HubServer, method: str, path: str) -> list[int | None]:
    return [r.status for r in hub.requests_matching(method, path)]


# ----------------------------------------------------------------------------------------------- basics


def test_create_upload_list_and_commit_with_delete(hub: HubServer, tmp_path: Path) -> None:
    api = _api(hub)
    url = api.create_repo("standin-org/notes", repo_type="dataset")
    assert url.repo_id == "standin-org/notes" and url.repo_type == "dataset"
    assert api.create_repo("standin-org/notes", repo_type="dataset", exist_ok=True).repo_id == "standin-org/notes"
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_repo("standin-org/notes", repo_type="dataset")
    assert exc.value.response.status_code == 409
    assert (hub.root / "datasets" / "standin-org" / "notes.git" / "HEAD").is_file()  # a real bare git repo

    folder = _folder(tmp_path, {"README.md": "---\nlicense: mit\n---\n# notes\n", "a/b/deep.txt": "deep",
                                "a/top.txt": "top", "keep.txt": "keep"})
    first = api.upload_folder(repo_id="standin-org/notes", repo_type="dataset", folder_path=folder)
    assert re.fullmatch(r"[0-9a-f]{40}", first.oid)
    assert first.commit_url == f"{hub.url}/datasets/standin-org/notes/commit/{first.oid}"
    files = {".gitattributes", "README.md", "a/b/deep.txt", "a/top.txt", "keep.txt"}
    assert set(api.list_repo_files("standin-org/notes", repo_type="dataset")) == files

    top = {e.path: e for e in api.list_repo_tree("standin-org/notes", repo_type="dataset")}
    assert set(top) == {".gitattributes", "README.md", "a", "keep.txt"}
    assert type(top["a"]).__name__ == "RepoFolder" and top["keep.txt"].size == 4
    nested = [e.path for e in api.list_repo_tree("standin-org/notes", "a", repo_type="dataset", recursive=True)]
    assert sorted(nested) == ["a/b", "a/b/deep.txt", "a/top.txt"]
    expanded = {e.path: e for e in api.list_repo_tree("standin-org/notes", repo_type="dataset", expand=True)}
    assert expanded["keep.txt"].last_commit.oid == first.oid
    assert expanded[".gitattributes"].last_commit.title == "initial commit"
    info = api.get_paths_info("standin-org/notes", ["keep.txt", "a", "missing"], repo_type="dataset")
    assert [(type(i).__name__, i.path) for i in info] == [("RepoFile", "keep.txt"), ("RepoFolder", "a")]

    card = api.dataset_info("standin-org/notes")
    assert card.sha == first.oid and card.card_data.license == "mit"
    assert {s.rfilename for s in card.siblings} == files

    second = api.create_commit(
        "standin-org/notes",
        [CommitOperationAdd("new.txt", b"new"), CommitOperationDelete("keep.txt"),
         CommitOperationDelete("a/b/", is_folder=True)],
        commit_message="swap files",
        commit_description="one add, two deletes",
        repo_type="dataset",
        parent_commit=first.oid,
    )
    assert set(api.list_repo_files("standin-org/notes", repo_type="dataset")) == {
        ".gitattributes", "README.md", "a/top.txt", "new.txt"}
    commits = api.list_repo_commits("standin-org/notes", repo_type="dataset")
    assert [c.commit_id for c in commits] == [second.oid, first.oid, commits[-1].commit_id]
    assert (commits[0].title, commits[0].message, commits[0].authors) == (
        "swap files", "one add, two deletes", [hub.user])
    assert commits[-1].authors == ["system"]
    assert hub.commits("standin-org/notes", "dataset") == 3

    # Re-uploading identical content: the preupload answer carries the remote oids, the client drops the no-op.
    again = api.upload_file(repo_id="standin-org/notes", repo_type="dataset", path_in_repo="new.txt",
                            path_or_fileobj=b"new")
    assert again.oid == second.oid and hub.commits("standin-org/notes", "dataset") == 3

    with pytest.raises(RemoteEntryNotFoundError):
        api.delete_file("nope.txt", "standin-org/notes", repo_type="dataset")
    assert hub.commits("standin-org/notes", "dataset") == 3


def test_parent_commit_mismatch_is_refused(hub: HubServer) -> None:
    api = _api(hub)
    api.create_repo("standin-org/m")
    first = api.upload_file(repo_id="standin-org/m", path_in_repo="a.txt", path_or_fileobj=b"a")
    api.upload_file(repo_id="standin-org/m", path_in_repo="b.txt", path_or_fileobj=b"b")
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_commit("standin-org/m", [CommitOperationAdd("c.txt", b"c")], commit_message="stale",
                          parent_commit=first.oid)
    assert exc.value.response.status_code == 412
    assert "c.txt" not in api.list_repo_files("standin-org/m")
    assert hub.commits("standin-org/m") == 3


def test_branches_tags_refs_commits_and_download_at_tag(hub: HubServer, tmp_path: Path) -> None:
    api = _api(hub)
    api.create_repo("standin-org/model")
    v1 = api.upload_file(repo_id="standin-org/model", path_in_repo="weights.txt", path_or_fileobj=b"v1")
    api.create_tag("standin-org/model", tag="v1", tag_message="first release")
    api.create_branch("standin-org/model", branch="dev")
    api.create_branch("standin-org/model", branch="dev", exist_ok=True)
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_branch("standin-org/model", branch="dev")
    assert exc.value.response.status_code == 409
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_tag("standin-org/model", tag="v1")
    assert exc.value.response.status_code == 409
    api.create_tag("standin-org/model", tag="v1", exist_ok=True)

    v2 = api.upload_file(repo_id="standin-org/model", path_in_repo="weights.txt", path_or_fileobj=b"v2")
    dev = api.upload_file(repo_id="standin-org/model", path_in_repo="dev.txt", path_or_fileobj=b"d",
                          revision="dev")
    refs = api.list_repo_refs("standin-org/model")
    assert {b.name: b.target_commit for b in refs.branches} == {"main": v2.oid, "dev": dev.oid}
    assert [(t.name, t.ref, t.target_commit) for t in refs.tags] == [("v1", "refs/tags/v1", v1.oid)]
    assert refs.converts == []
    assert [c.commit_id for c in api.list_repo_commits("standin-org/model", revision="dev")][:2] == [dev.oid, v1.oid]
    assert len(api.list_repo_commits("standin-org/model", revision="v1")) == 2
    assert api.model_info("standin-org/model", revision="v1").sha == v1.oid
    assert api.model_info("standin-org/model", revision=v1.oid[:7]).sha == v1.oid
    assert "dev.txt" not in api.list_repo_files("standin-org/model")

    at_tag = hf_hub_download("standin-org/model", "weights.txt", revision="v1", endpoint=hub.url,
                             token=hub.token, cache_dir=tmp_path / "cache")
    assert Path(at_tag).read_bytes() == b"v1"
    latest = hf_hub_download("standin-org/model", "weights.txt", endpoint=hub.url, token=hub.token,
                             cache_dir=tmp_path / "cache")
    assert Path(latest).read_bytes() == b"v2"
    assert api.file_exists("standin-org/model", "weights.txt") and not api.file_exists("standin-org/model", "x")
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download("standin-org/model", "missing.txt", endpoint=hub.url, token=hub.token,
                        cache_dir=tmp_path / "cache")
    with pytest.raises(RevisionNotFoundError):
        api.model_info("standin-org/model", revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        api.upload_file(repo_id="standin-org/model", path_in_repo="x", path_or_fileobj=b"x", revision="nope")
    assert api.revision_exists("standin-org/model", "dev") and not api.revision_exists("standin-org/model", "x")

    pr = api.create_commit("standin-org/model", [CommitOperationAdd("pr.txt", b"p")], commit_message="a PR",
                           create_pr=True)
    assert pr.pr_revision == "refs/pr/1" and pr.pr_num == 1
    pr_refs = api.list_repo_refs("standin-org/model", include_pull_requests=True).pull_requests
    assert [(r.ref, r.target_commit) for r in pr_refs] == [("refs/pr/1", pr.oid)]
    assert "pr.txt" in api.list_repo_files("standin-org/model", revision="refs/pr/1")
    assert "pr.txt" not in api.list_repo_files("standin-org/model")


def test_range_requests_and_hf_file_system(hub: HubServer) -> None:
    api = _api(hub)
    api.create_repo("standin-org/blob", repo_type="dataset")
    payload = bytes(range(256)) * 4
    api.upload_file(repo_id="standin-org/blob", repo_type="dataset", path_in_repo="d/blob.bin",
                    path_or_fileobj=payload)
    url = f"{hub.url}/datasets/standin-org/blob/resolve/main/d/blob.bin"
    head = httpx2.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(payload))
    assert head.headers["etag"].strip('"') == api.get_paths_info(
        "standin-org/blob", ["d/blob.bin"], repo_type="dataset")[0].blob_id
    assert head.headers["x-repo-commit"] == api.dataset_info("standin-org/blob").sha
    part = httpx2.get(url, headers={"Range": "bytes=10-19"})
    assert (part.status_code, part.content, part.headers["content-range"]) == (
        206, payload[10:20], f"bytes 10-19/{len(payload)}")
    assert httpx2.get(url, headers={"Range": "bytes=-5"}).content == payload[-5:]
    assert httpx2.get(url, headers={"Range": f"bytes={len(payload)}-"}).status_code == 416
    missing = httpx2.head(f"{hub.url}/datasets/standin-org/blob/resolve/main/nope")
    assert (missing.status_code, missing.headers["x-error-code"]) == (404, "EntryNotFound")
    assert httpx2.head(f"{hub.url}/datasets/standin-org/blob/resolve/zzz/d/blob.bin").headers[
        "x-error-code"] == "RevisionNotFound"
    assert httpx2.head(f"{hub.url}/datasets/standin-org/none/resolve/main/x").headers[
        "x-error-code"] == "RepoNotFound"

    fs = HfFileSystem(endpoint=hub.url, token=hub.token, skip_instance_cache=True)
    assert fs.ls("datasets/standin-org/blob/d", detail=False) == ["datasets/standin-org/blob/d/blob.bin"]
    assert fs.info("datasets/standin-org/blob/d/blob.bin")["size"] == len(payload)
    with fs.open("datasets/standin-org/blob/d/blob.bin", "rb", block_size=64) as f:
        f.seek(100)
        assert f.read(50) == payload[100:150]
    assert 206 in _statuses(hub, "GET", "/resolve/")


# ----------------------------------------------------------------------------------------------- auth


def test_private_repos_and_tokens(hub: HubServer, tmp_path: Path) -> None:
    api, anonymous, wrong = _api(hub), _api(hub, token=False), _api(hub, token="hf_not_the_token")
    assert api.whoami()["name"] == hub.user and [o["name"] for o in api.whoami()["orgs"]] == list(hub.orgs)
    api.create_repo("standin-org/secret", private=True)
    api.upload_file(repo_id="standin-org/secret", path_in_repo="s.txt", path_or_fileobj=b"s")
    assert api.model_info("standin-org/secret").private is True
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info("standin-org/secret")
    with pytest.raises(RepositoryNotFoundError):
        anonymous.list_repo_files("standin-org/secret")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("standin-org/secret", "s.txt", endpoint=hub.url, token=False, cache_dir=tmp_path)
    assert not anonymous.repo_exists("standin-org/secret") and api.repo_exists("standin-org/secret")

    api.create_repo("standin-org/public")
    assert anonymous.list_repo_files("standin-org/public") == [".gitattributes"]  # public reads need no token
    with pytest.raises(HfHubHTTPError) as exc:
        anonymous.upload_file(repo_id="standin-org/public", path_in_repo="x", path_or_fileobj=b"x")
    assert exc.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as exc:
        anonymous.create_repo("standin-org/other")
    assert exc.value.response.status_code == 401

    for call in (wrong.whoami, lambda: wrong.model_info("standin-org/public"),
                 lambda: wrong.create_repo("standin-org/other")):
        with pytest.raises(HfHubHTTPError) as exc:
            call()
        assert exc.value.response.status_code == 401
        assert not isinstance(exc.value, RepositoryNotFoundError)
    assert all(hub.token.encode() not in p.read_bytes() for p in hub.root.rglob("*") if p.is_file())

    api.update_repo_settings("standin-org/secret", private=False)
    assert anonymous.list_repo_files("standin-org/secret") == [".gitattributes", "s.txt"]
    api.delete_repo("standin-org/secret")
    assert not api.repo_exists("standin-org/secret")


def test_concurrent_commits_are_serialised_and_compare_and_swap(hub: HubServer) -> None:
    api = _api(hub)
    api.create_repo("standin-org/busy")
    base = hub.head("standin-org/busy")

    def commit(i: int, parent: str | None) -> str:
        try:
            return api.create_commit("standin-org/busy", [CommitOperationAdd(f"f{i}.txt", str(i).encode())],
                                     commit_message=f"c{i}", parent_commit=parent).oid
        except HfHubHTTPError as e:
            return str(e.response.status_code)

    with ThreadPoolExecutor(8) as pool:
        free = list(pool.map(commit, range(8), [None] * 8))
    assert all(re.fullmatch(r"[0-9a-f]{40}", oid) for oid in free) and hub.commits("standin-org/busy") == 9
    assert len(api.list_repo_files("standin-org/busy")) == 9
    head = hub.head("standin-org/busy")
    with ThreadPoolExecutor(8) as pool:
        raced = list(pool.map(commit, range(8, 16), [head] * 8))
    assert raced.count("412") == 7
    assert [oid for oid in raced if oid != "412"] == [hub.head("standin-org/busy")]
    assert hub.commits("standin-org/busy") == 10 and base != head


# ----------------------------------------------------------------------------------------------- faults


def test_fault_500_and_429_are_retried_where_the_client_backs_off(hub: HubServer) -> None:
    api = _api(hub)
    api.create_repo("standin-org/f")
    hub.reset()
    hub.fail_next("POST", r"/preupload/", 500)  # preupload goes through http_backoff: retried after 1 s
    api.upload_file(repo_id="standin-org/f", path_in_repo="a.txt", path_or_fileobj=b"a")
    assert _statuses(hub, "POST", "/preupload/") == [500, 200]
    hub.fail_next("GET", r"/tree/", 429, retry_after=0)  # waits Retry-After + 1 s
    assert "a.txt" in api.list_repo_files("standin-org/f")
    assert _statuses(hub, "GET", "/tree/") == [429, 200]
    assert hub.faults_fired == 2 and hub.commits("standin-org/f") == 2

    hub.fail_next("POST", r"/commit/", 500)  # create_commit posts the commit once: the error surfaces
    with pytest.raises(HfHubHTTPError) as exc:
        api.upload_file(repo_id="standin-org/f", path_in_repo="b.txt", path_or_fileobj=b"b")
    assert exc.value.response.status_code == 500
    assert hub.commits("standin-org/f") == 2 and hub.faults_fired == 3


def test_fault_drop_before_and_after_applying_a_commit(hub: HubServer) -> None:
    api = _api(hub)
    api.create_repo("standin-org/d")
    hub.drop_next("POST", r"/api/models/standin-org/d/commit/main", when="before")
    with pytest.raises(httpx2.TransportError):
        api.upload_file(repo_id="standin-org/d", path_in_repo="a.txt", path_or_fileobj=b"a")
    assert hub.commits("standin-org/d") == 1 and "a.txt" not in api.list_repo_files("standin-org/d")

    hub.drop_next("POST", r"/commit/", when="after")
    with pytest.raises(httpx2.TransportError):
        api.upload_file(repo_id="standin-org/d", path_in_repo="a.txt", path_or_fileobj=b"a")
    assert hub.commits("standin-org/d") == 2 and "a.txt" in api.list_repo_files("standin-org/d")
    assert [(r.status, r.fault) for r in hub.requests_matching("POST", "/commit/")] == [
        (None, "drop-before"), (200, "drop-after")]
    assert hub.faults_fired == 2

    hub.drop_next("HEAD", r"/resolve/", when="before")  # a HEAD loses its connection too (no status at all)
    with pytest.raises(httpx2.TransportError):
        httpx2.head(f"{hub.url}/standin-org/d/resolve/main/a.txt")


@pytest.mark.skipif(not is_xet_available(), reason="upload_folder only pipelines (and retries) commits with hf_xet")
def test_upload_folder_retries_a_lost_commit_answer(hub: HubServer, tmp_path: Path) -> None:
    """upload_folder posts commits with retries: a commit whose answer is lost lands twice (the second is
    empty) -- the Hub would do the same, so callers should not count on "one upload, one commit"."""
    api = _api(hub)
    api.create_repo("standin-org/u")
    hub.drop_next("POST", r"/commit/", when="after")
    info = api.upload_folder(repo_id="standin-org/u", folder_path=_folder(tmp_path, {"x.txt": "x"}))
    commits = api.list_repo_commits("standin-org/u")
    assert info.oid == commits[0].commit_id and len(commits) == 3
    assert api.list_repo_files("standin-org/u") == [".gitattributes", "x.txt"]

    hub.drop_next("POST", r"/commit/", when="before")  # lost before applying: the retry lands it once
    api.upload_folder(repo_id="standin-org/u", folder_path=_folder(tmp_path, {"y.txt": "y"}))
    assert hub.commits("standin-org/u") == 4 and hub.faults_fired == 2


# ----------------------------------------------------------------------------------------------- other clients


def test_datasets_load_two_configs_and_a_tagged_revision(hub: HubServer, tmp_path: Path) -> None:
    api = _api(hub)
    api.create_repo("standin-org/tiny", repo_type="dataset")
    folder = _folder(tmp_path, {"README.md": DATASET_CARD,
                                "data/train-00000-of-00001.parquet": _parquet(DEFAULT_ROWS),
                                "metadata/train-00000-of-00001.parquet": _parquet(METADATA_ROWS)})
    v1 = api.upload_folder(repo_id="standin-org/tiny", repo_type="dataset", folder_path=folder)
    api.create_tag("standin-org/tiny", tag="v1", repo_type="dataset")
    extra = {"id": "p3", "problem": "3+3?", "answer": "6"}
    api.upload_file(repo_id="standin-org/tiny", repo_type="dataset", path_or_fileobj=_parquet(DEFAULT_ROWS + [extra]),
                    path_in_repo="data/train-00000-of-00001.parquet")
    assert api.dataset_info("standin-org/tiny").card_data.configs[1]["config_name"] == "metadata"
    hub.reset()

    out = _run_child(hub, tmp_path, """
        import json
        from datasets import load_dataset
        repo = "standin-org/tiny"
        print(json.dumps({
            "default": load_dataset(repo, split="train").to_list(),
            "metadata": load_dataset(repo, "metadata", split="train").to_list(),
            "v1": load_dataset(repo, split="train", revision="v1").to_list(),
            "metadata_v1": load_dataset(repo, "metadata", revision="v1")["train"].to_list(),
        }))
    """)
    assert out["default"] == DEFAULT_ROWS + [extra]
    assert out["metadata"] == out["metadata_v1"] == METADATA_ROWS
    assert out["v1"] == DEFAULT_ROWS
    assert all(r.status is not None and r.status < 500 for r in hub.requests)
    # datasets resolves "v1" from the X-Repo-Commit header of a HEAD on the README, then pins the commit sha.
    v1_sha = hub.app.repo("standin-org/tiny", "dataset").resolve("v1")
    assert v1_sha == v1.oid
    assert {"HEAD /datasets/standin-org/tiny/resolve/v1/README.md",
            f"GET /api/datasets/standin-org/tiny/revision/{v1_sha}"} <= {f"{r.method} {r.path}" for r in hub.requests}
    assert hub.head("standin-org/tiny", "dataset") != v1.oid


def test_transformers_auto_config(hub: HubServer, tmp_path: Path) -> None:
    from transformers import GPT2Config

    GPT2Config(n_layer=2, n_head=2, n_embd=16, vocab_size=128, n_positions=32).save_pretrained(tmp_path / "model")
    api = _api(hub)
    api.create_repo("standin-org/tiny-gpt2")
    api.upload_folder(repo_id="standin-org/tiny-gpt2", folder_path=tmp_path / "model")
    assert api.model_info("standin-org/tiny-gpt2").config["model_type"] == "gpt2"
    out = _run_child(hub, tmp_path, """
        import json
        from transformers import AutoConfig
        config = AutoConfig.from_pretrained("standin-org/tiny-gpt2")
        print(json.dumps({"model_type": config.model_type, "n_layer": config.n_layer, "n_embd": config.n_embd}))
    """)
    assert out == {"model_type": "gpt2", "n_layer": 2, "n_embd": 16}


def test_standalone_server(tmp_path: Path) -> None:
    token = "hf_standalone_secret_token"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.hubserver", "--port", "0", "--root", str(tmp_path / "hub"), "--token", token],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert token not in line
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        api = HfApi(endpoint=url, token=token)
        assert api.create_repo("standin-user/try").repo_id == "standin-user/try"
        assert api.whoami()["name"] == "standin-user"
        with pytest.raises(HfHubHTTPError):
            HfApi(endpoint=url, token=False).create_repo("standin-user/nope")
    finally:
        proc.terminate()
        rest = proc.communicate(timeout=10)[0]
    assert token not in rest
    assert (tmp_path / "hub" / "models" / "standin-user" / "try.git").is_dir()
