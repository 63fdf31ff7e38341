"""The verifier registry: each name resolves, RowVerifier routes rows by kind or domain, keeps input order, and
starts its pools without deadlocking; the judge entry decides the rows `needs_judge` does."""

from __future__ import annotations

import json

import pytest

from kit.recipes import JudgeConfig, VerifyConfig
from kit.verify import Verdict
from kit.verify.choice import ChoiceVerifier, verify_choice
from kit.verify.code import CodeVerifier
from kit.verify.judge import needs_judge
from kit.verify.math import MathVerifier
from kit.verify.registry import (
    VERIFIERS,
    RowVerifier,
    UnknownVerifier,
    build_verifier,
    get_verifier,
    route,
    verify_batch,
)

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
    # Math workers are forked while sandbox servers start on other threads (kit.core.parallel.FORK_LOCK);
    # without the lock this hung intermittently. pytest-timeout turns a hang into a failure.
    for _ in range(4):
        with RowVerifier(VerifyConfig(workers=2)) as verifier:
            verdicts = list(verifier.verify(mixed_rows(3)))
        assert len(verdicts) == 6


# -- the registry ---------------------------------------------------------------------------------------------

def test_each_name_resolves():
    assert sorted(VERIFIERS) == ["choice", "code", "judge", "math"]
    labels = {name: get_verifier(name).label for name in VERIFIERS}
    assert labels == {"math": "math-verify", "code": "sandbox", "choice": "choice", "judge": "llm-judge"}
    for name, cls in (("math", MathVerifier), ("code", CodeVerifier), ("choice", ChoiceVerifier)):
        verifier = build_verifier(name, VerifyConfig(workers=1))
        try:
            assert isinstance(verifier, cls)
        finally:
            verifier.close()
    judge = get_verifier("judge")
    assert judge.build is None and judge.decides is needs_judge
    with pytest.raises(ValueError, match="generation pipeline asks in batch"):
        build_verifier("judge")


def test_an_unknown_name_is_a_clear_error():
    with pytest.raises(UnknownVerifier, match=r"unknown verifier 'accuracy'; the registry has: choice, code, judge, math"):
        get_verifier("accuracy")
    assert issubclass(UnknownVerifier, ValueError)
    with RowVerifier(VerifyConfig(workers=1)) as verifier:
        with pytest.raises(UnknownVerifier):  # at the call, not at the first verdict
            verifier.verify([{"domain": "math", "solution": "1"}], kind="maths")
        with pytest.raises(ValueError, match="judge"):
            verifier.verify([{"domain": "science", "solution": "B"}], kind="judge")


SCIENCE = {"domain": "science", "problem": "Which?", "ground_truth_answer": "C", "solution": "The answer is (C)."}


def test_kind_routes_a_row_and_the_domain_otherwise():
    assert [route(SCIENCE, "choice"), route(SCIENCE), route({"domain": "math"}), route({"domain": "code"})] == [
        "choice", None, "math", "code"]
    wrong = {**SCIENCE, "solution": "\\boxed{B}"}
    with RowVerifier(VerifyConfig(workers=1)) as verifier:
        chosen = list(verifier.verify([SCIENCE, wrong, {**SCIENCE, "solution": ""}], kind="choice"))
        plain = list(verifier.verify([SCIENCE]))
    assert chosen[:2] == [verify_choice("C", SCIENCE["solution"]), verify_choice("C", wrong["solution"])]
    assert [(v.passed, v.verifier, v.reason) for v in chosen] == [
        (True, "choice", None), (False, "choice", "wrong_answer"), (False, "none", "missing_field")]
    assert [(v.passed, v.verifier, v.reason) for v in plain] == [(False, "none", "unsupported_domain")]


def test_verify_batch_by_name_streams_progress_in_order():
    rows = [{**SCIENCE, "ground_truth_answer": "ABCD"[i % 4]} for i in range(600)]  # three chunks
    done = []
    verdicts = verify_batch("choice", rows, on_result=done.append)
    assert [v.passed for v in verdicts] == [i % 4 == 2 for i in range(600)]
    assert done[-1] == 600 and done == sorted(done) and {256, 512} <= set(done)


@pytest.mark.parametrize(("row", "reason", "cfg", "expected"), [
    ({"domain": "science"}, "unsupported_domain", {}, True),
    ({"domain": "puzzle"}, "unsupported_domain", {}, True),
    ({"domain": "puzzle"}, "unsupported_domain", {"domains": ["science"]}, False),
    ({"domain": "science", "ground_truth_answer": ""}, "unsupported_domain", {}, False),  # no reference
    ({"domain": "science", "solution": ""}, "missing_field", {}, False),  # nothing to judge
    ({"domain": "math"}, "no_answer", {}, False),  # fallback off
    ({"domain": "math"}, "no_answer", {"math_fallback": True}, True),
    ({"domain": "math"}, "timeout", {"math_fallback": True}, True),
    ({"domain": "math"}, "wrong_answer", {"math_fallback": True}, False),  # Math-Verify decided
    ({"domain": "code"}, "tests_failed", {"math_fallback": True}, False),
])
def test_the_judge_entry_decides_the_rows_needs_judge_does(row, reason, cfg, expected):
    row = {"problem": "p", "ground_truth_answer": "B", "solution": "It is B.", **row}
    verdict, judge_cfg = Verdict(False, "x", reason), JudgeConfig(**cfg)
    assert get_verifier("judge").decides(row, verdict, judge_cfg) is expected is needs_judge(row, verdict, judge_cfg)
