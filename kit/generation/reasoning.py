"""Split a teacher's reply into its reasoning and its final answer, or say why the reply is unusable.

Reasoning reaches us in one of three shapes:

1. the server's `reasoning_content` field (vLLM/SGLang reasoning parsers, hosted R1 providers), with the
   answer in `content`;
2. `<think>...</think>` inline at the start of `content` (DeepSeek-R1, QwQ and most open reasoning models
   when the server does not parse it out);
3. Sky-T1's format: `<|begin_of_thought|>...<|end_of_thought|>` then
   `<|begin_of_solution|>...<|end_of_solution|>`.

Rejections are short stable words, as elsewhere in the kit: `empty_reply`, `truncated` (cut at the token
limit), `unclosed_think` (reasoning that never ends), `no_answer` (reasoning but nothing after it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_THINK = re.compile(r"^\s*<think>(.*?)</think>(.*)$", re.DOTALL)
_SKY_T1 = re.compile(r"<\|begin_of_thought\|>(.*?)<\|end_of_thought\|>\s*"
                     r"<\|begin_of_solution\|>(.*?)(?:<\|end_of_solution\|>|$)", re.DOTALL)
OPENERS = ("<think>", "<|begin_of_thought|>")  # also read by kit.demo.stream


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
        elif match := _THINK.match(content):
            thinking, content = match.group(1).strip(), match.group(2).strip()
        elif content.lstrip().startswith(OPENERS):
            return Split(content, "", "unclosed_think", "the reasoning never closes")
    if not content:
        return Split(thinking, "", "no_answer", "reasoning without a final answer")
    return Split(thinking, content)
