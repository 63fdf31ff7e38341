"""Bare-git storage for the stand-in Hugging Face Hub (huggingface.co) used in tests.

Every Hub repository served by :mod:`tests.hubserver` is a real bare git repository under a root
folder (``ROOT/models/org/name.git``, ``ROOT/datasets/org/name.git``, ``ROOT/spaces/org/name.git``), so
branches, tags, commit history and blob ids are the real git ones, exactly like on the Hub.

Writes go through git plumbing only: ``hash-object -w`` for the blobs, a temporary ``GIT_INDEX_FILE``
filled with ``update-index --index-info``, ``write-tree``, ``commit-tree`` and finally
``update-ref REF NEW OLD``, an atomic compare-and-swap of the branch head. Writes to one repository are
also serialised with a per-repository lock. The committer identity is fixed through the environment, so
no global git configuration is read or needed.

Objects are content-addressed, so listings and blobs are cached by object id, process-wide.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ZERO_OID = "0" * 40
REPO_TYPES = ("model", "dataset", "space")
DEFAULT_BRANCH = "main"
SYSTEM_AUTHOR = "system"

# What the Hub writes in the first commit of every new repository (abridged list of LFS patterns).
DEFAULT_GITATTRIBUTES = """*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.joblib filter=lfs diff=lfs merge=lfs -text
*.model filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.xz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
"""

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_REF_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_HEX_RE = re.compile(r"^[0-9a-f]{5,40}$")


class GitStoreError(Exception):
    """A request the store refuses; ``status``/``code`` say how the HTTP layer should answer."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
    )
    return env


_BASE_ENV = _git_env()


def _identity_env(author: str, when: int) -> dict[str, str]:
    email = f"{author}@users.noreply.huggingface.co"
    date = f"{when} +0000"
    return {
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": "Hub stand-in",
        "GIT_COMMITTER_EMAIL": "hub-standin@localhost",
        "GIT_COMMITTER_DATE": date,
    }


def run_git(git_dir: Path | None, *args: str, input: bytes | None = None, env: dict | None = None) -> bytes:
    cmd = ["git"]
    if git_dir is not None:
        cmd += ["--git-dir", str(git_dir)]
    cmd += list(args)
    full_env = dict(_BASE_ENV)
    if env:
        full_env.update(env)
    proc = subprocess.run(cmd, input=input, capture_output=True, env=full_env)
    if proc.returncode != 0:
        raise GitStoreError(500, f"git {args[0]} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def iso_date(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def validate_repo_path(path: str) -> str:
    """Normalise a path inside a repository, refusing anything that could escape or confuse git."""
    if not isinstance(path, str) or path == "":
        raise GitStoreError(400, "Empty path in repository")
    if path.startswith("/") or "\\" in path or "\x00" in path or "\n" in path:
        raise GitStoreError(400, f"Invalid path in repository: {path!r}")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts) or any(p.lower() == ".git" for p in parts):
        raise GitStoreError(400, f"Invalid path in repository: {path!r}")
    return path


def validate_ref_name(name: str) -> str:
    if (
        not _REF_NAME_RE.match(name or "")
        or ".." in name
        or "//" in name
        or name.endswith(("/", ".", ".lock"))
        or "@{" in name
        or name.startswith("refs/")
        or _HEX_RE.fullmatch(name) is not None
        and len(name) == 40
    ):
        raise GitStoreError(400, f"Invalid reference name: {name!r}")
    return name


# ----------------------------------------------------------------------------------------------- caches


class _LRU:
    """Small thread-safe LRU keyed by content-addressed ids (so it can be shared by all repositories)."""

    def __init__(self, max_items: int, max_bytes: int | None = None):
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._bytes = 0

    def get(self, key):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key, value, size: int = 0):
        with self._lock:
            if key in self._data:
                return
            if self._max_bytes is not None and size > self._max_bytes // 4:
                return  # too large to be worth caching
            self._data[key] = (value, size) if self._max_bytes is not None else value
            self._bytes += size
            while len(self._data) > self._max_items or (
                self._max_bytes is not None and self._bytes > self._max_bytes
            ):
                _, old = self._data.popitem(last=False)
                if self._max_bytes is not None:
                    self._bytes -= old[1]


