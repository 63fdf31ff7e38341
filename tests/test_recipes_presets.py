"""Dataset presets (project issue 16): `sources[].preset: NAME` fills a public dataset's Hub id, config, column
map and license; the recipe's own keys win. Each preset runs through `kit curate` on a few rows written here in
that dataset's real schema (the schemas and their sources are in kit/recipes/presets.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kit.core.testcases import GRADERS
from kit.recipes import RecipeError, SourceConfig, load_data_recipe
from kit.recipes.presets import PRESETS, expand_preset
from tests.test_generation_teachers import kit, write_jsonl

ROOT = Path(__file__).resolve().parent.parent
SKY = "<|begin_of_thought|>\n\n{}\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\n{}\n\n<|end_of_solution|>"
SYSTEM = "Your role as an assistant involves thoroughly exploring questions through a systematic long thinking process."
CODE_ADD = "```python\ndef add(a, b):\n    return a + b\n```"
CODE_SUB = "```python\ndef add(a, b):\n    return a - b\n```"
STDIN_SUM = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
STDIN_BAD = "```python\nprint(0)\n```"
ADD_TESTS = json.dumps({"fn_name": "add", "inputs": [[1, 2], [5, 7]], "outputs": [3, 12]})
SUM_TESTS = json.dumps({"inputs": ["1 2\n", "10 5\n"], "outputs": ["3\n", "15\n"]})
# the program of a problem that asks for input.txt and output.txt (older Codeforces rounds)
FILE_SUM = ("```python\nwith open('input.txt') as f:\n    a, b = map(int, f.read().split())\n"
            "with open('output.txt', 'w') as f:\n    print(a + b, file=f)\n```")


def curate(tmp_path: Path, source: dict) -> tuple[list[dict], dict]:
    out = tmp_path / "out"
    recipe = {"name": "preset", "sources": [source], "teacher": {"backend": "dataset", "model": "some/reasoner"},
              "verify": {"workers": 2}, "output": {"dir": str(out)}}
    path = tmp_path / "recipe.yaml"
    path.write_text(json.dumps(recipe))
    result = kit("curate", str(path))
    assert result.returncode == 0, result.stderr
    metadata = [row for shard in sorted((out / "metadata").glob("train-*.parquet"))
                for row in pq.read_table(shard).to_pylist()]
    return metadata, json.loads((out / "stats.json").read_text())


def rejected(stats: dict) -> set[tuple[int, str, str]]:
    return {(r["row"], r["stage"], r["reason"]) for r in stats["rejected_rows"]}


# --- expansion ------------------------------------------------------------------------------------------

def test_preset_fills_unset_keys_and_the_recipe_wins():
    src = SourceConfig(preset="taco", split="test", limit=5, columns={"problem": "name"})
    assert (src.path, src.config, src.split, src.domain, src.license) == ("BAAI/TACO", "ALL", "test", "code", "apache-2.0")
    assert src.columns == {"problem": "name", "test_cases": "input_output"}  # merged key by key
    src = SourceConfig(preset="numinamath-cot", where={"source": ["amc_aime"]}, path="/data/numina.parquet",
                       name="numina-amc")
    assert (src.path, src.name, src.where) == ("/data/numina.parquet", "numina-amc", {"source": ["amc_aime"]})
    assert src.columns == {"ground_truth_solution": "solution"}
    assert expand_preset({"path": "x"}) == {"path": "x"}


def test_every_preset_is_a_valid_source():
    for name, preset in PRESETS.items():
        src = SourceConfig(preset=name)
        assert src.path == preset["path"] and src.columns == preset["columns"], name
        assert preset["description"] and src.license, name


def test_unknown_preset_is_one_line(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: x\nsource: {preset: openthoughts}\n")
    with pytest.raises(RecipeError) as err:
        load_data_recipe(recipe)
    message = str(err.value)
    assert "\n" not in message and "unknown preset 'openthoughts'" in message
    assert all(name in message for name in PRESETS)


def test_dumped_recipe_reads_back_the_same(tmp_path):
    from kit.recipes import dump_recipe

    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: x\nsource: {preset: apps, limit: 3, columns: {problem: title}}\n")
    first = load_data_recipe(recipe)
    again = tmp_path / "again.yaml"
    again.write_text(dump_recipe(first))
    assert load_data_recipe(again).sources == first.sources


def test_curate_help_lists_the_presets():
    result = kit("curate", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert all(name in text for name in PRESETS), text
    readme = (ROOT / "README.md").read_text()
    assert all(f"| `{name}` |" in readme for name in PRESETS)


# --- each preset through `kit curate`, on rows in the dataset's own schema -----------------------------------

def apps_row(pid: int, question: str, tests: str, starter: str, reply: str) -> dict:
    # codeparrot/apps columns, plus the trace under test (`reply`)
    return {"problem_id": pid, "question": question, "solutions": json.dumps(["..."]), "input_output": tests,
            "difficulty": "introductory", "url": f"https://example.com/{pid}", "starter_code": starter, "reply": reply}


@pytest.mark.parametrize("preset", ["apps", "taco"])
def test_apps_and_taco(tmp_path, preset):
    rows = [apps_row(1, "Write add(a, b) returning the sum of two integers a and b.", ADD_TESTS, "def add(a, b):",
                     f"<think>\nReturn a + b.\n</think>\n\n{CODE_ADD}"),
            apps_row(2, "Write add(a, b) that gives the total of a and b for a ledger.", ADD_TESTS,
                     "def add(a, b):", f"<think>\nSubtract?\n</think>\n\n{CODE_SUB}"),
            apps_row(3, "Read two integers on one line and print their sum on its own line.", SUM_TESTS, "",
                     f"<think>\nRead, add, print.\n</think>\n\n{STDIN_SUM}"),
            apps_row(4, "Read two integers separated by a space and output the sum of both.", SUM_TESTS, "",
                     f"<think>\nPrint zero.\n</think>\n\n{STDIN_BAD}"),
            # right, but leaning on the imports APPS's and TACO's graders put before every solution
            apps_row(5, "Print the sum of the two integers given on the one line of input.", SUM_TESTS, "",
                     "<think>\nnumpy.\n</think>\n\n```python\nq = deque(map(int, stdin.readline().split()))\n"
                     "print(int(np.array(q).sum()) + 0 * gcd(*q))\n```"),
            apps_row(6, "Write add(a, b) that adds two whole numbers a and b and returns the result.", ADD_TESTS,
                     "def add(a, b):", "<think>\nCache.\n</think>\n\n```python\n@lru_cache(None)\n"
                     "def add(a, b):\n    return a + b\n```"),
            # a dict argument: its keys, strings in JSON, are integers when those graders call the function
            apps_row(7, "Given a dict from item weight to count, return the total weight of all the items.",
                     json.dumps({"fn_name": "total", "inputs": [[{"1": 5, "2": 7}], [{"3": 4}]], "outputs": [19, 12]}),
                     "def total(items):", "<think>\nSum.\n</think>\n\n```python\ndef total(items):\n"
                     "    return sum(w * n for w, n in items.items())\n```")]
    if preset == "taco":  # TACO's own extra columns
        for row in rows:
            row |= {"raw_tags": "['Math']", "name": None, "source": "codewars", "tags": "['Mathematics']",
                    "skill_types": "[]", "Expected Auxiliary Space": None, "time_limit": None, "date": None,
                    "picture_num": None, "memory_limit": None, "Expected Time Complexity": None}
            del row["problem_id"]
    data = write_jsonl(tmp_path / f"{preset}.jsonl", rows)
    metadata, stats = curate(tmp_path, {"preset": preset, "path": str(data), "columns": {"reply": "reply"}})
    assert [m["problem"] for m in metadata] == [rows[i]["question"] for i in (0, 2, 4, 5, 6)]
    assert json.loads(metadata[4]["test_cases"])["int_keys"] is True
    assert all(m["domain"] == "code" and m["source"] in (preset, "codewars") for m in metadata)
    tests = json.loads(metadata[0]["test_cases"])
    assert tests["fn_name"] == "add" and metadata[0]["starter_code"] == "def add(a, b):"
    assert "int_keys" not in json.loads(metadata[1]["test_cases"])  # stdin/stdout tests have no arguments
    assert tests["prelude"] == GRADERS["apps"].prelude and "import numpy as np\n" in tests["prelude"]
    assert rejected(stats) == {(1, "verify", "tests_failed"), (3, "verify", "tests_failed")}
    assert all(m["problem_id"] != "1" for m in metadata)  # the kit's own id, not APPS's


def test_numinamath_cot(tmp_path):
    # AI-MO/NuminaMath-CoT columns (source, problem, solution, messages), plus R1-style traces under test
    def row(source: str, problem: str, solution: str, reasoning: str, answer: str) -> dict:
        return {"source": source, "problem": problem, "solution": solution,
                "messages": [{"role": "user", "content": problem}, {"role": "assistant", "content": solution}],
                "r1_reasoning": reasoning, "r1_answer": answer}
    rows = [row("amc_aime", "A baker packs 7 muffins into each of 9 boxes. How many muffins?",
                "There are $7 \\cdot 9 = \\boxed{63}$ muffins.", "9 * 7 = 63.", "$\\boxed{63}$"),
            row("cn_k12", "Mira reads 12 pages on each of 5 evenings. How many pages in total?",
                "She reads $\\boxed{60}$ pages.", "12 * 5 = 60.", "$\\boxed{60}$"),
            row("olympiads", "A rope 45 meters long is cut into 9 meter pieces. How many pieces?",
                "$45 / 9 = \\boxed{5}$", "45 / 9 = 6?", "$\\boxed{6}$")]
    data = write_jsonl(tmp_path / "numina.jsonl", rows)
    metadata, stats = curate(tmp_path, {"preset": "numinamath-cot", "path": str(data),
                                        "where": {"source": ["amc_aime", "olympiads"]},
                                        "columns": {"reasoning": "r1_reasoning", "solution": "r1_answer"}})
    assert [m["problem"] for m in metadata] == [rows[0]["problem"]]
    assert metadata[0]["ground_truth_solution"] == rows[0]["solution"] and metadata[0]["source"] == "amc_aime"
    assert rejected(stats) == {(1, "verify", "wrong_answer")}  # row 1 of the two kept by `where`


def test_openthoughts_metadata_config(tmp_path):
    # open-thoughts/OpenThoughts-114k `metadata` config columns
    def row(problem, reasoning, solution, truth, domain, source, tests=None, starter=None):
        return {"problem": problem, "deepseek_reasoning": reasoning, "deepseek_solution": solution,
                "ground_truth_solution": truth, "domain": domain, "source": source, "test_cases": tests,
                "starter_code": starter}
    rows = [row("A square plot has a perimeter of 36 feet. What is its area in square feet?", "Side 9, area 81.",
                "The area is $\\boxed{81}$.", "The side is 9, so the area is $\\boxed{81}$.", "math", "numina_math"),
            row("A jar holds red and blue marbles in ratio 3:4, 28 in all. How many are red?", "3/7 of 28 is 16.",
                "$\\boxed{16}$", "$\\boxed{12}$", "math", "numina_math"),
            row("Write add(a, b) returning the sum of two integers a and b.", "Return a + b.", CODE_ADD, None,
                "code", "apps", ADD_TESTS, "def add(a, b):"),
            row("Read two integers on one line and print their sum on its own line.", "Read, add, print.",
                STDIN_SUM, None, "code", "codeforces", SUM_TESTS, ""),
            # right, leaning on the imports of the grader open-thoughts judged its code with (TACO's)
            row("Print the sum of the two integers given on the one line of input.", "A deque, then its sum.",
                "```python\nq = deque(map(int, input().split()))\nprint(sum(q) + 0 * gcd(*q))\n```", None,
                "code", "taco", SUM_TESTS, ""),
            # open-thoughts' science rows name their subject (its science.py): biology, chemistry, physics
            row("Which organelle makes most of a cell's ATP?", "Cellular respiration happens in mitochondria.",
                "The mitochondrion.", None, "biology", "camel"),
            row("Who wrote the Iliad?", "Tradition names Homer.", "Homer.", None, "history", "trivia")]
    data = tmp_path / "ot.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    metadata, stats = curate(tmp_path, {"preset": "openthoughts-114k", "path": str(data)})
    assert [m["problem"] for m in metadata] == [rows[i]["problem"] for i in (0, 2, 3, 4)]
    assert [m["domain"] for m in metadata] == ["math", "code", "code", "code"]
    assert json.loads(metadata[3]["test_cases"])["prelude"] == GRADERS["apps"].prelude
    assert metadata[0]["test_cases"] is None  # a math row has no tests for the grader's imports to join
    assert metadata[0]["reasoning"] == "Side 9, area 81." and metadata[0]["source"] == "numina_math"
    # the biology row is a science row: without `verify.judge` there is nothing to check it with (not a bad domain)
    assert rejected(stats) == {(1, "verify", "wrong_answer"), (5, "verify", "unsupported_domain"),
                               (6, "validate", "unknown_domain")}
    assert stats["by_domain"]["science"] == {"in": 1, "kept": 0}
    assert stats["rejected_rows"][-1]["detail"] == ("domain 'history' is not one of math, code, science, puzzle "
                                                    "(set the source's `domain:`)")


def sharegpt(problem: str, reply: str) -> list[dict]:
    return [{"from": "user", "value": problem}, {"from": "assistant", "value": reply}]


@pytest.mark.parametrize("preset", ["openthoughts-114k-chat", "bespoke-stratos-17k", "sky-t1-17k"])
def test_system_and_conversations(tmp_path, preset):
    # OpenThoughts-114k `default` config, Bespoke-Stratos-17k, Sky-T1_data_17k: system + ShareGPT conversations. They
    # carry no reference, so the test adds the gold answer the recipe maps itself.
    rows = [{"system": SYSTEM, "conversations": sharegpt("A baker packs 7 muffins into each of 9 boxes. How many?",
                                                         SKY.format("9 * 7 = 63.", "$\\boxed{63}$")), "gold": "63"},
            {"system": SYSTEM, "conversations": sharegpt("Mira reads 12 pages on 5 evenings. How many pages?",
                                                         SKY.format("12 * 5 = 50?", "$\\boxed{50}$")), "gold": "60"},
            {"system": SYSTEM, "conversations": sharegpt("A rope of 45 m is cut into 9 m pieces. How many?",
                                                         "<|begin_of_thought|>\n\n45 / 9 is"), "gold": "5"}]
    data = write_jsonl(tmp_path / "chat.jsonl", rows)
    metadata, stats = curate(tmp_path, {"preset": preset, "path": str(data), "domain": "math",
                                        "columns": {"ground_truth_answer": "gold"}})
    assert [m["problem"] for m in metadata] == ["A baker packs 7 muffins into each of 9 boxes. How many?"]
    assert json.loads(metadata[0]["generation"])["system_prompt"] == SYSTEM
    assert metadata[0]["reasoning"] == "9 * 7 = 63." and metadata[0]["solution"] == "$\\boxed{63}$"
    assert rejected(stats) == {(1, "verify", "wrong_answer"), (2, "generate", "unclosed_think")}


def test_openr1_math(tmp_path):
    # open-r1/OpenR1-Math-220k columns
    def row(problem, solution, answer, generations, correct, finish=None):
        finish = finish or ["stop"] * len(generations)
        return {"problem": problem, "solution": solution, "answer": answer, "problem_type": "Algebra",
                "question_type": "math-word-problem", "source": "olympiads", "uuid": f"u-{answer}",
                "is_reasoning_complete": [end == "stop" for end in finish], "generations": generations,
                "correctness_math_verify": correct, "correctness_llama": None,
                "finish_reasons": finish, "correctness_count": sum(correct),
                "messages": [{"role": "user", "content": problem}, {"role": "assistant", "content": generations[0]}]}
    rows = [row("A baker packs 7 muffins into each of 9 boxes. How many muffins?", "$9 \\cdot 7 = 63$", "63",
                ["<think>\n9 * 7 = 63.\n</think>\n\nShe packs $\\boxed{63}$.", "<think>\n63\n</think>\n\n$\\boxed{63}$",
                 "<think>\nNine times seven is\n</think>\n\nShe packs $\\boxed{6"], [True, True, False],
                ["stop", "stop", "length"]),
            row("Mira reads 12 pages on each of 5 evenings. How many pages?", "$12 \\cdot 5 = 60$", "60",
                ["<think>\n12 * 5 = 50.\n</think>\n\n$\\boxed{50}$"], [False])]
    data = tmp_path / "openr1.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    metadata, stats = curate(tmp_path, {"preset": "openr1-math-220k", "path": str(data)})
    # every generation is a sample: both right ones of the first problem are kept
    assert [(m["problem"], m["reasoning"]) for m in metadata] == [(rows[0]["problem"], "9 * 7 = 63."),
                                                                  (rows[0]["problem"], "63")]
    assert metadata[0]["ground_truth_answer"] == "63"
    assert [json.loads(m["generation"])["sample_index"] for m in metadata] == [0, 1]
    assert rejected(stats) == {(0, "generate", "truncated"), (1, "verify", "wrong_answer")}
    assert stats["total_rows"] == 2 and {s["stage"]: s["out"] for s in stats["stages"]}["load"] == 4


def test_deepmath_103k(tmp_path):
    # zwhe99/DeepMath-103K columns: three R1 solutions per problem, in three columns; each is a trace
    def row(question, answer, *solutions):
        return {"question": question, "final_answer": answer, "difficulty": 5.0,
                "topic": "Mathematics -> Algebra -> Prealgebra -> Integers",
                **{f"r1_solution_{i}": text for i, text in enumerate(solutions, start=1)}}

    rows = [row("A baker packs 7 muffins into each of 9 boxes. How many muffins?", "63",
                "Okay, 9 * 7 = 63.\n</think>\n\nShe packs $\\boxed{63}$.",  # the template opened <think>
                "<think>\n9 * 7 = 64.\n</think>\n\n$\\boxed{64}$", "<think>\nNine times seven"),
            row("Mira reads 12 pages on each of 5 evenings. How many pages?", "60",
                "<think>\n12 * 5 = 60.\n</think>\n\n$\\boxed{60}$", "", "12 * 5 = 60.\n</think>\n\n**60**")]
    data = tmp_path / "deepmath.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    metadata, stats = curate(tmp_path, {"preset": "deepmath-103k", "path": str(data)})
    assert [(m["problem"], m["reasoning"]) for m in metadata] == [(rows[0]["question"], "Okay, 9 * 7 = 63."),
                                                                  (rows[1]["question"], "12 * 5 = 60."),
                                                                  (rows[1]["question"], "12 * 5 = 60.")]
    assert [json.loads(m["generation"])["sample_index"] for m in metadata] == [0, 0, 2]
    assert metadata[0]["ground_truth_answer"] == "63" and metadata[0]["source"] == "deepmath"
    assert rejected(stats) == {(0, "verify", "wrong_answer"), (0, "generate", "unclosed_think"),
                               (1, "generate", "empty_reply")}
    assert {s["stage"]: s["out"] for s in stats["stages"]}["load"] == 6


def test_codeforces_cots(tmp_path):
    # open-r1/codeforces-cots `solutions_py` columns; its `examples` are the tests, compared as open-r1's Codeforces
    # grader compares them (`grader: codeforces`: yes and no up to letter case, whatever the statement says)
    sums = [{"input": "1 2\n", "output": "3\n"}, {"input": "10 5\n", "output": "15\n"}]

    def row(cid, prompt, generation, finish, examples=sums):
        return {"id": f"{cid}/A", "aliases": None, "contest_id": str(cid), "contest_name": "Round", "contest_type": "CF",
                "contest_start": 1700000000, "contest_start_year": 2023, "index": "A", "time_limit": 1.0,
                "memory_limit": 256.0, "title": "Sum", "description": prompt, "input_format": "Two integers.",
                "output_format": "Their sum.", "note": None,
                "examples": examples,
                "editorial": None, "prompt": prompt, "generation": generation, "finish_reason": finish,
                "api_metadata": {"completion_tokens": 10, "prompt_tokens": 5, "prompt_tokens_details": None,
                                 "total_tokens": 15},
                "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": generation}]}
    rows = [row(1, "Read two integers on one line and print their sum on its own line.",
                f"<think>\nRead, add, print.\n</think>\n\n{STDIN_SUM}", "stop"),
            row(2, "Read two integers separated by a space and output the sum of both.",
                "<think>\nLet me think about", "length"),
            row(3, "Is n even? Print YES or NO.", "<think>\nParity.\n</think>\n\n```python\n"
                "print('Yes' if int(input()) % 2 == 0 else 'No')\n```",
                "stop", [{"input": "4\n", "output": "YES\n"}, {"input": "7\n", "output": "NO\n"}])]
    data = tmp_path / "cf.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    metadata, stats = curate(tmp_path, {"preset": "codeforces-cots", "path": str(data)})
    assert [m["problem"] for m in metadata] == [rows[0]["prompt"], rows[2]["prompt"]]
    # the examples, stored in the contract's form
    assert json.loads(metadata[0]["test_cases"]) == {**json.loads(SUM_TESTS), "time_limit": 1.0, "memory_limit": 256.0,
                                                     "comparison": "codeforces"}
    assert json.loads(metadata[1]["verification"])["comparison"] == "codeforces"
    # each example within the problem's limits
    assert json.loads(metadata[0]["verification"])["time_limit_s"] == 1.0
    assert json.loads(metadata[0]["verification"])["memory_limit_mb"] == 256.0
    assert json.loads(metadata[0]["verification"])["total_tests"] == 2
    assert metadata[0]["domain"] == "code" and metadata[0]["source"] == "codeforces-cots"
    assert len(rejected(stats)) == 1 and next(iter(rejected(stats)))[:2] == (1, "generate")


# "Print two different positive integers whose sum is n": any such pair is right, so the problem ships a checker.
PAIR_CHECKER = """import sys
n = int(open(sys.argv[1]).read())
try:
    a, b = map(int, open(sys.argv[3]).read().split())
