"""Generation: reply splitting, the sample store, and `kit curate` with the `openai` teacher end to end.

The teacher is the OpenAI-compatible stand-in (tests/teacherserver), so the real openai client and the real
distilabel pipeline run. `kit curate` runs in child processes, as a user's would, so it can be killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from kit.core.chat import split_reply
from kit.generation.store import SampleStore, StoreMismatchError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "kit/data/samples/quickstart.jsonl"
KEY_ENV = "KIT_TEST_TEACHER_KEY"


# -- splitting replies ------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "reasoning_content", "finish", "expected"), [
    ("The answer is 4.", "2 + 2 = 4", "stop", ("2 + 2 = 4", "The answer is 4.", None)),
    ("<think>\n2 + 2 = 4\n</think>\n\nThe answer is 4.", None, "stop", ("2 + 2 = 4", "The answer is 4.", None)),
    ("<|begin_of_thought|>\n\n2 + 2 = 4\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\n\\boxed{4}\n\n"
     "<|end_of_solution|>", None, "stop", ("2 + 2 = 4", "\\boxed{4}", None)),
    ("Just the answer: 4.", None, "stop", ("", "Just the answer: 4.", None)),
    ("", None, "stop", ("", "", "empty_reply")),
    (None, None, None, ("", "", "empty_reply")),
    ("<think>I keep thinking", None, "stop", ("<think>I keep thinking", "", "unclosed_think")),
    ("<think>all thought, no answer</think>", None, "stop", ("all thought, no answer", "", "no_answer")),
    ("The answer is", "long reasoning", "length", ("long reasoning", "The answer is", "truncated")),
])
def test_split_reply(content, reasoning_content, finish, expected):
    split = split_reply(content, reasoning_content, finish)
    assert (split.reasoning, split.solution, split.reject) == expected


# -- the store --------------------------------------------------------------------------------------

def test_store_drops_a_torn_line_and_refuses_other_settings(tmp_path):
    store = SampleStore(tmp_path / "s", {"model": "a"})
    assert store.append([{"problem_id": "p", "sample_index": 0}, {"problem_id": "p", "sample_index": 1}]) == 2
    with store.path.open("a") as fh:
        fh.write('{"problem_id": "p", "sample_ind')  # a writer killed mid-line
    reopened = SampleStore(tmp_path / "s", {"model": "a"})
    assert reopened.keys() == {("p", 0), ("p", 1)}
    reopened.append([{"problem_id": "q", "sample_index": 0}])
    assert [json.loads(line)["problem_id"] for line in store.path.read_text().splitlines()] == ["p", "p", "q"]
    with pytest.raises(StoreMismatchError, match="model changed"):
        SampleStore(tmp_path / "s", {"model": "b"})


# -- kit curate with the openai teacher -------------------------------------------------------------

def write_recipe(path: Path, teacher, source: Path, **teacher_extra) -> Path:
    lines = [
        "name: gen-test",
        "sources:",
        f"  - path: {source}",
        "teacher:",
        "  backend: openai",
        f"  model: {teacher.model}",
        f"  base_url: {teacher.base_url}",
        f"  api_key_env: {KEY_ENV}",
        "  max_retries: 1",
        "  timeout_s: 20",
        *[f"  {k}: {v}" for k, v in teacher_extra.items()],
        "generation: {num_generations: 2, max_new_tokens: 1000, temperature: 0.6}",
        "verify: {workers: 2, code: {test_timeout_s: 2, sample_timeout_s: 20, memory_mb: 1024}}",
        "curate: {max_per_problem: 2, pass_rate: [0.0, 1.0]}",
        "output: {shard_rows: 10}",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def problems_file(path: Path, limit: int | None = None, extra: list[dict] = ()) -> Path:
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    seen: dict[str, dict] = {}
    for row in rows:
        if row["problem"] not in seen:
            seen[row["problem"]] = {k: row[k] for k in ("problem", "domain", "source", "ground_truth_solution",
                                                        "ground_truth_answer", "test_cases", "starter_code")}
    chosen = [*list(seen.values())[:limit], *extra]
    path.write_text("".join(json.dumps(r) + "\n" for r in chosen))
    return path


def curate(recipe: Path, out: Path, teacher, *more: str, wait: bool = True):
    env = {**os.environ, KEY_ENV: teacher.api_key}
    cmd = [sys.executable, "-m", "kit.cli", "curate", str(recipe), "--out", str(out), *more]
    if not wait:  # its own session, so the whole run (distilabel's processes too) can be killed at once
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def kill_run(proc: subprocess.Popen) -> None:
    """SIGKILL a run started with `curate(..., wait=False)` and every process of its session."""
    if proc.returncode is None:  # not yet reaped by poll(): its group id is still its own
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def store_lines(out: Path) -> list[dict]:
    """Every line of every part of the store of `out` (duplicates included)."""
    parts = sorted(out.with_name(out.name + ".samples").glob("samples-*.jsonl"))
    return [json.loads(line) for part in parts for line in part.read_text().splitlines()]


def test_curate_generates_with_an_openai_teacher_and_keeps_the_key_secret(teacher, tmp_path):
    special = [{"problem": p, "domain": "math", "source": "standin", "ground_truth_answer": "4"}
               for p in ("STANDIN: empty reply. What is 2 + 2?", "STANDIN: unclosed think. What is 2 + 2?",
                         "STANDIN: Sky-T1 format. What is 2 + 2?", "STANDIN: inline think. What is 2 + 2?")]
    special.append({"problem": "STANDIN: long reply. What is the sum of the integers from 1 to 200?",
                    "domain": "math", "source": "standin", "ground_truth_answer": "20100"})
    source = problems_file(tmp_path / "problems.jsonl", limit=6, extra=special)
    recipe = write_recipe(tmp_path / "recipe.yaml", teacher, source)
    out = tmp_path / "out"
    result = curate(recipe, out, teacher)
    assert result.returncode == 0, result.stderr
    stats = json.loads((out / "stats.json").read_text())
    generate = next(s for s in stats["stages"] if s["stage"] == "generate")
    assert generate["in"] == 2 * 11  # 11 problems x 2 samples, every one asked once
    assert len(teacher.requests_matching(path="/chat/completions")) == 22
    assert {r.seed for r in teacher.requests} and len({r.seed for r in teacher.requests}) == 22
    rejected = {(r["problem_id"], r["reason"]) for r in stats["rejected_rows"] if r["stage"] == "generate"}
    assert {reason for _, reason in rejected} == {"empty_reply", "unclosed_think", "truncated"}
    assert stats["rejections"]["generate"] == {"empty_reply": 2, "unclosed_think": 2, "truncated": 2}

    from datasets import load_dataset
    rows = load_dataset(str(out), "metadata", split="train").to_list()  # the printed line, as a user pastes it
    sky = [r for r in rows if r["problem"].startswith("STANDIN: Sky-T1")]
    inline = [r for r in rows if r["problem"].startswith("STANDIN: inline")]
    assert sky and "<|" not in sky[0]["reasoning"] + sky[0]["solution"] and sky[0]["verified"]
    assert inline and "<think>" not in inline[0]["solution"] and inline[0]["verified"]
    assert all(r["teacher"] == teacher.model for r in rows)
    sample = next(r for r in rows if r["source"] != "standin")
    assert sample["reasoning"] and json.loads(sample["generation"])["seed"] >= 0
    assert (out / "pipeline.yaml").read_text().count("KitOpenAILLM") == 1

    # The key is in no file written, no store, no output.
    assert teacher.api_key not in result.stdout + result.stderr
    written = [p for base in (out, out.with_name("out.samples")) for p in base.rglob("*") if p.is_file()]
    assert written and not [p for p in written if teacher.api_key.encode() in p.read_bytes()]


def test_a_server_that_sends_the_reasoning_as_reasoning_keeps_it(teacher, tmp_path):
    """vLLM renamed `reasoning_content` to `reasoning` (and has since removed the old name), as OpenRouter sends it:
    the trace must keep that reasoning, not come out as an empty <think> block with only the answer."""
    teacher.app.reasoning_field = "reasoning"
    source = problems_file(tmp_path / "problems.jsonl", limit=2)
    result = curate(write_recipe(tmp_path / "recipe.yaml", teacher, source), tmp_path / "out", teacher)
    assert result.returncode == 0, result.stderr
    samples = store_lines(tmp_path / "out")
    assert len(samples) == 4 and all(s["reasoning"].strip() and s["solution"].strip() for s in samples)
    problems = [json.loads(line)["problem"] for line in source.read_text().splitlines()]
    recorded = {(c.reasoning_content or "").strip() for p in problems for c in teacher.app.recordings.find(p)}
    assert {s["reasoning"] for s in samples} <= recorded


def test_killed_runs_resume_to_the_same_folder_as_an_uninterrupted_run(teacher, tmp_path):
    source = problems_file(tmp_path / "problems.jsonl", limit=10)
    recipe = write_recipe(tmp_path / "recipe.yaml", teacher, source, concurrency=2)
    reference = tmp_path / "reference"
    assert curate(recipe, reference, teacher).returncode == 0
    asked = len(teacher.requests)
    assert asked == 20

    out = tmp_path / "out"
    teacher.clear_log()
    for stop_after in (3, 9, 15):  # SIGKILL the whole run once the store holds this many samples
        proc = curate(recipe, out, teacher, wait=False)
        deadline = time.monotonic() + 120
        while len(store_lines(out)) < stop_after and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        kill_run(proc)
        assert not out.exists()  # the folder appears only when a run completes
    assert curate(recipe, out, teacher).returncode == 0

    lines = store_lines(out)
    keys = [(s["problem_id"], s["sample_index"]) for s in lines]
    assert len(keys) == len(set(keys)) == 20  # none twice, none lost
    # Only requests in flight at a kill are asked again: at most one batch (2) per kill.
    assert 20 <= len(teacher.requests) <= 20 + 3 * 2
    for name in ("data", "metadata"):
        ours = sorted((out / name).glob("*.parquet"))
        theirs = sorted((reference / name).glob("*.parquet"))
        assert [p.name for p in ours] == [p.name for p in theirs]
        assert [p.read_bytes() for p in ours] == [p.read_bytes() for p in theirs]
    assert json.loads((out / "stats.json").read_text()) == json.loads((reference / "stats.json").read_text())


def test_an_unreachable_teacher_ends_in_one_line_and_keeps_finished_samples(teacher, tmp_path):
    source = problems_file(tmp_path / "problems.jsonl", limit=4)
    recipe = write_recipe(tmp_path / "recipe.yaml", teacher, source, concurrency=2)
    out = tmp_path / "out"
    teacher.drop_next(count=4)  # the first two requests and their one retry each are cut off
    first = curate(recipe, out, teacher)
    assert first.returncode == 2
    assert first.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "unreachable" in first.stderr and "run the same command again" in first.stderr
    kept = store_lines(out)
    assert 0 < len(kept) < 8 and not out.exists()

    second = curate(recipe, out, teacher)
    assert second.returncode == 0, second.stderr
    assert len(store_lines(out)) == 8


# -- kit curate with the transformers teacher ---------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A random Qwen2-style model with a tokenizer trained here on the bundled sample."""
    from kit.train.tinymodel import make_tiny_model

    texts = [json.loads(line)["problem"] for line in SAMPLE.read_text().splitlines()]
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model", texts)


