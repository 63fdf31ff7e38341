"""What a GRPO run's log says about its rewards: the per-step curve kept in train_results.json, the means of its
first and last steps, and a small PNG of the curve for the model card (`reward_curve.png` in the model folder).

TRL's GRPOTrainer logs, every `logging_steps`, `reward` (the weighted sum), `rewards/<name>/mean` for each
reward function, and `completions/mean_length`; `log_history` keeps them across a resume.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

CURVE_FILE = "reward_curve.png"
SHARE = 0.2  # the first and last fifth of the logged steps are compared
_COLORS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75))


def reward_curve(log_history: Iterable[Mapping[str, Any]], names: list[str]) -> dict[str, Any]:
    """The logged curve: steps, the weighted reward, each reward's mean and the mean completion length."""
    rows = [h for h in log_history if "reward" in h and "step" in h]
    return {
        "step": [int(h["step"]) for h in rows],
        "reward": [float(h["reward"]) for h in rows],
        "rewards": {name: [_float(h.get(f"rewards/{name}/mean")) for h in rows] for name in names},
        "completion_length": [_float(h.get("completions/mean_length")) for h in rows],
    }


def first_and_last(curve: Mapping[str, Any]) -> dict[str, dict[str, float | None]]:
    """The mean of each reward (and the weighted reward) over the first and the last fifth of the logged steps."""
    series = {"reward": curve["reward"], **curve["rewards"], "completion_length": curve["completion_length"]}
    out: dict[str, dict[str, float | None]] = {}
    for name, values in series.items():
        k = max(1, round(len(values) * SHARE))
        out[name] = {"first": _mean(values[:k]), "last": _mean(values[-k:])}
    return out


def _float(value: Any) -> float | None:
    """A logged number; None for a step that did not log it (or logged NaN), so the JSON stays valid."""
    return float(value) if isinstance(value, int | float) and value == value else None


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(sum(kept) / len(kept), 4) if kept else None


def draw_curve(curve: Mapping[str, Any], path: Path, *, width: int = 640, height: int = 320) -> Path | None:
    """A line chart of each reward's mean per step (and the weighted reward), as a PNG; None without steps."""
    from PIL import Image, ImageDraw

    steps = curve["step"]
    series = {"reward (weighted)": curve["reward"], **curve["rewards"]}
    values = [v for s in series.values() for v in s if v is not None]
    if len(steps) < 2 or not values:
        return None
    low, high = min(0.0, min(values)), max(1.0, max(values))
    left, right, top, bottom = 48, width - 150, 16, height - 32
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)

    def x(step: float) -> float:
        return left + (step - steps[0]) / max(1, steps[-1] - steps[0]) * (right - left)

    def y(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    draw.rectangle((left, top, right, bottom), outline=(160, 160, 160))
    for value in (low, (low + high) / 2, high):
        draw.text((4, y(value) - 6), f"{value:.2f}", fill="black")
    draw.text((left, bottom + 8), f"step {steps[0]}", fill="black")
    draw.text((right - 60, bottom + 8), f"step {steps[-1]}", fill="black")
    for i, (name, ys) in enumerate(series.items()):
        color = _COLORS[i % len(_COLORS)]
        points = [(x(s), y(v)) for s, v in zip(steps, ys, strict=True) if v is not None]
        if len(points) > 1:
            draw.line(points, fill=color, width=2)
        draw.line((right + 10, top + 8 + 16 * i, right + 30, top + 8 + 16 * i), fill=color, width=3)
        draw.text((right + 36, top + 2 + 16 * i), name, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG", optimize=True)
    return path
