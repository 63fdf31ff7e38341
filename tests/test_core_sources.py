"""Row sources (`kit.core.sources`) and the bundled benchmarks (`kit.benchmarks`), on local files only."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import datasets
import pytest

from kit.benchmarks import BENCHMARKS, benchmark_problems, load_benchmark
from kit.core.schema import METADATA_FEATURES, problem_id
from kit.core.sources import ChatError, SourceError, chat_problem, iter_rows, resolve_package_path

ROWS = [{"question": f"What is {i} + {i}?", "answer": str(2 * i), "level": i} for i in range(5)]


def write_jsonl(path: Path, rows: list[dict], opener=open) -> Path:
    with opener(path, "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return path


# --------------------------------------------------------------------------------------------------
# Files


def test_jsonl(tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    assert list(iter_rows(str(path))) == ROWS


def test_jsonl_gz_and_blank_lines(tmp_path):
    path = tmp_path / "rows.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(ROWS[0]) + "\n\n" + json.dumps(ROWS[1]) + "\n")
    assert list(iter_rows(str(path))) == ROWS[:2]


def test_json_array_and_json_lines(tmp_path):
    array = tmp_path / "array.json"
    array.write_text(json.dumps(ROWS), encoding="utf-8")
    lines = write_jsonl(tmp_path / "lines.json", ROWS)
    assert list(iter_rows(str(array))) == ROWS
    assert list(iter_rows(str(lines))) == ROWS


def test_bad_jsonl_line_names_path_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps(ROWS[1]) + "\n{not json\n", encoding="utf-8")
    rows = iter_rows(str(path))
    assert next(rows) == ROWS[0]  # rows stream: the bad line is only met when reached
    with pytest.raises(SourceError) as err:
        list(rows)
    message = str(err.value)
    assert str(path) in message and "line 3" in message and "\n" not in message


def test_jsonl_row_that_is_not_an_object(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text('{"a": 1}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"line 2: expected a JSON object"):
        list(iter_rows(str(path)))


def test_limit_stops_before_a_later_bad_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps(ROWS[1]) + "\n{broken\n", encoding="utf-8")
    assert list(iter_rows(str(path), limit=2)) == ROWS[:2]
    assert list(iter_rows(str(path), limit=1)) == ROWS[:1]


def test_parquet(tmp_path):
    path = tmp_path / "rows.parquet"
    datasets.Dataset.from_list(ROWS).to_parquet(str(path))
    assert list(iter_rows(str(path))) == ROWS
    assert len(list(iter_rows(str(path), limit=3))) == 3


def test_column_mapping(tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    rows = list(iter_rows(str(path), columns={"problem": "question", "ground_truth_answer": "answer"}))
    assert rows[1] == {"problem": "What is 1 + 1?", "ground_truth_answer": "2", "level": 1}
    # one input column may feed two kit columns
    rows = list(iter_rows(str(path), columns={"problem": "question", "ground_truth_solution": "question"}))
    assert rows[1]["problem"] == rows[1]["ground_truth_solution"] == "What is 1 + 1?" and "question" not in rows[1]


def test_column_mapping_of_a_missing_column(tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    with pytest.raises(SourceError, match=r"no column 'prompt'"):
        list(iter_rows(str(path), columns={"problem": "prompt"}))


# verl's RL layout (DAPO-Math-17k, Skywork-OR1, ...): the answer nested in `reward_model`
VERL = [{"data_source": "math_dapo", "ability": "MATH", "question": f"What is {i} + {i}?",
         "reward_model": {"ground_truth": str(2 * i), "style": "rule-lighteval/MATH_v2"},
         "extra_info": {"index": str(i), "split": "train" if i else "test"}} for i in range(3)]


def test_a_problem_chat_gives_its_last_user_turn():
    """A problem column holding a chat (verl's `prompt`; Llama-Nemotron-Post-Training-Dataset's `input`, "a user turn
    followed by zero or more turns"): the problem is the last user turn - the one its `output` answers - not the first
    question of an earlier exchange; its system turn comes with it."""
    turns = [{"role": "system", "content": "detailed thinking on"},
             {"role": "user", "content": "A square has perimeter 36. What is its side length?"},
             {"role": "assistant", "content": "9"}, {"role": "user", "content": "And its area?"}]
    assert chat_problem(turns) == ("And its area?", "detailed thinking on")
    assert chat_problem(json.dumps(turns[1:3])) == ("A square has perimeter 36. What is its side length?", None)
    with pytest.raises(ChatError, match="no user turn"):
        chat_problem(turns[:1])


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_nested_fields_are_named_by_their_path(tmp_path, suffix):
    path = write_jsonl(tmp_path / "rows.jsonl", VERL)
    if suffix == "parquet":  # the structs as Arrow stores them
        path = tmp_path / "rows.parquet"
        datasets.Dataset.from_list(VERL).to_parquet(str(path))
    rows = list(iter_rows(str(path), columns={"problem": "question", "ground_truth_answer": "reward_model.ground_truth"},
                          where={"extra_info.split": "train"}))
    assert [(r["problem"], r["ground_truth_answer"]) for r in rows] == [("What is 1 + 1?", "2"), ("What is 2 + 2?", "4")]
    assert rows[0]["reward_model"]["style"] == "rule-lighteval/MATH_v2"  # the struct itself is kept
    with pytest.raises(SourceError, match=r"no column 'reward_model.answer'"):
        list(iter_rows(str(path), columns={"ground_truth_answer": "reward_model.answer"}))


def test_a_nested_field_of_a_null_struct_or_a_later_row_without_it_is_none(tmp_path):
    rows = [VERL[0], {**VERL[1], "reward_model": None}, {k: v for k, v in VERL[2].items() if k != "reward_model"}]
    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    read = list(iter_rows(str(path), columns={"ground_truth_answer": "reward_model.ground_truth"}))
    assert [r["ground_truth_answer"] for r in read] == ["0", None, None]


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_a_number_in_a_path_indexes_a_list(tmp_path, suffix):
    """A field inside a list column - a chat turn's reference answer, `messages.0.info.reference_answer` - by its
    index (-1: the last); past the end of a row's list it is None, in the first row too (a list may be empty)."""
    def chat(question, answer, reply):
        return {"messages": [{"role": "user", "content": question, "info": {"reference_answer": answer}},
                             {"role": "assistant", "content": reply, "info": {"reference_answer": answer}}]}
    rows = [chat("What is 2 + 2?", "4", "<think>\n2+2\n</think>\n<answer>\n\\boxed{4}\n</answer>"),
            {"messages": [{"role": "user", "content": "Hi", "info": {"reference_answer": None}}]}]
    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    if suffix == "parquet":
        path = tmp_path / "rows.parquet"
        datasets.Dataset.from_list(rows).to_parquet(str(path))
    read = list(iter_rows(str(path), columns={"ground_truth_answer": "messages.0.info.reference_answer",
                                              "reply": "messages.-1.content", "second": "messages.1.role"}))
    assert [(r["ground_truth_answer"], r["second"]) for r in read] == [("4", "assistant"), (None, None)]
    assert read[0]["reply"].endswith("</answer>") and read[1]["reply"] == "Hi"
    with pytest.raises(SourceError, match=r"no column 'messages.0.gold'"):
        list(iter_rows(str(path), columns={"ground_truth_answer": "messages.0.gold"}))
    first_short = list(iter_rows(str(path), columns={"fourth": "messages.3.content"}))  # no row has a 4th turn
    assert [r["fourth"] for r in first_short] == [None, None]


def test_a_path_reads_through_a_column_of_json_text(tmp_path):
    """PrimeIntellect's RL datasets keep a math row's answer in `verification_info`, a string column of JSON text
    (`{"ground_truth": "4"}`): the path reads through it as through a struct; a string that is not JSON has no
    fields."""
    rows = [{"prompt": "What is 2 + 2?", "task_type": "verifiable_math",
             "verification_info": json.dumps({"ground_truth": "4"})},
            {"prompt": "Say hi.", "task_type": "chat", "verification_info": "{not json"}]
    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    read = list(iter_rows(str(path), columns={"problem": "prompt", "ground_truth_answer": "verification_info.ground_truth"},
                          where={"task_type": "verifiable_math"}))
    assert [(r["problem"], r["ground_truth_answer"]) for r in read] == [("What is 2 + 2?", "4")]
    chat = write_jsonl(tmp_path / "chat.jsonl", rows[1:])
    with pytest.raises(SourceError, match=r"no column 'verification_info.ground_truth'"):
        list(iter_rows(str(chat), columns={"ground_truth_answer": "verification_info.ground_truth"}))


def test_where_keeps_matching_rows_before_the_limit(tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    levels = [row["level"] for row in ROWS]
    assert [r["level"] for r in iter_rows(str(path), where={"level": [1, 3]})] == [v for v in levels if v in (1, 3)]
    assert [r["level"] for r in iter_rows(str(path), where={"level": 1}, limit=1)] == [1]
    with pytest.raises(SourceError, match=r"no column 'subset'"):
        list(iter_rows(str(path), where={"subset": "x"}))


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        list(iter_rows(str(tmp_path / "missing.jsonl")))
    other = tmp_path / "rows.xlsx"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"unsupported file type \(expected .jsonl, .jsonl.gz, .json, .parquet, "
                       r"\.csv, \.tsv\)$"):
        list(iter_rows(str(other)))


def test_csv_and_tsv_files(tmp_path):
    """A CSV file (GPQA ships its configs as `gpqa_diamond.csv`) reads as `datasets`' csv builder reads it for a
    dataset folder: a header row, typed columns, an empty cell as None; a TSV file the same, split at tabs."""
    table = tmp_path / "gpqa_diamond.csv"
    table.write_text('Question,Correct Answer,Explanation,level\n"What is 1 + 1, in words?",two,,1\n'
                     "Which gas?,argon,noble,2\n", encoding="utf-8")
    expected = [{"Question": "What is 1 + 1, in words?", "Correct Answer": "two", "Explanation": None, "level": 1},
                {"Question": "Which gas?", "Correct Answer": "argon", "Explanation": "noble", "level": 2}]
    assert list(iter_rows(str(table))) == expected
    assert list(iter_rows(str(table), columns={"problem": "Question"}, where={"level": 2}, limit=1)) == [
        {"Correct Answer": "argon", "Explanation": "noble", "level": 2, "problem": "Which gas?"}]
    tsv = tmp_path / "rows.TSV"
    tsv.write_text("Question\tCorrect Answer\tExplanation\tlevel\nWhat is 1 + 1, in words?\ttwo\t\t1\n"
                   "Which gas?\targon\tnoble\t2\n", encoding="utf-8")
    assert list(iter_rows(str(tsv))) == expected
    broken = tmp_path / "broken.csv"
    broken.write_text('a,b\n"1,2\n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"broken.csv: cannot read CSV \(ParserError: ") as err:
        list(iter_rows(str(broken)))
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------------------------------
# Dataset folders and the Hub


def write_dataset_folder(folder: Path) -> tuple[list[dict], list[dict]]:
    """A folder in the layout `kit curate` writes: README configs, data/ and metadata/ shards."""
    default = [{"messages": [{"role": "user", "content": f"q{i}"}], "problem_id": f"id{i}"} for i in range(4)]
    metadata = [{"problem": f"q{i}", "reasoning": f"r{i}", "solution": f"s{i}"} for i in range(6)]
    for name, rows in (("data", default), ("metadata", metadata)):
        for shard in range(2):
            part = rows[shard::2]
            datasets.Dataset.from_list(part).to_parquet(str(folder / name / f"train-0000{shard}-of-00002.parquet"))
    (folder / "README.md").write_text(
        "---\nconfigs:\n"
        "- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*.parquet\n"
        "- config_name: metadata\n  data_files:\n  - split: train\n    path: metadata/train-*.parquet\n"
        "---\n# A kit dataset\n", encoding="utf-8")
    return default, metadata


def test_dataset_folder_configs(tmp_path):
    default, metadata = write_dataset_folder(tmp_path)
    by_id = sorted(iter_rows(str(tmp_path)), key=lambda row: row["problem_id"])
    assert by_id == default
    rows = list(iter_rows(str(tmp_path), config="metadata", columns={"question": "problem"}))
    assert sorted(row["question"] for row in rows) == [row["problem"] for row in metadata]
    assert len(list(iter_rows(str(tmp_path), config="metadata", limit=4))) == 4


def test_dataset_folder_errors_are_one_line(tmp_path):
    write_dataset_folder(tmp_path)
    with pytest.raises(SourceError) as err:
        list(iter_rows(str(tmp_path), config="nope"))
    assert str(tmp_path) in str(err.value) and "nope" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(SourceError, match="split 'test'"):
        list(iter_rows(str(tmp_path), split="test"))


def test_hub_id_error_is_a_source_error(monkeypatch):
    """Offline, the fix is to reach the Hub; a repo the Hub does not show may be private or gated: log in."""
    import httpx
    from huggingface_hub.errors import RepositoryNotFoundError

    from kit.core.sources import not_found

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(SourceError, match=r"^someorg/no-such-dataset: no such folder, and no Hub dataset "
                                          r"someorg/no-such-dataset could be reached \(ConnectionError: .*\) - reach "
                                          r"the Hub \(HF_HUB_OFFLINE unset, the network, HF_ENDPOINT\), or make it "
                                          r"with kit curate RECIPE$"):
        list(iter_rows("someorg/no-such-dataset"))
    url = "https://huggingface.co/api/datasets/someorg/private"
    missing = RepositoryNotFoundError("404 Repository Not Found",
                                      response=httpx.Response(404, request=httpx.Request("GET", url)))
    assert not_found("someorg/private", "dataset", missing).endswith(
        "- make it with kit curate RECIPE, or give a Hub dataset id (org/name); a private or gated Hub dataset needs "
        "`hf auth login` (and its terms accepted)")
    # a shipped recipe's placeholder (your-org/...) is named as one, whatever else failed
    assert not_found("your-org/math-8k", "dataset", missing).endswith(
        "- your-org/math-8k is a placeholder in the recipe: put in the dataset you made (the recipe's header says how) "
        "with --set or in a copy of the recipe")


@pytest.mark.parametrize("command, expected", [
    (["train", "recipes/sft/tiny-cpu.yaml", "--dry-run", "--set", "data.mixture.0.path={tmp}/out/quickstart"],
     "error: data.mixture: {tmp}/out/quickstart: no such folder - make it with kit curate "
     "recipes/data/quickstart.yaml"),
    (["train", "recipes/sft/tiny-cpu.yaml", "--dry-run", "--set", "data.mixture.0.path=out/no-such-folder"],
     "error: data.mixture: out/no-such-folder: no such folder, and no Hub dataset out/no-such-folder could be "
     "reached (OfflineModeIsEnabled: "),
    (["verify", "{tmp}/quickstart", "--out", "{tmp}/v.jsonl"],
     "error: {tmp}/quickstart: no such folder - make it with kit curate recipes/data/quickstart.yaml"),
    (["verify", "out/quickstart-x", "--out", "{tmp}/v.jsonl"],
     "error: out/quickstart-x: no such folder, and no Hub dataset out/quickstart-x could be reached"),
    (["eval", "recipes/eval/tiny-cpu.yaml", "--model", "{tmp}/out/tiny-cpu", "--out", "{tmp}/eval"],
     "error: --model {tmp}/out/tiny-cpu: no such folder - make it with kit train recipes/sft/tiny-cpu.yaml"),
    (["eval", "recipes/eval/tiny-cpu.yaml", "--model", "out/no-such-model", "--out", "{tmp}/eval"],
     "error: --model out/no-such-model: no such folder, and no Hub model out/no-such-model could be reached"),
])
def test_a_missing_folder_is_one_line_naming_the_fix(tmp_path, command, expected):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "kit.cli", *(c.format(tmp=tmp_path) for c in command)], cwd=root,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(expected.format(tmp=tmp_path)), proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------------------
# kit: paths and bundled benchmarks


def test_kit_paths():
    path = resolve_package_path("kit:benchmarks/math500.jsonl")
    assert path.is_file() and path.parent.name == "benchmarks"
    rows = list(iter_rows("kit:benchmarks/math500.jsonl", limit=3, columns={"ground_truth_answer": "answer"}))
    assert len(rows) == 3 and "ground_truth_answer" in rows[0] and "answer" not in rows[0]
    assert len(list(iter_rows("kit:benchmarks/humaneval.jsonl.gz", limit=2))) == 2
    with pytest.raises(SourceError, match="no such file bundled"):
        list(iter_rows("kit:samples/missing.jsonl"))
    with pytest.raises(SourceError, match="inside the kit's data folder"):
        resolve_package_path("kit:../recipes.py")


def test_benchmarks_have_the_metadata_shape():
    sizes = {name: len(load_benchmark(name)) for name in BENCHMARKS}
    assert sizes == {"math500": 500, "aime24": 30, "amc23": 40, "humaneval": 164}
    shape = {"problem_id", "problem", "domain", "source", "ground_truth_solution", "ground_truth_answer",
             "test_cases", "starter_code"}
    for name in BENCHMARKS:
        for row in load_benchmark(name):
            assert set(row) == shape and set(row) <= set(METADATA_FEATURES)
            assert row["source"] == name and row["problem_id"] == problem_id(row["problem"])
            assert row["domain"] == ("code" if name == "humaneval" else "math")
            assert row["ground_truth_answer"] is None or isinstance(row["ground_truth_answer"], str)


def test_benchmark_answers_and_code_fields():
    amc = load_benchmark("amc23")
    assert amc[0]["ground_truth_answer"] == "27" and amc[0]["ground_truth_solution"] is None
    assert {row["ground_truth_answer"] for row in amc} >= {"-1", "3159"}
    assert load_benchmark("aime24")[0]["ground_truth_answer"] == "204"
    assert load_benchmark("math500")[0]["ground_truth_answer"] == "\\left( 3, \\frac{\\pi}{2} \\right)"
    human = load_benchmark("humaneval")[0]
    assert human["problem"] == human["starter_code"] and human["problem"].startswith("from typing import List")
    assert human["ground_truth_solution"].startswith(human["problem"])
    tests = json.loads(human["test_cases"])
    assert tests["entry_point"] == "has_close_elements" and "def check(candidate)" in tests["test_code"]
    namespace: dict = {}
    exec(human["ground_truth_solution"] + tests["test_code"], namespace)  # the bundled solution passes
    namespace["check"](namespace[tests["entry_point"]])


def test_benchmark_rows_are_fresh_and_names_checked():
    load_benchmark("aime24")[0]["problem"] = "changed"
    assert load_benchmark("aime24")[0]["problem"] != "changed"
    problems, origin = benchmark_problems("aime24")
    assert problems[0].startswith("Every morning Aya")
    assert origin == {"hub_id": "HuggingFaceH4/aime_2024", "source": "bundled", "path": "kit:benchmarks/aime24.jsonl"}
    with pytest.raises(ValueError, match="unknown benchmark 'gsm8k'"):
        load_benchmark("gsm8k")


def test_count_rows_says_how_many_rows_a_local_file_yields(tmp_path):
    """A progress bar's total: what `iter_rows` yields, where a file says it cheaply; None where it does not."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kit.core.sources import count_rows

    lines = tmp_path / "rows.jsonl"
    lines.write_text("".join(json.dumps(row) + "\n\n" for row in ROWS))  # blank lines are no rows
    packed = write_jsonl(tmp_path / "rows.jsonl.gz", ROWS, opener=gzip.open)
    table = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), table)
    array = tmp_path / "rows.json"
    array.write_text(json.dumps(ROWS))
    for path in (lines, packed, table, "kit:samples/quickstart.jsonl"):
        assert count_rows(str(path)) == len(list(iter_rows(str(path)))), path
    assert [count_rows(p) for p in (str(array), str(tmp_path), "org/name", str(tmp_path / "none.jsonl"))] == [None] * 4
