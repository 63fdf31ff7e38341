"""Render cards from the Jinja2 templates in `cards/` (packaged as `kit/cards/` in a wheel), and check cards
before they reach the Hub."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml
from huggingface_hub import DatasetCard, DatasetCardData, ModelCard, SpaceCard
from huggingface_hub.repocard import RepoCard

import kit
from kit.hub.repo import CONFIGS, card_with_configs
from kit.recipes import DataRecipe, SourceConfig

DATASET_CARD_TEMPLATE = "dataset_card.md.j2"

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_FILE_SUFFIXES = (".json", ".jsonl", ".parquet", ".csv", ".gz", ".arrow", ".txt")
_SIZES = ((10**3, "n<1K"), (10**4, "1K<n<10K"), (10**5, "10K<n<100K"), (10**6, "100K<n<1M"), (10**7, "1M<n<10M"),
          (10**8, "10M<n<100M"), (10**9, "100M<n<1B"), (10**10, "1B<n<10B"), (10**11, "10B<n<100B"),
          (10**12, "100B<n<1T"))


def template_dir() -> Path:
    """The folder of the card templates: `cards/` of a checkout (or editable install), or `kit/cards/` of a wheel."""
    package = Path(kit.__file__).resolve().parent
    for candidate in (package.parent / "cards", package / "cards"):
        if (candidate / DATASET_CARD_TEMPLATE).is_file():
            return candidate
    raise FileNotFoundError(f"card templates not found in {package.parent / 'cards'} or {package / 'cards'}")


def size_category(n: int) -> str:
    """The Hub's `size_categories` value for n rows."""
    return next((label for bound, label in _SIZES if n < bound), "n>1T")


def _cell(value: Any) -> str:
    """A value made safe for one markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """`text` as one inline code span, even when it holds backticks, pipes or newlines."""
    text = _cell(text)
    fence = "`" * (max(map(len, re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _num(value: Any) -> str:
    """Thousands separators; one decimal for non-integral numbers (none for 5.0); other values as they are."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def is_hub_id(path: str) -> bool:
    """Whether `path` names a Hub repo (ORG/NAME) rather than a local file or folder."""
    return bool(_HUB_ID.match(path)) and not path.endswith(_FILE_SUFFIXES) and not Path(path).exists()


def is_repo_ref(value: str) -> bool:
    """Whether `value` names a Hub repo as huggingface_hub accepts it (`org/name`, or a bare name such as
    `gpt2`) and is no local path: what a model or dataset to download from the Hub may be."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if Path(value).expanduser().exists():
        return False
    try:
        validate_repo_id(value)
    except HFValidationError:
        return False
    return True


def _hub_link(repo_id: str, kind: str = "datasets") -> str | None:
    """The Hub page of a dataset (`kind="datasets"`) or model (`kind="models"`) id; None for other strings."""
    if not _HUB_ID.match(repo_id):
        return None
    return f"https://huggingface.co/{repo_id}" if kind == "models" else f"https://huggingface.co/{kind}/{repo_id}"


def card_environment(**filters: Any) -> jinja2.Environment:
    """The Jinja2 environment of the card templates (`cards/`): strict, with the table filters every card uses
    (cell, code, num, quote, hub_link) and the caller's own `filters`."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(template_dir()), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(cell=_cell, code=_code, num=_num, quote=json.dumps, hub_link=_hub_link, **filters)
    return env


def _source(src: SourceConfig) -> dict[str, Any]:
    """How a source is shown: a Hub link, a bundled sample, or the file name of a local file."""
    if src.path.startswith("kit:"):
        where, link = f"{src.path.removeprefix('kit:')} (sample bundled with reasoning-hub-kit)", None
    elif is_hub_id(src.path):
        where, link = src.path, _hub_link(src.path)
    else:
        where, link = f"local file `{Path(src.path).name}`", None  # never publish a local path
    return {"name": src.name or (src.path if link else Path(src.path.removeprefix("kit:")).stem),
            "where": where, "link": link, "config": src.config, "split": src.split, "limit": src.limit,
            "domain": src.domain, "license": src.license, "citation": (src.citation or "").strip() or None}


def _rate(kept: Any, total: Any) -> str:
    return f"{100 * kept / total:.1f}%" if isinstance(kept, int | float) and isinstance(total, int | float) and total else ""


def _counts(table: Any) -> list[dict[str, Any]]:
    """`{"name": {"in": a, "kept": b}}` as rows with a keep rate."""
    if not isinstance(table, Mapping):
        return []
    return [{"name": name, "in": c.get("in"), "kept": c.get("kept"), "rate": _rate(c.get("kept"), c.get("in"))}
            for name, c in table.items() if isinstance(c, Mapping)]


