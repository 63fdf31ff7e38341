"""Reading a reply (kit.core.chat): what a server's `finish_reason` says beyond `stop` and `length`, and the
content chunks of the Mistral API's reasoning models. (`split_reply`'s shapes of reasoning are tested with the
traces that datasets ship, tests/test_generation_teachers.py.)"""

from __future__ import annotations

import pytest

from kit.core.chat import split_reply


@pytest.mark.parametrize(("finish", "reject"), [
    ("content_filter", "filtered"),  # OpenAI, DeepSeek: the content filter stopped the reply
    ("repetition", "repetition"),  # vLLM's repetition detection (RepetitionDetectionParams)
    ("abort", "interrupted"),  # vLLM, SGLang: a generating backend's `error`; a shipped trace's rejection
    ("error", "interrupted"),  # vLLM ("retryable request-level internal error"), OpenRouter
    ("insufficient_system_resource", "interrupted"),  # DeepSeek: interrupted for lack of inference resources
])
def test_a_reply_the_server_stopped_is_rejected_not_accepted(finish, reject):
    """Before, each of these read as `stop`: a half-written answer was accepted as the sample's solution."""
    split = split_reply("So the sum is $\\boxed{1", "Adding them up", finish)
    assert (split.reject, split.reasoning, split.solution) == (reject, "Adding them up", "So the sum is $\\boxed{1")
    assert finish in split.detail


@pytest.mark.parametrize("finish", ["stop", None, "tool_calls", "eos_token"])
def test_other_finish_reasons_read_as_an_ended_reply(finish):
    assert split_reply("The answer is 4.", "2+2=4", finish).reject is None


def test_content_chunks():
    """The Mistral API's reasoning models (Magistral) send `content` as chunks (spring-projects/spring-ai#5020)."""
    from kit.core.chat import content_chunks

    chunks = [{"type": "thinking", "thinking": [{"type": "text", "text": "2+2 "}, {"type": "text", "text": "is 4."}]},
              {"type": "reference", "reference_ids": [1]},
              {"type": "text", "text": "The answer "}, {"type": "text", "text": "is 4."}]
    assert content_chunks(chunks) == ("The answer is 4.", "2+2 is 4.")
    assert content_chunks([{"type": "text", "text": "4"}]) == ("4", None)
    assert content_chunks("4") == ("4", None) and content_chunks(None) == (None, None)
    with pytest.raises(TypeError, match="a text or a list of chunks, not dict"):
        content_chunks({"type": "text", "text": "4"})
