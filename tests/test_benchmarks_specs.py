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
    assert names == ["aime24", "aime25", "amc23", "math500", "gsm8k", "olympiadbench", "gpqa_diamond", "livecodebench",
                     "humaneval"]
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


def test_math_rows_with_capitalized_columns() -> None:
    """Maxwell-Jia/AIME_2024 names its columns `ID`, `Problem`, `Solution` and `Answer` (an int)."""
    row = {"ID": "2024-II-4", "Problem": "Let $x,y$ and $z$ be positive reals ...", "Solution": "Add the logs ...",
           "Answer": 33}
    assert SPECS["aime24"].convert(row, "aime24") == metadata_row(
        "Let $x,y$ and $z$ be positive reals ...", "math", "aime24", solution="Add the logs ...", answer="33")
    # a lowercase column comes first; a row with no problem column names the usual one
    both = {"problem": "Lower?", "Problem": "Upper?", "answer": "1", "Answer": 2}
    assert SPECS["aime24"].convert(both, "aime24") == metadata_row("Lower?", "math", "aime24", answer="1")
    with pytest.raises(KeyError, match="'problem'"):
        SPECS["aime24"].convert({"Answer": 1}, "aime24")
    with pytest.raises(KeyError, match="'answer'"):
        SPECS["aime24"].convert({"Problem": "P?"}, "aime24")


def test_public_api() -> None:
    for name in ("SPECS", "BENCHMARKS", "Benchmark", "Row", "load_benchmark", "benchmark_problems"):
        assert hasattr(benchmarks, name)


def test_gsm8k_and_olympiadbench_rows_score_with_the_math_answer_rule(tmp_path) -> None:
    """GSM8K (openai/gsm8k, config main) keeps its answer as the `#### N` line of a worked solution; OlympiadBench
    (Hothan/OlympiadBench, OE_TO_maths_en_COMP) keeps answers and solutions in lists, the first item being what its
    own judge compares with. Both read from local copies in those layouts, then scored by the math rule."""
    import json

    from kit.evaluate.data import load
    from kit.recipes.eval import BenchmarkConfig
    from kit.verify.math import verify_row

    gsm8k = tmp_path / "gsm8k.jsonl"
    gsm8k.write_text(json.dumps({"question": "Janet has 3 boxes of 4 eggs and sells 2 eggs. How many are left?",
                                 "answer": "She has 3 * 4 = <<3*4=12>>12 eggs.\n12 - 2 = <<12-2=10>>10\n#### 10"}) + "\n")
    olympiad = tmp_path / "olympiad.jsonl"
    olympiad.write_text("".join(json.dumps(row) + "\n" for row in [
        {"id": 1606, "subfield": "Algebra", "context": None, "question": "Find the largest $C$ such that ...",
         "solution": ["The largest possible $C$ is $C=\\frac{1}{2}$. ..."], "final_answer": ["$\\frac{1}{2}$"],
         "is_multiple_answer": False, "unit": None, "answer_type": "Numerical", "error": None},
        {"id": 1700, "subfield": "Number Theory", "context": "Let $n$ be a positive integer.",
         "question": "Find all $n$ with $n^2 - 8n + 15 = 0$.", "solution": ["Factor: $(n-3)(n-5)=0$."],
         "final_answer": ["$3$, $5$"], "is_multiple_answer": True, "unit": None, "answer_type": "Numerical",
         "error": None}]))
    (egg,) = load(BenchmarkConfig(name="gsm8k", path=str(gsm8k))).rows
    largest, roots = load(BenchmarkConfig(name="olympiadbench", path=str(olympiad))).rows
    assert egg["ground_truth_solution"].endswith("#### 10") and egg["source"] == "gsm8k"
    assert roots["problem"] == "Let $n$ be a positive integer.\n\nFind all $n$ with $n^2 - 8n + 15 = 0$."
    assert (largest["ground_truth_answer"], roots["ground_truth_answer"]) == ("$\\frac{1}{2}$", "$3$, $5$")
    cases = [(egg, "So 10 eggs are left: $\\boxed{10}$", True), (egg, "\\boxed{12}", False),
             (largest, "Hence $\\boxed{0.5}$.", True), (roots, "\\boxed{5, 3}", True), (roots, "\\boxed{3}", False)]
    assert [verify_row({**row, "solution": reply}).passed for row, reply, _ in cases] == [c[2] for c in cases]
    # OctoThinker's evaluation copy of GSM8K gives the number alone
    assert SPECS["gsm8k"].convert({"question": "Q?", "answer": "18", "cot": "...", "id": "gsm8k-test-0"},
                                  "gsm8k")["ground_truth_answer"] == "18"


def test_text_names_the_problems_own_column() -> None:
    """`Benchmark.text` names the column of the problem's own text where the converted problem adds to it (GPQA's
    choices, LiveCodeBench's instruction): the text the problem id hashes, and what decontamination compares."""
    from tests.benchmark_hub import GPQA, LIVECODEBENCH

    assert {name: spec.text for name, spec in SPECS.items() if spec.text} == {"gpqa_diamond": "Question",
                                                                               "livecodebench": "question_content"}
    gpqa = [{"Question": q, "Correct Answer": a, "Incorrect Answer 1": b, "Incorrect Answer 2": c,
             "Incorrect Answer 3": d} for q, a, b, c, d in GPQA]
    raws = {"gpqa_diamond": gpqa, "livecodebench": [row for rows in LIVECODEBENCH.values() for row, _ in rows]}
    for name, rows in raws.items():
        spec = SPECS[name]
        for raw in rows:
            converted = spec.convert(raw, name)
            own = raw[spec.text]
            assert converted["problem"].startswith(own.strip()) and converted["problem"] != own
            assert converted["problem_id"] == problem_id(own)
    for name in BENCHMARKS:  # bundled: the converted problem is the problem's own text
        assert SPECS[name].text is None
        assert benchmarks.benchmark_problems(name)[0] == [row["problem"] for row in load_benchmark(name)]
