"""The details dataset of an evaluation: every sample the model wrote, how it was scored and why, one config per
benchmark - a dataset folder for `kit publish` (or `kit eval --push-details`), read back with
`load_dataset(repo, "aime24")`.

    README.md                      card: the scores, the model, how it was sampled; `configs:` one per benchmark
    results.json                   the run's results (kit.evaluate.run; `write_results` writes it here and
                                   in the run's folder)
    <benchmark>/details-<fingerprint>.parquet
                                   benchmark, problem_id, sample_index, seed, problem, prompt, gold, reasoning,
                                   answer, finish_reason, output_tokens, correct, reason, verifier, verification

`<fingerprint>` is a hash of the file's bytes, and each config's `data_files` names that one file: every run's
folder is called `details`, and datasets 5.2 caches `load_dataset(folder, "aime24")` by the folder's base name
and the card's `configs:` (not by path or content), so a fixed file name would serve another run's samples
(see kit.hub.repo).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import DatasetCard, DatasetCardData

from kit.hub.cards import card_environment
from kit.hub.repo import content_fingerprint

RESULTS = "results.json"
DETAILS_CARD_TEMPLATE = "details_card.md.j2"
SCHEMA = pa.schema([
    ("benchmark", pa.string()), ("problem_id", pa.string()), ("sample_index", pa.int64()), ("seed", pa.int64()),
    ("problem", pa.string()), ("prompt", pa.string()), ("gold", pa.string()), ("reasoning", pa.string()),
    ("answer", pa.string()), ("finish_reason", pa.string()), ("output_tokens", pa.int64()), ("correct", pa.bool_()),
    ("reason", pa.string()), ("verifier", pa.string()), ("verification", pa.string()),
])


def write_results(out_dir: Path, results: dict[str, Any]) -> Path:
    """results.json, replaced atomically."""
    path = out_dir / RESULTS
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


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
    """The details dataset's card, rendered from `cards/details_card.md.j2`: front matter (configs, tags) and a
    short body with the scores. `files` maps a benchmark to its parquet file in the folder (default: every
    `<benchmark>/*.parquet`)."""
    model = results["model"]
    names = list(results["benchmarks"])
    files = files or {}
    data = DatasetCardData(
        pretty_name=f"Evaluation details: {model['name']}",
        tags=["evaluation", "reasoning", "reasoning-hub-kit"],
        configs=[{"config_name": n, "data_files": [{"split": "train", "path": files.get(n, f"{n}/*.parquet")}]}
                 for n in names],
    )
    text = card_environment().get_template(DETAILS_CARD_TEMPLATE).render(card_data=data.to_yaml(), results=results)
    return DatasetCard(text).content
