"""Rows from files, dataset folders and Hub datasets, streamed (memory does not grow with the dataset).

`iter_rows(path)` accepts:

- `kit:samples/NAME.jsonl` - a file bundled with the kit (under `kit/data/`);
- a local `.jsonl`, `.jsonl.gz`, `.json`, `.parquet`, `.csv` or `.tsv` file (CSV through `datasets`' csv builder,
  as a dataset folder's CSV is read: an empty cell is None; GPQA ships its configs as CSV files);
- a local dataset folder (e.g. one written by `kit curate`: README.md `configs:`, `data/`, `metadata/`),
  read with `datasets.load_dataset(folder, config, split=split, streaming=True)`;
- otherwise a Hub dataset id, read the same way.

Every failure is a `SourceError` whose message is one line naming the path (and the line of a bad JSONL row).

`read_chat(turns)` reads a chat column - OpenAI-style `messages` (`role`/`content`) or ShareGPT
`conversations` (`from`/`value`, from in human/user/gpt/assistant/system) - into its system turn, the user
turn the reply answers, and the reply (the last assistant turn); the `dataset` teacher (`kit.generation.teachers`)
splits that reply like any other. `chat_problem(turns)` reads a problem column that holds a chat (verl's
`prompt`): its last user turn and its system turn, for `kit curate` and `kit train` alike. A column map may name a
nested field by its path (`column_value`: `reward_model.ground_truth`).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any

import pyarrow.parquet as pq

from kit.core.chat import content_chunks, reasoning_field

PACKAGE_PREFIX = "kit:"
_JSON_SUFFIXES = (".jsonl", ".jsonl.gz", ".json")
_CSV_SEPARATORS = {".csv": ",", ".tsv": "\t"}
_FILE_SUFFIXES = (*_JSON_SUFFIXES, ".parquet", *_CSV_SEPARATORS)
CHAT_COLUMNS = ("messages", "conversations")  # chat columns read without a mapping, in this order
PLACEHOLDER_ORG = "your-org/"  # the shipped recipes' stand-in for the user's own Hub repos
# ShareGPT `from` values (and OpenAI roles) -> role
_ROLES = {"system": "system", "user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant",
          "model": "assistant"}


class SourceError(ValueError):
    """A source that cannot be read; the message is one line naming the path."""


def resolve_package_path(path: str) -> Path:
    """The file behind `kit:REL` (REL is relative to `kit/data/`, e.g. `kit:samples/math.jsonl`)."""
    rel = path.removeprefix(PACKAGE_PREFIX).strip("/")
    if not rel or ".." in Path(rel).parts:
        raise SourceError(f"{path}: expected kit:FOLDER/FILE inside the kit's data folder")
    target = resources.files("kit").joinpath("data", *Path(rel).parts)
    if not target.is_file():
        raise SourceError(f"{path}: no such file bundled with the kit")
    return Path(str(target))


def iter_rows(path: str, *, config: str | None = None, split: str = "train",
              columns: Mapping[str, str | list[str]] | None = None, where: Mapping[str, Any] | None = None,
              limit: int | None = None, revision: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield rows of `path` as dicts, with kit columns taken from input columns by `columns` (kit -> input; an input
    column may name a nested field by its path, `reward_model.ground_truth`; a kit column mapped to a list of input
    columns gets the list of their values, `mapped_value`).

    `where` keeps the rows whose input column equals a value (or one of a list of values); `config` and
    `split` apply to dataset folders and Hub datasets, `revision` (branch, tag or commit) to Hub datasets; `limit`
    stops after that many (kept) rows.
    """
    if limit is not None and limit <= 0:
        return
    rows = _open(path, config=config, split=split, revision=revision)
    mapping = dict(columns or {})
    keep = row_filter(where)
    count = 0
    taken = list(dict.fromkeys(name for source in mapping.values()
                               for name in ([source] if isinstance(source, str) else source)))
    for n, row in enumerate(rows, start=1):
        if n == 1 and (missing := [c for c in [*taken, *(where or {})] if column_value(row, c) is MISSING]):
            raise SourceError(f"{path}: no column {missing[0]!r} (columns: {', '.join(row)})")
        if not keep(row):
            continue
        if mapping:
            row = ({k: v for k, v in row.items() if k not in taken}
                   | {kit: mapped_value(row, source, kit) for kit, source in mapping.items()})
        yield row
        count += 1
        if limit is not None and count >= limit:
            return


