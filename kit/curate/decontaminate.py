"""Decontamination: drop problems that overlap a benchmark problem.

Checks, in this order:

- word n-grams (open-r1's `scripts/decontaminate.py`, after s1, which lower-cases and collapses whitespace;
  the kit also drops punctuation and symbols, so `$` delimiters and LaTeX spacing do not matter): a problem
  is flagged when it holds at least `coverage` (default half) of a benchmark problem's word n-grams (default
  8). open-r1 flags any one shared n-gram (`coverage: 0` here); on problem sets that hold no benchmark
  problem that drops many rows for a stock phrase alone ("where m and n are relatively prime positive
  integers", "what is the slope of the line passing"): 32% of AIME 1983-2023 and 12% of MATH's training set
  against MATH-500, AIME24, AMC23 and HumanEval, where the default drops 0.8% of each (near-copies: the same
  problem with other numbers, or reworded);
- a benchmark problem shorter than n words (13 of MATH-500's, such as "Simplify $\\sqrt{242}$.") has no n-gram:
  it is one gram of its own length, so a problem that holds its words in a row is flagged (from `SHORT_WORDS`
  words up). open-r1 and OpenThoughts let such a problem through when an instruction is added to it, as
  OpenThoughts' and Bespoke-Stratos' user turns add "Return your final response within \\boxed{}.";
- fuzzy match (OpenThoughts): rapidfuzz `fuzz.ratio` between the normalized texts at or above a
  threshold (default 95). It also catches a short problem reworded, or of fewer than `SHORT_WORDS` words.

The benchmark problems compared are each problem's own text (`kit.benchmarks.benchmark_problems`: GPQA's question
without its choices, LiveCodeBench's `question_content` without the kit's instruction, as open-r1 compares them):
the bundled benchmarks from their bundled copies, offline, the others from the Hub when curate starts.

Results are cached per normalized problem, so the many samples of one problem cost one check.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rapidfuzz import fuzz, process

from kit.benchmarks import SPECS, BenchmarkUnavailable, benchmark_problems
from kit.core.sources import SourceError, iter_rows
from kit.recipes import DecontaminationConfig

_NON_WORD = re.compile(r"[\W_]+")
# A benchmark problem of fewer than n words (MATH-500's "Simplify $\sqrt{242}$.", "Compute $\dbinom{31}{28}$.") has
# no n-gram: it is matched whole, as one gram of its own length, when it has at least this many words
SHORT_WORDS = 3


def normalize_text(text: str) -> str:
    """NFKC, lower case, punctuation and symbols replaced by spaces, single spaces."""
    return " ".join(_NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower()).split())


def word_ngrams(text: str, n: int) -> set[str]:
    """The word n-grams of a normalized text (none when it has fewer than n words)."""
    words = text.split()
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


@dataclass(frozen=True)
class Match:
    """Why a problem is contaminated: which benchmark, how, and the benchmark problem it matched."""

    benchmark: str
    method: Literal["ngram", "fuzzy"]
    reference: str  # the first 80 characters of the benchmark problem
    score: float | None = None  # fuzzy ratio, or the share of the benchmark problem's n-grams held (0-100)
    ngram: str | None = None  # the first shared n-gram, for method == "ngram"

    def __str__(self) -> str:
        how = (f"shares {self.ngram!r} ({self.score:.0f}% of its n-grams)" if self.method == "ngram"
               else f"fuzzy ratio {self.score:.1f}")
        return f"{self.benchmark}: {how} with {self.reference!r}"


class Decontaminator:
    """`check(problem)` returns a `Match` when the problem overlaps a reference problem, else None."""

    def __init__(self, references: Mapping[str, Iterable[str]], ngram: int = 8, fuzzy_threshold: float = 95.0,
                 common_ngram_refs: int | None = None, coverage: float = 0.5,
                 origins: Mapping[str, dict[str, Any]] | None = None):
        """`references` maps a benchmark name to its problems; `origins`, where each was read from (`from_config`).

        `coverage`: the share of a reference problem's n-grams a problem must hold to be flagged (0: any one
        shared n-gram flags, as open-r1). `common_ngram_refs`: n-grams found in at least this many reference
        problems are boilerplate (e.g. AIME's "where m and n are relatively prime positive integers"): they
        neither flag a problem nor count in a reference's share; None (the default) counts every n-gram.
        """
        if ngram < 1:
            raise ValueError("ngram must be at least 1")
        if not 0 <= coverage <= 1:
            raise ValueError("coverage must be between 0 and 1")
        self.ngram = ngram
        self.fuzzy_threshold = fuzzy_threshold
        self.coverage = coverage
        self._names: list[str] = []  # benchmark name of each reference
        self._texts: list[str] = []  # original text of each reference
        self._normalized: list[str] = []  # normalized text of each reference (fuzzy choices)
        self._index: dict[str, list[int]] = {}  # n-gram -> the references holding it
        self._short: set[int] = set()  # the word counts of the references shorter than n words
        for name, problems in references.items():
            for text in problems:
                if not text or not text.strip():
                    continue
                normalized = normalize_text(text)
                size = len(normalized.split())
                if size >= ngram:
                    grams = word_ngrams(normalized, ngram)
                elif size >= SHORT_WORDS:  # too short for an n-gram: one gram of its own length
                    grams = {normalized}
                    self._short.add(size)
                else:
                    grams = set()
                for gram in grams:
                    self._index.setdefault(gram, []).append(len(self._texts))
                self._names.append(name)
                self._texts.append(text)
                self._normalized.append(normalized)
        if common_ngram_refs is not None:
            self._index = {gram: refs for gram, refs in self._index.items() if len(refs) < common_ngram_refs}
        self._sizes: Counter[int] = Counter(ref for refs in self._index.values() for ref in refs)  # n-grams counted
        self._cache: dict[bytes, Match | None] = {}
        self.origins: dict[str, dict[str, Any]] = dict(origins or {})  # benchmark -> where its problems were read

    @classmethod
    def from_config(cls, cfg: DecontaminationConfig) -> Decontaminator:
        """The benchmarks named in `cfg.benchmarks` (each problem's own text: `kit.benchmarks.benchmark_problems`;
        a bundled one from its bundled copy, any other from the Hub, LiveCodeBench's `cfg.livecodebench_release`)
        plus the `cfg.extra` reference datasets; `origins` says where each was read from (the Hub commit, the
        bundled copy, the extra dataset's path). SourceError (one line, naming the fix) for a benchmark that cannot
        be read: curate calls this before any problem is loaded or generated."""
        read = {name: _problems(name, cfg.livecodebench_release) for name in cfg.benchmarks}
        references: dict[str, list[str]] = {name: problems for name, (problems, _) in read.items()}
        origins = {name: origin for name, (_, origin) in read.items()}
        for extra in cfg.extra:
            name = extra.name or extra.path
            problems = references.setdefault(name, [])
            origins.setdefault(name, {"path": extra.path, "config": extra.config, "split": extra.split,
                                      "column": extra.column})
            for row in iter_rows(extra.path, config=extra.config, split=extra.split):
                if extra.column not in row:
                    raise SourceError(f"{extra.path}: no column {extra.column!r} (columns: {', '.join(row)})")
                if isinstance(row[extra.column], str):
                    problems.append(row[extra.column])
        return cls(references, ngram=cfg.ngram, fuzzy_threshold=cfg.fuzzy_threshold,
                   common_ngram_refs=cfg.common_ngram_refs, coverage=cfg.coverage, origins=origins)

    def __len__(self) -> int:
        """The number of reference problems."""
        return len(self._texts)

    def check(self, problem: str) -> Match | None:
        """The first overlap of `problem` with a reference problem, or None if it is clean."""
        normalized = normalize_text(problem)
        key = hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).digest()
        if key not in self._cache:
            self._cache[key] = self._ngram_match(normalized) or self._fuzzy_match(normalized)
        return self._cache[key]

    def _match(self, ref: int, method: Literal["ngram", "fuzzy"], **detail: float | str) -> Match:
        return Match(benchmark=self._names[ref], method=method, reference=self._texts[ref][:80], **detail)

    def _ngram_match(self, normalized: str) -> Match | None:
        """The reference whose n-grams the problem holds the largest share of (the first on a tie), when that
        share reaches `coverage`; with the first n-gram of the problem that it shares."""
        words = normalized.split()
        first: dict[int, str] = {}  # reference -> the first shared n-gram
        shared: Counter[int] = Counter()  # reference -> distinct n-grams shared
        sizes = (self.ngram, *sorted(self._short))
        for gram in dict.fromkeys(" ".join(words[i:i + n]) for n in sizes for i in range(len(words) - n + 1)):
            for ref in self._index.get(gram, ()):
                shared[ref] += 1
                first.setdefault(ref, gram)
        if not shared:
            return None
        ref = max(shared, key=lambda r: (shared[r] / self._sizes[r], -r))
        share = shared[ref] / self._sizes[ref]
        if share < self.coverage:
            return None
        return self._match(ref, "ngram", ngram=first[ref], score=100 * share)

    def _fuzzy_match(self, normalized: str) -> Match | None:
        if not normalized or not self._normalized:
            return None
        best = process.extractOne(normalized, self._normalized, scorer=fuzz.ratio,
                                  score_cutoff=self.fuzzy_threshold)
        if best is None:
            return None
        _, score, ref = best
        return self._match(ref, "fuzzy", score=float(score))


def _problems(name: str, release: str) -> tuple[list[str], dict[str, Any]]:
    """The problems of benchmark `name`; SourceError, one line naming the fix, when they cannot be read."""
    try:
        return benchmark_problems(name, release=release)
    except BenchmarkUnavailable as exc:
        spec = SPECS[name]
        column = spec.text or "problem"
        raise SourceError(
            f"curate.decontaminate.benchmarks: cannot read {name} ({exc}) - reach the Hub and log in (`hf auth "
            f"login` or HF_TOKEN; a gated dataset, as GPQA's, also needs its terms accepted on its Hub page), or "
            f"give a local copy of {spec.hub_id} under `curate.decontaminate.extra` ({{path: FILE, column: "
            f"{column}, name: {name}}}) and leave {name} out of `benchmarks`") from None