def test_curate_generates_with_a_local_transformers_teacher(tiny_model, tmp_path):
    source = problems_file(tmp_path / "problems.jsonl", limit=5)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""name: tiny-local-test
sources: [{{path: {source}}}]
teacher:
  backend: transformers
  model: {tiny_model}
  device: cpu
  concurrency: 4
generation: {{num_generations: 2, max_new_tokens: 12, temperature: 0.8, seed: 7}}
verify: {{workers: 1}}
""")
    runs = []
    token = "hf_STANDINtokenNOTaREALoneXXXXXXXXXX"  # distilabel's TransformersLLM reads HF_TOKEN into a field it dumps
    env = {**os.environ, "HF_TOKEN": token, "HF_HUB_OFFLINE": "1"}
    for name in ("first", "second"):  # two fresh runs: the same seeds give the same samples
        out = tmp_path / name
        result = subprocess.run([sys.executable, "-m", "kit.cli", "curate", str(recipe), "--out", str(out)],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        written = [p for base in (out, out.with_name(f"{name}.samples")) for p in base.rglob("*") if p.is_file()]
        assert (out / "pipeline.yaml") in written and token not in result.stdout + result.stderr
        assert [p for p in written if token.encode() in p.read_bytes()] == []
        assert "KitTransformersLLM" in json.dumps(yaml.safe_load((out / "pipeline.yaml").read_text()))
        runs.append({(s["problem_id"], s["sample_index"]): (s["reasoning"], s["solution"], s["reject"])
                     for s in store_lines(out)})
    assert len(runs[0]) == 10 and runs[0] == runs[1]
    by_problem: dict[str, list] = {}
    for (pid, _), sample in runs[0].items():
        by_problem.setdefault(pid, []).append(sample)
    assert any(a != b for a, b in by_problem.values())  # each sample has its own seed
    stats = json.loads((tmp_path / "first" / "stats.json").read_text())
    assert next(s for s in stats["stages"] if s["stage"] == "generate")["in"] == 10


# -- checkpoints on the Hub ---------------------------------------------------------------------------

def test_a_killed_push_run_resumes_from_the_hub_checkpoint_on_a_fresh_machine(teacher, hub, tmp_path):
    from huggingface_hub import HfApi

    source = problems_file(tmp_path / "problems.jsonl", limit=10)
    recipe = write_recipe(tmp_path / "recipe.yaml", teacher, source, concurrency=2)
    recipe.write_text(recipe.read_text().replace("output: {shard_rows: 10}",
                                                 "output: {shard_rows: 10, checkpoint_every: 4}"))
    env = {**os.environ, KEY_ENV: teacher.api_key, "HF_ENDPOINT": hub.url, "HF_TOKEN": hub.token,
           "HF_HOME": str(tmp_path / "hf-home")}
    repo = "standin-org/generated"
    cmd = [sys.executable, "-m", "kit.cli", "curate", str(recipe), "--out", str(tmp_path / "out"), "--push", repo]
    teacher.delay_next(0.4, count=14)  # slow the teacher down so the run is killed half way
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while hub.commits(repo, "dataset", "kit-samples") < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # wait for two checkpoints
    kill_run(proc)
    api = HfApi(endpoint=hub.url, token=hub.token)
    checkpointed = [json.loads(line) for f in api.list_repo_files(repo, repo_type="dataset", revision="kit-samples")
                    if f.startswith("samples-")
                    for line in Path(api.hf_hub_download(repo, f, repo_type="dataset", revision="kit-samples",
                                                         cache_dir=tmp_path / "dl")).read_text().splitlines()]
    assert 4 <= len(checkpointed) < 20
    seeds_done = {json.loads(s["generation"])["seed"] for s in checkpointed}

    # A fresh machine: no local store, no output; the same command.
    import shutil
    shutil.rmtree(tmp_path / "out.samples")
    teacher.reset()
    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"resumed from the Hub checkpoint {repo}@kit-samples: {len(checkpointed)} samples" in rerun.stderr
    asked = {r.seed for r in teacher.requests}
    assert not asked & seeds_done  # nothing checkpointed was generated again
    assert len(asked) == 20 - len(checkpointed)
    assert len(store_lines(tmp_path / "out")) == 20
    assert "stats.json" in api.list_repo_files(repo, repo_type="dataset")  # the dataset landed on main


@pytest.mark.parametrize("recipe", sorted((ROOT / "recipes/data").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_data_recipe_is_valid(recipe):
    from kit.recipes import load_data_recipe

    loaded = load_data_recipe(recipe)
    assert loaded.name and loaded.sources
    text = recipe.read_text()
    assert text.startswith("#") and "api_key:" not in text  # documented in its header; no key in a recipe


def test_a_missing_api_key_is_one_line_before_any_request(teacher, tmp_path):
    recipe = write_recipe(tmp_path / "recipe.yaml", teacher, problems_file(tmp_path / "p.jsonl", limit=2))
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    result = subprocess.run([sys.executable, "-m", "kit.cli", "curate", str(recipe), "--out", str(tmp_path / "o")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: the environment variable {KEY_ENV} (teacher.api_key_env) holds no API key: export {KEY_ENV}=... "
        "first (any value for a server that checks none; a key never goes in a recipe)"]
    assert teacher.requests == []


def test_a_hub_teacher_that_cannot_be_reached_is_one_line_before_anything_loads(tmp_path):
    """Offline, a transformers teacher named by its Hub id and not in the cache made huggingface_hub retry each
    file for half a minute, then distilabel log the step's failure in tens of lines, and the kit's own last line
    did not say why ("Failed to load all the steps"). It is now one line, with the fix, before the pipeline starts."""
    source = problems_file(tmp_path / "p.jsonl", limit=2)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"name: hub-teacher\nsources: [{{path: {source}}}]\n"
                      "teacher: {backend: transformers, model: someorg/no-such-teacher}\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = subprocess.run([sys.executable, "-m", "kit.cli", "curate", str(recipe), "--out", str(tmp_path / "o")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: teacher.model someorg/no-such-teacher: no such folder, and no Hub model someorg/no-such-teacher "
        f"could be reached (OfflineModeIsEnabled: {_offline_line('someorg/no-such-teacher')}) - reach the Hub "
        "(HF_HUB_OFFLINE unset, the network, HF_ENDPOINT), or make it with kit train RECIPE"]


def test_a_teacher_that_cannot_load_is_named_with_why_in_the_last_line(tmp_path):
    """A step whose model could not load ended in "Failed to load all the steps. Could not run pipeline.", the
    reason only in distilabel's log above it, then a traceback of distilabel's log thread (an EOFError) after it.
    The kit's last line now says which step and why, and nothing follows it."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "no-such-architecture"}')
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"name: broken-teacher\nsources: [{{path: {problems_file(tmp_path / 'p.jsonl', limit=2)}}}]\n"
                      f"teacher: {{backend: transformers, model: {model}, device: cpu}}\n")
    result = subprocess.run([sys.executable, "-m", "kit.cli", "curate", str(recipe), "--out", str(tmp_path / "o")],
                            cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the generation pipeline stopped: step 'generate_samples' could not load: The "
                           "checkpoint you are trying to load has model type `no-such-architecture`"), result.stderr
    assert last.endswith(f"finished samples are kept in {tmp_path / 'o.samples'}")


