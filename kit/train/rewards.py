"""The GRPO rewards: one registry, name -> reward, built on the kit's verifiers and its reply splitter.

A recipe names its rewards (`rewards: [{name: accuracy}, {name: format, weight: 0.2}]`, see
`kit.recipes.train.RewardConfig`); `make_rewards(configs, verify)` turns them into TRL reward functions and
their weights, as open-r1's `get_reward_funcs` does. An unknown name, an unknown option or an ill-typed one
raises `RecipeError` (one line naming the reward and what it knows).

Each reward is a plain picklable callable with TRL's signature, `reward(prompts, completions, **kwargs) ->
list[float | None]`, whose `__name__` is its registry name (TRL logs `rewards/<name>/mean`). A completion is a
string or conversational (`[{"role": "assistant", "content": ...}]`, the last assistant message counts; a
`reasoning_content` / `thinking` field a response parser split off is read as the reasoning). When the run's chat
template opens the reasoning at the end of the generation prompt (DeepSeek-R1-Distill's and Qwen3's end it with
`<think>`), which TRL leaves out of the completion, the rewards read each completion with it put back (`with_opener`),
so reasoning that never closes is unclosed, not an answer. The dataset's
reward columns (`kit.train.data.REWARD_COLUMNS`) arrive in `kwargs` as lists, one value per completion.

    accuracy    1.0 when the kit's verifier passes the completion's answer, else 0.0. Option `scoring`, open-r1's
                code scoring modes: `pass_fail` (the default, as said), `partial` (the share of the problem's
                tests passed) or `weighted_sum` (pass_fail + 0.1 x that share: open-r1's Codeforces recipe); a
                row without tests (math, choice) counts as one test. Partial credit needs every test run, so
                these two turn off the code verifier's fail fast (`verify.code.fail_fast`).
                The completion is split with `kit.core.chat.split_reply` (a rejected split - reasoning that
                never closes, nothing after it, a Sky-T1 solution cut off - scores 0); its answer part becomes
                the `solution` of a metadata row with the reward columns, routed as `kit verify` routes it:
                the row's `verifier` column when set (a registry name - math, code, choice - or a verdict
                label a kit metadata config holds: math-verify, sandbox, choice; `none` and the judge, which
                cannot run here, fall back to the domain), else its domain (math -> Math-Verify with the kit's
                answer rule, code -> the sandbox). A row no verifier can decide (science without a verifier,
                a missing gold answer or tests, an unknown verifier) scores 0 and its reason is counted and
                logged (`kit train` leaves such problems out as it loads them: `kit.train.data`). The whole
                call goes through one `RowVerifier`, so code completions spread across the sandbox workers
                while math ones run in Math-Verify's worker processes. Under TRL it also
                logs each completion's reason (`accuracy_reason`, a column of the completions table) and the
                share no verifier could decide (metric `accuracy/unverifiable`); `Accuracy.verdicts(...)` gives
                the verdicts behind a call, `Scorer.reasons` counts reasons over a run.
    format      1.0 when the completion has a closed, non-empty reasoning block (`<think>...</think>`, Sky-T1's
                `<|begin_of_thought|>...<|end_of_thought|>`, or only `</think>` when the chat template opened
                it) followed by a non-empty answer with no further reasoning markers; else 0.0. No options.
    repetition  open-r1's n-gram repetition penalty (arXiv 2502.03373, App. C.2): `(1 - distinct/total
                n-grams of words) * max_penalty`, over the whole completion; 0.0 when it has fewer words than
                one n-gram. Options: `ngram_size` (int >= 1, default 3), `max_penalty` (<= 0, default -1.0).
    boxed       OctoThinker's penalty for more than one `\\boxed{}` (or `\\fbox`) in the answer part: `penalty`
                when there are two or more, else 0.0 (also for a rejected split: it has no answer part).
                Options: `penalty` (<= 0, default -1.0).
    length      open-r1's cosine-scaled reward: a correct completion (the accuracy verdict) earns from
                `max_value_correct` (empty) down to `min_value_correct` (at `max_len`), a wrong one from
                `min_value_wrong` (empty) up to `max_value_wrong` (at `max_len`); lengths past `max_len` count
                as `max_len`; a completion the verifiers failed on (`verifier_error`) is no wrong answer: 0.0.
                The length is in tokens when TRL passes `completion_ids` (it always does), else
                in characters. Options: `min_value_wrong` (-1.0), `max_value_wrong` (-0.5),
                `min_value_correct` (0.5), `max_value_correct` (1.0), `max_len` (int > 0, 1000).
    overlong    DAPO's soft overlong punishment on the token length L of `completion_ids`: 0.0 up to
                `max_completion_len - soft_punish_cache`, then falling linearly to -1.0 at
                `max_completion_len`, -1.0 beyond; None (not applicable) without `completion_ids`. Options:
                `max_completion_len` (int > 0, required), `soft_punish_cache` (int, default a fifth of
                `max_completion_len`, DAPO's 4096 of 20480).

`accuracy` and `length` made by one `make_rewards` call share one `Scorer`: TRL calls them one after the other
with the same completions, and the second reads the verdicts the first computed (kept for the last batch only).

Never raising, never stalling: every item has the verifiers' own limits (Math-Verify `verify.math.timeout_s`
in worker processes that are killed `GRACE_S` later; the sandbox's `verify.code.test_timeout_s` per test and
`sample_timeout_s` per completion - unset, `(test_timeout_s + 1) * tests + 5`, which a GRPO recipe bounds by setting
it), so a call takes at most about
`ceil(code completions / workers) * sample_timeout_s + ceil(math completions / workers) * (timeout_s + 1)`
(math and code run side by side; a sandbox server that hangs itself is given up 30 s past its sample's limit;
a problem whose tests a checker judges takes a second sandbox request, with the same limit, for the checker).
A failure of any kind - a verifier that raises, a sandbox that will not start, a bug in a reward - scores 0
for the completions it touches and is logged by reason count (`logging.getLogger(__name__)`; a completion's
text is never logged); the call itself returns. Live resources (the verifier pools and sandboxes) are made on
the first call, left out of a pickle and stopped by `close()`.

What the rewards do not protect against - what untrusted code in the sandbox can still do, and what isolation
is lost without bubblewrap - is the sandbox's contract: see `kit.sandbox`'s docstring.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from kit.core.chat import CLOSERS, OPENERS, Split, reasoning_field, reopened, split_reply
from kit.core.sources import content_text
from kit.recipes import RecipeError, VerifyConfig
from kit.recipes.train import RewardConfig
from kit.train.data import REWARD_COLUMNS
from kit.verify import Verdict, clip
from kit.verify.math import count_boxes
from kit.verify.registry import RowVerifier, UnknownVerifier, stored_route

log = logging.getLogger(__name__)

REQUIRED = object()  # an option without a default
# Reasons that say the data or the machinery, not the model, decided: warned about, not only counted.
DATA_REASONS = frozenset({"unsupported_domain", "missing_field", "invalid_test_cases", "no_ground_truth",
                          "unknown_verifier"})
FAILURE_REASONS = frozenset({"verifier_error", "error"})


# --------------------------------------------------------------------------------------------------
# Completions


def completion_parts(completion: Any) -> tuple[str, str | None]:
    """(content, reasoning) of one completion: a string, one message, or a list of messages (the last
    assistant message; its `reasoning_content` / `reasoning` / `thinking` field when a parser split one off)."""
    if isinstance(completion, str):
        return completion, None
    message = completion
    if isinstance(completion, Sequence):
        messages = [m for m in completion if isinstance(m, Mapping)]
        assistant = [m for m in messages if m.get("role", "assistant") == "assistant"]
        message = (assistant or messages or [{}])[-1]
    if not isinstance(message, Mapping):
        return "", None
    reasoning = content_text(reasoning_field(message))
    return content_text(message.get("content")) or "", reasoning


def with_opener(completion: Any, opener: str | None) -> Any:
    """`completion` as the model wrote it after a generation prompt that ended with `opener` (`<think>`: the chat
    template opened the reasoning, DeepSeek-R1-Distill's and Qwen3's do; `kit.train.chat.generation_opener`), which TRL
    decodes without the prompt: the opener put back before its content, so reasoning that never closes reads as
    unclosed, not as an answer. Unchanged without an opener, or when the completion opens its reasoning itself or a
    parser split it off."""
    if not opener:
        return completion
    content, reasoning = completion_parts(completion)
    return completion if reasoning is not None else reopened(content, opener)


def split_completion(completion: Any) -> Split:
    """The kit's reading of one completion: `split_reply` of its content (and reasoning field)."""
    return split_reply(*completion_parts(completion))


