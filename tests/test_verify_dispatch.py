"""RowVerifier routes rows by domain, keeps input order, and starts its pools without deadlocking."""

from __future__ import annotations

import json

from kit.recipes import VerifyConfig
from kit.verify.dispatch import RowVerifier

STDIO = json.dumps({"inputs": ["2\n"], "outputs": ["4\n"]})


def mixed_rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        rows.append({"domain": "math", "solution": f"\\boxed{{{i}}}", "ground_truth_answer": str(i if i % 3 else -1)})
        rows.append({"domain": "code", "test_cases": STDIO,
                     "solution": "```python\nprint(int(input()) * 2)\n```" if i % 2 else "```python\nprint(5)\n```"})
    return rows


def test_routes_by_domain_in_input_order():
    rows = mixed_rows(6) + [{"domain": "science", "solution": "B"}, {"domain": "code", "solution": ""}]
    done = []
    with RowVerifier(VerifyConfig(workers=2)) as verifier:
        verdicts = list(verifier.verify(rows, on_result=done.append))
    assert [v.verifier for v in verdicts[:12]] == ["math-verify", "sandbox"] * 6
    assert [v.passed for v in verdicts[:12:2]] == [i % 3 != 0 for i in range(6)]
    assert [v.passed for v in verdicts[1:12:2]] == [i % 2 == 1 for i in range(6)]
    assert [v.reason for v in verdicts[12:]] == ["unsupported_domain", "missing_field"]
    assert done[-1] == len(rows) and done == sorted(done)


def test_math_pool_and_sandboxes_start_concurrently_without_deadlock():
    # Math workers are forked while sandbox servers start on other threads (kit.parallel.FORK_LOCK);
    # without the lock this hung intermittently. pytest-timeout turns a hang into a failure.
    for _ in range(4):
        with RowVerifier(VerifyConfig(workers=2)) as verifier:
            verdicts = list(verifier.verify(mixed_rows(3)))
        assert len(verdicts) == 6
