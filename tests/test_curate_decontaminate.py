"""Curation stages: exact dedup, decontamination against the benchmarks (the bundled ones offline, the others from
the Hub stand-in), SFT formatting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from kit.benchmarks import SPECS, benchmark_problems, load_benchmark
from kit.core.schema import DEFAULT_FEATURES, problem_id
from kit.core.sources import SourceError
from kit.curate import Decontaminator, Deduplicator, default_row, to_messages
from kit.curate.decontaminate import normalize_text
from kit.curate.dedup import DUPLICATE_PROBLEM, DUPLICATE_SAMPLE
from kit.recipes import DecontaminationConfig, FormatConfig, RecipeError, ReferenceConfig, load_data_recipe
from tests.benchmark_hub import AIME25, GPQA, LIVECODEBENCH, publish_benchmarks
from tests.test_evaluate_run import env_for

ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------------------------------
# Dedup


def problems(name: str) -> list[str]:
    """The problems of a bundled benchmark, as decontamination compares them."""
    return benchmark_problems(name)[0]


def sample(problem: str, source: str = "numina", reasoning: str = "r", solution: str = "s") -> dict:
    return {"problem": problem, "source": source, "reasoning": reasoning, "solution": solution}


def test_dedup_keeps_several_samples_of_a_problem_from_its_source():
    dedup = Deduplicator()
    assert dedup.check(sample("Find x.", reasoning="first try")) is None
    assert dedup.check(sample("Find x.", reasoning="second try")) is None
    assert dedup.check(sample("Find x.", reasoning="first try", solution="another answer")) is None
    assert dedup.problems == 1


def test_dedup_problem_belongs_to_its_first_source():
    dedup = Deduplicator()
    assert dedup.check(sample("Find  X.\n", source="numina")) is None
    assert dedup.check(sample("find x.", source="apps", reasoning="new")) == DUPLICATE_PROBLEM
    assert dedup.check(sample("FIND X.", source="numina", reasoning="new")) is None  # still its owner
    assert dedup.check(sample("Find y.", source="apps")) is None


def test_dedup_traces_of_the_data_are_samples_of_a_problem_whatever_their_source():
    dedup = Deduplicator(one_source=False)  # the dataset teacher's: which samples verify is not known yet
    assert dedup.check(sample("Find  X.\n", source="numina")) is None
    assert dedup.check(sample("find x.", source="apps", reasoning="new")) is None
    assert dedup.check(sample("find x.", source="apps", reasoning="  new ")) == DUPLICATE_SAMPLE
    assert dedup.check(sample("Find x.", source="openthoughts")) == DUPLICATE_SAMPLE  # numina's trace again
    assert dedup.problems == 1


def test_dedup_identical_sample_up_to_whitespace():
    dedup = Deduplicator()
    assert dedup.check(sample("Find x.", reasoning="Let x = 2.\nSo", solution="x=2")) is None
    assert dedup.check(sample("find x.", reasoning="  Let x = 2. So\n\n", solution=" x=2 ")) == DUPLICATE_SAMPLE
    assert dedup.check(sample("Find x.", reasoning="let x = 2. So", solution="x=2")) is None  # case differs
    # a rejected row does not change what is kept: the original is still the only copy
    assert dedup.check(sample("Find x.", reasoning="Let x = 2. So", solution="x=2")) == DUPLICATE_SAMPLE


def test_dedup_missing_trace_fields():
    dedup = Deduplicator()
    assert dedup.check({"problem": "p", "source": "a", "reasoning": None, "solution": None}) is None
    assert dedup.check({"problem": "p", "source": "a"}) == DUPLICATE_SAMPLE


# --------------------------------------------------------------------------------------------------
# Decontamination

DISTINCT_PROBLEMS = [
    "A farmer has 17 sheep and buys 5 more each week. After how many weeks will she own 62 sheep?",
    "Find all real solutions of the equation x^4 - 5x^2 + 4 = 0.",
    "How many ways can 7 distinct books be placed on 3 shelves if each shelf gets at least one book?",
    "Prove that the product of four consecutive integers is one less than a perfect square.",
    "A cylinder of radius 3 cm holds 2 litres of water. How high does the water rise?",
    "Let f(x) = 3x + 2. Compute f(f(f(1))).",
    "What is the remainder when 7^2024 is divided by 13?",
    "A bag holds 4 red, 5 blue and 6 green marbles. Two are drawn without replacement; "
    "what is the chance both are green?",
    "Solve for t: 2^(t+1) = 48 - 2^t.",
    "The angles of a pentagon are in the ratio 3:4:5:6:7. Find the largest angle in degrees.",
    "A train leaves Lyon at 9:00 travelling at 120 km/h; a second train leaves Paris toward Lyon at 9:30 "
    "at 150 km/h. The cities are 465 km apart. When do they pass each other?",
    "Determine the sum of the digits of the smallest 5-digit palindrome divisible by 11 and 7.",
    "How many lattice points lie strictly inside the triangle with vertices (0,0), (12,0) and (0,9)?",
    "Evaluate the integral of x e^(2x) from 0 to 1.",
    "A chessboard square is chosen at random. What is the probability that a knight placed there has "
    "exactly four legal moves?",
    "Write a function that returns the length of the longest strictly increasing contiguous run in a list.",
    "Given a string of parentheses, return the minimum number of insertions to make it balanced.",
    "Implement an LRU cache with get and put operations running in constant time.",
    "Read an undirected graph from standard input and print the number of connected components.",
    "Given n intervals, merge all overlapping intervals and print the result sorted by start.",
    "Write a program that prints the first k rows of Pascal's triangle modulo 1000000007.",
    "Count the number of substrings of a binary string that contain equally many zeros and ones.",
    "Why does ice float on water? Explain in terms of hydrogen bonding and density.",
    "A 2 kg block slides down a frictionless ramp of height 5 m. What is its speed at the bottom?",
    "Balance the chemical equation for the combustion of propane and give the mass of CO2 from 88 g of it.",
    "Which organelle produces most of a eukaryotic cell's ATP, and through which process?",
    "Five friends sit in a row. Anna is not next to Ben, and Carl sits at an end. How many seatings exist?",
    "Three boxes are labelled apples, oranges and mixed, and every label is wrong. "
    "Which single box should you sample to relabel all three?",
    "A clock gains 3 minutes every hour. If it is set right at noon, what time does it show at midnight?",
    "In a knockout tournament of 64 players, how many matches are played until a champion is crowned?",
]


@pytest.fixture(scope="module")
def decon() -> Decontaminator:
    return Decontaminator.from_config(DecontaminationConfig())


def typo_every(text: str, step: int) -> str:
    """Double the last letter of every `step`-th word: small edits that break every 8-gram when step < 8."""
    words = text.split(" ")
    return " ".join(w + w[-1] if i % step == step - 1 and w else w for i, w in enumerate(words))


def test_verbatim_math500_problem(decon):
    problem = problems("math500")[1]
    match = decon.check(problem)
    assert match is not None and match.benchmark == "math500" and match.method == "ngram"
    assert match.reference == problem[:80] and len(match.ngram.split()) == 8


def test_math500_problem_with_small_edits(decon):
    problem = problems("math500")[10]
    edited = problem.replace("What is", "What's").replace("written", "writen").rstrip("?") + " ?"
    match = decon.check(edited)
    assert match is not None and match.benchmark == "math500"


def test_fuzzy_catches_edits_that_break_every_ngram(decon):
    problem = problems("aime24")[5]
    edited = typo_every(normalize_text(problem), 5)  # edits on the words the n-grams are made of
    assert edited != normalize_text(problem)
    match = decon.check(edited)
    assert match is not None and match.benchmark == "aime24" and match.method == "fuzzy"
    assert 95 <= match.score < 100 and match.ngram is None


def test_fuzzy_catches_problems_shorter_than_n_words_reworded(decon):
    assert len(normalize_text("Compute $\\dbinom{31}{28}$.").split()) < 8
    match = decon.check("computes  $\\dbinom{31}{28}$")  # a word changed: not held whole
    assert match is not None and match.method == "fuzzy" and 95 < match.score < 100
    assert match.reference == "Compute $\\dbinom{31}{28}$."


def test_benchmark_problem_inside_a_longer_text(decon):
    inner = problems("math500")[0]
    text = f"Our homework set had many parts. Part (c): {inner} Then draw the result on graph paper."
    match = decon.check(text)
    assert match is not None and match.benchmark == "math500" and match.method == "ngram"
    assert match.ngram in normalize_text(inner) and match.score == 100
    assert "100% of its n-grams" in str(match)


@pytest.mark.parametrize("text", [
    "Return your final response within \\boxed{}. Simplify $\\sqrt{242}$.",  # OpenThoughts' user turns
    "Compute $\\dbinom{31}{28}$.\nPlease reason step by step, and put your final answer within \\boxed{}.",  # R1's
    "Solve the following math problem. Find the units digit of $18^6.$ Give only the final number.",
])
def test_a_short_benchmark_problem_with_an_instruction_is_flagged(decon, text):
    """13 of MATH-500's problems have fewer than 8 words, so no n-gram; with an instruction around them the fuzzy
    ratio falls far below 95 and they got through (as in open-r1 and OpenThoughts). Each is now one gram of its own
    length, which the problem holds whole; a problem of other numbers, and a shorter text, are still kept."""
    match = decon.check(text)
    assert match is not None and match.benchmark == "math500" and match.method == "ngram" and match.score == 100
    assert match.reference in problems("math500") and match.ngram == normalize_text(match.reference)
    assert Decontaminator({"math500": problems("math500")}, coverage=0).check(text) is not None  # open-r1's rule too
    other = text.replace("242", "243").replace("31}{28", "31}{27").replace("18^6", "18^7")
    assert decon.check(other) is None


def test_benchmark_problems_too_short_to_match_whole_are_left_to_fuzzy():
    decon = Decontaminator({"tiny": ["Evaluate $5!$.", "Compute $\\sqrt{49}$ now."]})
    assert decon.check("Please evaluate $5!$ and then explain every step you take in words.") is None  # 2 words
    assert decon.check("First, compute $\\sqrt{49}$ now, then double it.") is not None  # 3 words, held whole
    assert decon.check("Evaluate $5!$.").method == "fuzzy"


def test_a_problem_holding_less_than_half_a_benchmark_problem_is_kept(decon):
    inner = problems("math500")[0].split("Enter")[0]  # its first sentence: 19% of its 8-grams
    text = f"Our homework set had many parts. Part (c): {inner} Then draw the result on graph paper."
    assert decon.check(text) is None
    any_ngram = Decontaminator({"math500": problems("math500")}, coverage=0)  # open-r1's rule
    match = any_ngram.check(text)
    assert match is not None and match.method == "ngram" and 15 < match.score < 25


def test_stock_phrases_shared_with_a_benchmark_drop_nothing(decon):
    """Problems from sets that hold no benchmark problem (MATH's training set, older AIMEs), each sharing a
    phrase of 8+ words with a benchmark problem; open-r1's any-8-gram rule drops every one of them."""
    texts = [
        "Four pens and three pencils cost $\\$2.24$. Two pens and five pencils cost $\\$1.54$. No prices include "
        "tax. In cents, what is the cost of a pencil?",
        "Find the modular inverse of $4$, modulo $21$.  Express your answer as an integer from $0$ to $20$, "
        "inclusive.",
        "A jar holds red and blue marbles in the ratio 3:5. The probability that two drawn marbles match is m/n, "
        "where m and n are relatively prime positive integers. Find m+n.",
    ]
    any_ngram = Decontaminator({n: problems(n) for n in ("math500", "aime24", "amc23")}, coverage=0)
    assert all(any_ngram.check(p) is not None for p in texts)
    assert [decon.check(p) for p in texts] == [None, None, None]


def test_aime_and_amc_problems(decon):
    aime = decon.check("Solve this: " + problems("aime24")[0])
    assert aime is not None and aime.benchmark == "aime24"
    amc = decon.check(problems("amc23")[3])
    assert amc is not None and amc.benchmark == "amc23"


def test_humaneval_prompt(decon):
    prompt = load_benchmark("humaneval")[0]["problem"]
    match = decon.check(f"Complete the following Python function.\n\n```python\n{prompt}```")
    assert match is not None and match.benchmark == "humaneval" and match.method == "ngram"


def test_distinct_problems_are_not_flagged(decon):
    assert len(set(DISTINCT_PROBLEMS)) == 30
    flagged = {p: str(m) for p in DISTINCT_PROBLEMS if (m := decon.check(p)) is not None}
    assert flagged == {}


def test_cache_per_normalized_problem(decon):
    problem = problems("math500")[42]
    first = decon.check(problem)
    assert decon.check(problem.upper() + "  ") is first
    assert decon.check(DISTINCT_PROBLEMS[0]) is None and decon.check(DISTINCT_PROBLEMS[0].lower()) is None


def test_references_and_parameters():
    refs = {"mine": ["one two three four five six seven eight nine ten", "tiny"]}
    decon = Decontaminator(refs, ngram=8, fuzzy_threshold=95.0, coverage=0)
    assert len(decon) == 2
    hit = decon.check("well: ONE two, three (four) five six seven eight.")
    assert hit is not None and (hit.benchmark, hit.method) == ("mine", "ngram")
    assert hit.ngram == "one two three four five six seven eight"
    halves = Decontaminator(refs)  # the default: half of the reference's three 8-grams
    assert halves.check("well: ONE two, three (four) five six seven eight.") is None
    hit = halves.check("so: one two three four five six seven eight nine, or more")
    assert hit is not None and hit.method == "ngram" and round(hit.score) == 67
    assert decon.check("one two three four five six seven") is None  # 7 shared words, ratio < 95
    assert decon.check("Tiny!").method == "fuzzy"
    assert Decontaminator(refs, ngram=3, coverage=0).check("three four five").method == "ngram"
    assert Decontaminator(refs, fuzzy_threshold=50).check("one two three four five six seven") is not None


def test_common_ngrams_can_be_ignored():
    boiler = "where m and n are relatively prime positive integers"
    refs = {"b": [f"Problem {w}: the answer is m/n {boiler}. Find m+n." for w in ("alpha", "beta", "gamma")]}
    candidate = f"A new question about kites: the ratio is m/n {boiler}. Find m+n."
    assert Decontaminator(refs, coverage=0).check(candidate) is not None  # open-r1: any shared 8-gram flags
    assert Decontaminator(refs, coverage=0, common_ngram_refs=3).check(candidate) is None
    assert Decontaminator(refs, coverage=0, common_ngram_refs=3).check(refs["b"][0]) is not None


def test_from_config_with_extra_references(tmp_path):
    path = tmp_path / "private_test.jsonl"
    rows = [{"question": "The quick brown fox counts seventeen lazy dogs jumping over three fences. How many legs?"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    cfg = DecontaminationConfig(benchmarks=["amc23"], ngram=6, fuzzy_threshold=90, coverage=0.2,
                                extra=[ReferenceConfig(path=str(path), column="question", name="private")])
    decon = Decontaminator.from_config(cfg)
    assert len(decon) == 41 and (decon.ngram, decon.fuzzy_threshold, decon.coverage) == (6, 90, 0.2)
    assert decon.check("Fox puzzle: quick brown fox counts seventeen lazy dogs!").benchmark == "private"  # 2 of 10
    assert decon.check(problems("math500")[1]) is None  # not among the configured benchmarks
    assert decon.origins == {  # what the dataset card names
        "amc23": {"hub_id": "math-ai/amc23", "source": "bundled", "path": "kit:benchmarks/amc23.jsonl"},
        "private": {"path": str(path), "config": None, "split": "test", "column": "question"}}
    bad = DecontaminationConfig(benchmarks=[], extra=[ReferenceConfig(path=str(path), column="problem")])
    with pytest.raises(ValueError, match="no column 'problem'"):
        Decontaminator.from_config(bad)


# --------------------------------------------------------------------------------------------------
# Benchmarks beyond the bundled four: named in a recipe, read from the Hub, one line when they cannot be


def test_a_recipe_may_name_every_benchmark_the_kit_knows(tmp_path):
    cfg = DecontaminationConfig(benchmarks=list(SPECS), livecodebench_release="v4_v5")
    assert cfg.benchmarks == list(SPECS) and cfg.livecodebench_release == "v4_v5"
    assert DecontaminationConfig().benchmarks == ["math500", "aime24", "amc23", "humaneval"]  # offline: CI, quickstart
    assert DecontaminationConfig().livecodebench_release == "release_latest"  # all of its problems
    for name in ("openthoughts", "sky-t1"):  # open-r1 and OpenThoughts decontaminate against these three too
        benchmarks = load_data_recipe(ROOT / f"recipes/data/{name}.yaml").curate.decontaminate.benchmarks
        assert {"aime25", "gpqa_diamond", "livecodebench"} <= set(benchmarks), name
    for bad, message in (("benchmarks: [aime26]", "unknown benchmark 'aime26' (known: aime24, aime25,"),
                         ("livecodebench_release: latest", "unknown LiveCodeBench release 'latest'")):
        path = tmp_path / "r.yaml"
        path.write_text(f"name: r\nsources: [{{path: p.jsonl}}]\ncurate: {{decontaminate: {{{bad}}}}}\n")
        with pytest.raises(RecipeError) as err:
            load_data_recipe(path)
        assert message in str(err.value) and "\n" not in str(err.value)


HUB_CHECK = """
import json, sys
from kit.curate.decontaminate import Decontaminator
from kit.recipes import DecontaminationConfig
cfg = DecontaminationConfig(benchmarks=["aime25", "gpqa_diamond", "livecodebench"], livecodebench_release="v1_v3")
decon = Decontaminator.from_config(cfg)
checks = {text: decon.check(text) for text in json.loads(sys.stdin.read())}
print(json.dumps({"references": len(decon), "matches": {text: m and [m.benchmark, m.method, m.reference]
                                                        for text, m in checks.items()}, "origins": decon.origins}))
"""


def test_benchmarks_not_bundled_are_read_from_the_hub_as_their_own_text(hub, tmp_path):
    """aime25, GPQA-Diamond and LiveCodeBench (release v1_v3: its first three files) from their Hub ids (a
    child process: huggingface_hub reads HF_ENDPOINT at import); a GPQA question without its choices, and a
    LiveCodeBench question_content without the kit's instruction, are flagged verbatim, as open-r1 flags them."""
    publish_benchmarks(HfApi(endpoint=hub.url, token=hub.token))
    question = GPQA[1][0]  # "Which particle carries a negative elementary charge?": no choices
    content = LIVECODEBENCH["test2.jsonl"][0][0]["question_content"]
    probes = [question, content, AIME25[4]["problem"], "Describe the water cycle of a temperate forest in spring."]
    proc = subprocess.run([sys.executable, "-c", HUB_CHECK], input=json.dumps(probes), capture_output=True, text=True,
                          cwd=ROOT, env=env_for(tmp_path, hub.url, hub.token), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["references"] == len(AIME25) + len(GPQA) + 4  # v1_v3: test.jsonl to test3.jsonl
    matches = result["matches"]
    assert matches[question] == ["gpqa_diamond", "ngram", question]  # the question alone (7 words, held whole)
    assert matches[content][0] == "livecodebench" and matches[content][2] == content[:80]
    assert matches[AIME25[4]["problem"]][0] == "aime25"
    assert matches[probes[3]] is None
    api = HfApi(endpoint=hub.url, token=hub.token)  # the commits read, for the dataset card
    commit = {hub_id: api.dataset_info(hub_id).sha for hub_id in (
        "yentinglin/aime_2025", "Idavidrein/gpqa", "livecodebench/code_generation_lite")}
    assert result["origins"] == {
        "aime25": {"hub_id": "yentinglin/aime_2025", "source": "hub", "revision": commit["yentinglin/aime_2025"]},
        "gpqa_diamond": {"hub_id": "Idavidrein/gpqa", "source": "hub", "revision": commit["Idavidrein/gpqa"]},
        "livecodebench": {"hub_id": "livecodebench/code_generation_lite", "source": "hub", "release": "v1_v3",
                          "revision": commit["livecodebench/code_generation_lite"]}}
    assert all(len(sha) == 40 for sha in commit.values())


def test_an_unreadable_benchmark_is_one_line_before_any_request(teacher, tmp_path):
    """Offline (or no Hub): `kit curate` stops with one line naming the fixes, before the teacher is asked."""
    source = tmp_path / "p.jsonl"
    source.write_text(json.dumps({"problem": "What is 2+3?", "domain": "math", "ground_truth_answer": "5"}) + "\n")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("\n".join([
        "name: decon-offline", f"sources: [{{path: {source}}}]",
        f"teacher: {{backend: openai, model: {teacher.model}, base_url: {teacher.base_url}, api_key_env: KIT_T_KEY}}",
        "curate: {decontaminate: {benchmarks: [math500, gpqa_diamond]}}"]) + "\n")
    env = env_for(tmp_path, "http://127.0.0.1:9", HF_HUB_OFFLINE="1", KIT_T_KEY=teacher.api_key)
    proc = subprocess.run([sys.executable, "-m", "kit.cli", "curate", str(recipe), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert lines[0].startswith("error: curate.decontaminate.benchmarks: cannot read gpqa_diamond (")
    assert "`hf auth login`" in lines[0] and "terms accepted" in lines[0]
    assert "under `curate.decontaminate.extra` ({path: FILE, column: Question, name: gpqa_diamond})" in lines[0]
    assert teacher.requests == []


def test_a_gated_benchmark_is_one_line_naming_the_fix(monkeypatch):
    """GPQA without a token: the Hub shows the dataset, `datasets` refuses its files."""
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    import kit.benchmarks

    def refuse(path, *args, **kwargs):
        raise DatasetNotFoundError(f"Dataset '{path}' is a gated dataset on the Hub. You must be authenticated "
                                   "to access it.")

    monkeypatch.setattr(kit.benchmarks, "hub_commit", lambda hub_id, revision=None: "0" * 40)
    monkeypatch.setattr(datasets, "load_dataset", refuse)
    with pytest.raises(SourceError) as err:
        Decontaminator.from_config(DecontaminationConfig(benchmarks=["gpqa_diamond"]))
    message = str(err.value)
    assert "\n" not in message and message.startswith(
        "curate.decontaminate.benchmarks: cannot read gpqa_diamond (Idavidrein/gpqa could not be read from the Hub "
        "(DatasetNotFoundError: Dataset 'Idavidrein/gpqa' is a gated dataset on the Hub.")
    assert "no such folder" not in message and "kit curate" not in message  # not read as a missing folder
    assert "`hf auth login`" in message and "{path: FILE, column: Question, name: gpqa_diamond}" in message


# --------------------------------------------------------------------------------------------------
# Formatting

MATH_ROW = {"problem": "What is 1+1?\n", "domain": "math", "source": "toy", "reasoning": "\n  1+1 is 2.  \n",
            "solution": "\nThe answer is $\\boxed{2}$.\n"}


def test_assistant_template_and_user_turn():
    messages = to_messages(MATH_ROW, FormatConfig())
    assert messages == [
        {"role": "user", "content": "What is 1+1?\n\nReturn your final response within \\boxed{}."},
        {"role": "assistant", "content": "<think>\n1+1 is 2.\n</think>\n\nThe answer is $\\boxed{2}$."},
    ]


def test_system_prompt_and_domain_without_instruction():
    fmt = FormatConfig(system_prompt="You are a careful thinker.", instructions={"math": "Box it."})
    messages = to_messages({**MATH_ROW, "domain": "puzzle"}, fmt)
    assert messages[0] == {"role": "system", "content": "You are a careful thinker."}
    assert messages[1]["content"] == "What is 1+1?"
    assert to_messages(MATH_ROW, fmt)[1]["content"] == "What is 1+1?\n\nBox it."


def test_code_starter_code_in_a_fenced_block():
    row = {"problem": "Reverse a list.", "domain": "code", "source": "apps", "reasoning": "r", "solution": "s",
           "starter_code": "def rev(xs):\n    pass\n"}
    user = to_messages(row, FormatConfig())[0]["content"]
    assert user == ("Reverse a list.\n\n```python\ndef rev(xs):\n    pass\n```\n\n"
                    "Write a Python solution and return it in a single ```python code block.")
    without = to_messages({**row, "starter_code": None}, FormatConfig())[0]["content"]
    assert "```python\n" not in without.split("\n\n")[1]


def test_default_row_matches_the_features():
    row = default_row(MATH_ROW, FormatConfig())
    assert set(row) == set(DEFAULT_FEATURES)
    assert row["problem_id"] == problem_id(MATH_ROW["problem"]) and row["source"] == "toy"
    DEFAULT_FEATURES.encode_example(row)  # raises if a value does not fit its feature
    assert default_row({**MATH_ROW, "problem_id": "given"}, FormatConfig())["problem_id"] == "given"


def test_recipe_can_ignore_benchmark_boilerplate_ngrams():
    from kit.recipes import DecontaminationConfig

    # Original problem that shares only AIME's stock phrase with the benchmarks.
    problem = ("A jar holds red and blue marbles in the ratio 3:5. The probability that two drawn marbles "
               "match is m/n, where m and n are relatively prime positive integers. Find m+n.")
    strict = Decontaminator.from_config(DecontaminationConfig(benchmarks=["aime24"], coverage=0))
    lenient = Decontaminator.from_config(DecontaminationConfig(benchmarks=["aime24"], coverage=0, common_ngram_refs=3))
    assert strict.check(problem) is not None and strict.check(problem).method == "ngram"
    assert lenient.check(problem) is None
