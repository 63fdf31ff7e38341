"""The one Hub-id check: does a string name a Hub repo (rather than a local file or folder)? And can a model
named by its Hub id be loaded here (`unloadable_model`, asked before a model loads)?

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


def in_cache(model: str, revision: str | None, file: str = "config.json") -> bool:
    """Whether a Hub model's `file` (its config) is in the local Hugging Face cache (an offline run can still load
    it)."""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(model, file, revision=revision), str)


def unloadable_model(model: str, revision: str | None = None, file: str = "config.json") -> BaseException | None:
    """Why a model named by its Hub id cannot be loaded here, asked once before loading: the error of a Hub that
    cannot be reached (offline) or does not show it (misspelt, private, gated), when it is not in the local cache
    either (`file`: the one its loading reads first); None for a local folder, a name that is no Hub id, a model
    the Hub shows, one in the cache, and any other failure (left to loading). Loading it blind, huggingface_hub
    retried each file for half a minute offline, in tens of log lines."""
    if Path(model).expanduser().exists() or not is_repo_id(model, bare=True):
        return None
    from huggingface_hub import HfApi

    from kit.core.sources import unreachable

    try:
        HfApi().model_info(model, revision=revision)
    except Exception as exc:  # noqa: BLE001 - only a model out of reach is said here
        if unreachable(exc) and not in_cache(model, revision, file):
            return exc
    return None
