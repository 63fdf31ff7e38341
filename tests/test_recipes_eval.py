"""Evaluation recipes and benchmark loading without the Hub: recipe checks, local copies (LiveCodeBench release
files and its date window), the bundled copies, and GPQA's fixed choice order."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from kit.benchmarks import SPECS
from kit.evaluate.data import BenchmarkUnavailable, load
from kit.recipes import RecipeError
from kit.recipes.eval import BenchmarkConfig, EvalRecipe, load_eval_recipe, model_slug, output_dir
from tests.benchmark_hub import GPQA, LIVECODEBENCH

ROOT = Path(__file__).resolve().parent.parent


def test_the_suite_recipe_has_the_seed_papers_settings():
    recipe = load_eval_recipe(ROOT / "recipes/eval/reasoning-suite.yaml")
    assert [b.name for b in recipe.benchmarks] == ["aime24", "aime25", "amc23", "math500", "gpqa_diamond",
                                                    "livecodebench"]
    # Evalchemy (eval/chat_benchmarks/*/eval_instruct.py), whose numbers OpenThinker reports: temperature 0.7, no
    # top_p (vLLM's 1.0), 32768 tokens, n_repeat 10 for AIME/AMC, 1 for MATH500, 3 for GPQA, 6 for LCB release_v2
    assert (recipe.sampling.temperature, recipe.sampling.top_p, recipe.sampling.max_new_tokens) == (0.7, 1.0, 32768)
    assert {b.name: b.samples for b in recipe.benchmarks} == {"aime24": 10, "aime25": 10, "amc23": 10, "math500": 1,
                                                              "gpqa_diamond": 3, "livecodebench": 6}
    assert {b.name: b.release for b in recipe.benchmarks}["livecodebench"] == "release_v2"
    # its prompts are the kit's own, not Evalchemy's: the recipe says so instead of claiming a reproduction
    reproduces = " ".join((recipe.reproduces or "").split())
    assert "top_p 1.0" in reproduces and "Not its prompts" in reproduces and "not a reproduction" in reproduces
    header = (ROOT / "recipes/eval/reasoning-suite.yaml").read_text().split("\nname:")[0]
    assert "Problem: {problem}\\nMark your solution with \\boxed\\nAnswer:" in header  # Evalchemy's math prompt
    assert recipe.model.backend == "vllm" and recipe.model.max_model_len > recipe.sampling.max_new_tokens
    tiny = load_eval_recipe(ROOT / "recipes/eval/tiny-cpu.yaml")
    assert all(SPECS[b.name].bundled and b.source == "bundled" for b in tiny.benchmarks)


@pytest.mark.parametrize(("yaml", "message"), [
    ("benchmarks: [{name: aime24, samples: 4, k: [8]}]", "benchmarks.0: aime24: pass@k needs 1 <= k <= samples (4)"),
    ("benchmarks: [{name: aime26}]", "benchmarks.0.name: Input should be"),
    ("benchmarks: [{name: aime25, source: bundled}]", "aime25 has no copy bundled with the kit"),
    ("benchmarks: [{name: aime24}, {name: aime24}]", "benchmark aime24 is listed twice"),
    ("benchmarks: [{name: livecodebench, date_from: 2024/01/01}]", "must be a date YYYY-MM-DD"),
    ("benchmarks: [{name: aime24, sample: 4}]", "unknown key (did you mean 'samples'?)"),
    ("benchmarks: [{name: livecodebench, release: v3_v1}]", "benchmarks.0.release: unknown LiveCodeBench release "
     "'v3_v1' (valid: release_v1 .. release_v6, release_latest, v1 .. v6, or a range vI_vJ with I < J"),
    ("benchmarks: [{name: livecodebench, release: latest}]", "unknown LiveCodeBench release 'latest'"),
])
def test_recipe_mistakes_are_one_line(tmp_path, yaml, message):
    path = tmp_path / "r.yaml"
    path.write_text(f"name: r\n{yaml}\n")
    with pytest.raises(RecipeError) as err:
        load_eval_recipe(path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_output_folder_names_the_recipe_and_the_model(tmp_path):
    recipe = EvalRecipe.model_validate({"name": "suite", "benchmarks": [{"name": "aime24"}]})
    assert output_dir(recipe, "open-thoughts/OpenThinker-7B") == Path("out/eval/suite/open-thoughts--OpenThinker-7B")
    (tmp_path / "ckpt").mkdir()
    assert model_slug(str(tmp_path / "ckpt")) == "ckpt"
    assert output_dir(recipe, "x", tmp_path / "here") == tmp_path / "here"


def test_livecodebench_from_a_local_copy_with_its_release_and_date_window(tmp_path):
    for name, rows in LIVECODEBENCH.items():
        (tmp_path / name).write_text("".join(json.dumps(row) + "\n" for row, _ in rows))
    cfg = BenchmarkConfig(name="livecodebench", path=str(tmp_path), release="release_v3", date_from="2023-07-01",
                          date_to="2024-03-01")
    loaded = load(cfg)
    assert [r["question_id"] for r in loaded.rows] == ["1002", "1003"]
    assert loaded.dataset["source"] == "local" and loaded.dataset["release"] == "release_v3"
    # the window is what was scored too: results.json records it, and the card keeps windows apart
    assert (loaded.dataset["date_from"], loaded.dataset["date_to"]) == ("2023-07-01", "2024-03-01")
    assert all(r["domain"] == "code" and json.loads(r["test_cases"])["inputs"] for r in loaded.rows)
    with pytest.raises(BenchmarkUnavailable, match=r"^livecodebench: .* no test4.jsonl for release_v4"):
        load(BenchmarkConfig(name="livecodebench", path=str(tmp_path), release="release_v4"))
    (tmp_path / "bad.jsonl").write_text(json.dumps({"question": "What is 1 + 1?"}) + "\n")
    with pytest.raises(BenchmarkUnavailable, match=r"^aime25: row 1 does not read as a row of AIME 2025 \(no column 'answer'\)"):
        load(BenchmarkConfig(name="aime25", path=str(tmp_path / "bad.jsonl")))
    with pytest.raises(BenchmarkUnavailable, match="no problems"):
        load(BenchmarkConfig(name="livecodebench", path=str(tmp_path), date_from="2030-01-01"))
    # a row outside the window is never converted: tests that do not decode there fail nothing
    broken = {**LIVECODEBENCH["test.jsonl"][0][0], "question_id": "0999", "contest_date": "2023-01-01T00:00:00",
              "private_test_cases": "not base64 of anything"}
    with (tmp_path / "test.jsonl").open("a") as fh:
        fh.write(json.dumps(broken) + "\n")
    assert [r["question_id"] for r in load(cfg).rows] == ["1002", "1003"]
    with pytest.raises(BenchmarkUnavailable, match=r"^livecodebench: row \d+ does not read as a row of LiveCodeBench"):
        load(BenchmarkConfig(name="livecodebench", path=str(tmp_path), release="release_v3"))


def test_bundled_copies_and_limit():
    loaded = load(BenchmarkConfig(name="amc23", source="bundled", limit=3))
    assert len(loaded.rows) == 3 and loaded.dataset == {
        "hub_id": "math-ai/amc23", "config": None, "split": "test", "revision": None, "source": "bundled",
        "path": "kit:benchmarks/amc23.jsonl"}
    assert loaded.rows[0]["ground_truth_answer"] == "27"


def test_gpqa_choices_are_shuffled_once_and_for_all():
    raws = [{"Question": q, "Correct Answer": a, "Incorrect Answer 1": b, "Incorrect Answer 2": c,
             "Incorrect Answer 3": d} for q, a, b, c, d in GPQA]
    rows = [SPECS["gpqa_diamond"].convert(raw, "gpqa_diamond") for raw in raws]
    assert rows == [SPECS["gpqa_diamond"].convert(raw, "gpqa_diamond") for raw in raws]  # the same every run
    for raw, row in zip(raws, rows, strict=True):
        letter = row["ground_truth_answer"]
        assert f"\n{letter}) {raw['Correct Answer']}" in row["problem"]
        assert all(f") {raw[k]}" in row["problem"] for k in ("Incorrect Answer 1", "Incorrect Answer 2"))
    assert len({row["ground_truth_answer"] for row in rows}) > 1  # not always A, as the dataset lists it


@pytest.mark.parametrize("release", ["release_latest", "release_v6", "v1_v3", "v4_v5", "v4"])
def test_a_recipe_takes_livecodebenchs_own_release_tags(tmp_path, release):
    path = tmp_path / "r.yaml"
    path.write_text(f"name: r\nbenchmarks: [{{name: livecodebench, release: {release}}}]\n")
    assert load_eval_recipe(path).benchmarks[0].release == release


def test_livecodebench_ranges_and_latest_from_a_local_copy(tmp_path):
    for name, rows in LIVECODEBENCH.items():
        (tmp_path / name).write_text("".join(json.dumps(row) + "\n" for row, _ in rows))
    ids = {release: [r["question_id"] for r in load(BenchmarkConfig(name="livecodebench", path=str(tmp_path),
                                                                   release=release)).rows]
           for release in ("v1_v3", "v2_v3", "v3")}
    assert ids == {"v1_v3": ["1001", "1002", "1003", "1004"], "v2_v3": ["1003", "1004"], "v3": ["1004"]}
    with pytest.raises(BenchmarkUnavailable, match=r"^livecodebench: .* no test4.jsonl for release_latest$"):
        load(BenchmarkConfig(name="livecodebench", path=str(tmp_path), release="release_latest"))


def test_gpqa_from_its_own_csv_file(tmp_path):
    """Idavidrein/gpqa ships each config as one CSV (`gpqa_diamond.csv`, as simple-evals downloads it too): given
    as `path:`, it reads as the Hub dataset does, an empty cell as None."""
    columns = ["Pre-Revision Question", "Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2",
               "Incorrect Answer 3", "Explanation", "Record ID"]
    table = tmp_path / "gpqa_diamond.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(["", q, a, b, c, d, "", f"rec{i}"] for i, (q, a, b, c, d) in enumerate(GPQA))
    loaded = load(BenchmarkConfig(name="gpqa_diamond", path=str(table)))
    raws = [{"Question": q, "Correct Answer": a, "Incorrect Answer 1": b, "Incorrect Answer 2": c,
             "Incorrect Answer 3": d, "Explanation": None} for q, a, b, c, d in GPQA]
    assert loaded.rows == [SPECS["gpqa_diamond"].convert(raw, "gpqa_diamond") for raw in raws]
    assert loaded.dataset["source"] == "local" and all(r["ground_truth_solution"] is None for r in loaded.rows)


def test_aime_from_maxwell_jias_copy_with_capitalized_columns(tmp_path):
    """Maxwell-Jia/AIME_2024 (rllm's and DeepScaleR's AIME copy): `ID`, `Problem`, `Solution`, `Answer` (an int)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = tmp_path / "aime_2024_problems.parquet"
    pq.write_table(pa.Table.from_pylist([{"ID": "2024-I-1", "Problem": "Every morning Aya goes for a walk ...",
                                          "Solution": "Worked out ...", "Answer": 204}]), file)
    (row,) = load(BenchmarkConfig(name="aime24", path=str(file))).rows
    assert (row["problem"], row["ground_truth_answer"], row["ground_truth_solution"]) == (
        "Every morning Aya goes for a walk ...", "204", "Worked out ...")


def test_a_limit_makes_a_subset_only_when_it_leaves_problems_out():
    amc23 = len(load(BenchmarkConfig(name="amc23", source="bundled")).rows)
    assert amc23 == 40
    subset = {limit: load(BenchmarkConfig(name="amc23", source="bundled", limit=limit)) for limit in (39, 40, 100)}
    assert {limit: (len(b.rows), b.subset) for limit, b in subset.items()} == {39: (39, True), 40: (40, False),
                                                                                100: (40, False)}
    assert load(BenchmarkConfig(name="amc23", source="bundled")).subset is False


def test_a_problem_listed_again_after_the_limit_is_no_problem_left_out(tmp_path):
    rows = [{"problem": p, "answer": "1"} for p in ("A?", "B?", "A?", "B?")]
    file = tmp_path / "dup.jsonl"
    file.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert load(BenchmarkConfig(name="aime25", path=str(file), limit=2)).subset is False
    file.write_text("".join(json.dumps(row) + "\n" for row in [*rows, {"problem": "C?", "answer": "1"}]))
    assert load(BenchmarkConfig(name="aime25", path=str(file), limit=2)).subset is True
