"""`kit release` (kit.hub.release) against the Hub stand-in: build a dataset artifact from its recipe, publish and
tag every artifact, skip what already carries the tag, never leak the token."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.hub.release import run_release
from kit.recipes import RecipeError
from tests.test_hub_publish import RECIPE, api, assert_no_token, kit


def test_release_builds_publishes_tags_and_a_rerun_skips(hub, tmp_path):
    manifest = tmp_path / "release.yaml"
    manifest.write_text(f"artifacts:\n  - folder: built\n    repo: standin-org/released\n    type: dataset\n"
                        f"    recipe: {RECIPE}\n")
    released = kit(hub, tmp_path, "release", str(manifest), "--tag", "v0.1.0")
    assert released.returncode == 0, released.stderr
    assert "building built with kit curate" in released.stderr
    refs = api(hub).list_repo_refs("standin-org/released", repo_type="dataset")
    assert [t.name for t in refs.tags] == ["v0.1.0"]
    card = api(hub).hf_hub_download("standin-org/released", "README.md", repo_type="dataset",
                                    cache_dir=tmp_path / "cache")
    text = Path(card).read_text(encoding="utf-8")
    assert 'load_dataset("standin-org/released", "metadata"' in text  # the card renderer named the repo
    assert str(tmp_path) not in text
    commits = hub.commits("standin-org/released", "dataset")
    again = kit(hub, tmp_path, "release", str(manifest), "--tag", "v0.1.0")  # a re-run: already released
    assert again.returncode == 0 and "already carries v0.1.0" in again.stderr
    assert hub.commits("standin-org/released", "dataset") == commits
    assert_no_token(hub, tmp_path, [released, again])


def test_a_manifest_with_a_bad_repo_id_is_one_line(tmp_path):
    manifest = tmp_path / "release.yaml"
    manifest.write_text("artifacts:\n  - folder: built\n    repo: not-a-repo-id\n")
    with pytest.raises(RecipeError, match=r"artifacts\.0\.repo: 'not-a-repo-id' is not a Hub repo id"):
        run_release(manifest, "v1", log=lambda _: None)
