"""The `dataset` teacher on raw model replies (project issue 16): a reply column with `<think>` or Sky-T1 tags,
OpenAI `messages` and ShareGPT `conversations` columns. Every shape goes through `split_reply`, the splitter
of generated replies, so unusable traces are rejected at `generate` for the reasons generation uses."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kit.core.chat import split_reply
from kit.core.sources import Chat, ChatError, read_chat

ROOT = Path(__file__).resolve().parent.parent
INSTRUCTION = "Return your final response within \\boxed{}."
SYSTEM = ("Your role as an assistant involves thoroughly exploring questions through a systematic long thinking "
          "process before providing the final precise and accurate solutions.")

# (problem, gold answer) - original problems, far from the benchmarks the kit decontaminates against
PROBLEMS = [
    ("A baker packs 7 muffins into each box and fills 9 boxes. How many muffins does she pack?", "63"),
    ("Mira reads 12 pages every evening for 5 evenings. How many pages does she read in total?", "60"),
    ("A rope 45 meters long is cut into pieces of 9 meters each. How many pieces are there?", "5"),
    ("A jar holds 3 red marbles for every 4 blue marbles and has 28 marbles. How many are red?", "12"),
    ("A square garden plot has a perimeter of 36 feet. What is its area in square feet?", "81"),
]


def sky_t1(thought: str, solution: str | None, closed: bool = True) -> str:
    text = f"<|begin_of_thought|>\n\n{thought}\n\n<|end_of_thought|>\n\n"
    if solution is not None:
        text += f"<|begin_of_solution|>\n\n{solution}\n\n" + ("<|end_of_solution|>" if closed else "")
    return text


# Sky-T1 replies, one per row: (problem index, reply, fate) with fate "kept" or (stage, reason)
SKY_T1_ROWS = [
    (0, sky_t1("7 boxes... no, 9 boxes of 7: 9 * 7 = 63.", "She packs $9 \\cdot 7 = \\boxed{63}$ muffins."), "kept"),
    (1, sky_t1("12 pages for 5 evenings is 12 + 5... I'll say 70.", "In total $\\boxed{70}$ pages."),
     ("verify", "wrong_answer")),
    (2, sky_t1("45 / 9 = 5 pieces.", "Cutting 45 m into 9 m pieces gives $45 / 9 = ", closed=False),
     ("generate", "truncated")),
    (3, "<|begin_of_thought|>\n\nThe ratio is 3:4, so 7 parts make 28 marbles, each part is", ("generate", "unclosed_think")),
    (4, sky_t1("Side 36 / 4 = 9, area 81.", "The side is $9$ feet, so the area is $\\boxed{81}$."), "kept"),
    (4, sky_t1("Side 9, area 81 again.", ""), ("generate", "no_answer")),
    (0, sky_t1("Count by boxes: 7 + 7 + ... nine times is 63.", "$\\boxed{63}$"), "kept"),
]

# <think> replies: (problem index, reply, finish_reason, fate)
THINK_ROWS = [
    (0, "<think>\n9 boxes of 7 muffins: 63.\n</think>\n\nShe packs $\\boxed{63}$ muffins.", "stop", "kept"),
    (1, "<think>\n12 * 5 = 50?\n</think>\n\nShe reads $\\boxed{50}$ pages.", "stop", ("verify", "wrong_answer")),
    (2, "<think>\n45 divided by 9 is", None, ("generate", "unclosed_think")),
    (3, "<think>\n3/7 of 28 is 12.\n</think>\n\nThere are $\\boxed{", "length", ("generate", "truncated")),
    # the chat template opened <think> itself (DeepSeek-R1-Distill): only the closing tag is in the reply
    (4, "The side is 36 / 4 = 9, so the area is 81.\n</think>\n\nThe area is $\\boxed{81}$ square feet.", "stop", "kept"),
    (3, "<think>\nThe red marbles are 3/7 of 28.\n</think>", "stop", ("generate", "no_answer")),
]


def kit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kit.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def curate(tmp_path: Path, data: Path, columns: dict[str, str], **format_: str) -> Path:
    out = tmp_path / "out"
    recipe = {"name": "raw-traces", "sources": [{"path": str(data), "domain": "math", "name": "raw",
                                                  "columns": columns}],
              "teacher": {"backend": "dataset", "model": "some/reasoner"},
              "verify": {"workers": 2}, "format": format_, "output": {"dir": str(out)}}
    path = tmp_path / "recipe.yaml"
    path.write_text(json.dumps(recipe))  # JSON is YAML
    result = kit("curate", str(path))
    assert result.returncode == 0, result.stderr
    return out


def config_rows(out: Path, folder: str) -> list[dict]:
    """The rows of one config of a dataset folder (read from its parquet shards: `datasets` would cache them)."""
    return [row for shard in sorted((out / folder).glob("train-*.parquet")) for row in pq.read_table(shard).to_pylist()]


def check(out: Path, fates: list, problem_of: list[int]) -> tuple[list[dict], list[dict], dict]:
    """The kept rows are exactly those marked kept, the others are rejected where and why `fates` says, and
    stats.json's stages and rejections add up; returns (metadata rows, default rows, stats)."""
    stats = json.loads((out / "stats.json").read_text())
    metadata, default = config_rows(out, "metadata"), config_rows(out, "data")
    kept = [i for i, fate in enumerate(fates) if fate == "kept"]
    assert [m["problem"] for m in metadata] == [PROBLEMS[problem_of[i]][0] for i in kept]
    assert all(m["verified"] and m["teacher"] == "some/reasoner" for m in metadata)
    assert all(m["reasoning"] and "\\boxed{" in m["solution"] for m in metadata)
    assert not any(tag in m["reasoning"] + m["solution"] for m in metadata
                   for tag in ("<think>", "</think>", "<|begin_of_thought|>", "<|end_of_thought|>",
                               "<|begin_of_solution|>", "<|end_of_solution|>"))
    rejected = {(r["row"], r["stage"], r["reason"]) for r in stats["rejected_rows"]}
    assert rejected == {(i, *fate) for i, fate in enumerate(fates) if fate != "kept"}
    expected: dict[str, dict[str, int]] = {}
    for fate in fates:
        if fate != "kept":
            expected.setdefault(fate[0], {}).setdefault(fate[1], 0)
            expected[fate[0]][fate[1]] += 1
    assert stats["rejections"] == expected
    assert stats["total_rows"] == len(fates) and stats["kept"] == len(kept)
    stages = {s["stage"]: s for s in stats["stages"]}
    assert list(stages) == ["load", "validate", "dedup", "decontaminate", "generate", "verify", "rejection_sampling"]
    for before, after in itertools.pairwise(stats["stages"]):
        assert before["out"] == after["in"], (before, after)
    for stage in stats["stages"]:
        assert stage["in"] - stage["out"] == sum(stats["rejections"].get(stage["stage"], {}).values())
    return metadata, default, stats


