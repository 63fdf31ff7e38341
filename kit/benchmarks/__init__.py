"""The benchmarks the kit knows, one module per benchmark family: where each benchmark lives on the Hub, its
bundled copy (if any), how its rows become metadata rows (problem_id, problem, domain, source,
ground_truth_solution, ground_truth_answer, test_cases, starter_code) and how a sample is scored (`kind`).

    common          `Benchmark` (the spec), `Row`, `metadata_row`
    math            aime24, aime25, amc23, math500, gsm8k, olympiadbench (Math-Verify on the last box)
    gpqa            gpqa_diamond (the letter of the chosen answer)
    livecodebench   livecodebench (its tests in the sandbox; the release's files, the tests' decoding)
    humaneval       humaneval (its `check` tests in the sandbox)

Each family module declares its `SPECS`; this package gathers them in `SPECS` (name -> Benchmark) and reads the
bundled copies. Decontamination reads the bundled copies (`benchmark_problems`); evaluation (`kit.evaluate.data`)
loads a benchmark from its Hub id and falls back to the bundled copy offline. A converter takes a row as the Hub
dataset has it - the bundled files keep the columns of their Hub sources - so both paths give the same rows.

May import: `kit.core` only.

A benchmark is data and conversion: recipes, verifiers, evaluation and curation import it, never the reverse.
"""

from __future__ import annotations

from functools import cache

from kit.benchmarks import gpqa, humaneval, livecodebench, math
from kit.benchmarks.common import KINDS, Benchmark, Row, metadata_row
from kit.core.sources import iter_rows

__all__ = ["BENCHMARKS", "FAMILIES", "KINDS", "SPECS", "Benchmark", "Row", "benchmark_problems", "load_benchmark",
           "metadata_row"]

FAMILIES = (math, gpqa, livecodebench, humaneval)  # in the order of SPECS
SPECS: dict[str, Benchmark] = {spec.name: spec for family in FAMILIES for spec in family.SPECS}
BENCHMARKS = tuple(name for name, spec in SPECS.items() if spec.bundled)  # the bundled ones


def load_benchmark(name: str) -> list[Row]:
    """The rows of the bundled benchmark `name` (see the module doc). Each call returns fresh dicts."""
    return [dict(row) for row in _load(name)]


def benchmark_problems(name: str) -> list[str]:
    """The problem texts of bundled benchmark `name` (what decontamination compares against)."""
    return [row["problem"] for row in _load(name)]


@cache
def _load(name: str) -> tuple[Row, ...]:
    spec = SPECS.get(name)
    if spec is None or spec.bundled is None:
        raise ValueError(f"unknown benchmark {name!r} (bundled: {', '.join(BENCHMARKS)})")
    return tuple(spec.convert(row, name) for row in iter_rows(spec.bundled))
