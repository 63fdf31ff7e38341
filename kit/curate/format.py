"""SFT formatting: a metadata row becomes a `default` row of chat messages (see `kit.schema.DEFAULT_FEATURES`).

The assistant turn is `<think>\\n{reasoning}\\n</think>\\n\\n{solution}`; the user turn is the problem, the
starter code of a code problem in a fenced block, and the domain's format instruction.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jinja2

from kit.recipes import FormatConfig
from kit.schema import problem_id

THINK_TEMPLATE = "<think>\n{reasoning}\n</think>\n\n{solution}"


@functools.lru_cache(maxsize=8)
def _compiled(text: str) -> jinja2.Template:
    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True).from_string(text)


def render_prompt(template_text: str, **values: Any) -> str:
    """A prompt rendered from a Jinja2 template (reformat, judge); a variable it names but is not given
    raises `jinja2.UndefinedError`. Templates are compiled once."""
    return _compiled(template_text).render(**values)


def user_prompt(row: Mapping[str, Any], fmt: FormatConfig) -> str:
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


def prompt_messages(row: Mapping[str, Any], fmt: FormatConfig, system_prompt: str | None = None) -> list[dict[str, str]]:
    """The turns before the answer: optional system turn, user turn (also what a teacher is asked).
    `system_prompt` (a row's own, e.g. the system turn of a dataset's chat) replaces `fmt.system_prompt`."""
    system_prompt = system_prompt or fmt.system_prompt
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*system, {"role": "user", "content": user_prompt(row, fmt)}]


def to_messages(row: Mapping[str, Any], fmt: FormatConfig, system_prompt: str | None = None) -> list[dict[str, str]]:
    """The conversation of one metadata row: optional system turn, user turn, assistant turn."""
    return [*prompt_messages(row, fmt, system_prompt), {"role": "assistant", "content": assistant_turn(row)}]


def default_row(row: Mapping[str, Any], fmt: FormatConfig, system_prompt: str | None = None) -> dict[str, Any]:
    """A row of the `default` config: messages, problem_id, domain, source (`system_prompt`: the row's own,
    recorded in its `generation` as `system_prompt`, in place of the recipe's)."""
    return {
        "messages": to_messages(row, fmt, system_prompt),
        "problem_id": row.get("problem_id") or problem_id(row["problem"]),
        "domain": row.get("domain"),
        "source": row.get("source"),
    }
