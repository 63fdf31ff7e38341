"""What every run measures of its speed: steady-state tokens/s per GPU, achieved TFLOP/s, MFU and peak memory.

Tokens are the non-padding input tokens the Trainer counts over all processes (`num_input_tokens_seen`).
The first steps are left out (compilation, allocator and cache warm-up), and so is each interval in which a
checkpoint was saved or an evaluation ran. FLOPs per token are 6 x parameters (forward and backward of the
dense weights; attention's own FLOPs left out, as in ../shared/gpu.md), and MFU is the achieved TFLOP/s over
the GPU's dense bf16 peak (kit.train.gpus). Peak memory is torch's peak allocation on this process's GPU.
"""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback

from kit.train.gpus import device_name, lookup

GIB = 1024**3


def warmup_steps(total: int) -> int:
    """Steps left out of the steady state: a tenth of the run, at least 2 and at most 10."""
    return max(2, min(10, total // 10))


class Throughput(TrainerCallback):
    """Notes the time and the tokens seen at the end of every step, and the steps followed by a save."""

    def __init__(self) -> None:
        self.marks: list[tuple[int, float, int]] = []  # (global step, seconds, tokens seen)
        self.interrupted: set[int] = set()  # steps after which a save or an evaluation ran

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.marks.append((state.global_step, time.perf_counter(), int(state.num_input_tokens_seen or 0)))

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.interrupted.add(state.global_step)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.interrupted.add(state.global_step)

    def tokens_per_second(self) -> tuple[float | None, int, int]:
        """(steady tokens/s over all processes, steps measured, steps left out at the start)."""
        skip = warmup_steps(len(self.marks))
        seconds = tokens = 0.0
        measured = 0
        for (step, t0, n0), (_, t1, n1) in zip(self.marks[skip - 1:], self.marks[skip:], strict=False):
            if step not in self.interrupted:
                seconds, tokens, measured = seconds + t1 - t0, tokens + n1 - n0, measured + 1
        return (tokens / seconds if seconds > 0 and tokens > 0 else None), measured, skip

    def summary(self, *, parameters: int, world: int, device: str | None, peak_memory_gib: float | None
                ) -> dict[str, Any]:
        """The run's throughput figures; `device` is torch's name of the GPU (None on the CPU: no MFU)."""
        total, measured, skip = self.tokens_per_second()
        per_gpu = total / world if total else None
        spec = lookup(device)
        tflops = per_gpu * 6 * parameters / 1e12 if per_gpu else None
        return {
            "tokens_per_second_per_gpu": round(per_gpu, 1) if per_gpu else None,
            "steps_measured": measured, "warmup_steps": skip,
            "flops_per_token": 6 * parameters,
            "tflops_per_gpu": float(f"{tflops:.4g}") if tflops else None,
            "gpu_model": spec.name if spec else device,
            "gpu_peak_bf16_tflops": spec.bf16_tflops if spec else None,
            "mfu": round(tflops / spec.bf16_tflops, 4) if spec and tflops else None,
            "peak_memory_gib_per_gpu": round(peak_memory_gib, 2) if peak_memory_gib is not None else None,
        }

    def measure(self, *, parameters: int, world: int) -> dict[str, Any]:
        """`summary` on this process's GPU (torch's name and peak allocation), or on the CPU."""
        import torch

        cuda = torch.cuda.is_available()
        return self.summary(parameters=parameters, world=world, device=device_name(),
                            peak_memory_gib=torch.cuda.max_memory_allocated() / GIB if cuda else None)


def describe(figures: dict[str, Any]) -> str:
    """The run log's line: 30,126 tokens/s per GPU, 66.8 TFLOP/s, MFU 6.7% of the H200's 989 bf16 TFLOP/s..."""
    speed = figures.get("tokens_per_second_per_gpu")
    if not speed:
        return "too few steps for a steady-state throughput"
    parts = [f"{speed:,.0f} tokens/s per GPU (steady state)"]
    if figures.get("mfu") is not None:
        parts.append(f"{figures['tflops_per_gpu']:,.1f} TFLOP/s, MFU {figures['mfu']:.1%} of the {figures['gpu_model']}'s "
                     f"{figures['gpu_peak_bf16_tflops']:g} bf16 TFLOP/s")
    else:
        parts.append(f"no MFU ({'not a GPU in kit/train/gpus.py: ' + figures['gpu_model'] if figures.get('gpu_model') else 'no GPU'})")
    if figures.get("peak_memory_gib_per_gpu") is not None:
        parts.append(f"peak {figures['peak_memory_gib_per_gpu']:.1f} GiB per GPU")
    return ", ".join(parts)
