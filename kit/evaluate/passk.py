"""Scores of a benchmark run: the unbiased pass@k estimator, pass@1 averaged over samples, and error bars.

pass@k is estimated per problem from `n` samples of which `c` are correct, as in Chen et al. 2021
("Evaluating Large Language Models Trained on Code", the HumanEval paper):

    pass@k = 1 - C(n - c, k) / C(n, k)

the chance that k samples drawn without replacement from the n hold at least one correct one; computed as
`1 - prod_{i = n-c+1}^{n} (1 - k / i)`, which needs no large binomials. With k = 1 it is c / n, so
pass@1 averaged over the problems is the mean accuracy over all n samples (what OpenThinker and Sky-T1
report for AIME as "averaged over N runs").

The confidence interval of a benchmark score treats the problems as the sample: the score is the mean of
the per-problem estimates, its standard error `sqrt(var / m)` over the m problems (Miller 2024, "Adding
Error Bars to Evals"; the n samples of a problem are one cluster), and the interval is normal, clipped to
[0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimate of pass@k for one problem with `c` correct samples out of `n` (k <= n)."""
    if not 0 <= c <= n:
        raise ValueError(f"c={c} correct samples out of n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n (n={n} samples)")
    if n - c < k:  # every draw of k samples holds a correct one
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


@dataclass(frozen=True)
class Score:
    """A benchmark score with its confidence interval (all in [0, 1])."""

    value: float
    low: float
    high: float
    stderr: float
    problems: int
    confidence: float

    def to_json(self) -> dict[str, float | int]:
        return {"value": self.value, "ci_low": self.low, "ci_high": self.high, "stderr": self.stderr,
                "problems": self.problems, "confidence": self.confidence}


def score(per_problem: Sequence[float], confidence: float = 0.95) -> Score:
    """The mean of per-problem scores (pass@k estimates), with a normal confidence interval over problems."""
    m = len(per_problem)
    if m == 0:
        raise ValueError("no problems to score")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    mean = math.fsum(per_problem) / m
    variance = math.fsum((x - mean) ** 2 for x in per_problem) / (m - 1) if m > 1 else 0.0
    stderr = math.sqrt(variance / m)
    half = NormalDist().inv_cdf(0.5 + confidence / 2) * stderr
    return Score(mean, max(0.0, mean - half), min(1.0, mean + half), stderr, m, confidence)


def benchmark_pass_at_k(counts: Sequence[tuple[int, int]], k: int, confidence: float = 0.95) -> Score:
    """pass@k of a benchmark from `(n, c)` per problem: the mean of the per-problem estimates, with its CI."""
    return score([pass_at_k(n, c, k) for n, c in counts], confidence)
