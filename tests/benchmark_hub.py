"""The evaluation benchmarks, published to the Hub stand-in under their real Hub ids and in their real layouts
(columns, configs, splits, LiveCodeBench's JSONL release files with pickled private tests), so that `kit eval`
loads them as it would from huggingface.co.

MATH-500, AIME 2024, AMC 2023 and HumanEval are the kit's bundled copies (AMC in math-ai's `question` column
form). AIME 2025, GPQA-Diamond and LiveCodeBench are not bundled (and cannot be downloaded here): their
stand-ins are a few SYNTHETIC problems written below in the real schemas - right answers known, and no
claim to be the real benchmark's problems.

`publish_benchmarks(api)` returns, per benchmark, the raw rows it published and, for code benchmarks, a
correct solution per problem (keyed by the problem text), for replaying answers.
"""

from __future__ import annotations

import base64
import json
import pickle
import tempfile
import zlib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import HfApi

from kit.core.sources import iter_rows

Row = dict[str, Any]

AIME25 = [  # synthetic, AIME-style integer answers
    {"id": "0", "problem": "Find the remainder when $2^{10}$ is divided by $7$.", "answer": "2"},
    {"id": "1", "problem": "How many positive divisors does $360$ have?", "answer": "24"},
    {"id": "2", "problem": "Find the sum of all positive integers $n < 20$ that are prime.", "answer": "77"},
    {"id": "3", "problem": "Compute $\\binom{10}{3}$.", "answer": "120"},
    {"id": "4", "problem": "Find the least positive integer $n$ such that $n^2 > 2025$.", "answer": "46"},
    {"id": "5", "problem": "What is the number of ordered pairs of positive integers $(a, b)$ with $a + b = 12$?",
     "answer": "11"},
]

GPQA = [  # synthetic, four-way multiple choice; the dataset lists the correct answer first
    ("What is the SI unit of force?", "Newton", "Joule", "Watt", "Pascal"),
    ("Which particle carries a negative elementary charge?", "Electron", "Proton", "Neutron", "Photon"),
    ("What is the chemical symbol of sodium?", "Na", "So", "Sd", "S"),
    ("Which organelle makes most of a cell's ATP?", "Mitochondrion", "Ribosome", "Golgi apparatus", "Lysosome"),
    ("What is the pH of pure water at 25 C?", "7", "0", "14", "1"),
]


