"""Publish a folder (dataset, model or Space) to a Hugging Face Hub repo.

One code path for `kit publish`, `kit curate --push`, `kit release` and training pushes:

- the repo is created when missing, and the branch asked for too (from `main`);
- the folder lands as ONE commit made against the head it was planned on (`parent_commit`): files that
  changed are added, files no longer in the folder (a stale parquet shard) are deleted in the same commit,
  so a reader sees either the old revision or the new one, never a mix;
- unchanged files are found by their git blob id (or LFS sha256) in the repo tree: an unchanged folder makes
  no commit at all;
- 429 and 5xx answers and dropped connections are retried with exponential backoff (honouring
  Retry-After); every retry plans again from the repo's current head, so a commit whose answer was lost is
  recognised as done rather than made twice;
- a folder with more changed files than the Hub recommends per commit goes up first through
  huggingface_hub's resumable multi-commit `upload_folder`; the card and the deletions then land in one
  last commit;
- the card (README.md) is the folder's own, or what the caller's `card` renderer makes of it for the repo
  (`kit.curate.card.card_for_repo` names the repo in a dataset card's `load_dataset` lines); this module
  knows no recipe;
- the card is checked first (`kit.hub.cards.check_card` and the Hub's validate-yaml);
- the tag asked for is created on the published commit.

The endpoint and the token come from huggingface_hub (HF_ENDPOINT, HF_TOKEN or the saved login); this
module never reads, prints or writes the token.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx2
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS

from kit.core.log import Log
from kit.hub.cards import CardError, check_card, front_matter
from kit.hub.ids import is_repo_id

REPO_TYPES = ("dataset", "model", "space")
# The Hub recommends fewer than 100 files per commit made over HTTP (docs: repositories-recommendations).
MAX_COMMIT_FILES = 100
IGNORE = [*DEFAULT_IGNORE_PATTERNS, "__pycache__", "*/__pycache__/*", "*.pyc", ".DS_Store", "*/.DS_Store"]
HUB_MANAGED = {".gitattributes"}  # created by the Hub with the repo; never deleted by a publish
RETRY_STATUS = {408, 429, 500, 502, 503, 504}
CARD = "README.md"

T = TypeVar("T")
# (folder, repo id, log) -> the README.md to publish for that repo, or None for the folder's own
CardRenderer = Callable[[Path, str, Log], str | None]


class PublishError(Exception):
    """A publish that could not complete; the repo keeps its previous revision."""


@dataclass(frozen=True)
class Retry:
    """Exponential backoff for Hub calls: `attempts` tries, waiting base_s, 2*base_s, ... up to max_s."""

    attempts: int = 6
    base_s: float = 1.0
    max_s: float = 30.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        backoff = min(self.max_s, self.base_s * 2 ** (attempt - 1))
        return max(backoff, min(retry_after, self.max_s)) if retry_after is not None else backoff


DEFAULT_RETRY = Retry()


@dataclass
class PublishResult:
    repo_id: str
    repo_type: str
    url: str
    revision: str
    commit: str  # the head of `revision` after the publish
    committed: bool  # False when the folder was already published
    added: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    tag: str | None = None


@dataclass
class _Plan:
    head: str
    adds: dict[str, Path | bytes]
    deletes: list[str]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not self.adds and not self.deletes


def publish(folder: str | Path, repo_id: str, *, repo_type: str = "dataset", revision: str | None = None,
            tag: str | None = None, private: bool = False, message: str | None = None, api: HfApi | None = None,
            retry: Retry = DEFAULT_RETRY, max_commit_files: int = MAX_COMMIT_FILES, log: Log = print,
            card: CardRenderer | None = None) -> PublishResult:
    """Make `revision` (default `main`) of the Hub repo hold exactly the files of `folder`; see the module doc.
    `card` renders the README.md published for the repo (default: the folder's own)."""
    folder = Path(folder)
    if repo_type not in REPO_TYPES:
        raise PublishError(f"unknown repo type {repo_type!r}; use one of {', '.join(REPO_TYPES)}")
    if not folder.is_dir():
        raise PublishError(f"{folder}: not a folder")
    if not is_repo_id(repo_id):
        raise PublishError(f"{repo_id!r}: a Hub repo id is ORG/NAME")
    api = api or HfApi()
    branch = revision or "main"
    content = folder_content(folder, repo_id, log, card)
    if not content:
        raise PublishError(f"{folder}: nothing to publish (the folder is empty)")
    text = _card_text(content, repo_type)
    if text is None:
        log(f"warning: {folder} has no {CARD}; the Hub will show the repo without a card")
    space_sdk = front_matter(text).get("sdk") if repo_type == "space" and text is not None else None
    if repo_type == "space" and not space_sdk:
        raise PublishError(f"{folder}: a Space needs a {CARD} whose front matter names its sdk (gradio, docker, ...)")
    message = message or f"Publish {folder.resolve().name} with reasoning-hub-kit"
    sent: list[tuple[list[str], list[str]]] = []  # what an earlier attempt committed, its answer maybe lost

    def attempt() -> PublishResult:
        if text is not None:
            _hub_validates(api, text, repo_type)
        url = str(api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, space_sdk=space_sdk))
        if branch != "main":
            api.create_branch(repo_id, repo_type=repo_type, branch=branch, exist_ok=True)
        plan = _plan(api, repo_id, repo_type, branch, content)
        committed = bool(sent) and plan.empty  # a retry finding the work done: the commit landed
        added, deleted = sent[0] if committed else (sorted(plan.adds), sorted(plan.deletes))
        if tag and not plan.empty and (existing := tagged_commit(api, repo_id, repo_type, tag)) is not None:
            raise PublishError(f"tag {tag!r} of {repo_id} already points at {existing[:12]}, and the folder differs "
                               f"from {branch} ({len(plan.adds)} added or changed, {len(plan.deletes)} deleted files): "
                               "tags are not moved - choose a new tag; nothing was committed")
        if len(plan.adds) > max_commit_files:
            log(f"{len(plan.adds)} files to upload, more than the {max_commit_files} the Hub recommends per commit: "
                "uploading them with huggingface_hub's resumable multi-commit upload_folder (if it stops, run the "
                "same command again to resume); the card and deletions follow in one last commit")
            api.upload_folder(repo_id=repo_id, folder_path=folder, repo_type=repo_type, revision=branch,
                              commit_message=message, ignore_patterns=[*IGNORE, CARD])
            plan, committed = _plan(api, repo_id, repo_type, branch, content), True
        if not plan.empty:
            log(f"committing {len(plan.adds)} added or changed and {len(plan.deletes)} deleted files "
                f"({plan.unchanged} unchanged) to {repo_type} {repo_id}@{branch}")
            sent[:] = [(added, deleted)]
            info = api.create_commit(repo_id, repo_type=repo_type, revision=branch, parent_commit=plan.head,
                                     commit_message=message, operations=_operations(plan))
            plan.head, committed = info.oid, True
        if tag:
            _tag(api, repo_id, repo_type, tag, plan.head, log)
        return PublishResult(repo_id=repo_id, repo_type=repo_type, url=url, revision=branch, commit=plan.head,
                             committed=committed, added=added if committed else [],
                             deleted=deleted if committed else [], unchanged=plan.unchanged, tag=tag)

    result = with_retries(attempt, retry, log)
    if result.committed:
        log(f"published {result.commit[:12]} to {result.url}" + (f" (branch {branch})" if branch != "main" else ""))
    else:
        log(f"no changes: {repo_id}@{branch} already holds these files at {result.commit[:12]}; no new commit")
    return result


