"""The kit's GPU GRPO check: throughput and peak memory of GRPO steps against the `--dry-run` plan.

Runnable offline on any GPU box (nothing is downloaded, no vLLM needed): a random-init model of Qwen2.5-0.5B's
shape (bench/gpu_train.py's shapes) with a tokenizer built on the prompts, trained by `kit train`'s own code
(`kit.train.run.train`, `method: grpo`) on the 500 bundled MATH500 problems, asked with the kit's prompt
builder and rewarded by the kit's accuracy (Math-Verify) and format rewards, in bf16, generating with plain
transformers. A random model never ends a completion early: every completion runs to max_completion_length,
the longest step the plan has to cover. For each micro-batch (completions per step, `num_generations` of each
prompt), completion length and KL weight (beta 0, and beta > 0, which adds the reference model):

- tokens/s per GPU in steady state (prompt and completion tokens of the trained completions; a step
  generates them, scores them and trains on them) and seconds per step;
- the peak memory torch allocated, against what `kit train --dry-run` planned for the same run, and the
  moment the plan says is the peak (generation or training).

    PYTHONPATH=. python bench/gpu_grpo.py                 # on a GPU: 0.5B shape, batches 8,32, lengths 512,2048
    PYTHONPATH=. python bench/gpu_grpo.py --tiny          # on the CPU: a 2-layer model, ~1 minute

`--tiny` prints the same table (no peak memory on the CPU). With vLLM installed, `--vllm colocate` generates
with it (TRL's colocate mode; the plan then counts vllm_gpu_memory_utilization of the GPU).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import kit  # noqa: E402
from bench.gpu_train import SHAPES, cell, quiet, train_measured  # noqa: E402


def write_problems(folder: Path) -> Path:
    """The 500 MATH500 problems (bundled with the kit) as a dataset folder with the kit's `metadata` config."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in
            (Path(kit.__file__).parent / "data/benchmarks/math500.jsonl").read_text(encoding="utf-8").splitlines()]
    table = pa.table({"problem_id": [r["unique_id"] for r in rows], "problem": [r["problem"] for r in rows],
                      "domain": ["math"] * len(rows), "ground_truth_answer": [r["answer"] for r in rows]})
    (folder / "metadata").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "metadata/train.parquet")
    (folder / "README.md").write_text("---\nconfigs:\n- config_name: metadata\n  data_files:\n  - split: train\n"
                                      "    path: metadata/train.parquet\n---\n", encoding="utf-8")
    return folder


def write_recipe(path: Path, data: Path, *, shape: str = "0.5b", steps: int = 6, gpu: str = "H200",
                 vllm: str | None = None) -> Path:
    """The GRPO recipe of the check (micro-batch, completion length and beta are set with --set)."""
    cpu = gpu == "cpu"
    recipe = {
        "name": f"bench-grpo-qwen2.5-{shape}-shape",
        "method": "grpo",
        "model": {"init": "random", "architecture": "qwen2", "tokenizer": "build", "vocab_size": 32000,
                  "dtype": "float32" if cpu else "bfloat16", "config": SHAPES[shape]},
        "data": {"mixture": [{"path": str(data)}], "seed": 0},
        "chat_template": "kit",
        "rewards": [{"name": "accuracy"}, {"name": "format", "weight": 0.2}],
        "grpo": {"bf16": not cpu, "num_generations": 8, "per_device_train_batch_size": 8,
                 "max_completion_length": 512, "temperature": 1.0, "beta": 0.0, "max_steps": steps,
                 "learning_rate": 1e-6, "optim": "adamw_torch" if cpu else "adamw_torch_fused",
                 "activation_checkpointing": False, "logging_steps": 1, "save_strategy": "no", "report_to": "none",
                 "seed": 0, **({"use_cpu": True} if cpu else {}),
                 **({"use_vllm": True, "vllm_mode": vllm, "vllm_gpu_memory_utilization": 0.3} if vllm else {})},
        "verify": {"workers": 4 if not cpu else 2},
        "compute": {"gpu": gpu},
    }
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return path


