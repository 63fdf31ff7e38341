"""The stand-in teacher (tests/teacherserver) against the real openai clients and distilabel's OpenAILLM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest

from tests.asgi_thread import free_port
from tests.data import make_teacher_recordings
from tests.teacherserver import DEFAULT_RECORDINGS, NO_RECORDING, TeacherServer

RECORDINGS = {
    e["problem"]: e["completions"]
    for e in map(json.loads, DEFAULT_RECORDINGS.read_text(encoding="utf-8").splitlines())
}
GARDEN = next(p for p in RECORDINGS if p.startswith("A rectangular garden"))
KAYAK = next(p for p in RECORDINGS if "KAYAK" in p)  # four recorded completions
LONG = "STANDIN: long reply. What is the sum of the integers from 1 to 200?"


def _client(teacher: TeacherServer, **kwargs) -> openai.OpenAI:
    return openai.OpenAI(base_url=teacher.base_url, api_key=teacher.api_key, **kwargs)


def _ask(client: openai.OpenAI, teacher: TeacherServer, problem: str, **kwargs):
    messages = [{"role": "user", "content": f"Solve the problem. Think step by step.\n\n{problem}"}]
    return client.chat.completions.create(model=teacher.model, messages=messages, **kwargs)


def _words(text: str | None) -> int:
    return len(text.split()) if text else 0


def test_recordings_file_is_up_to_date():
    on_disk = [json.loads(line) for line in DEFAULT_RECORDINGS.read_text(encoding="utf-8").splitlines()]
    assert on_disk == make_teacher_recordings.build()
    assert len(on_disk) == 34 + len(make_teacher_recordings.SPECIALS)
    assert sum(len(e["completions"]) for e in on_disk[:34]) == 52


def test_sync_client_gets_reasoning_and_content(teacher):
    client = _client(teacher, max_retries=0)
    assert [m.id for m in client.models.list()] == [teacher.model]

    reply = _ask(client, teacher, GARDEN)
    recorded = RECORDINGS[GARDEN][0]
    assert reply.object == "chat.completion" and reply.model == teacher.model and reply.id
    (choice,) = reply.choices
    assert choice.index == 0 and choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content == recorded["content"]
    assert choice.message.reasoning_content == recorded["reasoning_content"]  # an extra field, kept
    completion = _words(recorded["reasoning_content"]) + _words(recorded["content"])
    assert reply.usage.completion_tokens == completion
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + completion > completion

    record = teacher.requests[-1]
    assert (record.method, record.path, record.status) == ("POST", "/v1/chat/completions", 200)
    assert (record.seed, record.model, record.fault) == (None, teacher.model, None)


def test_special_replies_are_replayed_verbatim(teacher):
    client = _client(teacher, max_retries=0)
    for problem in ("STANDIN: empty reply", "STANDIN: unclosed think", "STANDIN: Sky-T1", "STANDIN: inline"):
        full = next(p for p in RECORDINGS if p.startswith(problem))
        message = _ask(client, teacher, full).choices[0].message
        assert message.reasoning_content is None
        assert message.content == RECORDINGS[full][0]["content"]
    assert "<|begin_of_solution|>" in RECORDINGS[next(p for p in RECORDINGS if "Sky-T1" in p)][0]["content"]


def test_n_and_seed_pick_recordings_deterministically(teacher):
    client = _client(teacher, max_retries=0)
    recorded = [c["content"] for c in RECORDINGS[KAYAK]]
    assert len(recorded) == 4

    def contents(**kwargs) -> list[str]:
        return [c.message.content for c in _ask(client, teacher, KAYAK, **kwargs).choices]

    assert contents(n=3) == recorded[:3]
    assert contents(n=3, seed=2) == [recorded[2], recorded[3], recorded[0]]
    assert contents(n=3, seed=2) == contents(n=3, extra_body={"seed": 2})  # the client merges extra_body
    assert contents(seed=5) == [recorded[1]]
    assert [r.seed for r in teacher.requests] == [None, 2, 2, 2, 5]
    assert [r.n for r in teacher.requests] == [3, 3, 3, 3, None]


def test_max_tokens_cuts_the_reply(teacher):
    client = _client(teacher, max_retries=0)
    choice = _ask(client, teacher, LONG, max_tokens=50).choices[0]
    assert choice.finish_reason == "length"
    assert _words(choice.message.reasoning_content) == 50 and choice.message.content is None
    assert RECORDINGS[LONG][0]["reasoning_content"].startswith(choice.message.reasoning_content)

    recorded = RECORDINGS[GARDEN][0]
    budget = _words(recorded["reasoning_content"]) + 3
    reply = _ask(client, teacher, GARDEN, max_completion_tokens=budget)
    message = reply.choices[0].message
    assert reply.choices[0].finish_reason == "length" and reply.usage.completion_tokens == budget
    assert message.reasoning_content == recorded["reasoning_content"]
    assert message.content.split() == recorded["content"].split()[:3]

    assert _ask(client, teacher, GARDEN, max_tokens=10_000).choices[0].finish_reason == "stop"


def test_wrong_key_unknown_prompt_and_model_are_openai_errors(teacher):
    bad = openai.OpenAI(base_url=teacher.base_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        _ask(bad, teacher, GARDEN)
    assert info.value.status_code == 401 and info.value.body["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()

    client = _client(teacher, max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        _ask(client, teacher, "What is the airspeed of an unladen swallow?")
    assert info.value.status_code == 400
    assert info.value.body == {
        "message": NO_RECORDING,
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="other/model", messages=[{"role": "user", "content": GARDEN}])
    assert [r.status for r in teacher.requests] == [401, 401, 400, 404]
    assert teacher.api_key not in repr(teacher) and teacher.api_key not in repr(teacher.requests)


def test_error_faults_are_retried_by_the_client_and_logged(teacher):
    client = _client(teacher, max_retries=2)
    teacher.fail_next(500)
    teacher.fail_next(429, retry_after=0.05)
    reply = _ask(client, teacher, GARDEN)
    assert reply.choices[0].message.content == RECORDINGS[GARDEN][0]["content"]
    assert [(r.status, r.fault) for r in teacher.requests] == [(500, "status"), (429, "status"), (200, None)]
    assert teacher.faults_fired == 2

    teacher.reset()
    teacher.fail_next(503, count=3, retry_after=0.01)
    with pytest.raises(openai.InternalServerError) as info:
        _ask(client, teacher, GARDEN)
    assert info.value.status_code == 503 and info.value.body["message"] == "injected fault"
    assert [r.status for r in teacher.requests] == [503, 503, 503] and teacher.faults_fired == 3


def test_dropped_connection_is_a_connection_error(teacher):
    client = _client(teacher, max_retries=0)
    teacher.drop_next()
    with pytest.raises(openai.APIConnectionError):
        _ask(client, teacher, GARDEN)
    assert _ask(client, teacher, GARDEN).choices[0].finish_reason == "stop"  # the next one is served
    assert [(r.status, r.fault) for r in teacher.requests] == [(None, "drop"), (200, None)]

    retrying = _client(teacher, max_retries=1)
    teacher.drop_next()
    assert _ask(retrying, teacher, GARDEN).choices[0].finish_reason == "stop"
    assert teacher.faults_fired == 2


def test_delay_times_the_client_out(teacher):
    client = _client(teacher, max_retries=0, timeout=0.2)
    teacher.delay_next(0.6)
    with pytest.raises(openai.APITimeoutError):
        _ask(client, teacher, GARDEN)
    assert _ask(client, teacher, GARDEN).choices[0].finish_reason == "stop"
    deadline = time.monotonic() + 5  # the delayed request is logged when answered (to nobody)
    while len(teacher.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r.fault for r in teacher.requests] == [None, "delay"]


def test_stopped_server_is_unreachable(teacher):
    client = _client(teacher, max_retries=0)
    teacher.stop()
    with pytest.raises(openai.APIConnectionError):
        _ask(client, teacher, GARDEN)


def test_streaming_carries_reasoning_and_content_deltas(teacher):
    client = _client(teacher, max_retries=0)
    stream = _ask(client, teacher, KAYAK, n=2, seed=1, stream=True, stream_options={"include_usage": True})
    reasoning: dict[int, str] = {0: "", 1: ""}
    content: dict[int, str] = {0: "", 1: ""}
    finish, usage = {}, None
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        if chunk.usage is not None:
            usage = chunk.usage
        for c in chunk.choices:
            reasoning[c.index] += getattr(c.delta, "reasoning_content", None) or ""
            content[c.index] += c.delta.content or ""
            if c.finish_reason:
                finish[c.index] = c.finish_reason
    recorded = RECORDINGS[KAYAK]
    for i in (0, 1):
        assert reasoning[i] == recorded[1 + i]["reasoning_content"]
        assert content[i] == recorded[1 + i]["content"]
    assert finish == {0: "stop", 1: "stop"} and usage.completion_tokens > 0


def test_async_client_concurrent_requests(teacher):
    problems = list(RECORDINGS)[:8]

    async def main() -> list[str | None]:
        async with openai.AsyncOpenAI(base_url=teacher.base_url, api_key=teacher.api_key) as client:
            replies = await asyncio.gather(
                *(
                    client.chat.completions.create(
                        model=teacher.model, messages=[{"role": "user", "content": p}], seed=0
                    )
                    for p in problems
                )
            )
        return [r.choices[0].message.content for r in replies]

    assert asyncio.run(main()) == [RECORDINGS[p][0]["content"] for p in problems]


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic schema warnings on importing distilabel
def test_distilabel_openaillm_gets_the_recorded_content(teacher):
    from distilabel.models.llms import OpenAILLM

    llm = OpenAILLM(model=teacher.model, base_url=teacher.base_url, api_key=teacher.api_key, max_retries=0)
    llm.load()
    inputs = [[{"role": "user", "content": KAYAK}]]
    (out,) = llm.generate_outputs(inputs=inputs, num_generations=1, max_new_tokens=4096)
    assert out["generations"] == [RECORDINGS[KAYAK][0]["content"]]  # reasoning_content is dropped
    (out,) = llm.generate_outputs(
        inputs=inputs, num_generations=2, max_new_tokens=4096, extra_body={"seed": 3}
    )
    assert out["generations"] == [RECORDINGS[KAYAK][3]["content"], RECORDINGS[KAYAK][0]["content"]]

    first, second = teacher.requests
    assert "seed" not in first.body and (first.n, first.body["max_tokens"]) == (1, 4096)
    assert (second.seed, second.n) == (3, 2)


def test_standalone_server_reads_the_key_from_the_environment(tmp_path: Path):
    port = free_port()
    key = "sk-standalone-secret"
    env = {**os.environ, "TEACHER_TEST_KEY": key}
    argv = [sys.executable, "-m", "tests.teacherserver", "--port", str(port)]
    argv += ["--api-key-env", "TEACHER_TEST_KEY"]
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        argv, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/v1" in banner
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
        messages = [{"role": "user", "content": GARDEN}]
        reply = client.chat.completions.create(model="standin/reasoner", messages=messages)
        assert reply.choices[0].message.content == RECORDINGS[GARDEN][0]["content"]
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=10)
    assert key not in banner + output
