"""The Reasoning Arena through its API, with `gradio_client`: the flow the browser test clicks through.

The models are real: two tiny local transformers models taught the arena's first example (`reasoners`),
and the stand-in for an OpenAI-compatible server (`teacher`) for the endpoint backend.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

pytest.importorskip("gradio")
from gradio_client import Client  # noqa: E402

from tests.asgi_thread import free_port  # noqa: E402
from tests.tiny_reasoners import (  # noqa: E402
    RIGHT_ANSWER,
    RIGHT_THINKING,
    WRONG_ANSWER,
    WRONG_THINKING,
    arena_problem,
)

STATS = re.compile(r"\*\*(?P<state>\w+)\*\* \| time to first token (?P<ttft>[\d.]+) s \| thinking (?P<thinking>\d+) "
                   r"tokens \| answer (?P<answer>\d+) tokens \| total (?P<total>[\d.]+) s")


def text(message: dict[str, Any]) -> str:
    """A chatbot message's text, as the API returns it (content is a list of parts)."""
    content = message["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


def panel(outputs: tuple[Any, ...], side: str) -> tuple[list[dict[str, Any]], str, str]:
    start = 0 if side == "left" else 3
    return outputs[start], outputs[start + 1], outputs[start + 2]


def compare(url: str, problem: str, reference: str, **kwargs: Any) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """Every streamed update of one comparison, and the final one."""
    client = Client(url, verbose=False)
    job = client.submit(problem, reference, "math", kwargs.get("max_new_tokens", 96), 0.0, api_name="/compare")
    updates = list(job)
    return updates, job.result()


def test_both_sides_stream_thinking_and_answer_with_stats_and_badges(reasoners, start_arena):
    url = start_arena(str(reasoners["right"]), str(reasoners["wrong"]))
    problem, gold = arena_problem()
    updates, final = compare(url, problem, gold)
    assert len(updates) >= 2  # streamed: a first state, then the finished one

    for side, thinking, answer, verdict in (("left", RIGHT_THINKING, RIGHT_ANSWER, "✓ **verified**"),
                                            ("right", WRONG_THINKING, WRONG_ANSWER, "✗ **not verified** (wrong_answer)")):
        chat, stats, badge = panel(final, side)
        assert [m["metadata"] and m["metadata"]["title"] for m in chat] == ["Thinking", None]
        assert chat[0]["metadata"]["status"] == "done" and chat[0]["metadata"]["duration"] >= 0
        assert text(chat[0]) == thinking  # the <think> tags are gone, the reasoning is all there
        assert text(chat[1]) == answer
        match = STATS.fullmatch(stats)
        assert match, stats
        assert match["state"] == "done"
        assert int(match["thinking"]) > 0 and int(match["answer"]) > 0
        assert 0 <= float(match["ttft"]) <= float(match["total"])
        assert badge.startswith(verdict), badge
    left_badge = panel(final, "left")[2]
    right_badge = panel(final, "right")[2]
    assert "38" in left_badge and "40" in right_badge


def test_token_counts_are_the_models_own(reasoners, start_arena):
    """Thinking + answer tokens = the tokens the model generated (its tokenizer's count of the reply)."""
    from transformers import AutoTokenizer

    from tests.tiny_reasoners import reply

    url = start_arena(str(reasoners["right"]), str(reasoners["wrong"]))
    problem, gold = arena_problem()
    _, final = compare(url, problem, gold)
    for side, model, thinking, answer in (("left", "right", RIGHT_THINKING, RIGHT_ANSWER),
                                          ("right", "wrong", WRONG_THINKING, WRONG_ANSWER)):
        tokenizer = AutoTokenizer.from_pretrained(reasoners[model])
        generated = len(tokenizer(reply(thinking, answer), add_special_tokens=False)["input_ids"]) + 1  # + <|im_end|>
        match = STATS.fullmatch(panel(final, side)[1])
        assert int(match["thinking"]) + int(match["answer"]) == generated


def test_without_a_reference_answer_there_is_no_badge(reasoners, start_arena):
    url = start_arena(str(reasoners["right"]), str(reasoners["wrong"]))
    problem, _ = arena_problem()
    _, final = compare(url, problem, "")
    assert panel(final, "left")[2] == "" and panel(final, "right")[2] == ""
    assert text(panel(final, "left")[0][1]) == RIGHT_ANSWER


def test_a_side_whose_endpoint_is_down_shows_an_error_and_the_other_completes(reasoners, start_arena):
    down = f"http://127.0.0.1:{free_port()}/v1#some/model"  # nobody listens there
    url = start_arena(str(reasoners["right"]), down)
    problem, gold = arena_problem()
    _, final = compare(url, problem, gold)

    chat, stats, badge = panel(final, "left")
    assert text(chat[1]) == RIGHT_ANSWER and badge.startswith("✓ **verified**")
    assert STATS.fullmatch(stats)["state"] == "done"

    chat, stats, badge = panel(final, "right")
    assert len(chat) == 1 and text(chat[0]).startswith("**Error:** http://127.0.0.1:")
    assert "cannot reach the endpoint" in text(chat[0])
    assert stats.startswith("**failed**") and badge == ""


def test_a_model_that_cannot_load_shows_its_error_on_its_side(reasoners, start_arena, tmp_path):
    (tmp_path / "broken").mkdir()  # a folder that is no model
    url = start_arena(str(tmp_path / "broken"), str(reasoners["right"]))
    problem, gold = arena_problem()
    _, final = compare(url, problem, gold)
    assert text(panel(final, "left")[0][0]).startswith(f"**Error:** could not load {tmp_path / 'broken'}")
    assert text(panel(final, "right")[0][1]) == RIGHT_ANSWER


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_an_openai_compatible_endpoint_streams_its_reasoning_content(reasoners, start_arena, teacher, monkeypatch,
                                                                     field):
    """The endpoint backend: thinking from `reasoning_content` deltas (`reasoning` ones from vLLM since the rename),
    the answer from `content`, the key from ARENA_RIGHT_API_KEY (sent as the bearer token, shown nowhere)."""
    teacher.app.reasoning_field = field
    problem, gold = arena_problem()
    thinking = "Width w, length w + 3, so w(w + 3) = 88 and w = 8. " * 3
    teacher.add_recording(problem, [{"reasoning_content": thinking, "content": "So the perimeter is \\boxed{38}."}])
    monkeypatch.setenv("ARENA_RIGHT_API_KEY", teacher.api_key)
    url = start_arena(str(reasoners["wrong"]), teacher.base_url)  # no #MODEL: the first model the server lists
    updates, final = compare(url, problem, gold)

    chat, stats, badge = panel(final, "right")
    assert chat[0]["metadata"]["title"] == "Thinking" and text(chat[0]) == thinking.strip()
    assert text(chat[1]) == "So the perimeter is \\boxed{38}." and badge.startswith("✓ **verified**")
    assert STATS.fullmatch(stats)["state"] == "done"
    asked = [r for r in teacher.requests if r.path.endswith("/chat/completions")]
    assert len(asked) == 1 and asked[0].body["stream"] is True
    assert asked[0].body["messages"][-1]["content"].startswith(problem)
    assert teacher.api_key not in repr(updates)


def test_stop_ends_a_side_still_waiting_for_its_server(reasoners, start_arena, teacher, monkeypatch):
    problem, gold = arena_problem()
    teacher.add_recording(problem, [{"reasoning_content": "slow", "content": "\\boxed{38}"}])
    teacher.delay_next(30, path="/chat/completions")
    monkeypatch.setenv("ARENA_RIGHT_API_KEY", teacher.api_key)
    url = start_arena(str(reasoners["right"]), f"{teacher.base_url}#{teacher.model}")
    client = Client(url, verbose=False)
    job = client.submit(problem, gold, "math", 96, 0.0, api_name="/compare")
    deadline = time.monotonic() + 60
    while not job.outputs() or not panel(job.outputs()[-1], "left")[1].startswith("**done**"):
        assert time.monotonic() < deadline, "the left side never finished"
        time.sleep(0.1)
    stopped_at = time.monotonic()
    client.predict(api_name="/stop")
    final = job.result(timeout=20)
    assert time.monotonic() - stopped_at < 10  # not the 30 s the server holds its answer
    chat, stats, _ = panel(final, "right")
    assert stats.startswith("**stopped**") and text(chat[-1]) == "*Stopped.*"
    assert panel(final, "left")[1].startswith("**done**")


def test_the_thinking_section_is_open_while_the_model_thinks_and_closed_once_it_answers():
    """What a side shows at each moment: the Thinking message is `pending` (Gradio keeps it open, with a
    spinner) until the thinking ends, then `done` (Gradio folds it) with its duration."""
    from kit.demo.arena import Run

    run = Run("model")
    run.stream.feed("<think>Let me see", tokens=3)
    (thinking,) = run.messages()
    assert thinking["metadata"] == {"title": "Thinking", "status": "pending"} and thinking["content"] == "Let me see"
    assert run.stats().startswith("**running**")
    run.stream.feed(".</think>It is 4.", tokens=3)
    run.first_token_s, run.thinking_s, run.total_s, run.done = 0.1, 0.5, 0.75, True
    thinking, answer = run.messages()
    assert thinking["metadata"] == {"title": "Thinking", "status": "done", "duration": 0.5}
    assert answer == {"role": "assistant", "content": "It is 4."}
    assert STATS.fullmatch(run.stats())["state"] == "done"
