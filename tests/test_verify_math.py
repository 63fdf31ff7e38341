"""Math verification: answer extraction, Math-Verify verdicts, the worker pool's limits, MATH500."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

import kit
from kit.recipes import MathVerifyConfig, VerifyConfig
from kit.verify import Verdict
from kit.verify.math import (
    GRACE_S,
    MathVerifier,
    answer_choice,
    answer_part,
    choice_letters,
    extract_boxed,
    final_boxed,
    gold_answer,
    gold_answers,
    gold_source,
    gsm8k_answer,
    verify_answer,
    verify_row,
)
from kit.verify.pool import Failure, ProcessPool
from kit.verify.registry import RowVerifier

MATH500 = Path(kit.__file__).parent / "data" / "benchmarks" / "math500.jsonl"
STUCK = "\\boxed{9^{9^{9^{9}}}}"  # real input: sympy evaluates the tower for minutes without a limit


@pytest.fixture(scope="module")
def verifier():
    with MathVerifier(workers=2, timeout_s=5.0) as v:
        yield v


# --------------------------------------------------------------------------------------------------
# Extraction


@pytest.mark.parametrize(("text", "expected"), [
    ("so the answer is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("first \\boxed{1}, then corrected: \\boxed{2}", "2"),
    ("no box at all: 42", None),
    ("", None),
    ("The answer is \\boxed 5.", "5"),
    ("The answer is $\\boxed 12$", "12"),
    ("\\fbox{7}", "7"),
    ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
    ("\\boxed{ \\text{(C)} }", "\\text{(C)}"),
    ("\\boxed{1} ... \\boxed{12", None),  # the last box never closes: truncated output
    ("\\boxed{}", ""),
])
def test_extract_boxed(text, expected):
    assert extract_boxed(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("So $x=\\boxed{1}$ or $x=\\boxed{2}$.", "1, 2"),
    ("\\boxed{1}, \\boxed{2}, and \\boxed{3}", "1, 2, 3"),
    ("$x_1 = \\boxed{-1}$, $x_2 = \\boxed{3}$", "-1, 3"),
    ("\\[\\boxed{1}\\] or \\[\\boxed{2}\\]", "1, 2"),
    ("\\boxed{1}\\text{ or }\\boxed{2}", "1, 2"),
    ("\\boxed{5} and \\boxed{5}", "5"),  # a repeated content counts once
    # words between the boxes: not one answer, the last counts
    ("first \\boxed{1}, then corrected: \\boxed{2}", "2"),
    ("the median is $\\boxed{2}$ and the mode is $\\boxed{0}$", "0"),
    ("$\\boxed{1}$ $\\boxed{2}$", "2"),
    ("\\boxed{1} and \\boxed{12", None),  # the last box never closes
    ("\\boxed{\\boxed{3}}", "3"),
    ("no box", None),
])
def test_final_boxed_joins_the_boxes_a_connector_joins(text, expected):
    """A final answer of several values boxed one by one, as R1-style replies write them (Math-Verify's
    `lazy_latex_regex` reads such a chain as one answer)."""
    assert final_boxed(text) == expected


@pytest.mark.parametrize(("gold", "solution", "passed"), [
    ("1, 2", "So $x = \\boxed{1}$ or $x = \\boxed{2}$.", True),
    ("\\pm 4", "$\\boxed{-4}$ and $\\boxed{4}$", True),
    ("-1, 3", "$\\boxed{-1}$ and $\\boxed{3}$", True),
    # two guesses, one of them right, are no right answer
    ("3", "$\\boxed{-1}$ and $\\boxed{3}$", False),
    ("4", "$\\boxed{-4}$ and $\\boxed{4}$", False),
    ("C", "either $\\boxed{B}$ or $\\boxed{D}$", False),
    ("D", "either $\\boxed{B}$ or $\\boxed{D}$", False),
    ("2", "first \\boxed{1}, then corrected: \\boxed{2}", True),
])
def test_an_answer_of_several_boxes_is_one_answer(gold, solution, passed):
    assert verify_answer(gold, solution).passed is passed


def test_a_solution_whose_answer_is_several_boxes_gives_them_all_as_its_gold():
    solution = "The equation factors as $(x-1)(x-2)=0$, so $x=\\boxed{1}$ or $x=\\boxed{2}$."
    assert gold_source({"ground_truth_solution": solution}) == ("1, 2", "boxed_solution")
    assert verify_row({"ground_truth_solution": solution, "solution": "\\boxed{1, 2}"}).passed
    assert not verify_row({"ground_truth_solution": solution, "solution": "\\boxed{2}"}).passed


@pytest.mark.parametrize(("gold", "boxed", "passed"), [
    ("\\frac{\\pi}{6}+k\\pi", "\\frac{\\pi}{6}+k\\pi, k \\in \\mathbb{Z}", True),
    ("\\frac{\\pi}{6}+k\\pi (k\\in\\mathbb{Z})", "\\frac{\\pi}{6}+k\\pi, k \\in \\mathbb{Z}", True),
    ("[k\\pi-\\frac{\\pi}{3}, k\\pi+\\frac{\\pi}{6}] (k\\in \\mathbb{Z})",
     "\\left[k\\pi-\\frac{\\pi}{3}, k\\pi+\\frac{\\pi}{6}\\right], k\\in\\mathbb{Z}", True),
    ("x=\\frac{\\pi}{6}+k\\pi", "x=\\frac{\\pi}{6}+k\\pi\\ (k\\in\\mathbb{Z})", True),
    ("\\frac{\\pi}{6}+k\\pi", "\\frac{\\pi}{6}+kπ, k ∈ ℤ", True),
    ("x=2k", "x = 2k, k \\in \\mathbb{Z}", True),
    ("\\frac{\\pi}{6}+2k\\pi", "\\frac{\\pi}{6}+k\\pi, k \\in \\mathbb{Z}", False),
    ("x=2", "x = 2k, k \\in \\mathbb{Z}", False),
    ("(0,1)", "x \\in \\mathbb{Z}", False), ("n \\in \\mathbb{N}", "n \\in \\mathbb{N}", True),
])
def test_the_integer_range_of_a_periodic_answer_is_no_part_of_its_value(gold, boxed, passed):
    """cn_k12's trigonometry answers close with the integer a period's multiple ranges over (`k \\in \\mathbb{Z}`),
    which Math-Verify reads as part of the value: with it on one side only, or written another way, a right answer
    failed."""
    assert verify_answer(gold, f"\\boxed{{{boxed}}}").passed is passed


@pytest.mark.parametrize("solution", ["<think>\nadd\n</think>\nIt is <answer>18</answer>.",
                                      "<think>\nadd\n</think>\nAnswer: <answer>18</answer>"])
def test_an_answer_in_r1_zero_tags_inside_a_sentence_is_read(solution):
    """Math-Verify reads no number that touches a tag: R1-Zero's `<answer>` tags are no part of the answer."""
    assert verify_answer("18", solution).passed


