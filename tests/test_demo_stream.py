"""The arena's streaming split of a reply into thinking and answer (`kit.demo.stream.ThinkStream`)."""

from __future__ import annotations

import random

import pytest

from kit.core.chat import split_reply
from kit.demo.stream import ThinkStream

REPLIES = [
    "<think>\nLet me add: 2 + 2 = 4.\n</think>\n\nThe answer is $\\boxed{4}$.",
    "  <think>a < b and b > c, so <thin is not a tag</think>Answer: <b>bold</b> \\boxed{x}",
    "<|begin_of_thought|>\nsteps <think> inside\n<|end_of_thought|>\n\n<|begin_of_solution|>\nfinal 7\n<|end_of_solution|>",
    "No thinking at all, just \\boxed{3}.",
    "<think></think>Empty thinking, then the answer.",
]


def feed_in_pieces(reply: str, sizes: list[int]) -> ThinkStream:
    stream, at = ThinkStream(), 0
    for size in sizes:
        stream.feed(reply[at:at + size], tokens=1)
        at += size
    stream.feed(reply[at:], tokens=1)
    stream.finish()
    return stream


@pytest.mark.parametrize("reply", REPLIES)
def test_any_cut_into_pieces_gives_split_replys_result(reply):
    """Fed in one piece, one character at a time or in random pieces (tags cut anywhere), the split is the
    one `split_reply` (the curation pipeline's) gives for the whole reply."""
    expected = split_reply(reply)
    rng = random.Random(0)
    for sizes in ([], [1] * len(reply), *([rng.randint(1, 6) for _ in range(len(reply))] for _ in range(5))):
        stream = feed_in_pieces(reply, sizes)
        assert (stream.thinking, stream.answer) == (expected.reasoning, expected.solution)


def test_thinking_shows_while_it_streams_and_ends_at_the_closing_tag():
    stream = ThinkStream()
    stream.feed("<thi", tokens=1)
    assert stream.state == "start" and stream.thinking == stream.answer == ""  # maybe a tag: held back
    stream.feed("nk>Let me", tokens=2)
    assert (stream.state, stream.thinking, stream.answer) == ("thinking", "Let me", "")
    stream.feed(" see.</th", tokens=2)
    assert (stream.state, stream.thinking) == ("thinking", "Let me see.")
    stream.feed("ink>", tokens=1)
    assert (stream.state, stream.thinking, stream.answer) == ("answer", "Let me see.", "")
    stream.feed("\n\nIt is 4.", tokens=3)
    assert (stream.state, stream.thinking, stream.answer) == ("answer", "Let me see.", "It is 4.")
    assert (stream.thinking_tokens, stream.answer_tokens) == (6, 3)  # the piece that closes counts as thinking


def test_reasoning_sent_apart_then_content():
    """vLLM's reasoning parsers and hosted R1 providers: `reasoning_content` deltas, then `content`."""
    stream = ThinkStream()
    stream.feed("", tokens=0)  # the role delta
    for word in "First, w(w + 3) = 88.".split(" "):
        stream.feed(word + " ", tokens=1, thinking=True)
    assert stream.state == "thinking"
    stream.feed("The perimeter is ", tokens=1)
    stream.feed("\\boxed{38}.", tokens=1)
    stream.finish()
    assert (stream.thinking, stream.answer) == ("First, w(w + 3) = 88.", "The perimeter is \\boxed{38}.")
    assert (stream.thinking_tokens, stream.answer_tokens) == (6, 2)


def test_a_template_that_opens_the_thinking():
    """DeepSeek-R1-Distill's template ends the prompt with `<think>\\n`: the reply starts inside the thinking."""
    stream = ThinkStream()
    stream.open()
    stream.feed("Hmm, 6 * 7", tokens=3)
    assert (stream.state, stream.thinking) == ("thinking", "Hmm, 6 * 7")
    stream.feed(" = 42.\n</think>\n\n**42**", tokens=4)
    stream.finish()
    assert (stream.thinking, stream.answer) == ("Hmm, 6 * 7 = 42.", "**42**")


def test_a_closing_tag_without_an_opening_one_moves_the_text_before_it_to_the_thinking():
    """A server that serves an R1-Distill model without a reasoning parser sends no `<think>`."""
    stream = ThinkStream()
    stream.feed("Hmm, 6 * 7 = 42.", tokens=3)
    assert (stream.state, stream.answer) == ("answer", "Hmm, 6 * 7 = 42.")
    stream.feed("</think>The answer is 42.", tokens=2)
    stream.finish()
    assert (stream.thinking, stream.answer) == ("Hmm, 6 * 7 = 42.", "The answer is 42.")
    assert (stream.thinking_tokens, stream.answer_tokens) == (5, 0)


def test_a_reply_cut_inside_the_thinking_has_no_answer():
    stream = ThinkStream()
    stream.feed("<think>still going <", tokens=3)
    stream.finish()
    assert (stream.state, stream.thinking, stream.answer) == ("thinking", "still going <", "")
