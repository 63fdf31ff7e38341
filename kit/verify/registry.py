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
from kit.verify import Verdict
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


class UnknownVerifier(ValueError):
    """A verifier name the registry does not have."""


def _build_math(cfg: VerifyConfig) -> Verifier:
    return _math.MathVerifier(workers=cfg.workers, timeout_s=cfg.math.timeout_s, require_boxed=cfg.math.require_boxed)


def _build_code(cfg: VerifyConfig) -> Verifier:
    return _code.CodeVerifier(workers=cfg.workers, limits=_code.limits_from_config(cfg.code))


def _build_choice(cfg: VerifyConfig) -> Verifier:
    return _choice.ChoiceVerifier()


VERIFIERS: dict[str, VerifierEntry] = {entry.name: entry for entry in (
    VerifierEntry("math", _math.VERIFIER, "final answers with Math-Verify", build=_build_math),
    VerifierEntry("code", _code.VERIFIER, "code against its test_cases in the sandbox", ("solution", "test_cases"),
                  build=_build_code),
    VerifierEntry("choice", _choice.VERIFIER, "the multiple-choice letter against ground_truth_answer",
                  build=_build_choice),
    VerifierEntry("judge", _judge.VERIFIER, "answers against the reference, by an LLM judge (asked by generation)",
                  decides=_judge.needs_judge),
)}
ROW_VERIFIERS = tuple(name for name, entry in VERIFIERS.items() if entry.build is not None)  # math, code, choice
DOMAIN_VERIFIERS = {"math": "math", "code": "code"}  # a row without `kind` goes by its domain


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


def verify_batch(name: str, rows: Iterable[Mapping[str, Any]], cfg: VerifyConfig | None = None,
                 on_result: Callable[[int], None] | None = None) -> list[Verdict]:
    """The verdicts of `rows` by the verifier `name`, in input order (a verifier built and closed for the batch)."""
    with RowVerifier(cfg) as verifier:
        return list(verifier.verify(rows, on_result, kind=name))


def _missing(row: Mapping[str, Any], name: str | None) -> str | None:
    needs = VERIFIERS[name].needs if name else ("solution",)
    return next((f for f in needs if not row.get(f)), None)


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
                    verdicts[i] = Verdict(False, "none", "unsupported_domain",
                                          {"error": f"no verifier for domain {row.get('domain')!r} yet"})
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
           "VerifierEntry", "build_verifier", "get_verifier", "route", "verify_batch"]