def test_a_gold_typed_as_a_float_is_read_in_digits_and_nan_is_no_gold():
    """A float column's answer as Python writes it (`1e-05`) is read by Math-Verify as e times -5: it is read in digits;
    NaN, a missing value as pandas writes one into a float column, is no answer, so the solution's box is the gold."""
    assert gold_answer({"ground_truth_answer": 1e-05}) == "0.00001"
    assert verify_row({"ground_truth_answer": 1e-05, "solution": "\\boxed{10^{-5}}"}).passed
    assert verify_row({"ground_truth_answer": 1e16, "solution": "\\boxed{10^{16}}"}).passed
    assert gold_source({"ground_truth_answer": float("nan"), "ground_truth_solution": "So \\boxed{7}."}) == (
        "7", "boxed_solution")
    assert verify_row({"ground_truth_answer": float("nan"), "solution": "\\boxed{7}"}).reason == "no_ground_truth"


def test_gold_answer_prefers_the_answer_then_the_solution_box():
    solution = "So $x = \\boxed{3}$ and the area is $\\boxed{\\frac{9}{2}}$."
    assert gold_answer({"ground_truth_answer": "4.5", "ground_truth_solution": solution}) == "4.5"
    assert gold_answer({"ground_truth_answer": "", "ground_truth_solution": solution}) == "\\frac{9}{2}"
    assert gold_answer({"ground_truth_answer": None, "ground_truth_solution": solution}) == "\\frac{9}{2}"
    assert gold_answer({"ground_truth_answer": "$5$"}) == "5"
    assert gold_answer({"ground_truth_answer": 42}) == "42"  # some datasets store numbers
    assert gold_answer({"ground_truth_answer": " ", "ground_truth_solution": "no box"}) is None
    assert gold_answer({}) is None


# --------------------------------------------------------------------------------------------------
# One answer, in-process


@pytest.mark.parametrize(("gold", "predicted"), [
    ("\\frac{1}{2}", "0.5"),
    ("0.5", "\\frac{1}{2}"),
    ("27", "27.0"),
    ("27.0", "27"),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}"),
    ("(-\\infty, 3)", "(-\\infty,3)"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)"),
    ("3, 5", "5, 3"),
    ("p - q", "-q + p"),
    ("\\text{Monday}", "Monday"),
    ("10\\%", "0.1"),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),
    # thousands as MATH writes them, and grouped by thin spaces (SI style), which Math-Verify reads as a product
    ("10,\\!080", "10080"),
    ("10080", "10\\,080"),
    ("10\\,080", "10,080"),
    ("1000000", "1~000~000"),
    ("1,2", "1,\\,2"),
    ("1 000 000", "1000000"),  # digits grouped by plain spaces (European style)
    ("2500", "2 500"),
    ("-12 345.5", "-12345.5"),
    # the empty set's two symbols
    ("\\emptyset", "\\varnothing"),
    ("\\varnothing", "\\{\\}"),
    # a sentence's full stop inside the box, or at the end of a dataset's answer
    ("7", "7."),
    ("7.", "7"),
    ("3.5", "3.5."),
    # AoPS writes AIME answers in bold with leading zeros (aime24's own solutions box `\textbf{(073)}`)
    ("073", "\\textbf{(073)}"),
    ("73", "\\textbf{073}"),
    ("\\textbf{(073)}", "73"),
    # the degree sign as text (NuminaMath-1.5's answers, models' boxes) and as LaTeX writes it
    ("45°", "45^\\circ"),
    ("45°", "45"),
    ("60^{\\circ}", "60°"),
    ("30°, 60°", "60^\\circ, 30^\\circ"),
    # math typed as Unicode: roots, infinity, superscripts, vulgar fractions, the en dash, fullwidth digits
    ("\\sqrt{2}", "√2"),
    ("3√5", "3\\sqrt{5}"),
    ("2\\sqrt{x+1}", "2√(x+1)"),
    ("[1, +\\infty)", "[1, ∞)"),
    ("x^2 + 1", "x² + 1"),
    ("10^{-3}", "10⁻³"),
    ("\\frac{1}{2}", "½"),
    ("\\frac{3}{4}", "3⁄4"),
    ("-3", "–3"),
    ("12", "１２"),
])
def test_equivalent_forms_pass(gold, predicted):
    verdict = verify_answer(gold, f"Therefore the answer is $\\boxed{{{predicted}}}$.")
    assert verdict == Verdict(True, "math-verify", None, {"gold": gold, "predicted": predicted,
                                                          "answer_from": "boxed", "gold_from": None})


