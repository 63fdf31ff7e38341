"""Per-row overhead of the kit's generation pipeline, with an instant teacher.

Both sides make the same samples for N synthetic math problems ("What is a + b?") and do the same work per
sample: ask the teacher (an instant one: it answers from the problem text, no model), split the reply,
verify the answer with the kit's math verifier (the same `RowVerifier`, same workers) and format the SFT
row. The kit side runs `kit.generation.pipeline.generate` - the distilabel Pipeline with its processes, batches, the
durable sample store and its verify step - then formats the verified samples; the baseline is a plain loop.
The difference, per row, is what the pipeline costs.

    PYTHONPATH=. python bench/pipeline_overhead.py [--rows 10000] [--workers 2]

(from the repository root; `PYTHONPATH=.` is not needed once the kit is installed). Goal: < 5 ms per row.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from distilabel.models.llms import LLM

from kit.core.chat import default_row, prompt_messages, split_reply
from kit.core.schema import problem_id
from kit.generation.pipeline import PROBLEM_FIELDS, generate
from kit.recipes import DataRecipe, SourceConfig, TeacherConfig, VerifyConfig
from kit.verify.registry import RowVerifier


def instant_reply(prompt: str) -> dict[str, Any]:
    a, b = map(int, re.search(r"(\d+) \+ (\d+)", prompt).groups())
    return {"content": f"So the sum is \\boxed{{{a + b}}}.", "reasoning_content": f"{a} plus {b} is {a + b}.",
            "finish_reason": "stop", "output_tokens": 12, "error": None}


class InstantTeacher(LLM):
    """A distilabel LLM that answers at once, from the prompt: the pipeline's cost without a model's."""

    @property
    def model_name(self) -> str:
        return "instant"

    def load(self) -> None:
        super().load()

    def generate(self, inputs: list[Any], num_generations: int = 1) -> list[Any]:  # unused by the kit
        raise NotImplementedError

    def replies(self, requests: list[tuple[list[dict[str, str]], int]], **sampling: Any) -> list[dict[str, Any]]:
        return [instant_reply(m[-1]["content"]) for m, _ in requests]


def problems(n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        a, b = 1000 + i, 7 * i % 997
        text = f"Problem {i}: what is {a} + {b}?"
        rows.append({"problem_id": problem_id(text), "problem": text, "domain": "math", "source": "bench",
                     "ground_truth_answer": str(a + b), "_row": i})
    return rows


def verify_and_format(recipe: DataRecipe, samples: list[dict[str, Any]]) -> int:
    kept = 0
    with RowVerifier(recipe.verify) as verifier:
        for sample, verdict in zip(samples, verifier.verify(iter(samples)), strict=True):
            if verdict.passed:
                default_row(sample, recipe.format)
                kept += 1
    return kept


def kit_side(recipe: DataRecipe, rows: list[dict[str, Any]]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        result = generate(recipe, rows, Path(tmp) / "store", llm=InstantTeacher())
    kept = 0
    for sample in result.samples:
        if sample["verified"]:
            default_row(sample, recipe.format)
            kept += 1
    return kept


def plain_side(recipe: DataRecipe, rows: list[dict[str, Any]]) -> int:
    samples = []
    for row in rows:
        reply = instant_reply(prompt_messages(row, recipe.format)[-1]["content"])
        split = split_reply(reply["content"], reply["reasoning_content"], reply["finish_reason"])
        samples.append({**{k: row.get(k) for k in PROBLEM_FIELDS}, "reasoning": split.reasoning,
                        "solution": split.solution})
    return verify_and_format(recipe, samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    recipe = DataRecipe(name="bench", sources=[SourceConfig(path="unused")],
                        teacher=TeacherConfig(backend="openai", model="instant", concurrency=256),
                        verify=VerifyConfig(workers=args.workers))
    rows = problems(args.rows)
    timings = {}
    for name, side in (("plain loop", plain_side), ("kit pipeline", kit_side)):
        start = time.perf_counter()
        kept = side(recipe, rows)
        timings[name] = time.perf_counter() - start
        print(f"{name:>12}: {timings[name]:7.2f} s for {args.rows} rows ({kept} verified)")
    overhead = (timings["kit pipeline"] - timings["plain loop"]) / args.rows * 1000
    print(f"pipeline overhead: {overhead:.2f} ms per row (goal < 5 ms); "
          f"ratio kit/plain {timings['kit pipeline'] / timings['plain loop']:.2f}")


if __name__ == "__main__":
    main()