def full_text(completion: Any) -> str:
    """The whole completion as text: its reasoning field (when separate) and its content."""
    content, reasoning = completion_parts(completion)
    return f"{reasoning}\n{content}" if reasoning else content


# --------------------------------------------------------------------------------------------------
# Verdicts, shared by accuracy and length


class Scorer:
    """The kit verifiers' verdicts on a batch of completions (see the module doc for the routing).

    One `RowVerifier`, made on the first call with `verify` and stopped by `close()`; the verdicts of the last
    batch are kept, so rewards sharing this scorer verify a batch once. `reasons` counts every verdict's
    reason (`passed` for a pass) over the scorer's life.
    """

    def __init__(self, verify: VerifyConfig | None = None) -> None:
        self.verify = verify or VerifyConfig()
        self.reasons: Counter[str] = Counter()
        self._verifier: RowVerifier | None = None
        self._last: tuple[list[Any], list[Verdict]] | None = None
        self._warned: set[str] = set()

    def verdicts(self, completions: Sequence[Any], columns: Mapping[str, Any]) -> list[Verdict]:
        """A verdict per completion, in order; `columns` holds the reward columns as lists (TRL's kwargs)."""
        items = [self._item(completion, columns, i) for i, completion in enumerate(completions)]
        if self._last is not None and self._last[0] == items:
            return list(self._last[1])
        verdicts = self._run(items)
        if not any(v.reason == "verifier_error" for v in verdicts):  # a failed batch is verified again
            self._last = (items, verdicts)
        self._report(verdicts)
        return list(verdicts)

    @staticmethod
    def _item(completion: Any, columns: Mapping[str, Any], i: int) -> tuple[dict[str, Any], str | None] | Verdict:
        """(the metadata row to verify, its verifier kind: None routes by domain), or the verdict already known."""
        split = split_completion(completion)
        if split.reject:
            return Verdict(False, "none", split.reject, {"error": split.detail})
        row = {column: columns[column][i] for column in REWARD_COLUMNS if columns.get(column) is not None}
        try:
            return stored_route({**row, "solution": split.solution})
        except UnknownVerifier as exc:
            return Verdict(False, "none", "unknown_verifier", {"error": str(exc)})

    def _run(self, items: list[Any]) -> list[Verdict]:
        verdicts: list[Verdict | None] = [item if isinstance(item, Verdict) else None for item in items]
        groups: dict[str | None, list[int]] = {}
        for i, item in enumerate(items):
            if not isinstance(item, Verdict):
                groups.setdefault(item[1], []).append(i)
        try:
            if groups and self._verifier is None:
                self._verifier = RowVerifier(self.verify)
            for kind, indices in sorted(groups.items(), key=lambda group: group[0] is None):  # choice first: instant
                rows = [items[i][0] for i in indices]
                for i, verdict in zip(indices, self._verifier.verify(rows, kind=kind), strict=True):  # type: ignore[union-attr]
                    verdicts[i] = verdict
        except Exception as exc:  # noqa: BLE001 - a broken verifier scores 0, never stops the step
            error = clip(f"{type(exc).__name__}: {exc}", 300)
            log.error("accuracy: the verifiers failed on a batch of %d completions (%s); the unverified ones "
                      "score 0 and the verifiers are restarted on the next call", len(items), error)
            self.close()
            verdicts = [v if v is not None else Verdict(False, "none", "verifier_error", {"error": error})
                        for v in verdicts]
        return verdicts  # type: ignore[return-value]

    def _report(self, verdicts: list[Verdict]) -> None:
        counts = Counter(v.reason or "passed" for v in verdicts)
        self.reasons.update(counts)
        summary = ", ".join(f"{reason} {n}" for reason, n in counts.most_common())
        log.info("accuracy: %d of %d completions verified (%s)", counts["passed"], len(verdicts), summary)
        failed = {r: n for r, n in counts.items() if r in FAILURE_REASONS}
        new = {r: n for r, n in counts.items() if r in DATA_REASONS and r not in self._warned}
        if failed or new:
            self._warned.update(new)
            what = ", ".join(f"{reason} {n}" for reason, n in {**failed, **new}.items())
            log.warning("accuracy: %d of %d completions could not be verified and score 0 (%s)%s",
                        sum(failed.values()) + sum(new.values()), len(verdicts), what,
                        "; data reasons are warned about once, then counted" if new else "")

    def close(self) -> None:
        """Stop the verifiers (the next call starts new ones)."""
        verifier, self._verifier, self._last = self._verifier, None, None
        if verifier is not None:
            try:
                verifier.close()
            except Exception as exc:  # noqa: BLE001 - closing a broken verifier must not raise either
                log.warning("accuracy: closing the verifiers failed (%s)", clip(f"{type(exc).__name__}: {exc}", 200))

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_verifier": None, "_last": None}