@pytest.mark.parametrize(("gold", "predicted"), [
    ("27", "28"),
    ("\\frac{1}{2}", "\\frac{1}{3}"),
    ("(-\\infty, 3)", "(-\\infty, 3]"),
    ("\\text{Monday}", "\\text{Tuesday}"),
    ("(1, 2)", "(2, 1)"),
    ("800", "10\\,080"),
    ("12", "1 2"),  # no thousands group: not one number
    ("\\emptyset", "\\{0\\}"),
    ("8", "7."),
    ("073", "\\textbf{(074)}"),
    ("766", "\\textbf{7} + \\textbf{66}"),  # two bold parts, not one answer in bold
    ("45°", "46^\\circ"),
    ("\\sqrt{12}", "√13"),
    ("x^3", "x²"),
])
def test_wrong_answers_fail(gold, predicted):
    verdict = verify_answer(gold, f"\\boxed{{{predicted}}}")
    assert (verdict.passed, verdict.reason, verdict.detail["predicted"]) == (False, "wrong_answer", predicted)


@pytest.mark.parametrize(("answer", "choice"), [
    ("B", ("B", None)), ("(B)", ("B", None)), ("\\text{(B)}", ("B", None)), ("\\mathrm{B}", ("B", None)),
    ("\\textbf{(B)}\\ 12", ("B", "12")), ("\\textbf{(B) }12", ("B", "12")), ("\\textbf{(B)\\ }12", ("B", "12")),
    ("\\mathrm{(C)}\\qquad 2\\sqrt{3}", ("C", "2\\sqrt{3}")), ("(A)~-3", ("A", "-3")), ("$\\text{(E)}\\ \\frac12$", ("E", "\\frac12")),
    # cn_k12's rows (NuminaMath) box a choice with its value so
    ("C: 60 \\times 40", ("C", "60 \\times 40")), ("B. 12", ("B", "12")), ("D.", ("D", None)),
    ("12", None), ("e", None), ("F", None), ("AB", None), ("E=mc^2", None), ("(2, 3)", None), ("(A) \\cup (B)", None),
    ("B.5", None),
])
def test_answer_choice(answer, choice):
    assert answer_choice(answer) == choice


@pytest.mark.parametrize(("gold", "solution", "passed"), [
    ("C: 60 \\times 40", "\\boxed{C}", True), ("C: 60 \\times 40", "\\boxed{60 \\times 40}", True),
    ("C", "\\boxed{C: \\frac{1}{2}}", True), ("B", "\\boxed{B. 12}", True), ("C", "\\boxed{D: 12}", False),
    # multiple select ("which of the following are correct"): the same letters, in any order or form
    ("AC", "\\boxed{A, C}", True), ("A, B", "\\boxed{BA}", True), ("ACD", "\\boxed{\\text{ACD}}", True),
    ("BD", "\\boxed{B \\text{ and } D}", True), ("AC", "$\\boxed{A}$ and $\\boxed{C}$", True),
    ("AC", "\\boxed{A}", False), ("AC", "\\boxed{ACD}", False), ("C", "\\boxed{A, C}", False),
    ("AC", "\\boxed{\\textbf{(A)}\\ 12}", False), ("AC", "\\boxed{12}", False),
])
def test_choices_as_cn_k12_rows_write_them(gold, solution, passed):
    assert verify_answer(gold, solution).passed is passed
    assert choice_letters("\\text{A, C and D}") == frozenset("ACD") and choice_letters("AC") == frozenset("AC")
    assert choice_letters("B") is None and choice_letters("AA") is None and choice_letters("AF") is None


# An AMC problem as NuminaMath's amc_aime rows (the Sky-T1 mix) box it: AoPS's letter-then-value answer
AMC_SOLUTION = "Each of the 3 rows has 4 seats, so there are $3 \\cdot 4 = 12$ seats: $\\boxed{\\textbf{(B)}\\ 12}$"


@pytest.mark.parametrize(("gold", "boxed", "passed"), [
    # gold: the letter and value of a boxed AoPS solution
    (None, "B", True), (None, "12", True), (None, "\\text{(B)}", True), (None, "(B)", True), (None, "\\textbf{(B)}", True),
    (None, "\\textbf{(B) }12", True), (None, "\\frac{24}{2}", True),
    (None, "C", False), (None, "13", False), (None, "\\textbf{(C)}\\ 13", False),
    (None, "\\textbf{(C)}\\ 12", False),  # the letters decide: a right value under a wrong letter is not an answer
    # gold: the letter only (OpenR1-Math's `answer` of such rows) or the value only
    ("B", "\\textbf{(B)}\\ 12", True), ("(B)", "B", True), ("B", "\\textbf{(D)}\\ 12", False), ("B", "12", False),
    ("12", "\\textbf{(B)}\\ 12", True), ("12", "\\textbf{(B)}\\ 13", False),
])
def test_multiple_choice_answers_as_amc_solutions_write_them(gold, boxed, passed):
    row = {"ground_truth_answer": gold, "ground_truth_solution": AMC_SOLUTION,
           "solution": f"<think>\nCount the seats.\n</think>\n\nThe answer is $\\boxed{{{boxed}}}$."}
    verdict = verify_row(row)
    assert (verdict.passed, verdict.reason) == (passed, None if passed else "wrong_answer"), verdict


