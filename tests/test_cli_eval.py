"""`kit eval`'s user errors, as a user meets them: the real CLI in a child process, offline, no model loaded. A
recipe or environment mistake is one `error:` line (exit 2), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEY_ENV = "KIT_TEST_EVAL_NO_KEY"


def kit_eval(tmp_path: Path, recipe: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "recipe.yaml"
    path.write_text(recipe)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and k != KEY_ENV}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf-home"), NO_COLOR="1", COLUMNS="400")
    command = [sys.executable, "-m", "kit.cli", "eval", str(path), "--model", "m", "--no-card",
               "--out", str(tmp_path / "out"), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def said(proc: subprocess.CompletedProcess[str]) -> str:
    return " ".join((proc.stdout + proc.stderr).split())


def test_a_server_without_its_api_key_is_one_error_line(tmp_path):
    proc = kit_eval(tmp_path, "name: served\nbenchmarks: [{name: amc23, source: bundled, limit: 1}]\n",
                    "--set", "model.backend=openai", "--set", "model.base_url=http://127.0.0.1:9/v1",
                    "--set", f"model.api_key_env={KEY_ENV}")
    assert proc.returncode == 2, said(proc)
    assert f"error: the environment variable {KEY_ENV} (model.api_key_env) holds no API key" in said(proc)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "out").exists()  # found before anything was loaded or written


@pytest.mark.parametrize("release", ["latest", "v3_v1", "release_v7"])
def test_an_unknown_livecodebench_release_is_one_error_line(tmp_path, release):
    proc = kit_eval(tmp_path, f"name: lcb\nbenchmarks: [{{name: livecodebench, release: {release}}}]\n")
    assert proc.returncode == 2, said(proc)
    valid = "(valid: release_v1 .. release_v6, release_latest"
    assert f"release: unknown LiveCodeBench release '{release}' {valid}" in said(proc)
    assert "Traceback" not in proc.stdout + proc.stderr
