"""The benchmarks the kit knows, one module per benchmark family: where each benchmark lives on the Hub, its
bundled copy (if any), how its rows become metadata rows (problem_id, problem, domain, source,
ground_truth_solution, ground_truth_answer, test_cases, starter_code) and how a sample is scored (`kind`).

    common          `Benchmark` (the spec), `Row`, `metadata_row`
    math            aime24, aime25, amc23, math500, gsm8k, olympiadbench (Math-Verify on the last box)
    gpqa            gpqa_diamond (the letter of the chosen answer)
    livecodebench   livecodebench (its tests in the sandbox; the release's files, the tests' decoding)
    humaneval       humaneval (its `check` tests in the sandbox)

Each family module declares its `SPECS`; this package gathers them in `SPECS` (name -> Benchmark), reads the
bundled copies, and reads a benchmark's raw rows from the Hub pinned to a commit (`hub_commit`, `hub_rows`: the
dataset's config and split, or LiveCodeBench's release files), for evaluation and decontamination alike.
Decontamination (`benchmark_problems`) reads a bundled benchmark from its bundled copy, offline, and any other
from the Hub; evaluation (`kit.evaluate.data`) loads a benchmark from its Hub id and falls back to the bundled copy
offline. A converter takes a row as the Hub dataset has it - the bundled files keep the columns of their Hub
sources - so both paths give the same rows.

May import: `kit.core` only.

A benchmark is data and conversion: recipes, verifiers, evaluation and curation import it, never the reverse.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from kit.benchmarks import gpqa, humaneval, livecodebench, math
from kit.benchmarks.common import KINDS, Benchmark, Row, metadata_row
from kit.benchmarks.livecodebench import release_files
from kit.core.sources import SourceError, iter_rows, unreachable

__all__ = ["BENCHMARKS", "FAMILIES", "KINDS", "SPECS", "Benchmark", "BenchmarkUnavailable", "Row",
           "benchmark_problems", "hub_commit", "hub_rows", "load_benchmark", "metadata_row"]

FAMILIES = (math, gpqa, livecodebench, humaneval)  # in the order of SPECS
SPECS: dict[str, Benchmark] = {spec.name: spec for family in FAMILIES for spec in family.SPECS}
BENCHMARKS = tuple(name for name, spec in SPECS.items() if spec.bundled)  # the bundled ones


class BenchmarkUnavailable(SourceError):
    """A benchmark that could not be loaded from anywhere the caller allows; the message says what to do."""


def load_benchmark(name: str) -> list[Row]:
    """The rows of the bundled benchmark `name` (see the module doc). Each call returns fresh dicts."""
    return [dict(row) for row in _load(name)]


def benchmark_problems(name: str, *, release: str = "release_latest") -> tuple[list[str], dict[str, Any]]:
    """The problems of benchmark `name` as decontamination compares them, and where they were read from. Each
    problem's own text: the column `Benchmark.text` names, as open-r1's scripts/decontaminate.py reads GPQA's
    `Question` and LiveCodeBench's `question_content`; else the converted problem. A bundled benchmark is read from
    its bundled copy (offline); any other from its Hub id at the commit `main` resolves to (LiveCodeBench: the files
    of `release`). Where from: `{"hub_id", "source": "bundled", "path"}` or `{"hub_id", "source": "hub",
    "revision"}` (and `release` for LiveCodeBench), as `kit eval` records a benchmark's rows.
    BenchmarkUnavailable (one line) when it cannot be read; ValueError for a name the kit does not know."""
    spec = SPECS.get(name)
    if spec is None:
        raise ValueError(f"unknown benchmark {name!r} (known: {', '.join(SPECS)})")
    if spec.bundled:
        return list(_bundled_problems(name)), {"hub_id": spec.hub_id, "source": "bundled", "path": spec.bundled}
    try:
        sha = hub_commit(spec.hub_id)
        raw = hub_rows(spec, spec.hub_id, sha, release)
        problems = [_own_text(spec, row, n) for n, row in enumerate(raw, start=1)]
    except BenchmarkUnavailable:
        raise
    except SourceError as exc:  # the Hub dataset did not stream: say why in the Hub's words, not as a folder
        cause = exc.__context__  # what `iter_rows` turned into its SourceError (raised `from None`)
        if cause is None or not unreachable(cause):
            raise BenchmarkUnavailable(str(exc)) from None
        first = (str(cause).strip().splitlines() or [""])[0][:160]
        raise BenchmarkUnavailable(f"{spec.hub_id} could not be read from the Hub ({type(cause).__name__}: "
                                   f"{first})") from None
    if not problems:
        raise BenchmarkUnavailable(f"{spec.hub_id} has no problems")
    origin = {"hub_id": spec.hub_id, "source": "hub", "revision": sha}
    return problems, {**origin, "release": release} if spec.files else origin


def hub_commit(hub_id: str, revision: str | None = None) -> str:
    """The commit `revision` of a Hub dataset resolves to (main by default). BenchmarkUnavailable (one line,
    naming the fix) when the Hub cannot be reached, or does not show the dataset or the revision."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        return HfApi().dataset_info(hub_id, revision=revision).sha or ""
    except GatedRepoError:
        raise BenchmarkUnavailable(f"{hub_id} is gated: accept its terms on the Hub and log in (HF_TOKEN or "
                                   "`hf auth login`)") from None
    except RevisionNotFoundError:
        raise BenchmarkUnavailable(f"{hub_id} has no revision {revision!r}") from None
    except RepositoryNotFoundError:
        raise BenchmarkUnavailable(f"{hub_id} was not found on the Hub") from None
    except Exception as exc:  # noqa: BLE001 - offline, unreachable, refused: all mean "not from the Hub now"
        raise BenchmarkUnavailable(f"the Hub could not be reached for {hub_id} ({type(exc).__name__})") from None


