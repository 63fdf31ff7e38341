"""The verifier registry: one table, name -> verifier, through which every caller scores rows.

    math    Math-Verify: the solution's final answer equals the gold answer   (MathVerifier, "math-verify")
    code    the sandbox: the solution's last python block passes `test_cases`  (CodeVerifier, "sandbox")
    choice  the multiple-choice letter of `solution` is `ground_truth_answer`  (ChoiceVerifier, "choice")
    judge   an LLM judge: the answer matches the reference                    (kit.verify.judge, "llm-judge")

The judge is an LLM the generation pipeline asks in batch, so it cannot run here: its entry's `decides(row,
verdict, judge_cfg)` says which rows it decides (`kit.verify.judge.needs_judge`), and generation asks it.

Routing (`route`): a row goes to the verifier named by `kind` when the caller gives one (a benchmark's kind:
math | choice | code), else by its domain (math -> math, code -> code). A row of another domain (science,
puzzle) gets a failed verdict `unsupported_domain`, a row without a field its verifier `needs` one
`missing_field`.

A metadata row's own `verifier` column routes it as `stored_route` says (the GRPO rewards read rows so), and
`undecidable(row, kind)` says when no solution can pass a row (no gold answer, tests no program passes, no verifier
for its domain: GRPO leaves such problems out).

By name, as open-r1's `get_reward_funcs`: `get_verifier(name)` is the entry (an unknown name raises
`UnknownVerifier`), `build_verifier(name, cfg)` a verifier object (`.verify(rows, on_result)`, `.close()`),
`verify_batch(name, rows, cfg)` the verdicts of a batch. `RowVerifier` keeps one verifier per name and verifies
mixed rows in input order, chunk by chunk, each name's rows in its own thread (math and code in parallel).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from kit.core.parallel import Closing
from kit.recipes import JudgeConfig, VerifyConfig
from kit.verify import Verdict, clip
from kit.verify import choice as _choice
from kit.verify import code as _code
from kit.verify import judge as _judge
from kit.verify import math as _math

CHUNK = 256  # rows verified together; bounds memory while the verifiers work at once


class Verifier(Protocol):
    """What a registry entry builds: verdicts for rows, in input order, streamed."""

    def verify(self, rows: Iterable[Mapping[str, Any]],
               on_result: Callable[[int], None] | None = None) -> Iterator[Verdict]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class VerifierEntry:
    """One verifier of the registry."""

    name: str
    label: str  # the `Verdict.verifier` of its verdicts
    summary: str
    needs: tuple[str, ...] = ("solution",)  # row fields without which a row gets `missing_field`
    build: Callable[[VerifyConfig], Verifier] | None = None  # None: not run by RowVerifier (the judge)
    decides: Callable[[Mapping[str, Any], Verdict, JudgeConfig], bool] | None = None  # the judge's rows
    # (reason, detail) when no solution can pass a row (no gold answer, tests no program passes), else None
    undecidable: Callable[[Mapping[str, Any]], tuple[str, str] | None] | None = None


class UnknownVerifier(ValueError):
    """A verifier name the registry does not have."""


def _build_math(cfg: VerifyConfig) -> Verifier:
    return _math.MathVerifier(workers=cfg.workers, timeout_s=cfg.math.timeout_s, require_boxed=cfg.math.require_boxed)


def _build_code(cfg: VerifyConfig) -> Verifier:
    return _code.CodeVerifier(workers=cfg.workers, limits=_code.limits_from_config(cfg.code), fail_fast=cfg.code.fail_fast)


def _build_choice(cfg: VerifyConfig) -> Verifier:
    return _choice.ChoiceVerifier()


VERIFIERS: dict[str, VerifierEntry] = {entry.name: entry for entry in (
    VerifierEntry("math", _math.VERIFIER, "final answers with Math-Verify", build=_build_math,
                  undecidable=_math.undecidable),
    VerifierEntry("code", _code.VERIFIER, "code against its test_cases in the sandbox", ("solution", "test_cases"),
                  build=_build_code, undecidable=_code.undecidable),
    VerifierEntry("choice", _choice.VERIFIER, "the multiple-choice letter against ground_truth_answer",
                  build=_build_choice, undecidable=_choice.undecidable),
    VerifierEntry("judge", _judge.VERIFIER, "answers against the reference, by an LLM judge (asked by generation)",
                  decides=_judge.needs_judge),
)}
ROW_VERIFIERS = tuple(name for name, entry in VERIFIERS.items() if entry.build is not None)  # math, code, choice
DOMAIN_VERIFIERS = {"math": "math", "code": "code"}  # a row without `kind` goes by its domain
_LABELS = {entry.label: name for name, entry in VERIFIERS.items()}  # math-verify -> math, sandbox -> code, ...
_DOMAIN_OF = {name: domain for domain, name in DOMAIN_VERIFIERS.items()}  # the domain a verifier's rows go by


def get_verifier(name: str) -> VerifierEntry:
    """The registry entry `name`; `UnknownVerifier` naming the known ones otherwise."""
    try:
        return VERIFIERS[name]
    except (KeyError, TypeError):
        raise UnknownVerifier(f"unknown verifier {name!r}; the registry has: {', '.join(sorted(VERIFIERS))}") from None


def build_verifier(name: str, cfg: VerifyConfig | None = None) -> Verifier:
    """A new verifier `name` (math, code, choice) configured by `cfg`; close it when done. The judge has none."""
    entry = get_verifier(name)
    if entry.build is None:
        raise ValueError(f"verifier {name!r} is an LLM the generation pipeline asks in batch; it verifies no rows "
                         f"here (get_verifier({name!r}).decides says which rows it decides)")
    return entry.build(cfg or VerifyConfig())


def route(row: Mapping[str, Any], kind: str | None = None) -> str | None:
    """The name of the verifier for `row`: `kind` when given, else its domain's; None when its domain has none."""
    return kind if kind is not None else DOMAIN_VERIFIERS.get(row.get("domain"))