def test_sky_t1_reply_column(tmp_path):
    rows = [{"question": PROBLEMS[p][0], "answer": PROBLEMS[p][1], "model_output": reply} for p, reply, _ in SKY_T1_ROWS]
    out = curate(tmp_path, write_jsonl(tmp_path / "sky.jsonl", rows),
                 {"problem": "question", "ground_truth_answer": "answer", "reply": "model_output"})
    fates = [fate for *_, fate in SKY_T1_ROWS]
    metadata, default, stats = check(out, fates, [p for p, *_ in SKY_T1_ROWS])
    assert metadata[0]["reasoning"] == "7 boxes... no, 9 boxes of 7: 9 * 7 = 63."
    assert metadata[0]["solution"] == "She packs $9 \\cdot 7 = \\boxed{63}$ muffins."
    assert json.loads(metadata[0]["generation"]) == {"backend": "dataset", "sample_index": 0, "trace": "reply"}
    assert json.loads(metadata[2]["generation"])["sample_index"] == 1  # the second sample of problem 0
    cut = next(r for r in stats["rejected_rows"] if r["reason"] == "truncated")
    assert "<|end_of_solution|>" in cut["detail"]
    assert [m["role"] for m in default[0]["messages"]] == ["user", "assistant"]
    assert default[0]["messages"][1]["content"] == f"<think>\n{metadata[0]['reasoning']}\n</think>\n\n{metadata[0]['solution']}"


