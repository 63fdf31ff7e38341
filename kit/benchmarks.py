"""The benchmarks bundled with the kit (`kit/data/benchmarks/`), in the metadata row shape.

Used for decontamination (`benchmark_problems`) and evaluation (`load_benchmark`).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from kit.schema import problem_id
from kit.sources import iter_rows

BENCHMARKS = ("math500", "aime24", "amc23", "humaneval")

_FILES = {
    "math500": "kit:benchmarks/math500.jsonl",
    "aime24": "kit:benchmarks/aime24.jsonl",
    "amc23": "kit:benchmarks/amc23.jsonl",
    "humaneval": "kit:benchmarks/humaneval.jsonl.gz",
}


def load_benchmark(name: str) -> list[dict[str, Any]]:
    """The rows of benchmark `name`: problem_id, problem, domain, source, ground_truth_solution,
    ground_truth_answer (a string), test_cases, starter_code. Each call returns fresh dicts."""
    return [dict(row) for row in _load(name)]


def benchmark_problems(name: str) -> list[str]:
    """The problem texts of benchmark `name` (what decontamination compares against)."""
    return [row["problem"] for row in _load(name)]


@cache
def _load(name: str) -> tuple[dict[str, Any], ...]:
    if name not in _FILES:
        raise ValueError(f"unknown benchmark {name!r} (known: {', '.join(BENCHMARKS)})")
    convert = _humaneval_row if name == "humaneval" else _math_row
    return tuple(convert(row, name) for row in iter_rows(_FILES[name]))


def _math_row(row: dict[str, Any], name: str) -> dict[str, Any]:
    """MATH-500, AIME 2024 and AMC 2023: problem, optional solution, answer."""
    return {
        "problem_id": problem_id(row["problem"]),
        "problem": row["problem"],
        "domain": "math",
        "source": name,
        "ground_truth_solution": row.get("solution"),
        "ground_truth_answer": _answer(row["answer"]),
        "test_cases": None,
        "starter_code": None,
    }


def _humaneval_row(row: dict[str, Any], name: str) -> dict[str, Any]:
    """HumanEval: the prompt is both the problem and the starter code; tests keep their `check` form."""
    return {
        "problem_id": problem_id(row["prompt"]),
        "problem": row["prompt"],
        "domain": "code",
        "source": name,
        "ground_truth_solution": row["prompt"] + row["canonical_solution"],
        "ground_truth_answer": None,
        "test_cases": json.dumps({"test_code": row["test"], "entry_point": row["entry_point"]}),
        "starter_code": row["prompt"],
    }


def _answer(value: Any) -> str:
    """An answer as a string; whole numbers stored as floats (AMC's 27.0) become "27"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