# --------------------------------------------------------------------------------------------------
# The rewards


class Reward:
    """A reward of the registry: `reward(prompts, completions, **kwargs) -> list[float | None]`.

    `OPTIONS` maps each option to (int, float or a tuple of the names it may be; its default, `REQUIRED` when it has
    none); `options` holds the values in use. A subclass scores in `score`; a failure there scores 0 for the batch
    and is logged.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    OPTIONS: ClassVar[dict[str, tuple[type | tuple[str, ...], Any]]] = {}
    verifies: ClassVar[bool] = False  # reads the accuracy verdicts (takes a Scorer)

    def __init__(self, options: Mapping[str, Any] | None = None, *, scorer: Scorer | None = None,
                 opened: str | None = None) -> None:
        self.__name__ = self.name
        self.options = self._parse(dict(options or {}))
        self.check()
        self.scorer = (scorer or Scorer()) if self.verifies else None
        self.opened = opened  # the reasoning opener the generation prompt ends with (`with_opener`), if any

    @classmethod
    def _parse(cls, given: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in given.items():
            if key not in cls.OPTIONS:
                hint = difflib.get_close_matches(str(key), list(cls.OPTIONS), n=1)
                known = f"options: {', '.join(cls.OPTIONS)}" if cls.OPTIONS else "it takes no options"
                raise ValueError(f"unknown option {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                                 + f"; {known}")
            kind = cls.OPTIONS[key][0]
            if isinstance(kind, tuple):  # one of these names
                if value not in kind:
                    raise ValueError(f"option {key} must be one of {', '.join(kind)}, got {value!r}")
                values[key] = value
                continue
            number = isinstance(value, int) if kind is int else isinstance(value, int | float)
            if isinstance(value, bool) or not number or not math.isfinite(value):
                raise ValueError(f"option {key} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
            values[key] = kind(value)
        for key, (_, default) in cls.OPTIONS.items():
            if key not in values:
                if default is REQUIRED:
                    raise ValueError(f"needs option {key}")
                values[key] = default
        return values

    def check(self) -> None:
        """Refuse option values out of range (ValueError, one line)."""

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None,
                 **kwargs: Any) -> list[float | None]:
        completions = list(completions or [])
        try:
            scores = self.score([with_opener(completion, self.opened) for completion in completions], kwargs)
            if len(scores) != len(completions):
                raise RuntimeError(f"{len(scores)} scores for {len(completions)} completions")
        except Exception as exc:  # noqa: BLE001 - a failed reward scores 0 and the step goes on
            log.error("%s: the reward failed on a batch of %d completions (%s); they score 0", self.name,
                      len(completions), clip(f"{type(exc).__name__}: {exc}", 300))
            return [0.0] * len(completions)
        return scores

    def score(self, completions: list[Any], kwargs: dict[str, Any]) -> list[float | None]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop what the reward started (its verifiers); it starts them again when called."""
        if self.scorer is not None:
            self.scorer.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.options})"


