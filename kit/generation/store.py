"""The append-only store of finished samples: what makes generation resumable.

A sample is finished once the teacher answered and the answer was split (usable or rejected with a
reason); it is keyed by `(problem_id, sample_index)`. Samples are appended as JSON lines, each batch
written with one `write()` and flushed to disk (`fsync`), so a crash, `kill -9` or Ctrl-C loses at most the
batch in flight. A line cut short by a kill is dropped when the store is opened again. Lines go to
`samples-00000.jsonl`, then a new part once a part reaches `PART_BYTES`, so a checkpoint to the Hub
uploads only the parts that grew. A re-run asks
the teacher only for the keys the store does not hold (distilabel's own cache recovery is not relied on:
argilla-io/distilabel issue 1065).

The store also records the fingerprint of what shapes a sample (teacher, sampling, prompt): samples made
under another recipe are never mixed in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

PART = "samples-{:05d}.jsonl"
PART_GLOB = "samples-*.jsonl"
PART_BYTES = 8 << 20
MANIFEST = "store.json"


class StoreMismatchError(ValueError):
    """The store was made by a recipe that generates differently."""


class SampleStore:
    """A folder with `store.json` (the fingerprint) and `samples-NNNNN.jsonl` parts (one sample a line)."""

    def __init__(self, folder: str | Path, fingerprint: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        manifest = self.folder / MANIFEST
        if manifest.is_file():
            recorded = json.loads(manifest.read_text(encoding="utf-8")).get("fingerprint")
            if recorded != fingerprint:
                changed = sorted(k for k in {*recorded, *fingerprint} if recorded.get(k) != fingerprint.get(k))
                raise StoreMismatchError(
                    f"{self.folder} holds samples generated with other settings ({', '.join(changed)} changed); "
                    "delete it to start over, or restore the recipe to resume")
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = manifest.with_suffix(".tmp")
            tmp.write_text(json.dumps({"fingerprint": fingerprint}, indent=2, sort_keys=True), encoding="utf-8")
            os.replace(tmp, manifest)
        self._drop_torn_tail()
        self._index: dict[tuple[str, int], tuple[Path, int]] | None = None

    @property
    def parts(self) -> list[Path]:
        return sorted(self.folder.glob(PART_GLOB))

    @property
    def path(self) -> Path:
        """The part being appended to."""
        parts = self.parts
        if parts and parts[-1].stat().st_size < PART_BYTES:
            return parts[-1]
        return self.folder / PART.format(len(parts))

    def _drop_torn_tail(self) -> None:
        """Cut a last line left incomplete by a killed writer."""
        parts = self.parts
        if not parts:
            return
        with parts[-1].open("rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            pos = size
            while pos > 0:
                step = min(65536, pos)
                fh.seek(pos - step)
                chunk = fh.read(step)
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    fh.truncate(pos - step + cut + 1)
                    return
                pos -= step
            fh.truncate(0)

    def append(self, samples: Iterable[dict[str, Any]]) -> int:
        """Append finished samples (each with problem_id and sample_index); durable when this returns."""
        lines = "".join(json.dumps(s, ensure_ascii=False, sort_keys=True) + "\n" for s in samples)
        if not lines:
            return 0
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            data = lines.encode("utf-8")
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        return lines.count("\n")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Every stored sample once (the first copy of a key, should one ever be written twice)."""
        seen: set[tuple[str, int]] = set()
        for part in self.parts:
            for sample in read_samples(part):
                key = (sample["problem_id"], sample["sample_index"])
                if key not in seen:
                    seen.add(key)
                    yield sample

    def snapshot(self, dest: Path) -> int:
        """Copy the manifest and every complete line of every part to `dest` (for a checkpoint)."""
        dest.mkdir(parents=True, exist_ok=True)
        (dest / MANIFEST).write_bytes((self.folder / MANIFEST).read_bytes())
        count = 0
        for part in self.parts:
            data = part.read_bytes()
            data = data[: data.rfind(b"\n") + 1]
            (dest / part.name).write_bytes(data)
            count += data.count(b"\n")
        return count

    def merge(self, folder: Path) -> int:
        """Append the samples of another store's parts (a checkpoint) that this one lacks; return how many."""
        theirs = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("fingerprint")
        ours = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8")).get("fingerprint")
        if theirs != ours:
            raise StoreMismatchError(f"the checkpoint in {folder} was generated with other settings")
        have, new = self.keys(), []
        for part in sorted(folder.glob(PART_GLOB)):
            for sample in read_samples(part):
                key = (sample["problem_id"], sample["sample_index"])
                if key not in have:
                    have.add(key)
                    new.append(sample)
        return self.append(new)

    def keys(self) -> set[tuple[str, int]]:
        return {(s["problem_id"], s["sample_index"]) for s in self}

    def fetch(self, keys: set[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        """The stored samples of `keys` (those present), read by offset through an index built once."""
        if self._index is None:
            self._index = {}
            for part in self.parts:
                offset = 0
                with part.open("rb") as fh:
                    for line in fh:
                        if not line.endswith(b"\n"):
                            break
                        sample = json.loads(line)
                        self._index.setdefault((sample["problem_id"], sample["sample_index"]), (part, offset))
                        offset += len(line)
        found: dict[tuple[str, int], dict[str, Any]] = {}
        by_part: dict[Path, list[tuple[int, tuple[str, int]]]] = {}
        for k in keys:
            if k in self._index:
                part, offset = self._index[k]
                by_part.setdefault(part, []).append((offset, k))
        for part, wanted in by_part.items():
            with part.open("rb") as fh:
                for offset, k in sorted(wanted):
                    fh.seek(offset)
                    found[k] = json.loads(fh.readline())
        return found

    def __len__(self) -> int:
        return len(self.keys())


def read_samples(part: Path) -> Iterator[dict[str, Any]]:
    """The samples of one part file; a last line still being written (or cut short) is skipped."""
    with part.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                return
            yield json.loads(line)
