"""Route metadata rows to their domain's verifier and keep the results in input order."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kit.recipes import VerifyConfig
from kit.verify import Verdict
from kit.verify.code import CodeVerifier, limits_from_config
from kit.verify.math import MathVerifier

CHUNK = 256  # rows verified together; bounds memory while both verifiers work at once


def _missing(row: Mapping[str, Any]) -> str | None:
    domain = row.get("domain")
    needs = {"math": ("solution",), "code": ("solution", "test_cases")}.get(domain, ("solution",))
    return next((f for f in needs if not row.get(f)), None)


class RowVerifier:
    """Verifies rows of any domain: math with Math-Verify, code in the sandbox.

    Domains without a verifier yet (science, puzzle: the LLM judge comes with generation) get a failed
    verdict with reason `unsupported_domain`, never an exception.
    """

    def __init__(self, cfg: VerifyConfig | None = None) -> None:
        self.cfg = cfg or VerifyConfig()
        self._math: MathVerifier | None = None
        self._code: CodeVerifier | None = None
        self._threads = ThreadPoolExecutor(2, thread_name_prefix="kit-verify")

    @property
    def math(self) -> MathVerifier:
        if self._math is None:
            self._math = MathVerifier(workers=self.cfg.workers, timeout_s=self.cfg.math.timeout_s,
                                      require_boxed=self.cfg.math.require_boxed)
        return self._math

    @property
    def code(self) -> CodeVerifier:
        if self._code is None:
            self._code = CodeVerifier(workers=self.cfg.workers, limits=limits_from_config(self.cfg.code))
        return self._code

    def verify(self, rows: Iterable[Mapping[str, Any]],
               on_result: Callable[[int], None] | None = None) -> Iterator[Verdict]:
        """Verdicts for `rows` in input order; `on_result(n_done)` after each chunk."""
        done = 0
        iterator = iter(rows)
        while chunk := list(itertools.islice(iterator, CHUNK)):
            verdicts: list[Verdict | None] = [None] * len(chunk)
            groups: dict[str, list[int]] = {"math": [], "code": []}
            for i, row in enumerate(chunk):
                field = _missing(row)
                if field:
                    verdicts[i] = Verdict(False, "none", "missing_field", {"error": f"the row has no {field}"})
                elif row.get("domain") in groups:
                    groups[row["domain"]].append(i)
                else:
                    verdicts[i] = Verdict(False, "none", "unsupported_domain",
                                          {"error": f"no verifier for domain {row.get('domain')!r} yet"})
            progress = Counter({"none": len(chunk) - sum(map(len, groups.values()))})

            def report(domain: str, n: int, base: int = done, progress: Counter = progress) -> None:
                progress[domain] = n
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

    def _verify_group(self, domain: str, rows: list[Mapping[str, Any]],
                      report: Callable[[str, int], None]) -> list[Verdict]:
        verifier = self.math if domain == "math" else self.code
        return list(verifier.verify(rows, on_result=lambda n: report(domain, n)))

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        for verifier in (self._math, self._code):
            if verifier is not None:
                verifier.close()

    def __enter__(self) -> RowVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
