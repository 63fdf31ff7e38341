"""GRPO prompts from datasets that are not kit datasets (kit.train.data): public RL datasets in their own
schemas, mapped to the metadata columns with `columns:` and given their domain with `domain:`, then scored by
the accuracy reward with the kit's verifiers.

The rows are written by the test in the schemas of the datasets' cards: open-r1/verifiable-coding-problems-python
(`problem_statement`, `gold_standard_solution`, `verification_info` = {language, test_cases: [{fn_name, input,
output, type}]}), deepmind/code_contests (`description`, `private_tests` = {input: [...], output: [...]}), a
DeepScaleR-style math set (`problem`, `answer`, `solution`) and verl's RL layout (DAPO-Math-17k: `prompt` a chat,
the answer in `reward_model.ground_truth`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import Dataset

from kit.recipes import DEFAULT_INSTRUCTIONS, RecipeError, VerifyConfig
from kit.recipes.train import RewardConfig, load_train_recipe
from kit.train.data import load_mixture
from kit.train.rewards import close_rewards, make_rewards

ROOT = Path(__file__).resolve().parent.parent
GRPO = ROOT / "recipes/rl/tiny-cpu.yaml"
SUM = "Read two integers and print their sum."
PRODUCT = "Read two integers and print their product."
DAPO = ("Solve the following math problem step by step. The last line of your response should be of the form "
        "Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\nWhat is 8 times 9?\n\n"
        "Remember to put your answer on its own line after \"Answer:\"")


def verifiable_coding_rows() -> list[dict]:
    def tests(pairs):
        return [{"fn_name": None, "input": i, "output": o, "type": "stdin_stdout"} for i, o in pairs]

    return [{"source": "codeforces", "task_type": "verifiable_code", "in_source_id": "1_A",
             "problem_statement": SUM, "gold_standard_solution": "```python\nprint(sum(map(int, input().split())))\n```",
             "problem_id": "vfc_1", "metadata": {"difficulty": "800", "memory_limit": None, "memory_limit_bytes": None,
                                                 "problem_url": None, "time_limit": "1 second"},
             "verification_info": {"language": "python", "test_cases": tests([("1 2\n", "3\n"), ("5 5\n", "10\n")])}}]


def code_contests_rows() -> list[dict]:
    return [{"name": "2_B. Product", "description": PRODUCT, "source": 2, "difficulty": 7,
             "public_tests": {"input": ["2 3\n"], "output": ["6\n"]},
             "private_tests": {"input": ["2 3\n", "4 5\n"], "output": ["6\n", "20\n"]}}]


def dapo_rows() -> list[dict]:
    return [{"data_source": "math_dapo", "prompt": [{"content": DAPO, "role": "user"}], "ability": "MATH",
             "reward_model": {"ground_truth": "72", "style": "rule-lighteval/MATH_v2"},
             "extra_info": {"index": "a0b1"}}]


def write(folder: Path, rows: list[dict]) -> str:
    Dataset.from_list(rows).to_parquet(str(folder / "data" / "train-00000-of-00001.parquet"))
    return str(folder)


def first_problem_row(entry: dict) -> dict:
    """The first row of a GRPO mixture of `entry` alone, as `kit train` loads it."""
    recipe = load_train_recipe(GRPO, [f"data.mixture={json.dumps([entry])}"])
    return load_mixture(recipe.data, log=lambda _: None, prompt=recipe.prompt)[0][0]


def code_scores(row: dict, codes: list[str], code_limits: dict | None = None) -> list[float]:
    """The accuracy reward of a reply per code block, each a reply to `row`'s prompt."""
    funcs, _ = make_rewards([RewardConfig(name="accuracy")], VerifyConfig(
        workers=1, code=code_limits or {"test_timeout_s": 2, "sample_timeout_s": 10}))
    completions = [[{"role": "assistant", "content": f"<think>\nSolve.\n</think>\n\n```python\n{code}\n```"}]
                   for code in codes]
    try:
        return funcs[0](prompts=[row["prompt"]] * len(codes), completions=completions,
                        **{name: [row[name]] * len(codes) for name in row if name != "prompt"})
    finally:
        close_rewards(funcs)


