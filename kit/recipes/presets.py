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


def preset_names() -> list[str]:
    return sorted(PRESETS)


def expand_preset(data: dict[str, Any]) -> dict[str, Any]:
    """A source mapping with its preset's fields filled in where the mapping leaves them unset; ValueError
    (one line, naming the presets) for an unknown preset."""
    name = data.get("preset")
    if name is None:
        return data
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r} (presets: {', '.join(preset_names())})")
    preset = copy.deepcopy({k: v for k, v in PRESETS[name].items() if k != "description"})
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
