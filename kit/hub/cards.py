"""What every card shares: the Jinja2 environment of the templates in `cards/` (packaged as `kit/cards/` in a
wheel) with the markdown filters every card uses, and the check a card passes before it reaches the Hub.

Each stage renders its own card from here: the dataset card (`kit.curate.card`), the model card
(`kit.train.card`), the evaluation results card (`kit.evaluate.card`) and the details card
(`kit.evaluate.details`)."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml
from huggingface_hub import DatasetCard, ModelCard, SpaceCard
from huggingface_hub.repocard import RepoCard

import kit
from kit.hub.ids import hub_link


def template_dir() -> Path:
    """The folder of the card templates: `cards/` of a checkout (or editable install), or `kit/cards/` of a wheel."""
    package = Path(kit.__file__).resolve().parent
    for candidate in (package.parent / "cards", package / "cards"):
        if (candidate / "model_card.md.j2").is_file():
            return candidate
    raise FileNotFoundError(f"card templates not found in {package.parent / 'cards'} or {package / 'cards'}")


def cell(value: Any) -> str:
    """A value made safe for one markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def code(text: str) -> str:
    """`text` as one inline code span, even when it holds backticks, pipes or newlines."""
    text = cell(text)
    fence = "`" * (max(map(len, re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def num(value: Any) -> str:
    """Thousands separators; one decimal for non-integral numbers (none for 5.0); other values as they are."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def problems_scored(args: Any) -> list[str]:
    """Which problems a score covers, as every card words it, from the result's metric args: the first N of a
    `--limit` quick look (`limit`) and a date window (`date_from`, `date_to`); [] for the whole benchmark."""
    args = args or {}
    notes = [f"first {args['limit']} problems"] if args.get("limit") is not None else []
    start, end = args.get("date_from"), args.get("date_to")
    if start or end:
        notes.append(f"{start} to {end}" if start and end else f"from {start}" if start else f"to {end}")
    return notes


def card_environment(**filters: Any) -> jinja2.Environment:
    """The Jinja2 environment of the card templates (`cards/`): strict, with the table filters every card uses
    (cell, code, num, quote, hub_link, problems_scored) and the caller's own `filters`."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(template_dir()), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(cell=cell, code=code, num=num, quote=json.dumps, hub_link=hub_link,
                       problems_scored=problems_scored, **filters)
    return env


class CardError(ValueError):
    """A card whose metadata the Hub would not read as written."""


_CARDS: dict[str, type[RepoCard]] = {"dataset": DatasetCard, "model": ModelCard, "space": SpaceCard}
_FRONT_MATTER = re.compile(r"\A\s*---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


def front_matter(text: str) -> dict[str, Any]:
    """The YAML metadata block at the top of a card, as a dict; `CardError` when missing or malformed."""
    match = _FRONT_MATTER.match(text)
    if not match:
        raise CardError("README.md has no YAML front matter (---) with the card metadata")
    try:
        raw = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise CardError(f"README.md front matter is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise CardError("README.md front matter must be a mapping of metadata keys")
    return raw


def check_card(text: str, repo_type: str, files: Iterable[str] = ()) -> RepoCard:
    """Check a README.md before upload; raise `CardError` with the first problem found.

    The front matter must be a YAML mapping that round-trips through huggingface_hub's card data class
    (DatasetCardData / ModelCardData / SpaceCardData) without losing or changing a key - what the Hub reads
    is then what the card says. Dataset `configs` must name files present in `files` (the repo's paths);
    a model card's `base_model` must be a Hub id, never `None`.
    """
    raw = front_matter(text)
    try:
        card = _CARDS[repo_type](text, ignore_metadata_errors=False)
    except ValueError as exc:
        raise CardError(f"README.md metadata: {exc}") from None
    again = card.data.to_dict()
    for key, value in raw.items():
        if value is not None and again.get(key) != value:
            raise CardError(f"README.md metadata key {key!r} does not survive huggingface_hub's "
                            f"{type(card.data).__name__}: {value!r} became {again.get(key)!r}")
    if repo_type == "dataset":
        _check_configs(raw.get("configs"), set(files))
    if repo_type == "model" and "base_model" in raw and raw["base_model"] in (None, "None", ""):
        raise CardError("README.md metadata: base_model is empty; set it to the base model's Hub id")
    return card


def _check_configs(configs: Any, files: set[str]) -> None:
    if configs is None:
        return
    if not isinstance(configs, list):
        raise CardError("README.md metadata: configs must be a list")
    for config in configs:
        name = config.get("config_name") if isinstance(config, Mapping) else None
        if not name:
            raise CardError(f"README.md metadata: config without config_name: {config!r}")
        data_files = config.get("data_files")
        entries = data_files if isinstance(data_files, list) else [data_files]
        patterns = [p for entry in entries for p in _patterns(entry)]
        if not patterns:
            raise CardError(f"README.md metadata: config {name!r} has no data_files")
        if files:
            missing = [p for p in patterns if not any(fnmatch.fnmatch(f, p) for f in files)]
            if missing:
                raise CardError(f"README.md metadata: config {name!r} data_files {missing[0]!r} matches no file")


def _patterns(entry: Any) -> list[str]:
    if isinstance(entry, str):
        return [entry]
    if isinstance(entry, Mapping):
        path = entry.get("path")
        return [path] if isinstance(path, str) else list(path or [])
    return []