def test_missing_answer_and_missing_gold():
    assert verify_answer("5", "I think it is 5 but I won't box it.", require_boxed=True).reason == "no_answer"
    assert verify_answer("5", "\\boxed{}").reason == "no_answer"
    assert verify_answer("", "\\boxed{5}").reason == "no_ground_truth"
    verdict = verify_answer("5", "no box")
    assert verdict.detail == {"gold": "5", "predicted": None, "answer_from": "math_verify_extraction", "gold_from": None}
    assert json.loads(verdict.to_json()) == {"passed": False, "reason": "no_answer", "gold": "5", "predicted": None,
                                             "answer_from": "math_verify_extraction", "gold_from": None}


def test_detail_is_truncated():
    long = "+".join(["1"] * 300)  # 599 characters
    verdict = verify_answer(long, f"\\boxed{{{long}}}")
    assert verdict.passed
    assert len(verdict.detail["gold"]) <= 510 and len(verdict.detail["predicted"]) <= 510


def test_in_process_time_limit_on_a_real_input():
    start = time.monotonic()
    verdict = verify_answer("5", STUCK, timeout_s=0.5)
    assert (verdict.reason, verdict.detail["error"]) == ("timeout", "exceeded 0.5 s")
    assert time.monotonic() - start < 3


# --------------------------------------------------------------------------------------------------
# Unboxed answers: Math-Verify's extraction when a solution has no box (GSM8K, "A: N", "The answer is N.")

# Rows in GSM8K's own schema (`question`, `answer`: the worked solution with `<<...>>` calculator notes, its
# last line `#### N`), from the train split; the last one is made up, for a gold with a thousands comma.
GSM8K = [
    {"question": "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
                 "How many clips did Natalia sell altogether in April and May?",
     "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips "
               "altogether in April and May.\n#### 72"},
    {"question": "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. "
                 "How much did she earn?",
     "answer": "Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = "
               "$<<0.2*50=10>>10.\n#### 10"},
    {"question": "Betty is saving money for a new wallet which costs $100. Betty has only half of the money she "
                 "needs. Her parents decided to give her $15 for that purpose, and her grandparents twice as much "
                 "as her parents. How much more money does Betty need to buy the wallet?",
     "answer": "In the beginning, Betty has only 100 / 2 = $<<100/2=50>>50.\nBetty's grandparents gave her "
               "15 * 2 = $<<15*2=30>>30.\nThis means, Betty needs 100 - 50 - 30 - 15 = $<<100-50-30-15=5>>5 "
               "more.\n#### 5"},
    {"question": "Julie is reading a 120-page book. Yesterday, she was able to read 12 pages and today, she read "
                 "twice as many pages as yesterday. If she wants to read half of the remaining pages tomorrow, "
                 "how many pages should she read?",
     "answer": "Maila read 12 x 2 = <<12*2=24>>24 pages today.\nSo she was able to read a total of 12 + 24 = "
               "<<12+24=36>>36 pages since yesterday.\nThere are 120 - 36 = <<120-36=84>>84 pages left to be "
               "read.\nSince she wants to read half of the remaining pages tomorrow, then she should read 84/2 = "
               "<<84/2=42>>42 pages.\n#### 42"},
    {"question": "James writes a 3-page letter to 2 different friends twice a week. How many pages does he "
                 "write a year?",
     "answer": "He writes each friend 3*2=<<3*2=6>>6 pages a week\nSo he writes 6*2=<<6*2=12>>12 pages every "
               "week\nThat means he writes 12*52=<<12*52=624>>624 pages a year\n#### 624"},
    {"question": "Mark has a garden with flowers. He planted plants of three different colors in it. Ten of them "
                 "are yellow, and there are 80% more of those in purple. There are only 25% as many green "
                 "flowers as there are yellow and purple flowers. How many flowers does Mark have in his garden?",
     "answer": "There are 80/100 * 10 = <<80/100*10=8>>8 more purple flowers than yellow flowers.\nSo in Mark's "
               "garden, there are 10 + 8 = <<10+8=18>>18 purple flowers.\nPurple and yellow flowers sum up to "
               "10 + 18 = <<10+18=28>>28 flowers.\nThat means in Mark's garden there are 25/100 * 28 = "
               "<<25/100*28=7>>7 green flowers.\nSo in total Mark has 28 + 7 = <<28+7=35>>35 plants in his "
               "garden.\n#### 35"},
    {"question": "Albert is wondering how much pizza he can eat in one day. He buys 2 large pizzas and 2 small "
                 "pizzas. A large pizza has 16 slices and a small pizza has 8 slices. If he eats it all, how many "
                 "pieces does he eat that day?",
     "answer": "He eats 32 from the largest pizzas because 2 x 16 = <<2*16=32>>32\nHe eats 16 from the small "
               "pizza because 2 x 8 = <<2*8=16>>16\nHe eats 48 pieces because 32 + 16 = <<32+16=48>>48\n#### 48"},
    {"question": "Alexis is applying for a new job and bought a new set of business clothes to wear to the "
                 "interview. She went to a department store with a budget of $200 and spent $30 on a button-up "
                 "shirt, $46 on suit pants, $38 on a suit coat, $11 on socks, and $18 on a belt. She also "
                 "purchased a pair of shoes, but lost the receipt for them. She has $16 left from her budget. How "
                 "much did Alexis pay for the shoes?",
     "answer": "Let S be the amount Alexis paid for the shoes.\nShe spent S + 30 + 46 + 38 + 11 + 18 = S + "
               "<<+30+46+38+11+18=143>>143.\nShe used all but $16 of her budget, so S + 143 = 200 - 16 = 184.\n"
               "Thus, Alexis paid S = 184 - 143 = $<<184-143=41>>41 for the shoes.\n#### 41"},
    {"question": "Tina makes $18.00 an hour.  If she works more than 8 hours per shift, she is eligible for "
                 "overtime, which is paid by your hourly wage + 1/2 your hourly wage.  If she works 10 hours every "
                 "day for 5 days, how much money does she make?",
     "answer": "She works 8 hours a day for $18 per hour so she makes 8*18 = $<<8*18=144.00>>144.00 per 8-hour "
               "shift\nShe works 10 hours a day and anything over 8 hours is eligible for overtime, so she gets "
               "10-8 = <<10-8=2>>2 hours of overtime\nOvertime is calculated as time and a half so and she makes "
               "$18/hour so her overtime pay is 18*.5 = $<<18*.5=9.00>>9.00\nHer overtime pay is 18+9 = "
               "$<<18+9=27.00>>27.00\nHer base pay is $144.00 per 8-hour shift and she works 5 days and makes "
               "5 * $144 = $<<144*5=720.00>>720.00\nHer overtime pay is $27.00 per hour and she works 2 hours of "
               "overtime per day and makes 27*2 = $<<27*2=54.00>>54.00 in overtime pay\n2 hours of overtime pay "
               "for 5 days means she makes 54*5 = $270.00\nIn 5 days her base pay is $720.00 and she makes "
               "$270.00 in overtime pay so she makes $720 + $270 = $<<720+270=990.00>>990.00\n#### 990"},
    {"question": "A shop sells 16 bikes at $100 each. How much money does it take in?",
     "answer": "It takes in 16 * 100 = $<<16*100=1600>>1,600.\n#### 1,600"},
]
GSM8K_GOLD = ["72", "10", "5", "42", "624", "35", "48", "41", "990", "1600"]


