"""The GRPO rewards (kit.train.rewards) with the real verifiers: math, code in its four test forms, multiple
choice, routing, hostile and hanging code, failures that score 0, picklability, and the shaping rewards."""

from __future__ import annotations

import json
import logging
import math
import pickle
import secrets
import subprocess
import sys
import time

import pytest

from kit.recipes import RecipeError, VerifyConfig
from kit.recipes.train import RewardConfig
from kit.sandbox import bwrap_available
from kit.train.rewards import (
    REWARDS,
    Accuracy,
    Boxed,
    Format,
    Length,
    Overlong,
    Repetition,
    Scorer,
    close_rewards,
    make_rewards,
)
from kit.verify.math import GRACE_S

CANARY = "hf_canary" + secrets.token_hex(12)
CFG = VerifyConfig(workers=2, math={"timeout_s": 2},
                   code={"test_timeout_s": 1, "sample_timeout_s": 3, "memory_mb": 512})
COLUMNS = ("problem", "domain", "ground_truth_answer", "ground_truth_solution", "test_cases", "starter_code",
           "verifier")

needs_bwrap = pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def canary():
    """HF_TOKEN set to a random canary before any sandbox starts."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_TOKEN", CANARY)
        yield CANARY


@pytest.fixture(scope="module")
def rewards(canary):
    """accuracy and length from one make_rewards call (one shared Scorer), started once for the module."""
    funcs, _ = make_rewards([RewardConfig(name="accuracy"), RewardConfig(name="length")], CFG)
    yield dict(zip(("accuracy", "length"), funcs, strict=True))
    close_rewards(funcs)


def message(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def batch(cases: list[tuple]) -> tuple[list, dict[str, list]]:
    """(completions, reward columns) of cases (completion, row, ...), as TRL passes them: a text is one
    assistant message, a text marked "str:" a plain string completion."""
    completions = [c[0][4:] if c[0].startswith("str:") else message(c[0]) for c in cases]
    columns = {column: [case[1].get(column) for case in cases] for column in COLUMNS}
    return completions, columns


def score(reward, cases: list[tuple], **extra) -> tuple[list, list]:
    completions, columns = batch(cases)
    scores = reward(prompts=[[{"role": "user", "content": "q"}]] * len(cases), completions=completions,
                    **columns, **extra)
    verdicts = reward.verdicts(None, completions, **columns) if isinstance(reward, Accuracy) else []
    return scores, verdicts


def check(cases: list[tuple], scores: list, verdicts: list) -> None:
    """Each case (completion, row, score, reason, name) scored as expected."""
    wrong = [(case[4], s, v.reason, v.detail) for case, s, v in zip(cases, scores, verdicts, strict=True)
             if s != case[2] or v.reason != case[3]]
    assert not wrong, wrong


# -- accuracy: what the verifiers say --------------------------------------------------------------

MATH = {"problem": "What is 9 + 9?", "domain": "math", "ground_truth_answer": "18"}
GSM8K = {"problem": "What is 9 + 9?", "domain": "math", "ground_truth_solution": "9 + 9 = 18\n#### 18"}
HALF = {"problem": "What is 1/2?", "domain": "math", "ground_truth_answer": "\\frac{1}{2}"}
NO_GOLD = {"problem": "What is 9 + 9?", "domain": "math"}
STDIO = {"inputs": ["1 2\n", "10 -3\n"], "outputs": ["3\n", "7\n"]}
CALL = {"fn_name": "add", "inputs": [[1, 2], [10, -3]], "outputs": [3, 7]}
ASSERT = {"test_code": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(10, -3) == 7\n",
          "entry_point": "add"}
PYTEST = {"test_code": "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n    assert add(10, -3) == 7\n"}


def code_row(tests: dict | str, starter: str | None = None) -> dict:
    return {"problem": "Add two numbers.", "domain": "code", "starter_code": starter,
            "test_cases": tests if isinstance(tests, str) else json.dumps(tests)}


def code(source: str, reasoning: str = "Add them.") -> str:
    return f"<think>\n{reasoning}\n</think>\n\nHere it is.\n```python\n{source}\n```\n"


CHOICE = {"problem": "Which? (A) x (B) y (C) z (D) w", "domain": "science", "ground_truth_answer": "C",
          "verifier": "choice"}
SOLUTION_CLASS = "class Solution:\n    def add(self, a, b):\n"

ACCURACY_CASES = [
    # math: the kit's answer rule (the last box of the answer part, else Math-Verify's extraction)
    ("<think>\n9 + 9\n</think>\n\nSo the answer is \\boxed{18}.", MATH, 1.0, None, "math boxed"),
    ("<think>\n9 + 9\n</think>\n\nThe answer is 18.", MATH, 1.0, None, "math unboxed"),
    ("<think>\n9 + 9\n</think>\n\n\\boxed{17}", MATH, 0.0, "wrong_answer", "math boxed wrong"),
    ("<think>\n9 + 9\n</think>\n\nThe answer is 17.", MATH, 0.0, "wrong_answer", "math unboxed wrong"),
    ("<think>\nfirst \\boxed{18}\n</think>\n\n\\boxed{18}, no: \\boxed{17}", MATH, 0.0, "wrong_answer",
     "math last box counts"),
    ("<think>\nit is \\boxed{18}\n</think>\n\nI am not sure.", MATH, 0.0, "no_answer", "math box in reasoning only"),
    ("<think>\n9 + 9 = \\boxed{18}", MATH, 0.0, "unclosed_think", "math no closing think"),
    ("<think>\n9 + 9 = 18\n</think>\n\n", MATH, 0.0, "no_answer", "math empty answer"),
    ("<|begin_of_thought|>9 + 9<|end_of_thought|>\n<|begin_of_solution|>\\boxed{18", MATH, 0.0, "truncated",
     "math cut off (Sky-T1)"),
    ("<|begin_of_thought|>9 + 9<|end_of_thought|>\n<|begin_of_solution|>\\boxed{18}<|end_of_solution|>", MATH,
     1.0, None, "math Sky-T1"),
    ("9 + 9\n</think>\n\n\\boxed{18}", MATH, 1.0, None, "math think opened by the template"),
    ("str:<think>9 + 9</think>\\boxed{18}", MATH, 1.0, None, "math plain string completion"),
    ("", MATH, 0.0, "empty_reply", "math empty completion"),
    ("<think>\nadd\n</think>\n\n\\boxed{18}", GSM8K, 1.0, None, "math gold from #### line"),
    ("<think>\nhalve\n</think>\n\n\\boxed{0.5}", HALF, 1.0, None, "math equivalent answer"),
    ("<think>\nadd\n</think>\n\n\\boxed{18}", NO_GOLD, 0.0, "no_ground_truth", "math without gold"),
    # code: the four test forms
    (code("a, b = map(int, input().split())\nprint(a + b)"), code_row(STDIO), 1.0, None, "stdio right"),
    (code("print(3)"), code_row(STDIO), 0.0, "tests_failed", "stdio wrong"),
    (code("def add(a, b):\n    return a + b"), code_row(CALL), 1.0, None, "call right"),
    (code("class Solution:\n    def add(self, a, b):\n        return a + b"), code_row(CALL, SOLUTION_CLASS), 1.0,
     None, "call right (class Solution)"),
    (code("def add(a, b):\n    return a - b"), code_row(CALL), 0.0, "tests_failed", "call wrong"),
    (code("def add(a, b):\n    return a + b"), code_row(ASSERT), 1.0, None, "assert right"),
    (code("def add(a, b):\n    return a * b"), code_row(ASSERT), 0.0, "tests_failed", "assert wrong"),
    (code("def add(a, b):\n    return [][1]"), code_row(ASSERT), 0.0, "tests_failed", "assert crash"),
    (code("def add(a, b):\n    return a + b"), code_row(PYTEST), 1.0, None, "pytest module right"),
    (code("def add(a, b):\n    return a * b"), code_row(PYTEST), 0.0, "tests_failed", "pytest module wrong"),
    ("<think>\n```python\ndef add(a, b):\n    return a + b\n```\n</think>\n\nDone.", code_row(ASSERT), 0.0,
     "no_code", "code only in the reasoning"),
    ("<think>\nadd\n</think>\n\ndef add(a, b): return a + b", code_row(ASSERT), 0.0, "no_code", "no code block"),
    ("<think>\nadd\n```python\ndef add(a, b):\n    return a + b\n```", code_row(ASSERT), 0.0, "unclosed_think",
     "code no closing think"),
    (code("def add(a, b):\n    return a + b"), code_row("{not json"), 0.0, "invalid_test_cases",
     "invalid test_cases"),
    # multiple choice (a `verifier: choice` row)
    ("<think>\nz it is\n</think>\n\nThe answer is \\boxed{C}.", CHOICE, 1.0, None, "choice right"),
    ("<think>\nz it is\n</think>\n\nAnswer: C", CHOICE, 1.0, None, "choice unboxed right"),
    ("<think>\ny it is\n</think>\n\n\\boxed{B}", CHOICE, 0.0, "wrong_answer", "choice wrong"),
    ("<think>\nhmm\n</think>\n\nThe answer is A or C.", CHOICE, 0.0, "no_answer", "choice ambiguous"),
    ("<think>\nz it is\n\\boxed{C}", CHOICE, 0.0, "unclosed_think", "choice no closing think"),
    # routing by the `verifier` column: registry names, a kit metadata config's labels, none, unknown
    ("<think>\nadd\n</think>\n\n\\boxed{18}", {**MATH, "verifier": "math-verify"}, 1.0, None, "label math-verify"),
    ("<think>\nadd\n</think>\n\n\\boxed{18}", {**MATH, "verifier": "none"}, 1.0, None, "label none"),
    ("<think>\nadd\n</think>\n\n\\boxed{42}", {"domain": "science", "ground_truth_answer": "42", "verifier": "math"},
     1.0, None, "science row with verifier math"),
    (code("def add(a, b):\n    return a + b"), {**code_row(CALL), "verifier": "sandbox"}, 1.0, None,
     "label sandbox"),
    ("<think>\nwater\n</think>\n\nWater.", {"domain": "science", "ground_truth_answer": "water"}, 0.0,
     "unsupported_domain", "science without a verifier"),
    ("<think>\nwater\n</think>\n\nWater.", {"domain": "science", "ground_truth_answer": "water",
                                            "verifier": "llm-judge"}, 0.0, "unsupported_domain", "judged science"),
    ("<think>\nadd\n</think>\n\n\\boxed{18}", {**MATH, "verifier": "oracle"}, 0.0, "unknown_verifier",
     "unknown verifier"),
]


def test_accuracy_scores_as_the_verifiers_say(rewards, caplog):
    extra, metrics = {}, {}
    caplog.set_level(logging.INFO, logger="kit.train.rewards")
    scores, verdicts = score(rewards["accuracy"], ACCURACY_CASES,
                             log_extra=lambda column, values: extra.setdefault(column, values),
                             log_metric=lambda name, value: metrics.setdefault(name, value))
    check(ACCURACY_CASES, scores, verdicts)
    labels = {case[4]: v.verifier for case, v in zip(ACCURACY_CASES, verdicts, strict=True)}
    assert labels["math boxed"] == "math-verify" and labels["stdio right"] == "sandbox"
    assert labels["choice right"] == "choice" and labels["science row with verifier math"] == "math-verify"
    assert extra["accuracy_reason"] == [v.reason or "passed" for v in verdicts]
    unverifiable = sum(case[3] in ("no_ground_truth", "invalid_test_cases", "unsupported_domain", "unknown_verifier")
                       for case in ACCURACY_CASES)
    assert metrics["accuracy/unverifiable"] == pytest.approx(unverifiable / len(ACCURACY_CASES))
    # a science run without a verifier is visible: the reasons are counted and warned about
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("unsupported_domain 2" in w and "unknown_verifier 1" in w for w in warnings), warnings
    assert rewards["accuracy"].scorer.reasons["unsupported_domain"] >= 2


# -- hostile and hanging code ----------------------------------------------------------------------

FORK_BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
NETWORK = ("import socket\n\ndef add(a, b):\n    socket.create_connection(('1.1.1.1', 53), timeout=1).close()\n"
           "    return a + b")
TOKEN_CALL = "import os\n\ndef add(a, b):\n    print(os.environ['HF_TOKEN'])\n    return a + b"
TOKEN_STDIO = ("import os, sys\ntoken = os.environ.get('HF_TOKEN', '')\nprint(token, file=sys.stderr)\n"
               "a, b = map(int, input().split())\nprint(token)\nif token:\n    print(a + b)")
TOKEN_FILE = ("import os\n\ndef add(a, b):\n    path = os.path.expanduser('~/.cache/huggingface/token')\n"
              "    print(os.environ.get('HF_TOKEN') or open(path).read())\n    return a + b")


@needs_bwrap
def test_hostile_code_scores_zero_and_harms_nothing(rewards, canary, caplog):
    caplog.set_level(logging.DEBUG)
    cases = [
        ("<think>\nadd\n</think>\n\n\\boxed{18}", MATH, 1.0, None, "math right"),
        (code(FORK_BOMB), code_row(STDIO), 0.0, "tests_failed", "fork bomb"),
        (code(NETWORK), code_row(CALL), 0.0, "tests_failed", "network"),
        (code(TOKEN_CALL), code_row(CALL), 0.0, "tests_failed", "HF_TOKEN, call-based"),
        (code(TOKEN_STDIO), code_row(STDIO), 0.0, "tests_failed", "HF_TOKEN, stdin/stdout"),
        (code(TOKEN_FILE), code_row(CALL), 0.0, "tests_failed", "token file"),
        (code("def add(a, b):\n    return a + b"), code_row(ASSERT), 1.0, None, "code right"),
    ]
    extra = {}
    scores, verdicts = score(rewards["accuracy"], cases, log_extra=lambda c, v: extra.setdefault(c, v))
    check(cases, scores, verdicts)
    assert all(v.detail.get("isolation") == "bwrap" for v in verdicts if v.verifier == "sandbox")
    first = [v.detail["failures"][0] for v in verdicts[1:6]]  # each failed because the attack did
    assert first[0]["reason"] == "timeout"
    assert first[1]["detail"].startswith("OSError") and first[2]["detail"].startswith("KeyError")
    assert first[3]["reason"] == "wrong_answer" and first[4]["detail"].startswith("FileNotFoundError")
    assert CANARY not in "".join(v.to_json() for v in verdicts) + caplog.text + json.dumps(extra)
    # the machine still forks, and the sandbox still runs code
    forks = subprocess.run([sys.executable, "-c", "import os\nfor _ in range(20):\n    pid = os.fork()\n"
                            "    if pid == 0:\n        os._exit(0)\n    os.waitpid(pid, 0)\nprint('ok')"],
                           capture_output=True, text=True, timeout=30)
    assert forks.stdout == "ok\n"
    again, _ = score(rewards["accuracy"], [cases[-1]])
    assert again == [1.0]


def test_a_hanging_completion_is_cut_at_its_limit(rewards):
    cases = [
        (code("while True:\n    pass"), code_row(STDIO), 0.0, "tests_failed", "hanging stdin/stdout"),
        (code("def add(a, b):\n    while True:\n        pass"), code_row(CALL), 0.0, "tests_failed", "hanging call"),
        (code("a, b = map(int, input().split())\nprint(a + b)"), code_row(STDIO), 1.0, None, "stdio right"),
        (code("def add(a, b):\n    return a + b"), code_row(ASSERT), 1.0, None, "assert right"),
        (code("def add(a, b):\n    return a - b"), code_row(ASSERT), 0.0, "tests_failed", "assert wrong"),
        ("<think>\nadd\n</think>\n\n\\boxed{18}", MATH, 1.0, None, "math right"),
        ("<think>\nadd\n</think>\n\n\\boxed{17}", MATH, 0.0, "wrong_answer", "math wrong"),
    ]
    score(rewards["accuracy"], cases[2:4])  # the verifiers are up: what is timed is the call itself
    n_code, n_math, workers = 5, 2, CFG.workers
    bound = (math.ceil(n_code / workers) * (CFG.code.sample_timeout_s + 1.0)
             + math.ceil(n_math / workers) * (CFG.math.timeout_s + GRACE_S))
    started = time.monotonic()
    scores, verdicts = score(rewards["accuracy"], cases)
    elapsed = time.monotonic() - started
    check(cases, scores, verdicts)
    assert elapsed < bound, (elapsed, bound)
    for verdict in verdicts[:2]:
        assert verdict.detail["failures"][0]["reason"] == "timeout"


def test_a_broken_verifier_scores_zero_and_recovers(canary, caplog, monkeypatch):
    accuracy = Accuracy(scorer=Scorer(CFG))
    cases = [(code("def add(a, b):\n    return a + b"), code_row(CALL), 0.0, "verifier_error", "code"),
             ("<think>\nadd\n</think>\n\n\\boxed{18}", MATH, 0.0, "verifier_error", "math")]
    try:
        monkeypatch.setenv("KIT_SANDBOX_ISOLATION", "no-such-isolation")  # the sandbox refuses to start
        with caplog.at_level(logging.ERROR, logger="kit.train.rewards"):
            scores, verdicts = score(accuracy, cases)
        check(cases, scores, verdicts)
        assert "the verifiers failed on a batch of 2 completions (SandboxError" in caplog.text
        monkeypatch.delenv("KIT_SANDBOX_ISOLATION")
        scores, _ = score(accuracy, cases)
        assert scores == [1.0, 1.0]
    finally:
        accuracy.close()


def test_a_completion_after_a_generation_prompt_that_opened_think(canary):
    """DeepSeek-R1-Distill's and Qwen3's templates end the generation prompt with `<think>\\n`, which TRL leaves out of
    the completion: reasoning that never closes is unclosed (0), not an answer; a closed one reads as usual."""
    opened, plain = (make_rewards([RewardConfig(name="accuracy"), RewardConfig(name="format")], CFG, opened=opener)[0]
                     for opener in ("<think>", None))
    rambling = "Let me add 9 and 9. So the answer is \\boxed{18}. Let me double-check: 9+9"
    closed = "Let me add 9 and 9.\n</think>\n\nSo the answer is \\boxed{18}."
    try:
        cases = [(rambling, MATH), (closed, MATH), ("str:" + rambling, MATH), ("<think>\nx\n</think>\n\\boxed{18}", MATH)]
        assert [score(f, cases)[0] for f in opened] == [[0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0]]
        assert [score(f, cases)[0] for f in plain] == [[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]]  # a bare close
        assert opened[0].verdicts(None, [rambling], **batch([(rambling, MATH)])[1])[0].reason == "unclosed_think"
    finally:
        close_rewards([*opened, *plain])


def test_length_gives_a_completion_the_verifiers_failed_on_zero(canary, monkeypatch):
    """A verifier failure is no wrong answer: the length reward must not push such completions to be longer."""
    funcs, _ = make_rewards([RewardConfig(name="accuracy"), RewardConfig(name="length")], CFG)
    cases = [(code("def add(a, b):\n    return a + b"), code_row(CALL))]
    try:
        monkeypatch.setenv("KIT_SANDBOX_ISOLATION", "no-such-isolation")  # the sandbox refuses to start
        assert [score(f, cases)[0] for f in funcs] == [[0.0], [0.0]]
    finally:
        close_rewards(funcs)


def test_a_run_checks_its_rewards_before_it_goes_anywhere():
    """A reward's name and options, and an overlong penalty that would start past the completion length, are refused
    before a job is submitted (here: before Slurm is asked), not on the cluster once the model is loaded."""
    from pathlib import Path

    from kit.recipes.train import load_train_recipe
    from kit.train.main import start

    path = str(Path(__file__).resolve().parent.parent / "recipes/rl/tiny-cpu.yaml")
    for rewards, message in (("[{name: acuracy}]", "rewards\\[0\\]: unknown reward 'acuracy'"),
                             ("[{name: accuracy}, {name: overlong, options: {max_completion_len: 64}}]",
                              "rewards\\[1\\]: overlong: its penalty starts past 52 tokens, but completions stop at "
                              "grpo.max_completion_length \\(32\\)")):
        recipe = load_train_recipe(path, [f"rewards={rewards}"])
        with pytest.raises(RecipeError, match=message):
            start(path, [], recipe, on="slurm")
    make_rewards([RewardConfig(name="overlong", options={"max_completion_len": 32})], max_completion_length=32)


def test_a_failing_reward_scores_zero_and_says_why(caplog):
    with caplog.at_level(logging.ERROR, logger="kit.train.rewards"):
        scores = Overlong({"max_completion_len": 10})(None, ["a", "b"], completion_ids=[None, [1]])
    assert scores == [0.0, 0.0]
    assert "overlong: the reward failed on a batch of 2 completions (TypeError" in caplog.text


# -- the registry ----------------------------------------------------------------------------------


def test_make_rewards_names_weights_and_one_shared_scorer():
    configs = [RewardConfig(name=name, weight=w, options=o) for name, w, o in (
        ("accuracy", 1.0, {}), ("format", 0.2, {}), ("repetition", 0.5, {"ngram_size": 4}), ("boxed", 1.0, {}),
        ("length", 0.3, {"max_len": 2048}), ("overlong", 1.0, {"max_completion_len": 4096}))]
    funcs, weights = make_rewards(configs)
    assert [f.__name__ for f in funcs] == [c.name for c in configs] and set(REWARDS) == {c.name for c in configs}
    assert weights == [1.0, 0.2, 0.5, 1.0, 0.3, 1.0]
    assert funcs[0].scorer is funcs[4].scorer and funcs[0].scorer._verifier is None  # nothing started yet
    assert funcs[2].options == {"ngram_size": 4, "max_penalty": -1.0}
    assert funcs[5].options == {"max_completion_len": 4096, "soft_punish_cache": 819}
    close_rewards(funcs)


@pytest.mark.parametrize("rewards_, message", [
    ([{"name": "acuracy"}], "rewards[0]: unknown reward 'acuracy' (did you mean 'accuracy'?); rewards: accuracy, "
                            "boxed, format, length, overlong, repetition"),
    ([{"name": "format"}, {"name": "reward_model"}], "rewards[1]: unknown reward 'reward_model'; rewards: "),
    ([{"name": "repetition", "options": {"ngram": 2}}],
     "rewards[0]: repetition: unknown option 'ngram' (did you mean 'ngram_size'?); options: ngram_size, max_penalty"),
    ([{"name": "accuracy", "options": {"timeout_s": 2}}], "rewards[0]: accuracy: unknown option 'timeout_s'; "
                                                          "options: scoring"),
    ([{"name": "accuracy", "options": {"scoring": "share"}}], "rewards[0]: accuracy: option scoring must be one "
                                                              "of pass_fail, partial, weighted_sum, got 'share'"),
    ([{"name": "repetition", "options": {"ngram_size": "3"}}], "ngram_size must be an integer, got '3'"),
    ([{"name": "repetition", "options": {"ngram_size": 2.5}}], "ngram_size must be an integer, got 2.5"),
    ([{"name": "repetition", "options": {"ngram_size": True}}], "ngram_size must be an integer, got True"),
    ([{"name": "repetition", "options": {"ngram_size": 0}}], "ngram_size must be > 0, got 0"),
    ([{"name": "repetition", "options": {"max_penalty": 0.5}}], "max_penalty is a penalty: it must be <= 0"),
    ([{"name": "boxed", "options": {"penalty": float("nan")}}], "penalty must be a number, got nan"),
    ([{"name": "boxed", "options": {"penalty": [1]}}], "penalty must be a number, got [1]"),
    ([{"name": "length", "options": {"max_len": 0}}], "rewards[0]: length: option max_len must be > 0"),
    ([{"name": "overlong"}], "rewards[0]: overlong: needs option max_completion_len"),
    ([{"name": "overlong", "options": {"max_completion_len": 10, "soft_punish_cache": 11}}],
     "soft_punish_cache must be between 0 and max_completion_len (10), got 11"),
    ([{"name": "format"}, {"name": "format", "weight": 2}], "rewards[1]: format is named twice"),
])
def test_make_rewards_errors_are_one_line(rewards_, message):
    with pytest.raises(RecipeError) as info:
        make_rewards([RewardConfig(**r) for r in rewards_])
    assert message in str(info.value) and "\n" not in str(info.value)


FOUR = {"inputs": ["1 2\n", "10 -3\n", "0 0\n", "5 5\n"], "outputs": ["3\n", "7\n", "0\n", "10\n"]}
SCORING_CASES = [  # completion, row, then its score by pass_fail, partial, weighted_sum
    (code("a, b = map(int, input().split())\nprint(a + b)"), code_row(FOUR), (1.0, 1.0, 1.1)),
    (code("a, b = map(int, input().split())\nprint(a + b if b >= 0 else 0)"), code_row(FOUR), (0.0, 0.75, 0.075)),
    (code("print(3)"), code_row(FOUR), (0.0, 0.25, 0.025)),
    (code("def add(a, b):\n    return a + b if a else 0"), code_row(CALL), (1.0, 1.0, 1.1)),
    (code("def add(a, b):\n    return 3"), code_row(CALL), (0.0, 0.5, 0.05)),
    (code("def add(a, b):\n    return a * b"), code_row(ASSERT), (0.0, 0.0, 0.0)),  # one test process
    ("<think>\nadd\n</think>\n\n\\boxed{18}", MATH, (1.0, 1.0, 1.1)),  # a row without tests: one test
    ("<think>\nadd\n</think>\n\n\\boxed{17}", MATH, (0.0, 0.0, 0.0)),
    ("<think>\nadd\n</think>\n\nNo code.", code_row(FOUR), (0.0, 0.0, 0.0)),
]


def test_accuracy_scoring_gives_credit_for_the_share_of_tests_passed():
    """open-r1's code scoring modes: `partial` scores the share of tests passed, `weighted_sum` (its Codeforces
    recipe's) 1 for all of them plus 0.1 x that share; both run every test (no fail fast), pass_fail stops early."""
    cases = [(completion, row, None, None, None) for completion, row, _ in SCORING_CASES]
    for i, scoring in enumerate(("pass_fail", "partial", "weighted_sum")):
        funcs, _ = make_rewards([RewardConfig(name="accuracy", options={"scoring": scoring})], CFG)
        try:
            scores, verdicts = score(funcs[0], cases)
        finally:
            close_rewards(funcs)
        assert scores == pytest.approx([case[2][i] for case in SCORING_CASES]), scoring
        ran = [v.detail.get("tests_run") for v in verdicts[:3]]
        assert ran == ([4, 3, 3] if scoring == "pass_fail" else [4, 4, 4]), scoring
    assert CFG.code.fail_fast  # the recipe's own config is left as it was


