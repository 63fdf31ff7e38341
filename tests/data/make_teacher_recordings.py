"""Write ``tests/data/teacher_recordings.jsonl``, the completions the stand-in teacher server replays.

    python tests/data/make_teacher_recordings.py

The stand-in (``tests/teacherserver``) answers an OpenAI-compatible chat-completions request with a
recorded completion whose ``problem`` text occurs in the request's last user message. This script derives
the recordings from the bundled sample ``kit/data/samples/quickstart.jsonl``: one line per distinct
problem (in order of first appearance), whose ``completions`` hold one entry per sample row of that
problem, in file order::

    {"problem": ..., "completions": [{"reasoning_content": row.reasoning, "content": row.solution,
                                      "finish_reason": "stop"}, ...]}

That is how a reasoning server (vLLM / SGLang with a reasoning parser, hosted DeepSeek-R1) splits its
reply: the thinking in ``message.reasoning_content``, the final answer in ``message.content``.

It then appends the ``SPECIALS`` below: short made-up problems (``STANDIN: ...``) whose replies are the
bad or unusual teacher outputs a pipeline must cope with. Re-run it after editing the sample or SPECIALS;
the output is deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "kit" / "data" / "samples" / "quickstart.jsonl"
OUT = Path(__file__).resolve().parent / "teacher_recordings.jsonl"

_LONG_REASONING = " ".join(f"Step {i}: the running total is {i * (i + 1) // 2}." for i in range(1, 201))

SPECIALS: list[dict] = [
    {
        # The server answers, but with nothing at all.
        "problem": "STANDIN: empty reply. What is 2 + 2?",
        "completions": [{"reasoning_content": None, "content": "", "finish_reason": "stop"}],
    },
    {
        # The model opened a think block and never closed it (no reasoning parser split anything off).
        "problem": "STANDIN: unclosed think. What is 2 + 2?",
        "completions": [
            {"reasoning_content": None, "content": "<think>I keep thinking", "finish_reason": "stop"}
        ],
    },
    {
        # Sky-T1's output format, all in content.
        "problem": "STANDIN: Sky-T1 format. What is 2 + 2?",
        "completions": [
            {
                "reasoning_content": None,
                "content": (
                    "<|begin_of_thought|>\n\nI need 2 + 2. Two plus two is four.\n\n<|end_of_thought|>\n\n"
                    "<|begin_of_solution|>\n\n$2 + 2 = \\boxed{4}$\n\n<|end_of_solution|>"
                ),
                "finish_reason": "stop",
            }
        ],
    },
    {
        # DeepSeek-R1 served without a reasoning parser: the think block inline in content.
        "problem": "STANDIN: inline think. What is 2 + 2?",
        "completions": [
            {
                "reasoning_content": None,
                "content": "<think>\nTwo plus two is four.\n</think>\n\nThe answer is $\\boxed{4}$.",
                "finish_reason": "stop",
            }
        ],
    },
    {
        # A long reply (about 1,600 words of reasoning), for max_tokens cutting.
        "problem": "STANDIN: long reply. What is the sum of the integers from 1 to 200?",
        "completions": [
            {
                "reasoning_content": _LONG_REASONING,
                "content": "The sum is $\\frac{200 \\cdot 201}{2} = \\boxed{20100}$.",
                "finish_reason": "stop",
            }
        ],
    },
]


def build(sample: Path = SAMPLE) -> list[dict]:
    by_problem: dict[str, list[dict]] = {}
    for line in sample.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        by_problem.setdefault(row["problem"], []).append(
            {"reasoning_content": row["reasoning"], "content": row["solution"], "finish_reason": "stop"}
        )
    entries = [{"problem": p, "completions": c} for p, c in by_problem.items()]
    return entries + SPECIALS


def main() -> None:
    entries = build()
    with OUT.open("w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    print(f"wrote {len(entries)} recordings to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
