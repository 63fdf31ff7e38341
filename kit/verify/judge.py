"""The LLM judge: is a sample's final answer the reference answer? For science and puzzle rows, and for
math rows whose answer Math-Verify could not read (`JudgeConfig.math_fallback`).

The judge model gets the problem, the reference (`ground_truth_answer`, else `ground_truth_solution`) and
the sample's `solution`, and answers a JSON object `Judgement` ({"correct": bool, "reason": str}); backends
that can constrain decoding are asked for `JUDGE_SCHEMA` (see `judge_sampling` and the LLMs' `replies`).
`read_judgement` turns a reply into a `Verdict` and never raises on what the model wrote.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kit.core.chat import render_prompt, split_reply
from kit.recipes import JudgeConfig
from kit.verify import Verdict, clip

VERIFIER = "llm-judge"
MATH_FALLBACK_REASONS = frozenset({"no_answer", "error", "timeout"})  # Math-Verify could not parse
MAX_REASON_CHARS = 300


class Judgement(BaseModel):
    """What the judge answers."""

    model_config = ConfigDict(extra="forbid")  # `additionalProperties: false`, as strict structured outputs need

    correct: bool = Field(description="Whether the candidate's final answer matches the reference answer.")
    reason: str = Field(description="One short sentence saying why.")


JUDGE_SCHEMA: dict[str, Any] = Judgement.model_json_schema()

SYSTEM_PROMPT = "You are a careful grader. You compare final answers and reply with a JSON object only."

DEFAULT_PROMPT = """\
Decide whether the candidate's final answer to this {{ domain }} problem is correct.

## Problem
{{ problem }}

## Reference answer
{{ reference }}

## Candidate solution
{{ answer }}

Compare only the candidate's FINAL answer with the reference answer; ignore how it got there. Equivalent
forms count as the same answer (e.g. 0.5 and 1/2, reordered terms, the same value in equivalent units,
different wording of the same fact). For a multiple-choice problem the candidate must pick the same
option as the reference. A missing, ambiguous or hedged final answer (several different answers) is not
correct.

