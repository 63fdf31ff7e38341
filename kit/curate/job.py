"""The curate job: from a data recipe to a Hub-layout dataset folder.

    load -> validate -> dedup -> decontaminate -> [generate -> reformat] -> verify -> rejection sampling -> write

With a generating teacher (openai, transformers, vllm) the first stages filter problems, so no teacher
call is spent on a duplicate or a benchmark problem; then the distilabel pipeline (`kit.generation.pipeline`)
generates, optionally reformats, and verifies (with the LLM judge when the recipe has one). It keeps what
the models answered in stores next to the output folder, so an interrupted run resumes where it stopped.
With the `dataset` teacher the rows already carry their traces and are verified here; traces that come as
raw replies or chats are split on loading by the splitter of generated replies (`kit.generation.teachers.DatasetTeacher`),
and the unusable ones are rejected at the `generate` stage, after the problem filters, as generated ones are.

Rows stream through every stage. Verified rows are spilled to a temporary JSONL file, because rejection
sampling needs each problem's pass rate before it can keep or drop that problem's samples; only small
per-problem counters are held in memory. Every rejected row is recorded in `stats.json` with its stage
and reason. The folder appears only when the job succeeds (see `DatasetRepoWriter`).
"""

from __future__ import annotations

import json
import statistics
import tempfile
from array import array
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kit
from kit.core.chat import default_row
from kit.core.log import Log, Progress
from kit.core.schema import DOMAINS, METADATA_FEATURES, TEXT_COLUMNS, as_text, kit_domain, problem_id
from kit.core.sources import ChatError, SourceError, chat_problem, iter_rows
from kit.core.testcases import mapped_test_columns, stored_test_cases
from kit.curate.card import render_dataset_card
from kit.curate.decontaminate import Decontaminator
from kit.curate.dedup import DUPLICATE_PROBLEM, Deduplicator
from kit.generation.teachers import TRACE, DatasetTeacher, make_teacher
from kit.hub.repo import DatasetRepoWriter
from kit.recipes import DataRecipe, SourceConfig, dump_recipe, load_data_recipe
from kit.verify.code import undecidable
from kit.verify.registry import RowVerifier

STAGES = ("load", "validate", "dedup", "decontaminate", "generate", "reformat", "verify", "rejection_sampling")
REQUIRED_COLUMNS = ("problem", "reasoning", "solution")
PROBLEM_COLUMNS = ("problem",)  # what a generating teacher needs
GENERATED_COLUMNS = ("teacher", "reasoning", "solution", "generation")  # what it writes
DROPPED_SAMPLE_FIELDS = ("reject", "reject_stage", "reject_detail", "error", "needs_judge", "seed", "order")


class CurateError(ValueError):
    """The job cannot run (bad input or output); the message is one line."""