def count_rows(path: str) -> int | None:
    """How many rows `iter_rows(path)` yields, where a local file says so cheaply - a Parquet file's metadata, the
    non-blank lines of a JSON Lines file - for a progress bar's total; None for anything else (a dataset folder, a
    Hub dataset, a JSON array) or a file that cannot be read."""
    file = resolve_package_path(path) if path.startswith(PACKAGE_PREFIX) else Path(path).expanduser()
    name = file.name.lower()
    try:
        if name.endswith(".parquet"):
            return pq.ParquetFile(file).metadata.num_rows
        if name.endswith((".jsonl", ".jsonl.gz")):
            with _open_text(file) as handle:
                return sum(1 for line in handle if line.strip())
    except (OSError, UnicodeDecodeError, ValueError, SourceError):
        return None
    return None


MISSING = object()


def row_filter(where: Mapping[str, Any] | None) -> Callable[[Mapping[str, Any]], bool]:
    """A recipe's `where:` as a test of one row: each named input column (a nested field by its path) equals the
    value, or one of a list of values (None: the column is null, or a field of a null struct). `kit curate` sources
    and `kit train` mixtures filter with it."""
    wanted = {k: set(v) if isinstance(v, list | tuple) else {v} for k, v in (where or {}).items()}

    def keep(row: Mapping[str, Any]) -> bool:
        return all(_hashable(v := column_value(row, column)) and v in values for column, values in wanted.items())

    return keep


def column_value(row: Mapping[str, Any], name: str) -> Any:
    """`row[name]`, or a nested field named by its path (`reward_model.ground_truth`, as `datasets`' `flatten()`
    names it) when no column has that name; `MISSING` when there is neither. A number in the path indexes a list
    (`messages.0.info.reference_answer`, a field of a chat's first turn; `-1` is the last). A column holding JSON
    text is read through as its value (PrimeIntellect's `verification_info.ground_truth`). A field of a null struct
    is None, and so is an index past the end of a list (a row's list may be short or empty: KodCode's `test_info`);
    a field no struct has is MISSING. `kit train` reads a mixture's nested columns with it too."""
    if name in row:
        return row[name]
    head, dot, rest = name.partition(".")
    if not dot or head not in row:
        return MISSING
    return _nested(row[head], rest)


def _nested(value: Any, path: str) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):  # a JSON text column: its fields
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return MISSING
    if isinstance(value, Mapping):
        return column_value(value, path)
    head, dot, rest = path.partition(".")
    if not isinstance(value, list | tuple) or not head.lstrip("-").isdigit():
        return MISSING
    index = int(head)
    if not -len(value) <= index < len(value):
        return None
    return _nested(value[index], rest) if dot else value[index]


def mapped_value(row: Mapping[str, Any], source: str | list[str], name: str | None = None) -> Any:
    """The value a column map gives kit column `name`: the input column's (`column_value`; None where a later row lacks
    it), or for a list of input columns the list of their values (the tests CodeContests splits over three columns:
    `kit.core.testcases.joined_tests` makes them one set), and for a chat column (`messages`) their turns, joined in
    order (TRL's conversational prompt-completion form: `messages: [prompt, completion]`, `joined_turns`)."""
    if isinstance(source, str):
        return _present(column_value(row, source))
    values = [_present(column_value(row, column)) for column in source]
    return joined_turns(values) if name in CHAT_COLUMNS else values


def joined_turns(values: list[Any]) -> Any:
    """One chat from columns that each hold part of it (a list of turns, or one turn; None adds none), in order. A
    part that is neither leaves the values as they are, for the chat reader to refuse (`invalid_chat`)."""
    turns: list[Any] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return values
        if isinstance(value, Mapping):
            turns.append(value)
        elif isinstance(value, list | tuple):
            turns.extend(value)
        else:
            return values
    return turns


def _present(value: Any) -> Any:
    """A mapped value; None for a column a later row lacks (the first row names every missing column)."""
    return None if value is MISSING else value


def _hashable(value: Any) -> bool:
    return not isinstance(value, list | dict | set)


def not_found(path: str, kind: str, error: BaseException | None = None) -> str:
    """One line for a `path` that is neither a local folder nor a Hub repo that could be reached, naming the fix:
    the kit's recipe that makes a folder of that name (`out/quickstart` -> kit curate
    recipes/data/quickstart.yaml), else the command that makes one; reaching the Hub first when it was not asked
    (offline, no network: `error`), logging in when it does not show the repo (private or gated). `kind` is
    "dataset" or "model"."""
    import kit

    command, folder = ("kit curate", "data") if kind == "dataset" else ("kit train", "sft")
    name = Path(path).name
    recipes = Path(kit.__file__).resolve().parent.parent / "recipes" / folder  # a checkout (or editable install)
    shipped = recipes / f"{name}.yaml"
    make = f"make it with {command} " + (f"recipes/{folder}/{name}.yaml" if shipped.is_file() else "RECIPE")
    fix = make if shipped.is_file() else f"{make}, or give a Hub {kind} id (org/name)"
    hub = ""
    if error is not None:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        hub = f", and no Hub {kind} {path} could be reached ({type(error).__name__}: {first[:120]})"
        if type(error).__name__ in _OFFLINE:  # the Hub was not asked: that is the first thing to fix
            fix = f"reach the Hub (HF_HUB_OFFLINE unset, the network, HF_ENDPOINT), or {make}"
        elif type(error).__name__ in _NOT_YOURS:
            fix = f"{fix}; a private or gated Hub {kind} needs `hf auth login` (and its terms accepted)"
    if path.startswith(PLACEHOLDER_ORG):  # a shipped recipe's stand-in for the user's own repo
        fix = (f"{path} is a placeholder in the recipe: put in the {kind} you made (the recipe's header says how) "
               f"with --set or in a copy of the recipe")
    return f"{path}: no such folder{hub} - {fix}"


