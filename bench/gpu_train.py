"""The kit's GPU training benchmark: tokens/s, MFU and peak memory against the plan, by attention and batch.

Runnable offline on any GPU box (nothing is downloaded): a random-init model of Qwen2.5-0.5B's shape (and of
Qwen2.5-7B's, with activation checkpointing, when the plan says it fits the GPU) with a tokenizer built on the
data, trained by `kit train`'s own code (`kit.train.run.train`) on the 500 bundled MATH500 solutions written
as `<think>` traces, packed without padding to 8k tokens, in bf16 - the run of ../shared/gpu.md. For each
shape, attention implementation (the kit's `auto` choice, then every one that can train here) and micro-batch:

- tokens/s per GPU in steady state, TFLOP/s and MFU, as every `kit train` run reports them in
  train_results.json (6 x parameters FLOPs per token, the GPU's dense bf16 peak from kit/train/gpus.py);
- the peak memory torch allocated, against what `kit train --dry-run` planned for the same run;
- a configuration the kit refuses (sdpa with padding-free packing above a micro-batch of 1) says so.

Then the kit against plain TRL on the kit's default choice (bench/train_throughput.py's two sides: the same
rows, the same init, the same SFTConfig), as a ratio measured in this run.

    PYTHONPATH=. python bench/gpu_train.py                 # on a GPU: 0.5B (and 7B) shapes, batches 1 and 4
    PYTHONPATH=. python bench/gpu_train.py --tiny          # on the CPU: a 2-layer model, 512 tokens, ~2 min

`--tiny` prints the same table (no MFU and no peak memory on the CPU: there is no bf16 peak to divide by).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import kit  # noqa: E402

# Qwen2.5's shapes (config.json of Qwen/Qwen2.5-0.5B and -7B), and a tiny one for the CPU.
SHAPES: dict[str, dict[str, Any]] = {
    "0.5b": {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
             "num_key_value_heads": 2, "tie_word_embeddings": True, "max_position_embeddings": 32768},
    "7b": {"hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28,
           "num_key_value_heads": 4, "tie_word_embeddings": False, "max_position_embeddings": 32768},
    "tiny": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "tie_word_embeddings": True, "max_position_embeddings": 2048},
}
CHECKPOINTING = {"7b"}  # 7B at 8k needs activation checkpointing to fit one GPU


def write_traces(folder: Path) -> Path:
    """The 500 MATH500 solutions (bundled with the kit) as a chat dataset folder of `<think>` traces."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in
            (Path(kit.__file__).parent / "data/benchmarks/math500.jsonl").read_text(encoding="utf-8").splitlines()]
    messages = [[{"role": "user", "content": r["problem"]},
                 {"role": "assistant", "content": f"<think>\n{r['solution']}\n</think>\n\n"
                                                  f"The answer is $\\boxed{{{r['answer']}}}$."}] for r in rows]
    (folder / "default").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"messages": messages}), folder / "default/train.parquet")
    (folder / "README.md").write_text("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
                                      "    path: default/train.parquet\n---\n", encoding="utf-8")
    return folder


def write_recipe(path: Path, data: Path, *, shape: str = "0.5b", max_length: int = 8192, steps: int = 30,
                 gpu: str = "H200") -> Path:
    """The training recipe of the gpu.md run (attention and micro-batch are set with --set)."""
    cpu = gpu == "cpu"
    recipe = {
        "name": f"bench-qwen2.5-{shape}-shape",
        "model": {"init": "random", "architecture": "qwen2", "tokenizer": "build", "vocab_size": 32000,
                  "dtype": "float32" if cpu else "bfloat16", "config": SHAPES[shape]},
        "data": {"mixture": [{"path": str(data)}], "seed": 0},
        "chat_template": "kit",
        "sft": {"bf16": not cpu, "max_length": max_length, "packing": True, "per_device_train_batch_size": 1,
                "activation_checkpointing": shape in CHECKPOINTING, "optim": "adamw_torch_fused" if not cpu
                else "adamw_torch", "max_steps": steps, "learning_rate": 1e-4, "logging_steps": 5,
                "save_strategy": "no", "report_to": "none", "seed": 0, **({"use_cpu": True} if cpu else {})},
        "compute": {"gpu": gpu},
    }
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return path


