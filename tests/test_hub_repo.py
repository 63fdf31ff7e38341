"""The Hub-layout dataset folder (kit.hub.repo) and its card (kit.hub.cards), read back with real `datasets`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from datasets import load_dataset
from huggingface_hub import DatasetCard, DatasetCardData

from kit.core.schema import DEFAULT_FEATURES, METADATA_FEATURES, problem_id
from kit.curate.card import render_dataset_card
from kit.hub import CONFIGS, DatasetRepoWriter, OutputExistsError, template_dir
from kit.hub.repo import content_fingerprint, pinned_configs
from kit.recipes import DataRecipe, dump_recipe

STATS: dict[str, Any] = {
    "total_rows": 60, "kept": 30,
    "stages": [{"stage": "load", "in": 60, "out": 60}, {"stage": "validate", "in": 60, "out": 59},
               {"stage": "dedup", "in": 59, "out": 57}, {"stage": "decontaminate", "in": 57, "out": 56},
               {"stage": "verify", "in": 56, "out": 48}, {"stage": "rejection_sampling", "in": 48, "out": 30}],
    "rejections": {"validate": {"invalid_test_cases": 1}, "verify": {"wrong_answer": 5, "tests_failed": 3}},
    "rejected_rows": [{"row": 3, "source": "aops-sample", "stage": "verify", "reason": "wrong_answer", "detail": "2 != 3"}],
    "by_domain": {"math": {"in": 30, "kept": 15}, "code": {"in": 30, "kept": 15}},
    "by_source": {"aops-sample": {"in": 30, "kept": 15}, "apps-sample": {"in": 30, "kept": 15}},
    "decontamination": {"math500": {"ngram": 1, "fuzzy": 0}},
    "tokens": {"tokenizer": "whitespace",
               "reasoning": {"mean": 812.4, "median": 700, "p95": 2100, "max": 3000, "total": 24372},
               "solution": {"mean": 80.5, "median": 70, "p95": 200, "max": 250, "total": 2415}},
    "teachers": {"deepseek-ai/DeepSeek-R1": 30}, "verifiers": {"math-verify": 15, "sandbox": 15},
    "kit_version": "0.1.0", "created": "2026-11-21T10:00:00Z", "duration_s": 12.3,
}

BIBTEX = "@misc{aops,\n  title = {AoPS sample},\n  year = {2024}\n}"


def _recipe(out_dir: Path | str = "out/{name}", **output: Any) -> DataRecipe:
    return DataRecipe.model_validate({
        "name": "demo-reasoning",
        "description": "Verified math and code traces.",
        "sources": [
            {"path": "AI-MO/NuminaMath-CoT", "name": "aops-sample", "domain": "math", "license": "apache-2.0",
             "citation": BIBTEX},
            {"path": "kit:samples/code.jsonl", "name": "apps-sample", "domain": "code"},
        ],
        "teacher": {"model": "deepseek-ai/DeepSeek-R1"},
        "output": {"dir": str(out_dir), "pretty_name": "Demo Reasoning", "license": "mit", **output},
    })


def _meta_row(i: int, text: int = 40) -> dict[str, Any]:
    """A metadata row; code rows carry tests, math rows an answer; the others stay null (columns left out)."""
    problem = f"Problem {i}: compute {i} + {i}. ünïcödé ∑" + "x" * (i % 3)
    row: dict[str, Any] = {
        "problem_id": problem_id(problem), "problem": problem, "domain": "code" if i % 2 else "math",
        "source": "apps-sample" if i % 2 else "aops-sample", "teacher": "deepseek-ai/DeepSeek-R1",
        "reasoning": f"think {i} " + "r" * text, "solution": f"\\boxed{{{2 * i}}}", "verified": True,
        "verifier": "sandbox" if i % 2 else "math-verify", "verification": json.dumps({"passed": 1, "total": 1}),
        "generation": json.dumps({"seed": i, "sample": 0}),
    }
    if i % 2:
        row["test_cases"] = json.dumps({"inputs": [str(i)], "outputs": [str(2 * i)]})
    else:
        row["ground_truth_answer"] = str(2 * i)
    return row


def _chat_row(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": meta["problem"]},
                     {"role": "assistant", "content": f"<think>\n{meta['reasoning']}\n</think>\n\n{meta['solution']}"}],
        "problem_id": meta["problem_id"], "domain": meta["domain"], "source": meta["source"],
    }


def _finish(w: DatasetRepoWriter, recipe: DataRecipe, stats: dict[str, Any] = STATS) -> None:
    w.finalize(render_dataset_card(recipe, stats), dump_recipe(recipe), stats)


def _load(out: Path, config: str | None, cache: Path):
    return load_dataset(str(out), config, split="train", cache_dir=str(cache))


def _siblings(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name != "cache")


# --------------------------------------------------------------------------------------------------
# The folder


def test_rows_round_trip_through_load_dataset(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    metas = [_meta_row(i) for i in range(25)]
    recipe = _recipe(out)
    with DatasetRepoWriter(out, shard_rows=7, batch_rows=3) as w:
        for m in metas:
            w.add(m, _chat_row(m))
        assert w.rows_written == {"default": 25, "metadata": 25}
        _finish(w, recipe)

    assert _siblings(tmp_path) == ["ds"]  # no temporary folder left next to it
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data", "metadata", "recipe.yaml", "stats.json"]
    fingerprints = {}
    for config, folder in (("default", "data"), ("metadata", "metadata")):
        names = sorted(p.name for p in (out / folder).iterdir())
        fingerprints[config] = names[0].removesuffix(".parquet").rsplit("-", 1)[1]
        assert names == [f"train-{i:05d}-of-00004-{fingerprints[config]}.parquet" for i in range(4)]
        assert fingerprints[config] == content_fingerprint([out / folder / n for n in names])
    assert fingerprints["default"] != fingerprints["metadata"] and len(fingerprints["default"]) == 16
    assert w.shards["metadata"][-1] == out / "metadata" / f"train-00003-of-00004-{fingerprints['metadata']}.parquet"
    # the card names exactly these shards, and is the kit's card for the recipe with those configs
    card = (out / "README.md").read_text()
    assert DatasetCard(card).data.to_dict()["configs"] == pinned_configs(fingerprints) == [
        {"config_name": "default",
         "data_files": [{"split": "train", "path": f"data/train-*-{fingerprints['default']}.parquet"}]},
        {"config_name": "metadata",
         "data_files": [{"split": "train", "path": f"metadata/train-*-{fingerprints['metadata']}.parquet"}]},
    ]
    assert card == render_dataset_card(recipe, STATS, configs=pinned_configs(fingerprints))
    assert DatasetCard(card).text == DatasetCard(render_dataset_card(recipe, STATS)).text

    default = _load(out, None, tmp_path / "cache")
    assert default.features == DEFAULT_FEATURES
    assert default.to_list() == [_chat_row(m) for m in metas]
    metadata = _load(out, "metadata", tmp_path / "cache")
    assert metadata.features == METADATA_FEATURES
    assert metadata.to_list() == [{name: m.get(name) for name in METADATA_FEATURES} for m in metas]

    assert json.loads((out / "stats.json").read_text()) == STATS
    assert (out / "stats.json").read_text().startswith('{\n  "total_rows": 60')  # indent 2
    assert DataRecipe.model_validate(yaml.safe_load((out / "recipe.yaml").read_text())) == recipe


def test_metadata_only_rows_and_pipeline_yaml(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    metas = [_meta_row(i) for i in range(5)]
    with DatasetRepoWriter(out, shard_rows=2) as w:
        for i, m in enumerate(metas):
            w.add(m, _chat_row(m) if i != 2 else None)
        assert w.rows_written == {"default": 4, "metadata": 5}
        w.finalize(render_dataset_card(_recipe(out), STATS), "name: x\n", STATS, pipeline_yaml="pipeline: {}\n")
    assert (out / "pipeline.yaml").read_text() == "pipeline: {}\n"
    assert len(list((out / "data").iterdir())) == 2 and len(list((out / "metadata").iterdir())) == 3
    assert [r["problem_id"] for r in _load(out, None, tmp_path / "cache")] == [
        m["problem_id"] for i, m in enumerate(metas) if i != 2]


def _write_empty(out: Path) -> None:
    with DatasetRepoWriter(out) as w:
        _finish(w, _recipe(out), {"total_rows": 4, "kept": 0})


def test_empty_output_still_loads(tmp_path: Path) -> None:
    """One empty shard per config: the schema (features) is there and streaming reads zero rows."""
    out = tmp_path / "ds"
    _write_empty(out)
    for folder in ("data", "metadata"):
        [shard] = (out / folder).iterdir()
        assert shard.name == f"train-00000-of-00001-{content_fingerprint([shard])}.parquet"
    for config, features in ((None, DEFAULT_FEATURES), ("metadata", METADATA_FEATURES)):
        ds = load_dataset(str(out), config, split="train", streaming=True)
        assert ds.features == features and list(ds) == []


@pytest.mark.xfail(raises=ValueError, strict=False,
                   reason="datasets 5.2 cannot build a split with 0 rows ('corresponds to no data'); "
                          "https://github.com/huggingface/datasets/pull/8401")
def test_empty_output_loads_without_streaming(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    _write_empty(out)
    default, metadata = _load(out, None, tmp_path / "cache"), _load(out, "metadata", tmp_path / "cache")
    assert (default.num_rows, metadata.num_rows) == (0, 0)
    assert default.features == DEFAULT_FEATURES and metadata.features == METADATA_FEATURES


def test_crash_inside_with_leaves_no_folder(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    with pytest.raises(KeyboardInterrupt), DatasetRepoWriter(out, shard_rows=2) as w:
        for i in range(5):
            w.add(_meta_row(i), _chat_row(_meta_row(i)))
        raise KeyboardInterrupt
    assert _siblings(tmp_path) == []


def test_crash_while_overwriting_keeps_the_old_folder(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(ValueError, match="unknown column"), DatasetRepoWriter(out, overwrite=True) as w:
        w.add({**_meta_row(0), "prompt": "typo"}, None)
    assert _siblings(tmp_path) == ["ds"] and [p.name for p in out.iterdir()] == ["old.txt"]


def test_leaving_with_without_finalize_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    with pytest.raises(RuntimeError, match="without finalize"), DatasetRepoWriter(out) as w:
        w.add(_meta_row(0), _chat_row(_meta_row(0)))
    assert _siblings(tmp_path) == []


def test_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    with DatasetRepoWriter(out) as w:  # an existing empty folder is fine
        _finish(w, _recipe(out), {"kept": 0})

    with pytest.raises(OutputExistsError) as err:
        DatasetRepoWriter(out)
    assert "\n" not in str(err.value) and "overwrite" in str(err.value)

    (out / "stray.txt").write_text("x")
    with DatasetRepoWriter(out, overwrite=True) as w:
        w.add(_meta_row(1), _chat_row(_meta_row(1)))
        _finish(w, _recipe(out), {"kept": 1})
    assert not (out / "stray.txt").exists()
    assert _siblings(tmp_path) == ["ds"]
    assert _load(out, "metadata", tmp_path / "cache").num_rows == 1


def test_finalize_needs_the_contract_configs(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    with pytest.raises(ValueError, match="configs"), DatasetRepoWriter(out) as w:
        w.finalize("---\nlicense: mit\n---\n# x\n", "name: x\n", {})
    assert _siblings(tmp_path) == []


# --------------------------------------------------------------------------------------------------
# The card


def _no_empty_sections(text: str) -> bool:
    """No heading is directly followed (blank lines aside) by a heading of the same or a higher level."""
    headings = [(len(m.group(1)), m.start(), m.end()) for m in re.finditer(r"^(#+) .*$", text, re.M)]
    return all(text[end:next_start].strip() or next_level > level
               for (level, _, end), (next_level, next_start, _) in zip(headings, headings[1:], strict=False))


def test_card_front_matter_round_trips_through_huggingface_hub() -> None:
    text = render_dataset_card(_recipe(), STATS, repo_id="org/demo-reasoning")
    card = DatasetCard(text)
    assert isinstance(card.data, DatasetCardData)
    data = card.data.to_dict()
    assert data["configs"] == CONFIGS == [
        {"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*.parquet"}]},
        {"config_name": "metadata", "data_files": [{"split": "train", "path": "metadata/train-*.parquet"}]},
    ]
    assert (data["license"], data["pretty_name"]) == ("mit", "Demo Reasoning")
    assert data["task_categories"] == ["text-generation"] and data["language"] == ["en"]
    assert data["size_categories"] == ["n<1K"]
    assert {"reasoning", "synthetic", "math", "code"} <= set(data["tags"])
    assert DatasetCard(str(card)).data.to_dict() == data  # re-serialized by huggingface_hub: unchanged


def test_card_body() -> None:
    text = render_dataset_card(_recipe(), STATS, repo_id="org/demo-reasoning")
    body = DatasetCard(text).text
    assert 'load_dataset("org/demo-reasoning", split="train")' in body
    assert 'load_dataset("org/demo-reasoning", "metadata", split="train")' in body
    for line in ("| load | 60 | 60 | 0 |", "| verify | 56 | 48 | 8 |", "| rejection_sampling | 48 | 30 | 18 |",
                 "| verify | wrong_answer | 5 |", "| math | 30 | 15 | 50.0% |", "| aops-sample | 30 | 15 | 50.0% |",
                 "| math500 | 1 | 0 |", "| `reasoning` | 812.4 | 700 | 2,100 | 3,000 | 24,372 |"):
        assert line in body, line
    assert "https://huggingface.co/datasets/AI-MO/NuminaMath-CoT" in body
    assert "https://huggingface.co/deepseek-ai/DeepSeek-R1" in body
    assert "Math-Verify" in body and "sandbox" in body and "8-gram" in body
    # the code limits as set, the sample's unset by default: LiveCodeBench's grader's rule
    assert "6 s per test\n  (or the problem's own time limit) and the test time limit plus 1 s per test, plus 5 s, per " \
        "sample," in body
    capped = _recipe()
    capped.verify.code.sample_timeout_s = 20
    assert "own time limit) and 20 s per sample," in DatasetCard(render_dataset_card(capped, STATS)).text
    assert f"```bibtex\n{BIBTEX}\n```" in body
    assert "`mit`" in body
    assert _no_empty_sections(body)


def test_card_states_the_decontamination_rule_as_set() -> None:
    def rule(**options: Any) -> str:
        recipe = _recipe()
        for name, value in options.items():
            setattr(recipe.curate.decontaminate, name, value)
        body = DatasetCard(render_dataset_card(recipe, STATS)).text
        return " ".join(body.split("**Decontamination**")[1].split("\n\n")[0].split())

    short = "(or, for a benchmark problem of 3 to {} words, holds all its words in a row)"
    assert f"it holds 50% or more of a benchmark problem's word 8-grams {short.format(7)}, or if its" in rule()
    assert f"it shares any word 6-gram with a benchmark problem {short.format(5)}, or if" in rule(coverage=0, ngram=6)
    assert (f"holds 30% or more of a benchmark problem's word 8-grams {short.format(7)} (word 8-grams found in 3 or "
            "more benchmark problems are stock phrases and do not count), or if its") in rule(coverage=0.3,
                                                                                               common_ngram_refs=3)
    assert "holds all its words" not in rule(ngram=3)  # no benchmark problem is held whole: all have 3-grams


def test_card_names_where_the_benchmark_problems_were_read() -> None:
    """The Hub commit (and LiveCodeBench's release) or the bundled copy of each benchmark decontamination compared
    against, and an extra reference's path, from stats.json: a reader can check the same problems."""
    sha = "1" * 40
    stats = {**STATS, "decontamination_sources": {
        "math500": {"hub_id": "HuggingFaceH4/MATH-500", "source": "bundled", "path": "kit:benchmarks/math500.jsonl"},
        "livecodebench": {"hub_id": "livecodebench/code_generation_lite", "source": "hub", "revision": sha,
                          "release": "v5"},
        "aime25": {"hub_id": "yentinglin/aime_2025", "source": "hub", "revision": sha},
        "private": {"path": "/data/exam.jsonl", "config": None, "split": "train", "column": "question"}}}
    body = DatasetCard(render_dataset_card(_recipe(), stats)).text
    section = body.split("**Decontamination**")[1].split("\n\n")[0]
    assert ("  - math500: the copy of [HuggingFaceH4/MATH-500](https://huggingface.co/datasets/HuggingFaceH4/MATH-500)"
            " bundled with the kit (`kit:benchmarks/math500.jsonl`)\n") in section
    assert ("  - livecodebench: [livecodebench/code_generation_lite](https://huggingface.co/datasets/livecodebench/"
            f"code_generation_lite) at commit `{sha}`, release `v5`\n") in section
    assert f"  - aime25: [yentinglin/aime_2025](https://huggingface.co/datasets/yentinglin/aime_2025) at commit `{sha}`\n" \
        in section
    assert "  - private: `/data/exam.jsonl`, split `train`, column `question`" in section
    assert "were read from" not in DatasetCard(render_dataset_card(_recipe(), STATS)).text  # older stats: no list


def test_card_with_little_to_show_has_no_empty_sections(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path / "ds", pretty_name=None)
    recipe.sources[0].citation = None
    recipe.curate.decontaminate.enabled = False
    body = DatasetCard(render_dataset_card(recipe, {})).text
    assert f'load_dataset("{tmp_path / "ds"}", "metadata", split="train")' in body
    for absent in ("## Statistics", "## Citation", "| stage |", "Tokens", "| verifier |"):
        assert absent not in body
    assert "**not** checked against evaluation benchmarks" in body
    assert _no_empty_sections(body)
    assert DatasetCard(render_dataset_card(recipe, {})).data.pretty_name == "demo-reasoning"

    partial = {"stages": [{"stage": "load"}, "junk"], "tokens": {"tokenizer": "whitespace"},
               "by_domain": {"math": {"in": 3}}, "rejections": {"verify": {"wrong_answer": 0}}}
    body = DatasetCard(render_dataset_card(recipe, partial)).text
    assert "| load |  |  |  |" in body and "Tokens" not in body and "Rejection reasons" not in body
    assert _no_empty_sections(body)


def test_template_dir_is_the_checkout_cards_folder() -> None:
    assert template_dir() == Path(__file__).resolve().parent.parent / "cards"
    assert (template_dir() / "dataset_card.md.j2").is_file()


def test_wheel_ships_the_templates_and_bundled_data(tmp_path: Path) -> None:
    """Built as a wheel, the kit finds its card template in kit/cards/ (no checkout beside it)."""
    root = Path(__file__).resolve().parent.parent
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(root)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    wheel = next((tmp_path / "dist").glob("reasoning_hub_kit-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert {"kit/cards/dataset_card.md.j2", "kit/data/samples/quickstart.jsonl",
            "kit/data/benchmarks/humaneval.jsonl.gz", "kit/sandbox/server.py"} <= names
    probe = ("from kit.hub.cards import template_dir; import kit; "
             "print(template_dir().relative_to(kit.__path__[0]))")
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(tmp_path / "site")})
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "cards"