except ValueError:
    print(0)
else:
    print(1 if a + b == n and a != b and min(a, b) > 0 else 0)
"""


def test_codeforces(tmp_path):
    # open-r1/codeforces `verifiable-prompts` columns (a row per language); the preset keeps the Python rows of
    # problems that are not interactive and reads `official_tests` with the problem's `generated_checker`, and
    # judges a problem whose input_mode is file on input.txt and output.txt. The problems carry no
    # trace: this test maps a reply column of its own, as a dataset teacher reads one.
    def row(cid, prompt, official, checker, generation, language="python", input_mode="stdio", interaction=None):
        return {"id": f"{cid}/A", "aliases": None, "contest_id": str(cid), "contest_name": "Round", "contest_type": "CF",
                "contest_start": 1700000000, "contest_start_year": 2023, "index": "A", "time_limit": 1.0,
                "memory_limit": 256.0, "title": "T", "description": prompt, "input_format": "n", "output_format": "",
                "interaction_format": interaction, "note": None, "examples": official[:1], "editorial": None, "rating": 800,
                "tags": ["math"], "testset_size": len(official), "official_tests": official,
                "official_tests_complete": True, "input_mode": input_mode, "generated_checker": checker,
                "executable": True, "generated_tests": 0, "prompt": prompt, "language": language,
                "generation": f"<think>\nSolve it.\n</think>\n\n{generation}"}

    pairs = [{"input": "5\n", "output": "1 4\n"}, {"input": "10\n", "output": "1 9\n"}]
    sums = [{"input": "1 2\n", "output": "3\n"}, {"input": "10 5\n", "output": "15\n"}]
    rows = [row(1, "Print two different positive integers with sum n.", pairs, PAIR_CHECKER,
                "```python\nn = int(input())\nprint(2, n - 2)\n```"),  # not the expected pair, but right
            row(2, "Print two different positive integers summing to n.", pairs, PAIR_CHECKER,
                "```python\nn = int(input())\nprint(n // 2, n - n // 2)\n```"),  # 5 5 for n = 10
            row(3, "Read two integers and print their sum.", sums, None, STDIN_SUM),
            row(3, "Read two integers and print their sum.", sums, None, "```cpp\nint main() {}\n```", language="cpp"),
            row(4, "Read input.txt, write output.txt.", sums, None, STDIN_SUM, input_mode="file"),
            row(5, "Read two integers; print their sum.", sums, None,  # right, but slower than the 1 s limit
                "```python\nimport time\ntime.sleep(1.5)\nprint(sum(map(int, input().split())))\n```"),
            row(6, "Guess the two integers.", sums, None, STDIN_SUM,  # interactive: no interactor, not kept
                interaction="Ask `? a` queries; the jury answers each."),
            row(7, "Add the two integers of the line.", sums, None, STDIN_SUM, interaction=""),
            row(8, "Read input.txt and write the sum to output.txt.", sums, None, FILE_SUM, input_mode="file")]
    data = tmp_path / "cf.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    metadata, stats = curate(tmp_path, {"preset": "codeforces", "path": str(data), "columns": {"reply": "generation"}})
    assert [m["problem"] for m in metadata] == [rows[0]["prompt"], rows[2]["prompt"], rows[7]["prompt"],
                                                rows[8]["prompt"]]
    assert json.loads(metadata[0]["test_cases"]) == {"inputs": ["5\n", "10\n"], "outputs": ["1 4\n", "1 9\n"],
                                                     "checker": PAIR_CHECKER, "time_limit": 1.0,
                                                     "memory_limit": 256.0, "comparison": "codeforces"}
    assert json.loads(metadata[1]["test_cases"]) == {**json.loads(SUM_TESTS), "time_limit": 1.0,
                                                     "memory_limit": 256.0, "comparison": "codeforces"}  # no checker
    assert json.loads(metadata[0]["verification"])["checker"] is True
    # each test runs within the problem's own time and memory limits, as open-r1's grader runs it
    assert json.loads(metadata[1]["verification"])["time_limit_s"] == 1.0
    assert json.loads(metadata[1]["verification"])["memory_limit_mb"] == 256.0
    assert json.loads(metadata[3]["test_cases"]) == {**json.loads(SUM_TESTS), "time_limit": 1.0,
                                                     "memory_limit": 256.0, "input_file": "input.txt", "output_file": "output.txt",
                                                     "comparison": "codeforces"}
    assert json.loads(metadata[3]["verification"])["files"] == {"input": "input.txt", "output": "output.txt"}
    # the file problem's reply that reads standard input fails, as on the judge
    assert rejected(stats) == {(row, "verify", "tests_failed") for row in (1, 3, 4)}
    assert "EOFError" in stats["rejected_rows"][1]["detail"] and "timeout" in stats["rejected_rows"][2]["detail"]
    assert stats["stages"][0] == {"stage": "load", "in": 7, "out": 7}  # no C++ row, no interactive problem


def test_code_contests(tmp_path):
    # deepmind/code_contests columns (struct test columns, as its parquet files hold them). A program is judged on all
    # three test sets, which the preset joins. The problems carry no trace: this test maps a reply column of its own.
    def tests(*pairs):
        return {"input": [i for i, _ in pairs], "output": [o for _, o in pairs]}

    def row(name, description, public, private, generated, reply, input_file="", output_file=""):
        return {"name": name, "description": description, "public_tests": public, "private_tests": private,
                "generated_tests": generated, "source": 2, "difficulty": 7,
                "solutions": {"language": [3], "solution": ["print(sum(map(int, input().split())))"]},
                "incorrect_solutions": {"language": [], "solution": []}, "cf_contest_id": 1, "cf_index": "A",
                "cf_points": 500.0, "cf_rating": 800, "cf_tags": ["math"], "is_description_translated": False,
                "untranslated_description": "", "time_limit": {"seconds": 1, "nanos": 500000000},
                "memory_limit_bytes": 256000000, "input_file": input_file, "output_file": output_file,
                "reply": f"<think>\nSolve it.\n</think>\n\n{reply}"}

    public, private = tests(("1 2\n", "3\n")), tests(("10 5\n", "15\n"))
    generated = tests(("-4 4\n", "0\n"), ("7 0\n", "7\n"))
    only_public = "```python\na, b = map(int, input().split())\nprint(3 if a == 1 else a + b + (a == 7))\n```"
    rows = [row("1_A. Sum", "Print the sum of the two integers a and b.", public, private, generated, STDIN_SUM),
            row("2_A. Sum", "Print a + b for the two integers on the input line.", public, private, generated,
                only_public),  # passes the public and private tests, fails a generated one
            row("3_A. Sum", "Output the sum of a and b, read from one line.", public, tests(), tests(), STDIN_SUM),
            row("4_A. Sum", "Read a and b from input.txt and write their sum.", public, private, generated, FILE_SUM,
                input_file="input.txt", output_file="output.txt"),
            row("5_A. Sum", "Sum the two integers a and b of standard input.", public, private, generated, STDIN_SUM,
                input_file=None),  # a null file name is standard input too
            row("6_A. Guess", "This is an interactive problem.\n\nGuess a and b.", public, private, generated,
                STDIN_SUM)]  # its tests need an interactor: refused before anything runs
    data = tmp_path / "code_contests.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    metadata, stats = curate(tmp_path, {"preset": "code-contests", "path": str(data), "columns": {"reply": "reply"}})
    assert [m["problem"] for m in metadata] == [rows[0]["description"], rows[2]["description"], rows[3]["description"],
                                                rows[4]["description"]]
    assert json.loads(metadata[2]["test_cases"])["input_file"] == "input.txt"  # judged on the files it names
    assert json.loads(metadata[0]["test_cases"]) == {"inputs": ["1 2\n", "10 5\n", "-4 4\n", "7 0\n"],
                                                     "outputs": ["3\n", "15\n", "0\n", "7\n"], "time_limit": 1.5,
                                                     "memory_limit": 256.0}
    assert json.loads(metadata[1]["test_cases"])["inputs"] == ["1 2\n"]  # empty private and generated tests
    assert all(m["source"] == "code-contests" and m["domain"] == "code" for m in metadata)
    assert rejected(stats) == {(1, "verify", "tests_failed"), (5, "validate", "interactive_problem")}
    assert "input_file" not in json.loads(metadata[3]["test_cases"])  # a null file name is standard input


def test_tests_of_several_columns_join_only_in_one_form(tmp_path):
    """A column map may name several test columns; tests of different forms are refused with the column that breaks
    the form, as the row's rejection detail, and a recipe naming several columns for another kit column is refused."""
    from kit.core.testcases import stored_test_cases
    from kit.verify.code import InvalidTestCases, parse_test_cases

    stdin, call = {"input": ["1 2\n"], "output": ["3\n"]}, json.dumps({"fn_name": "add", "inputs": [[1, 2]],
                                                                        "outputs": [3]})
    assert json.loads(stored_test_cases([None, call, "", call], joined=True))["inputs"] == [[1, 2], [1, 2]]
    with pytest.raises(InvalidTestCases, match="column 2 of the tests is not of the form of the columns before it"):
        parse_test_cases(stored_test_cases([stdin, call], joined=True))
    with pytest.raises(InvalidTestCases, match="column 1 of the tests does not pair its inputs and outputs"):
        parse_test_cases(stored_test_cases([{"input": ["1 2\n", "3 4\n"], "output": ["3\n"]}, stdin], joined=True))
    with pytest.raises(InvalidTestCases, match="column 1 of the tests has test_code"):
        parse_test_cases(stored_test_cases(["def test_add():\n    assert add(1, 2) == 3\n", stdin], joined=True))
    with pytest.raises(ValueError, match="problem: only test_cases .*, reply .* and messages .* may name several"):
        SourceConfig(path="x", columns={"problem": ["title", "description"]})