def test_every_reward_pickles_after_a_call(rewards):
    cases = [("<think>\nadd\n</think>\n\n\\boxed{18} \\boxed{18}", MATH),
             ("<think>\nadd\n</think>\n\n\\boxed{17}", MATH)]
    completions, columns = batch([(*c, None, None, None) for c in cases])
    made = [rewards["accuracy"], rewards["length"], Format(), Repetition({"ngram_size": 2}), Boxed(),
            Overlong({"max_completion_len": 8})]
    for reward in made:
        before = reward(None, completions, completion_ids=[[1] * 7, [1] * 9], **columns)
        copy = pickle.loads(pickle.dumps(reward))
        assert copy.__name__ == reward.__name__ == reward.name and copy.options == reward.options
        assert copy(None, completions, completion_ids=[[1] * 7, [1] * 9], **columns) == before
        copy.close()
    assert [r.__name__ for r in made] == ["accuracy", "length", "format", "repetition", "boxed", "overlong"]
    assert rewards["accuracy"].scorer._verifier is not None  # pickling leaves the original running


# -- the shaping rewards ---------------------------------------------------------------------------


@pytest.mark.parametrize("completion, expected", [
    ("<think>\nreason\n</think>\n\nThe answer.", 1.0),
    ("reason\n</think>\n\nThe answer.", 0.0),  # a bare close, after a template that opened nothing
    ("<|begin_of_thought|>reason<|end_of_thought|><|begin_of_solution|>42<|end_of_solution|>", 1.0),
    ([{"role": "assistant", "content": "42", "reasoning_content": "reason"}], 1.0),  # split off by a parser
    ("<|begin_of_thought|>reason<|end_of_thought|><|begin_of_solution|>42", 0.0),  # cut off
    ("<think>\nreason, never closed", 0.0),
    ("<think>\nreason\n</think>\n\n", 0.0),  # empty answer
    ("<think></think>The answer.", 0.0),  # empty reasoning
    ("The answer.", 0.0),
    ("<think>a</think> b <think>c</think> d", 0.0),  # reasoning markers in the answer
    ("", 0.0),
])
def test_format(completion, expected):
    completions = [completion if isinstance(completion, list) else message(completion)]
    assert Format()(None, completions) == [expected]
    if isinstance(completion, str):
        assert Format()(None, [completion]) == [expected]  # plain strings too


