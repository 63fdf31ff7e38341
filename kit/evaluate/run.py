"""`kit eval`: sample a model on the recipe's benchmarks, verify every sample with the kit's own verifiers, score
pass@k with confidence intervals, and write what is needed to reproduce the number.

    OUT/results.json   provenance (model and commit, backend and version, tensor-parallel size, seeds, sampling,
                       prompt and chat template, kit version, date) and, per benchmark, its dataset (Hub id and
                       commit, or the bundled copy), problems, samples per problem, pass@k with intervals, and
                       why samples failed
    OUT/details/       the per-sample outputs as a dataset folder, one config per benchmark (`kit publish`)
    OUT/.samples/      the answered samples, so that a stopped run resumes (kit.evaluate.sampling)

Scores follow the seed papers: pass@1 is the mean over the `samples` drawn per problem (AIME "averaged over
N runs" in OpenThinker and Sky-T1), pass@k is the unbiased estimator, and the interval is over problems
(kit.evaluate.passk).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import kit
from kit.core.chat import split_reply
from kit.core.log import Log, Progress
from kit.core.sources import not_found, unreachable
from kit.evaluate.data import LoadedBenchmark, load
from kit.evaluate.details import write_details, write_results
from kit.evaluate.passk import benchmark_pass_at_k
from kit.evaluate.sampling import Sampler, check_key, messages, template_digest
from kit.hub.ids import in_cache
from kit.recipes import RecipeError
from kit.recipes.eval import BenchmarkConfig, EvalRecipe, output_dir
from kit.verify import Verdict
from kit.verify.registry import RowVerifier

DETAILS = "details"
SAMPLES = ".samples"


@dataclass
class EvalRun:
    out_dir: Path
    results: dict[str, Any]
    details: dict[str, list[dict[str, Any]]]  # per benchmark, one row per sample


def run_eval(recipe: EvalRecipe, model: str, *, revision: str | None = None, limit: int | None = None,
             out: str | Path | None = None, log: Log = print, progress: Progress | None = None,
             llm: Any = None) -> EvalRun:
    """Evaluate `model` (a local folder, a Hub id, or the name a server serves) as `recipe` says; write
    results.json and details/ into the output folder and return them. `limit` caps every benchmark's problems."""
    recipe = recipe.model_copy(deep=True)
    recipe.model.model, recipe.model.revision = model, revision or recipe.model.revision
    for bench in recipe.benchmarks:
        bench.limit = min(limit, bench.limit or limit) if limit else bench.limit
    out_dir = output_dir(recipe, model, out)
    if llm is None:
        check_key(recipe)  # before any benchmark is downloaded
    out_dir.mkdir(parents=True, exist_ok=True)
    loaded = [load(bench, log) for bench in recipe.benchmarks]  # every benchmark found before the model loads
    for item in loaded:
        where = item.dataset["path"] if item.dataset["source"] != "hub" else (
            f"{item.dataset['hub_id']}@{(item.dataset['revision'] or '')[:7]}")
        log(f"{item.spec.name}: {len(item.rows)} problem{'s' * (len(item.rows) != 1)} from {where}")
    model_info = _model_info(recipe)
    if model_info.get("sha") and recipe.model.backend != "openai":
        recipe.model.revision = model_info["sha"]  # load exactly the commit that is recorded
    sampler = Sampler(recipe, llm)
    try:
        with RowVerifier(recipe.verify) as verifier:
            benchmarks, details = {}, {}
            for bench, item in zip(recipe.benchmarks, loaded, strict=True):
                store = sampler.store(out_dir / SAMPLES, item.spec.name, item.dataset, model_info.get("sha"))
                sampler.draw(store, item.rows, bench.samples,
                             progress=progress and (lambda d, t, n=item.spec.name: progress(n, d, t)))
                rows = _judge(item, store.fetch({(r["problem_id"], i) for r in item.rows
                                                 for i in range(bench.samples)}), bench.samples, verifier, recipe)
                benchmarks[item.spec.name] = _summary(item, rows, bench, recipe.confidence)
                details[item.spec.name] = rows
        template = sampler.chat_template()
        results = {
            "kit_version": kit.__version__,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "recipe": recipe.model_dump(mode="json"),
            "model": model_info,
            "backend": sampler.backend(),
            "sampling": recipe.sampling.model_dump(),
            "seeds": {"base": recipe.sampling.seed, "per_sample": "sha256(f'{base}:{problem_id}:{sample_index}'), "
                      "first 4 bytes, & 0x7fffffff (kit.core.schema.sample_seed); each sample's seed is in the details"},
            "prompt": {"system_prompt": recipe.prompt.system_prompt, "instructions": recipe.prompt.instructions,
                       "user_turn": "problem, then the starter code of a code problem in a ```python block, then "
                                    "the instruction of its domain, separated by blank lines",
                       "chat_template": "the server's" if template is None else "the tokenizer's",
                       "chat_template_sha256": template_digest(template)},
            "confidence": recipe.confidence,
            "benchmarks": benchmarks,
            "details": {"path": DETAILS, "repo": None},
        }
    finally:
        sampler.close()
    write_results(out_dir, results)
    write_details(out_dir / DETAILS, results, details)
    return EvalRun(out_dir, results, details)