@pytest.fixture()
def mixture(tmp_path):
    """The three datasets as one GRPO mixture, loaded as `kit train` loads it."""
    coding = write(tmp_path / "verifiable-coding", verifiable_coding_rows())
    contests = write(tmp_path / "code-contests", code_contests_rows())
    maths = write(tmp_path / "deepscaler", [{"problem": "What is 6 times 7?", "answer": "42",
                                             "solution": "6 * 7 = 42, so the answer is $\\boxed{42}$."}])
    dapo = write(tmp_path / "dapo", dapo_rows())
    entries = [
        {"path": coding, "config": "default", "domain": "code",
         "columns": {"problem": "problem_statement", "test_cases": "verification_info",
                     "ground_truth_solution": "gold_standard_solution"}},
        {"path": contests, "config": "default", "domain": "code",
         "columns": {"problem": "description", "test_cases": "private_tests"}},
        {"path": maths, "config": "default", "domain": "math",
         "columns": {"ground_truth_answer": "answer", "ground_truth_solution": "solution"}},
        {"path": dapo, "config": "default", "domain": "math",
         "columns": {"problem": "prompt", "ground_truth_answer": "reward_model.ground_truth"}},
    ]
    recipe = load_train_recipe(GRPO, [f"data.mixture={json.dumps(entries)}", "data.shuffle=false"])
    dataset, records = load_mixture(recipe.data, log=lambda _: None, prompt=recipe.prompt)
    return recipe, dataset, records


def test_public_schemas_map_to_prompts_and_reward_columns(mixture):
    recipe, dataset, records = mixture
    assert [r["rows"] for r in records] == [1, 1, 1, 1]
    rows = list(dataset)
    assert [r["domain"] for r in rows] == ["code", "code", "math", "math"]
    # rendered as `kit curate` and `kit eval` render a row of that domain: problem, then the domain's instruction
    code, math = DEFAULT_INSTRUCTIONS["code"], DEFAULT_INSTRUCTIONS["math"]
    assert [r["prompt"][-1]["content"] for r in rows] == [f"{SUM}\n\n{code}", f"{PRODUCT}\n\n{code}",
                                                          f"What is 6 times 7?\n\n{math}", f"{DAPO}\n\n{math}"]
    assert rows[0]["prompt"][0] == {"role": "system", "content": recipe.prompt.system_prompt}
    # each dataset's own test form is stored in the contract's (design.md: APPS/TACO form)
    assert json.loads(rows[0]["test_cases"]) == {"inputs": ["1 2\n", "5 5\n"], "outputs": ["3\n", "10\n"]}
    assert json.loads(rows[1]["test_cases"]) == {"inputs": ["2 3\n", "4 5\n"], "outputs": ["6\n", "20\n"]}
    assert rows[0]["problem_id"] == "vfc_1" and rows[2]["ground_truth_answer"] == "42"
    assert rows[3]["ground_truth_answer"] == "72" and rows[3]["problem"] == DAPO


def test_a_missing_nested_column_or_a_chat_without_a_question_is_one_line(tmp_path):
    dapo = write(tmp_path / "dapo", dapo_rows())
    entry = {"path": dapo, "config": "default", "domain": "math"}
    for columns, message in [({"ground_truth_answer": "reward_model.answer"}, "has no column 'reward_model.answer'"),
                             ({"ground_truth_answer": "answer"}, "has no column 'answer'; it has data_source, prompt"),
                             ({"problem": "prompt"}, None)]:
        recipe = load_train_recipe(GRPO, [f"data.mixture={json.dumps([{**entry, 'columns': columns}])}"])
        if message is None:
            assert len(load_mixture(recipe.data, log=lambda _: None, prompt=recipe.prompt)[0]) == 1
            continue
        with pytest.raises(RecipeError, match=message):
            load_mixture(recipe.data, log=lambda _: None, prompt=recipe.prompt)
    system_only = write(tmp_path / "system-only", [{**dapo_rows()[0], "prompt": [{"role": "system", "content": "Hi"}]}])
    recipe = load_train_recipe(GRPO, [f"data.mixture={json.dumps([{**entry, 'path': system_only, 'columns': {'problem': 'prompt'}}])}"])
    with pytest.raises(RecipeError, match="column problem: the chat has no user turn"):
        load_mixture(recipe.data, log=lambda _: None, prompt=recipe.prompt)