def run_one(recipe_path: Path, batch: int, length: int, beta: float, out: Path,
            gpu_memory: float | None) -> dict[str, Any]:
    """Plan then train one configuration with the kit's code; the row of the table."""
    from kit.recipes.train import load_train_recipe
    from kit.train.plan import make_plan

    recipe = load_train_recipe(recipe_path, [f"grpo.per_device_train_batch_size={batch}",
                                             f"grpo.max_completion_length={length}", f"grpo.beta={beta}",
                                             f"output.dir={out}"])
    row: dict[str, Any] = {"batch": batch, "length": length, "beta": beta}
    with quiet():
        plan = make_plan(recipe, log=lambda _: None)
    memory = plan["memory_gib_per_gpu"]
    row.update(planned=memory["total"], phase=memory.get("phase"), params=plan["parameters"])
    result, measured = train_measured(recipe, row["planned"], gpu_memory)
    if result is None:
        return {**row, **measured}
    compute, metrics = result.results["compute"], result.results["metrics"]
    tokens_s = compute.get("tokens_per_second_per_gpu")
    per_step = metrics["train_tokens"] / max(1, metrics["global_step"])
    return {**row, **measured, "tokens_s": tokens_s, "step_s": per_step / tokens_s if tokens_s else None,
            "peak": compute.get("peak_memory_gib_per_gpu")}


def print_table(shape: str, generation: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{shape} shape ({rows[0]['params'] / 1e6:,.0f}M parameters), generation: {generation}")
    print(f"  {'batch':>5} {'length':>6} {'beta':>5} {'tokens/s/GPU':>13} {'s/step':>7} {'peak GiB':>9} "
          f"{'plan GiB':>9} {'plan/peak':>9}  plan's peak")
    for row in rows:
        head = f"  {row['batch']:>5} {row['length']:>6} {row['beta']:>5g}"
        planned = cell(row["planned"], ".1f")
        if "note" in row:
            print(f"{head} {row['note']}  (plan {planned} GiB)")
            continue
        ratio = row["planned"] / row["peak"] if row.get("peak") and row["planned"] else None
        print(f"{head} {cell(row['tokens_s'], ',.0f'):>13} {cell(row['step_s'], '.2f'):>7} "
              f"{cell(row['peak'], '.1f'):>9} {planned:>9} {cell(ratio, '.2f'):>9}  {row['phase']}")


def main(argv: list[str] | None = None) -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the CPU check: a 2-layer model, 16-token completions")
    parser.add_argument("--shape", default=None, help="0.5b or 7b (default 0.5b; tiny with --tiny)")
    parser.add_argument("--batches", default=None, help="completions per step, comma-separated, multiples of 8 "
                                                        "(default 8,32; tiny 8,16)")
    parser.add_argument("--lengths", default=None, help="max_completion_length values (default 512,2048; tiny 16)")
    parser.add_argument("--betas", default=None, help="KL weights, comma-separated (default 0,0.04)")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default 6; tiny 4)")
    parser.add_argument("--vllm", choices=["colocate"], default=None, help="generate with vLLM (it must be installed)")
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    if not cuda and not args.tiny:
        sys.exit("no GPU here: run with --tiny for the CPU check")
    import transformers
    from datasets import disable_progress_bars

    from kit.train.gpus import device_name, lookup

    disable_progress_bars()
    transformers.logging.set_verbosity_error()  # e.g. the Trainer's note that it cannot count GRPO's tokens itself
    shape = args.shape or ("tiny" if args.tiny else "0.5b")
    batches = [int(b) for b in (args.batches or ("8,16" if args.tiny else "8,32")).split(",")]
    lengths = [int(n) for n in (args.lengths or ("16" if args.tiny else "512,2048")).split(",")]
    betas = [float(b) for b in (args.betas or "0,0.04").split(",")]
    steps = args.steps or (4 if args.tiny else 6)
    gpu_name = device_name() if cuda else "cpu"
    spec = lookup(gpu_name)
    memory = torch.cuda.get_device_properties(0).total_memory / 1024**3 if cuda else None
    print(f"torch {torch.__version__}, {gpu_name}" + (f" ({memory:.0f} GiB)" if memory else "")
          + f"; GRPO, {steps} steps per run, 8 completions per prompt")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = write_problems(work / "math500-problems")
        recipe = write_recipe(work / f"{shape}.yaml", data, shape=shape, steps=steps,
                              gpu="cpu" if args.tiny else (spec.name if spec else "H100"), vllm=args.vllm)
        rows = [run_one(recipe, batch, length, beta, work / f"out-{batch}-{length}-{beta:g}", memory)
                for length in lengths for batch in batches for beta in betas]
        print_table(shape, f"vLLM {args.vllm}" if args.vllm else "transformers", rows)


if __name__ == "__main__":
    main()
