"""A model card updated with the results of `kit eval`: huggingface_hub `EvalResult`s in the front matter
(the card's `model-index`, which the Hub shows and leaderboards read) and a results table in the body.

Results already in the card are kept: a new run replaces the scores it measured again and adds the others, so
a card gathers the benchmarks of several runs. The table is rendered by `cards/eval_results.md.j2`, the snippet
the training card (kit/train/card.py) renders its evaluation section with too.

Scores are written in percent (0.5 -> 50.0), rounded to 2 decimals, with the confidence interval and the
sampling settings in the metric's `args`.

What a score measures is its identity (`_key`): a LiveCodeBench release is the result's dataset config (as
LiveCodeBench's `version_tag`); a date window (`date_from`, `date_to`) and a `--limit` that left problems out
(`limit`: the first N problems) are in the metric's `args` and named in its name and in the table. They are
per metric, not the dataset's `args`, because the model-index stores the dataset once for every result of one
(task, dataset, config, split, revision): a quick look and the full score, or two windows of one release, stay
two results there and read back as written.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from kit.hub.cards import card_environment, cell, code, problems_scored
from kit.hub.ids import hub_link

EVAL_RESULTS_TEMPLATE = "eval_results.md.j2"
SOURCE_NAME = "reasoning-hub-kit"
TASK_TYPE = "text-generation"
SECTION_TITLE = "Evaluation"

# The fields the model-index stores once per result group (task, dataset, config, split, revision) rather
# than per metric (the source too): members of a group must agree on them to read back as written.
_GROUP_FIELDS = ("task_name", "dataset_name", "dataset_args")
_HEADING = re.compile(r"#{1,2}(?:[ \t]|$)")  # a level 1 or 2 ATX heading, which ends a `## ` section
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


def _percent(value: Any) -> float | None:
    """A fraction in [0, 1] as a percentage with 2 decimals; None for a missing value."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(100 * float(value), 2)


def eval_results(results: dict[str, Any]) -> list[EvalResult]:
    """One EvalResult per benchmark and score (`pass@1`, `pass@8`, ...) of a `kit eval` results dict, in the
    order of the benchmarks and then of their scores. A score without a value is left out."""
    sampling = results.get("sampling") or {}
    details = (results.get("details") or {}).get("repo")
    # huggingface_hub refuses a source name without a URL, so both are set only with a details dataset
    source = {"source_name": SOURCE_NAME, "source_url": hub_link(details)} if details else {}
    out = []
    for key, bench in (results.get("benchmarks") or {}).items():
        dataset = bench.get("dataset") or {}
        n = bench.get("samples_per_problem")
        revision = dataset.get("revision") if dataset.get("source") == "hub" else None
        # which problems were scored: the first N (a --limit that left some out), a date window
        which = {"limit": bench.get("problems") if _subset(bench) else None,
                 "date_from": dataset.get("date_from"), "date_to": dataset.get("date_to")}
        for metric, s in (bench.get("scores") or {}).items():
            value = _percent(s.get("value"))
            if value is None:
                continue
            args = {"n": n, "temperature": sampling.get("temperature"), "top_p": sampling.get("top_p"),
                    "max_new_tokens": sampling.get("max_new_tokens"),
                    "confidence": s.get("confidence", results.get("confidence")),
                    "ci_low": _percent(s.get("ci_low")), "ci_high": _percent(s.get("ci_high")), **which}
            out.append(EvalResult(
                task_type=TASK_TYPE,
                dataset_type=dataset.get("hub_id") or key,
                dataset_name=bench.get("title") or key,
                # LiveCodeBench: its release (version_tag) is the problem set, so the config
                dataset_config=dataset.get("config") or dataset.get("release"),
                dataset_split=dataset.get("split"),
                dataset_revision=revision,
                metric_type=metric,
                metric_name=_metric_name(metric, n, which),
                metric_value=value,
                # the model-index drops None values, so they are left out here to read back the same
                metric_args={k: v for k, v in args.items() if v is not None} or None,
                **source,
            ))
    return out


def _subset(bench: dict[str, Any]) -> bool:
    """Whether a benchmark's `limit` left problems out (`subset`, written by `kit.evaluate.run`): a limit at or
    above the benchmark's size scores all of it. Results written before `subset` was recorded: whether a limit
    was set."""
    return bool(bench.get("subset", bench.get("limit")))


def _metric_name(metric: str, n: Any, which: dict[str, Any]) -> str:
    """`pass@1 (n=10)`; a run cut by `--limit` says so, `pass@1 (n=10, first 5 problems)`, and a date window too
    (`kit.hub.cards.problems_scored`, as the table names them)."""
    notes = [f"n={n}"] if n else []
    notes += problems_scored(which)
    return f"{metric} ({', '.join(notes)})" if notes else metric


_FIRST = re.compile(r"\bfirst (\d+) problems\b")


def _key(result: EvalResult) -> tuple[Any, ...]:
    """What a score measures: a newer score with the same key replaces an older one. Besides the dataset, its
    config (a LiveCodeBench release), split and metric: the problems scored (the first N, a date window), so a
    `--limit` quick look sits beside the full score. A quick look written before `limit` was in the args is
    known by its name."""
    args = result.metric_args or {}
    limit = args.get("limit")
    if limit is None and (first := _FIRST.search(result.metric_name or "")):
        limit = int(first.group(1))
    return (result.dataset_type, result.dataset_config, result.dataset_split, result.metric_type, limit,
            args.get("date_from"), args.get("date_to"))


