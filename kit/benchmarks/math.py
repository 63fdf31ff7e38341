"""The math benchmarks: AIME 2024 and 2025, AMC 2023 and MATH-500, and the two that OctoThinker's RL runs are also
measured on, GSM8K and OlympiadBench; all scored by the kit's math answer rule (Math-Verify on the last box). The
first four share one shape (`_math_row`): a problem, an answer, maybe a worked solution. GSM8K's answer is a worked
solution ending in its `#### N` line, which the answer rule reads (`_gsm8k_row`); OlympiadBench keeps its answers
and solutions in lists (`_olympiad_row`)."""

from __future__ import annotations

from typing import Any

from kit.benchmarks.common import Benchmark, Row, metadata_row


def _math_row(row: Row, name: str) -> Row:
    """MATH-500, AIME and AMC: a problem (`problem`, or `question` in math-ai's copies), an answer, maybe a
    solution. Maxwell-Jia/AIME_2024, the AIME copy rllm's and DeepScaleR's evaluations read, names them `Problem`,
    `Answer` and `Solution` (and `ID`, which the kit does not need: a problem's id is the hash of its text); a
    lowercase column comes first where a row has both."""
    problem = _column(row, ("problem", "question", "Problem"))
    return metadata_row(problem, "math", name, solution=_column(row, ("solution", "Solution"), None),
                        answer=_answer(_column(row, ("answer", "Answer"))))


_REQUIRED = object()


def _column(row: Row, names: tuple[str, ...], default: Any = _REQUIRED) -> Any:
    """The value of the first of `names` the row holds (not None or empty); `default` when none does, or KeyError
    naming the first."""
    for name in names:
        if row.get(name) not in (None, ""):
            return row[name]
    if default is _REQUIRED:
        raise KeyError(names[0])
    return default


def _answer(value: Any) -> str:
    """An answer as a string; whole numbers stored as floats (AMC's 27.0) become "27"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _gsm8k_row(row: Row, name: str) -> Row:
    """GSM8K (`openai/gsm8k`, config main): `question`, and `answer`, a worked solution whose last line is `#### N` -
    kept as the reference solution, from which the math answer rule reads N. A copy whose `answer` is the number
    alone (OctoThinker's evaluation data) gives it as the answer."""
    answer = _answer(row["answer"])
    if "####" in answer:
        return metadata_row(row["question"], "math", name, solution=answer)
    return metadata_row(row["question"], "math", name, answer=answer)


def _olympiad_row(row: Row, name: str) -> Row:
    """OlympiadBench (`Hothan/OlympiadBench`, config OE_TO_maths_en_COMP: its text-only, open-ended English
    competition math): `question` (after its `context`, when it has one), `final_answer` and `solution`, lists whose
    first item OlympiadBench's own judge compares with (several answers of one problem, `is_multiple_answer`, are one
    item, comma-separated). Its `error` (a numeric tolerance, set for physics answers) is not applied."""
    context, question = (row.get("context") or "").strip(), row["question"].strip()
    problem = f"{context}\n\n{question}" if context else question
    return metadata_row(problem, "math", name, solution=_first(row.get("solution")), answer=_first(row["final_answer"]))


def _first(value: Any) -> str | None:
    """The first item of a list column (OlympiadBench's), or the value itself when it is no list."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return None if value is None else _answer(value)


SPECS = (
    Benchmark("aime24", "AIME 2024", "math", "HuggingFaceH4/aime_2024", "train", _math_row,
              bundled="kit:benchmarks/aime24.jsonl"),
    Benchmark("aime25", "AIME 2025", "math", "yentinglin/aime_2025", "train", _math_row),
    Benchmark("amc23", "AMC 2023", "math", "math-ai/amc23", "test", _math_row, bundled="kit:benchmarks/amc23.jsonl"),
    Benchmark("math500", "MATH-500", "math", "HuggingFaceH4/MATH-500", "test", _math_row,
              bundled="kit:benchmarks/math500.jsonl"),
    Benchmark("gsm8k", "GSM8K", "math", "openai/gsm8k", "test", _gsm8k_row, config="main"),
    Benchmark("olympiadbench", "OlympiadBench", "math", "Hothan/OlympiadBench", "train", _olympiad_row,
              config="OE_TO_maths_en_COMP"),
)
