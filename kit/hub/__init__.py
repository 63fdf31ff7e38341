"""The Hub side of the kit, used by every stage that writes: the dataset repo folder (`repo`), what every card
shares (`cards`), the one Hub-id check (`ids`, which also says whether a Hub model can be loaded here),
one-commit publishing (`publish`) and releases (`release`).

May import: `kit.core`, `kit.recipes` (the release manifest is a recipe model). Knows no stage above it: a
caller hands in what it needs (a card renderer, a folder builder).

Names are re-exported lazily, so importing `kit.hub` alone does not import `datasets` and `pyarrow`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CONFIGS": "kit.hub.repo",
    "DatasetRepoWriter": "kit.hub.repo",
    "OutputExistsError": "kit.hub.repo",
    "template_dir": "kit.hub.cards",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
