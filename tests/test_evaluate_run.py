"""`kit eval` end to end, as a user runs it: the real CLI in a child process, benchmarks loaded from their Hub
ids on the Hub stand-in (or the bundled copies when the Hub is unreachable), the model under test behind the
OpenAI-compatible stand-in replaying right or wrong answers, or a tiny random model through transformers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from huggingface_hub import HfApi, ModelCard, ModelCardData

from kit.benchmarks import SPECS
from kit.core.schema import sample_seed
from tests.asgi_thread import free_port
from tests.benchmark_hub import publish_benchmarks

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "recipes/eval/reasoning-suite.yaml"
KEY_ENV = "KIT_TEST_EVAL_KEY"
SUITE_NAMES = ["aime24", "aime25", "amc23", "math500", "gpqa_diamond", "livecodebench"]


def env_for(tmp_path: Path, endpoint: str, token: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1",
               NO_COLOR="1", HF_HUB_DISABLE_XET="1", **extra)
    if token:
        env["HF_TOKEN"] = token
    return env


def kit_eval(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kit.cli", "eval", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=600)


def served(teacher: Any) -> list[str]:
    """The overrides that point a recipe at the OpenAI-compatible stand-in."""
    return ["--model", teacher.model, "--set", "model.backend=openai", "--set", f"model.base_url={teacher.base_url}",
            "--set", f"model.api_key_env={KEY_ENV}"]


def record_replies(teacher: Any, published: dict[str, Any], right: bool) -> dict[str, int]:
    """Make the stand-in answer every benchmark problem right (the ground truth) or wrong; return the number of
    problems per benchmark."""
    counts = {}
    for name, raws in published["rows"].items():
        spec = SPECS[name]
        rows = [spec.convert(raw, name) for raw in raws]
        counts[name] = len(rows)
        for raw, row in zip(raws, rows, strict=True):
            gold = row["ground_truth_answer"]
            if spec.kind == "math":
                content = "So the answer is \\boxed{" + (gold if right else "-\\frac{98765}{3}") + "}."
            elif spec.kind == "choice":
                content = "The answer is \\boxed{" + (gold if right else "ABCD"[("ABCD".index(gold) + 1) % 4]) + "}."
            else:
                code = published["code"][raw.get("question_content") or raw.get("prompt")]
                if not right:
                    code = _wrong_code(row)
                content = f"Here it is.\n\n```python\n{code}\n```"
            teacher.add_recording(row["problem"].strip(), [{"reasoning_content": "Let me work it out step by step.",
                                                    "content": content}])
    return counts


def _wrong_code(row: dict[str, Any]) -> str:
    """Code that runs and gives a wrong result for every test of the row."""
    tests = json.loads(row["test_cases"])
    if "entry_point" in tests:
        return f"def {tests['entry_point']}(*args, **kwargs):\n    return 'wrong'"
    if tests.get("fn_name"):
        return f"class Solution:\n    def {tests['fn_name']}(self, *args):\n        return -987654321"
    return "print(-987654321)"


@pytest.fixture
def benchmarks(hub) -> dict[str, Any]:
    return publish_benchmarks(HfApi(endpoint=hub.url, token=hub.token))


@pytest.mark.parametrize("right", [True, False], ids=["ground-truth", "wrong"])
def test_every_benchmark_scores_100_with_the_ground_truth_and_0_with_wrong_answers(hub, teacher, benchmarks,
                                                                                      tmp_path, right):
    counts = record_replies(teacher, benchmarks, right)
    out = tmp_path / "out"
    env = env_for(tmp_path, hub.url, hub.token, **{KEY_ENV: teacher.api_key})
    proc = kit_eval(env, str(SUITE), *served(teacher), "--out", str(out), "--set", "model.concurrency=128")
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())
    assert list(results["benchmarks"]) == SUITE_NAMES
    expected = {**counts, "livecodebench": 3}  # release_v2: test.jsonl and test2.jsonl, not test3.jsonl
    for name, bench in results["benchmarks"].items():
        assert bench["problems"] == expected[name], name
        assert bench["dataset"]["source"] == "hub"
        assert bench["dataset"]["revision"] == hub.head(SPECS[name].hub_id, "dataset")
        for key, score in bench["scores"].items():
            assert score["value"] == (1.0 if right else 0.0), (name, key, bench["reasons"])
            assert score["ci_low"] == score["ci_high"] == score["value"]
        if not right:
            assert set(bench["reasons"]) == {"tests_failed" if bench["kind"] == "code" else "wrong_answer"}, name
    assert results["benchmarks"]["aime24"]["samples_per_problem"] == 10
    lcb = results["benchmarks"]["livecodebench"]["by_difficulty"]
    assert {d: s["problems"] for d, s in lcb.items()} == {"easy": 2, "medium": 1}
    assert {s["value"] for s in lcb.values()} == {1.0 if right else 0.0}
    assert set(results["benchmarks"]["aime24"]["scores"]) == {"pass@1", "pass@8"}
    assert teacher.api_key not in (out / "results.json").read_text() + proc.stdout + proc.stderr


def test_results_record_what_reproduces_the_number(hub, teacher, benchmarks, tmp_path):
    record_replies(teacher, benchmarks, right=True)
    out = tmp_path / "out"
    env = env_for(tmp_path, hub.url, hub.token, **{KEY_ENV: teacher.api_key})
    recipe = tmp_path / "two.yaml"
    recipe.write_text("name: two\nbenchmarks:\n  - {name: gpqa_diamond, samples: 3, k: [1, 2]}\n"
                      "  - {name: aime25, samples: 2}\nsampling: {temperature: 0.6, seed: 7}\n")
    proc = kit_eval(env, str(recipe), *served(teacher), "--out", str(out), "--revision", "v9")
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())
    import openai

    import kit
    assert results["kit_version"] == kit.__version__ and results["date"].startswith("20")
    assert results["model"] == {"id": teacher.model, "name": teacher.model, "revision": "v9", "sha": None,
                                "local": False}
    assert results["backend"]["name"] == "openai" and results["backend"]["version"] == openai.__version__
    assert results["backend"]["base_url"] == teacher.base_url
    assert results["sampling"] == {"temperature": 0.6, "top_p": 0.95, "max_new_tokens": 32768, "seed": 7}
    assert results["prompt"]["instructions"]["science"].endswith("\\boxed{A}.")
    assert results["recipe"]["benchmarks"][0]["samples"] == 3
    # every sample was asked with its own recorded seed, and the details hold each one
    [details_file] = (out / "details/gpqa_diamond").glob("details-*.parquet")  # named by a content fingerprint
    details = pq.read_table(details_file).to_pylist()
    assert len(details) == 5 * 3
    asked = {r.seed for r in teacher.requests if r.path.endswith("/chat/completions")}
    for row in details:
        assert row["seed"] == sample_seed(7, row["problem_id"], row["sample_index"]) and row["seed"] in asked
        assert row["correct"] and row["gold"] in "ABCD" and row["reasoning"].startswith("Let me")
    # the prompt in the details is the one the model saw
    bodies = [r.body for r in teacher.requests if r.body and r.body.get("messages")]
    assert any(row["prompt"] == b["messages"][-1]["content"] for b in bodies for row in details[:1])
    assert {(b["temperature"], b["top_p"], b["max_tokens"], b["model"]) for b in bodies} == {
        (0.6, 0.95, 32768, teacher.model)}  # the recorded sampling is what the server was asked with
    assert (out / "details/README.md").is_file() and (out / "details/results.json").is_file()

    # the same command again asks nothing: every sample is in the store
    before = len(teacher.requests)
    proc = kit_eval(env, str(recipe), *served(teacher), "--out", str(out), "--revision", "v9")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert len([r for r in teacher.requests[before:] if r.path.endswith("/chat/completions")]) == 0


def test_offline_falls_back_to_the_bundled_copies_and_names_what_is_missing(teacher, tmp_path):
    from kit.benchmarks import load_benchmark

    for row in load_benchmark("aime24")[:1] + load_benchmark("math500")[:2]:
        teacher.add_recording(row["problem"], [{"content": "\\boxed{" + row["ground_truth_answer"] + "}"}])
    closed = f"http://127.0.0.1:{free_port()}"
    env = env_for(tmp_path, closed, **{KEY_ENV: teacher.api_key})
    recipe = tmp_path / "offline.yaml"
    recipe.write_text("name: offline\nbenchmarks:\n  - {name: aime24, limit: 1}\n  - {name: math500, limit: 2}\n")
    out = tmp_path / "out"
    proc = kit_eval(env, str(recipe), *served(teacher), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "using the copy bundled with the kit" in proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["benchmarks"]["aime24"]["dataset"]["source"] == "bundled"
    assert results["benchmarks"]["aime24"]["scores"]["pass@1"]["value"] == 1.0

    recipe.write_text("name: offline\nbenchmarks:\n  - {name: aime24}\n  - {name: aime25}\n")
    proc = kit_eval(env, str(recipe), *served(teacher), "--out", str(tmp_path / "out2"))
    assert proc.returncode == 2
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("error: aime25: ") and "no copy is bundled" in message and "path:" in message
    assert "Traceback" not in proc.stderr


def aime25_run(hub: Any, teacher: Any, raws: list[dict[str, Any]], tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """The stand-in answers the AIME25 rows `raws` right; the environment, a recipe of AIME25 alone (two requests
    at a time, no retries) and its output folder."""
    for raw in raws:
        row = SPECS["aime25"].convert(raw, "aime25")
        teacher.add_recording(row["problem"], [{"content": "\\boxed{" + row["ground_truth_answer"] + "}"}])
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\nmodel: {concurrency: 2, max_retries: 0}\nbenchmarks:\n  - {name: aime25}\n")
    return env_for(tmp_path, hub.url, hub.token, **{KEY_ENV: teacher.api_key}), recipe, tmp_path / "out"


def test_a_failing_server_stops_the_run_and_keeps_what_was_answered(hub, teacher, benchmarks, tmp_path):
    """The stand-in has no answer for the last AIME25 problem (it answers 400): the run stops with exit 1,
    the samples answered before are kept, and once the server answers, the run resumes with that one."""
    last = SPECS["aime25"].convert(benchmarks["rows"]["aime25"][-1], "aime25")["problem"]
    env, recipe, out = aime25_run(hub, teacher, benchmarks["rows"]["aime25"][:-1], tmp_path)
    proc = kit_eval(env, str(recipe), *served(teacher), "--out", str(out))
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "eval failed" in proc.stderr and "HTTP 400" in proc.stderr and "run the same command again" in proc.stderr
    assert not (out / "results.json").exists()
    teacher.add_recording(last, [{"content": "\\boxed{11}"}])
    before = len(teacher.requests_matching("POST", "chat/completions"))
    proc = kit_eval(env, str(recipe), *served(teacher), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert len(teacher.requests_matching("POST", "chat/completions")) - before == 1
    assert json.loads((out / "results.json").read_text())["benchmarks"]["aime25"]["scores"]["pass@1"]["value"] == 1


def test_ctrl_c_says_where_the_answered_samples_are_and_the_same_command_resumes(hub, teacher, benchmarks, tmp_path):
    """Ctrl-C in the middle of a run printed click's bare "Aborted!": it now says that the answered samples are
    kept and where, exits 130, and the same command resumes, asking only what was not answered."""
    import signal
    import time

    env, recipe, out = aime25_run(hub, teacher, benchmarks["rows"]["aime25"], tmp_path)
    teacher.delay_next(0.01, count=2)  # the first batch is answered
    held = teacher.delay_next(300, count=2)  # the second is not, until the run is stopped
    proc = subprocess.Popen([sys.executable, "-m", "kit.cli", "eval", str(recipe), *served(teacher), "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while held.fired < 2:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == (f"stopped: the samples answered so far are kept in {out / '.samples'}/; "
                                               "the same command resumes")
    before = len(teacher.requests_matching("POST", "chat/completions"))
    resumed = kit_eval(env, str(recipe), *served(teacher), "--out", str(out))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    asked = len(teacher.requests_matching("POST", "chat/completions")) - before
    assert asked == len(benchmarks["rows"]["aime25"]) - 2  # the 2 answered are kept


def test_a_tiny_random_model_runs_every_benchmark_end_to_end_on_cpu(hub, benchmarks, tmp_path):
    from kit.train.tinymodel import make_tiny_model

    model = make_tiny_model(tmp_path / "tiny", ["The answer is \\boxed{42}.", "print(1)", "A) B) C) D)"] * 20)
    out = tmp_path / "out"
    env = env_for(tmp_path, hub.url, hub.token)
    proc = kit_eval(env, str(SUITE), "--model", str(model), "--limit", "5", "--out", str(out),
                    "--set", "model.backend=transformers", "--set", "model.device=cpu",
                    "--set", "sampling.max_new_tokens=16", "--set", "model.concurrency=16",
                    "--push-details", "me/tiny-details")
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())
    assert {n: b["problems"] for n, b in results["benchmarks"].items()} == {
        "aime24": 5, "aime25": 5, "amc23": 5, "math500": 5, "gpqa_diamond": 5, "livecodebench": 3}
    assert results["backend"]["name"] == "transformers" and results["backend"]["device"] == "cpu"
    assert results["prompt"]["chat_template_sha256"] and results["details"]["repo"] == "me/tiny-details"
    for name, bench in results["benchmarks"].items():
        [details_file] = (out / "details" / name).glob("details-*.parquet")
        rows = pq.read_table(details_file).to_pylist()
        assert len(rows) == bench["problems"] * bench["samples_per_problem"]
        assert sum(r["correct"] for r in rows) == bench["correct_samples"]
        assert all(0 < (r["output_tokens"] or 0) <= 16 for r in rows)
    # the details dataset is on the Hub, one config per benchmark
    code = ("import json; from datasets import load_dataset; "
            "print(json.dumps(len(load_dataset('me/tiny-details', 'gpqa_diamond', split='train'))))")
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    assert json.loads(child.stdout.strip().splitlines()[-1]) == 5 * 3  # GPQA-Diamond: 3 samples a problem
    # the model folder's card carries the scores and round-trips through ModelCardData
    card = ModelCard.load(model / "README.md")
    evals = card.data.eval_results
    assert len(evals) == sum(len(b["scores"]) for b in results["benchmarks"].values())
    assert {e.dataset_type for e in evals} == {SPECS[n].hub_id for n in SUITE_NAMES}
    again = ModelCardData(**card.data.to_dict())
    assert again.to_dict() == card.data.to_dict() and again.eval_results == evals
    assert json.loads((model / "eval_results.json").read_text())[0]["metric_type"] == "pass@1"
    # --limit 5: the card says a score is on a subset only where problems were left out, not for GPQA's 5 and
    # LiveCodeBench's 3 (release_v2) here, all scored
    whole = {"gpqa_diamond", "livecodebench"}
    assert {n: b["subset"] for n, b in results["benchmarks"].items()} == {n: n not in whole for n in SUITE_NAMES}
    assert {e.dataset_type for e in evals if "first 5 problems" not in e.metric_name} == {
        SPECS[n].hub_id for n in whole}
    assert "## Evaluation" in card.text and "GPQA-Diamond" in card.text


def test_a_hub_model_is_pinned_to_its_commit_and_its_card_is_pushed(hub, tmp_path):
    """A model on the Hub (the stand-in): loaded at the commit its revision resolves to, which results.json
    records; with --push-card the card, updated with the scores and a link to the details dataset, is committed
    to the model repo alone (the weights are untouched)."""
    from kit.train.tinymodel import make_tiny_model

    api = HfApi(endpoint=hub.url, token=hub.token)
    folder = make_tiny_model(tmp_path / "tiny", ["The answer is \\boxed{42}."] * 20)
    (folder / "README.md").write_text("---\nlicense: apache-2.0\ntags: [reasoning]\n---\n\n# Tiny\n\n## Usage\n\nLoad "
                                      "it.\n")
    api.create_repo("me/tiny-reasoner")
    api.upload_folder(folder_path=str(folder), repo_id="me/tiny-reasoner")
    weights_sha = hub.head("me/tiny-reasoner", "model")
    files = set(api.list_repo_files("me/tiny-reasoner"))
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: hub-model\nmodel: {backend: transformers, device: cpu}\nsampling: {max_new_tokens: 8}\n"
                      "benchmarks:\n  - {name: aime24, limit: 2, source: bundled}\n")
    env = env_for(tmp_path, hub.url, hub.token)
    proc = kit_eval(env, str(recipe), "--model", "me/tiny-reasoner", "--revision", "main", "--out",
                    str(tmp_path / "out"), "--push-card", "--push-details", "me/tiny-reasoner-details")
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads((tmp_path / "out/results.json").read_text())
    assert results["model"]["sha"] == weights_sha and results["model"]["revision"] == "main"
    assert results["recipe"]["model"]["revision"] == weights_sha  # what was loaded
    assert set(api.list_repo_files("me/tiny-reasoner")) == files
    assert hub.head("me/tiny-reasoner", "model") != weights_sha  # one more commit: the card
    card = ModelCard(Path(api.hf_hub_download("me/tiny-reasoner", "README.md", cache_dir=tmp_path / "c")).read_text())
    assert card.data.license == "apache-2.0" and card.data.tags == ["reasoning"]
    (result,) = card.data.eval_results
    assert (result.dataset_type, result.metric_type) == ("HuggingFaceH4/aime_2024", "pass@1")
    assert result.source_url == "https://huggingface.co/datasets/me/tiny-reasoner-details"
    assert card.text.index("## Evaluation") < card.text.index("## Usage")
    assert "me/tiny-reasoner-details" in card.text


LEGACY_CARD = """---
license: mit
tags: [spacy]
model-index:
- name: sv_core_news_sm
  results:
  - task: {name: NER, type: token-classification}
    metrics:
    - {name: NER Precision, type: precision, value: 0.7832}