@dataclass
class _Stats:
    stage_in: Counter[str] = field(default_factory=Counter)
    stage_out: Counter[str] = field(default_factory=Counter)
    rejections: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)
    by_domain: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_source: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    decontamination: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    decontamination_sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # benchmark -> where read
    teachers: Counter[str] = field(default_factory=Counter)
    verifiers: Counter[str] = field(default_factory=Counter)
    reasoning_words: array = field(default_factory=lambda: array("L"))
    solution_words: array = field(default_factory=lambda: array("L"))
    raw_traces: bool = False  # the dataset teacher split raw replies or chats: its `generate` stage is reported

    def reject(self, row: dict[str, Any], stage: str, reason: str, detail: str = "") -> None:
        self.rejections[stage][reason] += 1
        where = {"sample_index": row["sample_index"]} if "sample_index" in row else {}
        self.rejected_rows.append({"row": row["_row"], **where, "source": row.get("source"),
                                   "problem_id": row.get("problem_id"), "stage": stage, "reason": reason,
                                   "detail": detail[:300]})

    def keep(self, row: dict[str, Any]) -> None:
        self.by_domain[row["domain"]]["kept"] += 1
        self.by_source[row["source"]]["kept"] += 1
        self.teachers[row["teacher"]] += 1
        self.verifiers[row["verifier"]] += 1
        self.reasoning_words.append(len((row.get("reasoning") or "").split()))
        self.solution_words.append(len((row.get("solution") or "").split()))

    def as_dict(self, stages: list[str]) -> dict[str, Any]:
        kept = self.stage_out["rejection_sampling"]
        return {
            "total_rows": self.stage_in["load"],
            "kept": kept,
            "stages": [{"stage": s, "in": self.stage_in[s], "out": self.stage_out[s]} for s in stages],
            "rejections": {stage: dict(c) for stage, c in self.rejections.items()},
            "rejected_rows": sorted(self.rejected_rows, key=lambda r: (r["row"], r.get("sample_index", 0))),
            "by_domain": {k: {"in": v["in"], "kept": v["kept"]} for k, v in sorted(self.by_domain.items())},
            "by_source": {k: {"in": v["in"], "kept": v["kept"]} for k, v in sorted(self.by_source.items())},
            "decontamination": {k: dict(v) for k, v in self.decontamination.items()},
            "decontamination_sources": self.decontamination_sources,
            "tokens": {"unit": "whitespace-separated words",
                       "reasoning": _summary(self.reasoning_words), "solution": _summary(self.solution_words)},
            "teachers": dict(self.teachers),
            "verifiers": dict(self.verifiers),
            "kit_version": kit.__version__,
        }


def _summary(values: array) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {"mean": round(statistics.fmean(ordered), 1), "median": statistics.median(ordered),
            "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], "max": ordered[-1],
            "total": sum(ordered)}


@dataclass
class CurateResult:
    out_dir: Path
    stats: dict[str, Any]


def _load(recipe: DataRecipe, stats: _Stats, required: tuple[str, ...],
          teacher: DatasetTeacher | None = None) -> Iterator[dict[str, Any]]:
    """Rows of every source in the metadata contract; for a generating teacher, only their problem columns.
    With the dataset `teacher`, each row's traces are read first (`DatasetTeacher.read`): a row whose reply
    column holds a list of replies goes on as one row per reply (`load` counts the rows in and those out)."""
    columns = [k for k in METADATA_FEATURES if required == REQUIRED_COLUMNS or k not in GENERATED_COLUMNS]
    index = 0
    for source in recipe.sources:
        name = source.name or Path(source.path.removeprefix("kit:")).stem
        rows = iter_rows(source.path, config=source.config, split=source.split, columns=source.columns,
                         where=source.where, limit=source.limit)
        for position, row in enumerate(rows):
            if isinstance(row.get("problem"), list | tuple):
                row = _chat_problem(row)
            traces = [row] if teacher is None else teacher.read(
                row, recipe.format.instructions.get(kit_domain(source.domain or row.get("domain")) or ""))
            if position == 0:
                missing = [c for c in required if c not in traces[0]]
                if missing:
                    raw = (", or the raw trace: {reply: your_column} or a chat column {messages: your_column}"
                           if teacher is not None and missing[0] in ("reasoning", "solution") else "")
                    raise CurateError(f"source {source.path}: missing column {missing[0]!r} "
                                      f"(map it with sources[].columns, e.g. {{{missing[0]}: your_column}}{raw})")
            stats.stage_in["load"] += 1
            for traced in traces:
                stats.stage_out["load"] += 1
                yield _contract_row(traced, columns, index, name, source, stats)
            index += 1


def _contract_row(row: dict[str, Any], columns: list[str], index: int, name: str, source: SourceConfig,
                  stats: _Stats) -> dict[str, Any]:
    """One loaded row of `source` in the metadata contract, with its input row's index (`_row`), the position of its
    trace in the row's list of replies (`sample_index`) and what the dataset teacher found of a raw trace (`_trace`)."""
    trace, test_columns = row.get(TRACE), mapped_test_columns(row, source.columns, source.grader)
    out = {k: row.get(k) for k in columns if k in row} | {"_row": index}
    for column in TEXT_COLUMNS:  # numbers and lists (an int answer, a list of answers) as the contract's text
        if column in out and column != "test_cases":
            out[column] = as_text(out[column])
    if "test_cases" in out:  # a dataset's own test form (checker, entry point, prelude, time limit) -> the contract's
        out["test_cases"] = stored_test_cases(out["test_cases"], **test_columns)
    if "sample_index" in row:
        out["sample_index"] = row["sample_index"]
    if trace is not None:
        out[TRACE] = trace
        stats.raw_traces = True
    out["source"] = out.get("source") or name
    out["domain"] = kit_domain(source.domain or out.get("domain"))  # biology -> science, MATH -> math
    return out


