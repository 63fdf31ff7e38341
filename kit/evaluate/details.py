"""The details dataset of an evaluation: every sample the model wrote, how it was scored and why, one config per
benchmark - a dataset folder for `kit publish` (or `kit eval --push-details`), read back with
`load_dataset(repo, "aime24")`.

    README.md                      card: the scores, the model, how it was sampled; `configs:` one per benchmark
    results.json                   the run's results (kit.evaluate.run)
    <benchmark>/details-<fingerprint>.parquet
                                   benchmark, problem_id, sample_index, seed, problem, prompt, gold, reasoning,
                                   answer, finish_reason, output_tokens, correct, reason, verifier, verification

`<fingerprint>` is a hash of the file's bytes, and each config's `data_files` names that one file: every run's
folder is called `details`, and datasets 5.2 caches `load_dataset(folder, "aime24")` by the folder's base name
and the card's `configs:` (not by path or content), so a fixed file name would serve another run's samples
(see kit.hub.repo).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import DatasetCard, DatasetCardData

from kit.evaluate.run import write_results
from kit.hub.cards import _cell
from kit.hub.repo import content_fingerprint

SCHEMA = pa.schema([
    ("benchmark", pa.string()), ("problem_id", pa.string()), ("sample_index", pa.int64()), ("seed", pa.int64()),
    ("problem", pa.string()), ("prompt", pa.string()), ("gold", pa.string()), ("reasoning", pa.string()),
    ("answer", pa.string()), ("finish_reason", pa.string()), ("output_tokens", pa.int64()), ("correct", pa.bool_()),
    ("reason", pa.string()), ("verifier", pa.string()), ("verification", pa.string()),
])


def write_details(folder: Path, results: dict[str, Any], details: dict[str, list[dict[str, Any]]]) -> Path:
    """Write the details folder (replacing an older one whole, so no stale benchmark stays behind)."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files = {}
    for name, rows in details.items():
        (tmp / name).mkdir()
        table = pa.Table.from_pylist([{k: row.get(k) for k in SCHEMA.names} for row in rows], schema=SCHEMA)
        path = tmp / name / "details.parquet.partial"
        pq.write_table(table, path)
        files[name] = path.rename(path.with_name(f"details-{content_fingerprint([path])}.parquet"))
    write_results(tmp, results)
    card = details_card(results, {name: path.relative_to(tmp).as_posix() for name, path in files.items()})
    (tmp / "README.md").write_text(card, encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def details_card(results: dict[str, Any], files: dict[str, str] | None = None) -> str:
    """The details dataset's card: front matter (configs, tags) and a short body with the scores. `files` maps a
    benchmark to its parquet file in the folder (default: every `<benchmark>/*.parquet`)."""
    model = results["model"]
    names = list(results["benchmarks"])
    files = files or {}
    data = DatasetCardData(
        pretty_name=f"Evaluation details: {model['name']}",
        tags=["evaluation", "reasoning", "reasoning-hub-kit"],
        configs=[{"config_name": n, "data_files": [{"split": "train", "path": files.get(n, f"{n}/*.parquet")}]}
                 for n in names],
    )
    backend = results["backend"]
    sampling = results["sampling"]
    lines = [
        f"# Evaluation details: {model['name']}", "",
        f"Every sample `kit eval` (reasoning-hub-kit {results['kit_version']}) drew from `{model['id']}`"
        + (f" at commit `{model['sha']}`" if model.get("sha") else "")
        + f" with recipe `{results['recipe']['name']}`, on {results['date']}, and how it was scored. Backend "
        f"{backend['name']} {backend.get('version') or ''}".rstrip()
        + (f", tensor-parallel size {backend['tensor_parallel_size']}" if backend.get("tensor_parallel_size") else "")
        + f"; temperature {sampling['temperature']}, top_p {sampling['top_p']}, at most "
        f"{sampling['max_new_tokens']} new tokens, seed {sampling['seed']} (each sample's own seed is in its row). "
        "`results.json` holds the full provenance.", "",
        "| benchmark | problems | samples per problem | score |",
        "|---|---:|---:|---|",
    ]
    for name, bench in results["benchmarks"].items():
        scores = ", ".join(f"{k} {100 * s['value']:.1f} ({100 * s['ci_low']:.1f} - {100 * s['ci_high']:.1f})"
                           for k, s in bench["scores"].items())
        lines.append(f"| {_cell(bench['title'])} (`{name}`) | {bench['problems']} | {bench['samples_per_problem']} | "
                     f"{scores} |")
    lines += ["", "Read one benchmark's samples with:", "", "```python", "from datasets import load_dataset",
              f'details = load_dataset("REPO", "{names[0]}", split="train")', "```", ""]
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines)).content