Reply with only this JSON object, nothing else:
{"correct": true or false, "reason": "one short sentence"}
"""


def reference(row: Mapping[str, Any]) -> str:
    """The reference the judge compares with: `ground_truth_answer`, else `ground_truth_solution` ("" if none)."""
    for key in ("ground_truth_answer", "ground_truth_solution"):
        value = row.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    return ""


def judge_messages(row: Mapping[str, Any], template_text: str | None = None) -> list[dict[str, str]]:
    """The chat turns asking the judge about `row`: a system turn, then the user turn rendered from
    `template_text` (a recipe's `judge.prompt` file, read by the caller; default `DEFAULT_PROMPT`) with
    `problem`, `reference`, `answer` (the sample's `solution`) and `domain`. A template naming any other
    variable raises `jinja2.UndefinedError`."""
    user = render_prompt(
        template_text or DEFAULT_PROMPT, problem=str(row.get("problem") or ""), reference=reference(row), answer=str(row.get("solution") or ""),
        domain=str(row.get("domain") or ""))
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def needs_judge(row: Mapping[str, Any], verdict: Verdict, cfg: JudgeConfig) -> bool:
    """Whether the judge should decide `row` (whose verdict so far is `verdict`): rows of `cfg.domains`, and
    with `cfg.math_fallback` math rows Math-Verify could not read (no_answer, error, timeout). Never a row
    without a reference or without a solution: those keep `verdict`."""
    if not reference(row) or not str(row.get("solution") or "").strip():
        return False
    domain = row.get("domain")
    if domain in cfg.domains:
        return True
    return cfg.math_fallback and domain == "math" and verdict.reason in MATH_FALLBACK_REASONS


def judge_sampling(cfg: JudgeConfig) -> dict[str, Any]:
    """The keyword arguments of the judge LLM's `replies(requests, **judge_sampling(cfg))`."""
    return {"max_new_tokens": cfg.max_new_tokens, "temperature": cfg.temperature, "top_p": 1.0,
            "json_schema": JUDGE_SCHEMA}


_INVALID_ESCAPE = re.compile(r'\\(?!["\\/bfnrtu])')  # LaTeX in a JSON string (`\sqrt`): not a JSON escape


def _objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects in `text`, in order (nested ones left inside their parent); a backslash that starts
    no JSON escape (a free-running judge writing `\\sqrt{2}` in its reason) is read as itself."""
    decoder, found, at = json.JSONDecoder(), [], text.find("{")
    while at >= 0:
        nxt = at + 1
        try:
            value, nxt = decoder.raw_decode(text, at)
        except ValueError:  # (a nested object of one read this way is found again, after it: it has no verdict)
            try:
                value = decoder.raw_decode(_INVALID_ESCAPE.sub(r"\\\\", text[at:]))[0]
            except ValueError:
                value = None
        if isinstance(value, dict):
            found.append(value)
        at = text.find("{", nxt)
    return found


def _judgement(text: str) -> Judgement | None:
    """The last JSON object of `text` that holds a verdict (`correct`): a ```json fence, prose or a draft
    verdict around it are no part of it; keys other than the schema's are dropped, a missing `reason` is ""."""
    for data in reversed(_objects(text)):
        if "correct" in data:
            data = {"reason": "", **{k: v for k, v in data.items() if k in Judgement.model_fields}}
            try:
                return Judgement.model_validate(data)
            except ValidationError:
                return None
    return None


def read_judgement(reply: Mapping[str, Any], model: str) -> Verdict:
    """The verdict of one judge reply (a `replies` dict): passed when the judge says correct; reason None,
    `judged_wrong`, `judge_unparsable` (not the JSON asked for) or `judge_error` (the request failed).
    `detail` holds `judge` (the model) and the judge's explanation (`judge_reason`: `reason` is the verdict's
    category), or `error`.

    The verdict is read from the reply's answer, as `split_reply` splits it from the judge's own thinking:
    never from a reply cut at its token limit, nor from thinking that never closed (a verdict drafted there
    is no verdict). One exception: a reply whose answer is empty and whose server-side reasoning field is
    one verdict object and nothing else - vLLM with a reasoning parser has returned structured outputs there
    (vllm-project/vllm#15618, #16182) - is read from that field (`verdict_from: reasoning`)."""
    if reply.get("error"):
        error = clip(str(reply["error"]), MAX_REASON_CHARS)
        return Verdict(False, VERIFIER, "judge_error", {"judge": model, "error": error})
    content = reply.get("content") or ""
    thinking = str(reply.get("reasoning_content") or "").strip()
    split = split_reply(content, thinking, reply.get("finish_reason"))
    judgement, source = (None, None) if split.reject else (_judgement(split.solution), None)
    if judgement is None and split.reject == "no_answer" and not content.strip() and thinking.startswith("{"):
        objects = _objects(thinking)
        if len(objects) == 1 and thinking.endswith("}"):
            judgement, source = _judgement(thinking), "reasoning"
    if judgement is None:
        if split.reject in ("truncated", "empty_reply", "unclosed_think", "no_answer"):
            error = {"truncated": "cut at max_new_tokens before a verdict", "empty_reply": "an empty reply",
                     "unclosed_think": "its thinking never closed", "no_answer": "thinking without a verdict"
                     }[split.reject]
        elif split.reject:
            error = split.detail
        else:
            error = "not the JSON asked for"
        return Verdict(False, VERIFIER, "judge_unparsable",
                       {"judge": model, "error": error, "reply": clip(content.strip(), MAX_REASON_CHARS)})
    detail = {"judge": model, "judge_reason": clip(judgement.reason.strip(), MAX_REASON_CHARS)}
    if source:
        detail["verdict_from"] = source
    return Verdict(judgement.correct, VERIFIER, None if judgement.correct else "judged_wrong", detail)


__all__ = ["DEFAULT_PROMPT", "JUDGE_SCHEMA", "MATH_FALLBACK_REASONS", "Judgement", "judge_messages",
           "judge_sampling", "needs_judge", "read_judgement", "reference"]
