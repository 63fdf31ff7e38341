"""`kit`: one thin subcommand per stage. User errors exit with code 2 and a one-line message."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

import kit

app = typer.Typer(
    name="kit",
    help="reasoning-hub-kit: curate verified reasoning data into Hugging Face Hub datasets, train on it, show it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _out_dir(help_text: str) -> Any:
    """The `--out DIR` option of a command that writes a folder."""
    return typer.Option("--out", metavar="DIR", help=help_text)


def _overrides(example: str) -> Any:
    """The `--set KEY=VALUE` option of a command that reads a recipe."""
    return typer.Option("--set", metavar="KEY=VALUE", help=f"Override a recipe key, e.g. --set {example} (repeatable).")


def _user_errors(fn: F) -> F:
    """Turn the kit's user-facing errors into `error: ...` and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from kit.core.sources import SourceError
        from kit.curate.job import CurateError
        from kit.evaluate.sampling import EvalError
        from kit.hub.publish import PublishError
        from kit.recipes import RecipeError
        from kit.sandbox import SandboxError
        from kit.train.jobs import JobFailed

        try:
            return fn(*args, **kwargs)
        except (RecipeError, SourceError, CurateError, SandboxError, FileExistsError) as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except PublishError as exc:  # not a misuse: the Hub refused or failed; the repo is unchanged
            console.print(f"[bold red]publish failed:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except JobFailed as exc:  # a training job that failed where it ran
            console.print(f"[bold red]job failed:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except EvalError as exc:  # the model's server failed mid-run; the answered samples are kept
            console.print(f"[bold red]eval failed:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False)])


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TextColumn("{task.fields[note]}"), console=console, transient=False,
                    disable=not console.is_terminal)


def _version(value: bool) -> None:
    if value:
        print(kit.__version__)
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Print the version and exit.")] = False) -> None:
    """reasoning-hub-kit: from a pile of problems to a published open reasoning model."""


@app.command()
@_user_errors
def curate(
    recipe: Annotated[Path, typer.Argument(help="Data recipe (YAML), e.g. recipes/data/quickstart.yaml.")],
    out: Annotated[Path | None, _out_dir("Output folder (default: the recipe's output.dir).")] = None,
    set_: Annotated[list[str] | None, _overrides("curate.max_per_problem=4")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output folder.")] = False,
    push: Annotated[str | None, typer.Option("--push", metavar="ORG/NAME", help="Then publish the folder to this Hub "
                                             "dataset repo (as `kit publish` does).")] = None,
    private: Annotated[bool, typer.Option("--private", help="With --push: create the Hub repo private.")] = False,
) -> None:
    """Generate (with a teacher model) or take reasoning traces; verify, rejection-sample, dedupe and decontaminate them into a Hub dataset folder.

    A generating teacher keeps finished samples in <output>.samples/: an interrupted run resumes when run again.

    The folder holds a `default` config (chat `messages` for SFT, reasoning inside <think>...</think>), a `metadata` config (problem, solution, verification, ...), a dataset card, recipe.yaml and stats.json. With --push it is then published to the Hub.

    Dataset presets (`sources[].preset: NAME` fills path, config, split, columns, ...; the recipe's own keys win): apps, taco, numinamath-cot, openthoughts-114k (its metadata config), openthoughts-114k-chat (its default config), bespoke-stratos-17k, sky-t1-17k, openr1-math-220k, codeforces-cots, codeforces, code-contests, kodcode, kodcode-sft-r1, leetcode, openmathreasoning, deepmath-103k, s1k, s1k-1.1.
    """
    from kit.curate.job import run_curate
    from kit.recipes import load_data_recipe

    _logging()
    overrides = list(set_ or []) + (["output.overwrite=true"] if overwrite else [])
    data_recipe = load_data_recipe(recipe, overrides)
    with _progress() as progress:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int | None = None, note: str = "") -> None:
            if stage not in tasks:
                label = {"filter": "load + filter", "generate": "generate", "verify": "verify",
                         "write": "sample + write"}[stage]
                tasks[stage] = progress.add_task(label, total=total, note="")
            progress.update(tasks[stage], completed=done, total=total, note=note)

        result = run_curate(data_recipe, out, progress=report, push=push, private=private, log=_say)
        for task in tasks.values():
            progress.update(task, total=progress.tasks[task].completed)
    stats = result.stats
    console.print(f"[bold green]kept {stats['kept']} of {stats['total_rows']} rows[/] -> {result.out_dir}")
    if not stats["kept"]:
        console.print("[bold yellow]warning:[/] no sample was kept; see stats.json for why each row was dropped "
                      "(an empty config loads only with streaming=True)")
    for stage, reasons in stats["rejections"].items():
        console.print(f"  rejected at {stage}: " + ", ".join(f"{r} {n}" for r, n in sorted(reasons.items())))
    if push:
        _publish(result.out_dir, push, "dataset", private=private)
        return
    path = str(result.out_dir)
    console.print("Read it with:")
    print(f'from datasets import load_dataset\nds = load_dataset("{path}", "metadata")\nsft = load_dataset("{path}")')


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True, markup=False)


def _publish(folder: Path, repo: str, repo_type: str, **kwargs: Any) -> None:
    """Publish with kit.hub.publish, then print where it went and, for datasets, how to load it."""
    from kit.curate.card import card_for_repo
    from kit.hub.cards import CardError, front_matter
    from kit.hub.publish import load_lines, publish

    card = card_for_repo if repo_type == "dataset" else None  # a kit dataset card names the repo it lands in
    result = publish(folder, repo, repo_type=repo_type, log=_say, card=card, **kwargs)
    print(result.url if result.revision == "main" else f"{result.url}/tree/{result.revision}")
    if repo_type == "dataset":
        try:
            configs = [c["config_name"] for c in front_matter((folder / "README.md").read_text(encoding="utf-8"))
                       .get("configs") or [] if isinstance(c, dict) and c.get("config_name")]
        except (CardError, OSError):
            configs = []
        console.print("Read it with:")
        print("\n".join(load_lines(result, sorted(configs, key=lambda c: c != "metadata") or ["default"])))


@app.command()
@_user_errors
def train(
    recipe: Annotated[str, typer.Argument(help="Training recipe (YAML), e.g. recipes/sft/tiny-cpu.yaml.")],
    out: Annotated[Path | None, _out_dir("Final model folder (default: the recipe's output.dir); checkpoints go "
                                         "to DIR.checkpoints/.")] = None,
    set_: Annotated[list[str] | None, _overrides("sft.learning_rate=2e-5")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan (samples, tokens, steps, the attention "
                                          "implementation, peak memory per GPU, tokens/s, GPU-hours, cost) and "
                                          "stop.")] = False,
    on: Annotated[str, typer.Option("--on", metavar="local|hf-jobs|slurm", help="Where it runs: here (under "
                                    "accelerate when the recipe names a config), as a Hugging Face Job, or on "
                                    "Slurm.")] = "local",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start over: delete the output folder and its "
                                            "checkpoints.")] = False,
    no_push: Annotated[bool, typer.Option("--no-push", help="Do not push to the recipe's hub.repo at the end.")] = False,
) -> None:
    """Train a model on Hub dataset repos (or `kit curate` folders) with TRL: SFT (the default, also mid-training), or GRPO with the kit's verifiers as rewards (`method: grpo`).

    A run stopped for any reason resumes from its last checkpoint when started again. At the end the output folder holds the weights, the tokenizer, recipe.yaml, train_results.json and a model card; with hub.repo in the recipe it is pushed as `kit publish` does. HF_TOKEN is read from the environment or `hf auth login` and never printed; on hf-jobs it travels only as a job secret.
    """
    from kit.recipes.train import load_train_recipe
    from kit.train.main import start

    _logging()
    overrides = list(set_ or []) + ([f"output.dir={out}"] if out else [])
    train_recipe = load_train_recipe(recipe, overrides)
    if dry_run:
        from kit.train.plan import make_plan

        _print_plan(make_plan(train_recipe, log=_say))
        return
    try:
        started = start(recipe, overrides, train_recipe, on=on, overwrite=overwrite, push=not no_push, log=_say)
    except KeyboardInterrupt:
        if on == "local":
            console.print(f"[bold yellow]stopped[/]: the same command resumes from the last checkpoint saved in "
                          f"{train_recipe.checkpoint_dir}/", highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    if started.exit_code is not None:
        raise typer.Exit(started.exit_code)
    if started.result is not None:
        console.print(f"[bold green]trained[/] -> {started.result.out_dir}")
        if started.result.url:
            print(started.result.url)


@app.command()
@_user_errors
def demo(
    left: Annotated[str | None, typer.Option("--left", metavar="MODEL", help="Left model: a local folder, a Hub id, or "
                                             "an OpenAI-compatible endpoint URL (add #MODEL to pick a served model). "
                                             "Default: ARENA_LEFT, else Qwen/Qwen2.5-1.5B-Instruct.")] = None,
    right: Annotated[str | None, typer.Option("--right", metavar="MODEL", help="Right model, as --left. Default: "
                                              "ARENA_RIGHT, else deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to serve on (default: GRADIO_SERVER_PORT, "
                                             "else 7860 or the next free one).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; 0.0.0.0 to open it to your "
                                      "network.")] = "127.0.0.1",
    max_new_tokens: Annotated[int | None, typer.Option("--max-new-tokens", help="Default token budget per answer "
                                                       "(ARENA_MAX_NEW_TOKENS, 2048).")] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", help="Default temperature; 0 is greedy "
                                                      "(ARENA_TEMPERATURE, 0.6).")] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="Comparisons at once; the rest wait in "
                                                    "the queue (ARENA_CONCURRENCY, 2).")] = None,
) -> None:
    """Run the Reasoning Arena (spaces/reasoning-arena) here: two models answer the same problem side by side, each one's thinking streamed.

    Endpoint keys come from ARENA_LEFT_API_KEY / ARENA_RIGHT_API_KEY / ARENA_API_KEY (HF_TOKEN only for Hugging Face's own endpoints); they are never shown. Needs the demo extra: pip install "reasoning-hub-kit\\[demo]".
    """
    from kit.recipes import RecipeError

    try:
        from kit.demo.arena import ArenaSettings, build_app, launch
    except ImportError as exc:
        raise RecipeError(f"kit demo needs gradio: pip install \"reasoning-hub-kit[demo]\" ({exc})") from None
    try:  # a model that names nothing, an ARENA_* variable that is no number
        settings = ArenaSettings.from_env(left=left, right=right, max_new_tokens=max_new_tokens,
                                          temperature=temperature, concurrency=concurrency)
        arena_app = build_app(settings)
    except ValueError as exc:
        raise RecipeError(str(exc)) from None
    launch(arena_app, host=host, port=port)


