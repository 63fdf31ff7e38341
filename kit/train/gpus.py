"""What the kit knows of GPUs: dense bf16 peak and memory, for the plan's estimates and every run's MFU.

MFU (model FLOPs utilisation) is achieved model FLOP/s over the chip's dense bf16 peak. The peaks are the
vendors' datasheet figures without sparsity; memory is what `torch.cuda.get_device_properties().total_memory`
reports, in GiB. A GPU missing here gets no MFU (its tokens/s are still measured): add it to `GPUS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GPU:
    name: str
    bf16_tflops: float  # dense, per GPU
    memory_gib: float

    @property
    def hopper(self) -> bool:
        """A Hopper GPU (compute capability 9.0): the one flash-attn 3 runs on."""
        return self.name.startswith(("H1", "H2", "GH"))


# (pattern over the lowercased name, spec), most specific first: "h100 pcie" before "h100".
GPUS: tuple[tuple[str, GPU], ...] = (
    (r"gh200", GPU("GH200", 989.4, 94.5)),
    (r"h200\W*nvl", GPU("H200 NVL", 835.0, 140.4)),
    (r"h200", GPU("H200", 989.4, 140.4)),
    (r"h100\W*pcie", GPU("H100 PCIe", 756.0, 79.6)),
    (r"h100\W*nvl", GPU("H100 NVL", 835.0, 93.6)),
    (r"h100", GPU("H100", 989.4, 79.6)),
    (r"b200", GPU("B200", 2250.0, 178.4)),
    (r"a100.*40\s*gb", GPU("A100-40GB", 312.0, 39.4)),
    (r"a100", GPU("A100-80GB", 312.0, 79.2)),
    (r"l40s", GPU("L40S", 362.0, 44.4)),
    (r"\bl4\b", GPU("L4", 121.0, 22.0)),
    (r"mi300x", GPU("MI300X", 1307.0, 191.5)),
)


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
