"""The training mixture: Hub dataset repos or local folders made by `kit curate`, each weighted.

A chat dataset's `default` config is used as it is (`messages`), and a chat column in another form is turned into
OpenAI turns (`_chats`: ShareGPT `from`/`value`, as `columns: {messages: conversations, system_prompt: system}` maps
Sky-T1's or OpenThoughts' chat and system prompt; an assistant turn's separate `reasoning_content` inside
`<think>`); a `text` entry is plain text for mid-training. Every entry keeps only its training column, so datasets
with different extra columns mix. An entry's `where:` keeps the rows whose column has a value
(`kit.core.sources.row_filter`, as `kit curate`).

A `problem` entry (GRPO) reads problems with their references - a kit `metadata` config, or any dataset whose columns
`columns:` maps to the metadata names (a nested field by its path, `reward_model.ground_truth`; a problem given as a
chat, as verl's `prompt` column, by its user turn; tests in the dataset's own form, with a `checker`, `entry_point`,
`prelude`, `time_limit` or file column (`kit.core.testcases.TEST_COLUMNS`) put into them) with `domain:` for every row
(default: each row's own), or a dataset preset, which the recipe expands (`kit.recipes.presets`) - into a `prompt` (the chat turns, built by the kit's one prompt builder,
`kit.core.chat.prompt_messages`, as `kit curate` asked the teacher and `kit eval` asks the model) and the reward
columns (`REWARD_COLUMNS`), which TRL hands to every reward function. When the run's rewards read the verifiers'
verdicts, a problem no answer can pass (`kit.verify.registry.undecidable`) is left out, by reason in its record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kit.core.chat import THINK_OPEN, THINK_TEMPLATE, Format, prompt_messages
from kit.core.log import Log
from kit.core.schema import as_text, kit_domain, problem_id
from kit.core.sources import (
    MISSING,
    ChatError,
    chat_problem,
    chat_turns,
    column_value,
    mapped_value,
    not_found,
    row_filter,
)
from kit.core.testcases import mapped_test_columns, stored_test_cases
from kit.hub.ids import is_repo_id
from kit.recipes import RecipeError
from kit.recipes.train import DataConfig, DatasetEntry

# What a GRPO reward reads of a problem row besides its prompt (None where the dataset has no such column).
REWARD_COLUMNS = ("problem_id", "problem", "domain", "ground_truth_answer", "ground_truth_solution", "test_cases",
                  "starter_code", "verifier")
UNDECIDABLE = ("undecidable", "undecidable_detail")  # why no answer can pass a problem (`_problems`, `_decidable`)


def load_mixture(data: DataConfig, log: Log = print, prompt: Format | None = None,
                 decidable: bool = False) -> tuple[Any, list[dict[str, Any]]]:
    """The mixed `datasets.Dataset` and one record per entry (path, hub, config, split, revision, weight, rows, and
    `undecidable`: the problems left out, by reason); `prompt` renders the prompts of `problem` entries. With
    `decidable` (a GRPO run whose rewards read the verifiers' verdicts) a problem no solution can pass is left out
    (`kit.verify.registry.undecidable`: no gold answer or tests, tests that do not parse, an interactive problem, a
    domain no verifier decides): every completion of it would score 0, so its group would teach nothing."""
    from datasets import concatenate_datasets

    columns = {entry.column for entry in data.mixture}
    if len(columns) > 1:
        raise RecipeError("data.mixture: mix either chat datasets (column: messages) or text ones, not both")
    parts, records = [], []
    for entry in data.mixture:
        dataset, hub, revision = _load(entry)
        if entry.where:
            dataset = _filtered(dataset, entry)
        nested = {k: v for k, v in entry.columns.items()
                  if isinstance(v, list) or v not in dataset.column_names and "." in v}
        if missing := [v for k, v in entry.columns.items() if v not in dataset.column_names and k not in nested]:
            raise RecipeError(f"data.mixture: {entry.path} (config {entry.config!r}) has no column {missing[0]!r}; "
                              f"it has {', '.join(dataset.column_names)}")
        dataset = dataset.rename_columns({v: k for k, v in entry.columns.items() if v != k and k not in nested})
        if nested:
            dataset = _nested(dataset, nested, entry)
        if entry.column not in dataset.column_names:
            raise RecipeError(f"data.mixture: {entry.path} (config {entry.config!r}) has no column {entry.column!r}; "
                              f"it has {', '.join(dataset.column_names)}")
        left_out: dict[str, int] = {}
        if entry.column == "problem":
            dataset = _problems(dataset, entry, prompt, decidable)
            if decidable:
                dataset, left_out = _decidable(dataset, entry, log)
        elif entry.column == "messages":
            dataset = _chats(dataset, entry)
        dataset = _weighted(dataset.select_columns(_kept(entry)), entry.weight, data.seed)
        parts.append(dataset)
        records.append({"path": entry.path, "hub": hub, "config": entry.config, "split": entry.split,
                        "revision": revision, "weight": entry.weight, "rows": len(dataset), "column": entry.column}
                       | ({"where": dict(entry.where)} if entry.where else {})
                       | ({"undecidable": left_out} if left_out else {}))
        log(f"data: {entry.path} [{entry.config}/{entry.split}] x{entry.weight:g} -> {len(dataset)} rows")
    mixed = concatenate_datasets(parts) if len(parts) > 1 else parts[0]
    if data.shuffle:
        mixed = mixed.shuffle(seed=data.seed).flatten_indices()
    if not len(mixed):
        raise RecipeError("data.mixture: no rows to train on")
    return mixed, records


def _load(entry: DatasetEntry) -> tuple[Any, bool, str | None]:
    """(dataset, is a Hub repo, the commit read) for one entry."""
    from datasets import load_dataset

    folder = Path(entry.path).expanduser()
    try:
        if folder.is_dir():
            files = _config_files(folder, entry.config, entry.split)
            if files:
                return load_dataset("parquet", data_files=files, split="train"), False, None
            # No `configs:` in a card: datasets infers the files, and its cache key then covers their resolved
            # paths and modification times (as with data_files= above), so no stale rows are served.
            return load_dataset(str(folder), entry.config, split=entry.split), False, None
        if not is_repo_id(entry.path):
            raise RecipeError(f"data.mixture: {not_found(entry.path, 'dataset')}")
        from huggingface_hub import HfApi

        try:
            revision = HfApi().dataset_info(entry.path, revision=entry.revision).sha
        except Exception as exc:  # offline, unknown or private: name the folder it may have meant too
            raise RecipeError(f"data.mixture: {not_found(entry.path, 'dataset', exc)}") from None
        return load_dataset(entry.path, entry.config, split=entry.split, revision=revision), True, revision
    except RecipeError:
        raise
    except Exception as exc:  # datasets and the Hub raise many kinds
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RecipeError(f"data.mixture: {entry.path} (config {entry.config!r}, split {entry.split!r}): cannot load "
                          f"({type(exc).__name__}: {first})") from None


def _config_files(folder: Path, config: str, split: str) -> list[str]:
    """The data files of a folder's config, from its card's `configs:`; [] for a folder whose card declares none.

    `load_dataset(folder, config)` would key its cache on the folder's base name and the `configs:` patterns
    only (datasets 5.2; see kit.hub.repo); `load_dataset("parquet", data_files=files)` keys it on the files'
    absolute paths and modification times, so another folder of the same name or a rewritten one is never
    served from the datasets cache, whoever wrote it (a kit folder's shard names also carry a content hash)."""
    from kit.hub.cards import CardError, front_matter

    card = folder / "README.md"
    try:
        configs = front_matter(card.read_text(encoding="utf-8")).get("configs") or []
    except (OSError, CardError):
        return []
    for item in configs:
        if isinstance(item, dict) and item.get("config_name") == config:
            specs = item.get("data_files") or []
            if isinstance(specs, str | dict):
                specs = [specs]
            patterns = [s if isinstance(s, str) else s.get("path") for s in specs
                        if isinstance(s, str) or s.get("split", "train") == split]
            files = [str(p) for pattern in patterns for p in sorted(folder.glob(pattern or ""))]
            if not files:
                raise RecipeError(f"data.mixture: {folder}: config {config!r} has no {split!r} files")
            return files
    names = [c.get("config_name") for c in configs if isinstance(c, dict)]
    raise RecipeError(f"data.mixture: {folder}: no config {config!r} (it has {', '.join(map(str, names))})")


def _nested(dataset: Any, nested: dict[str, str | list[str]], entry: DatasetEntry) -> Any:
    """`dataset` with the kit columns that `columns:` maps to nested fields (`reward_model.ground_truth`) or to a list
    of columns (`test_cases`: their values, each as JSON text, for `stored_test_cases` to join; `messages`: their
    turns joined, `mapped_value`)."""
    first = dataset[0] if len(dataset) else {}
    paths = [path for source in nested.values() for path in ([source] if isinstance(source, str) else source)]
    if missing := [path for path in paths if first and column_value(first, path) is MISSING]:
        raise RecipeError(f"data.mixture: {entry.path} (config {entry.config!r}) has no column {missing[0]!r}; "
                          f"it has {', '.join(dataset.column_names)}")

    def read(row: dict[str, Any]) -> dict[str, Any]:
        values = {name: mapped_value(row, source, name) for name, source in nested.items()}
        return {name: [part if part is None or isinstance(part, str) else json.dumps(part, ensure_ascii=False)
                       for part in value] if name == "test_cases" and isinstance(nested[name], list) else value
                for name, value in values.items()}

    return dataset.map(read, desc=f"nested columns of {entry.path}")


def _filtered(dataset: Any, entry: DatasetEntry) -> Any:
    """The rows of `dataset` that the entry's `where:` keeps (`kit.core.sources.row_filter`, as `kit curate`)."""
    first = dataset[0] if len(dataset) else {}
    if missing := [column for column in entry.where if first and column_value(first, column) is MISSING]:
        raise RecipeError(f"data.mixture: {entry.path} (config {entry.config!r}): where: no column {missing[0]!r}; "
                          f"it has {', '.join(dataset.column_names)}")
    return dataset.filter(row_filter(entry.where), desc=f"where of {entry.path}")


def _kept(entry: DatasetEntry) -> list[str]:
    """The columns an entry keeps: its training column, or (problems) the prompt and the reward columns."""
    return ["prompt", *REWARD_COLUMNS] if entry.column == "problem" else [entry.column]


def _chats(dataset: Any, entry: DatasetEntry) -> Any:
    """A chat column as TRL trains on it: OpenAI turns (`role`/`content`), as a kit `default` config has them. ShareGPT
    turns (`from`/`value`, human/gpt: Sky-T1, Bespoke-Stratos and OpenThoughts ship them) are renamed, a content
    given as a list of text parts is joined, and an assistant turn that keeps its reasoning apart (`reasoning_content`)
    gets it back as the kit writes a trace, `<think>` reasoning `</think>` then the answer (`kit.core.chat`). A system
    prompt kept in a column of its own (their `system`), mapped to `system_prompt`, is the chat's system turn (in place
    of one the chat has), as `kit curate` reads it."""
    system = "system_prompt" in dataset.column_names
    first = dataset[0]["messages"] if len(dataset) else []
    if not system and isinstance(first, list) and all(isinstance(t, dict) and set(t) == {"role", "content"}
                                                      for t in first):
        return dataset

    def convert(row: dict[str, Any]) -> dict[str, Any]:
        try:
            turns = chat_turns(row["messages"])
        except ChatError as exc:
            raise RecipeError(f"data.mixture: {entry.path}: column messages: {exc}") from None
        messages = [{"role": t["role"], "content": _turn_text(t)} for t in turns]
        if system and isinstance(row["system_prompt"], str) and row["system_prompt"].strip():
            messages = [{"role": "system", "content": row["system_prompt"]},
                        *(m for m in messages if m["role"] != "system")]
        return {"messages": messages}

    from datasets import Features, List, Value

    features = Features({"messages": List({"role": Value("string"), "content": Value("string")})})
    return dataset.map(convert, remove_columns=dataset.column_names, features=features,
                       desc=f"chat turns of {entry.path}")


def _turn_text(turn: dict[str, Any]) -> str:
    content, reasoning = (turn["content"] or "").strip(), (turn["reasoning_content"] or "").strip()
    if turn["role"] == "assistant" and reasoning and THINK_OPEN not in content:
        return THINK_TEMPLATE.format(reasoning=reasoning, solution=content)
    return turn["content"] or ""


def _problems(dataset: Any, entry: DatasetEntry, prompt: Format | None, decidable: bool = False) -> Any:
    """Problem rows as GRPO reads them: the prompt's chat turns and every reward column; with `decidable`, also why no
    answer can pass the problem (`UNDECIDABLE`: reason and detail, None where one can), for `_decidable`."""
    if prompt is None:
        raise RecipeError(f"data.mixture: {entry.path}: problems need the recipe's prompt format")
    from kit.verify.registry import UnknownVerifier, stored_route, undecidable

    def why(values: dict[str, Any]) -> dict[str, Any]:
        try:
            reason = undecidable(*stored_route({k: v for k, v in values.items() if v is not None}))
        except UnknownVerifier as exc:
            reason = ("unknown_verifier", str(exc))
        return dict(zip(UNDECIDABLE, reason or (None, None), strict=True))

    def convert(row: dict[str, Any]) -> dict[str, Any]:
        problem, system = row["problem"], row.get("system_prompt")
        if isinstance(problem, list | tuple):  # a chat (verl's `prompt`): its user turn is the problem
            try:
                problem, chat_system = chat_problem(problem)
            except ChatError as exc:
                raise RecipeError(f"data.mixture: {entry.path}: column problem: {exc}") from None
            system = system or chat_system
        # the row as the prompt builder reads it. The entry's domain picks the instruction and wins, as a curate
        # source's does: a dataset's own `domain` may be a subject taxonomy (Big-Math's is a list of subjects).
        row = {**row, "problem": problem, "domain": kit_domain(entry.domain or row.get("domain"))}
        # tests in the dataset's own form (and its checker, entry point, prelude or time limit), in the contract's form
        values = {name: as_text(row.get(name)) for name in REWARD_COLUMNS if name != "test_cases"}
        values["test_cases"] = stored_test_cases(row.get("test_cases"),
                                                **mapped_test_columns(row, entry.columns, entry.grader))
        values["problem_id"] = values["problem_id"] or problem_id(problem)
        return {"prompt": prompt_messages(row, prompt, system), **values, **(why(values) if decidable else {})}

    from datasets import Features, List, Value

    features = Features({"prompt": List({"role": Value("string"), "content": Value("string")}),
                         **{name: Value("string") for name in REWARD_COLUMNS + (UNDECIDABLE if decidable else ())}})
    return dataset.map(convert, remove_columns=dataset.column_names, features=features,
                       desc=f"prompts of {entry.path}")


def _decidable(dataset: Any, entry: DatasetEntry, log: Log) -> tuple[Any, dict[str, int]]:
    """The problems of `dataset` a verifier can decide, routed as the accuracy reward routes them (`_problems` said
    why for the others), and how many were left out by reason; a RecipeError when none is left (its columns are likely
    not mapped)."""
    from collections import Counter

    reasons = dataset[UNDECIDABLE[0]]
    counts = Counter(reason for reason in reasons if reason is not None)
    if not counts:
        return dataset, {}
    first = dataset[next(i for i, reason in enumerate(reasons) if reason is not None)][UNDECIDABLE[1]]
    what = ", ".join(f"{reason} {n}" for reason, n in counts.most_common())
    if counts.total() == len(dataset):
        raise RecipeError(f"data.mixture: {entry.path}: no problem a verifier can decide ({what}; the first: "
                          f"{first}); map the gold answer or tests with `columns:`, or set `domain:`")
    log(f"data: {entry.path}: left out {counts.total()} of {len(dataset)} problems no answer can pass ({what}; "
        f"the first: {first})")
    return dataset.select([i for i, reason in enumerate(reasons) if reason is None]), dict(counts.most_common())


def _weighted(dataset: Any, weight: float, seed: int) -> Any:
    """`weight` x the rows: whole copies, then a seeded random part for the fraction."""
    import random

    if weight == 1:
        return dataset
    n = len(dataset)
    whole, part = int(weight), round((weight - int(weight)) * n)
    indices = [i for _ in range(whole) for i in range(n)]
    indices += sorted(random.Random(seed).sample(range(n), part))
    return dataset.select(indices)
