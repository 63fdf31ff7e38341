"""spaces/reasoning-arena: its card, its app file, and its deployment with `kit publish --type space`."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from huggingface_hub import HfApi, SpaceCard, SpaceCardData

from tests.test_hub_publish import kit

ROOT = Path(__file__).resolve().parent.parent
SPACE = ROOT / "spaces" / "reasoning-arena"


def test_the_front_matter_parses_with_space_card_data():
    card = SpaceCard.load(SPACE / "README.md")
    assert isinstance(card.data, SpaceCardData)
    data = card.data
    assert data.title == "Reasoning Arena" and data.emoji and data.short_description
    assert len(data.short_description) <= 60  # the Hub's limit
    assert data.sdk == "gradio" and re.fullmatch(r"6\.\d+\.\d+", data.sdk_version)  # pinned, in the demo extra's range
    assert (SPACE / data.app_file).is_file() and data.license == "apache-2.0"
    assert SpaceCardData(**data.to_dict()).to_dict() == data.to_dict()  # round-trips unchanged

    from kit.demo.arena import DEFAULT_LEFT, DEFAULT_RIGHT

    assert data.models == [DEFAULT_LEFT, DEFAULT_RIGHT]  # the models the app runs without settings


def test_requirements_install_the_kit_and_the_local_model_stack():
    lines = [line.strip() for line in (SPACE / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    names = {re.split(r"[<>=\[ @]", line, maxsplit=1)[0] for line in lines}
    assert {"reasoning-hub-kit", "torch", "transformers"} <= names
    assert "gradio" not in names  # the Space installs the sdk_version of the card


def test_the_space_app_builds_the_arena_from_the_space_settings(reasoners, monkeypatch, tmp_path):
    """app.py as the Space runs it, with the models set as Space variables."""
    monkeypatch.setenv("ARENA_LEFT", str(reasoners["right"]))
    monkeypatch.setenv("ARENA_RIGHT", str(reasoners["wrong"]))
    monkeypatch.setenv("ARENA_CONCURRENCY", "3")
    namespace = runpy.run_path(str(SPACE / "app.py"), run_name="space_app")  # not __main__: no launch
    demo = namespace["demo"]
    arena = demo.arena
    assert [arena.specs[side].model for side in ("left", "right")] == [str(reasoners["right"]), str(reasoners["wrong"])]
    assert arena.settings.concurrency == 3
    assert "/compare" in {f"/{fn.api_name}" for fn in demo.fns.values() if fn.api_name}


@pytest.mark.timeout(300)
def test_kit_publish_deploys_the_space(hub, tmp_path):
    result = kit(hub, tmp_path, "publish", str(SPACE), "--repo", "me/reasoning-arena", "--type", "space")
    assert result.returncode == 0, result.stderr
    api = HfApi(endpoint=hub.url, token=hub.token)
    files = set(api.list_repo_files("me/reasoning-arena", repo_type="space"))
    assert {"README.md", "app.py", "requirements.txt"} <= files
    assert api.space_info("me/reasoning-arena").sdk == "gradio"  # created with the card's sdk
    pushed = api.hf_hub_download("me/reasoning-arena", "README.md", repo_type="space", cache_dir=tmp_path / "cache")
    assert Path(pushed).read_text() == (SPACE / "README.md").read_text()