def test_gsm8k_gold_is_the_hash_line():
    assert [gsm8k_answer(row["answer"]) for row in GSM8K] == GSM8K_GOLD
    assert gsm8k_answer("so $18.\n#### $18") == "18"
    assert gsm8k_answer("#### -3") == "-3"
    assert gsm8k_answer("no hash line: 18") is None
    assert gsm8k_answer("#### ") is None


@pytest.mark.parametrize("index", range(len(GSM8K)))
def test_gsm8k_human_solutions_verify_against_their_gold(index):
    row = GSM8K[index]
    as_metadata = {"problem": row["question"], "ground_truth_solution": row["answer"], "solution": row["answer"]}
    verdict = verify_row(as_metadata)
    assert verdict.passed, verdict
    assert verdict.detail == {"gold": GSM8K_GOLD[index], "predicted": GSM8K_GOLD[index],
                              "answer_from": "math_verify_extraction", "gold_from": "gsm8k_hash"}
    other = GSM8K[(index + 1) % len(GSM8K)]["answer"]  # another problem's solution: its own answer
    wrong = verify_row({**as_metadata, "solution": other})
    assert (wrong.passed, wrong.reason) == (False, "wrong_answer")
    # the same solutions, boxed the way a model is asked to, against a `ground_truth_answer` with the comma
    boxed = verify_row({"ground_truth_answer": gsm8k_answer(row["answer"]),
                        "solution": row["answer"] + f"\n\n$\\boxed{{{GSM8K_GOLD[index]}}}$"})
    assert boxed.passed and boxed.detail["answer_from"] == "boxed"
    # with the strict rule the unboxed human solution has no answer
    assert verify_row(as_metadata, require_boxed=True).reason == "no_answer"


@pytest.mark.parametrize(("gold", "solution"), [
    ("18", "A: 18"),
    ("18", "Janet sells 16 - 3 - 4 = 9 duck eggs a day, at $2 each.\nA: 18"),
    ("18", "The answer is 18."),
    ("18", "She makes 9 * 2 = 18 dollars every day. The answer is 18."),
    ("18", "#### 18"),
    ("18", "**18**"),
    ("18", "18"),
    ("18", "Answer: $18"),
    ("18", "She makes $18 every day."),
    ("18", "The final answer is $18$. I hope it is correct."),
    ("1234", "In all she pays $1,234."),
    ("1234", "The answer is 1,234."),
    ("1,234", "The answer is 1234."),
    ("10080", "The answer is $10\\,080$."),
    ("\\frac{1}{2}", "The answer is 1/2."),
    ("0.5", "Answer: $\\frac{1}{2}$"),
    ("-7", "The answer is -7."),
    ("\\pi", "The answer is $\\pi$."),
    # math typed as Unicode, read as its LaTeX in running text too
    ("\\frac{1}{2}", "The answer is ½."),
    ("0.75", "The answer is ¾."),
])
def test_unboxed_answers_are_read(gold, solution):
    verdict = verify_answer(gold, solution)
    assert (verdict.passed, verdict.reason, verdict.detail["answer_from"]) == (True, None, "math_verify_extraction")


@pytest.mark.parametrize(("gold", "solution"), [
    ("17", "A: 18"),
    ("18", "A: 17"),
    ("17", "The answer is 18."),
    ("18", "The answer is 81."),
    ("18", "#### 1,800"),
    ("1234", "In all she pays $1,243."),
    ("18", "The answer is 18.5."),
])
def test_wrong_unboxed_answers_fail(gold, solution):
    verdict = verify_answer(gold, solution)
    assert (verdict.passed, verdict.reason) == (False, "wrong_answer")
    assert verdict.detail["predicted"] is not None and verdict.detail["answer_from"] == "math_verify_extraction"


def test_the_answer_sentence_wins_over_a_later_number():
    """Math-Verify's anchors come first: "The answer is 18." beats a number after it."""
    verdict = verify_answer("18", "The answer is 18.\n\nCheck: 3 groups of 6 make 18, and 2 are left over.")
    assert verdict.passed and verdict.detail["predicted"] == "18"