_TREE_CACHE = _LRU(256)  # commit sha -> dict[path, Entry]
_BLOB_CACHE = _LRU(4096, max_bytes=64 * 1024 * 1024)  # blob oid -> bytes
_COMMIT_CACHE = _LRU(4096)  # commit sha -> CommitMeta
_LAST_COMMIT_CACHE = _LRU(64)  # commit sha -> dict[path, commit sha]


@dataclass(frozen=True)
class Entry:
    path: str
    type: str  # "file" or "directory"
    mode: str
    oid: str
    size: int


@dataclass(frozen=True)
class CommitMeta:
    id: str
    parents: tuple[str, ...]
    author: str
    epoch: int
    title: str
    message: str

    @property
    def date(self) -> str:
        return iso_date(self.epoch)


@dataclass(frozen=True)
class Ref:
    name: str  # full name, e.g. refs/heads/main
    target: str  # the commit the ref points to (tags are peeled)


@dataclass
class AddFile:
    path: str
    content: bytes


@dataclass
class DeleteFile:
    path: str


@dataclass
class DeleteFolder:
    path: str


CommitOp = AddFile | DeleteFile | DeleteFolder


# ----------------------------------------------------------------------------------------------- repository


@dataclass
class HubRepo:
    """One Hub repository, stored as a bare git repository."""

    repo_type: str
    repo_id: str
    git_dir: Path
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- metadata (visibility, creation date, space sdk) -------------------------------------------------

    @property
    def _meta_path(self) -> Path:
        return self.git_dir / "hub-standin.json"

    def meta(self) -> dict:
        try:
            return json.loads(self._meta_path.read_text())
        except (OSError, ValueError):
            return {}

    def update_meta(self, **values) -> None:
        with self.lock:
            meta = self.meta()
            meta.update(values)
            tmp = self._meta_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(meta))
            os.replace(tmp, self._meta_path)

    @property
    def private(self) -> bool:
        return bool(self.meta().get("private", False))

    # -- refs and revisions ---------------------------------------------------------------------------

    def refs(self) -> list[Ref]:
        out = run_git(
            self.git_dir, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)", "refs/"
        )
        refs = []
        for line in out.decode().splitlines():
            name, oid, peeled = line.split("\x00")
            refs.append(Ref(name=name, target=peeled or oid))
        return refs

    def ref_target(self, ref: str) -> str | None:
        for r in self.refs():
            if r.name == ref:
                return r.target
        return None

    def has_commit(self, sha: str) -> bool:
        proc = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "cat-file", "-t", sha],
            capture_output=True,
            env=_BASE_ENV,
        )
        return proc.returncode == 0 and proc.stdout.strip() == b"commit"

    def resolve(self, rev: str) -> str | None:
        """Commit sha for a branch, tag, ``refs/...`` name, or a full or abbreviated commit sha."""
        if not rev:
            return None
        refs = {r.name: r.target for r in self.refs()}
        if rev.startswith("refs/"):
            return refs.get(rev)
        for candidate in (f"refs/heads/{rev}", f"refs/tags/{rev}"):
            if candidate in refs:
                return refs[candidate]
        lowered = rev.lower()
        if _HEX_RE.fullmatch(lowered):
            if len(lowered) == 40:
                return lowered if self.has_commit(lowered) else None
            proc = subprocess.run(
                [
                    "git",
                    "--git-dir",
                    str(self.git_dir),
                    "rev-parse",
                    "--verify",
                    "-q",
                    f"{lowered}^{{commit}}",
                ],
                capture_output=True,
                env=_BASE_ENV,
            )
            if proc.returncode == 0:
                return proc.stdout.decode().strip()
        return None

    # -- reading ----------------------------------------------------------------------------------------

    def entries(self, commit: str) -> dict[str, Entry]:
        """Every file and directory of a commit, keyed by path."""
        cached = _TREE_CACHE.get(commit)
        if cached is not None:
            return cached
        out = run_git(self.git_dir, "ls-tree", "-r", "-t", "-l", "-z", "--full-tree", commit)
        entries: dict[str, Entry] = {}
        for record in out.split(b"\x00"):
            if not record:
                continue
            meta, _, path_b = record.partition(b"\t")
            mode, otype, oid, size = meta.decode().split()
            path = path_b.decode("utf-8", errors="surrogateescape")
            if otype == "tree":
                entries[path] = Entry(path, "directory", mode, oid, 0)
            elif otype == "blob":
                entries[path] = Entry(path, "file", mode, oid, int(size))
        _TREE_CACHE.put(commit, entries)
        return entries

    def tree_oid(self, commit: str) -> str:
        return run_git(self.git_dir, "rev-parse", f"{commit}^{{tree}}").decode().strip()

    def blob(self, oid: str) -> bytes:
        cached = _BLOB_CACHE.get(oid)
        if cached is not None:
            return cached[0]
        data = run_git(self.git_dir, "cat-file", "blob", oid)
        _BLOB_CACHE.put(oid, data, size=len(data))
        return data

    def read_file(self, commit: str, path: str) -> bytes | None:
        entry = self.entries(commit).get(path)
        if entry is None or entry.type != "file":
            return None
        return self.blob(entry.oid)

    def commit_meta(self, sha: str) -> CommitMeta:
        cached = _COMMIT_CACHE.get(sha)
        if cached is not None:
            return cached
        return self.log(sha, limit=1)[0]

    def log(self, sha: str, limit: int | None = None) -> list[CommitMeta]:
        """Commits reachable from ``sha``, newest first."""
        args = ["log", "-z", "--format=%H%x1f%P%x1f%an%x1f%ct%x1f%B"]
        if limit is not None:
            args.append(f"-n{limit}")
        out = run_git(self.git_dir, *args, sha)
        commits = []
        for record in out.decode("utf-8", errors="replace").split("\x00"):
            if not record.strip():
                continue
            cid, parents, author, epoch, body = record.split("\x1f", 4)
            title, _, message = body.rstrip("\n").partition("\n\n")
            meta = CommitMeta(cid.strip(), tuple(parents.split()), author, int(epoch), title, message)
            _COMMIT_CACHE.put(meta.id, meta)
            commits.append(meta)
        return commits

    def last_commits(self, commit: str) -> dict[str, str]:
        """For every path of ``commit`` (files and folders), the last commit that touched it."""
        cached = _LAST_COMMIT_CACHE.get(commit)
        if cached is not None:
            return cached
        out = run_git(
            self.git_dir, "-c", "core.quotePath=false", "log", "--format=%x1e%H", "--name-only", commit
        )
        last: dict[str, str] = {}
        for chunk in out.decode("utf-8", errors="replace").split("\x1e"):
            lines = [line for line in chunk.split("\n") if line]
            if not lines:
                continue
            sha, paths = lines[0], lines[1:]
            for path in paths:
                last.setdefault(path, sha)
                parts = path.split("/")
                for i in range(1, len(parts)):
                    last.setdefault("/".join(parts[:i]), sha)
        _LAST_COMMIT_CACHE.put(commit, last)
        return last

    # -- writing ----------------------------------------------------------------------------------------

    def _write_blobs(self, contents: list[bytes]) -> list[str]:
        if not contents:
            return []
        with tempfile.TemporaryDirectory(prefix="hub-standin-blobs-") as tmp:
            paths = []
            for i, content in enumerate(contents):
                p = os.path.join(tmp, str(i))
                with open(p, "wb") as f:
                    f.write(content)
                paths.append(p)
            out = run_git(
                self.git_dir,
                "hash-object",
                "-w",
                "--no-filters",
                "--stdin-paths",
                input="\n".join(paths).encode(),
            )
        oids = out.decode().split()
        assert len(oids) == len(contents)
        return oids

    def _write_tree(self, files: dict[str, tuple[str, str]]) -> str:
        with tempfile.TemporaryDirectory(prefix="hub-standin-index-") as tmp:
            env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
            if files:
                payload = b"".join(
                    f"{mode} {oid}\t".encode() + path.encode("utf-8", errors="surrogateescape") + b"\x00"
                    for path, (mode, oid) in sorted(files.items())
                )
                run_git(self.git_dir, "update-index", "-z", "--add", "--index-info", input=payload, env=env)
            return run_git(self.git_dir, "write-tree", env=env).decode().strip()

    def _commit_tree(self, tree: str, parents: list[str], message: str, author: str) -> str:
        args = ["commit-tree", tree]
        for p in parents:
            args += ["-p", p]
        args += ["-F", "-"]
        env = _identity_env(author, int(time.time()))
        return run_git(self.git_dir, *args, input=message.encode(), env=env).decode().strip()

    def _update_ref(self, ref: str, new: str, old: str | None) -> None:
        """Compare-and-swap: ``old=None`` means the ref must not exist yet."""
        try:
            run_git(self.git_dir, "update-ref", ref, new, old or ZERO_OID)
        except GitStoreError as e:
            raise GitStoreError(409, f"Reference {ref} was updated concurrently, retry") from e

    def commit(
        self,
        ref: str,
        ops: list[CommitOp],
        *,
        summary: str,
        description: str = "",
        author: str,
        parent_commit: str | None = None,
        base: str | None = None,
        create_ref: bool = False,
    ) -> str:
        """Apply ``ops`` on top of ``ref`` (or of ``base``) and move ``ref`` to the new commit atomically.

        ``ref`` is a full ref name. With ``create_ref`` the ref must not exist yet and ``base`` is the
        parent commit (used for pull requests). The whole commit is refused, and nothing is written to any
        ref, if a single operation is invalid.
        """
        with self.lock:
            current = self.ref_target(ref)
            if create_ref:
                if current is not None:
                    raise GitStoreError(409, f"Reference {ref} already exists")
                head = base
            else:
                if current is None:
                    raise GitStoreError(404, f"Invalid rev id: {ref}", "RevisionNotFound")
                head = current
            if parent_commit is not None and not create_ref:
                if head is None or not head.startswith(parent_commit.lower()):
                    raise GitStoreError(
                        412,
                        "A commit has happened since. Please refresh and try again.",
                        "PreconditionFailed",
                    )

            files: dict[str, tuple[str, str]] = {}
            if head is not None:
                files = {p: (e.mode, e.oid) for p, e in self.entries(head).items() if e.type == "file"}
            adds = [op for op in ops if isinstance(op, AddFile)]
            oids = dict(
                zip((id(op) for op in adds), self._write_blobs([op.content for op in adds]), strict=True)
            )
            for op in ops:
                if isinstance(op, AddFile):
                    mode = files.get(op.path, ("100644", ""))[0]
                    files[op.path] = (mode if mode in ("100644", "100755") else "100644", oids[id(op)])
                elif isinstance(op, DeleteFile):
                    if op.path not in files:
                        raise GitStoreError(404, f"File not found: {op.path}", "EntryNotFound")
                    del files[op.path]
                elif isinstance(op, DeleteFolder):
                    prefix = op.path.rstrip("/") + "/"
                    doomed = [p for p in files if p.startswith(prefix)]
                    if not doomed:
                        raise GitStoreError(404, f"Folder not found: {op.path}", "EntryNotFound")
                    for p in doomed:
                        del files[p]
            folders = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
            clashes = sorted(folders.intersection(files))
            if clashes:
                raise GitStoreError(400, f"Path is both a file and a folder: {clashes[0]}")

            tree = self._write_tree(files)
            message = summary if not description else f"{summary}\n\n{description}"
            new = self._commit_tree(tree, [head] if head else [], message, author)
            self._update_ref(ref, new, None if create_ref else head)
            return new

    def create_ref(self, ref: str, target: str) -> None:
        with self.lock:
            if self.ref_target(ref) is not None:
                raise GitStoreError(409, f"Reference {ref} already exists")
            self._update_ref(ref, target, None)

    def create_tag(self, name: str, target: str, message: str | None, tagger: str) -> None:
        ref = f"refs/tags/{name}"
        with self.lock:
            if self.ref_target(ref) is not None:
                raise GitStoreError(409, f"Tag {name} already exists")
            obj = target
            if message:
                now = int(time.time())
                body = (
                    f"object {target}\ntype commit\ntag {name}\n"
                    f"tagger {tagger} <{tagger}@users.noreply.huggingface.co> {now} +0000\n\n{message}\n"
                )
                obj = run_git(self.git_dir, "mktag", input=body.encode()).decode().strip()
            self._update_ref(ref, obj, None)

    def delete_ref(self, ref: str) -> None:
        with self.lock:
            current = run_git(self.git_dir, "for-each-ref", "--format=%(objectname)", ref).decode().strip()
            if not current:
                raise GitStoreError(404, f"Invalid rev id: {ref}", "RevisionNotFound")
            run_git(self.git_dir, "update-ref", "-d", ref, current)


