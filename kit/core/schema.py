"""The row contracts of a kit dataset repo (see design.md, "Dataset repo contract")."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from datasets import Features, List, Value

DOMAINS = ("math", "code", "science", "puzzle")

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