@pytest.mark.parametrize("solution", [
    "the answer is three",
    "I could not solve this problem.",
    "Let $n$ be the number of sides; then it is a polygon.",  # a symbol, but not a single number
    "",
    "   ",
])
def test_a_solution_without_a_number_has_no_answer(solution):
    verdict = verify_answer("3", solution)
    assert (verdict.passed, verdict.reason, verdict.detail["predicted"]) == (False, "no_answer", None)


def test_a_box_wins_over_text():
    text = "The answer is 17. No, I made a mistake: it is $\\boxed{18}$, not 17."
    assert verify_answer("18", text).detail == {"gold": "18", "predicted": "18", "answer_from": "boxed",
                                                "gold_from": None}
    assert verify_answer("17", text).reason == "wrong_answer"
    # an empty or unclosed last box is no answer, never a fall back to the text
    assert verify_answer("18", "The answer is 18: \\boxed{}").reason == "no_answer"
    assert verify_answer("18", "The answer is 18: \\boxed{18").reason == "no_answer"


@pytest.mark.parametrize(("solution", "part"), [
    ("<think>18 or 17?</think>\nThe answer is 17.", "\nThe answer is 17."),
    ("<think>hmm</think>a</think>b", "b"),
    ("<|begin_of_thought|>18?<|end_of_thought|>\n<|begin_of_solution|>A: 17<|end_of_solution|>", "\nA: 17"),
    ("<think>it is 18, I think", ""),
    ("The answer is 17.", "The answer is 17."),
])
def test_answer_part(solution, part):
    assert answer_part(solution) == part


def test_with_a_reasoning_trace_the_answer_comes_from_the_answer_part():
    assert verify_answer("17", "<think>Is it \\boxed{18}? 18.</think>The answer is 17.").passed
    verdict = verify_answer("18", "<think>Is it \\boxed{18}? 18.</think>The answer is 17.")
    assert (verdict.reason, verdict.detail["predicted"]) == ("wrong_answer", "17")
    assert verify_answer("18", "<think>So it is 18.</think>I am not sure.").reason == "no_answer"
    assert verify_answer("18", "<think>So it is 18. The answer is 18.").reason == "no_answer"  # never closes
    sky = "<|begin_of_thought|>so 18<|end_of_thought|>\n<|begin_of_solution|>A: 18<|end_of_solution|>"
    assert verify_answer("18", sky).passed


@pytest.mark.parametrize(("solution", "old"), [
    ("The answer is 18.", "no_answer"),
    ("A: 18", "no_answer"),
    ("#### 18", "no_answer"),
    ("**18**", "no_answer"),
    ("18", "no_answer"),
    ("so \\boxed{18}", None),
    ("so \\boxed{17}", "wrong_answer"),
    ("<think>\\boxed{18}</think>I don't know", None),  # the strict rule reads the whole solution, as before
])
def test_require_boxed_keeps_the_old_verdicts(solution, old):
    verdict = verify_answer("18", solution, require_boxed=True)
    assert (verdict.passed, verdict.reason, verdict.detail["answer_from"]) == (old is None, old, "boxed")


def test_gold_sources():
    gsm8k = GSM8K[0]["answer"]
    assert gold_source({"ground_truth_answer": "72", "ground_truth_solution": "\\boxed{7}"}) == ("72", "ground_truth_answer")
    assert gold_source({"ground_truth_answer": "$5$"}) == ("5", "ground_truth_answer")
    assert gold_source({"ground_truth_answer": "", "ground_truth_solution": "so $\\boxed{7}$\n#### 8"}) == (
        "7", "boxed_solution")
    assert gold_source({"ground_truth_answer": None, "ground_truth_solution": gsm8k}) == ("72", "gsm8k_hash")
    assert gold_source({"ground_truth_solution": GSM8K[-1]["answer"]}) == ("1600", "gsm8k_hash")
    # MetaMathQA's `response` ends with its answer line
    metamath = "She has 3 + 4 = 7 apples.\nThe answer is: 7"
    assert gold_source({"ground_truth_solution": metamath}) == ("7", "answer_line")
    assert gold_source({"ground_truth_solution": "So x is one half.\nThe answer is: $\\frac{1}{2}$.\n"}) == (
        "\\frac{1}{2}", "answer_line")
    assert verify_row({"ground_truth_solution": metamath, "solution": "\\boxed{7}"}).passed
    assert gold_source({"ground_truth_solution": "The answer is: 5, or so I thought.\nIt is 6."}) == (None, None)
    assert gold_source({"ground_truth_solution": "no answer line, 72"}) == (None, None)
    assert gold_source({}) == (None, None)
    assert gold_answer({"ground_truth_solution": gsm8k}) == "72"
    verdict = verify_row({"ground_truth_solution": "no answer line", "solution": "\\boxed{1}"})
    assert (verdict.reason, verdict.detail["gold_from"]) == ("no_ground_truth", None)


@pytest.mark.parametrize(("solution", "gold"), [
    ("34", "34"),  # open-r1/DAPO-Math-17k-Processed: `solution` is reward_model.ground_truth, the bare answer
    ("$\\frac{1}{2}$", "\\frac{1}{2}"),
    ("x = 3", "x = 3"),
    ("5 cm", "5 cm"),
    ("The answer is 34.", None),  # prose: no answer the rule reads
    ("Add them up.\n34", None),  # a worked solution without a box or #### line
    ("proof", None),
    ("Proof.", None),  # a placeholder still, with its full stop
])
def test_a_solution_that_is_only_an_answer_is_the_gold(solution, gold):
    assert gold_source({"ground_truth_solution": solution}) == ((gold, "answer_solution") if gold else (None, None))
    if gold:
        verdict = verify_row({"ground_truth_solution": solution, "solution": f"\\boxed{{{gold}}}"})
        assert (verdict.passed, verdict.detail["gold_from"]) == (True, "answer_solution")


