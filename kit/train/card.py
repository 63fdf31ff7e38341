"""The model card (README.md) written next to the trained weights: front matter from huggingface_hub's
`ModelCardData`, body from `cards/model_card.md.j2`.

`results` is the content of `<out>/train_results.json` (filled by the trainer): base_model, init,
architecture, parameters, datasets, hyperparameters, compute, frameworks, metrics, chat_template and,
optionally, eval_results.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCardData

from kit.hub.cards import card_environment, num
from kit.hub.ids import hub_link, is_repo_id
from kit.recipes.train import TrainRecipe

MODEL_CARD_TEMPLATE = "model_card.md.j2"
TAGS = ["trl", "reasoning", "reasoning-hub-kit"]  # and the method: sft or grpo


def base_model_id(results: dict[str, Any]) -> str | None:
    """The Hub id the weights were fine-tuned from; None for weights initialised at random or from a local
    folder without a Hub id (the Hub's `base_model` means "derived from these weights")."""
    base = results.get("base_model")
    if results.get("init", "pretrained") != "pretrained" or not isinstance(base, str) or not is_repo_id(base):
        return None
    return base


def model_card_data(recipe: TrainRecipe, results: dict[str, Any], repo_id: str | None = None) -> ModelCardData:
    """The card's front matter; keys without a value are left out (never `None`)."""
    datasets = list(dict.fromkeys(d["path"] for d in results.get("datasets") or [] if d.get("hub")))
    evals = [EvalResult(**{"task_type": "text-generation", **e}) for e in results.get("eval_results") or []]
    return ModelCardData(
        model_name=(repo_id or recipe.name) if evals else None,  # only read for model-index
        base_model=base_model_id(results),
        datasets=datasets or None,
        library_name="transformers",
        pipeline_tag="text-generation",
        license=recipe.card.license or results.get("license"),
        language=recipe.card.language or None,
        tags=list(dict.fromkeys([TAGS[0], recipe.method, *TAGS[1:], *recipe.card.tags])),
        eval_results=evals or None,
    )


def _value(value: Any) -> str:
    """A hyperparameter or metric as written in a recipe: 2e-05, 3, true, null, {"min_lr_rate": 0.1}."""
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)


def _metric(value: Any) -> str:
    """A training metric: 0.4132, 1,234.5, 17,000."""
    if isinstance(value, float) and abs(value) < 100 and not value.is_integer():
        return f"{value:.4g}"
    return num(value)


def _short(n: Any) -> str:
    """A parameter count as 32.8B, 494.0M, 20.5K."""
    if not isinstance(n, int | float):
        return ""
    for bound, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= bound:
            return f"{n / bound:.1f}{unit}"
    return str(n)


def _hours(value: Any) -> str:
    """Hours with one decimal (two significant digits below one hour)."""
    if not isinstance(value, int | float):
        return ""
    return num(round(value, 1)) if value >= 1 else f"{value:.2g}"


def _dataset(entry: dict[str, Any]) -> dict[str, Any]:
    """How a dataset of the mixture is shown: a Hub link and its commit, or a local folder's name."""
    path, sha = entry["path"], entry.get("revision")
    link = hub_link(path) if entry.get("hub") else None
    return {**entry, "name": path if link else f"local folder `{Path(path).name}`", "link": link,
            "short": sha[:7] if sha else None,
            "commit_link": f"{link}/commit/{sha}" if link and sha else None}


def _compute(compute: dict[str, Any]) -> dict[str, Any]:
    """The compute figures as the trainer wrote them (GPU-hours and cost are derived there)."""
    return {"gpus": None, "gpu_hours": None, **compute, "price": compute.get("price_per_gpu_hour"),
            "cost": compute.get("cost_usd")}


def _chat_template(value: str) -> str:
    if value == "model":
        return "the base model's own chat template"
    if value == "kit":
        return "the kit's ChatML template (`<|im_start|>role ... <|im_end|>`)"
    return f"the template `{Path(value).name}` from the recipe, saved as the tokenizer's `chat_template`"


def render_model_card(recipe: TrainRecipe, results: dict[str, Any], repo_id: str | None = None) -> str:
    """The full README.md (YAML front matter + markdown body) of the model `recipe` trained.

    The usage snippet loads `repo_id` when given, else the recipe's output folder.
    """
    hyperparameters = results.get("hyperparameters") or {}
    max_length = hyperparameters.get("max_length") or hyperparameters.get("max_completion_length")
    card_data = model_card_data(recipe, results, repo_id)
    context = {
        "card_data": card_data.to_yaml(),
        "title": recipe.card.pretty_name or recipe.name,
        "recipe": recipe,
        "results": results,
        "base_model": base_model_id(results),
        "base_link": hub_link(results["base_model"], "models") if results.get("base_model") else None,
        "target": repo_id or recipe.output.dir,
        "datasets": [_dataset(d) for d in results.get("datasets") or []],
        "hyperparameters": sorted(hyperparameters.items()),
        "compute": _compute(results.get("compute") or {}),
        "frameworks": {k: v for k, v in (results.get("frameworks") or {}).items() if v},
        "metrics": results.get("metrics") or {},
        "chat_template": _chat_template(results.get("chat_template") or recipe.chat_template),
        # every EvalResult field, as the shared table (cards/eval_results.md.j2) reads them
        "eval_results": [dataclasses.asdict(e) for e in card_data.eval_results or []],
        "license": recipe.card.license or results.get("license"),
        "max_new_tokens": max_length if isinstance(max_length, int) and max_length > 0 else 4096,
        "grpo": results.get("grpo"),
    }
    env = card_environment(value=_value, metric=_metric, short=_short, hours=_hours)
    text = env.get_template(MODEL_CARD_TEMPLATE).render(**context)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"