# What datasets and huggingface_hub raise when a Hub repo cannot be reached (offline, no network), and when it is
# missing, private or gated
_OFFLINE = ("ConnectError", "ConnectionError", "ConnectTimeout", "LocalEntryNotFoundError", "OfflineModeIsEnabled")
_NOT_YOURS = ("DatasetNotFoundError", "RepositoryNotFoundError", "GatedRepoError")
_UNREACHABLE = _OFFLINE + _NOT_YOURS


def unreachable(error: BaseException) -> bool:
    """Whether `error` says a Hub repo is missing or out of reach (rather than, say, a wrong config name)."""
    return type(error).__name__ in _UNREACHABLE


def _open(path: str, *, config: str | None, split: str, revision: str | None = None) -> Iterator[dict[str, Any]]:
    """The raw rows of a source, picked by the form of `path`."""
    if path.startswith(PACKAGE_PREFIX):
        return _read_file(resolve_package_path(path), label=path)
    local = Path(path).expanduser()
    if local.is_dir():
        return _read_dataset(str(local), config=config, split=split, label=path)
    if local.is_file() or path.endswith(_FILE_SUFFIXES) or path.startswith(("/", "./", "../", "~")):
        if not local.is_file():
            raise SourceError(f"{path}: no such file" if path.endswith(_FILE_SUFFIXES) else not_found(path, "dataset"))
        return _read_file(local, label=path)
    return _read_dataset(path, config=config, split=split, label=path, revision=revision)


def _read_file(file: Path, *, label: str) -> Iterator[dict[str, Any]]:
    name = file.name.lower()
    if name.endswith(".parquet"):
        return _read_parquet(file, label=label)
    if name.endswith(_JSON_SUFFIXES):
        return _read_json(file, label=label)
    if file.suffix.lower() in _CSV_SEPARATORS:
        return _read_csv(file, label=label, sep=_CSV_SEPARATORS[file.suffix.lower()])
    raise SourceError(f"{label}: unsupported file type (expected {', '.join(_FILE_SUFFIXES)})")


def _open_text(file: Path) -> IO[str]:
    if file.name.lower().endswith(".gz"):
        return gzip.open(file, "rt", encoding="utf-8")
    return file.open(encoding="utf-8")


def _read_json(file: Path, *, label: str) -> Iterator[dict[str, Any]]:
    """JSON Lines (one object per line, blank lines skipped); a `.json` file may also hold one array."""
    try:
        with _open_text(file) as handle:
            first = handle.read(1)
            while first.isspace():
                first = handle.read(1)
            if first == "[":  # a JSON array cannot be streamed line by line: it is loaded whole
                handle.seek(0)
                data = json.load(handle)
                for index, row in enumerate(data):
                    yield _as_row(row, label, f"item {index}")
                return
            handle.seek(0)
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SourceError(f"{label}: line {lineno}: not valid JSON ({exc.msg})") from None
                yield _as_row(row, label, f"line {lineno}")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{label}: cannot read ({_first_line(exc)})") from None