def _at_most_zero(reward: Reward, key: str) -> None:
    if reward.options[key] > 0:
        raise ValueError(f"option {key} is a penalty: it must be <= 0, got {reward.options[key]:g}")


def _positive(reward: Reward, key: str) -> None:
    if reward.options[key] <= 0:
        raise ValueError(f"option {key} must be > 0, got {reward.options[key]}")


SCORINGS = ("pass_fail", "partial", "weighted_sum")  # open-r1's `code_eval_scoring_mode`s


class Accuracy(Reward):
    name = "accuracy"
    summary = "1 when the kit's verifier (by the row's verifier, else its domain) passes the answer, else 0"
    OPTIONS: ClassVar[dict[str, tuple[type | tuple[str, ...], Any]]] = {"scoring": (SCORINGS, "pass_fail")}
    verifies = True

    @staticmethod
    def partial(configs: Sequence[RewardConfig]) -> bool:
        """Whether an accuracy reward of `configs` gives credit for the share of tests passed (every test must run)."""
        return any(c.name == Accuracy.name and (c.options or {}).get("scoring", "pass_fail") != "pass_fail"
                   for c in configs)

    def _score(self, verdict: Verdict) -> float:
        passed = 1.0 if verdict.passed else 0.0
        scoring = self.options["scoring"]
        if scoring == "pass_fail":
            return passed
        total = verdict.detail.get("total_tests") if isinstance(verdict.detail, Mapping) else None
        share = verdict.detail["passed_tests"] / total if isinstance(total, int) and total > 0 else passed
        return share if scoring == "partial" else passed + 0.1 * share

    def verdicts(self, prompts: Sequence[Any] | None, completions: Sequence[Any], **kwargs: Any) -> list[Verdict]:
        """The verdicts behind the scores (those of the last batch are kept, so after a call this is free)."""
        assert self.scorer is not None
        return self.scorer.verdicts([with_opener(completion, self.opened) for completion in completions], kwargs)

    def score(self, completions: list[Any], kwargs: dict[str, Any]) -> list[float | None]:
        assert self.scorer is not None
        verdicts = self.scorer.verdicts(completions, kwargs)
        if callable(log_extra := kwargs.get("log_extra")):
            log_extra("accuracy_reason", [v.reason or "passed" for v in verdicts])
        if callable(log_metric := kwargs.get("log_metric")) and verdicts:
            unverifiable = sum(v.reason in DATA_REASONS | FAILURE_REASONS for v in verdicts)
            log_metric("accuracy/unverifiable", unverifiable / len(verdicts))
        return [self._score(v) for v in verdicts]


