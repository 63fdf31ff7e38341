"""A model card updated with `kit eval` results: the EvalResults, their round trip through huggingface_hub's
ModelCardData and model-index, merging with earlier runs, and the Evaluation section of the body."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from huggingface_hub.repocard_data import eval_results_to_model_index, model_index_to_eval_results

from kit.evaluate.card import eval_results, merge_eval_results, render_table, update_model_card
from kit.hub.cards import check_card, front_matter
from kit.train.card import render_model_card
from tests.test_train_card import BASE, RESULTS, make_recipe

AIME_SHA = "a" * 40
MODEL_SHA = "b" * 40


def score(value: float, low: float, high: float, problems: int = 30) -> dict[str, Any]:
    return {"value": value, "ci_low": low, "ci_high": high, "stderr": 0.03, "problems": problems, "confidence": 0.95}


RUN: dict[str, Any] = {
    "kit_version": "0.1.0",
    "date": "2026-11-22T10:00:00+00:00",
    "recipe": {"name": "reasoning-suite", "benchmarks": ["aime24", "gpqa_diamond"]},
    "model": {"id": "/path/to/folder", "revision": "main", "sha": MODEL_SHA},
    "backend": {"name": "vllm", "version": "0.11.0", "tensor_parallel_size": 2, "gpu_memory_utilization": 0.9},
    "sampling": {"temperature": 0.7, "top_p": 0.95, "max_new_tokens": 32768, "seed": 0},
    "confidence": 0.95,
    "benchmarks": {
        "aime24": {
            "title": "AIME 2024", "kind": "math",
            "dataset": {"hub_id": "HuggingFaceH4/aime_2024", "config": None, "split": "train",
                        "revision": AIME_SHA, "source": "hub"},
            "problems": 30, "samples_per_problem": 10,
            "scores": {"pass@1": score(0.5, 0.43, 0.57), "pass@8": score(0.8, 0.7, 0.9)},
        },
        "gpqa_diamond": {
            "title": "GPQA Diamond", "kind": "multiple-choice",
            "dataset": {"hub_id": "Idavidrein/gpqa", "config": "gpqa_diamond", "split": "train",
                        "revision": "c" * 40, "source": "bundled"},
            "problems": 198, "samples_per_problem": 4,
            "scores": {"pass@1": score(0.3333, 0.28, 0.39, 198)},
        },
    },
    "details": {"repo": "me/tiny-reasoner-details"},
}


def run(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(RUN), **changes}


def second_run() -> dict[str, Any]:
    """A later run: AIME 2024 again (pass@1 only, new score) and MATH-500, which the first run did not have."""
    res = run(date="2026-12-01T08:00:00+00:00", details={"repo": None})
    res["benchmarks"] = {
        "aime24": copy.deepcopy(RUN["benchmarks"]["aime24"]),
        "math500": {"title": "MATH-500", "kind": "math",
                    "dataset": {"hub_id": "HuggingFaceH4/MATH-500", "config": None, "split": "test",
                                "revision": "d" * 40, "source": "hub"},
                    "problems": 500, "samples_per_problem": 4, "scores": {"pass@1": score(0.9, 0.88, 0.92, 500)}},
    }
    res["benchmarks"]["aime24"]["scores"] = {"pass@1": score(0.6, 0.52, 0.68)}
    return res


def as_dicts(results: list[EvalResult]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(r) for r in results]


def split_card(text: str) -> tuple[str, str]:
    """(front matter, body) of a card."""
    _, head, body = text.split("---\n", 2)
    return head, body


def outside_evaluation(body: str) -> str:
    """The body without its Evaluation section (up to the next `## ` heading)."""
    start = body.index("## Evaluation\n")
    end = body.find("\n## ", start + 1)
    return body[:start] + (body[end + 1:] if end != -1 else "")


def test_eval_results_fields() -> None:
    results = eval_results(RUN)
    assert [(r.dataset_type, r.metric_type) for r in results] == [
        ("HuggingFaceH4/aime_2024", "pass@1"), ("HuggingFaceH4/aime_2024", "pass@8"), ("Idavidrein/gpqa", "pass@1")]
    aime, _, gpqa = results
    assert aime == EvalResult(
        task_type="text-generation", dataset_type="HuggingFaceH4/aime_2024", dataset_name="AIME 2024",
        dataset_split="train", dataset_revision=AIME_SHA, metric_type="pass@1", metric_name="pass@1 (n=10)",
        metric_value=50.0,
        metric_args={"n": 10, "temperature": 0.7, "top_p": 0.95, "max_new_tokens": 32768, "confidence": 0.95,
                     "ci_low": 43.0, "ci_high": 57.0},
        source_name="reasoning-hub-kit", source_url="https://huggingface.co/datasets/me/tiny-reasoner-details")
    assert aime.dataset_config is None
    assert gpqa.dataset_config == "gpqa_diamond" and gpqa.metric_value == 33.33 and gpqa.metric_name == "pass@1 (n=4)"
    assert gpqa.dataset_revision is None  # a bundled copy: the Hub revision was not what was scored
    assert gpqa.metric_args["ci_low"] == 28.0 and gpqa.metric_args["ci_high"] == 39.0

    # without a details dataset there is no source (huggingface_hub wants a URL with a source name)
    alone = eval_results(run(details={"repo": None}))
    assert all(r.source_url is None and r.source_name is None for r in alone)


def test_a_limit_names_a_subset_only_when_it_left_problems_out() -> None:
    """`--limit 100` on AIME 2024's 30 problems scores all of them: no "first 30 problems" in the name."""
    def names(**bench: Any) -> list[str]:
        res = run()
        res["benchmarks"] = {"aime24": {**res["benchmarks"]["aime24"], **bench}}
        return [r.metric_name for r in eval_results(res)]

    assert names(limit=100, subset=False) == ["pass@1 (n=10)", "pass@8 (n=10)"]
    assert names(limit=5, problems=5, subset=True) == ["pass@1 (n=10, first 5 problems)",
                                                       "pass@8 (n=10, first 5 problems)"]
    assert names(limit=None, subset=False) == ["pass@1 (n=10)", "pass@8 (n=10)"]
    # results.json written before `subset` was recorded: a limit still names a subset, as it did
    assert names(limit=5, problems=5)[0] == "pass@1 (n=10, first 5 problems)"


