"""Reward throughput of one GRPO step's batch: the kit's `accuracy` reward against plain baselines, in one run.

The kit side is `kit.train.rewards`' `accuracy` (from `make_rewards`), called exactly as TRL's GRPOTrainer calls
a reward function: `reward(prompts=..., completions=[[{"role": "assistant", "content": ...}], ...],
completion_ids=..., **columns, trainer_state=..., log_extra=..., log_metric=...)`, the dataset's reward columns as
lists, one value per completion. Inside, math completions go to Math-Verify in worker processes (with time
limits) and code completions to the isolated sandbox (`kit.sandbox`: one fork server per worker, bwrap
namespaces where installed), batched by one `RowVerifier`.

The completions are realistic and mixed, `--group` per prompt (GRPO's generations per prompt), each with a
`<think>` block:
- math: MATH500 from the bundled copy (`load_benchmark("math500")`); of every 8 completions 4 box the gold
  answer (right), 3 box a changed one (wrong), 1 leaves `<think>` unclosed or gives "The answer is ..." unboxed;
- code: HumanEval from the bundled copy (assert tests: the canonical solution right, a stub returning None
  wrong) for half the prompts, and APPS-style problems written here in the two other test forms (stdin/stdout;
  call-based with `fn_name`, some on a `class Solution` starter) for a quarter each; of every 3 completions
  of a prompt 2 right, 1 wrong. `--hanging N` swaps N of them for a program that never ends.
Every call gets new prompts (as in training, and so that no side lives off sympy's cache of the last call).

Baselines, on the same completions:
- math: a plain in-process loop, `math_verify.parse` + `verify` on each completion's last boxed answer (no
  time limits, no processes, one core) -> ratio kit/plain;
- code: a lean fork-per-test runner with no isolation at all (no sandbox, namespaces, uid or rlimits),
  shaped like the kit's code path: `--workers` completions at a time, the last python block of each run once
  per test, one test after another, each in a process forked for it (stdin from the test input in a file on
  /dev/shm, stdout compared token by token; call-based: the JSON of the return value; assert:
  `check(entry_point)` returns), the same per-test time limit, the other tests skipped after a timeout
  (as the kit's harness does) -> ratio kit/lean. `--lean` picks the variants, the first one the headline:
  `forkserver` (the default headline) forks from a small helper process started once (the stdlib and the
  modules the kit's harness preloads: the strongest lean baseline); `fork` forks from this process (what a
  reward function inside the trainer would do: fork time grows with the parent's memory, and a trainer
  is far larger than this script); `subprocess` starts `subprocess.run([sys.executable, file], input=...,
  timeout=...)` per test.
- mixed: one call on both (a GRPO step on a math + code mixture: prompt groups interleaved) against the
  plain loop, then the headline lean runner.

Both sides are warmed up first (the kit's pools and sandboxes start once per run, as in training: the cold
first call is reported apart), then `--repeats` rounds alternate which side goes first; the best round of each
side counts (interference only ever slows a run down), the ratio of the medians is printed beside it.
`--profile` then times one code call request by request (the parent's round trip, the sandbox server's part,
the test processes) and prints the parent's cProfile.

    PYTHONPATH=. python bench/reward_throughput.py [--math 256] [--code 256] [--group 8] [--workers N]
        [--repeats 3] [--lean forkserver,fork,subprocess] [--hanging N] [--no-mixed] [--profile] [--tiny]

(from the repository root; `PYTHONPATH=.` is not needed once the kit is installed). CPU only; about 1.5 minutes
on 2 cores with the defaults, seconds with `--tiny`. Goal (issue 18): code kit/lean >= 1.0 while isolated
(bwrap); it was 0.52x through `kit verify` (HumanEval x10, 2 cores).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import inspect
import io
import itertools
import json
import os
import pstats
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from math_verify import parse, verify

from kit.benchmarks import load_benchmark
from kit.core.parallel import cpu_count
from kit.recipes import VerifyConfig
from kit.recipes.train import RewardConfig
from kit.train.data import REWARD_COLUMNS
from kit.train.rewards import close_rewards, make_rewards
from kit.verify.code import extract_code
from kit.verify.math import extract_boxed

GOAL = 1.0  # code kit/lean, isolated (issue 18)
BEFORE = "0.52x through `kit verify` (HumanEval x10, 2 cores)"
COLUMNS = REWARD_COLUMNS  # what TRL hands every reward function of a kit GRPO run

# --------------------------------------------------------------------------------------------------
# APPS-style problems in the two test forms HumanEval lacks: (id, statement, test_cases, starter, right, wrong)

STDIO_PROBLEMS: list[tuple[str, str, dict[str, Any], str | None, str, str]] = [
    ("apps-sum", "Read n and then n integers; print their sum.",
     {"inputs": ["3\n1 2 3\n", "1\n-5\n", "5\n10 20 30 40 50\n", "4\n1000000000 1000000000 1 1\n"],
      "outputs": ["6\n", "-5\n", "150\n", "2000000002\n"]}, None,
     "n = int(input())\nprint(sum(map(int, input().split()[:n])))\n",
     "n = int(input())\nvalues = list(map(int, input().split()))\nprint(sum(values[1:n]))\n"),
    ("apps-reverse-words", "Print the words of the line in reverse order.",
     {"inputs": ["hello world\n", "a b c d\n", "single\n", "the quick brown fox\n"],
      "outputs": ["world hello\n", "d c b a\n", "single\n", "fox brown quick the\n"]}, None,
     "import sys\nwords = sys.stdin.readline().split()\nprint(' '.join(reversed(words)))\n",
     "import sys\nwords = sys.stdin.readline().split()\nprint(' '.join(sorted(words)))\n"),
    ("apps-primes", "Print how many primes are <= n.",
     {"inputs": ["10\n", "100\n", "2\n", "1000\n", "30000\n"], "outputs": ["4\n", "25\n", "1\n", "168\n", "3245\n"]},
     None,
     "n = int(input())\nsieve = bytearray([1]) * (n + 1)\nsieve[:2] = b'\\x00\\x00'\n"
     "for i in range(2, int(n ** 0.5) + 1):\n    if sieve[i]:\n"
     "        sieve[i * i::i] = bytearray(len(range(i * i, n + 1, i)))\nprint(sum(sieve))\n",
     "n = int(input())\ncount = 0\nfor k in range(2, n):\n"
     "    if all(k % d for d in range(2, int(k ** 0.5) + 1)):\n        count += 1\nprint(count)\n"),
    ("apps-kadane", "Read n and n integers; print the largest sum of a non-empty contiguous subarray.",
     {"inputs": ["5\n-2 1 -3 4 -1\n", "3\n-1 -2 -3\n", "8\n-2 -3 4 -1 -2 1 5 -3\n", "1\n7\n"],
      "outputs": ["4\n", "-1\n", "7\n", "7\n"]}, None,
     "input()\nbest, run = None, 0\nfor x in map(int, input().split()):\n    run = max(x, run + x)\n"
     "    best = run if best is None else max(best, run)\nprint(best)\n",
     "input()\nbest = run = 0\nfor x in map(int, input().split()):\n    run = max(0, run + x)\n"
     "    best = max(best, run)\nprint(best)\n"),
    ("apps-palindromes", "Read t and t words; print YES for each palindrome, else NO.",
     {"inputs": ["3\nabba\nabc\nx\n", "2\nracecar\nab\n", "1\nzz\n"],
      "outputs": ["YES\nNO\nYES\n", "YES\nNO\n", "YES\n"]}, None,
     "t = int(input())\nfor _ in range(t):\n    w = input().strip()\n    print('YES' if w == w[::-1] else 'NO')\n",
     "t = int(input())\nfor _ in range(t):\n    w = input().strip()\n    print('YES' if len(w) > 1 and w == w[::-1] else 'NO')\n"),
    ("apps-fib", "Print the n-th Fibonacci number modulo 1000000007 (F(0) = 0).",
     {"inputs": ["0\n", "1\n", "10\n", "90\n", "100000\n"],
      "outputs": ["0\n", "1\n", "55\n", "210345902\n", "911435502\n"]}, None,
     "n = int(input())\na, b = 0, 1\nfor _ in range(n):\n    a, b = b, (a + b) % 1000000007\nprint(a)\n",
     "n = int(input())\na, b = 0, 1\nfor _ in range(n):\n    a, b = b, a + b\nprint(a % 1000000007 if n < 50 else a)\n"),
]

CALL_PROBLEMS: list[tuple[str, str, dict[str, Any], str | None, str, str]] = [
    ("lc-two-sum", "Return the indices of the two numbers that add up to target.",
     {"fn_name": "twoSum", "inputs": [[[2, 7, 11, 15], 9], [[3, 2, 4], 6], [[3, 3], 6], [[1, 5, 8, 12], 20]],
      "outputs": [[0, 1], [1, 2], [0, 1], [2, 3]]},
     "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n",
     "from typing import List\n\nclass Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
     "        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n"
     "                return [seen[target - x], i]\n            seen[x] = i\n        return []\n",
     "from typing import List\n\nclass Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
     "        for i in range(len(nums)):\n            for j in range(i, len(nums)):\n"
     "                if nums[i] + nums[j] == target:\n                    return [i, j]\n        return []\n"),
    ("lc-climb", "In how many distinct ways can you climb n stairs taking 1 or 2 steps?",
     {"fn_name": "climbStairs", "inputs": [[1], [2], [5], [30], [45]], "outputs": [1, 2, 8, 1346269, 1836311903]},
     "class Solution:\n    def climbStairs(self, n: int) -> int:\n",
     "class Solution:\n    def climbStairs(self, n: int) -> int:\n        a, b = 1, 1\n"
     "        for _ in range(n):\n            a, b = b, a + b\n        return a\n",
     "class Solution:\n    def climbStairs(self, n: int) -> int:\n        return n if n < 4 else 2 * n - 2\n"),
    ("taco-anagram", "Return whether s and t are anagrams.",
     {"fn_name": "is_anagram", "inputs": [["listen", "silent"], ["rat", "car"], ["", ""], ["aab", "abb"]],
      "outputs": [True, False, True, False]}, None,
     "def is_anagram(s, t):\n    return sorted(s) == sorted(t)\n",
     "def is_anagram(s, t):\n    return set(s) == set(t)\n"),
    ("taco-merge", "Merge overlapping intervals; return them sorted.",
     {"fn_name": "merge", "inputs": [[[[1, 3], [2, 6], [8, 10]]], [[[1, 4], [4, 5]]], [[[5, 6], [1, 2]]]],
      "outputs": [[[1, 6], [8, 10]], [[1, 5]], [[1, 2], [5, 6]]]}, None,
     "def merge(intervals):\n    out = []\n    for lo, hi in sorted(intervals):\n"
     "        if out and lo <= out[-1][1]:\n            out[-1][1] = max(out[-1][1], hi)\n"
     "        else:\n            out.append([lo, hi])\n    return out\n",
     "def merge(intervals):\n    out = []\n    for lo, hi in intervals:\n"
     "        if out and lo < out[-1][1]:\n            out[-1][1] = hi\n        else:\n            out.append([lo, hi])\n"
     "    return out\n"),
]


# --------------------------------------------------------------------------------------------------
# The batch


@dataclass
class Batch:
    """One reward call's worth: what TRL passes, and what the baselines read."""

    prompts: list[list[dict[str, str]]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # each completion's content
    columns: dict[str, list[Any]] = field(default_factory=lambda: {c: [] for c in COLUMNS})
    kinds: list[str] = field(default_factory=list)  # right | wrong | unclosed | unboxed; assert | stdio | call

    def add(self, row: dict[str, Any], text: str, kind: str) -> None:
        self.prompts.append([{"role": "user", "content": row["problem"]}])
        self.texts.append(text)
        for column in COLUMNS:
            self.columns[column].append(row.get(column))
        self.kinds.append(kind)

    def __len__(self) -> int:
        return len(self.texts)

    def __add__(self, other: Batch) -> Batch:
        return Batch(self.prompts + other.prompts, self.texts + other.texts,
                     {c: self.columns[c] + other.columns[c] for c in COLUMNS}, self.kinds + other.kinds)

    @property
    def completions(self) -> list[list[dict[str, str]]]:
        return [[{"role": "assistant", "content": text}] for text in self.texts]


def _wrong_answer(gold: str) -> str:
    if re.fullmatch(r"-?\d+", gold.strip()):
        return str(int(gold) + 1)
    return f"{gold} + 1"


def math_batch(n: int, group: int, step: int) -> Batch:
    """`n` completions, `group` per MATH500 problem, from the problems of GRPO step `step`."""
    problems = load_benchmark("math500")
    prompts = -(-n // group)
    batch = Batch()
    for p in range(prompts):
        row = problems[(step * prompts + p) % len(problems)]
        gold, reasoning = row["ground_truth_answer"], row["ground_truth_solution"]
        for _ in range(min(group, n - len(batch))):
            slot = len(batch) % 8  # of every 8 completions: 4 right, 3 wrong, 1 unclosed or unboxed
            if slot == 7 and len(batch) % 16 == 15:
                batch.add(row, f"<think>\nLet me work it out.\n{reasoning}\nHmm, let me double-check", "unclosed")
            elif slot == 7:
                batch.add(row, f"<think>\n{reasoning}\n</think>\n\nThe answer is {gold}.", "unboxed")
            elif slot in (1, 3, 5):
                batch.add(row, f"<think>\n{reasoning}\nWait, that slipped.\n</think>\n\n"
                               f"So the final answer is $\\boxed{{{_wrong_answer(gold)}}}$.", "wrong")
            else:
                batch.add(row, f"<think>\n{reasoning}\n</think>\n\nSo the final answer is $\\boxed{{{gold}}}$.",
                          "right")
    return batch


def _code_text(code: str) -> str:
    return f"<think>\nI read the task and write a solution.\n</think>\n\n```python\n{code.rstrip()}\n```"


HANG = "while True:\n    pass\n"  # a completion that never ends: each side cuts it at the per-test limit


def code_batch(n: int, group: int, step: int, hanging: int = 0) -> Batch:
    """`n` completions, `group` per problem: HumanEval (half the prompts), stdin/stdout and call-based ones
    (a quarter each); in each group about two thirds right, a third wrong; `hanging` of them, spread evenly,
    replaced by a program that never ends."""
    humaneval = load_benchmark("humaneval")
    prompts = -(-n // group)
    batch = Batch()
    counters = {"assert": itertools.count(step * prompts), "stdio": itertools.count(step * prompts),
                "call": itertools.count(step * prompts)}
    for p in range(prompts):
        form = ("assert", "stdio", "assert", "call")[p % 4]
        k = next(counters[form])
        if form == "assert":
            row = humaneval[k % len(humaneval)]
            right = row["ground_truth_solution"]
            wrong = row["starter_code"].rstrip() + "\n    return None\n"
        else:
            pid, statement, tests, starter, right, wrong = (STDIO_PROBLEMS if form == "stdio" else CALL_PROBLEMS)[
                k % len(STDIO_PROBLEMS if form == "stdio" else CALL_PROBLEMS)]
            row = {"problem_id": pid, "problem": statement, "domain": "code", "test_cases": json.dumps(tests),
                   "starter_code": starter}
        for j in range(min(group, n - len(batch))):
            batch.add(row, _code_text(wrong if j % 3 == 2 else right), form)
    for k in range(min(hanging, n)):
        batch.texts[(2 * k + 1) * n // (2 * hanging)] = _code_text(HANG)
    return batch


def mixed_batch(math: Batch, code: Batch, group: int) -> Batch:
    """Both batches in one, their prompt groups interleaved (a GRPO step on a math + code mixture)."""
    mixed = Batch()
    parts = [_groups(math, group), _groups(code, group)]
    for pair in itertools.zip_longest(*parts):
        for part in pair:
            if part is not None:
                mixed = mixed + part
    return mixed


def _groups(batch: Batch, group: int) -> list[Batch]:
    return [_select(batch, range(i, min(i + group, len(batch)))) for i in range(0, len(batch), group)]


def _select(batch: Batch, indices: Any) -> Batch:
    part = Batch()
    for i in indices:
        part.prompts.append(batch.prompts[i])
        part.texts.append(batch.texts[i])
        for column in COLUMNS:
            part.columns[column].append(batch.columns[column][i])
        part.kinds.append(batch.kinds[i])
    return part


# --------------------------------------------------------------------------------------------------
# The kit side


def _ignore(*args: Any) -> None:
    pass


def kit_call(reward: Callable[..., list[float | None]], batch: Batch) -> int:
    """The reward as GRPOTrainer (TRL 1.x `_calculate_rewards`) calls it; the number of completions that scored 1."""
    scores = reward(prompts=batch.prompts, completions=batch.completions,
                    completion_ids=[[0] * len(text.split()) for text in batch.texts], **batch.columns,
                    trainer_state=None, log_extra=_ignore, log_metric=_ignore)
    return sum(1 for s in scores if s == 1.0)


# --------------------------------------------------------------------------------------------------
# The math baseline: a plain in-process loop


def plain_math(batch: Batch) -> int:
    passed = 0
    for text, gold in zip(batch.texts, batch.columns["ground_truth_answer"], strict=True):
        predicted = extract_boxed(text) or ""
        gold_parsed = parse("\\boxed{" + gold + "}", parsing_timeout=None)
        passed += bool(verify(gold_parsed, parse("\\boxed{" + predicted + "}", parsing_timeout=None),
                              timeout_seconds=None))
    return passed


# --------------------------------------------------------------------------------------------------
# The code baseline: lean, unisolated, one process per test


@dataclass
class Test:
    sample: int
    mode: str  # stdio | call | assert
    code: str
    stdin: str = ""
    expected: Any = None
    fn_name: str | None = None
    test_code: str | None = None
    entry_point: str | None = None


def lean_tests(batch: Batch) -> list[Test]:
    """Every test of every completion (a completion without a python block has none and fails)."""
    tests = []
    for i, (text, raw) in enumerate(zip(batch.texts, batch.columns["test_cases"], strict=True)):
        code = extract_code(text)
        if code is None:
            continue
        spec = json.loads(raw)
        if "test_code" in spec:
            tests.append(Test(i, "assert", code, test_code=spec["test_code"], entry_point=spec["entry_point"]))
        elif spec.get("fn_name"):
            tests += [Test(i, "call", code, json.dumps(args), out, fn_name=spec["fn_name"])
                      for args, out in zip(spec["inputs"], spec["outputs"], strict=True)]
        else:
            tests += [Test(i, "stdio", code, stdin, out) for stdin, out in zip(spec["inputs"], spec["outputs"],
                                                                               strict=True)]
    return tests


def _run_in_child(test: Test) -> None:
    """The forked test process: run the test, exit 0 when it ran to its end."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    try:
        exec(compile(test.code, "<solution>", "exec"), namespace)
    except SystemExit as exc:
        if test.mode != "stdio" or exc.code not in (None, 0):
            raise
    if test.mode == "call":
        fn = namespace.get(test.fn_name)
        if fn is None:
            fn = getattr(namespace["Solution"](), test.fn_name)
        args = json.loads(test.stdin)
        sys.stdout.write(json.dumps(fn(*args) if isinstance(args, list) else fn(args)))
    elif test.mode == "assert":
        exec(compile(test.test_code, "<tests>", "exec"), namespace)
        namespace["check"](namespace[test.entry_point])


def _judge(test: Test, status: int | None, output: str) -> bool:
    if status is None or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return False
    if test.mode == "stdio":
        return output.split() == test.expected.split()
    if test.mode == "call":
        try:
            value = json.loads(output)
        except ValueError:
            return False
        expected = test.expected
        return value == expected or (isinstance(expected, list) and len(expected) == 1 and value == expected[0])
    return True


def lean_loop(tests: list[Test], workers: int, timeout_s: float) -> list[int]:
    """Run `tests` in processes forked from this one; the samples that failed a test.

    Shaped like the kit's code path without its isolation: `workers` samples at a time, the tests of a sample
    one after the other (the next one forked when the last one ended), each test in a fresh process limited to
    `timeout_s`; after a timeout the sample's other tests are skipped (they would cost the same)."""
    samples: deque[deque[Test]] = deque()
    for test in tests:
        if not samples or samples[-1][0].sample != test.sample:
            samples.append(deque())
        samples[-1].append(test)
    failed: set[int] = set()
    running: dict[int, tuple[int, Test, int, float, deque[Test]]] = {}  # pidfd -> (pid, test, slot, deadline, rest)
    free = list(range(workers))
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # memory-backed, like the sandbox's /tmp
    with tempfile.TemporaryDirectory(prefix="lean-", dir=shm) as tmp:

        def start(rest: deque[Test], slot: int) -> None:
            test = rest.popleft()
            stdin, stdout = os.path.join(tmp, f"{slot}.in"), os.path.join(tmp, f"{slot}.out")
            with open(stdin, "w", encoding="utf-8") as fh:
                fh.write(test.stdin if test.mode == "stdio" else "")
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the test process
                code = 1
                try:
                    os.dup2(os.open(stdin, os.O_RDONLY), 0)
                    os.dup2(os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
                    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
                    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
                    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                    _run_in_child(test)
                    sys.stdout.flush()
                    code = 0
                except BaseException:  # noqa: BLE001, S110 - any failure fails the test
                    pass
                finally:
                    os._exit(code)
            running[os.pidfd_open(pid)] = (pid, test, slot, time.monotonic() + timeout_s, rest)

        while samples or running:
            while samples and free:
                start(samples.popleft(), free.pop())
            nearest = min(entry[3] for entry in running.values())
            ready, _, _ = select.select(list(running), [], [], max(0.0, nearest - time.monotonic()))
            now = time.monotonic()
            for pidfd in list(running):
                pid, test, slot, deadline, rest = running[pidfd]
                if pidfd not in ready and now < deadline:
                    continue
                del running[pidfd]
                if pidfd not in ready:  # out of time: the sample's other tests are skipped
                    os.kill(pid, signal.SIGKILL)
                    rest.clear()
                status = os.waitpid(pid, 0)[1]
                os.close(pidfd)
                output = ""
                if pidfd in ready:
                    with open(os.path.join(tmp, f"{slot}.out"), encoding="utf-8", errors="replace") as fh:
                        output = fh.read()
                if not _judge(test, status if pidfd in ready else None, output):
                    failed.add(test.sample)
                if rest:
                    start(rest, slot)
                else:
                    free.append(slot)
    return sorted(failed)


def lean_fork(batch: Batch, workers: int, timeout_s: float) -> int:
    """Each test in a process forked from this one (as a reward function in the trainer would fork); the
    completions whose tests all pass."""
    return _passed(batch, lean_loop(lean_tests(batch), workers, timeout_s))


def _passed(batch: Batch, failed: list[int]) -> int:
    """How many completions passed: those with a python block (`lean_tests` gives the others no test) whose
    tests all passed."""
    return len(batch) - len(set(failed) | {i for i, text in enumerate(batch.texts) if extract_code(text) is None})


# The same loop in a small helper process (the stdlib, the modules the kit's harness preloads, and the
# functions above), started once per run: forking it costs what forking a fresh interpreter costs, whatever
# the size of this process. It reads one JSON request per line and answers with the failed samples.
_HELPER_MAIN = """
for _name in PRELOADED:
    __import__(_name)
for _line in sys.stdin:
    _request = json.loads(_line)
    _failed = lean_loop([Test(**t) for t in _request["tests"]], _request["workers"], _request["timeout_s"])
    sys.stdout.write(json.dumps(_failed) + "\\n")
    sys.stdout.flush()
"""


class LeanHelper:
    """`lean_loop` in a small helper process (see `_HELPER_MAIN`)."""

    _proc: subprocess.Popen[str] | None = None

    @classmethod
    def run(cls, batch: Batch, workers: int, timeout_s: float) -> int:
        if cls._proc is None or cls._proc.poll() is not None:
            from kit.sandbox.harness import PRELOADED

            source = "\n\n".join([
                "from __future__ import annotations",
                "import json, os, select, signal, sys, tempfile, time\nfrom collections import deque\n"
                "from dataclasses import dataclass\nfrom typing import Any",
                f"PRELOADED = {PRELOADED!r}",
                *(inspect.getsource(obj) for obj in (Test, _run_in_child, _judge, lean_loop)), _HELPER_MAIN])
            cls._proc = subprocess.Popen([sys.executable, "-I", "-c", source], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)
        tests = [dataclasses.asdict(t) for t in lean_tests(batch)]
        assert cls._proc.stdin and cls._proc.stdout
        cls._proc.stdin.write(json.dumps({"tests": tests, "workers": workers, "timeout_s": timeout_s}) + "\n")
        cls._proc.stdin.flush()
        return _passed(batch, json.loads(cls._proc.stdout.readline()))

    @classmethod
    def close(cls) -> None:
        if cls._proc is not None:
            cls._proc.stdin.close()  # type: ignore[union-attr]
            cls._proc.wait(10)
            cls._proc = None


_DRIVER = {  # appended to the program for `subprocess`: the call-based and assert forms
    "call": "\nimport json as _j, sys as _s\n_f = globals().get({fn!r}) or getattr(Solution(), {fn!r})\n"
            "_a = _j.loads(_s.stdin.read())\n_s.stdout.write(_j.dumps(_f(*_a) if isinstance(_a, list) else _f(_a)))\n",
    "assert": "\n{test_code}\ncheck({entry})\n",
}


def lean_subprocess(batch: Batch, workers: int, timeout_s: float) -> int:
    """Each test as `subprocess.run([sys.executable, file])`, a thread per worker; the completions that pass."""
    by_sample: dict[int, list[Test]] = {}
    for test in lean_tests(batch):
        by_sample.setdefault(test.sample, []).append(test)

    def run_sample(item: tuple[int, list[Test]]) -> bool:
        sample, tests = item
        ok = True
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        with tempfile.TemporaryDirectory(prefix="lean-", dir=shm) as tmp:
            path = os.path.join(tmp, "main.py")
            first = tests[0]
            driver = "" if first.mode == "stdio" else _DRIVER[first.mode].format(
                fn=first.fn_name, test_code=first.test_code, entry=first.entry_point)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(first.code + driver)
            for test in tests:
                try:
                    done = subprocess.run([sys.executable, path], input=test.stdin if test.mode != "assert" else "",
                                          capture_output=True, text=True, timeout=timeout_s, cwd=tmp, check=False)
                except subprocess.TimeoutExpired:  # the sample's other tests are skipped, as on the other sides
                    ok = False
                    break
                ok &= _judge(test, 0 if done.returncode == 0 else 256, done.stdout)
        return ok

    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(run_sample, by_sample.items()))


LEAN = {"fork": ("lean fork-per-test from this process", lean_fork),
        "forkserver": ("lean fork-per-test from a small helper process", LeanHelper.run),
        "subprocess": ("lean subprocess-per-test", lean_subprocess)}


# --------------------------------------------------------------------------------------------------
# Timing


@dataclass
class Side:
    name: str
    run: Callable[[Batch], int]
    times: list[float] = field(default_factory=list)
    passed: list[int] = field(default_factory=list)

    def timed(self, batch: Batch) -> None:
        start = time.perf_counter()
        self.passed.append(self.run(batch))
        self.times.append(time.perf_counter() - start)

    def rate(self, n: int) -> str:
        return f"{n / min(self.times):.1f}/s"


def compare(title: str, batches: list[Batch], kit: Side, others: list[Side]) -> dict[str, float]:
    """Alternating rounds (round r on batch r); prints the best-of rates and kit/other ratios."""
    for r, batch in enumerate(batches):
        order = [kit, *others] if r % 2 == 0 else [*others, kit]
        for side in order:
            side.timed(batch)
    n = len(batches[0])
    ratios = {}
    print(f"{title}: {n} completions per call, best of {len(batches)}")
    for side in (kit, *others):
        print(f"  {side.name}: {side.rate(n)}, {side.passed[-1]} of {n} passed; runs (s) "
              f"{[round(t, 2) for t in side.times]}")
    for other in others:
        best = min(other.times) / min(kit.times)
        medians = statistics.median(other.times) / statistics.median(kit.times)
        ratios[other.name] = best
        label = "plain" if other.name.startswith("plain") and "then" not in other.name else (
            "lean" if other.name.startswith("lean") else "baselines")
        print(f"  ratio kit/{label} {best:.2f}x (of medians {medians:.2f}x) vs {other.name}")
    return ratios


# --------------------------------------------------------------------------------------------------
# Profile: where one code call spends its time


def profile_code(reward: Callable[..., list[float | None]], batch: Batch, workers: int) -> None:
    """Time one code call request by request (patching `Sandbox.run` for the run) and cProfile the parent."""
    import kit.sandbox as sandbox_module

    original = sandbox_module.Sandbox.run
    requests: list[tuple[float, float, float, int]] = []  # (parent wall, server time, tests time, tests)
    lock = threading.Lock()

    def timed_run(self: Any, entry: str, payload: dict[str, Any], limits: Any = None) -> Any:
        start = time.perf_counter()
        result = original(self, entry, payload, limits)
        wall = time.perf_counter() - start
        tests = [r.get("time_s", 0.0) for r in result.records if isinstance(r.get("test"), int)]
        with lock:
            requests.append((wall, result.time_s, sum(tests), len(tests)))
        return result

    sandbox_module.Sandbox.run = timed_run  # type: ignore[method-assign]
    profiler = cProfile.Profile()
    try:
        cpu, start = time.process_time(), time.perf_counter()
        profiler.enable()
        kit_call(reward, batch)
        profiler.disable()
        call_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    finally:
        sandbox_module.Sandbox.run = original  # type: ignore[method-assign]
    n = max(len(requests), 1)
    wall, server, tests = (sum(r[i] for r in requests) for i in range(3))
    count = sum(r[3] for r in requests)
    print(f"profile: one code call, {len(batch)} completions, {len(requests)} sandbox requests, {count} test "
          f"processes, {call_s:.2f} s wall on {workers} sandboxes ({call_s / len(batch) * 1000:.2f} ms per completion)\n"
          f"  per request, wall ms: round trip {wall / n * 1000:.2f} = test processes {tests / n * 1000:.2f} "
          f"({count / n:.1f} per request, {tests / max(count, 1) * 1000:.2f} each, fork to reaped) + the server "
          f"around them {(server - tests) / n * 1000:.2f} (working folder, harness, records) + protocol, JSON and "
          f"the wait for the server's clean-up after its last reply {(wall - server) / n * 1000:.2f}\n"
          f"  this process (routing, JSON, judging; all its threads): {cpu_s / len(batch) * 1000:.2f} CPU ms per "
          f"completion; its cProfile, by own time:")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(6)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    for line in lines[next(i for i, line in enumerate(lines) if "ncalls" in line):]:
        print("    " + line.strip())


# --------------------------------------------------------------------------------------------------


def isolation_of(reward: Any, batch: Batch) -> str:
    verdicts = reward.verdicts(batch.prompts, batch.completions, **batch.columns)
    modes = {v.detail.get("isolation") for v in verdicts if v.verifier == "sandbox"}
    modes.discard(None)
    return ",".join(sorted(modes)) or "unknown"


def _rss_mb() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            return next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError):
        return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--math", type=int, default=256, help="math completions per call (default 256)")
    parser.add_argument("--code", type=int, default=256, help="code completions per call (default 256)")
    parser.add_argument("--group", type=int, default=8, help="completions per prompt (default 8)")
    parser.add_argument("--workers", type=int, default=None, help="verifier workers (default: the CPUs)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per comparison (default 3)")
    parser.add_argument("--lean", default="forkserver,fork",
                        help="code baselines, comma-separated, the first one the headline: forkserver, fork, "
                             "subprocess (default: forkserver,fork)")
    parser.add_argument("--hanging", type=int, default=0,
                        help="code completions per call that never end (cut at the per-test limit; default 0)")
    parser.add_argument("--no-mixed", action="store_true", help="skip the mixed (math + code in one call) rounds")
    parser.add_argument("--profile", action="store_true", help="then profile one code call")
    parser.add_argument("--tiny", action="store_true", help="16 + 16 completions, 4 per prompt, 1 round, no mixed "
                                                            "rounds (the test's mode)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.math, args.code, args.group, args.repeats, args.no_mixed = 16, 16, 4, 1, True
    if min(args.math, args.code, args.group, args.repeats) < 1 or args.hanging < 0:
        parser.error("--math, --code, --group and --repeats must be >= 1, --hanging >= 0")
    leans = [name.strip() for name in args.lean.split(",") if name.strip()]
    if not leans or any(name not in LEAN for name in leans):
        parser.error(f"--lean takes {', '.join(LEAN)} (comma-separated), got {args.lean!r}")
    workers = args.workers or cpu_count()
    cfg = VerifyConfig(workers=workers)
    test_timeout = cfg.code.test_timeout_s
    steps = itertools.count()

    def batches(n_math: int, n_code: int) -> Batch:
        step = next(steps)  # every call gets new prompts
        math = math_batch(n_math, args.group, step) if n_math else Batch()
        code = code_batch(n_code, args.group, step, args.hanging) if n_code else Batch()
        return mixed_batch(math, code, args.group)

    funcs, _ = make_rewards([RewardConfig(name="accuracy")], cfg)
    reward = funcs[0]
    try:
        warm = batches(args.math, args.code)
        start = time.perf_counter()
        kit_call(reward, warm)  # cold: starts the Math-Verify workers and the sandboxes
        cold_s = time.perf_counter() - start
        isolation = isolation_of(reward, warm)  # the verdicts of that call, kept by the scorer
        warm = batches(args.math, args.code)
        start = time.perf_counter()
        kit_call(reward, warm)
        warm_s = time.perf_counter() - start
        plain_math(_part(warm, "math"))  # the baselines' warm-up (imports, ANTLR's cache, the helper process)
        for name in leans:
            LEAN[name][1](_part(warm, "code"), workers, test_timeout)

        print(f"reward throughput: kit.train.rewards accuracy, called as GRPOTrainer calls it, on one step's batch "
              f"({args.math} math + {args.code} code completions, {args.group} per prompt"
              + (f", {args.hanging} code completions that never end" if args.hanging else "") + ")")
        print(f"machine: {cpu_count()} CPUs (load {os.getloadavg()[0]:.2f} before timing), Python "
              f"{sys.version.split()[0]}, {workers} verifier workers, sandbox isolation: {isolation}; CPU only (no GPU)")
        print(f"cold start: first call {cold_s:.2f} s (starts {workers} Math-Verify workers and {workers} sandboxes), "
              f"a warm call {warm_s:.2f} s: start-up about {max(0.0, cold_s - warm_s):.2f} s, once per run")

        kit = "kit"
        math_ratios = compare(
            "math", [batches(args.math, 0) for _ in range(3 * args.repeats)],  # short calls: more rounds
            Side(kit, lambda b: kit_call(reward, b)),
            [Side("plain in-process Math-Verify loop (1 core, no time limits)", plain_math)])
        print("  (scored differently: the kit scores an unclosed <think> 0 and reads an unboxed final answer; "
              "the plain loop reads the last box anywhere)")
        names = {"fork": f"{LEAN['fork'][0]} ({_rss_mb()} MB)"}
        code_sides = [Side(f"{names.get(name, LEAN[name][0])}, {workers} at a time, no isolation",
                           lambda b, run=LEAN[name][1]: run(b, workers, test_timeout)) for name in leans]
        code_ratios = compare(
            "code", [batches(0, args.code) for _ in range(args.repeats)],
            Side(f"kit ({isolation} sandbox)", lambda b: kit_call(reward, b)), code_sides)
        if not args.no_mixed:
            lean = LEAN[leans[0]][1]
            compare("mixed (math and code prompt groups interleaved, one call)",
                    [batches(args.math, args.code) for _ in range(args.repeats)],
                    Side(kit, lambda b: kit_call(reward, b)),
                    [Side(f"plain loop then {leans[0]}",
                          lambda b: plain_math(_part(b, "math")) + lean(_part(b, "code"), workers, test_timeout))])
        math_ratio, code_ratio = next(iter(math_ratios.values())), code_ratios[code_sides[0].name]
        met = "met" if code_ratio >= GOAL and isolation == "bwrap" else "NOT met"
        print(f"result: math kit/plain {math_ratio:.2f}x; code kit/lean {code_ratio:.2f}x "
              f"(vs {code_sides[0].name}; {isolation})")
        print(f"goal: code kit/lean >= {GOAL:.1f} while isolated (bwrap): {met} here ({cpu_count()} CPUs); "
              f"before: {BEFORE}")
        if args.profile:
            profile_code(reward, batches(0, args.code), workers)
    finally:
        close_rewards(funcs)
        LeanHelper.close()


def _part(batch: Batch, domain: str) -> Batch:
    return _select(batch, [i for i, d in enumerate(batch.columns["domain"]) if d == domain])


if __name__ == "__main__":
    main()
