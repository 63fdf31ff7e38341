"""What the kit knows of GPUs: dense bf16 peak and memory, for the plan's estimates and every run's MFU.

MFU (model FLOPs utilisation) is achieved model FLOP/s over the chip's dense bf16 peak. The peaks are the
vendors' datasheet figures without sparsity; memory is what `torch.cuda.get_device_properties().total_memory`
reports, in GiB. A GPU missing here gets no MFU (its tokens/s are still measured): add it to `kit/data/gpus.yaml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import yaml


@dataclass(frozen=True)
class GPU:
    name: str
    bf16_tflops: float  # dense, per GPU
    memory_gib: float

    @property
    def hopper(self) -> bool:
        """A Hopper GPU (compute capability 9.0): the one flash-attn 3 runs on."""
        return self.name.startswith(("H1", "H2", "GH"))


# (pattern over the lowercased name, spec), most specific first: kit/data/gpus.yaml
GPUS: tuple[tuple[str, GPU], ...] = tuple(
    (pattern, GPU(name, float(tflops), float(memory)))
    for pattern, (name, tflops, memory) in yaml.safe_load(
        resources.files("kit").joinpath("data", "gpus.yaml").read_text(encoding="utf-8")).items())


def lookup(name: str | None) -> GPU | None:
    """The spec of a GPU named like the recipe's `compute.gpu` (H100-80GB, h200) or torch's device name
    (NVIDIA H100 80GB HBM3); None for the CPU and GPUs not in the table."""
    if not name:
        return None
    lowered = name.lower()
    return next((gpu for pattern, gpu in GPUS if re.search(pattern, lowered)), None)


def device_name() -> str | None:
    """torch's name of this process's GPU, or None without CUDA."""
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else None
