"""The scores of `kit eval` (issue 7): the unbiased pass@k estimator and the confidence intervals."""

from __future__ import annotations

import math

import pytest

from kit.evaluate.passk import benchmark_pass_at_k, pass_at_k, score


def by_definition(n: int, c: int, k: int) -> float:
    """1 - C(n-c, k) / C(n, k), with exact integers."""
    return 1 - math.comb(n - c, k) / math.comb(n, k)


@pytest.mark.parametrize(("n", "c", "k", "expected"), [
    (10, 1, 1, 0.1),
    (10, 3, 1, 0.3),  # pass@1 is the share of correct samples
    (10, 5, 5, 1 - 1 / 252),  # C(5,5) / C(10,5)
    (10, 2, 3, 1 - 56 / 120),  # C(8,3) / C(10,3)
    (5, 1, 5, 1.0),  # n = k: one correct sample among all of them
    (5, 0, 5, 0.0),  # n = k, c = 0
    (16, 0, 1, 0.0),  # c = 0
    (16, 0, 8, 0.0),
    (16, 16, 8, 1.0),  # c = n
    (4, 2, 3, 1.0),  # n - c < k: every draw of 3 holds a correct one
    (1, 1, 1, 1.0),
])
def test_known_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_matches_the_definition_everywhere():
    for n in range(1, 41):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(by_definition(n, c, k), abs=1e-12), (n, c, k)


def test_large_n_needs_no_large_binomials():
    assert pass_at_k(10_000, 1, 1) == pytest.approx(1e-4)
    assert pass_at_k(10_000, 5_000, 100) == pytest.approx(1.0)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_impossible_inputs_are_refused(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_confidence_interval_over_problems():
    result = score([1, 0, 1, 1])
    assert result.value == 0.75 and result.problems == 4
    stderr = math.sqrt((3 * 0.25**2 + 0.75**2) / 3 / 4)  # sample variance over problems, / m
    assert result.stderr == pytest.approx(stderr)
    assert result.low == pytest.approx(0.75 - 1.959963984540054 * stderr)
    assert result.high == 1.0  # clipped
    narrower = score([1, 0, 1, 1], confidence=0.5)
    assert result.low < narrower.low < narrower.value < narrower.high


def test_all_right_or_all_wrong_has_no_spread():
    assert score([1.0] * 5).to_json() == {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0, "stderr": 0.0,
                                         "problems": 5, "confidence": 0.95}
    assert benchmark_pass_at_k([(8, 0)] * 3, k=1).value == 0.0


def test_pass_at_1_averaged_over_samples_is_the_mean_accuracy():
    counts = [(8, 8), (8, 4), (8, 0), (8, 2)]  # 14 of 32 samples right
    assert benchmark_pass_at_k(counts, k=1).value == pytest.approx(14 / 32)
    assert benchmark_pass_at_k(counts, k=8).value == pytest.approx(3 / 4)  # problems with any right sample