def _chat_problem(row: dict[str, Any]) -> dict[str, Any]:
    """A row whose problem is a chat (verl's `prompt`): its user turn is the problem and its system turn, unless
    the row maps its own, the row's system prompt (which the `dataset` teacher keeps; a generating teacher asks
    with the recipe's). An unreadable chat leaves no problem (`missing_field`)."""
    try:
        problem, system = chat_problem(row["problem"])
    except ChatError:
        return {**row, "problem": None}
    return {**row, "problem": problem, "system_prompt": row.get("system_prompt") or system}


def _validate(row: dict[str, Any], required: tuple[str, ...]) -> tuple[str, str] | None:
    """(reason, detail) when a row cannot be curated, else None. A raw trace is judged later, at `generate`."""
    trace = row.get(TRACE)
    if trace is not None:
        if trace.get("invalid"):
            return trace["reason"], trace["invalid"]
        required = PROBLEM_COLUMNS
    for column in required:
        if not isinstance(row.get(column), str) or not row[column].strip():
            return "missing_field", f"{column} is empty"
    if row.get("domain") not in DOMAINS:
        return "unknown_domain", (f"domain {row.get('domain')!r} is not one of {', '.join(DOMAINS)} "
                                  "(set the source's `domain:`)")
    if row["domain"] == "code":  # tests no program passes (or none parse): nothing to generate
        return undecidable(row)
    return None