def test_the_accuracy_reward_scores_them_with_the_kits_verifiers(mixture):
    _, dataset, _ = mixture
    rows = list(dataset)
    program = {"sum": "print(sum(map(int, input().split())))",
               "product": "a, b = map(int, input().split())\nprint(a * b)"}

    def reply(answer: str) -> list[dict[str, str]]:
        return [{"role": "assistant", "content": f"<think>\nwork\n</think>\n\n{answer}"}]

    def code(source: str) -> list[dict[str, str]]:
        return reply(f"```python\n{source}\n```")

    cases = [(rows[0], code(program["sum"]), 1.0), (rows[0], code(program["product"]), 0.0),
             (rows[1], code(program["product"]), 1.0), (rows[1], code(program["sum"]), 0.0),
             (rows[2], reply("\\boxed{42}"), 1.0), (rows[2], reply("\\boxed{24}"), 0.0),
             (rows[3], reply("\\boxed{72}"), 1.0), (rows[3], reply("\\boxed{27}"), 0.0)]
    columns = [c for c in dataset.column_names if c != "prompt"]
    funcs, _ = make_rewards([RewardConfig(name="accuracy")],
                            VerifyConfig(workers=2, code={"test_timeout_s": 2, "sample_timeout_s": 10}))
    try:
        scores = funcs[0](prompts=[c[0]["prompt"] for c in cases], completions=[c[1] for c in cases],
                          **{name: [c[0][name] for c in cases] for name in columns})
    finally:
        close_rewards(funcs)
    assert scores == [c[2] for c in cases]


def test_answers_typed_as_numbers_or_lists_of_accepted_answers(tmp_path):
    """Gold answers as public sets type them: Skywork-OR1-RL-Data's `reward_model.ground_truth` is the Python text
    of a list of accepted answers, AIME sets type the answer as an integer, and NuminaMath-1.5 writes `proof` for a
    proof (no answer to check: every completion scores 0 with `no_ground_truth`, `\\boxed{proof}` included)."""
    skywork = write(tmp_path / "skywork", [{
        "data_source": "train-math-numinamath1.5_olympiads", "prompt": [{"role": "user", "content": "Half of 1?"}],
        "ability": "math", "reward_model": {"ground_truth": "['\\\\frac{1}{2}', '0.5']", "style": "rule"}}])
    aime = write(tmp_path / "aime", [{"ID": "2024-I-1", "Problem": "What is 6 times 7?", "Answer": 42}])
    numina = write(tmp_path / "numina", [{"problem": "Prove that 1 < 2.", "solution": "Clearly $1 < 2$.",
                                          "answer": "proof", "question_type": "proof"}])
    entries = [
        {"path": skywork, "config": "default", "domain": "math",
         "columns": {"problem": "prompt", "ground_truth_answer": "reward_model.ground_truth"}},
        {"path": aime, "config": "default", "domain": "math", "columns": {"problem": "Problem", "ground_truth_answer": "Answer"}},
        {"path": numina, "config": "default", "domain": "math",
         "columns": {"ground_truth_answer": "answer", "ground_truth_solution": "solution"}},
    ]
    recipe = load_train_recipe(GRPO, [f"data.mixture={json.dumps(entries)}", "data.shuffle=false"])
    rows = list(load_mixture(recipe.data, log=lambda _: None, prompt=recipe.prompt)[0])
    assert [r["ground_truth_answer"] for r in rows] == ["['\\\\frac{1}{2}', '0.5']", "42", "proof"]

    def reply(answer: str) -> list[dict[str, str]]:
        return [{"role": "assistant", "content": f"<think>\nwork\n</think>\n\n\\boxed{{{answer}}}"}]

    cases = [(rows[0], "0.5", 1.0), (rows[0], "\\dfrac{1}{2}", 1.0), (rows[0], "2", 0.0),
             (rows[1], "42", 1.0), (rows[1], "24", 0.0), (rows[2], "proof", 0.0), (rows[2], "1 < 2", 0.0)]
    funcs, _ = make_rewards([RewardConfig(name="accuracy")], VerifyConfig(workers=2))
    kwargs = {name: [c[0][name] for c in cases] for name in rows[0] if name != "prompt"}
    prompts, completions = [c[0]["prompt"] for c in cases], [reply(c[1]) for c in cases]
    try:
        scores = funcs[0](prompts=prompts, completions=completions, **kwargs)
        reasons = [v.reason for v in funcs[0].verdicts(prompts, completions, **kwargs)]
    finally:
        close_rewards(funcs)
    assert scores == [c[2] for c in cases]
    assert reasons[-2:] == ["no_ground_truth", "no_ground_truth"]