def lcb_run(release: str, value: float, **window: str) -> dict[str, Any]:
    """A LiveCodeBench run as results.json records it: the release (and a date window) in its `dataset`."""
    res = run(details={"repo": None})
    res["benchmarks"] = {"livecodebench": {
        "title": "LiveCodeBench", "kind": "code", "problems": 400, "samples_per_problem": 4,
        "dataset": {"hub_id": "livecodebench/code_generation_lite", "config": None, "split": "test",
                    "revision": "e" * 40, "source": "hub", "release": release, **window},
        "scores": {"pass@1": score(value, value - 0.03, value + 0.03, 400)}}}
    return res


def math500_run(value: float, problems: int = 500, **bench: Any) -> dict[str, Any]:
    """A MATH-500 run; `problems=5, limit=5, subset=True`: `kit eval --limit 5`."""
    res = run(details={"repo": None})
    res["benchmarks"] = {"math500": {
        "title": "MATH-500", "kind": "math", "problems": problems, "samples_per_problem": 4, **bench,
        "dataset": {"hub_id": "HuggingFaceH4/MATH-500", "config": None, "split": "test", "revision": "d" * 40,
                    "source": "hub"},
        "scores": {"pass@1": score(value, value - 0.02, value + 0.02, problems)}}}
    return res