def _offline_line(model: str) -> str:
    """The first 120 characters of huggingface_hub's OfflineModeIsEnabled message for `model_info(model)`."""
    from huggingface_hub import HfApi, constants

    offline, constants.HF_HUB_OFFLINE = constants.HF_HUB_OFFLINE, True
    try:
        HfApi().model_info(model)
    except Exception as exc:  # noqa: BLE001
        return str(exc).strip().splitlines()[0][:120]
    finally:
        constants.HF_HUB_OFFLINE = offline
    raise AssertionError("model_info answered offline")


def test_a_teacher_in_the_cache_or_a_folder_is_left_to_load(tmp_path, monkeypatch):
    """Offline, a Hub teacher whose files are in the local cache still loads (from the cache), and a local folder
    is never asked about: neither is refused."""
    from huggingface_hub import constants

    from kit.generation.llms import unreachable_model
    from kit.recipes.base import LLMConfig

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    teacher = LLMConfig(backend="transformers", model="someorg/cached-teacher")
    assert unreachable_model(teacher, "teacher").startswith("teacher.model someorg/cached-teacher: no such folder")
    snapshot = tmp_path / "hub/models--someorg--cached-teacher/snapshots/0123456789abcdef"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "hub/models--someorg--cached-teacher/refs").mkdir()
    (tmp_path / "hub/models--someorg--cached-teacher/refs/main").write_text("0123456789abcdef")
    assert unreachable_model(teacher, "teacher") is None
    (tmp_path / "someorg/folder").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert unreachable_model(LLMConfig(backend="vllm", model="someorg/folder"), "teacher") is None
    assert unreachable_model(LLMConfig(backend="openai", model="someorg/served"), "teacher") is None


def test_pipeline_yaml_never_holds_a_secret(tmp_path, monkeypatch):
    """Whatever a model class dumps, the token and the recipe's API keys are not written (the file is published)."""
    from kit.generation.pipeline import _pipeline_yaml
    from kit.recipes import load_data_recipe

    monkeypatch.setenv("HF_TOKEN", "hf_STANDINtokenNOTaREALone")
    monkeypatch.setenv("STANDIN_JUDGE_KEY", "sk-standin-judge-key")

    class Dumps:  # stands in for a distilabel Pipeline whose save writes a secret field
        def save(self, path, format):
            Path(path).write_text("token: hf_STANDINtokenNOTaREALone\napi_key: sk-standin-judge-key\nseed: 7\n")

    recipe = load_data_recipe(ROOT / "recipes/data/tiny-local.yaml", [
        "verify.judge.model=m", "verify.judge.backend=openai", "verify.judge.api_key_env=STANDIN_JUDGE_KEY"])
    assert _pipeline_yaml(Dumps(), str(tmp_path), recipe) == "token: <secret>\napi_key: <secret>\nseed: 7\n"
