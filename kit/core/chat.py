"""The chat contract every stage shares: how a problem is asked, how a trace is written, how a reply is read.

Asking (`prompt_messages`): the user turn is the problem, the starter code of a code problem in a fenced
block, and the domain's format instruction; a system turn when one is given. Curation asks the teacher with
it, evaluation the model under test, the arena both models.

Writing (`to_messages`, `default_row`): a metadata row becomes a `default` row of chat messages (see
`kit.core.schema.DEFAULT_FEATURES`); the assistant turn is `<think>\\n{reasoning}\\n</think>\\n\\n{solution}`.

Reading (`split_reply`): a reply is split into its reasoning and its final answer, or said to be unusable.

Reasoning reaches us in one of three shapes:

1. the server's `reasoning_content` or `reasoning` field (`REASONING_FIELDS`: vLLM/SGLang reasoning parsers,
   hosted R1 providers), with the answer in `content`;
2. `<think>...</think>` inline at the start of `content` (DeepSeek-R1, QwQ and most open reasoning models
   when the server does not parse it out);
3. Sky-T1's format: `<|begin_of_thought|>...<|end_of_thought|>` then
   `<|begin_of_solution|>...<|end_of_solution|>`.

An in-process reply whose parts are marked by special tokens (gpt-oss's harmony channels, which decoding drops)
reaches the splitter as shape 1: its backend reads it with the tokenizer's response template
(`kit.generation.llms.parsed_reply`).

A reply whose chat template opened `<think>` itself (DeepSeek-R1-Distill, QwQ: the prompt ends with
`<think>\n`) has only the closing tag: the text before `</think>` is the reasoning, as `kit.demo.stream` reads it.
A backend that renders the prompt itself puts the opener back (`prompt_opener`, `reopened`), so a reply that stops
before `</think>` is reasoning that never closed, not an answer.
An answer in `<answer>...</answer>` (DeepSeek-R1-Zero's template, `<think>...</think> <answer>...</answer>`, which
some distilled datasets keep) is the text inside the tags (what follows them, a sign-off or a generation that ran on
into another turn, is not); one whose tags never close was cut off (`truncated`), unless the server's `stop` vouches
for its end.

The same splitter reads the replies of a generating teacher and the traces a dataset ships (the `dataset`
teacher, `kit.generation.teachers`): a dataset's reply has no `finish_reason` (None), so a Sky-T1 solution that never
reaches `<|end_of_solution|>` counts as cut off there, while a server's `stop` vouches for the reply's end.

Rejections are short stable words, as elsewhere in the kit: `empty_reply`, `truncated` (cut at the token
limit, or a Sky-T1 solution that never closes), `unclosed_think` (reasoning that never ends), `no_answer`
(reasoning but nothing after it), and from the server's `finish_reason` (`FAILED_FINISHES`, `REFUSED_FINISHES`):
`interrupted` (the server failed mid-reply), `filtered` (its content filter stopped the reply), `repetition` (its
repetition detection stopped it).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jinja2

from kit.core.schema import problem_id

# The reasoning markers, defined once (read by kit.demo.stream, kit.verify.math and kit.train)
OPENERS = ("<think>", "<|begin_of_thought|>")
CLOSERS = ("</think>", "<|end_of_thought|>")
SOLUTION_MARKS = ("<|begin_of_solution|>", "<|end_of_solution|>")
THINK_OPEN, THINK_CLOSE = OPENERS[0], CLOSERS[0]
THINK_TEMPLATE = f"{THINK_OPEN}\n{{reasoning}}\n{THINK_CLOSE}\n\n{{solution}}"
# Where a reply (or a chat turn) keeps its reasoning apart from its content, in the order they are read:
# DeepSeek's `reasoning_content` (SGLang, hosted R1 providers, vLLM before it renamed the field: vllm#27752,
# removed in vllm#33402), `reasoning` (vLLM since, OpenRouter) and `thinking` (gpt-oss chat templates, TRL's
# response parsers).
REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking")


def reasoning_field(message: Mapping[str, Any]) -> Any:
    """The reasoning a reply or chat turn keeps apart (`REASONING_FIELDS`, the first one that is set), else None."""
    return next((message[key] for key in REASONING_FIELDS if message.get(key)), None)


def content_chunks(content: Any) -> tuple[str | None, str | None]:
    """A reply's `content` as (answer text, reasoning): a text as it is (no reasoning), or a list of chunks as the
    Mistral API sends for its reasoning models (Magistral; Mistral Small with `reasoning_effort`): `text` chunks
    (`{"type": "text", "text": ...}`) joined into the answer, `thinking` chunks (`{"type": "thinking", "thinking":
    [{"type": "text", "text": ...}]}`, Mistral's ThinkChunk) into the reasoning (spring-projects/spring-ai#5020,
    tested with magistral-medium-2509); chunks of other types (references, images) are left out. None for a part
    the reply lacks; TypeError for a content of any other shape."""
    if content is None or isinstance(content, str):
        return content, None
    if not isinstance(content, list):
        raise TypeError(f"a reply's content is a text or a list of chunks, not {type(content).__name__}")
    parts: dict[str, list[str]] = {"text": [], "thinking": []}
    for chunk in content:
        kind = chunk.get("type", "text") if isinstance(chunk, Mapping) else None  # (as OpenAI's content parts)
        if kind == "text":
            parts["text"].append(str(chunk.get("text") or ""))
        elif kind == "thinking":
            inner = chunk.get("thinking")
            inner = [inner] if isinstance(inner, str) else inner or []
            parts["thinking"].extend(part if isinstance(part, str) else str(part.get("text") or "")
                                     for part in inner if isinstance(part, str | Mapping))
    text, thinking = ("".join(parts[kind]) if parts[kind] else None for kind in ("text", "thinking"))
    return text, thinking


class Format(Protocol):
    """What a prompt is built from: `kit.recipes.FormatConfig` (a data recipe's `format:`, an eval recipe's
    `prompt:`)."""

    system_prompt: str | None
    instructions: dict[str, str]


@functools.lru_cache(maxsize=8)
def _compiled(text: str) -> jinja2.Template:
    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True).from_string(text)


def render_prompt(template_text: str, **values: Any) -> str:
    """A prompt rendered from a Jinja2 template (reformat, judge); a variable it names but is not given
    raises `jinja2.UndefinedError`. Templates are compiled once."""
    return _compiled(template_text).render(**values)


def user_prompt(row: Mapping[str, Any], fmt: Format) -> str:
    """The user turn: problem, [starter code], [instruction], separated by blank lines."""
    problem = row["problem"].strip()
    parts = [problem]
    starter = (row.get("starter_code") or "").strip("\n")
    if row.get("domain") == "code" and starter.strip() and starter.strip() not in problem:
        parts.append(f"```python\n{starter}\n```")
    instruction = fmt.instructions.get(row.get("domain") or "")
    if instruction:
        parts.append(instruction)
    return "\n\n".join(parts)


def assistant_turn(row: Mapping[str, Any]) -> str:
    """The assistant turn: the reasoning inside `<think>`, then the solution (both stripped)."""
    return THINK_TEMPLATE.format(reasoning=(row.get("reasoning") or "").strip(),
                                 solution=(row.get("solution") or "").strip())


def prompt_messages(row: Mapping[str, Any], fmt: Format, system_prompt: str | None = None) -> list[dict[str, str]]:
    """The turns before the answer: optional system turn, user turn (also what a teacher is asked).
    `system_prompt` (a row's own, e.g. the system turn of a dataset's chat) replaces `fmt.system_prompt`."""
    system_prompt = system_prompt or fmt.system_prompt
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*system, {"role": "user", "content": user_prompt(row, fmt)}]


def to_messages(row: Mapping[str, Any], fmt: Format, system_prompt: str | None = None) -> list[dict[str, str]]:
    """The conversation of one metadata row: optional system turn, user turn, assistant turn."""
    return [*prompt_messages(row, fmt, system_prompt), {"role": "assistant", "content": assistant_turn(row)}]


def default_row(row: Mapping[str, Any], fmt: Format, system_prompt: str | None = None) -> dict[str, Any]:
    """A row of the `default` config: messages, problem_id, domain, source (`system_prompt`: the row's own,
    recorded in its `generation` as `system_prompt`, in place of the recipe's)."""
    return {
        "messages": to_messages(row, fmt, system_prompt),
        "problem_id": row.get("problem_id") or problem_id(row["problem"]),
        "domain": row.get("domain"),
        "source": row.get("source"),
    }

# --------------------------------------------------------------------------------------------------
# Reading a reply

# What a reply's `finish_reason` says besides OpenAI's `stop` and `length`; other values (None, `tool_calls`, a
# server's own word for a normal end) read as `stop`.
# The server failed mid-reply, and the same request may well be answered when asked again: vLLM's `abort` and
# `error` ("retryable request-level internal error", vllm/v1/engine/__init__.py `FinishReason`; SGLang's `abort`
# too), OpenRouter's `error` (openrouter.ai/announcements/standardized-finish-reasons) and DeepSeek's
# `insufficient_system_resource` ("the request is interrupted due to insufficient resource of the inference
# system", api-docs.deepseek.com/api/create-chat-completion). A generating backend returns such a reply as an
# `error` (kit.generation.llms: not stored, asked again on the next run); `split_reply` rejects one it is handed
# (a shipped trace) as `interrupted`.
FAILED_FINISHES = ("abort", "error", "insufficient_system_resource")
# The server stopped the reply on purpose, and would again: `content_filter` (OpenAI, DeepSeek, Azure) and vLLM's
# `repetition` (its repetition detection, `RepetitionDetectionParams` in vllm.sampling_params, stopped a reply
# that repeats an n-gram); the rejection word and its detail.
REFUSED_FINISHES = {
    "content_filter": ("filtered", "the server's content filter stopped the reply (finish_reason content_filter)"),
    "repetition": ("repetition", "the server stopped a reply that repeats itself (finish_reason repetition)"),
}

_THINK = re.compile(r"^\s*<think>(.*?)</think>(.*)$", re.DOTALL)
_SKY_T1 = re.compile(r"<\|begin_of_thought\|>(.*?)<\|end_of_thought\|>(.*)$", re.DOTALL)
_SKY_T1_SOLUTION = re.compile(r"<\|begin_of_solution\|>(.*?)(<\|end_of_solution\|>|$)", re.DOTALL)
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"  # DeepSeek-R1-Zero's answer tags
_ANSWER_TAGS = re.compile(rf"{ANSWER_OPEN}(.*?){ANSWER_CLOSE}", re.DOTALL)  # an answer in those tags


@dataclass(frozen=True)
class Split:
    reasoning: str
    solution: str
    reject: str | None = None  # why the reply is unusable; None when it is usable
    detail: str = ""


def prompt_opener(prompt: str) -> str | None:
    """The reasoning opener (`OPENERS`) a rendered generation prompt ends with, else None. DeepSeek-R1-Distill's and
    QwQ's templates end it with `<think>\\n`, as Qwen3's thinking templates do: the model then writes only the
    reasoning's close, and its reply reads as written with the opener put back (`reopened`)."""
    return next((opener for opener in OPENERS if prompt.rstrip().endswith(opener)), None)


def reopened(text: str, opener: str | None) -> str:
    """A reply written after a generation prompt that ended with `opener` (`prompt_opener`), the opener put back
    before it: reasoning that never closes then reads as `unclosed_think`, not as the answer. Unchanged without an
    opener, for an empty reply, or when the reply opens its reasoning itself."""
    if not opener or not text.strip() or text.lstrip().startswith(OPENERS):
        return text
    return f"{opener}\n{text}"


def split_reply(content: str | None, reasoning_content: str | None = None, finish_reason: str | None = None) -> Split:
    """The reasoning and the answer of one reply (see the module doc for the shapes and the rejections)."""
    content = (content or "").strip()
    thinking = (reasoning_content or "").strip()
    if finish_reason in FAILED_FINISHES:
        return Split(thinking, content, "interrupted",
                     f"the server failed mid-reply (finish_reason {finish_reason})")
    if finish_reason in REFUSED_FINISHES:
        return Split(thinking, content, *REFUSED_FINISHES[finish_reason])
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
        elif THINK_CLOSE in content:  # the chat template opened <think>
            thinking, _, content = content.partition(THINK_CLOSE)
            thinking, content = thinking.strip(), content.strip()
    if match := _ANSWER_TAGS.match(content):  # R1-Zero's `<answer>...</answer>`: what follows is no part of it
        content = match.group(1).strip()
    elif content.startswith(ANSWER_OPEN) and ANSWER_CLOSE not in content:  # an answer its tags never close
        content = content[len(ANSWER_OPEN):].strip()
        if finish_reason != "stop":
            return Split(thinking, content, "truncated", "the answer never closes (no </answer>): the reply was cut off")
    if not content:
        return Split(thinking, "", "no_answer", "reasoning without a final answer")
    return Split(thinking, content)
