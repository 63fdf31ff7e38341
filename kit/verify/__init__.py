"""Verifiers: each turns one metadata row into a `Verdict`, chosen by name from one registry (`registry.py`).

    math    Math-Verify checks the final answer against the gold answer (`math.py`)
    code    the solution's code runs against the row's test_cases in the sandbox (`code.py`)
    choice  the multiple-choice letter of the solution against `ground_truth_answer` (`choice.py`)
    judge   an LLM judge compares the answer with the reference (`judge.py`); the generation pipeline asks it
            in batch, and its registry entry says which rows it decides

`registry.RowVerifier` routes a row to the verifier named by the caller's `kind` (a benchmark's kind), else by
its domain (math -> math, code -> code; other domains get `unsupported_domain`). `get_verifier(name)`,
`build_verifier(name, cfg)` and `verify_batch(name, rows, cfg)` reach one verifier by name. `rows.verify_to_jsonl` is
`kit verify`'s job: every row with its verdict, in input order, resumable.

May import: `kit.core`, `kit.recipes`, `kit.sandbox`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Verdict:
    """The outcome of verifying one sample.

    `reason` is a short, stable category used for rejection statistics (None when passed), e.g.
    `wrong_answer`, `no_answer`, `tests_failed`, `timeout`, `runtime_error`, `memory`, `no_code`,
    `invalid_test_cases`, `incomplete_run`, `unsupported_domain`. `detail` is JSON-serializable and holds
    what a reader needs to audit the verdict (parsed answers, passed/total, per-test failure reasons).
    """

    passed: bool
    verifier: str  # math-verify | sandbox | llm-judge | none
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"passed": self.passed, "reason": self.reason, **self.detail}, ensure_ascii=False, default=str)


def clip(text: str | None, limit: int) -> str | None:
    """`text` cut to `limit` characters (with "..." when cut), for a verdict's detail; None stays None."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + "..."


__all__ = ["Verdict", "clip"]
