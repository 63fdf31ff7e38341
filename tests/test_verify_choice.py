"""Multiple-choice answers: which letter a model chose, read strictly, and the verdict on it."""

from __future__ import annotations

import pytest

from kit.verify.choice import ChoiceVerifier, extract_choice, verify_choice


@pytest.mark.parametrize("solution", [
    r"The answer is \boxed{C}.",
    r"\boxed{(C)}",
    r"$\boxed{\text{C}}$",
    r"\boxed{\textbf{(C)}}",
    r"\boxed{\mathrm{C}}",
    r"\boxed{C)}",
    r"\boxed{C.}",
    r"\boxed{C: 4.2 \times 10^{-3} nm}",
    r"\boxed{\text{(C) } 2.5}",
    r"\boxed{Option C}",
    r"\boxed C",
    r"\fbox{C}",
    r"\boxed{C (2.5 eV)}",
    r"\boxed{C, 2.5 eV}",
    r"\boxed{C \text{ (2.5 eV)}}",
])
def test_boxed_forms(solution):
    assert extract_choice(solution) == "C"


def test_the_last_box_holding_a_letter_wins():
    assert extract_choice(r"At first \boxed{A}, but on reflection \boxed{B}.") == "B"
    assert extract_choice(r"\boxed{A} so the wavelength is \boxed{42 nm}") == "A"  # a box without a letter is skipped
    assert extract_choice(r"\boxed{D} ... Answer: A") == "D"  # a boxed letter beats the text


@pytest.mark.parametrize("solution, letter", [
    ("Answer: B", "B"),
    ("answer: B", "B"),
    ("ANSWER: B", "B"),
    ("The answer is (D).", "D"),
    ("The correct answer is option A", "A"),
    ("Final Answer: **C**", "C"),
    ("**Answer:** D", "D"),
    (r"Answer: $\textbf{A}$", "A"),
    ("Answer: C\nOn second thought... Answer: D", "D"),
    (r"The box \boxed{2.5} holds the value; answer: B", "B"),
    ('The energy is 2.5 eV.\n\nAnswer: "B"', "B"),  # lighteval's gpqa_instruct_metric expects it read
])
def test_answer_line_fallback(solution, letter):
    assert extract_choice(solution) == letter


@pytest.mark.parametrize("solution, letter", [
    ("B", "B"), ("**B**", "B"), ("(B)", "B"), (" B. ", "B"), ("B) 2.5 eV", "B"), ("**C:** the second one", "C"),
])
def test_an_answer_that_is_the_letter_alone(solution, letter):
    """lighteval's GPQA tests expect a bare `B` and `(B)` to score (gpqa_instruct_pass_at_k.json)."""
    assert extract_choice(solution) == letter


@pytest.mark.parametrize("solution", [
    r"\boxed{CA}",
    r"\boxed{Because}",
    r"\boxed{c}",  # letters are upper case
    "Answer: c",
    "the answer is a bit subtle",
    "The answer is Because of symmetry",
    "Answers: B",
    r"\boxed{A or B}",
    r"\boxed{A, B}",
    r"\boxed{A) or B)}",
    "Answer: A or B",
    "Answer: (A) and (C)",
    r"\boxed{B",  # a truncated box is no answer
    "I am not sure.",
    "",
    "B or C",
    "B, C",
    "B) 2.5 eV\nC) 3.1 eV",  # the options listed, none chosen
    "A reasoned guess.",
    r"\boxed{B, C}",
    r"\boxed{B (or C)}",
])
def test_no_unambiguous_choice(solution):
    assert extract_choice(solution) is None


def test_letters_outside_the_set():
    assert extract_choice(r"\boxed{E}") is None
    assert extract_choice(r"\boxed{A} no wait, \boxed{E}") is None  # the last boxed letter decides
    assert extract_choice("Answer: E") is None
    assert extract_choice(r"\boxed{E}", letters="ABCDE") == "E"
    assert extract_choice("answer is I think B") is None


def test_verify_choice():
    passed = verify_choice("B", r"so \boxed{B}")
    assert (passed.passed, passed.verifier, passed.reason, passed.detail) == (True, "choice", None,
                                                                            {"gold": "B", "predicted": "B"})
    wrong = verify_choice("B", "Answer: C")
    assert (wrong.passed, wrong.reason, wrong.detail) == (False, "wrong_answer", {"gold": "B", "predicted": "C"})
    none = verify_choice("B", "It depends.")
    assert (none.passed, none.reason, none.detail) == (False, "no_answer", {"gold": "B", "predicted": None})
    assert verify_choice("E", r"\boxed{E}", letters="ABCDE").passed


def test_choice_verifier_scores_rows_in_order():
    rows = [{"ground_truth_answer": "C", "solution": r"\boxed{C}"}, {"ground_truth_answer": "A", "solution": "B"},
            {"ground_truth_answer": "A", "solution": "Answer: E"}]
    done = []
    with ChoiceVerifier() as verifier:
        verdicts = list(verifier.verify(rows, on_result=done.append))
    assert verdicts == [verify_choice(r["ground_truth_answer"], r["solution"]) for r in rows]
    assert [v.reason for v in verdicts] == [None, "wrong_answer", "no_answer"] and done == [1, 2, 3]
    assert list(ChoiceVerifier("ABCDE").verify(rows[2:]))[0].reason == "wrong_answer"