def _as_row(row: Any, label: str, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise SourceError(f"{label}: {where}: expected a JSON object, got {type(row).__name__}")
    return row


def _read_parquet(file: Path, *, label: str) -> Iterator[dict[str, Any]]:
    try:
        parquet = pq.ParquetFile(file)
        for batch in parquet.iter_batches(batch_size=1024):
            yield from batch.to_pylist()
    except (OSError, ValueError) as exc:
        raise SourceError(f"{label}: cannot read parquet ({_first_line(exc)})") from None


def _read_csv(file: Path, *, label: str, sep: str) -> Iterator[dict[str, Any]]:
    """A CSV (or TSV) file with a header row, streamed by `datasets`' csv builder: the rows and types a dataset
    folder or Hub dataset whose configs name the file gives (`load_dataset("Idavidrein/gpqa", "gpqa_diamond")`
    reads `gpqa_diamond.csv` so); an empty cell is None."""
    import datasets  # imported here, as for dataset folders

    try:
        yield from datasets.load_dataset("csv", data_files=str(file), split="train", streaming=True, sep=sep)
    except Exception as exc:  # noqa: BLE001 - pandas and pyarrow raise many kinds (ParserError, ...)
        raise SourceError(f"{label}: cannot read CSV ({type(exc).__name__}: {_first_line(exc)})") from None


def _read_dataset(path: str, *, config: str | None, split: str, label: str,
                  revision: str | None = None) -> Iterator[dict[str, Any]]:
    """A dataset folder or Hub dataset, streamed by `datasets`."""
    import datasets  # imported here: it is only needed for folders and Hub datasets

    try:
        dataset = datasets.load_dataset(path, config, split=split, streaming=True, revision=revision)
        yield from dataset
    except SourceError:
        raise
    except Exception as exc:  # datasets raises many kinds (FileNotFound, DatasetNotFound, ValueError, ...)
        if unreachable(exc) and not Path(path).expanduser().exists():
            raise SourceError(not_found(path, "dataset", exc)) from None
        which = f" (config {config!r}, split {split!r})" if config else f" (split {split!r})"
        raise SourceError(f"{label}{which}: cannot load dataset ({type(exc).__name__}: {_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ChatError(ValueError):
    """A chat column that cannot be read; the message is one line."""


@dataclass(frozen=True)
class Chat:
    """What a chat column says: `system` (its system turn), `prompt` (the user turn the reply answers) and the
    reply (the last assistant turn: `reply`, with `reasoning_content` when the turn carries it apart)."""

    system: str | None
    prompt: str | None
    reply: str | None
    reasoning_content: str | None = None


def chat_turns(turns: Any) -> list[dict[str, Any]]:
    """The turns of a chat column in either role format (a JSON string holding the list is read too), each as
    `{role, content, reasoning_content}` with the role in OpenAI's words; raises `ChatError` for anything else."""
    if isinstance(turns, str):
        try:
            turns = json.loads(turns)
        except json.JSONDecodeError:
            raise ChatError("a chat column must hold a list of turns, got text that is not JSON") from None
    if not isinstance(turns, list | tuple):
        raise ChatError(f"a chat column must hold a list of turns, got {type(turns).__name__}")
    return [_turn(turn, n) for n, turn in enumerate(turns)]


def read_chat(turns: Any) -> Chat:
    """The system turn, the last assistant turn and the user turn before it, of a chat column (`chat_turns`);
    raises `ChatError` for anything else."""
    read = chat_turns(turns)
    system = next((t["content"] for t in read if t["role"] == "system"), None)
    last = max((n for n, t in enumerate(read) if t["role"] == "assistant"), default=None)
    answered = read if last is None else read[:last]
    prompt = next((t["content"] for t in reversed(answered) if t["role"] == "user"), None)
    if last is None:
        return Chat(system, prompt, None)
    return Chat(system, prompt, read[last]["content"], read[last]["reasoning_content"])


def chat_problem(turns: Any) -> tuple[str, str | None]:
    """(problem, system turn) of a problem column that holds a chat (verl's `prompt`, Llama-Nemotron's `input`, a list
    of turns): its last user turn - the question a reply answers, also after earlier exchanges, which are not part of
    the problem - and its system turn; ChatError for a chat that cannot be read or has no user turn."""
    read = chat_turns(turns)
    prompt = next((t["content"] for t in reversed(read) if t["role"] == "user"), None)
    if not prompt:
        raise ChatError("the chat has no user turn")
    return prompt, next((t["content"] for t in read if t["role"] == "system"), None)


def _turn(turn: Any, n: int) -> dict[str, Any]:
    if not isinstance(turn, dict):
        raise ChatError(f"turn {n} is a {type(turn).__name__}, not an object")
    who = turn.get("role", turn.get("from"))
    role = _ROLES.get(str(who).strip().lower()) if who is not None else None
    if role is None:
        raise ChatError(f"turn {n} has role {who!r} (expected role/from in {', '.join(_ROLES)})")
    reasoning = reasoning_field(turn)
    return {"role": role, "content": content_text(turn.get("content", turn.get("value"))),
            "reasoning_content": reasoning if isinstance(reasoning, str) else None}


def content_text(content: Any) -> str | None:
    """A chat turn's text: a string, or the text parts of a content list (OpenAI's content parts, Mistral's chunks:
    `kit.core.chat.content_chunks`; a dataset's turn, a completion)."""
    if isinstance(content, list):
        return content_chunks(content)[0] or ""
    return content if content is None or isinstance(content, str) else str(content)