def test_think_reply_column_with_finish_reason(tmp_path):
    rows = [{"problem": PROBLEMS[p][0], "answer": PROBLEMS[p][1], "text": reply, "stop": finish}
            for p, reply, finish, _ in THINK_ROWS]
    out = curate(tmp_path, write_jsonl(tmp_path / "think.jsonl", rows),
                 {"ground_truth_answer": "answer", "reply": "text", "finish_reason": "stop"})
    metadata, _, stats = check(out, [fate for *_, fate in THINK_ROWS], [p for p, *_ in THINK_ROWS])
    assert [m["reasoning"] for m in metadata] == ["9 boxes of 7 muffins: 63.",
                                                 "The side is 36 / 4 = 9, so the area is 81."]
    assert json.loads(metadata[0]["generation"])["finish_reason"] == "stop"
    assert {r["reason"]: r["detail"] for r in stats["rejected_rows"]}["unclosed_think"] == "the reasoning never closes"


def test_reasoning_content_column(tmp_path):
    """An OpenAI-compatible server's reply kept as it came: `content` and `reasoning_content` apart."""
    rows = [{"problem": PROBLEMS[0][0], "answer": "63", "content": "She packs $\\boxed{63}$ muffins.",
             "reasoning_content": "Nine boxes of seven make 63."},
            {"problem": PROBLEMS[1][0], "answer": "60", "content": "", "reasoning_content": "12 * 5 = 60"}]
    out = curate(tmp_path, write_jsonl(tmp_path / "rc.jsonl", rows),
                 {"ground_truth_answer": "answer", "reply": "content"})
    metadata, _, _ = check(out, ["kept", ("generate", "no_answer")], [0, 1])
    assert (metadata[0]["reasoning"], metadata[0]["solution"]) == ("Nine boxes of seven make 63.",
                                                                   "She packs $\\boxed{63}$ muffins.")


