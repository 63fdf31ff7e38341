"""`kit curate` end to end on the bundled quickstart: every row ends where tests/data/quickstart_expected.json says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from datasets import Dataset, load_dataset

from kit.core.schema import DEFAULT_FEATURES, METADATA_FEATURES
from kit.core.sources import iter_rows

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes/data/quickstart.yaml"
EXPECTED = json.loads((ROOT / "tests/data/quickstart_expected.json").read_text())


def kit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kit.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    out = tmp_path_factory.mktemp("curate") / "quickstart"
    result = kit("curate", str(RECIPE), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.fixture(scope="module")
def sample_rows():
    return list(iter_rows("kit:samples/quickstart.jsonl"))


def test_prints_the_load_dataset_line(curated):
    out, result = curated
    assert f'load_dataset("{out}", "metadata")' in result.stdout
    assert f'load_dataset("{out}")' in result.stdout


def test_folder_layout(curated):
    out, _ = curated
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"README.md", "recipe.yaml", "stats.json"} <= names
    assert any(n.startswith("data/train-") and n.endswith(".parquet") for n in names)
    assert any(n.startswith("metadata/train-") and n.endswith(".parquet") for n in names)
    recipe = yaml.safe_load((out / "recipe.yaml").read_text())
    assert recipe["name"] == "quickstart" and recipe["curate"]["max_per_problem"] == 2


def test_metadata_holds_exactly_the_expected_samples(curated, sample_rows):
    out, _ = curated
    metadata = load_dataset(str(out), "metadata", split="train")
    assert metadata.features == METADATA_FEATURES
    kept = [sample_rows[e["line"]] for e in EXPECTED if e["fate"] == "kept"]
    assert [(r["problem"], r["solution"]) for r in metadata] == [(r["problem"], r["solution"]) for r in kept]
    assert all(metadata["verified"])
    for row in metadata:
        verification = json.loads(row["verification"])
        assert verification["passed"] is True
        assert row["verifier"] == ("math-verify" if row["domain"] == "math" else "sandbox")
        assert row["teacher"] and row["problem_id"] and json.loads(row["generation"])["backend"] == "dataset"


def test_default_is_sft_ready(curated):
    out, _ = curated
    default = load_dataset(str(out), split="train")
    metadata = load_dataset(str(out), "metadata", split="train")
    assert default.features == DEFAULT_FEATURES
    assert len(default) == len(metadata) == sum(e["fate"] == "kept" for e in EXPECTED)
    for sft, meta in zip(default, metadata, strict=True):
        roles = [m["role"] for m in sft["messages"]]
        assert roles[-2:] == ["user", "assistant"]
        assert meta["problem"].strip() in sft["messages"][-2]["content"]
        assert sft["messages"][-1]["content"] == (
            f"<think>\n{meta['reasoning'].strip()}\n</think>\n\n{meta['solution'].strip()}")
        assert sft["problem_id"] == meta["problem_id"]


def test_stats_account_for_every_rejected_row(curated):
    out, _ = curated
    stats = json.loads((out / "stats.json").read_text())
    assert stats["total_rows"] == len(EXPECTED)
    assert stats["kept"] + len(stats["rejected_rows"]) == len(EXPECTED)
    rejected = {r["row"]: r for r in stats["rejected_rows"]}
    for expected in EXPECTED:
        if expected["fate"] == "kept":
            assert expected["line"] not in rejected, expected
            continue
        actual = rejected[expected["line"]]
        assert (actual["stage"], actual["reason"]) == (expected["stage"], expected["reason"]), (expected, actual)
        if "test_failure" in expected:
            assert f": {expected['test_failure']}:" in actual["detail"], (expected, actual)
    for stage in stats["stages"]:
        assert stage["in"] - stage["out"] == sum(stats["rejections"].get(stage["stage"], {}).values())


def test_card_describes_the_dataset(curated):
    out, _ = curated
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "config_name: metadata" in card
    assert f'load_dataset("{out}", "metadata")' in card or 'load_dataset(' in card
    for word in ("Math-Verify", "sandbox", "MATH500", "contaminated"):
        assert word.lower() in card.lower(), word
    rule = " ".join(card.split("**Decontamination**")[1].split("\n\n")[0].split())
    assert ("holds 50% or more of a benchmark problem's word 8-grams (or, for a benchmark problem of 3 to 7 words, "
            "holds all its words in a row), or if its") in rule, rule


def test_refuses_to_overwrite_then_overwrites(curated):
    out, _ = curated
    again = kit("curate", str(RECIPE), "--out", str(out))
    assert again.returncode == 2 and "exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("override, message", [
    ("curate.max_per_problm=3", "curate.max_per_problm: unknown key (did you mean 'max_per_problem'?)"),
    ("curate.max_per_problem=many", "curate.max_per_problem"),
    ("verify.code.memory_mb=-1", "verify.code.memory_mb"),
])
def test_bad_recipe_values_fail_in_one_line(tmp_path, override, message):
    result = kit("curate", str(RECIPE), "--out", str(tmp_path / "x"), "--set", override)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_key_in_the_recipe_file(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: x\nsources: [{path: kit:samples/quickstart.jsonl}]\nteacher: {backend: dataset, modle: y}\n")
    result = kit("curate", str(recipe))
    assert result.returncode == 2
    assert "teacher.modle: unknown key (did you mean 'model'?)" in result.stderr
    # a key like no known one: the known ones are listed
    recipe.write_text("name: x\nsources: [{path: kit:samples/quickstart.jsonl}]\nteacher: {backend: dataset, qqq: y}\n")
    said = " ".join(kit("curate", str(recipe)).stderr.split())
    assert "teacher.qqq: unknown key (known: backend, model, " in said, said


def test_every_error_of_a_recipe_is_named_on_its_one_line(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: x\nsources: [{path: kit:samples/quickstart.jsonl, limt: 3}]\n"
                      "teacher: {backend: dataset, modle: y}\ncurate: {max_per_problem: 0}\n")
    result = kit("curate", str(recipe))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    said = " ".join(result.stderr.split())
    for error in ("sources.0.limt: unknown key (did you mean 'limit'?)", "teacher.modle: unknown key",
                  "curate.max_per_problem: Input should be greater than or equal to 1"):
        assert error in said, said


def test_missing_column_names_it(tmp_path):
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"problem": "1+1?", "domain": "math", "answer": "2", "solution": "\\boxed{2}"}) + "\n")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: x\nsources: [{{path: {data}}}]\noutput: {{dir: {tmp_path / 'out'}}}\n")
    result = kit("curate", str(recipe))
    assert result.returncode == 2
    assert "missing column 'reasoning'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_answers_typed_as_numbers_or_lists_are_stored_as_text(tmp_path):
    """AIME sets type the answer as an integer, some sets list every accepted answer, NuminaMath-1.5 writes `proof`
    where a problem has no answer: curation stores the first two as the contract's text (writing them crashed) and
    verifies against any listed answer; the proof row has no gold (`no_ground_truth`), boxed word or not."""
    def reply(answer):
        return f"<think>\nwork\n</think>\n\n$\\boxed{{{answer}}}$"

    aime, listed = tmp_path / "aime.parquet", tmp_path / "listed.parquet"
    Dataset.from_list([{"Problem": "What is 6 times 7?", "Answer": 42, "response": reply("42")},
                       {"Problem": "What is 5 times 5?", "Answer": 25, "response": reply("52")}]).to_parquet(str(aime))
    Dataset.from_list([{"problem": "Half of 1?", "answers": ["\\frac{1}{2}", "0.5"], "response": reply("0.5")},
                       {"problem": "A third of 1?", "answers": ["\\frac{1}{3}"], "response": reply("0.5")},
                       {"problem": "Prove that 1 < 2.", "answers": ["proof"], "response": reply("proof")}],
                      ).to_parquet(str(listed))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "typed", "teacher": {"backend": "dataset", "model": "some/reasoner"}, "verify": {"workers": 2},
        "sources": [{"path": str(aime), "domain": "math",
                     "columns": {"problem": "Problem", "ground_truth_answer": "Answer", "reply": "response"}},
                    {"path": str(listed), "domain": "math",
                     "columns": {"ground_truth_answer": "answers", "reply": "response"}}],
        "output": {"dir": str(tmp_path / "out")}}))
    result = kit("curate", str(recipe))
    assert result.returncode == 0, result.stderr
    metadata = load_dataset(str(tmp_path / "out"), "metadata", split="train")
    assert list(zip(metadata["problem"], metadata["ground_truth_answer"], strict=True)) == [
        ("What is 6 times 7?", "42"), ("Half of 1?", '["\\\\frac{1}{2}", "0.5"]')]
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert sorted((r["row"], r["reason"]) for r in stats["rejected_rows"]) == [
        (1, "wrong_answer"), (3, "wrong_answer"), (4, "no_ground_truth")]


def test_a_problem_two_trace_sets_share_keeps_the_trace_that_verifies(tmp_path):
    """Public trace sets overlap (OpenThoughts, Bespoke-Stratos and Sky-T1 all draw on NuminaMath): when the first
    source's trace of a problem is wrong and the second's right, the right one is kept (before, the second was
    dropped as a duplicate before verification, and the problem lost); `max_per_problem` keeps one trace."""
    problem = "A garden is 3 meters longer than it is wide, and its area is 88 square meters. Its perimeter?"
    for name, (reasoning, answer) in {"a": ("w = 8, I mis-add", 36), "b": ("w = 8, 2(8+11) = 38", 38)}.items():
        Dataset.from_list([{"problem": problem if name == "a" else problem.replace(". ", ".  "),
                            "answer": "38", "reasoning": reasoning, "solution": f"$\\boxed{{{answer}}}$"}],
                          ).to_parquet(str(tmp_path / f"{name}.parquet"))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "overlap", "teacher": {"backend": "dataset", "model": "some/reasoner"}, "verify": {"workers": 1},
        "sources": [{"path": str(tmp_path / f"{n}.parquet"), "name": f"set-{n}", "domain": "math",
                     "columns": {"ground_truth_answer": "answer"}} for n in "ab"],
        "curate": {"max_per_problem": 1}, "output": {"dir": str(tmp_path / "out")}}))
    result = kit("curate", str(recipe))
    assert result.returncode == 0, result.stderr
    metadata = load_dataset(str(tmp_path / "out"), "metadata", split="train")
    assert (metadata["source"], metadata["reasoning"]) == (["set-b"], ["w = 8, 2(8+11) = 38"])
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert [(r["source"], r["stage"], r["reason"]) for r in stats["rejected_rows"]] == [
        ("set-a", "verify", "wrong_answer")]


def test_a_checker_is_taken_only_from_a_mapped_column(tmp_path):
    """CodeContests+ names its C++ (testlib) checker `checker`: unmapped, it stays out of the tests, which are
    compared as usual; mapped, a checker that is not Python makes the row `invalid_test_cases`."""
    source = tmp_path / "plus.parquet"
    reply = "<think>\nadd\n</think>\n\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    Dataset.from_list([{"description": "Read two integers and print their sum.", "response": reply,
                        "tests": [{"input": "1 2\n", "output": "3\n"}],
                        "checker": '#include "testlib.h"\nint main() {}\n'}]).to_parquet(str(source))
    for name, columns in [("plain", {}), ("mapped", {"checker": "checker"})]:
        recipe = tmp_path / f"{name}.yaml"
        recipe.write_text(yaml.safe_dump({
            "name": name, "teacher": {"backend": "dataset", "model": "some/reasoner"}, "verify": {"workers": 2},
            "sources": [{"path": str(source), "domain": "code", "columns": {
                "problem": "description", "test_cases": "tests", "reply": "response", **columns}}],
            "output": {"dir": str(tmp_path / name)}}))
        result = kit("curate", str(recipe))
        assert result.returncode == 0, result.stderr
    metadata = load_dataset(str(tmp_path / "plain"), "metadata", split="train")
    assert json.loads(metadata["test_cases"][0]) == {"inputs": ["1 2\n"], "outputs": ["3\n"]}
    assert metadata["verified"] == [True]
    stats = json.loads((tmp_path / "mapped" / "stats.json").read_text())
    assert [(r["stage"], r["reason"]) for r in stats["rejected_rows"]] == [("validate", "invalid_test_cases")]
    assert "checker is not Python" in stats["rejected_rows"][0]["detail"]


def test_a_verl_style_source_reads_its_chat_prompt_and_nested_answer(tmp_path):
    """verl's RL layout (DAPO-Math-17k, Skywork-OR1): the problem is a chat in `prompt`, the answer nested in
    `reward_model`; here with a reply column, curated by the dataset teacher."""
    system = "You are a careful mathematician."

    def row(question, answer, reply, turns=None):
        return {"data_source": "math_dapo", "ability": "MATH", "response": reply,
                "prompt": turns or [{"role": "system", "content": system}, {"role": "user", "content": question}],
                "reward_model": {"ground_truth": answer, "style": "rule"}, "extra_info": {"index": answer}}

    rows = [row("What is 6 times 7?", "42", "<think>\n6 * 7 = 42\n</think>\n\n$\\boxed{42}$"),
            row("What is 8 times 9?", "72", "<think>\n8 * 9 = 81\n</think>\n\n$\\boxed{81}$"),
            row("What is 2 times 3?", "6", "<think>\n6\n</think>\n\n$\\boxed{6}$",
                turns=[{"role": "system", "content": system}])]  # a chat without a question
    source = tmp_path / "dapo.parquet"
    Dataset.from_list(rows).to_parquet(str(source))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "verl", "teacher": {"backend": "dataset", "model": "some/reasoner"}, "verify": {"workers": 2},
        "sources": [{"path": str(source), "domain": "math",
                     "columns": {"problem": "prompt", "ground_truth_answer": "reward_model.ground_truth",
                                 "reply": "response"}}],
        "output": {"dir": str(tmp_path / "out")}}))
    result = kit("curate", str(recipe))
    assert result.returncode == 0, result.stderr
    metadata = load_dataset(str(tmp_path / "out"), "metadata", split="train")
    assert metadata["problem"] == ["What is 6 times 7?"] and metadata["ground_truth_answer"] == ["42"]
    messages = load_dataset(str(tmp_path / "out"), split="train")["messages"][0]
    assert messages[0] == {"role": "system", "content": system}  # the chat's own system turn
    assert messages[1]["content"].startswith("What is 6 times 7?")
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert {(r["row"], r["stage"], r["reason"]) for r in stats["rejected_rows"]} == {
        (1, "verify", "wrong_answer"), (2, "validate", "missing_field")}


def test_a_chat_split_over_prompt_and_completion_columns(tmp_path):
    """TRL's conversational prompt-completion form keeps a chat in two columns: `messages: [prompt, completion]` joins
    their turns, and the dataset teacher reads the chat as it reads one column; a part that holds no turns is
    `invalid_chat`."""
    def row(question, reply, answer):
        return {"prompt": [{"role": "user", "content": question}],
                "completion": [{"role": "assistant", "content": reply}], "answer": answer}

    rows = [row("What is 6 times 7?", "<think>\n6 * 7 = 42\n</think>\n\n$\\boxed{42}$", "42"),
            row("What is 8 times 9?", "<think>\n8 * 9 = 81\n</think>\n\n$\\boxed{81}$", "72"),
            {"prompt": [{"role": "user", "content": "What is 1 plus 1?"}], "completion": [], "answer": "2"}]
    source = tmp_path / "prompt-completion.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows) + json.dumps(
        {"prompt": "What is 2 plus 2?", "completion": " 4", "answer": "4"}) + "\n")  # the standard (text) form
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "pc", "teacher": {"backend": "dataset", "model": "some/reasoner"}, "verify": {"workers": 2},
        "sources": [{"path": str(source), "domain": "math",
                     "columns": {"messages": ["prompt", "completion"], "ground_truth_answer": "answer"}}],
        "output": {"dir": str(tmp_path / "out")}}))
    result = kit("curate", str(recipe))
    assert result.returncode == 0, result.stderr
    metadata = load_dataset(str(tmp_path / "out"), "metadata", split="train")
    assert metadata["problem"] == ["What is 6 times 7?"] and metadata["reasoning"] == ["6 * 7 = 42"]
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert {(r["row"], r["reason"]) for r in stats["rejected_rows"]} == {(1, "wrong_answer"), (2, "empty_reply"),
                                                                        (3, "invalid_chat")}
