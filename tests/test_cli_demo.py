"""`kit demo`: the arena served by the CLI, its user errors, and where endpoint keys go."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("gradio")

from kit.demo.backends import ModelSpec, api_key, parse_model  # noqa: E402
from tests.asgi_thread import free_port  # noqa: E402
from tests.tiny_reasoners import RIGHT_ANSWER, WRONG_ANSWER, arena_problem  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def kit_demo(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "kit.cli", "demo", *args], cwd=ROOT, env=full_env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_kit_demo_serves_both_models_on_the_port_asked(reasoners):
    from gradio_client import Client

    port = free_port()
    proc = kit_demo("--left", str(reasoners["right"]), "--right", str(reasoners["wrong"]), "--port", str(port),
                    "--temperature", "0")
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "kit demo did not start serving"
            time.sleep(0.5)
        problem, gold = arena_problem()
        final = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(problem, gold, "math", 96, 0.0,
                                                                          api_name="/compare")
        answers = ["".join(part["text"] for part in final[i][-1]["content"]) for i in (0, 3)]
        assert answers == [RIGHT_ANSWER, WRONG_ANSWER]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("value", ["not a model//id", "./no/such/folder/.."])
def test_a_model_that_is_nothing_exits_2_with_one_line(value):
    proc = kit_demo("--left", value, "--port", str(free_port()))
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2, out
    assert out.strip().splitlines()[-1].startswith("error: ") and "http(s) endpoint" in out


def test_a_setting_that_is_no_number_exits_2_naming_it():
    proc = kit_demo("--port", str(free_port()), env={"ARENA_CONCURRENCY": "two"})
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2, out
    assert out.strip().splitlines()[-1] == "error: ARENA_CONCURRENCY='two' is not a number"


def test_model_names():
    assert parse_model("http://127.0.0.1:8000/v1/#Qwen/QwQ-32B") == ModelSpec("openai", "Qwen/QwQ-32B",
                                                                              "http://127.0.0.1:8000/v1")
    assert parse_model("https://router.huggingface.co/v1") == ModelSpec("openai", "", "https://router.huggingface.co/v1")
    assert parse_model("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B").backend == "transformers"
    with pytest.raises(ValueError, match="not a model folder"):
        parse_model("a b")


def test_the_hub_token_goes_only_to_hugging_face(monkeypatch):
    for name in ("ARENA_LEFT_API_KEY", "ARENA_RIGHT_API_KEY", "ARENA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    assert api_key(parse_model("https://router.huggingface.co/v1"), "left") == "hf_secret"
    for url in ("http://127.0.0.1:8000/v1", "https://api.example.com/v1", "https://huggingface.co.evil.net/v1"):
        assert api_key(parse_model(url), "left") == "EMPTY"
    monkeypatch.setenv("ARENA_API_KEY", "both")
    monkeypatch.setenv("ARENA_RIGHT_API_KEY", "right-only")
    assert api_key(parse_model("https://api.example.com/v1"), "left") == "both"
    assert api_key(parse_model("https://api.example.com/v1"), "right") == "right-only"