def hub_rows(spec: Benchmark, hub_id: str, sha: str, release: str) -> Iterator[Row]:
    """The raw rows of benchmark `spec` in Hub repo `hub_id` at commit `sha`, as the dataset has them: its config
    and split, streamed, or (`spec.files`, LiveCodeBench) the JSON Lines files of `release`, downloaded first
    (BenchmarkUnavailable, one line, when one cannot be)."""
    if not spec.files:
        return iter_rows(hub_id, config=spec.config, split=spec.split, revision=sha)
    from huggingface_hub import hf_hub_download

    files = []
    for name in release_files(release):
        try:
            files.append(hf_hub_download(hub_id, name, repo_type="dataset", revision=sha))
        except Exception as exc:  # noqa: BLE001 - one line, whatever the transport said
            raise BenchmarkUnavailable(f"cannot download {name} of {hub_id} ({type(exc).__name__})") from None
    return (row for file in files for row in iter_rows(file))


def _own_text(spec: Benchmark, raw: Row, n: int) -> str:
    """The problem's own text of raw row `n` of `spec` (see `benchmark_problems`)."""
    try:
        text = raw[spec.text] if spec.text else spec.convert(raw, spec.name)["problem"]
    except (KeyError, ValueError) as exc:
        what = f"no column {exc}" if isinstance(exc, KeyError) else str(exc)
        raise BenchmarkUnavailable(f"row {n} does not read as a row of {spec.title} ({what})") from None
    return text if isinstance(text, str) else ""


@cache
def _bundled_problems(name: str) -> tuple[str, ...]:
    spec = SPECS[name]
    if spec.text is None:
        return tuple(row["problem"] for row in _load(name))
    return tuple(_own_text(spec, raw, n) for n, raw in enumerate(iter_rows(spec.bundled or ""), start=1))


@cache
def _load(name: str) -> tuple[Row, ...]:
    spec = SPECS.get(name)
    if spec is None or spec.bundled is None:
        raise ValueError(f"unknown benchmark {name!r} (bundled: {', '.join(BENCHMARKS)})")
    return tuple(spec.convert(row, name) for row in iter_rows(spec.bundled))
