"""Checkpoints of the sample store on a branch of the Hub dataset repo, for `kit curate --push`.

While the pipeline runs, the stores (the teacher's, and the reformatter's and judge's in subfolders) are
published (through `kit.hub.publish`, so only the parts that
grew are uploaded) to the branch `kit-samples` of the dataset repo every `output.checkpoint_every` new
samples or `output.checkpoint_minutes`, whichever comes first, and once more at the end. A run started
anywhere with the same recipe and `--push` first merges that checkpoint into its local store, so a
preempted job or a lost machine costs at most one checkpoint interval of generation.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from huggingface_hub import HfApi
from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

from kit.core.log import Log
from kit.core.parallel import ticking
from kit.generation.store import PART_GLOB, SampleStore
from kit.hub.publish import DEFAULT_RETRY, PublishError, Retry, publish, with_retries

BRANCH = "kit-samples"


class HubCheckpoint:
    """`stores` maps a subfolder of the checkpoint ("" for the top) to the local store kept there."""

    def __init__(self, stores: dict[str, SampleStore], repo_id: str, *, every: int, minutes: float,
                 private: bool = False, log: Log = print, api: HfApi | None = None, retry: Retry = DEFAULT_RETRY) -> None:
        self.stores, self.repo_id, self.every, self.minutes = stores, repo_id, every, minutes
        self.private, self.log, self.api, self.retry = private, log, api or HfApi(), retry
        self.saved = -1  # samples in the last checkpoint
        self._counted = (-1, 0)  # (store size in bytes, lines) at the last count

    def restore(self) -> int:
        """Merge the Hub checkpoint into the local stores; return how many teacher samples it added."""
        with tempfile.TemporaryDirectory(prefix="kit-checkpoint-") as tmp:

            def fetch() -> bool:
                try:
                    self.api.snapshot_download(self.repo_id, repo_type="dataset", revision=BRANCH, local_dir=tmp,
                                               allow_patterns=[f"{p}{name}" for p in ("", "*/")
                                                                       for name in ("store.json", PART_GLOB)])
                except (RepositoryNotFoundError, RevisionNotFoundError):
                    return False  # no checkpoint yet
                return True

            try:
                found = with_retries(fetch, self.retry, self.log)
            except PublishError as exc:
                raise PublishError(f"could not read the checkpoint of {self.repo_id}@{BRANCH}: {exc}") from None
            if not found or not (Path(tmp) / "store.json").is_file():
                return 0
            merged = {name: store.merge(Path(tmp) / name) for name, store in self.stores.items()
                      if (Path(tmp) / name / "store.json").is_file()}
        parts = [f"{merged.get('', 0)} samples not generated again",
                 *(f"{n} {name} results not asked again" for name, n in merged.items() if name and n)]
        if any(merged.values()):
            self.log(f"resumed from the Hub checkpoint {self.repo_id}@{BRANCH}: {', '.join(parts)}")
        return merged.get("", 0)

    def save(self) -> None:
        """Publish the store's complete lines to the checkpoint branch (no commit when nothing changed)."""
        with tempfile.TemporaryDirectory(prefix="kit-checkpoint-") as tmp:
            count = sum(store.snapshot(Path(tmp) / name) for name, store in self.stores.items())
            if count == self.saved:
                return
            publish(tmp, self.repo_id, repo_type="dataset", revision=BRANCH, private=self.private,
                    message=f"Checkpoint: {count} records", log=lambda _: None, api=self.api, retry=self.retry)
        self.saved = count
        self.log(f"checkpoint: {count} records on {self.repo_id}@{BRANCH}")

    def _count(self) -> int:
        """Lines in the store, re-counted only when its size changed since the last call."""
        parts = [part for store in self.stores.values() for part in store.parts]
        size = sum(part.stat().st_size for part in parts)
        if size != self._counted[0]:
            self._counted = (size, sum(part.read_bytes().count(b"\n") for part in parts))
        return self._counted[1]

    @contextmanager
    def running(self, poll_s: float = 1.0) -> Iterator[None]:
        """Checkpoint in the background while the block runs, and once more when it ends."""
        last = time.monotonic()

        def tick() -> None:
            nonlocal last
            due = time.monotonic() - last >= self.minutes * 60
            if due or self._count() - max(self.saved, 0) >= self.every:
                try:
                    self.save()
                except PublishError as exc:  # the run goes on; the next checkpoint tries again
                    self.log(f"warning: checkpoint failed: {exc}")
                last = time.monotonic()

        with ticking(tick, poll_s, "kit-checkpoint", final=self.save):
            yield