@pytest.mark.parametrize(("gold", "answers"), [
    ("['10']", ["10"]),  # Skywork-OR1-RL-Data's reward_model.ground_truth: the Python text of a list
    ("['\\\\frac{1}{2}', '0.5']", ["\\frac{1}{2}", "0.5"]),
    ('["\\\\frac{1}{2}", "$0.5$"]', ["\\frac{1}{2}", "0.5"]),  # JSON (a list column stored by the kit)
    ('["proof", "7"]', ["7"]),
    ("[1, 2]", ["[1, 2]"]),  # no quotes: a list or interval answer, not alternatives
    ("[-1, 3)", ["[-1, 3)"]),
    ("[\\text{'a'}, 2]", ["[\\text{'a'}, 2]"]),  # quotes, but no list of strings
    ("['a', 2]", ["['a', 2]"]),
    ("[]", ["[]"]),
    ("$7$", ["7"]),
    ("proof", []),  # NuminaMath-1.5's placeholders: nothing to check against
    ("notfound", []),
    ("Proof", []),
    ('["proof"]', []),
    ("  ", []),
])
def test_gold_answers(gold, answers):
    assert gold_answers(gold) == answers


@pytest.mark.parametrize(("gold", "boxed", "reason"), [
    ("['\\\\frac{1}{2}', '0.5']", "0.5", None),
    ("['\\\\frac{1}{2}', '0.5']", "\\dfrac{1}{2}", None),
    ("['\\\\frac{1}{2}', '0.5']", "2", "wrong_answer"),
    ('["\\\\text{(B)}", "12"]', "B", None),
    ("['10', '\\\\frac{1}{2}']", "10", None),
    ("[-1, 3]", "[-1, 3]", None),
    ("proof", "proof", "no_ground_truth"),  # boxing the placeholder earns nothing
    ("notfound", "notfound", "no_ground_truth"),
    ('["proof"]', "proof", "no_ground_truth"),
])
def test_a_gold_list_accepts_each_answer_and_a_placeholder_none(gold, boxed, reason):
    verdict = verify_answer(gold, f"so the answer is \\boxed{{{boxed}}}")
    assert (verdict.passed, verdict.reason) == (reason is None, reason)


def test_a_placeholder_answer_is_no_gold_even_when_the_solution_boxes_something():
    row = {"ground_truth_answer": "proof", "ground_truth_solution": "Hence $a + b \\geq \\boxed{2}$."}
    assert gold_source(row) == (None, None)
    assert verify_row({**row, "solution": "\\boxed{2}"}).reason == "no_ground_truth"


def test_the_verifier_and_the_recipe_thread_require_boxed():
    assert MathVerifyConfig().require_boxed is False
    assert "boxed" in MathVerifyConfig.model_fields["require_boxed"].description
    cfg = VerifyConfig.model_validate({"workers": 1, "math": {"timeout_s": 5, "require_boxed": True}})
    rows = [{"domain": "math", "ground_truth_answer": "72", "solution": GSM8K[0]["answer"]},
            {"domain": "math", "ground_truth_solution": GSM8K[0]["answer"], "solution": "so \\boxed{72}"}]
    with RowVerifier(cfg) as strict, RowVerifier(VerifyConfig(workers=1)) as default:
        assert [(v.passed, v.reason) for v in strict.verify(rows)] == [(False, "no_answer"), (True, None)]
        verdicts = list(default.verify(rows))
    assert [(v.passed, v.detail["answer_from"], v.detail["gold_from"]) for v in verdicts] == [
        (True, "math_verify_extraction", "ground_truth_answer"), (True, "boxed", "gsm8k_hash")]


def test_the_arena_badge_uses_the_same_rule():
    """`kit eval` verifies through `RowVerifier` (above); the arena's badge through `MathVerifier` too."""
    arena = pytest.importorskip("kit.demo.arena")
    fresh = arena._verifier.cache_info().currsize == 0
    try:
        verdict = arena.verify("So Natalia sold 72 clips.\n#### 72", "72")
    finally:
        if fresh:  # the app's verifier worker: not left running after this test
            arena._verifier().close()
            arena._verifier.cache_clear()
    assert verdict == verify_row({"ground_truth_answer": "72", "solution": "So Natalia sold 72 clips.\n#### 72"})
    assert verdict.passed and verdict.detail["answer_from"] == "math_verify_extraction"


# --------------------------------------------------------------------------------------------------
# Many rows, in worker processes


def test_verifier_keeps_order_reasons_and_reports_progress(verifier):
    rows = [
        {"ground_truth_answer": "\\frac{1}{2}", "solution": "so \\boxed{0.5}"},
        {"ground_truth_answer": "27", "solution": "\\boxed{26}"},
        {"ground_truth_answer": "3", "solution": "the answer is three"},
        {"ground_truth_answer": "", "ground_truth_solution": "", "solution": "\\boxed{1}"},
        {"ground_truth_answer": "", "ground_truth_solution": "hence $\\boxed{27}$", "solution": "\\boxed{27.0}"},
        {"ground_truth_answer": None, "ground_truth_solution": None, "solution": None},
    ]
    progress: list[int] = []
    verdicts = list(verifier.verify(rows, on_result=progress.append))
    assert [v.reason for v in verdicts] == [None, "wrong_answer", "no_answer", "no_ground_truth", None,
                                           "no_ground_truth"]
    assert [v.passed for v in verdicts] == [True, False, False, False, True, False]
    assert verdicts[4].detail == {"gold": "27", "predicted": "27.0", "answer_from": "boxed", "gold_from": "boxed_solution"}
    assert verdicts[0].detail["gold_from"] == "ground_truth_answer" and verdicts[3].detail["gold_from"] is None
    assert {v.verifier for v in verdicts} == {"math-verify"}
    assert progress == [1, 2, 3, 4, 5, 6]


