"""The row contracts of a kit dataset repo (see design.md, "Dataset repo contract")."""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from decimal import Decimal
from typing import Any

from datasets import Features, List, Value

DOMAINS = ("math", "code", "science", "puzzle")
# Domains as public datasets name them -> the kit's: OpenThoughts-114k's science rows say biology, chemistry or
# physics (open-thoughts' science.py), s1K's `cot_type` says crossword for its puzzles; case is folded too (verl
# datasets' `ability: MATH`).
DOMAIN_ALIASES = {"biology": "science", "chemistry": "science", "physics": "science", "crossword": "puzzle",
                  "mathematics": "math", "coding": "code"}

# A starter code defining `class Solution` (LeetCode style): its call-based test_cases call methods of it.
SOLUTION_CLASS = re.compile(r"^\s*class\s+Solution\b", re.MULTILINE)

METADATA_FEATURES = Features(
    {
        "problem_id": Value("string"),
        "problem": Value("string"),
        "domain": Value("string"),
        "source": Value("string"),
        "ground_truth_solution": Value("string"),
        "ground_truth_answer": Value("string"),
        "test_cases": Value("string"),
        "starter_code": Value("string"),
        "teacher": Value("string"),
        "reasoning": Value("string"),
        "solution": Value("string"),
        "verified": Value("bool"),
        "verifier": Value("string"),
        "verification": Value("string"),
        "generation": Value("string"),
    }
)

# The metadata columns the contract keeps as text (all but `verified`).
TEXT_COLUMNS = tuple(name for name, feature in METADATA_FEATURES.items() if feature == Value("string"))


def kit_domain(value: Any) -> Any:
    """A dataset's domain as the kit's (`DOMAINS`): case folded, `DOMAIN_ALIASES` applied; a value that names none
    of them is returned as it is (the stage that needs a domain names it in its rejection)."""
    if not isinstance(value, str):
        return value
    name = value.strip().lower()
    name = DOMAIN_ALIASES.get(name, name)
    return name if name in DOMAINS else value


def joined_lines(value: Any) -> Any:
    """A text a dataset gives as a list of its lines or parts - some APPS/TACO stdin tests (APPS's grader joins them),
    s1K's `thinking_trajectories` (s1's SFT code joins them) - as one text, joined by newlines; anything else as it
    is."""
    if isinstance(value, list | tuple) and all(isinstance(part, str) for part in value):
        return "\n".join(value)
    return value


def as_text(value: Any) -> str | None:
    """A value of a text column as the contract stores it: text and None as they are, anything else as its JSON text -
    a number (`42`, `0.5`: AIME sets type their answers as integers) or a list (`["1/2", "0.5"]`: a list of accepted
    answers, which `kit.verify.math.gold_answers` reads back). A float is written out in digits (`1e-05` is
    `0.00001`, which Math-Verify would read as e times -5), and NaN, a missing value as pandas writes one into a
    float column, is None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isfinite(value) and "e" in (text := repr(value)):
            return format(Decimal(text), "f")
    return json.dumps(value, ensure_ascii=False, default=str)


DEFAULT_FEATURES = Features(
    {
        "messages": List({"role": Value("string"), "content": Value("string")}),
        "problem_id": Value("string"),
        "domain": Value("string"),
        "source": Value("string"),
    }
)

_SPACE = re.compile(r"\s+")


def normalize_problem(text: str) -> str:
    """The normal form used for problem ids and exact dedup: NFKC, lower case, single spaces."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def problem_id(text: str) -> str:
    """A stable id for a problem: the first 16 hex digits of sha256 of its normal form."""
    return hashlib.sha256(normalize_problem(text).encode("utf-8")).hexdigest()[:16]


def sample_seed(base: int, problem_id: str, index: int) -> int:
    """The seed of one sample: stable across runs and machines, different for every sample (curation asks the
    teacher with it, evaluation the model under test)."""
    digest = hashlib.sha256(f"{base}:{problem_id}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
