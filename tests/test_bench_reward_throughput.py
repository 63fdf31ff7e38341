"""bench/reward_throughput.py: its small mode runs the kit's accuracy reward and both baselines end to end and
prints both ratios (no timing is asserted: the script reports what one run measured). Its batches and its lean
code baseline are checked too: the baseline scores exactly the completions the kit passes."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench/reward_throughput.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("reward_throughput", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_tiny_run_prints_both_ratios() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(SCRIPT), "--tiny"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    result = re.search(r"^result: math kit/plain (\d+\.\d+)x; code kit/lean (\d+\.\d+)x", out, re.MULTILINE)
    assert result, out
    assert all(float(ratio) > 0 for ratio in result.groups())
    assert re.search(r"^machine: \d+ CPUs .*sandbox isolation: (bwrap|rlimits)", out, re.MULTILINE), out
    assert re.search(r"^cold start: first call \d+\.\d+ s", out, re.MULTILINE), out
    assert re.search(r"^goal: code kit/lean >= 1\.0 while isolated \(bwrap\): (met|NOT met)", out, re.MULTILINE), out
    # Both sides score the same code completions (the kit's verdicts are the reference).
    code = re.search(r"^code: (\d+) completions.*\n  kit .*: [\d.]+/s, (\d+) of", out, re.MULTILINE)
    lean = re.findall(r"^  lean .*: [\d.]+/s, (\d+) of", out, re.MULTILINE)
    assert code and lean and set(lean) == {code.group(2)}, out


def test_batches_hold_every_kind_and_test_form(bench) -> None:
    math = bench.math_batch(32, 8, step=1)
    assert Counter(math.kinds) == {"right": 16, "wrong": 12, "unboxed": 2, "unclosed": 2}
    assert all(text.startswith("<think>") for text in math.texts)
    code = bench.code_batch(32, 4, step=1, hanging=1)
    assert set(code.kinds) == {"assert", "stdio", "call"}
    assert sum(bench.HANG in text for text in code.texts) == 1
    assert set(code.columns["domain"]) == {"code"} and len(code.prompts) == len(code.completions) == 32
    mixed = bench.mixed_batch(math, bench.code_batch(32, 8, step=1), 8)
    assert mixed.columns["domain"][:16] == ["math"] * 8 + ["code"] * 8  # prompt groups interleaved
    assert bench._part(mixed, "math").texts == math.texts


def test_lean_baseline_judges_right_and_wrong(bench) -> None:
    """Every hand-written problem: the right solution passes, the wrong one fails, a hanging one is cut."""
    batch = bench.Batch()
    for pid, statement, tests, starter, right, wrong in bench.STDIO_PROBLEMS + bench.CALL_PROBLEMS:
        row = {"problem_id": pid, "problem": statement, "domain": "code", "test_cases": bench.json.dumps(tests),
               "starter_code": starter}
        batch.add(row, bench._code_text(right), "right")
        batch.add(row, bench._code_text(wrong), "wrong")
    row = {"problem": "x", "domain": "code", "test_cases": bench.json.dumps({"inputs": ["1\n"], "outputs": ["1\n"]})}
    batch.add(row, bench._code_text(bench.HANG), "hang")
    tests = bench.lean_tests(batch)
    failed = set(bench.lean_loop(tests, 2, timeout_s=1.0))
    assert failed == {i for i, kind in enumerate(batch.kinds) if kind != "right"}
