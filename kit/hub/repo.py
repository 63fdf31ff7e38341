"""Write a Hub-layout dataset folder (design.md, "Dataset repo contract") as a stream.

Which rows go where: both configs hold the samples that passed curation (verified and kept), in the
order they are added. `metadata` has one row per sample with its trace and verification
(`METADATA_FEATURES`); `default` has the same sample as chat `messages` (`DEFAULT_FEATURES`), ready for
TRL's SFTTrainer. A caller may pass `default_row=None` for a sample that belongs in `metadata` only;
the kit's curate step always passes both. Rejected samples are never written to parquet: they are
counted (with their reasons) in `stats.json`.

Layout of the finished folder::

    README.md                                            card; front matter declares the configs
    data/train-00000-of-0000N-<fingerprint>.parquet      default config
    metadata/train-00000-of-0000N-<fingerprint>.parquet  metadata config
    recipe.yaml  [pipeline.yaml]  stats.json

`<fingerprint>` is a hash of the bytes of that config's shards, and the card's `configs:` name only the shards
with it (`metadata/train-*-<fingerprint>.parquet`). datasets 5.2 caches `load_dataset(folder, config)` under
`<cache>/<folder's base name>/<config>/0.0.0/<hash>`, and that hash covers the card's `configs:` patterns but
neither the folder's path nor its files: with a fixed pattern, another folder of the same name or a re-run
into this one was served from the cache. Pinned to the content, the patterns change whenever the rows do, so
`load_dataset(folder, "metadata")` always reads the rows on disk (equal content may share a cache entry).
An unchanged re-run writes the same names, so `kit publish` finds nothing to upload.

Everything is written into a hidden temporary sibling folder that replaces `out_dir` only in
`finalize()`, so a crash never leaves a half-written folder that looks complete.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Features
from huggingface_hub import DatasetCard

from kit.core.schema import DEFAULT_FEATURES, METADATA_FEATURES

SPLIT = "train"

#: Config name -> folder of its shards, in the order the card lists them.
CONFIG_DIRS = {"default": "data", "metadata": "metadata"}

#: The `configs:` block of the card's front matter, exactly as the contract shows it: every shard of each
#: config. A card rendered for the writer declares it; `finalize()` pins it to the shards written.
CONFIGS: list[dict[str, Any]] = [
    {"config_name": name, "data_files": [{"split": SPLIT, "path": f"{folder}/{SPLIT}-*.parquet"}]}
    for name, folder in CONFIG_DIRS.items()
]

#: Hex digits of a content fingerprint in a file name (64 bits of sha256).
FINGERPRINT_CHARS = 16

#: Flush the row buffer when it holds this many bytes of text, whatever the row count.
BATCH_BYTES = 8 * 2**20


class OutputExistsError(FileExistsError):
    """The output folder exists, is not empty, and overwrite was not asked for."""


def content_fingerprint(files: list[Path]) -> str:
    """A short hash of the bytes of `files`, in order: it goes into their names (see the module docstring)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(b"%d\0" % path.stat().st_size)
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()[:FINGERPRINT_CHARS]


def pinned_configs(fingerprints: Mapping[str, str]) -> list[dict[str, Any]]:
    """The card's `configs:` block naming only the shards of the content written: config name -> fingerprint."""
    return [{"config_name": name,
             "data_files": [{"split": SPLIT, "path": f"{folder}/{SPLIT}-*-{fingerprints[name]}.parquet"}]}
            for name, folder in CONFIG_DIRS.items()]


def card_with_configs(card_text: str, configs: list[dict[str, Any]]) -> str:
    """`card_text` with its front matter's `configs:` replaced (huggingface_hub re-writes the front matter, keys
    in their order; the body is kept as it is)."""
    card = DatasetCard(card_text)
    card.data.configs = configs
    return card.content


def _text_size(row: Mapping[str, Any]) -> int:
    """A cheap size estimate of a sample: the characters of the metadata row's top-level strings.

    The `default` row holds the same text (problem, reasoning, solution), so one estimate serves both.
    """
    return sum(len(v) for v in row.values() if isinstance(v, str))