class Format(Reward):
    name = "format"
    summary = "1 for a closed, non-empty reasoning block followed by an answer, else 0"

    def score(self, completions: list[Any], kwargs: dict[str, Any]) -> list[float | None]:
        return [1.0 if self.opened_block(c) and self.well_formed(split_completion(c)) else 0.0 for c in completions]

    @staticmethod
    def opened_block(completion: Any) -> bool:
        """Whether the completion's reasoning block was opened: by the completion itself, by the chat template (its
        opener put back, `with_opener`) or by a parser (a reasoning field). A bare `</think>` after a prompt that
        opened nothing is no block (the splitter, which cannot tell, reads it as a template's)."""
        content, reasoning = completion_parts(completion)
        return reasoning is not None or content.lstrip().startswith(OPENERS)

    @staticmethod
    def well_formed(split: Split) -> bool:
        markers = (*OPENERS, *CLOSERS)
        return (split.reject is None and bool(split.reasoning.strip()) and bool(split.solution.strip())
                and not any(marker in split.solution for marker in markers))


class Repetition(Reward):
    name = "repetition"
    summary = "open-r1's n-gram repetition penalty, (1 - distinct/total n-grams) * max_penalty"
    OPTIONS = {"ngram_size": (int, 3), "max_penalty": (float, -1.0)}

    def check(self) -> None:
        _positive(self, "ngram_size")
        _at_most_zero(self, "max_penalty")

    def score(self, completions: list[Any], kwargs: dict[str, Any]) -> list[float | None]:
        n, max_penalty = self.options["ngram_size"], self.options["max_penalty"]
        scores: list[float | None] = []
        for completion in completions:
            words = full_text(completion).lower().split()
            if len(words) < n:
                scores.append(0.0)
                continue
            ngrams = list(zip(*(words[i:] for i in range(n)), strict=False))
            scores.append((1 - len(set(ngrams)) / len(ngrams)) * max_penalty or 0.0)
        return scores