def test_verifier_streams_with_bounded_read_ahead(verifier):
    pulled = 0

    def rows():
        nonlocal pulled
        for i in range(1000):
            pulled += 1
            yield {"ground_truth_answer": str(i), "solution": f"\\boxed{{{i}}}" if i % 10 == 0 else "no box"}

    most_ahead = 0
    for n, verdict in enumerate(verifier.verify(rows()), start=1):
        most_ahead = max(most_ahead, pulled - n)
        assert verdict.reason == ("no_answer" if (n - 1) % 10 else None)
    assert n == 1000
    assert most_ahead <= verifier._pool.max_pending


def test_stuck_item_times_out_and_the_run_continues():
    rows = [{"ground_truth_answer": "5", "solution": STUCK}] + [
        {"ground_truth_answer": str(i), "solution": f"\\boxed{{{i}}}"} for i in range(3)]
    with MathVerifier(workers=1, timeout_s=1.0) as verifier:
        start = time.monotonic()
        verdicts = list(verifier.verify(rows))
        elapsed = time.monotonic() - start
    assert verdicts[0].reason == "timeout" and verdicts[0].detail["predicted"] == "9^{9^{9^{9}}}"
    assert [v.passed for v in verdicts[1:]] == [True, True, True]
    assert elapsed < 1.0 + GRACE_S + 2


def test_time_limit_holds_when_verify_runs_on_a_thread():
    """kit.verify.registry calls `verify` from a thread pool: workers still get a working timer."""
    out: list[Verdict] = []

    def run():
        with MathVerifier(workers=1, timeout_s=1.0) as verifier:
            out.extend(verifier.verify([{"ground_truth_answer": "5", "solution": STUCK},
                                        {"ground_truth_answer": "5", "solution": "\\boxed{5}"}]))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)
    assert [(v.reason, v.detail.get("error")) for v in out] == [("timeout", "exceeded 1 s"), (None, None)]


def _double_or_die(x: int) -> int:
    if x < 0:
        os._exit(3)
    return 2 * x


def test_pool_kills_and_replaces_a_stuck_worker():
    """The parent-side limit: `time.sleep` ignores no signal, but the pool sends none - it kills."""
    with ProcessPool(time.sleep, workers=2, time_limit_s=0.5) as pool:
        pids = {w.process.pid for w in pool._workers}
        start = time.monotonic()
        results = list(pool.map([0.01, 60, 0.01, 0.02, 0.01]))
        elapsed = time.monotonic() - start
        assert results[0] is None and results[2:] == [None, None, None]
        assert isinstance(results[1], Failure) and results[1].kind == "timeout"
        assert elapsed < 3
        assert len(pids & {w.process.pid for w in pool._workers}) == 1  # the killed one was replaced
        assert list(pool.map([0.01, 0.01])) == [None, None]


def test_pool_reports_crashes_and_errors_and_goes_on():
    with ProcessPool(_double_or_die, workers=2, time_limit_s=5) as pool:
        results = list(pool.map([1, -1, 2, "x", 3]))
    assert results[0] == 2 and results[2] == 4 and results[4] == 6
    assert results[1].kind == "crashed" and "exit code 3" in results[1].message
    assert results[3].kind == "error" and results[3].message.startswith("TypeError")


def test_an_idle_worker_that_died_hands_its_next_item_to_a_replacement():
    """A long-lived pool (the arena's badge) whose idle worker was killed: the item had not started, so it runs
    on the replacement instead of failing as crashed."""
    import signal

    with ProcessPool(abs, workers=1, time_limit_s=5) as pool:
        dead = pool._workers[0].process
        os.kill(dead.pid, signal.SIGKILL)
        dead.join(5)
        assert list(pool.map([-3, -4])) == [3, 4]
        assert pool._workers[0].process.pid != dead.pid


def test_a_worker_holds_none_of_the_parents_connections_open():
    """A server that runs the pool (the Reasoning Arena) closes a client's connection: the client must see
    it closed, also when a worker was forked while the connection was open."""
    ours, peer = socket.socketpair()
    with ProcessPool(abs, workers=1, time_limit_s=5) as pool:  # forked while `ours` is open
        ours.close()
        peer.settimeout(10)
        assert peer.recv(1) == b""  # end of stream: no copy of `ours` lives on in the worker
        assert list(pool.map([-3])) == [3]  # and the worker's own pipe works
    peer.close()


# --------------------------------------------------------------------------------------------------
# Real data: MATH500


def test_the_reference_solutions_of_math500_and_aime24_verify_against_their_answers(verifier):
    """Each bundled benchmark row's own worked solution against its own answer: the answer rule reads the answers
    as these datasets write them (AoPS boxes AIME answers as `\\textbf{(073)}`, against a gold `073`)."""
    rows = [json.loads(line) for name in ("math500", "aime24")
            for line in (MATH500.parent / f"{name}.jsonl").read_text().splitlines()]
    verdicts = list(verifier.verify([{"ground_truth_answer": str(row["answer"]), "solution": row["solution"]}
                                     for row in rows]))
    assert len(rows) == 530 and [v for v in verdicts if not v.passed] == []
    bold = [v for row, v in zip(rows, verdicts, strict=True) if "\\textbf{(" in row["solution"]]
    assert bold, "no AIME solution boxes its answer in bold"