def test_written_readme_is_a_hub_card(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    with DatasetRepoWriter(out) as w:
        _finish(w, _recipe(out))
    configs = DatasetCard.load(out / "README.md").data.to_dict()["configs"]
    assert [c["config_name"] for c in configs] == [c["config_name"] for c in CONFIGS]
    for config in configs:
        [spec] = config["data_files"]
        assert [p.relative_to(out).as_posix() for p in out.glob(spec["path"])] == [
            p.relative_to(out).as_posix() for p in (out / spec["path"].split("/")[0]).iterdir()]


# --------------------------------------------------------------------------------------------------
# Memory


def test_memory_does_not_grow_with_rows(tmp_path: Path) -> None:
    """Writing 50k rows (~55 MB of text) must keep the Python heap peak under 8 MB.

    Kept in memory, the rows would take far more than their text (two dicts per sample plus string
    objects: over 100 MB here). The writer holds at most one batch per config (1,000 rows, about 2 MB
    of Python objects) and hands it to Arrow, so the tracemalloc peak stays a small constant whatever
    the row count; 8 MB leaves room for Arrow/parquet bookkeeping objects and is under a sixth of the
    text alone. Arrow's own buffers are outside tracemalloc: that the data left Python batch by batch
    shows in the many row groups of each shard.
    """
    n, text_bytes = 50_000, 0
    base = {"domain": "math", "source": "aops-sample", "teacher": "deepseek-ai/DeepSeek-R1", "solution": "\\boxed{4}",
            "verified": True, "verifier": "math-verify", "verification": "{}", "generation": "{}"}
    out = tmp_path / "ds"
    tracemalloc.start()
    try:
        with DatasetRepoWriter(out, shard_rows=10_000) as w:
            for i in range(n):  # rows are made on the fly, as curation streams them
                meta = {**base, "problem_id": f"{i:016x}", "problem": f"Problem {i}: what is 2 + 2?",
                        "reasoning": f"Step {i}. " + "r" * 1_000}
                text_bytes += sum(len(v) for v in meta.values() if isinstance(v, str))
                w.add(meta, {"messages": [{"role": "user", "content": meta["problem"]},
                                          {"role": "assistant", "content": meta["reasoning"]}],
                             "problem_id": meta["problem_id"], "domain": "math", "source": "aops-sample"})
            w.finalize(render_dataset_card(_recipe(out), {"kept": n}), "name: x\n", {"kept": n})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    bound = 8 * 2**20
    assert text_bytes > 5 * bound
    assert peak < bound, f"Python heap peak {peak / 2**20:.1f} MB for {text_bytes / 2**20:.0f} MB of text"
    for folder in ("data", "metadata"):
        shards = [pq.ParquetFile(f).metadata for f in sorted((out / folder).iterdir())]
        assert [m.num_rows for m in shards] == [10_000] * 5
        assert [m.num_row_groups for m in shards] == [10] * 5  # one row group per 1,000-row batch
