"""The LLM judge (kit/verify/judge.py): prompts, which rows it decides, and reading its replies, end to end
with KitOpenAILLM against the OpenAI-compatible stand-in (tests/teacherserver) playing a judge model."""

from __future__ import annotations

import json

import jinja2
import openai
import pytest

from kit.recipes import JudgeConfig
from kit.verify import Verdict
from kit.verify.judge import (
    JUDGE_SCHEMA,
    Judgement,
    judge_messages,
    judge_sampling,
    needs_judge,
    read_judgement,
)

KEY_ENV = "KIT_TEST_JUDGE_KEY"
JUDGE = "standin/judge"

PROBLEM = ("Which organelle carries out photosynthesis in plant cells? (A) mitochondrion (B) chloroplast "
           "(C) ribosome (D) nucleus")
ROW = {"problem": PROBLEM, "domain": "science", "ground_truth_answer": "B", "ground_truth_solution": "",
       "solution": ""}
RIGHT = "Photosynthesis takes place in the chloroplast, so the answer is (B)."
WRONG = "Cells make their energy in the mitochondrion, so the answer is (A)."
GARBLED = "The answer is (B), the chloroplast, I am fairly sure."
JUDGEMENTS = {  # candidate answer -> what the stand-in judge replies
    RIGHT: json.dumps({"correct": True, "reason": "Both name option B, the chloroplast."}),
    WRONG: json.dumps({"correct": False, "reason": "The candidate picked A; the reference is B."}),
    GARBLED: '{"correct": tru',  # cut-off JSON
}


def unsupported() -> Verdict:
    return Verdict(False, "none", "unsupported_domain", {"error": "no verifier for domain 'science' yet"})


# -- the judge model through KitOpenAILLM and the stand-in --------------------------------------------

@pytest.fixture
def judge(teacher, monkeypatch):
    from kit.generation.llms import KitOpenAILLM

    for answer, reply in JUDGEMENTS.items():
        completion = {"reasoning_content": "Compare the options.", "content": reply}
        teacher.add_recording(answer, [completion], model=JUDGE)
    monkeypatch.setenv(KEY_ENV, teacher.api_key)
    llm = KitOpenAILLM(model=JUDGE, base_url=teacher.base_url, api_key_env=KEY_ENV, max_retries=1, timeout=30)
    llm.load()
    return llm


def ask(llm, answers: list[str]) -> list[Verdict]:
    cfg = JudgeConfig(model=JUDGE)
    requests = [(judge_messages({**ROW, "solution": a}), 0) for a in answers]
    return [read_judgement(reply, JUDGE) for reply in llm.replies(requests, **judge_sampling(cfg))]


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic schema warnings on importing distilabel
def test_the_judge_passes_right_answers_and_fails_wrong_ones(teacher, judge):
    right, wrong, garbled = ask(judge, [RIGHT, WRONG, GARBLED])

    assert (right.passed, right.verifier, right.reason) == (True, "llm-judge", None)
    assert right.detail == {"judge": JUDGE, "judge_reason": "Both name option B, the chloroplast."}
    assert (wrong.passed, wrong.reason) == (False, "judged_wrong")
    assert wrong.detail["judge_reason"] == "The candidate picked A; the reference is B."
    assert (garbled.passed, garbled.reason) == (False, "judge_unparsable")
    assert garbled.detail["judge"] == JUDGE and garbled.detail["reply"] == '{"correct": tru'

    records = teacher.requests_matching(path="/chat/completions")
    assert len(records) == 3 and {r.model for r in records} == {JUDGE} and {r.status for r in records} == {200}
    schema = {"name": "Judgement", "schema": JUDGE_SCHEMA, "strict": True}
    expected = {"type": "json_schema", "json_schema": schema}
    assert all(r.response_format == expected for r in records)
    assert all(r.body["temperature"] == 0.0 and r.body["max_tokens"] == 1024 for r in records)
    for verdict in (right, wrong, garbled):
        assert teacher.api_key not in verdict.to_json() + repr(verdict)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_failing_judge_server_gives_judge_error_after_retries(teacher, judge):
    teacher.fail_next(500, count=2, retry_after=0.01)  # the request and its one retry
    (verdict,) = ask(judge, [RIGHT])
    assert (verdict.passed, verdict.verifier, verdict.reason) == (False, "llm-judge", "judge_error")
    assert verdict.detail["judge"] == JUDGE and "HTTP 500" in verdict.detail["error"]
    assert teacher.api_key not in verdict.to_json()
    assert [r.status for r in teacher.requests] == [500, 500] and teacher.faults_fired == 2
    (again,) = ask(judge, [RIGHT])  # the server recovered
    assert again.passed


# -- the stand-in playing several models ----------------------------------------------------------------

