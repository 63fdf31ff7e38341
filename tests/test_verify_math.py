"""Math verification: answer extraction, Math-Verify verdicts, the worker pool's limits, MATH500."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

import kit
from kit.verify import Verdict
from kit.verify.math import GRACE_S, MathVerifier, extract_boxed, gold_answer, verify_answer
from kit.verify.pool import Failure, ProcessPool

MATH500 = Path(kit.__file__).parent / "data" / "benchmarks" / "math500.jsonl"
STUCK = "\\boxed{9^{9^{9^{9}}}}"  # real input: sympy evaluates the tower for minutes without a limit


@pytest.fixture(scope="module")
def verifier():
    with MathVerifier(workers=2, timeout_s=5.0) as v:
        yield v


# --------------------------------------------------------------------------------------------------
# Extraction


@pytest.mark.parametrize(("text", "expected"), [
    ("so the answer is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("first \\boxed{1}, then corrected: \\boxed{2}", "2"),
    ("no box at all: 42", None),
    ("", None),
    ("The answer is \\boxed 5.", "5"),
    ("The answer is $\\boxed 12$", "12"),
    ("\\fbox{7}", "7"),
    ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
    ("\\boxed{ \\text{(C)} }", "\\text{(C)}"),
    ("\\boxed{1} ... \\boxed{12", None),  # the last box never closes: truncated output
    ("\\boxed{}", ""),
])
def test_extract_boxed(text, expected):
    assert extract_boxed(text) == expected


def test_gold_answer_prefers_the_answer_then_the_solution_box():
    solution = "So $x = \\boxed{3}$ and the area is $\\boxed{\\frac{9}{2}}$."
    assert gold_answer({"ground_truth_answer": "4.5", "ground_truth_solution": solution}) == "4.5"
    assert gold_answer({"ground_truth_answer": "", "ground_truth_solution": solution}) == "\\frac{9}{2}"
    assert gold_answer({"ground_truth_answer": None, "ground_truth_solution": solution}) == "\\frac{9}{2}"
    assert gold_answer({"ground_truth_answer": "$5$"}) == "5"
    assert gold_answer({"ground_truth_answer": 42}) == "42"  # some datasets store numbers
    assert gold_answer({"ground_truth_answer": " ", "ground_truth_solution": "no box"}) is None
    assert gold_answer({}) is None


# --------------------------------------------------------------------------------------------------
# One answer, in-process


@pytest.mark.parametrize(("gold", "predicted"), [
    ("\\frac{1}{2}", "0.5"),
    ("0.5", "\\frac{1}{2}"),
    ("27", "27.0"),
    ("27.0", "27"),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}"),
    ("(-\\infty, 3)", "(-\\infty,3)"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)"),
    ("3, 5", "5, 3"),
    ("p - q", "-q + p"),
    ("\\text{Monday}", "Monday"),
    ("10\\%", "0.1"),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),
])
def test_equivalent_forms_pass(gold, predicted):
    verdict = verify_answer(gold, f"Therefore the answer is $\\boxed{{{predicted}}}$.")
    assert verdict == Verdict(True, "math-verify", None, {"gold": gold, "predicted": predicted})


@pytest.mark.parametrize(("gold", "predicted"), [
    ("27", "28"),
    ("\\frac{1}{2}", "\\frac{1}{3}"),
    ("(-\\infty, 3)", "(-\\infty, 3]"),
    ("\\text{Monday}", "\\text{Tuesday}"),
    ("(1, 2)", "(2, 1)"),
])
def test_wrong_answers_fail(gold, predicted):
    verdict = verify_answer(gold, f"\\boxed{{{predicted}}}")
    assert (verdict.passed, verdict.reason, verdict.detail["predicted"]) == (False, "wrong_answer", predicted)


def test_missing_answer_and_missing_gold():
    assert verify_answer("5", "I think it is 5 but I won't box it.").reason == "no_answer"
    assert verify_answer("5", "\\boxed{}").reason == "no_answer"
    assert verify_answer("", "\\boxed{5}").reason == "no_ground_truth"
    verdict = verify_answer("5", "no box")
    assert verdict.detail == {"gold": "5", "predicted": None}
    assert json.loads(verdict.to_json()) == {"passed": False, "reason": "no_answer", "gold": "5", "predicted": None}


def test_detail_is_truncated():
    long = "+".join(["1"] * 300)  # 599 characters
    verdict = verify_answer(long, f"\\boxed{{{long}}}")
    assert verdict.passed
    assert len(verdict.detail["gold"]) <= 510 and len(verdict.detail["predicted"]) <= 510


def test_in_process_time_limit_on_a_real_input():
    start = time.monotonic()
    verdict = verify_answer("5", STUCK, timeout_s=0.5)
    assert (verdict.reason, verdict.detail["error"]) == ("timeout", "exceeded 0.5 s")
    assert time.monotonic() - start < 3


# --------------------------------------------------------------------------------------------------
# Many rows, in worker processes


def test_verifier_keeps_order_reasons_and_reports_progress(verifier):
    rows = [
        {"ground_truth_answer": "\\frac{1}{2}", "solution": "so \\boxed{0.5}"},
        {"ground_truth_answer": "27", "solution": "\\boxed{26}"},
        {"ground_truth_answer": "3", "solution": "the answer is three"},
        {"ground_truth_answer": "", "ground_truth_solution": "", "solution": "\\boxed{1}"},
        {"ground_truth_answer": "", "ground_truth_solution": "hence $\\boxed{27}$", "solution": "\\boxed{27.0}"},
        {"ground_truth_answer": None, "ground_truth_solution": None, "solution": None},
    ]
    progress: list[int] = []
    verdicts = list(verifier.verify(rows, on_result=progress.append))
    assert [v.reason for v in verdicts] == [None, "wrong_answer", "no_answer", "no_ground_truth", None,
                                           "no_ground_truth"]
    assert [v.passed for v in verdicts] == [True, False, False, False, True, False]
    assert verdicts[4].detail == {"gold": "27", "predicted": "27.0"}
    assert {v.verifier for v in verdicts} == {"math-verify"}
    assert progress == [1, 2, 3, 4, 5, 6]


def test_verifier_streams_with_bounded_read_ahead(verifier):
    pulled = 0

    def rows():
        nonlocal pulled
        for i in range(1000):
            pulled += 1
            yield {"ground_truth_answer": str(i), "solution": f"\\boxed{{{i}}}" if i % 10 == 0 else "no box"}

    most_ahead = 0
    for n, verdict in enumerate(verifier.verify(rows()), start=1):
        most_ahead = max(most_ahead, pulled - n)
        assert verdict.reason == ("no_answer" if (n - 1) % 10 else None)
    assert n == 1000
    assert most_ahead <= verifier._pool.max_pending


def test_stuck_item_times_out_and_the_run_continues():
    rows = [{"ground_truth_answer": "5", "solution": STUCK}] + [
        {"ground_truth_answer": str(i), "solution": f"\\boxed{{{i}}}"} for i in range(3)]
    with MathVerifier(workers=1, timeout_s=1.0) as verifier:
        start = time.monotonic()
        verdicts = list(verifier.verify(rows))
        elapsed = time.monotonic() - start
    assert verdicts[0].reason == "timeout" and verdicts[0].detail["predicted"] == "9^{9^{9^{9}}}"
    assert [v.passed for v in verdicts[1:]] == [True, True, True]
    assert elapsed < 1.0 + GRACE_S + 2


def test_time_limit_holds_when_verify_runs_on_a_thread():
    """kit.verify.dispatch calls `verify` from a thread pool: workers still get a working timer."""
    out: list[Verdict] = []

    def run():
        with MathVerifier(workers=1, timeout_s=1.0) as verifier:
            out.extend(verifier.verify([{"ground_truth_answer": "5", "solution": STUCK},
                                        {"ground_truth_answer": "5", "solution": "\\boxed{5}"}]))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)
    assert [(v.reason, v.detail.get("error")) for v in out] == [("timeout", "exceeded 1 s"), (None, None)]


def _double_or_die(x: int) -> int:
    if x < 0:
        os._exit(3)
    return 2 * x


def test_pool_kills_and_replaces_a_stuck_worker():
    """The parent-side limit: `time.sleep` ignores no signal, but the pool sends none - it kills."""
    with ProcessPool(time.sleep, workers=2, time_limit_s=0.5) as pool:
        pids = {w.process.pid for w in pool._workers}
        start = time.monotonic()
        results = list(pool.map([0.01, 60, 0.01, 0.02, 0.01]))
        elapsed = time.monotonic() - start
        assert results[0] is None and results[2:] == [None, None, None]
        assert isinstance(results[1], Failure) and results[1].kind == "timeout"
        assert elapsed < 3
        assert len(pids & {w.process.pid for w in pool._workers}) == 1  # the killed one was replaced
        assert list(pool.map([0.01, 0.01])) == [None, None]


def test_pool_reports_crashes_and_errors_and_goes_on():
    with ProcessPool(_double_or_die, workers=2, time_limit_s=5) as pool:
        results = list(pool.map([1, -1, 2, "x", 3]))
    assert results[0] == 2 and results[2] == 4 and results[4] == 6
    assert results[1].kind == "crashed" and "exit code 3" in results[1].message
    assert results[3].kind == "error" and results[3].message.startswith("TypeError")


def test_a_worker_holds_none_of_the_parents_connections_open():
    """A server that runs the pool (the Reasoning Arena) closes a client's connection: the client must see
    it closed, also when a worker was forked while the connection was open."""
    ours, peer = socket.socketpair()
    with ProcessPool(abs, workers=1, time_limit_s=5) as pool:  # forked while `ours` is open
        ours.close()
        peer.settimeout(10)
        assert peer.recv(1) == b""  # end of stream: no copy of `ours` lives on in the worker
        assert list(pool.map([-3])) == [3]  # and the worker's own pipe works
    peer.close()


# --------------------------------------------------------------------------------------------------
# Real data: MATH500
