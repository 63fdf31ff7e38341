"""Split a teacher's reply into its reasoning and its final answer, or say why the reply is unusable.

Reasoning reaches us in one of three shapes:

1. the server's `reasoning_content` field (vLLM/SGLang reasoning parsers, hosted R1 providers), with the
   answer in `content`;
2. `<think>...</think>` inline at the start of `content` (DeepSeek-R1, QwQ and most open reasoning models
   when the server does not parse it out);
3. Sky-T1's format: `<|begin_of_thought|>...<|end_of_thought|>` then
   `<|begin_of_solution|>...<|end_of_solution|>`.

A reply whose chat template opened `<think>` itself (DeepSeek-R1-Distill, QwQ: the prompt ends with
`<think>\n`) has only the closing tag: the text before `</think>` is the reasoning, as `kit.demo.stream` reads it.

The same splitter reads the replies of a generating teacher and the traces a dataset ships (the `dataset`
teacher, `kit.teachers`): a dataset's reply has no `finish_reason` (None), so a Sky-T1 solution that never
reaches `<|end_of_solution|>` counts as cut off there, while a server's `stop` vouches for the reply's end.

Rejections are short stable words, as elsewhere in the kit: `empty_reply`, `truncated` (cut at the token
limit, or a Sky-T1 solution that never closes), `unclosed_think` (reasoning that never ends), `no_answer`
(reasoning but nothing after it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_THINK = re.compile(r"^\s*<think>(.*?)</think>(.*)$", re.DOTALL)
_SKY_T1 = re.compile(r"<\|begin_of_thought\|>(.*?)<\|end_of_thought\|>(.*)$", re.DOTALL)
_SKY_T1_SOLUTION = re.compile(r"<\|begin_of_solution\|>(.*?)(<\|end_of_solution\|>|$)", re.DOTALL)
# The reasoning markers, defined once (read by kit.demo.stream and kit.verify.math too)
OPENERS = ("<think>", "<|begin_of_thought|>")
CLOSERS = ("</think>", "<|end_of_thought|>")
SOLUTION_MARKS = ("<|begin_of_solution|>", "<|end_of_solution|>")
_CLOSE_THINK = CLOSERS[0]


@dataclass(frozen=True)
class Split:
    reasoning: str
    solution: str
    reject: str | None = None  # why the reply is unusable; None when it is usable
    detail: str = ""


def split_reply(content: str | None, reasoning_content: str | None = None, finish_reason: str | None = None) -> Split:
    """The reasoning and the answer of one reply (see the module doc for the shapes and the rejections)."""
    content = (content or "").strip()
    thinking = (reasoning_content or "").strip()
    if finish_reason == "length":
        return Split(thinking, content, "truncated", "the reply hit the token limit before it ended")
    if not content and not thinking:
        return Split("", "", "empty_reply", "the teacher returned nothing")
    if not thinking:
        if match := _SKY_T1.search(content):
            thinking, content = match.group(1).strip(), match.group(2).strip()
            if solution := _SKY_T1_SOLUTION.search(content):
                content = solution.group(1).strip()
                if not solution.group(2) and finish_reason != "stop":
                    return Split(thinking, content, "truncated",
                                 "the solution never closes (no <|end_of_solution|>): the reply was cut off")
        elif match := _THINK.match(content):
            thinking, content = match.group(1).strip(), match.group(2).strip()
        elif content.startswith(OPENERS):
            return Split(content, "", "unclosed_think", "the reasoning never closes")
        elif _CLOSE_THINK in content:  # the chat template opened <think>
            thinking, _, content = content.partition(_CLOSE_THINK)
            thinking, content = thinking.strip(), content.strip()
    if not content:
        return Split(thinking, "", "no_answer", "reasoning without a final answer")
    return Split(thinking, content)
