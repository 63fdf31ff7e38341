"""The details dataset's card (`cards/details_card.md.j2`): the front matter's configs, and the body written out
in full for a run with and without a model commit and tensor parallelism."""

from __future__ import annotations

import copy
from typing import Any

from kit.evaluate.details import details_card
from kit.hub.cards import check_card, front_matter


def score(value: float, low: float, high: float) -> dict[str, Any]:
    return {"value": value, "ci_low": low, "ci_high": high, "confidence": 0.95}


RESULTS: dict[str, Any] = {
    "kit_version": "0.3.1", "date": "2026-12-01T10:20:30+00:00",
    "model": {"id": "me/qwen-sft", "name": "me/qwen-sft", "revision": "main", "sha": "a" * 40},
    "backend": {"name": "vllm", "version": "0.11.0", "tensor_parallel_size": 2},
    "sampling": {"temperature": 0.7, "top_p": 0.95, "max_new_tokens": 32768, "seed": 0},
    "recipe": {"name": "reasoning-suite"},
    "benchmarks": {
        "aime24": {"title": "AIME 2024", "problems": 30, "samples_per_problem": 8,
                   "scores": {"pass@1": score(0.5, 0.41234, 0.6), "pass@8": score(0.8, 0.7, 0.9)}},
        "gpqa_diamond": {"title": "GPQA | Diamond", "problems": 198, "samples_per_problem": 1,
                         "scores": {"pass@1": score(1.0, 0.9999, 1.0)}},
        "livecodebench": {"title": "LiveCodeBench", "problems": 12, "samples_per_problem": 4, "scores": {}},
    },
}

TABLE = """\
| benchmark | problems | samples per problem | score |
|---|---:|---:|---|
| AIME 2024 (`aime24`) | 30 | 8 | pass@1 50.0 (41.2 - 60.0), pass@8 80.0 (70.0 - 90.0) |
| GPQA \\| Diamond (`gpqa_diamond`) | 198 | 1 | pass@1 100.0 (100.0 - 100.0) |
| LiveCodeBench (`livecodebench`) | 12 | 4 |  |

Read one benchmark's samples with:

```python
from datasets import load_dataset
details = load_dataset("REPO", "aime24", split="train")
```
"""


def body(card: str) -> str:
    return card.split("\n---\n\n", 1)[1]


def test_card_in_full() -> None:
    files = {"aime24": "aime24/details-1.parquet", "gpqa_diamond": "gpqa_diamond/details-2.parquet"}
    card = details_card(RESULTS, files)
    assert body(card) == (
        "# Evaluation details: me/qwen-sft\n\n"
        "Every sample `kit eval` (reasoning-hub-kit 0.3.1) drew from `me/qwen-sft` at commit `" + "a" * 40 + "` "
        "with recipe `reasoning-suite`, on 2026-12-01T10:20:30+00:00, and how it was scored. Backend vllm 0.11.0, "
        "tensor-parallel size 2; temperature 0.7, top_p 0.95, at most 32768 new tokens, seed 0 (each sample's own "
        "seed is in its row). `results.json` holds the full provenance.\n\n" + TABLE)
    meta = front_matter(card)
    assert meta["pretty_name"] == "Evaluation details: me/qwen-sft"
    assert [(c["config_name"], c["data_files"][0]["path"]) for c in meta["configs"]] == [
        ("aime24", "aime24/details-1.parquet"), ("gpqa_diamond", "gpqa_diamond/details-2.parquet"),
        ("livecodebench", "livecodebench/*.parquet")]
    check_card(card, "dataset")


def test_card_without_commit_or_tensor_parallelism() -> None:
    results = copy.deepcopy(RESULTS)
    results["model"]["sha"] = None
    results["backend"] = {"name": "openai", "version": None, "base_url": "http://localhost:8000/v1"}
    paragraph = body(details_card(results)).split("\n\n")[1]
    assert paragraph.startswith("Every sample `kit eval` (reasoning-hub-kit 0.3.1) drew from `me/qwen-sft` with "
                                "recipe `reasoning-suite`, on 2026-12-01T10:20:30+00:00, and how it was scored. "
                                "Backend openai; temperature 0.7, ")