KODCODE_TEST = """from solution import add
import pytest

def test_add():
    assert add(1, 2) == 3

@pytest.mark.parametrize("a, b", [(0, 0), (5, 7)])
def test_add_is_a_sum(a, b):
    assert add(a, b) == a + b
"""


def test_kodcode(tmp_path):
    # KodCode/KodCode-V1 columns; `test` is a pytest module run against the reply's code as solution.py. The problems
    # carry no trace: this test maps a reply column of its own, as a dataset teacher reads one.
    def row(n, question, generation, declared=True):
        info = [{"docstring": "Sum of a and b.", "function_declaration": "def add(a, b):", "function_name": "add",
                 "parameter_list": "(a, b)"}]
        return {"version": "v1.0", "style": "instruct", "subset": "Leetcode", "question_id": f"Leetcode_{n}_I",
                "question": question, "solution": "def add(a, b):\n    return a + b", "test": KODCODE_TEST,
                "test_info": info if declared else [],
                "gpt_pass_sequence": [1, 1, 1], "gpt_pass_trial_num": 3, "gpt_difficulty": "easy",
                "gpt_pass_percentage": 1.0, "generation": f"<think>\nAdd them.\n</think>\n\n{generation}"}

    # the first row's test_info is empty (KodCode's is when the solution has no function): no starter code, no error
    rows = [row(0, "Define add(a, b): the sum of two numbers.", CODE_ADD, declared=False),
            row(1, "Write a function add(a, b) that returns the sum of a and b.", CODE_ADD),
            row(2, "Implement add(a, b), returning a plus b.", CODE_SUB)]
    data = tmp_path / "kodcode.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    metadata, stats = curate(tmp_path, {"preset": "kodcode", "path": str(data), "columns": {"reply": "generation"}})
    assert [m["problem"] for m in metadata] == [rows[0]["question"], rows[1]["question"]]
    assert json.loads(metadata[1]["test_cases"]) == {"test_code": KODCODE_TEST, "rename_function": True}
    assert json.loads(metadata[1]["verification"])["mode"] == "pytest"
    # the declaration the tests import is the starter code, shown to a generating teacher under the question
    assert [m["starter_code"] for m in metadata] == [None, "def add(a, b):"]
    assert metadata[1]["domain"] == "code" and metadata[1]["source"] == "kodcode"
    assert rejected(stats) == {(2, "verify", "tests_failed")}


