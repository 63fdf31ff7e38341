"""GPQA-Diamond (`Idavidrein/gpqa`, gated): graduate-level science questions with four answers, scored by the
letter of the chosen answer. The dataset lists the correct answer first, so the converter shuffles the answers
in an order fixed by the question."""

from __future__ import annotations

import random

from kit.benchmarks.common import Benchmark, Row, metadata_row
from kit.core.schema import problem_id

LETTERS = "ABCD"
QUESTION = "Question"  # the question's own text (`Benchmark.text`)


def _gpqa_row(row: Row, name: str) -> Row:
    """GPQA: the question and four answers, shuffled in an order fixed by the question (the dataset lists the
    correct answer first); the gold answer is the letter it lands on."""
    question = row[QUESTION].strip()
    answers = [row["Correct Answer"], row["Incorrect Answer 1"], row["Incorrect Answer 2"], row["Incorrect Answer 3"]]
    order = list(range(4))
    random.Random(problem_id(question)).shuffle(order)
    listed = "\n".join(f"{LETTERS[i]}) {str(answers[j]).strip()}" for i, j in enumerate(order))
    return metadata_row(f"{question}\n\n{listed}", "science", name, key=question, solution=row.get("Explanation"),
                        answer=LETTERS[order.index(0)])


SPECS = (
    Benchmark("gpqa_diamond", "GPQA-Diamond", "choice", "Idavidrein/gpqa", "train", _gpqa_row, config="gpqa_diamond",
              text=QUESTION),
)
