"""HumanEval (`openai/openai_humaneval`): complete a Python function from its signature and docstring, scored by
the dataset's `check` tests in the sandbox."""

from __future__ import annotations

import json

from kit.benchmarks.common import Benchmark, Row, metadata_row


def _humaneval_row(row: Row, name: str) -> Row:
    """HumanEval: the prompt is both the problem and the starter code; tests keep their `check` form, and the prompt
    is their prelude too - its harness runs prompt + completion, so a completion may use the prompt's imports
    (`List`) and helpers (`poly`, `encode_cyclic`) without repeating them."""
    tests = {"test_code": row["test"], "entry_point": row["entry_point"], "prelude": row["prompt"]}
    return metadata_row(row["prompt"], "code", name, solution=row["prompt"] + row["canonical_solution"],
                        test_cases=json.dumps(tests), starter_code=row["prompt"])


SPECS = (
    Benchmark("humaneval", "HumanEval", "code", "openai/openai_humaneval", "test", _humaneval_row,
              bundled="kit:benchmarks/humaneval.jsonl.gz"),
)
