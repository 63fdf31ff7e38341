"""The benchmark table assembled from its family modules: every family's specs are in `SPECS`, in the documented
order, with unique names and a known scoring kind; each bundled copy converts to metadata rows."""

from __future__ import annotations

import pytest

import kit.benchmarks as benchmarks
from kit.benchmarks import BENCHMARKS, FAMILIES, KINDS, SPECS, Benchmark, load_benchmark
from kit.benchmarks.common import metadata_row
from kit.core.schema import problem_id

METADATA = ("problem_id", "problem", "domain", "source", "ground_truth_solution", "ground_truth_answer",
            "test_cases", "starter_code")


def test_specs_are_the_families_specs_in_order() -> None:
    names = [spec.name for family in FAMILIES for spec in family.SPECS]
    assert names == ["aime24", "aime25", "amc23", "math500", "gpqa_diamond", "livecodebench", "humaneval"]
    assert list(SPECS) == names  # no name given twice (a duplicate would collapse in the dict)
    for family in FAMILIES:
        for spec in family.SPECS:
            assert isinstance(spec, Benchmark) and SPECS[spec.name] is spec
            assert spec.convert.__module__ == family.__name__  # each family converts its own rows


@pytest.mark.parametrize("name", list(SPECS))
def test_spec_fields(name: str) -> None:
    spec = SPECS[name]
    assert spec.kind in KINDS and spec.title and "/" in spec.hub_id and spec.split
    assert spec.bundled is None or spec.bundled.startswith("kit:benchmarks/")
    assert spec.files == (name == "livecodebench")


def test_bundled() -> None:
    assert BENCHMARKS == tuple(n for n, s in SPECS.items() if s.bundled) == ("aime24", "amc23", "math500", "humaneval")


@pytest.mark.parametrize("name", BENCHMARKS)
def test_bundled_copy_converts(name: str) -> None:
    rows = load_benchmark(name)
    domain = {"math": "math", "choice": "science", "code": "code"}[SPECS[name].kind]
    assert rows and all(list(row)[:len(METADATA)] == list(METADATA) for row in rows)
    assert {row["domain"] for row in rows} == {domain} and {row["source"] for row in rows} == {name}
    assert all(row["problem_id"] == problem_id(row["problem"]) for row in rows)
    assert len({row["problem_id"] for row in rows}) == len(rows)
    if SPECS[name].kind == "math":
        assert all(isinstance(row["ground_truth_answer"], str) and row["ground_truth_answer"] for row in rows)
    else:
        assert all(row["test_cases"] and row["starter_code"] for row in rows)


def test_gpqa_shuffles_by_question() -> None:
    row = {"Question": " Which gas? ", "Correct Answer": "argon ", "Incorrect Answer 1": "neon",
           "Incorrect Answer 2": "xenon", "Incorrect Answer 3": 4, "Explanation": "noble"}
    out = SPECS["gpqa_diamond"].convert(row, "gpqa_diamond")
    assert out == SPECS["gpqa_diamond"].convert(dict(row), "gpqa_diamond")  # the order is fixed by the question
    assert out["problem_id"] == problem_id("Which gas?") and out["domain"] == "science"
    question, listed = out["problem"].split("\n\n")
    assert question == "Which gas?" and sorted(line[3:] for line in listed.splitlines()) == ["4", "argon", "neon",
                                                                                            "xenon"]
    assert f"{out['ground_truth_answer']}) argon" in listed.splitlines()


def test_math_answer_of_a_float() -> None:
    out = SPECS["amc23"].convert({"question": "How many?", "answer": 27.0}, "amc23")
    assert out == metadata_row("How many?", "math", "amc23", answer="27")


def test_public_api() -> None:
    for name in ("SPECS", "BENCHMARKS", "Benchmark", "Row", "load_benchmark", "benchmark_problems"):
        assert hasattr(benchmarks, name)