def test_livecodebench_releases_and_date_windows_are_results_of_their_own() -> None:
    """Different LiveCodeBench releases (or date windows of one) are different problem sets: each run keeps its
    own result, under its release (the config, as LiveCodeBench's version_tag) and window; a rerun of the same
    release and window replaces only its own score. The card names the release and the window."""
    text = update_model_card(None, lcb_run("release_v5", 0.572), "me/model")
    text = update_model_card(text, lcb_run("v6", 0.301), "me/model")
    text = update_model_card(text, lcb_run("release_v5", 0.41, date_from="2024-08-01", date_to="2025-02-01"),
                             "me/model")
    text = update_model_card(text, lcb_run("v6", 0.33), "me/model")  # the same problems again: replaces 30.1
    check_card(text, "model")
    data = ModelCard(text).data
    window = {"date_from": "2024-08-01", "date_to": "2025-02-01"}
    assert [(r.dataset_config, r.metric_value, {k: (r.metric_args or {}).get(k) for k in window})
            for r in data.eval_results] == [
        ("release_v5", 57.2, {"date_from": None, "date_to": None}),
        ("release_v5", 41.0, window),
        ("v6", 33.0, {"date_from": None, "date_to": None})]
    assert data.eval_results[1].metric_name == "pass@1 (n=4, 2024-08-01 to 2025-02-01)"
    _, parsed = model_index_to_eval_results(front_matter(text)["model-index"])  # reads back as written
    assert as_dicts(parsed) == as_dicts(data.eval_results)
    lcb = "[LiveCodeBench](https://huggingface.co/datasets/livecodebench/code_generation_lite)"
    assert f"| {lcb} (`release_v5`) | test | pass@1 | 57.2 |" in text
    assert f"| {lcb} (`release_v5`) | test | pass@1 (2024-08-01 to 2025-02-01) | 41.0 |" in text
    assert f"| {lcb} (`v6`) | test | pass@1 | 33.0 |" in text
    # a window with one end named as such
    (only,) = eval_results(lcb_run("release_v5", 0.5, date_from="2024-08-01"))
    assert only.metric_name == "pass@1 (n=4, from 2024-08-01)" and "date_to" not in only.metric_args
    # the kit train card renders the same results from eval_results.json
    as_json = [{k: v for k, v in dataclasses.asdict(e).items() if v is not None} for e in data.eval_results]
    card = render_model_card(make_recipe(), {**copy.deepcopy(RESULTS), "eval_results": as_json}, "me/model")
    assert as_dicts(ModelCard(card).data.eval_results) == as_dicts(data.eval_results)
    assert "pass@1 (2024-08-01 to 2025-02-01)" in card


def test_a_limit_quick_look_sits_beside_the_full_score() -> None:
    """`kit eval --limit 5` is a quick look, not a comparable score: it does not replace the full benchmark's
    score in the card but sits beside it, named as such; a later full run replaces only the full score, a
    later quick look of the same problems only the quick look."""
    text = update_model_card(None, math500_run(0.904), "me/model")
    text = update_model_card(text, math500_run(0.4, 5, limit=5, subset=True), "me/model")
    check_card(text, "model")

    def scores(card: str) -> list[tuple[str | None, float, Any]]:
        return [(r.metric_name, r.metric_value, (r.metric_args or {}).get("limit"))
                for r in ModelCard(card).data.eval_results]

    assert scores(text) == [("pass@1 (n=4)", 90.4, None), ("pass@1 (n=4, first 5 problems)", 40.0, 5)]
    math500 = "[MATH-500](https://huggingface.co/datasets/HuggingFaceH4/MATH-500)"
    assert f"| {math500} | test | pass@1 | 90.4 |" in text
    assert f"| {math500} | test | pass@1 (first 5 problems) | 40.0 |" in text
    _, parsed = model_index_to_eval_results(front_matter(text)["model-index"])
    assert as_dicts(parsed) == as_dicts(ModelCard(text).data.eval_results)

    full = update_model_card(text, math500_run(0.912), "me/model")
    # (a replaced score moves to the end of its group, as any new score does)
    assert scores(full) == [("pass@1 (n=4, first 5 problems)", 40.0, 5), ("pass@1 (n=4)", 91.2, None)]
    look = update_model_card(text, math500_run(0.6, 5, limit=5, subset=True), "me/model")
    assert scores(look) == [("pass@1 (n=4)", 90.4, None), ("pass@1 (n=4, first 5 problems)", 60.0, 5)]
    # a limit that left nothing out is the full score
    assert scores(update_model_card(text, math500_run(0.92, limit=1000, subset=False), "me/model")) == [
        ("pass@1 (n=4, first 5 problems)", 40.0, 5), ("pass@1 (n=4)", 92.0, None)]
    # a quick look written before `limit` was in the args is known by its name
    old = ModelCard(text)
    old.data.eval_results[1].metric_args.pop("limit")
    assert scores(update_model_card(old.content, math500_run(0.912), "me/model")) == [
        ("pass@1 (n=4, first 5 problems)", 40.0, None), ("pass@1 (n=4)", 91.2, None)]