def _is_nonempty_dir_or_file(path: Path) -> bool:
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


class _ShardWriter:
    """Rows of one config appended to numbered parquet shards; at most one small batch held in memory."""

    def __init__(self, folder: Path, features: Features, shard_rows: int, batch_rows: int) -> None:
        self.folder = folder
        self.features = features
        self._columns = frozenset(features)
        self.schema = features.arrow_schema  # carries the `huggingface` metadata: load_dataset gets the features
        self.shard_rows = shard_rows
        self.batch_rows = min(batch_rows, shard_rows)
        self.rows = 0
        self.shards: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._in_shard = 0
        self._buffer: list[dict[str, Any]] = []
        self._buffer_bytes = 0
        folder.mkdir(parents=True)

    def add(self, row: Mapping[str, Any], size: int) -> None:
        """Buffer one row of about `size` bytes; write the buffer when it is full."""
        unknown = row.keys() - self._columns
        if unknown:
            raise ValueError(f"{self.folder.name} row has unknown column(s) {sorted(unknown)}; "
                             f"expected {list(self.features)}")
        self._buffer.append(dict(row))
        self._buffer_bytes += size
        self.rows += 1
        if (len(self._buffer) >= self.batch_rows or self._buffer_bytes >= BATCH_BYTES
                or self._in_shard + len(self._buffer) >= self.shard_rows):
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows (missing columns become null) and drop them."""
        if not self._buffer:
            return
        if self._writer is None:
            self._open_shard()
        table = pa.Table.from_pylist(self._buffer, schema=self.schema)
        self._writer.write_table(table)
        self._in_shard += table.num_rows
        self._buffer, self._buffer_bytes = [], 0
        if self._in_shard >= self.shard_rows:
            self._close_shard()

    def close(self) -> list[Path]:
        """Flush, close the open shard, make sure there is at least one (maybe empty) shard; the shards."""
        self.flush()
        if not self.shards:
            self._open_shard()
        self._close_shard()
        return self.shards

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._buffer = []

    def _open_shard(self) -> None:
        # Temporary name: the total number of shards is known only at the end.
        path = self.folder / f"{SPLIT}-{len(self.shards):05d}.parquet.partial"
        self._writer = pq.ParquetWriter(path, self.schema, use_content_defined_chunking=True,
                                        write_page_index=True)
        self.shards.append(path)
        self._in_shard = 0

    def _close_shard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._in_shard = 0

    def publish_names(self) -> str:
        """Rename the closed shards to their final `train-00000-of-0000N-<fingerprint>.parquet` names; the
        fingerprint (of the bytes of all of them)."""
        n, fingerprint = len(self.shards), content_fingerprint(self.shards)
        self.shards = [p.rename(p.with_name(f"{SPLIT}-{i:05d}-of-{n:05d}-{fingerprint}.parquet"))
                       for i, p in enumerate(self.shards)]
        return fingerprint


class DatasetRepoWriter:
    """Stream kept samples into a Hub-layout dataset folder; use as a context manager.

    ```python
    with DatasetRepoWriter(out_dir, shard_rows=10_000) as w:
        for meta, chat in kept_samples:
            w.add(meta, chat)
        w.finalize(card_text, recipe_yaml, stats)
    ```

    Leaving the `with` block by an exception, or without calling `finalize()`, deletes everything
    written and leaves `out_dir` as it was. Rows may omit nullable columns (they are written as null);
    unknown columns are an error.
    """

    def __init__(self, out_dir: str | Path, shard_rows: int = 10_000, overwrite: bool = False,
                 batch_rows: int = 1_000) -> None:
        if shard_rows < 1 or batch_rows < 1:
            raise ValueError("shard_rows and batch_rows must be at least 1")
        self.out_dir = Path(out_dir).absolute()
        self.overwrite = overwrite
        self._check_target()
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        # A hidden sibling (same file system: the final move is a rename), created with the usual umask.
        self._tmp = self.out_dir.with_name(f".{self.out_dir.name}.{uuid.uuid4().hex[:12]}.partial")
        self._tmp.mkdir()
        self._writers = {
            "default": _ShardWriter(self._tmp / CONFIG_DIRS["default"], DEFAULT_FEATURES, shard_rows, batch_rows),
            "metadata": _ShardWriter(self._tmp / CONFIG_DIRS["metadata"], METADATA_FEATURES, shard_rows, batch_rows),
        }
        self._done = False

    @property
    def rows_written(self) -> dict[str, int]:
        """Rows added so far per config: `{"default": n, "metadata": m}`."""
        return {name: w.rows for name, w in self._writers.items()}

    @property
    def shards(self) -> dict[str, list[Path]]:
        """Shard paths per config (final paths once finalized)."""
        return {name: list(w.shards) for name, w in self._writers.items()}

    def add(self, metadata_row: Mapping[str, Any], default_row: Mapping[str, Any] | None) -> None:
        """Append one kept sample: its `metadata` row and its `default` (chat) row, or None for metadata only."""
        if self._done:
            raise RuntimeError("DatasetRepoWriter is closed")
        size = _text_size(metadata_row)
        self._writers["metadata"].add(metadata_row, size)
        if default_row is not None:
            self._writers["default"].add(default_row, size)

    def finalize(self, card_text: str, recipe_yaml: str, stats: Mapping[str, Any],
                 pipeline_yaml: str | None = None) -> Path:
        """Close the shards, write README.md, recipe.yaml, [pipeline.yaml,] stats.json; move into place.

        `card_text` declares `CONFIGS`; the README.md written declares them pinned to the shards' content.
        """
        if self._done:
            raise RuntimeError("DatasetRepoWriter is closed")
        try:
            configs = DatasetCard(card_text).data.to_dict().get("configs")
            if configs != CONFIGS:
                raise ValueError(f"card front matter must declare configs: {CONFIGS}, got {configs}")
            fingerprints = {}
            for name, w in self._writers.items():
                w.close()
                fingerprints[name] = w.publish_names()
            card_text = card_with_configs(card_text, pinned_configs(fingerprints))
            (self._tmp / "README.md").write_text(card_text, encoding="utf-8")
            (self._tmp / "recipe.yaml").write_text(recipe_yaml, encoding="utf-8")
            if pipeline_yaml is not None:
                (self._tmp / "pipeline.yaml").write_text(pipeline_yaml, encoding="utf-8")
            (self._tmp / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n",
                                                  encoding="utf-8")
            self._check_target()
            self._move_into_place()
        except BaseException:
            self.abort()
            raise
        self._done = True
        for w in self._writers.values():
            w.shards = [self.out_dir / p.relative_to(self._tmp) for p in w.shards]
        return self.out_dir

    def abort(self) -> None:
        """Drop everything written so far; `out_dir` is left as it was."""
        for w in self._writers.values():
            w.abort()
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._done = True

    def __enter__(self) -> DatasetRepoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._done:
            return
        self.abort()
        if exc_type is None:
            raise RuntimeError(f"DatasetRepoWriter for {self.out_dir} closed without finalize(); nothing written")

    def _check_target(self) -> None:
        if _is_nonempty_dir_or_file(self.out_dir) and not self.overwrite:
            raise OutputExistsError(f"output folder {self.out_dir} exists and is not empty "
                                    "(pass --overwrite, or set output.overwrite: true, to replace it)")

    def _move_into_place(self) -> None:
        """Replace `out_dir` with the finished temporary folder (renames within one parent folder)."""
        old = None
        if self.out_dir.is_dir() and not self.out_dir.is_symlink():
            old = self.out_dir.with_name(self._tmp.name.removesuffix(".partial") + ".old")
            self.out_dir.rename(old)
        elif self.out_dir.exists() or self.out_dir.is_symlink():
            self.out_dir.unlink()
        try:
            self._tmp.rename(self.out_dir)
        except BaseException:
            if old is not None:
                old.rename(self.out_dir)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