def test_codeforces_rows_with_a_checker_filtered_by_where(tmp_path):
    """open-r1/codeforces `verifiable-prompts` as open-r1's code GRPO reads it: a row per language (`where:` keeps
    the Python ones) and, for a problem with many right outputs, its `generated_checker`, mapped to `checker`: the
    accuracy reward accepts any output the checker accepts."""
    checker = ("import sys\nn = int(open(sys.argv[1]).read())\nwords = open(sys.argv[3]).read().split()\n"
               "print(1 if len(words) == 2 and all(w.isdigit() for w in words) and int(words[0]) + int(words[1]) == n "
               "and words[0] != words[1] else 0)\n")
    official = [{"input": "5\n", "output": "1 4\n"}, {"input": "10\n", "output": "1 9\n"}]

    def row(language, interaction=None):
        return {"id": "1/A", "prompt": f"Print two different integers with sum n, in {language}.", "language": language,
                "official_tests": official, "generated_checker": checker, "input_mode": "stdio", "time_limit": 1.0,
                "interaction_format": interaction}

    # the interactive problem (interaction_format set) is left out: null keeps the rows where the column is null
    codeforces = write(tmp_path / "codeforces", [row("python"), row("cpp"), row("python", "Ask `? i` queries.")])
    where = {"language": "python", "interaction_format": [None, ""]}
    entries = [{"path": codeforces, "config": "default", "domain": "code", "where": where,
                "columns": {"problem": "prompt", "test_cases": "official_tests", "checker": "generated_checker"}}]
    recipe = load_train_recipe(GRPO, [f"data.mixture={json.dumps(entries)}"])
    dataset, records = load_mixture(recipe.data, log=lambda _: None, prompt=recipe.prompt)
    assert len(dataset) == 1 and records[0]["rows"] == 1 and records[0]["where"] == where
    row0 = dataset[0]
    assert json.loads(row0["test_cases"]) == {"inputs": ["5\n", "10\n"], "outputs": ["1 4\n", "1 9\n"],
                                              "checker": checker}

    def code(source):
        return [{"role": "assistant", "content": f"<think>\nwork\n</think>\n\n```python\n{source}\n```"}]

    completions = [code("n = int(input())\nprint(2, n - 2)"), code("n = int(input())\nprint(n // 2, n - n // 2)"),
                   code("print('1 4')")]
    funcs, _ = make_rewards([RewardConfig(name="accuracy")],
                            VerifyConfig(workers=2, code={"test_timeout_s": 2, "sample_timeout_s": 10}))
    kwargs = {name: [row0[name]] * len(completions) for name in row0 if name != "prompt"}
    try:
        scores = funcs[0](prompts=[row0["prompt"]] * len(completions), completions=completions, **kwargs)
    finally:
        close_rewards(funcs)
    assert scores == [1.0, 0.0, 0.0]  # 2 3 and 2 8 are right; 5 5 is not; 1 4 is right for 5 only
    # a column the dataset itself names `checker` is not taken unless mapped (CodeContests+ ships C++ checkers there)
    plus = write(tmp_path / "plus", [{"description": SUM, "checker": '#include "testlib.h"', "tests": official}])
    plain = [{"path": plus, "config": "default", "domain": "code",
              "columns": {"problem": "description", "test_cases": "tests"}}]
    recipe = load_train_recipe(GRPO, [f"data.mixture={json.dumps(plain)}"])
    assert "checker" not in json.loads(load_mixture(recipe.data, log=lambda _: None, prompt=recipe.prompt)[0][0]["test_cases"])
    entries[0]["where"] = {"lang": "python"}
    recipe = load_train_recipe(GRPO, [f"data.mixture={json.dumps(entries)}"])
    with pytest.raises(RecipeError, match="where: no column 'lang'"):
        load_mixture(recipe.data, log=lambda _: None, prompt=recipe.prompt)