def stored_route(row: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(the row to verify, its `kind`) as a metadata row's `verifier` column routes it: unset or `none`, by its
    domain (None); a registry name (math, code, choice) or a verdict label a kit metadata config holds (math-verify,
    sandbox, choice), that verifier - math and code through the row's domain, so rows of both run side by side; the
    judge, which generation asks and cannot run here, by the domain. `UnknownVerifier` for another value."""
    row = dict(row)
    value = row.pop("verifier", None)
    if value in (None, "", "none"):
        return row, None
    name = value if value in VERIFIERS else _LABELS.get(value)
    if name is None:
        raise UnknownVerifier(f"verifier {clip(str(value), 40)!r} is not in the registry")
    if VERIFIERS[name].build is None:
        return row, None
    if name in _DOMAIN_OF:
        return {**row, "domain": _DOMAIN_OF[name]}, None
    return row, name


def undecidable(row: Mapping[str, Any], kind: str | None = None) -> tuple[str, str] | None:
    """(reason, detail) when no solution can pass `row` whatever it says, else None: what `RowVerifier` gives every
    solution of such a row (`unsupported_domain`; `missing_field` for a field other than the solution) or its
    verifier's own reason (`VerifierEntry.undecidable`: `no_ground_truth`, `invalid_test_cases`,
    `interactive_problem`). GRPO leaves such problems out (`kit.train.data`): every completion would score 0."""
    name = route(row, kind)
    if name is None:
        return "unsupported_domain", _no_verifier(row)
    if field := _missing(row, name, given=("solution",)):
        return "missing_field", f"the row has no {field}"
    check = VERIFIERS[name].undecidable
    return check(row) if check is not None else None


def verify_batch(name: str, rows: Iterable[Mapping[str, Any]], cfg: VerifyConfig | None = None,
                 on_result: Callable[[int], None] | None = None) -> list[Verdict]:
    """The verdicts of `rows` by the verifier `name`, in input order (a verifier built and closed for the batch)."""
    with RowVerifier(cfg) as verifier:
        return list(verifier.verify(rows, on_result, kind=name))


def _no_verifier(row: Mapping[str, Any]) -> str:
    return f"no verifier for domain {row.get('domain')!r} yet"


def _missing(row: Mapping[str, Any], name: str | None, given: tuple[str, ...] = ()) -> str | None:
    needs = VERIFIERS[name].needs if name else ("solution",)
    return next((f for f in needs if f not in given and not row.get(f)), None)


class RowVerifier(Closing):
    """Verifies rows through the registry (see the module doc), building each verifier on first use.

    Rows routed to no verifier (science, puzzle without a `kind`: the LLM judge decides them in generation) get
    a failed verdict with reason `unsupported_domain`, never an exception.
    """

    def __init__(self, cfg: VerifyConfig | None = None) -> None:
        self.cfg = cfg or VerifyConfig()
        self._verifiers: dict[str, Verifier] = {}
        self._threads = ThreadPoolExecutor(len(ROW_VERIFIERS), thread_name_prefix="kit-verify")

    def verifier(self, name: str) -> Verifier:
        """The verifier `name`, built with this RowVerifier's config on first use and closed with it."""
        if name not in self._verifiers:
            self._verifiers[name] = build_verifier(name, self.cfg)
        return self._verifiers[name]

    def verify(self, rows: Iterable[Mapping[str, Any]], on_result: Callable[[int], None] | None = None,
               kind: str | None = None) -> Iterator[Verdict]:
        """Verdicts for `rows` in input order; `on_result(n_done)` after each chunk (and as verifiers progress).
        `kind` names the verifier of every row (`UnknownVerifier`, or ValueError for the judge, at once);
        without it each row goes by its domain."""
        if kind is not None and get_verifier(kind).build is None:
            build_verifier(kind)  # raises: the judge verifies no rows here
        return self._verify(rows, on_result, kind)

    def _verify(self, rows: Iterable[Mapping[str, Any]], on_result: Callable[[int], None] | None,
                kind: str | None) -> Iterator[Verdict]:
        done = 0
        iterator = iter(rows)
        while chunk := list(itertools.islice(iterator, CHUNK)):
            verdicts: list[Verdict | None] = [None] * len(chunk)
            groups: dict[str, list[int]] = {name: [] for name in ROW_VERIFIERS}
            for i, row in enumerate(chunk):
                name = route(row, kind)
                field = _missing(row, name)
                if field:
                    verdicts[i] = Verdict(False, "none", "missing_field", {"error": f"the row has no {field}"})
                elif name is not None:
                    groups[name].append(i)
                else:
                    verdicts[i] = Verdict(False, "none", "unsupported_domain", {"error": _no_verifier(row)})
            progress = Counter({"none": len(chunk) - sum(map(len, groups.values()))})

            def report(name: str, n: int, base: int = done, progress: Counter = progress) -> None:
                progress[name] = n
                if on_result:
                    on_result(base + sum(progress.values()))

            futures = {name: self._threads.submit(self._verify_group, name, [chunk[i] for i in idx], report)
                       for name, idx in groups.items() if idx}
            for name, future in futures.items():
                for i, verdict in zip(groups[name], future.result(), strict=True):
                    verdicts[i] = verdict
            yield from verdicts  # type: ignore[misc]
            done += len(chunk)
            if on_result:
                on_result(done)

    def _verify_group(self, name: str, rows: list[Mapping[str, Any]],
                      report: Callable[[str, int], None]) -> list[Verdict]:
        return list(self.verifier(name).verify(rows, on_result=lambda n: report(name, n)))

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        for verifier in self._verifiers.values():
            verifier.close()
        self._verifiers.clear()



__all__ = ["CHUNK", "DOMAIN_VERIFIERS", "ROW_VERIFIERS", "VERIFIERS", "RowVerifier", "UnknownVerifier", "Verifier",
           "VerifierEntry", "build_verifier", "get_verifier", "route", "stored_route", "undecidable", "verify_batch"]