def test_round_trip_through_model_card_data() -> None:
    card = render_model_card(make_recipe(), copy.deepcopy(RESULTS), "me/tiny-reasoner")
    text = update_model_card(card, RUN, "me/tiny-reasoner")
    merged = merge_eval_results(ModelCard(card).data.eval_results, eval_results(RUN))
    assert len(merged) == 4

    data = ModelCard(text).data
    assert as_dicts(data.eval_results) == as_dicts(merged)
    assert data.model_name == "me/tiny-reasoner"
    assert ModelCardData(**data.to_dict()).to_dict() == data.to_dict()
    meta = front_matter(text)
    name, parsed = model_index_to_eval_results(meta["model-index"])
    assert name == "me/tiny-reasoner" and as_dicts(parsed) == as_dicts(merged)
    assert eval_results_to_model_index(name, parsed) == meta["model-index"]
    check_card(text, "model")


def test_second_run_replaces_overlapping_scores_and_keeps_the_rest() -> None:
    card = render_model_card(make_recipe(), copy.deepcopy(RESULTS), "me/tiny-reasoner")
    first = update_model_card(card, RUN, "ignored/the-card-names-its-model")
    text = update_model_card(first, second_run(), "ignored/the-card-names-its-model")
    check_card(text, "model")

    data = ModelCard(text).data
    assert data.model_name == "me/tiny-reasoner"
    assert [(r.dataset_type, r.metric_type, r.metric_value) for r in data.eval_results] == [
        ("HuggingFaceH4/aime_2024", "pass@8", 80.0),  # kept from the first run ...
        ("HuggingFaceH4/aime_2024", "pass@1", 60.0),  # ... next to the score that replaced 50.0 (same group)
        ("Idavidrein/gpqa", "pass@1", 33.33),  # kept
        ("HuggingFaceH4/MATH-500", "pass@1", 90.0),  # replaces the training card's 0.826 (same split, metric)
    ]
    # the AIME group mixes two runs, one without a details dataset: no source is credited for it
    assert [r.source_url for r in data.eval_results] == [
        None, None, "https://huggingface.co/datasets/me/tiny-reasoner-details", None]

    head, body = split_card(text)
    assert data.base_model == BASE and data.license == "apache-2.0" and data.datasets == ["org/math-traces"]
    assert {"trl", "sft", "reasoning", "math"} <= set(data.tags)
    assert data.library_name == "transformers" and data.pipeline_tag == "text-generation"
    assert outside_evaluation(body) == outside_evaluation(split_card(card)[1])  # the rest is untouched
    aime = "[AIME 2024](https://huggingface.co/datasets/HuggingFaceH4/aime_2024)"
    assert ("## Evaluation\n\n"
            "| benchmark | split | metric | score | 95% CI | samples per problem |\n"
            "|---|---|---|---:|---:|---:|\n"
            f"| {aime} | train | pass@8 | 80.0 | 70.0 - 90.0 | 10 |\n"
            f"| {aime} | train | pass@1 | 60.0 | 52.0 - 68.0 | 10 |\n"
            "| [GPQA Diamond](https://huggingface.co/datasets/Idavidrein/gpqa) (`gpqa_diamond`) | train | pass@1 "
            "| 33.33 | 28.0 - 39.0 | 4 |\n"
            "| [MATH-500](https://huggingface.co/datasets/HuggingFaceH4/MATH-500) | test | pass@1 | 90.0 "
            "| 88.0 - 92.0 | 4 |\n\n"
            "Latest run: reasoning-hub-kit 0.1.0, recipe `reasoning-suite`; backend vllm 0.11.0 (tensor parallel "
            "size 2); sampling temperature 0.7, top_p 0.95, max_new_tokens 32768; on 2026-12-01; model revision "
            f"`{MODEL_SHA}`.\n\n## Usage\n") in body
    assert body.count("## Evaluation") == 1 and body.count("Latest run:") == 1
    assert "/path/to/folder" not in text and "gpu_memory_utilization" not in text  # no local path, no dict dumps