def _model_info(recipe: EvalRecipe) -> dict[str, Any]:
    """The model under test: its id (a local folder's absolute path), the revision asked, and the commit it
    resolved to on the Hub (None for local folders and for models behind a server, whose weights the kit
    cannot see)."""
    from kit.hub.ids import is_repo_id

    model, revision = recipe.model.model, recipe.model.revision
    local = Path(model).expanduser()
    if local.exists():
        return {"id": str(local.resolve()), "name": local.resolve().name, "revision": None, "sha": None, "local": True}
    info: dict[str, Any] = {"id": model, "name": model, "revision": revision, "sha": None, "local": False}
    if recipe.model.backend != "openai" and is_repo_id(model, bare=True):
        from huggingface_hub import HfApi

        try:
            info["sha"] = HfApi().model_info(model, revision=revision).sha
        except Exception as exc:  # noqa: BLE001 - offline: the weights may still be in the local cache
            if unreachable(exc) and not in_cache(model, revision):
                raise RecipeError(f"--model {not_found(model, 'model', exc)}") from None
            info["sha_error"] = f"{type(exc).__name__}: the commit could not be resolved on the Hub"
    elif recipe.model.backend != "openai":
        raise RecipeError(f"--model {not_found(model, 'model')}")
    return info


def _judge(item: LoadedBenchmark, stored: dict[tuple[str, int], dict[str, Any]], samples: int,
           verifier: RowVerifier, recipe: EvalRecipe) -> list[dict[str, Any]]:
    """One details row per sample, with its verdict: the reply split into reasoning and answer, then the
    verifier its `kind` names in the registry (Math-Verify, the choice letter, or the tests in the sandbox)."""
    rows, verdicts, to_verify = [], [], []
    for problem in item.rows:
        prompt = messages(problem, recipe)[-1]["content"]
        for i in range(samples):
            sample = stored[(problem["problem_id"], i)]
            split = split_reply(sample.get("content"), sample.get("reasoning_content"), sample.get("finish_reason"))
            rows.append({"problem": problem, "prompt": prompt, "sample": sample, "split": split})
            if split.reject:
                verdicts.append(Verdict(False, "none", split.reject, {"error": split.detail}))
            else:
                verdicts.append(None)
                to_verify.append((len(rows) - 1, {**problem, "solution": split.solution}))
    for (index, _), verdict in zip(to_verify, verifier.verify((r for _, r in to_verify), kind=item.spec.kind),
                                   strict=True):
        verdicts[index] = verdict
    out = []
    for entry, verdict in zip(rows, verdicts, strict=True):
        problem, sample, split = entry["problem"], entry["sample"], entry["split"]
        out.append({
            "benchmark": item.spec.name, "problem_id": problem["problem_id"], "sample_index": sample["sample_index"],
            "seed": sample["seed"], "problem": problem["problem"], "prompt": entry["prompt"],
            # the gold the verifier read: GSM8K's is the `#### N` line of its reference solution
            "gold": problem.get("ground_truth_answer") or verdict.detail.get("gold"),
            "reasoning": split.reasoning, "answer": split.solution,
            "finish_reason": sample.get("finish_reason"), "output_tokens": sample.get("output_tokens"),
            "correct": verdict.passed, "reason": verdict.reason, "verifier": verdict.verifier,
            "verification": verdict.to_json(),
        })
    return out


def _summary(item: LoadedBenchmark, rows: list[dict[str, Any]], bench: BenchmarkConfig,
             confidence: float) -> dict[str, Any]:
    samples = bench.samples
    correct: Counter[str] = Counter()
    for row in rows:
        correct[row["problem_id"]] += bool(row["correct"])
    counts = [(samples, correct[p["problem_id"]]) for p in item.rows]
    tokens = [r["output_tokens"] for r in rows if isinstance(r["output_tokens"], int)]
    groups: dict[str, list[tuple[int, int]]] = {}  # LiveCodeBench by difficulty, as Sky-T1 reports it
    for problem, count in zip(item.rows, counts, strict=True):
        if problem.get("difficulty"):
            groups.setdefault(str(problem["difficulty"]), []).append(count)
    return {
        "title": item.spec.title, "kind": item.spec.kind, "dataset": item.dataset, "problems": len(item.rows),
        "limit": bench.limit, "subset": item.subset, "samples_per_problem": samples,
        "scores": {f"pass@{k}": benchmark_pass_at_k(counts, k, confidence).to_json() for k in sorted(set(bench.k))},
        "correct_samples": sum(c for _, c in counts),
        "reasons": dict(sorted(Counter(r["reason"] for r in rows if not r["correct"]).items())),
        "output_tokens": {"mean": sum(tokens) / len(tokens) if tokens else None, "max": max(tokens, default=None)},
        **({"by_difficulty": {d: benchmark_pass_at_k(c, 1, confidence).to_json() for d, c in sorted(groups.items())}}
           if groups else {}),
    }