def _pickled(tests: list[dict[str, str]]) -> str:
    """LiveCodeBench's private-test encoding: base64 of zlib of a pickled JSON string."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def _lcb(qid: str, date: str, content: str, tests: list[tuple[str, str]], *, fn: str | None = None,
         starter: str = "", private: bool = True, difficulty: str = "easy") -> Row:
    kind = "functional" if fn else "stdin"
    cases = [{"input": i, "output": o, "testtype": kind} for i, o in tests]
    return {"question_title": f"Problem {qid}", "question_content": content, "platform": "leetcode" if fn else "atcoder",
            "question_id": qid, "contest_id": f"c{qid}", "contest_date": f"{date}T00:00:00", "starter_code": starter,
            "difficulty": difficulty, "public_test_cases": json.dumps(cases[:1]),
            "private_test_cases": _pickled(cases[1:]) if private else json.dumps(cases[1:]),
            "metadata": json.dumps({"func_name": fn} if fn else {})}


STARTER = "class Solution:\n    def addUp(self, nums: List[int], k: int) -> int:\n        "
LIVECODEBENCH = {  # synthetic, in code_generation_lite's row schema; file -> rows
    "test.jsonl": [
        (_lcb("1001", "2023-06-03", "Given two integers A and B on one line, print A + B.",
              [("1 2\n", "3\n"), ("10 -4\n", "6\n"), ("0 0\n", "0\n")]),
         "a, b = map(int, input().split())\nprint(a + b)"),
        (_lcb("1002", "2023-09-10", "Given an array nums and an integer k, return the sum of nums plus k.",
              [("[1, 2, 3]\n4", "10"), ("[]\n0", "0"), ("[5]\n-5", "0")], fn="addUp", starter=STARTER),
         "from typing import List\nclass Solution:\n    def addUp(self, nums: List[int], k: int) -> int:\n"
         "        return sum(nums) + k"),
    ],
    "test2.jsonl": [
        (_lcb("1003", "2024-02-11", "Read N, then print the numbers 1 to N on one line, separated by spaces.",
              [("3\n", "1 2 3\n"), ("1\n", "1\n"), ("5\n", "1 2 3 4 5\n")], private=False, difficulty="medium"),
         "n = int(input())\nprint(*range(1, n + 1))"),
    ],
    "test3.jsonl": [  # release_v3 onwards: not in release_v2
        (_lcb("1004", "2024-06-20", "Print the string S read from input, reversed.", [("abc\n", "cba\n")]),
         "print(input()[::-1])"),
    ],
}


def _parquet(rows: list[Row]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue().to_pybytes()


def _upload(api: HfApi, repo_id: str, files: dict[str, bytes | str]) -> None:
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for rel, content in files.items():
            path = Path(tmp) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode() if isinstance(content, str) else content)
        api.upload_folder(folder_path=tmp, repo_id=repo_id, repo_type="dataset", commit_message="benchmark stand-in")


def _jsonl(rows: list[Row]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def publish_benchmarks(api: HfApi) -> dict[str, Any]:
    """Publish every benchmark repo to the stand-in `api` talks to; return the raw rows and code solutions."""
    bundled = {name: list(iter_rows(f"kit:benchmarks/{file}")) for name, file in (
        ("math500", "math500.jsonl"), ("aime24", "aime24.jsonl"), ("amc23", "amc23.jsonl"),
        ("humaneval", "humaneval.jsonl.gz"))}
    amc = [{"id": r["id"], "question": r["question"], "answer": float(r["answer"]), "url": r["url"]}
           for r in bundled["amc23"]]
    gpqa = [{"Question": q, "Correct Answer": a, "Incorrect Answer 1": b, "Incorrect Answer 2": c,
             "Incorrect Answer 3": d, "Record ID": f"rec{i}", "Explanation": f"It is {a}."}
            for i, (q, a, b, c, d) in enumerate(GPQA)]
    _upload(api, "HuggingFaceH4/MATH-500", {"test.jsonl": _jsonl(bundled["math500"])})
    _upload(api, "HuggingFaceH4/aime_2024", {"data/train-00000-of-00001.parquet": _parquet(bundled["aime24"])})
    _upload(api, "yentinglin/aime_2025", {"data/train-00000-of-00001.parquet": _parquet(AIME25)})
    _upload(api, "math-ai/amc23", {"data/test-00000-of-00001.parquet": _parquet(amc)})
    _upload(api, "openai/openai_humaneval", {"openai_humaneval/test-00000-of-00001.parquet":
                                             _parquet(bundled["humaneval"])})
    _upload(api, "Idavidrein/gpqa", {
        "README.md": "---\nconfigs:\n- config_name: gpqa_diamond\n  data_files:\n  - split: train\n"
                     "    path: gpqa_diamond.parquet\n- config_name: gpqa_main\n  data_files:\n  - split: train\n"
                     "    path: gpqa_main.parquet\n---\n",
        "gpqa_diamond.parquet": _parquet(gpqa), "gpqa_main.parquet": _parquet(gpqa[:1])})
    _upload(api, "livecodebench/code_generation_lite",
            {name: _jsonl([row for row, _ in rows]) for name, rows in LIVECODEBENCH.items()})
    code = {row["question_content"]: solution for rows in LIVECODEBENCH.values() for row, solution in rows}
    code.update({r["prompt"]: r["prompt"] + r["canonical_solution"] for r in bundled["humaneval"]})
    return {
        "rows": {"math500": bundled["math500"], "aime24": bundled["aime24"], "aime25": AIME25, "amc23": amc,
                 "gpqa_diamond": gpqa, "humaneval": bundled["humaneval"],
                 "livecodebench": [row for rows in LIVECODEBENCH.values() for row, _ in rows]},
        "code": code,
    }