@pytest.mark.parametrize("text, options, expected", [
    ("", {}, 0.0),
    ("too short", {}, 0.0),
    ("a b c", {}, 0.0),
    ("a a a a a", {}, -2 / 3),
    ("The cat sat the CAT sat", {}, -0.25),  # case-insensitive: 3 distinct of 4 trigrams
    ("x x y y", {"ngram_size": 1, "max_penalty": -0.5}, -0.25),
    ("one two three four five six", {"ngram_size": 2}, 0.0),
])
def test_repetition(text, options, expected):
    assert Repetition(options)(None, [message(text)]) == [pytest.approx(expected)]


@pytest.mark.parametrize("text, options, expected", [
    ("<think>r</think>\n\n\\boxed{18}", {}, 0.0),
    ("<think>r</think>\n\n\\boxed{18} or \\boxed{17}", {}, -1.0),
    ("<think>r</think>\n\n\\boxed{18}, again \\boxed{18}", {"penalty": -0.5}, -0.5),
    ("<think>\\boxed{1} then \\boxed{2}</think>\n\n\\boxed{18}", {}, 0.0),  # the reasoning's boxes do not count
    ("<think>r</think>\n\n\\fbox{1} \\boxed{2}", {}, -1.0),
    ("\\boxed{1} \\boxed{2}", {}, -1.0),  # no reasoning: all of it is the answer
    ("<think>\\boxed{1} \\boxed{2}", {}, 0.0),  # no answer part
    ("<think>r</think>\n\nno box", {}, 0.0),
])
def test_boxed(text, options, expected):
    assert Boxed(options)(None, [message(text)]) == [expected]