def merge_eval_results(old: list[EvalResult], new: list[EvalResult]) -> list[EvalResult]:
    """`old` without the results `new` measures again, followed by `new`; arranged as the card will read back.

    The model-index stores results grouped by (task, dataset, config, split, revision) with the group's
    dataset name and source written once, so: a result that joins the group of a kept old one is moved next
    to it, the group takes the name of its newest member, and a group whose members come from different
    sources keeps none (no score is credited to another run's details).
    """
    replaced = {_key(r) for r in new}
    merged = [r for r in old if _key(r) not in replaced] + list(new)
    groups: dict[tuple[Any, ...], list[EvalResult]] = {}
    for r in merged:
        groups.setdefault(r.unique_identifier, []).append(r)
    return [r for members in groups.values() for r in _agree(members)]


def _agree(members: list[EvalResult]) -> list[EvalResult]:
    """The results of one model-index group with the fields the group shares made equal."""
    shared = {f: getattr(members[-1], f) for f in _GROUP_FIELDS}
    if len({(r.source_name, r.source_url) for r in members}) > 1:
        shared.update(source_name=None, source_url=None)
    return [dataclasses.replace(r, **shared) for r in members]


def render_table(results: Iterable[EvalResult]) -> str:
    """The markdown table of `results` (or "No evaluation results yet."), from `cards/eval_results.md.j2`."""
    rows = [dataclasses.asdict(r) for r in results]
    return card_environment().get_template(EVAL_RESULTS_TEMPLATE).render(eval_results=rows).strip() + "\n"


def _date(value: Any) -> str | None:
    """The day of an ISO timestamp (2026-11-22); other strings as they are."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        return cell(value)


def provenance(results: dict[str, Any]) -> str:
    """One line on the run that wrote `results`: kit version, recipe, backend, sampling, date, model revision
    and the per-sample details dataset. Only these named fields are printed, never a dump of the dicts."""
    recipe = (results.get("recipe") or {}).get("name")
    backend = results.get("backend") or {}
    sampling = results.get("sampling") or {}
    sha = (results.get("model") or {}).get("sha")
    details = (results.get("details") or {}).get("repo")

    parts = [f"Latest run: reasoning-hub-kit {cell(results.get('kit_version') or '')}".rstrip()]
    if recipe:
        parts[0] += f", recipe {code(recipe)}"
    if backend.get("name"):
        engine = " ".join(cell(v) for v in (backend["name"], backend.get("version")) if v)
        tp = backend.get("tensor_parallel_size")
        parts.append(f"backend {engine}" + (f" (tensor parallel size {cell(tp)})" if tp else ""))
    settings = [f"{k} {cell(sampling[k])}" for k in ("temperature", "top_p", "max_new_tokens")
                if sampling.get(k) is not None]
    if settings:
        parts.append("sampling " + ", ".join(settings))
    if _date(results.get("date")):
        parts.append(f"on {_date(results.get('date'))}")
    if sha:
        parts.append(f"model revision {code(sha)}")
    line = "; ".join(parts) + "."
    if details and hub_link(details):
        line += f" Per-sample details: [{code(details)}]({hub_link(details)})."
    return line


def render_section(merged: list[EvalResult], results: dict[str, Any]) -> str:
    """The `## Evaluation` section: the table of all results in the card and the latest run's provenance."""
    return f"## {SECTION_TITLE}\n\n{render_table(merged)}\n{provenance(results)}\n"


def _headings(body: str) -> list[tuple[int, str]]:
    """(offset, title) of the level 1 and 2 headings of a markdown body, skipping fenced code blocks."""
    found, fence, offset = [], "", 0
    for line in body.splitlines(keepends=True):
        stripped = line.strip()
        if fence:  # inside a code block until a fence as long, of the same character
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = ""
        elif opening := _FENCE.match(line):
            fence = opening.group(1)
        elif _HEADING.match(line):
            found.append((offset, stripped))
        offset += len(line)
    return found


def replace_section(body: str, section: str) -> str:
    """`body` with its `## Evaluation` section (heading to the next level 1 or 2 heading, or the end) replaced
    by `section`; without one, `section` goes before `## Usage`, else at the end. The rest stays as it is."""
    nl = "\r\n" if "\r\n" in body else "\n"  # keep a Windows card's line endings
    section = section.replace("\n", nl)
    heads = _headings(body)
    titles = [title for _, title in heads]
    if f"## {SECTION_TITLE}" in titles:
        i = titles.index(f"## {SECTION_TITLE}")
        end = heads[i + 1][0] if i + 1 < len(heads) else len(body)
        return body[:heads[i][0]] + section + (nl if end < len(body) else "") + body[end:]
    if "## Usage" in titles:
        start = heads[titles.index("## Usage")][0]
        return body[:start] + section + nl + body[start:]
    if not body.strip():
        return section
    gap = "" if body.endswith(nl * 2) else nl if body.endswith(nl) else nl * 2
    return body + gap + section


def update_model_card(text: str | None, results: dict[str, Any], model_name: str) -> str:
    """The README.md `text` of a model with the results of a `kit eval` run (None: the model has no card yet).

    The front matter keeps its metadata and gets the merged eval results (`model-index`, named `model_name`
    unless the card names its model already); the body gets the `## Evaluation` section. A card whose
    model-index huggingface_hub cannot read raises its ValueError.
    """
    card = ModelCard(text) if text is not None and text.strip() else None
    data = card.data if card is not None else ModelCardData()
    merged = merge_eval_results(list(data.eval_results or []), eval_results(results))
    if merged:  # huggingface_hub writes the model-index only with a model name
        data.eval_results = merged
        data.model_name = data.model_name or model_name
    section = render_section(merged, results)
    if card is None:
        return f"---\n{data.to_yaml()}\n---\n\n# {model_name}\n\n{section}"
    card.text = replace_section(card.text, section)
    return card.content