def test_first_run_links_its_details_and_is_idempotent() -> None:
    card = render_model_card(make_recipe(), copy.deepcopy(RESULTS), "me/tiny-reasoner")
    text = update_model_card(card, RUN, "me/tiny-reasoner")
    assert ("Per-sample details: [`me/tiny-reasoner-details`]"
            "(https://huggingface.co/datasets/me/tiny-reasoner-details).") in text
    # the training card's score has no interval nor sample count
    math500 = "[MATH-500](https://huggingface.co/datasets/HuggingFaceH4/MATH-500)"
    assert f"| {math500} | test | pass@1 (n=8) | 0.826 | - | - |" in text
    assert update_model_card(text, RUN, "me/tiny-reasoner") == text


def test_merge_eval_results() -> None:
    def result(dataset: str, metric: str, value: float, url: str | None = None, **kw: Any) -> EvalResult:
        return EvalResult(task_type="text-generation", dataset_type=dataset, dataset_name=dataset.upper(),
                          metric_type=metric, metric_value=value, source_url=url, **kw)

    old = [result("a", "pass@1", 1, "u"), result("a", "pass@8", 2, "u"), result("b", "pass@1", 3),
           result("c", "pass@1", 4, dataset_split="test")]
    new = [result("c", "pass@1", 5, dataset_split="train"), result("b", "pass@1", 6), result("d", "pass@1", 7)]
    merged = merge_eval_results(old, new)
    assert [(r.dataset_type, r.metric_value) for r in merged] == [("a", 1), ("a", 2), ("c", 4), ("c", 5), ("b", 6),
                                                                  ("d", 7)]
    # a new score joining an old group of another source: the group keeps no source
    merged = merge_eval_results(old, [result("a", "pass@1", 8, "v")])
    assert [(r.metric_type, r.metric_value, r.source_url) for r in merged[:2]] == [("pass@8", 2, None),
                                                                                   ("pass@1", 8, None)]
    assert merge_eval_results(old, []) == old and merge_eval_results([], new) == new


def test_table_names_the_confidence_only_when_shared() -> None:
    results = eval_results(RUN)
    assert "| 95% CI |" in render_table(results)
    results[0].metric_args["confidence"] = 0.9
    assert "| score | CI |" in render_table(results)
    assert render_table([]) == "No evaluation results yet.\n"


def test_section_goes_before_usage_and_code_blocks_are_no_headings() -> None:
    card = ("---\nlicense: mit\ntags:\n- math\n---\n\n# M\n\nIntro.\n\n```bash\n## Evaluation\n```\n\n"
            "## Usage\n\nRun it.\n")
    text = update_model_card(card, RUN, "me/m")
    _, body = split_card(text)
    start = body.rindex("\n## Evaluation\n")
    assert body[:start] == "\n# M\n\nIntro.\n\n```bash\n## Evaluation\n```\n"
    assert body.endswith("-details).\n\n## Usage\n\nRun it.\n")
    assert body.index("| [AIME 2024]") < body.index("## Usage")
    data = check_card(text, "model").data
    assert data.license == "mit" and data.tags == ["math"] and data.model_name == "me/m"


def test_section_is_appended_to_a_card_without_usage_or_metadata() -> None:
    text = update_model_card("# M\n\nSome words.\n", RUN, "me/m")
    check_card(text, "model")
    _, body = split_card(text)
    assert body.startswith("# M\n\nSome words.\n\n## Evaluation\n\n| benchmark |")
    assert body.endswith("(https://huggingface.co/datasets/me/tiny-reasoner-details).\n")


def test_minimal_card_without_readme() -> None:
    text = update_model_card(None, RUN, "org/model")
    card = check_card(text, "model")
    assert card.data.model_name == "org/model" and len(card.data.eval_results) == 3
    assert card.text.startswith("\n# org/model\n\n## Evaluation\n\n| benchmark |")
    assert as_dicts(card.data.eval_results) == as_dicts(eval_results(RUN))


def test_windows_line_endings_are_kept() -> None:
    card = "---\r\nlicense: mit\r\n---\r\n\r\n# M\r\n\r\n## Usage\r\n\r\nRun it.\r\n"
    text = update_model_card(card, RUN, "me/m")
    assert "\n" not in text.replace("\r\n", "") and "## Evaluation\r\n" in text
    assert ModelCard(text).data.license == "mit"