def publish_details(run: EvalRun, repo: str, *, log: Log = print, private: bool = False) -> None:
    """Publish the details folder to a Hub dataset repo (as `kit publish`), then record where it went."""
    from kit.hub.publish import publish

    result = publish(run.out_dir / DETAILS, repo, repo_type="dataset", private=private, log=log,
                     message=f"kit eval: details of {run.results['model']['name']}")
    log(f"details -> {result.url}")
    run.results["details"]["repo"] = repo
    write_results(run.out_dir, run.results)


def update_card(run: EvalRun, *, push: bool = False, log: Log = print) -> Path | None:
    """Put the scores in the model card (model-index and the Evaluation table), merged with those already there.

    A local model folder: its README.md is updated in place, and its eval_results.json (what `kit train` renders
    the card's results from) rewritten. A Hub model: its card is fetched, updated and written to OUT/README.md;
    `push` commits it to the model repo (README.md only). A new card is started only where the model has none
    (no README.md); a card that could not be read (its metadata does not parse, the Hub did not answer) is left
    alone: PublishError, one line that says why and where the results are - for a Hub model without `push`, that
    line is logged and no card is written (None)."""
    from huggingface_hub import ModelCard

    from kit.evaluate.card import update_model_card
    from kit.hub.publish import PublishError

    model = run.results["model"]
    saved = run.out_dir / "results.json"

    def unreadable(where: str, exc: Exception) -> PublishError:
        # the first sentence: huggingface_hub's advice to ignore metadata errors loses what the card holds
        first = (str(exc).strip().splitlines() or [""])[0].split(". ")[0][:300]
        return PublishError(f"{where}: the model card could not be read ({type(exc).__name__}: {first}); it was "
                            f"left alone and the results are in {saved} (--no-card skips the card)")

    if model["local"]:
        path = Path(model["id"]) / "README.md"
        try:
            text = path.read_text(encoding="utf-8") if path.is_file() else None
            new = update_model_card(text, run.results, model["name"])
        except (ValueError, yaml.YAMLError) as exc:  # not UTF-8, metadata huggingface_hub cannot parse
            raise unreadable(str(path), exc) from None
        path.write_text(new, encoding="utf-8")
        results = [{k: v for k, v in dataclasses.asdict(e).items() if v is not None}
                   for e in ModelCard(new).data.eval_results or []]
        (path.parent / "eval_results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        log(f"model card updated: {path}" + (" (a local folder: publish it with `kit publish`)" if push else ""))
        return path
    try:
        text = _hub_card(model["id"], unreadable, log)
        try:
            card = update_model_card(text, run.results, model["id"])
        except (ValueError, yaml.YAMLError) as exc:
            raise unreadable(model["id"], exc) from None
    except PublishError as exc:
        if push:
            raise
        log(f"{exc}; no card written")  # an offline run of a cached model: the evaluation itself stands
        return None
    path = run.out_dir / "README.md"
    path.write_text(card, encoding="utf-8")
    if push:
        from huggingface_hub import HfApi

        try:
            info = HfApi().upload_file(path_or_fileobj=str(path), path_in_repo="README.md", repo_id=model["id"],
                                       repo_type="model", commit_message="kit eval: evaluation results")
        except Exception as exc:  # noqa: BLE001 - one line, whatever the Hub said
            raise PublishError(f"the card could not be pushed to {model['id']} ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''}); it is in {path}") from None
        log(f"model card pushed: {info.commit_url}")
    else:
        log(f"model card with the results: {path} (--push-card commits it to {model['id']})")
    return path


def _hub_card(repo_id: str, unreadable: Callable[[str, Exception], Exception], log: Log) -> str | None:
    """The README.md text of a Hub model; None when it has none (the Hub answered that the file is not there, or
    that it shows no such model repo: a name a server serves, a repo not made yet). Any other failure (offline,
    refused, a server error) raises `unreadable(repo_id, exc)`: no card is started from nothing over one that
    could not be fetched."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        file = hf_hub_download(repo_id, "README.md", repo_type="model")
    except EntryNotFoundError as exc:
        if isinstance(exc, LocalEntryNotFoundError):  # offline, unreachable or refused: not "no such file"
            raise unreadable(repo_id, exc.__cause__ or exc) from None  # the cause says which
        log(f"{repo_id}: no model card yet; writing a new one")
        return None
    except RepositoryNotFoundError:
        log(f"{repo_id}: no model repo on the Hub shows it; writing a new card")
        return None
    except Exception as exc:  # noqa: BLE001 - offline, refused, a server error: one line
        raise unreadable(repo_id, exc) from None
    with open(file, encoding="utf-8-sig", newline="") as f:  # as ModelCard.load reads it
        return f.read()