def test_a_preset_gives_a_mixture_its_problems_as_curate_reads_them(tmp_path):
    """`preset: codeforces` in a GRPO mixture: open-r1/codeforces `verifiable-prompts` read as the `codeforces` preset
    reads it (its Python rows, no interactive problem, the checker, each test's time and memory limits, open-r1's
    comparison), from a local copy here (`path:` wins over the preset's Hub id); the entry's own keys win. A preset of
    traces gives its problems, never its traces; SFT refuses a preset."""
    official = [{"input": "1 2\n", "output": "3\n"}]

    def row(language, interaction=None, prompt=SUM):
        return {"id": "1/A", "prompt": prompt, "language": language, "official_tests": official,
                "generated_checker": None, "input_mode": "stdio", "time_limit": 2.0, "memory_limit": 256.0,
                "interaction_format": interaction, "official_tests_complete": True}

    codeforces = write(tmp_path / "codeforces", [row("python"), row("cpp"), row("python", "Ask queries."),
                                                 row("python", prompt=PRODUCT)])
    entry = {"preset": "codeforces", "path": codeforces}
    recipe = load_train_recipe(GRPO, [f"data.mixture={json.dumps([entry])}", "data.shuffle=false"])
    (got,) = recipe.data.mixture
    assert (got.config, got.split, got.domain, got.grader) == ("verifiable-prompts", "train", "code", "codeforces")
    assert got.where == {"language": "python", "interaction_format": [None, ""]}
    got.config = "default"  # the local copy has one config
    dataset, records = load_mixture(recipe.data, log=lambda _: None, prompt=recipe.prompt)
    assert [r["problem"] for r in dataset] == [SUM, PRODUCT] and records[0]["rows"] == 2
    assert json.loads(dataset[0]["test_cases"]) == {"inputs": ["1 2\n"], "outputs": ["3\n"], "time_limit": 2.0,
                                                    "memory_limit": 256.0, "comparison": "codeforces"}
    # the entry's own `where` merges with the preset's, key by key
    entry = {"preset": "codeforces", "path": codeforces, "config": "default", "where": {"language": "cpp"}}
    (got,) = load_train_recipe(GRPO, [f"data.mixture={json.dumps([entry])}"]).data.mixture
    assert got.where == {"language": "cpp", "interaction_format": [None, ""]}
    # a trace preset's trace columns are no problem columns: deepmath-103k gives the problem and its answer only
    (got,) = load_train_recipe(GRPO, ['data.mixture=[{"preset": "deepmath-103k"}]']).data.mixture
    assert got.columns == {"problem": "question", "ground_truth_answer": "final_answer"}
    assert (got.path, got.config) == ("zwhe99/DeepMath-103K", "default")
    with pytest.raises(RecipeError, match="preset 'codeforces' gives problems, for method: grpo"):
        load_train_recipe(ROOT / "recipes/sft/tiny-cpu.yaml", ['data.mixture=[{"preset": "codeforces"}]'])


