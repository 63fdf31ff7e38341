"""`kit release`: publish every artifact of the release manifest (`release.yaml`) to the Hub, tagged.

GitHub Actions runs it on a published release (`.github/workflows/release.yml`); a person can run the same
command. Each artifact is a folder, a Hub repo id and a repo type; a dataset artifact may name the data
recipe that builds its folder first. A Hub repo that already carries the release tag is done and skipped,
so a release that stopped halfway is finished by running it again.

The hub stage knows no recipe: the caller hands in how a folder is built from its data recipe (`build`,
`kit curate`'s `kit.curate.job.build_folder`) and how a dataset card is rendered for its repo (`card`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Literal

from huggingface_hub import HfApi
from pydantic import Field, field_validator

from kit.core.log import Log
from kit.hub.ids import is_repo_id
from kit.hub.publish import (
    DEFAULT_RETRY,
    CardRenderer,
    PublishResult,
    Retry,
    publish,
    repo_url,
    tagged_commit,
    with_retries,
)
from kit.recipes import Strict, load_recipe


class Artifact(Strict):
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


class ReleaseManifest(Strict):
    artifacts: list[Artifact] = Field(min_length=1)


Build = Callable[[Path, Path, Log], None]  # (data recipe, folder, log): write the folder the recipe makes


def run_release(manifest_path: str | Path, tag: str, *, log: Log = print, retry: Retry = DEFAULT_RETRY,
                build: Build | None = None, card: CardRenderer | None = None) -> list[PublishResult]:
    """Build (when a recipe is given, with `build`) and publish each artifact, tagging every Hub repo with `tag`;
    `card` renders a dataset artifact's card for its repo (see `kit.hub.publish`)."""
    manifest_path = Path(manifest_path)
    manifest: ReleaseManifest = load_recipe(manifest_path, ReleaseManifest)
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
            if build is None:
                raise ValueError(f"{art.folder}: a recipe to build it with, but no builder was given")
            log(f"building {art.folder} with kit curate {art.recipe}")
            build(root / art.recipe, folder, log)
        log(f"publishing {art.folder} -> {art.type} {art.repo} (tag {tag})")
        results.append(publish(folder, art.repo, repo_type=art.type, tag=tag, private=art.private,
                               message=f"Release {tag}", log=log, retry=retry, api=api,
                               card=card if art.type == "dataset" else None))
    return results

