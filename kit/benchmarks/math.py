"""The math benchmarks: AIME 2024 and 2025, AMC 2023 and MATH-500, scored by Math-Verify on the last box.
Their Hub datasets share one shape (`_math_row`): a problem, an answer, maybe a worked solution."""

from __future__ import annotations

from typing import Any

from kit.benchmarks.common import Benchmark, Row, metadata_row


def _math_row(row: Row, name: str) -> Row:
    """MATH-500, AIME and AMC: a problem (`problem`, or `question` in math-ai's copies), an answer, maybe a solution."""
    problem = row.get("problem") or row["question"]
    return metadata_row(problem, "math", name, solution=row.get("solution"), answer=_answer(row["answer"]))


def _answer(value: Any) -> str:
    """An answer as a string; whole numbers stored as floats (AMC's 27.0) become "27"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


SPECS = (
    Benchmark("aime24", "AIME 2024", "math", "HuggingFaceH4/aime_2024", "train", _math_row,
              bundled="kit:benchmarks/aime24.jsonl"),
    Benchmark("aime25", "AIME 2025", "math", "yentinglin/aime_2025", "train", _math_row),
    Benchmark("amc23", "AMC 2023", "math", "math-ai/amc23", "test", _math_row, bundled="kit:benchmarks/amc23.jsonl"),
    Benchmark("math500", "MATH-500", "math", "HuggingFaceH4/MATH-500", "test", _math_row,
              bundled="kit:benchmarks/math500.jsonl"),
)