---
# sv_core_news_sm

Swedish pipeline optimized for CPU.
"""  # a model-index without `dataset:`, as spaCy's cards ship it (huggingface_hub#1361): it does not parse

UPDATE_CARD = """
import json, sys
from pathlib import Path
from kit.evaluate.run import EvalRun, update_card
from kit.hub.publish import PublishError
out, results = Path(sys.argv[1]), json.loads(sys.argv[2])
for repo in sys.argv[3:]:
    results["model"] = {"id": repo, "name": repo, "revision": None, "sha": None, "local": False}
    (out / repo).mkdir(parents=True)
    try:
        update_card(EvalRun(out / repo, results, {}), push=True, log=lambda line: None)
        print(f"{repo}: pushed")
    except PublishError as exc:
        print(f"{repo}: PublishError: {exc}")
"""


def test_push_card_starts_a_card_only_where_the_model_has_none(hub, tmp_path):
    """`--push-card` on a Hub model: a model without README.md gets a new card; a card that could not be read
    (metadata huggingface_hub cannot parse, the Hub failing) is left alone - nothing is pushed, and the one-line
    error says why and where the results are - rather than replaced by a card built from nothing."""
    from tests.test_evaluate_card import RUN

    api = HfApi(endpoint=hub.url, token=hub.token)
    for repo in ("me/legacy", "me/flaky", "me/bare"):
        api.create_repo(repo)
        api.upload_file(path_or_fileobj=b"weights", path_in_repo="model.safetensors", repo_id=repo)
    api.upload_file(path_or_fileobj=LEGACY_CARD.encode(), path_in_repo="README.md", repo_id="me/legacy")
    api.upload_file(path_or_fileobj=b"---\nlicense: mit\n---\n# Flaky\n", path_in_repo="README.md",
                    repo_id="me/flaky")
    heads = {repo: hub.head(repo, "model") for repo in ("me/legacy", "me/flaky", "me/bare")}
    hub.fail_next("GET", r"me/flaky/.*README\.md", 403)  # refused (5xx are retried for half a minute)
    hub.fail_next("HEAD", r"me/flaky/.*README\.md", 403)
    said = {}
    for out, repos, offline in (("out", ["me/legacy", "me/flaky", "me/bare"], {}),
                                ("offline", ["me/flaky"], {"HF_HUB_OFFLINE": "1"})):  # nothing in the cache
        proc = subprocess.run([sys.executable, "-c", UPDATE_CARD, str(tmp_path / out), json.dumps(RUN), *repos],
                              capture_output=True, text=True, cwd=ROOT, timeout=300,
                              env=env_for(tmp_path, hub.url, hub.token, **offline))
        assert proc.returncode == 0, proc.stderr[-4000:]
        said.update({f"{out}/{k}": v for k, v in (line.split(": ", 1) for line in proc.stdout.strip().splitlines())})
    for key in ("out/me/legacy", "out/me/flaky", "offline/me/flaky"):
        repo = key.split("/", 1)[1]
        assert said[key].startswith(f"PublishError: {repo}: the model card could not be read (")
        assert said[key].endswith(f"the results are in {tmp_path / key / 'results.json'} (--no-card skips the card)")
        assert "\n" not in said[key] and not (tmp_path / key / "README.md").exists()
        assert hub.head(repo, "model") == heads[repo]  # nothing pushed
    assert "(OfflineModeIsEnabled: " in said["offline/me/flaky"]  # offline is no "README.md is missing"
    assert "(HfHubHTTPError: 403 " in said["out/me/flaky"]
    assert "Invalid `model_index`" in said["out/me/legacy"] and "ignore_metadata_errors" not in said["out/me/legacy"]
    card = api.hf_hub_download("me/legacy", "README.md", cache_dir=tmp_path / "c")
    assert Path(card).read_text() == LEGACY_CARD
    # no README.md at all: the card is started
    assert said["out/me/bare"] == "pushed" and hub.head("me/bare", "model") != heads["me/bare"]
    card = ModelCard(Path(api.hf_hub_download("me/bare", "README.md", cache_dir=tmp_path / "c")).read_text())
    assert [r.dataset_type for r in card.data.eval_results] == ["HuggingFaceH4/aime_2024"] * 2 + ["Idavidrein/gpqa"]


def test_a_local_model_card_that_does_not_parse_is_left_alone(tmp_path):
    """A local model folder whose README.md has metadata huggingface_hub cannot parse: a one-line error, and
    neither the README.md nor eval_results.json is written."""
    from kit.evaluate.run import EvalRun, update_card
    from kit.hub.publish import PublishError
    from tests.test_evaluate_card import RUN

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "README.md").write_text(LEGACY_CARD)
    results = {**RUN, "model": {"id": str(folder), "name": "me/model", "revision": None, "sha": None, "local": True}}
    with pytest.raises(PublishError, match=r"^\S+/model/README.md: the model card could not be read \(ValueError: "
                       r"Invalid `model_index`.*the results are in \S+/results.json"):
        update_card(EvalRun(tmp_path / "out", results, {}), log=lambda line: None)
    assert (folder / "README.md").read_text() == LEGACY_CARD and not (folder / "eval_results.json").exists()


def test_a_local_model_folder_keeps_the_full_score_beside_a_quick_look(tmp_path):
    """`kit eval --limit` on a local model folder: its README.md and eval_results.json (what `kit train`
    renders the card's results from) keep the full score beside the quick look."""
    from kit.evaluate.run import EvalRun, update_card
    from tests.test_evaluate_card import math500_run

    folder = tmp_path / "model"
    folder.mkdir()
    model = {"id": str(folder), "name": "me/model", "revision": None, "sha": None, "local": True}
    for res in (math500_run(0.904), math500_run(0.4, 5, limit=5, subset=True)):
        update_card(EvalRun(tmp_path / "out", {**res, "model": model}, {}), log=lambda line: None)
    saved = json.loads((folder / "eval_results.json").read_text())
    assert [(e["metric_name"], e["metric_value"]) for e in saved] == [
        ("pass@1 (n=4)", 90.4), ("pass@1 (n=4, first 5 problems)", 40.0)]
    assert [(r.metric_name, r.metric_value) for r in ModelCard.load(folder / "README.md").data.eval_results] == [
        ("pass@1 (n=4)", 90.4), ("pass@1 (n=4, first 5 problems)", 40.0)]


def test_gsm8k_and_olympiadbench_from_local_copies(hub, teacher, tmp_path):
    """The two benchmarks OctoThinker's RL runs are also measured on, from local copies in their Hub layouts
    (openai/gsm8k main; Hothan/OlympiadBench OE_TO_maths_en_COMP): each scores by the math answer rule, and the
    details record the gold the verifier read (GSM8K's is the `#### N` line of its reference solution)."""
    gsm8k = [{"question": "A box holds 4 eggs. How many eggs are in 3 boxes?", "answer": "3 * 4 = <<3*4=12>>12\n#### 12"},
             {"question": "Tom has 1,200 stamps and gives away 200. How many are left?", "answer": "#### 1,000"}]
    olympiad = [{"id": 7, "subfield": "Algebra", "context": None, "question": "Find the real root of $x^3 = 8$.",
                 "solution": ["$x = 2$."], "final_answer": ["$2$"], "is_multiple_answer": False, "unit": None,
                 "answer_type": "Numerical", "error": None}]
    for name, rows in (("gsm8k", gsm8k), ("olympiad", olympiad)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    replies = {gsm8k[0]["question"]: "\\boxed{12}", gsm8k[1]["question"]: "\\boxed{1000}",
               olympiad[0]["question"]: "\\boxed{3}"}  # the last one is wrong
    for question, reply in replies.items():
        teacher.add_recording(question, [{"content": f"<think>\nwork\n</think>\n\n{reply}"}])
    recipe = tmp_path / "octo.yaml"
    recipe.write_text(f"name: octo\nmodel: {{concurrency: 2}}\nbenchmarks:\n"
                      f"  - {{name: gsm8k, path: {tmp_path / 'gsm8k.jsonl'}}}\n"
                      f"  - {{name: olympiadbench, path: {tmp_path / 'olympiad.jsonl'}}}\n")
    out = tmp_path / "out"
    env = env_for(tmp_path, hub.url, hub.token, **{KEY_ENV: teacher.api_key})
    proc = kit_eval(env, str(recipe), *served(teacher), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())["benchmarks"]
    assert results["gsm8k"]["scores"]["pass@1"]["value"] == 1.0 and results["gsm8k"]["dataset"]["source"] == "local"
    assert results["olympiadbench"]["scores"]["pass@1"]["value"] == 0.0
    [details_file] = (out / "details/gsm8k").glob("details-*.parquet")
    assert sorted(row["gold"] for row in pq.read_table(details_file).to_pylist()) == ["1000", "12"]