def test_list_of_replies_is_a_sample_each(tmp_path):
    """OpenR1-Math-220k ships 2-4 R1 replies per problem in `generations`, their ends in `finish_reasons`: each
    reply is a sample of its own, verified and rejection-sampled like generated samples; a rejected one is
    listed by its row and its place in the list."""
    rows = [{"problem": PROBLEMS[0][0], "answer": "63", "finish": ["stop", "stop", "length"], "generations": [
                "<think>\n9 * 7 = 63.\n</think>\n\nShe packs $\\boxed{63}$ muffins.",
                "<think>\n9 * 7 = 56?\n</think>\n\nShe packs $\\boxed{56}$ muffins.",
                "<think>\nNine sevens are\n</think>\n\nShe packs $\\boxed{"]},
            {"problem": PROBLEMS[1][0], "answer": "60", "finish": ["stop"],
             "generations": ["<think>\n12 * 5 = 60.\n</think>\n\n$\\boxed{60}$"]},
            {"problem": PROBLEMS[2][0], "answer": "5", "finish": [], "generations": []},
            {"problem": PROBLEMS[4][0], "answer": "81", "finish": ["stop", "stop"],  # reasoning apart, per reply
             "generations": ["The area is $\\boxed{81}$.", "It is $\\boxed{18}$."], "thinking": ["9 * 9 = 81", "2 * 9"]},
            {"problem": PROBLEMS[3][0], "answer": "12", "finish": ["stop"],  # two replies, one end: unpaired
             "generations": ["<think>\n3/7 of 28.\n</think>\n\n$\\boxed{12}$", "<think>\n12\n</think>\n\n$\\boxed{12}$"]}]
    rows = [{"thinking": None, **row} for row in rows]  # the others' reasoning is inline
    out = curate(tmp_path, write_jsonl(tmp_path / "openr1.jsonl", rows),
                 {"ground_truth_answer": "answer", "reply": "generations", "finish_reason": "finish",
                  "reasoning_content": "thinking"})
    stats = json.loads((out / "stats.json").read_text())
    metadata = config_rows(out, "metadata")
    assert [(m["problem"], m["reasoning"]) for m in metadata] == [(PROBLEMS[0][0], "9 * 7 = 63."),
                                                                  (PROBLEMS[1][0], "12 * 5 = 60."),
                                                                  (PROBLEMS[4][0], "9 * 9 = 81")]
    assert [json.loads(m["generation"])["sample_index"] for m in metadata] == [0, 0, 0]
    assert json.loads(metadata[0]["generation"])["finish_reason"] == "stop"
    assert {(r["row"], r.get("sample_index"), r["stage"], r["reason"]) for r in stats["rejected_rows"]} == {
        (0, 1, "verify", "wrong_answer"), (0, 2, "generate", "truncated"), (2, 0, "generate", "empty_reply"),
        (3, 1, "verify", "wrong_answer"), (4, None, "validate", "invalid_trace")}
    assert next(r["detail"] for r in stats["rejected_rows"] if r["row"] == 4) == "2 replies but 1 finish_reasons"
    stages = {s["stage"]: (s["in"], s["out"]) for s in stats["stages"]}
    assert stages["load"] == (5, 8) and stages["validate"] == (8, 7) and stats["total_rows"] == 5
    assert stats["kept"] == 3


def test_reasoning_as_a_list_of_parts(tmp_path):
    """s1K ships its reasoning as `thinking_trajectories`, a list of texts, and the answer as `attempt`: s1's SFT
    data joins the parts by newlines, and so does the kit (never the list's JSON text)."""
    rows = [{"question": PROBLEMS[0][0], "solution": "$9 \\cdot 7 = \\boxed{63}$",
             "thinking_trajectories": ["Nine boxes of seven.", "9 * 7 = 63."], "attempt": "She packs $\\boxed{63}$."},
            {"question": PROBLEMS[1][0], "solution": "$\\boxed{60}$", "thinking_trajectories": [],
             "attempt": "$\\boxed{60}$"}]
    out = curate(tmp_path, write_jsonl(tmp_path / "s1k.jsonl", rows),
                 {"problem": "question", "ground_truth_solution": "solution", "reasoning": "thinking_trajectories",
                  "solution": "attempt"})
    metadata = config_rows(out, "metadata")
    assert [m["reasoning"] for m in metadata] == ["Nine boxes of seven.\n9 * 7 = 63."]
    assert config_rows(out, "data")[0]["messages"][-1]["content"] == (
        "<think>\nNine boxes of seven.\n9 * 7 = 63.\n</think>\n\nShe packs $\\boxed{63}$.")
    stats = json.loads((out / "stats.json").read_text())
    assert [(r["row"], r["reason"]) for r in stats["rejected_rows"]] == [(1, "missing_field")]


def sharegpt(problem: str, reply: str, system_turn: bool) -> list[dict]:
    turns = [{"from": "human", "value": problem}, {"from": "gpt", "value": reply}]
    if system_turn:
        return [{"from": "system", "value": SYSTEM}, *turns]
    return [{"from": "user", "value": problem}, {"from": "assistant", "value": reply}]


