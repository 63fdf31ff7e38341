"""The dataset card of a `kit curate` folder (README.md): front matter with the repo contract's `configs`, and a
body rendered from `cards/dataset_card.md.j2` - sources, teachers, what each stage kept and why, verifiers,
decontamination, tokens, and how to load it.

`card_for_repo` is the renderer `kit publish` hands to `kit.hub.publish`: it re-renders a folder's card so its
`load_dataset` lines name the Hub repo.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCardData

from kit.core.log import Log
from kit.curate.decontaminate import SHORT_WORDS
from kit.hub.cards import CardError, card_environment, front_matter
from kit.hub.ids import hub_link, is_repo_id
from kit.hub.repo import CONFIGS, card_with_configs
from kit.recipes import DataRecipe, RecipeError, SourceConfig, load_data_recipe

DATASET_CARD_TEMPLATE = "dataset_card.md.j2"
CARD = "README.md"
_SIZES = ((10**3, "n<1K"), (10**4, "1K<n<10K"), (10**5, "10K<n<100K"), (10**6, "100K<n<1M"), (10**7, "1M<n<10M"),
          (10**8, "10M<n<100M"), (10**9, "100M<n<1B"), (10**10, "1B<n<10B"), (10**11, "10B<n<100B"),
          (10**12, "100B<n<1T"))



def size_category(n: int) -> str:
    """The Hub's `size_categories` value for n rows."""
    return next((label for bound, label in _SIZES if n < bound), "n>1T")


def _source(src: SourceConfig) -> dict[str, Any]:
    """How a source is shown: a Hub link, a bundled sample, or the file name of a local file."""
    if src.path.startswith("kit:"):
        where, link = f"{src.path.removeprefix('kit:')} (sample bundled with reasoning-hub-kit)", None
    elif is_repo_id(src.path):
        where, link = src.path, hub_link(src.path)
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
    origins = stats.get("decontamination_sources") or {}
    sources = [{"benchmark": name, **origin} for name, origin in origins.items() if isinstance(origin, Mapping)]
    return {"enabled": cfg.enabled, "ngram": cfg.ngram, "coverage": cfg.coverage, "fuzzy_threshold": cfg.fuzzy_threshold,
            "common_ngram_refs": cfg.common_ngram_refs, "short_words": SHORT_WORDS, "benchmarks": [*cfg.benchmarks, *extra],
            "hits": rows, "sources": sources}


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
        "teachers": [{"model": m, "count": n, "link": hub_link(m, "models")} for m, n in teachers.items()],
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


def card_for_repo(folder: Path, repo_id: str, log: Log) -> str | None:
    """A kit dataset card re-rendered so its `load_dataset` lines name the Hub repo instead of the folder.

    Only when the card is exactly what the kit rendered from the folder's recipe.yaml and stats.json: a card
    edited by hand is published as it is (None).
    """
    recipe_file, stats_file = folder / "recipe.yaml", folder / "stats.json"
    if not (recipe_file.is_file() and stats_file.is_file() and (folder / CARD).is_file()):
        return None
    try:
        recipe = load_data_recipe(recipe_file)
        stats = json.loads(stats_file.read_text(encoding="utf-8"))
        text = (folder / CARD).read_text(encoding="utf-8")
        configs = front_matter(text).get("configs")  # pinned to the folder's shards when the kit wrote it
        local = render_dataset_card(recipe, stats, configs=configs)
    except (RecipeError, CardError, ValueError, OSError):
        return None
    if local != text:
        log(f"note: {CARD} differs from the card the kit renders; publishing it as it is")
        return None
    return render_dataset_card(recipe, stats, repo_id=repo_id, configs=configs)