def test_s1k(tmp_path):
    # simplescaling/s1K columns (s1's data/gemini.py writes them): the thinking is a list of texts, the domain is
    # `cot_type`, the reference `solution` a worked solution or only the answer
    def row(question, solution, cot_type, thinking, attempt):
        return {"solution": solution, "question": question, "cot_type": cot_type, "source_type": "AI-MO/NuminaMath-CoT",
                "metadata": "{'source': 'olympiads'}", "thinking_trajectories": thinking, "attempt": attempt}

    rows = [row("What is the sum of the first 10 positive integers?", "Pair them up: $\\boxed{55}$.", "math",
                ["Pair 1 with 10.", "Five pairs of 11."], "The sum is $\\boxed{55}$."),
            row("How many primes are below 20?", "8", "math", ["2, 3, 5, 7, 11, 13, 17, 19."], "\\boxed{7}"),
            row("Crossword clue: Feline (3)", "CAT", "crossword", ["Three letters: cat."], "CAT")]
    data = tmp_path / "s1k.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    metadata, stats = curate(tmp_path, {"preset": "s1k", "path": str(data)})
    assert [m["problem"] for m in metadata] == [rows[0]["question"]]
    assert metadata[0]["reasoning"] == "Pair 1 with 10.\nFive pairs of 11."  # joined as s1's SFT data joins it
    assert metadata[0]["solution"] == "The sum is $\\boxed{55}$." and metadata[0]["domain"] == "math"
    assert metadata[0]["ground_truth_solution"] == rows[0]["solution"]
    # the bare answer `8` is the reference of the second row; the crossword is a puzzle, for the judge alone
    assert rejected(stats) == {(1, "verify", "wrong_answer"), (2, "verify", "unsupported_domain")}
    assert stats["by_domain"]["puzzle"] == {"in": 1, "kept": 0}


