"""GRPO leaves out the problems no answer can pass (kit.train.data, kit.verify.registry.undecidable): a problem with
no gold answer, tests that do not parse, an interactive problem, a domain no verifier decides or an unknown verifier
gives every completion 0, so its group's advantages are all 0 and its generations are wasted. The run keeps the rest,
says what it left out and why (the log, `train_results.json`'s data records, the model card), and refuses a dataset
with nothing left (its gold answers or tests are most likely not mapped)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import Dataset

from kit.recipes import RecipeError
from kit.recipes.train import load_train_recipe
from kit.train.card import render_model_card
from kit.train.run import load_data
from kit.verify import code as code_verifier
from kit.verify.registry import stored_route, undecidable

ROOT = Path(__file__).resolve().parent.parent
GRPO = ROOT / "recipes/rl/tiny-cpu.yaml"
TESTS = json.dumps({"inputs": ["1 2\n"], "outputs": ["3\n"]})
INTERACTIVE = "This is an interactive problem. Guess the number x (1 <= x <= 100) in 7 queries."

# One problem per case, in the metadata schema; `keep` marks the ones some answer can pass.
CASES = [
    ({"problem": "What is 6 times 7?", "domain": "math", "ground_truth_answer": "42"}, None),
    ({"problem": "What is 2 + 2?", "domain": "math", "ground_truth_solution": "2 + 2 = $\\boxed{4}$"}, None),
    ({"problem": "Prove that 2 is prime.", "domain": "math", "ground_truth_answer": "proof"}, "no_ground_truth"),
    ({"problem": "What is 3 + 4?", "domain": "math", "ground_truth_solution": "It is seven."}, "no_ground_truth"),
    ({"problem": "Print the sum of two integers.", "domain": "code", "test_cases": TESTS}, None),
    ({"problem": "Print the sum of two integers.", "domain": "code"}, "missing_field"),
    ({"problem": "Print the sum of two integers.", "domain": "code", "test_cases": '{"inputs": ["1"]}'},
     "invalid_test_cases"),
    ({"problem": INTERACTIVE, "domain": "code", "test_cases": TESTS}, "interactive_problem"),
    ({"problem": "Why is the sky blue?", "domain": "science", "ground_truth_answer": "Rayleigh scattering"},
     "unsupported_domain"),
    ({"problem": "Which is a noble gas? A) N B) Ne", "domain": "science", "ground_truth_answer": "B",
      "verifier": "choice"}, None),
    ({"problem": "Which is a noble gas? A) N B) Ne", "domain": "science", "ground_truth_answer": "neon",
      "verifier": "choice"}, "no_ground_truth"),
    ({"problem": "What is 6 times 7?", "domain": "math", "ground_truth_answer": "42", "verifier": "my-verifier"},
     "unknown_verifier"),
    ({"problem": "What is 6 times 7?", "domain": "math", "ground_truth_answer": "42", "verifier": "llm-judge"}, None),
]
COLUMNS = ("problem", "domain", "ground_truth_answer", "ground_truth_solution", "test_cases", "verifier")


def write(folder: Path, rows: list[dict]) -> str:
    rows = [{column: row.get(column) for column in COLUMNS} for row in rows]
    (folder / "data").mkdir(parents=True)
    Dataset.from_list(rows).to_parquet(str(folder / "data" / "train-00000-of-00001.parquet"))
    return str(folder)


def recipe_of(path: str, *overrides: str):
    entry = {"path": path, "config": "default"}
    return load_train_recipe(GRPO, [f"data.mixture={json.dumps([entry])}", "data.shuffle=false", *overrides])


def test_the_registry_says_which_problems_no_answer_can_pass():
    for row, reason in CASES:
        try:
            found = undecidable(*stored_route(row))
        except ValueError as exc:  # UnknownVerifier
            found = ("unknown_verifier", str(exc))
        assert (found and found[0]) == reason, row
    # the code verifier refuses such a row with the same reason, running nothing
    verdict = code_verifier.verify_code({**CASES[7][0], "solution": "```python\nprint(3)\n```"}, sandbox=None)
    assert verdict.reason == "interactive_problem"


def test_grpo_leaves_them_out_and_says_so(tmp_path):
    lines: list[str] = []
    recipe = recipe_of(write(tmp_path / "mixed", [row for row, _ in CASES]))
    dataset, records = load_data(recipe, lines.append)
    kept = [row["problem"] for row, reason in CASES if reason is None]
    assert [row["problem"] for row in dataset] == kept
    expected = {"no_ground_truth": 3, "missing_field": 1, "invalid_test_cases": 1, "interactive_problem": 1,
                "unsupported_domain": 1, "unknown_verifier": 1}
    assert records[0]["undecidable"] == expected and records[0]["rows"] == len(kept)
    said = next(line for line in lines if "left out" in line)
    assert f"left out 8 of {len(CASES)} problems" in said and "no_ground_truth 3" in said
    # the model card says it too
    results = {"base_model": None, "init": "pretrained", "datasets": records, "hyperparameters": {}}
    card = render_model_card(recipe, results)
    assert "Left out before weighting" in card
    assert "3 `no_ground_truth`" in card and "1 `interactive_problem`" in card


def test_rewards_that_read_no_verdict_keep_every_problem(tmp_path):
    path = write(tmp_path / "mixed", [row for row, _ in CASES])
    recipe = recipe_of(path, 'rewards=[{"name": "format"}]')
    dataset, records = load_data(recipe, lambda _: None)
    assert len(dataset) == len(CASES) and "undecidable" not in records[0]
    assert "Left out" not in render_model_card(recipe, {"base_model": None, "init": "pretrained",
                                                        "datasets": records, "hyperparameters": {}})


def test_a_dataset_with_nothing_left_is_refused_with_the_fix(tmp_path):
    path = write(tmp_path / "unmapped", [{"problem": "What is 6 times 7?", "domain": "math"}] * 3)
    with pytest.raises(RecipeError, match=r"no problem a verifier can decide \(no_ground_truth 3; .*map the gold "
                                          r"answer or tests with `columns:`"):
        load_data(recipe_of(path), lambda _: None)