def test_the_standin_serves_each_model_its_own_recordings(teacher):
    teacher.add_recording("Is the sky blue?", [{"reasoning_content": None, "content": '{"correct": true}'}],
                          model=JUDGE)
    client = openai.OpenAI(base_url=teacher.base_url, api_key=teacher.api_key, max_retries=0)
    assert [m.id for m in client.models.list()] == [teacher.model, JUDGE]
    assert client.models.retrieve(JUDGE).id == JUDGE

    ask_sky = [{"role": "user", "content": "Judge this. Is the sky blue?"}]
    reply = client.chat.completions.create(model=JUDGE, messages=ask_sky, response_format={"type": "json_object"})
    assert reply.model == JUDGE and reply.choices[0].message.content == '{"correct": true}'
    with pytest.raises(openai.BadRequestError, match="no recorded completion"):  # not the default model's
        client.chat.completions.create(model=teacher.model, messages=ask_sky)
    with pytest.raises(openai.BadRequestError, match="response_format"):
        client.chat.completions.create(model=JUDGE, messages=ask_sky,
                                       response_format={"type": "json_schema", "json_schema": {"name": "x"}})
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="standin/nobody", messages=ask_sky)
    assert [r.response_format for r in teacher.requests_matching(path="/chat/completions")][:2] == [
        {"type": "json_object"}, None]


# -- which rows the judge decides -----------------------------------------------------------------------

@pytest.mark.parametrize(("row", "reason", "cfg", "expected"), [
    ({"domain": "science"}, "unsupported_domain", {}, True),
    ({"domain": "puzzle"}, "unsupported_domain", {}, True),
    ({"domain": "puzzle"}, "unsupported_domain", {"domains": ["science"]}, False),
    ({"domain": "science", "ground_truth_answer": None, "ground_truth_solution": "It is B, because..."},
     "unsupported_domain", {}, True),  # the reference solution will do
    ({"domain": "science", "ground_truth_answer": " ", "ground_truth_solution": None},
     "unsupported_domain", {}, False),  # no reference: keep the verdict
    ({"domain": "science", "solution": ""}, "missing_field", {}, False),  # nothing to judge
    ({"domain": "math"}, "no_answer", {"math_fallback": True}, True),
    ({"domain": "math"}, "error", {"math_fallback": True}, True),
    ({"domain": "math"}, "timeout", {"math_fallback": True}, True),
    ({"domain": "math"}, "no_answer", {}, False),  # fallback off
    ({"domain": "math"}, "wrong_answer", {"math_fallback": True}, False),  # Math-Verify decided
    ({"domain": "math", "ground_truth_answer": ""}, "no_answer", {"math_fallback": True}, False),
    ({"domain": "code"}, "tests_failed", {"math_fallback": True}, False),
])
def test_needs_judge(row, reason, cfg, expected):
    row = {"problem": "p", "ground_truth_answer": "B", "solution": "It is B.", **row}
    assert needs_judge(row, Verdict(False, "x", reason), JudgeConfig(**cfg)) is expected


# -- prompts ------------------------------------------------------------------------------------------------

def test_default_prompt_carries_problem_reference_and_answer():
    system, user = judge_messages({**ROW, "solution": RIGHT})
    assert system["role"] == "system" and "JSON" in system["content"]
    assert user["role"] == "user"
    text = user["content"]
    assert PROBLEM in text and RIGHT in text and "science problem" in text and "FINAL" in text
    assert "## Reference answer\nB\n" in text
    row = {**ROW, "ground_truth_answer": None, "ground_truth_solution": "The chloroplast (B)."}
    no_answer = judge_messages(row)
    assert "## Reference answer\nThe chloroplast (B).\n" in no_answer[1]["content"]


def test_a_recipe_template_file_renders_the_user_turn(tmp_path):
    path = tmp_path / "judge.jinja"
    path.write_text("[{{ domain }}] Q: {{ problem }}\nRef: {{ reference }}\nGot: {{ answer }}\nJSON please.\n")
    _, user = judge_messages({**ROW, "solution": WRONG}, path.read_text())
    assert user["content"] == f"[science] Q: {PROBLEM}\nRef: B\nGot: {WRONG}\nJSON please.\n"

    path.write_text("{{ problem }} {{ rubric }}")
    with pytest.raises(jinja2.UndefinedError, match="rubric"):
        judge_messages(ROW, path.read_text())