def test_s1k_1_1(tmp_path):
    # simplescaling/s1K-1.1 columns: R1's thinking and attempt are texts, beside Gemini's
    def row(question, solution, cot_type, thinking, attempt):
        return {"solution": solution, "question": question, "cot_type": cot_type,
                "source_type": "qq8933/AIME_1983_2024", "metadata": "{'Year': 2020}",
                "gemini_thinking_trajectory": "Gemini thinks.", "gemini_attempt": "\\boxed{1}",
                "deepseek_thinking_trajectory": thinking, "deepseek_attempt": attempt}

    rows = [row("What is the sum of the first 10 positive integers?", "55", "math",
                "Okay, pair 1 with 10: five pairs of 11.", "**Final Answer**\n\\boxed{55}"),
            row("How many primes are below 20?", "8", "math", "2, 3, 5, 7, 11, 13, 17.", "\\boxed{7}")]
    data = tmp_path / "s1k11.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    metadata, stats = curate(tmp_path, {"preset": "s1k-1.1", "path": str(data)})
    assert [m["problem"] for m in metadata] == [rows[0]["question"]]
    assert metadata[0]["reasoning"] == rows[0]["deepseek_thinking_trajectory"]
    assert metadata[0]["solution"] == rows[0]["deepseek_attempt"] and metadata[0]["source"] == "s1k-1.1"
    assert rejected(stats) == {(1, "verify", "wrong_answer")}


