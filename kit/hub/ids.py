"""The one Hub-id check: does a string name a Hub repo (rather than a local file or folder)?

Every stage asks it here: a dataset or model to download (`org/name`, or a bare model name such as `gpt2` with
`bare=True`), a repo to push to, a Hub link in a card.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub.utils import HFValidationError, validate_repo_id

# Names that are files, not repos: `org/data.jsonl` is a path even where it does not exist (yet).
FILE_SUFFIXES = (".json", ".jsonl", ".parquet", ".csv", ".gz", ".arrow", ".txt")


def is_repo_id(value: str, *, bare: bool = False) -> bool:
    """Whether `value` names a Hub repo as huggingface_hub accepts it, `org/name` (or, with `bare`, also a bare
    name such as `gpt2`), and is no local path: an existing file or folder of that name wins, and a name ending
    in a data-file suffix is a file."""
    if not value or Path(value).expanduser().exists() or value.endswith(FILE_SUFFIXES):
        return False
    if "/" not in value and not bare:
        return False
    try:
        validate_repo_id(value)
    except HFValidationError:
        return False
    return True


def hub_link(repo_id: str, kind: str = "datasets") -> str | None:
    """The Hub page of a dataset (`kind="datasets"`) or model (`kind="models"`) id; None for anything else."""
    if not is_repo_id(repo_id):
        return None
    return f"https://huggingface.co/{repo_id}" if kind == "models" else f"https://huggingface.co/{kind}/{repo_id}"
