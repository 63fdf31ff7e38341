"""Presets for well-known public datasets: `sources[].preset: NAME` (project issue 16).

A preset fills the source fields a recipe leaves unset - the Hub id (`path`), `config`, `split`, the column
map (`columns`), `where`, `name`, `domain`, `license`, `citation`, `grader` (what the dataset's own grader does
around its tests) - so a recipe can say just

    sources:
      - preset: taco
        limit: 2000

Every key the recipe sets itself wins over the preset's; `columns` and `where` merge key by key (the
recipe's entries win). Columns the kit reads under their own name (`starter_code`, `ground_truth_solution`,
`domain`, `source`, `finish_reason`, a `messages` or `conversations` chat) need no mapping and are not
listed.

The presets are data: `kit/data/presets.yaml`, where each one's comment says where its schema was taken from
(the `dataset_info` features of the dataset card's README, or its loading script) and names any column that
could not be confirmed there.
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import yaml

PRESETS: dict[str, dict[str, Any]] = yaml.safe_load(
    resources.files("kit").joinpath("data", "presets.yaml").read_text(encoding="utf-8"))

_MERGED = ("columns", "where")  # mappings merged key by key
# What a GRPO mixture entry takes of a preset (`problems=True`): where the problems are and how they are read, not
# the trace a `dataset` teacher reads (`TRACE_COLUMNS`), nor the source's name, license and citation
PROBLEM_KEYS = ("path", "config", "split", "columns", "where", "domain", "grader")
TRACE_COLUMNS = ("reply", "reasoning", "solution", "reasoning_content", "finish_reason", "teacher")


def preset_names() -> list[str]:
    return sorted(PRESETS)


def expand_preset(data: dict[str, Any], problems: bool = False) -> dict[str, Any]:
    """A source mapping with its preset's fields filled in where the mapping leaves them unset; ValueError
    (one line, naming the presets) for an unknown preset. `problems`: for a GRPO mixture entry, which takes the
    preset's `PROBLEM_KEYS` and its columns but the trace's (a dataset's own config where it names none)."""
    name = data.get("preset")
    if name is None:
        return data
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r} (presets: {', '.join(preset_names())})")
    preset = copy.deepcopy({k: v for k, v in PRESETS[name].items() if k != "description"})
    if problems:
        preset = {"config": "default"} | {k: v for k, v in preset.items() if k in PROBLEM_KEYS}
        preset["columns"] = {k: v for k, v in preset.get("columns", {}).items() if k not in TRACE_COLUMNS}
    out = dict(data)
    for key, value in preset.items():
        if key in _MERGED and isinstance(out.get(key), dict):
            out[key] = {**value, **out[key]}
        elif out.get(key) is None:
            out[key] = value
    return out


def presets_table() -> str:
    """One line per preset: name, Hub id (config), description."""
    lines = []
    for name in preset_names():
        p = PRESETS[name]
        hub = p["path"] + (f" ({p['config']})" if p.get("config") else "")
        lines.append(f"{name}: {hub} - {p['description']}")
    return "\n".join(lines)