@pytest.mark.parametrize("system_turn", [False, True], ids=["system-column", "system-turn"])
def test_sharegpt_conversations(tmp_path, system_turn):
    """OpenThoughts-114k / Bespoke-Stratos-17k: `system` + `conversations` (user turn = instruction + problem),
    or the system prompt as a turn of its own; the `conversations` column is read without a mapping."""
    rows = []
    for p, reply, _ in SKY_T1_ROWS:
        row = {"conversations": sharegpt(f"{INSTRUCTION} {PROBLEMS[p][0]}", reply, system_turn), "answer": PROBLEMS[p][1]}
        rows.append(row if system_turn else {"system": SYSTEM, **row})
    columns = {"ground_truth_answer": "answer", **({} if system_turn else {"system_prompt": "system"})}
    out = curate(tmp_path, write_jsonl(tmp_path / "sharegpt.jsonl", rows), columns,
                 system_prompt="The recipe's own system prompt.")
    metadata, default, _ = check(out, [fate for *_, fate in SKY_T1_ROWS], [p for p, *_ in SKY_T1_ROWS])
    for meta, sft in zip(metadata, default, strict=True):
        assert sft["messages"][0] == {"role": "system", "content": SYSTEM}  # the row's, not the recipe's
        assert sft["messages"][1]["content"] == f"{meta['problem']}\n\n{INSTRUCTION}"  # the instruction once
        generation = json.loads(meta["generation"])
        assert generation["trace"] == "chat" and generation["system_prompt"] == SYSTEM