@app.command("eval")
@_user_errors
def eval_(
    recipe: Annotated[Path, typer.Argument(help="Evaluation recipe (YAML), e.g. recipes/eval/reasoning-suite.yaml.")],
    model: Annotated[str, typer.Option("--model", metavar="MODEL", help="The model: a local folder, a Hub id, or "
                                       "(backend openai) the name the server serves.")],
    revision: Annotated[str | None, typer.Option("--revision", metavar="REV", help="Hub revision of the model "
                                                 "(branch, tag or commit); resolved to its commit and recorded.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, metavar="N", help="Only the first N problems of "
                                              "each benchmark (a quick look; not a comparable score).")] = None,
    set_: Annotated[list[str] | None, _overrides("model.tensor_parallel_size=8")] = None,
    out: Annotated[Path | None, _out_dir("Output folder (default: the recipe's output.dir, "
                                         "out/eval/RECIPE/MODEL).")] = None,
    card: Annotated[bool, typer.Option("--card/--no-card", help="Put the scores in the model card: a local "
                                       "folder's README.md is updated in place; for a Hub model the updated card is "
                                       "written to DIR/README.md.")] = True,
    push_card: Annotated[bool, typer.Option("--push-card", help="Hub models: commit the updated README.md to the "
                                            "model repo (one commit, nothing else touched).")] = False,
    push_details: Annotated[str | None, typer.Option("--push-details", metavar="ORG/NAME", help="Publish the "
                                                     "per-sample details dataset to this Hub dataset repo.")] = None,
    private: Annotated[bool, typer.Option("--private", help="With --push-details: create the repo private.")] = False,
) -> None:
    """Score a model on reasoning benchmarks (AIME24/25, AMC23, MATH500, GPQA-Diamond, LiveCodeBench) with the kit's own verifiers: n samples per problem, pass@1 averaged over them, unbiased pass@k, confidence intervals.

    Benchmarks come from their Hub ids (pinned to a commit), or offline from the copies bundled with the kit. DIR/results.json records everything needed to reproduce the number (model commit, backend and version, tensor-parallel size, seeds, sampling, prompt, kit version, date); DIR/details/ holds every sample as a dataset folder (`kit publish DIR/details --repo ORG/NAME`). A stopped run resumes when started again.
    """
    from kit.evaluate.run import SAMPLES, publish_details, run_eval, update_card
    from kit.recipes import RecipeError
    from kit.recipes.eval import load_eval_recipe, output_dir

    _logging()
    if push_card and not card:
        raise RecipeError("--push-card pushes the updated card: drop --no-card")
    eval_recipe = load_eval_recipe(recipe, list(set_ or []))
    with _progress() as progress:
        tasks: dict[str, Any] = {}

        def report(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(f"sample {name}", total=total, note="")
            progress.update(tasks[name], completed=done, total=total)

        try:
            run = run_eval(eval_recipe, model, revision=revision, limit=limit, out=out, log=_say, progress=report)
        except KeyboardInterrupt:
            progress.stop()
            kept = output_dir(eval_recipe, model, out) / SAMPLES
            console.print(f"[bold yellow]stopped[/]: the samples answered so far are kept in {kept}/; the same command "
                          "resumes", highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None
    for bench in run.results["benchmarks"].values():
        scores = ", ".join(f"{k} {100 * s['value']:.1f} [{100 * s['ci_low']:.1f}, {100 * s['ci_high']:.1f}]"
                           for k, s in bench["scores"].items())
        problems = f"{bench['problems']} problem{'s' * (bench['problems'] != 1)}"
        console.print(f"[bold]{bench['title']}[/] ({problems} x {bench['samples_per_problem']} samples): {scores}",
                      highlight=False)
    if push_details:
        publish_details(run, push_details, log=_say, private=private)
    if card:
        update_card(run, push=push_card, log=_say)
    console.print(f"[bold green]results[/] -> {run.out_dir / 'results.json'}")


def _print_plan(plan: dict[str, Any]) -> None:
    from rich.table import Table

    from kit.train.plan import describe

    rows, warning = describe(plan)
    table = Table(title="kit train --dry-run", show_header=False, title_justify="left")
    for key, value in rows:
        table.add_row(key, value)
    Console().print(table)
    if warning:
        console.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    if plan["refused"]:
        from kit.recipes import RecipeError

        raise RecipeError(plan["refused"])


@app.command()
@_user_errors
def publish(
    folder: Annotated[Path, typer.Argument(help="Folder to publish: a dataset folder from `kit curate`, a model "
                                           "folder, or a Space.")],
    repo: Annotated[str, typer.Option("--repo", metavar="ORG/NAME", help="Hub repo id; created when missing.")],
    type_: Annotated[str | None, typer.Option("--type", metavar="dataset|model|space", help="Repo type (default: "
                                              "space when README.md names an sdk, model when there is a "
                                              "config.json, else dataset).")] = None,
    revision: Annotated[str | None, typer.Option("--revision", metavar="BRANCH", help="Branch to commit to; created "
                                                 "from main when missing (default: main).")] = None,
    tag: Annotated[str | None, typer.Option("--tag", metavar="TAG", help="Tag the published commit, e.g. v1.")] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the repo private (when it does not exist).")] = False,
    message: Annotated[str | None, typer.Option("--message", metavar="TEXT", help="Commit message.")] = None,
) -> None:
    """Publish a folder to a Hugging Face Hub repo as ONE commit.

    Changed files are uploaded and files gone from the folder are deleted in the same commit; an unchanged folder makes no commit. Errors 429/5xx and dropped connections are retried; a failure leaves the repo at its previous revision. The endpoint and token come from HF_ENDPOINT and HF_TOKEN (or `hf auth login`), as for every Hugging Face tool.
    """
    from kit.hub.publish import REPO_TYPES, PublishError, infer_repo_type

    if type_ is not None and type_ not in REPO_TYPES:
        raise PublishError(f"--type {type_!r}: use one of {', '.join(REPO_TYPES)}")
    repo_type = type_ or infer_repo_type(folder)
    if type_ is None:
        _say(f"publishing {folder} as a {repo_type} repo (use --type to choose)")
    _publish(folder, repo, repo_type, revision=revision, tag=tag, private=private, message=message)


@app.command()
@_user_errors
def release(
    tag: Annotated[str, typer.Option("--tag", metavar="TAG", help="The release tag (e.g. v1.2.0); every Hub repo "
                                     "gets it.")],
    manifest: Annotated[Path, typer.Argument(help="Release manifest: the artifacts to publish.")] = Path("release.yaml"),
) -> None:
    """Build and publish every artifact of the release manifest to the Hub, tagging each repo with TAG.

    Each artifact names a folder, a Hub repo id and a type; a dataset artifact may name the data recipe that builds its folder first. Run again to finish a release that stopped: publishing is idempotent.
    """
    from kit.curate.card import card_for_repo
    from kit.curate.job import build_folder
    from kit.hub.release import run_release

    _logging()
    for result in run_release(manifest, tag, log=_say, build=build_folder, card=card_for_repo):
        print(f"{result.repo_type} {result.repo_id}@{result.tag}: {result.url}")


@app.command()
@_user_errors
def verify(
    input: Annotated[str, typer.Argument(help="JSONL/JSON/Parquet file, dataset folder, or Hub dataset id whose rows "
                                         "follow the metadata contract (domain, solution, ...).")],
    out: Annotated[Path, typer.Option("--out", metavar="OUT.jsonl", help="Output JSONL: every input row with verified, verifier and "
                                      "verification added, in input order.")],
    workers: Annotated[int | None, typer.Option("--workers", min=1, metavar="N", help="Parallel workers (default: CPUs).")] = None,
    config: Annotated[str | None, typer.Option("--config", help="Dataset config (folders, Hub ids).")] = None,
    split: Annotated[str, typer.Option("--split", help="Dataset split (folders, Hub ids).")] = "train",
) -> None:
    """Verify rows: math answers with Math-Verify, code by running its tests in the sandbox.

    Rows that fail verification are results, not errors (exit 0); an unreadable input exits with 2. A run stopped for any reason keeps the rows verified so far in OUT.jsonl.partial, and the same command resumes from there.
    """
    from kit.core.sources import SourceError, count_rows, iter_rows
    from kit.recipes import VerifyConfig
    from kit.verify.registry import RowVerifier
    from kit.verify.rows import verify_to_jsonl

    _logging()

    def open_rows() -> Iterator[dict[str, Any]]:
        return iter_rows(input, config=config, split=split)

    first = next(open_rows(), None)
    if first is None:
        raise SourceError(f"{input}: no rows")
    missing = [c for c in ("domain", "solution") if c not in first]
    if missing:
        hint = "; a kit dataset's `default` config holds chats: verify its metadata, --config metadata" \
            if "messages" in first and config is None else ""
        raise SourceError(f"{input}: missing column {missing[0]!r} (rows need domain and solution{hint})")
    with _progress() as progress, RowVerifier(VerifyConfig(workers=workers)) as verifier:
        task = progress.add_task("verify", total=count_rows(input), note="")
        written = verify_to_jsonl(open_rows, out, verifier, on_progress=lambda n: progress.update(task, completed=n),
                                  log=_say)
    console.print(f"[bold green]{written.passed} verified[/], {written.failed} not verified -> {out}")


if __name__ == "__main__":
    app()