def test_the_code_grpo_recipe_reads_open_r1s_codeforces_problems():
    (entry,) = load_train_recipe(ROOT / "recipes/rl/code-grpo-7b.yaml").data.mixture
    assert (entry.preset, entry.path, entry.config, entry.grader) == ("codeforces", "open-r1/codeforces",
                                                                      "verifiable-prompts", "codeforces")
    assert entry.columns["checker"] == "generated_checker" and entry.where["language"] == "python"


def test_sft_chats_in_sharegpt_or_with_separate_reasoning_become_openai_turns(tmp_path):
    """SFT straight from a public chat dataset: Sky-T1/Bespoke-Stratos/OpenThoughts ship ShareGPT `conversations`
    (from/value), others an assistant turn with its reasoning apart; TRL trains on role/content turns, with the
    reasoning inside <think> as the kit writes a trace."""
    sky = write(tmp_path / "sky-t1", [{"system": "Think first.", "conversations": [
        {"from": "system", "value": "Think first."}, {"from": "human", "value": "What is 2+3?"},
        {"from": "gpt", "value": "<|begin_of_thought|>2+3=5<|end_of_thought|>\n\n<|begin_of_solution|>5<|end_of_solution|>"}]}])
    apart = write(tmp_path / "apart", [{"messages": [
        {"role": "user", "content": "What is 4+4?", "reasoning_content": None},
        {"role": "assistant", "content": "\\boxed{8}", "reasoning_content": "4+4 is 8."}]}])
    kit_rows = write(tmp_path / "kit", [{"messages": [{"role": "user", "content": "Q"},
                                                      {"role": "assistant", "content": "<think>\nr\n</think>\n\nA"}]}])
    entries = [{"path": sky, "config": "default", "columns": {"messages": "conversations"}},
               {"path": apart, "config": "default"}, {"path": kit_rows, "config": "default"}]
    recipe = load_train_recipe(ROOT / "recipes/sft/tiny-cpu.yaml",
                               [f"data.mixture={json.dumps(entries)}", "data.shuffle=false"])
    rows = [row["messages"] for row in load_mixture(recipe.data, log=lambda _: None)[0]]
    assert rows == [
        [{"role": "system", "content": "Think first."}, {"role": "user", "content": "What is 2+3?"},
         {"role": "assistant", "content": "<|begin_of_thought|>2+3=5<|end_of_thought|>\n\n<|begin_of_solution|>5"
                                          "<|end_of_solution|>"}],
        [{"role": "user", "content": "What is 4+4?"},
         {"role": "assistant", "content": "<think>\n4+4 is 8.\n</think>\n\n\\boxed{8}"}],
        [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "<think>\nr\n</think>\n\nA"}]]

    # TRL's conversational prompt-completion form: the prompt's turns, then the completion's
    split = write(tmp_path / "prompt-completion", [{
        "prompt": [{"role": "system", "content": "Think first."}, {"role": "user", "content": "What is 6+1?"}],
        "completion": [{"role": "assistant", "content": "<think>\n6+1=7\n</think>\n\n\\boxed{7}"}]}])
    entry = {"path": split, "config": "default", "columns": {"messages": ["prompt", "completion"]}}
    recipe = load_train_recipe(ROOT / "recipes/sft/tiny-cpu.yaml", [f"data.mixture={json.dumps([entry])}"])
    assert [row["messages"] for row in load_mixture(recipe.data, log=lambda _: None)[0]] == [
        [{"role": "system", "content": "Think first."}, {"role": "user", "content": "What is 6+1?"},
         {"role": "assistant", "content": "<think>\n6+1=7\n</think>\n\n\\boxed{7}"}]]

    # Bespoke-Stratos / OpenThoughts-114k: the system prompt in a `system` column of its own, not in the turns
    stratos = write(tmp_path / "stratos", [{"system": "Think first.", "conversations": [
        {"from": "user", "value": "What is 2+3?"}, {"from": "assistant", "value": "<think>\n5\n</think>\n\n5"}]},
        {"system": "", "conversations": [{"from": "user", "value": "Q"}, {"from": "assistant", "value": "A"}]}])
    entry = {"path": stratos, "config": "default", "columns": {"messages": "conversations", "system_prompt": "system"}}
    recipe = load_train_recipe(ROOT / "recipes/sft/tiny-cpu.yaml", [f"data.mixture={json.dumps([entry])}",
                                                                    "data.shuffle=false"])
    assert [row["messages"] for row in load_mixture(recipe.data, log=lambda _: None)[0]] == [
        [{"role": "system", "content": "Think first."}, {"role": "user", "content": "What is 2+3?"},
         {"role": "assistant", "content": "<think>\n5\n</think>\n\n5"}],
        [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]]
    # the column's prompt is the system turn of a chat already in OpenAI turns too, in place of its own
    kit_system = write(tmp_path / "kit-system", [{"system": "Be brief.", "messages": [
        {"role": "system", "content": "Old."}, {"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}])
    entry = {"path": kit_system, "config": "default", "columns": {"system_prompt": "system"}}
    recipe = load_train_recipe(ROOT / "recipes/sft/tiny-cpu.yaml", [f"data.mixture={json.dumps([entry])}"])
    assert [row["messages"] for row in load_mixture(recipe.data, log=lambda _: None)[0]] == [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]]

    bad = write(tmp_path / "bad", [{"conversations": [{"from": "narrator", "value": "Once"}]}])
    recipe = load_train_recipe(ROOT / "recipes/sft/tiny-cpu.yaml", [
        f"data.mixture={json.dumps([{'path': bad, 'config': 'default', 'columns': {'messages': 'conversations'}}])}"])
    with pytest.raises(RecipeError, match="column messages: turn 0 has role 'narrator'"):
        load_mixture(recipe.data, log=lambda _: None)


def test_a_domain_column_as_datasets_name_it(tmp_path):
    """verl datasets name the domain in `ability` ("MATH"); OpenThoughts' science rows say biology, chemistry or
    physics: they are the kit's math and science, so the accuracy reward routes them (not unsupported_domain)."""
    dapo = write(tmp_path / "dapo", dapo_rows())
    entry = {"path": dapo, "config": "default",
             "columns": {"problem": "prompt", "ground_truth_answer": "reward_model.ground_truth", "domain": "ability"}}
    row = first_problem_row(entry)
    assert row["domain"] == "math" and row["prompt"][-1]["content"] == f"{DAPO}\n\n{DEFAULT_INSTRUCTIONS['math']}"
    from kit.core.schema import kit_domain
    assert [kit_domain(d) for d in ("Biology", "chemistry", "PHYSICS", "crossword", "code", "poetry", None)] == \
        ["science", "science", "science", "puzzle", "code", "poetry", None]


def test_humaneval_style_test_and_entry_point_columns(tmp_path):
    """HumanEval and HumanEval+ keep the check function in `test` and the function's name in `entry_point`:
    mapped both, they are the assert form, and the accuracy reward runs them in the sandbox."""
    prompt = 'def add(a, b):\n    """Return the sum of a and b."""\n'
    test = "\n\nMETADATA = {}\n\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-4, 4) == 0\n"
    data = write(tmp_path / "humaneval", [{"task_id": "HumanEval/0", "prompt": prompt, "entry_point": "add",
                                            "canonical_solution": "    return a + b\n", "test": test}])
    entry = {"path": data, "config": "default", "domain": "code",
             "columns": {"problem": "prompt", "test_cases": "test", "entry_point": "entry_point"}}
    row = first_problem_row(entry)
    assert json.loads(row["test_cases"]) == {"test_code": test, "entry_point": "add"}
    assert code_scores(row, [f"{prompt}    return {body}" for body in ("a + b", "a - b")]) == [1.0, 0.0]


def test_the_entrys_domain_wins_over_a_domain_column(tmp_path):
    """Big-Math keeps a subject taxonomy in its own `domain` column (a list); the entry's `domain: math` is what
    picks the verifier, as a curate source's `domain` wins over the rows'."""
    data = write(tmp_path / "big-math", [{"problem": "What is 6 times 7?", "answer": "42", "source": "orca_math",
                                          "domain": ["Mathematics -> Algebra -> Prealgebra -> Integers"],
                                          "llama8b_solve_rate": 0.9}])
    entry = {"path": data, "config": "default", "domain": "math", "columns": {"ground_truth_answer": "answer"}}
    row = first_problem_row(entry)
    assert row["domain"] == "math" and row["prompt"][-1]["content"].endswith(DEFAULT_INSTRUCTIONS["math"])


def test_leetcode_dataset_columns(tmp_path):
    """newfacade/LeetCodeDataset: `test` is a check(candidate), `entry_point` a method of a fresh Solution and `prompt`
    the prelude its solutions and tests assume (ListNode and its helpers); mapped, the accuracy reward runs them."""
    from tests.test_verify_code import LEETCODE_PRELUDE, REVERSE, REVERSE_TEST, leetcode_row

    data = write(tmp_path / "leetcode", [leetcode_row("reverse-linked-list", "reverseList", REVERSE_TEST, REVERSE)])
    entry = {"path": data, "config": "default", "domain": "code",
             "columns": {"problem": "problem_description", "starter_code": "starter_code", "test_cases": "test",
                         "entry_point": "entry_point", "prelude": "prompt"}}
    row = first_problem_row(entry)
    assert json.loads(row["test_cases"]) == {"test_code": REVERSE_TEST, "entry_point": "Solution().reverseList",
                                             "prelude": LEETCODE_PRELUDE}
    assert "class Solution:\n    def reverseList(self, *args):" in row["prompt"][-1]["content"]  # the starter code
    assert code_scores(row, [REVERSE, REVERSE.replace("return previous", "return head")]) == [1.0, 0.0]


def test_a_graders_prelude_comes_before_the_rows_own(tmp_path):
    """TACO's grader puts its imports before every solution (`grader: apps`): the accuracy reward runs them
    first too, before the prelude column's own code, so a right reply using `deque` and `np` unimported scores 1."""
    from kit.core.testcases import GRADERS

    tests = {"inputs": ["1 2\n", "10 5\n"], "outputs": ["3\n", "15\n"]}
    data = write(tmp_path / "taco", [{"question": "Print the sum of the two integers on the line.",
                                      "input_output": json.dumps(tests), "setup": "BIAS = 0"}])
    entry = {"path": data, "config": "default", "domain": "code", "grader": "apps",
             "columns": {"problem": "question", "test_cases": "input_output", "prelude": "setup"}}
    row = first_problem_row(entry)
    assert json.loads(row["test_cases"]) == {**tests, "prelude": GRADERS["apps"].prelude + "BIAS = 0"}
    codes = ["q = deque(map(int, input().split()))\nprint(int(np.array(q).sum()) + BIAS)",
             "q = deque(map(int, input().split()))\nprint(int(np.array(q).prod()))"]
    assert code_scores(row, codes, {"test_timeout_s": 5, "sample_timeout_s": 20}) == [1.0, 0.0]


def test_tests_of_several_columns_are_joined(tmp_path):
    """CodeContests keeps its tests in three struct columns; a mixture entry maps `test_cases` to all three and the
    accuracy reward runs them as one set (a column with no tests adds none)."""
    data = write(tmp_path / "code_contests", [
        {"description": "Print the sum of the two integers.", "public_tests": {"input": ["1 2\n"], "output": ["3\n"]},
         "private_tests": {"input": [], "output": []}, "generated_tests": {"input": ["7 0\n"], "output": ["7\n"]}}])
    entry = {"path": data, "config": "default", "domain": "code",
             "columns": {"problem": "description",
                         "test_cases": ["public_tests", "private_tests", "generated_tests"]}}
    row = first_problem_row(entry)
    assert json.loads(row["test_cases"]) == {"inputs": ["1 2\n", "7 0\n"], "outputs": ["3\n", "7\n"]}