def test_length_cosine_in_tokens_else_characters(rewards):
    length = Length({"max_len": 100}, scorer=rewards["accuracy"].scorer)
    right, wrong = "<think>\nadd\n</think>\n\n\\boxed{18}", "<think>\nadd\n</think>\n\n\\boxed{17}"
    cases = [(text, MATH) for text in (right,) * 4 + (wrong,) * 4]
    completions, columns = batch([(*c, None, None, None) for c in cases])
    ids = [[0] * n for n in (0, 50, 100, 250, 0, 50, 100, 250)]
    assert length(None, completions, completion_ids=ids, **columns) == pytest.approx(
        [1.0, 0.75, 0.5, 0.5, -1.0, -0.75, -0.5, -0.5])
    chars = len(right)  # without completion_ids the length is in characters
    expected = 0.5 + 0.25 * (1 + math.cos(chars / 100 * math.pi))
    assert length(None, completions[:1], **{k: v[:1] for k, v in columns.items()}) == [pytest.approx(expected)]
    custom = Length({"max_len": 10, "min_value_correct": 0.0, "max_value_correct": 2.0, "min_value_wrong": -2.0,
                     "max_value_wrong": 0.0}, scorer=rewards["accuracy"].scorer)
    assert custom(None, completions[:2] + completions[4:6], completion_ids=[[0] * 5] * 4,
                  **{k: v[:2] + v[4:6] for k, v in columns.items()}) == pytest.approx([1.0, 1.0, -1.0, -1.0])