@contextlib.contextmanager
def quiet():
    """The Trainer's progress bars and log lines, away from the table."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def train_measured(recipe: Any, planned: float | None, gpu_memory: float | None) -> tuple[Any, dict[str, Any]]:
    """Train one planned configuration quietly with the kit's code (`kit.train.run.train`), the peak memory
    counted from zero: (its result, {"seconds": ...}), or (None, {"note": why}) when the plan does not fit the
    GPU or the run failed (e.g. out of memory: a row, not the end of the bench)."""
    import torch

    from kit.recipes import RecipeError
    from kit.train.run import train

    if gpu_memory and planned and planned > 0.95 * gpu_memory:
        return None, {"note": f"skipped: the plan needs {planned:.0f} GiB"}
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    started = time.monotonic()
    try:
        with quiet():
            result = train(recipe, log=lambda _: None, push=False)
    except (RecipeError, RuntimeError) as exc:
        return None, {"note": f"failed: {(str(exc).splitlines() or [type(exc).__name__])[0][:90]}"}
    finally:
        gc.collect()
    return result, {"seconds": time.monotonic() - started}


def run_one(recipe_path: Path, attention: str, batch: int, out: Path, gpu_memory: float | None) -> dict[str, Any]:
    """Plan then train one configuration with the kit's code; the row of the table."""
    from kit.recipes.train import load_train_recipe
    from kit.train.plan import make_plan

    recipe = load_train_recipe(recipe_path, [f"model.attn_implementation={attention}",
                                             f"sft.per_device_train_batch_size={batch}", f"output.dir={out}"])
    row: dict[str, Any] = {"attention": attention, "batch": batch}
    with quiet():
        plan = make_plan(recipe, log=lambda _: None)
    row.update(planned=plan["memory_gib_per_gpu"]["total"], params=plan["parameters"])
    if plan["refused"]:
        return {**row, "note": "refused by the kit: a dense (batch x max_length)^2 mask per layer"}
    result, measured = train_measured(recipe, row["planned"], gpu_memory)
    if result is None:
        return {**row, **measured}
    compute = result.results["compute"]
    return {**row, **measured, "used": compute.get("attn_implementation"),
            "packing": result.results["hyperparameters"]["packing"], "tokens_s": compute.get("tokens_per_second_per_gpu"),
            "tflops": compute.get("tflops_per_gpu"), "mfu": compute.get("mfu"),
            "peak": compute.get("peak_memory_gib_per_gpu")}


def attentions() -> list[str]:
    """`auto` (the kit's choice), then every implementation that can train here."""
    import torch

    from kit.train.attention import installed

    cuda = torch.cuda.is_available()
    here = installed(cuda=cuda, hopper=cuda and torch.cuda.get_device_capability()[0] == 9)
    return ["auto", *dict.fromkeys([*here, "sdpa", *([] if cuda else ["eager"])])]


def cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def print_table(shape: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{shape} shape ({rows[0]['params'] / 1e6:,.0f}M parameters)")
    print(f"  {'attention':<34} {'batch':>5} {'tokens/s/GPU':>13} {'TFLOP/s':>8} {'MFU':>6} {'peak GiB':>9} "
          f"{'plan GiB':>9} {'plan/peak':>9}")
    for row in rows:
        name = row["attention"] if row["attention"] != "auto" else f"auto -> {row.get('used', '?')}"
        if row.get("packing") is False:
            name += " (no packing)"
        if "note" in row:
            print(f"  {name:<34} {row['batch']:>5} {row['note']}  (plan {row['planned']:.1f} GiB)")
            continue
        ratio = row["planned"] / row["peak"] if row.get("peak") else None
        print(f"  {name:<34} {row['batch']:>5} {cell(row['tokens_s'], ',.0f'):>13} {cell(row['tflops'], '.3g'):>8} "
              f"{cell(row['mfu'], '.1%'):>6} {cell(row['peak'], '.1f'):>9} {row['planned']:>9.1f} "
              f"{cell(ratio, '.2f'):>9}")


def plain_ratio(recipe_path: Path, data: Path, steps: int, work: Path) -> None:
    """kit/plain TRL on the kit's default choice, with bench/train_throughput.py's two sides."""
    from bench.train_throughput import bench_throughput

    args = argparse.Namespace(recipe=str(recipe_path), data=str(data), steps=steps, warmup=2, rounds=2,
                              hidden_size=None, layers=None)
    bench_throughput(args, work)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the CPU check: a 2-layer model at 512 tokens")
    parser.add_argument("--shapes", default=None, help="comma-separated: 0.5b, 7b (default: both on a GPU)")
    parser.add_argument("--batches", default=None, help="micro-batches, comma-separated (default 1,4; tiny 1,2)")
    parser.add_argument("--attention", default=None, help="comma-separated (default: auto and every one here)")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default 30; tiny 8)")
    parser.add_argument("--no-plain", action="store_true", help="skip the kit/plain-TRL ratio")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    if not cuda and not args.tiny:
        sys.exit("no GPU here: run with --tiny for the CPU check")
    from datasets import disable_progress_bars

    from kit.train.gpus import device_name, lookup

    disable_progress_bars()
    shapes = (args.shapes or ("tiny" if args.tiny else "0.5b,7b")).split(",")
    batches = [int(b) for b in (args.batches or ("1,2" if args.tiny else "1,4")).split(",")]
    names = args.attention.split(",") if args.attention else attentions()
    steps = args.steps or (8 if args.tiny else 30)
    gpu_name = device_name() if cuda else "cpu"
    spec = lookup(gpu_name)
    memory = torch.cuda.get_device_properties(0).total_memory / 1024**3 if cuda else None
    print(f"torch {torch.__version__}, {gpu_name}" + (f" ({memory:.0f} GiB, {spec.bf16_tflops:g} bf16 TFLOP/s)"
                                                        if spec and memory else "") + f"; {steps} steps per run")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = write_traces(work / "math500-traces")
        first_recipe = None
        for shape in shapes:
            recipe = write_recipe(work / f"{shape}.yaml", data, shape=shape, max_length=512 if args.tiny else 8192,
                                  steps=steps, gpu="cpu" if args.tiny else (spec.name if spec else "H100"))
            first_recipe = first_recipe or recipe
            rows = [run_one(recipe, name, batch, work / f"out-{shape}-{name.replace('/', '_')}-{batch}", memory)
                    for name in names for batch in batches]
            print_table(shape, rows)
        if not args.no_plain and first_recipe:
            print()
            plain_ratio(first_recipe, data, steps, work / "plain")


if __name__ == "__main__":
    main()
