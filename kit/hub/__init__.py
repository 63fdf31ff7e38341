"""The Hub side of the kit: write a dataset repo folder (`repo`), render its card (`cards`).

Names are re-exported lazily, so importing `kit.hub` alone does not import `datasets` and `pyarrow`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CONFIGS": "kit.hub.repo",
    "DatasetRepoWriter": "kit.hub.repo",
    "OutputExistsError": "kit.hub.repo",
    "render_dataset_card": "kit.hub.cards",
    "template_dir": "kit.hub.cards",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