def test_openai_messages(tmp_path):
    """OpenAI-style `messages`, mapped from another column name, with a system turn and multi-turn history:
    the last assistant turn is the reply, the user turn before it the problem, unless `problem` is mapped."""
    rows = []
    for p, reply, _ in SKY_T1_ROWS:
        chat = [{"role": "system", "content": "Think first."},
                {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! Ask away."},
                {"role": "user", "content": PROBLEMS[p][0]}, {"role": "assistant", "content": reply}]
        rows.append({"chat": chat, "gold": PROBLEMS[p][1]})
    rows.append({"chat": [{"role": "user", "content": PROBLEMS[0][0]}], "gold": "63"})  # never answered
    rows.append({"chat": [{"speaker": "user", "text": "?"}], "gold": "1"})  # not a chat
    fates = [*(fate for *_, fate in SKY_T1_ROWS), ("generate", "empty_reply"), ("validate", "invalid_chat")]
    out = curate(tmp_path, write_jsonl(tmp_path / "messages.jsonl", rows),
                 {"messages": "chat", "ground_truth_answer": "gold"})
    _, default, stats = check(out, fates, [p for p, *_ in SKY_T1_ROWS] + [0, 0])
    assert all(sft["messages"][0] == {"role": "system", "content": "Think first."} for sft in default)
    detail = next(r["detail"] for r in stats["rejected_rows"] if r["reason"] == "invalid_chat")
    assert detail.startswith("messages: turn 0 has role None")

    # `problem` mapped: the chat gives only the reply
    named = [{**row, "question": f"Problem {n}: {PROBLEMS[0][0]}"} for n, row in enumerate(rows[:1])]
    (tmp_path / "named").mkdir()
    out = curate(tmp_path / "named", write_jsonl(tmp_path / "named.jsonl", named),
                 {"messages": "chat", "ground_truth_answer": "gold", "problem": "question"})
    assert [m["problem"] for m in config_rows(out, "metadata")] == [f"Problem 0: {PROBLEMS[0][0]}"]


def test_missing_trace_names_the_shapes(tmp_path):
    data = write_jsonl(tmp_path / "rows.jsonl", [{"problem": "1+1?", "domain": "math", "output": "2"}])
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: x\nsources: [{{path: {data}}}]\noutput: {{dir: {tmp_path / 'out'}}}\n")
    result = kit("curate", str(recipe))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "missing column 'reasoning'" in result.stderr and "{reply: your_column}" in result.stderr


@pytest.mark.parametrize(("content", "finish", "expected"), [
    (sky_t1("a", "\\boxed{1}", closed=False), None, ("a", "\\boxed{1}", "truncated")),
    (sky_t1("a", "\\boxed{1}", closed=False), "stop", ("a", "\\boxed{1}", None)),  # the server says it ended
    (sky_t1("a", None), None, ("a", "", "no_answer")),
    (sky_t1("a", None) + "The answer is \\boxed{1}.", None, ("a", "The answer is \\boxed{1}.", None)),
    ("a\n</think>\n\n\\boxed{1}", "stop", ("a", "\\boxed{1}", None)),
    # R1-Zero's template, as the a-m-team distilled datasets write their replies: the answer inside its tags
    ("<think>\na\n</think>\n<answer>\nSo \\boxed{1}.\n</answer>", None, ("a", "So \\boxed{1}.", None)),
    ("<think>\na\n</think>\n<answer>\n</answer>", None, ("a", "", "no_answer")),
    ("<think>\na\n</think>\nIt is <answer>1</answer>.", None, ("a", "It is <answer>1</answer>.", None)),
    # what follows the tags is no part of the answer: a sign-off, or a generation that ran on into another turn
    ("<think>\na\n</think>\n<answer>18</answer> I hope this helps.", None, ("a", "18", None)),
    ("<think>\na\n</think>\n<answer>18</answer>\n\nUser: What is 3+4?", None, ("a", "18", None)),
    # ... and one cut off inside its answer (AM's own filter keeps only replies whose both parts are complete)
    ("<think>\na\n</think>\n<answer>\nSo \\boxed{5}, because 45 divided by", None,
     ("a", "So \\boxed{5}, because 45 divided by", "truncated")),
    ("<think>\na\n</think>\n<answer>\nSo \\boxed{5}.", "stop", ("a", "So \\boxed{5}.", None)),
])
def test_split_reply_of_cut_and_template_opened_replies(content, finish, expected):
    split = split_reply(content, None, finish)
    assert (split.reasoning, split.solution, split.reject) == expected


def test_read_chat_role_formats():
    openai = read_chat([{"role": "system", "content": "S"}, {"role": "user", "content": "Q"},
                        {"role": "assistant", "content": [{"type": "text", "text": "A"}], "reasoning_content": "R"}])
    assert openai == Chat("S", "Q", "A", "R")
    sharegpt = read_chat(json.dumps([{"from": "system", "value": "S"}, {"from": "human", "value": "Q"},
                                     {"from": "gpt", "value": "A"}]))  # a chat stored as JSON text
    assert sharegpt == Chat("S", "Q", "A")
    assert read_chat([{"from": "user", "value": "Q"}]).reply is None
    for field in ("reasoning", "thinking"):  # vLLM's name since the rename; gpt-oss chat templates'
        assert read_chat([{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A", field: "R"}]) == \
            Chat(None, "Q", "A", "R")
    with pytest.raises(ChatError, match="turn 1 has role 'narrator'"):
        read_chat([{"role": "user", "content": "Q"}, {"role": "narrator", "content": "x"}])
    with pytest.raises(ChatError, match="list of turns"):
        read_chat({"role": "user"})


def test_a_reasoning_column_beside_a_chat_without_a_solution_is_no_trace():
    """nvidia/Nemotron-Post-Training-Dataset-v1 rows have `messages` and a `reasoning` column saying `on` or `off`:
    the trace is the chat's; a `reasoning` and `solution` pair is a trace as it is, chat or not."""
    from kit.generation.teachers import DatasetTeacher
    from kit.recipes import TeacherConfig

    teacher = DatasetTeacher(TeacherConfig(backend="dataset", model="some/reasoner"))
    chat = [{"role": "system", "content": "detailed thinking on"}, {"role": "user", "content": PROBLEMS[0][0]},
            {"role": "assistant", "content": "<think>\n7 * 9 = 63\n</think>\n\n$\\boxed{63}$"}]
    [read] = teacher.read({"reasoning": "on", "messages": chat, "category": "math"})
    assert (read["problem"], read["reasoning"], read["solution"]) == (PROBLEMS[0][0], "7 * 9 = 63", "$\\boxed{63}$")
    [split] = teacher.read({"problem": "p", "reasoning": "r", "solution": "s", "messages": chat})
    assert (split["reasoning"], split["solution"]) == ("r", "s")