def repo_url(api: HfApi, repo_id: str, repo_type: str) -> str:
    """The repo's page at the endpoint `api` talks to."""
    return f"{api.endpoint}/{constants.REPO_TYPES_URL_PREFIXES.get(repo_type, '')}{repo_id}"


def folder_content(folder: Path, repo_id: str, log: Log = print,
                   card: CardRenderer | None = None) -> dict[str, Path | bytes]:
    """The repo paths to publish and where their bytes come from (a file, or the card `card` renders for the repo)."""
    content: dict[str, Path | bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not _ignored(rel):
            content[rel] = path
    if card is not None and CARD in content and (text := card(folder, repo_id, log)) is not None:
        content[CARD] = text.encode()
    return content


def infer_repo_type(folder: str | Path) -> str:
    """`space` for a README whose front matter names an `sdk`, `model` for a folder with config.json, else `dataset`."""
    folder = Path(folder)
    card = folder / CARD
    if card.is_file():
        try:
            if "sdk" in front_matter(card.read_text(encoding="utf-8")):
                return "space"
        except CardError:
            pass
    return "model" if (folder / "config.json").is_file() else "dataset"


def load_lines(result: PublishResult, configs: list[str]) -> list[str]:
    """Python lines that read a published dataset back, one per config."""
    rev = "" if result.revision == "main" and not result.tag else f", revision={json.dumps(result.tag or result.revision)}"
    lines = ["from datasets import load_dataset"]
    for name in configs:
        var = "ds" if name == "default" else name.replace("-", "_")
        conf = "" if name == "default" else f", {json.dumps(name)}"
        lines.append(f"{var} = load_dataset({json.dumps(result.repo_id)}{conf}{rev})")
    return lines


def _ignored(rel: str) -> bool:
    return any(fnmatch.fnmatch(rel, pattern) for pattern in IGNORE)


def _card_text(content: dict[str, Path | bytes], repo_type: str) -> str | None:
    """The card to publish, checked by `check_card`; None when the folder has none."""
    src = content.get(CARD)
    if src is None:
        return None
    text = src.read_text(encoding="utf-8") if isinstance(src, Path) else src.decode()
    try:
        check_card(text, repo_type, list(content))
    except CardError as exc:
        raise PublishError(str(exc)) from None
    return text


def _hub_validates(api: HfApi, text: str, repo_type: str) -> None:
    """The Hub's own metadata validation (licenses, tags, ...) at the endpoint `api` talks to."""
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    response = get_session().post(f"{api.endpoint}/api/validate-yaml", json={"repoType": repo_type, "content": text},
                                  headers=build_hf_headers(token=api.token))
    if response.status_code == 400:
        raise PublishError(f"the Hub rejects {CARD}'s metadata: {response.text.strip()}")
    hf_raise_for_status(response)


def _plan(api: HfApi, repo_id: str, repo_type: str, branch: str, content: dict[str, Path | bytes]) -> _Plan:
    """Compare the folder with the branch's head: what to add, what to delete, how much is unchanged."""
    head = api.repo_info(repo_id, repo_type=repo_type, revision=branch).sha
    if head is None:
        raise PublishError(f"the Hub did not say which commit {repo_id}@{branch} is at")
    remote = {f.path: f for f in api.list_repo_tree(repo_id, repo_type=repo_type, revision=head, recursive=True)
              if isinstance(f, RepoFile)}
    adds = {path: src for path, src in content.items() if path not in remote or not _same(src, remote[path])}
    deletes = sorted(p for p in remote if p not in content and p not in HUB_MANAGED)
    return _Plan(head=head, adds=adds, deletes=deletes, unchanged=len(content) - len(adds))


def _operations(plan: _Plan) -> list[CommitOperationAdd | CommitOperationDelete]:
    ops: list[CommitOperationAdd | CommitOperationDelete] = [CommitOperationDelete(path_in_repo=p) for p in plan.deletes]
    ops += [CommitOperationAdd(path_in_repo=p, path_or_fileobj=src if isinstance(src, bytes) else str(src))
            for p, src in sorted(plan.adds.items())]
    return ops


def _same(src: Path | bytes, remote: RepoFile) -> bool:
    size = len(src) if isinstance(src, bytes) else src.stat().st_size
    if size != remote.size:
        return False
    if remote.lfs is not None:
        return _digest(src, hashlib.sha256()) == remote.lfs.sha256
    return _digest(src, hashlib.sha1(b"blob %d\0" % size)) == remote.blob_id


def _digest(src: Path | bytes, h: Any) -> str:
    if isinstance(src, bytes):
        h.update(src)
    else:
        with src.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def tagged_commit(api: HfApi, repo_id: str, repo_type: str, tag: str) -> str | None:
    """The commit `tag` points at in the repo; None when the repo or the tag does not exist."""
    try:
        refs = api.list_repo_refs(repo_id, repo_type=repo_type)
    except RepositoryNotFoundError:
        return None
    return next((t.target_commit for t in refs.tags if t.name == tag), None)


def _tag(api: HfApi, repo_id: str, repo_type: str, tag: str, commit: str, log: Log) -> None:
    existing = tagged_commit(api, repo_id, repo_type, tag)
    if existing is None:
        api.create_tag(repo_id, repo_type=repo_type, tag=tag, revision=commit, exist_ok=True)
        log(f"tagged {commit[:12]} as {tag}")
    elif existing != commit:
        raise PublishError(f"tag {tag!r} of {repo_id} already points at {existing[:12]}, not at the "
                           f"published {commit[:12]}; tags are not moved - choose a new tag")


def _retry_after(exc: HfHubHTTPError) -> float | None:
    value = exc.response.headers.get("Retry-After") if exc.response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def with_retries(attempt: Callable[[], T], retry: Retry, log: Log) -> T:
    """Run `attempt` until it succeeds, retrying what the Hub says is temporary; each attempt plans afresh."""
    for n in range(1, retry.attempts + 1):
        try:
            return attempt()
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status not in RETRY_STATUS and status != 412:
                raise PublishError(_why(exc)) from None
            if n == retry.attempts:
                raise PublishError(f"{_why(exc)}, {n} times; {_UNCHANGED}") from None
            # 412: the branch moved after we planned (or our own commit landed and its answer was lost).
            why, wait = _why(exc), 0.0 if status == 412 else retry.wait(n, _retry_after(exc))
        except httpx2.TransportError as exc:
            if n == retry.attempts:
                raise PublishError(f"lost the connection to the Hub ({type(exc).__name__}); {_UNCHANGED}") from None
            why, wait = f"connection lost ({type(exc).__name__})", retry.wait(n, None)
        log(f"{why}; retrying in {wait:.1f} s (attempt {n + 1} of {retry.attempts})")
        time.sleep(wait)
    raise AssertionError("unreachable")


_UNCHANGED = "the repo keeps its previous revision - run the same command again to finish"


def _why(exc: HfHubHTTPError) -> str:
    status = exc.response.status_code if exc.response is not None else None
    if status == 401:
        return ("the Hub refused the token (401): set HF_TOKEN to a token with write access, or log in with "
                "`hf auth login`")
    if status == 403:
        return "the token may not write to this repo (403): check its permissions and the organization name"
    if isinstance(exc, RevisionNotFoundError):
        return f"revision not found: {exc.server_message or exc}"
    reason = {429: "rate limited", 412: "the branch moved"}.get(status or 0, "Hub error")
    detail = (exc.server_message or "").strip()
    return f"{reason} ({status})" + (f": {detail}" if detail else "")
