"""`kit release`: publish every artifact of the release manifest (`release.yaml`) to the Hub, tagged.

GitHub Actions runs it on a published release (`.github/workflows/release.yml`); a person can run the same
command. Each artifact is a folder, a Hub repo id and a repo type; a dataset artifact may name the data
recipe that builds its folder first. A Hub repo that already carries the release tag is done and skipped,
so a release that stopped halfway is finished by running it again.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Literal

from huggingface_hub import HfApi
from pydantic import Field, field_validator

from kit.hub.publish import (
    DEFAULT_RETRY,
    Log,
    PublishResult,
    Retry,
    is_repo_id,
    publish,
    repo_url,
    tagged_commit,
    with_retries,
)
from kit.recipes import _Strict, load_recipe


class Artifact(_Strict):
    folder: str = Field(description="Folder to publish, relative to the manifest.")
    repo: str = Field(description="Hub repo id, ORG/NAME.")
    type: Literal["dataset", "model", "space"] = "dataset"
    recipe: str | None = Field(None, description="Data recipe that builds `folder` with `kit curate` before publishing.")
    private: bool = False

    @field_validator("repo")
    @classmethod
    def _repo_id(cls, value: str) -> str:
        if not is_repo_id(value):
            raise ValueError(f"{value!r} is not a Hub repo id (ORG/NAME)")
        return value


class ReleaseManifest(_Strict):
    artifacts: list[Artifact] = Field(min_length=1)


def run_release(manifest_path: str | Path, tag: str, *, log: Log = print,
                retry: Retry = DEFAULT_RETRY) -> list[PublishResult]:
    """Build (when a recipe is given) and publish each artifact, tagging every Hub repo with `tag`."""
    manifest_path = Path(manifest_path)
    manifest: ReleaseManifest = load_recipe(manifest_path, model=ReleaseManifest)
    root = manifest_path.parent
    results = []
    api = HfApi()
    for art in manifest.artifacts:
        folder = root / art.folder
        done = with_retries(partial(tagged_commit, api, art.repo, art.type, tag), retry, log)
        if done is not None:
            log(f"{art.type} {art.repo} already carries {tag} (at {done[:12]}): skipped")
            results.append(PublishResult(repo_id=art.repo, repo_type=art.type, url=repo_url(api, art.repo, art.type), revision="main",
                                         commit=done, committed=False, tag=tag))
            continue
        if art.recipe:
            from kit.curate.job import run_curate

            log(f"building {art.folder} with kit curate {art.recipe}")
            recipe = load_recipe(root / art.recipe, ["output.overwrite=true"])
            run_curate(recipe, folder)
        log(f"publishing {art.folder} -> {art.type} {art.repo} (tag {tag})")
        results.append(publish(folder, art.repo, repo_type=art.type, tag=tag, private=art.private,
                               message=f"Release {tag}", log=log, retry=retry, api=api))
    return results