class Boxed(Reward):
    name = "boxed"
    summary = "OctoThinker's penalty for more than one \\boxed{} in the answer part"
    OPTIONS = {"penalty": (float, -1.0)}

    def check(self) -> None:
        _at_most_zero(self, "penalty")

    def score(self, completions: list[Any], kwargs: dict[str, Any]) -> list[float | None]:
        scores: list[float | None] = []
        for completion in completions:
            split = split_completion(completion)
            many = split.reject is None and count_boxes(split.solution) > 1
            scores.append(self.options["penalty"] if many else 0.0)
        return scores


def _token_lengths(kwargs: Mapping[str, Any], n: int) -> list[int] | None:
    ids = kwargs.get("completion_ids")
    if ids is None or len(ids) != n:
        return None
    return [len(x) for x in ids]


class Length(Reward):
    name = "length"
    summary = "open-r1's cosine-scaled length reward, from the accuracy verdict (tokens, else characters)"
    OPTIONS = {"min_value_wrong": (float, -1.0), "max_value_wrong": (float, -0.5), "min_value_correct": (float, 0.5),
               "max_value_correct": (float, 1.0), "max_len": (int, 1000)}
    verifies = True

    def check(self) -> None:
        _positive(self, "max_len")

    def score(self, completions: list[Any], kwargs: dict[str, Any]) -> list[float | None]:
        assert self.scorer is not None
        o = self.options
        verdicts = self.scorer.verdicts(completions, kwargs)
        lengths = _token_lengths(kwargs, len(completions)) or [len(full_text(c)) for c in completions]
        scores: list[float | None] = []
        for verdict, length in zip(verdicts, lengths, strict=True):
            if verdict.reason in FAILURE_REASONS:  # the verifiers failed: no wrong answer to push longer, a 0
                scores.append(0.0)
                continue
            cosine = math.cos(min(length / o["max_len"], 1.0) * math.pi)
            # At length 0 the reward is `high`, at max_len `low` (a wrong answer's range is swapped).
            low, high = ((o["min_value_correct"], o["max_value_correct"]) if verdict.passed else
                         (o["max_value_wrong"], o["min_value_wrong"]))
            scores.append(low + 0.5 * (high - low) * (1.0 + cosine))
        return scores


class Overlong(Reward):
    name = "overlong"
    summary = "DAPO's soft overlong punishment on the completion's token length"
    OPTIONS = {"max_completion_len": (int, REQUIRED), "soft_punish_cache": (int, None)}

    def check(self) -> None:
        _positive(self, "max_completion_len")
        longest = self.options["max_completion_len"]
        if self.options["soft_punish_cache"] is None:
            self.options["soft_punish_cache"] = longest // 5
        if not 0 <= self.options["soft_punish_cache"] <= longest:
            raise ValueError(f"option soft_punish_cache must be between 0 and max_completion_len ({longest}), "
                             f"got {self.options['soft_punish_cache']}")

    def score(self, completions: list[Any], kwargs: dict[str, Any]) -> list[float | None]:
        lengths = _token_lengths(kwargs, len(completions))
        if lengths is None:
            log.warning("overlong: no completion_ids in the call: the reward does not apply (None)")
            return [None] * len(completions)
        longest, cache = self.options["max_completion_len"], self.options["soft_punish_cache"]
        scores: list[float | None] = []
        for length in lengths:
            if length <= longest - cache:
                scores.append(0.0)
            elif length <= longest:
                scores.append((longest - cache - length) / cache)
            else:
                scores.append(-1.0)
        return scores


