"""Load a benchmark for `kit eval`: from its Hub id at a pinned commit, else (offline) from the copy bundled with
the kit, or from a local copy the recipe names. The Hub's raw rows are read as decontamination reads them
(`kit.benchmarks.hub_commit`, `hub_rows`). The rows come back as metadata rows (`kit.benchmarks`), and where they
came from is recorded (Hub id, config, split, commit, or "bundled").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.benchmarks import SPECS, Benchmark, BenchmarkUnavailable, Row, hub_commit, hub_rows
from kit.benchmarks.livecodebench import release_files
from kit.core.log import Log
from kit.core.sources import SourceError, iter_rows
from kit.recipes.eval import BenchmarkConfig


@dataclass
class LoadedBenchmark:
    spec: Benchmark
    rows: list[Row]
    # hub_id, config, split, revision, source (hub | bundled | local), path; LiveCodeBench: release, date window
    dataset: dict[str, Any]
    subset: bool = False  # `limit` left problems out (a limit at or above the benchmark's size takes them all)


def load(cfg: BenchmarkConfig, log: Log = lambda _: None) -> LoadedBenchmark:
    """The rows of one benchmark of a recipe: date window and `limit` applied, in the dataset's order.
    BenchmarkUnavailable (one line, starting with the benchmark's name) when it cannot be read."""
    try:
        return _load(cfg, log)
    except SourceError as exc:
        raise BenchmarkUnavailable(f"{cfg.name}: {exc}") from None


def _load(cfg: BenchmarkConfig, log: Log) -> LoadedBenchmark:
    spec = SPECS[cfg.name]
    hub_id = cfg.hub_id or spec.hub_id
    dataset: dict[str, Any] = {"hub_id": hub_id, "config": spec.config, "split": spec.split, "revision": None}
    if spec.files:
        dataset["release"] = cfg.release
    # the date window is part of what was scored (the card keeps windows apart)
    dataset.update({k: v for k, v in (("date_from", cfg.date_from), ("date_to", cfg.date_to)) if v})
    if cfg.path:
        raw, dataset = _local(spec, cfg, cfg.path), {**dataset, "source": "local", "path": cfg.path}
    elif cfg.source == "bundled":
        raw, dataset = iter_rows(spec.bundled or ""), {**dataset, "source": "bundled", "path": spec.bundled}
    else:
        try:
            sha = hub_commit(hub_id, cfg.revision)
            raw, dataset = hub_rows(spec, hub_id, sha, cfg.release), {**dataset, "revision": sha, "source": "hub"}
            rows, subset = _rows(spec, cfg, raw)
            return LoadedBenchmark(spec, rows, dataset, subset)
        except (BenchmarkUnavailable, SourceError) as exc:
            if cfg.source == "hub" or spec.bundled is None:
                raise BenchmarkUnavailable(f"{exc}" + (
                    "" if spec.bundled else f"; no copy is bundled with the kit - give `path:` to a local copy of "
                    f"{hub_id}")) from None
            log(f"{cfg.name}: {exc}; using the copy bundled with the kit ({spec.bundled})")
            raw, dataset = iter_rows(spec.bundled), {**dataset, "source": "bundled", "path": spec.bundled}
    rows, subset = _rows(spec, cfg, raw)
    return LoadedBenchmark(spec, rows, dataset, subset)


def _rows(spec: Benchmark, cfg: BenchmarkConfig, raw: Iterator[Row]) -> tuple[list[Row], bool]:
    """The converted rows in the date window, the first `limit` of them, and whether the limit left any problem out
    (once it is reached, the next row of the window is read to see: a problem not yet seen, or a row that does not
    convert, is one); a problem listed twice counts once. The window is applied to the rows as the benchmark ships
    them (LiveCodeBench's `contest_date`), before any is converted: a row outside it is never decoded (its private
    tests can be megabytes) and cannot fail the benchmark."""
    rows: list[Row] = []
    seen: set[str] = set()
    for n, row in enumerate(raw, start=1):
        date = str(row.get("contest_date") or "")[:10]
        if (cfg.date_from and date < cfg.date_from) or (cfg.date_to and date > cfg.date_to):
            continue
        if cfg.limit is not None and len(rows) >= cfg.limit:
            try:
                more = spec.convert(row, spec.name)["problem_id"] not in seen
            except (KeyError, ValueError):
                more = True
            if more:
                return rows, True
            continue
        try:
            converted = spec.convert(row, spec.name)
        except (KeyError, ValueError) as exc:  # a column missing, tests that do not decode
            what = f"no column {exc}" if isinstance(exc, KeyError) else str(exc)
            raise BenchmarkUnavailable(f"row {n} does not read as a row of {spec.title} ({what})") from None
        if converted["problem_id"] in seen:
            continue
        seen.add(converted["problem_id"])
        rows.append(converted)
    if not rows:
        raise BenchmarkUnavailable("no problems (check the date window and the source)")
    return rows, False


def _local(spec: Benchmark, cfg: BenchmarkConfig, path: str) -> Iterator[Row]:
    """A local copy: a file, a dataset folder, or (LiveCodeBench) a folder holding the release's JSONL files."""
    folder = Path(path)
    if spec.files and folder.is_dir():
        missing = [n for n in release_files(cfg.release) if not (folder / n).is_file()]
        if missing:
            raise BenchmarkUnavailable(f"{path}: no {missing[0]} for {cfg.release}")
        return (row for n in release_files(cfg.release) for row in iter_rows(str(folder / n)))
    return iter_rows(path, config=spec.config, split=spec.split)