def test_length_reads_the_verdicts_accuracy_computed(rewards):
    cases = [("<think>\nadd\n</think>\n\n\\boxed{18}", MATH, 1.0, None, "right")]
    completions, columns = batch(cases)
    before = rewards["accuracy"].scorer.reasons.copy()
    rewards["accuracy"](None, completions, **columns)
    rewards["length"](None, completions, **columns)
    assert rewards["accuracy"].scorer.reasons - before == {"passed": 1}  # verified once for both


@pytest.mark.parametrize("options, lengths, expected", [
    ({"max_completion_len": 100, "soft_punish_cache": 20}, [0, 80, 90, 100, 101], [0.0, 0.0, -0.5, -1.0, -1.0]),
    ({"max_completion_len": 100}, [80, 90], [0.0, -0.5]),  # the cache defaults to a fifth
    ({"max_completion_len": 100, "soft_punish_cache": 0}, [100, 101], [0.0, -1.0]),
])
def test_overlong(options, lengths, expected):
    completions = [message("x")] * len(lengths)
    assert Overlong(options)(None, completions, completion_ids=[[7] * n for n in lengths]) == expected


def test_overlong_without_token_ids_does_not_apply():
    assert Overlong({"max_completion_len": 100})(None, [message("x"), "y"]) == [None, None]