def test_kodcode_sft_r1(tmp_path):
    # KodCode/KodCode-V1-SFT-R1 columns; `conversations` is [human: question, gpt: R1's whole reply], as KodCode's
    # step3.3.5_gen_sft_datasets.py writes it. R1's replies often end with a block of example usage.
    def row(n, question, reply, test_code):
        return {"style": "instruct", "subset": "Prefill", "question_id": f"Prefill_{n}_I", "question": question,
                "solution": "def add(a, b):\n    return a + b", "test_code": test_code,
                "test_info": [{"docstring": None, "function_declaration": "def add(a, b):", "function_name": "add",
                               "parameter_list": "(a, b)"}],
                "gpt_pass_sequence": [1], "gpt_pass_trial_num": 1, "gpt_difficulty": "easy",
                "gpt_pass_percentage": 1.0, "r1_pass_sequence": [1], "r1_pass_trial_num": 1, "r1_correctness": "True",
                "r1_solution": "def add(a, b):\n    return a + b",
                "metadata": {"original_instruction": question, "prompt_id": f"p{n}", "row_id": n, "seed_ids": "[]"},
                "conversations": [{"from": "human", "value": question}, {"from": "gpt", "value": reply}]}

    usage = "\n\nExample usage:\n```python\nprint(add(2, 3))\n```"
    rows = [row(1, "Write a python function add(a, b) returning a + b.",
                f"<think>\nAdd them.\n</think>\n\nHere it is:\n{CODE_ADD}{usage}", KODCODE_TEST),
            row(2, "Write a python function add(a, b) returning the sum of a and b.",
                f"<think>\nSubtract?\n</think>\n\n{CODE_SUB}{usage}", KODCODE_TEST),
            # R1 named it otherwise: KodCode's pipeline renamed a reply's one function to the one the tests import
            row(3, "Write a python function that adds two numbers a and b.",
                f"<think>\nSum.\n</think>\n\n```python\ndef plus(a, b):\n    return a + b\n```{usage}", KODCODE_TEST),
            # ... but not when its block defines two
            row(4, "Write a python function that sums the numbers a and b.",
                "<think>\nSum.\n</think>\n\n```python\ndef plus(a, b):\n    return same(a) + b\n\n\n"
                "def same(x):\n    return x\n```", KODCODE_TEST)]
    data = tmp_path / "kodcode-sft.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    metadata, stats = curate(tmp_path, {"preset": "kodcode-sft-r1", "path": str(data)})
    assert [m["problem"] for m in metadata] == [rows[0]["question"], rows[2]["question"]]
    assert metadata[0]["reasoning"] == "Add them." and metadata[0]["solution"].endswith("print(add(2, 3))\n```")
    assert json.loads(metadata[0]["test_cases"]) == {"test_code": KODCODE_TEST, "rename_function": True}
    assert "renamed" not in json.loads(metadata[0]["verification"])
    assert json.loads(metadata[1]["verification"])["renamed"] == {"from": "plus", "to": "add"}
    assert metadata[1]["solution"].startswith("```python\ndef plus(a, b):")  # the reply itself is kept as written
    assert rejected(stats) == {(1, "verify", "tests_failed"), (3, "verify", "tests_failed")}
    assert "cannot import name 'add'" in stats["rejected_rows"][-1]["detail"]