REWARDS: dict[str, type[Reward]] = {cls.name: cls for cls in (Accuracy, Format, Repetition, Boxed, Length, Overlong)}


def make_rewards(configs: Sequence[RewardConfig], verify: VerifyConfig | None = None, opened: str | None = None,
                 max_completion_length: int | None = None
                 ) -> tuple[list[Callable[..., list[float | None]]], list[float]]:
    """The reward functions of `configs`, in order, and their weights (TRL's `reward_funcs` and
    `reward_weights`). `verify` configures the verifiers (workers, time limits); the rewards that read the
    accuracy verdict share one `Scorer`; `opened` is the reasoning opener the run's generation prompt ends with
    (`with_opener`). `RecipeError` (one line) for an unknown reward, option or value, and for an `overlong` whose
    penalty starts past `max_completion_length` (the run's `grpo.max_completion_length`: it would never apply).
    Nothing is started: the verifiers start on the first call."""
    scorer: Scorer | None = None
    if Accuracy.partial(configs):  # the share of tests passed is known only when every test runs
        verify = verify or VerifyConfig()
        verify = verify.model_copy(update={"code": verify.code.model_copy(update={"fail_fast": False})})
    funcs: list[Callable[..., list[float | None]]] = []
    weights: list[float] = []
    seen: set[str] = set()
    for i, config in enumerate(configs):
        cls = REWARDS.get(config.name)
        if cls is None:
            hint = difflib.get_close_matches(config.name, list(REWARDS), n=1)
            raise RecipeError(f"rewards[{i}]: unknown reward {config.name!r}"
                              + (f" (did you mean {hint[0]!r}?)" if hint else "")
                              + f"; rewards: {', '.join(sorted(REWARDS))}")
        if config.name in seen:
            raise RecipeError(f"rewards[{i}]: {config.name} is named twice (TRL logs each reward by its name)")
        seen.add(config.name)
        if cls.verifies and scorer is None:
            scorer = Scorer(verify)
        try:
            funcs.append(cls(config.options, scorer=scorer, opened=opened))
        except ValueError as exc:
            raise RecipeError(f"rewards[{i}]: {config.name}: {exc}") from None
        weights.append(config.weight)
        if isinstance(funcs[-1], Overlong) and max_completion_length is not None:
            longest, cache = funcs[-1].options["max_completion_len"], funcs[-1].options["soft_punish_cache"]
            if longest - cache >= max_completion_length:
                raise RecipeError(f"rewards[{i}]: overlong: its penalty starts past {longest - cache} tokens, but "
                                  f"completions stop at grpo.max_completion_length ({max_completion_length}), so it "
                                  f"would never apply; set options.max_completion_len to {max_completion_length}")
    return funcs, weights


def check_rewards(configs: Sequence[RewardConfig], verify: VerifyConfig | None = None,
                  max_completion_length: int | None = None) -> None:
    """Refuse, before anything runs or is submitted, what `make_rewards` would refuse when the run starts (RecipeError,
    one line); nothing is started."""
    close_rewards(make_rewards(configs, verify, max_completion_length=max_completion_length)[0])


def close_rewards(funcs: Sequence[Any]) -> None:
    """Stop the verifiers of the rewards `make_rewards` made (at the end of a run)."""
    for func in funcs:
        close = getattr(func, "close", None)
        if callable(close):
            close()


__all__ = ["REWARDS", "Accuracy", "Boxed", "Format", "Length", "Overlong", "Repetition", "Reward", "Scorer",
           "check_rewards", "close_rewards", "completion_parts", "make_rewards", "split_completion", "with_opener"]
