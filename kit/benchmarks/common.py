"""What every benchmark family shares: the `Benchmark` spec a family module declares, the metadata row its
converter returns (`Row`, built with `metadata_row`), and `KINDS`, the ways a sample can be scored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kit.core.schema import problem_id

Row = dict[str, Any]
KINDS = ("math", "choice", "code")


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: where it lives on the Hub, its bundled copy (if any), and how a Hub row becomes a metadata
    row (`convert(row, name)`). `kind` names the verifier in kit.verify's registry that scores a sample:
    math (Math-Verify on the last box) | choice (the letter of a multiple-choice answer) | code (its tests in
    the sandbox). `text` names the column holding the problem's own text where the converted problem adds to it
    (GPQA's listed answers, LiveCodeBench's instruction): what decontamination compares, as open-r1 does."""

    name: str
    title: str
    kind: str  # math | choice | code
    hub_id: str
    split: str
    convert: Callable[[Row, str], Row]
    config: str | None = None
    bundled: str | None = None  # kit:benchmarks/FILE
    files: bool = False  # the Hub repo is a set of JSON Lines files (LiveCodeBench), not a datasets layout
    text: str | None = None  # the column of the problem's own text, where the converted problem adds to it


def metadata_row(problem: str, domain: str, source: str, *, key: str | None = None, solution: str | None = None,
                 answer: str | None = None, test_cases: str | None = None, starter_code: str | None = None) -> Row:
    """A metadata row (problem_id, problem, domain, source, ground_truth_solution, ground_truth_answer,
    test_cases, starter_code); `problem_id` hashes `key`, the problem's own text, when the shown `problem` adds
    to it (GPQA's listed answers, LiveCodeBench's instruction)."""
    return {
        "problem_id": problem_id(problem if key is None else key),
        "problem": problem,
        "domain": domain,
        "source": source,
        "ground_truth_solution": solution,
        "ground_truth_answer": answer,
        "test_cases": test_cases,
        "starter_code": starter_code,
    }