def test_leetcode(tmp_path):
    # newfacade/LeetCodeDataset columns: `prompt` (imports, ListNode / TreeNode helpers) runs before the solution,
    # `entry_point` is a method of a fresh Solution. The problems carry no trace: this test maps a reply column of its
    # own, as a dataset teacher reads one.
    from tests.test_verify_code import (
        LEETCODE_PRELUDE,
        REVERSE,
        REVERSE_TEST,
        TWO_SUM,
        TWO_SUM_TEST,
        leetcode_row,
    )

    def reply(code):
        return f"<think>\nWalk the list.\n</think>\n\n```python\n{code}\n```"

    rows = [leetcode_row("two-sum", "twoSum", TWO_SUM_TEST, TWO_SUM, generation=reply(TWO_SUM)),
            leetcode_row("reverse-linked-list", "reverseList", REVERSE_TEST, REVERSE, generation=reply(REVERSE)),
            leetcode_row("reverse-linked-list-ii", "reverseList", REVERSE_TEST, REVERSE,
                         generation=reply(REVERSE.replace("return previous", "return head")))]
    data = tmp_path / "leetcode.jsonl"
    write_jsonl(data, rows)
    metadata, stats = curate(tmp_path, {"preset": "leetcode", "path": str(data), "columns": {"reply": "generation"}})
    assert [m["problem"] for m in metadata] == [rows[0]["problem_description"], rows[1]["problem_description"]]
    assert json.loads(metadata[1]["test_cases"]) == {"test_code": REVERSE_TEST, "entry_point": "Solution().reverseList",
                                                     "prelude": LEETCODE_PRELUDE}
    assert metadata[1]["starter_code"] == rows[1]["starter_code"] and metadata[1]["source"] == "leetcode"
    assert json.loads(metadata[1]["verification"])["mode"] == "assert"
    assert rejected(stats) == {(2, "verify", "tests_failed")}