# ----------------------------------------------------------------------------------------------- store


class GitStore:
    """All repositories of the stand-in Hub, under one root folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._repos: dict[tuple[str, str], HubRepo] = {}

    @staticmethod
    def check_repo_id(repo_id: str) -> tuple[str, str]:
        parts = repo_id.split("/")
        if len(parts) != 2 or not all(_NAME_RE.match(p) and ".." not in p for p in parts):
            raise GitStoreError(400, f"Invalid repo id: {repo_id!r}")
        if parts[1].endswith(".git"):
            raise GitStoreError(400, f"Invalid repo name: {repo_id!r}")
        return parts[0], parts[1]

    def git_dir(self, repo_type: str, repo_id: str) -> Path:
        if repo_type not in REPO_TYPES:
            raise GitStoreError(400, f"Invalid repo type: {repo_type!r}")
        namespace, name = self.check_repo_id(repo_id)
        return self.root / f"{repo_type}s" / namespace / f"{name}.git"

    def get(self, repo_type: str, repo_id: str) -> HubRepo | None:
        try:
            git_dir = self.git_dir(repo_type, repo_id)
        except GitStoreError:
            return None
        key = (repo_type, repo_id)
        with self._lock:
            repo = self._repos.get(key)
            if repo is not None and (git_dir / "HEAD").exists():
                return repo
            if not (git_dir / "HEAD").exists() or not (git_dir / "hub-standin.json").exists():
                self._repos.pop(key, None)
                return None
            repo = HubRepo(repo_type, repo_id, git_dir)
            self._repos[key] = repo
            return repo

    def create(
        self, repo_type: str, repo_id: str, *, private: bool = False, sdk: str | None = None
    ) -> HubRepo:
        git_dir = self.git_dir(repo_type, repo_id)
        with self._lock:
            if (git_dir / "hub-standin.json").exists():
                raise GitStoreError(409, f"You already created this {repo_type} repo")
            if git_dir.exists():  # half-created leftover
                shutil.rmtree(git_dir)
            git_dir.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{git_dir.name}.", dir=git_dir.parent))
            run_git(None, "init", "-q", "--bare", f"--initial-branch={DEFAULT_BRANCH}", str(tmp))
            repo = HubRepo(repo_type, repo_id, tmp)
            repo.commit(
                f"refs/heads/{DEFAULT_BRANCH}",
                [AddFile(".gitattributes", DEFAULT_GITATTRIBUTES.encode())],
                summary="initial commit",
                author=SYSTEM_AUTHOR,
                create_ref=True,
            )
            meta = {"private": bool(private), "createdAt": iso_date(int(time.time()))}
            if sdk:
                meta["sdk"] = sdk
            (tmp / "hub-standin.json").write_text(json.dumps(meta))
            os.replace(tmp, git_dir)
            repo = HubRepo(repo_type, repo_id, git_dir)
            self._repos[(repo_type, repo_id)] = repo
            return repo

    def delete(self, repo_type: str, repo_id: str) -> None:
        git_dir = self.git_dir(repo_type, repo_id)
        with self._lock:
            if not (git_dir / "HEAD").exists():
                raise GitStoreError(404, "Repository not found", "RepoNotFound")
            self._repos.pop((repo_type, repo_id), None)
            shutil.rmtree(git_dir)