def _stages(stats: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for s in stats.get("stages") or []:
        if not isinstance(s, Mapping):
            continue
        n_in, n_out = s.get("in"), s.get("out")
        dropped = n_in - n_out if isinstance(n_in, int) and isinstance(n_out, int) else None
        rows.append({"stage": s.get("stage", "?"), "in": n_in, "out": n_out, "dropped": dropped})
    return rows


def _rejections(stats: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"stage": stage, "reason": reason, "count": count}
            for stage, reasons in (stats.get("rejections") or {}).items() if isinstance(reasons, Mapping)
            for reason, count in reasons.items() if count]


def _tokens(stats: Mapping[str, Any]) -> dict[str, Any] | None:
    tokens = stats.get("tokens") or {}
    fields = [{"field": name, **{k: v.get(k) for k in ("mean", "median", "p95", "max", "total")}}
              for name, v in tokens.items() if isinstance(v, Mapping)]
    return {"tokenizer": tokens.get("tokenizer"), "fields": fields} if fields else None


def _decontamination(recipe: DataRecipe, stats: Mapping[str, Any]) -> dict[str, Any]:
    cfg = recipe.curate.decontaminate
    hits = stats.get("decontamination") or {}
    rows = [{"benchmark": name, "ngram": h.get("ngram", 0), "fuzzy": h.get("fuzzy", 0)}
            for name, h in hits.items() if isinstance(h, Mapping)]
    extra = [ref.name or ref.path for ref in cfg.extra]
    return {"enabled": cfg.enabled, "ngram": cfg.ngram, "fuzzy_threshold": cfg.fuzzy_threshold,
            "benchmarks": [*cfg.benchmarks, *extra], "hits": rows}


def _domains(recipe: DataRecipe, by_domain: list[dict[str, Any]]) -> list[str]:
    """The domains the dataset covers: from the statistics, else from the sources."""
    names = [d["name"] for d in by_domain if d["kept"] != 0] or [s.domain for s in recipe.sources if s.domain]
    return list(dict.fromkeys(names))


def card_data(recipe: DataRecipe, stats: Mapping[str, Any], domains: list[str] | None = None) -> DatasetCardData:
    """The card's front matter: license, name, tags, size and the `configs` of the repo contract."""
    domains = domains if domains is not None else _domains(recipe, _counts(stats.get("by_domain")))
    kept = stats.get("kept")
    tags = list(dict.fromkeys(["reasoning", "synthetic", "chain-of-thought", *domains, "reasoning-hub-kit"]))
    return DatasetCardData(
        license=recipe.output.license,
        pretty_name=recipe.output.pretty_name or recipe.name,
        language=["en"],
        task_categories=["text-generation"],
        size_categories=[size_category(kept)] if isinstance(kept, int) else None,
        tags=tags,
        configs=CONFIGS,
    )


def render_dataset_card(recipe: DataRecipe, stats: Mapping[str, Any], repo_id: str | None = None,
                        configs: list[dict[str, Any]] | None = None) -> str:
    """The full README.md (YAML front matter + markdown body) of a dataset made by `recipe`.

    `stats` is the content of stats.json; missing keys just leave their section out. The `load_dataset`
    lines use `repo_id` when given, else the recipe's output folder. The front matter declares `CONFIGS`
    (every shard), or `configs` when given: a written folder's own, pinned to its shards by
    `DatasetRepoWriter.finalize` (exactly the card it wrote, for the same recipe and stats).
    """
    by_domain = _counts(stats.get("by_domain"))
    domains = _domains(recipe, by_domain)
    teachers = stats.get("teachers") or {recipe.teacher.model: stats.get("kept")}
    context = {
        "card_data": card_data(recipe, stats, domains).to_yaml(),
        "title": recipe.output.pretty_name or recipe.name,
        "recipe": recipe,
        "stats": stats,
        "target": repo_id or recipe.output.dir,
        "domains": domains,
        "teachers": [{"model": m, "count": n, "link": _hub_link(m, "models")} for m, n in teachers.items()],
        "sources": [_source(s) for s in recipe.sources],
        "stages": _stages(stats),
        "rejections": _rejections(stats),
        "by_domain": by_domain,
        "by_source": _counts(stats.get("by_source")),
        "verifiers": stats.get("verifiers") or {},
        "decontamination": _decontamination(recipe, stats),
        "tokens": _tokens(stats),
    }
    text = card_environment().get_template(DATASET_CARD_TEMPLATE).render(**context)
    text = re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"
    return text if configs is None or configs == CONFIGS else card_with_configs(text, configs)


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
