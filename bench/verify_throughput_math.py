"""Math verification throughput: `MathVerifier(workers=N)` versus a plain in-process loop.

Both sides do the same work per row on MATH500 (reference solution against its answer): take the last
box of the solution and compare it with the answer using math_verify `parse`/`verify`. The loop uses
math-verify's default (signal) timeouts, as a plain script would; the pool run includes forking its
workers. Both start from the same warmed-up process, and sympy's cache is cleared before each run.

    PYTHONPATH=. python bench/verify_throughput_math.py [--rows 500] [--workers 2] [--repeats 5]

(from the repository root; `PYTHONPATH=.` is not needed once the kit is installed).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from math_verify import parse, verify
from sympy.core.cache import clear_cache

from kit.verify.math import MathVerifier, _warm_up, extract_boxed

MATH500 = Path(__file__).resolve().parents[1] / "kit" / "data" / "benchmarks" / "math500.jsonl"


def _rows(n_rows: int) -> list[dict[str, Any]]:
    """`n_rows` metadata rows from MATH500 (cycled past 500)."""
    problems = [json.loads(line) for line in MATH500.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"ground_truth_answer": p["answer"], "ground_truth_solution": p["solution"], "solution": p["solution"]}
            for p in itertools.islice(itertools.cycle(problems), n_rows)]


def _sequential(rows: list[dict[str, Any]]) -> int:
    passed = 0
    for row in rows:
        predicted = extract_boxed(row["solution"]) or ""
        gold = parse("\\boxed{" + row["ground_truth_answer"] + "}")
        passed += verify(gold, parse("\\boxed{" + predicted + "}"))
    return passed


def _forked_slices(rows: list[dict[str, Any]], workers: int) -> int:
    """A reference for what the hardware gives: `workers` forked copies of the loop, one fixed slice
    each - no pipes, time limit or ordering, but no load balancing either. Returns 0 (not counted)."""
    size = -(-len(rows) // workers)
    children = []
    for start in range(0, len(rows), size):
        pid = os.fork()
        if pid == 0:
            _sequential(rows[start:start + size])
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    return 0


def _cpu_s() -> float:
    """CPU seconds used so far by this process and its reaped children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(run: Callable[[], int]) -> tuple[float, float, int]:
    """(wall s, CPU s, rows passed) of one run, starting from an empty sympy cache."""
    clear_cache()
    cpu, start = _cpu_s(), time.perf_counter()
    passed = run()
    return time.perf_counter() - start, _cpu_s() - cpu, passed


def bench_math(n_rows: int = 500, workers: int = 2, repeats: int = 5) -> dict[str, Any]:
    """Rows/s of `MathVerifier(workers)` and of a sequential parse/verify loop, and their ratio.

    Both sides start from the same warmed-up process (`MathVerifier`'s one-off warm-up, timed apart as
    `warm_up_s`); the pool side includes forking its workers. Each side runs `repeats` times, alternating,
    and the best run of each counts (the machine may be shared); the ratio of the medians and all runs
    are reported too. `forked_slices_ratio` is what bare forked copies of the loop reach on this
    machine (`_forked_slices`), a reference for what two processes can get out of it at all.
    """
    rows = _rows(n_rows)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    _warm_up()
    warm_up_s = time.perf_counter() - start

    def pool() -> int:
        with MathVerifier(workers=workers) as verifier:
            return sum(v.passed for v in verifier.verify(rows))

    pool_runs, loop_runs, fork_runs = [], [], []
    for _ in range(repeats):
        pool_runs.append(_timed(pool))
        loop_runs.append(_timed(lambda: _sequential(rows)))
        fork_runs.append(_timed(lambda: _forked_slices(rows, workers)))
    pool_s, pool_cpu, pool_passed = min(pool_runs)
    loop_s, loop_cpu, loop_passed = min(loop_runs)
    fork_s = min(fork_runs)[0]

    result = {
        "rows": n_rows,
        "workers": workers,
        "cpus": len(os.sched_getaffinity(0)),
        "load_before": round(load, 2),
        "warm_up_s": round(warm_up_s, 2),
        "pool_rows_per_s": round(n_rows / pool_s, 1),
        "sequential_rows_per_s": round(n_rows / loop_s, 1),
        "ratio": round(loop_s / pool_s, 2),
        "ratio_of_medians": round(statistics.median(r[0] for r in loop_runs)
                                  / statistics.median(r[0] for r in pool_runs), 2),
        "forked_slices_ratio": round(loop_s / fork_s, 2),
        "pool_runs_s": [round(r[0], 2) for r in pool_runs],
        "sequential_runs_s": [round(r[0], 2) for r in loop_runs],
        "forked_slices_runs_s": [round(r[0], 2) for r in fork_runs],
        "pool_cpu_ms_per_row": round(1000 * pool_cpu / n_rows, 2),
        "sequential_cpu_ms_per_row": round(1000 * loop_cpu / n_rows, 2),
        "pool_passed": pool_passed,
        "sequential_passed": loop_passed,
    }
    print(f"math-verify, {n_rows} MATH500 rows, {result['cpus']} CPUs (load {result['load_before']}), best of "
          f"{repeats}: MathVerifier(workers={workers}) {result['pool_rows_per_s']} rows/s, sequential "
          f"{result['sequential_rows_per_s']} rows/s; ratio {result['ratio']}x, of medians "
          f"{result['ratio_of_medians']}x (goal >= 1.7 on 2 cores); bare forked slices "
          f"{result['forked_slices_ratio']}x\n"
          f"  runs (s): pool {result['pool_runs_s']}, sequential {result['sequential_runs_s']}, forked slices "
          f"{result['forked_slices_runs_s']}; CPU ms/row "
          f"{result['pool_cpu_ms_per_row']} vs {result['sequential_cpu_ms_per_row']}; passed {pool_passed} vs "
          f"{loop_passed}; one-off warm-up {result['warm_up_s']} s (not counted)")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    bench_math(args.rows, args.workers, args.repeats)
