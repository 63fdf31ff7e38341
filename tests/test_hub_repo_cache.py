"""Issue 16: a local dataset folder read with `load_dataset(folder, config)` gives exactly that folder's rows.

datasets 5.2 caches a local folder under `<cache>/<folder's base name>/<config>/0.0.0/<hash>`, where the hash
covers the card's `configs:` patterns but neither the folder's path nor its files. So another folder of the
same base name, or a re-run into the same folder, used to be served from the cache. The kit pins every
config's `data_files` to the content it wrote (a fingerprint in the shard names), so the lines `kit curate`
prints, the details folder of `kit eval` and `kit train`'s reader all see the rows on disk.

Every test has its own datasets cache (HF_HOME, HF_DATASETS_CACHE under tmp_path); the printed lines run in a
child process, as a user pastes them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kit.evaluate.details import write_details

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes/data/quickstart.yaml"


def cache_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user with a datasets cache of their own (and no Hub)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(tmp_path / "hf-home"), HF_DATASETS_CACHE=str(tmp_path / "hf-home" / "datasets"),
               HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", NO_COLOR="1")
    return env


def curate(env: dict[str, str], out: Path, limit: int, *more: str) -> list[str]:
    """`kit curate` the quickstart's first `limit` rows into `out`; the Python lines it prints to read it."""
    proc = subprocess.run([sys.executable, "-m", "kit.cli", "curate", str(RECIPE), "--out", str(out),
                           "--set", f"sources.0.limit={limit}", *more],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    start = lines.index("from datasets import load_dataset")
    return lines[start:start + 3]


def run_lines(env: dict[str, str], lines: list[str], show: str) -> Any:
    """Run the printed lines in a child process, then print `show` (an expression) as JSON."""
    code = "\n".join([*lines, "import json", f"print(json.dumps({show}, default=str))"])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def on_disk(folder: Path, pattern: str) -> list[dict[str, Any]]:
    """The rows of the parquet files under `folder` matching `pattern`, in order, read without datasets."""
    files = sorted(folder.glob(pattern))
    assert files, f"no {pattern} in {folder}"
    table = pa.concat_tables(pq.read_table(f) for f in files)
    return json.loads(json.dumps(table.to_pylist(), default=str))


SHOW = '{"ds": ds["train"].to_list(), "sft": sft["train"].to_list()}'


def check_curated(env: dict[str, str], out: Path, lines: list[str]) -> int:
    got = run_lines(env, lines, SHOW)
    assert got["ds"] == on_disk(out, "metadata/*.parquet")
    assert got["sft"] == on_disk(out, "data/*.parquet")
    return len(got["ds"])


# --------------------------------------------------------------------------------------------------
# kit curate


def test_printed_lines_read_this_folder_not_an_earlier_one_of_the_same_name(tmp_path):
    env = cache_env(tmp_path)
    first, second = tmp_path / "one" / "quickstart", tmp_path / "two" / "quickstart"
    n_first = check_curated(env, first, curate(env, first, 10))
    n_second = check_curated(env, second, curate(env, second, 52))
    assert n_first < n_second  # different rows, same base name, same cache
    assert check_curated(env, first, curate(env, first, 10, "--overwrite")) == n_first


def test_printed_lines_read_a_rerun_into_the_same_folder(tmp_path):
    env = cache_env(tmp_path)
    out = tmp_path / "quickstart"
    counts = [check_curated(env, out, curate(env, out, limit, "--overwrite")) for limit in (52, 10, 30)]
    assert len(set(counts)) == 3


def test_a_rerun_with_the_same_rows_keeps_the_file_names(tmp_path):
    """Content-pinned names: an unchanged re-run writes the same files (kit publish then has nothing to do)."""
    env = cache_env(tmp_path)
    out = tmp_path / "quickstart"
    curate(env, out, 20)
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    curate(env, out, 20, "--overwrite")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet")) == before


# --------------------------------------------------------------------------------------------------
# kit eval: the details folder (every run's is named `details`)


def eval_results(benchmarks: dict[str, int]) -> dict[str, Any]:
    score = {"value": 0.5, "ci_low": 0.4, "ci_high": 0.6}
    return {
        "kit_version": "0.1.0", "date": "2026-11-22T10:00:00+00:00", "recipe": {"name": "suite"},
        "model": {"id": "org/model", "name": "model", "sha": None},
        "backend": {"name": "transformers", "version": "5.0"},
        "sampling": {"temperature": 0.6, "top_p": 0.95, "max_new_tokens": 64, "seed": 0},
        "benchmarks": {name: {"title": name.upper(), "problems": n, "samples_per_problem": 1,
                              "scores": {"pass@1": score}} for name, n in benchmarks.items()},
        "details": {"path": "details", "repo": None},
    }


def detail_rows(name: str, n: int, tag: str) -> list[dict[str, Any]]:
    return [{"benchmark": name, "problem_id": f"{tag}-{i}", "sample_index": 0, "seed": i, "problem": f"p{i}",
             "prompt": f"prompt {i}", "gold": str(i), "reasoning": "r", "answer": str(i), "finish_reason": "stop",
             "output_tokens": 3, "correct": True, "reason": "", "verifier": "math-verify", "verification": "{}"}
            for i in range(n)]


def write_run(folder: Path, counts: dict[str, int], tag: str) -> None:
    write_details(folder, eval_results(counts), {name: detail_rows(name, n, tag) for name, n in counts.items()})


def check_details(env: dict[str, str], folder: Path, names: list[str]) -> None:
    lines = ["from datasets import load_dataset",
             *(f'{name} = load_dataset("{folder}", "{name}", split="train")' for name in names)]
    got = run_lines(env, lines, "{" + ", ".join(f'"{n}": {n}.to_list()' for n in names) + "}")
    for name in names:
        assert got[name] == on_disk(folder, f"{name}/*.parquet"), name


def test_details_of_two_runs_and_of_a_rerun(tmp_path):
    env = cache_env(tmp_path)
    first, second = tmp_path / "run1" / "details", tmp_path / "run2" / "details"
    write_run(first, {"aime24": 3, "math500": 4}, "first")
    check_details(env, first, ["aime24", "math500"])
    write_run(second, {"aime24": 7, "math500": 2}, "second")
    check_details(env, second, ["aime24", "math500"])
    write_run(second, {"aime24": 5, "math500": 9}, "again")  # the same command run again, other samples
    check_details(env, second, ["aime24", "math500"])
    write_run(first, {"aime24": 3, "math500": 4}, "first")
    check_details(env, first, ["aime24", "math500"])


# --------------------------------------------------------------------------------------------------
# kit train: load_mixture on local folders


@pytest.fixture
def own_cache(tmp_path, monkeypatch) -> Path:
    """This process's datasets cache, fresh (datasets reads the setting when a builder is made)."""
    import datasets.config

    cache = tmp_path / "hf-home" / "datasets"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    monkeypatch.setattr(datasets.config, "DOWNLOADED_DATASETS_PATH", cache / "downloads")
    return cache


def mixture_rows(folder: Path, config: str = "default", column: str = "messages") -> list[Any]:
    from kit.recipes.train import DataConfig
    from kit.train.data import load_mixture

    data = DataConfig.model_validate({"mixture": [{"path": str(folder), "config": config, "column": column}],
                                      "shuffle": False})
    dataset, _ = load_mixture(data, log=lambda _: None)
    return dataset[column]


def write_folder(out: Path, n: int, tag: str) -> None:
    from kit.curate.card import render_dataset_card
    from kit.hub import DatasetRepoWriter
    from kit.recipes import dump_recipe
    from tests.test_hub_repo import _chat_row, _meta_row, _recipe

    recipe = _recipe(out)
    with DatasetRepoWriter(out, overwrite=True) as w:
        for i in range(n):
            meta = {**_meta_row(i), "problem": f"{tag} {i}"}
            w.add(meta, _chat_row(meta))
        w.finalize(render_dataset_card(recipe, {"kept": n}), dump_recipe(recipe), {"kept": n})


def test_load_mixture_reads_each_kit_folder_and_each_rewrite(tmp_path, own_cache):
    first, second = tmp_path / "one" / "ds", tmp_path / "two" / "ds"
    write_folder(first, 3, "first")
    assert [m[0]["content"] for m in mixture_rows(first)] == [f"first {i}" for i in range(3)]
    write_folder(second, 5, "second")
    assert [m[0]["content"] for m in mixture_rows(second)] == [f"second {i}" for i in range(5)]
    write_folder(second, 4, "again")
    assert [m[0]["content"] for m in mixture_rows(second)] == [f"again {i}" for i in range(4)]
    assert own_cache.is_dir()  # it went through the datasets cache under test


def write_plain(folder: Path, n: int, tag: str) -> None:
    """A folder of parquet files with no card: load_mixture's fallback (datasets infers the files)."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.table({"text": [f"{tag} {i}" for i in range(n)]}), folder / "data" / "train-00000-of-00001.parquet")


def test_load_mixture_fallback_for_a_folder_without_a_card(tmp_path, own_cache):
    first, second = tmp_path / "one" / "plain", tmp_path / "two" / "plain"
    write_plain(first, 3, "first")
    assert mixture_rows(first, column="text") == [f"first {i}" for i in range(3)]
    write_plain(second, 6, "second")
    assert mixture_rows(second, column="text") == [f"second {i}" for i in range(6)]
    write_plain(second, 2, "again")
    assert mixture_rows(second, column="text") == [f"again {i}" for i in range(2)]