# -- reading replies ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "passed", "reason"), [
    ('{"correct": true, "reason": "same"}', True, None),
    ('```json\n{"correct": false, "reason": "differs"}\n```', False, "judged_wrong"),
    ('<think>Is {this} right? {"correct": false}</think>\n{"correct": true, "reason": "same"}', True, None),
    ('Verdict: {"correct": true, "reason": "same", "confidence": 0.9} done', True, None),  # extra key dropped
    ('{"correct": "maybe", "reason": "?"}', False, "judge_unparsable"),
    ('{"reason": "no verdict"}', False, "judge_unparsable"),
    ("[true]", False, "judge_unparsable"),
    ("I think it is correct.", False, "judge_unparsable"),
    ("", False, "judge_unparsable"),
    (None, False, "judge_unparsable"),
])
def test_read_judgement_never_raises(content, passed, reason):
    verdict = read_judgement({"content": content, "finish_reason": "stop", "error": None}, "m")
    assert (verdict.passed, verdict.verifier, verdict.reason) == (passed, "llm-judge", reason)
    assert verdict.detail["judge"] == "m"
    json.loads(verdict.to_json())


@pytest.mark.parametrize(("content", "passed"), [
    (r'{"correct": true, "reason": "Both give $\sqrt{2}\,\mathrm{m/s}$."}', True),  # LaTeX: no JSON escapes
    ('The reference set is {1, 2}; the candidate gives {2, 1}.\n{"correct": true, "reason": "same set"}', True),
    ('{"correct": false, "reason": "same value"}\n(Note: {x} is only a placeholder.)', False),
    ('{"correct": false, "reason": "0.5 vs 1/2"}\nWait: 0.5 = 1/2.\n{"correct": true, "reason": "equal"}', True),
    ('{"correct": true}', True),  # no reason
])
def test_a_judge_not_held_to_the_schema_is_read_by_its_last_verdict(content, passed):
    """The transformers backend, and providers without `json_schema` (DeepSeek's API has only `json_object`),
    leave the judge free: LaTeX in its reason, prose with braces around the object, a draft then a final verdict."""
    verdict = read_judgement({"content": content, "finish_reason": "stop"}, "m")
    assert (verdict.passed, verdict.reason) == (passed, None if passed else "judged_wrong")


def test_a_verdict_is_never_read_from_thinking_that_did_not_end():
    """Qwen3 cut at max_new_tokens inside its thinking, a draft verdict written there: no verdict, not a pass."""
    draft = '<think>\nIf they agreed I would answer {"correct": true, "reason": "same"}. But 0.6 is not 0.5, unless'
    for finish in ("length", "stop"):
        verdict = read_judgement({"content": draft, "finish_reason": finish}, "m")
        assert (verdict.passed, verdict.reason) == (False, "judge_unparsable"), finish
    cut = read_judgement({"content": draft, "finish_reason": "length"}, "m")
    assert cut.detail["error"] == "cut at max_new_tokens before a verdict"
    opened = read_judgement({"content": 'so {"correct": true} would fit, but', "finish_reason": "length"}, "m")
    assert opened.reason == "judge_unparsable"  # a template-opened <think>: the reply is thinking, cut


def test_a_structured_verdict_a_reasoning_parser_put_in_reasoning_content():
    """vLLM with a reasoning parser has returned the structured-output JSON in `reasoning_content` and
    `content` null (vllm-project/vllm#15618, #16182): read it there, only when it is one verdict object."""
    verdict = read_judgement({"content": None, "reasoning_content": '{"correct": true, "reason": "picks C"}',
                              "finish_reason": "stop"}, "m")
    assert (verdict.passed, verdict.detail["verdict_from"]) == (True, "reasoning")
    thought = read_judgement({"content": None, "finish_reason": "stop",
                              "reasoning_content": 'Maybe {"correct": true}? No: 0.6 is not 0.5.'}, "m")
    assert (thought.passed, thought.reason) == (False, "judge_unparsable")
    answered = read_judgement({"content": '{"correct": false, "reason": "differs"}', "finish_reason": "stop",
                               "reasoning_content": '{"correct": true, "reason": "draft"}'}, "m")
    assert (answered.passed, answered.reason) == (False, "judged_wrong")


def test_read_judgement_clips_the_reason_and_reports_errors():
    long = read_judgement({"content": json.dumps({"correct": True, "reason": "x" * 5000})}, "m")
    assert long.passed and len(long.detail["judge_reason"]) <= 303
    cut = read_judgement({"content": '{"correct": tr', "finish_reason": "length"}, "m")
    assert cut.reason == "judge_unparsable" and "max_new_tokens" in cut.detail["error"]
    failed = read_judgement({"error": "the teacher answered HTTP 503: overloaded"}, "m")
    assert (failed.passed, failed.reason) == (False, "judge_error")
    assert failed.detail == {"judge": "m", "error": "the teacher answered HTTP 503: overloaded"}


def test_judge_schema_is_strict():
    assert JUDGE_SCHEMA["additionalProperties"] is False
    assert set(JUDGE_SCHEMA["required"]) == set(JUDGE_SCHEMA["properties"]) == {"correct", "reason"}
    assert Judgement.model_validate_json('{"correct": false, "reason": "r"}').correct is False