def test_openmathreasoning(tmp_path):
    # nvidia/OpenMathReasoning columns (its card's dataset_info): one row per generated solution, the model that wrote
    # it in generation_model
    def row(problem, answer, solution, model="DeepSeek-R1"):
        return {"expected_answer": answer, "problem_type": "has_answer_extracted", "problem_source": "aops_c4",
                "generation_model": model, "pass_rate_72b_tir": "0.5", "problem": problem,
                "generated_solution": solution, "inference_mode": "cot", "used_in_kaggle": False}

    question = "Find the remainder when $2^{10}$ is divided by $7$."
    rows = [row(question, "2", "<think>\n1024 = 7 * 146 + 2.\n</think>\n\nThe remainder is $\\boxed{2}$."),
            row(question, "2", "<think>\n2^3 = 1 mod 7, so 2^10 = 2.\n</think>\n\n\\boxed{2}", model="QwQ-32B"),
            row(question, "2", "<think>\nguess\n</think>\n\n\\boxed{4}"),
            row("Evaluate $\\sum_{k=1}^{4} k^2$.", "\\(30\\)", "<think>\n1 + 4 + 9 + 16\n</think>\n\n$\\boxed{30}$")]
    data = tmp_path / "omr.parquet"
    pq.write_table(pa.Table.from_pylist(rows), data)
    metadata, stats = curate(tmp_path, {"preset": "openmathreasoning", "path": str(data)})
    assert [(m["problem"], m["teacher"]) for m in metadata] == [(question, "DeepSeek-R1"), (question, "QwQ-32B"),
                                                                (rows[3]["problem"], "DeepSeek-R1")]
    assert metadata[0]["reasoning"] == "1024 = 7 * 146 + 2." and metadata[0]["ground_truth_answer"] == "2"
    assert rejected(stats) == {(2, "verify", "wrong_answer")}
