"""`kit verify` on real data: HumanEval in the sandbox, MATH500 with Math-Verify, right and wrong pairings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kit.benchmarks import load_benchmark
from kit.verify.registry import CHUNK

ROOT = Path(__file__).resolve().parent.parent


def kit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kit.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def _humaneval_rows() -> list[dict]:
    rows = []
    for problem in load_benchmark("humaneval"):
        tests = problem["test_cases"]
        right = problem["ground_truth_solution"]  # prompt + canonical solution
        wrong = problem["starter_code"] + "    return None\n"
        for kind, code in (("right", right), ("wrong", wrong)):
            rows.append({"domain": "code", "test_cases": tests, "solution": f"```python\n{code}\n```",
                         "kind": f"humaneval-{kind}"})
    return rows


def _math500_rows() -> list[dict]:
    problems = load_benchmark("math500")
    rows = []
    for i, problem in enumerate(problems):
        other = problems[(i + 1) % len(problems)]["ground_truth_answer"]
        rows.append({"domain": "math", "solution": problem["ground_truth_solution"],
                     "ground_truth_answer": problem["ground_truth_answer"], "kind": "math500-right"})
        rows.append({"domain": "math", "solution": problem["ground_truth_solution"], "ground_truth_answer": other,
                     "kind": "math500-wrong", "same_answer": f"\\boxed{{{problem['ground_truth_answer']}}}"})
    return rows


@pytest.fixture(scope="module")
def verified(tmp_path_factory):
    rows = _humaneval_rows() + _math500_rows()
    for n, row in enumerate(rows):
        row["n"] = n
    folder = tmp_path_factory.mktemp("verify")
    source = folder / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = kit("verify", str(source), "--out", str(folder / "out.jsonl"), "--workers", "2")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in (folder / "out.jsonl").read_text().splitlines()]
    return rows, out


def test_every_row_comes_back_in_order_with_its_verdict(verified):
    rows, out = verified
    assert [r["n"] for r in out] == [r["n"] for r in rows]
    for row in out:
        assert isinstance(row["verified"], bool)
        assert row["verifier"] == ("sandbox" if row["domain"] == "code" else "math-verify")
        assert json.loads(row["verification"])["passed"] is row["verified"]


def test_humaneval_canonical_solutions_pass_and_wrong_ones_fail(verified):
    _, out = verified
    right = [r for r in out if r["kind"] == "humaneval-right"]
    wrong = [r for r in out if r["kind"] == "humaneval-wrong"]
    assert len(right) == len(wrong) == 164
    failed = [json.loads(r["verification"]) for r in right if not r["verified"]]
    assert failed == [], failed[:3]
    assert sum(r["verified"] for r in wrong) == 0


def test_math500_references_verify_and_wrong_pairings_are_rejected(verified):
    _, out = verified
    right = [r for r in out if r["kind"] == "math500-right"]
    wrong = [r for r in out if r["kind"] == "math500-wrong"]
    assert len(right) == len(wrong) == 500
    pass_rate = sum(r["verified"] for r in right) / 500
    # A pairing whose two answers are equivalent (e.g. "3" and "3") is not wrong: leave those out.
    from kit.verify.math import verify_answer

    distinct = [r for r in wrong if not verify_answer(r["ground_truth_answer"], r["same_answer"]).passed]
    reject_rate = sum(not r["verified"] for r in distinct) / len(distinct)
    print(f"\nMATH500 via kit verify: {pass_rate:.1%} verify; {reject_rate:.1%} of {len(distinct)} wrong pairings rejected")
    assert pass_rate >= 0.99
    assert len(distinct) >= 490 and reject_rate >= 0.99


def test_unreadable_input_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"domain": "math", "solution": "x"}\n{oops\n')
    for args in (["verify", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o.jsonl")],
                 ["verify", str(bad), "--out", str(tmp_path / "o.jsonl")]):
        result = kit(*args)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert "line 2" in result.stderr


def test_missing_column_is_named(tmp_path):
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"domain": "math", "answer": "2"}) + "\n")
    result = kit("verify", str(data), "--out", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2
    assert "missing column 'solution'" in result.stderr and "--config metadata" not in result.stderr


def test_a_kit_dataset_folder_without_its_config_names_the_metadata_config(quickstart, tmp_path):
    result = kit("verify", str(quickstart), "--out", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "verify its metadata, --config metadata" in result.stderr


def test_rows_that_fail_are_results_not_errors(tmp_path):
    data = tmp_path / "rows.jsonl"
    rows = [{"domain": "math", "solution": "so \\boxed{3}", "ground_truth_answer": "4"},
            {"domain": "code", "solution": "```python\nprint(1)\n```", "test_cases": "{broken"},
            {"domain": "science", "solution": "B"},
            {"domain": "math", "solution": "", "ground_truth_answer": "1"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = kit("verify", str(data), "--out", str(tmp_path / "o.jsonl"))
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    reasons = [json.loads(r["verification"])["reason"] for r in out]
    assert reasons == ["wrong_answer", "invalid_test_cases", "unsupported_domain", "missing_field"]


# --- a stopped run resumes --------------------------------------------------------------------------------------

SLOW_SUM = "```python\nimport time\ntime.sleep(1)\na, b = map(int, input().split())\nprint(a + b)\n```"


def _resumable_rows() -> list[dict]:
    """A first chunk of quick math rows (rows are verified `CHUNK` at a time), then code rows whose program takes
    1 s; every third row of each is wrong."""
    math = [{"domain": "math", "solution": f"\\boxed{{{i + (i % 3 == 0)}}}", "ground_truth_answer": str(i)}
            for i in range(CHUNK)]
    code = [{"domain": "code", "solution": SLOW_SUM if i % 3 else SLOW_SUM.replace("a + b", "a - b"),
             "test_cases": json.dumps({"inputs": [f"{i} 1\n"], "outputs": [f"{i + 1}\n"]})} for i in range(6)]
    # a float NaN (in a dataset's own column) reads back as a NaN, which equals no NaN as a value
    return [{"n": n, "rating": float("nan") if n == 0 else 1.5, **row} for n, row in enumerate(math + code)]


def _said(result: subprocess.CompletedProcess[str]) -> str:
    return " ".join((result.stdout + result.stderr).split())


def _stopped_after_one_chunk(source: Path, out: Path, how: signal.Signals) -> subprocess.Popen[str]:
    """`kit verify` on `source`, sent `how` once the first chunk of rows is written (while the slow code rows run)."""
    partial = out.with_name(out.name + ".partial")
    command = [sys.executable, "-m", "kit.cli", "verify", str(source), "--out", str(out), "--workers", "2"]
    run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None and (
            not partial.exists() or partial.read_text().count("\n") < CHUNK):
        time.sleep(0.05)
    if how == signal.SIGKILL:
        os.killpg(run.pid, how)  # kill -9 of the command and its workers: no handler runs
    else:
        run.send_signal(how)
    return run


def test_a_killed_run_resumes_from_the_rows_it_wrote(tmp_path):
    rows = _resumable_rows()
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    partial = tmp_path / "out.jsonl.partial"
    _stopped_after_one_chunk(source, out, signal.SIGKILL).communicate(timeout=60)
    assert partial.read_text().count("\n") == CHUNK and not out.exists()
    with partial.open("a") as fh:
        fh.write('{"n": 300, "domain": "code", "sol')  # a write the kill cut off
    result = kit("verify", str(source), "--out", str(out), "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert f"resuming from {partial}: {CHUNK} rows already verified" in _said(result)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["n"] for r in written] == list(range(len(rows))) and not partial.exists()
    assert [r["verified"] for r in written] == [bool(i % 3) for i in range(CHUNK)] + [bool(i % 3) for i in range(6)]
    assert "174 verified, 88 not verified" in _said(result)


def test_ctrl_c_keeps_the_rows_verified_and_says_how_to_resume(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in _resumable_rows()))
    partial = tmp_path / "out.jsonl.partial"
    run = _stopped_after_one_chunk(source, out, signal.SIGINT)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130 and partial.read_text().count("\n") == CHUNK and not out.exists()
    assert (f"stopped: the {CHUNK} rows verified are kept in {partial}; run the same command to resume"
            in " ".join((stdout + stderr).split()))


def test_a_partial_file_of_another_input_is_not_taken_for_this_ones(tmp_path):
    rows = _resumable_rows()[:3]
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    other = {**rows[0], "n": 7, "verified": True, "verifier": "math-verify", "verification": "{}"}
    (tmp_path / "out.jsonl.partial").write_text(json.dumps(other) + "\n")
    result = kit("verify", str(source), "--out", str(out), "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "does not match this input (its row 1 is not the input's): starting over" in _said(result)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["n"], r["verified"]) for r in written] == [(0, False), (1, True), (2, True)]
