"""Verifiers: each turns one metadata row into a `Verdict`.

`math.py` checks final answers with Math-Verify, `code.py` runs tests in the sandbox. `verify_rows` in
`dispatch.py` routes rows by `domain`.
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