def _filtered(rows: Iterator[dict[str, Any]], recipe: DataRecipe, stats: _Stats,
              decontaminator: Decontaminator | None, required: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    dedup = Deduplicator(one_source=recipe.teacher.backend != "dataset") if recipe.curate.dedup else None
    for row in rows:
        stats.by_domain[str(row.get("domain"))]["in"] += 1
        stats.by_source[str(row["source"])]["in"] += 1
        stats.stage_in["validate"] += 1
        problem = _validate(row, required)
        if problem:
            stats.reject(row, "validate", *problem)
            continue
        stats.stage_out["validate"] += 1
        stats.stage_in["dedup"] += 1
        reason = dedup.check(row) if dedup else None
        if reason:
            stats.reject(row, "dedup", reason)
            continue
        stats.stage_out["dedup"] += 1
        stats.stage_in["decontaminate"] += 1
        match = decontaminator.check(row["problem"]) if decontaminator else None
        if match:
            stats.decontamination[match.benchmark][match.method] += 1
            stats.reject(row, "decontaminate", "contaminated", str(match))
            continue
        stats.stage_out["decontaminate"] += 1
        yield row


def run_curate(recipe: DataRecipe, out_dir: str | Path | None = None, progress: Progress | None = None,
               push: str | None = None, private: bool = False, log: Log = print) -> CurateResult:
    """Run a data recipe end to end and write the dataset folder; returns where and the statistics.

    `push` (a Hub dataset repo id) checkpoints generated samples to the repo while a teacher generates; the
    finished folder itself is published by the caller (`kit curate --push`).
    """
    out = Path(out_dir or recipe.output.dir)
    recipe = recipe.model_copy(update={"output": recipe.output.model_copy(update={"dir": str(out)})})
    progress = progress or (lambda stage, n, total=None, note="": None)
    stats = _Stats()
    decontaminator = Decontaminator.from_config(recipe.curate.decontaminate) if recipe.curate.decontaminate.enabled else None
    if decontaminator:
        stats.decontamination_sources = decontaminator.origins
    generated = recipe.teacher.backend != "dataset"
    required = PROBLEM_COLUMNS if generated else REQUIRED_COLUMNS
    reached: Counter[tuple[str, str]] = Counter()  # samples verified, by (problem, source)
    passed: Counter[tuple[str, str]] = Counter()
    pipeline_yaml = None
    out.parent.mkdir(parents=True, exist_ok=True)
    try:  # the writer refuses an existing output first, before any work is done
        with DatasetRepoWriter(out, shard_rows=recipe.output.shard_rows, overwrite=recipe.output.overwrite) as writer, \
                tempfile.TemporaryDirectory(prefix=".kit-curate-", dir=out.parent) as tmp:
            teacher = None if generated else make_teacher(recipe.teacher)
            rows = _filtered(_load(recipe, stats, required, teacher), recipe, stats, decontaminator, required)
            if generated:
                checked, pipeline_yaml = _generated(recipe, out, rows, stats, push, private, log, progress)
            else:
                checked = _verified(recipe, _replayed(teacher.samples(rows), stats), progress)
            spill = Path(tmp) / "verified.jsonl"
            with spill.open("w", encoding="utf-8") as spill_file:
                for row in checked:
                    stats.stage_in["verify"] += 1
                    reached[_problem_source(row)] += 1
                    if not row["verified"]:
                        verdict = json.loads(row["verification"])
                        stats.reject(row, "verify", verdict.get("reason") or "failed",
                                     verdict.get("error") or _first_failure(verdict))
                        continue
                    stats.stage_out["verify"] += 1
                    passed[_problem_source(row)] += 1
                    spill_file.write(json.dumps(row, ensure_ascii=False) + "\n")
            result_stats = _write(recipe, writer, spill, reached, passed, stats, generated, progress, pipeline_yaml)
    except SourceError as exc:
        raise CurateError(str(exc)) from None
    return CurateResult(out, result_stats)


def _verified(recipe: DataRecipe, samples: Iterator[dict[str, Any]], progress: Progress) -> Iterator[dict[str, Any]]:
    """Rows whose traces came with them, verified (verified, verifier, verification filled in), in order."""
    with RowVerifier(recipe.verify) as verifier:
        candidates = _counted(samples, progress)
        pending: deque[dict[str, Any]] = deque()

        def rows_for_verifier() -> Iterator[dict[str, Any]]:
            for row in candidates:
                pending.append(row)
                yield row

        for verdict in verifier.verify(rows_for_verifier(), on_result=lambda n: progress("verify", n)):
            row = pending.popleft()
            yield {**row, "verified": verdict.passed, "verifier": verdict.verifier, "verification": verdict.to_json()}


def _replayed(samples: Iterator[dict[str, Any]], stats: _Stats) -> Iterator[dict[str, Any]]:
    """The dataset teacher's samples through the `generate` stage: a raw trace `split_reply` found unusable
    is rejected there with its reason (counted for every sample; reported when a source had raw traces)."""
    for sample in samples:
        stats.stage_in["generate"] += 1
        reason = sample.pop("reject", None)
        detail = sample.pop("reject_detail", None)
        if reason:
            stats.reject(sample, "generate", reason, detail or "")
            continue
        stats.stage_out["generate"] += 1
        yield sample


def store_dir(recipe: DataRecipe, out: Path) -> Path:
    """Where the finished samples of a generating recipe are kept: `teacher.store`, else `<output>.samples`."""
    return Path(recipe.teacher.store) if recipe.teacher.store else out.with_name(out.name + ".samples")


def _generated(recipe: DataRecipe, out: Path, problems: Iterator[dict[str, Any]], stats: _Stats, push: str | None,
               private: bool, log: Callable[[str], None], progress: Progress) -> tuple[list[dict[str, Any]], str]:
    """Generate (and reformat, verify, judge) the samples of the filtered problems through the pipeline;
    the samples rejected before verification are counted at their stage (generate or reformat)."""
    from kit.generation.pipeline import GenerationError, generate
    from kit.generation.store import StoreMismatchError

    problems = [{**row, "problem_id": row.get("problem_id") or problem_id(row["problem"])} for row in problems]
    try:
        result = generate(recipe, problems, store_dir(recipe, out), push=push, private=private, log=log,
                          progress=progress)
    except (GenerationError, StoreMismatchError) as exc:
        raise CurateError(str(exc)) from None
    stages = ["generate", "reformat"] if recipe.reformat else ["generate"]
    checked = []
    for sample in result.samples:
        for stage in stages:
            stats.stage_in[stage] += 1
            if sample.get("reject_stage") == stage:
                stats.reject(sample, stage, sample["reject"], sample.get("reject_detail") or "")
                break
            stats.stage_out[stage] += 1
        else:
            checked.append({k: v for k, v in sample.items() if k not in DROPPED_SAMPLE_FIELDS})
    return checked, result.pipeline_yaml


def _counted(rows: Iterator[dict[str, Any]], progress: Progress) -> Iterator[dict[str, Any]]:
    for n, row in enumerate(rows, 1):
        progress("filter", n)
        yield row


def _first_failure(detail: dict[str, Any]) -> str:
    failures = detail.get("failures") or []
    if failures:
        first = failures[0]
        return f"test {first['test']}: {first['reason']}: {first.get('detail', '')}"
    if "predicted" in detail:
        return f"expected {detail.get('gold')!r}, got {detail.get('predicted')!r}"
    return ""


def _problem_source(row: dict[str, Any]) -> tuple[str, str]:
    return row["problem_id"], str(row.get("source") or "")


def _write(recipe: DataRecipe, writer: DatasetRepoWriter, spill: Path, reached: Counter[tuple[str, str]],
           passed: Counter[tuple[str, str]], stats: _Stats, generated: bool, progress: Progress,
           pipeline_yaml: str | None) -> dict[str, Any]:
    """Rejection sampling over the spilled verified rows, then format and write the kept ones.

    With `dedup`, a problem's samples come from one source: the first whose sample verified (the dedup stage
    leaves traces that came with the data to this point, see kit.curate.dedup); another source's samples of
    it are a `duplicate_problem`, and the pass rate is its source's."""
    band = recipe.curate.pass_rate
    cap = recipe.curate.max_per_problem
    kept_per_problem: Counter[str] = Counter()
    owner: dict[str, str] = {}  # problem -> the source its samples are kept from
    with spill.open(encoding="utf-8") as rows:
        for n, line in enumerate(rows, 1):
            row = json.loads(line)
            pid, source = key = _problem_source(row)
            stats.stage_in["rejection_sampling"] += 1
            if recipe.curate.dedup and owner.setdefault(pid, source) != source:
                stats.reject(row, "rejection_sampling", DUPLICATE_PROBLEM,
                             f"its problem's samples are kept from source {owner[pid]!r}")
                continue
            rate = passed[key] / reached[key]
            if band and reached[key] >= 2 and not band[0] <= rate <= band[1]:
                stats.reject(row, "rejection_sampling", "pass_rate",
                             f"pass rate {passed[key]}/{reached[key]} outside [{band[0]}, {band[1]}]")
                continue
            if cap is not None and kept_per_problem[pid] >= cap:
                stats.reject(row, "rejection_sampling", "max_per_problem", f"already {cap} samples kept")
                continue
            kept_per_problem[pid] += 1
            stats.stage_out["rejection_sampling"] += 1
            stats.keep(row)
            metadata = {k: row.get(k) for k in METADATA_FEATURES}
            writer.add(metadata, default_row(metadata, recipe.format, system_prompt=row.get("system_prompt")))
            progress("write", n)
    stages = [s for s in STAGES if (s != "generate" or generated or stats.raw_traces)
              and (s != "reformat" or recipe.reformat)]
    result = stats.as_dict(stages)
    writer.finalize(render_dataset_card(recipe, result), dump_recipe(recipe), result, pipeline_yaml=pipeline_yaml)
    return result


def build_folder(recipe_file: Path, folder: Path, log: Log = print) -> CurateResult:
    """Write `folder` anew from the data recipe `recipe_file` (how `kit release` builds a dataset artifact)."""
    return run_curate(load_data_recipe(recipe_file, ["output.overwrite=true"]), folder, log=log)
